/* alsa_loop.c - ALSA writer loops with known cycle and allocation counts, for
 * t_alsa.sh. Built by that test with -lasound (not by tests/Makefile).
 *
 *   alsa_loop MODE N
 *
 * Built with -lasound, or with -DUSE_DLOPEN without it (dlopen + dlsym, as SDL2 does).
 * Plays N periods of 256 frames (48 kHz, S16, stereo; buffer 1024) with one of these
 * loops; every iteration first runs process_period(), which makes one malloc(100) and
 * its free, then hands the period to ALSA:
 *   block    PCM "null", blocking: process, snd_pcm_writei. Every write's return ends
 *            a wait: N-1 cycles ended by writes, with N-1 of the N process_period()
 *            calls inside them (the stretch after the last write, ended by
 *            snd_pcm_drain, is teardown: not counted).
 *   wait     "null", non-blocking: snd_pcm_wait, snd_pcm_avail_update, process, writei.
 *            The first wait, before the thread's first write, claims the PCM: N
 *            cycles, N calls.
 *   revents  "null", non-blocking: poll on the PCM's descriptors,
 *            snd_pcm_poll_descriptors_revents, process, writei: N cycles.
 *   poll     "null", non-blocking: poll on the PCM's descriptors, process, writei (no
 *            ALSA call between the wait and the write: only the poll wrapper can tell
 *            that the wait ended, through audio_alsa_wait_done(), and only on a thread
 *            that has written: the first poll names no PCM): N-1 cycles then.
 *   mmap     "null", non-blocking, mmap access: snd_pcm_wait, avail_update,
 *            snd_pcm_mmap_begin, process (into the ring buffer), snd_pcm_mmap_commit:
 *            N cycles.
 *   xrun     an in-process ioplug PCM named "aptest" (consumes at once, like null),
 *            blocking, as "block", with the PCM put in the XRUN state before the writes
 *            of periods N/3 and 2N/3: those writes return -EPIPE, then avail_update
 *            (-EPIPE again, same episode), snd_pcm_prepare and the write again.
 *            2 xruns; N+2 writes.
 *   probe    as "block", after opening and closing "null" 1100 times (more PCMs than
 *            the preload keeps entries for, none of them ever written).
 *   thread   as "block", on a second thread named "alsa-writer"; the main thread
 *            queries snd_pcm_avail_update/snd_pcm_status meanwhile (not a writer:
 *            no cycles there).
 * Outside the loop: out_before() and out_after(), one malloc(1000) each, before the
 * PCM is opened and after it is closed (never inside a cycle). Prints "alsa_loop: mode=M periods=N writes=W xruns=X" on stderr. */
#include <alsa/asoundlib.h>
#include <alsa/pcm_ioplug.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef USE_DLOPEN
/* Built without -lasound: dlopen("libasound.so.2", RTLD_LOCAL) and dlsym of every
 * function, like SDL2's ALSA backend. */
#include <dlfcn.h>
#define ALSA_FUNCS(X) X(snd_strerror) X(snd_pcm_open) X(snd_pcm_close) X(snd_pcm_drain) \
	X(snd_pcm_hw_params_sizeof) X(snd_pcm_hw_params_any) X(snd_pcm_hw_params_set_access) \
	X(snd_pcm_hw_params_set_format) X(snd_pcm_hw_params_set_channels) \
	X(snd_pcm_hw_params_set_rate) X(snd_pcm_hw_params_set_period_size) \
	X(snd_pcm_hw_params_set_buffer_size_near) X(snd_pcm_hw_params) \
	X(snd_pcm_sw_params_sizeof) X(snd_pcm_sw_params_current) \
	X(snd_pcm_sw_params_set_avail_min) X(snd_pcm_sw_params_set_start_threshold) \
	X(snd_pcm_sw_params) X(snd_pcm_writei) X(snd_pcm_avail_update) X(snd_pcm_prepare) \
	X(snd_pcm_wait) X(snd_pcm_poll_descriptors) X(snd_pcm_poll_descriptors_revents) \
	X(snd_pcm_mmap_begin) X(snd_pcm_mmap_commit) X(snd_pcm_start) X(snd_pcm_status_sizeof) \
	X(snd_pcm_status) X(snd_pcm_ioplug_create) X(snd_pcm_ioplug_delete) \
	X(snd_pcm_ioplug_set_param_list) X(snd_pcm_ioplug_set_param_minmax) \
	X(snd_pcm_ioplug_set_state)
