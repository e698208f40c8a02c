/* The helper's functions that live in files of their own; shim_native.c registers them. */
#ifndef SHIM_NATIVE_H
#define SHIM_NATIVE_H
#include <node_api.h>

napi_value native_open_read_only_mount(napi_env env, napi_callback_info info);
napi_value native_mount(napi_env env, napi_callback_info info);
napi_value native_umount(napi_env env, napi_callback_info info);
napi_value native_external_latin1(napi_env env, napi_callback_info info);
napi_value native_set_v8_flags(napi_env env, napi_callback_info info);
napi_value native_loaded_libraries(napi_env env, napi_callback_info info);

#endif
