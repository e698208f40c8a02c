// A WASIX module (it imports wasix_32v1.getcwd), for test/engine.test.ts: such modules keep the
// SDK's own file system. Prints argv[0] and the working directory, then writes argv[1].
#include <stdint.h>
#include <stdio.h>

__attribute__((import_module("wasix_32v1"), import_name("getcwd"))) uint16_t wasix_getcwd(char *buf, uint32_t *len);

int main(int argc, char **argv) {
  char buf[256];
  uint32_t len = sizeof buf;
  uint16_t err = wasix_getcwd(buf, &len);
  printf("argv0 %s\ncwd %.*s (errno %u)\n", argv[0], (int)len, buf, err);
  FILE *f = argc > 1 ? fopen(argv[1], "w") : NULL;
  if (!f) return 1;
  fputs("from a WASIX guest\n", f);
  return fclose(f) == 0 ? 0 : 1;
}
