/* backend_alsa.c - the ALSA backend: one audio thread that processes a period and
 * writes it with snd_pcm_writei to any playback PCM ("default", "hw:0", "null", ...).
 * The hardware parameters settle the rate and the period size (asked for with
 * --rate/--period, granted "near"); float samples if the PCM takes them, else 16-bit.
 * Only the processing is the real-time region: snd_pcm_writei is where the thread
 * waits for the device. Underruns (-EPIPE) are counted and recovered from. */
#include <alsa/asoundlib.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audioprof.h"
#include "backend.h"
#include "engine.h"

#define ALSA_RT_PRIORITY 70
#define ALSA_PERIODS 3

struct alsa_state {
	snd_pcm_t *pcm;
	snd_pcm_format_t format;          /* SND_PCM_FORMAT_FLOAT_LE or S16_LE */
	snd_pcm_uframes_t period;
	float *planar;                    /* 2 * period: what dsp_process fills */
	void *interleaved;                /* period frames in the PCM's format */
	struct backend *b;
	struct engine *e;
	int error;                        /* a negative ALSA error that ended the run */
};

static int set_params(struct alsa_state *s, struct backend *b, char *err, size_t errlen)
{
	snd_pcm_hw_params_t *hw;
	snd_pcm_sw_params_t *sw;
	unsigned rate = b->rate;
	snd_pcm_uframes_t period = b->period, buffer;
	int rc, dir = 0;

	snd_pcm_hw_params_alloca(&hw);
	snd_pcm_sw_params_alloca(&sw);
	if ((rc = snd_pcm_hw_params_any(s->pcm, hw)) < 0 ||
	    (rc = snd_pcm_hw_params_set_access(s->pcm, hw, SND_PCM_ACCESS_RW_INTERLEAVED)) < 0)
		goto hw_fail;
	s->format = SND_PCM_FORMAT_FLOAT_LE;
	if (snd_pcm_hw_params_set_format(s->pcm, hw, s->format) < 0) {
		s->format = SND_PCM_FORMAT_S16_LE;
		if ((rc = snd_pcm_hw_params_set_format(s->pcm, hw, s->format)) < 0)
			goto hw_fail;
	}
	if ((rc = snd_pcm_hw_params_set_channels(s->pcm, hw, 2)) < 0 ||
	    (rc = snd_pcm_hw_params_set_rate_near(s->pcm, hw, &rate, &dir)) < 0 ||
	    (rc = snd_pcm_hw_params_set_period_size_near(s->pcm, hw, &period, &dir)) < 0)
		goto hw_fail;
	buffer = period * ALSA_PERIODS;
	if ((rc = snd_pcm_hw_params_set_buffer_size_near(s->pcm, hw, &buffer)) < 0 ||
	    (rc = snd_pcm_hw_params(s->pcm, hw)) < 0)
		goto hw_fail;
	snd_pcm_hw_params_get_period_size(hw, &period, &dir);
	snd_pcm_hw_params_get_buffer_size(hw, &buffer);
	snd_pcm_hw_params_get_rate(hw, &rate, &dir);
	/* Start when the buffer is full; wake when a period fits. */
	if ((rc = snd_pcm_sw_params_current(s->pcm, sw)) < 0 ||
	    (rc = snd_pcm_sw_params_set_start_threshold(s->pcm, sw, buffer - buffer % period)) < 0 ||
	    (rc = snd_pcm_sw_params_set_avail_min(s->pcm, sw, period)) < 0 ||
	    (rc = snd_pcm_sw_params(s->pcm, sw)) < 0) {
		snprintf(err, errlen, "ALSA '%s': cannot set software parameters: %s",
			 b->device, snd_strerror(rc));
		return -1;
	}
	b->rate = rate;
	b->period = (unsigned)period;
	s->period = period;
	return 0;
hw_fail:
	snprintf(err, errlen, "ALSA '%s': cannot set stereo %u Hz, period %u: %s",
		 b->device, b->rate, b->period, snd_strerror(rc));
	return -1;
}

/* libasound prints its own diagnostics on stderr ("ALSA lib conf.c:5180:..."); ours
 * below say the same in one line. */
static void alsa_quiet(const char *file, int line, const char *function, int err,
		       const char *fmt, ...)
{
	(void)file; (void)line; (void)function; (void)err; (void)fmt;
}

