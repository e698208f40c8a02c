/*
 * The shim's native needs, as a Node-API addon that links only libc. Loaded with process.dlopen
 * (packages/shim-core/src/sea/native.ts), built by native/build.mjs at build time.
 *
 *   exit(code)                           _exit(2) at once: no exit handlers, no joining threads
 *                                        (a guest's thread may be blocked in a system call).
 *   exitOnSignals([signo...])            for each signal, a sigaction handler that calls _exit(2)
 *                                        with 128+signo at once. The runner runs a guest on its
 *                                        main thread: a JS handler could not run while the guest
 *                                        spins or blocks in a system call, and PID 1 ignores a
 *                                        signal it has no handler for. _exit is async-signal-safe.
 *   pipe() -> [readFd, writeFd]          pipe2(O_CLOEXEC), for a container's stdin.
 *   utimensat(path, atime, mtime, nofollow) -> errno (0 on success)
 *                                        atime/mtime: nanoseconds since the epoch as a bigint, or
 *                                        -1n for UTIME_NOW, -2n for UTIME_OMIT. Node's fs.utimes
 *                                        goes through a double and loses nanoseconds.
 * Terminals (runc's --console-socket: runc sends the pty master with SCM_RIGHTS, which Node
 * cannot receive):
 *   consoleListen(path) -> fd | -errno   a listening unix socket at `path` (close-on-exec).
 *   consoleReceive(fd) -> fd | -errno    accepts the connection runc made and takes the fd it sent;
 *                                        never blocks (-EAGAIN when nothing is there yet).
 *   setWinsize(fd, rows, cols) -> errno  TIOCSWINSZ on a pty master.
 *   closeFd(fd) -> errno
 * Processes runc leaves behind (`runc create`, `runc run -d`: the container's process is ours):
 *   setChildSubreaper()                  prctl(PR_SET_CHILD_SUBREAPER); throws on failure.
 *   reap(pid) -> status | -1             waitid(P_PID, pid, WEXITED|WNOHANG): -1 while it runs (or
 *                                        is not our child), else its exit code, or 128+signal.
 * Files for containers: openReadOnlyMount(path) -> fd | -errno, in read_only_mount.c; the
 * rootfs: mount(...) and umount(...), in rootfs_mount.c; the bundle's source as a string over the
 * executable's pages: externalLatin1(arrayBuffer), in external_string.c; the libraries the loader
 * mapped at start: loadedLibraries(), in loaded_libraries.c.
 *   mallocTrim() -> 1 | 0                glibc's malloc_trim(0): free heap pages back to the kernel.
 */
#define _GNU_SOURCE
#include <errno.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>
#define NAPI_VERSION 8
#include <node_api.h>
#include "shim_native.h"

static napi_value throw_type(napi_env env, const char* msg) {
  napi_throw_type_error(env, NULL, msg);
  return NULL;
}

static napi_value native_exit(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t code = 1;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc < 1 || napi_get_value_int32(env, argv[0], &code) != napi_ok) return throw_type(env, "exit(code): code must be a number");
  _exit(code & 0xff);
}

static void exit_on_signal(int sig) { _exit((128 + sig) & 0xff); }

static napi_value native_exit_on_signals(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  uint32_t n = 0;
  bool is_array = false;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc < 1 || napi_is_array(env, argv[0], &is_array) != napi_ok || !is_array) return throw_type(env, "exitOnSignals(signals): an array of signal numbers");
  napi_get_array_length(env, argv[0], &n);
  for (uint32_t i = 0; i < n; i++) {
    napi_value item;
    int32_t sig;
    if (napi_get_element(env, argv[0], i, &item) != napi_ok || napi_get_value_int32(env, item, &sig) != napi_ok || sig < 1 || sig >= NSIG) {
      return throw_type(env, "exitOnSignals: every signal must be a signal number");
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = exit_on_signal;
    sigemptyset(&sa.sa_mask);
    if (sigaction(sig, &sa, NULL) != 0) {
      napi_throw_error(env, NULL, "exitOnSignals: sigaction failed");
      return NULL;
    }
  }
  return NULL;
}

static napi_value native_pipe(napi_env env, napi_callback_info info) {
  (void)info;
  int fds[2];
  napi_value result, r, w;
  if (pipe2(fds, O_CLOEXEC) != 0) {
    napi_throw_error(env, NULL, "pipe2 failed");
    return NULL;
  }
  napi_create_array_with_length(env, 2, &result);
  napi_create_int32(env, fds[0], &r);
  napi_create_int32(env, fds[1], &w);
  napi_set_element(env, result, 0, r);
  napi_set_element(env, result, 1, w);
  return result;
}

