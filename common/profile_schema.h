/* profile_schema.h - the profile format, once: every field of the JSON file the preload
 * writes and the analyzer reads (DHAT's version 2 plus audioprof's fields; not DHAT's
 * access data, rb, wb and acc, which valgrind writes with "bkacc": true), as X-macro
 * lists, one line a field: key, type, unit, when it is present, meaning. Prose about
 * each field is in audioprof-json(5).
 *
 * Built from these lists: the preload's writer (profile.c: the program points and the
 * audioprof object with its totals, symbols and stack_cache; audio_json.c: callbacks, zones
 * and violations; timeline.c: the timeline; only DHAT's fixed top-level fields are
 * written by hand), the analyzer's reader (the fast path and the bklt check in
 * profile_read.c, the tables of profile_json.c, the structs pp, totals, zone, callback
 * and profile's audioprof fields in profile_read.h; violations and histograms have
 * checks of their own) and `report --json`'s sites, callbacks and zones (report.c).
 * t_schema.sh checks that audioprof-json(5), the viewer's keys, the fixtures and the
 * files the preload writes agree with them.
 *
 * Adding a field: its line here; its value, a member of struct site_stats for a program
 * point or of struct heap_totals for the totals, else one line <X>V_<key> beside the
 * writer of its object (AV_, SYV_, SCV_ in profile.c; CV_, ZV_, VV_ in audio_json.c; TV_ in
 * timeline.c), which the compiler asks for; and its entry in audioprof-json(5), which
 * t_schema.sh asks for.
 *
 * Each list is `NAME(X)` calling X(key, type, unit, presence, meaning) per field, in the
 * order the writer puts them in the file, except PROFILE_PP, whose X has one more
 * argument after key: the member of the preload's struct site_stats it is written from.
 *
 * Types (a token, so that a user can paste it into a macro name and pick per type):
 *   UINT     whole number, 0 to 2^62 (counts, bytes, nanoseconds)
 *   UINT64   whole number, 0 to 2^63-1 (sums of times: tl, te, tg)
 *   SINT     whole number, -1 meaning none
 *   NUM      number that may have a fraction
 *   STR      string
 *   BOOL     true or false
 *   VERSION  whole number, a format version, read before the other fields
 *   FRAMES   array of indices into ftbl, innermost first, never 0, never empty
 *   INTS     array of whole numbers
 *   STRS     array of strings
 *   OBJECT   object (its own list below)
 *   OBJECTS  array of objects (its own list below)
 *
 * Presence (a token too):
 *   ALWAYS     in every object of its kind; DHAT's viewer or audioprof's reader
 *              refuses a file without it
 *   BKLT       required when "bklt" is true (DHAT's rule)
 *   AUDIOPROF  written by every audioprof; absent in valgrind's files or hand-made ones,
 *              and readers take it as unknown
 *   NEWER      added after audioprof.version 1 first shipped: absent in older
 *              profiles, and `report --json` leaves it out then (instead of null)
 *   OPTIONAL   written only when it applies (its meaning says when)
 */
#ifndef AUDIOPROF_PROFILE_SCHEMA_H
#define AUDIOPROF_PROFILE_SCHEMA_H

/* The top-level object. */
#define PROFILE_TOP(X) \
	X(dhatFileVersion, VERSION, "", ALWAYS, "DHAT's format version: always 2") \
	X(mode, STR, "", ALWAYS, "\"heap\"") \
	X(verb, STR, "", ALWAYS, "\"Allocated\": the viewer's heading of a stack") \
	X(bklt, BOOL, "", ALWAYS, "block lifetimes recorded (true)") \
	X(bkacc, BOOL, "", ALWAYS, "block accesses recorded (false)") \
	X(tu, STR, "", ALWAYS, "the time unit, \"ns\"") \
	X(Mtu, STR, "", ALWAYS, "the name of a million tu, \"ms\"") \
	X(tuth, UINT, "tu", BKLT, "the short-lived threshold (AUDIOPROF_SHORT_LIVED)") \
	X(cmd, STR, "", ALWAYS, "the command line, arguments separated by spaces") \
	X(pid, UINT, "", ALWAYS, "process id") \
	X(te, UINT64, "tu", ALWAYS, "time at the end of the profile (t-end)") \
	X(tg, UINT64, "tu", BKLT, "time of the global heap maximum (t-gmax)") \
	X(audioprof, OBJECT, "", AUDIOPROF, "audioprof's own fields (PROFILE_AUDIOPROF)") \
	X(pps, OBJECTS, "", ALWAYS, "program points, one per allocation stack (PROFILE_PP)") \
	X(ftbl, STRS, "", ALWAYS, "frame strings, each once; index 0 is \"[root]\"")

