/* forkloader.c - forks while one of the profiler's threads is inside dl_iterate_phdr
 * (t_fork_loader.sh; libforkloader.so, preloaded after the profiler, says when). The
 * program allocates at first_site, so that the symbolizer has frames to resolve (it
 * reads the loader's module list for them), waits for libforkloader's "fork now" (at
 * most 20 s), forks, and tells libforkloader it did. The child allocates at child_site
 * 2 x 77 and exits with exit(0), writing its profile (which reads the loader's module
 * list too). The parent waits for the child at most 20 s, killing it after that.
 * Prints "forked child exited 0", or what went wrong on stderr, exit status 1. */
#include <dlfcn.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>
#include "progs.h"

static void *volatile first, *volatile kid[2];

NOINLINE void *first_site(void) { return malloc(500); }
NOINLINE void *child_site(void) { return malloc(77); }

int main(void)
{
	int st = 0;
	void (*arm)(void), (*forked)(void);
	int (*wait_request)(long);

	*(void **)&arm = dlsym(RTLD_DEFAULT, "forkloader_arm");
	*(void **)&wait_request = dlsym(RTLD_DEFAULT, "forkloader_wait_request");
	*(void **)&forked = dlsym(RTLD_DEFAULT, "forkloader_forked");
	PROG_CHECK(arm && wait_request && forked, "libforkloader.so is not preloaded");
	arm();
	first = first_site();
	if (!wait_request(20000)) {
		fprintf(stderr, "no profiler thread called dl_iterate_phdr within 20 s\n");
		return 1;
	}
	pid_t pid = fork();
	PROG_CHECK(pid >= 0, "fork");
	if (pid == 0) {
		for (int i = 0; i < 2; i++)
			kid[i] = child_site();
		exit(0);
	}
	forked();
	pid_t w = 0;
	for (int i = 0; i < 400 && (w = waitpid(pid, &st, WNOHANG)) == 0; i++)
		poll(NULL, 0, 50);
	if (w == 0) {
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
		fprintf(stderr, "the child hung: killed after 20 s\n");
		return 1;
	}
	PROG_CHECK(w == pid, "waitpid");
	PROG_CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child failed");
	printf("forked child exited 0\n");
	return 0;
}
