// When no spare daemon waits (a burst of pods took it, or spares are still booting), Node's
// `start` booted Node only to spawn the daemon, which booted Node again: two boots on the path of
// each pod of a burst. Here the native `start` forks that daemon itself, as a spare of its own
// (cli/spare.ts, runOwnSpare) on the other end of a socket pair, and hands it the same request a
// waiting spare gets: one boot. The child is in its own session with /dev/null for stdio, as
// Node's `spawn(..., { detached: true, stdio: "ignore" })` would leave it.

#include "entry.h"

enum { SYS_SOCKETPAIR = 53, SYS_FORK = 57, SYS_EXECVE = 59, SYS_FCNTL = 72 };
enum { SYS_SETSID = 112, O_RDWR = 2, F_SETFD = 2, CONTROL_FD = 3 };
/** A boot in a node starting many pods at once takes seconds; beyond this, Node's `start` runs. */
enum { OWN_ANSWER_MS = 10000, TITLE_ROOM = 1024 };

/** The first `NAME=value` of `envp` for `name_eq` ("NAME="), its value; 0 if none. */
static const char* getenv_first(char** envp, const char* name_eq) {
  for (; *envp; envp++) {
    const char* v = after(*envp, name_eq);
    if (v) return v;
  }
  return 0;
}

static int set(const char* v) { return v && *v; }

/**
 * Whether the daemon would refuse this start as a spare (cli/spare-start.ts): spares turned off,
 * NODE_OPTIONS meant for it, or a traced start. Here a trace endpoint alone rules it out; Node's
 * `start` weighs the rest.
 */
static int refused(char** envp) {
  const char* off = getenv_first(envp, "WASM_SHIM_SPARE=");
  if (off) {
    char lower[8] = {0};
    for (int i = 0; i < 7 && off[i]; i++) lower[i] = (char)(off[i] | (off[i] >= 'A' && off[i] <= 'Z' ? 0x20 : 0));
    if (same(lower, "0") || same(lower, "off") || same(lower, "false")) return 1;
  }
  return set(getenv_first(envp, "NODE_OPTIONS=")) || set(getenv_first(envp, "OTEL_EXPORTER_OTLP_ENDPOINT=")) ||
         set(getenv_first(envp, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT="));
}

/** The child: the socket pair's end as fd 3, stdio on /dev/null, its own session, then Node. */
static void exec_spare(const char* exe, long end, char** argv, char** envp) {
  long null = sys3(SYS_OPEN, (long)"/dev/null", O_RDWR, 0);
  if (null < 0) sys3(SYS_EXIT_GROUP, 127, 0, 0);
  for (long fd = 0; fd < 3; fd++) sys3(SYS_DUP2, null, fd, 0);
  // dup2 clears close-on-exec on the copy, but does nothing when the end is fd 3 already.
  if (end == CONTROL_FD) sys3(SYS_FCNTL, end, F_SETFD, 0);
  else sys3(SYS_DUP2, end, CONTROL_FD, 0);
  sys3(SYS_SETSID, 0, 0, 0);
  sys3(SYS_EXECVE, (long)exe, (long)argv, (long)envp);
  sys3(SYS_EXIT_GROUP, 127, 0, 0);
}

HIDDEN int own_spare(const char* exe, const char* address, char** envp, const char* request, long n, char* answer,
                     long cap) {
  if (refused(envp)) return 0;
  long envc = 0;
  while (envp[envc]) envc++;
  // The child's argv and environment: spare-spawn.ts's command line, its title padded so the
  // adopted daemon can write its own over it, and where its request comes from.
  long size = (envc + 8) * (long)sizeof(char*) + TITLE_ROOM + 1;
  char** env = (char**)sys6(SYS_MMAP, 0, size, 3, 0x4022, -1, 0);
  if ((long)env < 0 && (long)env > -4096) return 0;
  // First: Node takes the first of a name that is there twice.
  env[0] = "WASM_SHIM_START_FD=3";
  for (long i = 0; i < envc; i++) env[i + 1] = envp[i];
  char** argv = env + envc + 2;
  char* title = (char*)(argv + 5);
  const char* name = exe + length(exe);
  while (name > exe && name[-1] != '/') name--;
  for (long i = 0, len = length(name); i < TITLE_ROOM; i++) title[i] = i < len ? name[i] : ' ';
  argv[0] = title;
  argv[1] = "-address";
  argv[2] = (char*)address;
  argv[3] = "spare";

  int pair[2], ok = 0;
  if (sys6(SYS_SOCKETPAIR, AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, (long)pair, 0, 0) < 0) goto done;
  long pid = sys3(SYS_FORK, 0, 0, 0);
  if (pid == 0) exec_spare(exe, pair[1], argv, env);
  sys3(SYS_CLOSE, pair[1], 0, 0);
  if (pid > 0) {
    // One that has not answered in time is left to finish, as a waiting spare is: it may already
    // serve the pod (Node's `start` then finds its socket alive and prints its address), and if
    // Node's `start` binds it first, the spare finds the pod served and stays only as the node's
    // next spare, when no other waits (cli/spare.ts; tools/test/faults/late-spare.test.ts).
    ok = send_all(pair[0], request, n) && read_answer(pair[0], answer, cap, OWN_ANSWER_MS);
  }
  sys3(SYS_CLOSE, pair[0], 0, 0);
done:
  sys3(SYS_MUNMAP, (long)env, size, 0);
  return ok;
}
