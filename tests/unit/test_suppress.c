/* test_suppress.c - the analyzer's suppressions (analyzer/suppress.c): the file parser
 * (every rule form, every error with its FILE:LINE), the built-in rules on the stacks
 * real programs gave (dsp_demo, tests/progs/cxxnew, bash, sox; the frame strings are
 * copied from their profiles), and suppress_apply's exact bookkeeping on a profile. */
#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "profile_read.h"
#include "suppress.h"
#include "suites.h"

/* ------------------------------------------------------------------ a profile in memory */

/* Frame strings as the preload writes them. */
static const char *ftbl[] = {
	"[root]",
	/* 1 */ "0x7FA26FE17AC1: malloc (shim.c:222)",
	/* 2 */ "0x7FA26F2A57BA: ??? (in /usr/lib/x86_64-linux-gnu/libstdc++.so.6.0.30)",
	/* 3 */ "0x7FA26F2A958C: operator new(unsigned long)+0x1c (in /usr/lib/x86_64-linux-gnu/libstdc++.so.6.0.30)",
	/* 4 */ "0x7FA26FE17E91: calloc (shim.c:278)",
	/* 5 */ "0x7FA26F77BDFF: __new_exitfn (cxa_atexit.c:114)",
	/* 6 */ "0x7FA26FED0CB3: calloc (rtld-malloc.h:44)",
	/* 7 */ "0x7FA26FED0CB3: allocate_dtv (dl-tls.c:401)",
	/* 8 */ "0x7FA26FED171E: _dl_allocate_tls (dl-tls.c:670)",
	/* 9 */ "0x7FA26F7C7DAF: __pthread_create_2_1 (pthread_create.c:650)",
	/* 10 */ "0x564112E9E68E: engine_start (engine.c:354)",
	/* 11 */ "0x564112E9CDB1: main (main.c:283)",
	/* 12 */ "0x55D1: n_keep (cxxnew.cc:55)",
	/* 13 */ "0x7F01: _IO_file_doallocate (filedoalloc.c:101)",
	/* 14 */ "0x7F02: _nl_intern_locale_data (loadlocale.c:156)",
	/* 15 */ "0x7F03: _nl_find_locale (findlocale.c:237)",
	/* 16 */ "0x7F04: ??? (in /usr/lib/x86_64-linux-gnu/libgomp.so.1.0.0)",
	/* 17 */ "0x5601: inject_leak (inject.c:212)",
	/* 18 */ "0x7F05: pthread_mutex_lock (rtcheck.c:195)",
	/* 19 */ "0x5602: inject_lock (inject.c:191)",
	/* 20 */ "0x5603: dsp_process (engine.c:163)",
	/* 21 */ "0x5604: inject_alloc (inject.c:170)",
};

/* The stacks, innermost first, back to back. */
static const uint32_t stacks[][8] = {
	{ 1, 2 },                      /* 0: libstdc++'s emergency pool (unnamed) */
	{ 1, 3 },                      /* 1: operator new cut short: a static initializer */
	{ 4, 5 },                      /* 2: the atexit list */
	{ 4, 6, 7, 8, 9, 10, 11 },     /* 3: a thread's dtv */
	{ 1, 3, 12, 11 },              /* 4: the program's own leak through operator new */
	{ 1, 13, 11 },                 /* 5: stdout's buffer */
	{ 1, 14, 15, 11 },             /* 6: locale data */
	{ 1, 16 },                     /* 7: libgomp */
	{ 1, 17, 20, 11 },             /* 8: the program's own leak */
	{ 18, 19, 20 },                /* 9: a lock in the callback */
	{ 1, 21, 20 },                 /* 10: an allocation in the callback */
};
static const uint32_t stack_len[] = { 2, 2, 2, 7, 4, 3, 4, 2, 4, 3, 3 };
#define NSTACKS (sizeof(stack_len) / sizeof(stack_len[0]))

static struct profile prof;
static struct pp pps[9];
static uint32_t fs[64];
static struct violation vs[2];
static struct callback cbs[1];

