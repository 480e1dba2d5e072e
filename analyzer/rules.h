/* rules.h - the analyzer's advice: a table of rules, each with a name, a severity, a
 * check over the profile, plain advice text with {placeholders} and the test fixture it
 * fires on (tests/fixtures/). `audioprof report` prints what they find. */
#ifndef AUDIOPROF_RULES_H
#define AUDIOPROF_RULES_H

#include <stddef.h>

struct profile;

enum severity { SEV_INFO, SEV_WARNING, SEV_ERROR };

struct findings;

struct rule {
	const char *name;        /* stable identifier, e.g. "callback-alloc" */
	enum severity severity;
	/* Appends one finding per problem with rules_emit(). */
	void (*check)(const struct profile *p, const struct rule *r, struct findings *out);
	const char *advice;      /* template: "{calls} in {func}() at {where}: ..." */
	const char *fixture;     /* tests/fixtures/<fixture>: a profile this rule fires on */
};

struct finding {
	const struct rule *rule;
	char *text;              /* the expanded advice (owned) */
	long long weight;        /* orders findings of one rule: larger first */
};

struct findings {
	struct finding *v;
	size_t n, cap;
};

extern const struct rule rules_table[];
extern const size_t rules_count;

/* Runs every rule; findings come out by severity (errors first), then by rule order,
 * then by weight. */
void rules_run(const struct profile *p, struct findings *out);

/* Expands r->advice with the NULL-terminated key, value pairs and appends it. */
void rules_emit(struct findings *out, const struct rule *r, long long weight, ...)
	__attribute__((sentinel));

void findings_free(struct findings *f);

const char *severity_name(enum severity s);   /* "error", "warning", "info" */

/* `jack "metro"` for callback index i; "a real-time thread" for -1 (no source). */
void rules_callback_label(const struct profile *p, long long i, char *buf, size_t len);

#endif
