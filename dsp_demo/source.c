/* source.c - the test-signal generator and WAV playback of source.h. */
#include "source.h"

#include <math.h>
#include <string.h>

#define SWEEP_SECONDS 8.0

void source_init_generator(struct source *s, unsigned rate)
{
	memset(s, 0, sizeof *s);
	s->rate = rate;
	s->f0 = 20.0;
	s->f1 = 20000.0 < 0.45 * rate ? 20000.0 : 0.45 * rate;
	s->freq = s->f0;
	s->step = pow(s->f1 / s->f0, 1.0 / (SWEEP_SECONDS * rate));
	s->amp = 0.25f;                           /* -12 dBFS */
	s->noise = 0.005f;                        /* -46 dBFS */
	s->rng[0] = 0x9E3779B97F4A7C15ull;
	s->rng[1] = 0xD1B54A32D192ED03ull;
}

void source_init_wav(struct source *s, const struct wav_data *wav)
{
	memset(s, 0, sizeof *s);
	s->wav = wav;
}

/* xorshift64*: a uniform float in [-1, 1). */
static float noise(uint64_t *x)
{
	uint64_t v = *x;

	v ^= v >> 12;
	v ^= v << 25;
	v ^= v >> 27;
	*x = v;
	return (float)((int64_t)(v * 0x2545F4914F6CDD1Dull) >> 11) * (1.0f / 4503599627370496.0f);
}

void source_render(struct source *s, float *left, float *right, unsigned n)
{
	if (s->wav != NULL) {
		for (unsigned i = 0; i < n; i++) {
			left[i] = s->wav->ch[0][s->pos];
			right[i] = s->wav->ch[1][s->pos];
			if (++s->pos == s->wav->frames)
				s->pos = 0;               /* loop */
		}
		return;
	}
	for (unsigned i = 0; i < n; i++) {
		float v = s->amp * (float)sin(s->phase);

		left[i] = v + s->noise * noise(&s->rng[0]);
		right[i] = v + s->noise * noise(&s->rng[1]);
		s->phase += 2.0 * M_PI * s->freq / s->rate;
		if (s->phase >= 2.0 * M_PI)
			s->phase -= 2.0 * M_PI;
		s->freq *= s->step;
		if (s->freq >= s->f1)
			s->freq = s->f0;
	}
}
