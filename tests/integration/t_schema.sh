#!/usr/bin/env bash
# t_schema.sh - the profile format's descriptions agree with its schema
# (common/profile_schema.h, the X-macro lists the preload's writer and the analyzer's
# reader are built from): audioprof-json(5) has an entry for every field and none
# other, its annotated example is a valid profile; the viewer's program-point columns
# are the schema's numbers and every field it reads is in the schema; the fixtures and
# what the three fixture generators write hold only the schema's fields, of its types,
# with the required ones; and a profile the preload writes has every field, in the
# schema's order. lib/schemachk.py does the checks.
. "$(dirname "$0")/lib/common.sh"
need_preload
build_prog rtcallback
make_tmp
CHK="python3 $ILIB/schemachk.py $tmp/schema.tsv"

cc -std=gnu11 -Wall -Wextra -Werror -I"$ROOT/common" -o "$tmp/schema_dump" \
	"$ILIB/schema_dump.c" || fail "lib/schema_dump.c does not build against the schema"
"$tmp/schema_dump" >"$tmp/schema.tsv" || fail "schema_dump failed"
nfields=$(wc -l <"$tmp/schema.tsv")
note "the schema has $nfields fields"

nfail=0
check() {
	local what=$1
	shift
	if $CHK "$@"; then
		echo "ok: $what"
	else
		echo "FAIL: $what: not as common/profile_schema.h says"
		nfail=$((nfail + 1))
	fi
}

check "audioprof-json(5)" man "$ROOT/man/audioprof-json.5"
check "the viewer's keys" viewer "$ROOT/viewer"

# The committed fixtures (not bad/: broken on purpose), and what their generator writes
# now, in a copy of it that writes beside itself.
check "the fixtures" files "$TESTS_DIR"/fixtures/*.json "$TESTS_DIR"/integration/fixtures/*.json
mkdir -p "$tmp/fix"
cp "$TESTS_DIR/fixtures/make_fixtures.py" "$tmp/fix/"
python3 "$tmp/fix/make_fixtures.py" || fail "make_fixtures.py failed"
check "make_fixtures.py's profiles" files "$tmp"/fix/*.json
python3 "$TESTS_DIR/gen_big_profile.py" "$tmp/big.json" 0.3 || fail "gen_big_profile.py failed"
python3 "$TESTS_DIR/viewer/gen_big.py" "$tmp/vbig.json" 300 || fail "viewer/gen_big.py failed"
check "gen_big_profile.py's and viewer/gen_big.py's profiles" files "$tmp/big.json" "$tmp/vbig.json"

# The preload's own writer: a program with a callback, zones, violations and a timeline.
env AUDIOPROF_OUT="$tmp/rt.json" AUDIOPROF_SAMPLE=10ms LD_PRELOAD="$PRELOAD" "$BIN/rtcallback" 20 \
	>/dev/null || fail "rtcallback failed under the preload"
check "a profile the preload wrote" written "$tmp/rt.json"

[ $nfail -eq 0 ] || fail "$nfail check(s) failed"
echo "PASS"
