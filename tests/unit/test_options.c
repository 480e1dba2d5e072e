/* test_options.c - the AUDIOPROF_* option parsers and loading from the environment. */
#include <CUnit/CUnit.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "options.h"
#include "suites.h"

static void test_bool(void)
{
	int64_t v = -1;
	CU_ASSERT(options_parse_bool("yes", &v) == 0 && v == 1);
	CU_ASSERT(options_parse_bool("OFF", &v) == 0 && v == 0);
	CU_ASSERT(options_parse_bool("1", &v) == 0 && v == 1);
	CU_ASSERT(options_parse_bool("maybe", &v) == -1);
	CU_ASSERT(options_parse_bool("", &v) == -1);
}

static void test_size(void)
{
	int64_t v = 0;
	CU_ASSERT(options_parse_size("64", &v) == 0 && v == 64);
	CU_ASSERT(options_parse_size("4K", &v) == 0 && v == 4096);
	CU_ASSERT(options_parse_size("16M", &v) == 0 && v == 16 << 20);
	CU_ASSERT(options_parse_size("1G", &v) == 0 && v == 1 << 30);
	CU_ASSERT(options_parse_size("-1", &v) == -1);
	CU_ASSERT(options_parse_size("12Q", &v) == -1);
	CU_ASSERT(options_parse_size("99999999999999999999", &v) == -1);
	CU_ASSERT(options_parse_size("9999999999999G", &v) == -1);   /* overflows */
}

/* Sizes as `check --max-peak`, `diff --fail-leaked` and AUDIOPROF_MAX_INPUT take them:
 * every spelling of a unit, in any case; nothing around the number but leading blanks;
 * the largest value that fits. */
static void test_size_forms(void)
{
	static const struct { const char *s; int64_t v; } ok[] = {
		{ "0", 0 }, { "0K", 0 }, { "7b", 7 }, { "7B", 7 }, { "  64", 64 }, { "\t2k", 2048 },
		{ "2kb", 2048 }, { "2KiB", 2048 }, { "3m", 3 << 20 }, { "3MB", 3 << 20 },
		{ "3MiB", 3 << 20 }, { "2g", 2LL << 30 }, { "2GB", 2LL << 30 }, { "2gib", 2LL << 30 },
		{ "0064K", 64 << 10 },
		{ "9223372036854775807", INT64_MAX },
		{ "8589934591G", INT64_C(8589934591) << 30 },
		{ "9007199254740991K", INT64_C(9007199254740991) << 10 },
	};
	static const char *const bad[] = {
		"", " ", "K", "4 K", "4K ", "4KK", "4Kb b", "1.5M", "+4", "0x10", "4T", "4kibi",
		"9223372036854775808", "8589934592G", "9007199254740992K", "18446744073709551616",
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		int64_t v = -1;
		int rc = options_parse_size(ok[i].s, &v);
		if (rc != 0 || v != ok[i].v)
			fprintf(stderr, "size \"%s\": rc %d, %lld\n", ok[i].s, rc, (long long)v);
		CU_ASSERT(rc == 0 && v == ok[i].v);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int64_t v = 12345;
		int rc = options_parse_size(bad[i], &v);
		if (rc != -1)
			fprintf(stderr, "size \"%s\": taken as %lld\n", bad[i], (long long)v);
		CU_ASSERT(rc == -1 && v == 12345);   /* refused, and *out left alone */
	}
}

static void test_time(void)
{
	int64_t v = 0;
	CU_ASSERT(options_parse_time("5s", &v) == 0 && v == 5000000000LL);
	CU_ASSERT(options_parse_time("250ms", &v) == 0 && v == 250000000LL);
	CU_ASSERT(options_parse_time("100us", &v) == 0 && v == 100000);
	CU_ASSERT(options_parse_time("7", &v) == 0 && v == 7000000000LL);
	CU_ASSERT(options_parse_time("0", &v) == 0 && v == 0);
	CU_ASSERT(options_parse_time("fast", &v) == -1);
	CU_ASSERT(options_parse_time("1h", &v) == -1);
}

