/* forkloop.c - forks N times in a loop while allocating (t_fork_loop.sh), optionally while
 * another thread holds the dynamic loader's lock.
 *   before the loop: keep_site 1 x 1000 (live in the parent and every child)
 *   iteration i: the parent allocates parent_site 1 x 200 (kept), then forks; the child
 *     allocates child_site 3 x 48, frees one, and exits with exit(0) (its profile:
 *     child_site tb 144 tbk 3 eb 96 ebk 2); the parent reaps it before the next fork.
 *   parent: parent_site tb 200*N tbk N, eb the same.
 * Usage: forkloop N [hold]
 *   hold: first a thread dlopen()s libforkhold.so (next to this program), whose
 *     constructor keeps the loader's lock until the loop is over (two pipes, passed
 *     in FORKHOLD_FDS, say when it started and when it may return), and the parent then
 *     allocates at fresh_site (a frame no profile has symbolized yet). A profiler that
 *     symbolizes fresh_site needs the loader (dlsym takes its lock) and waits; natively
 *     fork() does not need that lock, so the N forks must still happen (a profiler whose
 *     fork handler waited for a profile write in progress would wait forever).
 * Prints "forks N children_ok K" and exits 0 when all N children exited 0. */
#include <dlfcn.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>
#include "progs.h"

static void *volatile keep, *volatile fresh, *volatile par[4096], *volatile kid[3];

NOINLINE void *keep_site(void) { return malloc(1000); }
NOINLINE void *parent_site(void) { return malloc(200); }
NOINLINE void *child_site(void) { return malloc(48); }
NOINLINE void *fresh_site(void) { return malloc(64); }
NOINLINE void release(void *p) { free(p); }

static void *holder(void *arg)
{
	void *h = dlopen((const char *)arg, RTLD_NOW | RTLD_LOCAL);
	PROG_CHECK(h != NULL, "dlopen libforkhold.so");
	return h;
}

NOINLINE static void child(void)
{
	for (int i = 0; i < 3; i++)
		kid[i] = child_site();
	release(kid[0]);
	exit(0);
}

int main(int argc, char **argv)
{
	PROG_CHECK(argc >= 2, "usage: forkloop N [hold]");
	int n = atoi(argv[1]), hold = argc > 2;
	PROG_CHECK(n > 0 && n <= 4096, "N must be 1..4096");
	pthread_t t;
	static char path[PATH_MAX];

	keep = keep_site();
	int to_lib[2], from_lib[2];
	if (hold) {
		PROG_CHECK(pipe(to_lib) == 0 && pipe(from_lib) == 0, "pipe");
		char v[32];
		snprintf(v, sizeof v, "%d %d", to_lib[0], from_lib[1]);
		PROG_CHECK(setenv("FORKHOLD_FDS", v, 1) == 0, "setenv");
		ssize_t len = readlink("/proc/self/exe", path, sizeof path - 32);
		PROG_CHECK(len > 0, "readlink /proc/self/exe");
		path[len] = 0;
		char *slash = strrchr(path, '/');
		strcpy(slash ? slash + 1 : path, "libforkhold.so");
		PROG_CHECK(pthread_create(&t, NULL, holder, path) == 0, "pthread_create");
		char c;
		PROG_CHECK(read(from_lib[0], &c, 1) == 1, "the module's constructor did not start");
		fresh = fresh_site();
	}
	int ok = 0;
	for (int i = 0; i < n; i++) {
		par[i] = parent_site();
		pid_t pid = fork();
		PROG_CHECK(pid >= 0, "fork");
		if (pid == 0)
			child();
		int st;
		PROG_CHECK(waitpid(pid, &st, 0) == pid, "waitpid");
		ok += WIFEXITED(st) && WEXITSTATUS(st) == 0;
	}
	if (hold) {
		PROG_CHECK(write(to_lib[1], "r", 1) == 1, "release the module");
		PROG_CHECK(pthread_join(t, NULL) == 0, "pthread_join");
	}
	printf("forks %d children_ok %d\n", n, ok);
	return ok == n ? 0 : 1;
}
