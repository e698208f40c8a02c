/*
 * Part of the shim's native helper (shim_native.c registers it):
 *
 *   externalLatin1(arrayBuffer) -> string
 *       a string whose characters V8 reads in place from the ArrayBuffer's bytes instead of
 *       copying them into its heap. For an asset of the executable (node:sea getRawAsset), those
 *       bytes are the executable's own file-backed pages, which every process of it shares: the
 *       bundle's source (0.7-1.9 MB, which V8 keeps for lazy compilation) then costs a daemon or
 *       a runner no private memory. The string holds a reference to the ArrayBuffer until it is
 *       collected, so the bytes outlive it whatever the caller passes.
 */
#define NAPI_VERSION 10
#include <node_api.h>
#include "shim_native.h"
#include <stddef.h>

static void release_buffer(node_api_basic_env env, void* data, void* hint) {
  (void)data;
  napi_delete_reference(env, (napi_ref)hint);
}

napi_value native_external_latin1(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  void* data = NULL;
  size_t length = 0;
  bool is_buffer = false;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 ||
      napi_is_arraybuffer(env, argv[0], &is_buffer) != napi_ok || !is_buffer ||
      napi_get_arraybuffer_info(env, argv[0], &data, &length) != napi_ok) {
    napi_throw_type_error(env, NULL, "externalLatin1(buffer): an ArrayBuffer");
    return NULL;
  }
  napi_ref keep = NULL;
  if (napi_create_reference(env, argv[0], 1, &keep) != napi_ok) return NULL;
  napi_value result = NULL;
  bool copied = false;
  if (node_api_create_external_string_latin1(env, (char*)data, length, release_buffer, keep, &result, &copied) !=
      napi_ok) {
    napi_delete_reference(env, keep);
    return NULL;
  }
  // A copy (V8 copies short strings) needs the buffer no longer.
  if (copied) napi_delete_reference(env, keep);
  return result;
}