/* pps 0..8 on stacks 0..8, each with eb = 100 * (i + 1) in i + 1 blocks; violation 0
 * a lock x7 (stack 9), violation 1 a malloc x5 of 80 bytes (stack 10). */
static void make_profile(void)
{
	memset(&prof, 0, sizeof(prof));
	memset(pps, 0, sizeof(pps));
	uint32_t n = 0, off[NSTACKS];
	for (size_t s = 0; s < NSTACKS; s++) {
		off[s] = n;
		for (uint32_t k = 0; k < stack_len[s]; k++)
			fs[n++] = stacks[s][k];
	}
	prof.ftbl = ftbl;
	prof.nftbl = sizeof(ftbl) / sizeof(ftbl[0]);
	prof.fs = fs;
	prof.nfs = n;
	prof.pps = pps;
	prof.npps = 9;
	prof.bklt = 1;
	prof.has_audioprof = 1;
	prof.reason = "exit";
	for (size_t i = 0; i < 9; i++) {
		pps[i].fs_off = off[i];
		pps[i].fs_len = stack_len[i];
		pps[i].tb = pps[i].eb = 100 * (int64_t)(i + 1);
		pps[i].tbk = pps[i].ebk = (int64_t)(i + 1);
		prof.totals.curr_b += pps[i].eb;
		prof.totals.curr_k += pps[i].ebk;
	}
	memset(cbs, 0, sizeof(cbs));
	cbs[0].allocs = 5;
	cbs[0].alloc_bytes = 400;
	cbs[0].rt_unsafe = 7;
	prof.callbacks = cbs;
	prof.ncallbacks = 1;
	vs[0] = (struct violation){ .kind = "lock", .call = "pthread_mutex_lock", .library = "", .count = 7, .bytes = 0, .callback = 0, .fs_off = off[9], .fs_len = stack_len[9] };
	vs[1] = (struct violation){ .kind = "alloc", .call = "malloc", .library = "", .count = 5, .bytes = 400, .callback = 0, .fs_off = off[10], .fs_len = stack_len[10] };
	prof.violations = vs;
	prof.nviolations = 2;
	prof.has_audio = 1;
}

static int parse(struct suppressions *s, const char *text, char *err, size_t errlen)
{
	memset(s, 0, sizeof(*s));
	err[0] = '\0';
	return suppress_parse(s, text, strlen(text), "t.supp", err, errlen);
}

/* ------------------------------------------------------------------ parsing */

static void test_parse_forms(void)
{
	struct suppressions s;
	char err[512];
	const char *text =
		"# a comment\n"
		"\n"
		"   # an indented comment\n"
		"leak: foo_*\n"
		"leak:bar\r\n"
		"alloc:\tfunction-name-matches:grow  call-stack-contains:engine_*  call-stack-contains:main\n"
		"violation: object-matches:*/libasound.so* outermost\n"
		"leak: operator\\ new(unsigned\\ long)\n"
		"leak: std::vector<int>::push_back*";
	CU_ASSERT_EQUAL_FATAL(parse(&s, text, err, sizeof(err)), 0);
	CU_ASSERT_STRING_EQUAL(err, "");
	CU_ASSERT_EQUAL_FATAL(s.n, 6);
	CU_ASSERT_EQUAL(s.v[0].kind, SUP_LEAK);
	CU_ASSERT_STRING_EQUAL(s.v[0].func, "foo_*");
	CU_ASSERT_STRING_EQUAL(s.v[0].label, "t.supp:4");
	CU_ASSERT_FALSE(s.v[0].builtin);
	CU_ASSERT_STRING_EQUAL(s.v[1].func, "bar");      /* no blank after the colon, CRLF */
	CU_ASSERT_STRING_EQUAL(s.v[1].label, "t.supp:5");
	CU_ASSERT_EQUAL(s.v[2].kind, SUP_ALLOC);
	CU_ASSERT_STRING_EQUAL(s.v[2].func, "grow");
	CU_ASSERT_EQUAL_FATAL(s.v[2].nstack, 2);
	CU_ASSERT_STRING_EQUAL(s.v[2].stack[0], "engine_*");
	CU_ASSERT_STRING_EQUAL(s.v[2].stack[1], "main");
	CU_ASSERT_EQUAL(s.v[3].kind, SUP_VIOLATION);
	CU_ASSERT_PTR_NULL(s.v[3].func);
	CU_ASSERT_STRING_EQUAL(s.v[3].object, "*/libasound.so*");
	CU_ASSERT_TRUE(s.v[3].outermost);
	CU_ASSERT_STRING_EQUAL(s.v[4].func, "operator\\ new(unsigned\\ long)");
	CU_ASSERT_STRING_EQUAL(s.v[5].func, "std::vector<int>::push_back*");   /* C++ colons */
	suppress_free(&s);
}

