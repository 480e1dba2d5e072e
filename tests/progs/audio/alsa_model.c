/* alsa_model.c - the edges of the ALSA cycle model (audio_alsa.c), for t_alsa_model.sh:
 * library-internal calls, the first cycle, teardown, long writes. Built by that test
 * with -lasound (not by tests/Makefile).
 *
 *   alsa_model MODE N
 *
 * PCM "null" (unpaced), 48 kHz, S16, stereo, period 256 frames.
 *   lib       non-blocking, buffer 4 periods: N times poll on the PCM's descriptors,
 *             snd_pcm_poll_descriptors_revents, snd_pcm_avail (libasound locks a mutex
 *             inside both), compute, snd_pcm_writei of a period. The program itself
 *             makes no unsafe call: N cycles (the first before the first write), none
 *             of the program's, the lock calls as libasound's.
 *   first     non-blocking: N times snd_pcm_wait, snd_pcm_avail_update, compute,
 *             writei. Only the first period's computation allocates: FIRST_ALLOCS
 *             malloc(64) and their frees in first_period(), before the first write.
 *   teardown  blocking: N writes of a period with nothing between them; after the last,
 *             teardown(): the program frees TEARDOWN_BLOCKS buffers it allocated at
 *             start and fcloses a file it opened then, and only then drains and closes
 *             the PCM. N-1 cycles; teardown() is in none.
 *   multi     blocking, buffer 16 periods: N writes of MULTI periods (2048 frames) each,
 *             compute() between them: N-1 cycles, each with the time to play 2048
 *             frames (42666666 ns) as its deadline, not a period's.
 *   pad       blocking: N writes of 2 periods with compute() between them, then (as
 *             sox's close does) teardown(), a last short write of PAD frames that pads
 *             the stream to a whole period, drain and close: N-1 cycles, teardown() in
 *             none.
 * Prints "alsa_model: mode=M periods=N writes=W" on stderr. */
#include <alsa/asoundlib.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PERIOD 256
#define RATE 48000
#define CHANNELS 2
#define MULTI 8
#define PAD 100
#define FIRST_ALLOCS 5
#define TEARDOWN_BLOCKS 4

static short buf[MULTI * PERIOD * CHANNELS];
static snd_pcm_t *pcm;
static int writes;
static void *blocks[TEARDOWN_BLOCKS];
static FILE *file;

static void die(const char *what, int err)
{
	fprintf(stderr, "alsa_model: %s: %s\n", what, snd_strerror(err));
	exit(1);
}

static void setup(unsigned periods)
{
	snd_pcm_hw_params_t *hw;
	snd_pcm_sw_params_t *sw;
	snd_pcm_uframes_t buffer = periods * PERIOD;
	int rc;

	snd_pcm_hw_params_alloca(&hw);
	if ((rc = snd_pcm_hw_params_any(pcm, hw)) < 0 ||
	    (rc = snd_pcm_hw_params_set_access(pcm, hw, SND_PCM_ACCESS_RW_INTERLEAVED)) < 0 ||
	    (rc = snd_pcm_hw_params_set_format(pcm, hw, SND_PCM_FORMAT_S16_LE)) < 0 ||
	    (rc = snd_pcm_hw_params_set_channels(pcm, hw, CHANNELS)) < 0 ||
	    (rc = snd_pcm_hw_params_set_rate(pcm, hw, RATE, 0)) < 0 ||
	    (rc = snd_pcm_hw_params_set_period_size(pcm, hw, PERIOD, 0)) < 0 ||
	    (rc = snd_pcm_hw_params_set_buffer_size_near(pcm, hw, &buffer)) < 0 ||
	    (rc = snd_pcm_hw_params(pcm, hw)) < 0)
		die("hw params", rc);
	if (buffer != periods * PERIOD)
		die("buffer size", -EINVAL);
	snd_pcm_sw_params_alloca(&sw);
	if ((rc = snd_pcm_sw_params_current(pcm, sw)) < 0 ||
	    (rc = snd_pcm_sw_params_set_avail_min(pcm, sw, PERIOD)) < 0 ||
	    (rc = snd_pcm_sw_params_set_start_threshold(pcm, sw, PERIOD)) < 0 ||
	    (rc = snd_pcm_sw_params(pcm, sw)) < 0)
		die("sw params", rc);
}

