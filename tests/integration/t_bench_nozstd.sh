#!/usr/bin/env bash
# t_bench_nozstd.sh - the benchmarks' comparisons with heaptrack do not depend on what
# heaptrack prints or which compressor it found: with a PATH that has every command but
# zstd (heaptrack looks zstd up with `command -v` and falls back to gzip, printing other
# messages and writing .gz files), `bench/run.sh --smoke` passes (heaptrack's full
# pipeline and -r made their data files, same results as native) and `bench/real.sh
# --tools ht_record` too (every real program's stdout and exit status as native under
# heaptrack -r, and its data file made). t_bench_smoke.sh runs both with the PATH as it is.
. "$(dirname "$0")/lib/common.sh"
need_preload
command -v python3 >/dev/null 2>&1 || skip "python3 not found"
command -v heaptrack >/dev/null 2>&1 || skip "heaptrack not installed (Debian package heaptrack)"
make -s -C "$ROOT/bench" build >/dev/null || fail "cannot build bench/bin/allocbench"
make_tmp

# $tmp/nozstd: links to every command on PATH (the first of each name) but zstd.
mkdir "$tmp/nozstd"
IFS=: read -ra path_dirs <<<"$PATH"
for d in "${path_dirs[@]}"; do
	[ -d "$d" ] || continue
	for f in "$d"/*; do
		n=${f##*/}
		[ "$n" = zstd ] || [ -e "$tmp/nozstd/$n" ] || ln -s "$f" "$tmp/nozstd/$n"
	done
done
PATH=$tmp/nozstd command -v zstd >/dev/null && fail "zstd still found on the PATH without it"
# heaptrack really takes its other way: what it makes is not a .zst file.
PATH=$tmp/nozstd heaptrack -r -o "$tmp/probe" "$(type -P true)" >"$tmp/probe.out" 2>&1 ||
	{ cat "$tmp/probe.out"; fail "heaptrack -r true failed without zstd"; }
made=$(ls "$tmp"/probe.* 2>/dev/null | grep -v '\.out$')
[ -n "$made" ] || fail "heaptrack -r made no file without zstd: $(cat "$tmp/probe.out")"
case $made in *.zst) fail "heaptrack made $made without zstd on PATH" ;; esac
echo "without zstd heaptrack made ${made##*/}"

PATH=$tmp/nozstd "$ROOT/bench/run.sh" --smoke
case $? in
0) ;;
77) skip "bench/run.sh --smoke skipped" ;;
*) fail "bench/run.sh --smoke without zstd" ;;
esac
PATH=$tmp/nozstd "$ROOT/bench/real.sh" --reps 1 --small --tools ht_record ||
	fail "bench/real.sh without zstd: a program behaved differently under heaptrack -r"
echo "ok"