int backend_alsa_open(struct backend *b, char *err, size_t errlen)
{
	struct alsa_state *s = calloc(1, sizeof *s);
	size_t bytes;
	int rc;

	if (s == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	b->priv = s;
	if (b->device == NULL)
		b->device = "default";
	snd_lib_error_set_handler(alsa_quiet);
	rc = snd_pcm_open(&s->pcm, b->device, SND_PCM_STREAM_PLAYBACK, 0);
	if (rc < 0) {
		int card = -1;

		s->pcm = NULL;
		if (snd_card_next(&card) != 0)
			card = -1;
		snprintf(err, errlen, "ALSA: cannot open PCM '%s' for playback: %s%s",
			 b->device, snd_strerror(rc),
			 card < 0 ? " (no sound card found; --device null needs none)" : "");
		return -1;
	}
	if (set_params(s, b, err, errlen) != 0)
		return -1;
	bytes = s->format == SND_PCM_FORMAT_FLOAT_LE ? sizeof(float) : sizeof(int16_t);
	s->planar = calloc(2 * s->period, sizeof(float));
	s->interleaved = calloc(2 * s->period, bytes);
	if (s->planar == NULL || s->interleaved == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

/* Planar floats -> the PCM's interleaved format (callback-safe). */
static void interleave(struct alsa_state *s, unsigned n)
{
	const float *l = s->planar, *r = s->planar + s->period;

	if (s->format == SND_PCM_FORMAT_FLOAT_LE) {
		float *o = s->interleaved;

		for (unsigned i = 0; i < n; i++) {
			o[2 * i] = l[i];
			o[2 * i + 1] = r[i];
		}
	} else {
		int16_t *o = s->interleaved;

		for (unsigned i = 0; i < n; i++) {
			float a = l[i] * 32768.0f, b = r[i] * 32768.0f;

			o[2 * i] = (int16_t)(a > 32767.0f ? 32767 : a < -32768.0f ? -32768 : lrintf(a));
			o[2 * i + 1] = (int16_t)(b > 32767.0f ? 32767 : b < -32768.0f ? -32768 : lrintf(b));
		}
	}
}

static void *alsa_thread(void *arg)
{
	struct alsa_state *s = arg;
	unsigned n = (unsigned)s->period;
	size_t frame_bytes = 2 * (s->format == SND_PCM_FORMAT_FLOAT_LE ? 4 : 2);
	float *out[2] = { s->planar, s->planar + s->period };

	pthread_setname_np(pthread_self(), "dsp-alsa");
	AUDIOPROF_RT_PERIOD("dsp_demo", (uint32_t)s->period, (uint32_t)s->b->rate);
	while (!engine_done(s->e)) {
		const unsigned char *p = s->interleaved;
		snd_pcm_uframes_t left = n;

		AUDIOPROF_RT_ENTER("dsp_demo");
		dsp_process(s->e, NULL, out, n);
		interleave(s, n);
		AUDIOPROF_RT_EXIT();
		while (left > 0) {
			snd_pcm_sframes_t w = snd_pcm_writei(s->pcm, p, left);

			if (w == -EAGAIN)
				continue;
			if (w < 0) {
				if (w == -EPIPE)
					s->b->xruns++;
				if (snd_pcm_recover(s->pcm, (int)w, 1) < 0) {
					s->error = (int)w;
					return NULL;
				}
				continue;
			}
			p += (size_t)w * frame_bytes;
			left -= (snd_pcm_uframes_t)w;
		}
	}
	return NULL;
}

int backend_alsa_run(struct backend *b, struct engine *e, char *err, size_t errlen)
{
	struct alsa_state *s = b->priv;
	pthread_t t;
	int rc;

	s->b = b;
	s->e = e;
	rc = backend_thread_start(b, &t, alsa_thread, s, ALSA_RT_PRIORITY);
	if (rc != 0) {
		snprintf(err, errlen, "cannot start the audio thread: %s", strerror(rc));
		return -1;
	}
	pthread_join(t, NULL);
	if (s->error < 0) {
		snprintf(err, errlen, "ALSA '%s': write failed: %s", b->device, snd_strerror(s->error));
		return -1;
	}
	snd_pcm_drain(s->pcm);                    /* let the device play what it has */
	return 0;
}

void backend_alsa_close(struct backend *b)
{
	struct alsa_state *s = b->priv;

	if (s == NULL)
		return;
	if (s->pcm != NULL)
		snd_pcm_close(s->pcm);
	free(s->planar);
	free(s->interleaved);
	free(s);
	b->priv = NULL;
	snd_config_update_free_global();          /* ALSA's cached configuration */
}
