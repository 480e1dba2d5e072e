#!/usr/bin/env bash
# t_symcache.sh - the persistent symbol cache (AUDIOPROF_SYMCACHE): a first run resolves
# frames from DWARF and writes one private file per module build ID; a second run
# takes every frame from the files (audioprof.symbols.dwarf == 0, and symtab == 0:
# frames named from a symbol table, such as crt1's _start, are cached too) and gives
# the very same frames; "off" writes nothing; the default directory follows
# XDG_CACHE_HOME, then HOME; damaged files are ignored and rewritten; a cache that
# cannot be written costs one message and nothing else.
. "$(dirname "$0")/lib/common.sh"
need_preload
build_prog exact
make_tmp

run() {   # run DIR [ENV...]: exact under the preload, profile in DIR/p.json
	local d=$1
	shift
	mkdir -p "$d"
	env -u XDG_CACHE_HOME "$@" AUDIOPROF_OUT="$d/p.json" LD_PRELOAD="$PRELOAD" "$BIN/exact" \
		>"$d/out" 2>"$d/err"
	echo $? >"$d/rc"
}

# What the frames say, without the (randomized) addresses, and the symbols counters.
frames_py='
import json, re, sys
p = json.load(open(sys.argv[1]))
print("\n".join(sorted(re.sub(r"^0x[0-9A-F]+: ", "", f) for f in p["ftbl"])))
'
stats() {
	python3 -c 'import json, sys; s = json.load(open(sys.argv[1]))["audioprof"]["symbols"]
print(s["cached"], s["dwarf"], s["symtab"])' "$1"
}

# ------------------------------------------------------------------ cold, then warm
run "$tmp/ref" AUDIOPROF_SYMCACHE=off
[ "$(cat "$tmp/ref/rc")" = 0 ] || fail "exact failed without a cache"
python3 -c "$frames_py" "$tmp/ref/p.json" >"$tmp/ref/frames"
read -r c d s < <(stats "$tmp/ref/p.json")
note "off: cached $c, dwarf $d, symtab $s"
[ "$c" = 0 ] && [ "$d" -gt 0 ] || fail "AUDIOPROF_SYMCACHE=off: expected DWARF frames and none cached"

cache=$tmp/cache
run "$tmp/cold" AUDIOPROF_SYMCACHE="$cache"
read -r c d s < <(stats "$tmp/cold/p.json")
note "cold: cached $c, dwarf $d, symtab $s"
[ "$c" = 0 ] && [ "$d" -gt 0 ] || fail "cold run: expected DWARF frames and none cached"
n=$(ls "$cache"/*.sym 2>/dev/null | wc -l)
[ "$n" -ge 1 ] || fail "no cache file written in $cache"
[ "$(stat -c %a "$cache")" = 700 ] || fail "cache directory mode $(stat -c %a "$cache"), expected 700"
for f in "$cache"/*.sym; do
	[ "$(head -n 1 "$f")" = "audioprof-symcache 3" ] || fail "$f: bad header"
	case $(basename "$f") in [0-9a-f]*[0-9a-f].sym) ;; *) fail "unexpected file name $f" ;; esac
done
note "$n cache files"

run "$tmp/warm" AUDIOPROF_SYMCACHE="$cache"
read -r c2 d2 s2 < <(stats "$tmp/warm/p.json")
note "warm: cached $c2, dwarf $d2, symtab $s2"
[ "$d2" = 0 ] || fail "warm run still resolved $d2 frames from DWARF"
[ "$s2" = 0 ] || fail "warm run still resolved $s2 frames from symbol tables"
[ "$c2" = $((d + s)) ] || fail "warm run took $c2 frames from the cache, the cold run resolved $((d + s))"
for r in cold warm; do
	python3 -c "$frames_py" "$tmp/$r/p.json" >"$tmp/$r/frames"
	diff "$tmp/ref/frames" "$tmp/$r/frames" >/dev/null || {
		diff "$tmp/ref/frames" "$tmp/$r/frames" | head; fail "$r run: frames differ from the uncached run"; }
done
[ -s "$tmp/warm/err" ] && { cat "$tmp/warm/err"; fail "the preload wrote to stderr"; }

# ------------------------------------------------------------------ default directories
run "$tmp/home" HOME="$tmp/h"
ls "$tmp/h/.cache/audioprof/"*.sym >/dev/null 2>&1 || fail "default: nothing in \$HOME/.cache/audioprof"
run "$tmp/xdg" HOME="$tmp/h2" XDG_CACHE_HOME="$tmp/x"
ls "$tmp/x/audioprof/"*.sym >/dev/null 2>&1 || fail "default: nothing in \$XDG_CACHE_HOME/audioprof"
[ -e "$tmp/h2" ] && fail "with XDG_CACHE_HOME set, \$HOME/.cache was used"
run "$tmp/off" HOME="$tmp/h3" AUDIOPROF_SYMCACHE=off
[ -e "$tmp/h3" ] && fail "AUDIOPROF_SYMCACHE=off created $tmp/h3"

# ------------------------------------------------------------------ damaged files
i=0
for f in "$cache"/*.sym; do
	case $((i % 3)) in
	0) printf 'not a cache\n0\tnonsense (x.c:1)\n' >"$f" ;;                       # foreign file
	1) { head -n 1 "$f"; printf 'zz\tbad address\n12\t\t\n1234\tno newline'; } >"$f.new"
	   mv "$f.new" "$f" ;;                                                          # bad lines
	2) head -c 30 "$f" >"$f.new"; mv "$f.new" "$f" ;;                               # torn
	esac
	i=$((i + 1))
done
run "$tmp/damaged" AUDIOPROF_SYMCACHE="$cache"
[ "$(cat "$tmp/damaged/rc")" = 0 ] || fail "exact failed with damaged cache files"
python3 -c "$frames_py" "$tmp/damaged/p.json" >"$tmp/damaged/frames"
diff "$tmp/ref/frames" "$tmp/damaged/frames" >/dev/null || fail "damaged cache: frames differ from the uncached run"
run "$tmp/after" AUDIOPROF_SYMCACHE="$cache"
read -r c3 d3 s3 < <(stats "$tmp/after/p.json")
note "after rewriting the damaged files: cached $c3, dwarf $d3"
[ "$d3" = 0 ] || fail "the damaged files were not rewritten whole"

# ------------------------------------------------------------------ unwritable
run "$tmp/nowrite" AUDIOPROF_SYMCACHE=/proc/audioprof-no-such-dir
[ "$(cat "$tmp/nowrite/rc")" = 0 ] || fail "exact failed with an unwritable cache"
[ -s "$tmp/nowrite/p.json" ] || fail "no profile with an unwritable cache"
[ "$(grep -c 'cannot write the symbol cache in /proc/audioprof-no-such-dir' "$tmp/nowrite/err")" = 1 ] ||
	{ cat "$tmp/nowrite/err"; fail "expected one message about the unwritable cache"; }
echo "ok"
