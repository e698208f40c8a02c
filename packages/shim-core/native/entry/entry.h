// What the native entry's files share: raw system calls and a few string helpers (no libc).
#pragma once
#include <stdint.h>

enum {
  SYS_READ = 0,
  SYS_WRITE = 1,
  SYS_OPEN = 2,
  SYS_CLOSE = 3,
  SYS_STAT = 4,
  SYS_POLL = 7,
  SYS_LSEEK = 8,
  SYS_MMAP = 9,
  SYS_MUNMAP = 11,
  SYS_IOCTL = 16,
  SYS_ACCESS = 21,
  SYS_DUP2 = 33,
  SYS_NANOSLEEP = 35,
  SYS_SOCKET = 41,
  SYS_CONNECT = 42,
  SYS_SENDTO = 44,
  SYS_READLINK = 89,
  SYS_GETCWD = 79,
  SYS_UNLINK = 87,
  SYS_GETPPID = 110,
  SYS_GETPRIORITY = 140,
  SYS_CLOCK_GETTIME = 228,
  SYS_EXIT_GROUP = 231,
  SYS_MEMFD_CREATE = 319,
};
enum { MSG_NOSIGNAL = 0x4000, ENOENT = 2, EINTR = 4, EAGAIN = 11, O_CLOEXEC = 02000000, AF_UNIX = 1, SOCK_STREAM = 1, SOCK_CLOEXEC = 02000000 };
enum { PATH_MAX = 4096 };

#define HIDDEN __attribute__((visibility("hidden")))

static inline long sys3(long n, long a, long b, long c) {
  long r;
  __asm__ volatile("syscall" : "=a"(r) : "a"(n), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
  return r;
}

static inline long sys6(long n, long a, long b, long c, long d, long e, long f) {
  long r;
  register long r10 __asm__("r10") = d;
  register long r8 __asm__("r8") = e;
  register long r9 __asm__("r9") = f;
  __asm__ volatile("syscall"
                   : "=a"(r)
                   : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                   : "rcx", "r11", "memory");
  return r;
}

static inline int same(const char* a, const char* b) {
  while (*a && *a == *b) a++, b++;
  return *a == *b;
}

/** `s` past `prefix`, or 0 when it does not start with it. */
static inline const char* after(const char* s, const char* prefix) {
  while (*prefix)
    if (*s++ != *prefix++) return 0;
  return s;
}

static inline long length(const char* s) {
  long n = 0;
  while (s[n]) n++;
  return n;
}

/** Copies `n` bytes of `from` to `to` at `at`; 0 when they would not fit in `cap`. */
static inline long put(char* to, long at, long cap, const char* from, long n) {
  if (at + n >= cap) return 0;
  for (long i = 0; i < n; i++) to[at + i] = from[i];
  return at + n;
}

/** Connects to the unix socket at `path`: the fd, or a negative errno. */
static inline long connect_unix(const char* path) {
  struct {
    uint16_t family;
    char path[108];
  } addr;
  long n = length(path);
  if (n >= (long)sizeof addr.path) return -1;
  addr.family = AF_UNIX;
  for (long i = 0; i <= n; i++) addr.path[i] = path[i];
  long fd = sys3(SYS_SOCKET, AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return fd;
  long r = sys3(SYS_CONNECT, fd, (long)&addr, (long)(sizeof addr.family + n + 1));
  if (r < 0) {
    sys3(SYS_CLOSE, fd, 0, 0);
    return r;
  }
  return fd;
}

/**
 * containerd's command line for `action`: its flags, then `action` as the last word. Returns the
 * value of `-bundle` (or "."), with `-address`'s in `*address`; 0 for any other command line (the
 * runner's, whose last word is the guest's, starts with `--run-wasm`).
 */
const char* containerd_command(long argc, char** argv, const char* action, const char** address);

HIDDEN void sha256_hex(const uint8_t* data, long n, char out[65]);
HIDDEN void shim_fast_delete(long* sp);
HIDDEN void shim_fast_start(long* sp);
HIDDEN int read_answer(long fd, char* answer, long cap, int ms);
HIDDEN int send_all(long fd, const char* request, long n);
HIDDEN int own_spare(const char* exe, const char* address, char** envp, const char* request, long n, char* answer,
                     long cap);
