/* engine.c - the processing engine of engine.h: dsp_process() (the callback: pool
 * buffer, source, 8-band EQ, FFT analyser, smoothing, output hand-over, fault injection,
 * its own timing), the control thread, the WAV writer thread, and their start and stop.
 *
 * Ownership: the callback owns the source, EQ filter state, analyser, smoother and the
 * statistics below "callback only"; the main thread reads those only after the backend
 * stopped calling it. Buffers travel callback -> writer through `outq` and go back to
 * the pool from the writer. */
#include "engine.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__SSE__) || defined(__x86_64__)
#include <xmmintrin.h>
#define HAVE_MXCSR 1
#endif

#include "audioprof.h"
#include "clock.h"
#include "eq.h"
#include "fft.h"
#include "pool.h"
#include "queue.h"
#include "smooth.h"
#include "source.h"

#define CONTROL_TICK_NS   10000000u     /* control thread wakes every 10 ms */
#define EQ_UPDATE_NS     100000000u     /* and moves the 1 kHz band every 100 ms */
#define WRITER_TICK_NS     5000000u     /* writer thread drains every 5 ms */
#define ANALYSER_HOP       512u         /* frames between two spectra */
#define POOL_SECONDS       2.0          /* output buffering before cycles are dropped */

struct engine {
	struct engine_config cfg;
	uint64_t frames_target;           /* 0 = unbounded */
	char *output_path;                /* copy of cfg.output */

	/* callback only */
	struct source src;                /* test signal or input WAV */
	struct eq eq;                     /* (shared with the control thread: see eq.h) */
	struct analyser fft;              /* 2048-point spectrum */
	struct smoother smooth;           /* its smoothed display */
	struct pool_buf scratch;          /* used when the pool is empty */
	float *scratch_mem;               /* scratch's 2 * period floats */
	uint64_t cycles, frames;          /* dsp_process calls, frames processed */
	uint64_t max_ns, total_ns;        /* callback durations: worst, sum */
	uint64_t overruns;                /* callbacks longer than their period */
	uint64_t dropped;                 /* cycles the output WAV lost */

	/* shared */
	struct pool pool;
	struct spsc outq;                 /* full buffers: callback -> writer */
	struct inject inj;
	pthread_mutex_t param_lock;       /* held by the control thread while editing */
	_Atomic int done;                 /* frames_target reached (callback) */
	_Atomic int stop;                 /* stop requested (signal handler, main) */
	_Atomic int quit;                 /* helper threads: finish */

	/* threads */
	struct wav_writer wav;            /* writer thread only, while it runs */
	pthread_t control, writer;        /* the helper threads */
	int control_started, writer_started;  /* ... and whether each runs */
};

/* ---------------------------------------------------------------- the callback */

static uint64_t frames_ns(const struct engine *e, unsigned n)
{
	return (uint64_t)n * 1000000000u / e->cfg.rate;
}

/* Flush denormals to zero on this thread: decaying IIR tails would otherwise cost 100x. */
static inline void denormals_off(void)
{
#ifdef HAVE_MXCSR
	_mm_setcsr(_mm_getcsr() | 0x8040);        /* FTZ | DAZ */
#endif
}

