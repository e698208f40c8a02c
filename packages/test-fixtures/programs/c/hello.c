// The smallest real C program: stdio through wasi-libc, argv, and an exit status.
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
  printf("hello from C, %d args\n", argc);
  return argc > 1 ? atoi(argv[1]) : 0;
}
