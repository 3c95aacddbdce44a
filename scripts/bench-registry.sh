#!/usr/bin/env bash
# Benchmark: resolve 1,000 tags (10 repositories x 100 tags, each a distinct image) on one
# local docker-registry through streamsync's registry client, against `skopeo inspect` of the
# same tags 8 at a time, a curl HEAD floor (one curl process, keep-alive, 8 in parallel) and a
# curl import floor (the manifest and config GETs an empty state needs, made the same way).
# Then the same 1,000 tags as definitions (10 streams, every tag scheduled) through the release
# binary: `streamsync apply` from an empty state, a second apply (must make zero requests, by
# the registry's own access log), and `sync --once` with nothing moved (must make one HEAD per
# scheduled tag and no GET).
#
#   scripts/bench-registry.sh [REPOS] [TAGS]
#
# Then the apply and the import floor again, alternating (PAIRS=3 times), for the spread of the
# ratio on a shared machine.
#
# Needs /usr/bin/docker-registry, skopeo and curl. Prints a table and the ratios the project
# targets (>= 10x skopeo, >= 1/2 of the curl floor).
set -euo pipefail

REPOS=${1:-10}
TAGS=${2:-100}
N=$((REPOS * TAGS))
cd "$(dirname "$0")/.."

for bin in /usr/bin/docker-registry skopeo curl; do
    command -v "$bin" >/dev/null || { echo "error: $bin is missing" >&2; exit 1; }
done