/* One slice of at most cfg.period frames. */
static void process_slice(struct engine *e, const float *const in[2], float *const out[2],
			  unsigned off, unsigned n)
{
	struct pool_buf *b;
	int ran = 0;

	AUDIOPROF_ZONE_BEGIN("pool");
	b = pool_acquire(&e->pool);
	AUDIOPROF_ZONE_END();
	if (b == NULL) {
		b = &e->scratch;
		if (e->cfg.output != NULL)
			e->dropped++;
	}

	AUDIOPROF_ZONE_BEGIN("source");
	source_render(&e->src, b->ch[0], b->ch[1], n);
	if (in != NULL) {
		for (unsigned c = 0; c < 2; c++)
			if (in[c] != NULL)
				for (unsigned i = 0; i < n; i++)
					b->ch[c][i] += in[c][off + i];
	}
	AUDIOPROF_ZONE_END();

	AUDIOPROF_ZONE_BEGIN("eq");
	eq_process(&e->eq, b->ch[0], b->ch[1], n);
	AUDIOPROF_ZONE_END();

	AUDIOPROF_ZONE_BEGIN("fft");
	analyser_push(&e->fft, b->ch[0], b->ch[1], n);
	if (analyser_due(&e->fft)) {
		analyser_run(&e->fft);
		ran = 1;
	}
	AUDIOPROF_ZONE_END();

	if (ran) {
		AUDIOPROF_ZONE_BEGIN("smooth");
		smooth_run(&e->smooth, e->fft.power);
		AUDIOPROF_ZONE_END();
	}

	AUDIOPROF_ZONE_BEGIN("output");
	if (out != NULL) {
		for (unsigned c = 0; c < 2; c++)
			if (out[c] != NULL)
				memcpy(out[c] + off, b->ch[c], n * sizeof(float));
	}
	if (b != &e->scratch) {
		b->frames = n;
		if (e->cfg.output == NULL) {
			pool_release(&e->pool, b);
		} else if (spsc_push(&e->outq, b) != 0) {
			pool_release(&e->pool, b);
			e->dropped++;
		}
	}
	AUDIOPROF_ZONE_END();
}

/* Not inlined, cloned or split, so that profilers see one frame named dsp_process. */
__attribute__((noipa))
void dsp_process(struct engine *e, const float *const in[2], float *const out[2], unsigned n)
{
	uint64_t t0 = clock_now_ns(), dt;
	uint64_t period_ns = frames_ns(e, n);
	unsigned off = 0;

	denormals_off();
	while (off < n) {
		unsigned k = n - off < e->cfg.period ? n - off : e->cfg.period;

		process_slice(e, in, out, off, k);
		off += k;
	}
	inject_maybe(&e->inj, e->cycles, period_ns);
	e->cycles++;
	e->frames += n;
	dt = clock_now_ns() - t0;
	e->total_ns += dt;
	if (dt > e->max_ns)
		e->max_ns = dt;
	if (dt > period_ns)
		e->overruns++;
	if (e->frames_target != 0 && e->frames >= e->frames_target)
		atomic_store_explicit(&e->done, 1, memory_order_release);
}

int engine_done(struct engine *e)
{
	return atomic_load_explicit(&e->done, memory_order_acquire) ||
	       atomic_load_explicit(&e->stop, memory_order_relaxed);
}

void engine_request_stop(struct engine *e)
{
	atomic_store_explicit(&e->stop, 1, memory_order_relaxed);
}

void engine_wait_ready(struct engine *e)
{
	for (;;) {
		int busy = 0;

		if (engine_done(e))
			return;
		if (e->cfg.output != NULL && pool_available(&e->pool) < 2)
			busy = 1;
		if (e->inj.kind == INJECT_ALLOC &&
		    spsc_count(&e->inj.reclaim) > spsc_capacity(&e->inj.reclaim) / 2)
			busy = 1;
		if (!busy || !e->cfg.threads)
			return;
		clock_sleep_ns(200000);
	}
}

/* ---------------------------------------------------------------- helper threads */

static void *control_main(void *arg)
{
	struct engine *e = arg;
	uint64_t start = clock_now_ns(), next_eq = start + EQ_UPDATE_NS;

	pthread_setname_np(pthread_self(), "dsp-control");
	while (!atomic_load_explicit(&e->quit, memory_order_acquire)) {
		uint64_t now = clock_now_ns();

		inject_service(&e->inj);
		if (now >= next_eq) {
			/* Sweep the 1 kHz band between -6 and 0 dB, one cycle in 4 s: a
			 * "user" turning a knob while the audio runs. */
			double t = (now - start) * 1e-9;
			struct eq_band band;

			pthread_mutex_lock(&e->param_lock);
			band = e->eq.band[3];
			band.gain_db = (float)(-3.0 + 3.0 * sin(2.0 * M_PI * 0.25 * t));
			if (eq_set_band(&e->eq, 3, &band) == 0)
				next_eq += EQ_UPDATE_NS;  /* else: the callback has not taken the
							   * last set yet; try on the next tick */
			pthread_mutex_unlock(&e->param_lock);
		}
		clock_sleep_ns(CONTROL_TICK_NS);
	}
	inject_service(&e->inj);
	return NULL;
}

