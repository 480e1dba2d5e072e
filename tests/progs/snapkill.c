/* snapkill.c - a program to be killed while its profile is being written: 4,096
 * distinct allocation sites (inner_J called from outer_I, 64 x 64, each keeping one
 * 16-byte block), so that every periodic snapshot (AUDIOPROF_INTERVAL) is a large
 * file that takes a while to write; then it prints "ready PID" and sleeps until
 * killed. argv[1] = "exit": exit 0 instead of waiting (one clean run). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "progs.h"

static void *volatile keep[64 * 64];

#define X8(M, p) M(p##0) M(p##1) M(p##2) M(p##3) M(p##4) M(p##5) M(p##6) M(p##7)
#define X64(M) X8(M, 0) X8(M, 1) X8(M, 2) X8(M, 3) X8(M, 4) X8(M, 5) X8(M, 6) X8(M, 7)

#define INNER(n) NOINLINE void *inner_##n(void) { return malloc(16); }
X64(INNER)
#define INNER_PTR(n) inner_##n,
static void *(*const inners[64])(void) = { X64(INNER_PTR) };

#define OUTER(n) NOINLINE void outer_##n(int i) { \
	for (int j = 0; j < 64; j++) keep[i * 64 + j] = inners[j](); }
X64(OUTER)
#define OUTER_PTR(n) outer_##n,
static void (*const outers[64])(int) = { X64(OUTER_PTR) };

int main(int argc, char **argv)
{
	for (int i = 0; i < 64; i++)
		outers[i](i);
	printf("ready %d\n", (int)getpid());
	fflush(stdout);
	if (argc > 1 && strcmp(argv[1], "exit") == 0)
		return 0;
	for (;;)
		pause();
}
