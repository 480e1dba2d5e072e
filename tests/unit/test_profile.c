/* test_profile.c - unit tests for the profile writer (preload/engine/profile.c): real sites
 * built through sites.h with known numbers, the written file parsed back with jansson
 * and every DHAT field checked; merging of sites whose frames collide; the atomic
 * write (failures leave nothing behind, a symlinked target is replaced, not written
 * through). Runs in the single-threaded unit-test process, after the other suites. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <CUnit/CUnit.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "profile.h"
#include "sites.h"
#include "clock.h"
#include "suites.h"
#include "symbols.h"

/* Fake sizes large enough to own the global peak whatever earlier suites left live,
 * small enough for sites.c's packed peak sums (a site's change after the peak must
 * stay within +-512 GiB). */
#define BIG        (1ull << 36)
#define TUTH       2000u          /* short-lived threshold used by these tests */
#define MAX_FRAMES 64

static char tmpdir[64];           /* this suite's scratch directory */

/* ------------------------------------------------------------ fake call sites */

/* Real functions of the test binary, so their addresses symbolize to stable names.
 * Frame 0 of a stack is a function's own address (the profile writer looks it up
 * as is); the others are "return addresses" one byte into the caller. Distinct
 * bodies and noipa keep the compiler from folding them into one. */
static volatile int tp_sink;
static __attribute__((noipa)) void tp_fake_malloc(void) { tp_sink = 1; }
static __attribute__((noipa)) void tp_site_a(void) { tp_sink = 2; }
static __attribute__((noipa)) void tp_site_b(void) { tp_sink = 3; }
static __attribute__((noipa)) void tp_site_c(void) { tp_sink = 4; }
static __attribute__((noipa)) void tp_caller(void) { tp_sink = 5; }

static site_id intern3(void (*f0)(void), void (*f1)(void), void (*f2)(void))
{
	uintptr_t ips[3] = { (uintptr_t)f0, (uintptr_t)f1 + 1, (uintptr_t)f2 + 1 };
	return sites_intern(ips, 3);
}

/* ------------------------------------------------------------ helpers */

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static struct profile_meta base_meta(uint64_t start, uint64_t end)
{
	struct profile_meta m = {
		.cmd = "tp-prog --flag x", .pid = 4242, .ppid = 4200,
		.start_ns = start, .end_ns = end, .short_lived_ns = TUTH,
		.reason = "exit", .signal = 0, .depth = 32,
		.own_bytes = 1234, .peak_rss = 5678, .threads = 3,
	};
	return m;
}

static void path_in(char *buf, size_t n, const char *name)
{
	snprintf(buf, n, "%s/%s", tmpdir, name);
}

static json_t *load(const char *path)
{
	json_error_t e;
	json_t *j = json_load_file(path, 0, &e);
	if (!j)
		fprintf(stderr, "test_profile: %s: %s (line %d)\n", path, e.text, e.line);
	return j;
}

static uint64_t u64(const json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);
	CU_ASSERT_PTR_NOT_NULL(v);
	CU_ASSERT(json_is_integer(v));
	return (uint64_t)json_integer_value(v);
}

static const char *str(const json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));
	CU_ASSERT_PTR_NOT_NULL(s);
	return s ? s : "";
}

/* Entries of a directory other than . and .. */
static int dir_entries(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return -1;
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *f)
{
	(void)sb; (void)flag; (void)f;
	return remove(p);
}

/* A fresh empty subdirectory of tmpdir for one test. */
static void fresh_dir(char *buf, size_t n, const char *name)
{
	path_in(buf, n, name);
	nftw(buf, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	CU_ASSERT_EQUAL_FATAL(mkdir(buf, 0755), 0);
}

static int write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	fputs(text, f);
	return fclose(f);
}

static int file_is(const char *path, const char *text)
{
	char buf[256] = { 0 };
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	return n == strlen(text) && memcmp(buf, text, n) == 0;
}

/* The pp whose "ids" contain `id`, or NULL. */
static json_t *pp_with_id(json_t *doc, site_id id)
{
	size_t i, j;
	json_t *pp, *v;
	json_array_foreach(json_object_get(doc, "pps"), i, pp)
		json_array_foreach(json_object_get(pp, "ids"), j, v)
			if ((site_id)json_integer_value(v) == id)
				return pp;
	return NULL;
}

/* The frame strings of one pp, through ftbl. */
static size_t pp_frames(json_t *doc, json_t *pp, const char **out, size_t max)
{
	json_t *ftbl = json_object_get(doc, "ftbl");
	json_t *fs = json_object_get(pp, "fs");
	size_t n = json_array_size(fs);
	for (size_t i = 0; i < n && i < max; i++)
		out[i] = json_string_value(json_array_get(ftbl,
			(size_t)json_integer_value(json_array_get(fs, i))));
	return n;
}

struct frame_list { char *f[MAX_FRAMES]; size_t n; };

