/* test_symcache.c - the persistent symbol cache: a round trip through the file, the
 * file's name and format, strings it refuses, damaged lines, a file another process
 * replaced (seen by a look-up, not by a peek), and the clock's tick conversions
 * (identity without the TSC). */
#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock.h"
#include "suites.h"
#include "symcache.h"

static char dir[64];
static const unsigned char bid[20] = { 0x12, 0x34, 0xab, 0xcd, 0, 1, 2, 3, 4, 5,
				       6, 7, 8, 9, 10, 11, 12, 13, 14, 0xff };
#define BID_HEX "1234abcd000102030405060708090a0b0c0d0eff"

static int init(void)
{
	strcpy(dir, "/tmp/apsymcache.XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	strcat(dir, "/sub");   /* created by the first flush */
	symcache_init(dir);
	return 0;
}

static int clean(void)
{
	symcache_shutdown();
	symcache_init("off");
	char cmd[128];
	dir[strlen(dir) - 4] = '\0';
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static char *read_file(const char *name)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "r");
	if (!f)
		return NULL;
	static char buf[4096];
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static void test_roundtrip(void)
{
	char *frames[] = { "0x401000: inner (a.c:3)", "0x401000: outer (b.c:9)" };
	int n = -1;
	CU_ASSERT_PTR_NULL(symcache_lookup(bid, sizeof(bid), 0, 0x1000, &n, NULL));
	symcache_add(bid, sizeof(bid), 0, 0x1000, 0x1000, 0x1001, frames, 2);
	const char *const *s = symcache_lookup(bid, sizeof(bid), 0, 0x1000, &n, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_EQUAL(n, 2);
	CU_ASSERT_STRING_EQUAL(s[0], "inner (a.c:3)");
	CU_ASSERT_STRING_EQUAL(s[1], "outer (b.c:9)");
	/* demangled and not are kept apart */
	CU_ASSERT_PTR_NULL(symcache_lookup(bid, sizeof(bid), 1, 0x1000, &n, NULL));
	/* a tab or a newline cannot be stored in the line format: not cached */
	char *bad[] = { "0x401000: in\tner (a.c:3)" };
	symcache_add(bid, sizeof(bid), 0, 0x2000, 0x2000, 0x2001, bad, 1);
	CU_ASSERT_PTR_NULL(symcache_lookup(bid, sizeof(bid), 0, 0x2000, &n, NULL));

	symcache_flush();
	struct stat st;
	CU_ASSERT_EQUAL_FATAL(stat(dir, &st), 0);
	CU_ASSERT_EQUAL(st.st_mode & 0777, 0700);
	char *text = read_file(BID_HEX ".sym");
	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	CU_ASSERT_STRING_EQUAL(text, "audioprof-symcache 3\n1000\tinner (a.c:3)\touter (b.c:9)\n");

	/* a new process: everything from the file */
	symcache_shutdown();
	s = symcache_lookup(bid, sizeof(bid), 0, 0x1000, &n, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_EQUAL(n, 2);
	CU_ASSERT_STRING_EQUAL(s[1], "outer (b.c:9)");
}

/* Ranges: any address of one finds its frames, in memory and from the file; a range
 * overlapping cached ones is cut to the gap around its address; the file's lines come
 * out sorted, one address alone in the short form. */
static void test_ranges(void)
{
	static const unsigned char rbid[4] = { 0xfe, 0xed, 0, 1 };
	char *a[] = { "0x5000: loop (l.c:7)" }, *b[] = { "0x5100: tail (l.c:9)" },
	     *c[] = { "0x50f0: mid (l.c:8)" }, *d[] = { "0x4000: one (o.c:1)" };
	int n = 0;
	symcache_add(rbid, sizeof(rbid), 0, 0x5010, 0x5000, 0x5080, a, 1);
	symcache_add(rbid, sizeof(rbid), 0, 0x5100, 0x5100, 0x5140, b, 1);
	/* overlaps both: kept for [0x5080, 0x5100) only */
	symcache_add(rbid, sizeof(rbid), 0, 0x50f0, 0x5040, 0x5120, c, 1);
	/* a range not holding its address: the address alone */
	symcache_add(rbid, sizeof(rbid), 0, 0x4000, 0x4100, 0x4200, d, 1);
	/* already held: nothing changes */
	symcache_add(rbid, sizeof(rbid), 0, 0x5000, 0x5000, 0x5001, d, 1);
	for (int pass = 0; pass < 2; pass++) {
		const char *const *s;
		CU_ASSERT_PTR_NULL(symcache_lookup(rbid, sizeof(rbid), 0, 0x4fff, &n, NULL));
		s = symcache_lookup(rbid, sizeof(rbid), 0, 0x5000, &n, NULL);
		CU_ASSERT(s && n == 1 && strcmp(s[0], "loop (l.c:7)") == 0);
		s = symcache_lookup(rbid, sizeof(rbid), 0, 0x507f, &n, NULL);
		CU_ASSERT(s && n == 1 && strcmp(s[0], "loop (l.c:7)") == 0);
		s = symcache_lookup(rbid, sizeof(rbid), 0, 0x5080, &n, NULL);
		CU_ASSERT(s && n == 1 && strcmp(s[0], "mid (l.c:8)") == 0);
		s = symcache_lookup(rbid, sizeof(rbid), 0, 0x50ff, &n, NULL);
		CU_ASSERT(s && n == 1 && strcmp(s[0], "mid (l.c:8)") == 0);
		s = symcache_lookup(rbid, sizeof(rbid), 0, 0x5100, &n, NULL);
		CU_ASSERT(s && n == 1 && strcmp(s[0], "tail (l.c:9)") == 0);
		s = symcache_lookup(rbid, sizeof(rbid), 0, 0x513f, &n, NULL);
		CU_ASSERT(s && n == 1 && strcmp(s[0], "tail (l.c:9)") == 0);
		CU_ASSERT_PTR_NULL(symcache_lookup(rbid, sizeof(rbid), 0, 0x5140, &n, NULL));
		s = symcache_lookup(rbid, sizeof(rbid), 0, 0x4000, &n, NULL);
		CU_ASSERT(s && n == 1 && strcmp(s[0], "one (o.c:1)") == 0);
		CU_ASSERT_PTR_NULL(symcache_lookup(rbid, sizeof(rbid), 0, 0x4001, &n, NULL));
		CU_ASSERT_PTR_NULL(symcache_lookup(rbid, sizeof(rbid), 0, 0x4100, &n, NULL));
		if (pass == 0) {   /* a new process: everything from the file */
			symcache_flush();
			char *text = read_file("feed0001.sym");
			CU_ASSERT_PTR_NOT_NULL_FATAL(text);
			CU_ASSERT_STRING_EQUAL(text, "audioprof-symcache 3\n"
					       "4000\tone (o.c:1)\n"
					       "5000-5080\tloop (l.c:7)\n"
					       "5080-5100\tmid (l.c:8)\n"
					       "5100-5140\ttail (l.c:9)\n");
			symcache_shutdown();
		}
	}
}

/* A symbol's name with the offset of each address from the symbol's start. */
static void test_offsets(void)
{
	static const unsigned char obid[4] = { 0xfe, 0xed, 0, 3 };
	int n = 0;
	uint64_t base = 0;
	symcache_add_offset(obid, sizeof(obid), SYMCACHE_SYMTAB, 0x6010, 0x6001, 0x6041, 0x6000,
			    "0x7f0000006010: fn (in /lib/x.so)");
	/* refused: no module, a base above the range, a range not holding addr */
	symcache_add_offset(obid, sizeof(obid), SYMCACHE_SYMTAB, 0x7010, 0x7001, 0x7041, 0x7002,
			    "0x7010: gn (in /lib/x.so)");
	symcache_add_offset(obid, sizeof(obid), SYMCACHE_SYMTAB, 0x8010, 0x8001, 0x8041, 0x8000,
			    "0x8010: hn");
	symcache_add_offset(obid, sizeof(obid), SYMCACHE_SYMTAB, 0x9000, 0x9001, 0x9041, 0x9000,
			    "0x9000: kn (in /lib/x.so)");
	for (int pass = 0; pass < 2; pass++) {
		const char *const *s = symcache_lookup(obid, sizeof(obid), SYMCACHE_SYMTAB, 0x6040,
						       &n, &base);
		CU_ASSERT(s && n == 1 && strcmp(s[0], "fn (in /lib/x.so)") == 0);
		CU_ASSERT_EQUAL(base, 0x6000);
		CU_ASSERT_PTR_NULL(symcache_lookup(obid, sizeof(obid), SYMCACHE_SYMTAB, 0x6041,
						   &n, &base));
		/* a caller that cannot add the offset does not get them */
		CU_ASSERT_PTR_NULL(symcache_lookup(obid, sizeof(obid), SYMCACHE_SYMTAB, 0x6010,
						   &n, NULL));
		CU_ASSERT_PTR_NULL(symcache_lookup(obid, sizeof(obid), SYMCACHE_SYMTAB, 0x7010,
						   &n, &base));
		CU_ASSERT_PTR_NULL(symcache_lookup(obid, sizeof(obid), SYMCACHE_SYMTAB, 0x8010,
						   &n, &base));
		CU_ASSERT_PTR_NULL(symcache_lookup(obid, sizeof(obid), SYMCACHE_SYMTAB, 0x9000,
						   &n, &base));
		if (pass == 0) {
			symcache_flush();
			char *text = read_file("feed0003.nsym");
			CU_ASSERT_PTR_NOT_NULL_FATAL(text);
			CU_ASSERT_STRING_EQUAL(text, "audioprof-symcache 3\n"
					       "6001-6041+6000\tfn (in /lib/x.so)\n");
			symcache_shutdown();
		}
	}
}

/* Many entries added out of order (past the pending array's merges): each found. */
static void test_many(void)
{
	static const unsigned char mbid[4] = { 0xfe, 0xed, 0, 2 };
	char *f[] = { "0x1: f (f.c:1)" };
	int n = 0, missing = 0;
	for (unsigned i = 0; i < 1000; i++) {
		uint64_t lo = 0x10000 + (uint64_t)((i * 7919u) % 1000u) * 0x10;
		symcache_add(mbid, sizeof(mbid), 0, lo + 3, lo, lo + 0x10, f, 1);
	}
	for (uint64_t a = 0x10000; a < 0x10000 + 1000 * 0x10; a++)
		missing += !symcache_lookup(mbid, sizeof(mbid), 0, a, &n, NULL);
	CU_ASSERT_EQUAL(missing, 0);
	CU_ASSERT_PTR_NULL(symcache_lookup(mbid, sizeof(mbid), 0, 0x10000 + 1000 * 0x10, &n, NULL));
}

static void test_damaged(void)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/" BID_HEX ".dsym", dir);
	FILE *f = fopen(path, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs("audioprof-symcache 3\n"
	      "10\tgood (g.c:1)\n"
	      "zz\tbad address\n"
	      "20\t\tempty frame\n"
	      "30\n"
	      "40 no tab\n"
	      "\n"
	      " 70\tspace first\n"
	      "11111111111111111\ttoo many digits\n"
	      "50\tlast (l.c:5)\n"
	      "58-54\tbackwards\n"
	      "80-90\trange (r.c:8)\n"
	      "88-98\toverlapping the one before\n"
	      "a0-\tno end\n"
	      "b0-c0-d0\ttwo dashes\n"
	      "c0-d0+c1\tbase above (in /x)\n"
	      "d0-e0+d0\ttwo frames (in /x)\tsecond\n"
	      "e0-f0+e0\tno module\n"
	      "f0-100+f0\tgood (in /x)\n"
	      "60\ttorn", f);
	fclose(f);
	symcache_shutdown();
	int n = 0;
	const char *const *s = symcache_lookup(bid, sizeof(bid), 1, 0x10, &n, NULL);
	CU_ASSERT_PTR_NOT_NULL(s);
	CU_ASSERT(s && n == 1 && strcmp(s[0], "good (g.c:1)") == 0);
	CU_ASSERT_PTR_NOT_NULL(symcache_lookup(bid, sizeof(bid), 1, 0x50, &n, NULL));
	CU_ASSERT_PTR_NULL(symcache_lookup(bid, sizeof(bid), 1, 0x20, &n, NULL));
	CU_ASSERT_PTR_NULL(symcache_lookup(bid, sizeof(bid), 1, 0x30, &n, NULL));
	CU_ASSERT_PTR_NULL(symcache_lookup(bid, sizeof(bid), 1, 0x40, &n, NULL));
	CU_ASSERT_PTR_NULL(symcache_lookup(bid, sizeof(bid), 1, 0x60, &n, NULL));
	CU_ASSERT_PTR_NULL(symcache_lookup(bid, sizeof(bid), 1, 0x70, &n, NULL));
	CU_ASSERT_PTR_NULL(symcache_lookup(bid, sizeof(bid), 1, 0x1111111111111111ull, &n, NULL));
	CU_ASSERT_PTR_NULL(symcache_lookup(bid, sizeof(bid), 1, 0x54, &n, NULL));
	s = symcache_lookup(bid, sizeof(bid), 1, 0x8f, &n, NULL);
	CU_ASSERT(s && n == 1 && strcmp(s[0], "range (r.c:8)") == 0);
	CU_ASSERT_PTR_NULL(symcache_lookup(bid, sizeof(bid), 1, 0x90, &n, NULL));
	CU_ASSERT_PTR_NULL(symcache_lookup(bid, sizeof(bid), 1, 0xa0, &n, NULL));
	CU_ASSERT_PTR_NULL(symcache_lookup(bid, sizeof(bid), 1, 0xb0, &n, NULL));
	uint64_t base = 0;
	CU_ASSERT_PTR_NULL(symcache_lookup(bid, sizeof(bid), 1, 0xc1, &n, &base));
	CU_ASSERT_PTR_NULL(symcache_lookup(bid, sizeof(bid), 1, 0xd1, &n, &base));
	CU_ASSERT_PTR_NULL(symcache_lookup(bid, sizeof(bid), 1, 0xe1, &n, &base));
	CU_ASSERT_PTR_NOT_NULL(symcache_lookup(bid, sizeof(bid), 1, 0xf1, &n, &base));
	CU_ASSERT_EQUAL(base, 0xf0);

	/* version 2 (exact addresses) is read, without ranges */
	f = fopen(path, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs("audioprof-symcache 2\n10\tgood (g.c:1)\n20-30\tnot in version 2\n", f);
	fclose(f);
	symcache_shutdown();
	CU_ASSERT_PTR_NOT_NULL(symcache_lookup(bid, sizeof(bid), 1, 0x10, &n, NULL));
	CU_ASSERT_PTR_NULL(symcache_lookup(bid, sizeof(bid), 1, 0x11, &n, NULL));
	CU_ASSERT_PTR_NULL(symcache_lookup(bid, sizeof(bid), 1, 0x20, &n, NULL));

	/* another version's file is ignored altogether */
	f = fopen(path, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs("audioprof-symcache 1\n10\tgood (g.c:1)\n", f);
	fclose(f);
	symcache_shutdown();
	CU_ASSERT_PTR_NULL(symcache_lookup(bid, sizeof(bid), 1, 0x10, &n, NULL));
}

/* A file another process replaced after this one read it: a peek answers from what
 * was read (no system call), a look-up that misses reads the file again. */
static void test_peek(void)
{
	char path[256], tmp[300];
	snprintf(path, sizeof(path), "%s/" BID_HEX ".nsym", dir);
	FILE *f = fopen(path, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs("audioprof-symcache 2\n100\tfirst (in /bin/x)\n", f);
	fclose(f);
	symcache_shutdown();
	int n = 0;
	CU_ASSERT_PTR_NOT_NULL(symcache_peek(bid, sizeof(bid), SYMCACHE_SYMTAB, 0x100, &n, NULL));
	CU_ASSERT_PTR_NULL(symcache_peek(bid, sizeof(bid), SYMCACHE_SYMTAB, 0x200, &n, NULL));
	snprintf(tmp, sizeof(tmp), "%s.other", path);
	f = fopen(tmp, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs("audioprof-symcache 2\n100\tfirst (in /bin/x)\n200\tsecond (in /bin/x)\n", f);
	fclose(f);
	CU_ASSERT_EQUAL_FATAL(rename(tmp, path), 0);
	CU_ASSERT_PTR_NULL(symcache_peek(bid, sizeof(bid), SYMCACHE_SYMTAB, 0x200, &n, NULL));
	const char *const *s = symcache_lookup(bid, sizeof(bid), SYMCACHE_SYMTAB, 0x200, &n, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT(n == 1 && strcmp(s[0], "second (in /bin/x)") == 0);
	CU_ASSERT_PTR_NOT_NULL(symcache_peek(bid, sizeof(bid), SYMCACHE_SYMTAB, 0x200, &n, NULL));
}

static void test_off(void)
{
	symcache_shutdown();
	symcache_init("off");
	CU_ASSERT_FALSE(symcache_enabled());
	char *frames[] = { "0x1: f (f.c:1)" };
	int n;
	symcache_add(bid, sizeof(bid), 0, 0x1, 0x1, 0x2, frames, 1);
	CU_ASSERT_PTR_NULL(symcache_lookup(bid, sizeof(bid), 0, 0x1, &n, NULL));
	symcache_init(dir);
	CU_ASSERT_TRUE(symcache_enabled());
	/* a module without a build ID has no file */
	CU_ASSERT_PTR_NULL(symcache_lookup(bid, 0, 0, 0x1, &n, NULL));
}

static void test_clock_identity(void)
{
	clock_reset_identity();
	CU_ASSERT_EQUAL(clock_span_ns(12345), 12345);
	CU_ASSERT_EQUAL(clock_span_ticks(777), 777);
	CU_ASSERT_EQUAL(clock_ns(1000000), 1000000);
	CU_ASSERT_EQUAL(clock_ticks_of(424242), 424242);
	uint64_t t, ns = clock_sync(&t);
	CU_ASSERT_EQUAL(t, ns);
	uint64_t a = clock_ticks(), b = clock_ticks();
	CU_ASSERT(b >= a);
}

void suite_symcache(void)
{
	CU_pSuite s = CU_add_suite("symcache", init, clean);
	CU_add_test(s, "round trip through the file", test_roundtrip);
	CU_add_test(s, "address ranges", test_ranges);
	CU_add_test(s, "many ranges, added out of order", test_many);
	CU_add_test(s, "symbol names with offsets", test_offsets);
	CU_add_test(s, "damaged lines and other versions", test_damaged);
	CU_add_test(s, "a peek answers from what was read; a look-up reads again", test_peek);
	CU_add_test(s, "off, and modules without a build ID", test_off);
	CU_add_test(s, "clock: identity without the TSC", test_clock_identity);
}
