/* stats.c - statistics on duration histograms (stats.h): quantiles, pooling, the
 * Mann-Whitney U test, and a bootstrap confidence interval for the relative change of
 * a quantile. Callback durations are skewed and heavy-tailed, so nothing here assumes
 * a normal distribution of the durations themselves.
 *
 * What a histogram knows. A bucket says how many durations fell between its edges,
 * not where: every method below treats the durations of one bucket as spread evenly
 * across it (the "grouped data" reading, with a piecewise-linear distribution
 * function), and as tied with each other where only their order matters.
 *
 * Quantiles: the grouped-data formula, L + (qN - F) / f * w for the bucket [L, L + w)
 * holding the (qN)th duration, F durations below it and f in it; kept within the exact
 * [min, max] the preload also records.
 *
 * Mann-Whitney U: each bucket is one group of ties (midranks), U of the new sample is
 * the number of (base, new) pairs with the new duration in a higher bucket, plus half
 * the pairs in the same bucket. Large samples only (a callback runs hundreds of times
 * a second), so the p-value is the normal approximation with the tie correction of
 * the variance, n1 n2 / 12 ((N + 1) - sum(t^3 - t) / (N (N - 1))), and a continuity
 * correction of 1/2, as R's wilcox.test and SciPy's mannwhitneyu do by default.
 *
 * Confidence interval of the change of a quantile: a percentile bootstrap, chosen over
 * the order-statistic intervals because
 *  - order statistics give an exact distribution-free interval for one quantile, but
 *    not for the ratio of two: joining two such intervals (each at sqrt(level)) gives a
 *    rectangle whose corners bound the ratio, valid but about 1.6 times as wide as
 *    needed, which hides the slowdowns a CI gate is for;
 *  - the bootstrap needs no formula for the ratio, and here it costs nothing per
 *    duration: the k-th smallest of n durations drawn from a continuous distribution F
 *    is F^-1(B) with B ~ Beta(k, n + 1 - k) (the k-th smallest of n uniforms), so one
 *    resample of a side is one Beta draw and one look-up in its histogram, the same
 *    for three seconds of cycles as for ten hours. Resampling from the histogram's
 *    piecewise-linear F (a smoothed bootstrap) is all the data allow anyway;
 *  - it is deterministic: the generator is our own (xoshiro256**, seeded by
 *    splitmix64 from a fixed constant), so the same two profiles give the same
 *    interval on every run (and, libm's last bits aside, on every machine): a CI
 *    verdict never flips on a re-run of the comparison.
 * The p-value of "no change" comes from the same resamples (twice the share of them
 * on the far side of 0, as criterion's), so it agrees with the interval: p < 1 - level
 * when the interval leaves 0 out.
 * The resampled quantile is the order statistic of rank q (n + 1), clamped to 1..n
 * (a fractional rank extends the Beta law to non-integer parameters, as the
 * Harrell-Davis estimator does). The bootstrap is known to be poor for quantiles with
 * few durations beyond them (p99 of 300 cycles has 3): stats_change.tail says how
 * many there are, for the caller to warn.
 *
 * Runs, not cycles, are the unit of a comparison. The cycles of one run share its
 * conditions (CPU frequency, the core, other load on the machine): two clean 3-second
 * runs of dsp_demo on this 2-core machine differed by 19 % in their medians, with
 * cycle-level intervals of +-1 % (and a Mann-Whitney p of 1e-29). So with several runs a
 * side, stats_quantile_change_runs resamples in two stages (a cluster bootstrap):
 * first the runs, with replacement, then the pooled quantile of the runs drawn, as
 * above. With one run a side nothing measures the spread between runs, and the
 * interval and the U test cover the cycles' noise only. With few runs the first stage
 * knows the spread only roughly (k runs give k^k resamples at most), so the interval
 * is then somewhat too narrow: simulated runs of 300 cycles, each run a random 5 %
 * faster or slower, missed with a 95 % interval of the median in 11 % of 400
 * comparisons with four runs a side, 7 % with eight (and 50 % with the cycles of the
 * four runs pooled and bootstrapped as one sample). So with three runs or more in all,
 * the runs are also taken as the replicates they are: Welch's t test on the logs of
 * each run's quantile (log: a slowdown scales durations; with one run on a side, the
 * other side's spread stands for its), whose interval, with the t distribution's
 * heavier tails for few runs, is as wide as the spread between runs calls for. A
 * change counts only when both say so: the union of the two intervals, the larger of
 * the two p-values. On dsp_demo, whose clean runs differ by up to 20 % in their
 * medians on this 2-core machine, that took clean-against-clean false alarms with three
 * runs a side from 42 to 12 of 120 comparisons of the same profiles, and a 40 us
 * slowdown was still found in 80 of 80 (bench/diffnoise.sh --also, with the zones held
 * together as diff.c does). */
