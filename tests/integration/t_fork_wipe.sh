#!/usr/bin/env bash
# t_fork_wipe.sh - fork() copies none of the tables a child starts afresh (per-thread
# sums, CPU samples, violations: wiped at fork, preload/engine/forkmem.h), and every number
# stays exact on both sides (tests/progs/forkwipe.c): a child that keeps running, makes
# a thread and allocates has exactly its own and its inherited blocks and only its own
# CPU samples; a child that execs runs the new image, whose profile is exact; the
# parent's numbers (two threads, before and after the forks) are exact and hold nothing
# of the children's. With AUDIOPROF_FOLLOW_FORK=0 the children run and exit normally.
# Snapshots every 50 ms scan the tables; the profiler's own memory in both processes
# (audioprof.own_bytes: pages in memory) holds no page of the 9 MB CPU sample table that
# no sample was written to (a scan that read every slot mapped them all, and each fork
# copied their page-table entries).
. "$(dirname "$0")/lib/common.sh"
need_preload
build_prog forkwipe
make_tmp

mkdir "$tmp/a"
env AUDIOPROF_CPU=all AUDIOPROF_INTERVAL=50ms AUDIOPROF_OUT="$tmp/a/p.%p.json" LD_PRELOAD="$PRELOAD" "$BIN/forkwipe" \
	>"$tmp/out" 2>"$tmp/err"
rc=$?
[ $rc -eq 0 ] || { cat "$tmp/err"; fail "forkwipe exited $rc"; }
[ -s "$tmp/err" ] && { cat "$tmp/err"; fail "stderr not empty"; }
read -r _ ppid _ cpid _ epid <"$tmp/out" || fail "no pids on stdout"
ls "$tmp/a"
check_py "$tmp/a" "$ppid" "$cpid" "$epid" <<'PY' || exit 1
import glob, os
d, ppid, cpid, epid = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
par = load_checked(os.path.join(d, "p.%d.json" % ppid))
kid = load_checked(os.path.join(d, "p.%d.json" % cpid), lifetimes=False)

def cpu_funcs(prof):
    ftbl = prof.get("ftbl", [])
    out = set()
    for s in prof["audioprof"]["cpu"]["stacks"]:
        out.update(func_name(ftbl[i]) for i in s["fs"])
    return out

expect_pp(par, "site_a", also="a_before", tb=1000, tbk=10, eb=1000, ebk=10)
expect_pp(par, "site_a", also="a_after", tb=500, tbk=5, eb=500, ebk=5)
expect_pp(par, "site_b", also="b_before", tb=350, tbk=7, eb=250, ebk=5)
expect_pp(par, "site_b", also="b_after", tb=150, tbk=3, eb=150, ebk=3)
expect_absent(par, "child_runs_on")
expect_absent(par, "site_d")
expect_absent(par, "site_e")
pc = cpu_funcs(par)
ok("parent_spin" in pc, "parent: no CPU sample in parent_spin")
ok("child_spin" not in pc, "parent: CPU samples of the child's child_spin")

# Inherited live blocks count as the child's own allocations, born at the fork.
expect_pp(kid, "site_a", also="a_before", tb=1000, tbk=10, eb=1000, ebk=10)
expect_pp(kid, "site_a", also="child_runs_on", tb=400, tbk=4, eb=200, ebk=2)
expect_absent(kid, "a_after")
expect_pp(kid, "site_b", also="b_before", tb=250, tbk=5, eb=200, ebk=4)
expect_absent(kid, "b_after")
expect_pp(kid, "site_d", tb=384, tbk=6, eb=192, ebk=3)
expect_absent(kid, "site_e")
kc = cpu_funcs(kid)
ok("child_spin" in kc, "child: no CPU sample in child_spin")
ok("parent_spin" not in kc, "child: CPU samples of the parent's parent_spin")
cpu = kid["audioprof"]["cpu"]
eq("child: CPU samples vs its stacks' counts", sum(s["count"] for s in cpu["stacks"]), cpu["samples"])
# The tables in use here need well under 4 MB; the CPU table alone is 9 MB reserved.
for who, p in (("parent", par), ("child", kid)):
    own = p["audioprof"]["own_bytes"]
    ok(own < (4 << 20), "%s: own_bytes %d: pages that hold nothing are in memory" % (who, own))

# The exec'd image: its own profile (the fork child may write one before the exec).
imgs = [load_checked(f) for f in sorted(glob.glob(os.path.join(d, "p.%d*.json" % epid)))]
withe = [p for p in imgs if pps_with(p, "site_e")]
eq("profiles of the exec'd image with site_e", len(withe), 1)
if withe:
    expect_pp(withe[0], "site_e", tb=96, tbk=3, eb=96, ebk=3)
    expect_absent(withe[0], "site_a")
done()
PY

mkdir "$tmp/b"
env AUDIOPROF_CPU=all AUDIOPROF_FOLLOW_FORK=0 AUDIOPROF_OUT="$tmp/b/p.%p.json" \
	LD_PRELOAD="$PRELOAD" "$BIN/forkwipe" >"$tmp/out" 2>"$tmp/err"
rc=$?
[ $rc -eq 0 ] || { cat "$tmp/err"; fail "forkwipe exited $rc (AUDIOPROF_FOLLOW_FORK=0)"; }
read -r _ ppid _ cpid _ epid <"$tmp/out" || fail "no pids on stdout"
[ -e "$tmp/b/p.$cpid.json" ] && fail "AUDIOPROF_FOLLOW_FORK=0: the child wrote a profile"
check_py "$tmp/b/p.$ppid.json" <<'PY' || exit 1
par = load_checked(sys.argv[1])
expect_pp(par, "site_a", also="a_before", tb=1000, tbk=10, eb=1000, ebk=10)
expect_pp(par, "site_a", also="a_after", tb=500, tbk=5, eb=500, ebk=5)
expect_pp(par, "site_b", also="b_before", tb=350, tbk=7, eb=250, ebk=5)
expect_pp(par, "site_b", also="b_after", tb=150, tbk=3, eb=150, ebk=3)
expect_absent(par, "child_runs_on")
expect_absent(par, "site_d")
done()
PY

echo "ok"