static void test_parse_errors(void)
{
	static const struct {
		const char *text, *err;
	} cases[] = {
		{ "leak: a\nleek: b\n", "t.supp:2: unknown kind 'leek' (expected leak, alloc or violation)" },
		{ "# c\nleak a\n", "t.supp:2: expected KIND: CONDITIONS (KIND is leak, alloc or violation)" },
		{ "leak:\n", "t.supp:1: 'leak:' needs at least one condition" },
		{ "alloc:   \t\n", "t.supp:1: 'alloc:' needs at least one condition" },
		{ "\n\nviolation: call-stak-contains:x\n",
		  "t.supp:3: unknown condition 'call-stak-contains:' (expected function-name-matches:, "
		  "call-stack-contains:, object-matches: or outermost)" },
		{ "leak: function-name-matches:\n", "t.supp:1: empty pattern after 'function-name-matches:'" },
		{ "leak: a b\n", "t.supp:1: more than one function name or object pattern" },
		{ "leak: call-stack-contains:1 call-stack-contains:2 call-stack-contains:3 "
		  "call-stack-contains:4 call-stack-contains:5 call-stack-contains:6 "
		  "call-stack-contains:7 call-stack-contains:8 call-stack-contains:9\n",
		  "t.supp:1: more than 8 call-stack-contains: conditions" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct suppressions s;
		char err[512];
		CU_ASSERT_EQUAL(parse(&s, cases[i].text, err, sizeof(err)), -1);
		if (strcmp(err, cases[i].err) != 0)
			fprintf(stderr, "case %zu: got '%s'\n", i, err);
		CU_ASSERT_STRING_EQUAL(err, cases[i].err);
		suppress_free(&s);
	}
	/* A NUL byte inside a line. */
	struct suppressions s;
	char err[512];
	memset(&s, 0, sizeof(s));
	CU_ASSERT_EQUAL(suppress_parse(&s, "leak: a\nleak: b\0c\n", 17, "t.supp", err, sizeof(err)), -1);
	CU_ASSERT_STRING_EQUAL(err, "t.supp:2: a NUL byte in the line");
	suppress_free(&s);
}

/* ------------------------------------------------------------------ matching */

static void test_builtins(void)
{
	make_profile();
	struct suppressions s;
	memset(&s, 0, sizeof(s));
	suppress_add_builtins(&s);
	static const char *const want[] = {
		"libstdc++ emergency pool", "C++ static initializers", "glibc atexit list",
		"glibc dynamic TLS", NULL, "glibc stdio buffers", "glibc locale data",
		"libgomp runtime", NULL,
	};
	for (size_t i = 0; i < 9; i++) {
		int r = suppress_match(&s, SUP_LEAK, &prof, pps[i].fs_off, pps[i].fs_len);
		if (!want[i]) {
			CU_ASSERT_EQUAL(r, -1);   /* the program's own leaks stay leaks */
			continue;
		}
		CU_ASSERT_FATAL(r >= 0);
		CU_ASSERT_STRING_EQUAL(s.v[r].label, want[i]);
		CU_ASSERT_TRUE(s.v[r].builtin);
	}
	/* The built-ins are leak rules only: a violation is never suppressed by them. */
	CU_ASSERT_EQUAL(suppress_match(&s, SUP_VIOLATION, &prof, vs[0].fs_off, vs[0].fs_len), -1);
	CU_ASSERT_EQUAL(suppress_match(&s, SUP_ALLOC, &prof, vs[1].fs_off, vs[1].fs_len), -1);
	suppress_free(&s);
}

/* The label of the built-in that matches the stack `frames` (innermost first, as the
 * preload writes them), or NULL. */
static const char *builtin_for(const char *const *frames, uint32_t n)
{
	static const char *tbl[16];
	static uint32_t ix[16];
	static char label[80];
	struct profile p;
	memset(&p, 0, sizeof(p));
	tbl[0] = "[root]";
	for (uint32_t i = 0; i < n; i++) {
		tbl[i + 1] = frames[i];
		ix[i] = i + 1;
	}
	p.ftbl = tbl;
	p.nftbl = n + 1;
	p.fs = ix;
	p.nfs = n;
	struct suppressions s;
	memset(&s, 0, sizeof(s));
	suppress_add_builtins(&s);
	int r = suppress_match(&s, SUP_LEAK, &p, 0, n);
	const char *out = NULL;
	if (r >= 0) {
		snprintf(label, sizeof(label), "%s", s.v[r].label);
		out = label;
	}
	suppress_free(&s);
	return out;
}

#define BUILTIN_FOR(...) builtin_for((const char *const[]){ __VA_ARGS__ }, \
	sizeof((const char *const[]){ __VA_ARGS__ }) / sizeof(const char *))

