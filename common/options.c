/* options.c - the AUDIOPROF_* options table and its parsers. Read once at start-up
 * from the environment; a bad value gives one warning and the default is kept. The
 * same table is printed by `audioprof help-env` and checked against libaudioprof(7). */
#include "options.h"
#include "log.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define S_NS  1000000000LL
#define MS_NS 1000000LL

const struct opt_def options_table[OPT_COUNT] = {
	[OPT_OUT] = { "AUDIOPROF_OUT", OPT_STRING, "audioprof.%p.json", 0, 0,
		"output file; %p = pid, %n = program name, %% = %" },
	[OPT_DEPTH] = { "AUDIOPROF_DEPTH", OPT_INT, "32", 1, 128,
		"stack frames recorded per allocation site" },
	[OPT_INTERVAL] = { "AUDIOPROF_INTERVAL", OPT_TIME, "5s", 0, 86400LL * S_NS,
		"period of the snapshot rewrite of the profile; 0 disables" },
	[OPT_FOLLOW_EXEC] = { "AUDIOPROF_FOLLOW_EXEC", OPT_BOOL, "1", 0, 1,
		"keep profiling programs this one starts with exec" },
	[OPT_FOLLOW_FORK] = { "AUDIOPROF_FOLLOW_FORK", OPT_BOOL, "1", 0, 1,
		"forked children write a profile of their own" },
	[OPT_STACK_CACHE] = { "AUDIOPROF_STACK_CACHE", OPT_BOOL, "1", 0, 1,
		"reuse validated stacks per thread instead of unwinding every time" },
	[OPT_SHORT_LIVED] = { "AUDIOPROF_SHORT_LIVED", OPT_TIME, "1ms", 0, 86400LL * S_NS,
		"blocks freed sooner than this count as short-lived (DHAT tuth)" },
	[OPT_SIGNALS] = { "AUDIOPROF_SIGNALS", OPT_BOOL, "1", 0, 1,
		"write the profile before SIGINT, SIGTERM, SIGHUP or a crash kills the program" },
	[OPT_EXEC_CHAIN] = { "AUDIOPROF_EXEC_CHAIN", OPT_STRING, "", 0, 0,
		"set by the preload itself (pid:k of the k-th exec'd image); do not set" },
	[OPT_RT_THREADS] = { "AUDIOPROF_RT_THREADS", OPT_STRING, "", 0, 0,
		"glob of thread names (e.g. \"cpal_alsa_out\") whose whole run counts as real-time" },
	[OPT_ON_VIOLATION] = { "AUDIOPROF_ON_VIOLATION", OPT_CHOICE, "record", 0, 2,
		"at a real-time violation: record it, warn once per site on stderr, or abort",
		"record|warn|abort" },
	[OPT_SAMPLE] = { "AUDIOPROF_SAMPLE", OPT_TIME, "100ms", 0, 3600LL * S_NS,
		"period of the heap timeline samples (live bytes, glibc heap size); 0 disables" },
	[OPT_CLOCK] = { "AUDIOPROF_CLOCK", OPT_CHOICE, "auto", 0, 1,
		"block birth/death clock: auto (the TSC when the kernel keeps time with it) or monotonic",
		"auto|monotonic" },
	[OPT_SYMCACHE] = { "AUDIOPROF_SYMCACHE", OPT_STRING, "auto", 0, 0,
		"directory of the persistent cache of frames resolved from debug info; "
		"auto = $XDG_CACHE_HOME/audioprof or ~/.cache/audioprof; off disables" },
	[OPT_CPU] = { "AUDIOPROF_CPU", OPT_CHOICE, "rt", 0, 2,
		"sample stacks on each thread's CPU time: in real-time code only (rt), "
		"on every thread (all), or not at all (off)", "rt|all|off" },
	[OPT_CPU_RATE] = { "AUDIOPROF_CPU_RATE", OPT_INT, "1000", 1, 10000,
		"CPU samples per second of a thread's CPU time" },
	[OPT_SLOW_CYCLES] = { "AUDIOPROF_SLOW_CYCLES", OPT_INT, "10", 0, 1000,
		"slowest cycles kept per callback source with their violations, beside its "
		"first 64 overruns; 0 keeps neither" },
};

