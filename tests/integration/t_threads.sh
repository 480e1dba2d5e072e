#!/usr/bin/env bash
# t_threads.sh - 4 threads allocate, realloc and free blocks that other threads
# allocated (tests/progs/threads.c): exact tb/tbk per site (the program prints the
# expected values), eb == 0 at exit, totals == sums (sum of gb == max_b), gb <= mb.
# With the stack cache and without, with a 20 ms snapshot interval so the writer thread
# reads the tables while the workers churn, and each of those 3 times over (races in the
# peak accounting show up only now and then). audioprof.threads is exactly 5; and 13 for
# tests/progs/threadseq.c, 12 threads one after another (states reused).
. "$(dirname "$0")/lib/common.sh"
need_preload
build_prog threads peakrace threadseq
make_tmp

n=0
for opts in "AUDIOPROF_STACK_CACHE=1" "AUDIOPROF_STACK_CACHE=0" "AUDIOPROF_INTERVAL=20ms" \
	    "AUDIOPROF_STACK_CACHE=1" "AUDIOPROF_STACK_CACHE=0" "AUDIOPROF_INTERVAL=20ms" \
	    "AUDIOPROF_STACK_CACHE=1" "AUDIOPROF_STACK_CACHE=0" "AUDIOPROF_INTERVAL=20ms"; do
	n=$((n + 1))
	mkdir "$tmp/r$n"
	env $opts AUDIOPROF_OUT="$tmp/r$n/p.%p.json" LD_PRELOAD="$PRELOAD" "$BIN/threads" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	[ $rc -eq 0 ] || { cat "$tmp/err"; fail "threads exited $rc ($opts)"; }
	[ -s "$tmp/err" ] && { cat "$tmp/err"; fail "stderr not empty ($opts)"; }
	"$BIN/threads" >"$tmp/native"
	cmp -s "$tmp/out" "$tmp/native" || { diff "$tmp/native" "$tmp/out"; fail "stdout differs ($opts)"; }
	f=$(one_profile "$tmp/r$n") || exit 1
	echo "$opts: $f"
	check_py "$f" "$tmp/out" <<'PY' || exit 1
p = load_checked(sys.argv[1])
want = {}
for line in open(sys.argv[2]):
    site, k, b = line.split()
    want[site] = (int(k), int(b))
ap = p.get("audioprof", {})
eq("audioprof.reason", ap.get("reason"), "exit")
# Distinct threads that allocated: main and the 4 workers, also when a worker exits
# before another's first allocation (its state is then reused) under load.
eq("audioprof.threads (main + 4 workers)", ap.get("threads"), 5)
for site, (k, b) in want.items():
    first = {"t_alloc": "malloc", "t_realloc": "realloc", "q_init": "malloc"}[site]
    pp = expect_pp(p, site, tbk=k, tb=b, eb=0, ebk=0)
    expect_chain(p, pp, first, site)
    if pp:
        ok(pp["mbk"] <= k, "%s: mbk %d > tbk" % (site, pp["mbk"]))
# Live blocks are bounded by the queue (64) + one in flight per thread and per site.
pp = pp_with(p, "t_alloc")
if pp:
    ok(pp["mbk"] <= 64 + 4 + 4, "t_alloc: mbk %d larger than possible (<= 72)" % pp["mbk"])
done()
PY
done

# Two threads raising the global peak at one site at the same time, 10 times over:
# gb <= mb and gbk <= mbk whatever order the concurrent events were put in.
mkdir "$tmp/race"
for i in 1 2 3 4 5 6 7 8 9 10; do
	env AUDIOPROF_OUT="$tmp/race/p.%p.json" LD_PRELOAD="$PRELOAD" "$BIN/peakrace" 20000 >"$tmp/race.out" 2>"$tmp/err" ||
		{ cat "$tmp/err"; fail "peakrace failed"; }
done
check_py "$tmp/race.out" "$tmp"/race/*.json <<'PY' || exit 1
site, k, b = open(sys.argv[1]).read().split()
for f in sys.argv[2:]:
    p = load_checked(f)
    expect_pp(p, site, tbk=int(k), tb=int(b), eb=0, ebk=0)
done()
PY
echo "peakrace: 10 runs checked"

# Threads that allocate one after another (each joined before the next starts): the
# profiler reuses the exited thread's state, and each is still one more thread. With a
# snapshot interval too (the writer thread never counts).
for opts in "AUDIOPROF_STACK_CACHE=1" "AUDIOPROF_INTERVAL=1ms"; do
	mkdir -p "$tmp/seq"; rm -f "$tmp"/seq/*.json
	env $opts AUDIOPROF_OUT="$tmp/seq/p.%p.json" LD_PRELOAD="$PRELOAD" "$BIN/threadseq" 12 >"$tmp/seq.out" 2>"$tmp/err" ||
		{ cat "$tmp/err"; fail "threadseq failed ($opts)"; }
	f=$(one_profile "$tmp/seq") || exit 1
	check_py "$f" "$tmp/seq.out" <<'PY' || exit 1
p = load_checked(sys.argv[1])
n = int(open(sys.argv[2]).read())
eq("threadseq: audioprof.threads (main + 12 threads, one at a time)", p["audioprof"].get("threads"), n)
expect_pp(p, "s_seq", tbk=n - 1, tb=48 * (n - 1), eb=0, ebk=0)
expect_pp(p, "s_main", tbk=1, tb=32, eb=0, ebk=0)
done()
PY
done
echo "threadseq: 13 threads counted"
echo "ok"
