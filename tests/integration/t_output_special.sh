#!/usr/bin/env bash
# t_output_special.sh - outputs never replace special files (common/atomicfile.c), for
# each of the four writers: the preload (AUDIOPROF_OUT), `audioprof run -o`, `audioprof
# view -o` and `audioprof check --junit`. A device node of the test's own (the null
# device's numbers, made with mknod in $tmp: the system's /dev/null is never the target)
# stays a device; a FIFO is written into and its reader gets the whole output (a
# reader that leaves early never kills the profiled program with SIGPIPE); a
# symbolic link to /proc/self/fd/1 or /dev/fd/1 (what /dev/stdout is) prints to
# standard output;
# a 250-byte name is written; a new file's mode is 0666 less the umask; a directory or
# a socket is refused with a message naming it, and stays. For the preload: 30 SIGKILLs
# of a program writing 575 KB snapshots every 10 ms leave no temporary file, and the
# temporary file of a writer that died is removed by the next one. tests/progs/leaf.c,
# tests/progs/snapkill.c.
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/analyzer.sh"
need_preload
need_analyzer
build_prog leaf snapkill
make_tmp

# A profile for view and check to read.
env AUDIOPROF_OUT="$tmp/src.json" LD_PRELOAD="$PRELOAD" "$BIN/leaf" >/dev/null 2>&1
[ -s "$tmp/src.json" ] || fail "no source profile"

# write_with WRITER TARGET: makes WRITER write its output to TARGET; its standard output
# goes to $tmp/w.out, its standard error to $tmp/w.err. Fails unless the exit status is
# the writer's usual one (leaf's 3 for the preload and run, 0 for view and check) or,
# with EXPECT_FAIL=1, that writer's error status.
write_with() {
	local w=$1 target=$2 rc want
	case $w in
	pre)   env AUDIOPROF_OUT="$target" LD_PRELOAD="$PRELOAD" "$BIN/leaf" 3 ;;
	run)   "$AP" run -q -o "$target" "$BIN/leaf" 3 ;;
	view)  "$AP" view -o "$target" "$tmp/src.json" ;;
	junit) "$AP" check --junit "$target" "$tmp/src.json" ;;
	esac >"$tmp/w.out" 2>"$tmp/w.err"
	rc=$?
	case $w in pre|run) want=3 ;; *) want=0 ;; esac
	# The preload cannot change the program's status: a failed write is a message only.
	[ "${EXPECT_FAIL:-0}" = 1 ] && case $w in view|junit) want=3 ;; esac
	[ $rc -eq $want ] || { cat "$tmp/w.err"; fail "$w -> $target: status $rc, expected $want"; }
}

# is_output WRITER FILE: FILE holds WRITER's whole output (possibly with other text
# around it, as on a standard output shared with the program).
is_output() {
	python3 - "$1" "$2" <<'PY'
import json, re, sys
import xml.etree.ElementTree as ET
w, path = sys.argv[1], sys.argv[2]
data = open(path, "rb").read().decode("utf-8", "replace")
if w in ("pre", "run"):
    # Every profile in it is whole; one of them is leaf's.
    docs, start = [], data.find('{"dhatFileVersion"')
    while start >= 0:
        doc, end = json.JSONDecoder().raw_decode(data[start:])
        docs.append(doc)
        start = data.find('{"dhatFileVersion"', start + end)
    assert docs, "no profile in %s: %r" % (path, data[:200])
    assert any("leaf_site" in " ".join(d["ftbl"]) for d in docs), "no profile of leaf's"
elif w == "view":
    assert data.lstrip().startswith("<!DOCTYPE html"), "not a page: %r" % data[:80]
    assert data.rstrip().endswith("</html>"), "page cut short"
else:
    start = data.find("<?xml")
    assert start >= 0, "no JUnit XML in %s" % path
    root = ET.fromstring(data[start:data.index("</testsuites>") + 13].encode())
    assert root.tag == "testsuites", root.tag
PY
}

writers="pre run view junit"

