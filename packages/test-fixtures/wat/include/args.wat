;; argv access and decimal parsing, spliced in by src/build.ts where it says `;; #include args`.
;; The fixture must import $args_sizes_get and $args_get. See io.wat for the memory layout.

(global $heap (mut i32) (i32.const 65536))
(global $argc (mut i32) (i32.const -1))
(global $argv (mut i32) (i32.const 0))

;; Bump allocator: fixtures are short-lived, so nothing is ever freed.
(func $alloc (param $size i32) (result i32)
  (local $ptr i32) (local $end i32) (local $pages i32)
  (local.set $ptr (global.get $heap))
  (local.set $end
    (i32.and (i32.add (i32.add (local.get $ptr) (local.get $size)) (i32.const 7)) (i32.const -8)))
  (local.set $pages (i32.shr_u (i32.add (local.get $end) (i32.const 65535)) (i32.const 16)))
  (if (i32.gt_u (local.get $pages) (memory.size))
    (then
      (if (i32.eq (memory.grow (i32.sub (local.get $pages) (memory.size))) (i32.const -1))
        (then unreachable))))
  (global.set $heap (local.get $end))
  (local.get $ptr))

;; Loaded lazily on first use so a fixture never has to remember an init call.
(func $load_args
  (local $buf i32)
  (if (i32.ge_s (global.get $argc) (i32.const 0)) (then (return)))
  (global.set $argc (i32.const 0))
  (if (call $args_sizes_get (i32.const 16) (i32.const 20)) (then (return)))
  (global.set $argv (call $alloc (i32.shl (i32.load (i32.const 16)) (i32.const 2))))
  (local.set $buf (call $alloc (i32.load (i32.const 20))))
  (if (call $args_get (global.get $argv) (local.get $buf)) (then (return)))
  (global.set $argc (i32.load (i32.const 16))))

;; Address of the NUL-terminated argv[i], or 0 when there are not that many arguments.
(func $arg (param $i i32) (result i32)
  (call $load_args)
  (if (result i32) (i32.lt_u (local.get $i) (global.get $argc))
    (then (i32.load (i32.add (global.get $argv) (i32.shl (local.get $i) (i32.const 2)))))
    (else (i32.const 0))))

;; Leading decimal digits of the string at $p; $default when it does not start with a digit.
(func $parse_u64 (param $p i32) (param $default i64) (result i64)
  (local $n i64) (local $c i32) (local $seen i32)
  (block $end
    (loop $next
      (local.set $c (i32.sub (i32.load8_u (local.get $p)) (i32.const 48)))
      (br_if $end (i32.gt_u (local.get $c) (i32.const 9)))
      (local.set $n
        (i64.add (i64.mul (local.get $n) (i64.const 10)) (i64.extend_i32_u (local.get $c))))
      (local.set $seen (i32.const 1))
      (local.set $p (i32.add (local.get $p) (i32.const 1)))
      (br $next)))
  (select (local.get $n) (local.get $default) (local.get $seen)))

(func $arg_u64 (param $i i32) (param $default i64) (result i64)
  (local $p i32)
  (local.set $p (call $arg (local.get $i)))
  (if (result i64) (local.get $p)
    (then (call $parse_u64 (local.get $p) (local.get $default)))
    (else (local.get $default))))
