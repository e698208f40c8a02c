// A guest that looks for what it should not see: it walks every directory its container shows it,
// reads what it can (also through symlinks and /proc's links), and prints one line per finding,
// so a test can check the lot against the image, its mounts and the host's files.
//
//   snoop walk            the whole tree from "/" (/proc and /sys only where a process's own
//                         links lead), then /proc's links and tables
//   snoop cat PATH...     R <path> <size> <hash> <first line>   or   R <path> error <errno>
//   snoop ls PATH...      S <path>: <name> <name> ...           or   S <path> error <errno>
//   snoop raw PATH        path_open of PATH against every preopen, as the raw WASI call
//
// Lines: D dir, F <path> <size> <hash>, L <path> -> <target>, O other, E <path> <errno>,
// V <path> (a directory seen before, not entered again), X <what> (the walk was cut short),
// T <path> (what a symlink leads to, same fields as F or S), C <path>: <line> (table contents).
// <hash> is FNV-1a 64 of the first 64 KiB, in hex; the test hashes host files the same way.
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <wasi/api.h>

#define SAMPLE (64 * 1024)
#define MAX_LINKS 512
#define PATH_LEN 1024

static unsigned char buf[SAMPLE];
static char *links[MAX_LINKS];
static int nlinks;

static uint64_t fnv(const unsigned char *p, size_t n) {
  uint64_t h = 1469598103934665603ULL;
  for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 1099511628211ULL;
  return h;
}

// Terminals and the process's own pipes would block a read for ever, and an engine may show them
// as regular files (wasmer does, through a volume's link to "/"): never read those.
static int interactive(const char *path) {
  const char *base = strrchr(path, '/');
  base = base ? base + 1 : path;
  const char *names[] = {"stdin", "stdout", "stderr", "tty", "console", "ptmx", "kmsg"};
  for (size_t i = 0; i < sizeof names / sizeof *names; i++)
    if (!strcmp(base, names[i])) return 1;
  return strstr(path, "/fd/") != NULL || strstr(path, "/pts/") != NULL;
}

// Reads up to SAMPLE bytes of a regular file; returns the count or -errno. *size gets the whole size.
static long sample(const char *path, long long *size) {
  if (interactive(path)) return -EAGAIN;
  int fd = open(path, O_RDONLY);
  if (fd < 0) return -errno;
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return -ENODEV;
  }
  *size = (long long)st.st_size;
  long got = 0;
  ssize_t n = 0;
  while (got < SAMPLE && (n = read(fd, buf + got, SAMPLE - got)) > 0) got += n;
  int e = errno;
  close(fd);
  return n < 0 && got == 0 ? -e : got;
}

static void print_file(const char *tag, const char *path) {
  long long size;
  long n = sample(path, &size);
  if (n < 0) printf("%s %s error %ld\n", tag, path, -n);
  else printf("%s %s %lld %016llx\n", tag, path, size, (unsigned long long)fnv(buf, n));
}

// R <path> <size> <hash> <first line, printable ASCII only>
static void print_read(const char *path) {
  long long size;
  long n = sample(path, &size), first = 0;
  if (n < 0) return (void)printf("R %s error %ld\n", path, -n);
  while (first < n && first < 200 && buf[first] != '\n' && buf[first] >= 32 && buf[first] < 127) first++;
  printf("R %s %lld %016llx %.*s\n", path, size, (unsigned long long)fnv(buf, n), (int)first, (const char *)buf);
}

static void print_listing(const char *tag, const char *path) {
  DIR *d = opendir(path);
  if (!d) return (void)printf("%s %s error %d\n", tag, path, errno);
  printf("%s %s:", tag, path);
  struct dirent *e;
  while ((e = readdir(d)))
    if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) printf(" %s", e->d_name);
  printf("\n");
  closedir(d);
}

static void join(char *out, size_t cap, const char *dir, const char *name) {
  snprintf(out, cap, "%s%s%s", dir, strcmp(dir, "/") ? "/" : "", name);
}

static char target[4096];

// readlink's target, or "" when there is none (n is checked: an engine may report nonsense).
static const char *link_target(const char *path) {
  ssize_t n = readlink(path, target, sizeof target - 1);
  target[n < 0 || n >= (ssize_t)sizeof target ? 0 : n] = 0;
  return target;
}

