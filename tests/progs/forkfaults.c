/* forkfaults.c - for t_fork_faults.sh: how many page faults the calling thread takes
 * inside fork() in the parent (getrusage RUSAGE_THREAD, minor faults, from the call to
 * its return), the median of 41 forks. After a fork every page the child shares is
 * write-protected in the parent, so each page the parent writes before fork() returns
 * (the fork handlers' locks given back, glibc's own) costs a fault. Two threads of the
 * program's, each with a malloc arena of its own, sleep meanwhile, so that glibc's fork
 * takes its multi-threaded path natively too (it then locks and unlocks every arena),
 * as it does under the preload, whose own two threads run. Each child exits at once.
 * Prints "fork_faults=N". Exit 0, or 1 on a failed check. usage: forkfaults */
#include <pthread.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include "progs.h"

#define FORKS 41

static void *volatile keep[2];

NOINLINE void *sleeper_site(void) { return malloc(100); }

static void *sleeper(void *arg)
{
	keep[(long)arg] = sleeper_site();
	for (;;)
		pause();
	return arg;
}

static long minflt(void)
{
	struct rusage ru;
	PROG_CHECK(getrusage(RUSAGE_THREAD, &ru) == 0, "getrusage");
	return ru.ru_minflt;
}

static int cmp(const void *a, const void *b)
{
	long x = *(const long *)a, y = *(const long *)b;
	return x < y ? -1 : x > y;
}

int main(void)
{
	for (long i = 0; i < 2; i++) {
		pthread_t t;
		PROG_CHECK(pthread_create(&t, NULL, sleeper, (void *)i) == 0, "pthread_create");
	}
	/* The threads have made their arenas, the profiler's threads have started. */
	struct timespec ts = { 0, 200 * 1000 * 1000 };
	nanosleep(&ts, NULL);
	long f[FORKS];
	for (int i = 0; i < FORKS; i++) {
		long before = minflt();
		pid_t pid = fork();
		long after = minflt();
		PROG_CHECK(pid >= 0, "fork");
		if (pid == 0)
			_exit(0);
		int st;
		PROG_CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0,
			   "the child failed");
		f[i] = after - before;
	}
	qsort(f, FORKS, sizeof(*f), cmp);
	printf("fork_faults=%ld\n", f[FORKS / 2]);
	return 0;
}
