;; Echoes what the runtime passed in: `arg:<value>` per argv entry and `env:<KEY=VALUE>` per environ
;; entry on stdout, then `to-stderr` on fd 2, so a test can check args, env and both streams at once.
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_sizes_get" (func $args_sizes_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_get" (func $args_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "environ_sizes_get" (func $environ_sizes_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "environ_get" (func $environ_get (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 1024) "arg:\00")
  (data (i32.const 1032) "env:\00")
  (data (i32.const 1040) "\n\00")
  (data (i32.const 1048) "to-stderr\n\00")

  (func $print_line (param $prefix i32) (param $value i32)
    (call $print_cstr (i32.const 1) (local.get $prefix))
    (call $print_cstr (i32.const 1) (local.get $value))
    (call $print_cstr (i32.const 1) (i32.const 1040)))

  (func $print_args
    (local $i i32) (local $p i32)
    (block $done
      (loop $next
        (local.set $p (call $arg (local.get $i)))
        (br_if $done (i32.eqz (local.get $p)))
        (call $print_line (i32.const 1024) (local.get $p))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next))))

  (func $print_env
    (local $count i32) (local $ptrs i32) (local $i i32)
    (if (call $environ_sizes_get (i32.const 256) (i32.const 260)) (then (return)))
    (local.set $count (i32.load (i32.const 256)))
    (local.set $ptrs (call $alloc (i32.shl (local.get $count) (i32.const 2))))
    (if (call $environ_get (local.get $ptrs) (call $alloc (i32.load (i32.const 260))))
      (then (return)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $count)))
        (call $print_line (i32.const 1032)
          (i32.load (i32.add (local.get $ptrs) (i32.shl (local.get $i) (i32.const 2)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next))))

  (func (export "_start")
    (call $print_args)
    (call $print_env)
    (call $print_cstr (i32.const 2) (i32.const 1048)))

  ;; #include io
  ;; #include args
)
