#!/usr/bin/env bash
# t_sigstorm.sh - nothing a signal handler allocates is silently dropped
# (tests/progs/sigstorm.c): two timers fire SIGALRM and SIGUSR1 every 50 us at a thread
# that allocates in a loop, and the handlers (which may nest, and land in the
# profiler's own code as often as anywhere) allocate and free blocks of known sizes
# and count their runs. The profile holds exactly the blocks and bytes the program
# counted itself, in total and for each of its allocating functions, nothing is live
# at exit, and signal_lost is 0. Before, the handlers' allocations that interrupted
# the profiler went unrecorded (about 2 % of them here). The program also checks that
# sigaction() and signal() read back the handlers it installed, and the run behaves
# as natively (exit status, no output on stderr); tests/progs/sigread.c reads back
# handlers installed every way, as natively.
. "$(dirname "$0")/lib/common.sh"
need_preload
build_prog sigstorm sigread
make_tmp

# What sigaction() and signal() read back is what the program installed, step by step
# (a handler of the program's, one reset by SA_RESETHAND, SIG_IGN, SIG_DFL on SIGTERM
# with a mask and flags of its own).
same_behaviour "$tmp/read" "$BIN/sigread" || fail "sigread: sigaction reads back differently"

CALLS=5000
"$BIN/sigstorm" $CALLS >"$tmp/native.out" 2>"$tmp/native.err" || fail "natively: sigstorm exited $?"
[ -s "$tmp/native.err" ] && { cat "$tmp/native.err"; fail "natively: stderr not empty"; }
env AUDIOPROF_OUT="$tmp/p.json" LD_PRELOAD="$PRELOAD" "$BIN/sigstorm" $CALLS >"$tmp/out" 2>"$tmp/err"
rc=$?
[ $rc -eq 0 ] || { cat "$tmp/err"; fail "sigstorm exited $rc under the preload"; }
[ -s "$tmp/err" ] && { cat "$tmp/err"; fail "stderr not empty"; }
cat "$tmp/out"
read -r _ main _ alrm _ usr _ blocks _ bytes <"$tmp/out" || fail "no counts on stdout"

check_py "$tmp/p.json" "$main" "$alrm" "$usr" "$blocks" "$bytes" <<'PY' || exit 1
p = load_checked(sys.argv[1])
main, alrm, usr, blocks, nbytes = (int(x) for x in sys.argv[2:7])
t = p["audioprof"]["totals"]
eq("totals.total_k (blocks the program counted)", t["total_k"], blocks)
eq("totals.total_b (bytes the program counted)", t["total_b"], nbytes)
eq("totals.curr_k", t["curr_k"], 0)
eq("totals.frees", t["frees"], blocks)
eq("audioprof.signal_lost", p["audioprof"].get("signal_lost"), 0)
# Each allocating function (the caller of malloc, frame 1: a handler's stack may also
# hold the frames it interrupted): its pps, with full stacks or ending in the profiler's
# marker frame where it was interrupted, add up to the program's count.
want = {"main_site": (main, 1500), "warm_site": (12, None),
        "alrm_a": (alrm, 40), "alrm_b": (alrm, 72), "alrm_c": (alrm, 136),
        "usr_a": (usr, 200), "usr_b": (usr, 264), "usr_c": (usr, 328)}
got = {name: [0, 0] for name in want}
interrupted = 0
for pp in p["pps"]:
    f = funcs(p, pp)
    caller = f[1] if len(f) > 1 else None
    ok(caller in want, "a pp allocated by %r: %s" % (caller, describe(p, pp)))
    if caller in want:
        got[caller][0] += pp["tbk"]
        got[caller][1] += pp["tb"]
    if "interrupted the profiler" in p["ftbl"][pp["fs"][-1]]:
        interrupted += pp["tbk"]
        eq("frames of a site interrupted in " + str(caller), len(f), 3)
for name, (n, size) in want.items():
    eq(name + " blocks", got[name][0], n)
    if size is not None:
        eq(name + " bytes", got[name][1], n * size)
info("%d handler blocks were allocated while the profiler was interrupted" % interrupted)
done()
PY
echo "ok"
