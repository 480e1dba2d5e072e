#!/usr/bin/env bash
# t_rtcheck.sh - real-time-unsafe calls other than allocation (preload/entry/rtcheck.c), with
# tests/progs/rtunsafe.c:
#  - every category (locks, condvars, semaphores, barrier, trylocks, sleeps, file, socket
#    and stdio I/O, poll/select/epoll, mmap, thread create/join, fork/system/popen) called
#    a known number of times from distinct functions inside a marked region: each is a
#    violation (trylocks a warning) with its exact count, kind and a stack naming the
#    function; the region's rt_unsafe count and the thread's audioprof counters agree;
#    the same calls outside the region record nothing; stdout (printf formatting
#    included), exit status, errno and open's mode are unchanged;
#  - the program links pthread_cond_wait@GLIBC_2.3.2: the unversioned wrapper catches it;
#  - AUDIOPROF_ON_VIOLATION=warn prints each site once with its stack, =abort dies of
#    SIGABRT at the first violation (not at a trylock) after printing it;
#  - AUDIOPROF_RT_THREADS: a thread named "audio-rt" is real-time for its whole run,
#    one named "worker" is not.
. "$(dirname "$0")/lib/common.sh"
need_preload
build_prog rtunsafe
make_tmp
P=$BIN/rtunsafe

readelf --dyn-syms -W "$P" | grep -q 'pthread_cond_wait@GLIBC_2\.3\.2' ||
	fail "rtunsafe does not reference pthread_cond_wait@GLIBC_2.3.2 (the case to test)"

# ------------------------------------------------------------------ every category
# check_all BINARY LABEL: the "all" run of one build of rtunsafe.
check_all() {
	local bin=$1 label=$2 rc pid f
	mkdir "$tmp/$label" "$tmp/$label.scratch"
	"$bin" all "$tmp/$label.scratch" >"$tmp/$label.native.out" 2>"$tmp/$label.native.err" ||
		{ cat "$tmp/$label.native.err"; fail "$label: native run failed"; }
	grep -qx "counts rt_unsafe 0 allocs 0" "$tmp/$label.native.err" ||
		{ cat "$tmp/$label.native.err"; fail "$label: without the preload the counters must stay 0"; }
	env AUDIOPROF_OUT="$tmp/$label/p.%n.%p.json" LD_PRELOAD="$PRELOAD" "$bin" all "$tmp/$label.scratch" \
		>"$tmp/$label.out" 2>"$tmp/$label.err"
	rc=$?
	[ $rc -eq 0 ] || { cat "$tmp/$label.err"; fail "$label: exited $rc under the preload"; }
	cmp -s "$tmp/$label.native.out" "$tmp/$label.out" ||
		{ diff "$tmp/$label.native.out" "$tmp/$label.out"; fail "$label: stdout differs"; }
	grep -q "audioprof:" "$tmp/$label.err" && { cat "$tmp/$label.err"; fail "$label: messages on stderr"; }
	pid=$(awk '$1 == "pid" { print $2 }' "$tmp/$label.err")
	f=$tmp/$label/p.$(basename "$bin").$pid.json
	[ -f "$f" ] || { ls "$tmp/$label"; fail "$label: no profile $f"; }
	echo "$label: $f"
	check_py "$f" "$tmp/$label.err" <<'PY' || exit 1
KINDS = {
    "lock": "pthread_mutex_lock pthread_mutex_timedlock pthread_rwlock_rdlock pthread_rwlock_wrlock "
            "pthread_rwlock_timedrdlock pthread_rwlock_timedwrlock pthread_cond_wait "
            "pthread_cond_timedwait pthread_spin_lock sem_wait sem_timedwait pthread_barrier_wait",
    "trylock": "pthread_mutex_trylock pthread_rwlock_tryrdlock pthread_rwlock_trywrlock "
               "pthread_spin_trylock sem_trywait",
    "sleep": "sleep usleep nanosleep clock_nanosleep sched_yield",
    "io": "open openat write writev pwrite fsync fdatasync close read pread readv ioctl send sendto "
          "sendmsg recv recvfrom recvmsg connect accept printf fprintf vprintf puts fputs putchar "
          "fwrite fflush fopen fread fgets fclose",
    "poll": "poll ppoll select pselect epoll_wait epoll_pwait",
    "mmap": "mmap mremap munmap",
    "thread": "pthread_create pthread_join",
    "process": "fork system popen",
}
kind_of = {c: k for k, calls in KINDS.items() for c in calls.split()}
# The symbol a call reaches (frame 0): itself, or its fortified / large-file entry point.
def entry_points(call):
    return {call, call + "64", "__%s_chk" % call, "__%s64_chk" % call, "__%s_2" % call, "__%s64_2" % call}
p = load_checked(sys.argv[1])
want, counted = {}, None
for line in open(sys.argv[2]):
    w = line.split()
    if w[:1] == ["expect"]:
        want[(w[1], w[2])] = int(w[3])
    elif w[:1] == ["counts"]:
        counted = int(w[2])
ok(len(want) >= 70, "expected at least 70 expectations from the program, got %d" % len(want))
ap = p.get("audioprof", {})
regions = [c for c in ap.get("callbacks", []) if c.get("api") == "region" and c.get("name") == "rtcheck"]
if not eq("callbacks for the region \"rtcheck\"", len(regions), 1):
    done()
rid = regions[0]["id"]
got, unsafe, entries = {}, 0, set()
for v in ap.get("violations", []):
    fn = funcs(p, v)
    where = "%s at %s" % (v.get("call"), " | ".join(fn[:3]))
    eq("callback of " + where, v.get("callback"), rid)
    ok("inside_region" in fn, "violation outside the marked region: %s" % where)
    ok("outside_region" not in fn, "a call outside the region was recorded: %s" % where)
    if v.get("kind") in ("alloc", "free"):
        continue   # the shim's (fopen, popen, ... allocate): tested elsewhere
    call = v.get("call")
    if not ok(call in kind_of, "unexpected call recorded: %s (%s)" % (call, where)):
        continue
    eq("kind of " + where, v.get("kind"), kind_of[call])
    eq("severity of " + where, v.get("severity"), "warning" if kind_of[call] == "trylock" else "violation")
    eq("bytes of " + where, v.get("bytes"), 0)
    ok(fn and fn[0] in entry_points(call), "frame 0 of %s is not an entry point of %s" % (where, call))
    if fn:
        entries.add(fn[0])
    # The calling function: after frame 0 and, in the fortified build, the inlined
    # wrapper of glibc's headers (e.g. "read (unistd.h:38)") that chose the entry point.
    rest = fn[1:]
    while rest and rest[0] == call:
        rest = rest[1:]
    key = (call, rest[0] if rest else "?")
    got[key] = got.get(key, 0) + v.get("count", 0)
    if kind_of[call] != "trylock":
        unsafe += v.get("count", 0)
for key, n in sorted(want.items()):
    eq("count of %s in %s" % key, got.get(key, 0), n)
for key in sorted(set(got) - set(want)):
    fail("unexpected violation %s in %s (count %d)" % (key[0], key[1], got[key]))
eq("callback rt_unsafe == sum of violation counts", regions[0].get("rt_unsafe"), unsafe)
eq("thread counters' rt_unsafe (audioprof_thread_counts)", counted, unsafe)
other = sorted(e for e in entries if e not in kind_of)
info("%d call sites checked, rt_unsafe %d%s" % (len(want), unsafe,
     ", through " + " ".join(other) if other else ""))
done()
PY
}

