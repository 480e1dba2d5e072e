/* fuzz_profile.c - libFuzzer target for the analyzer's profile reader: feeds arbitrary
 * bytes to profile_parse() (the in-memory parse and validation behind every command),
 * and for input that validates, runs what the commands do with untrusted strings and
 * numbers: the advice rules, frame-string parsing and the number formatters.
 * Built and run by tests/fuzz/Makefile (`make -C tests fuzz`). */
#include "fmt.h"
#include "metrics.h"
#include "profile_read.h"
#include "rules.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[1024];
	struct profile *p = profile_parse((const char *)data, size, "fuzz.json", err, sizeof(err));
	if (!p) {
		/* A failure always says something, naming the file. */
		if (strncmp(err, "fuzz.json: ", 11) != 0 || strlen(err) <= 11)
			abort();
		return 0;
	}
	struct findings fs = { 0 };
	rules_run(p, &fs);
	findings_free(&fs);
	char func[256], where[256], n[FMT_NUM];
	for (size_t i = 0; i < p->nftbl; i++)
		frame_names(p->ftbl[i], func, sizeof(func), where, sizeof(where));
	for (size_t i = 0; i < p->npps; i++) {
		const struct pp *pp = &p->pps[i];
		frame_pick_user(p, pp->fs_off, pp->fs_len);
		for (int m = 0; m < M_COUNT; m++)
			fmt_bytes(metric_value(pp, (enum metric)m), n);
		fmt_time(p, pp->tl, n);
	}
	profile_free(p);
	return 0;
}
