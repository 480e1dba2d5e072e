/* pw_loop.c - a PipeWire stream or filter with a known number of process calls, for
 * t_pipewire.sh. Built by that test with libpipewire-0.3's flags (not by tests/Makefile).
 *
 *   pw_loop stream|rtstream|filter|filter2 N [TARGET]
 *
 * stream: pw_stream_new_simple (which adds the listener inside libpipewire), an audio
 * playback stream "aptest-stream" (48 kHz, F32, stereo, autoconnect; TARGET: the node
 * to link to), processed on the main loop; rtstream: "aptest-rtstream", the same with
 * PW_STREAM_FLAG_RT_PROCESS (process on PipeWire's data thread); filter:
 * pw_filter_new_simple, a filter "aptest-filter" with one DSP output port, RT_PROCESS,
 * node.always-process (scheduled without being linked), plus a listener of its own
 * without `process` (not timed); filter2: such a filter for N/2 calls, destroyed, then
 * another of the same name for the other N/2.
 *
 * Each process call runs process_cycle(), one malloc(128) and its free, then queues
 * silence. After N calls process does nothing more and the main loop quits
 * (pw_main_loop on the main thread). out_before() and out_after(), one malloc(1000)
 * each, run before and after, outside. Prints "pw_loop: mode=M calls=N quantum=Q
 * rate=R entries=E" on stderr (Q, R: the last filter call's position; 0 for streams;
 * E: every call of the process callback, also those that do nothing: the quit asked
 * from the N-th call takes effect on the main loop, and until the filter or stream is
 * destroyed the graph keeps calling it, each quantum; more of them under load). */
#include <pipewire/filter.h>
#include <pipewire/pipewire.h>
#include <spa/param/audio/format-utils.h>
#include <spa/pod/builder.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct data {
	struct pw_main_loop *loop;
	struct pw_stream *stream;
	struct pw_filter *filter;
	void *port;
	int want;
	volatile int calls;
	volatile int entries;   /* every call of the process callback, working or not */
	uint64_t quantum;
	uint32_t rate;
};

static void process_cycle(void)
{
	char *p = malloc(128);
	memset(p, 0, 128);
	free(p);
}

static void stream_process(void *userdata)
{
	struct data *d = userdata;
	d->entries++;
	if (d->calls >= d->want)
		return;
	struct pw_buffer *b = pw_stream_dequeue_buffer(d->stream);
	if (!b)
		return;   /* not counted: no buffer, no work */
	d->calls++;
	process_cycle();
	struct spa_buffer *buf = b->buffer;
	uint32_t frames = b->requested ? (uint32_t)b->requested : 256;
	uint32_t stride = 2 * sizeof(float);
	if (buf->datas[0].data) {
		if (frames * stride > buf->datas[0].maxsize)
			frames = buf->datas[0].maxsize / stride;
		memset(buf->datas[0].data, 0, frames * stride);
		buf->datas[0].chunk->offset = 0;
		buf->datas[0].chunk->stride = (int32_t)stride;
		buf->datas[0].chunk->size = frames * stride;
	}
	pw_stream_queue_buffer(d->stream, b);
	if (d->calls == d->want)
		pw_main_loop_quit(d->loop);
}

static const struct pw_stream_events stream_events = {
	PW_VERSION_STREAM_EVENTS,
	.process = stream_process,
};

static void filter_process(void *userdata, struct spa_io_position *position)
{
	struct data *d = userdata;
	d->entries++;
	if (d->calls >= d->want)
		return;
	uint32_t n = position ? (uint32_t)position->clock.duration : 0;
	float *out = pw_filter_get_dsp_buffer(d->port, n);
	d->calls++;
	process_cycle();
	if (out)
		memset(out, 0, n * sizeof(float));
	if (position) {
		d->quantum = position->clock.duration;
		d->rate = position->clock.rate.denom;
	}
	if (d->calls == d->want)
		pw_main_loop_quit(d->loop);   /* safe from any thread: an invoke */
}

static const struct pw_filter_events filter_events = {
	PW_VERSION_FILTER_EVENTS,
	.process = filter_process,
};

static void on_state(void *userdata, enum pw_filter_state old, enum pw_filter_state state,
		     const char *error)
{
	(void)userdata; (void)old;
	if (state == PW_FILTER_STATE_ERROR)
		fprintf(stderr, "pw_loop: filter error: %s\n", error ? error : "?");
}

static const struct pw_filter_events filter_state_events = {
	PW_VERSION_FILTER_EVENTS,
	.state_changed = on_state,
};