check_all "$P" plain
# The same program built as distributions build packages: fortified entry points
# (__printf_chk, __read_chk, __recv_chk, __fread_chk, __poll_chk, ...) and the large-file
# ones (open64, pread64, mmap64, fopen64, ...).
mkdir "$tmp/fbin"
cc -std=gnu11 -O2 -g -D_FORTIFY_SOURCE=2 -D_FILE_OFFSET_BITS=64 -fno-builtin -fno-inline \
	-fno-optimize-sibling-calls -fno-omit-frame-pointer -D_GNU_SOURCE -pthread \
	-I"$ROOT/preload" -I"$PROGS" -o "$tmp/fbin/rtunsafe" "$PROGS/rtunsafe.c" -ldl -lpthread ||
	fail "cannot build the fortified rtunsafe"
nm -D --undefined-only "$tmp/fbin/rtunsafe" | grep -q "__printf_chk" || fail "fortified build without __printf_chk"
check_all "$tmp/fbin/rtunsafe" fortified

# ------------------------------------------------------------------ warn: once per site
mkdir "$tmp/warn"
"$P" warn >"$tmp/nwarn.out" 2>/dev/null || fail "native warn run failed"
env AUDIOPROF_ON_VIOLATION=warn AUDIOPROF_OUT="$tmp/warn/p.%p.json" LD_PRELOAD="$PRELOAD" "$P" warn \
	>"$tmp/warn.out" 2>"$tmp/warn.err"
rc=$?
[ $rc -eq 0 ] || { cat "$tmp/warn.err"; fail "rtunsafe warn exited $rc"; }
cmp -s "$tmp/nwarn.out" "$tmp/warn.out" || { diff "$tmp/nwarn.out" "$tmp/warn.out"; fail "warn: stdout differs"; }
check_py "$tmp/warn.err" <<'PY' || exit 1
msgs = []   # [header, [stack functions]]
for line in open(sys.argv[1]):
    line = line.rstrip("\n")
    if line.startswith("audioprof: "):
        msgs.append([line[len("audioprof: "):], []])
    elif line.startswith("    ") and msgs:
        msgs[-1][1].append(func_name(line.strip()))
