/* test_rules.c - the analyzer's advice rules (analyzer/rules.c) on profiles built in
 * memory: where each rule's threshold lies (a value just below it is quiet, the value
 * itself fires), what the advice says, how the {placeholders} expand, and the order in
 * which findings come out. t_analyzer_rules.sh runs every rule on its fixture. */
#include <CUnit/CUnit.h>
#include <stdio.h>
#include <string.h>

#include "profile_read.h"
#include "rules.h"
#include "suites.h"

/* ------------------------------------------------------------------ a profile in memory */

static const char *ftbl[] = {
	"[root]",
	/* 1 */ "0x7F01: malloc (shim.c:222)",
	/* 2 */ "0x5601: grow_buffer (engine.c:40)",
	/* 3 */ "0x5602: process (engine.c:90)",
	/* 4 */ "0x5603: main (main.c:12)",
	/* 5 */ "0x7F02: pthread_mutex_lock (rtcheck.c:195)",
	/* 6 */ "0x5604: load_preset (preset.c:7)",
	/* 7 */ "[audioprof: site table full]",
};
/* pp 0: malloc <- grow_buffer <- process <- main; pp 1: malloc <- load_preset <- main;
 * pp 2: the site table's overflow site; violation stacks: the same as pp 0, and a lock
 * in process. */
static uint32_t fs[] = { 1, 2, 3, 4, /* 4: */ 1, 6, 4, /* 7: */ 7, /* 8: */ 5, 3 };

static struct profile prof;
static struct pp pps[3];
static struct callback cbs[1];
static struct violation vs[2];

/* A clean audioprof profile written at exit: one JACK callback on a SCHED_FIFO thread,
 * 1,000 cycles, no overrun, 50 % load; two sites that freed everything, in 100 ms. */
static void make_profile(void)
{
	memset(&prof, 0, sizeof(prof));
	memset(pps, 0, sizeof(pps));
	memset(cbs, 0, sizeof(cbs));
	prof.ftbl = ftbl;
	prof.nftbl = sizeof(ftbl) / sizeof(ftbl[0]);
	prof.fs = fs;
	prof.nfs = sizeof(fs) / sizeof(fs[0]);
	prof.mode = "heap";
	prof.verb = "Allocated";
	prof.tu = "ns";
	prof.mtu = "s";
	prof.cmd = "./synth";
	prof.bklt = 1;
	prof.tuth = 1000000;
	prof.te = 100000000;
	prof.tg = 50000000;
	prof.has_audioprof = 1;
	prof.reason = "exit";
	prof.has_slk = 1;
	prof.has_audio = 1;
	pps[0] = (struct pp){ .tb = 4096, .tbk = 4, .mb = 2048, .mbk = 2, .gb = 1024, .gbk = 1,
			      .fs_off = 0, .fs_len = 4 };
	pps[1] = (struct pp){ .tb = 100, .tbk = 1, .mb = 100, .mbk = 1, .fs_off = 4, .fs_len = 3 };
	prof.pps = pps;
	prof.npps = 2;                 /* pps[2] only where a test adds it */
	prof.totals = (struct totals){ .max_b = 1124, .max_k = 2, .total_b = 4196, .total_k = 5,
				       .frees = 5 };
	cbs[0] = (struct callback){ .id = 0, .api = "jack", .name = "synth", .thread = "synth",
				    .policy = "SCHED_FIFO", .tid = 42, .priority = 70, .rate = 48000,
				    .frames = 256, .deadline_ns = 5333333, .count = 1000,
				    .p99_ns = 2000000, .max_ns = 2666666, .load_mean_pct = 30,
				    .load_max_pct = 50, .xruns = 0 };
	prof.callbacks = cbs;
	prof.ncallbacks = 1;
	vs[0] = (struct violation){ .kind = "alloc", .call = "malloc", .library = "", .count = 3,
				    .bytes = 300, .callback = 0, .fs_off = 0, .fs_len = 4 };
	vs[1] = (struct violation){ .kind = "lock", .call = "pthread_mutex_lock", .library = "",
				    .count = 1, .callback = 0, .fs_off = 8, .fs_len = 2 };
	prof.violations = vs;
	prof.nviolations = 0;          /* only where a test adds them */
}

