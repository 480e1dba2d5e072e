/* test_wildcard.c - the profiler's own glob matcher (AUDIOPROF_RT_THREADS), which replaces
 * fnmatch(3) on the allocation path: it must give fnmatch's answer (flags 0, "C"
 * locale) for every pattern and thread name. */
#include <CUnit/CUnit.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>

#include "wildcard.h"
#include "suites.h"

static const char *const patterns[] = {
	"", "*", "**", "?", "a", "audio*", "*out", "cpal_alsa_out", "cpal_*_out", "*_alsa_*",
	"a?c", "a*c", "*a*b*", "[abc]x", "[!abc]x", "[^abc]x", "[a-c]*", "[]]", "[]a]*",
	"[!]]", "[a-]", "[-a]", "[", "[a", "a[", "\\*", "a\\?c", "\\", "a\\", "[\\]]",
	"x[0-9][0-9]", "*[0-9]", "?*?", "*?*?*", "[[]", "[*]", "a*b*c*d", "audio-rt",
};

static const char *const names[] = {
	"", "a", "b", "x", "ax", "dx", "]", "-", "[", "*", "?", "\\", "a\\", "abc", "aXc",
	"ac", "audio", "audio-rt", "audio-rt2", "cpal_alsa_out", "cpal_pulse_out", "out",
	"x12", "x1", "thread7", "abxbxcd", "aabbccdd", "abcd", "a[", "a?c", "main",
};

static void test_glob_like_fnmatch(void)
{
	for (size_t i = 0; i < sizeof(patterns) / sizeof(patterns[0]); i++)
		for (size_t j = 0; j < sizeof(names) / sizeof(names[0]); j++) {
			int want = fnmatch(patterns[i], names[j], 0) == 0;
			int got = glob_match(patterns[i], names[j]);
			if (got != want)
				fprintf(stderr, "glob %s on %s: %d, fnmatch %d\n", patterns[i],
					names[j], got, want);
			CU_ASSERT_EQUAL(got, want);
		}
}

/* Random patterns and names over a small alphabet, against fnmatch. */
static void test_glob_random(void)
{
	static const char pat_chars[] = "ab*?[]!-\\";
	static const char name_chars[] = "ab-]![\\*";
	unsigned seed = 12345;
	int bad = 0;
	for (int n = 0; n < 200000 && bad < 5; n++) {
		char pat[8], name[8];
		int pl = (int)((seed = seed * 1103515245u + 12345u) >> 16) % 7;
		int nl = (int)((seed = seed * 1103515245u + 12345u) >> 16) % 7;
		for (int k = 0; k < pl; k++)
			pat[k] = pat_chars[((seed = seed * 1103515245u + 12345u) >> 16) % (sizeof(pat_chars) - 1)];
		for (int k = 0; k < nl; k++)
			name[k] = name_chars[((seed = seed * 1103515245u + 12345u) >> 16) % (sizeof(name_chars) - 1)];
		pat[pl] = name[nl] = 0;
		int want = fnmatch(pat, name, 0) == 0, got = glob_match(pat, name);
		if (got != want) {
			fprintf(stderr, "glob \"%s\" on \"%s\": %d, fnmatch %d\n", pat, name, got, want);
			bad++;
		}
	}
	CU_ASSERT_EQUAL(bad, 0);
}

void suite_glob(void)
{
	CU_pSuite s = CU_add_suite("glob", NULL, NULL);
	CU_add_test(s, "glob matcher gives fnmatch's answers", test_glob_like_fnmatch);
	CU_add_test(s, "glob matcher on random patterns", test_glob_random);
}
