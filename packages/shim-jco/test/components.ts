import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { fixturePath } from "@wasm-shims/test-fixtures";

/**
 * The WASI preview1 command adapter, which turns a preview1 core module into a wasi:cli/command
 * component: only the tests use it, to make a small component. It ships inside the full
 * @bytecodealliance/jco, a devDependency installed from the lockfile (the root package.json
 * overrides away its heavy dependencies); the pinned hash says it is the expected file.
 */
export async function commandAdapter(): Promise<Uint8Array> {
  const bytes = await readFile(
    new URL("../node_modules/@bytecodealliance/jco/lib/wasi_snapshot_preview1.command.wasm", import.meta.url),
  );
  const sha256 = createHash("sha256").update(bytes).digest("hex");
  if (sha256 !== "2a652d711c1fff34f9d5a0e073e50ef7eeb8fe7d8a6d559eae643a4c049a7b94")
    throw new Error(`the preview1 adapter in @bytecodealliance/jco is not the pinned one (sha256 ${sha256})`);
  return bytes;
}

/**
 * A WASI 0.2 command written directly as a component: wasi:cli/run calls
 * wasi:cli/exit.exit-with-code(code).
 */
export const exitWithCodeWat = (code: number) => `
(component
  (import "wasi:cli/exit@0.2.12" (instance $exit (export "exit-with-code" (func (param "status-code" u8)))))
  (core module $m
    (import "exit" "exit-with-code" (func $exit (param i32)))
    (func (export "run") (result i32) i32.const ${code} call $exit i32.const 0))
  (core func $exit-lowered (canon lower (func $exit "exit-with-code")))
  (core instance $i (instantiate $m (with "exit" (instance (export "exit-with-code" (func $exit-lowered))))))
  (func $run (result (result)) (canon lift (core func $i "run")))
  (instance $run-instance (export "run" (func $run)))
  (export "wasi:cli/run@0.2.12" (instance $run-instance)))`;

/** Test-time components, built with jco-transpile's wasm-tools (nothing binary is committed). */
export async function buildComponents(): Promise<{
  hello: Uint8Array;
  exit42: Uint8Array;
  http: Uint8Array;
  httpTrap: Uint8Array;
}> {
  const { componentNew, parse } = await import("@bytecodealliance/jco-transpile/wasm-tools");
  const hello = await componentNew(await readFile(fixturePath("hello")), [
    ["wasi_snapshot_preview1", await commandAdapter()],
  ]);
  return {
    hello,
    exit42: await parse(exitWithCodeWat(42)),
    http: await parse(httpHandlerWat("hello over http\n")),
    httpTrap: await parse(httpHandlerWat("not a POST\n", { trapOnPost: true })),
  };
}

/**
 * A wasi:http/incoming-handler component in WAT: answers every request with 200 and `body`. Its
 * imports declare only what it calls (error payloads it never reads are left out). With
 * `trapOnPost`, a POST request hits `unreachable` before any response is set.
 */