static void collect(const char *frame, void *arg)
{
	struct frame_list *l = arg;
	if (l->n < MAX_FRAMES)
		l->f[l->n++] = strdup(frame);
}

/* What the writer should produce for a 3-frame stack from intern3(). */
static void expected_frames(void (*f0)(void), void (*f1)(void), void (*f2)(void),
			    struct frame_list *l)
{
	l->n = 0;
	symbols_resolve((uintptr_t)f0 + 1, collect, l);
	symbols_resolve((uintptr_t)f1 + 1, collect, l);
	symbols_resolve((uintptr_t)f2 + 1, collect, l);
}

static void free_frames(struct frame_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->f[i]);
	l->n = 0;
}

static int all_integers(const json_t *j)
{
	size_t i;
	const char *k;
	json_t *v;
	switch (json_typeof(j)) {
	case JSON_REAL:
		return 0;
	case JSON_OBJECT:
		json_object_foreach((json_t *)j, k, v)
			if (!all_integers(v))
				return 0;
		return 1;
	case JSON_ARRAY:
		json_array_foreach(j, i, v)
			if (!all_integers(v))
				return 0;
		return 1;
	default:
		return 1;
	}
}

/* Adds `key` to the set `set` (a JSON object); 0 if it was already there. */
static int set_add(json_t *set, const char *key)
{
	if (json_object_get(set, key))
		return 0;
	json_object_set_new(set, key, json_true());
	return 1;
}

/* What dh_view.js requires, plus our own invariants: ftbl[0] is "[root]", frame
 * strings are unique, fs indices are in 1..|ftbl|-1, no two pps share an fs, each pp
 * allocated something, each site id appears once. Linear (hash sets): earlier suites
 * may have left many sites. */
static void check_structure(json_t *doc)
{
	static const char *pp_keys[] = { "tb", "tbk", "tl", "mb", "mbk", "gb", "gbk",
					 "eb", "ebk", "slk" };
	json_t *ftbl = json_object_get(doc, "ftbl"), *pps = json_object_get(doc, "pps");
	json_t *frames = json_object(), *stacks = json_object(), *ids = json_object();
	size_t nf = json_array_size(ftbl), i, j, k;
	json_t *pp, *v;
	char key[32];

	CU_ASSERT(all_integers(doc));
	CU_ASSERT_FATAL(json_is_array(ftbl) && json_is_array(pps) && nf >= 1);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_array_get(ftbl, 0)), "[root]");
	json_array_foreach(ftbl, i, v)
		CU_ASSERT(json_is_string(v) && set_add(frames, json_string_value(v)));
	json_array_foreach(pps, i, pp) {
		for (k = 0; k < sizeof(pp_keys) / sizeof(pp_keys[0]); k++)
			CU_ASSERT(json_is_integer(json_object_get(pp, pp_keys[k])));
		CU_ASSERT(u64(pp, "tbk") > 0);
		json_t *fs = json_object_get(pp, "fs");
		CU_ASSERT(json_is_array(fs) && json_array_size(fs) > 0);
		json_array_foreach(fs, j, v)
			CU_ASSERT(json_integer_value(v) >= 1 && (size_t)json_integer_value(v) < nf);
		char *fs_text = json_dumps(fs, JSON_COMPACT);
		CU_ASSERT(fs_text && set_add(stacks, fs_text));
		free(fs_text);
		CU_ASSERT(json_array_size(json_object_get(pp, "ids")) >= 1);
		json_array_foreach(json_object_get(pp, "ids"), j, v) {
			snprintf(key, sizeof(key), "%lld", (long long)json_integer_value(v));
			CU_ASSERT(set_add(ids, key));
		}
	}
	json_decref(frames);
	json_decref(stacks);
	json_decref(ids);
}

static void check_stats(json_t *pp, const struct site_stats *s)
{
	CU_ASSERT_EQUAL(u64(pp, "tb"), s->tb);
	CU_ASSERT_EQUAL(u64(pp, "tbk"), s->tbk);
	CU_ASSERT_EQUAL(u64(pp, "tl"), s->tl);
	CU_ASSERT_EQUAL(u64(pp, "mb"), s->mb);
	CU_ASSERT_EQUAL(u64(pp, "mbk"), s->mbk);
	CU_ASSERT_EQUAL(u64(pp, "gb"), s->gb);
	CU_ASSERT_EQUAL(u64(pp, "gbk"), s->gbk);
	CU_ASSERT_EQUAL(u64(pp, "eb"), s->eb);
	CU_ASSERT_EQUAL(u64(pp, "ebk"), s->ebk);
	CU_ASSERT_EQUAL(u64(pp, "slk"), s->short_k);
}

/* ------------------------------------------------------------ the fields */

