;; Writes argv[2] (default `written by wasm\n`) to the absolute guest path argv[1], through the
;; preopen named `/`. Engines number preopens differently, so the fd is looked up, never assumed.
;; Failure exits 100+errno: no path 128 (EINVAL), no `/` preopen 144 (ENOENT).
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_sizes_get" (func $args_sizes_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_get" (func $args_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_prestat_get" (func $fd_prestat_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_prestat_dir_name"
    (func $fd_prestat_dir_name (param i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_open"
    (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_close" (func $fd_close (param i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 1024) "written by wasm\n\00")
  (data (i32.const 1056) "wrote \00")
  (data (i32.const 1064) "\n\00")

  (func $check (param $errno i32)
    (if (local.get $errno)
      (then (call $proc_exit (i32.add (i32.const 100) (local.get $errno))))))

  ;; Some engines count a trailing NUL in the name, so "/" and "/\0" both match.
  (func $is_root (param $fd i32) (result i32)
    (local $len i32)
    ;; prestat at 256: tag u8 (0 = dir), name length u32 at +4; name read to 264.
    (if (i32.load8_u (i32.const 256)) (then (return (i32.const 0))))
    (local.set $len (i32.load (i32.const 260)))
    (if (i32.or (i32.eqz (local.get $len)) (i32.gt_u (local.get $len) (i32.const 2)))
      (then (return (i32.const 0))))
    (i32.store16 (i32.const 264) (i32.const 0))
    (if (call $fd_prestat_dir_name (local.get $fd) (i32.const 264) (local.get $len))
      (then (return (i32.const 0))))
    (i32.and
      (i32.eq (i32.load8_u (i32.const 264)) (i32.const 47))
      (i32.eqz (i32.load8_u (i32.const 265)))))

  ;; Preopens are numbered from 3 with no gaps; EBADF marks the end. The cap only guards
  ;; against an engine that never answers EBADF.
  (func $find_root (result i32)
    (local $fd i32) (local $err i32)
    (local.set $fd (i32.const 3))
    (block $none
      (loop $next
        (br_if $none (i32.gt_u (local.get $fd) (i32.const 1024)))
        (local.set $err (call $fd_prestat_get (local.get $fd) (i32.const 256)))
        (br_if $none (i32.eq (local.get $err) (i32.const 8)))
        (if (i32.eqz (local.get $err))
          (then (if (call $is_root (local.get $fd)) (then (return (local.get $fd))))))
        (local.set $fd (i32.add (local.get $fd) (i32.const 1)))
        (br $next)))
    (i32.const -1))

  (func (export "_start")
    (local $path i32) (local $rel i32) (local $content i32) (local $root i32) (local $fd i32)
    (local.set $path (call $arg (i32.const 1)))
    (if (i32.eqz (local.get $path)) (then (call $check (i32.const 28))))
    (local.set $content (call $arg (i32.const 2)))
    (if (i32.eqz (local.get $content)) (then (local.set $content (i32.const 1024))))
    (local.set $root (call $find_root))
    (if (i32.lt_s (local.get $root) (i32.const 0)) (then (call $check (i32.const 44))))
    ;; path_open refuses absolute paths; the path is relative to the `/` preopen instead.
    (local.set $rel (local.get $path))
    (block $relative
      (loop $strip
        (br_if $relative (i32.ne (i32.load8_u (local.get $rel)) (i32.const 47)))
        (local.set $rel (i32.add (local.get $rel) (i32.const 1)))
        (br $strip)))
    ;; lookup SYMLINK_FOLLOW, oflags CREAT|TRUNC, rights FD_WRITE only so it opens write-only.
    (call $check
      (call $path_open (local.get $root) (i32.const 1) (local.get $rel) (call $strlen (local.get $rel))
        (i32.const 9) (i64.const 64) (i64.const 0) (i32.const 0) (i32.const 256)))
    (local.set $fd (i32.load (i32.const 256)))
    (call $check (call $write_all (local.get $fd) (local.get $content) (call $strlen (local.get $content))))
    (call $check (call $fd_close (local.get $fd)))
    (call $print_cstr (i32.const 1) (i32.const 1056))
    (call $print_cstr (i32.const 1) (local.get $path))
    (call $print_cstr (i32.const 1) (i32.const 1064)))

  ;; #include io
  ;; #include args
)
