#!/usr/bin/env bash
# Plan benchmark: 5,000 streams x 10 tags in the definitions and in the live state, 1% of the
# streams changed, `streamsync plan` offline, cold (nothing outside the repository to warm).
# Compared in the same run with Python's C YAML loader (PyYAML CLoader) merely parsing the
# same definition files.
#
# The state is written as `streamsync apply` leaves it: the generated files, then one offline
# apply (a tag annotation, no import) that records the memo index in state/streamsync.toml,
# then the definitions get their 1% of changes. The plan of a state without that index (as
# older versions wrote it) is measured too, for comparison.
#
# Targets: plan under 1.0 s (median), under 300 MiB, and at most 0.3x the Python parse time.
# Usage: scripts/bench-plan.sh [STREAMS] [TAGS]      (env: STREAMSYNC_BIN, RUNS=5)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
STREAMS=${1:-5000}
TAGS=${2:-10}
RUNS=${RUNS:-5}
BIN=${STREAMSYNC_BIN:-$ROOT/target/release/streamsync}

if [ ! -x "$BIN" ]; then
    cargo build --release --manifest-path "$ROOT/Cargo.toml"
fi
if ! python3 -c 'import yaml; yaml.CLoader' 2>/dev/null; then
    echo "installing PyYAML (with its C loader)" >&2
    python3 -m pip install --quiet PyYAML 2>/dev/null \
        || python3 -m pip install --quiet --break-system-packages PyYAML
fi
python3 -c 'import yaml; yaml.CLoader' \
    || { echo "PyYAML has no C loader (libyaml); cannot compare" >&2; exit 1; }

if [ -n "${BENCH_DIR:-}" ]; then
    WORK=$BENCH_DIR   # kept afterwards, for profiling
    rm -rf "$WORK" && mkdir -p "$WORK"
else
    WORK=$(mktemp -d)
    trap 'rm -rf "$WORK"' EXIT
fi

generate() {  # generate WORK STREAMS TAGS CHANGED(0|1)
python3 - "$@" <<'PY'
import hashlib, os, sys
work, streams, tags, with_changes = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4] == "1"
namespaces = 50
changed = set(range(0, streams, 100)) if with_changes else set()  # 1%
def digest(s):
    return "sha256:" + hashlib.sha256(s.encode()).hexdigest()
for i in range(streams):
    ns = f"team{i % namespaces:02d}"
    name = f"app{i:05d}"
    d = [f"apiVersion: image.openshift.io/v1\nkind: ImageStream\nmetadata:\n  name: {name}\n"
         f"  annotations:\n    openshift.io/display-name: App {i}\nspec:\n  tags:\n"]
    st = [f"apiVersion: image.openshift.io/v1\nkind: ImageStream\nmetadata:\n  name: {name}\n"
          f"  namespace: {ns}\n  annotations:\n    openshift.io/display-name: App {i}\n"
          f"  creationTimestamp: \"2025-01-01T00:00:00Z\"\n  generation: 2\n"
          f"spec:\n  lookupPolicy:\n    local: false\n  tags:\n"]
    status = ["status:\n  dockerImageRepository: \"\"\n  tags:\n"]
    for t in range(tags):
        tag = f"v{t}.0"
        src = f"quay.io/example/{name}:{t}.0"
        live_src = src
        if i in changed and t == 0:
            src = f"quay.io/example/{name}:{t}.1"
        ann = (f"    annotations:\n      description: Version {t} of app {i}\n      iconClass: icon-app\n"
               f"      supports: app:{t}.0,app\n      version: \"{t}.0\"\n")
        # The one difference the setup apply makes (no import needed).
        live_ann = ann.replace("iconClass: icon-app", "iconClass: icon-old") if i == 1 and t == 0 else ann
        d.append(f"  - name: {tag}\n{ann}    from:\n      kind: DockerImage\n      name: {src}\n")
        st.append(f"  - name: {tag}\n{live_ann}    from:\n      kind: DockerImage\n      name: {live_src}\n"
                  f"    generation: 2\n    importPolicy:\n      importMode: Legacy\n"
                  f"    referencePolicy:\n      type: Source\n")
        old, new = digest(f"{name}{t}old"), digest(f"{name}{t}new")
        status.append(
            f"  - tag: {tag}\n    items:\n"
            f"    - created: \"2025-06-01T00:00:00Z\"\n      dockerImageReference: quay.io/example/{name}@{new}\n"
            f"      image: {new}\n      generation: 2\n"
            f"    - created: \"2025-01-01T00:00:00Z\"\n      dockerImageReference: quay.io/example/{name}@{old}\n"
            f"      image: {old}\n      generation: 1\n")
    os.makedirs(f"{work}/definitions/{ns}", exist_ok=True)
    with open(f"{work}/definitions/{ns}/{name}.yaml", "w") as f:
        f.write("".join(d))
    if not with_changes:
        os.makedirs(f"{work}/state/{ns}", exist_ok=True)
        with open(f"{work}/state/{ns}/{name}.yaml", "w") as f:
            f.write("".join(st) + "".join(status))
