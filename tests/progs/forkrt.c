/* forkrt.c - audio data in a forked child starts afresh: the parent runs 10 cycles of
 * a marked region, allocating in 4 of them, then forks; the child runs 3 clean cycles
 * and exits; the parent runs 2 more cycles, allocating in one, and waits. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "audioprof.h"

static const char region[] = "forkrt";

__attribute__((noinline)) static void *rt_alloc(void)
{
	return malloc(48);
}

__attribute__((noinline)) static void cycle(int allocate, void **keep, int *n)
{
	AUDIOPROF_RT_ENTER(region);
	if (allocate)
		keep[(*n)++] = rt_alloc();
	AUDIOPROF_RT_EXIT();
}

int main(void)
{
	void *keep[16];
	int n = 0;
	for (int i = 0; i < 10; i++)
		cycle(i % 3 == 0, keep, &n);   /* i = 0, 3, 6, 9: 4 allocations */
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		for (int i = 0; i < 3; i++)
			cycle(0, keep, &n);
		_exit(0);
	}
	cycle(1, keep, &n);
	cycle(0, keep, &n);
	int st;
	waitpid(pid, &st, 0);
	for (int i = 0; i < n; i++)
		free(keep[i]);
	printf("forkrt ok %d\n", n);
	return 0;
}
