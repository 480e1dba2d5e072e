/* clock.c - ticks for the hot path, nanoseconds for the profile (see clock.h). */
#include "clock.h"
#include "fds.h"

#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#if defined(__x86_64__)
#include <cpuid.h>
#endif

/* The start-up calibration spin: good to ~0.05 % (0.012 % at worst in 8 tries here),
 * for the short-lived threshold of the blocks freed before the writer thread's first
 * clock_sync (at the end of the preload's start-up, whose whole length is then the
 * baseline). Every process pays it, one that runs a millisecond too. */
#define CALIBRATE_NS 20000u

int clock_tsc;
static uint64_t t0, ns0;       /* the start-up pair */
static uint64_t t1, ns1;       /* the last sync's pair (t1 > t0 whenever clock_tsc) */

/* Whether the kernel keeps time with the TSC: it switches away from it when the
 * counters of the CPUs disagree or stop in sleep states. */
static int kernel_uses_tsc(void)
{
	char buf[32];
	int fd = fds_open("/sys/devices/system/clocksource/clocksource0/current_clocksource",
			  O_RDONLY, 0);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	return strcmp(buf, "tsc\n") == 0 || strcmp(buf, "tsc") == 0;
}

static int tsc_usable(void)
{
#if defined(__x86_64__)
	unsigned a, b, c, d;
	if (!__get_cpuid(0x80000000, &a, &b, &c, &d) || a < 0x80000007)
		return 0;
	__cpuid(0x80000007, a, b, c, d);
	if (!(d & (1u << 8)))    /* invariant TSC: constant rate, runs in every C-state */
		return 0;
	return kernel_uses_tsc();
#else
	return 0;
#endif
}

/* Both clocks at one moment: the TSC read that brackets the clock_gettime most
 * tightly, of a few tries, and the midpoint of its bracket. */
static void read_pair(uint64_t *t, uint64_t *ns)
{
#if defined(__x86_64__)
	uint64_t width = UINT64_MAX;
	for (int i = 0; i < 5; i++) {
		uint64_t a = __builtin_ia32_rdtsc();
		uint64_t n = clock_mono_ns();
		uint64_t b = __builtin_ia32_rdtsc();
		if (b >= a && b - a < width) {
			width = b - a;
			*t = a + (b - a) / 2;
			*ns = n;
		}
	}
	if (width != UINT64_MAX)
		return;
#endif
	*t = *ns = clock_mono_ns();
}

void clock_init(int use_tsc)
{
	clock_tsc = 0;
	if (!use_tsc || !tsc_usable())
		return;
	read_pair(&t0, &ns0);
	uint64_t t, ns;
	do
		read_pair(&t, &ns);
	while (ns - ns0 < CALIBRATE_NS && ns >= ns0);
	if (ns <= ns0 || t <= t0)
		return;   /* a clock that does not move forward: stay with CLOCK_MONOTONIC */
	t1 = t;
	ns1 = ns;
	__atomic_store_n(&clock_tsc, 1, __ATOMIC_RELEASE);
}

void clock_reset_identity(void)
{
	clock_tsc = 0;
	t0 = ns0 = t1 = ns1 = 0;
}

uint64_t clock_sync(uint64_t *ticks)
{
	if (!clock_tsc) {
		uint64_t ns = clock_mono_ns();
		*ticks = ns;
		return ns;
	}
	uint64_t t, ns;
	read_pair(&t, &ns);
	if (t > t0 && ns > ns0 && ns - ns0 >= ns1 - ns0) {   /* a longer baseline only */
		t1 = t;
		ns1 = ns;
	}
	*ticks = t;
	return ns;
}

/* x * num / den without overflow (the quotient fits: durations under ~500 years). */
static uint64_t scale(uint64_t x, uint64_t num, uint64_t den)
{
	unsigned __int128 p = (unsigned __int128)x * num + den / 2;
	unsigned __int128 q = p / den;
	return q > UINT64_MAX ? UINT64_MAX : (uint64_t)q;
}

uint64_t clock_span_ns(uint64_t ticks)
{
	return clock_tsc ? scale(ticks, ns1 - ns0, t1 - t0) : ticks;
}

uint64_t clock_span_ticks(uint64_t ns)
{
	return clock_tsc ? scale(ns, t1 - t0, ns1 - ns0) : ns;
}

uint64_t clock_ns(uint64_t ticks)
{
	if (!clock_tsc)
		return ticks;
	return ticks >= t0 ? ns0 + clock_span_ns(ticks - t0) : ns0 - clock_span_ns(t0 - ticks);
}

uint64_t clock_ticks_of(uint64_t mono_ns)
{
	if (!clock_tsc)
		return mono_ns;
	return mono_ns >= ns0 ? t0 + clock_span_ticks(mono_ns - ns0)
			      : t0 - clock_span_ticks(ns0 - mono_ns);
}
