#!/usr/bin/env bash
# Builds every shim executable into dist/bin/ from a fresh Debian 12 that has Node 20 and npm,
# installing only what is missing. Safe to re-run; works from any directory.
set -euo pipefail

root="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
cd "$root"

export TURBO_TELEMETRY_DISABLED=1 DO_NOT_TRACK=1

as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    echo "build.sh: need root to run: $*" >&2
    exit 1
  fi
}

# containerd, runc and busybox are not needed to build, but the end-to-end tests expect them on
# the host; busybox-static because it is copied into container images.
packages=()
if ! command -v containerd >/dev/null 2>&1 || ! command -v runc >/dev/null 2>&1 || [ ! -x /bin/busybox ]; then
  packages+=(containerd runc busybox-static)
fi
# CRI's pods with a network of their own need CNI plugins; the tests link them from /usr/lib/cni
# into each private containerd's own bin dir and never use the host's /etc/cni.
if [ ! -x /usr/lib/cni/bridge ] || [ ! -x /usr/lib/cni/host-local ] || [ ! -x /usr/lib/cni/loopback ]; then
  packages+=(containernetworking-plugins)
fi
# The test programs are compiled by the toolchains a user has: Debian's clang with wasi-libc, and
# Debian's rustc with its wasm32-wasi std (a rustup toolchain has no wasm std offline).
if ! command -v clang >/dev/null 2>&1 || [ ! -e /usr/include/wasm32-wasi/stdio.h ] || ! ls /usr/lib/llvm-*/lib/clang/*/lib/wasi/libclang_rt.builtins-wasm32.a >/dev/null 2>&1 || ! command -v wasm-ld >/dev/null 2>&1; then
  packages+=(clang lld wasi-libc libclang-rt-14-dev-wasm32)
fi
if [ ! -x /usr/bin/rustc ] || [ ! -d /usr/lib/rustlib/wasm32-wasi ]; then
  packages+=(rustc libstd-rust-dev-wasm32)
fi
# The build's ELF edits are checked against binutils' readelf (tools/test/unit/sea-strip-elf.test.ts).
if ! command -v readelf >/dev/null 2>&1; then
  packages+=(binutils)
fi
# Without git the executables would say version 0.0.0-dev instead of the commit.
if [ -e .git ] && ! command -v git >/dev/null 2>&1; then
  packages+=(git)
fi
if [ "${#packages[@]}" -gt 0 ]; then
  as_root apt-get update
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y "${packages[@]}"
fi

if ! command -v pnpm >/dev/null 2>&1; then
  as_root npm i -g pnpm@10.34.9
fi

pnpm install --frozen-lockfile

# Builds the fixtures too (test-fixtures has a build script; the shims that use it list it as a dependency).
# The executables carry the commit they were built from: part of turbo's cache key, so a build
# from the cache never carries an older commit's label.
SHIM_REVISION="${SHIM_REVISION:-$(git -C "$root" rev-parse HEAD 2>/dev/null || true)}"
export SHIM_REVISION
pnpm exec turbo run build

echo "dist/bin:"
if [ -d dist/bin ]; then
  find dist/bin -type f ! -name '.*' -printf '%P %s\n' | sort |
    awk '{ printf "  %-44s %12d bytes %7.1f MB\n", $1, $2, $2 / 1e6 }'
else
  echo "  (none)"
fi