/* A program point: X(key, site_stats member, type, unit, presence, meaning). The
 * numeric fields come first; every one of them is summed when sites merge. */
#define PROFILE_PP(X) \
	X(tb, tb, UINT, "bytes", ALWAYS, "total bytes allocated here") \
	X(tbk, tbk, UINT, "blocks", ALWAYS, "total blocks allocated here") \
	X(tl, tl, UINT64, "tu", BKLT, "total lifetime of those blocks; live ones up to te") \
	X(mb, mb, UINT, "bytes", BKLT, "the site's maximum of live bytes") \
	X(mbk, mbk, UINT, "blocks", BKLT, "the site's maximum of live blocks") \
	X(gb, gb, UINT, "bytes", BKLT, "live bytes at tg") \
	X(gbk, gbk, UINT, "blocks", BKLT, "live blocks at tg") \
	X(eb, eb, UINT, "bytes", BKLT, "live bytes at te") \
	X(ebk, ebk, UINT, "blocks", BKLT, "live blocks at te") \
	X(slk, short_k, UINT, "blocks", AUDIOPROF, "blocks freed after living less than tuth") \
	X(cbk, cbk, UINT, "blocks", NEWER, "blocks allocated in real-time code") \
	X(cbb, cbb, UINT, "bytes", NEWER, "bytes allocated in real-time code") \
	X(fs, fs, FRAMES, "", ALWAYS, "the stack, as indices into ftbl") \
	X(ids, ids, INTS, "", AUDIOPROF, "the internal site ids merged into this point")

/* "audioprof": audioprof's own fields. */
#define PROFILE_AUDIOPROF(X) \
	X(version, VERSION, "", ALWAYS, "the version of audioprof's fields, 1") \
	X(reason, STR, "", AUDIOPROF, "why it was written: exit, _exit, exec, snapshot, signal") \
	X(signal, UINT, "", AUDIOPROF, "the signal number for reason \"signal\", else 0") \
	X(ppid, UINT, "", AUDIOPROF, "parent process id") \
	X(start_ns, UINT, "ns", AUDIOPROF, "raw CLOCK_MONOTONIC time of the start") \
	X(end_ns, UINT, "ns", AUDIOPROF, "raw CLOCK_MONOTONIC time of this profile") \
	X(clock, STR, "", NEWER, "the clock of block births and deaths: tsc or monotonic") \
	X(allocator, STR, "", NEWER, "the allocator under the profiler: libc or its file") \
	X(depth, UINT, "frames", AUDIOPROF, "the configured stack depth (AUDIOPROF_DEPTH)") \
	X(own_bytes, UINT, "bytes", AUDIOPROF, "memory the profiler itself held") \
	X(peak_rss, UINT, "bytes", AUDIOPROF, "the process's peak resident set size") \
	X(threads, UINT, "threads", AUDIOPROF, "threads that allocated") \
	X(signal_lost, UINT, "calls", NEWER, "signal handlers' allocations not recorded") \
	X(symbols, OBJECT, "", NEWER, "how return addresses were resolved (PROFILE_SYMBOLS)") \
	X(stack_cache, OBJECT, "", NEWER, "the per-thread stack cache (PROFILE_STACK_CACHE)") \
	X(totals, OBJECT, "", AUDIOPROF, "the whole heap (PROFILE_TOTALS)") \
	X(violations_lost, UINT, "calls", AUDIOPROF, "violations that found no table entry") \
	X(callbacks, OBJECTS, "", AUDIOPROF, "the callback sources (PROFILE_CALLBACK)") \
	X(violations, OBJECTS, "", AUDIOPROF, "real-time-unsafe calls (PROFILE_VIOLATION)") \
	X(timeline, OBJECT, "", NEWER, "the heap over time (PROFILE_TIMELINE)") \
	X(cpu, OBJECT, "", OPTIONAL, "CPU samples, unless AUDIOPROF_CPU=off (PROFILE_CPU)")

