;; Imports what no WASI engine provides: a preview1 function that does not exist, and a function
;; from a module no engine knows. A shim must refuse it at Create, naming both.
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "no_such_call" (func $no_such_call (param i32) (result i32)))
  (import "env" "host_thing" (func $host_thing))
  (memory (export "memory") 1)
  (func (export "_start")
    (drop (call $no_such_call (i32.const 0)))
    (call $host_thing)))