/* The findings of one rule, by name, in `f`; their count. */
static size_t fired(const struct findings *f, const char *name, const char **first)
{
	size_t n = 0;
	if (first)
		*first = NULL;
	for (size_t i = 0; i < f->n; i++)
		if (strcmp(f->v[i].rule->name, name) == 0) {
			if (first && !n)
				*first = f->v[i].text;
			n++;
		}
	return n;
}

static int starts(const char *s, const char *prefix)
{
	if (strncmp(s, prefix, strlen(prefix)) == 0)
		return 1;
	fprintf(stderr, "\"%s\"\ndoes not start with\n\"%s\"\n", s, prefix);
	return 0;
}

/* How many findings rule `name` gives on `prof` as it is now; its first text in `text`. */
static size_t run_rule(const char *name, char *text, size_t len)
{
	struct findings f = { 0 };
	rules_run(&prof, &f);
	const char *t;
	size_t n = fired(&f, name, &t);
	if (text)
		snprintf(text, len, "%s", t ? t : "");
	findings_free(&f);
	return n;
}

/* ------------------------------------------------------------------ the clean profile */

static void test_clean(void)
{
	make_profile();
	struct findings f = { 0 };
	rules_run(&prof, &f);
	for (size_t i = 0; i < f.n; i++)
		fprintf(stderr, "unexpected: [%s] %s\n", f.v[i].rule->name, f.v[i].text);
	CU_ASSERT_EQUAL(f.n, 0);
	findings_free(&f);
}

/* ------------------------------------------------------------------ audio */

static void test_callback_calls(void)
{
	char t[512];
	make_profile();
	prof.nviolations = 2;
	CU_ASSERT_EQUAL(run_rule("callback-alloc", t, sizeof(t)), 1);
	CU_ASSERT_STRING_EQUAL(t, "3 allocations in 1,000 cycles in grow_buffer() at engine.c:40 "
			       "(jack \"synth\"): preallocate this buffer before the stream starts "
			       "and reuse it; the allocator can take a lock or fault in pages and "
			       "miss the deadline");
	CU_ASSERT_EQUAL(run_rule("callback-lock", t, sizeof(t)), 1);
	CU_ASSERT(starts(t, "1 call to pthread_mutex_lock() in 1,000 cycles in process() at "
			  "engine.c:90 (jack \"synth\"): "));
	/* Per cycle, whole and not. */
	vs[0].count = 2000;
	run_rule("callback-alloc", t, sizeof(t));
	CU_ASSERT(starts(t, "2 allocations per cycle in grow_buffer()"));
	vs[0].count = 1500;
	run_rule("callback-alloc", t, sizeof(t));
	CU_ASSERT(starts(t, "1.5 allocations per cycle in grow_buffer()"));
	/* Made inside the audio library's own API: not the program's to fix. */
	vs[0].library = "libasound";
	CU_ASSERT_EQUAL(run_rule("callback-alloc", NULL, 0), 0);
	CU_ASSERT_EQUAL(run_rule("callback-lock", NULL, 0), 1);
}

