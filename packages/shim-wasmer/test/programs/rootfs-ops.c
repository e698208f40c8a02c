// The container's root as a guest sees it, for test/rootfs.test.ts (compiled there by Debian's
// clang on wasi-libc). `change` creates, appends, renames and removes at the top of `/`, `show`
// prints what a later guest in the same container sees, `sleep S` keeps a container running.
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static void check(int ok, const char *what) {
  if (!ok) {
    fprintf(stderr, "%s: %s\n", what, strerror(errno));
    exit(1);
  }
}

static void put(const char *path, const char *mode, const char *text) {
  FILE *f = fopen(path, mode);
  check(f != NULL, path);
  fputs(text, f);
  check(fclose(f) == 0, path);
}

static void cat(const char *path) {
  char buf[256];
  FILE *f = fopen(path, "r");
  if (!f) {
    printf("%s: %s\n", path, strerror(errno));
    return;
  }
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  buf[n] = 0;
  printf("%s: %s", path, buf);
  fclose(f);
}

static void kind(const char *path) {
  struct stat st;
  const char *k = lstat(path, &st) != 0 ? strerror(errno) : S_ISDIR(st.st_mode) ? "dir" : S_ISLNK(st.st_mode) ? "link" : "file";
  printf("%s %s\n", path, k);
}

int main(int argc, char **argv) {
  if (argc == 3 && strcmp(argv[1], "sleep") == 0) {
    struct timespec ts = {atoi(argv[2]), 0};
    nanosleep(&ts, NULL);
    return 0;
  }
  if (argc == 2 && strcmp(argv[1], "change") == 0) {
    put("/top.txt", "w", "one\n");
    put("/top.txt", "a", "two\n");
    check(rename("/top.txt", "/renamed.txt") == 0, "rename a file");
    check(mkdir("/topdir", 0755) == 0, "mkdir /topdir");
    put("/topdir/inner.txt", "w", "inner\n");
    check(rename("/topdir", "/movedir") == 0, "rename a directory");
    check(mkdir("/emptydir", 0755) == 0 && rmdir("/emptydir") == 0, "rmdir");
    put("/gone.txt", "w", "gone\n");
    check(unlink("/gone.txt") == 0, "unlink");
    put("/image.txt", "a", "appended by a guest\n");
    check(symlink("renamed.txt", "/link") == 0, "symlink");
    put("/vol/from-guest.txt", "w", "into the volume\n");
    return 0;
  }
  if (argc == 2 && strcmp(argv[1], "show") == 0) {
    const char *paths[] = {"/top.txt", "/renamed.txt", "/topdir", "/movedir", "/emptydir", "/gone.txt", "/link", "/proc", "/sys", "/dev/null", 0};
    for (int i = 0; paths[i]; i++) kind(paths[i]);
    cat("/renamed.txt");
    cat("/movedir/inner.txt");
    cat("/image.txt");
    cat("/link");
    cat("/vol/from-host.txt");
    return 0;
  }
  fprintf(stderr, "usage: rootfs-ops change|show|sleep SECONDS\n");
  return 2;
}
