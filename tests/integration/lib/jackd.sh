# jackd.sh - a private JACK server for an integration test (source after common.sh and
# make_tmp). start_jackd [PERIOD] starts `jackd -n NAME --no-realtime -d dummy -r 48000
# -p PERIOD` (default 512) with a name unique to this test run, exports
# JACK_DEFAULT_SERVER=NAME for the clients, waits until it accepts clients, and sets a
# trap that stops it (by its pid) and removes $tmp on exit. Skips (77) when jackd is not
# installed or cannot start here.

jackd_pid=
jackd_name=

stop_jackd() {
	if [ -n "$jackd_pid" ] && kill -0 "$jackd_pid" 2>/dev/null; then
		kill "$jackd_pid" 2>/dev/null
		for _ in $(seq 1 25); do kill -0 "$jackd_pid" 2>/dev/null || break; sleep 0.2; done
		kill -9 "$jackd_pid" 2>/dev/null
		wait "$jackd_pid" 2>/dev/null
	fi
	jackd_pid=
}

start_jackd() {
	local period=${1:-512} ready=0
	command -v jackd >/dev/null 2>&1 || skip "jackd not installed (Debian package jackd2)"
	jackd_name=aptest_$$_$RANDOM
	trap 'stop_jackd; rm -rf "$tmp"' EXIT
	JACK_NO_AUDIO_RESERVATION=1 jackd -n "$jackd_name" --no-realtime -d dummy -r 48000 \
		-p "$period" >"$tmp/jackd.log" 2>&1 </dev/null &
	jackd_pid=$!
	for _ in $(seq 1 50); do
		if ! kill -0 "$jackd_pid" 2>/dev/null; then
			cat "$tmp/jackd.log"
			jackd_pid=
			skip "jackd could not start here (see its log above)"
		fi
		if command -v jack_wait >/dev/null 2>&1; then
			[ "$(jack_wait -s "$jackd_name" -c 2>/dev/null)" = running ] && { ready=1; break; }
		elif jack_lsp -s "$jackd_name" >/dev/null 2>&1; then
			ready=1; break
		fi
		sleep 0.2
	done
	[ $ready = 1 ] || { cat "$tmp/jackd.log"; fail "jackd '$jackd_name' not ready after 10 s"; }
	export JACK_DEFAULT_SERVER=$jackd_name
	note "jackd '$jackd_name' (pid $jackd_pid, period $period) is up"
}

# build_audio_prog OUT SRC [CFLAGS/LIBS...]: compile a test program of tests/progs/audio
# into $tmp/bin/OUT with the flags of tests/progs (exact stacks, no folding); fails the test if
# it does not build.
build_audio_prog() {
	local out=$1 src=$2 cc=gcc flags=$PROG_CFLAGS
	shift 2
	case $src in *.cc) cc=g++ flags=$PROG_CXXFLAGS ;; esac
	mkdir -p "$tmp/bin"
	$cc $flags -o "$tmp/bin/$out" "$PROGS/audio/$src" "$@" >"$tmp/build_$out.log" 2>&1 ||
		{ cat "$tmp/build_$out.log"; fail "cannot build $out from tests/progs/audio/$src"; }
}