static void *writer_main(void *arg)
{
	struct engine *e = arg;

	pthread_setname_np(pthread_self(), "dsp-writer");
	for (;;) {
		/* Read quit before draining: everything pushed before quit was set is
		 * drained by this pass. */
		int quit = atomic_load_explicit(&e->quit, memory_order_acquire);
		struct pool_buf *b;

		while ((b = spsc_pop(&e->outq)) != NULL) {
			wav_writer_write(&e->wav, b->ch, b->frames);
			pool_release(&e->pool, b);
		}
		if (quit)
			break;
		clock_sleep_ns(WRITER_TICK_NS);
	}
	return NULL;
}

/* ---------------------------------------------------------------- life cycle */

int engine_create(struct engine **out, const struct engine_config *cfg, char *err,
		  size_t errlen)
{
	struct engine *e;
	unsigned nbuf;
	uint64_t expected = 0;
	double interval;

	*out = NULL;
	e = calloc(1, sizeof *e);
	if (e == NULL) {
		snprintf(err, errlen, "out of memory");
		return 1;
	}
	e->cfg = *cfg;
	if (e->cfg.period == 0 || e->cfg.rate == 0) {
		snprintf(err, errlen, "engine: rate and period must be positive");
		free(e);
		return 1;
	}
	if (cfg->duration > 0)
		e->frames_target = (uint64_t)llround(cfg->duration * cfg->rate);
	if (e->frames_target == 0 && cfg->duration > 0)
		e->frames_target = 1;
	pthread_mutex_init(&e->param_lock, NULL);
	atomic_init(&e->done, 0);
	atomic_init(&e->stop, 0);
	atomic_init(&e->quit, 0);

	if (cfg->input != NULL)
		source_init_wav(&e->src, cfg->input);
	else
		source_init_generator(&e->src, cfg->rate);
	eq_init(&e->eq, (float)cfg->rate);
	if (analyser_init(&e->fft, cfg->fft_planner, ANALYSER_HOP) != 0) {
		snprintf(err, errlen, "cannot set up the %d-point FFT (FFTW plan)", FFT_SIZE);
		goto fail;
	}
	interval = (double)(ANALYSER_HOP > cfg->period ? ANALYSER_HOP : cfg->period) / cfg->rate;
	if (smooth_init(&e->smooth, FFT_SIZE, (float)cfg->rate, 3.0f, 20.0f, 300.0f,
			(float)interval) != 0)
		goto nomem;

	nbuf = (unsigned)(POOL_SECONDS * cfg->rate / cfg->period);
	if (nbuf < 16)
		nbuf = 16;
	if (nbuf > 1024)
		nbuf = 1024;
	if (pool_init(&e->pool, nbuf, cfg->period) != 0 || spsc_init(&e->outq, nbuf) != 0)
		goto nomem;
	e->scratch_mem = calloc((size_t)2 * cfg->period, sizeof(float));
	if (e->scratch_mem == NULL)
		goto nomem;
	e->scratch.ch[0] = e->scratch_mem;
	e->scratch.ch[1] = e->scratch_mem + cfg->period;
	e->scratch.index = UINT32_MAX;

	if (e->frames_target != 0 && cfg->inject_every != 0)
		expected = (e->frames_target + cfg->period - 1) / cfg->period / cfg->inject_every;
	if (inject_init(&e->inj, cfg->inject, cfg->inject_every, cfg->inject_spin_us, expected,
			&e->param_lock) != 0) {
		snprintf(err, errlen, "cannot set up --inject %s: %s", inject_name(cfg->inject),
			 strerror(errno));
		goto fail;
	}

	if (cfg->output != NULL) {
		char werr[512];

		e->output_path = strdup(cfg->output);
		if (e->output_path == NULL)
			goto nomem;
		if (wav_writer_open(&e->wav, cfg->output, cfg->rate, 2, cfg->out_format,
				    werr, sizeof werr) != 0) {
			snprintf(err, errlen, "%s", werr);
			engine_destroy(e);
			return 3;
		}
	}
	*out = e;
	return 0;
nomem:
	snprintf(err, errlen, "out of memory");
fail:
	engine_destroy(e);
	return 1;
}

