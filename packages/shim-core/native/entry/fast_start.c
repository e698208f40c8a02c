// containerd runs `<shim> ... start` for every container, and a Node boot for it cost 80-100 ms
// on the path of every container's start. With a spare daemon waiting (cli/spare.ts), all that
// `start` does is ask it to become the pod's daemon and print the pod's address. Here, before
// Node (entry.c), that `start` hands the spare its command line, environment, working directory
// and stdin as they are; the spare works out what Node's `start` would have (cli/spare-start.ts)
// and answers with the address. No spare free: it starts one of its own (own_spare.c). Any other
// answer: stdin is put back as it was and Node's `start` does it all.

#include "entry.h"

enum { MFD_NONE = 0, POLLIN = 1, TCGETS = 0x5401, PROT_RW = 3, MAP_PRIVATE_ANON_NORESERVE = 0x4022 };
enum { STDIN_CAP = (16 << 20) + 65536, STDIN_SENT = 65536, ANSWER_MS = 3000, STDIN_WAIT_MS = 10000 };
enum { SPARE_BOOTING_MS = 2000, SPARE_WAIT_MS = 250, O_WRONLY = 1, O_CREAT = 0100, O_EXCL = 0200 };
static const char SOCKET_DIR[] = "/run/containerd/s/";

static void* map(long size) {
  long p = sys6(SYS_MMAP, 0, size, PROT_RW, MAP_PRIVATE_ANON_NORESERVE, -1, 0);
  return p < 0 && p > -4096 ? 0 : (void*)p;
}

static int wait_readable(long fd, int ms) {
  struct {
    int fd;
    short events, revents;
  } p = {(int)fd, POLLIN, 0};
  return sys3(SYS_POLL, (long)&p, 1, ms) > 0;
}

/**
 * containerd's stdin until EOF, as Node's `start` reads it (cli/bootstrap.ts), into `buf`: how
 * many bytes, and in `*whole` whether that was all of it.
 */
static long read_stdin(char* buf, int* whole) {
  char termios[60];
  *whole = 1;
  if (sys3(SYS_IOCTL, 0, TCGETS, (long)termios) == 0) return 0;
  long n = 0;
  while (n < STDIN_CAP) {
    long r = sys3(SYS_READ, 0, (long)(buf + n), STDIN_CAP - n);
    if (r > 0) n += r;
    else if (r == 0 || r == -9 /* EBADF */ || r == -22 /* EINVAL */ || r == -21 /* EISDIR */) return n;
    else if (r == -EINTR) continue;
    else if (r != -EAGAIN || !wait_readable(0, STDIN_WAIT_MS)) break;
  }
  *whole = 0;
  return n;
}

/** Gives Node's `start` the stdin this one read: the same bytes, from a memory file. */
static void put_back_stdin(const char* buf, long n) {
  if (n <= 0) return;
  long fd = sys3(SYS_MEMFD_CREATE, (long)"stdin", MFD_NONE, 0);
  if (fd < 0) return;
  for (long done = 0, r; done < n; done += r)
    if ((r = sys3(SYS_WRITE, fd, (long)(buf + done), n - done)) <= 0) break;
  sys3(SYS_LSEEK, fd, 0, 0);
  sys3(SYS_DUP2, fd, 0, 0);
  sys3(SYS_CLOSE, fd, 0, 0);
}

/** Appends `s` (`n` bytes) as a JSON string, every byte outside printable ASCII as \u00XX. */
static long json_string(char* out, long at, const char* s, long n) {
  out[at++] = '"';
  for (long i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
      out[at++] = (char)c;
      continue;
    }
    const char* u = "\\u00";
    for (int k = 0; k < 4; k++) out[at++] = u[k];
    out[at++] = "0123456789abcdef"[c >> 4];
    out[at++] = "0123456789abcdef"[c & 15];
  }
  out[at++] = '"';
  return at;
}

static long json_list(char* out, long at, char** items) {
  out[at++] = '[';
  for (long i = 0; items[i]; i++) {
    if (i) out[at++] = ',';
    at = json_string(out, at, items[i], length(items[i]));
  }
  out[at++] = ']';
  return at;
}

