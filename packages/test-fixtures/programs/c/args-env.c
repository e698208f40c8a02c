// Arguments and environment as the guest sees them (not argv[0], which engines may rename):
// every argument, each CORPUS_* variable sorted, whether stdio looks like a terminal (it never
// is in a container without -t; wasi-libc decides stdout's buffering by it), then exit with
// CORPUS_EXIT's value.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern char **environ;

static int by_text(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int main(int argc, char **argv) {
  for (int i = 1; i < argc; i++) printf("arg[%d]=<%s> (%zu bytes)\n", i, argv[i], strlen(argv[i]));
  char *vars[256];
  int n = 0;
  for (char **e = environ; *e && n < 256; e++)
    if (strncmp(*e, "CORPUS_", 7) == 0) vars[n++] = *e;
  qsort(vars, n, sizeof *vars, by_text);
  for (int i = 0; i < n; i++) printf("env <%s>\n", vars[i]);
  printf("PATH is %s\n", getenv("PATH") ? "set" : "unset");
  printf("terminals: stdin=%d stdout=%d stderr=%d\n", isatty(0), isatty(1), isatty(2));
  const char *code = getenv("CORPUS_EXIT");
  fprintf(stderr, "exiting with %s\n", code ? code : "0");
  return code ? atoi(code) : 0;
}
