#!/usr/bin/env bash
# t_symbols.sh - symbol hygiene: libaudioprof.so exports exactly the names listed in
# the global: part of preload/audioprof.map (the interposed libc and audio API names
# and the public audioprof_* API) and nothing else; every listed name is defined.
. "$(dirname "$0")/lib/common.sh"
make_tmp

SO=$ROOT/preload/libaudioprof.so
MAP=$ROOT/preload/audioprof.map
[ -f "$SO" ] || fail "not built: $SO"

nm -D --defined-only "$SO" | awk '$2 ~ /^[TtWwVvDdBbiu]$/ { print $3 }' | sed 's/@.*//' |
	grep -v '^$' | sort -u >"$tmp/exported"
# Names between "global:" and "local:", split on ';', comments dropped.
sed -e 's|/\*.*\*/||g' "$MAP" | awk '/global:/ { on = 1; next } /local:/ { on = 0 } on' |
	tr ';' '\n' | sed 's/[[:space:]]//g' | grep -v '^$' | sort -u >"$tmp/listed"

nfail=0
extra=$(comm -23 "$tmp/exported" "$tmp/listed")
missing=$(comm -13 "$tmp/exported" "$tmp/listed")
if [ -n "$extra" ]; then
	echo "FAIL: exported but not in audioprof.map: $(echo $extra)"
	nfail=$((nfail + 1))
fi
if [ -n "$missing" ]; then
	echo "FAIL: in audioprof.map but not defined: $(echo $missing)"
	nfail=$((nfail + 1))
fi
# The engine's own names never leak.
if grep -qE '^(sites_|stacks_|symbols_|profile_|runtime_|audio_|options_|log_|timeline_)' "$tmp/exported"; then
	echo "FAIL: internal names exported: $(grep -E '^(sites_|stacks_|symbols_|profile_|runtime_|audio_|options_|log_|timeline_)' "$tmp/exported" | tr '\n' ' ')"
	nfail=$((nfail + 1))
fi
[ "$(wc -l <"$tmp/exported")" -gt 20 ] || { echo "FAIL: too few exports: $(cat "$tmp/exported")"; nfail=$((nfail + 1)); }
[ $nfail -eq 0 ] || exit 1
echo "ok: $(wc -l <"$tmp/exported") exported names, all listed"