static long decimal(char* out, long at, long v) {
  char digits[24];
  int n = 0;
  unsigned long u = v < 0 ? (out[at++] = '-', (unsigned long)-v) : (unsigned long)v;
  do digits[n++] = (char)('0' + u % 10);
  while (u /= 10);
  while (n) out[at++] = digits[--n];
  return at;
}

static long literal(char* out, long at, const char* s) { return put(out, at, at + length(s) + 1, s, length(s)); }

/** Path arguments path.join would rewrite give another hash: those are left to Node. */
static int plain_path(const char* p) {
  if (*p != '/' || p[length(p) - 1] == '/') return 0;
  for (; *p; p++)
    if (p[0] == '/' && (p[1] == '/' || (p[1] == '.' && (p[2] == '/' || (p[2] == '.' && p[3] == '/'))))) return 0;
  return 1;
}

/**
 * The answer's first line, NUL-terminated in `answer` ("" if none came within `ms`): whether it is
 * an address.
 */
HIDDEN int read_answer(long fd, char* answer, long cap, int ms) {
  long got = 0, r;
  answer[0] = 0;
  while (got < cap - 1 && wait_readable(fd, ms) && (r = sys3(SYS_READ, fd, (long)(answer + got), cap - 1 - got)) > 0)
    for (got += r; r; r--)
      if (answer[got - r] == '\n') {
        answer[got - r] = 0;
        return after(answer, "address unix://") != 0;
      }
  answer[0] = 0;
  return 0;
}

/** Sends `request` (`n` bytes) on `fd`, never raising SIGPIPE (Node has not set it to be ignored). */
HIDDEN int send_all(long fd, const char* request, long n) {
  for (long done = 0, r; done < n; done += r)
    if ((r = sys6(SYS_SENDTO, fd, (long)(request + done), n - done, MSG_NOSIGNAL, 0, 0)) <= 0) return 0;
  return 1;
}

/**
 * Asks the spare at `control`: 1 when it answers with an address, 0 when it answers otherwise, -1
 * when none listens there or one is adopting already (a burst): `start` then makes its own.
 */
static int ask(const char* control, const char* request, long n, char* answer, long cap) {
  answer[0] = 0;
  long fd = connect_unix(control);
  if (fd < 0) return -1;
  int ok = send_all(fd, request, n) && read_answer(fd, answer, cap, ANSWER_MS);
  sys3(SYS_CLOSE, fd, 0, 0);
  return ok ? 1 : same(answer, "busy") ? -1 : 0;
}

/** When `path` last changed, in ms since the epoch; -1 if it is not there. */
static long mtime_ms(const char* path) {
  long st[18];  // struct stat on x86-64: 144 bytes, st_mtim at byte 88
  if (sys3(SYS_STAT, (long)path, (long)st, 0) < 0) return -1;
  return st[11] * 1000 + st[12] / 1000000;
}

static long now_ms(void) {
  long ts[2];
  sys3(SYS_CLOCK_GETTIME, 0 /* CLOCK_REALTIME */, (long)ts, 0);
  return ts[0] * 1000 + ts[1] / 1000000;
}

/**
 * A spare that is booting (its claim stands, its control socket is not there yet) is waited for,
 * as Node's `start` does (cli/spare-client.ts, spareReady): pods started one after another meet
 * one, started by the previous pod's daemon as it exits. Node's `start` waits 100 ms after its own
 * boot of about as long; this waits up to SPARE_WAIT_MS, that whole window, with no boot in it
 * (in tools/bench, a spare booting beside the previous pod's cleanup took longer than 100 ms).
 * Only the `start` that makes the waiter file waits; in a burst the others go on at once. `n` is
 * the path's length.
 */
