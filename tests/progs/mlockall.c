/* mlockall.c - a real-time program's start: mlockall(MCL_CURRENT | MCL_FUTURE), then a
 * mapping, a thread that allocates, munlockall (with MCL_ONFAULT too when MLOCK_ONFAULT
 * is set). Prints on stdout what must be the same natively and under the preload
 * (t_mlockall.sh): the results of mlockall with flags the kernel refuses, then
 * mlockall's result and errno, whether
 * the program's own mappings (code, data, heap, stack) are locked, whether a page mapped
 * afterwards is resident and locked, pthread_create's result, VmLck after munlockall.
 * Writes the memory figures after the thread, in kB, to argv[1]: VmLck, the locked pages
 * in memory (smaps' Locked), VmRSS.
 * Allocations: site_before 10 x 1000 bytes before mlockall, site_thread 20 x 500 on the
 * thread (run on the main thread if it cannot start), all kept. */
#include "progs.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

static void *volatile keep[64];
static char data_page[4096] = { 1 };

NOINLINE static void site_before(int i) { keep[i] = malloc(1000); }
NOINLINE static void site_thread(int i) { keep[10 + i] = malloc(500); }

static void *work(void *arg)
{
	for (int i = 0; i < 20; i++)
		site_thread(i);
	return arg;
}

/* A field of /proc/self/status, in kB. */
static long status_kb(const char *field)
{
	FILE *f = fopen("/proc/self/status", "r");
	PROG_CHECK(f, "cannot open /proc/self/status");
	char l[256];
	long v = -1;
	size_t n = strlen(field);
	while (fgets(l, sizeof(l), f))
		if (!strncmp(l, field, n) && l[n] == ':')
			v = atol(l + n + 1);
	fclose(f);
	return v;
}

/* The pages in memory of locked mappings, in kB: the sum of smaps' Locked fields
 * (VmLck counts address space, PROT_NONE reservations too). */
static long locked_resident_kb(void)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	PROG_CHECK(f, "cannot open /proc/self/smaps");
	char l[512];
	long v = 0;
	while (fgets(l, sizeof(l), f))
		if (!strncmp(l, "Locked:", 7))
			v += atol(l + 7);
	fclose(f);
	return v;
}

/* Whether the mapping holding p is locked ("lo" in its VmFlags in /proc/self/smaps). */
static int locked_at(const void *p)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	PROG_CHECK(f, "cannot open /proc/self/smaps");
	char l[512];
	int in = 0, lo = -1;
	while (fgets(l, sizeof(l), f)) {
		unsigned long a, b;
		if (sscanf(l, "%lx-%lx ", &a, &b) == 2 && strchr(l, '-') < strchr(l, ' ')) {
			in = (uintptr_t)p >= a && (uintptr_t)p < b;
			continue;
		}
		if (in && !strncmp(l, "VmFlags:", 8)) {
			lo = strstr(l, " lo") != NULL;
			break;
		}
	}
	fclose(f);
	return lo;
}

int main(int argc, char **argv)
{
	PROG_CHECK(argc == 2, "usage: mlockall FIGURES_FILE");
	for (int i = 0; i < 10; i++)
		site_before(i);
	/* Flags the kernel refuses: none, MCL_ONFAULT alone, an unknown bit. */
	int bad[3] = { 0, MCL_ONFAULT, 0x40 };
	for (int i = 0; i < 3; i++) {
		errno = 0;
		int b = mlockall(bad[i]);
		printf("mlockall(%#x) %d errno %d\n", bad[i], b, errno);
	}
	int flags = MCL_CURRENT | MCL_FUTURE | (getenv("MLOCK_ONFAULT") ? MCL_ONFAULT : 0);
	errno = 4242;   /* a success leaves errno alone */
	int r = mlockall(flags);
	int e = errno;
	printf("mlockall %d errno %d\n", r, e);
	int local = 0;
	printf("locked: code %d data %d heap %d stack %d\n", locked_at((void *)main),
	       locked_at(data_page), locked_at(keep[0]), locked_at(&local));

	size_t len = 16 * 4096;
	char *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	PROG_CHECK(m != MAP_FAILED, "mmap");
	unsigned char vec[16];
	PROG_CHECK(mincore(m, len, vec) == 0, "mincore");
	int resident = 0;
	for (int i = 0; i < 16; i++)
		resident += vec[i] & 1;
	printf("new mapping: resident pages %d locked %d\n", resident, locked_at(m));

	pthread_t t;
	int c = pthread_create(&t, NULL, work, NULL);
	printf("pthread_create %d\n", c);
	if (c == 0)
		pthread_join(t, NULL);
	else
		work(NULL);

	FILE *f = fopen(argv[1], "w");
	PROG_CHECK(f, "cannot write the figures file");
	fprintf(f, "vmlck %ld\nlocked %ld\nvmrss %ld\n", status_kb("VmLck"), locked_resident_kb(),
		status_kb("VmRSS"));
	fclose(f);

	int u = munlockall();
	printf("munlockall %d vmlck %ld\n", u, status_kb("VmLck"));
	return 0;
}
