// Links chdir, so wasi-libc's own working-directory emulation is in the module: getcwd, relative
// paths, then chdir into the directory given and a relative write and read there.
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void show(const char *path) {
  char buf[256] = {0};
  FILE *f = fopen(path, "r");
  if (!f) {
    printf("%s: %s\n", path, strerror(errno));
    return;
  }
  fgets(buf, sizeof buf, f);
  fclose(f);
  printf("%s: %s", path, buf);
}

int main(int argc, char **argv) {
  char cwd[512];
  printf("getcwd: %s\n", getcwd(cwd, sizeof cwd));
  show("data.txt");
  show("/etc/corpus/app.conf");
  if (argc < 2) return 0;
  if (chdir(argv[1]) != 0) {
    printf("chdir %s: %s\n", argv[1], strerror(errno));
    return 1;
  }
  printf("after chdir: %s\n", getcwd(cwd, sizeof cwd));
  FILE *f = fopen("here.txt", "w");
  if (!f) {
    printf("here.txt: %s\n", strerror(errno));
    return 1;
  }
  fputs("written after chdir\n", f);
  fclose(f);
  char abs[600];
  snprintf(abs, sizeof abs, "%s/here.txt", argv[1]);
  show(abs);
  return unlink("here.txt") == 0 ? 0 : 1;
}