int engine_start(struct engine *e, char *err, size_t errlen)
{
	int rc;

	if (!e->cfg.threads)
		return 0;
	rc = pthread_create(&e->control, NULL, control_main, e);
	if (rc != 0) {
		snprintf(err, errlen, "cannot start the control thread: %s", strerror(rc));
		return -1;
	}
	e->control_started = 1;
	if (e->cfg.output != NULL) {
		rc = pthread_create(&e->writer, NULL, writer_main, e);
		if (rc != 0) {
			snprintf(err, errlen, "cannot start the writer thread: %s", strerror(rc));
			return -1;
		}
		e->writer_started = 1;
	}
	return 0;
}

static void stop_threads(struct engine *e)
{
	atomic_store_explicit(&e->quit, 1, memory_order_release);
	if (e->control_started)
		pthread_join(e->control, NULL);
	if (e->writer_started)
		pthread_join(e->writer, NULL);
	e->control_started = e->writer_started = 0;
}

int engine_finish(struct engine *e, struct engine_stats *st, char *err, size_t errlen)
{
	struct pool_buf *b;
	int rc = 0;
	unsigned best = 1;

	stop_threads(e);
	/* Without a writer thread (engine_start not called), drain here. */
	while ((b = spsc_pop(&e->outq)) != NULL) {
		if (e->wav.f != NULL)
			wav_writer_write(&e->wav, b->ch, b->frames);
		pool_release(&e->pool, b);
	}
	memset(st, 0, sizeof *st);
	st->written = e->wav.frames;
	if (e->wav.f != NULL) {
		char werr[256];

		if (wav_writer_close(&e->wav, werr, sizeof werr) != 0) {
			snprintf(err, errlen, "%s: %s", e->output_path, werr);
			rc = 3;
		}
	}
	st->cycles = e->cycles;
	st->frames = e->frames;
	st->max_ns = e->max_ns;
	st->total_ns = e->total_ns;
	st->overruns = e->overruns;
	st->dropped = e->dropped;
	st->injected = inject_count(&e->inj);
	st->inject_missed = atomic_load(&e->inj.missed);
	st->eq_updates = atomic_load(&e->eq.updates);
	st->fft_runs = e->fft.runs;
	st->pool_low = atomic_load(&e->pool.low_water);
	/* The raw last spectrum: smoothing would smear a pure tone towards lower bins. */
	for (unsigned k = 2; k < FFT_BINS; k++)
		if (e->fft.db[k] > e->fft.db[best])
			best = k;
	st->peak_hz = (double)best * e->cfg.rate / FFT_SIZE;
	st->peak_db = e->fft.db[best];
	return rc;
}

void engine_destroy(struct engine *e)
{
	char err[64];

	if (e == NULL)
		return;
	stop_threads(e);
	if (e->wav.f != NULL)
		wav_writer_close(&e->wav, err, sizeof err);
	inject_fini(&e->inj);
	spsc_free(&e->outq);
	pool_free(&e->pool);
	smooth_free(&e->smooth);
	analyser_free(&e->fft);
	free(e->scratch_mem);
	free(e->output_path);
	pthread_mutex_destroy(&e->param_lock);
	free(e);
}
