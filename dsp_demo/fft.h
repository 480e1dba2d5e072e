/* fft.h - the spectrum analyser: a 2048-point real FFT (FFTW, single precision) of the
 * mono mix over a Hann window, giving power and magnitude in dB per bin (0 dB = a
 * full-scale sine). The plan is made in analyser_init, never in the callback;
 * analyser_push and analyser_run neither allocate nor block. */
#ifndef DSP_FFT_H
#define DSP_FFT_H

#include <fftw3.h>
#include <stdint.h>

#define FFT_SIZE 2048

/* The planner dsp_demo runs with. FFTW_MEASURE finds a plan up to 1.4x faster for this
 * one size, but times candidate plans with some 64000 allocations at start-up, which
 * would bury the program's own in every profile; FFTW_ESTIMATE needs about 6000 (FFTW
 * registering its solvers) and is still over 100x inside the 2 ms target (see
 * `dsp_demo bench`, which times both). */
#define DSP_FFT_PLANNER FFTW_ESTIMATE
#define FFT_BINS (FFT_SIZE / 2 + 1)

struct analyser {
	float *hist;                      /* the last FFT_SIZE mono samples, oldest first */
	float *window;                    /* Hann window, FFT_SIZE */
	float *in;                        /* windowed input (fftwf_malloc, FFT_SIZE) */
	fftwf_complex *out;               /* FFT_BINS complex bins (fftwf_malloc) */
	fftwf_plan plan;                  /* in -> out, made once at init */
	float *power;                     /* FFT_BINS: linear power, full-scale sine = 1 */
	float *db;                        /* FFT_BINS: 10 log10(power) */
	float scale;                      /* amplitude normalisation: 2 / sum(window) */
	unsigned hop;                     /* run once this many new frames have arrived */
	unsigned pending;                 /* frames pushed since the last run */
	uint64_t runs;                    /* transforms done */
};

/* planner: FFTW_MEASURE or FFTW_ESTIMATE. hop: frames between transforms (>= 1).
 * Not thread-safe (FFTW's planner is not): call from one thread at start-up.
 * 0 on success, -1 when out of memory or FFTW cannot make the plan. */
int analyser_init(struct analyser *a, unsigned planner, unsigned hop);
void analyser_free(struct analyser *a);

/* Callback: append n frames of (left + right) / 2 to the history. */
void analyser_push(struct analyser *a, const float *left, const float *right, unsigned n);
/* Callback: 1 when at least `hop` frames arrived since the last analyser_run. */
int analyser_due(const struct analyser *a);
/* Callback: window, transform, and fill power[] and db[]. */
void analyser_run(struct analyser *a);

#endif
