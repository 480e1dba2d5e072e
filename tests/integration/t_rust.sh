#!/usr/bin/env bash
# t_rust.sh - Rust programs built with Debian's rustc and cargo (tests/progs/rust/,
# built by its build.sh into tests/progs/bin/rust/ and kept there). Rust's std runtime
# calls pthread_getattr_np on the main thread before main and on every thread it
# spawns; glibc allocates inside that call while it holds the thread's lock, so a
# profiler that calls it on a thread's first allocation hangs every Rust program.
#   - hello: a hello world. Same output and exit status as natively, within a timeout.
#   - inline, inline_v0: inline.rs built optimised with legacy and v0 symbol mangling;
#     the allocation in an inlined generic helper shows as that helper's frame at its
#     line, then the caller's frame at the call's line (DWARF inlined instances, which
#     libdw's dwarf_getscopes missed on rustc's output), names demangled without hash,
#     and audioprof report shows it and nothing of the profiler's own files.
#   - cpal_null: a cpal 0.10 output stream (ALSA backend, Debian's librust-cpal-dev)
#     on ALSA's null PCM (the default PCM of a HOME of the test's own, ~/.asoundrc),
#     event loop on a thread of its own ("cpal-loop"); its data callback makes exactly
#     one 3000-byte Vec allocation per call (scratch_in_callback) and the program
#     prints its own count of calls and allocations. Same stdout, stderr and exit status
#     as natively; the profile has exactly the program's count of blocks and bytes at
#     scratch_in_callback; all of them inside ALSA cycles of the "default" PCM, as
#     violations charged to that callback source (the first call too: it comes after
#     the loop's first poll + snd_pcm_poll_descriptors_revents, before the first
#     write, and that wait claims the PCM for the thread). libasound's own locks in
#     snd_pcm_poll_descriptors_revents and snd_pcm_avail are recorded as libasound's,
#     none of the program's violations has libasound on its stack, and the source's
#     rt_unsafe counts only the program's own (its last callback prints and exits).
# Skips when rustc, cargo or librust-cpal-dev are missing, or ALSA's null PCM is.
. "$(dirname "$0")/lib/common.sh"
need_preload
make_tmp
RBIN=$BIN/rust
"$PROGS/rust/build.sh" "$RBIN" >"$tmp/build.log" 2>&1
rc=$?
[ $rc -eq 77 ] && skip "$(tail -1 "$tmp/build.log")"
[ $rc -eq 0 ] || { cat "$tmp/build.log"; fail "cannot build the Rust programs"; }
CPAL=$RBIN/cpal_null/target/debug/cpal_null

# run_both NAME CMD...: CMD natively and under the preload (profile in $tmp/NAME/), each
# killed after 60 s; a hang, or any difference in stdout, stderr or status, fails.
run_both() {
	local name=$1 nrc rc
	shift
	timeout -k 2 60 "$@" >"$tmp/$name.native.out" 2>"$tmp/$name.native.err" </dev/null
	nrc=$?
	mkdir -p "$tmp/$name"
	timeout -k 2 60 env AUDIOPROF_OUT="$tmp/$name/p.%p.json" LD_PRELOAD="$PRELOAD" "$@" \
		>"$tmp/$name.out" 2>"$tmp/$name.err" </dev/null
	rc=$?
	[ $rc -ne 124 ] && [ $rc -ne 137 ] || fail "$name: hung under the preload (killed after 60 s)"
	[ $rc -eq $nrc ] || { cat "$tmp/$name.err"; fail "$name: exit $rc under the preload, natively $nrc"; }
	cmp -s "$tmp/$name.native.out" "$tmp/$name.out" ||
		{ diff "$tmp/$name.native.out" "$tmp/$name.out"; fail "$name: stdout differs"; }
	cmp -s "$tmp/$name.native.err" "$tmp/$name.err" ||
		{ diff "$tmp/$name.native.err" "$tmp/$name.err"; fail "$name: stderr differs"; }
}

# ------------------------------------------------------------------ hello world
run_both hello "$RBIN/hello"
grep -qx "hello from rust" "$tmp/hello.out" || fail "hello: unexpected output: $(cat "$tmp/hello.out")"
f=$(one_profile "$tmp/hello") || exit 1
check_py "$f" <<'PY' || exit 1
p = load_checked(sys.argv[1], totals=False)
eq("audioprof.reason", p.get("audioprof", {}).get("reason"), "exit")
done()
PY
note "hello: no hang, same output"

