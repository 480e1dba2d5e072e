#!/usr/bin/env bash
# t_jack.sh - JACK callbacks under the preload, against a private jackd (dummy backend,
# 48 kHz, 512 frames: deadline 10666666 ns):
#   - jack_simple_client and jack_metro (jackd2's example clients), ~2 s each, stopped
#     with SIGTERM: callbacks counted (a broad lower bound, never a timing), the
#     server's deadline, no allocation or free inside the callback;
#   - tests/progs/audio/jack_allocs.c, linked with -ljack and again loading libjack with
#     dlopen + dlsym: exact callback counts, the exact allocations inside the callback
#     (malloc, strdup, realloc, free; violations and the source's allocs) and none of
#     those outside it; a 30 ms callback is an overrun; the program's own xrun callback
#     still runs and the source's xruns equal what it saw;
#   - jack_vector.cc: std::vector growth (operator new) inside the callback;
#   - jack_thread.c: jack_set_process_thread (jack_cycle_wait .. jack_cycle_signal);
#   - jack_zombie at 64 frames (jack_bufsize): its 1 s sleep in callback 1001 is an
#     overrun, its sleep() and its printf (puts) are violations in the callback.
# Skips when jackd or the JACK headers are missing.
. "$(dirname "$0")/lib/common.sh"
. "$ILIB/jackd.sh"
need_preload
make_tmp
command -v jackd >/dev/null 2>&1 || skip "jackd not installed (Debian package jackd2)"
[ -f /usr/include/jack/jack.h ] || skip "JACK headers missing (libjack-jackd2-dev)"
for p in jack_simple_client jack_metro jack_zombie jack_bufsize; do
	command -v $p >/dev/null 2>&1 || skip "$p not installed (jackd2's example clients)"
done

build_audio_prog jack_allocs jack_allocs.c -ljack
build_audio_prog jack_allocs_dl jack_allocs.c -DUSE_DLOPEN $PROG_LIBS
build_audio_prog jack_vector jack_vector.cc -ljack
build_audio_prog jack_thread jack_thread.c -ljack
start_jackd 512

# run_bg NAME CMD...: CMD in the background under the preload, profile in $tmp/NAME/.
run_bg() {
	local name=$1
	shift
	mkdir -p "$tmp/$name"
	env AUDIOPROF_OUT="$tmp/$name/p.%p.json" LD_PRELOAD="$PRELOAD" "$@" \
		>"$tmp/$name.out" 2>"$tmp/$name.err" </dev/null &
	bg_pid=$!
}

# stop_bg NAME: SIGTERM, wait (bounded), the profile must be there.
stop_bg() {
	kill -TERM "$bg_pid" 2>/dev/null
	for _ in $(seq 1 50); do kill -0 "$bg_pid" 2>/dev/null || break; sleep 0.1; done
	kill -0 "$bg_pid" 2>/dev/null && { kill -9 "$bg_pid"; fail "$1 did not stop on SIGTERM"; }
	wait "$bg_pid" 2>/dev/null
}

# run_fg (lib/common.sh), then what the program printed.
run_fg_note() {
	run_fg "$@"
	note "$1: $(cat "$tmp/$1.out")"
}

