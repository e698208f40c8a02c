/*
 * V8's flags set without node:v8, which loads Node's heap utilities and its streams with it: 10 ms
 * of every runner's boot on the test machine, for one flag. This is V8's own
 * `v8::V8::SetFlagsFromString(const char*)`, what node:v8's setFlagsFromString calls, exported by
 * the node executable the helper is built for (a static member function taking a pointer is
 * called as a C function is). Weak: a Node without it leaves this returning false.
 */
#include "shim_native.h"

extern void _ZN2v82V818SetFlagsFromStringEPKc(const char *flags) __attribute__((weak));

/* setV8Flags(flags: string): boolean */
napi_value native_set_v8_flags(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  char flags[256];
  size_t len = 0;
  bool set = false;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) == napi_ok && argc == 1 &&
      napi_get_value_string_utf8(env, argv[0], flags, sizeof flags, &len) == napi_ok && len < sizeof flags - 1 &&
      _ZN2v82V818SetFlagsFromStringEPKc != NULL) {
    _ZN2v82V818SetFlagsFromStringEPKc(flags);
    set = true;
  }
  napi_value result;
  napi_get_boolean(env, set, &result);
  return result;
}