/* Stacks of csound, aplay, paplay and pw-play (glibc 2.36), and the program's own
 * allocations next to them, which no built-in may take. */
static void test_builtins_loader_locale(void)
{
	const char *l;
	l = BUILTIN_FOR("0x1: malloc (shim.c:222)",
		"0x2: ??? (in /usr/lib/x86_64-linux-gnu/libstdc++.so.6.0.30)",
		"0x3: call_init (dl-init.c:74)", "0x3: call_init (dl-init.c:26)",
		"0x4: _dl_init (dl-init.c:121)");
	CU_ASSERT_PTR_NOT_NULL_FATAL(l);
	CU_ASSERT_STRING_EQUAL(l, "C++ static initializers");
	l = BUILTIN_FOR("0x1: calloc (shim.c:278)", "0x2: calloc (rtld-malloc.h:44)",
		"0x3: _dl_new_object (dl-object.c:92)", "0x4: _dl_map_object_from_fd (dl-load.c:1063)",
		"0x5: _dl_map_object (dl-load.c:2272)");
	CU_ASSERT_PTR_NOT_NULL_FATAL(l);
	CU_ASSERT_STRING_EQUAL(l, "ld.so loaded-library data");
	l = BUILTIN_FOR("0x1: malloc (shim.c:222)", "0x2: malloc (rtld-malloc.h:56)",
		"0x3: fillin_rpath (dl-load.c:532)", "0x4: decompose_rpath (dl-load.c:654)",
		"0x5: _dl_map_object (dl-load.c:2111)");
	CU_ASSERT_PTR_NOT_NULL_FATAL(l);
	CU_ASSERT_STRING_EQUAL(l, "ld.so loaded-library data");
	l = BUILTIN_FOR("0x1: malloc (shim.c:222)", "0x2: malloc (rtld-malloc.h:56)",
		"0x3: _dlfo_mappings_segment_allocate (dl-find_object.c:217)");
	CU_ASSERT_PTR_NOT_NULL_FATAL(l);
	CU_ASSERT_STRING_EQUAL(l, "ld.so loaded-library data");
	l = BUILTIN_FOR("0x1: malloc (shim.c:222)", "0x2: __strdup (strdup.c:42)",
		"0x3: setlocale (setlocale.c:366)", "0x4: ??? (in /usr/bin/aplay)");
	CU_ASSERT_PTR_NOT_NULL_FATAL(l);
	CU_ASSERT_STRING_EQUAL(l, "glibc locale data");
	l = BUILTIN_FOR("0x1: malloc (shim.c:222)", "0x2: _nl_make_l10nflist (l10nflist.c:242)",
		"0x2: _nl_make_l10nflist (l10nflist.c:285)", "0x3: _nl_find_domain (finddomain.c:147)",
		"0x4: __dcigettext (dcigettext.c:702)");
	CU_ASSERT_PTR_NOT_NULL_FATAL(l);
	CU_ASSERT_STRING_EQUAL(l, "glibc gettext catalogs");
	/* A library constructor of the program's, run by dlopen: its own frame is named. */
	CU_ASSERT_PTR_NULL(BUILTIN_FOR("0x1: malloc (shim.c:222)", "0x2: plugin_init (plugin.c:12)",
		"0x3: call_init (dl-init.c:74)", "0x4: _dl_init (dl-init.c:121)",
		"0x5: dl_open_worker (dl-open.c:808)"));
	/* The program's strdup, and its operator new with a caller. */
	CU_ASSERT_PTR_NULL(BUILTIN_FOR("0x1: malloc (shim.c:222)", "0x2: __strdup (strdup.c:42)",
		"0x3: load_names (app.c:40)", "0x4: main (app.c:90)"));
	CU_ASSERT_PTR_NULL(BUILTIN_FOR("0x1: malloc (shim.c:222)",
		"0x2: operator new(unsigned long)+0x1c (in /usr/lib/x86_64-linux-gnu/libstdc++.so.6.0.30)",
		"0x3: Voice::Voice() (voice.cc:10)"));
}

