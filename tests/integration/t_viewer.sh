#!/usr/bin/env bash
# t_viewer.sh - the viewer: `audioprof view` (its options, exit codes, the atomic write,
# the profile embedded safely and the page's CSP hashes), then the browser tests of
# tests/viewer/ (headless Chromium) on real profiles (tests/progs/rtcallback with
# callbacks, violations and a timeline; dsp_demo's when it is built; valgrind DHAT's
# own; tests/fixtures/audio_cpu.json for the CPU flame graph), a 100,000-site profile (gen_big.py) and a malicious one (gen_evil.py).
# Skips (77) only when there is no Chromium, after the command-line checks have run.
. "$(dirname "$0")/lib/common.sh"
need_preload
AUDIOPROF=$ROOT/analyzer/audioprof
VT=$TESTS_DIR/viewer
[ -x "$AUDIOPROF" ] || fail "analyzer not built: $AUDIOPROF"
build_prog rtcallback
make_tmp
d=$tmp/v
mkdir -p "$d"

# ------------------------------------------------------------------ profiles
env AUDIOPROF_OUT="$d/rt.json" AUDIOPROF_SAMPLE=10ms LD_PRELOAD="$PRELOAD" "$BIN/rtcallback" 60 ||
	fail "rtcallback failed under the preload"
check_py "$d/rt.json" <<'PY' || exit 1
p = load_checked(sys.argv[1])
ap = p["audioprof"]
cb = ap["callbacks"]
ok(len(cb) == 1 and cb[0]["count"] == 60, "expected one source with 60 callbacks: %r" % cb)
kinds = sorted(v["kind"] for v in ap["violations"])
ok(kinds == ["alloc", "free", "sleep"], "violations %r" % kinds)
ok(len(ap.get("timeline", {}).get("t_ns", [])) >= 2, "no timeline")
done()
PY
if [ -x "$ROOT/dsp_demo/dsp_demo" ]; then
	env AUDIOPROF_OUT="$d/dsp.json" AUDIOPROF_SAMPLE=50ms LD_PRELOAD="$PRELOAD" \
		"$ROOT/dsp_demo/dsp_demo" --duration 1 --inject alloc:20 >/dev/null 2>"$tmp/dsp.err" ||
		{ cat "$tmp/dsp.err"; fail "dsp_demo failed under the preload"; }
else
	note "dsp_demo not built: its profile is not tested"
fi
if command -v valgrind >/dev/null 2>&1; then
	valgrind -q --tool=dhat --dhat-out-file="$d/dhat.json" "$BIN/rtcallback" 3 >/dev/null 2>&1 ||
		{ note "valgrind --tool=dhat failed: no DHAT file tested"; rm -f "$d/dhat.json"; }
fi
cp "$TESTS_DIR/fixtures/audio_cpu.json" "$d/cpu.json"   # dsp_demo's, with CPU samples
python3 "$VT/gen_big.py" "$d/big.json" 100000 || fail "gen_big.py failed"
python3 "$VT/gen_evil.py" "$d/rt.json" "$d/evil.json" || fail "gen_evil.py failed"