// The walk is breadth-first, so a cycle (an engine that shows a symlink to "/" as a directory)
// cannot starve the rest of the tree; a directory already seen (same device and inode) is not
// entered again, nor one deeper than MAX_DEPTH, and past MAX_ENTRIES the walk stops and says so.
#define MAX_ENTRIES 20000
#define MAX_DIRS 8192
#define MAX_DEPTH 6
#define MAX_PROCS 8

// Directories named "proc" reached through links (an engine may show the container's /proc there).
static char *procs[MAX_PROCS];
static int nprocs;

static int depth_of(const char *path) {
  int n = 0;
  while (*path) n += *path++ == '/';
  return n;
}

static char *queue[MAX_DIRS];
static int queued, next_dir, entries;
static struct { dev_t dev; ino_t ino; } seen[MAX_DIRS];
static int nseen;

static int seen_before(const struct stat *st) {
  for (int i = 0; st->st_ino != 0 && i < nseen; i++)
    if (seen[i].dev == st->st_dev && seen[i].ino == st->st_ino) return 1;
  if (nseen < MAX_DIRS) seen[nseen].dev = st->st_dev, seen[nseen++].ino = st->st_ino;
  return 0;
}

static void enqueue(const char *path) {
  if (queued < MAX_DIRS) queue[queued++] = strdup(path);
  else printf("X %s not walked\n", path);
}

// One entry of a walk: printed, read, or recorded to be walked or followed later.
static void visit(const char *dir, const char *name) {
  char path[PATH_LEN];
  join(path, sizeof path, dir, name);
  struct stat st;
  if (++entries > MAX_ENTRIES) return;
  if (lstat(path, &st) != 0) return (void)(errno == ENOENT || printf("E %s %d\n", path, errno));
  if (S_ISLNK(st.st_mode)) {
    printf("L %s -> %s\n", path, link_target(path));
    if (nlinks < MAX_LINKS) links[nlinks++] = strdup(path);
  } else if (S_ISDIR(st.st_mode)) {
    printf("D %s\n", path);
    // The kernel's trees are endless; what of them is a process's own is probed below.
    if (!strcmp(name, "proc") && strcmp(path, "/proc") && nprocs < MAX_PROCS) procs[nprocs++] = strdup(path);
    if (!strcmp(name, "proc") || !strcmp(name, "sys")) return;
    if (seen_before(&st)) printf("V %s\n", path);
    else if (depth_of(path) >= MAX_DEPTH) printf("X %s deeper than %d\n", path, MAX_DEPTH);
    else enqueue(path);
  } else if (S_ISREG(st.st_mode)) print_file("F", path);
  else printf("O %s\n", path);
}

// Where "/" itself cannot be listed (jco's WASI 0.2 layer), these names are tried one by one:
// the usual top-level directories, and what the runner once mounted.
static const char *top_level[] = {"bin", "boot", "data", "dev", "etc", "home", "lib", "lib32", "lib64", "libx32", "media", "mnt", "opt", "proc", "root",
                                  "run", "sbin", "srv", "sys", "tmp", "usr", "var", "snoop.wasm", "sleep.wasm", ".wasm-shim", "containerd-shim-assets"};

static void walk(void) {
  struct stat st;
  if (stat("/", &st) == 0) seen_before(&st);
  enqueue("/");
  while (next_dir < queued) {
    const char *dir = queue[next_dir++];
    DIR *d = opendir(dir);
    if (!d) {
      printf("E %s %d\n", dir, errno);
      if (!strcmp(dir, "/"))
        for (size_t i = 0; i < sizeof top_level / sizeof *top_level; i++) visit(dir, top_level[i]);
      continue;
    }
    struct dirent *e;
    while ((e = readdir(d)))
      if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) visit(dir, e->d_name);
    closedir(d);
  }
  if (entries > MAX_ENTRIES) printf("X walk stopped after %d entries\n", MAX_ENTRIES);
}

// Where a symlink leads: a file is read, a directory listed (one level).
static void follow(const char *path) {
  struct stat st;
  if (stat(path, &st) != 0) printf("T %s error %d\n", path, errno);
  else if (S_ISDIR(st.st_mode)) print_listing("T", path);
  else if (S_ISREG(st.st_mode)) print_file("T", path);
  else printf("T %s other\n", path);
}

