#!/usr/bin/env bash
# Regenerate docs/catalog.png, the README's picture of the example repository's catalog page:
# `streamsync catalog --out DIR` on this repository, then a headless Chromium screenshot of
# DIR/index.html at desktop width. Needs Debian's `chromium` (`.ci/run` installs it).
#
#   bash scripts/catalog-screenshot.sh [WIDTHxHEIGHT]     (default 1280x900)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
SIZE="${1:-1280x900}"

cargo build --quiet
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

./target/debug/streamsync -C . catalog --out "$WORK/site"
chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync \
  --hide-scrollbars --user-data-dir="$WORK/profile" \
  --window-size="${SIZE/x/,}" --screenshot="$WORK/catalog.png" \
  "file://$WORK/site/index.html" 2>/dev/null
mv "$WORK/catalog.png" docs/catalog.png
echo "wrote docs/catalog.png ($SIZE)"
