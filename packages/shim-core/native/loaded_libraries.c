/*
 * The shared libraries the dynamic loader mapped for this very executable when it started, from
 * the loader's own list (dl_iterate_phdr), so a daemon knows what its runners need without forking
 * `ld.so --list`: that fork took 10-25 ms of CPU in every daemon a burst of pods started. Objects
 * are listed in load order, and whatever was opened later (this helper first) comes after the
 * ones the executable needed: the list stops at the first object that contains this function.
 * The executable itself and the vDSO have no path and are left out; the loader is in it.
 */
#define _GNU_SOURCE
#include <link.h>
#include <stdint.h>
#include "shim_native.h"

struct walk {
  napi_env env;
  napi_value list;
  uint32_t count;
  int done;
};

/* Whether `addr` lies in one of the object's loaded segments. */
static int contains(const struct dl_phdr_info *obj, uintptr_t addr) {
  for (int i = 0; i < obj->dlpi_phnum; i++) {
    const ElfW(Phdr) *ph = &obj->dlpi_phdr[i];
    uintptr_t start = obj->dlpi_addr + ph->p_vaddr;
    if (ph->p_type == PT_LOAD && addr >= start && addr - start < ph->p_memsz) return 1;
  }
  return 0;
}

static int visit(struct dl_phdr_info *obj, size_t size, void *data) {
  (void)size;
  struct walk *w = data;
  if (w->done || contains(obj, (uintptr_t)&native_loaded_libraries)) return w->done = 1;
  if (obj->dlpi_name == NULL || obj->dlpi_name[0] != '/') return 0;
  napi_value name;
  if (napi_create_string_utf8(w->env, obj->dlpi_name, NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_set_element(w->env, w->list, w->count++, name) != napi_ok)
    return w->done = -1;
  return 0;
}

/* loadedLibraries(): string[] */
napi_value native_loaded_libraries(napi_env env, napi_callback_info info) {
  (void)info;
  struct walk w = {env, NULL, 0, 0};
  if (napi_create_array(env, &w.list) != napi_ok) return NULL;
  dl_iterate_phdr(visit, &w);
  if (w.done < 0) return NULL;
  return w.list;
}