/* Two sites with known numbers (sizes of 64 GiB so they own the global peak), one
 * interned but never used, one event on the overflow site.
 * Timeline (ns after T0), B = BIG = 64 GiB:
 *   100 A+B   200 A+2B   300 B+3B   1100 A-B (lived 1000: short)
 *   2000 B+4B (peak: 9B live, A 2B/1, B 7B/2)   3000 B-3B (lived 2700)   end 10000 */
static void test_fields(void)
{
	uint64_t t0 = now_ns();
	site_id a = intern3(tp_fake_malloc, tp_site_a, tp_caller);
	site_id b = intern3(tp_fake_malloc, tp_site_b, tp_caller);
	site_id c = intern3(tp_fake_malloc, tp_site_c, tp_caller);
	CU_ASSERT_FATAL(a > SITES_OVERFLOW && b > SITES_OVERFLOW && c > SITES_OVERFLOW);
	CU_ASSERT_FATAL(a != b && b != c && a != c);

	sites_set_short_lived(TUTH);
	sites_on_alloc(a, BIG, t0 + 100);
	sites_on_alloc(a, 2 * BIG, t0 + 200);
	sites_on_alloc(b, 3 * BIG, t0 + 300);
	sites_on_free(a, BIG, t0 + 100, t0 + 1100);
	sites_on_alloc(b, 4 * BIG, t0 + 2000);
	sites_on_free(b, 3 * BIG, t0 + 300, t0 + 3000);
	sites_on_alloc(SITES_OVERFLOW, 16, t0 + 4000);

	char path[128];
	path_in(path, sizeof(path), "fields.json");
	struct profile_meta m = base_meta(t0, t0 + 10000);
	CU_ASSERT_EQUAL_FATAL(profile_write(path, &m), 0);
	struct heap_totals t;
	sites_totals(&t);
	json_t *doc = load(path);
	CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
	check_structure(doc);

	/* Top level. */
	CU_ASSERT_EQUAL(u64(doc, "dhatFileVersion"), 2);
	CU_ASSERT_STRING_EQUAL(str(doc, "mode"), "heap");
	CU_ASSERT_STRING_EQUAL(str(doc, "verb"), "Allocated");
	CU_ASSERT(json_is_true(json_object_get(doc, "bklt")));
	CU_ASSERT(json_is_false(json_object_get(doc, "bkacc")));
	CU_ASSERT_STRING_EQUAL(str(doc, "tu"), "ns");
	CU_ASSERT_STRING_EQUAL(str(doc, "Mtu"), "ms");
	CU_ASSERT_EQUAL(u64(doc, "tuth"), TUTH);
	CU_ASSERT_STRING_EQUAL(str(doc, "cmd"), "tp-prog --flag x");
	CU_ASSERT_EQUAL(u64(doc, "pid"), 4242);
	CU_ASSERT_EQUAL(u64(doc, "te"), 10000);
	CU_ASSERT_EQUAL(u64(doc, "tg"), 2000);
	CU_ASSERT_EQUAL(t.tg, t0 + 2000);

	json_t *ap = json_object_get(doc, "audioprof");
	CU_ASSERT_FATAL(json_is_object(ap));
	CU_ASSERT_EQUAL(u64(ap, "version"), PROFILE_FORMAT_VERSION);
	CU_ASSERT_STRING_EQUAL(str(ap, "reason"), "exit");
	CU_ASSERT_EQUAL(u64(ap, "signal"), 0);
	CU_ASSERT_EQUAL(u64(ap, "ppid"), 4200);
	CU_ASSERT_EQUAL(u64(ap, "start_ns"), t0);
	CU_ASSERT_EQUAL(u64(ap, "end_ns"), t0 + 10000);
	CU_ASSERT_EQUAL(u64(ap, "depth"), 32);
	CU_ASSERT_EQUAL(u64(ap, "own_bytes"), 1234);
	CU_ASSERT_EQUAL(u64(ap, "peak_rss"), 5678);
	CU_ASSERT_EQUAL(u64(ap, "threads"), 3);
	json_t *tot = json_object_get(ap, "totals");
	CU_ASSERT_FATAL(json_is_object(tot));
	CU_ASSERT_EQUAL(u64(tot, "curr_b"), t.curr_b);
	CU_ASSERT_EQUAL(u64(tot, "curr_k"), t.curr_k);
	CU_ASSERT_EQUAL(u64(tot, "max_b"), t.max_b);
	CU_ASSERT_EQUAL(u64(tot, "max_k"), t.max_k);
	CU_ASSERT_EQUAL(u64(tot, "total_b"), t.total_b);
	CU_ASSERT_EQUAL(u64(tot, "total_k"), t.total_k);
	CU_ASSERT_EQUAL(u64(tot, "frees"), t.frees);
	CU_ASSERT(t.max_b >= 9 * BIG && t.max_k >= 3);

	/* Site A, by hand and as sites_read() has it. */
	json_t *pa = pp_with_id(doc, a), *pb = pp_with_id(doc, b);
	CU_ASSERT_PTR_NOT_NULL_FATAL(pa);
	CU_ASSERT_PTR_NOT_NULL_FATAL(pb);
	CU_ASSERT_EQUAL(u64(pa, "tb"), 3 * BIG);
	CU_ASSERT_EQUAL(u64(pa, "tbk"), 2);
	CU_ASSERT_EQUAL(u64(pa, "tl"), 1000 + 9800);
	CU_ASSERT_EQUAL(u64(pa, "mb"), 3 * BIG);
	CU_ASSERT_EQUAL(u64(pa, "mbk"), 2);
	CU_ASSERT_EQUAL(u64(pa, "gb"), 2 * BIG);
	CU_ASSERT_EQUAL(u64(pa, "gbk"), 1);
	CU_ASSERT_EQUAL(u64(pa, "eb"), 2 * BIG);
	CU_ASSERT_EQUAL(u64(pa, "ebk"), 1);
	CU_ASSERT_EQUAL(u64(pa, "slk"), 1);
	CU_ASSERT_EQUAL(json_array_size(json_object_get(pa, "ids")), 1);
	/* Site B. */
	CU_ASSERT_EQUAL(u64(pb, "tb"), 7 * BIG);
	CU_ASSERT_EQUAL(u64(pb, "tbk"), 2);
	CU_ASSERT_EQUAL(u64(pb, "tl"), 2700 + 8000);
	CU_ASSERT_EQUAL(u64(pb, "mb"), 7 * BIG);
	CU_ASSERT_EQUAL(u64(pb, "mbk"), 2);
	CU_ASSERT_EQUAL(u64(pb, "gb"), 7 * BIG);
	CU_ASSERT_EQUAL(u64(pb, "gbk"), 2);
	CU_ASSERT_EQUAL(u64(pb, "eb"), 4 * BIG);
	CU_ASSERT_EQUAL(u64(pb, "ebk"), 1);
	CU_ASSERT_EQUAL(u64(pb, "slk"), 0);
	struct site_stats s;
	sites_read(a, t0 + 10000, &s);
	check_stats(pa, &s);
	sites_read(b, t0 + 10000, &s);
	check_stats(pb, &s);
	/* Site C never allocated: no pp. */
	CU_ASSERT_PTR_NULL(pp_with_id(doc, c));

	/* Frames: what symbols_resolve() says for each address, innermost first, the
	 * first frame looked up at the function's own address; shared frames once. */
	struct frame_list ea, eb;
	const char *fa[MAX_FRAMES] = { 0 }, *fb[MAX_FRAMES] = { 0 };
	expected_frames(tp_fake_malloc, tp_site_a, tp_caller, &ea);
	expected_frames(tp_fake_malloc, tp_site_b, tp_caller, &eb);
	size_t na = pp_frames(doc, pa, fa, MAX_FRAMES), nb = pp_frames(doc, pb, fb, MAX_FRAMES);
	CU_ASSERT_EQUAL(na, ea.n);
	CU_ASSERT_EQUAL(nb, eb.n);
	for (size_t i = 0; i < na && i < ea.n; i++)
		CU_ASSERT(fa[i] && strcmp(fa[i], ea.f[i]) == 0);
	for (size_t i = 0; i < nb && i < eb.n; i++)
		CU_ASSERT(fb[i] && strcmp(fb[i], eb.f[i]) == 0);
	CU_ASSERT(na >= 3 && fa[0] && strstr(fa[0], "tp_fake_malloc"));
	CU_ASSERT(na >= 3 && fa[1] && strstr(fa[1], "tp_site_a"));
	CU_ASSERT(na >= 3 && fa[na - 1] && strstr(fa[na - 1], "tp_caller"));
	CU_ASSERT(nb >= 3 && fb[1] && strstr(fb[1], "tp_site_b"));
	json_t *fsa = json_object_get(pa, "fs"), *fsb = json_object_get(pb, "fs");
	CU_ASSERT(json_equal(json_array_get(fsa, 0), json_array_get(fsb, 0)));
	CU_ASSERT(json_equal(json_array_get(fsa, na - 1), json_array_get(fsb, nb - 1)));
	free_frames(&ea);
	free_frames(&eb);

	/* The overflow site: one frame saying so. */
	json_t *po = pp_with_id(doc, SITES_OVERFLOW);
	const char *fo[2] = { 0 };
	CU_ASSERT_PTR_NOT_NULL_FATAL(po);
	CU_ASSERT_EQUAL(pp_frames(doc, po, fo, 2), 1);
	CU_ASSERT(fo[0] && strcmp(fo[0], "[audioprof: site table full]") == 0);
	sites_read(SITES_OVERFLOW, t0 + 10000, &s);
	check_stats(po, &s);
	json_decref(doc);

	/* Starting after the peak: tg clamps to 0; signal reason and number. */
	m = base_meta(t0 + 5000, t0 + 10000);
	m.reason = "signal";
	m.signal = SIGTERM;
	CU_ASSERT_EQUAL_FATAL(profile_write(path, &m), 0);
	doc = load(path);
	CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
	CU_ASSERT_EQUAL(u64(doc, "te"), 5000);
	CU_ASSERT_EQUAL(u64(doc, "tg"), 0);
	ap = json_object_get(doc, "audioprof");
	CU_ASSERT_STRING_EQUAL(str(ap, "reason"), "signal");
	CU_ASSERT_EQUAL(u64(ap, "signal"), SIGTERM);
	json_decref(doc);

	/* A profile ending before the peak it saw (a snapshot racing an allocation):
	 * tg is clamped to te. */
	m = base_meta(t0, t0 + 1500);
	CU_ASSERT_EQUAL_FATAL(profile_write(path, &m), 0);
	doc = load(path);
	CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
	CU_ASSERT_EQUAL(u64(doc, "te"), 1500);
	CU_ASSERT_EQUAL(u64(doc, "tg"), 1500);
	json_decref(doc);

	/* Leave nothing live behind for later tests. */
	sites_on_free(a, 2 * BIG, t0 + 200, t0 + 10000);
	sites_on_free(b, 4 * BIG, t0 + 2000, t0 + 10000);
	sites_on_free(SITES_OVERFLOW, 16, t0 + 4000, t0 + 10000);
}

