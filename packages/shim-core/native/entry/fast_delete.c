// containerd runs `<shim> ... delete` after every daemon disconnects, the clean exits too, and a
// Node boot for it cost 70-90 ms of every container's removal. When the daemon's own Delete left
// the bundle's `shim-deleted` (task/bundle-files.ts) and what it names is still as it said, that
// `delete` has nothing to clean and only prints a DeleteResponse, here, before Node (entry.c).

#include "entry.h"

enum { EXIT_SIGKILL = 137 };

/** The next newline-terminated line of `buf` from `*at`, NUL-terminated in place; 0 if none. */
static char* line(char* buf, long len, long* at) {
  char* start = buf + *at;
  for (long i = *at; i < len; i++)
    if (buf[i] == '\n') {
      buf[i] = 0;
      *at = i + 1;
      return start;
    }
  return 0;
}

/** A socket that is there but refuses connections is a dead daemon's: Node's `delete` removes it. */
static int socket_fine(const char* path) {
  long r = sys3(SYS_ACCESS, (long)path, 0, 0);
  if (r == -ENOENT) return 1;
  if (r < 0) return 0;
  long fd = connect_unix(path);
  if (fd < 0) return 0;
  sys3(SYS_CLOSE, fd, 0, 0);
  return 1;
}

static long varint(uint8_t* out, long at, uint64_t v) {
  while (v >= 0x80) {
    out[at++] = (uint8_t)(v | 0x80);
    v >>= 7;
  }
  out[at++] = (uint8_t)v;
  return at;
}

/** containerd.task.v2.DeleteResponse { pid = 1; exit_status = 2; exited_at = 3 { seconds = 1; nanos = 2 } }. */
static long response(uint8_t* out, uint64_t pid, uint64_t status, uint64_t sec, uint64_t nsec) {
  uint8_t ts[24];
  long tn = 0;
  if (sec) ts[tn++] = 0x08, tn = varint(ts, tn, sec);
  if (nsec) ts[tn++] = 0x10, tn = varint(ts, tn, nsec);
  long n = 0;
  if (pid) out[n++] = 0x08, n = varint(out, n, pid);
  if (status) out[n++] = 0x10, n = varint(out, n, status);
  out[n++] = 0x1a;
  out[n++] = (uint8_t)tn;
  for (long i = 0; i < tn; i++) out[n++] = ts[i];
  return n;
}

HIDDEN const char* containerd_command(long argc, char** argv, const char* action, const char** address) {
  // Strings in place, not pointers: a table of pointers would need relocating, and nothing does that.
  static const char valued[][16] = {"namespace", "id", "address", "publish-binary", "bundle", "socket"};
  const char* bundle = ".";
  for (long i = 1; i < argc; i++) {
    const char* a = argv[i];
    if (*a != '-') return i == argc - 1 && same(a, action) ? bundle : 0;
    a += a[1] == '-' ? 2 : 1;
    if (same(a, "debug")) continue;
    const char* value = 0;
    unsigned k = 0;
    for (; k < sizeof valued / sizeof *valued; k++)
      if (same(a, valued[k]) || (value = after(a, valued[k])) != 0) break;
    if (k == sizeof valued / sizeof *valued) return 0;
    if (value && *value++ != '=') return 0;
    if (!value) {
      if (++i >= argc) return 0;
      value = argv[i];
    }
    if (k == 2 && address) *address = value;
    if (k == 4) bundle = value;
  }
  return 0;
}

HIDDEN void shim_fast_delete(long* sp) {
  const char* bundle = containerd_command(sp[0], (char**)(sp + 1), "delete", 0);
  if (!bundle) return;

  char path[PATH_MAX];
  long at = put(path, 0, PATH_MAX, bundle, length(bundle));
  if (!at || !(at = put(path, at, PATH_MAX, "/shim-deleted", 14))) return;
  long fd = sys3(SYS_OPEN, (long)path, O_CLOEXEC, 0);
  if (fd < 0) return;
  char buf[2 * PATH_MAX];
  long len = 0, r;
  while (len < (long)sizeof buf && (r = sys3(SYS_READ, fd, (long)(buf + len), (long)sizeof buf - len)) > 0) len += r;
  sys3(SYS_CLOSE, fd, 0, 0);
  if (len <= 0 || len >= (long)sizeof buf) return;

  // "v1", the init's pid, runc's state directory for the container, the daemon's socket.
  long pos = 0;
  char* version = line(buf, len, &pos);
  char* pid_text = line(buf, len, &pos);
  char* runc_state = line(buf, len, &pos);
  char* socket = line(buf, len, &pos);
  if (!version || !same(version, "v1") || !pid_text || !runc_state || !*runc_state || !socket) return;
  uint64_t pid = 0;
  for (const char* c = pid_text; *c; c++) {
    if (*c < '0' || *c > '9' || pid > 0xffffffffu) return;
    pid = pid * 10 + (uint64_t)(*c - '0');
  }
  if (sys3(SYS_ACCESS, (long)runc_state, 0, 0) != -ENOENT) return;
  if (*socket && !socket_fine(socket)) return;

  struct {
    long sec, nsec;
  } now;
  if (sys3(SYS_CLOCK_GETTIME, 0 /* CLOCK_REALTIME */, (long)&now, 0) < 0) return;
  uint8_t out[48];
  long n = response(out, pid, EXIT_SIGKILL, (uint64_t)now.sec, (uint64_t)now.nsec);
  // A pipe takes these few bytes at once; if it takes none, Node's `delete` may do better.
  for (long done = 0; done < n; done += r)
    if ((r = sys3(SYS_WRITE, 1, (long)(out + done), n - done)) <= 0) {
      if (!done) return;
      sys3(SYS_EXIT_GROUP, 1, 0, 0);
    }
  sys3(SYS_EXIT_GROUP, 0, 0, 0);
}