# ------------------------------------------------------------------ audioprof view
for f in "$d"/*.json; do
	n=${f%.json}
	"$AUDIOPROF" view "$f" 2>"$tmp/err" || { cat "$tmp/err"; fail "audioprof view $f"; }
	grep -qxF "audioprof: viewer written to $n.html" "$tmp/err" || { cat "$tmp/err"; fail "view $f: no 'written to' line"; }
	[ -s "$n.html" ] || fail "no $n.html"
done
ls "$d" | grep -q '\.tmp\.' && fail "temporary files left: $(ls "$d")"

# The embedded profile parses back to the same object, nothing in it can end its element,
# and the page's CSP hashes are those of its inlined script and style.
python3 - "$d/evil.json" "$d/evil.html" <<'PY' || fail "the embedded profile is not safe or not intact"
import base64, hashlib, json, re, sys
prof = json.load(open(sys.argv[1], encoding="utf-8"))
page = open(sys.argv[2], encoding="utf-8").read()
m = re.search(r'<script type="application/json" id="audioprof-data"([^>]*)>(.*?)</script>', page, re.S)
assert m, "no data element"
data = m.group(2)
assert "<" not in data and "\u2028" not in data and "\u2029" not in data, "raw '<' or U+2028/9 in the data"
assert json.loads(data) == prof, "the embedded JSON differs from the profile"
assert m.group(1) == ' data-name="evil.json"', m.group(1)
assert page.count("</script>") == 2, "expected 2 </script>, found %d" % page.count("</script>")
csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]*)"', page).group(1)
js = re.search(r"<script>(.*?)</script>", page, re.S).group(1)
css = re.search(r"<style>(.*?)</style>", page, re.S).group(1)
for what, text in (("script", js), ("style", css)):
    h = base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()
    assert "%s-src 'sha256-%s'" % (what, h) in csp, "CSP %r lacks the %s hash %s" % (csp, what, h)
assert "'self'" not in csp.split("connect-src")[0] and "unsafe" not in csp, csp
PY

# The build-time tool refuses a script that would end its inlined element.
GEN=$ROOT/analyzer/obj/gen_viewer
if [ -x "$GEN" ]; then
	cp -r "$ROOT/viewer" "$tmp/vw"
	echo 'const s = "</script>";' >>"$tmp/vw/js/util.js"
	"$GEN" "$tmp/vw" "$tmp/vp.c" 2>"$tmp/err" && fail "gen_viewer inlined a script containing </script>"
	grep -q "util.js" "$tmp/err" || { cat "$tmp/err"; fail "gen_viewer's message does not name the file"; }
fi

# Options and exit status.
"$AUDIOPROF" view -o "$tmp/o.html" "$d/rt.json" 2>/dev/null || fail "view -o"
[ "$(stat -c %a "$tmp/o.html")" = "$(printf '%o' $((0666 & ~$(umask))))" ] || fail "mode $(stat -c %a "$tmp/o.html")"
"$AUDIOPROF" view -o - "$d/rt.json" >"$tmp/stdout.html" 2>"$tmp/err" || fail "view -o -"
cmp -s "$tmp/stdout.html" "$d/rt.html" || fail "view -o - differs from the file it writes"
[ -s "$tmp/err" ] && { cat "$tmp/err"; fail "view -o - printed on stderr"; }
"$AUDIOPROF" view -o "$tmp/stdin.html" - <"$d/rt.json" 2>/dev/null || fail "view - (standard input)"
grep -q 'data-name="standard input"' "$tmp/stdin.html" || fail "standard input not named"
printf '#!/bin/sh\necho "$1" >"%s"\n' "$tmp/opened" >"$tmp/browser.sh"
chmod +x "$tmp/browser.sh"
BROWSER=$tmp/browser.sh "$AUDIOPROF" view --open -o "$tmp/open.html" "$d/rt.json" 2>/dev/null || fail "view --open"
for _ in 1 2 3 4 5 6 7 8 9 10; do [ -s "$tmp/opened" ] && break; sleep 0.2; done
[ "$(cat "$tmp/opened" 2>/dev/null)" = "$tmp/open.html" ] || fail "--open did not start \$BROWSER on the page"
"$AUDIOPROF" view --help | grep -q '^Usage: audioprof view' || fail "view --help"

expect_status() {   # expect_status N ARGS...: audioprof ARGS exits N and says why
	local want=$1 rc
	shift
	"$AUDIOPROF" "$@" >"$tmp/out" 2>"$tmp/err" </dev/null
	rc=$?
	[ $rc -eq "$want" ] || { cat "$tmp/err"; fail "audioprof $* exited $rc, expected $want"; }
	[ -s "$tmp/err" ] || fail "audioprof $*: no message"
}
echo '{"dhatFileVersion": 2}' >"$tmp/bad.json"
expect_status 3 view "$tmp/bad.json"
grep -q "bad.json" "$tmp/err" || fail "the message does not name the file: $(cat "$tmp/err")"
[ -e "$tmp/bad.html" ] && fail "a page was written for an invalid profile"
expect_status 3 view "$tmp/missing.json"
expect_status 3 view -o "$tmp/no/such/dir/x.html" "$d/rt.json"
expect_status 2 view
expect_status 2 view "$d/rt.json" "$d/rt.json"
expect_status 2 view --bogus "$d/rt.json"
expect_status 2 view - <"$d/rt.json"
ls "$tmp" | grep -q '\.tmp\.' && fail "temporary files left: $(ls "$tmp")"
note "audioprof view: options, exit codes and the embedding are right"

# ------------------------------------------------------------------ the browser
bash "$VT/run.sh" "$d"
rc=$?
[ $rc -eq 77 ] && skip "no Chromium: the browser tests did not run (the command-line checks passed)"
[ $rc -eq 0 ] || fail "viewer browser tests failed"
echo "ok"
