;; Grows memory 1 MiB at a time up to argv[1] MiB (default 1024), for memory-limit tests.
;; Prints `grown <N> MiB` every 16 MiB and at the end; a refused grow prints `grow failed`, exits 3.
;; The memory has no declared maximum, so only the runtime's own limit can stop it.
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_sizes_get" (func $args_sizes_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_get" (func $args_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 1024) "grown \00")
  (data (i32.const 1032) " MiB\n\00")
  (data (i32.const 1040) "grow failed\n\00")

  ;; A grown page is only reserved; writing one byte per 4 KiB host page makes the OS commit it,
  ;; so a cgroup memory limit really sees the usage.
  (func $touch_mib (param $page i32)
    (local $p i32) (local $end i32)
    (local.set $p (i32.shl (local.get $page) (i32.const 16)))
    ;; i32.ne, not lt_u: the last MiB below 4 GiB ends at an address that wraps to 0.
    (local.set $end (i32.add (local.get $p) (i32.const 1048576)))
    (loop $next
      (i32.store8 (local.get $p) (i32.const 1))
      (local.set $p (i32.add (local.get $p) (i32.const 4096)))
      (br_if $next (i32.ne (local.get $p) (local.get $end)))))

  (func (export "_start")
    (local $target i64) (local $mib i64) (local $page i32)
    (local.set $target (call $arg_u64 (i32.const 1) (i64.const 1024)))
    (block $done
      (loop $more
        (br_if $done (i64.ge_u (local.get $mib) (local.get $target)))
        (local.set $page (memory.grow (i32.const 16)))
        (if (i32.eq (local.get $page) (i32.const -1))
          (then
            (call $print_cstr (i32.const 1) (i32.const 1040))
            (call $proc_exit (i32.const 3))))
        (call $touch_mib (local.get $page))
        (local.set $mib (i64.add (local.get $mib) (i64.const 1)))
        (if (i32.or
              (i64.eqz (i64.rem_u (local.get $mib) (i64.const 16)))
              (i64.eq (local.get $mib) (local.get $target)))
          (then
            (call $print_cstr (i32.const 1) (i32.const 1024))
            (call $print_u64 (i32.const 1) (local.get $mib))
            (call $print_cstr (i32.const 1) (i32.const 1032))))
        (br $more))))

  ;; #include io
  ;; #include args
)
