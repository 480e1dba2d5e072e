#!/usr/bin/env bash
# t_fork.sh - a forked child writes its own profile under its own pid
# (tests/progs/fork.c): the child's has child_site exactly and not parent_site; the
# parent's has parent_site and not child_site; blocks from before the fork stay live in
# the child (pre_keep) or are freed there without disturbing anything (pre_free).
# With AUDIOPROF_FOLLOW_FORK=0 only the parent writes a profile.
. "$(dirname "$0")/lib/common.sh"
need_preload
build_prog fork
make_tmp

mkdir "$tmp/a"
env AUDIOPROF_OUT="$tmp/a/p.%p.json" LD_PRELOAD="$PRELOAD" "$BIN/fork" >"$tmp/out" 2>"$tmp/err"
rc=$?
[ $rc -eq 0 ] || { cat "$tmp/err"; fail "fork exited $rc"; }
[ -s "$tmp/err" ] && { cat "$tmp/err"; fail "stderr not empty"; }
read -r _ ppid _ cpid <"$tmp/out" || fail "no pids on stdout"
ls "$tmp/a"
[ -f "$tmp/a/p.$ppid.json" ] || fail "no parent profile p.$ppid.json"
[ -f "$tmp/a/p.$cpid.json" ] || fail "no child profile p.$cpid.json"
[ "$(ls "$tmp/a" | wc -l)" -eq 2 ] || fail "expected exactly 2 files in the output directory"

check_py "$tmp/a/p.$ppid.json" "$tmp/a/p.$cpid.json" "$ppid" "$cpid" <<'PY' || exit 1
par = load_checked(sys.argv[1])
kid = load_checked(sys.argv[2], lifetimes=False)
ppid, cpid = int(sys.argv[3]), int(sys.argv[4])
eq("parent pid", par.get("pid"), ppid)
eq("child pid", kid.get("pid"), cpid)
eq("child audioprof.ppid", kid.get("audioprof", {}).get("ppid"), ppid)
eq("parent reason", reason(par), "exit")
eq("child reason", reason(kid), "exit")

pp = expect_pp(par, "parent_site", tb=1110, tbk=5, mb=1110, mbk=5, eb=1110, ebk=5)
expect_chain(par, pp, "malloc", "parent_site")
expect_absent(par, "child_site")
expect_pp(par, "pre_keep", tb=1000, tbk=1, eb=1000, ebk=1)
expect_pp(par, "pre_free", tb=400, tbk=1, eb=400, ebk=1)

pp = expect_pp(kid, "child_site", tb=333, tbk=3, mb=333, mbk=3, eb=222, ebk=2)
expect_chain(kid, pp, "malloc", "child_site")
expect_absent(kid, "parent_site")
# Blocks inherited from the parent: still live in the child, or freed there.
expect_pp(kid, "pre_keep", eb=1000, ebk=1)
pf = pp_with(kid, "pre_free")
if pf is not None:
    eq("child pre_free.eb", pf.get("eb"), 0)
    eq("child pre_free.ebk", pf.get("ebk"), 0)
done()
PY

mkdir "$tmp/b"
env AUDIOPROF_FOLLOW_FORK=0 AUDIOPROF_OUT="$tmp/b/p.%p.json" LD_PRELOAD="$PRELOAD" "$BIN/fork" >"$tmp/out" 2>"$tmp/err"
rc=$?
[ $rc -eq 0 ] || { cat "$tmp/err"; fail "fork exited $rc (AUDIOPROF_FOLLOW_FORK=0)"; }
read -r _ ppid _ cpid <"$tmp/out" || fail "no pids on stdout"
[ -f "$tmp/b/p.$ppid.json" ] || fail "AUDIOPROF_FOLLOW_FORK=0: no parent profile"
[ -e "$tmp/b/p.$cpid.json" ] && fail "AUDIOPROF_FOLLOW_FORK=0: the child wrote a profile"
[ "$(ls "$tmp/b" | wc -l)" -eq 1 ] || { ls -la "$tmp/b"; fail "AUDIOPROF_FOLLOW_FORK=0: extra files"; }
check_py "$tmp/b/p.$ppid.json" <<'PY' || exit 1
par = load_checked(sys.argv[1])
expect_pp(par, "parent_site", tb=1110, tbk=5, eb=1110, ebk=5)
expect_absent(par, "child_site")
done()
PY
echo "ok"
