;; Copies fd 0 to fd 1 until EOF: checks that a runtime wires the container's stdin through.
;; A read or write error exits 100+errno.
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)

  (func $check (param $errno i32)
    (if (local.get $errno)
      (then (call $proc_exit (i32.add (i32.const 100) (local.get $errno))))))

  ;; iovec at 256, nread at 264, buffer 4096..65535.
  (func (export "_start")
    (local $n i32)
    (block $eof
      (loop $more
        (i32.store (i32.const 256) (i32.const 4096))
        (i32.store (i32.const 260) (i32.const 61440))
        (call $check (call $fd_read (i32.const 0) (i32.const 256) (i32.const 1) (i32.const 264)))
        (local.set $n (i32.load (i32.const 264)))
        (br_if $eof (i32.eqz (local.get $n)))
        (call $check (call $write_all (i32.const 1) (i32.const 4096) (local.get $n)))
        (br $more))))

  ;; #include io
)
