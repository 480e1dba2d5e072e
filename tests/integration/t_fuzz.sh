#!/usr/bin/env bash
# t_fuzz.sh - runs the libFuzzer target of the analyzer's profile reader
# (tests/fuzz/fuzz_profile.c) for a bounded time, FUZZ_SECONDS (default 20), seeded with
# the fixtures. Skipped (77) when clang or its libFuzzer runtime is missing; fails on any
# crash, sanitizer report, leak or timeout that libFuzzer finds.
. "$(dirname "$0")/lib/common.sh"
FUZZ=$TESTS_DIR/fuzz
command -v "${CLANG:-clang}" >/dev/null 2>&1 || skip "no clang (Debian: apt-get install clang libclang-rt-14-dev)"
make_tmp
echo 'int LLVMFuzzerTestOneInput(const char *d, long n) { (void)d; (void)n; return 0; }' >"$tmp/t.c"
"${CLANG:-clang}" -fsanitize=fuzzer "$tmp/t.c" -o "$tmp/t" >/dev/null 2>&1 ||
	skip "clang cannot link -fsanitize=fuzzer (Debian: apt-get install libclang-rt-14-dev)"

make -s -C "$FUZZ" fuzz_profile || fail "cannot build $FUZZ/fuzz_profile"
secs=${FUZZ_SECONDS:-20}
if ! make -s -C "$FUZZ" run FUZZ_SECONDS="$secs" >"$tmp/fuzz.log" 2>&1; then
	grep -E "ERROR|SUMMARY|crash-|leak-|timeout-|Test unit written" "$tmp/fuzz.log" | head -20
	tail -40 "$tmp/fuzz.log"
	fail "the fuzzer found a problem (inputs left in $FUZZ as crash-*/leak-*/timeout-*)"
fi
grep -E "^Done|stat::number_of_executed_units|new_units_added" "$tmp/fuzz.log" | sed 's/^/  /'
echo "fuzzed for ${secs}s without a crash"
