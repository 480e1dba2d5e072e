/* metrics.c - the per-site metric table shared by report, flame and diff. */
#include "metrics.h"
#include "profile_read.h"

#include <stdio.h>
#include <string.h>

const struct metric_def metric_defs[M_COUNT] = {
	[M_BYTES] = { "bytes", "bytes allocated" },
	[M_BLOCKS] = { "blocks", "blocks allocated" },
	[M_PEAK] = { "peak", "bytes live at the peak" },
	[M_LEAKED] = { "leaked", "bytes live at the end" },
	[M_SHORT] = { "short-lived", "short-lived blocks" },
	[M_CB_ALLOCS] = { "callback-allocs", "blocks allocated in callbacks" },
	[M_LIFETIME] = { "lifetime", "total block lifetime" },
};

int metric_parse(const char *name)
{
	for (int i = 0; i < M_COUNT; i++)
		if (strcmp(name, metric_defs[i].name) == 0)
			return i;
	return -1;
}

const char *metric_missing(const struct profile *p, enum metric m)
{
	switch (m) {
	case M_BYTES: case M_BLOCKS:
		return NULL;
	case M_PEAK: case M_LEAKED: case M_LIFETIME:
		return p->bklt ? NULL : "it has no block lifetimes (bklt is false)";
	case M_SHORT:
		return p->has_slk ? NULL : "it has no short-lived counts (slk; only audioprof writes them)";
	case M_CB_ALLOCS:
		return p->has_cb ? NULL :
			"it has no callback allocation counts (cbk; written by audioprof's audio support)";
	case M_COUNT:
		break;
	}
	return "unknown metric";
}

int64_t metric_value(const struct pp *pp, enum metric m)
{
	int64_t v = 0;
	switch (m) {
	case M_BYTES: v = pp->tb; break;
	case M_BLOCKS: v = pp->tbk; break;
	case M_PEAK: v = pp->gb; break;
	case M_LEAKED: v = pp->eb; break;
	case M_SHORT: v = pp->slk; break;
	case M_CB_ALLOCS: v = pp->cbk; break;
	case M_LIFETIME: v = pp->tl; break;
	case M_COUNT: break;
	}
	return v > 0 ? v : 0;
}

const char *metric_list(unsigned mask, char *buf, unsigned len)
{
	size_t n = 0;
	buf[0] = '\0';
	for (int i = 0; i < M_COUNT; i++)
		if (mask & (1u << i)) {
			int k = snprintf(buf + n, len - n, "%s%s", n ? "|" : "", metric_defs[i].name);
			if (k < 0 || (size_t)k >= len - n)
				break;
			n += (size_t)k;
		}
	return buf;
}
