#!/usr/bin/env bash
# Build a release of streamsync for this machine's target and leave it in dist/:
#
#   dist/streamsync-<version>-<target>.tar.gz         streamsync, README.md, LICENSE
#   dist/streamsync-<version>-<target>.tar.gz.sha256  "<hex>  <file name>", as sha256sum writes it
#   dist/streamsync-<version>-oci.tar                 with --image: an OCI archive of the image
#                                                     the Containerfile describes
#
# Usage: scripts/package.sh [--image]
#
# On Linux the binary is statically linked, so it runs in an empty (FROM scratch) image: the gnu
# target with `crt-static` (glibc's static libc; the musl target is used the same way when it is
# the one asked for), names resolved in-process by reqwest's hickory-dns resolver (glibc's
# getaddrinfo would need NSS modules at run time), and libgit2 and zlib built from source and
# linked in (Cargo.toml). `--target` is always passed, so build scripts and proc-macros stay
# dynamic: only the shipped binary is static.
#
# Environment: STREAMSYNC_TARGET (default: rustc's host), STREAMSYNC_COMMIT (default: the Git
# HEAD, or "unknown"), SOURCE_DATE_EPOCH (archive timestamps; default: the HEAD commit's time).
# The image is built with buildah (or podman); STORAGE_DRIVER defaults to vfs and
# BUILDAH_ISOLATION to chroot, which work as root on a machine without a container engine.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

usage() { sed -n '2,/^set -euo/{/^#/s/^# \{0,1\}//p;}' "$0"; }

image=false
for arg in "$@"; do
  case "$arg" in
    --image) image=true ;;
    -h | --help)
      usage
      exit 0
      ;;
    *)
      echo "error: unknown argument '$arg'" >&2
      echo "hint: scripts/package.sh [--image]" >&2
      exit 1
      ;;
  esac
done

step() { printf '==> %s\n' "$*" >&2; }
die() {
  echo "error: $1" >&2
  [ $# -gt 1 ] && echo "hint: $2" >&2
  exit 1
}

version="$(sed -n '/^\[package\]/,/^\[/{s/^version = "\(.*\)"/\1/p;}' Cargo.toml | head -n 1)"
[ -n "$version" ] || die "no package version in Cargo.toml"
target="${STREAMSYNC_TARGET:-$(rustc -vV | sed -n 's/^host: //p')}"
[ -n "$target" ] || die "cannot tell the target (rustc -vV names no host)" "set STREAMSYNC_TARGET"
if [ -z "${STREAMSYNC_COMMIT:-}" ]; then
  STREAMSYNC_COMMIT="$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)"
fi
export STREAMSYNC_COMMIT
# Timestamps in the archive and the image. Not exported: the C build scripts (cc) rebuild when
# it changes, and it changes with every commit.
epoch="${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || echo 0)}"

cargo_args=(build --release --locked --target "$target")
case "$target" in
  *-linux-gnu*)
    # Only the target's rustflags: build scripts and proc-macros are built for the host.
    cargo_args+=(--config "target.$target.rustflags = [\"-C\", \"target-feature=+crt-static\"]")
    ;;
  *-linux-musl*) ;; # static by default
esac

step "cargo ${cargo_args[*]} (streamsync $version, commit $STREAMSYNC_COMMIT)"
cargo "${cargo_args[@]}"

target_dir="$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')"
bin="${target_dir:-target}/$target/release/streamsync"
[ -x "$bin" ] || die "the build left no binary at $bin"

case "$target" in
  *-linux-*)
    # A static executable has no program interpreter and needs no shared library.
    if readelf -lW "$bin" | grep -q 'INTERP' || readelf -dW "$bin" | grep -q '(NEEDED)'; then
      die "$bin is dynamically linked" "see the notes at the top of scripts/package.sh"
    fi
    ;;
esac

name="streamsync-$version-$target"
mkdir -p dist
stage="$(mktemp -d "dist/.stage.XXXXXX")"
trap 'rm -rf "$stage"' EXIT
mkdir "$stage/$name"
cp "$bin" "$stage/$name/streamsync"
cp README.md LICENSE "$stage/$name/"
chmod 0755 "$stage/$name/streamsync"
chmod 0644 "$stage/$name/README.md" "$stage/$name/LICENSE"

archive="$name.tar.gz"
step "dist/$archive"
tar_args=(-C "$stage/$name" -cf - streamsync README.md LICENSE)
if tar --version 2>/dev/null | grep -q 'GNU tar'; then
  # The same sources give the same archive.
  tar_args=(--sort=name --owner=0 --group=0 --numeric-owner --mtime="@$epoch" "${tar_args[@]}")
fi
tar "${tar_args[@]}" | gzip -9n >"$stage/$archive"

sha256() {
  if command -v sha256sum >/dev/null 2>&1; then sha256sum "$@"; else shasum -a 256 "$@"; fi
}
(cd "$stage" && sha256 "$archive" >"$archive.sha256")
# Replace the old files only once both new ones are whole.
mv -f "$stage/$archive" "dist/$archive"
mv -f "$stage/$archive.sha256" "dist/$archive.sha256"

if [ "$image" = true ]; then
  oci="streamsync-$version-oci.tar"
  step "dist/$oci (Containerfile)"
  context="$stage/image"
  mkdir -p "$context"
  cp "$stage/$name/streamsync" "$context/streamsync"
  ca=""
  for candidate in "${STREAMSYNC_CA_BUNDLE:-}" /etc/ssl/certs/ca-certificates.crt /etc/pki/tls/certs/ca-bundle.crt /etc/ssl/cert.pem; do
    if [ -n "$candidate" ] && [ -s "$candidate" ]; then
      ca="$candidate"
      break
    fi
  done
  [ -n "$ca" ] || die "no CA certificate bundle found for the image" "install ca-certificates or set STREAMSYNC_CA_BUNDLE"
  cp "$ca" "$context/ca-certificates.crt"
  mkdir "$context/tmp"
  tag="localhost/streamsync:$version"
  if command -v buildah >/dev/null 2>&1; then
    export STORAGE_DRIVER="${STORAGE_DRIVER:-vfs}" BUILDAH_ISOLATION="${BUILDAH_ISOLATION:-chroot}"
    buildah build --quiet --layers=false --timestamp "$epoch" \
      --build-arg "VERSION=$version" -f Containerfile -t "$tag" "$context" >/dev/null
    rm -f "$stage/$oci"
    buildah push --quiet "$tag" "oci-archive:$stage/$oci:$tag"
  elif command -v podman >/dev/null 2>&1; then
    podman build --quiet --build-arg "VERSION=$version" -f Containerfile -t "$tag" "$context" >/dev/null
    podman save --format oci-archive -o "$stage/$oci" "$tag"
  else
    die "--image needs buildah or podman" "install buildah (apt-get install buildah)"
  fi
  mv -f "$stage/$oci" "dist/$oci"
  step "done: dist/$archive, dist/$archive.sha256, dist/$oci"
else
  step "done: dist/$archive, dist/$archive.sha256"
fi
