#!/usr/bin/env bash
# Benchmark: copy the same images to an empty mirror with `streamsync mirror` and with
# `skopeo sync --src yaml --preserve-digests --all`, each into its own empty local
# docker-registry, then run each a second time with nothing new. REPOS repositories of TAGS
# images each; every image has a 4 MiB base layer shared by all, two layers of its own
# (LAYER_KB KiB each) and a config.
#
#   scripts/bench-mirror.sh [REPOS] [TAGS] [LAYER_KB]
#
# STREAMSYNC=path picks the binary (default: a release build of this tree). Needs
# /usr/bin/docker-registry, skopeo, curl and python3. Prints both figures and the ratios the
# project targets (first copy >= 2x skopeo's speed, second run >= 10x faster than skopeo's).
set -euo pipefail

REPOS=${1:-10}
TAGS=${2:-5}
LAYER_KB=${3:-512}
cd "$(dirname "$0")/.."

for bin in /usr/bin/docker-registry skopeo curl python3; do
    command -v "$bin" >/dev/null || { echo "error: $bin is missing" >&2; exit 1; }
done

if [ -z "${STREAMSYNC:-}" ]; then
    cargo build -q --release --bin streamsync
    STREAMSYNC=$PWD/target/release/streamsync
fi

work=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT
[ -n "${KEEP:-}" ] && trap - EXIT && echo "work: $work" >&2

# Start a registry named $1; prints its host.
start_registry() {
    local name=$1 port
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    mkdir -p "$work/$name"
    cat >"$work/$name/config.yml" <<YAML
version: 0.1
log:
  level: error
  accesslog:
    disabled: false
storage:
  filesystem:
    rootdirectory: $work/$name/storage
http:
  addr: 127.0.0.1:$port
YAML
    /usr/bin/docker-registry serve "$work/$name/config.yml" >"$work/$name/access.log" 2>&1 &
    pids+=($!)
    for _ in $(seq 100); do
        curl -fs "http://127.0.0.1:$port/v2/" >/dev/null && break
        sleep 0.1
    done
    echo "127.0.0.1:$port"
}

src=$(start_registry source)
m_ours=$(start_registry mirror-streamsync)
m_skopeo=$(start_registry mirror-skopeo)

# Push the source images (monolithic uploads).
python3 - "$src" "$REPOS" "$TAGS" "$LAYER_KB" <<'PY'
import hashlib, json, os, sys, urllib.request
host, repos, tags, kb = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
def req(method, url, data=None, headers={}):
    r = urllib.request.Request(url, data=data, method=method, headers=headers)
    return urllib.request.urlopen(r)
def blob(repo, data):
    d = "sha256:" + hashlib.sha256(data).hexdigest()
    loc = req("POST", f"http://{host}/v2/{repo}/blobs/uploads/", b"").headers["Location"]
    sep = "&" if "?" in loc else "?"
    req("PUT", f"{loc}{sep}digest={d}", data, {"Content-Type": "application/octet-stream"})
    return {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": d, "size": len(data)}
base = os.urandom(4 * 1024 * 1024)
for r in range(repos):
    repo = f"bench/app{r}"
    for t in range(tags):
        layers = [blob(repo, base)] + [blob(repo, os.urandom(kb * 1024)) for _ in range(2)]
        cfg = json.dumps({"architecture": "amd64", "os": "linux",
                          "config": {"Labels": {"image": f"{r}-{t}"}},
                          "rootfs": {"type": "layers", "diff_ids": []}}).encode()
        c = blob(repo, cfg)
        c["mediaType"] = "application/vnd.oci.image.config.v1+json"
        m = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                        "config": c, "layers": layers}).encode()
        req("PUT", f"http://{host}/v2/{repo}/manifests/t{t}", m,
            {"Content-Type": "application/vnd.oci.image.manifest.v1+json"})
PY

