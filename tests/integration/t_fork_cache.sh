#!/usr/bin/env bash
# t_fork_cache.sh - what fork() copies of the profiler's tables grows little with the
# program's threads and sites. tests/progs/forkcache.c has 1 or 9 threads, all alive at
# the fork, each of which allocated at the same 128 (or 1024) stacks, and reads in the
# child how much anonymous memory the child started with: the parent's pages whose
# entries the kernel copied (and write-protected in the parent).
# Threads: no thread's stack-cache table is copied (preload/engine/runtime.c: each
# thread's 2 MB table, of which every distinct stack touches a line, is wiped on fork;
# the forking thread's cache starts empty in the child). What 8 more threads add under
# the preload, beyond what they add natively (their stacks, their malloc arenas), stays
# under 96 kB a thread: a thread's state and its frame-shape cache (32 KB). With its
# table copied, each thread added some 170 kB.
# Sites: the first 8,192 sites are chained from a table of 32 KB (preload/engine/sites.c),
# not from one of 1 MB where each site touched a page of its own. 896 more sites add
# under 850 bytes a site: the site itself (its counters, its frames) and little else.
# With the large table alone they added some 1,100 bytes a site.
# The parent's profile stays exact. The measured runs have a symbol cache that a first run filled, so
# that the symbolizer loads no debug information (into its malloc arena) meanwhile.
. "$(dirname "$0")/lib/common.sh"
need_preload
build_prog forkcache
make_tmp

native() {
	"$BIN/forkcache" "$1" >"$tmp/n$1.out" 2>"$tmp/n$1.err" ||
		{ cat "$tmp/n$1.err"; fail "forkcache $1 failed natively"; }
	sed -n 's/^child_anon_kb=//p' "$tmp/n$1.out"
}
n1=$(native 1) n9=$(native 9)
[ -n "$n1" ] && [ -n "$n9" ] || fail "no child_anon_kb line natively"
export AUDIOPROF_SYMCACHE="$tmp/cache"
RUN_FG_TIMEOUT=30 run_fg warmup "$BIN/forkcache" 9
RUN_FG_TIMEOUT=30 run_fg ap1 "$BIN/forkcache" 1
RUN_FG_TIMEOUT=30 run_fg ap9 "$BIN/forkcache" 9
a1=$(sed -n 's/^child_anon_kb=//p' "$tmp/ap1.out")
a9=$(sed -n 's/^child_anon_kb=//p' "$tmp/ap9.out")
[ -n "$a1" ] && [ -n "$a9" ] || fail "no child_anon_kb line under the preload"
per=$(( ((a9 - a1) - (n9 - n1)) / 8 ))
note "a fork child's anonymous memory: natively $n1 kB (1 thread), $n9 kB (9 threads);" \
	"under the preload $a1 kB, $a9 kB: $per kB more a thread than natively"
[ "$per" -lt 96 ] || fail "each thread added $per kB more to what fork() copies than natively"
RUN_FG_TIMEOUT=30 run_fg warmup10 "$BIN/forkcache" 1 10
RUN_FG_TIMEOUT=30 run_fg ap10 "$BIN/forkcache" 1 10
n10=$("$BIN/forkcache" 1 10 | sed -n 's/^child_anon_kb=//p')
a10=$(sed -n 's/^child_anon_kb=//p' "$tmp/ap10.out")
[ -n "$n10" ] && [ -n "$a10" ] || fail "no child_anon_kb line with 1024 stacks"
per_site=$(( ((a10 - a1) - (n10 - n1)) * 1024 / 896 ))
note "with 1024 stacks instead of 128: natively $n10 kB, under the preload $a10 kB:" \
	"$per_site bytes more a site than natively"
[ "$per_site" -lt 850 ] || fail "each site added $per_site bytes to what fork() copies"
n=$(ls "$tmp/ap9" | wc -l)
[ "$n" = 2 ] || { ls "$tmp/ap9"; fail "$n profiles, expected 2 (parent and child)"; }
check_py "$tmp/ap9" <<'PY' || exit 1
import glob, os
profs = [load_checked(f) for f in glob.glob(os.path.join(sys.argv[1], "p.*.json"))]
par = [p for p in profs if pps_with(p, "cache_site")]
eq("profiles with cache_site (the parent's only)", len(par), 1)
if par:
    pps = pps_with(par[0], "cache_site")
    eq("cache_site's distinct stacks", len(pps), 128)
    eq("cache_site's blocks (9 threads, 2 rounds, 128 stacks)", sum(pp["tbk"] for pp in pps), 9 * 2 * 128)
    eq("cache_site's bytes", sum(pp["tb"] for pp in pps), 40 * 9 * 2 * 128)
    eq("cache_site's blocks live at exit", sum(pp["ebk"] for pp in pps), 0)
done()
PY
echo "ok"