# ------------------------------------------------------------------ device node
if mknod "$tmp/null" c 1 3 2>/dev/null; then
	for w in $writers; do
		write_with "$w" "$tmp/null"
		[ -c "$tmp/null" ] || { ls -la "$tmp/null"; fail "$w: the device node was replaced"; }
		[ "$(stat -c %t,%T "$tmp/null")" = 1,3 ] || fail "$w: device numbers changed"
		[ -s "$tmp/w.err" ] && [ "$w" = pre ] && { cat "$tmp/w.err"; fail "pre: stderr not empty"; }
	done
	# An exec'd image writes into the same device, not a new "null.1" beside it.
	cat >"$tmp/twice.sh" <<EOF
#!/bin/sh
exec "$BIN/leaf" 3
EOF
	chmod +x "$tmp/twice.sh"
	env AUDIOPROF_OUT="$tmp/null" LD_PRELOAD="$PRELOAD" "$tmp/twice.sh" >/dev/null 2>&1
	[ -c "$tmp/null" ] || fail "exec chain: the device node was replaced"
	ls "$tmp" | grep -q '^null\.' && { ls -la "$tmp"; fail "exec chain: a file beside the device"; }
	# run --check cannot read a profile back from a device: it says so, exit 3.
	"$AP" run -q --check -o "$tmp/null" "$BIN/leaf" 0 >/dev/null 2>"$tmp/w.err"
	rc=$?
	[ $rc -eq 3 ] && grep -q "not a regular file: nothing to check" "$tmp/w.err" ||
		{ cat "$tmp/w.err"; fail "run --check into a device: status $rc"; }
	note "device node: kept by all four writers"
else
	note "mknod not permitted: device-node case not run"
fi

# ------------------------------------------------------------------ FIFO
# The reader opens the FIFO before the writer runs (non-blocking, so it is ready at
# once; the preload never waits for a reader) and reads until the writer closes it.
mkfifo "$tmp/fifo" || fail "mkfifo"
for w in $writers; do
	rm -f "$tmp/ready" "$tmp/got"
	python3 - "$tmp/fifo" "$tmp/ready" "$tmp/got" <<'PY' &
import os, select, sys, time
fd = os.open(sys.argv[1], os.O_RDONLY | os.O_NONBLOCK)
open(sys.argv[2], "w").close()
data, seen, end = b"", False, time.time() + 60
while time.time() < end:
    select.select([fd], [], [], 1)
    try:
        chunk = os.read(fd, 65536)
    except BlockingIOError:
        continue
    if chunk:
        data, seen = data + chunk, True
    elif seen:
        break                       # the writer closed it
    else:
        time.sleep(0.01)            # no writer yet
open(sys.argv[3], "wb").write(data)
PY
	reader=$!
	for _ in $(seq 500); do [ -e "$tmp/ready" ] && break; sleep 0.01; done
	write_with "$w" "$tmp/fifo"
	wait $reader
	[ -p "$tmp/fifo" ] || fail "$w: the FIFO was replaced"
	is_output "$w" "$tmp/got" || fail "$w: the FIFO's reader did not get the output"
done
# No reader: the preload does not wait (the program exits as usual) and says why.
write_with pre "$tmp/fifo"
grep -q "fifo: is a FIFO that no process has open for reading" "$tmp/w.err" ||
	{ cat "$tmp/w.err"; fail "pre: no message for a FIFO without a reader"; }
# A reader that goes away half way through a 575 KB profile: the write fails with a
# message, and the program is not killed by SIGPIPE (it exits 0 as it does natively).
rm -f "$tmp/ready"
python3 - "$tmp/fifo" "$tmp/ready" <<'PY' &
import os, select, sys, time
fd = os.open(sys.argv[1], os.O_RDONLY | os.O_NONBLOCK)
open(sys.argv[2], "w").close()
end = time.time() + 60
while time.time() < end:
    select.select([fd], [], [], 1)
    try:
        if os.read(fd, 100):
            break                   # the first bytes: go away
    except BlockingIOError:
        pass
    time.sleep(0.01)
