// Reads stdin to end of file, echoing each line numbered, then counts lines and bytes.
#include <stdio.h>
#include <string.h>

int main(void) {
  char line[4096];
  long lines = 0, bytes = 0;
  while (fgets(line, sizeof line, stdin)) {
    bytes += (long)strlen(line);
    printf("%ld: %s", ++lines, line);
    if (line[strlen(line) - 1] != '\n') printf("\n");
  }
  printf("eof after %ld lines, %ld bytes\n", lines, bytes);
  return ferror(stdin) ? 1 : 0;
}
