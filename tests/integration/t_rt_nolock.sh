#!/usr/bin/env bash
# t_rt_nolock.sh - the profiler takes no lock, allocates nothing and makes no system
# call on a real-time thread, also the first time it meets a violation's stack (the
# stack cache's miss path), with tests/progs/rtstacks.c: 272 distinct chains (256 in
# the program, 16 through the dlopen'ed librtmod.so), each met first inside the marked
# region, doing malloc, calloc, realloc, free and pthread_mutex_lock.
#  - system calls: the real-time thread runs its region under a seccomp filter of its
#    own that traps every syscall; the program counts them by number. Natively 0 (the
#    program makes none there); under the preload it must still be 0;
#  - locks, allocations, signal masks, loader calls: tests/progs/liblockcount.c, preloaded
#    after libaudioprof.so, counts the calls that thread makes in the region to each
#    lock, semaphore, malloc-family, sigprocmask, dl_iterate_phdr, dladdr, mmap, read and
#    open function. Natively those are the program's own (checked against its numbers);
#    under the preload every count must equal the native one: the profiler added none;
#  - the profile is still exact: per chain and call, the violation's count and bytes,
#    with a stack naming the chain's functions, and the region's totals; stdout and exit
#    status are those of the native run.
# With the default AUDIOPROF_STACK_CACHE (on).
. "$(dirname "$0")/lib/common.sh"
need_preload
[ "$(uname -m)" = x86_64 ] || skip "rtstacks is x86-64 only"
build_prog rtstacks librtmod liblockcount
make_tmp
P=$BIN/rtstacks
LC=$BIN/liblockcount.so

