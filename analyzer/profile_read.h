/* profile_read.h - a profile in memory, as the analyzer's commands see it: read once,
 * validated once, in compact arrays (no JSON tree kept). Reads audioprof's profiles
 * (audioprof-json(5), with the audio fields when present; the fields are listed in
 * common/profile_schema.h) and valgrind DHAT's own files.
 * Every read error is one message naming the file and the problem. */
#ifndef AUDIOPROF_PROFILE_READ_H
#define AUDIOPROF_PROFILE_READ_H

#include <stddef.h>
#include <stdint.h>

#include "profile_schema.h"

/* The newest audioprof.version this reader understands. */
#define PROFILE_AUDIOPROF_VERSION 1

/* Largest number accepted in a count or size field (4 EiB); larger is not a real
 * profile. Lifetime sums (tl) may use the whole int64 range. */
#define PROFILE_MAX_NUM (INT64_C(1) << 62)

/* One program point (an allocation stack): a member per number of PROFILE_PP
 * (common/profile_schema.h: tb, tbk, tl, mb, ...), in its order, all int64_t. -1 in a
 * field means "not in the file" (a DHAT file without lifetimes has only tb, tbk; a
 * plain DHAT file has no slk). */
#define PROFILE_PP_MEMBER(key, src, type, unit, presence, what) \
	PROFILE_IF_NUMERIC_##type(int64_t key;)
struct pp {
	PROFILE_PP(PROFILE_PP_MEMBER)
	uint32_t fs_off, fs_len; /* the stack: profile.fs[fs_off .. fs_off + fs_len), innermost first */
};

/* Struct members for the fields of a schema list that a reader keeps: whole numbers
 * as int64_t (-1 when absent), fractions as double (< 0 when absent), strings as
 * const char * ("" when absent); arrays and objects have code of their own. */
#define PROFILE_MEMBER(key, type, unit, presence, what) PROFILE_MEMBER_##type(key)
#define PROFILE_MEMBER_UINT(k) int64_t k;
#define PROFILE_MEMBER_UINT64(k) int64_t k;
#define PROFILE_MEMBER_SINT(k) int64_t k;
#define PROFILE_MEMBER_NUM(k) double k;
#define PROFILE_MEMBER_STR(k) const char *k;
#define PROFILE_MEMBER_BOOL(k)
#define PROFILE_MEMBER_VERSION(k)
#define PROFILE_MEMBER_FRAMES(k)
#define PROFILE_MEMBER_INTS(k)
#define PROFILE_MEMBER_STRS(k)
#define PROFILE_MEMBER_OBJECT(k)
#define PROFILE_MEMBER_OBJECTS(k)

/* Whole-heap totals (PROFILE_TOTALS): from audioprof.totals when present, else summed
 * over the pps. */
struct totals {
	PROFILE_TOTALS(PROFILE_MEMBER)
};

/* A named timing zone inside a callback (audioprof's zone API): PROFILE_ZONE. */
struct zone {
	PROFILE_ZONE(PROFILE_MEMBER)
	uint64_t *dur_hist;      /* "dur_hist" as counts per bucket, DURHIST_BUCKETS of
				  * them (common/durhist.h); NULL when absent (owned by
				  * the profile) */
};

/* A violation made in a slow cycle: its call and stack, and how often and how long. */
struct cycle_violation {
	const char *kind, *call; /* as in struct violation */
	const char *library;     /* "" when the program's own */
	int64_t count;           /* calls made in the cycle */
	int64_t time_ns;         /* time inside them; -1 when the call is not timed */
	uint32_t fs_off, fs_len; /* stack as in struct pp */
};

/* A cycle the preload kept: one of the slowest, or one of the first overruns. */
struct slow_cycle {
	int64_t cycle;           /* its number: 1 is the source's first timed cycle */
	int64_t start_ns;        /* from the start of the profile */
	int64_t dur_ns, deadline_ns;
	double load_pct;
	int slowest, overrun;    /* among the slowest kept; took longer than its deadline */
	int64_t violations_more; /* calls at sites beyond those listed */
	int64_t cpu_samples;     /* CPU samples taken in it; -1 when absent */
	struct cycle_violation *v;   /* owned by the profile */
	size_t nv;
};

/* One callback source: PROFILE_CALLBACK, its numbers -1 (loads < 0) when absent from
 * the file, its strings never NULL ("" when absent). */
struct callback {
	PROFILE_CALLBACK(PROFILE_MEMBER)
	uint64_t *dur_hist;      /* as a zone's */
	struct zone *zones;      /* owned by the profile */
	size_t nzones;
	struct slow_cycle *slow; /* kept cycles, oldest first (owned by the profile) */
	size_t nslow;
};

/* One real-time violation: a (call, stack, callback) triple. */
struct violation {
	const char *kind;        /* one of profile_violation_kinds */
	const char *call;        /* the function called, e.g. "malloc" */
	int warning;             /* severity "warning" (trylock) rather than "violation" */
	const char *library;     /* made inside this audio library's own API ("libasound"):
				  * not the program's; "" when the program's own */
	int64_t count, bytes;
	int64_t time_ns, time_max_ns;   /* time inside the calls, total and longest;
					 * -1 when the calls were not timed */
	int64_t callback;        /* index into profile.callbacks, -1 when absent */
	uint32_t fs_off, fs_len; /* stack as in struct pp */
};