/* ------------------------------------------------------------ merging */

/* The test hook in profile.c, compiled there only with -DAUDIOPROF_TESTING; weak, so
 * that an engine library built without it still links and this test says why. */
typedef int (*resolve_fn)(uintptr_t ip, symbols_frame_cb cb, void *arg);
void profile_testing_set_resolver(resolve_fn fn) __attribute__((weak));

#define FAKE 0xA0D1000000ul       /* fake code addresses for the merge test */

/* A symbolizer that ignores the low 4 bits of fake addresses (so distinct stacks
 * collide) and expands FAKE+0x30x into two frames, as an inlined call would. */
static int colliding_resolve(uintptr_t ip, symbols_frame_cb cb, void *arg)
{
	char buf[64];
	if (ip >= FAKE && ip < FAKE + 0x1000) {
		uintptr_t base = ip & ~(uintptr_t)0xf;
		if (base == FAKE + 0x300) {
			cb("fake: inlined_inner (m.c:3)", arg);
			cb("fake: inlined_outer (m.c:9)", arg);
			return 2;
		}
		snprintf(buf, sizeof(buf), "fake %#lx", (unsigned long)base);
	} else {
		snprintf(buf, sizeof(buf), "other %#lx", (unsigned long)ip);
	}
	cb(buf, arg);
	return 1;
}

