#!/usr/bin/env bash
# t_libc_edges.sh - the malloc family answers like glibc, bit for bit: every edge case of
# tests/progs/mallocedge.c (malloc(0) and small sizes, calloc and reallocarray overflow,
# realloc(p, 0), realloc(NULL, n), huge sizes, the aligned functions with bad and huge
# alignments, valloc, pvalloc, large mmapped blocks around page boundaries,
# malloc_usable_size(NULL)) prints the same result, usable size and errno natively and
# under the preload. The mmap threshold is fixed (a glibc tunable, the same in both
# runs) so that it does not move with frees the profiler's own threads make.
. "$(dirname "$0")/lib/common.sh"
need_preload
build_prog mallocedge
make_tmp

export GLIBC_TUNABLES=glibc.malloc.mmap_threshold=131072
"$BIN/mallocedge" >"$tmp/native" 2>"$tmp/native.err" || fail "mallocedge exited $? natively"
env AUDIOPROF_OUT="$tmp/p.json" LD_PRELOAD="$PRELOAD" "$BIN/mallocedge" >"$tmp/pre" 2>"$tmp/pre.err"
rc=$?
[ $rc -eq 0 ] || { cat "$tmp/pre.err"; fail "mallocedge exited $rc under the preload"; }
[ -s "$tmp/pre.err" ] && { cat "$tmp/pre.err"; fail "stderr not empty under the preload"; }
[ -s "$tmp/p.json" ] || fail "no profile written"
n=$(wc -l <"$tmp/native")
[ "$n" -gt 400 ] || fail "mallocedge printed only $n lines"
if ! diff -u "$tmp/native" "$tmp/pre" >"$tmp/diff"; then
	head -60 "$tmp/diff"
	fail "$(grep -c '^+[^+]' "$tmp/diff") of $n results differ from glibc's under the preload"
fi
note "$n results identical natively and under the preload"
echo "ok"