#define DECL(name) static __typeof__(&name) p_##name;
ALSA_FUNCS(DECL)
#define LOAD(name) if (!(*(void **)&p_##name = dlsym(h, #name))) { \
	fprintf(stderr, "alsa_loop: dlsym %s: %s\n", #name, dlerror()); exit(1); }
static void load_alsa(void)
{
	void *h = dlopen("libasound.so.2", RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		fprintf(stderr, "alsa_loop: dlopen libasound.so.2: %s\n", dlerror());
		exit(1);
	}
	ALSA_FUNCS(LOAD)
}
#define snd_strerror (*p_snd_strerror)
#define snd_pcm_open (*p_snd_pcm_open)
#define snd_pcm_close (*p_snd_pcm_close)
#define snd_pcm_drain (*p_snd_pcm_drain)
#define snd_pcm_hw_params_sizeof (*p_snd_pcm_hw_params_sizeof)
#define snd_pcm_hw_params_any (*p_snd_pcm_hw_params_any)
#define snd_pcm_hw_params_set_access (*p_snd_pcm_hw_params_set_access)
#define snd_pcm_hw_params_set_format (*p_snd_pcm_hw_params_set_format)
#define snd_pcm_hw_params_set_channels (*p_snd_pcm_hw_params_set_channels)
#define snd_pcm_hw_params_set_rate (*p_snd_pcm_hw_params_set_rate)
#define snd_pcm_hw_params_set_period_size (*p_snd_pcm_hw_params_set_period_size)
#define snd_pcm_hw_params_set_buffer_size_near (*p_snd_pcm_hw_params_set_buffer_size_near)
#define snd_pcm_hw_params (*p_snd_pcm_hw_params)
#define snd_pcm_sw_params_sizeof (*p_snd_pcm_sw_params_sizeof)
#define snd_pcm_sw_params_current (*p_snd_pcm_sw_params_current)
#define snd_pcm_sw_params_set_avail_min (*p_snd_pcm_sw_params_set_avail_min)
#define snd_pcm_sw_params_set_start_threshold (*p_snd_pcm_sw_params_set_start_threshold)
#define snd_pcm_sw_params (*p_snd_pcm_sw_params)
#define snd_pcm_writei (*p_snd_pcm_writei)
#define snd_pcm_avail_update (*p_snd_pcm_avail_update)
#define snd_pcm_prepare (*p_snd_pcm_prepare)
#define snd_pcm_wait (*p_snd_pcm_wait)
#define snd_pcm_poll_descriptors (*p_snd_pcm_poll_descriptors)
#define snd_pcm_poll_descriptors_revents (*p_snd_pcm_poll_descriptors_revents)
#define snd_pcm_mmap_begin (*p_snd_pcm_mmap_begin)
#define snd_pcm_mmap_commit (*p_snd_pcm_mmap_commit)
#define snd_pcm_start (*p_snd_pcm_start)
#define snd_pcm_status_sizeof (*p_snd_pcm_status_sizeof)
#define snd_pcm_status (*p_snd_pcm_status)
#define snd_pcm_ioplug_create (*p_snd_pcm_ioplug_create)
#define snd_pcm_ioplug_delete (*p_snd_pcm_ioplug_delete)
#define snd_pcm_ioplug_set_param_list (*p_snd_pcm_ioplug_set_param_list)
#define snd_pcm_ioplug_set_param_minmax (*p_snd_pcm_ioplug_set_param_minmax)
#define snd_pcm_ioplug_set_state (*p_snd_pcm_ioplug_set_state)
#endif

#define PERIOD 256
#define RATE 48000
#define CHANNELS 2
#define BUFFER (4 * PERIOD)

static short buf[PERIOD * CHANNELS];
static int writes, xruns;
static const char *mode;
static int nperiods;
static snd_pcm_t *pcm;
static snd_pcm_ioplug_t io;
static volatile int writer_done;

static void die(const char *what, int err)
{
	fprintf(stderr, "alsa_loop: %s: %s\n", what, snd_strerror(err));
	exit(1);
}

/* The period's work: one allocation and its free. */
static void process_period(void *dst, size_t bytes)
{
	char *p = malloc(100);
	memset(p, 0, 100);
	memset(dst, p[0], bytes);
	free(p);
}

/* ------------------------------------------------------------ an in-process ioplug */

static snd_pcm_sframes_t hw_ptr;

static int io_start(snd_pcm_ioplug_t *p) { (void)p; return 0; }
static int io_stop(snd_pcm_ioplug_t *p) { (void)p; return 0; }
static int io_prepare(snd_pcm_ioplug_t *p) { (void)p; hw_ptr = 0; return 0; }
static snd_pcm_sframes_t io_pointer(snd_pcm_ioplug_t *p) { (void)p; return hw_ptr % BUFFER; }
static snd_pcm_sframes_t io_transfer(snd_pcm_ioplug_t *p, const snd_pcm_channel_area_t *areas,
				     snd_pcm_uframes_t offset, snd_pcm_uframes_t size)
{
	(void)p; (void)areas; (void)offset;
	hw_ptr += (snd_pcm_sframes_t)size;   /* played at once */
	return (snd_pcm_sframes_t)size;
}
static const snd_pcm_ioplug_callback_t io_cb = {
	.start = io_start, .stop = io_stop, .pointer = io_pointer, .transfer = io_transfer,
	.prepare = io_prepare,
};

static void open_ioplug(void)
{
	static const unsigned access[] = { SND_PCM_ACCESS_RW_INTERLEAVED };
	static const unsigned format[] = { SND_PCM_FORMAT_S16_LE };
	io.version = SND_PCM_IOPLUG_VERSION;
	io.name = "aptest";
	io.callback = &io_cb;
	io.poll_fd = -1;
	int rc = snd_pcm_ioplug_create(&io, "aptest", SND_PCM_STREAM_PLAYBACK, 0);
	if (rc < 0)
		die("snd_pcm_ioplug_create", rc);
	snd_pcm_ioplug_set_param_list(&io, SND_PCM_IOPLUG_HW_ACCESS, 1, access);
	snd_pcm_ioplug_set_param_list(&io, SND_PCM_IOPLUG_HW_FORMAT, 1, format);
	snd_pcm_ioplug_set_param_minmax(&io, SND_PCM_IOPLUG_HW_CHANNELS, CHANNELS, CHANNELS);
	snd_pcm_ioplug_set_param_minmax(&io, SND_PCM_IOPLUG_HW_RATE, RATE, RATE);
	snd_pcm_ioplug_set_param_minmax(&io, SND_PCM_IOPLUG_HW_PERIOD_BYTES,
					PERIOD * CHANNELS * 2, PERIOD * CHANNELS * 2);
	snd_pcm_ioplug_set_param_minmax(&io, SND_PCM_IOPLUG_HW_PERIODS, 4, 4);
	pcm = io.pcm;
}

/* ------------------------------------------------------------ set-up */

static void setup(snd_pcm_access_t access)
{
	snd_pcm_hw_params_t *hw;
	snd_pcm_sw_params_t *sw;
	snd_pcm_uframes_t period = PERIOD, buffer = BUFFER;
	int rc;

	snd_pcm_hw_params_alloca(&hw);
	if ((rc = snd_pcm_hw_params_any(pcm, hw)) < 0 ||
	    (rc = snd_pcm_hw_params_set_access(pcm, hw, access)) < 0 ||
	    (rc = snd_pcm_hw_params_set_format(pcm, hw, SND_PCM_FORMAT_S16_LE)) < 0 ||
	    (rc = snd_pcm_hw_params_set_channels(pcm, hw, CHANNELS)) < 0 ||
	    (rc = snd_pcm_hw_params_set_rate(pcm, hw, RATE, 0)) < 0 ||
	    (rc = snd_pcm_hw_params_set_period_size(pcm, hw, period, 0)) < 0 ||
	    (rc = snd_pcm_hw_params_set_buffer_size_near(pcm, hw, &buffer)) < 0 ||
	    (rc = snd_pcm_hw_params(pcm, hw)) < 0)
		die("hw params", rc);
	snd_pcm_sw_params_alloca(&sw);
	if ((rc = snd_pcm_sw_params_current(pcm, sw)) < 0 ||
	    (rc = snd_pcm_sw_params_set_avail_min(pcm, sw, PERIOD)) < 0 ||
	    (rc = snd_pcm_sw_params_set_start_threshold(pcm, sw, PERIOD)) < 0 ||
	    (rc = snd_pcm_sw_params(pcm, sw)) < 0)
		die("sw params", rc);
}

static void write_period(void)
{
	snd_pcm_sframes_t w = snd_pcm_writei(pcm, buf, PERIOD);
	writes++;
	if (w == -EPIPE) {
		xruns++;
		if (snd_pcm_avail_update(pcm) != -EPIPE)   /* the same xrun, seen again */
			die("avail_update after xrun", -EINVAL);
		if ((w = snd_pcm_prepare(pcm)) < 0)
			die("prepare", (int)w);
		w = snd_pcm_writei(pcm, buf, PERIOD);
		writes++;
	}
	if (w != PERIOD)
		die("writei", w < 0 ? (int)w : -EIO);
}

/* ------------------------------------------------------------ loops */

static void loop_block(void)
{
	for (int i = 0; i < nperiods; i++) {
		if (pcm == io.pcm && (i == nperiods / 3 || i == 2 * nperiods / 3))
			snd_pcm_ioplug_set_state(&io, SND_PCM_STATE_XRUN);
		process_period(buf, sizeof(buf));
		write_period();
	}
}

static void loop_wait(void)
{
	for (int i = 0; i < nperiods; i++) {
		int rc = snd_pcm_wait(pcm, 1000);
		if (rc != 1)
			die("snd_pcm_wait", rc < 0 ? rc : -ETIMEDOUT);
		if (snd_pcm_avail_update(pcm) < PERIOD)
			die("avail_update", -EIO);
		process_period(buf, sizeof(buf));
		write_period();
	}
}

static void loop_revents(void)
{
	struct pollfd fds[8];
	int n = snd_pcm_poll_descriptors(pcm, fds, 8);
	if (n <= 0)
		die("poll_descriptors", n < 0 ? n : -EIO);
	for (int i = 0; i < nperiods; i++) {
		unsigned short rev = 0;
		if (poll(fds, (nfds_t)n, 1000) <= 0)
			die("poll", -EIO);
		int rc = snd_pcm_poll_descriptors_revents(pcm, fds, (unsigned)n, &rev);
		if (rc < 0 || !(rev & POLLOUT))
			die("revents", rc < 0 ? rc : -EIO);
		process_period(buf, sizeof(buf));
		write_period();
	}
}

static void loop_poll(void)
{
	struct pollfd fds[8];
	int n = snd_pcm_poll_descriptors(pcm, fds, 8);
	if (n <= 0)
		die("poll_descriptors", n < 0 ? n : -EIO);
	for (int i = 0; i < nperiods; i++) {
		if (poll(fds, (nfds_t)n, 1000) <= 0)
			die("poll", -EIO);
		process_period(buf, sizeof(buf));
		write_period();
	}
}

static void loop_mmap(void)
{
	for (int i = 0; i < nperiods; i++) {
		const snd_pcm_channel_area_t *areas;
		snd_pcm_uframes_t offset, frames = PERIOD;
		int rc = snd_pcm_wait(pcm, 1000);
		if (rc != 1)
			die("snd_pcm_wait", rc < 0 ? rc : -ETIMEDOUT);
		if (snd_pcm_avail_update(pcm) < PERIOD)
			die("avail_update", -EIO);
		if ((rc = snd_pcm_mmap_begin(pcm, &areas, &offset, &frames)) < 0)
			die("mmap_begin", rc);
		if (frames != PERIOD)
			die("mmap_begin frames", -EIO);
		process_period((char *)areas[0].addr + offset * CHANNELS * 2, PERIOD * CHANNELS * 2);
		snd_pcm_sframes_t c = snd_pcm_mmap_commit(pcm, offset, frames);
		if (c != PERIOD)
			die("mmap_commit", c < 0 ? (int)c : -EIO);
		writes++;
		if (i == 0 && (rc = snd_pcm_start(pcm)) < 0)
			die("start", rc);
	}
}

static void *writer(void *arg)
{
	(void)arg;
	pthread_setname_np(pthread_self(), "alsa-writer");
	loop_block();
	snd_pcm_drain(pcm);
	writer_done = 1;
	return NULL;
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
	if (argc != 3) {
		fprintf(stderr, "usage: alsa_loop block|wait|revents|poll|mmap|xrun|probe|thread N\n");
		return 2;
	}
	mode = argv[1];
	nperiods = atoi(argv[2]);
#ifdef USE_DLOPEN
	load_alsa();
#endif
	void *outside = out_before();
	int nonblock = !strcmp(mode, "wait") || !strcmp(mode, "revents") || !strcmp(mode, "poll") ||
		       !strcmp(mode, "mmap");
	int rc = 0;
	if (!strcmp(mode, "probe")) {
		for (int i = 0; i < 1100; i++) {
			snd_pcm_t *p;
			if ((rc = snd_pcm_open(&p, "null", SND_PCM_STREAM_PLAYBACK, 0)) < 0)
				die("snd_pcm_open null (probe)", rc);
			snd_pcm_close(p);
		}
	}
	if (!strcmp(mode, "xrun"))
		open_ioplug();
	else if ((rc = snd_pcm_open(&pcm, "null", SND_PCM_STREAM_PLAYBACK,
				    nonblock ? SND_PCM_NONBLOCK : 0)) < 0)
		die("snd_pcm_open null", rc);
	setup(!strcmp(mode, "mmap") ? SND_PCM_ACCESS_MMAP_INTERLEAVED : SND_PCM_ACCESS_RW_INTERLEAVED);

	if (!strcmp(mode, "block") || !strcmp(mode, "xrun") || !strcmp(mode, "probe"))
		loop_block();
	else if (!strcmp(mode, "wait"))
		loop_wait();
	else if (!strcmp(mode, "revents"))
		loop_revents();
	else if (!strcmp(mode, "poll"))
		loop_poll();
	else if (!strcmp(mode, "mmap"))
		loop_mmap();
	else if (!strcmp(mode, "thread")) {
		pthread_t t;
		snd_pcm_status_t *st;
		snd_pcm_status_alloca(&st);
		if (pthread_create(&t, NULL, writer, NULL) != 0)
			die("pthread_create", -EAGAIN);
		while (!writer_done) {   /* position queries from a thread that never writes */
			snd_pcm_avail_update(pcm);
			snd_pcm_status(pcm, st);
			sched_yield();
		}
		pthread_join(t, NULL);
	} else {
		fprintf(stderr, "alsa_loop: unknown mode %s\n", mode);
		return 2;
	}
	if (strcmp(mode, "thread"))
		snd_pcm_drain(pcm);
	if (pcm == io.pcm)
		snd_pcm_ioplug_delete(&io);
	else
		snd_pcm_close(pcm);
	free(outside);
	out_after();
	fprintf(stderr, "alsa_loop: mode=%s periods=%d writes=%d xruns=%d\n", mode, nperiods,
		writes, xruns);
	return 0;
}
