#!/usr/bin/env bash
# t_threads.sh - 4 threads allocate, realloc and free blocks that other threads
# allocated (tests/progs/threads.c): exact tb/tbk per site (the program prints the
# expected values), eb == 0 at exit, totals == sums (sum of gb == max_b), gb <= mb.
# With the stack cache and without, with a 20 ms snapshot interval so the writer thread
# reads the tables while the workers churn, and each of those 3 times over (races in the
# peak accounting show up only now and then).
. "$(dirname "$0")/lib/common.sh"
need_preload
build_prog threads peakrace
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
ok(ap.get("threads", 0) >= 5, "audioprof.threads: expected >= 5 (main + 4 workers), got %r"
   % ap.get("threads"))
if ap.get("threads") != 5:
    info("note: audioprof.threads = %r (main + 4 workers = 5)" % ap.get("threads"))
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
echo "ok"
