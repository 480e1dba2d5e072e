/* test_baseline.c - the directory of named baselines (analyzer/baseline.c) in a
 * temporary directory: which names are refused, the list of a set's runs, and the
 * replacement of a whole set: into an empty place, over an old set (exchanged in one
 * rename, the old one removed), never over a directory without the marker file. */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "baseline.h"
#include "suites.h"

/* ------------------------------------------------------------------ helpers */

static char root[PATH_MAX];

static int setup(void)
{
	snprintf(root, sizeof(root), "%s/apbaseline.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	return mkdtemp(root) ? 0 : -1;
}

static int teardown(void)
{
	return baseline_remove(root);
}

/* Writes `text` into DIR/NAME. */
static void put(const char *dir, const char *name, const char *text)
{
	char path[PATH_MAX * 2];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs(text, f);
	fclose(f);
}

/* The first line of DIR/NAME, or "" when it cannot be read. */
static const char *get(const char *dir, const char *name)
{
	static char line[256];
	char path[PATH_MAX * 2];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	line[0] = '\0';
	FILE *f = fopen(path, "r");
	if (f) {
		if (!fgets(line, sizeof(line), f))
			line[0] = '\0';
		fclose(f);
	}
	return line;
}

/* A complete set of `runs` runs whose files say `tag`, in a new temporary directory
 * under root; its path in `out`. */
static void make_set(const char *tag, int runs, char *out, size_t len)
{
	CU_ASSERT_EQUAL_FATAL(baseline_tmpdir(root, "x", out, len), 0);
	for (int k = 1; k <= runs; k++) {
		char name[32];
		snprintf(name, sizeof(name), "run-%d.json", k);
		put(out, name, tag);
	}
	char *argv[] = { (char *)"prog", (char *)"--arg", NULL };
	CU_ASSERT_EQUAL(baseline_mark(out, "baseline", "x", (unsigned)runs, argv), 0);
}

/* ------------------------------------------------------------------ tests */

static void test_names(void)
{
	CU_ASSERT_EQUAL(baseline_check_name("--save-baseline", "main"), 0);
	CU_ASSERT_EQUAL(baseline_check_name("--save-baseline", "pr-12_v2.x"), 0);
	CU_ASSERT_EQUAL(baseline_check_name("--save-baseline", "a%b"), 0);
	fprintf(stderr, "\n(expected messages follow)\n");
	CU_ASSERT_EQUAL(baseline_check_name("--save-baseline", ""), -1);
	CU_ASSERT_EQUAL(baseline_check_name("--save-baseline", "a/b"), -1);
	CU_ASSERT_EQUAL(baseline_check_name("--save-baseline", "/abs"), -1);
	CU_ASSERT_EQUAL(baseline_check_name("--save-baseline", "."), -1);
	CU_ASSERT_EQUAL(baseline_check_name("--save-baseline", ".."), -1);
	CU_ASSERT_EQUAL(baseline_check_name("--save-baseline", ".main.tmp.AAAAAA"), -1);
	char longname[202];
	memset(longname, 'a', 201);
	longname[201] = '\0';
	CU_ASSERT_EQUAL(baseline_check_name("--save-baseline", longname), -1);
	longname[200] = '\0';
	CU_ASSERT_EQUAL(baseline_check_name("--save-baseline", longname), 0);
}

static void test_list(void)
{
	char set[PATH_MAX];
	make_set("a", 3, set, sizeof(set));
	put(set, "run-5.json", "after a gap: not a run of the set");
	put(set, "run-1.123.json", "a forked child's: not a run");
	char **paths;
	long n = baseline_list(set, &paths);
	CU_ASSERT_EQUAL_FATAL(n, 3);
	for (long k = 0; k < n; k++) {
		char want[PATH_MAX + 32];
		snprintf(want, sizeof(want), "%s/run-%ld.json", set, k + 1);
		CU_ASSERT_STRING_EQUAL(paths[k], want);
	}
	baseline_free_list(paths, n);
	CU_ASSERT_EQUAL(baseline_is_set(set), 1);
	CU_ASSERT_TRUE(strncmp(get(set, BASELINE_MARKER), "audioprof baseline 1", 20) == 0);
	CU_ASSERT_EQUAL(baseline_remove(set), 0);
	CU_ASSERT_EQUAL(access(set, F_OK), -1);
}

static void test_install(void)
{
	char final[PATH_MAX + 16], old[PATH_MAX], new[PATH_MAX];
	snprintf(final, sizeof(final), "%s/main", root);
	CU_ASSERT_EQUAL(baseline_is_set(final), 0);

	/* Nothing there: renamed into place. */
	make_set("old", 3, old, sizeof(old));
	CU_ASSERT_EQUAL_FATAL(baseline_install(old, final), 0);
	CU_ASSERT_EQUAL(access(old, F_OK), -1);
	CU_ASSERT_STRING_EQUAL(get(final, "run-3.json"), "old");

	/* An old set there: the new one in its place whole, the old one gone. */
	make_set("new", 2, new, sizeof(new));
	CU_ASSERT_EQUAL_FATAL(baseline_install(new, final), 0);
	CU_ASSERT_EQUAL(access(new, F_OK), -1);
	CU_ASSERT_STRING_EQUAL(get(final, "run-1.json"), "new");
	CU_ASSERT_STRING_EQUAL(get(final, "run-2.json"), "new");
	CU_ASSERT_EQUAL(access(strcat(strcpy(old, final), "/run-3.json"), F_OK), -1);
	char **paths;
	long n = baseline_list(final, &paths);
	CU_ASSERT_EQUAL(n, 2);
	baseline_free_list(paths, n);
}

static void test_foreign(void)
{
	char foreign[PATH_MAX + 16], set[PATH_MAX];
	snprintf(foreign, sizeof(foreign), "%s/src", root);
	CU_ASSERT_EQUAL_FATAL(mkdir(foreign, 0777), 0);
	put(foreign, "keep.c", "mine");
	CU_ASSERT_EQUAL(baseline_is_set(foreign), -1);
	make_set("x", 1, set, sizeof(set));
	errno = 0;
	CU_ASSERT_EQUAL(baseline_install(set, foreign), -1);
	CU_ASSERT_EQUAL(errno, EEXIST);
	CU_ASSERT_STRING_EQUAL(get(foreign, "keep.c"), "mine");
	CU_ASSERT_STRING_EQUAL(get(set, "run-1.json"), "x");

	/* A plain file in the way is not a set either. */
	put(root, "file", "mine");
	char file[PATH_MAX + 16];
	snprintf(file, sizeof(file), "%s/file", root);
	CU_ASSERT_EQUAL(baseline_is_set(file), -1);
	CU_ASSERT_EQUAL(baseline_install(set, file), -1);
	CU_ASSERT_STRING_EQUAL(get(root, "file"), "mine");
	baseline_remove(set);
}

static void test_mkdirs(void)
{
	char deep[PATH_MAX + 32];
	snprintf(deep, sizeof(deep), "%s/a/b/c", root);
	CU_ASSERT_EQUAL(baseline_mkdirs(deep), 0);
	CU_ASSERT_EQUAL(baseline_mkdirs(deep), 0);
	struct stat st;
	CU_ASSERT_TRUE(stat(deep, &st) == 0 && S_ISDIR(st.st_mode));
	put(deep, "f", "x");
	strcat(deep, "/f/g");
	CU_ASSERT_EQUAL(baseline_mkdirs(deep), -1);
}

void suite_baseline(void)
{
	CU_pSuite s = CU_add_suite("baseline", setup, teardown);
	CU_add_test(s, "names: refused when empty, with '/', starting with '.', too long", test_names);
	CU_add_test(s, "the runs of a set: run-1.json.. up to the first gap", test_list);
	CU_add_test(s, "install: into place, then over the old set, whole", test_install);
	CU_add_test(s, "install: never over a directory or file without the marker", test_foreign);
	CU_add_test(s, "mkdirs: parents made, a file in the way refused", test_mkdirs);
}
