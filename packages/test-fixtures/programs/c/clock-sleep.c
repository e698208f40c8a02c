// Clocks and sleeps: the wall clock is after 2020, the monotonic clock moves forward, and each
// sleep (nanosleep and usleep, both poll_oneoff underneath) lasts at least what it asked for, less
// 2 ms: libuv's timers (node:wasi) count whole milliseconds from a cached loop time.
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(clockid_t id) {
  struct timespec ts;
  if (clock_gettime(id, &ts) != 0) return -1;
  return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(int argc, char **argv) {
  long ms = argc > 1 ? atol(argv[1]) : 100;
  long long wall = now_ns(CLOCK_REALTIME);
  printf("realtime after 2020: %s\n", wall > 1577836800LL * 1000000000LL ? "yes" : "no");
  struct timespec res;
  printf("monotonic resolution known: %s\n", clock_getres(CLOCK_MONOTONIC, &res) == 0 ? "yes" : "no");
  long long t0 = now_ns(CLOCK_MONOTONIC);
  struct timespec req = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&req, NULL);
  long long t1 = now_ns(CLOCK_MONOTONIC);
  usleep(ms * 1000);
  long long t2 = now_ns(CLOCK_MONOTONIC);
  long long min = (ms - 2) * 1000000LL;
  printf("nanosleep %ld ms lasted at least that: %s\n", ms, t1 - t0 >= min ? "yes" : "no");
  printf("usleep %ld ms lasted at least that: %s\n", ms, t2 - t1 >= min ? "yes" : "no");
  printf("process cputime clock known: %s\n", now_ns(CLOCK_PROCESS_CPUTIME_ID) >= 0 ? "yes" : "no");
  return 0;
}