/* "audioprof.callbacks[].slow_cycles": a cycle kept for its story. */
#define PROFILE_SLOW_CYCLE(X) \
	X(cycle, UINT, "", ALWAYS, "its number: 1 is the source's first timed cycle") \
	X(start_ns, UINT, "ns", ALWAYS, "its start, from the start of the profile") \
	X(dur_ns, UINT, "ns", ALWAYS, "its duration") \
	X(deadline_ns, UINT, "ns", ALWAYS, "its deadline; 0 if none") \
	X(load_pct, NUM, "%", ALWAYS, "dur_ns / deadline_ns; 0 without a deadline") \
	X(slowest, BOOL, "", ALWAYS, "among the slowest kept") \
	X(overrun, BOOL, "", ALWAYS, "took longer than its deadline") \
	X(violations, OBJECTS, "", ALWAYS, "unsafe calls made in it, at most 8 sites (PROFILE_CYCLE_VIOLATION)") \
	X(violations_more, UINT, "calls", ALWAYS, "calls at sites beyond those listed") \
	X(cpu_samples, UINT, "samples", NEWER, "CPU samples taken in it (0 when sampling was off)")

/* An element of a slow cycle's "violations". */
#define PROFILE_CYCLE_VIOLATION(X) \
	X(kind, STR, "", ALWAYS, "as in a violation") \
	X(call, STR, "", ALWAYS, "the function called") \
	X(count, UINT, "calls", ALWAYS, "calls made there in the cycle") \
	X(time_ns, UINT, "ns", OPTIONAL, "time inside them; absent for untimed kinds (alloc, free)") \
	X(library, STR, "", OPTIONAL, "made inside this audio library's own API: which") \
	X(fs, FRAMES, "", ALWAYS, "the stack")

/* An element of "audioprof.timeline.load": one source's load per interval. */
#define PROFILE_TIMELINE_LOAD(X) \
	X(callback, UINT, "", ALWAYS, "the source's id") \
	X(count, INTS, "callbacks", ALWAYS, "cycles timed per interval; as long as t_ns") \
	X(mean_ppm, INTS, "ppm", ALWAYS, "their mean load, parts per million of the deadline") \
	X(max_ppm, INTS, "ppm", ALWAYS, "their largest load") \
	X(tail_count, UINT, "callbacks", ALWAYS, "cycles after the last sample, up to te") \
	X(tail_mean_ppm, UINT, "ppm", ALWAYS, "their mean load") \
	X(tail_max_ppm, UINT, "ppm", ALWAYS, "their largest load")

/* "audioprof.cpu": stacks sampled on threads' own CPU time. */
#define PROFILE_CPU(X) \
	X(mode, STR, "", ALWAYS, "\"rt\" (real-time code only) or \"all\" (AUDIOPROF_CPU)") \
	X(rate_hz, UINT, "Hz", ALWAYS, "samples asked per second of a thread's CPU time") \
	X(signal, UINT, "", ALWAYS, "the signal number the sampler uses") \
	X(threads, UINT, "threads", ALWAYS, "threads whose sampling timer ran") \
	X(samples, UINT, "samples", ALWAYS, "samples recorded: the sum of the stacks' counts") \
	X(outside_rt, UINT, "samples", ALWAYS, "dropped: the thread was not in real-time code") \
	X(lost, UINT, "samples", ALWAYS, "the stack table had no room for") \
	X(overruns, UINT, "expirations", ALWAYS, "timer expirations merged into one signal") \
	X(truncated, UINT, "samples", ALWAYS, "whose stack walk stopped early") \
	X(handler_ns, UINT, "ns", ALWAYS, "time in the sampler's handler (an upper bound)") \
	X(callbacks, OBJECTS, "", ALWAYS, "samples per callback source (PROFILE_CPU_CALLBACK)") \
	X(stacks, OBJECTS, "", ALWAYS, "one per distinct sampled stack (PROFILE_CPU_STACK)")

