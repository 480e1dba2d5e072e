/* smooth.h - spectrum smoothing for the analyser's display: fractional-octave smoothing
 * across frequency (1/3 octave by default, averaged in the power domain with a prefix sum,
 * so O(bins) whatever the width), then attack/release ballistics over time in dB.
 * Everything is precomputed in smooth_init; smooth_run neither allocates nor blocks. */
#ifndef DSP_SMOOTH_H
#define DSP_SMOOTH_H

struct smoother {
	unsigned bins;                    /* FFT size / 2 + 1 */
	unsigned *lo, *hi;                /* per bin: first and last bin of its window */
	double *prefix;                   /* bins + 1 running sums of power */
	float *db;                        /* the smoothed spectrum, dB (the output) */
	float attack;                     /* per-update coefficient when rising, 0..1 */
	float release;                    /* per-update coefficient when falling, 0..1 */
	unsigned primed;                  /* 0 until the first update */
};

/* fft_size points at rate Hz; fraction: 3 = 1/3 octave; attack/release time constants
 * in ms; interval: seconds between two smooth_run calls. 0 on success, -1 ENOMEM. */
int smooth_init(struct smoother *s, unsigned fft_size, float rate, float fraction,
		float attack_ms, float release_ms, float interval);
void smooth_free(struct smoother *s);

/* Callback: one update from a power spectrum of s->bins bins. */
void smooth_run(struct smoother *s, const float *power);

#endif
