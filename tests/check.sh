#!/usr/bin/env bash
# check.sh - runs the unit tests (unit/run_unit) and the integration tests
# (integration/run.sh), then prints the one closing line
#     check: N passed, N failed
# where the counts add up both. Exit status 1 if anything failed (a crash or a runner
# that ends without its summary counts as one failure). Called by `make check`, which
# builds everything first. Logs go to tests/out/, the closing line also to
# tests/out/summary.txt (.ci/run repeats it last when make fails).
set -uo pipefail
cd "$(dirname "$0")" || exit 1
mkdir -p out

# Programs run under the preload keep their persistent symbol cache here, not in the
# user's ~/.cache (t_symcache.sh tests the default locations with a HOME of its own).
rm -rf out/xdg-cache
export XDG_CACHE_HOME=$PWD/out/xdg-cache

passed=0
failed=0

# ------------------------------------------------------------------ unit tests
echo "=== unit tests (unit/run_unit)"
unit/run_unit 2>&1 | tee out/unit.log
unit_rc=${PIPESTATUS[0]}
# CUnit's run summary:  "tests  <total> <ran> <passed> <failed> <inactive>"
read -r up uf < <(awk '$1 == "tests" && NF >= 6 && $4 ~ /^[0-9]+$/ { p = $4; f = $5 }
	END { if (p != "") print p, f }' out/unit.log)
if [ -z "${up:-}" ]; then
	echo "check: unit/run_unit ended without a CUnit summary (exit status $unit_rc)"
	up=0 uf=1
elif [ "$unit_rc" -ne 0 ] && [ "$uf" -eq 0 ]; then
	echo "check: unit/run_unit exited with status $unit_rc"
	uf=1
fi
passed=$((passed + up))
failed=$((failed + uf))
echo "unit: $up passed, $uf failed"

# ------------------------------------------------------------------ integration tests
echo "=== integration tests (integration/run.sh)"
if [ -x integration/run.sh ] || [ -f integration/run.sh ]; then
	bash integration/run.sh 2>&1 </dev/null | tee out/integration.log
	int_rc=${PIPESTATUS[0]}
	line=$(grep -aE '(^|[^0-9])[0-9]+ passed, [0-9]+ failed' out/integration.log | tail -n 1)
	if [ -z "$line" ]; then
		echo "check: integration/run.sh ended without its summary (exit status $int_rc)"
		ip=0 if_=1
	else
		ip=$(grep -oE '[0-9]+ passed' <<<"$line" | head -n 1 | cut -d' ' -f1)
		if_=$(grep -oE '[0-9]+ failed' <<<"$line" | head -n 1 | cut -d' ' -f1)
		if [ "$int_rc" -ne 0 ] && [ "$if_" -eq 0 ]; then
			echo "check: integration/run.sh exited with status $int_rc"
			if_=1
		fi
	fi
	passed=$((passed + ip))
	failed=$((failed + if_))
else
	echo "check: no integration/run.sh yet; no integration test ran"
fi

echo
echo "check: $passed passed, $failed failed" | tee out/summary.txt
[ "$failed" -eq 0 ]
