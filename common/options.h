/* options.h - the one table of AUDIOPROF_* settings, read once from the environment.
 * Every option has a name, type, default, bounds and help line; the same table prints
 * `audioprof run --help-env` and is checked against man/libaudioprof.7 by a test. */
#ifndef AUDIOPROF_OPTIONS_H
#define AUDIOPROF_OPTIONS_H

#include <stdint.h>

enum opt_type { OPT_BOOL, OPT_INT, OPT_SIZE, OPT_TIME, OPT_STRING, OPT_CHOICE };

enum opt_id {
	OPT_OUT,            /* output path pattern, %p pid, %n program name */
	OPT_DEPTH,          /* frames recorded per allocation stack */
	OPT_INTERVAL,       /* periodic snapshot interval (ns); 0 disables */
	OPT_FOLLOW_EXEC,    /* keep profiling programs started with exec */
	OPT_FOLLOW_FORK,    /* forked children write their own profile */
	OPT_STACK_CACHE,    /* per-thread validated stack cache */
	OPT_SHORT_LIVED,    /* DHAT's tuth: blocks living less than this are short-lived (ns) */
	OPT_SIGNALS,        /* write the profile on SIGINT/SIGTERM/SIGHUP and crash signals */
	OPT_EXEC_CHAIN,     /* internal: "pid:k" of the profiled image that exec'd this one */
	OPT_RT_THREADS,     /* glob of thread names whose whole run is real-time */
	OPT_ON_VIOLATION,   /* record | warn | abort at a real-time violation */
	OPT_SAMPLE,         /* heap timeline sampling period (ns); 0 disables */
	OPT_CLOCK,          /* auto | monotonic: the hot path's clock (clock.h) */
	OPT_SYMCACHE,       /* directory of the persistent symbol cache; "off" disables */
	OPT_CPU,            /* rt | all | off: CPU-time stack sampling (cpuprof.h) */
	OPT_CPU_RATE,       /* samples per second of a thread's CPU time */
	OPT_SLOW_CYCLES,    /* slowest cycles kept per callback source */
	OPT_COUNT
};

struct opt_def {
	const char *name;      /* environment variable name */
	enum opt_type type;
	const char *def;       /* default, as text */
	int64_t min, max;      /* bounds for numbers */
	const char *help;      /* one line */
	const char *choices;   /* OPT_CHOICE: "a|b|c"; the value is the index */
};

extern const struct opt_def options_table[OPT_COUNT];

/* Parsed values; read-only after options_load(). */
struct opt_values {
	int64_t num[OPT_COUNT];
	const char *str[OPT_COUNT];  /* points into environ or the default; never freed */
};
extern struct opt_values options;

/* Read the environment once; a bad value warns once (log) and keeps the default.
 * Async-unsafe; called from init with the re-entrancy guard held. No allocation. */
void options_load(void);

/* Parsers shared with the analyzer; return 0 on success, -1 on a bad value. */
int options_parse_bool(const char *s, int64_t *out);
int options_parse_int(const char *s, int64_t *out);
int options_parse_size(const char *s, int64_t *out);   /* 64, 4K, 16M, 1G */
int options_parse_time(const char *s, int64_t *out);   /* ns: 5s, 250ms, 100us, 10ns; bare = seconds */
int options_parse_choice(const char *choices, const char *s, int64_t *out);   /* index */

#define OPT_NUM(id) (options.num[(id)])
#define OPT_STR(id) (options.str[(id)])

#endif
