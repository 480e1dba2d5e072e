/* rules.c - the advice table: each rule looks at the profile and says in plain words
 * what is wrong and what to do, naming the function and line (the "doctor" of Redis's
 * latency.c). Adding a rule: one check function, one table entry, one fixture in
 * tests/fixtures/ on which it fires (t_analyzer_rules.sh checks every entry). */
#include "rules.h"
#include "fmt.h"
#include "profile_read.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ emitting */

void rules_emit(struct findings *out, const struct rule *r, long long weight, ...)
{
	const char *keys[16], *vals[16];
	size_t nk = 0;
	va_list ap;
	va_start(ap, weight);
	for (const char *k; nk < 16 && (k = va_arg(ap, const char *));) {
		keys[nk] = k;
		vals[nk++] = va_arg(ap, const char *);
	}
	va_end(ap);

	size_t cap = 256, n = 0;
	char *s = malloc(cap);
	if (!s)
		return;
	for (const char *t = r->advice; *t;) {
		const char *piece = t;
		size_t len = 1;
		if (*t == '{') {
			const char *e = strchr(t, '}');
			for (size_t i = 0; e && i < nk; i++)
				if (strlen(keys[i]) == (size_t)(e - t - 1) &&
				    strncmp(keys[i], t + 1, (size_t)(e - t - 1)) == 0) {
					piece = vals[i];
					len = strlen(vals[i]);
					t = e;
					break;
				}
		}
		if (n + len + 1 > cap) {
			while (n + len + 1 > cap)
				cap *= 2;
			char *ns = realloc(s, cap);
			if (!ns) {
				free(s);
				return;
			}
			s = ns;
		}
		memcpy(s + n, piece, len);
		n += len;
		t++;
	}
	s[n] = '\0';
	if (out->n == out->cap) {
		size_t nc = out->cap ? out->cap * 2 : 16;
		struct finding *nv = realloc(out->v, nc * sizeof(*nv));
		if (!nv) {
			free(s);
			return;
		}
		out->v = nv;
		out->cap = nc;
	}
	out->v[out->n++] = (struct finding){ r, s, weight };
}

void findings_free(struct findings *f)
{
	for (size_t i = 0; i < f->n; i++)
		free(f->v[i].text);
	free(f->v);
	memset(f, 0, sizeof(*f));
}

const char *severity_name(enum severity s)
{
	switch (s) {
	case SEV_ERROR: return "error";
	case SEV_WARNING: return "warning";
	case SEV_INFO: return "info";
	}
	return "?";
}

/* ------------------------------------------------------------------ helpers */

void rules_callback_label(const struct profile *p, long long i, char *buf, size_t len)
{
	if (i < 0 || (size_t)i >= p->ncallbacks) {
		snprintf(buf, len, "a real-time thread");
		return;
	}
	const struct callback *cb = &p->callbacks[i];
	if (*cb->name)
		snprintf(buf, len, "%s \"%s\"", *cb->api ? cb->api : "callback", cb->name);
	else
		snprintf(buf, len, "%s callback %lld", *cb->api ? cb->api : "", i);
}

/* The function and place advice names for a stack. */
static void site_names(const struct profile *p, uint32_t off, uint32_t len,
		       char *func, size_t flen, char *where, size_t wlen)
{
	size_t k = frame_pick_user(p, off, len);
	frame_names(p->ftbl[p->fs[off + k]], func, flen, where, wlen);
}

static const char *plural(int64_t n, const char *one, const char *many, char *buf, size_t len)
{
	char c[FMT_NUM];
	snprintf(buf, len, "%s %s", fmt_count(n, c), n == 1 ? one : many);
	return buf;
}

static const char *pct_of(int64_t part, int64_t whole, char *buf, size_t len)
{
	snprintf(buf, len, "%.0f%%", whole > 0 ? 100.0 * (double)part / (double)whole : 0.0);
	return buf;
}

/* ------------------------------------------------------------------ audio: violations */