#include "stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ histograms */

void stats_hist_init(struct stats_hist *h)
{
	memset(h, 0, sizeof *h);
}

int stats_hist_add(struct stats_hist *h, uint64_t ns, uint64_t times)
{
	unsigned b = durhist_bucket(ns);

	if (times == 0)
		return 0;
	if (h->count + times < h->count || h->n[b] + times < h->n[b])
		return -1;
	if (h->count == 0 || ns < h->min)
		h->min = ns;
	if (h->count == 0 || ns > h->max)
		h->max = ns;
	h->n[b] += times;
	h->count += times;
	return 0;
}

/* The largest whole-ns duration bucket b holds. */
static uint64_t bucket_top(unsigned b)
{
	return durhist_lower(b) + durhist_width(b) - 1;
}

int stats_hist_set(struct stats_hist *h, const uint64_t *counts, size_t nbuckets,
		   uint64_t min, uint64_t max)
{
	unsigned first = DURHIST_BUCKETS, last = 0;

	stats_hist_init(h);
	if (nbuckets != DURHIST_BUCKETS)
		return -1;
	for (unsigned b = 0; b < DURHIST_BUCKETS; b++) {
		if (counts[b] == 0)
			continue;
		if (h->count + counts[b] < h->count) {
			stats_hist_init(h);
			return -1;
		}
		h->n[b] = counts[b];
		h->count += counts[b];
		if (first == DURHIST_BUCKETS)
			first = b;
		last = b;
	}
	if (h->count == 0)
		return 0;
	if (min == 0 && max == 0) {
		min = durhist_lower(first);
		max = bucket_top(last);
	}
	if (min > max || durhist_bucket(min) != first || durhist_bucket(max) != last) {
		stats_hist_init(h);
		return -1;
	}
	h->min = min;
	h->max = max;
	return 0;
}

int stats_pool(struct stats_hist *out, const struct stats_hist *const *in, size_t k)
{
	struct stats_hist sum;

	stats_hist_init(&sum);
	for (size_t i = 0; i < k; i++) {
		const struct stats_hist *h = in[i];

		if (h->count == 0)
			continue;
		if (sum.count + h->count < sum.count)
			goto overflow;
		for (unsigned b = 0; b < DURHIST_BUCKETS; b++)
			sum.n[b] += h->n[b];     /* each <= its count: no overflow once the
						  * counts' sum fits */
		if (sum.count == 0 || h->min < sum.min)
			sum.min = h->min;
		if (sum.count == 0 || h->max > sum.max)
			sum.max = h->max;
		sum.count += h->count;
	}
	*out = sum;
	return 0;
overflow:
	stats_hist_init(out);
	return -1;
}

/* ------------------------------------------------------------------ quantiles */

/* A histogram's non-empty buckets with their running counts, for repeated look-ups of
 * its inverse distribution function. */
struct qtab {
	unsigned k;                       /* non-empty buckets */
	unsigned b[DURHIST_BUCKETS];      /* their indices, rising */
	uint64_t cum[DURHIST_BUCKETS];    /* durations in them and all below */
	double min, max;
};

static void qtab_build(struct qtab *t, const struct stats_hist *h)
{
	uint64_t cum = 0;

	t->k = 0;
	for (unsigned b = 0; b < DURHIST_BUCKETS; b++) {
		if (h->n[b] == 0)
			continue;
		cum += h->n[b];
		t->b[t->k] = b;
		t->cum[t->k] = cum;
		t->k++;
	}
	t->min = (double)h->min;
	t->max = (double)h->max;
}

