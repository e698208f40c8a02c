;; A command with more than one entry point, for `module.wasm#function`: _start prints one line,
;; `greet` another and exits 7 through proc_exit, `quiet` returns without a word; `answer` is a
;; global, not a function.
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)
  (global (export "answer") i32 (i32.const 42))
  (data (i32.const 1024) "start was called\n\00")
  (data (i32.const 1100) "greet was called\n\00")

  (func (export "_start")
    (call $print_cstr (i32.const 1) (i32.const 1024)))

  (func (export "greet")
    (call $print_cstr (i32.const 1) (i32.const 1100))
    (call $proc_exit (i32.const 7)))

  (func (export "quiet"))

  ;; #include io
)
