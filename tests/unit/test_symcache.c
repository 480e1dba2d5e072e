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
	CU_ASSERT_PTR_NULL(symcache_lookup(bid, sizeof(bid), 0, 0x1000, &n));
	symcache_add(bid, sizeof(bid), 0, 0x1000, frames, 2);
	const char *const *s = symcache_lookup(bid, sizeof(bid), 0, 0x1000, &n);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_EQUAL(n, 2);
	CU_ASSERT_STRING_EQUAL(s[0], "inner (a.c:3)");
	CU_ASSERT_STRING_EQUAL(s[1], "outer (b.c:9)");
	/* demangled and not are kept apart */
	CU_ASSERT_PTR_NULL(symcache_lookup(bid, sizeof(bid), 1, 0x1000, &n));
	/* a tab or a newline cannot be stored in the line format: not cached */
	char *bad[] = { "0x401000: in\tner (a.c:3)" };
	symcache_add(bid, sizeof(bid), 0, 0x2000, bad, 1);
	CU_ASSERT_PTR_NULL(symcache_lookup(bid, sizeof(bid), 0, 0x2000, &n));

	symcache_flush();
	struct stat st;
	CU_ASSERT_EQUAL_FATAL(stat(dir, &st), 0);
	CU_ASSERT_EQUAL(st.st_mode & 0777, 0700);
	char *text = read_file(BID_HEX ".sym");
	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	CU_ASSERT_STRING_EQUAL(text, "audioprof-symcache 2\n1000\tinner (a.c:3)\touter (b.c:9)\n");

	/* a new process: everything from the file */
	symcache_shutdown();
	s = symcache_lookup(bid, sizeof(bid), 0, 0x1000, &n);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_EQUAL(n, 2);
	CU_ASSERT_STRING_EQUAL(s[1], "outer (b.c:9)");
}

static void test_damaged(void)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/" BID_HEX ".dsym", dir);
	FILE *f = fopen(path, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs("audioprof-symcache 2\n"
	      "10\tgood (g.c:1)\n"
	      "zz\tbad address\n"
	      "20\t\tempty frame\n"
	      "30\n"
	      "40 no tab\n"
	      "\n"
	      " 70\tspace first\n"
	      "11111111111111111\ttoo many digits\n"
	      "50\tlast (l.c:5)\n"
	      "60\ttorn", f);
	fclose(f);
	symcache_shutdown();
	int n = 0;
	const char *const *s = symcache_lookup(bid, sizeof(bid), 1, 0x10, &n);
	CU_ASSERT_PTR_NOT_NULL(s);
	CU_ASSERT(s && n == 1 && strcmp(s[0], "good (g.c:1)") == 0);
	CU_ASSERT_PTR_NOT_NULL(symcache_lookup(bid, sizeof(bid), 1, 0x50, &n));
	CU_ASSERT_PTR_NULL(symcache_lookup(bid, sizeof(bid), 1, 0x20, &n));
	CU_ASSERT_PTR_NULL(symcache_lookup(bid, sizeof(bid), 1, 0x30, &n));
	CU_ASSERT_PTR_NULL(symcache_lookup(bid, sizeof(bid), 1, 0x40, &n));
	CU_ASSERT_PTR_NULL(symcache_lookup(bid, sizeof(bid), 1, 0x60, &n));
	CU_ASSERT_PTR_NULL(symcache_lookup(bid, sizeof(bid), 1, 0x70, &n));
	CU_ASSERT_PTR_NULL(symcache_lookup(bid, sizeof(bid), 1, 0x1111111111111111ull, &n));

	/* another version's file is ignored altogether */
	f = fopen(path, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs("audioprof-symcache 1\n10\tgood (g.c:1)\n", f);
	fclose(f);
	symcache_shutdown();
	CU_ASSERT_PTR_NULL(symcache_lookup(bid, sizeof(bid), 1, 0x10, &n));
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
	CU_ASSERT_PTR_NOT_NULL(symcache_peek(bid, sizeof(bid), SYMCACHE_SYMTAB, 0x100, &n));
	CU_ASSERT_PTR_NULL(symcache_peek(bid, sizeof(bid), SYMCACHE_SYMTAB, 0x200, &n));
	snprintf(tmp, sizeof(tmp), "%s.other", path);
	f = fopen(tmp, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs("audioprof-symcache 2\n100\tfirst (in /bin/x)\n200\tsecond (in /bin/x)\n", f);
	fclose(f);
	CU_ASSERT_EQUAL_FATAL(rename(tmp, path), 0);
	CU_ASSERT_PTR_NULL(symcache_peek(bid, sizeof(bid), SYMCACHE_SYMTAB, 0x200, &n));
	const char *const *s = symcache_lookup(bid, sizeof(bid), SYMCACHE_SYMTAB, 0x200, &n);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT(n == 1 && strcmp(s[0], "second (in /bin/x)") == 0);
	CU_ASSERT_PTR_NOT_NULL(symcache_peek(bid, sizeof(bid), SYMCACHE_SYMTAB, 0x200, &n));
}

static void test_off(void)
{
	symcache_shutdown();
	symcache_init("off");
	CU_ASSERT_FALSE(symcache_enabled());
	char *frames[] = { "0x1: f (f.c:1)" };
	int n;
	symcache_add(bid, sizeof(bid), 0, 0x1, frames, 1);
	CU_ASSERT_PTR_NULL(symcache_lookup(bid, sizeof(bid), 0, 0x1, &n));
	symcache_init(dir);
	CU_ASSERT_TRUE(symcache_enabled());
	/* a module without a build ID has no file */
	CU_ASSERT_PTR_NULL(symcache_lookup(bid, 0, 0, 0x1, &n));
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
	CU_add_test(s, "damaged lines and other versions", test_damaged);
	CU_add_test(s, "a peek answers from what was read; a look-up reads again", test_peek);
	CU_add_test(s, "off, and modules without a build ID", test_off);
	CU_add_test(s, "clock: identity without the TSC", test_clock_identity);
}
