/* pulse_loop.c - a PulseAudio client with a known number of stream callbacks, for
 * t_pulse.sh. Built by that test with -lpulse (not by tests/Makefile).
 *
 *   pulse_loop play|record N [DEVICE]
 *
 * play: a playback stream named "aptest-play" (48 kHz, S16LE, stereo, minreq 1024
 * frames, tlength 4096), whose write callback on_write() writes the silence asked for;
 * record: a stream "aptest-rec" recording DEVICE (e.g. a null sink's monitor), whose
 * read callback on_read() peeks and drops a fragment. Each callback calls
 * process_chunk(), one malloc(100) and its free. After N callbacks the callback is
 * unset, the stream disconnected and the main loop left (pa_mainloop on the main
 * thread: the callbacks run there). out_before() and out_after(), one malloc(1000)
 * each, run before and after the loop, outside any callback. Prints "pulse_loop: mode=M callbacks=N frames=F" on stderr,
 * F the frames of the last callback. */
#include <pulse/pulseaudio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static pa_mainloop *ml;
static int want, callbacks;
static size_t last_bytes;
static const char *device;
static int recording;

static void die(const char *what)
{
	fprintf(stderr, "pulse_loop: %s\n", what);
	exit(1);
}

static void process_chunk(void)
{
	char *p = malloc(100);
	memset(p, 1, 100);
	free(p);
}

static void finish(pa_stream *s)
{
	if (recording)
		pa_stream_set_read_callback(s, NULL, NULL);
	else
		pa_stream_set_write_callback(s, NULL, NULL);
	pa_stream_disconnect(s);
	pa_mainloop_quit(ml, 0);
}

static void on_write(pa_stream *s, size_t nbytes, void *userdata)
{
	if (userdata != &want)
		die("write callback: wrong userdata");
	if (callbacks >= want)
		return;
	callbacks++;
	last_bytes = nbytes;
	process_chunk();
	void *buf = NULL;
	size_t n = nbytes;
	if (pa_stream_begin_write(s, &buf, &n) < 0 || !buf)
		die("pa_stream_begin_write");
	memset(buf, 0, n);
	if (pa_stream_write(s, buf, n, NULL, 0, PA_SEEK_RELATIVE) < 0)
		die("pa_stream_write");
	if (callbacks == want)
		finish(s);
}

static void on_read(pa_stream *s, size_t nbytes, void *userdata)
{
	if (userdata != &want)
		die("read callback: wrong userdata");
	if (callbacks >= want)
		return;
	callbacks++;
	last_bytes = nbytes;
	process_chunk();
	const void *data;
	size_t n;
	if (pa_stream_peek(s, &data, &n) < 0)
		die("pa_stream_peek");
	if (n)
		pa_stream_drop(s);
	if (callbacks == want)
		finish(s);
}

static void on_state(pa_stream *s, void *userdata)
{
	(void)userdata;
	if (pa_stream_get_state(s) == PA_STREAM_FAILED)
		die("stream failed");
}

static void on_context(pa_context *c, void *userdata)
{
	(void)userdata;
	static const pa_sample_spec ss = { PA_SAMPLE_S16LE, 48000, 2 };
	pa_buffer_attr ba = { (uint32_t)-1, 4096 * 4, (uint32_t)-1, 1024 * 4, 1024 * 4 };
	switch (pa_context_get_state(c)) {
	case PA_CONTEXT_READY: {
		pa_stream *s = pa_stream_new(c, recording ? "aptest-rec" : "aptest-play", &ss, NULL);
		if (!s)
			die("pa_stream_new");
		pa_stream_set_state_callback(s, on_state, NULL);
		if (recording) {
			pa_stream_set_read_callback(s, on_read, &want);
			if (pa_stream_connect_record(s, device, &ba, PA_STREAM_ADJUST_LATENCY) < 0)
				die("pa_stream_connect_record");
		} else {
			pa_stream_set_write_callback(s, on_write, &want);
			if (pa_stream_connect_playback(s, device, &ba, 0, NULL, NULL) < 0)
				die("pa_stream_connect_playback");
		}
		break;
	}
	case PA_CONTEXT_FAILED:
		die("cannot connect to the server");
		break;
	default:
		break;
	}
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
	if (argc < 3 || (strcmp(argv[1], "play") && strcmp(argv[1], "record"))) {
		fprintf(stderr, "usage: pulse_loop play|record N [DEVICE]\n");
		return 2;
	}
	recording = !strcmp(argv[1], "record");
	want = atoi(argv[2]);
	device = argc > 3 ? argv[3] : NULL;
	void *outside = out_before();
	ml = pa_mainloop_new();
	pa_context *c = pa_context_new(pa_mainloop_get_api(ml), "pulse_loop");
	pa_context_set_state_callback(c, on_context, NULL);
	if (pa_context_connect(c, NULL, PA_CONTEXT_NOAUTOSPAWN, NULL) < 0)
		die("pa_context_connect");
	int ret = 1;
	pa_mainloop_run(ml, &ret);
	pa_context_disconnect(c);
	pa_context_unref(c);
	pa_mainloop_free(ml);
	free(outside);
	out_after();
	fprintf(stderr, "pulse_loop: mode=%s callbacks=%d frames=%zu\n", argv[1], callbacks,
		last_bytes / 4);
	return ret;
}
