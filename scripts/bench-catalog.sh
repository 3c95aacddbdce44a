#!/usr/bin/env bash
# Catalog page benchmark: `streamsync catalog` (release build: load the definitions and the
# live state, recommend pruning, build and write the page) for 5,000 streams and for 36 streams.
# Each stream has 10 tags, as in the other benchmarks: two catalog tags shaped like the seed
# guide's ruby stream (a version with every catalog annotation, and `latest` following it) and
# eight plain tags; the live state has an import for every tag and an Image for every digest.
# Targets: 5,000 streams under 1 s and a page under 10 MB; 36 streams under 2 MiB. Also prints
# what one catalog tag costs in the page, to size pages of other shapes.
#
#   bash scripts/bench-catalog.sh [RUNS]      (default 5 runs; the best run is reported)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
RUNS="${1:-5}"

cargo build --release --quiet
BIN="$PWD/target/release/streamsync"

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

# STREAMS streams in files of 10, each with 10 builder tags carrying the catalog annotations
# (display name, description with a link, icon, sample repository, supports, version), and a
# live state as an apply leaves it.
make_repo() {
  python3 - "$1" "$2" <<'PY'
import os, sys
root, streams = sys.argv[1], int(sys.argv[2])
langs = ["nodejs", "python", "ruby", "php", "perl", "golang", "dotnet", "httpd", "nginx", "java"]
for f in range((streams + 9) // 10):
    ns = f"team{f % 20:02d}"
    d = os.path.join(root, "definitions", ns)
    sd = os.path.join(root, "state", ns)
    imgs = os.path.join(root, "state", "images", "sha256")
    for p in (d, sd, imgs):
        os.makedirs(p, exist_ok=True)
    out = []
    for s in range(min(10, streams - f * 10)):
        name = f"app-{f:03d}-{s}"
        lang = langs[(f + s) % len(langs)]
        out.append("---")
        out.append("apiVersion: image.openshift.io/v1\nkind: ImageStream\nmetadata:")
        out.append(f"  name: {name}\n  annotations:\n    openshift.io/display-name: App {f}-{s}")
        out.append("spec:\n  tags:")
        state = [f"apiVersion: image.openshift.io/v1\nkind: ImageStream\nmetadata:\n  name: {name}\n  namespace: {ns}\nspec:\n  tags:"]
        status = ["status:\n  dockerImageRepository: ''\n  tags:"]
        for t in range(10):
            tag = "latest" if t == 9 else f"1.{t}"
            out.append(f"  - name: '{tag}'")
            out.append("    annotations:")
            if t >= 8:
                out.append(f"      openshift.io/display-name: App {f}-{s} {tag}")
                out.append(f"      description: Build and run {lang} applications. See https://example.com/{name}/{tag}/README.md.")
                out.append(f"      iconClass: icon-{lang}")
                out.append(f"      sampleRepo: https://github.com/example/{name}.git")
                out.append(f"      tags: builder,{lang}")
                out.append(f"      supports: {lang}:1.8,{lang}")
                if t == 8:
                    out.append(f"      version: '{tag}'")
            else:
                out.append("      tags: app")
            out.append("    from:")
            if t == 9:
                out.append("      kind: ImageStreamTag\n      name: '1.8'")
            else:
                out.append(f"      kind: DockerImage\n      name: quay.io/{ns}/{name}:{tag}")
            if t == 9:
                # `latest` follows 1.8: apply records 1.8's image for it too (a status tag,
                # which the console needs to list it).
                state.append(f"  - name: '{tag}'\n    from:\n      kind: ImageStreamTag\n      name: '1.8'")
                digest = f"{f:08x}{s:04x}{8:04x}".ljust(64, "a")
                status.append(f"  - tag: '{tag}'\n    items:\n    - created: '2025-12-01T10:00:00Z'\n      dockerImageReference: quay.io/{ns}/{name}@sha256:{digest}\n      image: sha256:{digest}\n      generation: 1")
                continue
            state.append(f"  - name: '{tag}'\n    from:\n      kind: DockerImage\n      name: quay.io/{ns}/{name}:{tag}")
            digest = f"{f:08x}{s:04x}{t:04x}".ljust(64, "a")
            status.append(f"  - tag: '{tag}'\n    items:\n    - created: '2025-12-01T10:00:00Z'\n      dockerImageReference: quay.io/{ns}/{name}@sha256:{digest}\n      image: sha256:{digest}\n      generation: 1")
            with open(os.path.join(imgs, f"{digest}.yaml"), "w") as fh:
                fh.write(f"apiVersion: image.openshift.io/v1\nkind: Image\nmetadata:\n  name: sha256:{digest}\ndockerImageReference: quay.io/{ns}/{name}@sha256:{digest}\ndockerImageManifestMediaType: application/vnd.oci.image.manifest.v1+json\ndockerImageMetadata:\n  Architecture: amd64\n  OS: linux\n  Created: '2025-11-30T08:00:00Z'\n  Size: 123456789\n")
        with open(os.path.join(sd, f"{name}.yaml"), "w") as fh:
            fh.write("\n".join(state + status) + "\n")
    with open(os.path.join(d, f"streams-{f:03d}.yaml"), "w") as fh:
        fh.write("\n".join(out) + "\n")
with open(os.path.join(root, "state", "streamsync.toml"), "w") as fh:
    fh.write('lineage = "00000000-0000-4000-8000-000000000000"\nserial = 1\n')
PY
}

now_ms() { date +%s%3N; }

# best_ms DIR: the best of RUNS `catalog` runs on DIR, in milliseconds.
best_ms() {
  local best="" start ms
  for _ in $(seq "$RUNS"); do
    start="$(now_ms)"
    "$BIN" -C "$1" -q catalog --out "$1/site"
    ms=$(( $(now_ms) - start ))
    if [ -z "$best" ] || [ "$ms" -lt "$best" ]; then best="$ms"; fi
  done
  echo "$best"
}

status=0
make_repo "$WORK/large" 5000
make_repo "$WORK/small" 36
large_ms="$(best_ms "$WORK/large")"
large_bytes="$(stat -c %s "$WORK/large/site/index.html")"
small_ms="$(best_ms "$WORK/small")"
small_bytes="$(stat -c %s "$WORK/small/site/index.html")"

echo "5,000 streams x 10 tags, 2 of them in the catalog (live state: 45,000 imports and Images):"
echo "  streamsync catalog: ${large_ms} ms (best of $RUNS), page ${large_bytes} bytes ($((large_bytes / 1024)) KiB)"
echo "36 streams of the same shape:"
echo "  streamsync catalog: ${small_ms} ms (best of $RUNS), page ${small_bytes} bytes ($((small_bytes / 1024)) KiB)"
per_stream=$(( (large_bytes - small_bytes) / (5000 - 36) ))
echo "one card with its two catalog tags: about ${per_stream} bytes"
if [ "$large_ms" -ge 1000 ]; then echo "MISS: 5,000 streams took 1 s or more"; status=1; fi
if [ "$large_bytes" -ge 10000000 ]; then echo "MISS: the 5,000-stream page is 10 MB or more"; status=1; fi
if [ "$small_bytes" -ge 2097152 ]; then echo "MISS: the 36-stream page is 2 MiB or more"; status=1; fi
if [ "$status" -eq 0 ]; then echo "ok: under 1 s and 10 MB, and under 2 MiB for a few dozen streams"; fi
exit "$status"