export const httpHandlerWat = (body: string, opts: { trapOnPost?: boolean } = {}) => `
(component
  (import "wasi:io/streams@0.2.12" (instance $streams
    (export "output-stream" (type $os (sub resource)))
    (export "[method]output-stream.blocking-write-and-flush" (func (param "self" (borrow $os)) (param "contents" (list u8)) (result (result))))))
  (alias export $streams "output-stream" (type $output-stream))
  (import "wasi:http/types@0.2.12" (instance $types
    (alias outer 1 $output-stream (type $os))
    (export "output-stream" (type $os2 (eq $os)))
    (export "fields" (type $fields (sub resource)))
    (export "incoming-request" (type $req (sub resource)))
    (type $method-def (variant (case "get") (case "head") (case "post") (case "put") (case "delete") (case "connect") (case "options") (case "trace") (case "patch") (case "other" string)))
    (export "method" (type $method (eq $method-def)))
    (export "[method]incoming-request.method" (func (param "self" (borrow $req)) (result $method)))
    (export "outgoing-response" (type $resp (sub resource)))
    (export "outgoing-body" (type $body (sub resource)))
    (export "response-outparam" (type $out (sub resource)))
    (export "[constructor]fields" (func (result (own $fields))))
    (export "[constructor]outgoing-response" (func (param "headers" (own $fields)) (result (own $resp))))
    (export "[method]outgoing-response.body" (func (param "self" (borrow $resp)) (result (result (own $body)))))
    (export "[method]outgoing-body.write" (func (param "self" (borrow $body)) (result (result (own $os2)))))
    (export "[static]outgoing-body.finish" (func (param "this" (own $body)) (param "trailers" (option (own $fields))) (result (result))))
    (export "[static]response-outparam.set" (func (param "param" (own $out)) (param "response" (result (own $resp) (error u8)))))))
  (alias export $types "incoming-request" (type $incoming-request))
  (alias export $types "response-outparam" (type $response-outparam))
  (core module $libc
    (memory (export "memory") 1)
    (global $bump (mut i32) (i32.const 4096))
    (func (export "realloc") (param i32 i32 i32 i32) (result i32)
      (local $at i32)
      (local.set $at (i32.and (i32.add (global.get $bump) (i32.sub (local.get 2) (i32.const 1))) (i32.sub (i32.const 0) (local.get 2))))
      (global.set $bump (i32.add (local.get $at) (local.get 3)))
      (local.get $at)))
  (core instance $libc (instantiate $libc))
  (alias core export $libc "memory" (core memory $mem))
  (alias core export $libc "realloc" (core func $realloc))
  (core func $method (canon lower (func $types "[method]incoming-request.method") (memory $mem) (realloc $realloc)))
  (core func $fields (canon lower (func $types "[constructor]fields")))
  (core func $resp (canon lower (func $types "[constructor]outgoing-response")))
  (core func $body (canon lower (func $types "[method]outgoing-response.body") (memory $mem)))
  (core func $write (canon lower (func $types "[method]outgoing-body.write") (memory $mem)))
  (core func $finish (canon lower (func $types "[static]outgoing-body.finish")))
  (core func $set (canon lower (func $types "[static]response-outparam.set")))
  (core func $bwf (canon lower (func $streams "[method]output-stream.blocking-write-and-flush") (memory $mem)))
  (core func $drop-os (canon resource.drop $output-stream))
  (core module $m
    (import "libc" "memory" (memory 1))
    (import "h" "fields" (func $fields (result i32)))
    (import "h" "resp" (func $resp (param i32) (result i32)))
    (import "h" "body" (func $body (param i32 i32)))
    (import "h" "write" (func $write (param i32 i32)))
    (import "h" "finish" (func $finish (param i32 i32 i32) (result i32)))
    (import "h" "set" (func $set (param i32 i32 i32)))
    (import "h" "bwf" (func $bwf (param i32 i32 i32) (result i32)))
    (import "h" "drop-os" (func $drop-os (param i32)))
    (import "h" "method" (func $method (param i32 i32)))
    (data (i32.const 64) ${JSON.stringify(body)})
    (func (export "handle") (param $req i32) (param $out i32)
      (local $resp i32) (local $body i32) (local $os i32)
      ${opts.trapOnPost ? "(call $method (local.get $req) (i32.const 32)) (if (i32.eq (i32.load8_u (i32.const 32)) (i32.const 2)) (then unreachable))" : ""}
      (local.set $resp (call $resp (call $fields)))
      (call $body (local.get $resp) (i32.const 0))
      (local.set $body (i32.load (i32.const 4)))
      (call $set (local.get $out) (i32.const 0) (local.get $resp))
      (call $write (local.get $body) (i32.const 0))
      (local.set $os (i32.load (i32.const 4)))
      (drop (call $bwf (local.get $os) (i32.const 64) (i32.const ${new TextEncoder().encode(body).length})))
      (call $drop-os (local.get $os))
      (drop (call $finish (local.get $body) (i32.const 0) (i32.const 0)))))
  (core instance $i (instantiate $m
    (with "libc" (instance $libc))
    (with "h" (instance
      (export "fields" (func $fields)) (export "resp" (func $resp)) (export "body" (func $body))
      (export "write" (func $write)) (export "finish" (func $finish)) (export "set" (func $set))
      (export "bwf" (func $bwf)) (export "drop-os" (func $drop-os)) (export "method" (func $method))))))
  (func $handle (param "request" (own $incoming-request)) (param "response-out" (own $response-outparam)) (canon lift (core func $i "handle")))
  (instance $handler (export "handle" (func $handle)))
  (export "wasi:http/incoming-handler@0.2.12" (instance $handler)))`;

/**
 * A wasi:http handler in WAT that streams without keeping anything: a GET gets `downloadBytes`
 * bytes, written 4 KiB at a time, byte i of each 4 KiB being i % 251; any other request's body is
 * read with blocking-read into one 64 KiB buffer and answered with the byte count in decimal.
 * Its memory never grows, so what a body costs in memory is the server's alone.
 */
