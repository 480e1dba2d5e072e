/* alsa_async.c - an ALSA async handler with a known number of calls, for t_alsa.sh,
 * linked with alsa_async_mock.c's libasound_mock.so (see there).
 *
 *   alsa_async N
 *
 * Registers on_period() with snd_async_add_pcm_handler (private data: &periods), then
 * fires it N times; each call checks that snd_async_handler_get_callback_private()
 * gives back the program's own data and calls process_async(): one malloc(64) and its
 * free. out_before() and out_after() (one malloc(1000)
 * each) run outside it. Prints
 * "alsa_async: calls=N" on stderr; exits 1 if the private data was not the program's. */
#include <alsa/asoundlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void mock_async_fire(void);

static volatile int periods;
static volatile int bad_private;

static void process_async(void)
{
	char *p = malloc(64);
	memset(p, 0, 64);
	free(p);
}

static void on_period(snd_async_handler_t *h)
{
	if (snd_async_handler_get_callback_private(h) != (void *)&periods)
		bad_private = 1;
	periods++;
	process_async();
}

/* Allocations outside any callback (never flagged). */
static void *out_before(void)
{
	return malloc(1000);
}

static void out_after(void)
{
	free(malloc(1000));
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 5;
	static int fake_pcm;
	snd_async_handler_t *h;
	void *outside = out_before();
	if (snd_async_add_pcm_handler(&h, (snd_pcm_t *)&fake_pcm, on_period, (void *)&periods) < 0) {
		fprintf(stderr, "alsa_async: snd_async_add_pcm_handler failed\n");
		return 1;
	}
	for (int i = 0; i < n; i++)
		mock_async_fire();
	free(outside);
	out_after();
	fprintf(stderr, "alsa_async: calls=%d\n", periods);
	if (bad_private) {
		fprintf(stderr, "alsa_async: the callback got the wrong private data\n");
		return 1;
	}
	return periods == n ? 0 : 1;
}
