#!/usr/bin/env bash
# t_run_signals.sh - one signal is one signal: under `audioprof run` the program sees
# exactly the signals it sees when it runs alone, whoever sends them. tests/progs/sigcount
# counts each signal it receives and, like mpv, quits cleanly (status 4) on a SIGTERM and
# dies of a second one. Each case runs natively and under `audioprof run`, as a job of its
# own process group (set -m), with signals sent to the pid the caller knows (the program
# natively, audioprof under run) or to the job's process group (kill -- -PGID): counts,
# output and exit status must be identical and as expected, and the profile written.
# Also: sigqueue() values, SIGTSTP/SIGCONT job control (audioprof stops when the program
# does), and the terminal's Ctrl-C, Ctrl-\ and window-size change through a pty. Then
# real mpv, if installed, stopped by a group SIGTERM: its own exit status and a profile.
. "$(dirname "$0")/lib/common.sh"
need_preload
build_prog sigcount
make_tmp
command -v python3 >/dev/null 2>&1 || skip "python3 not found"

AP=$ROOT/analyzer/audioprof
[ -x "$AP" ] || fail "analyzer not built: $AP"
KILL=$(type -P kill) || fail "no kill(1) command (procps) for sigqueue"
nfail=0
bad() { echo "FAIL: $*"; nfail=$((nfail + 1)); }

# Each job gets a process group of its own (pgid = its pid) whose parent, this shell, is
# in the same session, so that SIGTSTP stops it as in a shell. (Not `set -m`: bash breaks
# out of the running loop when a job stops.)
ownpg() { exec perl -e 'setpgrp(0, 0) or die "setpgrp: $!"; exec @ARGV or die "exec: $!"' "$@"; }

# wait_for FILE TEXT: until FILE contains TEXT (10 s at most; not a timing assertion).
wait_for() {
	for _ in $(seq 200); do
		grep -q "$2" "$1" 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}

# wait_stopped PID: until PID is stopped (state T in /proc/PID/stat).
wait_stopped() {
	for _ in $(seq 200); do
		[ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" = T ] && return 0
		sleep 0.05
	done
	return 1
}

# one MODE DIR ACTION...: starts sigcount (MODE native, or run: under audioprof run), then
# for each ACTION sends signals: pid:SIG (to the pid we know), grp:SIG (to the job's
# group), queue:SIG:VALUE (sigqueue to the pid), stop:pid|grp (SIGTSTP, then wait until
# the pid we know is stopped), sstop:grp (the same with SIGSTOP), cont:pid|grp (SIGCONT).
# Last the fence, SIGRTMAX to the pid, unless ACTION "self" (first) says the program
# quits by itself on SIGTERM.
# Leaves the output in DIR/out, the exit status in DIR/rc.
one() {
	local mode=$1 dir=$2 pid pgid a sig how args=() fence=1
	shift 2
	[ "${1:-}" = self ] && { args=(4 term-quits) fence=; shift; }
	mkdir -p "$dir"
	if [ "$mode" = native ]; then
		ownpg "$BIN/sigcount" "${args[@]}" >"$dir/out" 2>"$dir/err" &
	else
		ownpg "$AP" run -q -o "$dir/p.%p.json" -- "$BIN/sigcount" "${args[@]}" >"$dir/out" 2>"$dir/err" &
	fi
	pid=$!
	wait_for "$dir/out" ready || { bad "$mode: sigcount never said ready"; kill -KILL "$pid"; return; }
	pgid=$(awk '{print $5}' "/proc/$pid/stat")   # (comm has no space: sigcount, audioprof)
	[ "$pgid" = "$pid" ] || { bad "$mode: the job is not a process group of its own"; kill -KILL "$pid"; return; }
	for a in "$@"; do
		how=${a%%:*} sig=${a#*:}
		case $how in
		pid) kill -s "$sig" "$pid" ;;
		grp) kill -s "$sig" -- "-$pgid" ;;
		queue) "$KILL" --queue "${sig#*:}" -s "${sig%%:*}" "$pid" ;;
		stop)
			if [ "$sig" = pid ]; then kill -TSTP "$pid"; else kill -TSTP -- "-$pgid"; fi
			wait_stopped "$pid" || bad "$mode $*: $pid did not stop" ;;
		sstop)   # SIGSTOP to the group (to the pid alone it cannot be forwarded)
			kill -STOP -- "-$pgid"
			wait_stopped "$pid" || bad "$mode $*: $pid did not stop" ;;
		cont)
			if [ "$sig" = pid ]; then kill -CONT "$pid"; else kill -CONT -- "-$pgid"; fi ;;
		esac
	done
	[ -n "$fence" ] && kill -s RTMAX "$pid" 2>/dev/null
	wait "$pid"
	echo $? >"$dir/rc"
}

