/* lifetimes.c - blocks whose lifetimes the program brackets with its own
 * CLOCK_MONOTONIC reads, so a test can check the profile's tl and slk against them
 * whatever clock the profiler uses (t_lifetimes.sh).
 *
 * For a block allocated between reads a and b and freed between reads c and d, the
 * profiler's lifetime lies in [c - b, d - a]. Printed, one line per site,
 * "NAME LO HI SURE_SHORT SURE_LONG": the sums of its blocks' brackets, and how many
 * surely lived less than 1 ms, how many surely at least 1 ms:
 *   site_long    a block freed at once, then one held across a 150 ms sleep
 *   site_mid     the same with a 5 ms sleep
 *   site_short   ten blocks freed at once
 * and "site_live LO": a block never freed lived at least LO ns before exit began. */
#include "progs.h"

#include <stdint.h>
#include <stdio.h>
#include <time.h>

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void sleep_ns(uint64_t ns)
{
	uint64_t end = now_ns() + ns;
	for (uint64_t t = now_ns(); t < end; t = now_ns()) {
		struct timespec ts = { (time_t)((end - t) / 1000000000u), (long)((end - t) % 1000000000u) };
		nanosleep(&ts, NULL);
	}
}

static void *volatile keep;

NOINLINE static void *site_long(void) { return malloc(100); }
NOINLINE static void *site_mid(void) { return malloc(200); }
NOINLINE static void *site_short(void) { return malloc(300); }
NOINLINE static void *site_live(void) { return malloc(400); }

/* The brackets of one site's blocks: sums, and how many surely lived < 1 ms (the
 * default short-lived threshold) or surely >= 1 ms. */
struct site_sum {
	uint64_t lo, hi;
	unsigned sure_short, sure_long;
};

/* Allocate with `fn`, hold for `hold` ns, free; add the bracket of its lifetime. */
static void bracket(void *(*fn)(void), uint64_t hold, struct site_sum *s)
{
	uint64_t a = now_ns();
	void *p = fn();
	uint64_t b = now_ns();
	PROG_CHECK(p != NULL, "malloc failed");
	keep = p;
	if (hold)
		sleep_ns(hold);
	uint64_t c = now_ns();
	free(p);
	uint64_t d = now_ns();
	s->lo += c - b;
	s->hi += d - a;
	s->sure_short += d - a < 1000000u;
	s->sure_long += c - b >= 1000000u;
}

static void say_site(const char *name, const struct site_sum *s)
{
	char line[160];
	snprintf(line, sizeof(line), "%s %llu %llu %u %u\n", name, (unsigned long long)s->lo,
		 (unsigned long long)s->hi, s->sure_short, s->sure_long);
	prog_say(line);
}

int main(void)
{
	struct site_sum lng = { 0 }, mid = { 0 }, shrt = { 0 };

	/* The first call at a site unwinds and interns its stack: one block freed at once
	 * first (bracketed and counted too), so the held block's bracket stays tight. */
	bracket(site_long, 0, &lng);
	bracket(site_long, 150000000u, &lng);
	say_site("site_long", &lng);
	bracket(site_mid, 0, &mid);
	bracket(site_mid, 5000000u, &mid);
	say_site("site_mid", &mid);
	for (int i = 0; i < 10; i++)
		bracket(site_short, 0, &shrt);
	say_site("site_short", &shrt);

	keep = site_live();
	uint64_t born = now_ns();
	PROG_CHECK(keep != NULL, "malloc failed");
	sleep_ns(20000000u);
	char line[64];
	snprintf(line, sizeof(line), "site_live %llu\n", (unsigned long long)(now_ns() - born));
	prog_say(line);
	return 0;
}