# ------------------------------------------------------------------ example clients
for c in simple:jack_simple_client metro:"jack_metro -b 120"; do
	name=${c%%:*}
	run_bg "$name" ${c#*:}
	sleep 2
	stop_bg "$name"
	f=$(one_profile "$tmp/$name") || exit 1
	check_py "$f" "$name" <<'PY' || { cat "$tmp/$name.err"; exit 1; }
from audiochk import *
p = load_audio(sys.argv[1])
s = one_source(p, "jack", "jack_simple_client" if sys.argv[2] == "simple" else "metro")
expect_source(s, deadline_ns=10666666, rate=48000, frames=512, allocs=0, frees=0, alloc_bytes=0)
ok(s.get("count", 0) >= 50, "%s: only %s callbacks in 2 s (expected at least 50)" % (sys.argv[2], s.get("count")))
eq("violations of kind alloc/free in the callback",
   [v for v in source_violations(p, s) if v.get("kind") in ("alloc", "free")], [])
info("%s: %d callbacks, mean %d ns, max %d ns" % (sys.argv[2], s.get("count", 0), s.get("mean_ns", 0), s.get("max_ns", 0)))
done()
PY
done

# ------------------------------------------------------------------ purpose-built clients
check_allocs() { # FILE CALLBACKS XRUNS
	check_py "$@" <<'PY'
from audiochk import *
p = load_audio(sys.argv[1])
n, x = int(sys.argv[2]), int(sys.argv[3])
s = one_source(p, "jack", "apalloc")
expect_source(s, count=n, deadline_ns=10666666, allocs=30, frees=20, alloc_bytes=3060, xruns=x)
ok(s.get("overruns", 0) >= 1 and s.get("max_ns", 0) > 10666666,
   "the 30 ms callback is not an overrun: overruns %s max_ns %s" % (s.get("overruns"), s.get("max_ns")))
expect_jack_allocs(p, s)
no_violations_with(p, "out_before")
no_violations_with(p, "out_after")
done()
PY
}

for v in jack_allocs jack_allocs_dl; do
	run_fg_note "$v" "$tmp/bin/$v" apalloc
	read -r _ n _ x _ <"$tmp/$v.out"
	f=$(one_profile "$tmp/$v") || exit 1
	check_allocs "$f" "$n" "$x" || exit 1
done

run_fg_note vector "$tmp/bin/jack_vector" apvector
read -r _ n <"$tmp/vector.out"
f=$(one_profile "$tmp/vector") || exit 1
check_py "$f" "$n" <<'PY' || exit 1
from audiochk import *
p = load_audio(sys.argv[1])
s = one_source(p, "jack", "apvector")
# 6 callbacks x (capacity 1, 2, 4, 8 ints): 24 blocks, 6 x 60 bytes, all freed.
expect_source(s, count=int(sys.argv[2]), allocs=24, frees=24, alloc_bytes=360)
expect_violations(p, s, [
    ("alloc", "malloc", 24, 360, "grow"),
    ("free", "free", 18, 0, "grow"),
    ("free", "free", 6, 0, "grow"),
])
ok(all(any(is_operator_new(f) for f in v_funcs(p, v)) for v in source_violations(p, s)
       if v.get("kind") == "alloc"), "the callback's allocations do not go through operator new")
expect_cb_pp(p, "grow", 24, 360)
expect_cb_pp(p, "outside", 0, 0)
done()
PY

run_fg_note thread "$tmp/bin/jack_thread" apthread
read -r _ n <"$tmp/thread.out"
f=$(one_profile "$tmp/thread") || exit 1
check_py "$f" "$n" <<'PY' || exit 1
from audiochk import *
p = load_audio(sys.argv[1])
s = one_source(p, "jack", "apthread")
expect_source(s, count=int(sys.argv[2]), deadline_ns=10666666, allocs=14, frees=14, alloc_bytes=616)
expect_violations(p, s, [
    ("alloc", "calloc", 7, 448, "cy_alloc"),
    ("alloc", "malloc", 7, 168, "cy_alloc"),
    ("free", "free", 7, 0, "cy_alloc"),
    ("free", "free", 7, 0, "cy_alloc"),
])
expect_pp(p, "out_thread", tbk=4, tb=1332, cbk=0, cbb=0)
done()
PY

# ------------------------------------------------------------------ jack_zombie
# Callback 1001 prints and sleeps 1 s. At 64 frames that is 1.3 s in; snapshots every
# 200 ms show when the overrun is recorded, then SIGTERM (the program never exits itself).
jack_bufsize 64 >"$tmp/bufsize.out" 2>&1 || { cat "$tmp/bufsize.out"; fail "jack_bufsize 64"; }
mkdir -p "$tmp/zombie"
env AUDIOPROF_INTERVAL=200ms AUDIOPROF_OUT="$tmp/zombie/p.json" LD_PRELOAD="$PRELOAD" \
	jack_zombie >"$tmp/zombie.out" 2>"$tmp/zombie.err" </dev/null &
bg_pid=$!
seen=0
for _ in $(seq 1 150); do
	if python3 - "$tmp/zombie/p.json" 2>/dev/null <<'PY'
import json, sys
p = json.load(open(sys.argv[1]))
sys.exit(0 if any(s.get("overruns", 0) >= 1 for s in p["audioprof"]["callbacks"]) else 1)
PY
	then seen=1; break; fi
	kill -0 "$bg_pid" 2>/dev/null || break
	sleep 0.2
done
stop_bg zombie
[ $seen = 1 ] || { cat "$tmp/zombie.err"; fail "jack_zombie: no overrun recorded in 30 s"; }
check_py "$tmp/zombie/p.json" <<'PY' || exit 1
from audiochk import *
p = load_audio(sys.argv[1])
s = one_source(p, "jack", "zombie")
expect_source(s, deadline_ns=1333333, allocs=0)
ok(s.get("count", 0) >= 1001, "zombie: %s callbacks, expected at least 1001" % s.get("count"))
ok(s.get("overruns", 0) >= 1 and s.get("max_ns", 0) >= 900000000,
   "zombie: overruns %s, max_ns %s (expected the 1 s sleep)" % (s.get("overruns"), s.get("max_ns")))
vs = source_violations(p, s)
sleeps = [v for v in vs if v.get("kind") == "sleep" and v.get("call") in ("sleep", "nanosleep", "clock_nanosleep")]
prints = [v for v in vs if v.get("kind") == "io" and v.get("call") in ("puts", "printf", "__printf_chk")]
eq("zombie: sleep violations (count)", sum(v.get("count", 0) for v in sleeps), 1)
eq("zombie: printf/puts violations (count)", sum(v.get("count", 0) for v in prints), 1)
ok(s.get("rt_unsafe", 0) >= 2, "zombie: rt_unsafe %s, expected >= 2" % s.get("rt_unsafe"))
info("zombie: %d callbacks, max %d ns, %d overrun(s), %d xrun(s)" % (
    s.get("count", 0), s.get("max_ns", 0), s.get("overruns", 0), s.get("xruns", 0)))
done()
PY
echo "PASS"
