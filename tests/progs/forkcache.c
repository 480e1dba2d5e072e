/* forkcache.c - for t_fork_cache.sh: how much anonymous memory a fork child starts
 * with (its "Anonymous:" in /proc/self/smaps_rollup, read first thing after the fork:
 * the parent's pages whose entries fork() copied) once THREADS threads, one after
 * another, have each allocated and freed at the same 2^LEVELS distinct stacks (a walk
 * down LEVELS levels of two functions, the way bench/forkbench.c makes its sites; 7 by
 * default: 128) and wait, all alive at the fork. Each such thread fills a stack cache
 * of the profiler's own, and each stack is a site: the test compares 1 and 9 threads,
 * and 128 and 1024 stacks, natively and under the preload. The parent prints
 * "child_anon_kb=N". Exit 0, or 1 on a failed check. usage: forkcache THREADS [LEVELS] */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/wait.h>
#include "progs.h"

#define MAX_LEVELS 12
static int levels = 7;

static void *volatile sink;

NOINLINE void *cache_site(void) { return malloc(40); }

static void walk(unsigned path, int level);
NOINLINE void walk_l(unsigned path, int level) { walk(path, level + 1); sink = (void *)1; }
NOINLINE void walk_r(unsigned path, int level) { walk(path, level + 1); sink = (void *)2; }

NOINLINE static void walk(unsigned path, int level)
{
	if (level == levels) {
		void *p = cache_site();
		PROG_CHECK(p != NULL, "malloc");
		free(p);
		return;
	}
	if ((path >> level) & 1)
		walk_r(path, level);
	else
		walk_l(path, level);
}

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int walked, forked;

static void *worker(void *arg)
{
	for (int round = 0; round < 2; round++)
		for (unsigned path = 0; path < (1u << levels); path++)
			walk(path, 0);
	pthread_mutex_lock(&lock);
	walked++;
	pthread_cond_broadcast(&cond);
	while (!forked)
		pthread_cond_wait(&cond, &lock);
	pthread_mutex_unlock(&lock);
	return arg;
}

/* "Anonymous:" of /proc/self/smaps_rollup in kB, read with raw calls. */
static long anon_kb(void)
{
	static char buf[8192];
	int fd = open("/proc/self/smaps_rollup", O_RDONLY);
	PROG_CHECK(fd >= 0, "open /proc/self/smaps_rollup");
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	PROG_CHECK(n > 0, "read smaps_rollup");
	buf[n] = 0;
	char *p = strstr(buf, "\nAnonymous:");
	PROG_CHECK(p != NULL, "no Anonymous: line");
	return strtol(p + 11, NULL, 10);
}

int main(int argc, char **argv)
{
	PROG_CHECK(argc == 2 || argc == 3, "usage: forkcache THREADS [LEVELS]");
	int threads = atoi(argv[1]);
	PROG_CHECK(threads >= 1 && threads <= 64, "THREADS: 1..64");
	if (argc == 3)
		levels = atoi(argv[2]);
	PROG_CHECK(levels >= 1 && levels <= MAX_LEVELS, "LEVELS: 1..12");
	pthread_t t[64];
	for (int i = 0; i < threads; i++) {
		PROG_CHECK(pthread_create(&t[i], NULL, worker, NULL) == 0, "pthread_create");
		pthread_mutex_lock(&lock);
		while (walked <= i)
			pthread_cond_wait(&cond, &lock);
		pthread_mutex_unlock(&lock);
	}
	int fds[2];
	PROG_CHECK(pipe(fds) == 0, "pipe");
	pid_t pid = fork();
	PROG_CHECK(pid >= 0, "fork");
	if (pid == 0) {
		long kb = anon_kb();
		(void)!write(fds[1], &kb, sizeof(kb));
		_exit(0);
	}
	long kb = -1;
	PROG_CHECK(read(fds[0], &kb, sizeof(kb)) == (ssize_t)sizeof(kb), "read from the child");
	int st;
	PROG_CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0,
		   "the child failed");
	pthread_mutex_lock(&lock);
	forked = 1;
	pthread_cond_broadcast(&cond);
	pthread_mutex_unlock(&lock);
	for (int i = 0; i < threads; i++)
		PROG_CHECK(pthread_join(t[i], NULL) == 0, "pthread_join");
	printf("child_anon_kb=%ld\n", kb);
	return 0;
}
