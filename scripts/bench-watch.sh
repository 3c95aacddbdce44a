#!/usr/bin/env bash
# Watch benchmark: how long `streamsync watch` takes to show the plan after one saved edit, in a
# 50,000-tag repository (5,000 streams x 10 tags, applied) and in a one-stream repository, in
# the same run. Each edit changes one tag's source in one definition file (written whole, as
# an editor saves); the time runs from the write to the end of the round's plan on watch's
# output, debounce included. Also reports the memory `watch` holds at 50,000 tags (resident
# set size after the edits, and its peak).
#
# Targets: the large repository's median within 2x the small one's (or at most 150 ms more),
# and under 300 MiB.
# Usage: scripts/bench-watch.sh [STREAMS] [TAGS]   (env: STREAMSYNC_BIN, EDITS=5, BENCH_DIR)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
STREAMS=${1:-5000}
TAGS=${2:-10}
EDITS=${EDITS:-5}
BIN=${STREAMSYNC_BIN:-$ROOT/target/release/streamsync}

if [ ! -x "$BIN" ]; then
    cargo build --release --manifest-path "$ROOT/Cargo.toml"
fi
if [ -n "${BENCH_DIR:-}" ]; then
    WORK=$BENCH_DIR
    rm -rf "$WORK" && mkdir -p "$WORK"
else
    WORK=$(mktemp -d)
    trap 'rm -rf "$WORK"' EXIT
fi

python3 - "$WORK" "$BIN" "$STREAMS" "$TAGS" "$EDITS" <<'PY'
import hashlib, os, re, select, statistics, subprocess, sys, time

work, binary, streams, tags, edits = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])

def generate(repo, streams, tags):
    """Definitions and the state an apply leaves for them (then one real apply records its
    index), so the first plan is empty."""
    namespaces = min(50, streams)
    for i in range(streams):
        ns, name = f"team{i % namespaces:02d}", f"app{i:05d}"
        d = [f"apiVersion: image.openshift.io/v1\nkind: ImageStream\nmetadata:\n  name: {name}\n"
             f"  annotations:\n    openshift.io/display-name: App {i}\nspec:\n  tags:\n"]
        st = [f"apiVersion: image.openshift.io/v1\nkind: ImageStream\nmetadata:\n  name: {name}\n"
              f"  namespace: {ns}\n  annotations:\n    openshift.io/display-name: App {i}\n"
              f"  creationTimestamp: \"2025-01-01T00:00:00Z\"\n  generation: 2\n"
              f"spec:\n  lookupPolicy:\n    local: false\n  tags:\n"]
        status = ["status:\n  dockerImageRepository: \"\"\n  tags:\n"]
        for t in range(tags):
            tag, src = f"v{t}.0", f"quay.io/example/{name}:{t}.0"
            ann = (f"    annotations:\n      description: Version {t} of app {i}\n      iconClass: icon-app\n"
                   f"      supports: app:{t}.0,app\n      version: \"{t}.0\"\n")
            live_ann = ann.replace("icon-app", "icon-old") if i == 0 and t == 0 else ann
            d.append(f"  - name: {tag}\n{ann}    from:\n      kind: DockerImage\n      name: {src}\n")
            st.append(f"  - name: {tag}\n{live_ann}    from:\n      kind: DockerImage\n      name: {src}\n"
                      f"    generation: 2\n    importPolicy:\n      importMode: Legacy\n"
                      f"    referencePolicy:\n      type: Source\n")
            digest = "sha256:" + hashlib.sha256(f"{name}{t}".encode()).hexdigest()
            status.append(f"  - tag: {tag}\n    items:\n    - created: \"2025-06-01T00:00:00Z\"\n"
                          f"      dockerImageReference: quay.io/example/{name}@{digest}\n"
                          f"      image: {digest}\n      generation: 2\n")
        for folder, text in (("definitions", "".join(d)), ("state", "".join(st) + "".join(status))):
            os.makedirs(f"{repo}/{folder}/{ns}", exist_ok=True)
            with open(f"{repo}/{folder}/{ns}/{name}.yaml", "w") as f:
                f.write(text)
    with open(f"{repo}/state/streamsync.toml", "w") as f:
        f.write('lineage = "00000000-0000-4000-8000-000000000000"\nserial = 1\n')
    # A real apply (one annotation, no import) writes the state as streamsync keeps it.
    subprocess.run([binary, "-C", repo, "apply", "--auto-approve"], check=True, stdout=subprocess.DEVNULL)

