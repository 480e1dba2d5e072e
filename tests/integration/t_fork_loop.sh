#!/usr/bin/env bash
# t_fork_loop.sh - fork() is never held up by the profiler (tests/progs/forkloop.c): a
# program forks N times in a loop while it allocates, with snapshots every millisecond,
# and every child exits and writes its own profile. All N forks happen within the run
# and every profile is valid and exact: the parent's parent_site N x 200, each child's
# child_site 3 x 48 (one freed) and the parent's blocks it inherited, live (keep_site and
# 1..N of parent_site: each child has a different number, all of them once).
# Then the same while another thread holds the dynamic loader's lock inside dlopen
# (`forkloop N hold`): the profile writer then waits for that lock (symbolizing needs
# dlsym) in the middle of a write; natively fork() does not wait for it, and under the
# profiler it must not wait for the write (before, the fork handler took the writer's
# lock and the program hung there for good). Counts, not times: nothing here is timed
# except a generous timeout that turns a hang into a failure.
. "$(dirname "$0")/lib/common.sh"
need_preload
build_prog forkloop libforkhold
make_tmp

N=40
check_run() { # DIR N HOLD
	check_py "$@" <<'PY'
import glob, os
d, n, hold = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "hold"
files = sorted(glob.glob(os.path.join(d, "p.*.json")))
eq("profiles (the parent and every child)", len(files), n + 1)
profs = [load_checked(f, lifetimes=False) for f in files]
ppid_of = {p["pid"]: p["audioprof"]["ppid"] for p in profs}
par = [p for p in profs if ppid_of[p["pid"]] not in ppid_of]
eq("profiles whose parent wrote none (the parent itself)", len(par), 1)
par = par[0]
kids = [p for p in profs if p is not par]
eq("parent reason", reason(par), "exit")
expect_pp(par, "parent_site", tb=200 * n, tbk=n, eb=200 * n, ebk=n)
expect_pp(par, "keep_site", tb=1000, tbk=1, eb=1000, ebk=1)
expect_absent(par, "child_site")
if hold:
    expect_pp(par, "fresh_site", tb=64, tbk=1, eb=64, ebk=1)
inherited = []
for k in kids:
    eq("child ppid", k["audioprof"]["ppid"], par["pid"])
    eq("child reason", reason(k), "exit")
    expect_pp(k, "child_site", tb=144, tbk=3, mb=144, mbk=3, eb=96, ebk=2)
    expect_pp(k, "keep_site", eb=1000, ebk=1)
    if hold:
        expect_pp(k, "fresh_site", eb=64, ebk=1)
    pp = expect_pp(k, "parent_site")
    ok(pp is not None and pp["eb"] == 200 * pp["ebk"], "child %d: parent_site eb %s for %s blocks" %
       (k["pid"], pp and pp["eb"], pp and pp["ebk"]))
    inherited.append(pp["ebk"] if pp else -1)
eq("blocks of parent_site the children inherited", sorted(inherited), list(range(1, n + 1)))
done()
PY
}

for mode in plain hold; do
	mkdir "$tmp/$mode"
	arg=; [ $mode = hold ] && arg=hold
	timeout 30 env AUDIOPROF_INTERVAL=1ms AUDIOPROF_OUT="$tmp/$mode/p.%p.json" \
		LD_PRELOAD="$PRELOAD" "$BIN/forkloop" $N $arg >"$tmp/out" 2>"$tmp/err"
	rc=$?
	[ $rc -eq 124 ] && fail "$mode: forkloop $N $arg hung (killed after 30 s): $(ls "$tmp/$mode" | grep -c json) profiles"
	[ $rc -eq 0 ] || { cat "$tmp/err"; fail "$mode: forkloop exited $rc"; }
	[ -s "$tmp/err" ] && { cat "$tmp/err"; fail "$mode: stderr not empty"; }
	[ "$(cat "$tmp/out")" = "forks $N children_ok $N" ] || fail "$mode: stdout '$(cat "$tmp/out")'"
	check_run "$tmp/$mode" $N $mode || exit 1
	echo "$mode: $N forks, $((N + 1)) exact profiles"
done
echo "ok"