/* "3 allocations per cycle", "2 calls to usleep() in 9,375 cycles", "1 free". */
static void calls_phrase(const struct profile *p, const struct violation *v, char *buf, size_t len)
{
	char one[96], many[96], n1[FMT_NUM], n2[FMT_NUM];
	if (strcmp(v->kind, "alloc") == 0) {
		snprintf(one, sizeof(one), "allocation");
		snprintf(many, sizeof(many), "allocations");
	} else if (strcmp(v->kind, "free") == 0) {
		snprintf(one, sizeof(one), "free");
		snprintf(many, sizeof(many), "frees");
	} else {
		const char *c = *v->call ? v->call : v->kind;
		snprintf(one, sizeof(one), "call to %.80s()", c);
		snprintf(many, sizeof(many), "calls to %.80s()", c);
	}
	int64_t cycles = v->callback >= 0 ? p->callbacks[v->callback].count : -1;
	if (cycles > 0 && v->count >= cycles && v->count % cycles == 0) {
		int64_t per = v->count / cycles;
		snprintf(buf, len, "%s %s per cycle", fmt_count(per, n1), per == 1 ? one : many);
	} else if (cycles > 0 && v->count >= cycles) {
		snprintf(buf, len, "%.1f %s per cycle", (double)v->count / (double)cycles, many);
	} else if (cycles > 0) {
		snprintf(buf, len, "%s %s in %s cycles", fmt_count(v->count, n1),
			 v->count == 1 ? one : many, fmt_count(cycles, n2));
	} else {
		snprintf(buf, len, "%s %s", fmt_count(v->count, n1), v->count == 1 ? one : many);
	}
}

static void check_kinds(const struct profile *p, const struct rule *r, struct findings *out,
			const char *const *kinds)
{
	for (size_t i = 0; i < p->nviolations; i++) {
		const struct violation *v = &p->violations[i];
		int match = 0;
		if (*v->library)
			continue;   /* the audio library's own call: not the program's to fix */
		for (const char *const *k = kinds; *k; k++)
			match |= strcmp(v->kind, *k) == 0;
		if (!match)
			continue;
		char calls[160], func[256], where[256], cb[160];
		calls_phrase(p, v, calls, sizeof(calls));
		site_names(p, v->fs_off, v->fs_len, func, sizeof(func), where, sizeof(where));
		rules_callback_label(p, v->callback, cb, sizeof(cb));
		rules_emit(out, r, v->count, "calls", calls, "func", func, "where", where,
			   "callback", cb, NULL);
	}
}

#define KIND_RULE(fn, ...)                                                         \
	static void fn(const struct profile *p, const struct rule *r, struct findings *out) \
	{                                                                          \
		static const char *const kinds[] = { __VA_ARGS__, NULL };          \
		check_kinds(p, r, out, kinds);                                     \
	}
KIND_RULE(check_cb_alloc, "alloc")
KIND_RULE(check_cb_free, "free")
KIND_RULE(check_cb_lock, "lock")
KIND_RULE(check_cb_trylock, "trylock")
KIND_RULE(check_cb_sleep, "sleep")
KIND_RULE(check_cb_io, "io", "poll")
KIND_RULE(check_cb_mmap, "mmap")
KIND_RULE(check_cb_thread, "thread", "process")

/* ------------------------------------------------------------------ audio: timing */

/* "; the slowest, cycle 120 at 172 ms, spent 40.1 ms of its 40.2 ms in
 * pthread_mutex_lock() at x.c:42": the longest timed call of cb's slowest kept
 * overrun, or "" when no kept overrun made a timed call. */
