/* stats.h - statistics on duration histograms (the log-linear layout of durhist.h):
 * quantiles, pooling, the Mann-Whitney U test and a confidence interval for the
 * relative change of a quantile between two histograms or two sets of runs. Pure functions of their
 * arguments (no I/O, no global state, deterministic); the reasons for each method are
 * at the top of stats.c. */
#ifndef AUDIOPROF_STATS_H
#define AUDIOPROF_STATS_H

#include <stddef.h>
#include <stdint.h>

#include "durhist.h"

/* One sample of durations, as counts per bucket. */
struct stats_hist {
	uint64_t n[DURHIST_BUCKETS];      /* durations in each bucket */
	uint64_t count;                   /* sum of n */
	uint64_t min, max;                /* smallest and largest duration, ns (0 if empty):
					   * exact where known, else the bucket edges */
};

/* Empty. */
void stats_hist_init(struct stats_hist *h);
/* Add `times` durations of ns nanoseconds. -1 (h unchanged) if the count would
 * overflow, else 0. */
int stats_hist_add(struct stats_hist *h, uint64_t ns, uint64_t times);
/* Fill h from counts per bucket as a profile holds them (nbuckets must be
 * DURHIST_BUCKETS) and the exact min and max in ns; min = max = 0 with a non-empty
 * histogram means "not known": the edges of the outermost non-empty buckets are used.
 * -1 (h empty) when the counts do not fit the layout, overflow, or min/max lie outside
 * their buckets; else 0. */
int stats_hist_set(struct stats_hist *h, const uint64_t *counts, size_t nbuckets,
		   uint64_t min, uint64_t max);
/* out = the k histograms together (the samples pooled): counts summed, extremes of
 * the extremes. out may be one of in[]. -1 (out empty) on overflow, else 0. */
int stats_pool(struct stats_hist *out, const struct stats_hist *const *in, size_t k);

/* The q-quantile (0 <= q <= 1) in ns, interpolated linearly inside its bucket and
 * kept within [min, max]; NaN if h is empty or q is outside [0, 1]. */
double stats_quantile(const struct stats_hist *h, double q);

/* Mann-Whitney U test of base against new. */
struct stats_mw {
	double u;                         /* U of new: pairs (base, new) with new > base,
					   * a pair in one bucket counting 1/2 */
	double effect;                    /* u / (n_base * n_new): the chance that a new
					   * duration is longer than a base one (0.5: none) */
	double z;                         /* normal deviate, tie- and continuity-corrected;
					   * > 0 when new is slower */
	double p;                         /* two-sided p-value */
};
/* -1 if either histogram is empty, else 0 and *out. */
int stats_mann_whitney(const struct stats_hist *base, const struct stats_hist *new,
		       struct stats_mw *out);

/* The relative change of the q-quantile from base to new, with a confidence interval. */
struct stats_change {
	double base, new;                 /* the q-quantile of each, ns */
	double change;                    /* new / base - 1 (0.031: 3.1 % slower) */
	double lo, hi;                    /* the interval for change at the level asked */
	double p;                         /* two-sided p-value of "no change", from the
					   * same resamples: twice the share on the far
					   * side of 0 (at most 1; resolution 2 / resamples) */
	uint64_t tail;                    /* durations beyond the q-quantile in the smaller
					   * side, min(q, 1 - q) * n: under 5, the interval
					   * is not to be trusted (too few values there) */
};
#define STATS_RESAMPLES 10000             /* stats_quantile_change's default */
/* level: e.g. 0.95; resamples: bootstrap resamples (0: STATS_RESAMPLES). Always the
 * same answer for the same arguments. -1 if a histogram is empty, base's quantile is
 * 0, q or level is outside (0, 1), or out of memory; else 0 and *out. */
int stats_quantile_change(const struct stats_hist *base, const struct stats_hist *new,
			  double q, double level, unsigned resamples,
			  struct stats_change *out);

/* Student's t distribution: P(|T| > t) with df degrees of freedom (NaN for df <= 0),
 * and the t with P(|T| > t) = alpha. */
double stats_t_two_sided(double t, double df);
double stats_t_critical(double alpha, double df);

/* Runs as the replicates: the relative change of the runs' q-quantiles (the geometric
 * mean of each side's), with a t interval at the level asked and its two-sided
 * p-value: Welch's test on the logs when both sides have two runs or more; with one
 * run on a side, its spread taken to be the other side's. -1 with fewer than three
 * runs in all, a quantile of 0, or q or level outside (0, 1). */
struct stats_runs_t {
	double change, lo, hi, p;
	double df;                        /* degrees of freedom */
};
int stats_runs_t(const struct stats_hist *const *base, size_t nbase,
		 const struct stats_hist *const *new, size_t nnew, double q, double level,
		 struct stats_runs_t *out);
/* The same for several runs a side: the change of the q-quantile of the pooled runs,
 * with an interval that holds the spread between runs as well as between cycles (each
 * resample draws the runs again); with three runs or more in all, the interval and the
 * p-value also cover stats_runs_t's (the wider interval, the larger p-value): a
 * change is significant only when it is so both over the cycles and over the runs.
 * With one run a side, exactly stats_quantile_change. -1 also when a side has no run
 * or a run is empty. */
int stats_quantile_change_runs(const struct stats_hist *const *base, size_t nbase,
			       const struct stats_hist *const *new, size_t nnew,
			       double q, double level, unsigned resamples,
			       struct stats_change *out);

#endif