static void stats_add(struct site_stats *sum, site_id id, uint64_t now)
{
	struct site_stats s;
	sites_read(id, now, &s);
	sum->tb += s.tb; sum->tbk += s.tbk; sum->tl += s.tl;
	sum->mb += s.mb; sum->mbk += s.mbk; sum->gb += s.gb; sum->gbk += s.gbk;
	sum->eb += s.eb; sum->ebk += s.ebk; sum->short_k += s.short_k;
}

static void test_merge(void)
{
	uintptr_t s1[3] = { FAKE + 0x100, FAKE + 0x201, FAKE + 0x401 };
	uintptr_t s2[3] = { FAKE + 0x100, FAKE + 0x205, FAKE + 0x401 };
	uintptr_t s5[3] = { FAKE + 0x100, FAKE + 0x20c, FAKE + 0x401 };
	uintptr_t s4[3] = { FAKE + 0x100, FAKE + 0x20a, FAKE + 0x401 };  /* never used */
	uintptr_t s3[3] = { FAKE + 0x100, FAKE + 0x301, FAKE + 0x401 };  /* inlined */
	site_id m1 = sites_intern(s1, 3), m2 = sites_intern(s2, 3), m5 = sites_intern(s5, 3);
	site_id m4 = sites_intern(s4, 3), m3 = sites_intern(s3, 3);
	CU_ASSERT_FATAL(m1 > SITES_OVERFLOW && m2 > m1 && m5 > m2 && m4 > m5 && m3 > m4);

	if (!profile_testing_set_resolver) {
		CU_FAIL("profile.c was built without -DAUDIOPROF_TESTING (no resolver hook)");
		return;
	}
	uint64_t t1 = now_ns(), end = t1 + 1000;
	sites_set_short_lived(TUTH);
	sites_on_alloc(m1, 10, t1 + 10);
	sites_on_alloc(m1, 20, t1 + 20);
	sites_on_free(m1, 10, t1 + 10, t1 + 30);
	sites_on_alloc(m2, 100, t1 + 40);
	sites_on_alloc(m5, 7, t1 + 50);
	sites_on_free(m5, 7, t1 + 50, t1 + 60);
	sites_on_alloc(m3, 5, t1 + 70);

	char path[128];
	path_in(path, sizeof(path), "merge.json");
	struct profile_meta m = base_meta(t1, end);
	profile_testing_set_resolver(colliding_resolve);
	int rc = profile_write(path, &m);
	profile_testing_set_resolver(NULL);
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	json_t *doc = load(path);
	CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
	check_structure(doc);

	/* m1, m2, m5 are one pp with their ids in site order; m4 is not in it. */
	json_t *pp = pp_with_id(doc, m1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(pp);
	CU_ASSERT_PTR_EQUAL(pp_with_id(doc, m2), pp);
	CU_ASSERT_PTR_EQUAL(pp_with_id(doc, m5), pp);
	CU_ASSERT_PTR_NULL(pp_with_id(doc, m4));
	json_t *ids = json_object_get(pp, "ids");
	CU_ASSERT_EQUAL(json_array_size(ids), 3);
	CU_ASSERT_EQUAL(json_integer_value(json_array_get(ids, 0)), m1);
	CU_ASSERT_EQUAL(json_integer_value(json_array_get(ids, 1)), m2);
	CU_ASSERT_EQUAL(json_integer_value(json_array_get(ids, 2)), m5);
	/* Every count summed; mb, mbk the sum of the maxima (an upper bound). */
	CU_ASSERT_EQUAL(u64(pp, "tb"), 137);
	CU_ASSERT_EQUAL(u64(pp, "tbk"), 2 + 1 + 1);
	CU_ASSERT_EQUAL(u64(pp, "tl"), (20 + 980) + 960 + 10);
	CU_ASSERT_EQUAL(u64(pp, "mb"), 30 + 100 + 7);
	CU_ASSERT_EQUAL(u64(pp, "mbk"), 2 + 1 + 1);
	CU_ASSERT_EQUAL(u64(pp, "eb"), 120);
	CU_ASSERT_EQUAL(u64(pp, "ebk"), 2);
	CU_ASSERT_EQUAL(u64(pp, "slk"), 2);
	struct site_stats sum = { 0 };
	stats_add(&sum, m1, end);
	stats_add(&sum, m2, end);
	stats_add(&sum, m5, end);
	check_stats(pp, &sum);

	const char *f[MAX_FRAMES] = { 0 };
	char want[3][32];
	snprintf(want[0], sizeof(want[0]), "fake %#lx", FAKE + 0x100);
	snprintf(want[1], sizeof(want[1]), "fake %#lx", FAKE + 0x200);
	snprintf(want[2], sizeof(want[2]), "fake %#lx", FAKE + 0x400);
	CU_ASSERT_EQUAL_FATAL(pp_frames(doc, pp, f, MAX_FRAMES), 3);
	for (int i = 0; i < 3; i++)
		CU_ASSERT(f[i] && strcmp(f[i], want[i]) == 0);

	/* m3: inlined frames expanded in place, innermost first, outer frames shared. */
	json_t *p3 = pp_with_id(doc, m3);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p3);
	CU_ASSERT_EQUAL(json_array_size(json_object_get(p3, "ids")), 1);
	CU_ASSERT_EQUAL_FATAL(pp_frames(doc, p3, f, MAX_FRAMES), 4);
	CU_ASSERT(f[0] && strcmp(f[0], want[0]) == 0);
	CU_ASSERT(f[1] && strcmp(f[1], "fake: inlined_inner (m.c:3)") == 0);
	CU_ASSERT(f[2] && strcmp(f[2], "fake: inlined_outer (m.c:9)") == 0);
	CU_ASSERT(f[3] && strcmp(f[3], want[2]) == 0);
	CU_ASSERT(json_equal(json_array_get(json_object_get(p3, "fs"), 0),
			     json_array_get(json_object_get(pp, "fs"), 0)));
	json_decref(doc);

	sites_on_free(m1, 20, t1 + 20, end);
	sites_on_free(m2, 100, t1 + 40, end);
	sites_on_free(m3, 5, t1 + 70, end);
}

