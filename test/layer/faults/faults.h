#ifndef SKYNET_MEM_FAULTS_H
#define SKYNET_MEM_FAULTS_H

/* Shared by the fault tests: plain programs (they fork, exhaust keys and
 * take signals, which a test framework's own state would not survive). */

#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define EXPECT(cond, ...) do { \
	if (!(cond)) { \
		fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond); \
		fprintf(stderr, __VA_ARGS__); \
		fprintf(stderr, "\n"); \
		_exit(1); \
	} \
} while (0)

static inline double now_seconds(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

#endif
