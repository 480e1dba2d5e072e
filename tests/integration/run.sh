#!/usr/bin/env bash
# run.sh - runs the integration tests (tests/integration/t_*.sh), each with a 120 s
# timeout. A test exits 0 (pass), 77 (skip) or anything else (fail). Prints one line per
# test (with the test's output when it fails or skips) and finally
# "N passed, N failed, N skipped"; exits 1 if any test failed.
# Usage: run.sh [NAME...]   (NAME: t_exact, t_exact.sh or exact; default: all)

set -u
here=$(cd "$(dirname "$0")" && pwd)
TIMEOUT=${APTEST_TIMEOUT:-120}

tests=()
if [ $# -gt 0 ]; then
	for n in "$@"; do
		n=${n%.sh}
		n=${n#t_}
		[ -f "$here/t_$n.sh" ] || { echo "run.sh: no test t_$n.sh" >&2; exit 2; }
		tests+=("$here/t_$n.sh")
	done
else
	for t in "$here"/t_*.sh; do
		[ -f "$t" ] && tests+=("$t")
	done
fi

passed=0 failed=0 skipped=0
failed_names=()
log=$(mktemp "${TMPDIR:-/tmp}/aptest-run.XXXXXX")
trap 'rm -f "$log"' EXIT

for t in "${tests[@]}"; do
	name=$(basename "$t" .sh)
	start=$(date +%s.%N)
	timeout -k 5 "$TIMEOUT" bash "$t" >"$log" 2>&1 </dev/null
	rc=$?
	secs=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
	case $rc in
	0)
		passed=$((passed + 1))
		echo "PASS $name (${secs}s)"
		;;
	77)
		skipped=$((skipped + 1))
		echo "SKIP $name: $(grep -m1 '^SKIP' "$log" | sed 's/^SKIP: *//')"
		;;
	*)
		failed=$((failed + 1))
		failed_names+=("$name")
		if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
			echo "FAIL $name (timed out after ${TIMEOUT}s)"
		else
			echo "FAIL $name (exit $rc, ${secs}s)"
		fi
		n=$(wc -l <"$log")
		head -n 80 "$log" | sed 's/^/    /'
		[ "$n" -gt 80 ] && echo "    ... ($((n - 80)) more lines)"
		;;
	esac
done

echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
