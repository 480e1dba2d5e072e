/* metrics.h - the per-site numbers the analyzer sorts and draws by (report --sort,
 * flame --metric, diff), one table, with which profiles have them. */
#ifndef AUDIOPROF_METRICS_H
#define AUDIOPROF_METRICS_H

#include <stdint.h>

struct profile;
struct pp;

enum metric {
	M_BYTES,        /* tb: bytes allocated */
	M_BLOCKS,       /* tbk: blocks allocated */
	M_PEAK,         /* gb: bytes live at the global peak */
	M_LEAKED,       /* eb: bytes live at the end */
	M_SHORT,        /* slk: short-lived blocks */
	M_CB_ALLOCS,    /* cbk: blocks allocated inside audio callbacks */
	M_LIFETIME,     /* tl: total lifetime of the blocks */
	M_COUNT
};

struct metric_def {
	const char *name;        /* command-line word */
	const char *title;       /* "bytes allocated" */
};

extern const struct metric_def metric_defs[M_COUNT];

/* The metric named `name`, or -1. */
int metric_parse(const char *name);
/* NULL if profile p has metric m, else why not (for an error message). */
const char *metric_missing(const struct profile *p, enum metric m);
/* The value for one program point (0 when the file does not have it). */
int64_t metric_value(const struct pp *pp, enum metric m);
/* "bytes|blocks|..." of the metrics in `mask` (bits 1 << enum metric). */
const char *metric_list(unsigned mask, char *buf, unsigned len);

#endif