/* An element of "audioprof.cpu.callbacks". */
#define PROFILE_CPU_CALLBACK(X) \
	X(callback, SINT, "", ALWAYS, "index into audioprof.callbacks, -1: outside any") \
	X(samples, UINT, "samples", ALWAYS, "its samples, lost ones included") \
	X(in_profiler, UINT, "samples", ALWAYS, "of those, in the profiler's own code")

/* An element of "audioprof.cpu.stacks". */
#define PROFILE_CPU_STACK(X) \
	X(callback, SINT, "", ALWAYS, "index into audioprof.callbacks, -1: outside any") \
	X(count, UINT, "samples", ALWAYS, "samples with this stack") \
	X(fs, FRAMES, "", ALWAYS, "the stack, the sampled instruction's function first")

/* "audioprof.symbols". */
#define PROFILE_SYMBOLS(X) \
	X(cached, UINT, "addresses", ALWAYS, "resolved from the persistent symbol cache") \
	X(dwarf, UINT, "addresses", ALWAYS, "resolved from debug information") \
	X(symtab, UINT, "addresses", ALWAYS, "from the symbol table alone, or not at all")

/* "audioprof.stack_cache". */
#define PROFILE_STACK_CACHE(X) \
	X(hits, UINT, "stacks", ALWAYS, "answered by validating the cached return addresses") \
	X(misses, UINT, "stacks", ALWAYS, "unwound with libunwind and cached") \
	X(uncacheable, UINT, "stacks", ALWAYS, "unwound but not cacheable")

/* "audioprof.totals": sums over the program points as written. */
#define PROFILE_TOTALS(X) \
	X(curr_b, UINT, "bytes", ALWAYS, "live at te (sum of eb)") \
	X(curr_k, UINT, "blocks", ALWAYS, "live at te (sum of ebk)") \
	X(max_b, UINT, "bytes", ALWAYS, "live at tg (sum of gb)") \
	X(max_k, UINT, "blocks", ALWAYS, "live at tg (sum of gbk)") \
	X(total_b, UINT, "bytes", ALWAYS, "allocated over the run (sum of tb)") \
	X(total_k, UINT, "blocks", ALWAYS, "allocated over the run (sum of tbk)") \
	X(frees, UINT, "blocks", ALWAYS, "freed (sum of tbk - ebk)")

