// The shim executable's entry point on x86-64 (tools/sea-entry-stub.mjs puts it there). It runs
// before Node, with no libc (the dynamic loader has run, Node's constructors have not), and
// answers the two commands containerd runs around every container when it can do so without
// Node: `delete` (fast_delete.c) and `start` (fast_start.c). Each returns when it cannot, and the
// entry jumps on to Node's, which does everything as it always did.

#include "entry.h"

// The loader hands over the initial stack in %rsp and a function to run at exit in %rdx; both go to
// Node's own entry as they came. The slot after the jump holds that entry (filled in at build).
__asm__(".section .text.entry,\"ax\",@progbits\n"
        ".globl shim_stub_entry\n"
        "shim_stub_entry:\n"
        "  jmp 1f\n"
        "  .p2align 3\n"
        "  .quad 0x59525445524f4e53\n"  // "SNORETRY": where the build writes Node's entry
        "1:\n"
        "  mov %rdx, %r12\n"
        "  mov %rsp, %r13\n"
        "  mov %rsp, %rdi\n"
        "  and $-16, %rsp\n"
        "  call shim_fast_entry\n"
        "  mov %r13, %rsp\n"
        "  mov %r12, %rdx\n"
        "  jmp *shim_stub_entry+8(%rip)\n"
        ".text\n");


__attribute__((visibility("hidden"))) void shim_fast_entry(long* sp) {
  shim_fast_delete(sp);
  shim_fast_start(sp);
}
