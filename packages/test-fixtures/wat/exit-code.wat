;; Exits through proc_exit rather than returning, with the code from argv[1] (default 42), so a
;; runtime's exit-status plumbing is tested with a non-zero value it cannot have guessed.
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_sizes_get" (func $args_sizes_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_get" (func $args_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 1024) "exiting with \00")
  (data (i32.const 1040) "\n\00")

  (func (export "_start")
    (local $code i64)
    (local.set $code (call $arg_u64 (i32.const 1) (i64.const 42)))
    (call $print_cstr (i32.const 2) (i32.const 1024))
    (call $print_u64 (i32.const 2) (local.get $code))
    (call $print_cstr (i32.const 2) (i32.const 1040))
    (call $proc_exit (i32.wrap_i64 (local.get $code))))

  ;; #include io
  ;; #include args
)