ROUND = re.compile(rb"^\xe2\x94\x80\xe2\x94\x80 \S+ (plan|changed [^\n]*) \(\d+ ms\) \xe2\x94\x80\xe2\x94\x80$", re.M)

class Watch:
    def __init__(self, repo):
        self.proc = subprocess.Popen([binary, "-C", repo, "watch"], stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL)
        self.buf = b""
        os.set_blocking(self.proc.stdout.fileno(), False)

    def round(self, timeout=60):
        """Wait for one round's text to be complete; return when its last byte arrived."""
        deadline = time.monotonic() + timeout
        while True:
            heads = list(ROUND.finditer(self.buf))
            # A round is complete when the next header starts, or after a summary line.
            if heads:
                body = self.buf[heads[0].end():]
                if re.search(rb"^(Plan: .*|No changes\..*|\S.* error.*)\n", body, re.M) or len(heads) > 1:
                    end = heads[1].start() if len(heads) > 1 else len(self.buf)
                    text, self.buf = self.buf[:end], self.buf[end:]
                    return time.monotonic(), text.decode()
            left = deadline - time.monotonic()
            if left <= 0:
                sys.exit(f"watch printed no round in {timeout} s; so far:\n{self.buf.decode()[-2000:]}")
            r, _, _ = select.select([self.proc.stdout], [], [], left)
            if r:
                chunk = os.read(self.proc.stdout.fileno(), 1 << 20)
                if not chunk:
                    sys.exit(f"watch exited ({self.proc.wait()}):\n{self.buf.decode()[-2000:]}")
                self.buf += chunk

    def memory(self):
        fields = {}
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                key, _, value = line.partition(":")
                fields[key] = value.strip()
        return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)

def measure(repo):
    path = f"{repo}/definitions/team00/app00000.yaml"
    with open(path) as f:
        original = f.read()
    watch = Watch(repo)
    first_at, first = watch.round()
    times, summaries = [], []
    for k in range(1, edits + 1):
        time.sleep(0.3)  # a person's pause between saves
        text = original.replace("quay.io/example/app00000:0.0", f"quay.io/example/app00000:0.{k}")
        start = time.monotonic()
        with open(path, "w") as f:
            f.write(text)
        done, out = watch.round()
        if "app00000" not in out:
            sys.exit(f"the round after edit {k} does not show the change:\n{out}")
        times.append(done - start)
        summaries.append(out.strip().splitlines()[-1])
    rss, peak = watch.memory()
    watch.stop()
    with open(path, "w") as f:
        f.write(original)
    return times, summaries[-1], rss, peak

big, small = f"{work}/large", f"{work}/small"
generate(big, streams, tags)
generate(small, 1, tags)
big_times, big_last, rss, peak = measure(big)
small_times, small_last, _, _ = measure(small)
big_med, small_med = statistics.median(big_times), statistics.median(small_times)
ms = lambda ts: ", ".join(f"{t*1000:.0f}" for t in ts)
print(f"large repository:         {streams} streams x {tags} tags, applied")
print(f"round after an edit:      large {big_med*1000:.0f} ms (median of {edits}: {ms(big_times)})")
print(f"                          small {small_med*1000:.0f} ms (median of {edits}: {ms(small_times)})")
print(f"last round's summary:     {big_last}")
print(f"watch memory (large):     {rss:.1f} MiB resident after the edits, {peak:.1f} MiB peak")
ok = True
for name, good in [
    ("large within 2x small or +150 ms", big_med <= max(2 * small_med, small_med + 0.150)),
    ("memory < 300 MiB", peak < 300),
]:
    print(f"  {'PASS' if good else 'FAIL'}  {name}")
    ok &= good
sys.exit(0 if ok else 1)
PY
