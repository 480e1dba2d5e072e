/* mapscheck.c - for t_lazy_dw.sh: allocates at three sites, waits (at most 30 s) until
 * the profiler's writer has written a snapshot to argv[1] (a snapshot symbolizes every
 * site, on the profiler's own thread), then prints which of elfutils' libraries are
 * mapped into the process at that moment, from /proc/self/maps: "libdw", "libelf",
 * each once, or "none". Reads the maps file with raw read(2) calls after the snapshot,
 * so no new allocation site appears after it. Exit 0, or 1 if no snapshot came. */
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>
#include "progs.h"

static void *volatile keep[3];
static char maps[1 << 20];

NOINLINE void *site_one(void) { return malloc(100); }
NOINLINE void *site_two(void) { return malloc(200); }
NOINLINE void *site_three(void) { return calloc(3, 100); }

int main(int argc, char **argv)
{
	PROG_CHECK(argc == 2, "usage: mapscheck SNAPSHOT");
	keep[0] = site_one();
	keep[1] = site_two();
	keep[2] = site_three();
	struct stat st;
	struct timespec ts = { 0, 20 * 1000 * 1000 };
	int waited = 0;
	while (stat(argv[1], &st) != 0 || st.st_size == 0) {
		PROG_CHECK(waited++ < 1500, "no snapshot written");
		nanosleep(&ts, NULL);
	}
	int fd = open("/proc/self/maps", O_RDONLY);
	PROG_CHECK(fd >= 0, "cannot open /proc/self/maps");
	size_t n = 0;
	ssize_t r;
	while (n < sizeof(maps) - 1 && (r = read(fd, maps + n, sizeof(maps) - 1 - n)) > 0)
		n += (size_t)r;
	close(fd);
	maps[n] = '\0';
	int dw = strstr(maps, "/libdw") != NULL, elf = strstr(maps, "/libelf") != NULL;
	if (dw)
		(void)!write(1, "libdw\n", 6);
	if (elf)
		(void)!write(1, "libelf\n", 7);
	if (!dw && !elf)
		(void)!write(1, "none\n", 5);
	for (int i = 0; i < 3; i++)
		free(keep[i]);
	return 0;
}