/* ------------------------------------------------------------ atomic write */

static struct profile_meta now_meta(void)
{
	uint64_t t = now_ns();
	return base_meta(t - 1000, t);
}

/* Success: the target is complete JSON, alone in its directory, mode 0666 & ~umask. */
static void test_write_plain(void)
{
	char dir[128], path[192];
	fresh_dir(dir, sizeof(dir), "plain");
	snprintf(path, sizeof(path), "%s/out.json", dir);
	struct profile_meta m = now_meta();
	mode_t old = umask(027);
	int rc = profile_write(path, &m);
	umask(old);
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	CU_ASSERT_EQUAL(dir_entries(dir), 1);
	struct stat st;
	CU_ASSERT_EQUAL_FATAL(lstat(path, &st), 0);
	CU_ASSERT(S_ISREG(st.st_mode));
	CU_ASSERT_EQUAL(st.st_mode & 0777, 0640);
	json_t *doc = load(path);
	CU_ASSERT_PTR_NOT_NULL(doc);
	json_decref(doc);
	/* Overwriting an existing profile works the same way. */
	CU_ASSERT_EQUAL(profile_write(path, &m), 0);
	CU_ASSERT_EQUAL(dir_entries(dir), 1);
}

/* Failures before the temporary file exists: -1, errno set, nothing created. */
static void test_write_no_dir(void)
{
	char dir[128], path[256];
	struct profile_meta m = now_meta();
	fresh_dir(dir, sizeof(dir), "nodir");

	snprintf(path, sizeof(path), "%s/missing/out.json", dir);
	errno = 0;
	CU_ASSERT_EQUAL(profile_write(path, &m), -1);
	CU_ASSERT_EQUAL(errno, ENOENT);

	snprintf(path, sizeof(path), "%s/file", dir);
	CU_ASSERT_EQUAL_FATAL(write_file(path, "x"), 0);
	snprintf(path, sizeof(path), "%s/file/out.json", dir);
	errno = 0;
	CU_ASSERT_EQUAL(profile_write(path, &m), -1);
	CU_ASSERT_EQUAL(errno, ENOTDIR);
	CU_ASSERT_EQUAL(dir_entries(dir), 1);

	/* Permissions do not stop root, so this part only runs for other users. */
	if (geteuid() != 0) {
		char ro[192];
		snprintf(ro, sizeof(ro), "%s/ro", dir);
		CU_ASSERT_EQUAL_FATAL(mkdir(ro, 0555), 0);
		snprintf(path, sizeof(path), "%s/out.json", ro);
		errno = 0;
		CU_ASSERT_EQUAL(profile_write(path, &m), -1);
		CU_ASSERT_EQUAL(errno, EACCES);
		CU_ASSERT_EQUAL(dir_entries(ro), 0);
		chmod(ro, 0755);
	}
}