want = {
    'real-time violation: usleep() in region callback "warned"': ("usleep", "w_sleep"),
    'real-time violation: pthread_mutex_lock() in region callback "warned"': ("pthread_mutex_lock", "w_lock"),
    'real-time violation: write() in region callback "warned"': ("write", "w_write"),
    'warning: pthread_mutex_trylock() in region callback "warned"': ("pthread_mutex_trylock", "w_try"),
}
for head, (call, site) in want.items():
    found = [m for m in msgs if m[0] == head]
    if eq("times printed: " + head, len(found), 1):
        st = found[0][1]
        ok(st[:2] == [call, site], "%s: stack should start %s, %s: %s" % (head, call, site, st[:4]))
        ok("main" in st, "%s: stack should reach main: %s" % (head, st))
for m in msgs:
    ok(m[0] in want, "unexpected message: %s" % m[0])
done()
PY
echo "warn: 4 sites printed once each"

# ------------------------------------------------------------------ abort at the first violation
mkdir "$tmp/abort"
{ env AUDIOPROF_ON_VIOLATION=abort AUDIOPROF_OUT="$tmp/abort/p.%p.json" LD_PRELOAD="$PRELOAD" "$P" abort \
	>"$tmp/abort.out" 2>"$tmp/abort.err"; } 2>/dev/null   # (not bash's "Aborted" notice)
rc=$?
[ $rc -eq 134 ] || { cat "$tmp/abort.err"; fail "abort: expected death by SIGABRT (134), got $rc"; }
[ "$(cat "$tmp/abort.out")" = "before" ] || { cat "$tmp/abort.out"; fail "abort: stdout should be just \"before\""; }
f=$(one_profile "$tmp/abort") || exit 1
check_py "$tmp/abort.err" "$f" <<'PY' || exit 1
heads = [l.rstrip("\n") for l in open(sys.argv[1]) if l.startswith("audioprof: ")]
eq("abort: messages", heads, ['audioprof: real-time violation: usleep() in region callback "aborted"'])
text = open(sys.argv[1]).read()
ok(": a_sleep (" in text, "abort: the printed stack should name a_sleep:\n" + text)
p = load_checked(sys.argv[2])
ap = p.get("audioprof", {})
eq("abort: profile reason", ap.get("reason"), "signal")
eq("abort: profile signal", ap.get("signal"), 6)
vs = sorted((v.get("call"), funcs(p, v)[1], v.get("count")) for v in ap.get("violations", []))
eq("abort: violations", vs, [("pthread_mutex_trylock", "w_try", 1), ("usleep", "a_sleep", 1)])
done()
PY
echo "abort: died of SIGABRT at usleep in a_sleep, after the trylock warning"

# ------------------------------------------------------------------ AUDIOPROF_RT_THREADS
mkdir "$tmp/thr"
env AUDIOPROF_RT_THREADS=audio-rt AUDIOPROF_OUT="$tmp/thr/p.%p.json" LD_PRELOAD="$PRELOAD" "$P" thread \
	>"$tmp/thr.out" 2>"$tmp/thr.err"
rc=$?
[ $rc -eq 0 ] || { cat "$tmp/thr.err"; fail "rtunsafe thread exited $rc"; }
grep -q "audioprof:" "$tmp/thr.err" && { cat "$tmp/thr.err"; fail "thread: messages on stderr"; }
f=$(one_profile "$tmp/thr") || exit 1
check_py "$f" <<'PY' || exit 1
p = load_checked(sys.argv[1])
ap = p.get("audioprof", {})
cbs = ap.get("callbacks", [])
eq("thread: callbacks (api, name)", [(c.get("api"), c.get("name")) for c in cbs], [("thread", "audio-rt")])
if cbs:
    eq("thread: rt_unsafe of audio-rt", cbs[0].get("rt_unsafe"), 3)
    eq("thread: allocs of audio-rt", cbs[0].get("allocs"), 2)
    cid = cbs[0].get("id")
vs = sorted((v.get("kind"), v.get("call"), funcs(p, v)[1], v.get("count"), v.get("bytes"), v.get("callback"))
            for v in ap.get("violations", []))
eq("thread: violations (kind, call, function, count, bytes, callback)", vs,
   [("alloc", "malloc", "t_alloc", 2, 200, 0), ("free", "free", "t_alloc", 2, 0, 0),
    ("sleep", "usleep", "t_sleep", 3, 0, 0)])
done()
PY
echo "thread: audio-rt's usleep and malloc/free recorded, worker's not"
echo "ok"
