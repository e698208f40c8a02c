;; Output helpers, spliced into a fixture by src/build.ts where it says `;; #include io`.
;; The fixture must import $fd_write and export a memory.
;;
;; Memory layout shared by every fixture, so helpers and fixtures never overlap:
;;     0..15     io scratch (iovec, nwritten)
;;    16..23     args scratch (argc, buffer size)
;;    96..127    digit buffer of $print_u64
;;   256..1023   the fixture's own scratch (structs passed to WASI)
;;  1024..4095   the fixture's constant strings (NUL-terminated)
;;  4096..65535  the fixture's I/O buffer
;; 65536..       heap of $alloc (include args), grown on demand

;; Loops because fd_write may write less than asked (pipes, FIFOs). Returns a WASI errno.
(func $write_all (param $fd i32) (param $ptr i32) (param $len i32) (result i32)
  (local $err i32) (local $n i32)
  (block $done
    (loop $more
      (br_if $done (i32.eqz (local.get $len)))
      (i32.store (i32.const 0) (local.get $ptr))
      (i32.store (i32.const 4) (local.get $len))
      (local.set $err (call $fd_write (local.get $fd) (i32.const 0) (i32.const 1) (i32.const 8)))
      (br_if $done (local.get $err))
      (local.set $n (i32.load (i32.const 8)))
      ;; A host that keeps accepting zero bytes would otherwise spin here forever: report EIO.
      (if (i32.eqz (local.get $n)) (then (return (i32.const 29))))
      (local.set $ptr (i32.add (local.get $ptr) (local.get $n)))
      (local.set $len (i32.sub (local.get $len) (local.get $n)))
      (br $more)))
  (local.get $err))

;; Output errors are ignored: a fixture that cannot print has no better channel to say so.
(func $print (param $fd i32) (param $ptr i32) (param $len i32)
  (drop (call $write_all (local.get $fd) (local.get $ptr) (local.get $len))))

(func $strlen (param $ptr i32) (result i32)
  (local $p i32)
  (local.set $p (local.get $ptr))
  (block $end
    (loop $next
      (br_if $end (i32.eqz (i32.load8_u (local.get $p))))
      (local.set $p (i32.add (local.get $p) (i32.const 1)))
      (br $next)))
  (i32.sub (local.get $p) (local.get $ptr)))

(func $print_cstr (param $fd i32) (param $ptr i32)
  (call $print (local.get $fd) (local.get $ptr) (call $strlen (local.get $ptr))))

(func $print_u64 (param $fd i32) (param $n i64)
  (local $p i32)
  (local.set $p (i32.const 128))
  (loop $digit
    (local.set $p (i32.sub (local.get $p) (i32.const 1)))
    (i32.store8 (local.get $p)
      (i32.add (i32.const 48) (i32.wrap_i64 (i64.rem_u (local.get $n) (i64.const 10)))))
    (local.set $n (i64.div_u (local.get $n) (i64.const 10)))
    (br_if $digit (i64.ne (local.get $n) (i64.const 0))))
  (call $print (local.get $fd) (local.get $p) (i32.sub (i32.const 128) (local.get $p))))
