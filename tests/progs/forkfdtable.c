/* forkfdtable.c - the size of the fd table (FDSize in /proc/self/status) of a fork child
 * as soon as fork() returns in it, and of its parent (t_fork_fdtable.sh). fork() copies
 * only the part of the table up to the highest open fd; a table shared by two threads
 * grows only after an RCU grace period. Prints "parent N child M" and exits 0 when the
 * child exited 0; the child allocates and frees one block and exits with exit(0). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "progs.h"

static void *volatile blk;

NOINLINE void *child_site(void) { return malloc(48); }

static int fdsize(void)
{
	char line[256];
	int n = -1;
	FILE *f = fopen("/proc/self/status", "r");
	PROG_CHECK(f != NULL, "open /proc/self/status");
	while (fgets(line, sizeof line, f))
		if (strncmp(line, "FDSize:", 7) == 0)
			n = atoi(line + 7);
	fclose(f);
	PROG_CHECK(n > 0, "FDSize in /proc/self/status");
	return n;
}

int main(void)
{
	int p[2];
	PROG_CHECK(pipe(p) == 0, "pipe");
	int parent = fdsize();
	pid_t pid = fork();
	PROG_CHECK(pid >= 0, "fork");
	if (pid == 0) {
		int child = fdsize();
		PROG_CHECK(write(p[1], &child, sizeof child) == sizeof child, "write");
		blk = child_site();
		free(blk);
		exit(0);
	}
	int child = 0, st = 0;
	PROG_CHECK(read(p[0], &child, sizeof child) == sizeof child, "read");
	PROG_CHECK(waitpid(pid, &st, 0) == pid, "waitpid");
	PROG_CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child exit status");
	printf("parent %d child %d\n", parent, child);
	return 0;
}
