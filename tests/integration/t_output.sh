#!/usr/bin/env bash
# t_output.sh - AUDIOPROF_OUT: %p, %n and %% expand; the default name is
# audioprof.<pid>.json in the working directory; an unwritable path gives a clear
# message on stderr naming it while the program's stdout and exit status are unchanged;
# a symlink at the output path is followed (its file replaced), unless another user
# planted it in a sticky directory (then it is replaced); no temporary file is left
# behind. Special files: t_output_special.sh. tests/progs/leaf.c.
. "$(dirname "$0")/lib/common.sh"
need_preload
build_prog leaf
make_tmp

# %n and %p (and %%).
mkdir "$tmp/a"
env AUDIOPROF_OUT="$tmp/a/x.%n.%p.100%%.json" LD_PRELOAD="$PRELOAD" "$BIN/leaf" 5 >"$tmp/out" 2>"$tmp/err"
rc=$?
[ $rc -eq 5 ] || fail "leaf 5: status $rc"
[ -s "$tmp/err" ] && { cat "$tmp/err"; fail "stderr not empty"; }
read -r _ pid <"$tmp/out"
ls "$tmp/a"
[ -f "$tmp/a/x.leaf.$pid.100%.json" ] || fail "expected $tmp/a/x.leaf.$pid.100%.json"
[ "$(ls -A "$tmp/a" | wc -l)" -eq 1 ] || fail "extra files (temporary file left?)"
check_py "$tmp/a/x.leaf.$pid.100%.json" "$pid" <<'PY' || exit 1
p = load_checked(sys.argv[1])
eq("pid", p.get("pid"), int(sys.argv[2]))
expect_pp(p, "leaf_site", tb=7, tbk=1, eb=7, ebk=1)
done()
PY

# Default: audioprof.<pid>.json in the working directory.
mkdir "$tmp/b"
(cd "$tmp/b" && LD_PRELOAD="$PRELOAD" "$BIN/leaf" >"$tmp/out" 2>"$tmp/err") || fail "leaf failed"
read -r _ pid <"$tmp/out"
[ -f "$tmp/b/audioprof.$pid.json" ] || { ls -A "$tmp/b"; fail "default output audioprof.$pid.json missing"; }
[ "$(ls -A "$tmp/b" | wc -l)" -eq 1 ] || fail "default output: extra files"

# Unwritable paths: missing directory, and a regular file used as a directory.
"$BIN/leaf" 6 >"$tmp/native.out" 2>/dev/null
: >"$tmp/plainfile"
for dir in "$tmp/no-such-dir/sub" "$tmp/plainfile"; do
	env AUDIOPROF_OUT="$dir/p.%p.json" LD_PRELOAD="$PRELOAD" "$BIN/leaf" 6 >"$tmp/out" 2>"$tmp/err"
	rc=$?
	[ $rc -eq 6 ] || fail "unwritable $dir: status $rc, expected 6"
	sed "s/$(sed -n 's/^leaf //p' "$tmp/out")/PID/" "$tmp/out" >"$tmp/out.n"
	sed "s/$(sed -n 's/^leaf //p' "$tmp/native.out")/PID/" "$tmp/native.out" >"$tmp/native.n"
	cmp -s "$tmp/out.n" "$tmp/native.n" || fail "unwritable $dir: stdout changed: $(cat "$tmp/out")"
	echo "stderr: $(cat "$tmp/err")"
	grep -q "^audioprof: " "$tmp/err" || fail "unwritable $dir: no 'audioprof: ' message on stderr"
	grep -qF "$dir" "$tmp/err" || fail "unwritable $dir: the message does not name the path"
	[ "$(wc -l <"$tmp/err")" -le 2 ] || fail "unwritable $dir: more than 2 lines on stderr"
done

# A symlink at the output path is followed: it stays, and the file it leads to is
# replaced by the profile (a new file: never written through).
mkdir "$tmp/c"
echo "old profile" >"$tmp/target"
ln -s "$tmp/target" "$tmp/c/fixed.json"
ino=$(stat -c %i "$tmp/target")
env AUDIOPROF_OUT="$tmp/c/fixed.json" LD_PRELOAD="$PRELOAD" "$BIN/leaf" >/dev/null 2>"$tmp/err" || fail "leaf failed"
[ -L "$tmp/c/fixed.json" ] || fail "the symlink was replaced"
[ "$(stat -c %i "$tmp/target")" != "$ino" ] || fail "the symlink's target was written through, not replaced"
[ "$(ls -A "$tmp/c" | wc -l)" -eq 1 ] || { ls -A "$tmp/c"; fail "extra files beside fixed.json"; }
[ "$(ls -A "$tmp" | grep -c '^target')" -eq 1 ] || { ls -A "$tmp"; fail "extra files beside the target"; }
check_py "$tmp/target" <<'PY' || exit 1
p = load_checked(sys.argv[1])
expect_pp(p, "leaf_site", tb=7, tbk=1)
done()
PY

# A symlink planted by another user in a sticky world-writable directory (as /tmp):
# replaced by the profile, never followed, as fs.protected_symlinks would refuse it.
# Root only (the link must belong to someone else).
if [ "$(id -u)" -eq 0 ]; then
	mkdir -m 1777 "$tmp/sticky"
	echo precious >"$tmp/victim"
	ln -s "$tmp/victim" "$tmp/sticky/p.json"
	chown -h 65534:65534 "$tmp/sticky/p.json"
	env AUDIOPROF_OUT="$tmp/sticky/p.json" LD_PRELOAD="$PRELOAD" "$BIN/leaf" >/dev/null 2>&1 || fail "leaf failed"
	[ "$(cat "$tmp/victim")" = precious ] || fail "a link planted in a sticky directory was followed"
	[ -f "$tmp/sticky/p.json" ] && [ ! -L "$tmp/sticky/p.json" ] || fail "the planted link is still there"
	check_py "$tmp/sticky/p.json" <<'PY' || exit 1
load_checked(sys.argv[1])
done()
PY
else
	note "not root: planted-link case not run"
fi

# An existing profile at the path is replaced whole (never appended to or half-written).
env AUDIOPROF_OUT="$tmp/c/fixed.json" LD_PRELOAD="$PRELOAD" "$BIN/leaf" >/dev/null 2>&1 || fail "leaf failed"
check_py "$tmp/c/fixed.json" <<'PY' || exit 1
load_checked(sys.argv[1])
done()
PY
echo "ok"
