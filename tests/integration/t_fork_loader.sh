#!/usr/bin/env bash
# t_fork_loader.sh - a fork() while one of the profiler's own threads is inside
# dl_iterate_phdr does not hang the child (tests/progs/forkloader.c, libforkloader.so).
# glibc 2.36 does not reset the lock dl_iterate_phdr holds in a fork child: a child
# forked while a thread it does not have held it would wait for ever at its first
# dl_iterate_phdr (its exit profile reads the module list). libforkloader.so, preloaded
# after the profiler, makes the symbolizer thread's first dl_iterate_phdr ask the program
# to fork right then and waits for the fork (at most 1 s) with the lock held: the fork
# must wait until that call is over instead (the profiler's fork handler waits up to 5 s
# for it). Both profiles are written and exact. Nothing is timed except generous
# timeouts that turn a hang into a failure.
. "$(dirname "$0")/lib/common.sh"
need_preload
build_prog forkloader libforkloader
make_tmp

timeout 60 env AUDIOPROF_OUT="$tmp/p.%p.json" LD_PRELOAD="$PRELOAD $BIN/libforkloader.so" \
	"$BIN/forkloader" >"$tmp/out" 2>"$tmp/err"
rc=$?
[ $rc -eq 124 ] && fail "forkloader hung (killed after 60 s)"
[ $rc -eq 0 ] || { cat "$tmp/err"; fail "forkloader exited $rc"; }
[ -s "$tmp/err" ] && { cat "$tmp/err"; fail "stderr not empty"; }
[ "$(cat "$tmp/out")" = "forked child exited 0" ] || fail "stdout '$(cat "$tmp/out")'"

check_py "$tmp" <<'PY' || exit 1
import glob, os
files = sorted(glob.glob(os.path.join(sys.argv[1], "p.*.json")))
eq("profiles (the parent and the child)", len(files), 2)
profs = [load_checked(f, lifetimes=False) for f in files]
pids = [p["pid"] for p in profs]
kid = [p for p in profs if p["audioprof"]["ppid"] in pids]
eq("profiles whose parent wrote one (the child)", len(kid), 1)
kid = kid[0]
par = [p for p in profs if p is not kid][0]
eq("parent reason", reason(par), "exit")
eq("child reason", reason(kid), "exit")
expect_pp(par, "first_site", tb=500, tbk=1, eb=500, ebk=1)
expect_absent(par, "child_site")
expect_pp(kid, "child_site", tb=154, tbk=2, eb=154, ebk=2)
expect_pp(kid, "first_site", eb=500, ebk=1)
done()
PY
echo "ok"