struct opt_values options;

/* ------------------------------------------------------------------ parsers */

int options_parse_bool(const char *s, int64_t *out)
{
	static const char *yes[] = { "1", "yes", "on", "true" };
	static const char *no[] = { "0", "no", "off", "false" };
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcasecmp(s, yes[i]) == 0) { *out = 1; return 0; }
		if (strcasecmp(s, no[i]) == 0) { *out = 0; return 0; }
	}
	return -1;
}

/* Digits, then a suffix looked up in `units` (name, multiplier). Overflow is an error. */
struct unit { const char *name; int64_t mul; };

static int parse_scaled(const char *s, const struct unit *units, int64_t *out)
{
	while (isspace((unsigned char)*s))
		s++;
	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	char *end;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || v > INT64_MAX)
		return -1;
	for (const struct unit *u = units; u->name; u++) {
		if (strcasecmp(end, u->name) == 0) {
			if (u->mul && v > (unsigned long long)(INT64_MAX / u->mul))
				return -1;
			*out = (int64_t)v * u->mul;
			return 0;
		}
	}
	return -1;
}

int options_parse_int(const char *s, int64_t *out)
{
	static const struct unit u[] = { { "", 1 }, { NULL, 0 } };
	return parse_scaled(s, u, out);
}

int options_parse_size(const char *s, int64_t *out)
{
	static const struct unit u[] = {
		{ "", 1 }, { "b", 1 }, { "k", 1LL << 10 }, { "kb", 1LL << 10 }, { "kib", 1LL << 10 },
		{ "m", 1LL << 20 }, { "mb", 1LL << 20 }, { "mib", 1LL << 20 },
		{ "g", 1LL << 30 }, { "gb", 1LL << 30 }, { "gib", 1LL << 30 }, { NULL, 0 } };
	return parse_scaled(s, u, out);
}

int options_parse_time(const char *s, int64_t *out)
{
	static const struct unit u[] = {
		{ "", S_NS }, { "s", S_NS }, { "ms", MS_NS }, { "us", 1000 }, { "ns", 1 },
		{ "m", 60 * S_NS }, { "min", 60 * S_NS }, { NULL, 0 } };
	return parse_scaled(s, u, out);
}

int options_parse_choice(const char *choices, const char *s, int64_t *out)
{
	int64_t i = 0;
	size_t len = strlen(s);
	for (const char *p = choices; p && *p; i++) {
		const char *e = strchr(p, '|');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		if (n == len && len && strncasecmp(p, s, n) == 0) {
			*out = i;
			return 0;
		}
		p = e ? e + 1 : NULL;
	}
	return -1;
}

static int parse_one(const struct opt_def *d, const char *s, int64_t *out)
{
	switch (d->type) {
	case OPT_CHOICE: return options_parse_choice(d->choices, s, out);
	case OPT_BOOL: return options_parse_bool(s, out);
	case OPT_INT: return options_parse_int(s, out);
	case OPT_SIZE: return options_parse_size(s, out);
	case OPT_TIME: return options_parse_time(s, out);
	case OPT_STRING: return 0;
	}
	return -1;
}

/* ------------------------------------------------------------------ loading */

void options_load(void)
{
	for (int i = 0; i < OPT_COUNT; i++) {
		const struct opt_def *d = &options_table[i];
		int64_t v = 0;
		parse_one(d, d->def, &v);
		options.num[i] = v;
		options.str[i] = d->def;
		const char *env = getenv(d->name);
		if (!env)
			continue;
		if (d->type == OPT_STRING) {
			if (*env)
				options.str[i] = env;
			else if (*d->def)
				log_msg("%s is empty; using the default \"%s\"", d->name, d->def);
			continue;
		}
		if (parse_one(d, env, &v) != 0 || v < d->min || v > d->max) {
			log_msg("%s=\"%s\" is not valid (%s); using the default %s",
				d->name, env, d->help, d->def);
			continue;
		}
		options.num[i] = v;
		options.str[i] = env;
	}
}