os.close(fd)
PY
reader=$!
for _ in $(seq 500); do [ -e "$tmp/ready" ] && break; sleep 0.01; done
env AUDIOPROF_OUT="$tmp/fifo" LD_PRELOAD="$PRELOAD" "$BIN/snapkill" exit >"$tmp/w.out" 2>"$tmp/w.err"
rc=$?
wait $reader
[ $rc -eq 0 ] || { cat "$tmp/w.err"; fail "reader gone: snapkill exit status $rc, expected 0 (141: killed by SIGPIPE)"; }
grep -q "fifo: Broken pipe" "$tmp/w.err" || { cat "$tmp/w.err"; fail "reader gone: no message"; }
[ -p "$tmp/fifo" ] || fail "reader gone: the FIFO was replaced"
note "FIFO: written into by all four writers; a reader that leaves costs no SIGPIPE"

# ------------------------------------------------------------------ standard output
# Links of the test's own to /proc/self/fd/1 and /dev/fd/1, not /dev/stdout itself: a
# writer that replaced its target would replace the system's /dev/stdout.
ln -s /proc/self/fd/1 "$tmp/out1"
ln -s /dev/fd/1 "$tmp/fd1"
for w in $writers; do
	for target in "$tmp/out1" "$tmp/fd1"; do
		write_with "$w" "$target"
		is_output "$w" "$tmp/w.out" || fail "$w -> $target: the output is not on stdout"
		[ -L "$tmp/out1" ] && [ -L "$tmp/fd1" ] || fail "$w: the link was replaced"
		case $w in pre|run)
			grep -q "^leaf [0-9]*$" "$tmp/w.out" || fail "$w: the program's own output is gone" ;;
		esac
	done
done
# Through a pipe as well (what `| jq` gets), and through an exec: the exec'd image
# writes into the same standard output (not into a new "out1.1" file).
printf '#!/bin/sh\nexec "%s" 3\n' "$BIN/leaf" >"$tmp/exec.sh"
chmod +x "$tmp/exec.sh"
env AUDIOPROF_OUT="$tmp/out1" LD_PRELOAD="$PRELOAD" "$tmp/exec.sh" 2>/dev/null | cat >"$tmp/piped"
is_output pre "$tmp/piped" || fail "pre: standard output into a pipe, after an exec"
ls "$tmp" | grep -q '^out1\.' && { ls -la "$tmp"; fail "exec: a file beside the link"; }
env AUDIOPROF_OUT="$tmp/out1" LD_PRELOAD="$PRELOAD" "$tmp/exec.sh" >"$tmp/w.out" 2>/dev/null
is_output pre "$tmp/w.out" || fail "pre: standard output into a file, after an exec"
[ "$(grep -o dhatFileVersion "$tmp/w.out" | wc -l)" -eq 2 ] ||
	fail "pre: expected the profiles of both images (sh, leaf) on standard output"
ls "$tmp" | grep -q '^out1\.' && { ls -la "$tmp"; fail "exec: a file beside the link"; }
note "links to /proc/self/fd/1 and /dev/fd/1: printed by all four writers"

# ------------------------------------------------------------------ long names, mode
mkdir "$tmp/long"
name=$(printf 'n%.0s' $(seq 250))
for w in $writers; do
	rm -f "$tmp/long/$name"
	( umask 002; write_with "$w" "$tmp/long/$name" ) || exit 1
	[ -f "$tmp/long/$name" ] || { cat "$tmp/w.err"; fail "$w: 250-byte name not written"; }
	is_output "$w" "$tmp/long/$name" || fail "$w: 250-byte name: wrong content"
	mode=$(stat -c %a "$tmp/long/$name")
	[ "$mode" = 664 ] || fail "$w: mode $mode, expected 664 (0666 less umask 002)"
	[ "$(ls -A "$tmp/long" | wc -l)" -eq 1 ] || { ls -A "$tmp/long"; fail "$w: files left beside it"; }
