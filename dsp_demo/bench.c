/* bench.c - `dsp_demo bench`: times every stage of the callback in isolation, and the
 * whole callback, against the performance targets of the application dsp_demo stands
 * for; prints the achieved figure, the target, and their ratio (achieved / target).
 * Each figure is the median of many timed runs (CLOCK_MONOTONIC) after a warm-up, so
 * one preemption cannot move it. Runs in about a second. */
#include "bench.h"

#include <fftw3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "engine.h"
#include "eq.h"
#include "fft.h"
#include "pool.h"
#include "smooth.h"
#include "source.h"

#define RATE 48000
#define PERIOD 512

enum direction { BELOW, ABOVE };              /* the target is a maximum / a minimum */
enum unit { NS, MSPS, FPS };                  /* time / Msamples per s / frames per s */

struct row {
	const char *what;
	double achieved;                          /* ns, Msamples/s or frames/s */
	double target;
	enum direction dir;
	enum unit unit;
};

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static double median(uint64_t *v, size_t n)
{
	qsort(v, n, sizeof *v, cmp_u64);
	return n % 2 ? (double)v[n / 2] : 0.5 * ((double)v[n / 2 - 1] + (double)v[n / 2]);
}

static const char *fmt_value(char *buf, size_t len, double v, enum unit u)
{
	switch (u) {
	case MSPS:
		snprintf(buf, len, "%.0f Msamples/s", v);
		break;
	case FPS:
		snprintf(buf, len, "%.0f frames/s", v);
		break;
	case NS:
	default:
		if (v < 1e3)
			snprintf(buf, len, "%.0f ns", v);
		else if (v < 1e6)
			snprintf(buf, len, "%.1f us", v / 1e3);
		else
			snprintf(buf, len, "%.2f ms", v / 1e6);
		break;
	}
	return buf;
}

static void fill_noise(float *x, size_t n, uint64_t seed)
{
	for (size_t i = 0; i < n; i++) {
		seed = seed * 6364136223846793005ull + 1442695040888963407ull;
		x[i] = (float)((int32_t)(seed >> 32)) / 2147483648.0f * 0.5f;
	}
}

/* ---------------------------------------------------------------- the stages */

static double bench_eq(uint64_t *t, size_t iters)
{
	static float l[PERIOD], r[PERIOD];
	struct eq eq;

	eq_init(&eq, RATE);
	for (size_t i = 0; i < iters + iters / 10; i++) {
		uint64_t t0;

		fill_noise(l, PERIOD, i);
		fill_noise(r, PERIOD, i + 7);
		t0 = clock_now_ns();
		eq_process(&eq, l, r, PERIOD);
		if (i >= iters / 10)
			t[i - iters / 10] = clock_now_ns() - t0;
	}
	return median(t, iters);
}

static double bench_biquad(uint64_t *t, size_t iters)
{
	enum { N = 65536 };
	static float x[N];
	struct eq_band band = { EQ_PEAK, 1000.0f, -3.0f, 1.4f };
	struct biquad c;
	float z[2] = { 0, 0 };

	biquad_design(&c, &band, RATE);
	fill_noise(x, N, 1);
	for (size_t i = 0; i < iters + 3; i++) {
		uint64_t t0 = clock_now_ns();

		biquad_run(&c, z, x, N);
		if (i >= 3)
			t[i - 3] = clock_now_ns() - t0;
	}
	return N / (median(t, iters) * 1e-9) / 1e6;
}

static int bench_fft(uint64_t *t, size_t iters, unsigned planner, double *per_frame, double *fps)
{
	enum { BATCH = 16 };
	static float l[FFT_SIZE], r[FFT_SIZE];
	struct analyser a;
	size_t batches = iters / BATCH;

	if (analyser_init(&a, planner, PERIOD) != 0)
		return -1;
	fill_noise(l, FFT_SIZE, 3);
	fill_noise(r, FFT_SIZE, 4);
	analyser_push(&a, l, r, FFT_SIZE);
	for (size_t i = 0; i < iters + 50; i++) {
		uint64_t t0 = clock_now_ns();

		analyser_run(&a);
		if (i >= 50)
			t[i - 50] = clock_now_ns() - t0;
	}
	*per_frame = median(t, iters);
	/* throughput: back-to-back batches, the history refreshed between them */
	for (size_t i = 0; i < batches; i++) {
		uint64_t t0;

		analyser_push(&a, l, r, PERIOD);
		t0 = clock_now_ns();
		for (unsigned j = 0; j < BATCH; j++)
			analyser_run(&a);
		t[i] = clock_now_ns() - t0;
	}
	*fps = BATCH / (median(t, batches) * 1e-9);
	analyser_free(&a);
	return 0;
}

static int bench_smooth(uint64_t *t, size_t iters, double *out)
{
	static float power[FFT_BINS];
	struct smoother s;

	if (smooth_init(&s, FFT_SIZE, RATE, 3.0f, 20.0f, 300.0f, (float)PERIOD / RATE) != 0)
		return -1;
	fill_noise(power, FFT_BINS, 5);
	for (unsigned k = 0; k < FFT_BINS; k++)
		power[k] = power[k] * power[k] + 1e-9f;
	for (size_t i = 0; i < iters + iters / 10; i++) {
		uint64_t t0;

		power[i % FFT_BINS] *= 1.01f;
		t0 = clock_now_ns();
		smooth_run(&s, power);
		if (i >= iters / 10)
			t[i - iters / 10] = clock_now_ns() - t0;
	}
	*out = median(t, iters);
	smooth_free(&s);
	return 0;
}