/* The target is a (non-empty) directory: refused with EISDIR, nothing created, the
 * directory untouched. */
static void test_write_rename_fails(void)
{
	char dir[128], path[192], inner[256];
	struct profile_meta m = now_meta();
	fresh_dir(dir, sizeof(dir), "renamefail");
	snprintf(path, sizeof(path), "%s/out.json", dir);
	CU_ASSERT_EQUAL_FATAL(mkdir(path, 0755), 0);
	snprintf(inner, sizeof(inner), "%s/keep", path);
	CU_ASSERT_EQUAL_FATAL(write_file(inner, "keep\n"), 0);
	errno = 0;
	CU_ASSERT_EQUAL(profile_write(path, &m), -1);
	CU_ASSERT_EQUAL(errno, EISDIR);
	CU_ASSERT_EQUAL(dir_entries(dir), 1);
	CU_ASSERT(file_is(inner, "keep\n"));
}

/* write() fails half way (file size limit): the old target stays as it was. */
static void test_write_fails(void)
{
	char dir[128], path[192];
	struct profile_meta m = now_meta();
	fresh_dir(dir, sizeof(dir), "writefail");
	snprintf(path, sizeof(path), "%s/out.json", dir);
	CU_ASSERT_EQUAL_FATAL(write_file(path, "old profile\n"), 0);

	struct rlimit old, lim;
	CU_ASSERT_EQUAL_FATAL(getrlimit(RLIMIT_FSIZE, &old), 0);
	lim = old;
	lim.rlim_cur = 64;
	void (*oldsig)(int) = signal(SIGXFSZ, SIG_IGN);
	CU_ASSERT_EQUAL_FATAL(setrlimit(RLIMIT_FSIZE, &lim), 0);
	errno = 0;
	int rc = profile_write(path, &m);
	int err = errno;
	setrlimit(RLIMIT_FSIZE, &old);
	signal(SIGXFSZ, oldsig);

	CU_ASSERT_EQUAL(rc, -1);
	CU_ASSERT_EQUAL(err, EFBIG);
	CU_ASSERT_EQUAL(dir_entries(dir), 1);
	CU_ASSERT(file_is(path, "old profile\n"));
}

/* A target that is a symlink to a regular file: the link stays, the file it leads to
 * is replaced whole by the profile (a new file, not written through). The writer's
 * other cases are test_atomicfile.c's. */
