/* fakejack.c - a stand-in for libjack, just enough for trampoline_bench.c: the bench
 * registers its process callback here the way a JACK client does, so that under the
 * preload the registration goes through preload/entry/audio_jack.c's wrapper and what is
 * stored is the trampoline; fakejack_cycles() then calls it like JACK's process thread.
 * No server, no threads. Built as bin/libfakejack.so. */
#include <stdint.h>

typedef struct fake_client fake_client;
typedef int (*process_fn)(uint32_t nframes, void *arg);
typedef int (*xrun_fn)(void *arg);

static process_fn proc;
static void *proc_arg;
static struct fake_client { int dummy; } the_client;

fake_client *fakejack_client(void) { return &the_client; }

int jack_set_process_callback(fake_client *c, process_fn cb, void *arg)
{
	(void)c;
	proc = cb;
	proc_arg = arg;
	return 0;
}

int jack_set_xrun_callback(fake_client *c, xrun_fn cb, void *arg)
{
	(void)c; (void)cb; (void)arg;
	return 0;
}

char *jack_get_client_name(fake_client *c) { (void)c; return (char *)"bench"; }
uint32_t jack_get_sample_rate(fake_client *c) { (void)c; return 48000; }
uint32_t jack_get_buffer_size(fake_client *c) { (void)c; return 512; }

/* n cycles of 512 frames through whatever was registered, as JACK's thread would. */
int fakejack_cycles(long n)
{
	int r = 0;
	for (long i = 0; i < n; i++)
		r |= proc(512, proc_arg);
	return r;
}

/* The same loop calling the bench's callback directly (no trampoline). */
int fakejack_direct(process_fn cb, void *arg, long n)
{
	int r = 0;
	for (long i = 0; i < n; i++)
		r |= cb(512, arg);
	return r;
}