static void test_overrun_near_miss(void)
{
	char t[512];
	make_profile();
	cbs[0].load_max_pct = 79.9;
	CU_ASSERT_EQUAL(run_rule("near-miss", NULL, 0), 0);
	cbs[0].load_max_pct = 80;
	cbs[0].near80 = 0;             /* "1 over 80%" all the same: the maximum is */
	CU_ASSERT_EQUAL(run_rule("near-miss", t, sizeof(t)), 1);
	CU_ASSERT(starts(t, "jack \"synth\": its longest callback took 80.0% of the deadline "
			  "(1 over 80%)"));
	CU_ASSERT_EQUAL(run_rule("overrun", NULL, 0), 0);
	/* An overrun is said as one; then the near miss is not said again. */
	cbs[0].load_max_pct = 120;
	cbs[0].overruns = 1;
	CU_ASSERT_EQUAL(run_rule("near-miss", NULL, 0), 0);
	CU_ASSERT_EQUAL(run_rule("overrun", t, sizeof(t)), 1);
	CU_ASSERT(starts(t, "jack \"synth\": 1 of 1,000 callbacks took longer than the 5.33 ms "
			  "deadline (p99 2.00 ms, max 2.67 ms); remove"));
	/* With kept cycles: the slowest overrun's longest timed call is named. */
	struct cycle_violation cv[2] = {
		{ .kind = "alloc", .call = "malloc", .library = "", .count = 2, .time_ns = -1,
		  .fs_off = 0, .fs_len = 4 },
		{ .kind = "lock", .call = "pthread_mutex_lock", .library = "", .count = 1,
		  .time_ns = 2000000, .fs_off = 8, .fs_len = 2 },
	};
	struct slow_cycle sc[2] = {
		{ .cycle = 7, .start_ns = 40000000, .dur_ns = 6000000, .deadline_ns = 5333333,
		  .overrun = 1, .slowest = 1 },
		{ .cycle = 9, .start_ns = 50000000, .dur_ns = 2666666, .deadline_ns = 5333333,
		  .slowest = 1, .v = cv, .nv = 2 },
	};
	cbs[0].slow = sc;
	cbs[0].nslow = 2;
	CU_ASSERT_EQUAL(run_rule("overrun", t, sizeof(t)), 1);
	CU_ASSERT(strstr(t, "max 2.67 ms); remove") != NULL);   /* its overrun made no call */
	sc[0].v = cv;
	sc[0].nv = 2;
	CU_ASSERT_EQUAL(run_rule("overrun", t, sizeof(t)), 1);
	CU_ASSERT(strstr(t, "max 2.67 ms); the slowest, cycle 7 at 40.00 ms, spent 2.00 ms of its "
			 "6.00 ms in pthread_mutex_lock() at ") != NULL);
	cbs[0].slow = NULL;
	cbs[0].nslow = 0;
}

static void test_xrun(void)
{
	char t[512];
	make_profile();
	cbs[0].xruns = 1;
	CU_ASSERT_EQUAL(run_rule("xrun", t, sizeof(t)), 1);
	CU_ASSERT(strstr(t, "reported 1 xrun;") && strstr(t, "(256 frames at 48000 Hz)"));
	cbs[0].xruns = 2;
	cbs[0].frames = cbs[0].rate = -1;
	run_rule("xrun", t, sizeof(t));
	CU_ASSERT(strstr(t, "reported 2 xruns;") && strstr(t, "(? frames at ? Hz)"));
}

static void test_not_realtime(void)
{
	static const char *const quiet[] = { "SCHED_FIFO", "SCHED_RR", "SCHED_DEADLINE", "?", "" };
	char t[512];
	make_profile();
	for (size_t i = 0; i < sizeof(quiet) / sizeof(quiet[0]); i++) {
		cbs[0].policy = quiet[i];
		CU_ASSERT_EQUAL(run_rule("not-realtime", NULL, 0), 0);
	}
	cbs[0].policy = "SCHED_OTHER";
	CU_ASSERT_EQUAL(run_rule("not-realtime", t, sizeof(t)), 1);
	CU_ASSERT(starts(t, "jack \"synth\" runs on thread \"synth\" with SCHED_OTHER:"));
	cbs[0].thread = "";
	run_rule("not-realtime", t, sizeof(t));
	CU_ASSERT(starts(t, "jack \"synth\" runs on thread 42 with"));
	cbs[0].api = "region";         /* a marked region may run anywhere */
	CU_ASSERT_EQUAL(run_rule("not-realtime", NULL, 0), 0);
}

/* ------------------------------------------------------------------ heap */