# ------------------------------------------------------------------ inlined frames, demangled names
# inline.rs built with -O, legacy and v0 mangling: its Vec allocation sits in scratch()
# (ALLOC_LINE), inlined into render() (CALL_LINE), with std's Vec code inlined into it.
alloc_line=$(grep -n '// ALLOC_LINE' "$PROGS/rust/inline.rs" | cut -d: -f1)
call_line=$(grep -n '// CALL_LINE' "$PROGS/rust/inline.rs" | cut -d: -f1)
for v in legacy v0; do
	bin=$RBIN/inline
	[ $v = v0 ] && bin=$RBIN/inline_v0
	run_both "inline_$v" "$bin"
	grep -qx "inline: renders=5 samples=5010" "$tmp/inline_$v.out" ||
		fail "inline_$v: unexpected output: $(cat "$tmp/inline_$v.out")"
	f=$(one_profile "$tmp/inline_$v") || exit 1
	check_py "$f" "$v" "$alloc_line" "$call_line" <<'PY' || exit 1
import re
p = load_checked(sys.argv[1], totals=False)
v, alloc_line, call_line = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
# rustc-demangle's alternate format: legacy paths keep the impl's generic parameter,
# v0 names the instance and writes inherent impls as <Type>
scratch, render = {
    "legacy": ("inline::dsp::Voice<T>::scratch", "inline::dsp::Voice<T>::render"),
    "v0": ("<inline::dsp::Voice<f32>>::scratch", "<inline::dsp::Voice<f32>>::render"),
}[v]
pps = [pp for pp in p["pps"] if any(func_name(f) == render for f in frames(p, pp))]
eq("pps through %s" % render, len(pps), 1)
if pps:
    fr = frames(p, pps[0])
    eq("blocks from render (the program renders 5 times)", pps[0].get("tbk"), 5)
    k = [func_name(f) for f in fr].index(render)
    eq("the frame inside render, at the inlined helper's line",
       re.sub(r"^0x[0-9A-F]+: ", "", fr[k - 1]), "%s (inline.rs:%d)" % (scratch, alloc_line))
    eq("render's frame, at the call of the inlined helper",
       re.sub(r"^0x[0-9A-F]+: ", "", fr[k]), "%s (inline.rs:%d)" % (render, call_line))
    ok(any(func_name(f) == "inline::main" for f in fr[k + 1:]), "inline::main calls render: %s" % fr)
    ok(fr[k - 1].split(":")[0] == fr[k].split(":")[0], "the inlined frame shares render's address")
# no mangled name and no legacy hash left anywhere in the profile
bad = [f for f in p["ftbl"] if re.search(r": _(ZN|R)[0-9A-Za-z_]|::h[0-9a-f]{16}\b|17h[0-9a-f]{16}E", f)]
eq("mangled or hashed Rust names", bad[:3], [])
done()
PY
	note "inline ($v mangling): inlined frame at inline.rs:$alloc_line, called at inline.rs:$call_line, names demangled"
done
"$ROOT/analyzer/audioprof" report --frames 12 "$(one_profile "$tmp/inline_legacy")" >"$tmp/inline.report" ||
	fail "audioprof report failed on the inline profile"
grep -q "inline::dsp::Voice<T>::scratch (inline.rs:$alloc_line)" "$tmp/inline.report" ||
	{ cat "$tmp/inline.report"; fail "the report does not show the inlined helper at inline.rs:$alloc_line"; }
if grep -n "shim\.c\|rtcheck\.c\|libaudioprof" "$tmp/inline.report"; then
	fail "the report names the profiler's own code"
fi

# ------------------------------------------------------------------ cpal on the null PCM
aplay -q -D null -d 1 /dev/zero >/dev/null 2>&1 </dev/null || skip "ALSA's null PCM is not available here"
mkdir -p "$tmp/home"
printf 'pcm.!default {\n\ttype null\n}\n' >"$tmp/home/.asoundrc"
HOME=$tmp/home run_both cpal "$CPAL"
read -r calls allocs bytes < <(sed -n 's/^cpal_null: callbacks=\([0-9]*\) allocs=\([0-9]*\) bytes=\([0-9]*\)$/\1 \2 \3/p' "$tmp/cpal.out")
[ -n "${calls:-}" ] || { cat "$tmp/cpal.out" "$tmp/cpal.err"; fail "cpal_null printed no counts"; }
[ "$calls" -gt 1 ] && [ "$allocs" -eq "$calls" ] || fail "cpal_null: callbacks=$calls allocs=$allocs"
note "cpal_null: $calls callbacks, $allocs allocations, $bytes bytes (its own counts)"
f=$(one_profile "$tmp/cpal") || exit 1
check_py "$f" "$calls" "$allocs" "$bytes" <<'PY' || exit 1
from audiochk import *
p = load_audio(sys.argv[1], totals=False)
calls, allocs, nbytes = (int(a) for a in sys.argv[2:5])
site = "scratch_in_callback"
def has_site(fr):
    return any(site in func_name(f) for f in fr)