done
# The mode with a short name too (the old JUnit writer kept mkstemp's 0600).
mkdir "$tmp/mode"
for w in $writers; do
	( umask 002; write_with "$w" "$tmp/mode/out.$w" ) || exit 1
	mode=$(stat -c %a "$tmp/mode/out.$w")
	[ "$mode" = 664 ] || fail "$w: out.$w: mode $mode, expected 664 (0666 less umask 002)"
done
note "250-byte names and mode 0666 & ~umask: all four writers"

# ------------------------------------------------------------------ refused
mkdir "$tmp/adir"
python3 -c 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$tmp/sock"
for w in $writers; do
	for target in "$tmp/adir" "$tmp/sock"; do
		EXPECT_FAIL=1 write_with "$w" "$target"
		case $target in *adir) why="is a directory" ;; *) why="is a socket" ;; esac
		grep -qF "$target" "$tmp/w.err" && grep -qF "$why" "$tmp/w.err" ||
			{ cat "$tmp/w.err"; fail "$w -> $target: no message naming it and saying '$why'"; }
	done
	[ -d "$tmp/adir" ] && [ -S "$tmp/sock" ] || fail "$w: a refused target changed"
	[ -z "$(ls -A "$tmp/adir")" ] || fail "$w: wrote into the directory"
done
note "directory and socket: refused with a message by all four writers"

# ------------------------------------------------------------------ SIGKILL
# 30 processes killed while they write snapshots every 10 ms: each leaves its last
# complete snapshot (if it finished one) and nothing else (the old writer left 23 and 28 files
# "p.PID.json.tmp.XXXXXX" of up to 585 KB in two runs).
mkdir "$tmp/kill"
for i in $(seq 30); do
	env AUDIOPROF_OUT="$tmp/kill/p.%p.json" AUDIOPROF_INTERVAL=10ms LD_PRELOAD="$PRELOAD" \
		"$BIN/snapkill" >"$tmp/ready.out" 2>/dev/null &
	pid=$!
	for _ in $(seq 500); do grep -q ready "$tmp/ready.out" 2>/dev/null && break; sleep 0.01; done
	sleep 0.$((RANDOM % 4 + 1))
	kill -KILL $pid
	wait $pid 2>/dev/null
done
left=$(ls -A "$tmp/kill" | grep -cv '^p\.[0-9]*\.json$')
profiles=$(ls -A "$tmp/kill" | grep -c '^p\.[0-9]*\.json$')
note "30 SIGKILLs: $profiles snapshots, $left other files"
[ "$left" -eq 0 ] || { ls -la "$tmp/kill" | grep -v 'p\.[0-9]*\.json$'; fail "$left temporary files left after 30 SIGKILLs"; }
# (A process killed before its first snapshot was complete has none.)
[ "$profiles" -ge 1 ] || fail "no snapshot written at all"
for f in "$tmp"/kill/p.*.json; do
	python3 -c 'import json, sys; json.load(open(sys.argv[1]))' "$f" || fail "$f: not a complete profile"
done

# A temporary file of the writer's naming whose writer died (no lock held) is removed
# by the next write in that directory; a file of another name is not.
mkdir "$tmp/stale"
head -c 100000 /dev/zero >"$tmp/stale/.audioprof.k1lled0writ3.tmp"
echo keep >"$tmp/stale/.audioprof.other.tmp"
env AUDIOPROF_OUT="$tmp/stale/p.json" LD_PRELOAD="$PRELOAD" "$BIN/snapkill" exit >/dev/null 2>&1 ||
	fail "snapkill exit failed"
[ -e "$tmp/stale/.audioprof.k1lled0writ3.tmp" ] && fail "a dead writer's temporary file was not removed"
[ "$(ls -A "$tmp/stale" | sort | tr '\n' ' ')" = ".audioprof.other.tmp p.json " ] ||
	{ ls -la "$tmp/stale"; fail "stale: unexpected directory contents"; }
echo "ok"
