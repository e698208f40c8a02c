;; Burns CPU for argv[1] milliseconds of wall time (default 1000), then prints `spun`. Under a CPU
;; quota the wall time stays the same but the guest gets fewer cycles, which is what tests measure.
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_sizes_get" (func $args_sizes_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_get" (func $args_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "clock_time_get" (func $clock_time_get (param i32 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 1024) "spun\n\00")

  ;; CLOCK_MONOTONIC into 256; a clock error exits 1.
  (func $now (result i64)
    (if (call $clock_time_get (i32.const 1) (i64.const 1) (i32.const 256))
      (then (call $proc_exit (i32.const 1))))
    (i64.load (i32.const 256)))

  (func (export "_start")
    (local $deadline i64)
    (local.set $deadline
      (i64.add (call $now) (i64.mul (call $arg_u64 (i32.const 1) (i64.const 1000)) (i64.const 1000000))))
    (loop $spin
      (br_if $spin (i64.lt_u (call $now) (local.get $deadline))))
    (call $print_cstr (i32.const 1) (i32.const 1024)))

  ;; #include io
  ;; #include args
)
