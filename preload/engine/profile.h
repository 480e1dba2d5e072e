/* profile.h - the profile writer: gathers the sites and totals, symbolizes them,
 * merges sites whose frame lists come out identical, and writes the DHAT-compatible
 * JSON (with audioprof's extra fields) atomically: temporary file created with
 * O_EXCL|O_NOFOLLOW beside the target, rename. The format is documented in
 * man/audioprof-json.5 and in the annotated sample at the top of profile.c.
 * Called with the re-entrancy guard held, never on the allocation hot path. */
#ifndef AUDIOPROF_PROFILE_H
#define AUDIOPROF_PROFILE_H

#include <stdint.h>
#include <sys/types.h>

#define PROFILE_FORMAT_VERSION 1     /* audioprof's own version field */

struct profile_meta {
	const char *cmd;          /* command line, space separated */
	pid_t pid, ppid;
	uint64_t start_ns;        /* CLOCK_MONOTONIC ns at start (or at fork, in a child) */
	uint64_t end_ns;          /* CLOCK_MONOTONIC ns now; te = end - start */
	uint64_t short_lived_ns;  /* tuth */
	const char *reason;       /* "exit", "_exit", "exec", "snapshot", "signal" */
	int signal;               /* the signal for reason "signal", else 0 */
	unsigned depth;           /* configured stack depth */
	uint64_t own_bytes;       /* memory the profiler itself holds (tables, caches, headers) */
	uint64_t peak_rss;        /* process peak RSS in bytes (VmHWM) */
	uint64_t threads;         /* threads that allocated */
	uint64_t cache_hits, cache_misses, cache_uncacheable;   /* stack cache, all threads */
	uint64_t signal_lost;     /* allocations in signal handlers that could not be recorded */
};

/* Write the profile to `path`. Returns 0, or -1 with errno set (nothing half-written
 * is ever left at `path`; the temporary file is removed on failure). */
int profile_write(const char *path, const struct profile_meta *meta);

/* fork(): the runtime's atfork handlers call these (prepare takes a lock held only while
 * a write opens or closes its file; the child closes the parent's file if one was open). */
void profile_fork_prepare(void);
void profile_fork_parent(void);
void profile_fork_child(void);

#endif
