#!/usr/bin/env bash
# t_exec.sh - exec'd images are followed (tests/progs/execer.c, leaf.c): execer writes
# its profile before exec (reason "exec", pre_exec live), each exec'd image of the same
# pid writes its own file with ".<k>" before ".json" for the k-th exec. With
# AUDIOPROF_FOLLOW_EXEC=0 only the first image writes a profile.
. "$(dirname "$0")/lib/common.sh"
need_preload
build_prog execer leaf
make_tmp

# execer -> leaf: p.PID.json (execer, "exec") and p.PID.1.json (leaf, "exit").
mkdir "$tmp/a"
env AUDIOPROF_OUT="$tmp/a/p.%p.json" LD_PRELOAD="$PRELOAD" "$BIN/execer" "$BIN/leaf" 4 >"$tmp/out" 2>"$tmp/err"
rc=$?
[ $rc -eq 4 ] || { cat "$tmp/err"; fail "execer -> leaf 4: exit status $rc, expected 4"; }
[ -s "$tmp/err" ] && { cat "$tmp/err"; fail "stderr not empty"; }
read -r _ pid <"$tmp/out" || fail "leaf printed no pid"
ls "$tmp/a"
[ "$(ls "$tmp/a" | wc -l)" -eq 2 ] || fail "expected 2 files"
check_py "$tmp/a/p.$pid.json" "$tmp/a/p.$pid.1.json" "$pid" <<'PY' || exit 1
first = load_checked(sys.argv[1])
second = load_checked(sys.argv[2])
pid = int(sys.argv[3])
eq("first image pid", first.get("pid"), pid)
eq("first image reason", reason(first), "exec")
pp = expect_pp(first, "pre_exec", tb=200, tbk=4, mb=200, mbk=4, gb=200, gbk=4, eb=200, ebk=4)
expect_chain(first, pp, "malloc", "pre_exec")
eq("exec'd image pid", second.get("pid"), pid)
eq("exec'd image reason", reason(second), "exit")
pp = expect_pp(second, "leaf_site", tb=7, tbk=1, eb=7, ebk=1)
expect_chain(second, pp, "malloc", "leaf_site")
expect_absent(second, "pre_exec")
ok("leaf" in second.get("cmd", ""), "exec'd image cmd %r should name leaf" % second.get("cmd"))
done()
PY

# execer -> execer -> leaf: .json, .1.json, .2.json
mkdir "$tmp/b"
env AUDIOPROF_OUT="$tmp/b/p.%p.json" LD_PRELOAD="$PRELOAD" "$BIN/execer" "$BIN/execer" "$BIN/leaf" >"$tmp/out" 2>"$tmp/err"
rc=$?
[ $rc -eq 0 ] || { cat "$tmp/err"; fail "execer -> execer -> leaf: exit status $rc"; }
read -r _ pid <"$tmp/out" || fail "leaf printed no pid"
ls "$tmp/b"
for f in p.$pid.json p.$pid.1.json p.$pid.2.json; do
	[ -f "$tmp/b/$f" ] || fail "missing $f"
done
[ "$(ls "$tmp/b" | wc -l)" -eq 3 ] || fail "expected 3 files"
check_py "$tmp/b/p.$pid.json" "$tmp/b/p.$pid.1.json" "$tmp/b/p.$pid.2.json" <<'PY' || exit 1
a, b, c = (load_checked(f) for f in sys.argv[1:4])
eq("image 0 reason", reason(a), "exec")
eq("image 1 reason", reason(b), "exec")
eq("image 2 reason", reason(c), "exit")
expect_pp(a, "pre_exec", tb=200, tbk=4, eb=200)
expect_pp(b, "pre_exec", tb=200, tbk=4, eb=200)
expect_absent(b, "leaf_site")
expect_pp(c, "leaf_site", tb=7, tbk=1)
expect_absent(c, "pre_exec")
done()
PY

# execer -> /bin/true: the exec'd system binary is profiled too (exit 0, valid file).
mkdir "$tmp/c"
env AUDIOPROF_OUT="$tmp/c/p.%p.json" LD_PRELOAD="$PRELOAD" "$BIN/execer" /bin/true >"$tmp/out" 2>"$tmp/err"
rc=$?
[ $rc -eq 0 ] || { cat "$tmp/err"; fail "execer -> /bin/true: exit status $rc"; }
[ "$(ls "$tmp/c" | wc -l)" -eq 2 ] || { ls "$tmp/c"; fail "execer -> /bin/true: expected 2 files"; }
for f in "$tmp"/c/*.json; do
	check_py "$f" <<'PY' || exit 1
load_checked(sys.argv[1])
done()
PY
done

# AUDIOPROF_FOLLOW_EXEC=0: the first image still writes (reason "exec"), leaf does not.
mkdir "$tmp/d"
env AUDIOPROF_FOLLOW_EXEC=0 AUDIOPROF_OUT="$tmp/d/p.%p.json" LD_PRELOAD="$PRELOAD" "$BIN/execer" "$BIN/leaf" 4 >"$tmp/out" 2>"$tmp/err"
rc=$?
[ $rc -eq 4 ] || { cat "$tmp/err"; fail "AUDIOPROF_FOLLOW_EXEC=0: exit status $rc, expected 4"; }
read -r _ pid <"$tmp/out" || fail "leaf printed no pid"
ls "$tmp/d"
[ -f "$tmp/d/p.$pid.json" ] || fail "AUDIOPROF_FOLLOW_EXEC=0: the first image wrote no profile"
[ "$(ls "$tmp/d" | wc -l)" -eq 1 ] || fail "AUDIOPROF_FOLLOW_EXEC=0: the exec'd image wrote a profile"
check_py "$tmp/d/p.$pid.json" <<'PY' || exit 1
p = load_checked(sys.argv[1])
eq("reason", reason(p), "exec")
expect_pp(p, "pre_exec", tb=200, tbk=4, eb=200)
done()
PY
echo "ok"
