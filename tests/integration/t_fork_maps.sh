#!/usr/bin/env bash
# t_fork_maps.sh - the profiler's own tables add no mapping per thread
# (preload/engine/forkmem.c): fork() copies every mapping of the parent one by one, so
# the tables (each thread's state and per-site sums among them) come from one
# reservation whose neighbouring tables merge. Eight threads that allocate add as many
# mappings to the process under the preload as natively (their stacks and heaps; each
# used to add two or three more of the profiler's: tests/progs/threadmaps.c counts the
# lines of /proc/self/maps once the profiler's two threads run), and their allocations
# are counted exactly. The measured run has a symbol cache that a first run filled, so
# that no library is loaded (libdw's) and no debug file mapped while it counts.
. "$(dirname "$0")/lib/common.sh"
need_preload
build_prog threadmaps
make_tmp

"$BIN/threadmaps" 0 >"$tmp/native.out" 2>"$tmp/native.err" || { cat "$tmp/native.err"; fail "threadmaps failed natively"; }
native=$(sed -n 's/^growth=//p' "$tmp/native.out")
[ -n "$native" ] || fail "no growth line natively"
# The profiler's threads: the writer and the symbolizer.
export AUDIOPROF_SYMCACHE="$tmp/cache"
RUN_FG_TIMEOUT=30 run_fg warmup "$BIN/threadmaps" 2
RUN_FG_TIMEOUT=30 run_fg ap "$BIN/threadmaps" 2
ap=$(sed -n 's/^growth=//p' "$tmp/ap.out")
n=$(ls "$tmp/ap" | wc -l)
[ "$n" = 1 ] || { ls "$tmp/ap"; fail "$n profiles, expected 1"; }
note "mappings added by 8 threads: natively $native, under the preload $ap"
[ "$ap" = "$native" ] || fail "8 threads added $ap mappings under the preload, $native natively"
check_py "$tmp/ap" <<'PY' || exit 1
import glob, os
p = load_checked(glob.glob(os.path.join(sys.argv[1], "p.*.json"))[0])
expect_pp(p, "thread_site", tb=384, tbk=8, eb=384, ebk=8)
expect_pp(p, "main_site", tb=64, tbk=1, eb=64, ebk=1)
done()
PY
echo "ok"