/* The duration with r (0 <= r <= count, fractional) durations below it: the grouped
 * data formula in the bucket holding the r-th. t must have a non-empty bucket. */
static double qtab_at(const struct qtab *t, double r)
{
	unsigned lo = 0, hi = t->k - 1;
	double below, x;

	while (lo < hi) {                         /* first bucket with cum >= r */
		unsigned mid = lo + (hi - lo) / 2;

		if ((double)t->cum[mid] >= r)
			hi = mid;
		else
			lo = mid + 1;
	}
	below = lo ? (double)t->cum[lo - 1] : 0.0;
	x = (double)durhist_lower(t->b[lo]) +
	    (r - below) / ((double)t->cum[lo] - below) * (double)durhist_width(t->b[lo]);
	return x < t->min ? t->min : x > t->max ? t->max : x;
}

double stats_quantile(const struct stats_hist *h, double q)
{
	struct qtab t;

	if (h->count == 0 || !(q >= 0.0 && q <= 1.0))
		return NAN;
	qtab_build(&t, h);
	return qtab_at(&t, q * (double)h->count);
}

/* ------------------------------------------------------------------ Mann-Whitney */

int stats_mann_whitney(const struct stats_hist *base, const struct stats_hist *new,
		       struct stats_mw *out)
{
	long double n1 = (long double)base->count, n2 = (long double)new->count;
	long double N = n1 + n2, below = 0, u = 0, ties = 0, mean, var, d;

	if (base->count == 0 || new->count == 0)
		return -1;
	for (unsigned b = 0; b < DURHIST_BUCKETS; b++) {
		long double a = (long double)base->n[b], c = (long double)new->n[b], t = a + c;

		u += c * (below + a / 2);
		ties += t * (t * t - 1);
		below += a;
	}
	mean = n1 * n2 / 2;
	var = n1 * n2 / 12 * ((N + 1) - ties / (N * (N - 1)));
	d = u - mean;
	out->u = (double)u;
	out->effect = (double)(u / (n1 * n2));
	out->z = 0;
	if (var > 0 && fabsl(d) > 0.5L)
		out->z = (double)((fabsl(d) - 0.5L) / sqrtl(var)) * (d > 0 ? 1 : -1);
	out->p = erfc(fabs(out->z) / M_SQRT2);
	if (out->p > 1)
		out->p = 1;
	return 0;
}

/* ------------------------------------------------------------------ bootstrap */

/* xoshiro256** (Blackman and Vigna), seeded through splitmix64. */
struct rng { uint64_t s[4]; };

#define STATS_SEED 0x6175646970726f66ull          /* "audiprof" */

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static void rng_seed(struct rng *r, uint64_t seed)
{
	for (int i = 0; i < 4; i++)
		r->s[i] = splitmix64(&seed);
}

static inline uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static uint64_t rng_next(struct rng *r)
{
	uint64_t *s = r->s, out = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return out;
}

/* Uniform in (0, 1), never 0 or 1. */
static double rng_uniform(struct rng *r)
{
	return ((double)(rng_next(r) >> 11) + 0.5) * 0x1.0p-53;
}

/* Standard normal (Marsaglia's polar method; the second value is dropped). */
static double rng_normal(struct rng *r)
{
	double x, y, s;

	do {
		x = 2 * rng_uniform(r) - 1;
		y = 2 * rng_uniform(r) - 1;
		s = x * x + y * y;
	} while (s >= 1 || s == 0);
	return x * sqrt(-2 * log(s) / s);
}

/* Gamma(a, 1) for a >= 1 (Marsaglia and Tsang, 2000). */
static double rng_gamma(struct rng *r, double a)
{
	double d = a - 1.0 / 3, c = 1 / sqrt(9 * d);

	for (;;) {
		double x = rng_normal(r), v = 1 + c * x, u;

		if (v <= 0)
			continue;
		v = v * v * v;
		u = rng_uniform(r);
		if (u < 1 - 0.0331 * (x * x) * (x * x) ||
		    log(u) < 0.5 * x * x + d * (1 - v + log(v)))
			return d * v;
	}
}

