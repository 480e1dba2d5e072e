/* forkdebug.c - for t_fork_debuginfo.sh: a program that forks while it keeps making new
 * allocation sites whose frames are all known (new paths through the same functions),
 * and watches, in its own /proc/self/maps, whether the profiler holds its debug
 * information: libelf maps the program's own file whole when it reads it, so the file
 * has more mappings than the loader gave it. Phase 1: until that extra mapping appears
 * (at most 20 s); phase 2: until it is gone (at most 20 s), each step making one new site
 * and one fork (the child exits at once) and sleeping 10 ms. Prints "loaded=0|1",
 * "released=0|1" and "steps=N" (N blocks of 32 bytes at N distinct sites through
 * leaf(), all live at exit); exit 0, or 1 on a failed check. Run it with a cold symbol
 * cache. */
#include <fcntl.h>
#include <stdio.h>
#include <sys/wait.h>
#include <time.h>
#include "progs.h"

#define LEVELS 12

static char maps[1 << 20];
static char self[4096];
static void *volatile keep[1 << LEVELS];

/* Mappings of the program's own file. */
static int self_maps(void)
{
	int fd = open("/proc/self/maps", O_RDONLY);
	PROG_CHECK(fd >= 0, "open /proc/self/maps");
	size_t n = 0;
	ssize_t r;
	while (n < sizeof(maps) - 1 && (r = read(fd, maps + n, sizeof(maps) - 1 - n)) > 0)
		n += (size_t)r;
	close(fd);
	maps[n] = 0;
	int count = 0;
	for (char *line = maps; *line;) {
		char *end = strchr(line, '\n');
		if (end)
			*end = 0;
		size_t l = strlen(line), s = strlen(self);
		count += l >= s && strcmp(line + l - s, self) == 0;
		if (!end)
			break;
		line = end + 1;
	}
	return count;
}

NOINLINE void *leaf(void) { return malloc(32); }
static void *walk(unsigned path, int level);
NOINLINE void *go_left(unsigned path, int level) { return walk(path, level + 1); }
NOINLINE void *go_right(unsigned path, int level) { return walk(path, level + 1); }
static void *walk(unsigned path, int level)
{
	if (level == LEVELS)
		return leaf();
	return (path >> level) & 1 ? go_right(path, level) : go_left(path, level);
}

/* One new site and one fork, then 10 ms. */
static void step(unsigned i)
{
	keep[i % (1u << LEVELS)] = walk(i, 0);
	pid_t pid = fork();
	PROG_CHECK(pid >= 0, "fork");
	if (pid == 0)
		_exit(0);
	int st;
	PROG_CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0, "child");
	struct timespec ts = { 0, 10 * 1000 * 1000 };
	nanosleep(&ts, NULL);
}

int main(void)
{
	ssize_t l = readlink("/proc/self/exe", self, sizeof(self) - 1);
	PROG_CHECK(l > 0, "readlink /proc/self/exe");
	self[l] = 0;
	int base = self_maps();
	unsigned i = 0;
	int loaded = 0, released = 0;
	for (; i < 2000 && !loaded; i++) {
		step(i);
		loaded = self_maps() > base;
	}
	for (unsigned j = 0; loaded && j < 2000 && !released; i++, j++) {
		step(i);
		released = self_maps() == base;
	}
	char out[96];
	snprintf(out, sizeof(out), "loaded=%d\nreleased=%d\nsteps=%u\n", loaded, released, i);
	prog_say(out);
	return 0;
}
