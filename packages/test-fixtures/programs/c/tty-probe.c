// For terminal tests: says whether fds 0-2 are terminals, then echoes one line of stdin.
// (A window size cannot be read: WASI has no TIOCGWINSZ.)
#include <stdio.h>
#include <unistd.h>

int main(void) {
  printf("isatty %d %d %d\n", isatty(0), isatty(1), isatty(2));
  fflush(stdout);
  char line[256];
  if (fgets(line, sizeof line, stdin)) printf("read %s", line);
  else printf("stdin ended\n");
  return 7;
}