/* An element of "audioprof.callbacks": one callback source. */
#define PROFILE_CALLBACK(X) \
	X(id, UINT, "", AUDIOPROF, "the source's index in callbacks") \
	X(api, STR, "", AUDIOPROF, "jack, portaudio, alsa, pulse, pipewire, sdl, region, thread") \
	X(name, STR, "", AUDIOPROF, "client, stream, device, region or thread name") \
	X(tid, UINT, "", AUDIOPROF, "thread id of the first callback; 0 if none ran") \
	X(thread, STR, "", AUDIOPROF, "that thread's name, or \"?\"") \
	X(policy, STR, "", AUDIOPROF, "that thread's scheduling policy, or \"?\"") \
	X(priority, UINT, "", AUDIOPROF, "that thread's real-time priority, else 0") \
	X(rate, UINT, "Hz", AUDIOPROF, "sample rate of the most recent period") \
	X(frames, UINT, "frames", AUDIOPROF, "frames of the most recent period") \
	X(deadline_ns, UINT, "ns", AUDIOPROF, "frames / rate: the deadline; 0 if none") \
	X(count, UINT, "callbacks", AUDIOPROF, "callbacks completed and timed") \
	X(min_ns, UINT, "ns", AUDIOPROF, "shortest duration") \
	X(mean_ns, UINT, "ns", AUDIOPROF, "mean duration, rounded down") \
	X(p50_ns, UINT, "ns", AUDIOPROF, "50th percentile of the durations") \
	X(p90_ns, UINT, "ns", AUDIOPROF, "90th percentile of the durations") \
	X(p99_ns, UINT, "ns", AUDIOPROF, "99th percentile of the durations") \
	X(p999_ns, UINT, "ns", AUDIOPROF, "99.9th percentile of the durations") \
	X(max_ns, UINT, "ns", AUDIOPROF, "longest duration") \
	X(dur_hist, INTS, "", NEWER, "the durations' histogram (common/durhist.h): bucket, count, bucket, count ..., non-empty buckets only, rising") \
	X(load_mean_pct, NUM, "%", AUDIOPROF, "mean duration / deadline") \
	X(load_max_pct, NUM, "%", AUDIOPROF, "largest duration / deadline") \
	X(overruns, UINT, "callbacks", AUDIOPROF, "callbacks over 100 % of the deadline") \
	X(near80, UINT, "callbacks", AUDIOPROF, "callbacks over 80 % (overruns included)") \
	X(near95, UINT, "callbacks", AUDIOPROF, "callbacks over 95 % (overruns included)") \
	X(period_mean_ns, UINT, "ns", AUDIOPROF, "mean time between two callbacks' starts") \
	X(jitter_max_ns, UINT, "ns", AUDIOPROF, "largest distance of a period from the deadline") \
	X(jitter_p99_ns, UINT, "ns", AUDIOPROF, "99th percentile of that distance") \
	X(xruns, UINT, "xruns", AUDIOPROF, "xruns the audio backend reported") \
	X(allocs, UINT, "blocks", AUDIOPROF, "blocks allocated in the callbacks") \
	X(frees, UINT, "blocks", AUDIOPROF, "blocks freed in the callbacks") \
	X(alloc_bytes, UINT, "bytes", AUDIOPROF, "bytes allocated in the callbacks") \
	X(rt_unsafe, UINT, "calls", AUDIOPROF, "other unsafe calls, try-locks not included") \
	X(lib_calls, UINT, "calls", NEWER, "unsafe calls inside an audio library's own API") \
	X(discarded, UINT, "cycles", NEWER, "ALSA cycles ended without a period's work") \
	X(histogram, OBJECT, "", AUDIOPROF, "loads by range of the deadline (PROFILE_HISTOGRAM)") \
	X(zones, OBJECTS, "", AUDIOPROF, "zones timed in the callbacks (PROFILE_ZONE)") \
	X(slow_cycles, OBJECTS, "", NEWER, "kept cycles, oldest first: the AUDIOPROF_SLOW_CYCLES slowest and the first 64 overruns (PROFILE_SLOW_CYCLE)") \
	X(overruns_unlisted, UINT, "callbacks", NEWER, "overruns not in slow_cycles")

/* "histogram" of a callback source: two arrays of the same length. */
#define PROFILE_HISTOGRAM(X) \
	X(edges_pct, INTS, "%", ALWAYS, "each range's lower edge: 0, then rising") \
	X(counts, INTS, "callbacks", ALWAYS, "callbacks per range")

/* An element of a callback source's "zones". */
#define PROFILE_ZONE(X) \
	X(name, STR, "", AUDIOPROF, "the zone's name") \
	X(count, UINT, "runs", AUDIOPROF, "times the zone ran") \
	X(mean_ns, UINT, "ns", AUDIOPROF, "mean duration") \
	X(min_ns, UINT, "ns", NEWER, "shortest duration") \
	X(p99_ns, UINT, "ns", AUDIOPROF, "99th percentile of the durations") \
	X(max_ns, UINT, "ns", AUDIOPROF, "longest duration") \
	X(dur_hist, INTS, "", NEWER, "the durations' histogram, as a callback source's")

/* An element of "audioprof.violations". */
#define PROFILE_VIOLATION(X) \
	X(kind, STR, "", ALWAYS, "alloc, free, lock, trylock, sleep, io, poll, mmap, thread, process") \
	X(call, STR, "", AUDIOPROF, "the function called") \
	X(severity, STR, "", AUDIOPROF, "\"warning\" for trylock, else \"violation\"") \
	X(count, UINT, "calls", AUDIOPROF, "calls made") \
	X(bytes, UINT, "bytes", AUDIOPROF, "for alloc, the bytes asked for; else 0") \
	X(time_ns, UINT, "ns", OPTIONAL, "time inside the calls; absent when not timed") \
	X(time_max_ns, UINT, "ns", OPTIONAL, "the longest call; present exactly when time_ns is") \
	X(library, STR, "", OPTIONAL, "made inside this audio library's own API: which") \
	X(callback, SINT, "", AUDIOPROF, "the callback source's id, or -1") \
	X(fs, FRAMES, "", ALWAYS, "the stack, as in a program point")

