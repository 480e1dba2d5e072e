#!/usr/bin/env bash
# t_dlsym.sh - the preload's dlsym hook (preload/entry/audio_dl.c) changes no answer a program
# gets from dlsym except audio wrappers looked up in an audio library's own handle:
#   - dlsym(RTLD_NEXT, ...) stays relative to the real caller (a program, and a preloaded
#     library before or after libaudioprof.so), so the hook must be a pure tail jump;
#   - RTLD_DEFAULT and dlopen(NULL) lookups give what glibc gives (our exported names
#     come first anyway), and calling a wrapper whose library is not loaded fails
#     cleanly instead of recursing into itself;
#   - dlsym(dlopen("libjack.so.0"), "jack_set_process_callback") gives our wrapper, a
#     helper (jack_get_sample_rate) and other names give libjack's own;
#   - two libraries defining jack_set_process_callback (libjack, libdlnext.so): the one
#     looked up first gets our wrapper, the other its own function (the wrapper calls
#     the first one's and must never get the other's calls), both orders;
#   - dlerror() still reports a failed lookup, and stays clear after a successful lookup
#     of a hooked name in a library that lacks the wrapper's helpers (libdlnext.so);
#   - on x86-64, the disassembly of dlsym has the indirect tail jump.
# tests/progs/dlsym_probe.c, tests/progs/libdlnext.c.
. "$(dirname "$0")/lib/common.sh"
need_preload
build_prog dlsym_probe libdlnext
make_tmp

probe=$BIN/dlsym_probe
"$probe" >"$tmp/native" 2>&1 || { cat "$tmp/native"; fail "dlsym_probe (native) failed"; }
LD_PRELOAD=$PRELOAD AUDIOPROF_OUT="$tmp/p.%p.json" "$probe" >"$tmp/pre" 2>&1 ||
	{ cat "$tmp/pre"; fail "dlsym_probe under the preload failed"; }

val() { awk -v k="$1" '$1 == k { print $2 }' "$2"; }
expect() { # FILE KEY VALUE
	local got
	got=$(val "$2" "$1")
	[ "$got" = "$3" ] || { cat "$1"; fail "$(basename "$1"): $2 is '$got', expected '$3'"; }
}

libc=$(val next_malloc "$tmp/native")
case $libc in libc.so*) ;; *) cat "$tmp/native"; fail "native: malloc not in libc? ($libc)" ;; esac
expect "$tmp/native" self_jack_spc null
expect "$tmp/native" missing_error 1

expect "$tmp/pre" next_malloc libaudioprof.so
expect "$tmp/pre" default_malloc libaudioprof.so
expect "$tmp/pre" next_is_default 1
expect "$tmp/pre" self_jack_spc libaudioprof.so
expect "$tmp/pre" self_jack_call -1
expect "$tmp/pre" missing_error 1
expect "$tmp/native" fake_spc libdlnext.so
expect "$tmp/native" fake_call 42
expect "$tmp/pre" fake_spc libaudioprof.so
expect "$tmp/pre" fake_noerror 1
expect "$tmp/pre" fake_call 42
if [ -n "$(val jack_spc "$tmp/native")" ]; then
	expect "$tmp/native" jack_spc libjack.so.0
	# libdlnext.so was looked up first: the API's wrappers call its function
	expect "$tmp/pre" jack_spc libjack.so.0
	expect "$tmp/pre" jack_spc_again 1
	expect "$tmp/pre" jack_rate libjack.so.0
	expect "$tmp/pre" jack_open libjack.so.0
	LD_PRELOAD=$PRELOAD AUDIOPROF_OUT="$tmp/p2.%p.json" "$probe" jack-first >"$tmp/pre2" 2>&1 ||
		{ cat "$tmp/pre2"; fail "dlsym_probe jack-first under the preload failed"; }
	expect "$tmp/pre2" jack_spc libaudioprof.so
	expect "$tmp/pre2" jack_spc_again 1
	expect "$tmp/pre2" jack_rate libjack.so.0
	expect "$tmp/pre2" jack_open libjack.so.0
	expect "$tmp/pre2" fake_spc libdlnext.so
	expect "$tmp/pre2" fake_noerror 1
	expect "$tmp/pre2" fake_call 42
else
	note "libjack.so.0 not loadable: the explicit-handle swap is not checked here (t_jack.sh does)"
fi

# A preloaded interposer asking for the next malloc after itself.
lib=$BIN/libdlnext.so
got=$(LD_PRELOAD="$lib $PRELOAD" AUDIOPROF_OUT="$tmp/q.%p.json" /bin/true 2>&1)
[ "$got" = "lib_next_malloc libaudioprof.so" ] || fail "library before the preload: '$got', expected libaudioprof.so"
got=$(LD_PRELOAD="$PRELOAD $lib" AUDIOPROF_OUT="$tmp/q.%p.json" /bin/true 2>&1)
[ "$got" = "lib_next_malloc $libc" ] || fail "library after the preload: '$got', expected $libc"

if [ "$(uname -m)" = x86_64 ] && command -v objdump >/dev/null 2>&1; then
	objdump -d --no-show-raw-insn "$PRELOAD" | awk '/<dlsym>:/,/^$/' >"$tmp/dis"
	grep -q 'jmp  *\*%rax' "$tmp/dis" || { cat "$tmp/dis"; fail "dlsym: no indirect tail jump"; }
fi
echo "PASS"