export const httpStreamWat = (downloadBytes: number) => `
(component
  (import "wasi:io/streams@0.2.12" (instance $streams
    (export "input-stream" (type $is (sub resource)))
    (export "output-stream" (type $os (sub resource)))
    (export "[method]input-stream.blocking-read" (func (param "self" (borrow $is)) (param "len" u64) (result (result (list u8)))))
    (export "[method]output-stream.blocking-write-and-flush" (func (param "self" (borrow $os)) (param "contents" (list u8)) (result (result))))))
  (alias export $streams "input-stream" (type $input-stream))
  (alias export $streams "output-stream" (type $output-stream))
  (import "wasi:http/types@0.2.12" (instance $types
    (alias outer 1 $input-stream (type $is))
    (export "input-stream" (type $is2 (eq $is)))
    (alias outer 1 $output-stream (type $os))
    (export "output-stream" (type $os2 (eq $os)))
    (export "fields" (type $fields (sub resource)))
    (export "incoming-request" (type $req (sub resource)))
    (export "incoming-body" (type $ib (sub resource)))
    (export "outgoing-response" (type $resp (sub resource)))
    (export "outgoing-body" (type $body (sub resource)))
    (export "response-outparam" (type $out (sub resource)))
    (type $method-def (variant (case "get") (case "head") (case "post") (case "put") (case "delete") (case "connect") (case "options") (case "trace") (case "patch") (case "other" string)))
    (export "method" (type $method (eq $method-def)))
    (export "[method]incoming-request.method" (func (param "self" (borrow $req)) (result $method)))
    (export "[method]incoming-request.consume" (func (param "self" (borrow $req)) (result (result (own $ib)))))
    (export "[method]incoming-body.stream" (func (param "self" (borrow $ib)) (result (result (own $is2)))))
    (export "[constructor]fields" (func (result (own $fields))))
    (export "[constructor]outgoing-response" (func (param "headers" (own $fields)) (result (own $resp))))
    (export "[method]outgoing-response.body" (func (param "self" (borrow $resp)) (result (result (own $body)))))
    (export "[method]outgoing-body.write" (func (param "self" (borrow $body)) (result (result (own $os2)))))
    (export "[static]outgoing-body.finish" (func (param "this" (own $body)) (param "trailers" (option (own $fields))) (result (result))))
    (export "[static]response-outparam.set" (func (param "param" (own $out)) (param "response" (result (own $resp) (error u8)))))))
  (alias export $types "incoming-request" (type $incoming-request))
  (alias export $types "incoming-body" (type $incoming-body))
  (alias export $types "response-outparam" (type $response-outparam))
  (core module $libc
    (memory (export "memory") 3)
    ;; Every allocation (a blocking-read result of at most 64 KiB, an unread method name) gets the
    ;; same buffer: the handler is done with one before it asks for the next.
    (func (export "realloc") (param i32 i32 i32 i32) (result i32) (i32.const 65536)))
  (core instance $libc (instantiate $libc))
  (alias core export $libc "memory" (core memory $mem))
  (alias core export $libc "realloc" (core func $realloc))
  (core func $method (canon lower (func $types "[method]incoming-request.method") (memory $mem) (realloc $realloc)))
  (core func $consume (canon lower (func $types "[method]incoming-request.consume") (memory $mem)))
  (core func $stream (canon lower (func $types "[method]incoming-body.stream") (memory $mem)))
  (core func $bread (canon lower (func $streams "[method]input-stream.blocking-read") (memory $mem) (realloc $realloc)))
  (core func $fields (canon lower (func $types "[constructor]fields")))
  (core func $resp (canon lower (func $types "[constructor]outgoing-response")))
  (core func $body (canon lower (func $types "[method]outgoing-response.body") (memory $mem)))
  (core func $write (canon lower (func $types "[method]outgoing-body.write") (memory $mem)))
  (core func $finish (canon lower (func $types "[static]outgoing-body.finish")))
  (core func $set (canon lower (func $types "[static]response-outparam.set")))
  (core func $bwf (canon lower (func $streams "[method]output-stream.blocking-write-and-flush") (memory $mem)))
  (core func $drop-os (canon resource.drop $output-stream))
  (core func $drop-is (canon resource.drop $input-stream))
  (core func $drop-ib (canon resource.drop $incoming-body))
  (core module $m
    (import "libc" "memory" (memory 3))
    (import "h" "method" (func $method (param i32 i32)))
    (import "h" "consume" (func $consume (param i32 i32)))
    (import "h" "stream" (func $stream (param i32 i32)))
    (import "h" "bread" (func $bread (param i32 i64 i32)))
    (import "h" "fields" (func $fields (result i32)))
    (import "h" "resp" (func $resp (param i32) (result i32)))
    (import "h" "body" (func $body (param i32 i32)))
    (import "h" "write" (func $write (param i32 i32)))
    (import "h" "finish" (func $finish (param i32 i32 i32) (result i32)))
    (import "h" "set" (func $set (param i32 i32 i32)))
    (import "h" "bwf" (func $bwf (param i32 i32 i32) (result i32)))
    (import "h" "drop-os" (func $drop-os (param i32)))
    (import "h" "drop-is" (func $drop-is (param i32)))
    (import "h" "drop-ib" (func $drop-ib (param i32)))
    ;; Sets the response and returns its body's output stream; the body handle goes to address 0.
    (func $start (param $out i32) (result i32)
      (local $resp i32)
      (local.set $resp (call $resp (call $fields)))
      (call $body (local.get $resp) (i32.const 40))
      (i32.store (i32.const 0) (i32.load (i32.const 44)))
      (call $set (local.get $out) (i32.const 0) (local.get $resp))
      (call $write (i32.load (i32.const 0)) (i32.const 40))
      (i32.load (i32.const 44)))
    (func $end (param $os i32)
      (call $drop-os (local.get $os))
      (drop (call $finish (i32.load (i32.const 0)) (i32.const 0) (i32.const 0))))
    (func (export "handle") (param $req i32) (param $out i32)
      (local $ib i32) (local $is i32) (local $os i32) (local $total i64) (local $p i32) (local $left i64) (local $len i32) (local $i i32)
      (call $method (local.get $req) (i32.const 32))
      (if (i32.ne (i32.load8_u (i32.const 32)) (i32.const 0))
        (then
          (call $consume (local.get $req) (i32.const 16))
          (local.set $ib (i32.load (i32.const 20)))
          (call $stream (local.get $ib) (i32.const 16))
          (local.set $is (i32.load (i32.const 20)))
          (block $done (loop $read
            (call $bread (local.get $is) (i64.const 65536) (i32.const 16))
            (br_if $done (i32.load8_u (i32.const 16)))
            (local.set $total (i64.add (local.get $total) (i64.extend_i32_u (i32.load (i32.const 24)))))
            (br $read)))
          (call $drop-is (local.get $is))
          (call $drop-ib (local.get $ib))
          (local.set $p (i32.const 240))
          (loop $digits
            (local.set $p (i32.sub (local.get $p) (i32.const 1)))
            (i32.store8 (local.get $p) (i32.add (i32.const 48) (i32.wrap_i64 (i64.rem_u (local.get $total) (i64.const 10)))))
            (local.set $total (i64.div_u (local.get $total) (i64.const 10)))
            (br_if $digits (i64.ne (local.get $total) (i64.const 0))))
          (local.set $os (call $start (local.get $out)))
          (drop (call $bwf (local.get $os) (local.get $p) (i32.sub (i32.const 240) (local.get $p))))
          (call $end (local.get $os)))
        (else
          (loop $fill
            (i32.store8 (i32.add (i32.const 4096) (local.get $i)) (i32.rem_u (local.get $i) (i32.const 251)))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br_if $fill (i32.lt_u (local.get $i) (i32.const 4096))))
          (local.set $os (call $start (local.get $out)))
          (local.set $left (i64.const ${downloadBytes}))
          (block $sent (loop $send
            (br_if $sent (i64.eqz (local.get $left)))
            (local.set $len (if (result i32) (i64.lt_u (local.get $left) (i64.const 4096)) (then (i32.wrap_i64 (local.get $left))) (else (i32.const 4096))))
            (br_if $sent (call $bwf (local.get $os) (i32.const 4096) (local.get $len)))
            (local.set $left (i64.sub (local.get $left) (i64.extend_i32_u (local.get $len))))
            (br $send)))
          (call $end (local.get $os))))))
  (core instance $i (instantiate $m
    (with "libc" (instance $libc))
    (with "h" (instance
      (export "method" (func $method)) (export "consume" (func $consume)) (export "stream" (func $stream)) (export "bread" (func $bread))
      (export "fields" (func $fields)) (export "resp" (func $resp)) (export "body" (func $body)) (export "write" (func $write))
      (export "finish" (func $finish)) (export "set" (func $set)) (export "bwf" (func $bwf))
      (export "drop-os" (func $drop-os)) (export "drop-is" (func $drop-is)) (export "drop-ib" (func $drop-ib))))))
  (func $handle (param "request" (own $incoming-request)) (param "response-out" (own $response-outparam)) (canon lift (core func $i "handle")))
  (instance $handler (export "handle" (func $handle)))
  (export "wasi:http/incoming-handler@0.2.12" (instance $handler)))`;