static void on_quit(void *userdata, int sig)
{
	(void)sig;
	pw_main_loop_quit(((struct data *)userdata)->loop);
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
	struct data d = { 0 };
	struct spa_hook state_listener;
	if (argc < 3 || (strcmp(argv[1], "stream") && strcmp(argv[1], "rtstream") &&
			 strcmp(argv[1], "filter") && strcmp(argv[1], "filter2"))) {
		fprintf(stderr, "usage: pw_loop stream|rtstream|filter|filter2 N [TARGET]\n");
		return 2;
	}
	int filter = !strncmp(argv[1], "filter", 6);
	d.want = atoi(argv[2]);
	const char *target = argc > 3 ? argv[3] : NULL;
	void *outside = out_before();

	pw_init(&argc, &argv);
	d.loop = pw_main_loop_new(NULL);
	pw_loop_add_signal(pw_main_loop_get_loop(d.loop), SIGINT, on_quit, &d);
	pw_loop_add_signal(pw_main_loop_get_loop(d.loop), SIGTERM, on_quit, &d);

	if (!filter) {
		uint8_t buffer[1024];
		struct spa_pod_builder b = SPA_POD_BUILDER_INIT(buffer, sizeof(buffer));
		struct pw_properties *props = pw_properties_new(
			PW_KEY_MEDIA_TYPE, "Audio", PW_KEY_MEDIA_CATEGORY, "Playback",
			PW_KEY_MEDIA_ROLE, "Music", PW_KEY_NODE_LATENCY, "256/48000", NULL);
		if (target)
			pw_properties_set(props, PW_KEY_TARGET_OBJECT, target);
		d.stream = pw_stream_new_simple(pw_main_loop_get_loop(d.loop),
						strcmp(argv[1], "rtstream") ? "aptest-stream" : "aptest-rtstream",
						props, &stream_events, &d);
		struct spa_audio_info_raw info = { .format = SPA_AUDIO_FORMAT_F32, .rate = 48000,
						   .channels = 2 };
		const struct spa_pod *params[1] = {
			spa_format_audio_raw_build(&b, SPA_PARAM_EnumFormat, &info),
		};
		if (pw_stream_connect(d.stream, PW_DIRECTION_OUTPUT, PW_ID_ANY,
				      PW_STREAM_FLAG_AUTOCONNECT | PW_STREAM_FLAG_MAP_BUFFERS |
				      (strcmp(argv[1], "rtstream") ? 0 : PW_STREAM_FLAG_RT_PROCESS),
				      params, 1) < 0) {
			fprintf(stderr, "pw_loop: pw_stream_connect failed\n");
			return 1;
		}
		pw_main_loop_run(d.loop);
		pw_stream_destroy(d.stream);
	} else {
		/* "filter2": two filters of the same name one after the other, N/2 calls each. */
		int rounds = strcmp(argv[1], "filter2") ? 1 : 2, total = d.want;
		for (int r = 1; r <= rounds; r++) {
			d.want = total * r / rounds;
			d.filter = pw_filter_new_simple(pw_main_loop_get_loop(d.loop), "aptest-filter",
				pw_properties_new(PW_KEY_MEDIA_TYPE, "Audio", PW_KEY_MEDIA_CATEGORY, "Filter",
						  PW_KEY_MEDIA_ROLE, "DSP", PW_KEY_NODE_ALWAYS_PROCESS, "true",
						  PW_KEY_NODE_LATENCY, "256/48000", NULL),
				&filter_events, &d);
			pw_filter_add_listener(d.filter, &state_listener, &filter_state_events, &d);
			d.port = pw_filter_add_port(d.filter, PW_DIRECTION_OUTPUT,
				PW_FILTER_PORT_FLAG_MAP_BUFFERS, 0,
				pw_properties_new(PW_KEY_FORMAT_DSP, "32 bit float mono audio",
						  PW_KEY_PORT_NAME, "out", NULL), NULL, 0);
			if (pw_filter_connect(d.filter, PW_FILTER_FLAG_RT_PROCESS, NULL, 0) < 0) {
				fprintf(stderr, "pw_loop: pw_filter_connect failed\n");
				return 1;
			}
			pw_main_loop_run(d.loop);
			pw_filter_destroy(d.filter);
		}
	}
	pw_main_loop_destroy(d.loop);
	pw_deinit();
	free(outside);
	out_after();
	fprintf(stderr, "pw_loop: mode=%s calls=%d quantum=%llu rate=%u entries=%d\n", argv[1],
		d.calls, (unsigned long long)d.quantum, d.rate, d.entries);
	return d.calls == d.want ? 0 : 1;
}
