/* threadmaps.c - for t_fork_maps.sh: how many mappings (/proc/self/maps lines) eight
 * threads that allocate add to the process while they all live. Waits first until the
 * process has 1 + EXTRA threads (the profiler's own, which map their stacks and heaps as
 * they start: the test says how many) and then 100 ms more. Prints "growth=N" (mappings
 * with the eight threads minus mappings before them). Reads the maps file with raw
 * read(2) calls. Exit 0, or 1 on a failed check.
 * usage: threadmaps EXTRA */
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <time.h>
#include "progs.h"

#define THREADS 8

static char maps[1 << 20];
static void *volatile keep[THREADS + 1];
static pthread_barrier_t allocated, release;

static int count_maps(void)
{
	int fd = open("/proc/self/maps", O_RDONLY);
	PROG_CHECK(fd >= 0, "open /proc/self/maps");
	size_t n = 0;
	ssize_t r;
	while (n < sizeof(maps) && (r = read(fd, maps + n, sizeof(maps) - n)) > 0)
		n += (size_t)r;
	close(fd);
	int lines = 0;
	for (size_t i = 0; i < n; i++)
		lines += maps[i] == '\n';
	return lines;
}

static int count_tasks(void)
{
	DIR *d = opendir("/proc/self/task");
	PROG_CHECK(d != NULL, "opendir /proc/self/task");
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

NOINLINE void *thread_site(void) { return malloc(48); }
NOINLINE void *main_site(void) { return malloc(64); }

static void *worker(void *arg)
{
	keep[(long)arg] = thread_site();
	pthread_barrier_wait(&allocated);
	pthread_barrier_wait(&release);
	return NULL;
}

int main(int argc, char **argv)
{
	PROG_CHECK(argc == 2, "usage: threadmaps EXTRA");
	int extra = atoi(argv[1]);
	keep[THREADS] = main_site();
	struct timespec ts = { 0, 10 * 1000 * 1000 };
	for (int waited = 0; count_tasks() != 1 + extra; waited++) {
		PROG_CHECK(waited < 1000, "the profiler's threads did not start");
		nanosleep(&ts, NULL);
	}
	ts.tv_nsec = 100 * 1000 * 1000;
	nanosleep(&ts, NULL);
	pthread_barrier_init(&allocated, NULL, THREADS + 1);
	pthread_barrier_init(&release, NULL, THREADS + 1);
	int before = count_maps();
	pthread_t t[THREADS];
	for (long i = 0; i < THREADS; i++)
		PROG_CHECK(pthread_create(&t[i], NULL, worker, (void *)i) == 0, "pthread_create");
	pthread_barrier_wait(&allocated);
	int after = count_maps();
	pthread_barrier_wait(&release);
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	char line[64];
	snprintf(line, sizeof(line), "growth=%d\n", after - before);
	prog_say(line);
	return 0;
}
