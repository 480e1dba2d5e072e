#!/usr/bin/env bash
# t_signals.sh - death by SIGTERM/SIGINT/SIGHUP at their default action writes a complete
# profile (reason "signal") and the process still dies of the same signal; a program's own
# SIGTERM handler (sigaction or signal) and SIG_IGN keep their behaviour; a signal from
# outside while the writer thread runs; SIGKILL after a snapshot leaves that snapshot;
# crash signals keep their exit status (profile best effort). tests/progs/sig.c.
. "$(dirname "$0")/lib/common.sh"
need_preload
build_prog sig
make_tmp

check_sig_profile() { # FILE REASON SIGNAL
	check_py "$@" <<'PY'
p = load_checked(sys.argv[1])
eq("audioprof.reason", reason(p), sys.argv[2])
eq("audioprof.signal", p.get("audioprof", {}).get("signal"), int(sys.argv[3]))
pp = expect_pp(p, "sig_site", tb=369, tbk=3, mb=369, mbk=3, eb=369, ebk=3)
expect_chain(p, pp, "malloc", "sig_site")
done()
PY
}

# raise() with the default action.
for s in TERM:15 INT:2 HUP:1; do
	name=${s%:*} num=${s#*:}
	mkdir "$tmp/$name"
	env AUDIOPROF_OUT="$tmp/$name/p.%p.json" LD_PRELOAD="$PRELOAD" "$BIN/sig" $name >"$tmp/out" 2>"$tmp/err"
	rc=$?
	[ $rc -eq $((128 + num)) ] || { cat "$tmp/out" "$tmp/err"; fail "raise(SIG$name): status $rc, expected $((128 + num))"; }
	[ -s "$tmp/out" ] && fail "SIG$name: the program went on after the signal"
	[ -s "$tmp/err" ] && { cat "$tmp/err"; fail "SIG$name: stderr not empty"; }
	f=$(one_profile "$tmp/$name") || exit 1
	echo "SIG$name: status $rc, $f"
	check_sig_profile "$f" signal $num || exit 1
done

# The program's own handler, installed with sigaction() or signal(), and SIG_IGN.
for m in handler:42:handled signal_handler:42:handled ignore:7:ignored; do
	IFS=: read -r mode code text <<<"$m"
	mkdir "$tmp/$mode"
	env AUDIOPROF_OUT="$tmp/$mode/p.%p.json" LD_PRELOAD="$PRELOAD" "$BIN/sig" $mode >"$tmp/out" 2>"$tmp/err"
	rc=$?
	[ $rc -eq $code ] || { cat "$tmp/out" "$tmp/err"; fail "$mode: status $rc, expected $code"; }
	[ "$(cat "$tmp/out")" = "$text" ] || fail "$mode: stdout '$(cat "$tmp/out")', expected '$text'"
	f=$(one_profile "$tmp/$mode") || exit 1
	echo "$mode: status $rc, $f"
	check_sig_profile "$f" exit 0 || exit 1
done

# AUDIOPROF_SIGNALS=0: still dies of SIGTERM; no profile is written for it.
mkdir "$tmp/off"
env AUDIOPROF_SIGNALS=0 AUDIOPROF_OUT="$tmp/off/p.%p.json" LD_PRELOAD="$PRELOAD" "$BIN/sig" TERM >/dev/null 2>&1
rc=$?
[ $rc -eq 143 ] || fail "AUDIOPROF_SIGNALS=0 raise(SIGTERM): status $rc, expected 143"
[ -z "$(ls "$tmp/off")" ] || { ls "$tmp/off"; fail "AUDIOPROF_SIGNALS=0: a profile was written on SIGTERM"; }

# Start sig wait in the background with snapshots every 200 ms; wait for "ready".
start_waiter() { # DIR
	mkdir "$1"
	env AUDIOPROF_INTERVAL=200ms AUDIOPROF_OUT="$1/p.%p.json" LD_PRELOAD="$PRELOAD" "$BIN/sig" wait >"$1.out" 2>"$1.err" &
	wpid=$!
	for _ in $(seq 100); do
		grep -q ready "$1.out" 2>/dev/null && return 0
		sleep 0.05
	done
	kill -KILL $wpid; fail "sig wait never printed ready"
}

# SIGTERM from outside, with the writer thread running (it must not swallow the signal).
start_waiter "$tmp/ext"
kill -TERM $wpid
wait $wpid
rc=$?
[ $rc -eq 143 ] || fail "kill -TERM: status $rc, expected 143"
check_sig_profile "$tmp/ext/p.$wpid.json" signal 15 || exit 1
echo "external SIGTERM: status $rc"

# SIGKILL after a snapshot holding the site was written: that snapshot is what is left.
start_waiter "$tmp/kill"
f=$tmp/kill/p.$wpid.json
seen=
for _ in $(seq 100); do
	if [ -f "$f" ] && python3 - "$f" <<'PY' 2>/dev/null
import json, sys
p = json.load(open(sys.argv[1]))
ft = p["ftbl"]
sys.exit(0 if any(pp["tbk"] == 3 and any(": sig_site " in ft[i] for i in pp["fs"]) for pp in p["pps"]) else 1)
PY
	then seen=1; break; fi
	sleep 0.05
done
kill -KILL $wpid
wait $wpid
rc=$?
[ -n "$seen" ] || fail "no snapshot with sig_site appeared within 5 s (AUDIOPROF_INTERVAL=200ms)"
[ $rc -eq 137 ] || fail "SIGKILL: status $rc"
ls "$tmp/kill"
# (A temporary file may remain if the kill landed mid-write: that is allowed.)
check_sig_profile "$f" snapshot 0 || exit 1
echo "SIGKILL: status $rc, snapshot kept"

# Crash signals: the status is unchanged; the profile is best effort.
for s in segv:139 abort:134; do
	mode=${s%:*} code=${s#*:}
	mkdir "$tmp/$mode"
	env AUDIOPROF_OUT="$tmp/$mode/p.%p.json" LD_PRELOAD="$PRELOAD" "$BIN/sig" $mode >/dev/null 2>"$tmp/err"
	rc=$?
	[ $rc -eq $code ] || { cat "$tmp/err"; fail "$mode: status $rc, expected $code"; }
	if [ -n "$(ls "$tmp/$mode")" ]; then
		f=$(one_profile "$tmp/$mode") || exit 1
		check_sig_profile "$f" signal $((code - 128)) || exit 1
		echo "$mode: status $rc, profile written"
	else
		echo "$mode: status $rc, no profile (best effort)"
	fi
done
echo "ok"