# case NAME WANT_RC WANT_LINE ACTION...: natively and under run; both must give
# WANT_RC and print WANT_LINE; under run the profile must hold sigcount's allocations.
ncase=0
case_() {
	local name=$1 want_rc=$2 want=$3 m f
	shift 3
	ncase=$((ncase + 1))
	local d=$tmp/c$ncase
	for m in native run; do
		one $m "$d/$m" "$@"
		[ -f "$d/$m/rc" ] || return
	done
	local nout rout nrc rrc
	nout=$(grep -v '^ready$' "$d/native/out") rout=$(grep -v '^ready$' "$d/run/out")
	nrc=$(cat "$d/native/rc") rrc=$(cat "$d/run/rc")
	if [ "$nout" != "$rout" ] || [ "$nrc" != "$rrc" ]; then
		bad "$name: native: exit $nrc, '$nout'; under run: exit $rrc, '$rout'"
		return
	fi
	if [ "$nrc" != "$want_rc" ] || [ "$nout" != "$want" ]; then
		bad "$name: exit $nrc, '$nout'; expected exit $want_rc, '$want'"
		return
	fi
	[ -s "$d/run/err" ] && { bad "$name: audioprof said: $(cat "$d/run/err")"; return; }
	f=$(one_profile "$d/run") || { bad "$name: no profile"; return; }
	check_py "$f" <<'PY' || { bad "$name: profile"; return; }
p = load_checked(sys.argv[1])
eq("audioprof.reason", reason(p), "exit")
expect_pp(p, "sigcount_site", tb=400, tbk=2, eb=400, ebk=2)
done()
PY
	echo "ok: $name (exit $nrc: $nout)"
}

Z="HUP=0 INT=0 QUIT=0 USR1=0 USR2=0 ALRM=0"
# The mpv case: a second SIGTERM would kill it, with no profile.
case_ "SIGTERM to the process group, the program quits by itself" 4 \
	"$Z TERM=1 CONT=0 WINCH=0 RTMIN+1=0 sum=0" self grp:TERM
case_ "SIGTERM to the pid, the program quits by itself" 4 \
	"$Z TERM=1 CONT=0 WINCH=0 RTMIN+1=0 sum=0" self pid:TERM
case_ "SIGTERM to the pid: one SIGTERM, clean quit" 4 \
	"$Z TERM=1 CONT=0 WINCH=0 RTMIN+1=0 sum=0" pid:TERM
case_ "SIGTERM to the process group: one SIGTERM, clean quit" 4 \
	"$Z TERM=1 CONT=0 WINCH=0 RTMIN+1=0 sum=0" grp:TERM
case_ "SIGHUP to the process group" 0 \
	"HUP=1 INT=0 QUIT=0 USR1=0 USR2=0 ALRM=0 TERM=0 CONT=0 WINCH=0 RTMIN+1=0 sum=0" grp:HUP
ALL1="HUP=1 INT=1 QUIT=1 USR1=1 USR2=1 ALRM=1 TERM=0 CONT=1 WINCH=1"
case_ "HUP INT QUIT USR1 USR2 ALRM CONT WINCH to the pid" 0 "$ALL1 RTMIN+1=0 sum=0" \
	pid:HUP pid:INT pid:QUIT pid:USR1 pid:USR2 pid:ALRM pid:CONT pid:WINCH