pps = [pp for pp in p.get("pps", []) if has_site(frames(p, pp))]
eq("pps with %s" % site, len(pps), 1)
if pps:
    pp = pps[0]
    eq("%s: tbk (blocks, as the program counted)" % site, pp.get("tbk"), allocs)
    eq("%s: tb (bytes, as the program counted)" % site, pp.get("tb"), nbytes)
    eq("%s: cbk (blocks inside ALSA cycles)" % site, pp.get("cbk"), allocs)
    eq("%s: cbb" % site, pp.get("cbb"), nbytes)
s = one_source(p, "alsa", "default")
eq("source thread", s.get("thread"), "cpal-loop")
vs = [v for v in source_violations(p, s) if v.get("kind") == "alloc" and has_site(frames(p, v))]
eq("alloc violations at %s" % site, [(v.get("call"), v.get("count"), v.get("bytes")) for v in vs],
   [("malloc", allocs, nbytes)])
others = [v for v in source_violations(p, s) if not has_site(frames(p, v))]
own = [v for v in others if not v.get("library")]
in_alsa = [v for v in own if any(f.startswith("snd_") for f in v_funcs(p, v))]
ok(not in_alsa, "cpal: libasound's calls counted against the program:%s" %
   describe_violations(p, in_alsa))
ok(any(v.get("library") == "libasound" and v.get("kind") == "lock" for v in others),
   "cpal: libasound's locks not recorded as libasound's:%s" % describe_violations(p, others))
eq("cpal: rt_unsafe (the program's own calls)", s.get("rt_unsafe"),
   sum(v.get("count", 0) for v in own if v.get("kind") not in ("alloc", "free", "trylock")))
info("cpal: %d cycles of %d frames; other calls inside cycles:%s" % (
    s.get("count", 0), s.get("frames", 0), describe_violations(p, others)))
done()
PY
# The program's own unsafe calls are few (its exit from the last callback); with
# libasound's (two locks per cycle) they are more than the cycles.
"$ROOT/analyzer/audioprof" check --max-callback-allocs 1000000 --max-rt-unsafe "$calls" "$f" >"$tmp/cpal.check" 2>&1 ||
	{ cat "$tmp/cpal.check"; fail "cpal: check --max-rt-unsafe $calls fails (libasound's locks counted?)"; }
"$ROOT/analyzer/audioprof" check --max-callback-allocs 1000000 --max-rt-unsafe "$calls" --count-library-calls "$f" >"$tmp/cpal.check2" 2>&1
[ $? -eq 1 ] || { cat "$tmp/cpal.check2"; fail "cpal: check --count-library-calls does not count libasound's locks"; }
# The advice names the program's line (the Vec::with_capacity call), not std's
# alloc.rs inlined into it, and no mangled name.
vec_line=$(grep -n 'Vec::with_capacity(SCRATCH)' "$PROGS/rust/cpal_null/main.rs" | cut -d: -f1)
"$ROOT/analyzer/audioprof" report "$f" >"$tmp/cpal.report" || fail "audioprof report failed on the cpal profile"
"$ROOT/analyzer/audioprof" report --json "$f" >"$tmp/cpal.report.json" || fail "audioprof report --json failed"
python3 - "$tmp/cpal.report.json" "$vec_line" <<'PY' || { sed -n '/^Advice/,$p' "$tmp/cpal.report"; fail "cpal advice does not name scratch_in_callback() at main.rs:$vec_line"; }
import json, sys
r = json.load(open(sys.argv[1]))
want = "allocations per cycle in cpal_null::scratch_in_callback() at main.rs:%s " % sys.argv[2]
sys.exit(0 if any(a["rule"] == "callback-alloc" and want in a["text"] for a in r["advice"]) else 1)
PY
if grep -n '_ZN\|shim\.c\|rtcheck\.c\|libaudioprof' "$tmp/cpal.report"; then
	fail "the cpal report names a mangled name or the profiler"
fi
if sed -n '/^Advice/,$p' "$tmp/cpal.report" | grep -n 'alloc\.rs'; then
	fail "the cpal advice names std's alloc.rs"
fi
note "cpal advice: scratch_in_callback() at main.rs:$vec_line"
echo "PASS"