# check_mode LABEL [VAR=VALUE]: one run natively, one with the counter alone, one under
# the preload with the counter, in $tmp/LABEL.
check_mode() {
local label=$1 mode_env=${2:-} d=$tmp/$1 nrc prc f
mkdir "$d"
# ------------------------------------------------------------------ native
env $mode_env "$P" "$d/native.txt" >"$d/native.out" 2>"$d/native.err"
nrc=$?
[ $nrc -eq 0 ] || { cat "$d/native.err"; fail "rtstacks exited $nrc natively"; }
grep -q '^seccomp unavailable' "$d/native.txt" && skip "$(cat "$d/native.txt")"
[ -s "$d/native.err" ] && { cat "$d/native.err"; fail "rtstacks wrote to stderr natively"; }
grep -qx 'syscalls 0' "$d/native.txt" ||
	{ grep '^sys' "$d/native.txt"; fail "the program itself makes system calls in its region"; }

env $mode_env LOCKCOUNT_OUT="$d/native.lc" LD_PRELOAD="$LC" "$P" "$d/native_lc.txt" \
	>"$d/native_lc.out" 2>"$d/native_lc.err" ||
	{ cat "$d/native_lc.err"; fail "rtstacks exited $? with liblockcount.so alone"; }
cmp -s "$d/native.out" "$d/native_lc.out" || fail "liblockcount.so changed the program's stdout"
[ -s "$d/native_lc.err" ] && { cat "$d/native_lc.err"; fail "stderr with liblockcount.so alone"; }
grep -qx 'syscalls 0' "$d/native_lc.txt" ||
	{ grep '^sys' "$d/native_lc.txt"; fail "liblockcount.so makes system calls in the region"; }
# The counter sees exactly the program's own calls.
check_py "$d/native_lc.txt" "$d/native.lc" "$label" <<'PY' || exit 1
tot = {}
for line in open(sys.argv[1]):
    w = line.split()
    if w[:1] == ["totals"]:
        tot = {w[i]: int(w[i + 1]) for i in range(1, len(w) - 1, 2)}
lc = {w[0]: int(w[1]) for w in (l.split() for l in open(sys.argv[2])) if len(w) == 2}
ok(tot, "no totals from rtstacks")
eq("native: pthread_mutex_lock", lc.get("pthread_mutex_lock"), tot.get("locks"))
eq("native: malloc + calloc + realloc", lc.get("malloc", 0) + lc.get("calloc", 0) + lc.get("realloc", 0),
   tot.get("allocs"))
eq("native: free", lc.get("free"), tot.get("frees"))
for f, n in sorted(lc.items()):
    if f not in ("pthread_mutex_lock", "malloc", "calloc", "realloc", "free"):
        eq("native: " + f, n, 0)
info(sys.argv[3] + ": native: %d locks, %d allocations, %d frees, 0 system calls in the region"
     % (tot["locks"], tot["allocs"], tot["frees"]))
done()
PY

# ------------------------------------------------------------------ under the preload
mkdir "$d/pre"
timeout 60 env $mode_env AUDIOPROF_OUT="$d/pre/p.%p.json" LOCKCOUNT_OUT="$d/pre.lc" \
	LD_PRELOAD="$PRELOAD:$LC" "$P" "$d/pre.txt" >"$d/pre.out" 2>"$d/pre.err"
prc=$?
[ $prc -eq $nrc ] || { cat "$d/pre.err"; fail "exit status $prc under the preload, $nrc natively"; }
cmp -s "$d/native.out" "$d/pre.out" || { diff "$d/native.out" "$d/pre.out"; fail "stdout differs"; }
grep -q "audioprof:" "$d/pre.err" && { cat "$d/pre.err"; fail "messages on stderr"; }
f=$(one_profile "$d/pre") || exit 1
check_py "$f" "$d/pre.txt" "$d/native.lc" "$d/pre.lc" /usr/include/x86_64-linux-gnu/asm/unistd_64.h <<'PY' || exit 1
import os, re
p = load_checked(sys.argv[1])
want, tot, sysn, sysc = {}, {}, None, {}
for line in open(sys.argv[2]):
    w = line.split()
    if w[:1] == ["expect"]:
        key = (w[1], tuple(w[4].split(",")))
        c, b = want.get(key, (0, 0))
        want[key] = (c + int(w[2]), b + int(w[3]))
    elif w[:1] == ["totals"]:
        tot = {w[i]: int(w[i + 1]) for i in range(1, len(w) - 1, 2)}
    elif w[:1] == ["syscalls"]:
        sysn = int(w[1])
    elif w[:1] == ["syscall"]:
        sysc[int(w[1])] = int(w[2])
ok(len(want) >= 1000, "expected at least 1000 expectations from rtstacks, got %d" % len(want))

# The profile: every chain's calls, exact, with the chain's functions.
ap = p.get("audioprof", {})
regions = [c for c in ap.get("callbacks", []) if c.get("api") == "region" and c.get("name") == "rtstacks"]
if eq("callbacks for the region \"rtstacks\"", len(regions), 1):
    r = regions[0]
    eq("region allocs", r.get("allocs"), tot.get("allocs"))
    eq("region frees", r.get("frees"), tot.get("frees"))
    eq("region alloc_bytes", r.get("alloc_bytes"), tot.get("bytes"))
    eq("region rt_unsafe", r.get("rt_unsafe"), tot.get("locks"))
eq("violations_lost", ap.get("violations_lost"), 0)
got = {}
for v in ap.get("violations", []):
    fn = funcs(p, v)
    if not fn or fn[0] != v.get("call") or "rt_main" not in fn:
        fail("violation %s with an unexpected stack: %s" % (v.get("call"), " | ".join(fn[:12])))
        continue
    key = (v.get("call"), tuple(fn[1:fn.index("rt_main") + 1]))
    c, b = got.get(key, (0, 0))
    got[key] = (c + v.get("count", 0), b + v.get("bytes", 0))
bad = [k for k in want if got.get(k) != want[k]] + [k for k in got if k not in want]
for k in bad[:10]:
    fail("%s at %s: (count, bytes) %r, expected %r" % (k[0], ",".join(k[1]), got.get(k), want.get(k)))
ok(not bad, "%d of %d (call, stack) pairs wrong in the profile" % (len(bad), len(want)))

# What the profiler added on the real-time thread in the region.
names = {}
if os.path.exists(sys.argv[5]):
    for line in open(sys.argv[5]):
        m = re.match(r"#define __NR_(\w+)\s+(\d+)", line)
        if m:
            names[int(m.group(2))] = m.group(1)
native = {w[0]: int(w[1]) for w in (l.split() for l in open(sys.argv[3])) if len(w) == 2}
pre = {w[0]: int(w[1]) for w in (l.split() for l in open(sys.argv[4])) if len(w) == 2}
excess = ["%s +%d" % (f, pre.get(f, 0) - native.get(f, 0)) for f in native
          if pre.get(f, 0) != native.get(f, 0)]
ok(not excess, "calls the profiler added on the real-time thread (%d distinct stacks met "
   "for the first time): %s" % (len(set(k[1] for k in want)), ", ".join(excess)))
ok(sysn == 0, "system calls the profiler made on the real-time thread: %s in all (%s)"
   % (sysn, ", ".join("%s %d" % (names.get(n, "#%d" % n), c) for n, c in sorted(sysc.items()))))
info("profile: %d (call, stack) pairs exact; profiler's own calls on the real-time thread: %s; "
     "system calls: %s" % (len(want), ", ".join(excess) or "none", sysn))
done()
PY
}

check_mode warm
# The thread's very first allocation, lock and region entry inside the region.
check_mode cold RTSTACKS_COLD=1
echo "rt_nolock: no lock, allocation or system call of the profiler's on the real-time thread"