static const char *slowest_overrun(const struct profile *p, const struct callback *cb,
				   char *buf, size_t len)
{
	const struct slow_cycle *w = NULL;
	buf[0] = 0;
	for (size_t k = 0; k < cb->nslow; k++)
		if (cb->slow[k].overrun && (!w || cb->slow[k].dur_ns > w->dur_ns))
			w = &cb->slow[k];
	const struct cycle_violation *v = NULL;
	for (size_t j = 0; w && j < w->nv; j++)
		if (w->v[j].time_ns > 0 && (!v || w->v[j].time_ns > v->time_ns))
			v = &w->v[j];
	if (!v)
		return buf;
	char func[128], where[256], a[FMT_NUM], b[FMT_NUM], c[FMT_NUM];
	site_names(p, v->fs_off, v->fs_len, func, sizeof(func), where, sizeof(where));
	(void)func;
	snprintf(buf, len, "; the slowest, cycle %" PRId64 " at %s, spent %s of its %s in %s() at %s",
		 w->cycle, fmt_ns(w->start_ns, a), fmt_ns(v->time_ns, b), fmt_ns(w->dur_ns, c),
		 *v->call ? v->call : v->kind, where);
	return buf;
}

static void check_overrun(const struct profile *p, const struct rule *r, struct findings *out)
{
	for (size_t i = 0; i < p->ncallbacks; i++) {
		const struct callback *cb = &p->callbacks[i];
		if (cb->overruns <= 0)
			continue;
		char label[160], n[FMT_NUM], c[FMT_NUM], d[FMT_NUM], p99[FMT_NUM], mx[FMT_NUM];
		char slowest[512];
		rules_callback_label(p, (long long)i, label, sizeof(label));
		rules_emit(out, r, cb->overruns, "callback", label, "overruns",
			   fmt_count(cb->overruns, n), "count", fmt_count(cb->count, c),
			   "deadline", fmt_ns(cb->deadline_ns, d), "p99", fmt_ns(cb->p99_ns, p99),
			   "max", fmt_ns(cb->max_ns, mx), "slowest",
			   slowest_overrun(p, cb, slowest, sizeof(slowest)), NULL);
	}
}

static void check_near_miss(const struct profile *p, const struct rule *r, struct findings *out)
{
	for (size_t i = 0; i < p->ncallbacks; i++) {
		const struct callback *cb = &p->callbacks[i];
		if (cb->overruns > 0 || cb->load_max_pct < 80)
			continue;
		char label[160], load[FMT_NUM], n80[FMT_NUM];
		rules_callback_label(p, (long long)i, label, sizeof(label));
		rules_emit(out, r, (long long)(cb->load_max_pct * 10), "callback", label,
			   "load", fmt_pct(cb->load_max_pct, load),
			   "near", fmt_count(cb->near80 > 0 ? cb->near80 : 1, n80), NULL);
	}
}

static void check_xrun(const struct profile *p, const struct rule *r, struct findings *out)
{
	for (size_t i = 0; i < p->ncallbacks; i++) {
		const struct callback *cb = &p->callbacks[i];
		if (cb->xruns <= 0)
			continue;
		char label[160], x[64], fr[FMT_NUM], rate[FMT_NUM];
		rules_callback_label(p, (long long)i, label, sizeof(label));
		snprintf(fr, sizeof(fr), "%" PRId64, cb->frames);
		snprintf(rate, sizeof(rate), "%" PRId64, cb->rate);
		rules_emit(out, r, cb->xruns, "callback", label,
			   "xruns", plural(cb->xruns, "xrun", "xruns", x, sizeof(x)),
			   "frames", cb->frames >= 0 ? fr : "?", "rate", cb->rate >= 0 ? rate : "?",
			   NULL);
	}
}

static void check_not_realtime(const struct profile *p, const struct rule *r, struct findings *out)
{
	for (size_t i = 0; i < p->ncallbacks; i++) {
		const struct callback *cb = &p->callbacks[i];
		/* A marked region may run anywhere (a unit test, an offline render). */
		if (strcmp(cb->api, "region") == 0)
			continue;
		if (!*cb->policy || strcmp(cb->policy, "?") == 0 || strcmp(cb->policy, "SCHED_FIFO") == 0 ||
		    strcmp(cb->policy, "SCHED_RR") == 0 || strcmp(cb->policy, "SCHED_DEADLINE") == 0)
			continue;
		char label[160], th[160];
		rules_callback_label(p, (long long)i, label, sizeof(label));
		if (*cb->thread)
			snprintf(th, sizeof(th), "\"%s\"", cb->thread);
		else
			snprintf(th, sizeof(th), "%" PRId64, cb->tid);
		rules_emit(out, r, 0, "callback", label, "thread", th, "policy", cb->policy, NULL);
	}
}

