/* backend_null.c - the null and freewheel backends: no device, one audio thread.
 * null paces itself like a sound card would: cycle k starts at t0 + k * period / rate
 * (absolute deadlines with clock_nanosleep(TIMER_ABSTIME), so errors never accumulate)
 * and must finish before cycle k + 1 is due; a cycle that ends late counts as an xrun
 * and restarts the clock, as a device restarting after an underrun would.
 * freewheel runs cycles back to back, waiting only (outside the callback) for the WAV
 * writer and the control thread to catch up. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "audioprof.h"
#include "backend.h"
#include "clock.h"
#include "engine.h"

#define NULL_RT_PRIORITY 70

struct null_run {
	struct backend *b;
	struct engine *e;
};

/* The time from t0 at which cycle k starts, exactly (no drift over long runs). */
static uint64_t cycle_start(const struct backend *b, uint64_t k)
{
	return (uint64_t)((unsigned __int128)k * b->period * 1000000000u / b->rate);
}

static void *null_thread(void *arg)
{
	struct null_run *r = arg;
	struct backend *b = r->b;
	struct engine *e = r->e;
	int freewheel = b->kind == BACKEND_FREEWHEEL;
	uint64_t t0 = clock_now_ns(), k = 0;

	pthread_setname_np(pthread_self(), freewheel ? "dsp-freewheel" : "dsp-null");
	AUDIOPROF_RT_PERIOD("dsp_demo", (uint32_t)b->period, (uint32_t)b->rate);
	while (!engine_done(e)) {
		if (freewheel)
			engine_wait_ready(e);
		else
			clock_sleep_until(t0 + cycle_start(b, k));
		if (engine_done(e))
			break;
		AUDIOPROF_RT_ENTER("dsp_demo");
		dsp_process(e, NULL, NULL, b->period);
		AUDIOPROF_RT_EXIT();
		k++;
		if (!freewheel) {
			uint64_t now = clock_now_ns();

			if (now > t0 + cycle_start(b, k)) {
				b->xruns++;
				t0 = now;
				k = 0;
			}
		}
	}
	return NULL;
}

int backend_null_run(struct backend *b, struct engine *e, char *err, size_t errlen)
{
	struct null_run r = { b, e };
	pthread_t t;
	int rc;

	rc = backend_thread_start(b, &t, null_thread, &r,
				  b->kind == BACKEND_NULL ? NULL_RT_PRIORITY : 0);
	if (rc != 0) {
		snprintf(err, errlen, "cannot start the audio thread: %s", strerror(rc));
		return -1;
	}
	pthread_join(t, NULL);
	return 0;
}
