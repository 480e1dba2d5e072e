/* jack_allocs.c - a JACK client (process-callback mode) that allocates a known number of
 * times inside its callback and outside it, for tests/integration/t_jack.sh.
 *
 *   jack_allocs NAME    client NAME; built with -ljack, or with -DUSE_DLOPEN without it
 *                       (dlopen("libjack.so.0") and dlsym of every function it calls)
 *
 * Inside: callbacks 1..CB_ALLOC each call cb_alloc(): malloc(100), strdup("hello")
 * (6 bytes), realloc to 200, then free both (3 blocks, 306 bytes, 2 frees per callback).
 * Callback CB_BUSY spins for 30 ms on the clock (no call that is unsafe): an overrun
 * against the 10.67 ms deadline, and an xrun for the server. Outside: 5 x malloc(1000)
 * before activation (out_before), 3 x malloc(50) after closing (out_after).
 * The program's own xrun callback is set before the process callback (ours chains it).
 * Runs until TOTAL callbacks, deactivates, closes, prints
 *     callbacks N xruns X rate R
 * (N: callbacks completed, X: xrun notifications the program's callback got). */
#include "../progs.h"

#include <jack/jack.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#ifdef USE_DLOPEN
#include <dlfcn.h>
#endif

#define CB_ALLOC 10
#define CB_BUSY  20
#define TOTAL    40

#ifdef USE_DLOPEN
#define J(name) p_##name
#define DECL(name) static __typeof__(&name) p_##name
DECL(jack_client_open); DECL(jack_set_xrun_callback); DECL(jack_set_process_callback);
DECL(jack_activate); DECL(jack_deactivate); DECL(jack_client_close); DECL(jack_get_sample_rate);
#define LOAD(h, name) do { \
	*(void **)&p_##name = dlsym(h, #name); \
	PROG_CHECK(p_##name != NULL, "dlsym " #name); \
} while (0)
static void load_jack(void)
{
	void *h = dlopen("libjack.so.0", RTLD_NOW | RTLD_LOCAL);
	PROG_CHECK(h != NULL, "dlopen libjack.so.0");
	LOAD(h, jack_client_open); LOAD(h, jack_set_xrun_callback); LOAD(h, jack_set_process_callback);
	LOAD(h, jack_activate); LOAD(h, jack_deactivate); LOAD(h, jack_client_close);
	LOAD(h, jack_get_sample_rate);
}
#else
#define J(name) name
static void load_jack(void) { }
#endif

static volatile int callbacks;   /* completed callbacks */
static volatile int xruns;
static void *volatile keep[8];

NOINLINE static void cb_alloc(void)
{
	char *p = malloc(100);
	char *q = strdup("hello");
	p = realloc(p, 200);
	keep[0] = p;
	keep[1] = q;
	free(p);
	free(q);
}

NOINLINE static void cb_busy(void)
{
	struct timespec a, b;
	clock_gettime(CLOCK_MONOTONIC, &a);
	do
		clock_gettime(CLOCK_MONOTONIC, &b);
	while ((b.tv_sec - a.tv_sec) * 1000000000L + (b.tv_nsec - a.tv_nsec) < 30000000L);
}

static int process(jack_nframes_t nframes, void *arg)
{
	int n = callbacks + 1;
	(void)nframes;
	PROG_CHECK(arg == (void *)&callbacks, "process: the user's arg was not passed through");
	if (n <= CB_ALLOC)
		cb_alloc();
	if (n == CB_BUSY)
		cb_busy();
	callbacks = n;
	return 0;
}

static int on_xrun(void *arg)
{
	PROG_CHECK(arg == (void *)&xruns, "xrun: the user's arg was not passed through");
	xruns = xruns + 1;
	return 0;
}

NOINLINE static void out_before(void)
{
	for (int i = 0; i < 5; i++)
		keep[2] = malloc(1000);
}

NOINLINE static void out_after(void)
{
	for (int i = 0; i < 3; i++) {
		keep[3] = malloc(50);
		free(keep[3]);
	}
}

int main(int argc, char **argv)
{
	const char *name = argc > 1 ? argv[1] : "apalloc";
	load_jack();
	jack_status_t st;
	jack_client_t *c = J(jack_client_open)(name, JackNoStartServer, &st);
	PROG_CHECK(c != NULL, "jack_client_open");
	out_before();
	PROG_CHECK(J(jack_set_xrun_callback)(c, on_xrun, (void *)&xruns) == 0, "jack_set_xrun_callback");
	PROG_CHECK(J(jack_set_process_callback)(c, process, (void *)&callbacks) == 0,
		   "jack_set_process_callback");
	PROG_CHECK(J(jack_activate)(c) == 0, "jack_activate");
	for (int i = 0; callbacks < TOTAL && i < 3000; i++)
		usleep(10000);
	PROG_CHECK(callbacks >= TOTAL, "not enough callbacks in 30 s");
	J(jack_deactivate)(c);
	unsigned rate = J(jack_get_sample_rate)(c);
	J(jack_client_close)(c);
	out_after();
	printf("callbacks %d xruns %d rate %u\n", callbacks, xruns, rate);
	return 0;
}