static void test_user_rules(void)
{
	make_profile();
	struct suppressions s;
	char err[512];
	CU_ASSERT_EQUAL_FATAL(parse(&s,
		"leak: inject_*\n"                                  /* 0 */
		"leak: n_keep call-stack-contains:nothing_like_it\n"/* 1: a condition fails */
		"leak: n_keep object-matches:*\n"                   /* 2: n_keep has no object */
		"violation: call-stack-contains:inject_lock\n"      /* 3 */
		"alloc: inject_alloc outermost\n"                   /* 4: not outermost */
		"alloc: inject_alloc call-stack-contains:dsp_*\n",  /* 5 */
		err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(suppress_match(&s, SUP_LEAK, &prof, pps[8].fs_off, pps[8].fs_len), 0);
	CU_ASSERT_EQUAL(suppress_match(&s, SUP_LEAK, &prof, pps[4].fs_off, pps[4].fs_len), -1);
	CU_ASSERT_EQUAL(suppress_match(&s, SUP_VIOLATION, &prof, vs[0].fs_off, vs[0].fs_len), 3);
	CU_ASSERT_EQUAL(suppress_match(&s, SUP_ALLOC, &prof, vs[1].fs_off, vs[1].fs_len), 5);
	/* Kinds do not mix: asked about a leak on the lock's stack, the lock rule (3) is no
	 * leak rule; only the leak rule naming inject_* (the frame past the profiler's
	 * pthread_mutex_lock) answers. */
	CU_ASSERT_EQUAL(suppress_match(&s, SUP_LEAK, &prof, vs[0].fs_off, vs[0].fs_len), 0);
	suppress_free(&s);
}

/* ------------------------------------------------------------------ applying */

static void test_apply(void)
{
	make_profile();
	struct suppressions s;
	char err[512];
	CU_ASSERT_EQUAL_FATAL(parse(&s, "violation: call-stack-contains:inject_lock\n"
				    "alloc: inject_alloc\n", err, sizeof(err)), 0);
	suppress_add_builtins(&s);
	int64_t before_b = prof.totals.curr_b, before_k = prof.totals.curr_k;
	CU_ASSERT_EQUAL_FATAL(suppress_apply(&prof, &s), 0);
	const struct suppressed *x = prof.suppressed;
	CU_ASSERT_PTR_NOT_NULL_FATAL(x);
	/* pps 0-3 and 5-7 are the runtimes': 100+200+300+400+600+700+800 bytes in
	 * 1+2+3+4+6+7+8 blocks; pps 4 and 8 (500 + 900 bytes, 5 + 9 blocks) stay. */
	CU_ASSERT_EQUAL(x->leak_b, 3100);
	CU_ASSERT_EQUAL(x->leak_k, 31);
	CU_ASSERT_EQUAL(x->leak_sites, 7);
	CU_ASSERT_EQUAL(prof.totals.curr_b, before_b - 3100);
	CU_ASSERT_EQUAL(prof.totals.curr_b, 1400);
	CU_ASSERT_EQUAL(prof.totals.curr_k, before_k - 31);
	for (size_t i = 0; i < 9; i++) {
		int kept = i == 4 || i == 8;
		CU_ASSERT_EQUAL(x->pp_sup[i], !kept);
		CU_ASSERT_EQUAL(pps[i].eb, kept ? 100 * (int64_t)(i + 1) : 0);
		CU_ASSERT_EQUAL(pps[i].tb, 100 * (int64_t)(i + 1));   /* allocated: unchanged */
	}
	CU_ASSERT_EQUAL(prof.nviolations, 0);
	CU_ASSERT_EQUAL(x->viol_calls, 7);
	CU_ASSERT_EQUAL(x->viol_stacks, 1);
	CU_ASSERT_EQUAL(x->alloc_calls, 5);
	CU_ASSERT_EQUAL(x->v_sup[0], 1);
	CU_ASSERT_EQUAL(x->v_sup[1], 1);
	CU_ASSERT_EQUAL(cbs[0].rt_unsafe, 0);
	CU_ASSERT_EQUAL(cbs[0].allocs, 0);
	CU_ASSERT_EQUAL(cbs[0].alloc_bytes, 0);
	char labels[1600];
	suppress_labels(x, labels, sizeof(labels));
	CU_ASSERT_STRING_EQUAL(labels, "built-in: libstdc++ emergency pool, C++ static initializers, "
			       "glibc atexit list, glibc dynamic TLS, glibc stdio buffers, "
			       "glibc locale data, libgomp runtime; t.supp:1, t.supp:2");
	CU_ASSERT_EQUAL(x->builtin_hits, 7);
	CU_ASSERT_EQUAL(x->file_hits, 2);
	free(prof.suppressed);
	prof.suppressed = NULL;
	suppress_free(&s);
}

/* A snapshot's live blocks are not leaks: nothing is taken out of them. */
static void test_apply_snapshot(void)
{
	make_profile();
	prof.reason = "snapshot";
	struct suppressions s;
	memset(&s, 0, sizeof(s));
	suppress_add_builtins(&s);
	int64_t before = prof.totals.curr_b;
	CU_ASSERT_EQUAL_FATAL(suppress_apply(&prof, &s), 0);
	CU_ASSERT_EQUAL(prof.suppressed->leak_sites, 0);
	CU_ASSERT_EQUAL(prof.totals.curr_b, before);
	CU_ASSERT_EQUAL(pps[2].eb, 300);
	free(prof.suppressed);
	prof.suppressed = NULL;
	suppress_free(&s);
}

void suite_suppress(void)
{
	CU_pSuite s = CU_add_suite("suppress", NULL, NULL);
	CU_add_test(s, "the forms of a rule", test_parse_forms);
	CU_add_test(s, "malformed lines: FILE:LINE and the problem", test_parse_errors);
	CU_add_test(s, "built-ins on real runtime stacks, not on the program's", test_builtins);
	CU_add_test(s, "built-ins: ld.so, locale and gettext data, not a plug-in's", test_builtins_loader_locale);
	CU_add_test(s, "user rules: every condition must hold", test_user_rules);
	CU_add_test(s, "apply: exact totals, violations and callback counts", test_apply);
	CU_add_test(s, "apply: a snapshot keeps its live blocks", test_apply_snapshot);
}
