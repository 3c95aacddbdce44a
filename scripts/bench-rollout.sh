#!/usr/bin/env bash
# Roll-out scan benchmark: a repository of 5,000 workload manifests (Deployments with
# `image.openshift.io/triggers`, DeploymentConfigs with ImageChange triggers, multi-document
# files with a Service, and plain ConfigMaps), scanned through the library as an offline
# `plan` does: list the files, read every trigger with positions, plan the roll-outs.
#
# Target: under 0.5 s added to an offline plan. Reports the median of RUNS runs.
# Usage: scripts/bench-rollout.sh [MANIFESTS]      (env: RUNS=5, BENCH_DIR to keep the files)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
MANIFESTS=${1:-5000}
RUNS=${RUNS:-5}

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
PY

cargo build --quiet --release --example bench_rollout --manifest-path "$ROOT/Cargo.toml"
BIN=$ROOT/target/release/examples/bench_rollout
SIZE=$(du -sh "$WORK" | cut -f1)
"$BIN" "$WORK" "$RUNS" | sort -n | awk -v runs="$RUNS" -v size="$SIZE" '
    { t[NR] = $1; m = $2; f = $3; n = $4 }
    END {
        med = t[int((NR + 1) / 2)]
        printf "rollout scan: %d manifests (%s), %d parsed, %d triggers: median %.3f s of %d runs (target < 0.5 s)\n", m, size, f, n, med, runs
        exit (med < 0.5 ? 0 : 1)
    }'
