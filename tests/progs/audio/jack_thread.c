/* jack_thread.c - a JACK client in process-thread mode (jack_set_process_thread: its own
 * loop of jack_cycle_wait ... jack_cycle_signal), for tests/integration/t_jack.sh.
 *
 *   jack_thread NAME
 *
 * Cycles 1..CY_ALLOC each call cy_alloc(): calloc(4, 16) and malloc(24), both freed
 * (2 blocks, 88 bytes, 2 frees per cycle). Outside: 4 x malloc(333) in out_thread()
 * before activation. Runs until TOTAL cycles are done, deactivates, closes, prints
 *     cycles N
 * (N: cycles completed, counted just before jack_cycle_signal). */
#include "../progs.h"

#include <jack/jack.h>
#include <stdio.h>

#define CY_ALLOC 7
#define TOTAL    30

static jack_client_t *client;
static volatile int cycles;
static void *volatile keep[4];

NOINLINE static void cy_alloc(void)
{
	void *a = calloc(4, 16);
	void *b = malloc(24);
	keep[0] = a;
	keep[1] = b;
	free(a);
	free(b);
}

static void *thread_fn(void *arg)
{
	PROG_CHECK(arg == (void *)&cycles, "thread: the user's arg was not passed through");
	for (;;) {
		jack_nframes_t n = jack_cycle_wait(client);
		if (n == 0)
			break;
		int k = cycles + 1;
		if (k <= CY_ALLOC)
			cy_alloc();
		cycles = k;
		jack_cycle_signal(client, 0);
	}
	return NULL;
}

NOINLINE static void out_thread(void)
{
	for (int i = 0; i < 4; i++)
		keep[2] = malloc(333);
}

int main(int argc, char **argv)
{
	const char *name = argc > 1 ? argv[1] : "apthread";
	jack_status_t st;
	client = jack_client_open(name, JackNoStartServer, &st);
	PROG_CHECK(client != NULL, "jack_client_open");
	out_thread();
	PROG_CHECK(jack_set_process_thread(client, thread_fn, (void *)&cycles) == 0,
		   "jack_set_process_thread");
	PROG_CHECK(jack_activate(client) == 0, "jack_activate");
	for (int i = 0; cycles < TOTAL && i < 3000; i++)
		usleep(10000);
	PROG_CHECK(cycles >= TOTAL, "not enough cycles in 30 s");
	jack_deactivate(client);
	jack_client_close(client);
	printf("cycles %d\n", cycles);
	return 0;
}