static int await_spare(char* control, long n) {
  char claim[PATH_MAX], waiter[PATH_MAX];
  if (!put(claim, put(claim, 0, PATH_MAX, control, n - 1), PATH_MAX, ".claim", 7)) return 0;
  if (!put(waiter, put(waiter, 0, PATH_MAX, control, n - 1), PATH_MAX, ".waiter", 8)) return 0;
  long born = mtime_ms(claim), start = now_ms();
  if (born < 0 || start - born >= SPARE_BOOTING_MS) return 0;
  long fd = sys3(SYS_OPEN, (long)waiter, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
  if (fd < 0) return 0;
  sys3(SYS_CLOSE, fd, 0, 0);
  int ready = 0;
  while (!(ready = sys3(SYS_ACCESS, (long)control, 0, 0) == 0) && now_ms() - start < SPARE_WAIT_MS) {
    long pause[2] = {0, 3000000};
    sys3(SYS_NANOSLEEP, (long)pause, 0, 0);
  }
  sys3(SYS_UNLINK, (long)waiter, 0, 0);
  return ready;
}

static int try_start(long argc, char** argv, char** envp, const char* address, const char* in, long in_n) {
  if (in_n > STDIN_SENT) return 0;
  char exe[PATH_MAX], cwd[PATH_MAX], hashed[2 * PATH_MAX], control[PATH_MAX];
  long exe_n = sys3(SYS_READLINK, (long)"/proc/self/exe", (long)exe, PATH_MAX - 1);
  if (exe_n <= 0 || sys3(SYS_GETCWD, (long)cwd, PATH_MAX, 0) < 0) return 0;
  exe[exe_n] = 0;
  // spareSocketPath: <dir>/sha256(join("spare", executable, address)).
  long at = put(hashed, 0, sizeof hashed, "spare", 5);
  if (!at || !(at = put(hashed, at, sizeof hashed, exe, exe_n)) || !(at = put(hashed, at, sizeof hashed, address, length(address))))
    return 0;
  char hex[65];
  sha256_hex((const uint8_t*)hashed, at, hex);
  at = put(control, put(control, 0, PATH_MAX, SOCKET_DIR, sizeof SOCKET_DIR - 1), PATH_MAX, hex, 65);
  int waiting = sys3(SYS_ACCESS, (long)control, 0, 0) == 0 || await_spare(control, at);

  long envc = 0, size = 256 + 6 * (length(cwd) + in_n);
  for (long i = 0; i < argc; i++) size += 6 * length(argv[i]) + 3;
  for (; envp[envc]; envc++) size += 6 * length(envp[envc]) + 3;
  char* req = map(size);
  if (!req) return 0;
  at = literal(req, 0, "{\"start\":{\"argv\":");
  at = json_list(req, at, argv);
  at = literal(req, at, ",\"env\":");
  at = json_list(req, at, envp);
  at = literal(req, at, ",\"cwd\":");
  at = json_string(req, at, cwd, length(cwd));
  at = literal(req, at, ",\"stdin\":");
  at = json_string(req, at, in, in_n);
  at = literal(req, at, ",\"ppid\":");
  at = decimal(req, at, sys3(SYS_GETPPID, 0, 0, 0));
  at = literal(req, at, ",\"priority\":");
  // The raw system call returns 20 - nice.
  at = decimal(req, at, 20 - sys3(SYS_GETPRIORITY, 0 /* PRIO_PROCESS */, 0, 0));
  at = literal(req, at, "}}\n");

  char answer[PATH_MAX];
  int answered = waiting ? ask(control, req, at, answer, sizeof answer) : -1;
  if (answered < 0) answered = own_spare(exe, address, envp, req, at, answer, sizeof answer);
  sys3(SYS_MUNMAP, (long)req, size, 0);
  if (answered <= 0) return 0;
  const char* addr = answer + 8;  // past "address "
  long n = length(addr);
  for (long done = 0, r; done < n; done += r)
    if ((r = sys3(SYS_WRITE, 1, (long)(addr + done), n - done)) <= 0) sys3(SYS_EXIT_GROUP, 1, 0, 0);
  sys3(SYS_EXIT_GROUP, 0, 0, 0);
  return 1;
}

HIDDEN void shim_fast_start(long* sp) {
  long argc = sp[0];
  char** argv = (char**)(sp + 1);
  // Before stdin is touched: a runner whose guest's last argument is `start` must keep its stdin.
  const char* address = 0;
  if (!containerd_command(argc, argv, "start", &address) || !address || !plain_path(address)) return;
  char* in = map(STDIN_CAP);
  if (!in) return;
  int whole;
  long n = read_stdin(in, &whole);
  if (whole) try_start(argc, argv, argv + argc + 1, address, in, n);
  // Node's `start` then reads what this one did (and fails as it would have on a stdin it could not read).
  put_back_stdin(in, n);
  sys3(SYS_MUNMAP, (long)in, STDIN_CAP, 0);
}