static void test_write_symlink_target(void)
{
	char dir[128], path[192], target[192];
	struct profile_meta m = now_meta();
	fresh_dir(dir, sizeof(dir), "symlink");
	snprintf(target, sizeof(target), "%s/target", dir);
	snprintf(path, sizeof(path), "%s/out.json", dir);
	CU_ASSERT_EQUAL_FATAL(write_file(target, "old profile\n"), 0);
	CU_ASSERT_EQUAL_FATAL(symlink(target, path), 0);
	struct stat before, st;
	CU_ASSERT_EQUAL_FATAL(stat(target, &before), 0);
	CU_ASSERT_EQUAL(profile_write(path, &m), 0);
	CU_ASSERT_EQUAL_FATAL(lstat(path, &st), 0);
	CU_ASSERT(S_ISLNK(st.st_mode));
	CU_ASSERT_EQUAL_FATAL(stat(target, &st), 0);
	CU_ASSERT_NOT_EQUAL(st.st_ino, before.st_ino);
	json_t *doc = load(target);
	CU_ASSERT_PTR_NOT_NULL(doc);
	json_decref(doc);
	CU_ASSERT_EQUAL(dir_entries(dir), 2);
}

/* A target name of 255 bytes (NAME_MAX) is written: the temporary file's name is not
 * made from it (the old "<target>.tmp.XXXXXX" made this ENAMETOOLONG). */
static void test_write_long_name(void)
{
	char dir[128], path[512];
	struct profile_meta m = now_meta();
	fresh_dir(dir, sizeof(dir), "longname");
	int n = snprintf(path, sizeof(path), "%s/", dir);
	memset(path + n, 'p', 255);
	path[n + 255] = '\0';
	CU_ASSERT_EQUAL(profile_write(path, &m), 0);
	json_t *doc = load(path);
	CU_ASSERT_PTR_NOT_NULL(doc);
	json_decref(doc);
	CU_ASSERT_EQUAL(dir_entries(dir), 1);
}

/* jansson allocations failing: each of the first 64, then at doubling counts, then
 * each of the last 16 (those are inside json_dump, after the temporary file exists).
 * Always -1 with ENOMEM and no target or temporary file left behind. Bounded in
 * work however many sites earlier suites left in the table. */
static long fail_after = -1;      /* allocations left before failing; -1 never */
static long alloc_count;          /* allocations made through failing_malloc */

static void *failing_malloc(size_t n)
{
	alloc_count++;
	if (fail_after == 0)
		return NULL;
	if (fail_after > 0)
		fail_after--;
	return malloc(n);
}

static void fail_at(const char *dir, const char *path, const struct profile_meta *m, long n)
{
	fail_after = n;
	errno = 0;
	int rc = profile_write(path, m);
	int err = errno;
	fail_after = -1;
	CU_ASSERT_EQUAL(rc, -1);
	CU_ASSERT_EQUAL(err, ENOMEM);
	CU_ASSERT_EQUAL(dir_entries(dir), 0);
}

static void test_write_out_of_memory(void)
{
	char dir[128], path[192];
	struct profile_meta m = now_meta();
	json_malloc_t old_malloc;
	json_free_t old_free;

	fresh_dir(dir, sizeof(dir), "oom");
	snprintf(path, sizeof(path), "%s/out.json", dir);
	json_get_alloc_funcs(&old_malloc, &old_free);
	json_set_alloc_funcs(failing_malloc, free);

	alloc_count = 0;
	CU_ASSERT_EQUAL(profile_write(path, &m), 0);       /* how many a write makes */
	long total = alloc_count;
	CU_ASSERT_EQUAL(unlink(path), 0);
	CU_ASSERT(total > 16);
	for (long n = 0; n < total; n = n < 64 ? n + 1 : n * 2)
		fail_at(dir, path, &m, n);
	for (long n = total > 16 ? total - 16 : 0; n < total; n++)
		fail_at(dir, path, &m, n);
	/* Enough again (with a margin: under ASan the count varies slightly by run). */
	fail_after = total + 64;
	CU_ASSERT_EQUAL(profile_write(path, &m), 0);
	fail_after = -1;

	json_set_alloc_funcs(old_malloc, old_free);
	CU_ASSERT_EQUAL(dir_entries(dir), 1);
}

/* ------------------------------------------------------------ registration */

static int suite_init(void)
{
	clock_reset_identity();   /* the tests' times are made-up ticks */
	if (sites_init() < 0)
		return -1;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/audioprof-test-profile.XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int suite_clean(void)
{
	return nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS) == 0 ? 0 : -1;
}

void suite_profile(void)
{
	CU_pSuite s = CU_add_suite("profile", suite_init, suite_clean);
	if (!s)
		return;
	CU_add_test(s, "fields, totals and frames", test_fields);
	CU_add_test(s, "sites with identical frames are merged", test_merge);
	CU_add_test(s, "write: complete file, mode, overwrite", test_write_plain);
	CU_add_test(s, "write: missing or non-directory parent", test_write_no_dir);
	CU_add_test(s, "write: rename failure removes the temp file", test_write_rename_fails);
	CU_add_test(s, "write: write failure keeps the old target", test_write_fails);
	CU_add_test(s, "write: symlinked target followed, its file replaced", test_write_symlink_target);
	CU_add_test(s, "write: a 255-byte target name", test_write_long_name);
	CU_add_test(s, "write: out of memory anywhere leaves nothing", test_write_out_of_memory);
}
