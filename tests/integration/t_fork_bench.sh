#!/usr/bin/env bash
# t_fork_bench.sh - the fork benchmark runs (`bench/forkbench.sh --smoke`): bench/bin/forkbench
# natively, under audioprof with snapshots on, and with AUDIOPROF_FOLLOW_FORK=0, each
# exits 0 with all its children reaped and the same result as native, and audioprof wrote
# one profile per process, each adding up. No timing is asserted.
. "$(dirname "$0")/lib/common.sh"
need_preload
command -v python3 >/dev/null 2>&1 || skip "python3 not found"
make -s -C "$ROOT/bench" bin/forkbench >/dev/null || fail "cannot build bench/bin/forkbench"
"$ROOT/bench/forkbench.sh" --smoke
case $? in
0) ;;
77) skip "bench/forkbench.sh --smoke skipped" ;;
*) fail "bench/forkbench.sh --smoke" ;;
esac
echo "ok"
