#!/usr/bin/env bash
# t_readable.sh - frames and advice a user can act on:
#  - cxxstatic (tests/progs/cxxstatic.cc, -static-libstdc++: the process has no
#    libstdc++ and no __cxa_demangle to look up): its frames are demangled C++ names,
#    templates and namespaces, with parameters, at the known lines;
#  - rtunsafe all (a marked region making every kind of real-time-unsafe call): the
#    profile's frame 0 is the function the program called, never the profiler's
#    wrapper source (shim.c, rtcheck.c); `audioprof report` names no file of the
#    profiler anywhere, and its advice names the program's function and line
#    ("in v_mutex() at rtunsafe.c:90"), past glibc's internals (_IO_file_doallocate).
. "$(dirname "$0")/lib/common.sh"
need_preload
make_tmp
AP=$ROOT/analyzer/audioprof
[ -x "$AP" ] || skip "analyzer not built: $AP"

# ------------------------------------------------------------------ C++ without libstdc++
# Built here with the flags of tests/Makefile's rule (build_prog knows only the plain one).
mkdir -p "$BIN"
if [ ! -x "$BIN/cxxstatic" ] || [ "$PROGS/cxxstatic.cc" -nt "$BIN/cxxstatic" ]; then
	${CXX:-c++} $PROG_CXXFLAGS -static-libstdc++ -static-libgcc -o "$BIN/cxxstatic" \
		"$PROGS/cxxstatic.cc" $PROG_LIBS || fail "cannot build cxxstatic"
fi
ldd "$BIN/cxxstatic" | grep -q 'libstdc++' && fail "cxxstatic loads libstdc++ (the case to test is without)"
grow_line=$(grep -n '// GROW_LINE' "$PROGS/cxxstatic.cc" | cut -d: -f1)
call_line=$(grep -n '// CALL_LINE' "$PROGS/cxxstatic.cc" | cut -d: -f1)
"$BIN/cxxstatic" >"$tmp/cxx.native.out" || fail "cxxstatic failed natively"
mkdir "$tmp/cxx"
AUDIOPROF_OUT="$tmp/cxx/p.json" LD_PRELOAD="$PRELOAD" "$BIN/cxxstatic" >"$tmp/cxx.out" ||
	fail "cxxstatic failed under the preload"
cmp -s "$tmp/cxx.native.out" "$tmp/cxx.out" || fail "cxxstatic: stdout differs"
check_py "$tmp/cxx/p.json" "$grow_line" "$call_line" "$BIN/cxxstatic" <<'PY' || exit 1
import re
p = load_checked(sys.argv[1])
grow_line, call_line = int(sys.argv[2]), int(sys.argv[3])
grow = "dsp::detail::Ring<float, 2>::grow(unsigned long)"
prepare = "unsigned long dsp::prepare<float>(dsp::detail::Ring<float, 2>&, unsigned long)"
pps = [pp for pp in p["pps"] if any(func_name(f) == grow for f in frames(p, pp))]
eq("pps through %s" % grow, len(pps), 1)
if pps:
    fr = [re.sub(r"^0x[0-9A-F]+: ", "", f) for f in frames(p, pps[0])]
    eq("blocks from grow (3 calls)", pps[0].get("tbk"), 3)
    k = [func_name(f) for f in fr].index(grow)
    eq("grow's frame", fr[k], "%s (cxxstatic.cc:%d)" % (grow, grow_line))
    eq("its caller", fr[k + 1], "%s (cxxstatic.cc:%d)" % (prepare, call_line))
    # libstdc++ is linked in: operator new calls malloc, both named from the symbol table
    eq("frame 0", func_name(fr[0]), "malloc")
    ok(any(func_name(f).startswith("operator new") and f.endswith("(in %s)" % sys.argv[4])
           for f in fr[1:k]), "operator new, demangled, in the program: %s" % fr[:k])
bad = [f for f in p["ftbl"] if re.search(r": _Z[A-Za-z0-9_]", f)]
eq("mangled C++ names", bad[:3], [])
done()
PY
note "cxxstatic: demangled without libstdc++, grow() at cxxstatic.cc:$grow_line"

# ------------------------------------------------------------------ report names the program
build_prog rtunsafe
mkdir "$tmp/rt" "$tmp/rt.scratch"
AUDIOPROF_OUT="$tmp/rt/p.%p.json" LD_PRELOAD="$PRELOAD" "$BIN/rtunsafe" all "$tmp/rt.scratch" \
	>/dev/null 2>"$tmp/rt.err" || { cat "$tmp/rt.err"; fail "rtunsafe all failed under the preload"; }
f=$(ls -S "$tmp"/rt/p.*.json | head -n 1)   # the main process's (children exec or exit early)
check_py "$f" <<'PY' || exit 1
p = load_checked(sys.argv[1], totals=False)
own = [s for s in p["ftbl"] if "shim.c" in s or "rtcheck.c" in s]
eq("frames naming the wrapper's source", own[:3], [])
firsts = {p["ftbl"][v["fs"][0]] for v in p["audioprof"].get("violations", []) if v.get("fs")}
ok(firsts and all("(in " in s and "libaudioprof" in s for s in firsts),
   "every violation's frame 0 is the called function, in the profiler: %s" % sorted(firsts)[:3])
done()
PY
"$AP" report --frames 20 "$f" >"$tmp/report.txt" || fail "audioprof report failed"
if grep -n 'shim\.c\|rtcheck\.c\|libaudioprof' "$tmp/report.txt"; then
	fail "the report names the profiler's own code"
fi
lock_line=$(grep -n 'pthread_mutex_lock(&mtx) == 0' "$PROGS/rtunsafe.c" | head -n 1 | cut -d: -f1)
grep -q "calls to pthread_mutex_lock() per cycle in v_mutex() at rtunsafe.c:$lock_line" "$tmp/report.txt" ||
	{ sed -n '/^Advice/,$p' "$tmp/report.txt"; fail "the lock advice does not name v_mutex() at rtunsafe.c:$lock_line"; }
if sed -n '/^Advice/,$p' "$tmp/report.txt" | grep -E ' in _[_A-Z][A-Za-z0-9_]*\(\) at '; then
	fail "advice names a C library internal function"
fi
note "report: advice names v_mutex() at rtunsafe.c:$lock_line, no frame of the profiler"
echo "PASS"
