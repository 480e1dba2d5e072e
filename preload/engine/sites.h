/* sites.h - allocation sites: the stack table (raw stacks -> site ids) and the DHAT
 * statistics per site, including the exact global-peak accounting (O(1) per event).
 * Lock-free: every function here may be called concurrently from any thread, and
 * none of them blocks, allocates or makes a syscall after sites_init(). */
#ifndef AUDIOPROF_SITES_H
#define AUDIOPROF_SITES_H

#include <stdint.h>
#include <stddef.h>

#define SITES_MAX_DEPTH 128          /* hard upper bound for AUDIOPROF_DEPTH */
#define SITES_MAX       (1u << 20)   /* distinct sites; more go to the overflow site */
#define SITES_OVERFLOW  1u           /* id of "[site table full]"; depth 0 */

typedef uint32_t site_id;            /* 0 is never a valid site */

/* The last "return address" of a stack recorded in a signal handler that interrupted the
 * profiler's own code: [fn, ra, SITES_SIGNAL_MARK], where unwinding further was not safe.
 * No code lives at this address; the profile writer names the frame. */
#define SITES_SIGNAL_MARK ((uintptr_t)8)

/* Reserve the tables (mmap, MAP_NORESERVE). Idempotent; returns 0 or -1. */
int sites_init(void);

/* The site for this raw stack (return addresses, innermost first; ips[0] is the
 * interposed function's own address). Creates it on first sight. */
site_id sites_intern(const uintptr_t *ips, unsigned depth);

/* The hot path holds sites by pointer (a site never moves or dies): no id -> site
 * table lookup per event. sites_intern_site never returns NULL (a full table or a
 * failed arena gives the overflow site); sites_id and sites_site convert. */
struct site;
struct site *sites_intern_site(const uintptr_t *ips, unsigned depth);
site_id sites_id(const struct site *s);
struct site *sites_site(site_id id);          /* NULL for an id never handed out */
const uintptr_t *sites_site_stack(const struct site *s, unsigned *depth);

/* Events. size is the requested size; times are ticks (clock.h: CLOCK_MONOTONIC ns
 * unless the TSC is in use). */
void sites_on_alloc(site_id s, uint64_t size, uint64_t now);
void sites_on_free(site_id s, uint64_t size, uint64_t birth, uint64_t now);

/* The same with the pure sums (tb, tbk, tl, births, short-lived) kept in the calling
 * thread's own area instead of the site's shared counters: no locked instruction and
 * no shared cache line for them. One area per thread, used by that thread only;
 * never freed (a new thread may take over an exited one's). */
struct sites_local;
struct sites_local *sites_local_new(void);   /* maps memory: call off the hot path */
void sites_on_alloc_local(struct sites_local *l, site_id s, uint64_t size, uint64_t now);
void sites_on_free_local(struct sites_local *l, site_id s, uint64_t size, uint64_t birth,
			 uint64_t now);
/* The same by site pointer (s != NULL): what the shim calls. */
void sites_alloc(struct sites_local *l, struct site *s, uint64_t size, uint64_t now);
void sites_free(struct sites_local *l, struct site *s, uint64_t size, uint64_t birth,
		uint64_t now);

/* Events that updated the global word (the others stayed within their thread's
 * budget: see sites.c, "The global word"), over all threads. */
uint64_t sites_global_events(void);

/* Reading, for the profile writer and tests. Ids run 1..sites_count(). */
uint32_t sites_count(void);
const uintptr_t *sites_stack(site_id s, unsigned *depth);

struct site_stats {
	uint64_t tb, tbk;     /* total bytes, blocks allocated */
	uint64_t tl;          /* total lifetime (ns) of all blocks; live ones counted up to now
			       * (sites_read's `now` is in ticks; tl comes out in ns) */
	uint64_t mb, mbk;     /* maximum live bytes / maximum live blocks, each exact */
	uint64_t gb, gbk;     /* live bytes / blocks at the global peak */
	uint64_t eb, ebk;     /* live bytes / blocks now (at end) */
	uint64_t short_k;     /* blocks freed after living less than the short-lived threshold */
	uint64_t cbk, cbb;    /* blocks / bytes allocated inside audio callbacks (filled by the
			       * profile writer from audio_violations.c; sites_read leaves them 0) */
};
void sites_read(site_id s, uint64_t now, struct site_stats *out);

struct heap_totals {
	uint64_t curr_b, curr_k;     /* live now */
	uint64_t max_b, max_k;       /* at the global peak (max_k = blocks live then) */
	uint64_t tg;                 /* time of the global peak (CLOCK_MONOTONIC ns); 0 if none */
	uint64_t total_b, total_k;   /* allocated over the whole run */
	uint64_t frees;              /* blocks freed */
};
/* Totals; curr_k, max_k, total_* and frees are sums over sites read one after
 * another, and curr_b, max_b come from the global word read before them: exact when
 * no other thread allocates meanwhile, else a moment's skew. The profile writer sums
 * its own sites_read()s instead (so its totals always equal its program points'). */
void sites_totals(struct heap_totals *out);

/* The time (CLOCK_MONOTONIC ns) the heap first reached its current maximum of live
 * bytes; 0 if it has none (or it was inherited across fork). */
uint64_t sites_peak_ns(void);

/* Live bytes and live blocks, in one load per thread (no site is read): cheap enough
 * for the timeline's frequent samples. */
void sites_live(uint64_t *bytes, uint64_t *blocks);

/* The short-lived threshold (ns) used for short_k, converted to ticks with the clock's
 * current ratio: set from options, and again after each clock_sync(). */
void sites_set_short_lived(uint64_t ns);

/* In a forked child (single-threaded): keep what is live, restart every total,
 * maximum and the global peak from the live state at `now` (ticks). Writes no site:
 * each reads as reset until its first event in the child (sites.c, "Fork"). */
void sites_reset_after_fork(uint64_t now);

/* Bytes of memory the site table itself uses (for the profile's own-footprint field). */
size_t sites_footprint(void);

#endif
