/*
 * Part of the shim's native helper (shim_native.c registers it):
 *
 *   openReadOnlyMount(path) -> fd | -errno
 *       opens `path` through a detached read-only bind mount of it (open_tree(OPEN_TREE_CLONE) +
 *       mount_setattr, Linux 5.12): the mount is in no mount table and goes when its last fd
 *       closes, and a reopen through /proc/<pid>/fd for writing is EROFS, so a container handed
 *       the fd can read the file and never write it. -ENOSYS/-EPERM/-EINVAL on kernels (or
 *       seccomp profiles) without it: the caller (src/wasm/read-only-fds.ts) has another way.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/mount.h>
#ifndef SYS_open_tree
#define SYS_open_tree 428
#endif
#ifndef SYS_mount_setattr
#define SYS_mount_setattr 442
#endif
#ifndef MOUNT_ATTR_RDONLY
#define MOUNT_ATTR_RDONLY 0x00000001
#define MOUNT_ATTR_NOSUID 0x00000002
#define MOUNT_ATTR_NODEV 0x00000004
struct mount_attr {
  uint64_t attr_set;
  uint64_t attr_clr;
  uint64_t propagation;
  uint64_t userns_fd;
};
#endif
#define NAPI_VERSION 8
#include <node_api.h>
#include "shim_native.h"

static napi_value fd_result(napi_env env, int32_t value) {
  napi_value result;
  napi_create_int32(env, value, &result);
  return result;
}

napi_value native_open_read_only_mount(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  char path[4096];
  size_t len;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc < 1 || napi_get_value_string_utf8(env, argv[0], path, sizeof path, &len) != napi_ok) {
    napi_throw_type_error(env, NULL, "openReadOnlyMount(path): path must be a string");
    return NULL;
  }
  if (len >= sizeof path - 1) return fd_result(env, -ENAMETOOLONG);
  int tree = (int)syscall(SYS_open_tree, AT_FDCWD, path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
  if (tree < 0) return fd_result(env, -errno);
  struct mount_attr attr;
  memset(&attr, 0, sizeof attr);
  attr.attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;
  if (syscall(SYS_mount_setattr, tree, "", AT_EMPTY_PATH, &attr, sizeof attr) != 0) {
    int err = errno;
    close(tree);
    return fd_result(env, -err);
  }
  // open_tree gives an O_PATH fd, which cannot be read: reopen it for reading.
  char self[64];
  snprintf(self, sizeof self, "/proc/self/fd/%d", tree);
  int fd = open(self, O_RDONLY | O_CLOEXEC);
  int err = errno;
  close(tree);
  return fd_result(env, fd < 0 ? -err : fd);
}
