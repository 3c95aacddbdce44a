#!/usr/bin/env bash
# Plan benchmark: 5,000 streams x 10 tags in the definitions and in the live state, 1% of the
# streams changed, `streamsync plan` offline. Compared in the same run with Python's C YAML
# loader (PyYAML CLoader) merely parsing the same definition files.
#
# Targets: plan under 1.5 s, under 300 MiB, and at most 0.75x the Python parse time.
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

python3 - "$WORK" "$STREAMS" "$TAGS" <<'PY'
import hashlib, os, sys
work, streams, tags = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
namespaces = 50
changed = set(range(0, streams, 100))  # 1%
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
        d.append(f"  - name: {tag}\n{ann}    from:\n      kind: DockerImage\n      name: {src}\n")
        st.append(f"  - name: {tag}\n{ann}    from:\n      kind: DockerImage\n      name: {live_src}\n"
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
    os.makedirs(f"{work}/state/{ns}", exist_ok=True)
    with open(f"{work}/definitions/{ns}/{name}.yaml", "w") as f:
        f.write("".join(d))
    with open(f"{work}/state/{ns}/{name}.yaml", "w") as f:
        f.write("".join(st) + "".join(status))
with open(f"{work}/state/streamsync.toml", "w") as f:
    f.write('lineage = "00000000-0000-4000-8000-000000000000"\nserial = 1\n')
PY

python3 - "$WORK" "$BIN" "$RUNS" "$STREAMS" "$TAGS" <<'PY'
import glob, os, statistics, subprocess, sys, time
import yaml
work, binary, runs, streams, tags = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
files = sorted(glob.glob(f"{work}/definitions/*/*.yaml"))
def_bytes = sum(os.path.getsize(f) for f in files)
state_bytes = sum(os.path.getsize(f) for f in glob.glob(f"{work}/state/*/*.yaml"))

def plan_once():
    """One offline plan: wall time, this process's peak memory (MiB), the plan's last line."""
    with open(f"{work}/plan.out", "w+") as out:
        start = time.perf_counter()
        child = subprocess.Popen([binary, "-C", work, "plan", "--no-refresh"],
                                 stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(child.pid, 0)
        elapsed = time.perf_counter() - start
        out.seek(0)
        text = out.read()
    if status != 0:
        sys.exit(f"plan failed ({status}):\n{text}")
    return elapsed, usage.ru_maxrss / 1024, text.strip().splitlines()[-1]

def python_parse():
    start = time.perf_counter()
    for path in files:
        with open(path, "rb") as f:
            yaml.load(f, Loader=yaml.CLoader)
    return time.perf_counter() - start

# The first plan after the state was written parses every state file (and fills the parse
# cache); later plans of an unchanged state read the cache. Both are reported.
cold, cold_rss, last = plan_once()
python_parse()  # warm the page cache for the Python side too
plan_times, py_times, rss = [], [], []
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
print(f"peak memory (max RSS):    {rss_mib:.1f} MiB   (first plan, filling the cache: {cold:.3f} s, {cold_rss:.1f} MiB)")
print(f"PyYAML CLoader parse:     {py_med:.3f} s   (runs: {', '.join(f'{t:.3f}' for t in py_times)})")
print(f"ratio plan / parse:       {ratio:.2f}x")
ok = True
for name, good in [("time < 1.5 s", plan_med < 1.5), ("memory < 300 MiB", rss_mib < 300), ("ratio <= 0.75x", ratio <= 0.75)]:
    print(f"  {'PASS' if good else 'FAIL'}  {name}")
    ok &= good
sys.exit(0 if ok else 1)
PY
