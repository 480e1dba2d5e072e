#!/usr/bin/env bash
# t_env_doc.sh - the options table and the manual agree: every AUDIOPROF_* variable in
# common/options.c's options_table (as `audioprof help-env` prints it) is documented in
# the ENVIRONMENT section of man/libaudioprof.7, and every AUDIOPROF_* name in that
# section is in the table. Also: both man pages pass `mandoc -Tlint -Wwarning`.
. "$(dirname "$0")/lib/common.sh"
make_tmp

AP=$ROOT/analyzer/audioprof
MAN7=$ROOT/man/libaudioprof.7
[ -x "$AP" ] || fail "analyzer not built: $AP"
[ -f "$MAN7" ] || fail "missing $MAN7"

"$AP" help-env >"$tmp/help" || fail "audioprof help-env failed"
awk '$1 ~ /^AUDIOPROF_[A-Z0-9_]+$/ { print $1 }' "$tmp/help" | sort -u >"$tmp/table"
[ -s "$tmp/table" ] || fail "help-env listed no AUDIOPROF_ variable"

# The section runs from ".Sh ENVIRONMENT" to the next ".Sh".
awk '/^\.Sh / { in_env = ($2 == "ENVIRONMENT") ; next } in_env' "$MAN7" |
	grep -oE 'AUDIOPROF_[A-Z0-9_]*[A-Z0-9]' | sort -u >"$tmp/man"
[ -s "$tmp/man" ] || fail "no ENVIRONMENT section with AUDIOPROF_ names in $MAN7"

nfail=0
while read -r name; do
	grep -qx "$name" "$tmp/man" || { echo "FAIL: $name is in options_table but not in $MAN7 ENVIRONMENT"; nfail=$((nfail + 1)); }
done <"$tmp/table"
while read -r name; do
	grep -qx "$name" "$tmp/table" || { echo "FAIL: $name is in $MAN7 ENVIRONMENT but not in options_table"; nfail=$((nfail + 1)); }
done <"$tmp/man"
# Each variable has its own entry (.It Ev NAME), not just a mention.
while read -r name; do
	grep -qx "\.It Ev $name" "$MAN7" || { echo "FAIL: no '.It Ev $name' entry in $MAN7"; nfail=$((nfail + 1)); }
done <"$tmp/table"
echo "$(wc -l <"$tmp/table") variables in the table, $(wc -l <"$tmp/man") in the manual"

if command -v mandoc >/dev/null 2>&1; then
	for page in "$ROOT"/man/*.[1-8]; do
		[ -f "$page" ] || continue
		out=$(mandoc -Tlint -Wwarning "$page" 2>&1)
		if [ -n "$out" ]; then
			echo "FAIL: mandoc -Tlint -Wwarning $page:"; echo "$out"; nfail=$((nfail + 1))
		else
			echo "ok: mandoc lint $(basename "$page")"
		fi
	done
else
	echo "note: mandoc not installed; man pages not linted"
fi

[ "$nfail" -eq 0 ] || fail "$nfail problem(s)"
echo "options table and libaudioprof(7) agree"