static void test_choice(void)
{
	int64_t v = -1;
	CU_ASSERT(options_parse_choice("record|warn|abort", "warn", &v) == 0 && v == 1);
	CU_ASSERT(options_parse_choice("record|warn|abort", "ABORT", &v) == 0 && v == 2);
	CU_ASSERT(options_parse_choice("record|warn|abort", "war", &v) == -1);
	CU_ASSERT(options_parse_choice("record|warn|abort", "", &v) == -1);
}

static void test_int(void)
{
	int64_t v = 0;
	CU_ASSERT(options_parse_int("24", &v) == 0 && v == 24);
	CU_ASSERT(options_parse_int("24x", &v) == -1);
	CU_ASSERT(options_parse_int("", &v) == -1);
}

/* A bad value keeps the default; a good one is taken; out of range is bad. */
static void test_load(void)
{
	setenv("AUDIOPROF_DEPTH", "64", 1);
	setenv("AUDIOPROF_INTERVAL", "soon", 1);
	setenv("AUDIOPROF_FOLLOW_EXEC", "no", 1);
	setenv("AUDIOPROF_OUT", "/tmp/x.%p.json", 1);
	options_load();
	CU_ASSERT_EQUAL(OPT_NUM(OPT_DEPTH), 64);
	CU_ASSERT_EQUAL(OPT_NUM(OPT_INTERVAL), 5000000000LL);
	CU_ASSERT_EQUAL(OPT_NUM(OPT_FOLLOW_EXEC), 0);
	CU_ASSERT_STRING_EQUAL(OPT_STR(OPT_OUT), "/tmp/x.%p.json");
	setenv("AUDIOPROF_DEPTH", "1000", 1);
	options_load();
	CU_ASSERT_EQUAL(OPT_NUM(OPT_DEPTH), 32);
	unsetenv("AUDIOPROF_DEPTH");
	unsetenv("AUDIOPROF_INTERVAL");
	unsetenv("AUDIOPROF_FOLLOW_EXEC");
	unsetenv("AUDIOPROF_OUT");
	options_load();
	CU_ASSERT_STRING_EQUAL(OPT_STR(OPT_OUT), "audioprof.%p.json");
}

/* Every option has a name with the prefix, a help line and a default that parses. */
static void test_table(void)
{
	for (int i = 0; i < OPT_COUNT; i++) {
		const struct opt_def *d = &options_table[i];
		CU_ASSERT_PTR_NOT_NULL_FATAL(d->name);
		CU_ASSERT_NSTRING_EQUAL(d->name, "AUDIOPROF_", 10);
		CU_ASSERT(d->help && d->help[0]);
		int64_t v;
		int ok = 1;
		switch (d->type) {
		case OPT_BOOL: ok = options_parse_bool(d->def, &v) == 0; break;
		case OPT_INT: ok = options_parse_int(d->def, &v) == 0 && v >= d->min && v <= d->max; break;
		case OPT_SIZE: ok = options_parse_size(d->def, &v) == 0; break;
		case OPT_TIME: ok = options_parse_time(d->def, &v) == 0 && v >= d->min && v <= d->max; break;
		case OPT_STRING: break;
		case OPT_CHOICE: ok = options_parse_choice(d->choices, d->def, &v) == 0; break;
		}
		CU_ASSERT(ok);
	}
}

void suite_options(void)
{
	CU_pSuite s = CU_add_suite("options", NULL, NULL);
	CU_add_test(s, "booleans", test_bool);
	CU_add_test(s, "sizes", test_size);
	CU_add_test(s, "sizes: every spelling, the largest", test_size_forms);
	CU_add_test(s, "times", test_time);
	CU_add_test(s, "integers", test_int);
	CU_add_test(s, "choices", test_choice);
	CU_add_test(s, "loading from the environment", test_load);
	CU_add_test(s, "the table itself", test_table);
}