/* ------------------------------------------------------------------ heap */

/* Indices of the pps with the largest key(pp) > 0, at most `max`, largest first. */
static size_t top_pps(const struct profile *p, int64_t (*key)(const struct pp *), size_t *idx,
		      size_t max)
{
	size_t n = 0;
	for (size_t i = 0; i < p->npps; i++) {
		int64_t k = key(&p->pps[i]);
		if (k <= 0)
			continue;
		size_t j = n < max ? n++ : max;
		if (j == max && key(&p->pps[idx[max - 1]]) >= k)
			continue;
		if (j == max)
			j = max - 1;
		while (j > 0 && key(&p->pps[idx[j - 1]]) < k) {
			idx[j] = idx[j - 1];
			j--;
		}
		idx[j] = i;
	}
	return n;
}

static int64_t key_eb(const struct pp *pp) { return pp->eb; }
static int64_t key_tbk(const struct pp *pp) { return pp->tbk; }
static int64_t key_gb(const struct pp *pp) { return pp->gb; }
/* Short-lived churn worth advice: many blocks, most of them short-lived. */
static int64_t key_churn(const struct pp *pp)
{
	return pp->slk >= 1000 && pp->slk * 2 >= pp->tbk ? pp->slk : 0;
}

static void check_leak(const struct profile *p, const struct rule *r, struct findings *out)
{
	/* Only a profile written at exit shows leaks (valgrind's files are). */
	if (!p->bklt || (p->has_audioprof && strcmp(p->reason, "exit") != 0))
		return;
	size_t idx[3];
	size_t n = top_pps(p, key_eb, idx, 3);
	for (size_t i = 0; i < n; i++) {
		const struct pp *pp = &p->pps[idx[i]];
		char b[FMT_NUM], k[64], func[256], where[256];
		site_names(p, pp->fs_off, pp->fs_len, func, sizeof(func), where, sizeof(where));
		rules_emit(out, r, pp->eb, "bytes", fmt_bytes(pp->eb, b),
			   "blocks", plural(pp->ebk, "block", "blocks", k, sizeof(k)),
			   "func", func, "where", where, NULL);
	}
}

static void check_short_lived(const struct profile *p, const struct rule *r, struct findings *out)
{
	if (!p->has_slk || p->tuth < 0)
		return;
	size_t idx[3];
	size_t n = top_pps(p, key_churn, idx, 3);
	for (size_t i = 0; i < n; i++) {
		const struct pp *pp = &p->pps[idx[i]];
		char s[FMT_NUM], k[64], t[FMT_NUM], func[256], where[256];
		site_names(p, pp->fs_off, pp->fs_len, func, sizeof(func), where, sizeof(where));
		rules_emit(out, r, pp->slk, "short", fmt_count(pp->slk, s),
			   "blocks", plural(pp->tbk, "block", "blocks", k, sizeof(k)),
			   "tuth", fmt_time(p, p->tuth, t), "func", func, "where", where, NULL);
	}
}

static void check_peak_site(const struct profile *p, const struct rule *r, struct findings *out)
{
	if (!p->bklt || p->totals.max_b < (8 << 20))
		return;
	size_t idx[1];
	if (top_pps(p, key_gb, idx, 1) == 0)
		return;
	const struct pp *pp = &p->pps[idx[0]];
	if (pp->gb * 2 < p->totals.max_b)
		return;
	char sh[16], b[FMT_NUM], pk[FMT_NUM], func[256], where[256];
	site_names(p, pp->fs_off, pp->fs_len, func, sizeof(func), where, sizeof(where));
	rules_emit(out, r, pp->gb, "func", func, "where", where,
		   "share", pct_of(pp->gb, p->totals.max_b, sh, sizeof(sh)),
		   "bytes", fmt_bytes(pp->gb, b), "peak", fmt_bytes(p->totals.max_b, pk), NULL);
}

