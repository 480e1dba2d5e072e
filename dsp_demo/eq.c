/* eq.c - the 8-band RBJ biquad equaliser of eq.h: coefficient design (Robert
 * Bristow-Johnson's cookbook formulas), the per-block filter loop, and the double-buffered
 * coefficient hand-over between the control thread and the callback. */
#include "eq.h"

#include <math.h>
#include <string.h>

static const struct eq_band default_bands[EQ_BANDS] = {
	{ EQ_LOWSHELF,    80.0f,  3.0f, 0.707f },
	{ EQ_PEAK,       160.0f, -2.0f, 1.0f },
	{ EQ_PEAK,       400.0f,  1.5f, 1.2f },
	{ EQ_PEAK,      1000.0f, -3.0f, 1.4f },
	{ EQ_PEAK,      2500.0f,  2.0f, 1.0f },
	{ EQ_PEAK,      5000.0f, -1.5f, 1.2f },
	{ EQ_PEAK,      9000.0f,  1.0f, 0.9f },
	{ EQ_HIGHSHELF, 12000.0f, -2.0f, 0.707f },
};

/* ---------------------------------------------------------------- design */

void biquad_design(struct biquad *c, const struct eq_band *band, float rate)
{
	double f = band->freq, q = band->q > 0.05f ? band->q : 0.05;
	double A, w0, cw, sw, alpha, sa, b0, b1, b2, a0, a1, a2;

	if (f > 0.45 * rate)                      /* keep below Nyquist at any rate */
		f = 0.45 * rate;
	if (f < 10.0)
		f = 10.0;
	A = pow(10.0, band->gain_db / 40.0);
	w0 = 2.0 * M_PI * f / rate;
	cw = cos(w0);
	sw = sin(w0);
	alpha = sw / (2.0 * q);
	sa = 2.0 * sqrt(A) * alpha;
	switch (band->type) {
	case EQ_LOWSHELF:
		b0 = A * ((A + 1) - (A - 1) * cw + sa);
		b1 = 2 * A * ((A - 1) - (A + 1) * cw);
		b2 = A * ((A + 1) - (A - 1) * cw - sa);
		a0 = (A + 1) + (A - 1) * cw + sa;
		a1 = -2 * ((A - 1) + (A + 1) * cw);
		a2 = (A + 1) + (A - 1) * cw - sa;
		break;
	case EQ_HIGHSHELF:
		b0 = A * ((A + 1) + (A - 1) * cw + sa);
		b1 = -2 * A * ((A - 1) + (A + 1) * cw);
		b2 = A * ((A + 1) + (A - 1) * cw - sa);
		a0 = (A + 1) - (A - 1) * cw + sa;
		a1 = 2 * ((A - 1) - (A + 1) * cw);
		a2 = (A + 1) - (A - 1) * cw - sa;
		break;
	case EQ_PEAK:
	default:
		b0 = 1 + alpha * A;
		b1 = -2 * cw;
		b2 = 1 - alpha * A;
		a0 = 1 + alpha / A;
		a1 = -2 * cw;
		a2 = 1 - alpha / A;
		break;
	}
	c->b0 = (float)(b0 / a0);
	c->b1 = (float)(b1 / a0);
	c->b2 = (float)(b2 / a0);
	c->a1 = (float)(a1 / a0);
	c->a2 = (float)(a2 / a0);
}

static void design_all(struct eq_coefs *set, const struct eq_band *band, float rate)
{
	for (unsigned i = 0; i < EQ_BANDS; i++)
		biquad_design(&set->band[i], &band[i], rate);
}

void eq_init(struct eq *eq, float rate)
{
	memset(eq, 0, sizeof *eq);
	eq->rate = rate;
	memcpy(eq->band, default_bands, sizeof eq->band);
	design_all(&eq->set[0], eq->band, rate);
	eq->set[1] = eq->set[0];
	atomic_init(&eq->active, 0);
	atomic_init(&eq->acked, 0);
	atomic_init(&eq->updates, 0);
}

/* ---------------------------------------------------------------- control thread */

int eq_set_band(struct eq *eq, unsigned index, const struct eq_band *band)
{
	unsigned cur = atomic_load_explicit(&eq->active, memory_order_relaxed);
	unsigned next = cur ^ 1;

	if (index >= EQ_BANDS)
		return -1;
	/* The callback may still be reading set[next] until it has loaded `cur`. */
	if (atomic_load_explicit(&eq->acked, memory_order_acquire) != cur)
		return -1;
	eq->band[index] = *band;
	design_all(&eq->set[next], eq->band, eq->rate);
	atomic_store_explicit(&eq->active, next, memory_order_release);
	atomic_fetch_add_explicit(&eq->updates, 1, memory_order_relaxed);
	return 0;
}

/* ---------------------------------------------------------------- callback */

void biquad_run(const struct biquad *c, float z[2], float *x, unsigned n)
{
	const float b0 = c->b0, b1 = c->b1, b2 = c->b2, a1 = c->a1, a2 = c->a2;
	float z1 = z[0], z2 = z[1];

	for (unsigned i = 0; i < n; i++) {
		float in = x[i];
		float out = b0 * in + z1;

		z1 = b1 * in - a1 * out + z2;
		z2 = b2 * in - a2 * out;
		x[i] = out;
	}
	z[0] = z1;
	z[1] = z2;
}

/* Both channels in one loop: a biquad is bound by the latency of its feedback chain,
 * and two independent chains run in parallel on any out-of-order CPU (about 2x). */
static void biquad_run_stereo(const struct biquad *c, float zl[2], float zr[2],
			      float *l, float *r, unsigned n)
{
	const float b0 = c->b0, b1 = c->b1, b2 = c->b2, a1 = c->a1, a2 = c->a2;
	float l1 = zl[0], l2 = zl[1], r1 = zr[0], r2 = zr[1];

	for (unsigned i = 0; i < n; i++) {
		float xl = l[i], xr = r[i];
		float yl = b0 * xl + l1, yr = b0 * xr + r1;

		l1 = b1 * xl - a1 * yl + l2;
		r1 = b1 * xr - a1 * yr + r2;
		l2 = b2 * xl - a2 * yl;
		r2 = b2 * xr - a2 * yr;
		l[i] = yl;
		r[i] = yr;
	}
	zl[0] = l1;
	zl[1] = l2;
	zr[0] = r1;
	zr[1] = r2;
}

void eq_process(struct eq *eq, float *left, float *right, unsigned n)
{
	unsigned i = atomic_load_explicit(&eq->active, memory_order_acquire);
	const struct eq_coefs *c = &eq->set[i];

	atomic_store_explicit(&eq->acked, i, memory_order_release);
	for (unsigned b = 0; b < EQ_BANDS; b++)
		biquad_run_stereo(&c->band[b], eq->z[0][b], eq->z[1][b], left, right, n);
}
