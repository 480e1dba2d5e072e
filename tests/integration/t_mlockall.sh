#!/usr/bin/env bash
# t_mlockall.sh - a program that locks its memory (mlockall(MCL_CURRENT | MCL_FUTURE),
# as real-time audio programs do at start) gets the same result under the preload as
# natively, its own memory locked and the profiler's tables not (tests/progs/mlockall.c):
#  - as root: mlockall succeeds (errno untouched); the program's code, data, heap and stack are locked, a
#    mapping made afterwards is resident and locked, a thread starts and allocates,
#    munlockall leaves nothing locked (stdout identical to the native run's); the locked
#    pages in memory and VmRSS stay within 32 MB of native. The profiler's sparse tables
#    (80 MB per thread, 9 MB of CPU samples, the site tables) would be hundreds of MB;
#    what remains is its small state in use (libaudioprof.so's and its libraries' pages,
#    the few table pages written, its threads' heap);
#  - as user nobody with RLIMIT_MEMLOCK 8 MB: mlockall succeeds as natively (the kernel
#    compares the whole address space with the limit, and the profiler's 64 GB reservation
#    must not count), and everything the program prints is the same;
#  - as root with MCL_ONFAULT too: the later mapping is locked but not filled, as natively;
#  - as nobody with RLIMIT_MEMLOCK 1 MB, less than the program: ENOMEM as natively;
#    with RLIMIT_MEMLOCK 0: EPERM as natively;
#  - every run: flags the kernel refuses (none, MCL_ONFAULT alone, an unknown bit) give
#    EINVAL as natively.
# Each profile is exact: site_before 10 x 1000 bytes, site_thread 20 x 500.
. "$(dirname "$0")/lib/common.sh"
need_preload
build_prog mlockall
make_tmp
P=$BIN/mlockall
chmod 755 "$tmp"

# run_case LABEL [WRAPPER...]: the program natively and under the preload, through
# WRAPPER (a user switch), in $tmp/LABEL (writable by anyone); stdout must be identical.
run_case() {
	local label=$1 d=$tmp/$1 nrc prc
	shift
	mkdir "$d" && chmod 777 "$d"
	"$@" env "$P" "$d/native.fig" >"$d/native.out" 2>"$d/native.err"
	nrc=$?
	[ $nrc -eq 0 ] || { cat "$d/native.err"; fail "$label: mlockall exited $nrc natively"; }
	"$@" env AUDIOPROF_OUT="$d/p.json" LD_PRELOAD="$PRELOAD" "$P" "$d/pre.fig" \
		>"$d/pre.out" 2>"$d/pre.err"
	prc=$?
	[ $prc -eq 0 ] || { cat "$d/pre.err"; fail "$label: mlockall exited $prc under the preload"; }
	[ -s "$d/pre.err" ] && { cat "$d/pre.err"; fail "$label: stderr under the preload"; }
	cmp -s "$d/native.out" "$d/pre.out" ||
		{ diff "$d/native.out" "$d/pre.out"; fail "$label: the program saw a difference"; }
	note "$label: $(grep '^mlockall ' "$d/pre.out")"
	check_py "$d/p.json" <<'PY' || exit 1
p = load_checked(sys.argv[1])
expect_pp(p, "site_before", tb=10000, tbk=10, eb=10000, ebk=10)
expect_pp(p, "site_thread", tb=10000, tbk=20, eb=10000, ebk=20)
done()
PY
}

# ------------------------------------------------------------------ root
[ "$(id -u)" -eq 0 ] || skip "needs root (CAP_IPC_LOCK, and to switch to nobody)"
run_case root
for f in 0 0x4 0x40; do
	grep -qx "mlockall($f) -1 errno 22" "$tmp/root/pre.out" || fail "root: mlockall($f) is not EINVAL"
done
grep -qx 'mlockall 0 errno 4242' "$tmp/root/pre.out" || fail "root: $(grep '^mlockall ' "$tmp/root/pre.out")"
grep -qx 'locked: code 1 data 1 heap 1 stack 1' "$tmp/root/pre.out" ||
	fail "root: the program's memory is not all locked: $(grep '^locked' "$tmp/root/pre.out")"
grep -qx 'new mapping: resident pages 16 locked 1' "$tmp/root/pre.out" ||
	fail "root: a later mapping: $(grep '^new' "$tmp/root/pre.out")"
grep -qx 'munlockall 0 vmlck 0' "$tmp/root/pre.out" ||
	fail "root: after munlockall: $(tail -1 "$tmp/root/pre.out")"
check_py "$tmp/root/native.fig" "$tmp/root/pre.fig" <<'PY' || exit 1
def fig(path):
    return {w[0]: int(w[1]) for w in (l.split() for l in open(path)) if len(w) == 2}
n, p = fig(sys.argv[1]), fig(sys.argv[2])
for k in ("locked", "vmrss"):
    ok(0 < n[k] and 0 < p[k] <= n[k] + 32 * 1024,
       "%s: native %d kB, under the preload %d kB (bound: native + 32 MB)" % (k, n[k], p[k]))
info("locked in memory: native %d kB, preload %d kB; VmRSS: native %d kB, preload %d kB"
     % (n["locked"], p["locked"], n["vmrss"], p["vmrss"]))
done()
PY

run_case root_onfault env MLOCK_ONFAULT=1
grep -qx 'new mapping: resident pages 0 locked 1' "$tmp/root_onfault/pre.out" ||
	fail "root, MCL_ONFAULT: a later mapping: $(grep '^new' "$tmp/root_onfault/pre.out")"

# ------------------------------------------------------------------ nobody
setpriv --reuid=65534 --regid=65534 --clear-groups true 2>/dev/null ||
	skip "setpriv cannot switch to user nobody"
as_nobody() {   # as_nobody KB CMD...: CMD as nobody with RLIMIT_MEMLOCK KB kB
	local kb=$1
	shift
	bash -c 'ulimit -l "$1" && shift && exec setpriv --reuid=65534 --regid=65534 --clear-groups "$@"' \
		- "$kb" "$@"
}
run_case nobody8m as_nobody 8192
grep -qx 'mlockall 0 errno 4242' "$tmp/nobody8m/pre.out" ||
	fail "nobody, 8 MB: $(grep '^mlockall ' "$tmp/nobody8m/pre.out")"
run_case nobody1m as_nobody 1024
grep -qx 'mlockall -1 errno 12' "$tmp/nobody1m/pre.out" ||
	fail "nobody, 1 MB: $(grep '^mlockall ' "$tmp/nobody1m/pre.out")"
run_case nobody0 as_nobody 0
grep -qx 'mlockall -1 errno 1' "$tmp/nobody0/pre.out" ||
	fail "nobody, no locking: $(grep '^mlockall ' "$tmp/nobody0/pre.out")"
echo "ok"
