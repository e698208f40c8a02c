/*
 * Part of the shim's native helper (shim_native.c registers it): a container's rootfs, mounted
 * and unmounted by system call rather than by running mount(8) and umount(8), which cost a
 * daemon 5-9 ms each (a fork of the daemon, an exec, libmount reading the mount table).
 *
 *   mount(source, target, fstype, flags, data) -> errno (0 on success)
 *       mount(2); fstype and data may be null. src/oci/mount-native.ts turns containerd's
 *       options into flags and data, as mount(8) would.
 *   umount(target, flags) -> errno (0 on success)
 *       umount2(2), e.g. with MNT_DETACH (2).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <sys/mount.h>
#include <node_api.h>
#include "shim_native.h"

/* A string argument into `buf`, or "" with *present = 0 for null/undefined; -1 on a bad type or length. */
static int string_arg(napi_env env, napi_value value, char* buf, size_t size, int* present) {
  napi_valuetype type;
  size_t len = 0;
  *present = 0;
  buf[0] = '\0';
  if (napi_typeof(env, value, &type) != napi_ok) return -1;
  if (type == napi_null || type == napi_undefined) return 0;
  if (type != napi_string || napi_get_value_string_utf8(env, value, buf, size, &len) != napi_ok) return -1;
  if (len >= size - 1) return -1;
  *present = 1;
  return 0;
}

static napi_value errno_result(napi_env env, int err) {
  napi_value result;
  napi_create_int32(env, err, &result);
  return result;
}

napi_value native_mount(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  char source[4096], target[4096], fstype[64], data[4096];
  int has_source, has_target, has_type, has_data;
  uint32_t flags;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc < 5 || string_arg(env, argv[0], source, sizeof source, &has_source) != 0 ||
      string_arg(env, argv[1], target, sizeof target, &has_target) != 0 || !has_target ||
      string_arg(env, argv[2], fstype, sizeof fstype, &has_type) != 0 ||
      napi_get_value_uint32(env, argv[3], &flags) != napi_ok ||
      string_arg(env, argv[4], data, sizeof data, &has_data) != 0) {
    napi_throw_type_error(env, NULL, "mount(source, target, fstype, flags, data): bad argument");
    return NULL;
  }
  int rc = mount(has_source ? source : NULL, target, has_type ? fstype : NULL, flags, has_data ? data : NULL);
  return errno_result(env, rc == 0 ? 0 : errno);
}

napi_value native_umount(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  char target[4096];
  int has_target;
  int32_t flags;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc < 2 || string_arg(env, argv[0], target, sizeof target, &has_target) != 0 || !has_target ||
      napi_get_value_int32(env, argv[1], &flags) != napi_ok) {
    napi_throw_type_error(env, NULL, "umount(target, flags): bad argument");
    return NULL;
  }
  return errno_result(env, umount2(target, flags) == 0 ? 0 : errno);
}