/* Beta(a, b) for a, b >= 1. */
static double rng_beta(struct rng *r, double a, double b)
{
	double x = rng_gamma(r, a), y = rng_gamma(r, b);

	return x / (x + y);
}

/* One bootstrap draw of a side's q-quantile: the order statistic of rank k (k in
 * [1, n]) of n durations from the histogram's distribution. */
static double draw_quantile(struct rng *r, const struct qtab *t, double n, double k)
{
	return qtab_at(t, rng_beta(r, k, n + 1 - k) * n);
}

static double rank_of(double q, uint64_t n)
{
	double k = q * ((double)n + 1);

	return k < 1 ? 1 : k > (double)n ? (double)n : k;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* The p-quantile of the sorted v[0..n-1], interpolated between neighbours. */
static double sorted_quantile(const double *v, size_t n, double p)
{
	double h = p * (double)(n - 1);
	size_t i = (size_t)h;

	if (i + 1 >= n)
		return v[n - 1];
	return v[i] + (h - (double)i) * (v[i + 1] - v[i]);
}

/* The smaller of the shares of the sorted v[0..n-1] at or below 0 and at or above 0. */
static double tail_share(const double *v, size_t n)
{
	size_t below = 0, above = 0;

	while (below < n && v[below] <= 0)
		below++;
	while (above < n && v[n - 1 - above] >= 0)
		above++;
	return (double)(below < above ? below : above) / (double)n;
}

/* One side of stats_quantile_change_runs: its runs, their pooled histogram, and room
 * for a resample's pool. */
struct side {
	const struct stats_hist *const *run;
	size_t k;                         /* runs */
	struct stats_hist pooled;         /* all runs */
	unsigned nu;                      /* buckets not empty in some run */
	unsigned ub[DURHIST_BUCKETS];     /* ... their indices, rising */
	uint64_t cnt[DURHIST_BUCKETS];    /* one resample's runs pooled, per ub[] */
	struct qtab all, t;               /* of pooled, of one resample */
};

static void side_init(struct side *s, const struct stats_hist *const *run, size_t k)
{
	s->run = run;
	s->k = k;
	s->nu = 0;
	for (unsigned b = 0; b < DURHIST_BUCKETS; b++)
		if (s->pooled.n[b] != 0)
			s->ub[s->nu++] = b;
	qtab_build(&s->all, &s->pooled);
}

/* One bootstrap draw of the side's pooled q-quantile: k runs drawn with replacement
 * and pooled (skipped for one run, so that one run a side is exactly the plain
 * bootstrap), then the order statistic of rank q (n + 1) of that pool. Only the
 * buckets some run uses are visited: a callback's durations fill a few dozen. */
static double side_draw(struct rng *r, struct side *s, double q)
{
	const struct qtab *t = &s->all;
	uint64_t n = s->pooled.count, min = 0, max = 0, cum = 0;

	if (s->k > 1) {
		memset(s->cnt, 0, s->nu * sizeof s->cnt[0]);
		n = 0;
		for (size_t i = 0; i < s->k; i++) {
			const struct stats_hist *h =
				s->run[(size_t)(((rng_next(r) >> 32) * (uint64_t)s->k) >> 32)];

			for (unsigned j = 0; j < s->nu; j++)
				s->cnt[j] += h->n[s->ub[j]];
			if (n == 0 || h->min < min)
				min = h->min;
			if (n == 0 || h->max > max)
				max = h->max;
			n += h->count;        /* runs are not empty (checked) */
		}
		s->t.k = 0;
		for (unsigned j = 0; j < s->nu; j++) {
			if (s->cnt[j] == 0)
				continue;
			cum += s->cnt[j];
			s->t.b[s->t.k] = s->ub[j];
			s->t.cum[s->t.k] = cum;
			s->t.k++;
		}
		s->t.min = (double)min;
		s->t.max = (double)max;
		t = &s->t;
	}
	return draw_quantile(r, t, (double)n, rank_of(q, n));
}

/* ------------------------------------------------------------------ runs as replicates */

/* The continued fraction of the regularized incomplete beta function I_x(a, b)
 * (modified Lentz), for x < (a + 1) / (a + b + 2), where it converges fast. */
static double beta_cf(double a, double b, double x)
{
	const double tiny = 1e-300;
	double c = 1, d = 1 - (a + b) * x / (a + 1), h;

	if (fabs(d) < tiny)
		d = tiny;
	d = 1 / d;
	h = d;
	for (int m = 1; m <= 300; m++) {
		double m2 = 2.0 * m, aa = m * (b - m) * x / ((a - 1 + m2) * (a + m2)), del;

		d = 1 + aa * d;
		d = fabs(d) < tiny ? 1 / tiny : 1 / d;
		c = 1 + aa / c;
		if (fabs(c) < tiny)
			c = tiny;
		h *= d * c;
		aa = -(a + m) * (a + b + m) * x / ((a + m2) * (a + 1 + m2));
		d = 1 + aa * d;
		d = fabs(d) < tiny ? 1 / tiny : 1 / d;
		c = 1 + aa / c;
		if (fabs(c) < tiny)
			c = tiny;
		del = d * c;
		h *= del;
		if (fabs(del - 1) < 1e-15)
			break;
	}
	return h;
}

static double beta_inc(double a, double b, double x)
{
	if (x <= 0)
		return 0;
	if (x >= 1)
		return 1;
	double front = exp(lgamma(a + b) - lgamma(a) - lgamma(b) + a * log(x) + b * log1p(-x));
	if (x < (a + 1) / (a + b + 2))
		return front * beta_cf(a, b, x) / a;
	return 1 - front * beta_cf(b, a, 1 - x) / b;
}

double stats_t_two_sided(double t, double df)
{
	if (!(df > 0) || isnan(t))
		return NAN;
	return beta_inc(df / 2, 0.5, df / (df + t * t));
}

double stats_t_critical(double alpha, double df)
{
	double lo = 0, hi = 1;

	if (!(alpha > 0 && alpha < 1) || !(df > 0))
		return NAN;
	while (stats_t_two_sided(hi, df) > alpha && hi < 1e12)
		hi *= 2;
	for (int i = 0; i < 200 && hi - lo > 1e-12 * hi; i++) {
		double mid = (lo + hi) / 2;

		if (stats_t_two_sided(mid, df) > alpha)
			lo = mid;
		else
			hi = mid;
	}
	return (lo + hi) / 2;
}

/* Mean and (unbiased) variance of the logs of each run's q-quantile. */
static void log_quantiles(const struct stats_hist *const *run, size_t k, double q,
			  double *mean, double *var)
{
	double m = 0, ss = 0;

	for (size_t i = 0; i < k; i++)
		m += log(stats_quantile(run[i], q));
	m /= (double)k;
	for (size_t i = 0; i < k; i++) {
		double d = log(stats_quantile(run[i], q)) - m;

		ss += d * d;
	}
	*mean = m;
	*var = k > 1 ? ss / (double)(k - 1) : 0;
}

int stats_runs_t(const struct stats_hist *const *base, size_t nbase,
		 const struct stats_hist *const *new, size_t nnew, double q, double level,
		 struct stats_runs_t *out)
{
	double mb, vb, mn, vn, se2, df;

	if (nbase == 0 || nnew == 0 || nbase + nnew < 3 || !(q > 0 && q < 1) ||
	    !(level > 0 && level < 1))
		return -1;
	for (size_t i = 0; i < nbase || i < nnew; i++)
		if ((i < nbase && !(stats_quantile(base[i], q) > 0)) ||
		    (i < nnew && !(stats_quantile(new[i], q) > 0)))
			return -1;
	log_quantiles(base, nbase, q, &mb, &vb);
	log_quantiles(new, nnew, q, &mn, &vn);
	if (nbase > 1 && nnew > 1) {
		/* Welch: each side its own spread, Welch-Satterthwaite degrees of freedom. */
		double eb = vb / (double)nbase, en = vn / (double)nnew;

		se2 = eb + en;
		df = se2 > 0 ? se2 * se2 / (eb * eb / (double)(nbase - 1) +
					    en * en / (double)(nnew - 1)) : (double)(nbase + nnew - 2);
	} else {
		/* One run on a side: its spread is taken to be the other side's. */
		double v = nbase > 1 ? vb : vn;

		se2 = v * (1.0 / (double)nbase + 1.0 / (double)nnew);
		df = (double)(nbase > 1 ? nbase : nnew) - 1;
	}
	double d = mn - mb, se = sqrt(se2), tc = stats_t_critical(1 - level, df);

	out->change = exp(d) - 1;
	out->df = df;
	if (!(se > 0)) {
		out->lo = out->hi = out->change;
		out->p = d == 0 ? 1 : 0;
		return 0;
	}
	out->lo = exp(d - tc * se) - 1;
	out->hi = exp(d + tc * se) - 1;
	out->p = stats_t_two_sided(d / se, df);
	return 0;
}

int stats_quantile_change_runs(const struct stats_hist *const *base, size_t nbase,
			       const struct stats_hist *const *new, size_t nnew,
			       double q, double level, unsigned resamples,
			       struct stats_change *out)
{
	struct side *sb = NULL, *sn = NULL;
	double *ratio = NULL;
	uint64_t small;
	struct rng rng;
	int rc = -1;

	if (nbase == 0 || nnew == 0 || !(q > 0 && q < 1) || !(level > 0 && level < 1))
		return -1;
	for (size_t i = 0; i < nbase || i < nnew; i++)
		if ((i < nbase && base[i]->count == 0) || (i < nnew && new[i]->count == 0))
			return -1;
	if (resamples == 0)
		resamples = STATS_RESAMPLES;
	sb = malloc(sizeof *sb);
	sn = malloc(sizeof *sn);
	ratio = malloc(resamples * sizeof *ratio);
	if (sb == NULL || sn == NULL || ratio == NULL ||
	    stats_pool(&sb->pooled, base, nbase) != 0 || stats_pool(&sn->pooled, new, nnew) != 0 ||
	    sb->pooled.count == 0 || sn->pooled.count == 0)
		goto out;
	out->base = stats_quantile(&sb->pooled, q);
	out->new = stats_quantile(&sn->pooled, q);
	if (!(out->base > 0))
		goto out;
	out->change = out->new / out->base - 1;
	small = sb->pooled.count < sn->pooled.count ? sb->pooled.count : sn->pooled.count;
	out->tail = (uint64_t)((q < 0.5 ? q : 1 - q) * (double)small);

	side_init(sb, base, nbase);
	side_init(sn, new, nnew);
	rng_seed(&rng, STATS_SEED);
	for (unsigned i = 0; i < resamples; i++) {
		double b = side_draw(&rng, sb, q), n = side_draw(&rng, sn, q);

		ratio[i] = b > 0 ? n / b - 1 : HUGE_VAL;
	}
	qsort(ratio, resamples, sizeof *ratio, cmp_double);
	out->lo = sorted_quantile(ratio, resamples, (1 - level) / 2);
	out->hi = sorted_quantile(ratio, resamples, 1 - (1 - level) / 2);
	out->p = 2 * (double)tail_share(ratio, resamples);
	if (out->p > 1)
		out->p = 1;
	/* With three runs or more, the runs as replicates too: the verdict must hold for
	 * both (the wider interval, the larger p-value). */
	struct stats_runs_t rt;
	if (stats_runs_t(base, nbase, new, nnew, q, level, &rt) == 0) {
		if (rt.lo < out->lo)
			out->lo = rt.lo;
		if (rt.hi > out->hi)
			out->hi = rt.hi;
		if (rt.p > out->p)
			out->p = rt.p;
	}
	rc = 0;
out:
	free(sb);
	free(sn);
	free(ratio);
	return rc;
}

int stats_quantile_change(const struct stats_hist *base, const struct stats_hist *new,
			  double q, double level, unsigned resamples,
			  struct stats_change *out)
{
	return stats_quantile_change_runs(&base, 1, &new, 1, q, level, resamples, out);
}
