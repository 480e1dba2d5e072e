/* smooth.c - fractional-octave and attack/release spectrum smoothing (smooth.h). */
#include "smooth.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static float ballistic(float ms, float interval)
{
	if (ms <= 0.0f)
		return 1.0f;
	return 1.0f - expf(-interval / (ms * 0.001f));
}

int smooth_init(struct smoother *s, unsigned fft_size, float rate, float fraction,
		float attack_ms, float release_ms, float interval)
{
	double half = pow(2.0, 1.0 / (2.0 * fraction));       /* half a band, as a ratio */
	double bin_hz = (double)rate / fft_size;

	memset(s, 0, sizeof *s);
	s->bins = fft_size / 2 + 1;
	s->lo = calloc(s->bins, sizeof *s->lo);
	s->hi = calloc(s->bins, sizeof *s->hi);
	s->prefix = calloc(s->bins + 1, sizeof *s->prefix);
	s->db = calloc(s->bins, sizeof *s->db);
	if (!s->lo || !s->hi || !s->prefix || !s->db) {
		smooth_free(s);
		return -1;
	}
	for (unsigned k = 0; k < s->bins; k++) {
		double f = k * bin_hz;
		long lo = lround(floor(f / half / bin_hz));
		long hi = lround(ceil(f * half / bin_hz));

		if (lo > (long)k)
			lo = k;
		if (lo < 0)
			lo = 0;
		if (hi < (long)k)
			hi = k;
		if (hi > (long)s->bins - 1)
			hi = s->bins - 1;
		s->lo[k] = (unsigned)lo;
		s->hi[k] = (unsigned)hi;
		s->db[k] = -200.0f;
	}
	s->attack = ballistic(attack_ms, interval);
	s->release = ballistic(release_ms, interval);
	return 0;
}

void smooth_free(struct smoother *s)
{
	free(s->lo);
	free(s->hi);
	free(s->prefix);
	free(s->db);
	memset(s, 0, sizeof *s);
}

void smooth_run(struct smoother *s, const float *power)
{
	double acc = 0.0;

	s->prefix[0] = 0.0;
	for (unsigned k = 0; k < s->bins; k++) {
		acc += power[k];
		s->prefix[k + 1] = acc;
	}
	for (unsigned k = 0; k < s->bins; k++) {
		unsigned lo = s->lo[k], hi = s->hi[k];
		double avg = (s->prefix[hi + 1] - s->prefix[lo]) / (double)(hi - lo + 1);
		float db = 10.0f * log10f((float)avg + 1e-20f);
		float old = s->db[k];

		if (!s->primed)
			s->db[k] = db;
		else
			s->db[k] = old + (db - old) * (db > old ? s->attack : s->release);
	}
	s->primed = 1;
}
