// Files and directories through wasi-libc, without chdir (so wasi-libc has no working directory
// of its own): for each directory given, create, append, rename, copy, list, stat and remove
// under DIR/tour-c, leaving DIR/tour-c/kept.txt behind. Then the image's own files, by absolute
// and relative path, and getcwd. Prints only what is the same on every run.
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define PATH_LEN 8192

static int failures = 0;

static void fail(const char *what, const char *path) {
  printf("error: %s %s: %s\n", what, path, strerror(errno));
  failures++;
}

static void join(char *out, const char *dir, const char *name) {
  size_t n = strlen(dir);
  snprintf(out, PATH_LEN, "%s%s%s", dir, n > 0 && dir[n - 1] == '/' ? "" : "/", name);
}

static void write_file(const char *path, const char *mode, const char *text) {
  FILE *f = fopen(path, mode);
  if (!f) return fail("fopen", path);
  fputs(text, f);
  if (fclose(f) != 0) fail("fclose", path);
}

static void show_file(const char *label, const char *path) {
  char buf[256];
  FILE *f = fopen(path, "r");
  if (!f) {
    printf("%s %s: %s\n", label, path, strerror(errno));
    return;
  }
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  buf[n] = 0;
  fclose(f);
  printf("%s %s: %s", label, path, buf);
  if (n == 0 || buf[n - 1] != '\n') printf("\n");
}

static void copy_file(const char *from, const char *to) {
  FILE *in = fopen(from, "rb"), *out = in ? fopen(to, "wb") : NULL;
  if (!in || !out) {
    if (in) fclose(in);
    return fail("copy", from);
  }
  char buf[64];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, in)) > 0) fwrite(buf, 1, n, out);
  fclose(in);
  if (fclose(out) != 0) fail("copy", to);
}

static int by_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void list(const char *dir) {
  DIR *d = opendir(dir);
  if (!d) return fail("opendir", dir);
  char *names[64];
  int count = 0;
  struct dirent *e;
  while ((e = readdir(d)) && count < 64)
    if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) names[count++] = strdup(e->d_name);
  closedir(d);
  qsort(names, count, sizeof *names, by_name);
  printf("list %s:", dir);
  for (int i = 0; i < count; i++) {
    static char path[PATH_LEN];
    struct stat st;
    join(path, dir, names[i]);
    if (stat(path, &st) != 0) fail("stat", path);
    else if (S_ISDIR(st.st_mode)) printf(" %s/", names[i]);
    else printf(" %s(%lld)", names[i], (long long)st.st_size);
    free(names[i]);
  }
  printf("\n");
}

static void tour(const char *dir) {
  static char t[PATH_LEN], a[PATH_LEN], b[PATH_LEN], c[PATH_LEN], sub[PATH_LEN], n[PATH_LEN];
  join(t, dir, "tour-c");
  join(a, t, "a.txt");
  join(b, t, "kept.txt");
  join(c, t, "copy.txt");
  join(sub, t, "sub");
  join(n, sub, "n.txt");
  printf("== %s\n", dir);
  if (mkdir(t, 0755) != 0) return fail("mkdir", t);
  write_file(a, "w", "alpha\n");
  write_file(a, "a", "beta\n");
  struct stat st;
  if (stat(a, &st) != 0) fail("stat", a);
  else printf("stat a.txt: regular=%d size=%lld mtime-recent=%d\n", S_ISREG(st.st_mode), (long long)st.st_size, llabs((long long)(time(NULL) - st.st_mtime)) < 86400);
  if (rename(a, b) != 0) fail("rename", a);
  copy_file(b, c);
  if (mkdir(sub, 0755) != 0) fail("mkdir", sub);
  write_file(n, "w", "nested\n");
  list(t);
  show_file("read", c);
  if (unlink(c) != 0) fail("unlink", c);
  if (unlink(n) != 0) fail("unlink", n);
  if (rmdir(sub) != 0) fail("rmdir", sub);
  if (access(a, F_OK) == 0) printf("a.txt still exists after rename\n");
  list(t);
}

int main(int argc, char **argv) {
  for (int i = 1; i < argc; i++) tour(argv[i]);
  char cwd[512];
  printf("getcwd: %s\n", getcwd(cwd, sizeof cwd) ? cwd : strerror(errno));
  show_file("image", "/etc/corpus/app.conf");
  show_file("relative", "data.txt");
  show_file("relative", "nested/deep/file.txt");
  show_file("dot", "./data.txt");
  show_file("parent", "../data.txt");
  return failures ? 1 : 0;
}
