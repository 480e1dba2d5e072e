/* test_outpath.c - the AUDIOPROF_OUT expansion (common/outpath.c) that the preload uses
 * to name its profile and `audioprof run` to find it: both must get the same name. */
#include <CUnit/CUnit.h>
#include <fnmatch.h>
#include <string.h>

#include "outpath.h"
#include "suites.h"

static void expect_expand(const char *pattern, pid_t pid, const char *name, const char *want)
{
	char out[256];
	CU_ASSERT_EQUAL(outpath_expand(pattern, pid, name, out, sizeof(out)), 0);
	CU_ASSERT_STRING_EQUAL(out, want);
}

static void test_expand(void)
{
	expect_expand("audioprof.%p.json", 4242, "prog", "audioprof.4242.json");
	expect_expand("%n-%p", 7, "dsp_demo", "dsp_demo-7");
	expect_expand("100%%.json", 1, "x", "100%.json");
	expect_expand("%x%", 1, "x", "%x%");           /* unknown and final '%' stay */
	expect_expand("%%p", 1, "x", "%p");            /* %% first, then a plain 'p' */
	expect_expand("/tmp/[a]*.%n", 3, "p?", "/tmp/[a]*.p?");
	expect_expand("", 1, "x", "");
}

static void test_expand_too_long(void)
{
	char out[8];
	CU_ASSERT_EQUAL(outpath_expand("abc%p", 12345, "x", out, sizeof(out)), -1);
	CU_ASSERT_STRING_EQUAL(out, "abc");              /* the pieces that fit */
	CU_ASSERT_EQUAL(outpath_expand("abcd%p", 123, "x", out, sizeof(out)), 0);
	CU_ASSERT_STRING_EQUAL(out, "abcd123");
	CU_ASSERT_EQUAL(outpath_expand("x", 1, "x", out, 0), -1);
}

/* The glob form matches what outpath_expand gives for any name, and only that. */
static void test_glob(void)
{
	char pat[256], name[256];
	CU_ASSERT_EQUAL(outpath_glob("/t/[x]*?.%p.%n.json", 99, pat, sizeof(pat)), 0);
	CU_ASSERT_STRING_EQUAL(pat, "/t/\\[x\\]\\*\\?.99.*.json");
	CU_ASSERT_EQUAL(outpath_expand("/t/[x]*?.%p.%n.json", 99, "any one", name, sizeof(name)), 0);
	CU_ASSERT_EQUAL(fnmatch(pat, name, 0), 0);
	CU_ASSERT_EQUAL(outpath_expand("/t/[x]*?.%p.%n.json", 98, "any", name, sizeof(name)), 0);
	CU_ASSERT_NOT_EQUAL(fnmatch(pat, name, 0), 0);
	CU_ASSERT_EQUAL(fnmatch(pat, "/t/xab.99.p.json", 0), FNM_NOMATCH);
}

/* An absolute pattern expands to the directory, a '/', and the relative expansion,
 * whatever '%' the directory holds. */
static void test_absolute(void)
{
	static const char *const cwds[] = { "/home/u", "/", "/tmp/50%p", "/a%%b/", "/%n%" };
	static const char *const pats[] = { "audioprof.%p.json", "out/%n.%p", "%%x" };
	char abs[512], got[512], rel[256], want[800];
	for (size_t i = 0; i < sizeof(cwds) / sizeof(cwds[0]); i++)
		for (size_t j = 0; j < sizeof(pats) / sizeof(pats[0]); j++) {
			CU_ASSERT_EQUAL(outpath_absolute(pats[j], cwds[i], abs, sizeof(abs)), 0);
			CU_ASSERT_EQUAL(outpath_expand(abs, 31, "prog", got, sizeof(got)), 0);
			CU_ASSERT_EQUAL(outpath_expand(pats[j], 31, "prog", rel, sizeof(rel)), 0);
			size_t n = strlen(cwds[i]);
			snprintf(want, sizeof(want), "%s%s%s", cwds[i],
				 n && cwds[i][n - 1] == '/' ? "" : "/", rel);
			CU_ASSERT_STRING_EQUAL(got, want);
		}
	CU_ASSERT_EQUAL(outpath_absolute("/abs/%p", "/cwd", abs, sizeof(abs)), 0);
	CU_ASSERT_STRING_EQUAL(abs, "/abs/%p");
	CU_ASSERT_EQUAL(outpath_absolute("file", "/a/long/dir", abs, 8), -1);
}

static void test_exec_suffix(void)
{
	char out[64];
	CU_ASSERT_EQUAL(outpath_exec_suffix("/t/audioprof.5.json", 2, out, sizeof(out)), 0);
	CU_ASSERT_STRING_EQUAL(out, "/t/audioprof.5.2.json");
	CU_ASSERT_EQUAL(outpath_exec_suffix("/t/prof", 11, out, sizeof(out)), 0);
	CU_ASSERT_STRING_EQUAL(out, "/t/prof.11");
	CU_ASSERT_EQUAL(outpath_exec_suffix(".json", 1, out, sizeof(out)), 0);
	CU_ASSERT_STRING_EQUAL(out, ".1.json");
	CU_ASSERT_EQUAL(outpath_exec_suffix("x.json", 1, out, 8), -1);   /* "x.1.json" + NUL */
	CU_ASSERT_EQUAL(outpath_exec_suffix("x.json", 1, out, 9), 0);
}

void suite_outpath(void)
{
	CU_pSuite s = CU_add_suite("outpath", NULL, NULL);
	CU_add_test(s, "expand: %p, %n, %%, other '%' kept", test_expand);
	CU_add_test(s, "expand: too small a buffer", test_expand_too_long);
	CU_add_test(s, "glob form matches the expansion for any name", test_glob);
	CU_add_test(s, "absolute: directory, '/', relative expansion", test_absolute);
	CU_add_test(s, "exec'd images' names", test_exec_suffix);
}
