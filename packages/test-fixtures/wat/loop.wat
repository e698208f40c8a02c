;; Never returns and never calls the host again, so only a real kill (worker terminate, signal)
;; can stop it. `looping` tells the test that the guest is running before it kills it.
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 1024) "looping\n\00")

  (func (export "_start")
    (call $print_cstr (i32.const 1) (i32.const 1024))
    (loop $l (br $l)))

  ;; #include io
)
