/* fft.c - the FFTW spectrum analyser of fft.h: history buffer, Hann window, one
 * precomputed r2c plan, power and dB per bin. */
#include "fft.h"

#include <math.h>
#include <string.h>

int analyser_init(struct analyser *a, unsigned planner, unsigned hop)
{
	double sum = 0;

	memset(a, 0, sizeof *a);
	a->hist = fftwf_malloc(FFT_SIZE * sizeof(float));
	a->window = fftwf_malloc(FFT_SIZE * sizeof(float));
	a->in = fftwf_malloc(FFT_SIZE * sizeof(float));
	a->out = fftwf_malloc(FFT_BINS * sizeof(fftwf_complex));
	a->power = fftwf_malloc(FFT_BINS * sizeof(float));
	a->db = fftwf_malloc(FFT_BINS * sizeof(float));
	if (!a->hist || !a->window || !a->in || !a->out || !a->power || !a->db) {
		analyser_free(a);
		return -1;
	}
	/* FFTW_MEASURE overwrites in/out while planning: plan before filling anything. */
	a->plan = fftwf_plan_dft_r2c_1d(FFT_SIZE, a->in, a->out, planner | FFTW_DESTROY_INPUT);
	if (a->plan == NULL) {
		analyser_free(a);
		return -1;
	}
	for (unsigned i = 0; i < FFT_SIZE; i++) {
		a->window[i] = (float)(0.5 - 0.5 * cos(2.0 * M_PI * i / FFT_SIZE));
		sum += a->window[i];
	}
	a->scale = (float)(2.0 / sum);
	memset(a->hist, 0, FFT_SIZE * sizeof(float));
	memset(a->in, 0, FFT_SIZE * sizeof(float));
	memset(a->out, 0, FFT_BINS * sizeof(fftwf_complex));
	for (unsigned k = 0; k < FFT_BINS; k++) {
		a->power[k] = 0.0f;
		a->db[k] = -200.0f;
	}
	a->hop = hop ? hop : 1;
	return 0;
}

void analyser_free(struct analyser *a)
{
	if (a->plan)
		fftwf_destroy_plan(a->plan);
	fftwf_free(a->hist);
	fftwf_free(a->window);
	fftwf_free(a->in);
	fftwf_free(a->out);
	fftwf_free(a->power);
	fftwf_free(a->db);
	memset(a, 0, sizeof *a);
}

void analyser_push(struct analyser *a, const float *left, const float *right, unsigned n)
{
	const float *l = left, *r = right;

	if (n >= FFT_SIZE) {                      /* only the newest FFT_SIZE frames matter */
		l += n - FFT_SIZE;
		r += n - FFT_SIZE;
		for (unsigned i = 0; i < FFT_SIZE; i++)
			a->hist[i] = 0.5f * (l[i] + r[i]);
	} else {
		memmove(a->hist, a->hist + n, (FFT_SIZE - n) * sizeof(float));
		for (unsigned i = 0; i < n; i++)
			a->hist[FFT_SIZE - n + i] = 0.5f * (l[i] + r[i]);
	}
	a->pending += n;
}

int analyser_due(const struct analyser *a)
{
	return a->pending >= a->hop;
}

void analyser_run(struct analyser *a)
{
	const float s2 = a->scale * a->scale;

	for (unsigned i = 0; i < FFT_SIZE; i++)
		a->in[i] = a->hist[i] * a->window[i];
	fftwf_execute(a->plan);
	for (unsigned k = 0; k < FFT_BINS; k++) {
		float re = a->out[k][0], im = a->out[k][1];
		float p = (re * re + im * im) * s2;

		a->power[k] = p;
		a->db[k] = 10.0f * log10f(p + 1e-20f);
	}
	a->pending = 0;
	a->runs++;
}