/* A time argument: a bigint of nanoseconds, -1n (now) or -2n (omit). */
static int to_timespec(napi_env env, napi_value value, struct timespec* ts) {
  int64_t ns;
  bool lossless;
  if (napi_get_value_bigint_int64(env, value, &ns, &lossless) != napi_ok || !lossless) return 0;
  if (ns == -1) {
    ts->tv_sec = 0;
    ts->tv_nsec = UTIME_NOW;
  } else if (ns == -2) {
    ts->tv_sec = 0;
    ts->tv_nsec = UTIME_OMIT;
  } else if (ns >= 0) {
    ts->tv_sec = ns / 1000000000;
    ts->tv_nsec = ns % 1000000000;
  } else {
    return 0;
  }
  return 1;
}

static napi_value native_utimensat(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  size_t len;
  bool nofollow = false;
  struct timespec times[2];
  napi_value result;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc < 4) return throw_type(env, "utimensat(path, atime, mtime, nofollow): four arguments");
  if (napi_get_value_string_utf8(env, argv[0], NULL, 0, &len) != napi_ok) return throw_type(env, "utimensat: path must be a string");
  if (!to_timespec(env, argv[1], &times[0]) || !to_timespec(env, argv[2], &times[1])) {
    return throw_type(env, "utimensat: times must be bigint nanoseconds, -1n (now) or -2n (omit)");
  }
  if (napi_get_value_bool(env, argv[3], &nofollow) != napi_ok) return throw_type(env, "utimensat: nofollow must be a boolean");
  char* path = malloc(len + 1);
  if (path == NULL) return throw_type(env, "utimensat: out of memory");
  napi_get_value_string_utf8(env, argv[0], path, len + 1, &len);
  int rc = utimensat(AT_FDCWD, path, times, nofollow ? AT_SYMLINK_NOFOLLOW : 0);
  int err = rc == 0 ? 0 : errno;
  free(path);
  napi_create_int32(env, err, &result);
  return result;
}

static napi_value int_result(napi_env env, int32_t value) {
  napi_value result;
  napi_create_int32(env, value, &result);
  return result;
}

/* Reads `want` int32 arguments; 0 (with a TypeError thrown) when they are not there. */
static int int_args(napi_env env, napi_callback_info info, size_t want, int32_t* out, const char* usage) {
  size_t argc = 4;
  napi_value argv[4];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return 0;
  if (argc < want) {
    throw_type(env, usage);
    return 0;
  }
  for (size_t i = 0; i < want; i++) {
    if (napi_get_value_int32(env, argv[i], &out[i]) != napi_ok) {
      throw_type(env, usage);
      return 0;
    }
  }
  return 1;
}

static napi_value native_console_listen(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  struct sockaddr_un addr;
  size_t len;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  memset(&addr, 0, sizeof addr);
  addr.sun_family = AF_UNIX;
  if (argc < 1 || napi_get_value_string_utf8(env, argv[0], addr.sun_path, sizeof addr.sun_path, &len) != napi_ok) {
    return throw_type(env, "consoleListen(path): path must be a string");
  }
  if (len >= sizeof addr.sun_path - 1) return int_result(env, -ENAMETOOLONG);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return int_result(env, -errno);
  if (bind(fd, (struct sockaddr*)&addr, sizeof addr) != 0 || listen(fd, 1) != 0) {
    int err = errno;
    close(fd);
    return int_result(env, -err);
  }
  return int_result(env, fd);
}

