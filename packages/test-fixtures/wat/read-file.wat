;; Copies the file at the absolute guest path argv[1] to stdout, saying `opening` before it opens
;; the file and `opened` once it has: on a FIFO the first blocks in path_open until a writer comes,
;; the second in fd_read until one writes. Failure exits 100+errno: no path 128, no `/` 144.
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_sizes_get" (func $args_sizes_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_get" (func $args_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_prestat_get" (func $fd_prestat_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_prestat_dir_name"
    (func $fd_prestat_dir_name (param i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_open"
    (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 1024) "opening\n\00")
  (data (i32.const 1040) "opened\n\00")

  (func $check (param $errno i32)
    (if (local.get $errno)
      (then (call $proc_exit (i32.add (i32.const 100) (local.get $errno))))))

  ;; iovec at 272, nread at 280, buffer 4096..65535.
  (func (export "_start")
    (local $path i32) (local $root i32) (local $fd i32) (local $n i32)
    (local.set $path (call $arg (i32.const 1)))
    (if (i32.eqz (local.get $path)) (then (call $check (i32.const 28))))
    (local.set $root (call $find_root))
    (if (i32.lt_s (local.get $root) (i32.const 0)) (then (call $check (i32.const 44))))
    (call $print_cstr (i32.const 1) (i32.const 1024))
    ;; lookup SYMLINK_FOLLOW, no oflags, rights FD_READ only.
    (call $check
      (call $path_open (local.get $root) (i32.const 1) (call $relative (local.get $path))
        (call $strlen (call $relative (local.get $path))) (i32.const 0) (i64.const 2) (i64.const 0)
        (i32.const 0) (i32.const 284)))
    (local.set $fd (i32.load (i32.const 284)))
    (call $print_cstr (i32.const 1) (i32.const 1040))
    (block $eof
      (loop $more
        (i32.store (i32.const 272) (i32.const 4096))
        (i32.store (i32.const 276) (i32.const 61440))
        (call $check (call $fd_read (local.get $fd) (i32.const 272) (i32.const 1) (i32.const 280)))
        (local.set $n (i32.load (i32.const 280)))
        (br_if $eof (i32.eqz (local.get $n)))
        (call $check (call $write_all (i32.const 1) (i32.const 4096) (local.get $n)))
        (br $more))))

  ;; #include io
  ;; #include args
  ;; #include root
)
