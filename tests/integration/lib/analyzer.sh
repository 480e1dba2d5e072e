# analyzer.sh - sourced by the analyzer's integration tests (after common.sh): the
# `audioprof` binary, and a copy of it built with -fsanitize=address,undefined for the
# tests that feed it bad input or compare outputs. The sanitized copy is built in
# tests/obj/asan/ (so the normal build in analyzer/ is left alone), incrementally.

AP=$ROOT/analyzer/audioprof
ASAN_AP=$TESTS_DIR/obj/asan/analyzer/audioprof

need_analyzer() {
	[ -x "$AP" ] || fail "analyzer not built: $AP (make -C analyzer)"
}

# build_asan_analyzer: builds $ASAN_AP with the analyzer's own Makefile, run on a copy
# of analyzer/ in tests/obj/asan/ (preload/, common/, viewer/ and VERSION linked beside it), so
# that the build in analyzer/ is left alone. Returns 1 (with a note) when that fails.
build_asan_analyzer() {
	local tree=$TESTS_DIR/obj/asan d
	mkdir -p "$tree/analyzer" || return 1
	for d in preload common viewer VERSION; do
		[ -e "$ROOT/$d" ] && ln -sfn "$ROOT/$d" "$tree/$d"
	done
	cp -pu "$ROOT"/analyzer/*.[ch] "$ROOT"/analyzer/Makefile "$tree/analyzer/" || return 1
	# A source gone from analyzer/ goes from the copy too (a stale header there would
	# stand in front of common/'s of the same name).
	for d in "$tree"/analyzer/*.[ch]; do
		[ -e "$ROOT/analyzer/${d##*/}" ] || rm -f "$d"
	done
	if ! make -s -C "$tree/analyzer" SANITIZE=address,undefined \
		CFLAGS="-O1 -g -fno-sanitize-recover=undefined" >"$tree/build.log" 2>&1; then
		note "cannot build the sanitized analyzer (see $tree/build.log)"
		return 1
	fi
	[ -x "$ASAN_AP" ]
}

# Sanitizer reports make the process exit with this status.
export ASAN_OPTIONS=${ASAN_OPTIONS:-exitcode=99:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1:exitcode=99}