static void write_frames(snd_pcm_uframes_t frames)
{
	snd_pcm_sframes_t w = snd_pcm_writei(pcm, buf, frames);
	writes++;
	if (w != (snd_pcm_sframes_t)frames)
		die("writei", w < 0 ? (int)w : -EIO);
}

/* A period's work with no unsafe call. */
static void __attribute__((noinline)) compute(void)
{
	for (size_t i = 0; i < sizeof(buf) / sizeof(buf[0]); i++)
		buf[i] = (short)(i & 0xff);
}

/* The first period's work: it allocates (a lazily built table, say). */
static void __attribute__((noinline)) first_period(void)
{
	for (int i = 0; i < FIRST_ALLOCS; i++) {
		char *p = malloc(64);
		memset(p, i, 64);
		buf[i] = p[0];
		free(p);
	}
}

/* The program's teardown: frees what it set up and closes its file. */
static void __attribute__((noinline)) teardown(void)
{
	for (int i = 0; i < TEARDOWN_BLOCKS; i++)
		free(blocks[i]);
	fclose(file);
}

static void open_pcm(int mode, unsigned periods)
{
	int rc = snd_pcm_open(&pcm, "null", SND_PCM_STREAM_PLAYBACK, mode);
	if (rc < 0)
		die("snd_pcm_open null", rc);
	setup(periods);
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: alsa_model lib|first|teardown|multi|pad N\n");
		return 2;
	}
	const char *mode = argv[1];
	int n = atoi(argv[2]);
	for (int i = 0; i < TEARDOWN_BLOCKS; i++)
		blocks[i] = malloc(512);
	file = fopen("/dev/null", "w");
	if (!file)
		die("fopen /dev/null", -errno);

	if (!strcmp(mode, "lib")) {
		open_pcm(SND_PCM_NONBLOCK, 4);
		struct pollfd fds[8];
		int nfds = snd_pcm_poll_descriptors(pcm, fds, 8);
		if (nfds <= 0)
			die("poll_descriptors", nfds < 0 ? nfds : -EIO);
		for (int i = 0; i < n; i++) {
			unsigned short rev = 0;
			if (poll(fds, (nfds_t)nfds, 1000) <= 0)
				die("poll", -EIO);
			int rc = snd_pcm_poll_descriptors_revents(pcm, fds, (unsigned)nfds, &rev);
			if (rc < 0 || !(rev & POLLOUT))
				die("revents", rc < 0 ? rc : -EIO);
			if (snd_pcm_avail(pcm) < PERIOD)
				die("avail", -EIO);
			compute();
			write_frames(PERIOD);
		}
	} else if (!strcmp(mode, "first")) {
		open_pcm(SND_PCM_NONBLOCK, 4);
		for (int i = 0; i < n; i++) {
			int rc = snd_pcm_wait(pcm, 1000);
			if (rc != 1)
				die("snd_pcm_wait", rc < 0 ? rc : -ETIMEDOUT);
			if (snd_pcm_avail_update(pcm) < PERIOD)
				die("avail_update", -EIO);
			if (i == 0)
				first_period();
			compute();
			write_frames(PERIOD);
		}
	} else if (!strcmp(mode, "teardown")) {
		open_pcm(0, 4);
		for (int i = 0; i < n; i++)
			write_frames(PERIOD);
		teardown();
	} else if (!strcmp(mode, "multi")) {
		open_pcm(0, 2 * MULTI);
		for (int i = 0; i < n; i++) {
			compute();
			write_frames(MULTI * PERIOD);
		}
	} else if (!strcmp(mode, "pad")) {
		open_pcm(0, 4);
		for (int i = 0; i < n; i++) {
			compute();
			write_frames(2 * PERIOD);
		}
		teardown();
		write_frames(PAD);
	} else {
		fprintf(stderr, "alsa_model: unknown mode %s\n", mode);
		return 2;
	}
	snd_pcm_drain(pcm);
	snd_pcm_close(pcm);
	if (!strcmp(mode, "lib") || !strcmp(mode, "first") || !strcmp(mode, "multi")) {
		teardown();   /* outside any cycle */
	}
	fprintf(stderr, "alsa_model: mode=%s periods=%d writes=%d\n", mode, n, writes);
	return 0;
}
