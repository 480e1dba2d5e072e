#!/usr/bin/env bash
# t_getattr_first.sh - no deadlock inside the program's own libc calls: a thread whose
# first allocation happens inside its own pthread_getattr_np(pthread_self()) (glibc
# holds the thread's lock there while it fopens /proc/self/maps or reallocs a cpuset).
# The profiler used to ask for the thread's attributes on its first tracked allocation
# and waited on itself. tests/progs/getattr_first.c does it on the main thread first
# thing in main, in a new thread first thing, both, and in a C11 thread (thrd_create,
# which glibc starts through its own pthread_create, past the wrapper of that name).
# Each run has a timeout, so a hang fails here instead of stalling the suite. Then: stdout, stderr and exit status as
# natively; the exact 1000 blocks of 100 bytes each thread makes after the call; and
# the stack cache working in those threads (their stack bounds were found without the
# call on the allocation path): at least 999 hits per thread at its site; and the new
# thread's stack as natively (thread_main right below start_thread: the profiler's
# start trampoline leaves no frame).
. "$(dirname "$0")/lib/common.sh"
need_preload
build_prog getattr_first
make_tmp

for mode in main thread both c11; do
	timeout 10 "$BIN/getattr_first" $mode >"$tmp/native.$mode.out" 2>"$tmp/native.$mode.err" </dev/null
	nrc=$?
	[ $nrc -eq 0 ] || { cat "$tmp/native.$mode.err"; fail "getattr_first $mode natively: exit $nrc"; }
	mkdir -p "$tmp/$mode"
	timeout -k 2 30 env AUDIOPROF_OUT="$tmp/$mode/p.%p.json" LD_PRELOAD="$PRELOAD" \
		"$BIN/getattr_first" $mode >"$tmp/pre.$mode.out" 2>"$tmp/pre.$mode.err" </dev/null
	rc=$?
	[ $rc -ne 124 ] && [ $rc -ne 137 ] || fail "getattr_first $mode: hung under the preload (killed after 30 s)"
	[ $rc -eq $nrc ] || { cat "$tmp/pre.$mode.err"; fail "getattr_first $mode: exit $rc, natively $nrc"; }
	cmp -s "$tmp/native.$mode.out" "$tmp/pre.$mode.out" ||
		{ diff "$tmp/native.$mode.out" "$tmp/pre.$mode.out"; fail "getattr_first $mode: stdout differs"; }
	cmp -s "$tmp/native.$mode.err" "$tmp/pre.$mode.err" ||
		{ diff "$tmp/native.$mode.err" "$tmp/pre.$mode.err"; fail "getattr_first $mode: stderr differs"; }
	f=$(one_profile "$tmp/$mode") || exit 1
	check_py "$f" $mode <<'PY' || exit 1
p = load_checked(sys.argv[1])
mode = sys.argv[2]
sites = {"main": ["after_getattr_main"], "thread": ["after_getattr_thread"],
         "both": ["after_getattr_main", "after_getattr_thread"],
         "c11": ["after_getattr_c11"]}[mode]
for site in sites:
    pp = expect_pp(p, site, tbk=1000, tb=100000, eb=0, ebk=0)
    if pp is not None and site == "after_getattr_thread":
        # The start trampoline of the pthread_create wrapper leaves no frame.
        fn = funcs(p, pp)
        i = fn.index("thread_main") if "thread_main" in fn else -1
        ok(0 < i < len(fn) - 1 and fn[i + 1] == "start_thread",
           "thread: expected start_thread right after thread_main, frames: %s" % fn)
    if pp is not None and site == "after_getattr_c11":
        fn = funcs(p, pp)
        i = fn.index("c11_main") if "c11_main" in fn else -1
        ok(0 < i < len(fn) - 1 and fn[i + 1] == "start_thread",
           "c11: expected start_thread right after c11_main, frames: %s" % fn)
sc = p.get("audioprof", {}).get("stack_cache", {})
ok(sc.get("hits", 0) >= 999 * len(sites),
   "%s: stack cache hits %r, expected >= %d (999 per thread at its site): the thread's "
   "stack bounds are unknown" % (mode, sc.get("hits"), 999 * len(sites)))
info("%s: stack cache %s" % (mode, sc))
done()
PY
	note "getattr_first $mode: no hang, same output, exact counts"
done
echo "PASS"
