// For test/engine.test.ts (compiled there by Debian's clang on wasi-libc): whether stdin, stdout
// and stderr are terminals, then the file times of argv[1] set to the nanosecond and read back.
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int main(int argc, char **argv) {
  printf("terminals: %d %d %d\n", isatty(0), isatty(1), isatty(2));
  if (argc < 2) return 0;
  struct timespec times[2] = {{1000000000, 123456789}, {1700000000, 987654321}};
  if (utimensat(AT_FDCWD, argv[1], times, 0) != 0) {
    printf("utimensat: %s\n", strerror(errno));
    return 1;
  }
  struct stat st;
  if (stat(argv[1], &st) != 0) return 1;
  printf("atime %lld.%09ld mtime %lld.%09ld\n", (long long)st.st_atim.tv_sec, st.st_atim.tv_nsec, (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
  return 0;
}
