#!/usr/bin/env bash
# Installs several shims at once, each with its own `install` subcommand, into one containerd.
#
#   tools/install.sh [--from DIR] [--uninstall] [--config PATH] [--bin-dir DIR] [--dry-run]
#                    [--create] [--containerd-version X] ENGINE...
#
# ENGINE is node, wasmer, jco, … or "all" (every shim found). Binaries come from --from DIR
# (default: the repository's dist/bin), where each may be the executable itself, an extracted
# release (containerd-shim-<engine>-v1-<version>-linux-<arch>/) or its .tar.gz. Every other
# option is passed to each shim's install (or uninstall); see `containerd-shim-node-v1 install --help`.
set -euo pipefail

root="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
from="$root/dist/bin" action=install pass=() engines=()
while [ $# -gt 0 ]; do
  case "$1" in
    --from) from="$2"; shift 2 ;;
    --from=*) from="${1#*=}"; shift ;;
    --uninstall) action=uninstall; shift ;;
    --config|--bin-dir|--containerd-version) pass+=("$1" "$2"); shift 2 ;;
    --config=*|--bin-dir=*|--containerd-version=*|--dry-run|--create) pass+=("$1"); shift ;;
    -h|--help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "install.sh: unknown option $1" >&2; exit 2 ;;
    *) engines+=("$1"); shift ;;
  esac
done
[ "${#engines[@]}" -gt 0 ] || { echo "install.sh: name at least one engine (or all); --help for usage" >&2; exit 2; }
[ -d "$from" ] || { echo "install.sh: $from is not a directory" >&2; exit 1; }
arch="$(uname -m)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# The executable for one engine, unpacking a release tarball when that is all there is.
find_shim() {
  local bin="containerd-shim-$1-v1" candidate
  for candidate in "$from/$bin" "$from"/"$bin"-*-linux-"$arch"/"$bin"; do
    [ -x "$candidate" ] && { echo "$candidate"; return; }
  done
  for candidate in "$from"/"$bin"-*-linux-"$arch".tar.gz; do
    [ -f "$candidate" ] || continue
    tar -xzf "$candidate" -C "$work"
    for candidate in "$work"/"$bin"-*-linux-"$arch"/"$bin"; do
      [ -x "$candidate" ] && { echo "$candidate"; return; }
    done
  done
  return 1
}

if [ "${engines[*]}" = all ]; then
  engines=()
  for f in "$from"/containerd-shim-*-v1 "$from"/containerd-shim-*-v1-*-linux-"$arch"{,.tar.gz}; do
    [ -e "$f" ] || continue
    name="$(basename "$f")"
    name="${name#containerd-shim-}"
    engines+=("${name%%-v1*}")
  done
  mapfile -t engines < <(printf '%s\n' "${engines[@]}" | sort -u)
  [ "${#engines[@]}" -gt 0 ] || { echo "install.sh: no containerd-shim-*-v1 in $from" >&2; exit 1; }
fi

status=0
for engine in "${engines[@]}"; do
  echo "== $action $engine"
  if ! shim="$(find_shim "$engine")"; then
    echo "install.sh: no containerd-shim-$engine-v1 for $arch in $from" >&2
    status=1
    continue
  fi
  "$shim" "$action" "${pass[@]}" || status=1
done
exit "$status"
