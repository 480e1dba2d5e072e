#!/usr/bin/env bash
# t_fdspace.sh - the profiler's file descriptors stay out of the program's way
# (tests/progs/fdspace.c). Every mode runs natively and under the preload and must
# give the same exit status and the same observations, byte for byte: the numbers
# open() and pipe() return, what read(0), write(1), write(2) return, the data of a pipe
# the program dup2'ed onto fd 3 (no SIGPIPE), the bytes of a file it keeps at fd 4 (no
# stray process memory), the fds below 100 it holds, and the fds an exec'd image
# inherits after a daemon-style close of 0-2 (none of the profiler's: they are
# close-on-exec). Each mode first
# allocates from many stacks, some through a function without unwind information,
# so that libunwind validates memory and the symbolizer opens ELF and debug files.
# Runs with the persistent symbol cache off (DWARF and debug files are read) and on
# (its files are written), and under a low RLIMIT_NOFILE (a low fd floor); then the
# same for python3 (a pipe, its fds, a child's). Every one of these failed before the
# fds stayed out of the program's way (python3's pipe() returned 36 and 37).
. "$(dirname "$0")/lib/common.sh"
need_preload
build_prog fdspace libdlmod
make_tmp

FD=$BIN/fdspace
MOD=$BIN/libdlmod.so

# same LABEL MODE [ARGS...]: run "fdspace MODE ARGS" natively and under the preload
# ($PRE_ENV), stdout, stderr and exit status into $tmp/LABEL.{nat,pre}.*; an argument
# OUT is replaced by a per-run file whose contents are compared too. Modes "closed"
# and "daemon" start or end with fds 0-2 closed and say everything through OUT.
same() {
	local label=$1 mode=$2 how
	shift 2
	for how in nat pre; do
		local out=$tmp/$label.$how.out args=() a
		for a in "$@"; do
			[ "$a" = OUT ] && a=$out
			args+=("$a")
		done
		rm -f "$out" "$tmp/f4"
		local envs=()
		[ $how = pre ] && envs=("${PRE_ENV[@]}" AUDIOPROF_OUT="$tmp/prof/$label.%p.json" LD_PRELOAD="$PRELOAD")
		if [ "$mode" = closed ]; then
			env "${envs[@]}" bash -c 'exec "$@" <&- >&- 2>&-' sh "$FD" "$mode" "${args[@]}" \
				>"$tmp/$label.$how.stdout" 2>"$tmp/$label.$how.stderr"
		else
			env "${envs[@]}" "$FD" "$mode" "${args[@]}" \
				>"$tmp/$label.$how.stdout" 2>"$tmp/$label.$how.stderr"
		fi
		echo "exit $?" >>"$tmp/$label.$how.stdout"
		[ -f "$out" ] && cat "$out" >>"$tmp/$label.$how.stdout"
	done
	if ! cmp -s "$tmp/$label.nat.stdout" "$tmp/$label.pre.stdout"; then
		diff "$tmp/$label.nat.stdout" "$tmp/$label.pre.stdout" | head -30
		cat "$tmp/$label.pre.stderr"
		fail "$label: the program saw something else under the preload"
	fi
	cmp -s "$tmp/$label.nat.stderr" "$tmp/$label.pre.stderr" ||
		fail "$label: stderr differs under the preload"
	note "$label: same as native ($(grep -c . "$tmp/$label.nat.stdout") lines)"
}

scenarios() {   # scenarios TAG
	same "$1-pipe3" pipe3
	same "$1-file4" file4 "$tmp/f4"
	same "$1-closed" closed OUT
	same "$1-daemon" daemon "$MOD" OUT
}

mkdir -p "$tmp/prof" "$tmp/cache"
# The exec'd half of "daemon" runs without the preload: what it inherits is the point.
PRE_ENV=(AUDIOPROF_SYMCACHE=off AUDIOPROF_FOLLOW_EXEC=0)
scenarios nocache
PRE_ENV=(AUDIOPROF_SYMCACHE="$tmp/cache" AUDIOPROF_FOLLOW_EXEC=0)
scenarios cache
ls "$tmp/cache" | grep -q '\.sym$' || fail "the symbol cache was not written"
# A soft limit of 200: the floor is 136, the profiler's fds sit between it and 200.
PRE_ENV=(AUDIOPROF_SYMCACHE=off AUDIOPROF_FOLLOW_EXEC=0)
(ulimit -S -n 200 && scenarios lowlimit) || exit 1

# A real program: python3 loads a few dozen modules (every one a file libdw would
# keep open), makes a pipe and starts a child; the numbers it gets, the fds it holds
# and those its child inherits are the native ones.
py='
import json, os, subprocess
x = [json.dumps({"a": [i] * 50}) for i in range(20000)]
r, w = os.pipe()
print("pipe", r, w)
print(sorted(int(f) for f in os.listdir("/proc/self/fd") if int(f) < 100))
print(subprocess.run(["ls", "/proc/self/fd"], capture_output=True, text=True).stdout.split())
'
python3 -c "$py" >"$tmp/py.nat" 2>&1 || fail "python3 failed natively"
env AUDIOPROF_SYMCACHE=off AUDIOPROF_OUT="$tmp/py.%p.json" LD_PRELOAD="$PRELOAD" \
	python3 -c "$py" >"$tmp/py.pre" 2>&1 || { cat "$tmp/py.pre"; fail "python3 failed under the preload"; }
cmp -s "$tmp/py.nat" "$tmp/py.pre" || { diff "$tmp/py.nat" "$tmp/py.pre"; fail "python3 saw other fds under the preload"; }
note "python3: same as native"

# The profiler did its work: the profiles name the frames beyond the function without
# unwind information (libunwind's validated frame-pointer walk went through) and the
# module's frame resolved at dlclose.
check_py "$tmp/prof" <<'PY' || exit 1
import glob, os
# (the shell that starts "closed" with fds 0-2 closed writes a profile of its own)
files = [f for f in sorted(glob.glob(os.path.join(sys.argv[1], "*.json")))
         if load(f).get("cmd", "").split(" ")[0].endswith("/fdspace")]
eq("profiles of fdspace", len(files), 12)
for f in files:
    p = load_checked(f)
    frames = " ".join(p["ftbl"])
    base = os.path.basename(f)
    eq(base + ": leaf_a frames", "leaf_a" in frames, True)
    eq(base + ": frames beyond nocfi_call (via_nocfi)", "via_nocfi" in frames, True)
    if "daemon" in base:
        eq(base + ": dlmod_site resolved", "dlmod_site (libdlmod.c" in frames, True)
done()
PY
echo "ok: every scenario sees the same fds natively and under the preload"
