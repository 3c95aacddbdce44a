#!/usr/bin/env bash
# Load-and-validate benchmark: 5,000 streams x 10 tags (about 10 MB of YAML in 500 files),
# timed for `streamsync validate` (release build) and for Python's C YAML loader merely
# parsing the same files, in the same run. Target: streamsync under 1 s and faster than Python.
#
#   bash scripts/bench-validate.sh [RUNS]      (default 5 runs each; the best run is reported)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
RUNS="${1:-5}"

cargo build --release --quiet
BIN="$PWD/target/release/streamsync"

if ! python3 -c 'import yaml; assert yaml.__with_libyaml__' 2>/dev/null; then
  # Debian's system Python refuses plain pip installs (PEP 668); fall back to the user site.
  python3 -m pip install --quiet pyyaml 2>/dev/null ||
    python3 -m pip install --quiet --user --break-system-packages pyyaml
fi

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

# 500 files of 10 streams, each stream with 10 tags carrying catalog annotations (~20 KB a file).
python3 - "$WORK" <<'PY'
import os, sys
root = sys.argv[1]
for f in range(500):
    ns = f"team{f % 20:02d}"
    d = os.path.join(root, "definitions", ns)
    os.makedirs(d, exist_ok=True)
    out = []
    for s in range(10):
        name = f"app-{f:03d}-{s}"
        out.append("---")
        out.append("apiVersion: image.openshift.io/v1\nkind: ImageStream\nmetadata:")
        out.append(f"  name: {name}\n  annotations:\n    openshift.io/display-name: App {f}-{s}")
        out.append("spec:\n  tags:")
        for t in range(10):
            tag = "latest" if t == 9 else f"1.{t}"
            out.append(f"  - name: '{tag}'")
            out.append("    annotations:")
            out.append(f"      openshift.io/display-name: App {tag}")
            out.append("      tags: app")
            out.append("    from:")
            if t == 9:
                out.append("      kind: ImageStreamTag\n      name: '1.8'")
            else:
                out.append(f"      kind: DockerImage\n      name: quay.io/{ns}/{name}:1.{t}")
                out.append("    importPolicy:\n      scheduled: true")
    with open(os.path.join(d, f"streams-{f:03d}.yaml"), "w") as fh:
        fh.write("\n".join(out) + "\n")
PY

bytes="$(du -sb "$WORK/definitions" | cut -f1)"
files="$(find "$WORK/definitions" -name '*.yaml' | wc -l)"
echo "corpus: $files files, $((bytes / 1024)) KiB, 5000 streams x 10 tags"

now_ms() { date +%s%3N; }

best_rs=""
for _ in $(seq "$RUNS"); do
  start="$(now_ms)"
  "$BIN" -C "$WORK" -q validate
  ms=$(( $(now_ms) - start ))
  if [ -z "$best_rs" ] || [ "$ms" -lt "$best_rs" ]; then best_rs="$ms"; fi
done

best_py="$(python3 - "$WORK" "$RUNS" <<'PY'
import glob, sys, time, yaml
root, runs = sys.argv[1], int(sys.argv[2])
files = sorted(glob.glob(f"{root}/definitions/**/*.yaml", recursive=True))
best = None
for _ in range(runs):
    start = time.perf_counter()
    for path in files:
        with open(path, "rb") as fh:
            for _doc in yaml.load_all(fh, Loader=yaml.CLoader):
                pass
    ms = (time.perf_counter() - start) * 1000
    best = ms if best is None else min(best, ms)
print(int(best))
PY
)"

echo "streamsync validate (load + validate): ${best_rs} ms (best of $RUNS)"
echo "python yaml CLoader (parse only):      ${best_py} ms (best of $RUNS)"
status=0
if [ "$best_rs" -ge 1000 ]; then
  echo "MISS: streamsync took 1 s or more"; status=1
fi
if [ "$best_rs" -ge "$best_py" ]; then
  echo "MISS: streamsync is not faster than Python's C loader"; status=1
fi
if [ "$status" -eq 0 ]; then echo "ok: under 1 s and faster than Python"; fi
exit "$status"