if not with_changes:
    with open(f"{work}/state/streamsync.toml", "w") as f:
        f.write('lineage = "00000000-0000-4000-8000-000000000000"\nserial = 1\n')
PY
}

generate "$WORK" "$STREAMS" "$TAGS" 0
APPROVE=()
if "$BIN" apply --help 2>/dev/null | grep -q -- --auto-approve; then APPROVE=(--auto-approve); fi
"$BIN" -C "$WORK" apply "${APPROVE[@]}" >/dev/null
grep -q '^\[memos\]' "$WORK/state/streamsync.toml" \
    || { echo "the setup apply recorded no memo index" >&2; exit 1; }
# The same state without its memo index, as older versions left it (for the comparison run).
cp -r "$WORK/state" "$WORK/.state-unindexed"
sed -i '/^\[memos\]/,$d' "$WORK/.state-unindexed/streamsync.toml"
generate "$WORK" "$STREAMS" "$TAGS" 1
mkdir -p "$WORK/.plans"
for s in state .state-unindexed; do
    "$BIN" -C "$WORK" --state "$WORK/$s" plan --no-refresh --format json >"$WORK/.plans/$s.json"
done
cmp -s "$WORK/.plans/state.json" "$WORK/.plans/.state-unindexed.json" \
    || { echo "the plans with and without the memo index differ" >&2; exit 1; }

python3 - "$WORK" "$BIN" "$RUNS" "$STREAMS" "$TAGS" <<'PY'
import glob, os, statistics, subprocess, sys, time
import yaml
work, binary, runs, streams, tags = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
files = sorted(glob.glob(f"{work}/definitions/*/*.yaml"))
def_bytes = sum(os.path.getsize(f) for f in files)
state_bytes = sum(os.path.getsize(f) for f in glob.glob(f"{work}/state/*/*.yaml"))

def plan_once(state="state"):
    """One offline plan: wall time, this process's peak memory (MiB), the plan's last line."""
    with open(f"{work}/plan.out", "w+") as out:
        start = time.perf_counter()
        child = subprocess.Popen([binary, "-C", work, "--state", f"{work}/{state}", "plan", "--no-refresh"],
                                 stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(child.pid, 0)
        elapsed = time.perf_counter() - start
        out.seek(0)
        text = out.read()
    if status != 0:
        sys.exit(f"plan failed ({status}):\n{text}")
    cpu_times.append(usage.ru_utime + usage.ru_stime)
    return elapsed, usage.ru_maxrss / 1024, text.strip().splitlines()[-1]

cpu_times, py_cpu = [], []

def python_parse():
    start, cpu = time.perf_counter(), time.process_time()
    for path in files:
        with open(path, "rb") as f:
            yaml.load(f, Loader=yaml.CLoader)
    py_cpu.append(time.process_time() - cpu)
    return time.perf_counter() - start

# Every plan is cold: streamsync keeps nothing outside the repository. The first run warms
# the page cache only, as a checkout would.
plan_once()
unindexed, unindexed_rss, _ = plan_once(".state-unindexed")
python_parse()
plan_times, py_times, rss = [], [], []
cpu_times.clear()
py_cpu.clear()
for _ in range(runs):
    t, m, last = plan_once()
    plan_times.append(t)
    rss.append(m)
    py_times.append(python_parse())
rss_mib = max(rss)
plan_med, py_med = statistics.median(plan_times), statistics.median(py_times)
ratio = plan_med / py_med
print(f"streams x tags:           {streams} x {tags} (1% changed)")
print(f"definitions / state:      {len(files)} files, {def_bytes/2**20:.1f} MiB / {state_bytes/2**20:.1f} MiB")
print(f"plan summary:             {last}")
print(f"streamsync plan (median): {plan_med:.3f} s   (runs: {', '.join(f'{t:.3f}' for t in plan_times)})")
print(f"peak memory (max RSS):    {rss_mib:.1f} MiB")
print(f"without the memo index:   {unindexed:.3f} s, {unindexed_rss:.1f} MiB   (every state file parsed)")
print(f"PyYAML CLoader parse:     {py_med:.3f} s   (runs: {', '.join(f'{t:.3f}' for t in py_times)})")
print(f"ratio plan / parse:       {ratio:.2f}x")
# CPU seconds do not depend on what else the machine runs; wall times do.
cpu_med, py_cpu_med = statistics.median(cpu_times), statistics.median(py_cpu)
print(f"CPU time (user+sys):      plan {cpu_med:.3f} s, PyYAML {py_cpu_med:.3f} s   (load average {os.getloadavg()[0]:.1f})")
ok = True
for name, good in [("time < 1.0 s", plan_med < 1.0), ("memory < 300 MiB", rss_mib < 300), ("ratio <= 0.3x", ratio <= 0.3)]:
    print(f"  {'PASS' if good else 'FAIL'}  {name}")
    ok &= good
sys.exit(0 if ok else 1)
PY