static void check_alloc_rate(const struct profile *p, const struct rule *r, struct findings *out)
{
	if (strcmp(p->tu, "ns") != 0 || p->te < 100000000)
		return;
	double rate = (double)p->totals.total_k * 1e9 / (double)p->te;
	if (rate < 1e6)
		return;
	size_t idx[1];
	if (top_pps(p, key_tbk, idx, 1) == 0)
		return;
	const struct pp *pp = &p->pps[idx[0]];
	char rt[FMT_NUM], sh[16], func[256], where[256];
	site_names(p, pp->fs_off, pp->fs_len, func, sizeof(func), where, sizeof(where));
	rules_emit(out, r, (long long)rate, "rate", fmt_count((int64_t)rate, rt),
		   "share", pct_of(pp->tbk, p->totals.total_k, sh, sizeof(sh)),
		   "func", func, "where", where, NULL);
}

static void check_snapshot(const struct profile *p, const struct rule *r, struct findings *out)
{
	if (!p->has_audioprof || !*p->reason || strcmp(p->reason, "exit") == 0)
		return;
	char why[64];
	if (strcmp(p->reason, "signal") == 0 && p->signal > 0)
		snprintf(why, sizeof(why), "signal %" PRId64, p->signal);
	else
		snprintf(why, sizeof(why), "%s", p->reason);
	rules_emit(out, r, 0, "reason", why, NULL);
}

static void check_table_full(const struct profile *p, const struct rule *r, struct findings *out)
{
	for (size_t i = 0; i < p->npps; i++) {
		const struct pp *pp = &p->pps[i];
		if (pp->fs_len != 1 ||
		    strcmp(p->ftbl[p->fs[pp->fs_off]], "[audioprof: site table full]") != 0)
			continue;
		char k[64], b[FMT_NUM];
		rules_emit(out, r, pp->tbk, "blocks", plural(pp->tbk, "block", "blocks", k, sizeof(k)),
			   "bytes", fmt_bytes(pp->tb, b), NULL);
	}
}

/* ------------------------------------------------------------------ the table */