/* "audioprof.timeline": arrays of equal length, one element per sample. */
#define PROFILE_TIMELINE(X) \
	X(period_ns, UINT, "ns", ALWAYS, "the period of the samples kept; 0 when off") \
	X(t_ns, INTS, "ns", ALWAYS, "time of each sample, from the start") \
	X(live_b, INTS, "bytes", ALWAYS, "live bytes") \
	X(live_k, INTS, "blocks", ALWAYS, "live blocks") \
	X(heap_b, INTS, "bytes", ALWAYS, "bytes the allocator obtained from the system") \
	X(used_b, INTS, "bytes", ALWAYS, "bytes in the allocator's chunks in use") \
	X(load, OBJECTS, "", NEWER, "each source's load per interval (PROFILE_TIMELINE_LOAD)")

/* Every list, with its place in the file: O(path, list, shape), where shape is empty,
 * or PP for PROFILE_PP (whose X takes the writer's member as its second argument). */
#define PROFILE_OBJECTS(O) \
	O("", PROFILE_TOP, ) \
	O("pps[]", PROFILE_PP, PP) \
	O("audioprof", PROFILE_AUDIOPROF, ) \
	O("audioprof.symbols", PROFILE_SYMBOLS, ) \
	O("audioprof.stack_cache", PROFILE_STACK_CACHE, ) \
	O("audioprof.totals", PROFILE_TOTALS, ) \
	O("audioprof.callbacks[]", PROFILE_CALLBACK, ) \
	O("audioprof.callbacks[].histogram", PROFILE_HISTOGRAM, ) \
	O("audioprof.callbacks[].zones[]", PROFILE_ZONE, ) \
	O("audioprof.violations[]", PROFILE_VIOLATION, ) \
	O("audioprof.timeline", PROFILE_TIMELINE, ) \
	O("audioprof.callbacks[].slow_cycles[]", PROFILE_SLOW_CYCLE, ) \
	O("audioprof.callbacks[].slow_cycles[].violations[]", PROFILE_CYCLE_VIOLATION, ) \
	O("audioprof.timeline.load[]", PROFILE_TIMELINE_LOAD, ) \
	O("audioprof.cpu", PROFILE_CPU, ) \
	O("audioprof.cpu.callbacks[]", PROFILE_CPU_CALLBACK, ) \
	O("audioprof.cpu.stacks[]", PROFILE_CPU_STACK, )

/* A field's key as a string, for code that names one field by hand (a reader's
 * special case, a test): PROFILE_KEY(PROFILE_CPU, rate_hz) is "rate_hz", and a compile
 * error if the list has no such field. Needs PROFILE_KEYS(list); once at file scope. */
#define PROFILE_KEYS_MEMBER_(key, type, unit, presence, what) char key;
#define PROFILE_KEYS(list) struct list##_keys_ { list(PROFILE_KEYS_MEMBER_) }
#define PROFILE_KEY(list, key) (#key + 0 * sizeof(((struct list##_keys_ *)0)->key))

/* A whole number that does not apply to an OPTIONAL field: the writer leaves it out. */
#define PROFILE_ABSENT_UINT UINT64_MAX

/* For users that keep only some types: PROFILE_IF_NUMERIC_<type>(...) is its argument
 * for the whole numbers a reader keeps in an int64_t, else nothing. */
#define PROFILE_IF_NUMERIC_UINT(...) __VA_ARGS__
#define PROFILE_IF_NUMERIC_UINT64(...) __VA_ARGS__
#define PROFILE_IF_NUMERIC_SINT(...) __VA_ARGS__
#define PROFILE_IF_NUMERIC_NUM(...)
#define PROFILE_IF_NUMERIC_STR(...)
#define PROFILE_IF_NUMERIC_BOOL(...)
#define PROFILE_IF_NUMERIC_VERSION(...)
#define PROFILE_IF_NUMERIC_FRAMES(...)
#define PROFILE_IF_NUMERIC_INTS(...)
#define PROFILE_IF_NUMERIC_STRS(...)
#define PROFILE_IF_NUMERIC_OBJECT(...)
#define PROFILE_IF_NUMERIC_OBJECTS(...)

#endif
