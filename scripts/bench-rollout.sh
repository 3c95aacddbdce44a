#!/usr/bin/env bash
# Roll-out benchmark: what 5,000 workload manifests (Deployments with
# `image.openshift.io/triggers`, DeploymentConfigs with ImageChange triggers, multi-document
# files with a Service, and plain ConfigMaps) add to an offline `streamsync plan`, through the
# binary. The repository defines the 3,750 streams the triggers follow (one reference tag
# each) and its state is applied; the plan is timed with `[rollout] paths` selecting the
# manifests and selecting none, cold each time, and the difference is the roll-outs' cost:
# list the files, read every trigger with positions, resolve 3,750 tags and render 3,750
# roll-outs (every container still holds the placeholder `" "`, the worst case).
#
# Target: under 0.5 s added to an offline plan. Reports medians of RUNS runs.
# Usage: scripts/bench-rollout.sh [MANIFESTS]      (env: RUNS=5, BENCH_DIR to keep the files,
#                                                   STREAMSYNC_BIN)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
MANIFESTS=${1:-5000}
RUNS=${RUNS:-5}
BIN=${STREAMSYNC_BIN:-$ROOT/target/release/streamsync}

if [ -n "${BENCH_DIR:-}" ]; then
    WORK=$BENCH_DIR
    rm -rf "$WORK" && mkdir -p "$WORK"
else
    WORK=$(mktemp -d)
    trap 'rm -rf "$WORK"' EXIT
fi

python3 - "$WORK" "$MANIFESTS" <<'PY'
import os, sys
work, count = sys.argv[1], int(sys.argv[2])
for i in range(count):
    team = f"team{i % 50:02d}"
    folder = os.path.join(work, "apps", team)
    os.makedirs(folder, exist_ok=True)
    kind = i % 4
    if kind == 0 or kind == 1:
        text = f"""# app {i}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: app{i:05d}
  namespace: {team}
  labels: {{app: app{i:05d}}}
  annotations:
    image.openshift.io/triggers: '[{{"from":{{"kind":"ImageStreamTag","name":"app{i:05d}:v1.0"}},"fieldPath":"spec.template.spec.containers[?(@.name==\\"web\\")].image"}}]'
spec:
  replicas: 2
  selector:
    matchLabels: {{app: app{i:05d}}}
  template:
    metadata:
      labels: {{app: app{i:05d}}}
    spec:
      containers:
      - name: web
        image: " "
        ports:
        - containerPort: 8080
        env:
        - {{name: MODE, value: production}}
        resources:
          limits: {{cpu: 500m, memory: 256Mi}}
"""
        if kind == 1:
            text += f"""---
apiVersion: v1
kind: Service
metadata:
  name: app{i:05d}
  namespace: {team}
spec:
  selector: {{app: app{i:05d}}}
  ports:
  - port: 80
    targetPort: 8080
"""
    elif kind == 2:
        text = f"""apiVersion: apps.openshift.io/v1
kind: DeploymentConfig
metadata:
  name: app{i:05d}
  namespace: {team}
spec:
  replicas: 1
  triggers:
  - type: ConfigChange
  - type: ImageChange
    imageChangeParams:
      automatic: true
      containerNames: [web]
      from: {{kind: ImageStreamTag, name: "app{i:05d}:v1.0"}}
  template:
    metadata:
      labels: {{app: app{i:05d}}}
    spec:
      containers:
      - name: web
        image: " "
"""
    else:
        text = f"""apiVersion: v1
kind: ConfigMap
metadata:
  name: app{i:05d}-config
  namespace: {team}
data:
  setting: "value {i}"
  other: "more text for app {i}"
"""
    with open(os.path.join(folder, f"app{i:05d}.yaml"), "w") as f:
        f.write(text)
    if kind != 3:
        defs = os.path.join(work, "definitions", team)
        os.makedirs(defs, exist_ok=True)
        with open(os.path.join(defs, f"app{i:05d}.yaml"), "w") as f:
            f.write(f"""apiVersion: image.openshift.io/v1
kind: ImageStream
metadata:
  name: app{i:05d}
spec:
  tags:
  - name: v1.0
    from:
      kind: DockerImage
      name: registry.example.com/{team}/app{i:05d}:v1.0
    reference: true
""")
PY

if [ ! -x "$BIN" ]; then
    cargo build --quiet --release --manifest-path "$ROOT/Cargo.toml"
fi
printf 'default_namespace = "team00"\n[rollout]\npaths = ["nothing/**"]\n' >"$WORK/none.toml"
printf 'default_namespace = "team00"\n[rollout]\npaths = ["apps/**"]\n' >"$WORK/all.toml"
# The state as an apply leaves it (reference tags need no registry), manifests not rolled.
"$BIN" -C "$WORK" --config "$WORK/none.toml" apply --auto-approve >/dev/null 2>&1

python3 - "$BIN" "$WORK" "$RUNS" "$MANIFESTS" <<'PY'
import statistics, subprocess, sys, time
binary, work, runs, manifests = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])

def plan(config):
    start = time.perf_counter()
    out = subprocess.run([binary, "-C", work, "--config", f"{work}/{config}.toml", "plan"],
                         capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if out.returncode != 0:
        sys.exit(f"plan failed ({out.returncode}):\n{out.stderr}")
    return elapsed, out.stdout.strip().splitlines()[-1]

times = {"none": [], "all": []}
last = {}
plan("all")  # warm the page cache once; streamsync itself keeps nothing between runs
for _ in range(runs):
    for config in ("none", "all"):
        t, line = plan(config)
        times[config].append(t)
        last[config] = line
none, full = statistics.median(times["none"]), statistics.median(times["all"])
added = full - none
print(f"plan without manifests:  {none:.3f} s median of {runs}   ({last['none']})")
print(f"plan with {manifests} manifests: {full:.3f} s median of {runs}   ({last['all']})")
print(f"added by roll-outs:      {added:.3f} s (target < 0.5 s)")
sys.exit(0 if added < 0.5 else 1)
PY
