#!/usr/bin/env bash
# t_exit_paths.sh - the profile is written when the program leaves by _exit(3), _Exit(3)
# or exit(3) (tests/progs/exitcall.c): exit status 3 kept, reason "_exit" (or "exit"),
# x_site exact; stdout identical to a native run (text left in stdio's buffer is lost
# with _exit/_Exit natively and must stay lost).
. "$(dirname "$0")/lib/common.sh"
need_preload
build_prog exitcall
make_tmp

for mode in _exit _Exit exit; do
	"$BIN/exitcall" $mode >"$tmp/native.out" 2>&1
	nrc=$?
	mkdir "$tmp/$mode"
	env AUDIOPROF_OUT="$tmp/$mode/p.%p.json" LD_PRELOAD="$PRELOAD" "$BIN/exitcall" $mode >"$tmp/pre.out" 2>&1
	rc=$?
	[ $nrc -eq 3 ] || fail "native $mode exit status $nrc"
	[ $rc -eq 3 ] || { cat "$tmp/pre.out"; fail "$mode: exit status $rc under the preload, expected 3"; }
	cmp -s "$tmp/native.out" "$tmp/pre.out" || {
		echo "native: '$(cat "$tmp/native.out")'  preload: '$(cat "$tmp/pre.out")'"
		fail "$mode: output differs from native"
	}
	f=$(one_profile "$tmp/$mode") || exit 1
	echo "$mode: $f"
	want=$mode; [ $mode = _Exit ] && want=_exit
	check_py "$f" "$want" "$BIN/exitcall $mode" <<'PY' || exit 1
p = load_checked(sys.argv[1])
eq("audioprof.reason", reason(p), sys.argv[2])
eq("cmd (the command line, space separated)", p.get("cmd"), sys.argv[3])
pp = expect_pp(p, "x_site", tb=231, tbk=3, mb=231, mbk=3, eb=231, ebk=3, gb=231, gbk=3)
expect_chain(p, pp, "malloc", "x_site")
done()
PY
done
echo "ok"