case_ "HUP INT QUIT USR1 USR2 ALRM CONT WINCH to the process group" 0 "$ALL1 RTMIN+1=0 sum=0" \
	grp:HUP grp:INT grp:QUIT grp:USR1 grp:USR2 grp:ALRM grp:CONT grp:WINCH
case_ "sigqueue() to the pid: each one, with its value" 0 \
	"$Z TERM=0 CONT=0 WINCH=0 RTMIN+1=2 sum=12" queue:RTMIN+1:5 queue:RTMIN+1:7
case_ "SIGRTMIN+1 to the process group" 0 \
	"$Z TERM=0 CONT=0 WINCH=0 RTMIN+1=1 sum=0" grp:RTMIN+1
case_ "SIGTSTP then SIGCONT to the pid: stopped, continued once" 0 \
	"$Z TERM=0 CONT=1 WINCH=0 RTMIN+1=0 sum=0" stop:pid cont:pid
case_ "SIGTSTP then SIGCONT to the process group" 0 \
	"$Z TERM=0 CONT=1 WINCH=0 RTMIN+1=0 sum=0" stop:grp cont:grp
# (Once: a stop signal sent before the program ran its SIGCONT handler discards that
# SIGCONT, natively too.)
case_ "SIGSTOP then SIGCONT to the process group" 0 \
	"$Z TERM=0 CONT=1 WINCH=0 RTMIN+1=0 sum=0" sstop:grp cont:grp
case_ "SIGUSR1 then SIGTERM to the process group" 4 \
	"HUP=0 INT=0 QUIT=0 USR1=1 USR2=0 ALRM=0 TERM=1 CONT=0 WINCH=0 RTMIN+1=0 sum=0" \
	grp:USR1 grp:TERM

