#!/usr/bin/env bash
# t_fork_fdtable.sh - a fork child's first file of the profiler's never waits for the
# kernel (tests/progs/forkfdtable.c). fork() gives the child an fd table only as large
# as the parent's highest open fd needs, and the profiler keeps its files at or above a
# floor (1024 here); growing a table that a second thread shares waits for an RCU grace
# period (10-30 ms), and the child's profile writer thread shares it from the child's
# first moment. So the profiler grows the child's table in its fork handler, while the
# child has one thread: as soon as fork() returns, the child's table is as large as the
# parent's (before, it was the small copy, grown at the child's exit write, which then
# took 10-30 ms and made "fork to reaped" 16 ms in bench/forkbench.sh against 0.2 ms
# natively). Sizes, not times: FDSize of /proc/self/status in both processes.
. "$(dirname "$0")/lib/common.sh"
need_preload
build_prog forkfdtable
make_tmp

run_fg ap "$BIN/forkfdtable"
read -r _ parent _ child <"$tmp/ap.out" || fail "no sizes on stdout"
note "under the preload: parent FDSize $parent, child FDSize $child"
soft=$(ulimit -n)
floor=1024
[ "$soft" != unlimited ] && [ "$soft" -lt 1088 ] && floor=$((soft - 64))
[ "$parent" -gt "$floor" ] || fail "the parent's table ($parent) does not reach the floor $floor"
[ "$child" -eq "$parent" ] || fail "the child's table is $child entries, the parent's $parent: grown later, while shared"
n=$(ls "$tmp/ap"/p.*.json 2>/dev/null | wc -l)
[ "$n" -eq 2 ] || fail "$n profiles, expected 2 (the parent and the child)"
check_py "$tmp/ap" <<'PY' || exit 1
import glob, os
profs = [load_checked(f, lifetimes=False) for f in glob.glob(os.path.join(sys.argv[1], "p.*.json"))]
kid = [p for p in profs if any(q["pid"] == p["audioprof"]["ppid"] for q in profs)]
eq("child profiles", len(kid), 1)
expect_pp(kid[0], "child_site", tb=48, tbk=1, eb=0, ebk=0)
PY
echo "PASS: t_fork_fdtable"
