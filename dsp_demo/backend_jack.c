/* backend_jack.c - the JACK backend: a client named "dsp_demo" with ports in_1, in_2
 * (mixed into the source signal) and out_1, out_2 (connected to the first two physical
 * playback ports when there are any). The server's rate and buffer size rule; the
 * server's process thread calls jack_process(), which calls dsp_process(). The main
 * thread waits until the engine is done, the server shuts us down, or a signal. */
#include <errno.h>
#include <jack/jack.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "clock.h"
#include "engine.h"

struct jack_state {
	jack_client_t *client;
	jack_port_t *in[2], *out[2];
	struct engine *engine;            /* set before jack_activate */
	_Atomic int shutdown;             /* the server went away */
	_Atomic uint64_t xruns;
};

static int jack_quiet;                        /* 1 while connecting: our message says it */

static void jack_error_cb(const char *msg)
{
	if (!jack_quiet)
		fprintf(stderr, "dsp_demo: jack: %s\n", msg);
}

static void jack_info_cb(const char *msg)
{
	(void)msg;                                /* libjack's chatter: not wanted */
}

/* The process callback (the server's real-time thread). No AUDIOPROF_RT_ENTER here:
 * the profiler finds JACK's process callback by itself and times it against JACK's
 * period (a region inside would take the timing over, without JACK's deadline). */
static int jack_process(jack_nframes_t n, void *arg)
{
	struct jack_state *s = arg;
	const float *in[2];
	float *out[2];

	for (unsigned c = 0; c < 2; c++) {
		in[c] = jack_port_get_buffer(s->in[c], n);
		out[c] = jack_port_get_buffer(s->out[c], n);
	}
	if (engine_done(s->engine)) {
		for (unsigned c = 0; c < 2; c++)
			memset(out[c], 0, n * sizeof(float));
	} else {
		dsp_process(s->engine, in, out, n);
	}
	return 0;
}

static int jack_xrun(void *arg)
{
	struct jack_state *s = arg;

	atomic_fetch_add_explicit(&s->xruns, 1, memory_order_relaxed);
	return 0;
}

static void jack_shutdown(void *arg)
{
	struct jack_state *s = arg;

	atomic_store(&s->shutdown, 1);            /* backend_jack_run is polling this */
}

int backend_jack_open(struct backend *b, char *err, size_t errlen)
{
	struct jack_state *s = calloc(1, sizeof *s);
	jack_status_t status = 0;
	jack_options_t opts = JackNoStartServer;
	static const char *const in_names[2] = { "in_1", "in_2" };
	static const char *const out_names[2] = { "out_1", "out_2" };

	if (s == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	b->priv = s;
	jack_set_error_function(jack_error_cb);
	jack_set_info_function(jack_info_cb);
	if (b->device != NULL)
		opts |= JackServerName;
	jack_quiet = 1;
	s->client = jack_client_open("dsp_demo", opts, &status, b->device);
	jack_quiet = 0;
	if (s->client == NULL) {
		snprintf(err, errlen, "cannot connect to the JACK server%s%s%s (status 0x%x); "
			 "is jackd running?", b->device ? " '" : "", b->device ? b->device : "",
			 b->device ? "'" : "", (unsigned)status);
		return -1;
	}
	b->rate = jack_get_sample_rate(s->client);
	b->period = jack_get_buffer_size(s->client);
	for (unsigned c = 0; c < 2; c++) {
		s->in[c] = jack_port_register(s->client, in_names[c], JACK_DEFAULT_AUDIO_TYPE,
					      JackPortIsInput, 0);
		s->out[c] = jack_port_register(s->client, out_names[c], JACK_DEFAULT_AUDIO_TYPE,
					       JackPortIsOutput, 0);
		if (s->in[c] == NULL || s->out[c] == NULL) {
			snprintf(err, errlen, "cannot register the JACK ports");
			return -1;
		}
	}
	if (jack_set_process_callback(s->client, jack_process, s) != 0 ||
	    jack_set_xrun_callback(s->client, jack_xrun, s) != 0) {
		snprintf(err, errlen, "cannot set the JACK callbacks");
		return -1;
	}
	jack_on_shutdown(s->client, jack_shutdown, s);
	return 0;
}

/* Best effort: our outputs to the first two physical playback ports. */
static void connect_outputs(struct jack_state *s)
{
	const char **ports = jack_get_ports(s->client, NULL, JACK_DEFAULT_AUDIO_TYPE,
					    JackPortIsPhysical | JackPortIsInput);

	if (ports == NULL)
		return;
	for (unsigned c = 0; c < 2 && ports[c] != NULL; c++)
		jack_connect(s->client, jack_port_name(s->out[c]), ports[c]);
	jack_free(ports);
}

int backend_jack_run(struct backend *b, struct engine *e, char *err, size_t errlen)
{
	struct jack_state *s = b->priv;

	s->engine = e;
	b->sched = jack_is_realtime(s->client) ? "fifo" : "other";
	if (jack_activate(s->client) != 0) {
		snprintf(err, errlen, "cannot activate the JACK client");
		return -1;
	}
	connect_outputs(s);
	while (!engine_done(e) && !atomic_load(&s->shutdown))
		clock_sleep_ns(10000000);
	if (!atomic_load(&s->shutdown))
		jack_deactivate(s->client);       /* waits for the current cycle to end */
	b->xruns = atomic_load(&s->xruns);
	if (atomic_load(&s->shutdown) && !engine_done(e)) {
		snprintf(err, errlen, "the JACK server shut the client down");
		return -1;
	}
	return 0;
}

void backend_jack_close(struct backend *b)
{
	struct jack_state *s = b->priv;

	if (s == NULL)
		return;
	if (s->client != NULL)
		jack_client_close(s->client);
	free(s);
	b->priv = NULL;
}
