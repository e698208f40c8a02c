;; Blocks inside the host (poll_oneoff) instead of spinning: a long-running task that uses no CPU.
;; argv[1] is the duration in milliseconds (default 300); argv[2], when given, is printed on a line
;; of its own just before the guest blocks (tests wait for it); a poll error exits 1.
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_sizes_get" (func $args_sizes_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_get" (func $args_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll_oneoff (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 1024) "slept\n\00")
  (data (i32.const 1040) "\n\00")

  ;; subscription (48 bytes) at 256, event (32 bytes) at 320, nevents at 352.
  ;; Memory starts zeroed, so userdata, tag (0 = clock), precision and flags (0 = relative) are 0.
  (func (export "_start")
    (local $ms i64)
    (local.set $ms (call $arg_u64 (i32.const 1) (i64.const 300)))
    (if (call $arg (i32.const 2))
      (then
        (call $print_cstr (i32.const 1) (call $arg (i32.const 2)))
        (call $print_cstr (i32.const 1) (i32.const 1040))))
    (i32.store (i32.const 272) (i32.const 1))
    (i64.store (i32.const 280) (i64.mul (local.get $ms) (i64.const 1000000)))
    (if (call $poll_oneoff (i32.const 256) (i32.const 320) (i32.const 1) (i32.const 352))
      (then (call $proc_exit (i32.const 1))))
    (if (i32.load16_u (i32.const 328))
      (then (call $proc_exit (i32.const 1))))
    (call $print_cstr (i32.const 1) (i32.const 1024)))

  ;; #include io
  ;; #include args
)