static napi_value native_console_receive(napi_env env, napi_callback_info info) {
  int32_t listener;
  if (!int_args(env, info, 1, &listener, "consoleReceive(fd): fd must be a number")) return NULL;
  int conn = accept4(listener, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (conn < 0) return int_result(env, -errno);
  /* runc sends the console's name as the data and the master as the one right. */
  char name[256];
  struct iovec iov = {.iov_base = name, .iov_len = sizeof name};
  union {
    char buf[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
  } control;
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf, .msg_controllen = sizeof control.buf};
  ssize_t n = recvmsg(conn, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
  int err = n < 0 ? errno : 0;
  close(conn);
  if (n < 0) return int_result(env, -err);
  struct cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
  if (cmsg == NULL || cmsg->cmsg_level != SOL_SOCKET || cmsg->cmsg_type != SCM_RIGHTS || cmsg->cmsg_len != CMSG_LEN(sizeof(int))) {
    return int_result(env, -EBADMSG);
  }
  int master;
  memcpy(&master, CMSG_DATA(cmsg), sizeof master);
  if (msg.msg_flags & MSG_CTRUNC) {
    close(master);
    return int_result(env, -EBADMSG);
  }
  return int_result(env, master);
}

static napi_value native_set_winsize(napi_env env, napi_callback_info info) {
  int32_t a[3];
  if (!int_args(env, info, 3, a, "setWinsize(fd, rows, cols): three numbers")) return NULL;
  if (a[1] < 0 || a[1] > 0xffff || a[2] < 0 || a[2] > 0xffff) return int_result(env, EINVAL);
  struct winsize ws = {.ws_row = (unsigned short)a[1], .ws_col = (unsigned short)a[2]};
  return int_result(env, ioctl(a[0], TIOCSWINSZ, &ws) == 0 ? 0 : errno);
}

static napi_value native_close_fd(napi_env env, napi_callback_info info) {
  int32_t fd;
  if (!int_args(env, info, 1, &fd, "closeFd(fd): fd must be a number")) return NULL;
  return int_result(env, close(fd) == 0 ? 0 : errno);
}

static napi_value native_set_child_subreaper(napi_env env, napi_callback_info info) {
  (void)info;
  if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0) napi_throw_error(env, NULL, "prctl(PR_SET_CHILD_SUBREAPER) failed");
  return NULL;
}

static napi_value native_reap(napi_env env, napi_callback_info info) {
  int32_t pid;
  if (!int_args(env, info, 1, &pid, "reap(pid): pid must be a number")) return NULL;
  if (pid <= 0) return throw_type(env, "reap(pid): pid must be positive");
  siginfo_t si;
  int rc;
  do {
    memset(&si, 0, sizeof si);
    rc = waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG);
  } while (rc != 0 && errno == EINTR);
  int32_t status = -1;
  if (rc == 0 && si.si_pid == pid) status = si.si_code == CLD_EXITED ? (si.si_status & 0xff) : 128 + si.si_status;
  return int_result(env, status);
}

static napi_value native_malloc_trim(napi_env env, napi_callback_info info) {
  (void)info;
#ifdef __GLIBC__
  return int_result(env, malloc_trim(0));
#else
  return int_result(env, 0);
#endif
}

NAPI_MODULE_INIT() {
  napi_property_descriptor props[] = {
      {"exit", NULL, native_exit, NULL, NULL, NULL, napi_enumerable, NULL},
      {"exitOnSignals", NULL, native_exit_on_signals, NULL, NULL, NULL, napi_enumerable, NULL},
      {"pipe", NULL, native_pipe, NULL, NULL, NULL, napi_enumerable, NULL},
      {"utimensat", NULL, native_utimensat, NULL, NULL, NULL, napi_enumerable, NULL},
      {"consoleListen", NULL, native_console_listen, NULL, NULL, NULL, napi_enumerable, NULL},
      {"consoleReceive", NULL, native_console_receive, NULL, NULL, NULL, napi_enumerable, NULL},
      {"setWinsize", NULL, native_set_winsize, NULL, NULL, NULL, napi_enumerable, NULL},
      {"closeFd", NULL, native_close_fd, NULL, NULL, NULL, napi_enumerable, NULL},
      {"setChildSubreaper", NULL, native_set_child_subreaper, NULL, NULL, NULL, napi_enumerable, NULL},
      {"reap", NULL, native_reap, NULL, NULL, NULL, napi_enumerable, NULL},
      {"mallocTrim", NULL, native_malloc_trim, NULL, NULL, NULL, napi_enumerable, NULL},
      {"openReadOnlyMount", NULL, native_open_read_only_mount, NULL, NULL, NULL, napi_enumerable, NULL},
      {"mount", NULL, native_mount, NULL, NULL, NULL, napi_enumerable, NULL},
      {"umount", NULL, native_umount, NULL, NULL, NULL, napi_enumerable, NULL},
      {"externalLatin1", NULL, native_external_latin1, NULL, NULL, NULL, napi_enumerable, NULL},
      {"setV8Flags", NULL, native_set_v8_flags, NULL, NULL, NULL, napi_enumerable, NULL},
      {"loadedLibraries", NULL, native_loaded_libraries, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok) return NULL;
  return exports;
}