static int bench_pool(uint64_t *t, size_t iters, double *out)
{
	enum { BATCH = 64 };
	struct pool p;
	struct pool_buf *got[BATCH];

	if (pool_init(&p, BATCH, PERIOD) != 0)
		return -1;
	for (size_t i = 0; i < iters + 10; i++) {
		uint64_t t0 = clock_now_ns();

		for (unsigned j = 0; j < BATCH; j++)
			got[j] = pool_acquire(&p);
		if (i >= 10)
			t[i - 10] = clock_now_ns() - t0;
		for (unsigned j = 0; j < BATCH; j++)
			pool_release(&p, got[j]);
	}
	*out = median(t, iters) / BATCH;
	pool_free(&p);
	return 0;
}

static int bench_callback(uint64_t *t, size_t iters, double *out, double *worst)
{
	struct engine_config cfg = {
		.rate = RATE, .period = PERIOD, .duration = 0, .input = NULL, .output = NULL,
		.out_format = WAV_PCM16, .inject = INJECT_NONE, .inject_every = 1,
		.fft_planner = DSP_FFT_PLANNER, .threads = 0,
	};
	struct engine *e;
	struct engine_stats st;
	char err[256];
	uint64_t max = 0;

	if (engine_create(&e, &cfg, err, sizeof err) != 0) {
		fprintf(stderr, "dsp_demo bench: %s\n", err);
		return -1;
	}
	for (size_t i = 0; i < iters + 50; i++) {
		uint64_t t0 = clock_now_ns(), dt;

		dsp_process(e, NULL, NULL, PERIOD);
		dt = clock_now_ns() - t0;
		if (i >= 50) {
			t[i - 50] = dt;
			if (dt > max)
				max = dt;
		}
	}
	*out = median(t, iters);
	*worst = (double)max;
	engine_finish(e, &st, err, sizeof err);
	engine_destroy(e);
	return 0;
}

/* ---------------------------------------------------------------- the table */

int bench_main(int argc, char **argv)
{
	enum { ITERS = 3000 };
	uint64_t *t;
	struct row rows[7];
	double fft_one, fft_fps, fft_measured, fft_measured_fps, smooth_ns, pool_ns, cb_ns, cb_worst;
	unsigned n = 0, missed = 0;
	char a[40], g[40];

	if (argc > 1) {
		if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
			printf("Usage: dsp_demo bench\n\nTimes each processing stage (median of "
			       "many runs) against its target\nand prints achieved / target.\n");
			return 0;
		}
		fprintf(stderr, "dsp_demo bench: unexpected argument '%s'\n"
			"Try 'dsp_demo --help'.\n", argv[1]);
		return 2;
	}
	t = calloc(ITERS, sizeof *t);
	if (t == NULL) {
		fprintf(stderr, "dsp_demo bench: out of memory\n");
		return 1;
	}
	rows[n++] = (struct row){ "8-band EQ, 512 stereo frames", bench_eq(t, ITERS),
				  1e6, BELOW, NS };
	if (bench_fft(t, ITERS, DSP_FFT_PLANNER, &fft_one, &fft_fps) != 0 ||
	    bench_fft(t, ITERS, FFTW_MEASURE, &fft_measured, &fft_measured_fps) != 0 ||
	    bench_smooth(t, ITERS, &smooth_ns) != 0 || bench_pool(t, ITERS, &pool_ns) != 0 ||
	    bench_callback(t, ITERS, &cb_ns, &cb_worst) != 0) {
		fprintf(stderr, "dsp_demo bench: cannot set a stage up (out of memory or FFTW)\n");
		free(t);
		return 1;
	}
	rows[n++] = (struct row){ "2048-point FFT analyser frame", fft_one, 2e6, BELOW, NS };
	rows[n++] = (struct row){ "spectrum smoothing, 1025 bins", smooth_ns, 0.5e6, BELOW, NS };
	rows[n++] = (struct row){ "biquad throughput", bench_biquad(t, 300), 10, ABOVE, MSPS };
	rows[n++] = (struct row){ "FFT analyser throughput", fft_fps, 500, ABOVE, FPS };
	rows[n++] = (struct row){ "buffer pool acquire", pool_ns, 1e4, BELOW, NS };
	rows[n++] = (struct row){ "whole callback, 48 kHz / 512", cb_ns, 5e6, BELOW, NS };

	printf("dsp_demo bench: median of many timed runs (CLOCK_MONOTONIC); "
	       "ratio = achieved / target\n");
	printf("  %-31s %18s %20s %9s\n", "stage", "achieved", "target", "ratio");
	for (unsigned i = 0; i < n; i++) {
		const struct row *r = &rows[i];
		double ratio = r->achieved / r->target;
		int ok = r->dir == BELOW ? r->achieved < r->target : r->achieved > r->target;
		char tgt[48];

		snprintf(tgt, sizeof tgt, "%s %s", r->dir == BELOW ? "under" : "over",
			 fmt_value(g, sizeof g, r->target, r->unit));
		printf("  %-31s %18s %20s %9.4f  %s\n", r->what,
		       fmt_value(a, sizeof a, r->achieved, r->unit), tgt, ratio,
		       ok ? "ok" : "MISSED");
		missed += !ok;
	}
	printf("  whole callback: worst of %d was %s, %.1f%% of the %.2f ms period "
	       "(normal priority: includes preemption)\n",
	       ITERS, fmt_value(a, sizeof a, cb_worst, NS),
	       100.0 * cb_worst / (1e9 * PERIOD / RATE), 1e3 * PERIOD / RATE);
	printf("  FFT with an FFTW_MEASURE plan (not used: see fft.h): %s, %.0f frames/s\n",
	       fmt_value(a, sizeof a, fft_measured, NS), fft_measured_fps);
	printf("  %u of %u targets met\n", n - missed, n);
	free(t);
	return 0;
}
