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
  const bytes = await readFile(new URL("../node_modules/@bytecodealliance/jco/lib/wasi_snapshot_preview1.command.wasm", import.meta.url));
  const sha256 = createHash("sha256").update(bytes).digest("hex");
  if (sha256 !== "2a652d711c1fff34f9d5a0e073e50ef7eeb8fe7d8a6d559eae643a4c049a7b94") throw new Error(`the preview1 adapter in @bytecodealliance/jco is not the pinned one (sha256 ${sha256})`);
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
export async function buildComponents(): Promise<{ hello: Uint8Array; exit42: Uint8Array; http: Uint8Array }> {
  const { componentNew, parse } = await import("@bytecodealliance/jco-transpile/wasm-tools");
  const hello = await componentNew(await readFile(fixturePath("hello")), [["wasi_snapshot_preview1", await commandAdapter()]]);
  return { hello, exit42: await parse(exitWithCodeWat(42)), http: await parse(httpHandlerWat("hello over http\n")) };
}

/**
 * A wasi:http/incoming-handler component in WAT: answers every request with 200 and `body`. Its
 * imports declare only what it calls (error payloads it never reads are left out).
 */
export const httpHandlerWat = (body: string) => `
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
  (core module $libc (memory (export "memory") 1))
  (core instance $libc (instantiate $libc))
  (alias core export $libc "memory" (core memory $mem))
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
    (data (i32.const 64) ${JSON.stringify(body)})
    (func (export "handle") (param $req i32) (param $out i32)
      (local $resp i32) (local $body i32) (local $os i32)
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
      (export "bwf" (func $bwf)) (export "drop-os" (func $drop-os))))))
  (func $handle (param "request" (own $incoming-request)) (param "response-out" (own $response-outparam)) (canon lift (core func $i "handle")))
  (instance $handler (export "handle" (func $handle)))
  (export "wasi:http/incoming-handler@0.2.12" (instance $handler)))`;
