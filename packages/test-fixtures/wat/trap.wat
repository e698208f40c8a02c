;; Dies by a trap rather than an exit: runtimes must report it as a failure, not as exit 0.
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 1024) "about to trap\n\00")

  (func (export "_start")
    (call $print_cstr (i32.const 1) (i32.const 1024))
    unreachable)

  ;; #include io
)