work=$(mktemp -d)
pid=""
cleanup() {
    if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
host="127.0.0.1:$port"
cat >"$work/config.yml" <<YAML
version: 0.1
log:
  level: error
  accesslog:
    disabled: false
storage:
  filesystem:
    rootdirectory: $work/storage
http:
  addr: $host
YAML
/usr/bin/docker-registry serve "$work/config.yml" >"$work/registry.log" 2>&1 &
pid=$!
for _ in $(seq 100); do
    curl -fs "http://$host/v2/" >/dev/null && break
    sleep 0.1
done

cargo build -q --examples
cargo build -q --release --bin streamsync
ex=target/debug/examples
streamsync=$PWD/target/release/streamsync
"$ex/bench_push" "$host" "$REPOS" "$TAGS"

refs="$work/refs"
for r in $(seq 0 $((REPOS - 1))); do
    for t in $(seq 0 $((TAGS - 1))); do
        echo "$host/bench/app$r:t$t"
    done
done >"$refs"

now() { date +%s.%N; }
rate() { python3 -c "print(f'{$1/$2:8.0f}')"; }

# streamsync: import into an empty state (manifest + config per new digest; HEADs until they
# stop paying off) ...
read -r full_s full_ok full_head full_get < <("$ex/bench_resolve" "$host" "$REPOS" "$TAGS" full)
# ... and a refresh with nothing moved (one HEAD per tag).
read -r head_s head_ok head_head head_get < <("$ex/bench_resolve" "$host" "$REPOS" "$TAGS" head)

# skopeo inspect, 8 at a time (manifest + config per tag, one process each).
t0=$(now)
xargs -P 8 -I{} skopeo inspect --tls-verify=false "docker://{}" >/dev/null <"$refs"
t1=$(now)
skopeo_s=$(python3 -c "print(f'{$t1-$t0:.3f}')")

# curl HEAD floor: one process, keep-alive, 8 transfers in parallel.
accept="application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json"
# A curl config asking for every tag's manifest, kept in folder $1 when given.
manifest_cfg() {
    local out=/dev/null
    while read -r ref; do
        repo_tag=${ref#"$host"/}
        echo "url = \"http://$host/v2/${repo_tag%%:*}/manifests/${repo_tag##*:}\""
        [ -n "${1:-}" ] && out="$1/${repo_tag//\//_}"
        echo "output = \"$out\""
    done <"$refs"
}
manifest_cfg >"$work/curl.cfg"
t0=$(now)
curl -s --no-progress-meter -I --parallel --parallel-max 8 -H "Accept: $accept" -K "$work/curl.cfg" -w '%{http_code}\n' >"$work/curl.out"
t1=$(now)
curl_s=$(python3 -c "print(f'{$t1-$t0:.3f}')")
curl_ok=$(grep -c '^200$' "$work/curl.out" || true)

# curl import floor: the requests an import into an empty state cannot avoid, one manifest GET
# and one config GET per new image, made by curl the same way (1 process, keep-alive, 8). The
# registry's own CPU time shows where the bound lies on this machine.
registry_cpu() { awk '{printf "%.2f", ($14 + $15) / 100}' "/proc/$pid/stat"; }
mkdir -p "$work/manifests"
manifest_cfg "$work/manifests" >"$work/curl-get.cfg"
import_floor() {  # sets floor_s and floor_cpu
    local cpu0 cpu1 t0 t1
    cpu0=$(registry_cpu)
    t0=$(now)
    curl -s --no-progress-meter --parallel --parallel-max 8 -H "Accept: $accept" -K "$work/curl-get.cfg"
    python3 - "$work/manifests" "$host" >"$work/curl-config.cfg" <<'PY'
import json, os, sys
folder, host = sys.argv[1:]
for name in sorted(os.listdir(folder)):
    repo = name.rsplit(":", 1)[0].replace("_", "/")
    digest = json.load(open(os.path.join(folder, name)))["config"]["digest"]
    print(f'url = "http://{host}/v2/{repo}/blobs/{digest}"\noutput = "/dev/null"')
PY
    curl -s --no-progress-meter --parallel --parallel-max 8 -K "$work/curl-config.cfg"
    t1=$(now)
    cpu1=$(registry_cpu)
    floor_s=$(python3 -c "print(f'{$t1-$t0:.3f}')")
    floor_cpu=$(python3 -c "print(f'{$cpu1-$cpu0:.2f}')")
}
import_floor

# streamsync apply through the binary, from an empty state.
repo="$work/repo"
mkdir -p "$repo/definitions/bench"
printf '[registry]\ninsecure_allowed = ["%s"]\n' "$host" >"$repo/streamsync.toml"
for r in $(seq 0 $((REPOS - 1))); do
    {
        printf 'apiVersion: image.openshift.io/v1\nkind: ImageStream\nmetadata:\n  name: app%s\nspec:\n  tags:\n' "$r"
        for t in $(seq 0 $((TAGS - 1))); do
            printf '  - name: t%s\n    from:\n      kind: DockerImage\n      name: %s/bench/app%s:t%s\n    importPolicy:\n      insecure: true\n      scheduled: true\n' "$t" "$host" "$r" "$t"
        done
    } >"$repo/definitions/bench/app$r.yaml"
done
requests_logged() { grep -cE '"(HEAD|GET) /v2/[^ ]+/(manifests|blobs)/' "$work/registry.log" || true; }
cpu0=$(registry_cpu)
t0=$(now)
"$streamsync" -q -C "$repo" apply --format json >"$work/apply.json"
t1=$(now)
cpu1=$(registry_cpu)
apply_s=$(python3 -c "print(f'{$t1-$t0:.3f}')")
apply_cpu=$(python3 -c "print(f'{$cpu1-$cpu0:.2f}')")
read -r apply_ok apply_head apply_get < <(python3 - "$work/apply.json" <<'PY'
import json, sys
v = json.load(open(sys.argv[1]))
c = list(v["requests"].values())
print(v["imports"]["imported"], sum(x["head"] for x in c), sum(x["get"] for x in c))
PY
)
before=$(requests_logged)
t0=$(now)
"$streamsync" -C "$repo" apply >/dev/null 2>"$work/apply2.err"
t1=$(now)
apply2_s=$(python3 -c "print(f'{$t1-$t0:.3f}')")
apply2_requests=$(( $(requests_logged) - before ))
before=$(requests_logged)
t0=$(now)
"$streamsync" -C "$repo" sync --once >/dev/null 2>"$work/sync.err"
t1=$(now)
sync_s=$(python3 -c "print(f'{$t1-$t0:.3f}')")
sync_logged=$(( $(requests_logged) - before ))
read -r sync_head sync_get < <(sed -nE 's/.*requests? \([^:]+:[0-9]+: ([0-9]+) HEAD, ([0-9]+) GET\).*/\1 \2/p' "$work/sync.err")
summary=$(grep '^imported' "$work/sync.err" || true)

# The apply against the import floor again, alternating, PAIRS times (each apply into an
# empty state folder of its own): a shared machine's noise shows in the spread.
ratios=()
first_floor=("$floor_s" "$floor_cpu")
for k in $(seq "${PAIRS:-3}"); do
    import_floor
    t0=$(now)
    "$streamsync" -q -C "$repo" --state "$work/pair$k" apply --format json >/dev/null
    t1=$(now)
    ratios+=("$(python3 -c "print(f'{$floor_s/($t1-$t0):.2f}')")")
done
floor_s=${first_floor[0]}
floor_cpu=${first_floor[1]}

printf '\n%-44s %8s %8s %8s %10s\n' "1,000 tags on one local registry" seconds ok tags/s requests
printf '%-44s %8s %8s %8s %10s\n' "streamsync, empty state (manifest+config)" "$full_s" "$full_ok" "$(rate "$N" "$full_s")" "$((full_head + full_get))"
printf '%-44s %8s %8s %8s %10s\n' "streamsync, nothing moved (HEAD only)" "$head_s" "$head_ok" "$(rate "$N" "$head_s")" "$((head_head + head_get))"
printf '%-44s %8s %8s %8s %10s\n' "streamsync apply (binary), empty state" "$apply_s" "$apply_ok" "$(rate "$N" "$apply_s")" "$((apply_head + apply_get))"
printf '%-44s %8s %8s %8s %10s\n' "streamsync apply again, nothing changed" "$apply2_s" "-" "-" "$apply2_requests"
printf '%-44s %8s %8s %8s %10s\n' "streamsync sync --once, nothing moved" "$sync_s" "-" "$(rate "$N" "$sync_s")" "$((sync_head + sync_get))"
printf '%-44s %8s %8s %8s %10s\n' "skopeo inspect, 8 at a time" "$skopeo_s" "$N" "$(rate "$N" "$skopeo_s")" "-"
printf '%-44s %8s %8s %8s %10s\n' "curl HEAD floor (1 process, keep-alive, 8)" "$curl_s" "$curl_ok" "$(rate "$N" "$curl_s")" "$N"
printf '%-44s %8s %8s %8s %10s\n' "curl import floor (manifest+config GET, 8)" "$floor_s" "-" "$(rate "$N" "$floor_s")" "$((2 * N))"
echo "registry CPU: $apply_cpu s during the empty-state apply, $floor_cpu s during the curl import floor"
echo "sync summary: $summary"
python3 - "$full_s" "$head_s" "$skopeo_s" "$curl_s" "$apply_s" "$sync_s" "$floor_s" <<'PY'
import sys
full, head, skopeo, curl, apply, sync, floor = map(float, sys.argv[1:])
print(f"\napply (binary) vs skopeo: {skopeo/apply:5.1f}x faster (target >= 10x)")
print(f"curl import floor vs skopeo: {skopeo/floor:5.1f}x (the most any client gets from this registry here)")
print(f"apply (binary) vs curl import floor: {floor/apply:5.2f} of its speed (target >= 0.9)")
print(f"sync, nothing moved, vs curl floor: {curl/sync:5.2f} of its speed")
print(f"\nempty state vs skopeo:   {skopeo/full:5.1f}x faster (target >= 10x)")
print(f"HEAD only vs skopeo:     {skopeo/head:5.1f}x faster")
print(f"HEAD only vs curl floor: {curl/head:5.2f} of its speed (target >= 0.5)")
print(f"empty state vs curl:     {curl/full:5.2f} of its speed (2-3 requests per tag against 1)")
PY
echo "apply vs curl import floor, alternating pairs: ${ratios[*]} (median $(printf '%s\n' "${ratios[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'); target >= 0.9)"
status=0
[ "$apply2_requests" = 0 ] || { echo "error: the second apply made $apply2_requests requests" >&2; status=1; }
[ "$sync_head" = "$N" ] && [ "$sync_get" = 0 ] && [ "$sync_logged" = "$N" ] || {
    echo "error: sync --once made $sync_head HEAD and $sync_get GET ($sync_logged logged), expected $N HEAD and no GET" >&2
    status=1
}
echo "second apply: $apply2_requests requests; sync --once: $sync_head HEAD, $sync_get GET ($sync_logged in the registry log)"
[ "$full_ok" = "$N" ] && [ "$head_ok" = "$N" ] && [ "$curl_ok" = "$N" ] && [ "$apply_ok" = "$N" ] && exit $status
