#!/usr/bin/env bash
# t_analyzer_golden.sh - golden-file tests of the analyzer's output (report, check, diff,
# flame). Each tests/golden/NAME.cmd holds the arguments of one `audioprof` call, run in
# tests/fixtures/ with NO_COLOR=1 COLUMNS=100 LC_ALL=C; tests/golden/NAME.txt holds its
# standard output and error, then a last line "[exit N]". Every call runs again under
# an AddressSanitizer and UBSan build (lib/analyzer.sh), which must print the same.
#
#   UPDATE_GOLDEN=1 tests/integration/t_analyzer_golden.sh   rewrite the .txt files
#
# The fixtures are written by tests/fixtures/make_fixtures.py, except dhat_valgrind.json
# (`valgrind --tool=dhat` of a program that leaks 50 of 100 blocks, churns 5000 short
# blocks and leaks one strdup) and dhat_copy.json (`valgrind --tool=dhat --mode=copy` of
# a program that memcpy's 4 KiB ten times), which are valgrind 3.19's own files.
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/analyzer.sh"
need_analyzer
asan=0
build_asan_analyzer && asan=1
FIX=$TESTS_DIR/fixtures
GOLD=$TESTS_DIR/golden
export NO_COLOR=1 COLUMNS=100 LC_ALL=C
cd "$FIX" || fail "no $FIX"
make_tmp

nfail=0 n=0
for cmdf in "$GOLD"/*.cmd; do
	name=$(basename "$cmdf" .cmd)
	args=$(cat "$cmdf")
	n=$((n + 1))
	out=$tmp/$name.out
	# shellcheck disable=SC2086  # the .cmd file is a list of words
	"$AP" $args >"$out" 2>&1
	echo "[exit $?]" >>"$out"
	if [ "${UPDATE_GOLDEN:-0}" = 1 ]; then
		cp "$out" "$GOLD/$name.txt"
		echo "updated $name"
		continue
	fi
	if [ ! -f "$GOLD/$name.txt" ]; then
		echo "FAIL: $name: no golden file $GOLD/$name.txt (run with UPDATE_GOLDEN=1)"
		nfail=$((nfail + 1))
	elif ! cmp -s "$out" "$GOLD/$name.txt"; then
		echo "FAIL: $name: audioprof $args"
		diff -u "$GOLD/$name.txt" "$out" | head -40
		nfail=$((nfail + 1))
	else
		echo "ok: $name"
	fi
	if [ "$asan" = 1 ] && [ "${UPDATE_GOLDEN:-0}" != 1 ]; then
		# shellcheck disable=SC2086
		"$ASAN_AP" $args >"$out.asan" 2>&1
		echo "[exit $?]" >>"$out.asan"
		if ! cmp -s "$out" "$out.asan"; then
			echo "FAIL: $name: the sanitized build differs (or reported an error):"
			diff -u "$out" "$out.asan" | head -40
			nfail=$((nfail + 1))
		fi
	fi
done
[ "$asan" = 1 ] && echo "(every output also checked under AddressSanitizer and UBSan)"
[ "$n" -gt 0 ] || fail "no golden tests in $GOLD"
[ "$nfail" -eq 0 ] || fail "$nfail of $n golden outputs differ"
echo "$n golden outputs match"