const struct rule rules_table[] = {
	{ "callback-alloc", SEV_ERROR, check_cb_alloc,
	  "{calls} in {func}() at {where} ({callback}): preallocate this buffer before the "
	  "stream starts and reuse it; the allocator can take a lock or fault in pages and miss "
	  "the deadline", "audio_violations.json" },
	{ "callback-free", SEV_ERROR, check_cb_free,
	  "{calls} in {func}() at {where} ({callback}): keep the block for reuse, or hand it to "
	  "another thread to free", "audio_violations.json" },
	{ "callback-lock", SEV_ERROR, check_cb_lock,
	  "{calls} in {func}() at {where} ({callback}): a lock can wait for a thread that is not "
	  "real-time; pass the data through a lock-free queue instead", "audio_violations.json" },
	{ "callback-sleep", SEV_ERROR, check_cb_sleep,
	  "{calls} in {func}() at {where} ({callback}): never sleep in the callback; the audio "
	  "API already paces it", "audio_violations.json" },
	{ "callback-io", SEV_ERROR, check_cb_io,
	  "{calls} in {func}() at {where} ({callback}): do file, socket and terminal I/O on "
	  "another thread and pass the data through a ring buffer", "audio_violations.json" },
	{ "callback-mmap", SEV_ERROR, check_cb_mmap,
	  "{calls} in {func}() at {where} ({callback}): map (and mlock) memory before the "
	  "stream starts", "audio_violations.json" },
	{ "callback-thread", SEV_ERROR, check_cb_thread,
	  "{calls} in {func}() at {where} ({callback}): start threads and processes before the "
	  "stream starts", "audio_violations.json" },
	{ "overrun", SEV_ERROR, check_overrun,
	  "{callback}: {overruns} of {count} callbacks took longer than the {deadline} deadline "
	  "(p99 {p99}, max {max}){slowest}; remove the unsafe calls listed above from the "
	  "callback, or find the slow part with timing zones", "audio_violations.json" },
	{ "xrun", SEV_ERROR, check_xrun,
	  "{callback}: the audio backend reported {xruns}; look at the overruns, at the "
	  "thread's scheduling and at the buffer size ({frames} frames at {rate} Hz)",
	  "audio_violations.json" },
	{ "callback-trylock", SEV_WARNING, check_cb_trylock,
	  "{calls} in {func}() at {where} ({callback}): a try-lock never waits, but make sure "
	  "the callback still does its work when it fails", "audio_violations.json" },
	{ "near-miss", SEV_WARNING, check_near_miss,
	  "{callback}: its longest callback took {load} of the deadline ({near} over 80%); "
	  "little headroom is left, so a busier machine will overrun", "audio_near_miss.json" },
	{ "not-realtime", SEV_WARNING, check_not_realtime,
	  "{callback} runs on thread {thread} with {policy}: ask for real-time scheduling "
	  "(SCHED_FIFO, through JACK, rtkit or the audio API) so that other threads cannot "
	  "delay it", "audio_near_miss.json" },
	{ "leak", SEV_WARNING, check_leak,
	  "{bytes} in {blocks} never freed, allocated in {func}() at {where}: free it when it "
	  "is no longer needed (fine for memory that is meant to live until exit)",
	  "heap_basic.json" },
	{ "site-table-full", SEV_WARNING, check_table_full,
	  "{blocks} ({bytes}) could not be told apart by stack because the profiler's site "
	  "table was full: profile a shorter run or lower AUDIOPROF_DEPTH",
	  "heap_table_full.json" },
	{ "short-lived", SEV_INFO, check_short_lived,
	  "{short} of {blocks} from {func}() at {where} were freed within {tuth}: allocate once "
	  "and reuse the buffer, or use a pool", "heap_basic.json" },
	{ "peak-site", SEV_INFO, check_peak_site,
	  "{func}() at {where} held {share} of the peak heap ({bytes} of {peak}): a smaller or "
	  "streamed buffer there lowers the peak the most", "heap_peak.json" },
	{ "alloc-rate", SEV_INFO, check_alloc_rate,
	  "the program allocated {rate} blocks per second, {share} of them in {func}() at "
	  "{where}: reuse buffers on that path to cut the time spent in the allocator",
	  "heap_peak.json" },
	{ "snapshot", SEV_INFO, check_snapshot,
	  "this profile was written at {reason}, not at exit: blocks still live are not "
	  "necessarily leaks", "heap_snapshot.json" },
};
const size_t rules_count = sizeof(rules_table) / sizeof(rules_table[0]);

/* ------------------------------------------------------------------ running */

/* Errors first, then warnings, then information; within a severity in table order;
 * within a rule by weight, larger first, and in emission order for equal weights. */
static int goes_before(const struct finding *a, const struct finding *b)
{
	if (a->rule->severity != b->rule->severity)
		return a->rule->severity > b->rule->severity;
	if (a->rule != b->rule)
		return a->rule < b->rule;
	return a->weight >= b->weight;
}

void rules_run(const struct profile *p, struct findings *out)
{
	for (size_t i = 0; i < rules_count; i++)
		rules_table[i].check(p, &rules_table[i], out);
	/* Insertion sort: stable, and the number of findings is small. */
	struct finding *v = out->v;
	for (size_t i = 1; i < out->n; i++) {
		struct finding f = v[i];
		size_t j = i;
		while (j > 0 && !goes_before(&v[j - 1], &f)) {
			v[j] = v[j - 1];
			j--;
		}
		v[j] = f;
	}
}