static void test_leak(void)
{
	char t[512];
	make_profile();
	pps[0].eb = 1024;
	pps[0].ebk = 1;
	pps[1].eb = 4096;
	pps[1].ebk = 2;
	struct findings f = { 0 };
	rules_run(&prof, &f);
	const char *first;
	CU_ASSERT_EQUAL(fired(&f, "leak", &first), 2);
	CU_ASSERT_PTR_NOT_NULL_FATAL(first);   /* the larger first */
	CU_ASSERT(starts(first, "4.0 KiB in 2 blocks never freed, allocated in load_preset() "
			  "at preset.c:7:"));
	findings_free(&f);
	/* Blocks live in a snapshot may still be freed; DHAT's own files are at exit. */
	prof.reason = "snapshot";
	CU_ASSERT_EQUAL(run_rule("leak", NULL, 0), 0);
	CU_ASSERT_EQUAL(run_rule("snapshot", t, sizeof(t)), 1);
	CU_ASSERT(starts(t, "this profile was written at snapshot, not at exit"));
	prof.reason = "signal";
	prof.signal = 15;
	run_rule("snapshot", t, sizeof(t));
	CU_ASSERT(starts(t, "this profile was written at signal 15, not at exit"));
	prof.has_audioprof = 0;
	CU_ASSERT_EQUAL(run_rule("leak", NULL, 0), 2);
	prof.bklt = 0;
	CU_ASSERT_EQUAL(run_rule("leak", NULL, 0), 0);
}

/* Many blocks, most of them short-lived: at least 1,000, at least half of the site's. */
static void test_short_lived(void)
{
	char t[512];
	make_profile();
	pps[0].tbk = 1500;
	pps[0].slk = 999;
	CU_ASSERT_EQUAL(run_rule("short-lived", NULL, 0), 0);
	pps[0].tbk = 2000;
	pps[0].slk = 1000;
	CU_ASSERT_EQUAL(run_rule("short-lived", t, sizeof(t)), 1);
	CU_ASSERT(starts(t, "1,000 of 2,000 blocks from grow_buffer() at engine.c:40 were "
			  "freed within 1.00 ms:"));
	pps[0].tbk = 2001;
	CU_ASSERT_EQUAL(run_rule("short-lived", NULL, 0), 0);
	pps[0].tbk = 2000;
	prof.has_slk = 0;
	CU_ASSERT_EQUAL(run_rule("short-lived", NULL, 0), 0);
}

/* One site holding half of a peak of 8 MiB or more. */
static void test_peak_site(void)
{
	char t[512];
	make_profile();
	prof.totals.max_b = (8 << 20) - 1;
	pps[0].gb = 8 << 19;
	CU_ASSERT_EQUAL(run_rule("peak-site", NULL, 0), 0);
	prof.totals.max_b = 8 << 20;
	CU_ASSERT_EQUAL(run_rule("peak-site", t, sizeof(t)), 1);
	CU_ASSERT(starts(t, "grow_buffer() at engine.c:40 held 50% of the peak heap (4.0 MiB "
			  "of 8.0 MiB)"));
	pps[0].gb = (8 << 19) - 1;
	CU_ASSERT_EQUAL(run_rule("peak-site", NULL, 0), 0);
}

/* A million blocks a second or more, over a run of 100 ms or more (in ns). */
static void test_alloc_rate(void)
{
	char t[512];
	make_profile();
	prof.totals.total_k = 99999;
	pps[0].tbk = 99999;
	CU_ASSERT_EQUAL(run_rule("alloc-rate", NULL, 0), 0);
	prof.totals.total_k = 100000;
	CU_ASSERT_EQUAL(run_rule("alloc-rate", t, sizeof(t)), 1);
	CU_ASSERT(starts(t, "the program allocated 1,000,000 blocks per second, 100% of them in "
			  "grow_buffer() at engine.c:40:"));
	prof.te = 99999999;            /* too short a run to say */
	CU_ASSERT_EQUAL(run_rule("alloc-rate", NULL, 0), 0);
	prof.te = 100000000;
	prof.tu = "ms";
	CU_ASSERT_EQUAL(run_rule("alloc-rate", NULL, 0), 0);
}

static void test_table_full(void)
{
	char t[512];
	make_profile();
	pps[2] = (struct pp){ .tb = 2048, .tbk = 2, .fs_off = 7, .fs_len = 1 };
	prof.npps = 3;
	CU_ASSERT_EQUAL(run_rule("site-table-full", t, sizeof(t)), 1);
	CU_ASSERT(starts(t, "2 blocks (2.0 KiB) could not be told apart by stack"));
}

/* ------------------------------------------------------------------ emitting, order */