/* CPU samples of real-time code (audioprof.cpu, preload/engine/cpuprof.c). */
struct cpu_source {
	int64_t callback;        /* index into profile.callbacks, -1: none */
	int64_t samples, in_profiler;
};
struct cpu_stack {
	int64_t callback;        /* index into profile.callbacks, -1: none */
	int64_t count;
	uint32_t fs_off, fs_len; /* stack as in struct pp; fs[fs_off] is the sampled leaf */
};
struct cpu_samples {
	const char *mode;        /* "rt" or "all" */
	int64_t rate_hz, signal, threads, samples, outside_rt, lost, overruns, truncated;
	int64_t handler_ns;      /* time spent in the sampler's handler */
	struct cpu_source *sources;
	size_t nsources;
	struct cpu_stack *stacks;
	size_t nstacks;
};

/* The kinds of violation the preload writes (preload/engine/audio_violations.c,
 * audio_kind_names), NULL-ended: alloc, free, lock, trylock, sleep, io, poll, mmap,
 * thread, process. Any other kind is refused by the reader. */
extern const char *const profile_violation_kinds[];

struct profile {
	const char *path;        /* as given by the caller (for messages) */
	/* DHAT's part */
	int64_t dhat_version;
	const char *mode, *verb, *tu, *mtu, *cmd;  /* "" when absent */
	int bklt, bkacc;         /* block lifetimes / accesses recorded */
	int64_t tuth, pid, te, tg;  /* -1 when absent */
	struct pp *pps;
	size_t npps;
	uint32_t *fs;            /* every stack's frame indices, back to back */
	size_t nfs;
	const char **ftbl;       /* frame strings; ftbl[0] is "[root]" */
	size_t nftbl;
	/* audioprof's part; has_audioprof == 0 for a plain DHAT file */
	int has_audioprof;
	int64_t ap_version;
	struct {                 /* PROFILE_AUDIOPROF's numbers and strings: reason, signal,
				  * ppid, start_ns, ..., violations_lost (-1 or "" absent) */
		PROFILE_AUDIOPROF(PROFILE_MEMBER)
	};
	int has_totals;          /* audioprof.totals was in the file */
	struct totals totals;    /* always filled (summed over the pps when absent) */
	int has_slk;             /* some pp has slk */
	int has_cb;              /* some pp has cbk (allocations inside callbacks) */
	int has_audio;           /* audioprof.callbacks present (the audio extension) */
	struct callback *callbacks;
	size_t ncallbacks;
	struct violation *violations;
	size_t nviolations;
	int has_cpu;             /* audioprof.cpu present (CPU sampling was on) */
	struct cpu_samples cpu;
	void *arena;             /* owns every string above */
	struct suppressed *suppressed; /* what suppress_apply() took out (suppress.h), or NULL */
};

/* The largest input any command reads (report, check, diff, flame, view, run's summary):
 * a regular file larger than this is refused before it is read, and a stream (pipe,
 * FIFO, device) is read up to it and no further. AUDIOPROF_MAX_INPUT (a size: 512M,
 * 4G) changes it. The preload writes far less: a full site table (2^20 sites) at the
 * default depth of 32 frames makes about 400 MB of program points. */
#define PROFILE_MAX_INPUT_DEFAULT (INT64_C(2) << 30)
#define PROFILE_MAX_INPUT_ENV "AUDIOPROF_MAX_INPUT"

/* The limit in force (the environment is read once). */
int64_t profile_max_input(void);

/* One input's bytes: a regular file mapped (when asked) or read, a stream read to the
 * limit. Every command reads its profiles through this. */
struct profile_input {
	const char *name;        /* "(standard input)" for "-", else the path */
	char *buf;               /* the bytes: a private mapping, or malloc'd */
	size_t len;
	int mapped;
};

/* Opens `path` ("-": standard input) and gets its bytes, bounded by the limit; map=0
 * reads even a regular file into memory. 0, or -1 with "NAME: problem" in err. */
int profile_input_open(const char *path, int map, struct profile_input *in, char *err,
		       size_t errlen);
/* Parses and validates the bytes (a mapped file that shrinks meanwhile is an error). */
struct profile *profile_input_parse(const struct profile_input *in, char *err, size_t errlen);
void profile_input_close(struct profile_input *in);

/* Reads and validates `path` ("-" is standard input). Returns the profile, or NULL with
 * "PATH: problem" in err (errlen bytes). The file is mapped and parsed element by
 * element; memory stays near the size of the compact arrays, not of a JSON tree. */
struct profile *profile_load(const char *path, char *err, size_t errlen);

/* The same for bytes in memory (`name` is used in messages). Never reads past len. */
struct profile *profile_parse(const char *buf, size_t len, const char *name,
			      char *err, size_t errlen);

void profile_free(struct profile *p);

/* The frames of a stack, innermost first. */
static inline const uint32_t *profile_frames(const struct profile *p, uint32_t off)
{
	return p->fs + off;
}

#endif