# A caller that left SIGCHLD ignored (the program inherits that): audioprof still waits
# for the program (an ignored SIGCHLD reaps children at once), and the program still
# starts with SIGCHLD ignored.
# (alarm: a wrapper that never returns dies in 20 s; not `timeout`, which resets SIGCHLD.)
ign() { perl -e '$SIG{CHLD} = "IGNORE"; alarm 20; exec @ARGV or die "exec: $!"' "$@"; }
# Signals 32 and 33 are glibc's own (SIGCANCEL, SIGSETXID; sigaction refuses them): the
# first pthread_create installs glibc's handler for 33, so a caller that ignored it sees
# it handled in any program whose threads (here the profiler's) have started. No glibc
# program can read or set either, so they are masked out of the comparison.
sigign() {
	local line rc
	line=$("$@" grep SigIgn /proc/self/status); rc=$?
	printf 'SigIgn: %016x, exit %s' $((0x${line##*[[:space:]]} & ~0x180000000)) "$rc"
}
nat=$(sigign ign)
und=$(sigign ign "$AP" run -q -o "$tmp/chld.%p.json" --)
if [ "$nat" != "$und" ]; then
	bad "SIGCHLD ignored: natively '$nat', under run '$und'"
else
	echo "ok: SIGCHLD ignored by the caller: $nat"
fi

# ------------------------------------------------------------------ the terminal
# keys: alone on a pseudo-terminal, Ctrl-C, Ctrl-\ and a window-size change reach the
# foreground group: the program once each. jobs: in an interactive bash, Ctrl-Z stops
# the job (bash says so: audioprof stopped too), fg continues it, Ctrl-C.
for how in keys jobs; do
	d=$tmp/pty_$how
	mkdir -p "$d"
	python3 "$ILIB/ptyjob.py" $how "$BIN/sigcount" >"$d/native" 2>&1 ||
		{ bad "pty $how, native: $(cat "$d/native")"; continue; }
	python3 "$ILIB/ptyjob.py" $how "$AP" run -q -o "$d/p.%p.json" -- "$BIN/sigcount" \
		>"$d/run" 2>&1 || { bad "pty $how, under run: $(cat "$d/run")"; continue; }
	if [ $how = keys ]; then
		want="HUP=0 INT=1 QUIT=1 USR1=0 USR2=0 ALRM=0 TERM=0 CONT=0 WINCH=1 RTMIN+1=0 sum=0"
	else
		want="HUP=0 INT=1 QUIT=0 USR1=0 USR2=0 ALRM=0 TERM=0 CONT=1 WINCH=0 RTMIN+1=0 sum=0"
	fi
	if ! cmp -s "$d/native" "$d/run"; then
		bad "pty $how: native: $(cat "$d/native"); under run: $(cat "$d/run")"
	elif [ "$(cat "$d/native")" != "$want"$'\n'"exit 0" ]; then
		bad "pty $how: $(cat "$d/native"); expected $want, exit 0"
	elif ! one_profile "$d" >/dev/null; then
		bad "pty $how: no profile"
	else
		echo "ok: terminal ($how): $want"
	fi
done

# ------------------------------------------------------------------ real mpv
# Playing a WAV (to a null output, then to a JACK server) and stopped by a SIGTERM to its
# process group: mpv quits cleanly with status 4, and dies if a second SIGTERM comes.
mpv_case() { # NAME AO...
	local name=$1 d=$tmp/mpv_$1 m rc
	shift
	mkdir -p "$d"
	for m in native run; do
		if [ $m = native ]; then
			ownpg mpv --no-config --vo=null "$@" --msg-level=all=warn,cplayer=info \
				"$tmp/tone.wav" </dev/null >"$d/$m.out" 2>&1 &
		else
			ownpg "$AP" run -o "$d/p.%p.json" -- mpv --no-config --vo=null "$@" \
				--msg-level=all=warn,cplayer=info "$tmp/tone.wav" </dev/null >"$d/$m.out" 2>&1 &
		fi
		pid=$!
		if ! wait_for "$d/$m.out" "^AO: "; then
			kill -KILL -- "-$pid"; wait "$pid"
			bad "mpv $name, $m: no audio output opened: $(cat "$d/$m.out")"; return
		fi
		kill -TERM -- "-$pid"
		wait "$pid"
		echo $? >"$d/$m.rc"
	done
	rc=$(cat "$d/native.rc")
	[ "$rc" = 4 ] || { bad "mpv $name natively: exit $rc, expected 4: $(cat "$d/native.out")"; return; }
	[ "$(cat "$d/run.rc")" = "$rc" ] ||
		{ bad "mpv $name under run: exit $(cat "$d/run.rc"), natively $rc: $(cat "$d/run.out")"; return; }
	grep -q "Exiting... (Quit)" "$d/run.out" || { bad "mpv $name under run did not quit cleanly"; return; }
	f=$(one_profile "$d") || { bad "mpv $name: no profile: $(cat "$d/run.out")"; return; }
	check_py "$f" <<'PY' || { bad "mpv $name: profile $f: $(cat "$d/run.out")"; return; }
# (mpv's threads still run while its exit profile is written: totals need not be sums.)
p = load_checked(sys.argv[1], totals=False)
eq("audioprof.reason", reason(p), "exit")
done()
PY
	echo "ok: mpv ($name), group SIGTERM: exit $rc, $(grep "^AO: " "$d/run.out"), profile written"
}
if command -v mpv >/dev/null 2>&1; then
	sox -n -r 48000 -c 2 "$tmp/tone.wav" synth 30 sine 440 || fail "sox: cannot make the WAV"
	mpv_case null --ao=null
	[ $nfail -eq 0 ] || fail "$nfail case(s) failed"   # (start_jackd may skip the rest)
	. "$ILIB/jackd.sh"
	start_jackd
	export JACK_DEFAULT_SERVER=$jackd_name
	mpv_case jack --ao=jack --jack-port=system:playback_.*
else
	note "mpv not installed (Debian package mpv): its cases not run"
fi

[ $nfail -eq 0 ] || fail "$nfail case(s) failed"
echo ok
