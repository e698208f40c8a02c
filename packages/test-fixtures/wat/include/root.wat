;; Finding the preopen named `/`, spliced in by src/build.ts where it says `;; #include root`.
;; The fixture must import $fd_prestat_get and $fd_prestat_dir_name. Uses scratch 256..271.

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

;; Preopens are numbered from 3 with no gaps; EBADF marks the end. -1 when there is no `/`.
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

;; A guest path without its leading slashes: path_open takes paths relative to a preopen.
(func $relative (param $path i32) (result i32)
  (block $done
    (loop $strip
      (br_if $done (i32.ne (i32.load8_u (local.get $path)) (i32.const 47)))
      (local.set $path (i32.add (local.get $path) (i32.const 1)))
      (br $strip)))
  (local.get $path))