# The streamsync repository: one stream per source repository, one tag per image.
repo="$work/repo"
mkdir -p "$repo/definitions/bench"
for r in $(seq 0 $((REPOS - 1))); do
    {
        printf 'apiVersion: image.openshift.io/v1\nkind: ImageStream\nmetadata:\n  name: app%s\nspec:\n  tags:\n' "$r"
        for t in $(seq 0 $((TAGS - 1))); do
            printf '  - name: t%s\n    from:\n      kind: DockerImage\n      name: %s/bench/app%s:t%s\n    importPolicy:\n      insecure: true\n' \
                "$t" "$src" "$r" "$t"
        done
    } >"$repo/definitions/bench/app$r.yaml"
done
cat >"$repo/streamsync.toml" <<TOML
default_namespace = "bench"
[registry]
insecure_allowed = ["127.0.0.1"]
[mirror]
registry = "$m_ours/mirror"
TOML
"$STREAMSYNC" -C "$repo" -q apply --auto-approve >/dev/null

# skopeo's list of the same images.
{
    echo "$src:"
    echo "  tls-verify: false"
    echo "  images:"
    for r in $(seq 0 $((REPOS - 1))); do
        printf '    bench/app%s: [' "$r"
        for t in $(seq 0 $((TAGS - 1))); do
            [ "$t" -gt 0 ] && printf ', '
            printf '"t%s"' "$t"
        done
        echo ']'
    done
} >"$work/skopeo.yaml"

now() { date +%s.%N; }
timed() { local t0 t1; t0=$(now); "$@" >/dev/null 2>"$work/last.err" || { cat "$work/last.err" >&2; exit 1; }; t1=$(now); python3 -c "print(f'{$t1-$t0:.3f}')"; }
writes() { grep -cE '"(PUT|POST|PATCH) ' "$work/$1/access.log" || true; }

ours_first=$(timed "$STREAMSYNC" -C "$repo" mirror)
ours_writes=$(writes mirror-streamsync)
requests() { wc -l <"$work/$1/access.log"; }
asked=$(requests mirror-streamsync)
ours_second=$(timed "$STREAMSYNC" -C "$repo" mirror)
ours_writes2=$(( $(writes mirror-streamsync) - ours_writes ))
ours_asked2=$(( $(requests mirror-streamsync) - asked ))
# The same with --verify: the mirror asked about every image again (what a run does once
# `[mirror] verify_interval` has passed).
asked=$(requests mirror-streamsync)
ours_verify=$(timed "$STREAMSYNC" -C "$repo" mirror --verify)
ours_asked3=$(( $(requests mirror-streamsync) - asked ))

skopeo_sync() {
    skopeo sync --src yaml --dest docker --preserve-digests --all --dest-tls-verify=false \
        "$work/skopeo.yaml" "$m_skopeo/mirror"
}
skopeo_first=$(timed skopeo_sync)
skopeo_writes=$(writes mirror-skopeo)
skopeo_second=$(timed skopeo_sync)
skopeo_writes2=$(( $(writes mirror-skopeo) - skopeo_writes ))

images=$((REPOS * TAGS))
mib=$(python3 -c "print(f'{(4 + $images * 2 * $LAYER_KB / 1024):.0f}')")
echo "$images images ($REPOS repositories x $TAGS tags), about $mib MiB of blobs"
printf '%-22s %10s %12s %10s %12s\n' "" "first (s)" "writes" "second (s)" "writes"
printf '%-22s %10s %12s %10s %12s\n' "streamsync mirror" "$ours_first" "$ours_writes" "$ours_second" "$ours_writes2"
printf '%-22s %10s %12s %10s %12s\n' "skopeo sync" "$skopeo_first" "$skopeo_writes" "$skopeo_second" "$skopeo_writes2"
echo "streamsync second run: $ours_asked2 requests to its mirror; with --verify: $ours_verify s, $ours_asked3 requests"
python3 - "$ours_first" "$skopeo_first" "$ours_second" "$skopeo_second" "$ours_verify" <<'PY'
import sys
of, sf, os_, ss, ov = map(float, sys.argv[1:])
print(f"first copy: streamsync {sf / of:.1f}x skopeo's speed (target >= 2x)")
print(f"second run: streamsync {ss / os_:.1f}x faster than skopeo's (target >= 10x)")
print(f"second run with --verify: streamsync {ss / ov:.1f}x faster than skopeo's")
PY