static void table(const char *path) {
  FILE *f = fopen(path, "r");
  if (!f) return (void)printf("C %s error %d\n", path, errno);
  char line[4096];
  size_t n;
  // environ and cmdline are NUL-separated: one entry a line.
  while ((n = fread(line, 1, sizeof line - 1, f)) > 0) {
    line[n] = 0;
    for (size_t i = 0; i < n; i++)
      if (line[i] == 0) line[i] = '\n';
    char *save, *tok = strtok_r(line, "\n", &save);
    for (; tok; tok = strtok_r(NULL, "\n", &save)) printf("C %s: %s\n", path, tok);
  }
  fclose(f);
}

static void probe_fds(const char *dir) {
  print_listing("P", dir);
  DIR *d = opendir(dir);
  if (!d) return;
  struct dirent *e;
  while ((e = readdir(d))) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
    char path[512];
    join(path, sizeof path, dir, e->d_name);
    printf("L %s -> %s\n", path, link_target(path));
    follow(path);
  }
  closedir(d);
}

// What of the kernel's trees is this process's own, under `proc` (the container's /proc, or one
// reached through a link): links followed, fd directories probed, listings, tables.
static void probes(const char *proc) {
  static const struct { char kind; const char *rel; } what[] = {
      {'f', "self/exe"}, {'f', "1/exe"},   {'f', "self/root"}, {'f', "1/root"},   {'f', "self/cwd"},     {'f', "1/cwd"},       {'d', "self/fd"},
      {'d', "1/fd"},     {'l', "self/map_files"}, {'l', ""},   {'t', "self/maps"}, {'t', "self/mountinfo"}, {'t', "self/environ"}, {'t', "1/environ"},
      {'t', "1/cmdline"}};
  char path[PATH_LEN];
  for (size_t i = 0; i < sizeof what / sizeof *what; i++) {
    if (*what[i].rel) join(path, sizeof path, proc, what[i].rel);
    else snprintf(path, sizeof path, "%s", proc);
    if (what[i].kind == 'f') follow(path);
    else if (what[i].kind == 'd') probe_fds(path);
    else if (what[i].kind == 'l') print_listing("P", path);
    else table(path);
  }
}

static int raw(const char *path) {
  for (int fd = 3; fd < 64; fd++) {
    __wasi_prestat_t pre;
    char name[256] = {0};
    if (__wasi_fd_prestat_get(fd, &pre) != 0 || pre.u.dir.pr_name_len >= sizeof name) continue;
    if (__wasi_fd_prestat_dir_name(fd, (uint8_t *)name, pre.u.dir.pr_name_len) != 0) continue;
    __wasi_fd_t out;
    __wasi_errno_t err = __wasi_path_open(fd, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, path, 0, __WASI_RIGHTS_FD_READ | __WASI_RIGHTS_FD_READDIR, 0, 0, &out);
    if (err != 0 && printf("W %d %s %s error %d\n", fd, name, path, err)) continue;
    __wasi_size_t got = 0;
    __wasi_iovec_t iov = {buf, SAMPLE};
    __wasi_errno_t rerr = __wasi_fd_read(out, &iov, 1, &got);
    if (rerr != 0) printf("W %d %s %s opened, read error %d\n", fd, name, path, rerr);
    else printf("W %d %s %s %u %016llx\n", fd, name, path, (unsigned)got, (unsigned long long)fnv(buf, got));
    (void)!__wasi_fd_close(out);
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: snoop walk | cat PATH... | ls PATH... | raw PATH\n");
    return 2;
  }
  if (!strcmp(argv[1], "walk")) {
    printf("D /\n");
    walk();
    for (int i = 0; i < nlinks; i++) follow(links[i]);
    follow("/dev/fd");
    follow("/dev/stdin");
    probes("/proc");
    for (int i = 0; i < nprocs; i++) probes(procs[i]);
  } else if (!strcmp(argv[1], "cat")) {
    for (int i = 2; i < argc; i++) print_read(argv[i]);
  } else if (!strcmp(argv[1], "ls")) {
    for (int i = 2; i < argc; i++) print_listing("S", argv[i]);
  } else if (!strcmp(argv[1], "raw") && argc == 3) {
    return raw(argv[2]);
  } else {
    fprintf(stderr, "snoop: unknown command %s\n", argv[1]);
    return 2;
  }
  printf("done\n");
  return 0;
}