static void test_emit(void)
{
	static const struct rule r = { "t", SEV_INFO, NULL,
		"{a} and {b}, {a} again; {unknown} {open; {}", "x.json" };
	struct findings f = { 0 };
	rules_emit(&f, &r, 5, "a", "one", "b", "", NULL);
	char big[1000];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	rules_emit(&f, &r, 6, "b", big, NULL);
	CU_ASSERT_EQUAL_FATAL(f.n, 2);
	CU_ASSERT_STRING_EQUAL(f.v[0].text, "one and , one again; {unknown} {open; {}");
	CU_ASSERT_EQUAL(f.v[0].weight, 5);
	CU_ASSERT_PTR_EQUAL(f.v[0].rule, &r);
	CU_ASSERT_EQUAL(strlen(f.v[1].text), strlen("{a} and , {a} again; {unknown} {open; {}") +
			sizeof(big) - 1);
	findings_free(&f);
	CU_ASSERT_EQUAL(f.n, 0);
	CU_ASSERT_PTR_NULL(f.v);
}

/* Errors first, then warnings, then information; in table order within a severity;
 * by weight within a rule, larger first. */
static void test_order(void)
{
	make_profile();
	prof.nviolations = 2;
	vs[1].kind = "trylock";        /* a warning */
	cbs[0].policy = "SCHED_OTHER"; /* a warning after it in the table */
	cbs[0].overruns = 2;           /* an error after callback-alloc in the table */
	pps[0].eb = 10;                /* two leaks (warnings), the smaller first in pps */
	pps[1].eb = 20;
	pps[0].ebk = pps[1].ebk = 1;
	prof.totals.total_k = 100000;  /* alloc-rate (information) */
	struct findings f = { 0 };
	rules_run(&prof, &f);
	static const char *const want[] = { "callback-alloc", "overrun", "callback-trylock",
					    "not-realtime", "leak", "leak", "alloc-rate" };
	CU_ASSERT_EQUAL_FATAL(f.n, sizeof(want) / sizeof(want[0]));
	for (size_t i = 0; i < f.n; i++)
		CU_ASSERT_STRING_EQUAL(f.v[i].rule->name, want[i]);
	CU_ASSERT_EQUAL(f.v[4].weight, 20);
	CU_ASSERT_EQUAL(f.v[5].weight, 10);
	findings_free(&f);
}

/* Every rule has a unique name, a fixture and advice; errors come first in the table. */
static void test_table(void)
{
	CU_ASSERT(rules_count > 0);
	for (size_t i = 0; i < rules_count; i++) {
		const struct rule *r = &rules_table[i];
		CU_ASSERT(r->name && *r->name && r->check && r->advice && *r->advice);
		CU_ASSERT(r->fixture && strstr(r->fixture, ".json"));
		for (size_t j = 0; j < i; j++)
			CU_ASSERT(strcmp(rules_table[j].name, r->name) != 0);
		if (i > 0)
			CU_ASSERT(rules_table[i - 1].severity >= r->severity);
	}
}

void suite_rules(void)
{
	CU_pSuite s = CU_add_suite("rules", NULL, NULL);
	CU_add_test(s, "a clean profile gets no advice", test_clean);
	CU_add_test(s, "calls inside the callback, the program's only", test_callback_calls);
	CU_add_test(s, "overrun and near miss: 80% and over", test_overrun_near_miss);
	CU_add_test(s, "xrun", test_xrun);
	CU_add_test(s, "not-realtime: scheduling policies", test_not_realtime);
	CU_add_test(s, "leak: at exit only, larger first; snapshot", test_leak);
	CU_add_test(s, "short-lived: 1,000 blocks, half the site's", test_short_lived);
	CU_add_test(s, "peak-site: half of a peak of 8 MiB", test_peak_site);
	CU_add_test(s, "alloc-rate: a million a second over 100 ms", test_alloc_rate);
	CU_add_test(s, "site-table-full", test_table_full);
	CU_add_test(s, "advice templates expand", test_emit);
	CU_add_test(s, "findings come out by severity, table order, weight", test_order);
	CU_add_test(s, "the table", test_table);
}
