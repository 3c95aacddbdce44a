#!/usr/bin/env bash
# Install a released streamsync: no Rust, seconds. Used by action.yml; runs anywhere with bash,
# curl, tar and sha256sum (or shasum).
#
#   STREAMSYNC_VERSION        the release, e.g. 0.2.0 (a leading "v" is accepted); required
#   STREAMSYNC_DOWNLOAD_BASE  where releases are (default:
#                             https://github.com/$STREAMSYNC_REPOSITORY/releases/download); the
#                             archive is $STREAMSYNC_DOWNLOAD_BASE/v<version>/<archive>, next to
#                             <archive>.sha256
#   STREAMSYNC_REPOSITORY     owner/name of the repository that publishes them
#                             (default: streamsync/streamsync)
#   STREAMSYNC_INSTALL_DIR    the folder the binary is installed in, as streamsync (default: the
#                             runner's tool cache, $RUNNER_TOOL_CACHE/streamsync/<version>/<arch>)
#   STREAMSYNC_TARGET         the archive's target (default: this machine's)
#
# The archive's SHA-256 must equal its .sha256 file's, or nothing is installed. Transient
# download failures (connection refused, timeouts, 5xx, 429) are retried. On a GitHub runner the
# folder is added to PATH and its binary is the step output `bin`.
set -euo pipefail

die() {
  echo "error: $1" >&2
  [ $# -gt 1 ] && echo "hint: $2" >&2
  exit 1
}

version="${STREAMSYNC_VERSION:-}"
version="${version#v}"
[ -n "$version" ] || die "STREAMSYNC_VERSION is not set" "set it to a released version, e.g. 0.2.0"
if ! [[ "$version" =~ ^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$ ]]; then
  die "STREAMSYNC_VERSION '$version' is not a release version" "a version looks like 0.2.0"
fi

if [ -n "${STREAMSYNC_TARGET:-}" ]; then
  target="$STREAMSYNC_TARGET"
else
  os="$(uname -s)"
  arch="$(uname -m)"
  case "$arch" in
    x86_64 | amd64) arch=x86_64 ;;
    aarch64 | arm64) arch=aarch64 ;;
    *) die "no streamsync release for the $arch architecture" "build it: cargo install --locked streamsync" ;;
  esac
  case "$os" in
    Linux) target="$arch-unknown-linux-gnu" ;;
    Darwin) target="$arch-apple-darwin" ;;
    *) die "no streamsync release for $os" "build it: cargo install --locked streamsync" ;;
  esac
fi

repository="${STREAMSYNC_REPOSITORY:-streamsync/streamsync}"
base="${STREAMSYNC_DOWNLOAD_BASE:-https://github.com/$repository/releases/download}"
base="${base%/}"
archive="streamsync-$version-$target.tar.gz"
url="$base/v$version/$archive"

if [ -n "${STREAMSYNC_INSTALL_DIR:-}" ]; then
  install_dir="$STREAMSYNC_INSTALL_DIR"
else
  cache="${RUNNER_TOOL_CACHE:-}"
  [ -n "$cache" ] || die "STREAMSYNC_INSTALL_DIR is not set and this is not a runner with a tool cache" "set STREAMSYNC_INSTALL_DIR"
  install_dir="$cache/streamsync/$version/${target%%-*}"
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

fetch() {
  # --retry covers timeouts, 408, 429, 500, 502, 503 and 504; --retry-connrefused a server
  # that is not up yet. A 404 is not transient: it fails at once.
  curl --fail --silent --show-error --location --proto '=https,http' \
    --connect-timeout 20 --max-time 300 --retry 5 --retry-delay 1 --retry-max-time 120 \
    --retry-connrefused --output "$2" "$1"
}

echo "streamsync: downloading $url" >&2
fetch "$url" "$work/$archive" || die "could not download $url" "is v$version released for $target?"
fetch "$url.sha256" "$work/$archive.sha256" || die "could not download $url.sha256"

expected="$(awk 'NR == 1 { print $1 }' "$work/$archive.sha256" | tr 'A-F' 'a-f')"
named="$(awk 'NR == 1 { sub(/^\*/, "", $2); print $2 }' "$work/$archive.sha256")"
if ! [[ "$expected" =~ ^[0-9a-f]{64}$ ]]; then
  die "$archive.sha256 holds no SHA-256 checksum" "it should read '<hex>  $archive'"
fi
if [ "$named" != "$archive" ]; then
  die "$archive.sha256 names '$named', not $archive"
fi
if command -v sha256sum >/dev/null 2>&1; then
  actual="$(sha256sum "$work/$archive" | awk '{ print $1 }')"
else
  actual="$(shasum -a 256 "$work/$archive" | awk '{ print $1 }')"
fi
if [ "$actual" != "$expected" ]; then
  die "checksum mismatch for $archive: its SHA-256 is $actual, but $archive.sha256 says $expected; nothing was installed" \
    "the download is corrupt or was tampered with; try again, or compare with the release page"
fi

mkdir "$work/x"
tar -xzf "$work/$archive" -C "$work/x" streamsync || die "$archive holds no streamsync binary"
[ -f "$work/x/streamsync" ] && [ ! -L "$work/x/streamsync" ] || die "$archive holds no streamsync binary"
chmod 0755 "$work/x/streamsync"
reported="$("$work/x/streamsync" --version 2>/dev/null)" || die "the streamsync in $archive does not run on this machine" "set STREAMSYNC_TARGET to this machine's target"

mkdir -p "$install_dir"
# Into place in one step: a binary that is there is whole.
cp "$work/x/streamsync" "$install_dir/.streamsync.$$"
mv -f "$install_dir/.streamsync.$$" "$install_dir/streamsync"
bin="$install_dir/streamsync"
echo "streamsync: installed $reported as $bin" >&2

if [ -n "${GITHUB_PATH:-}" ]; then
  echo "$install_dir" >>"$GITHUB_PATH"
fi
if [ -n "${GITHUB_OUTPUT:-}" ]; then
  echo "bin=$bin" >>"$GITHUB_OUTPUT"
fi
