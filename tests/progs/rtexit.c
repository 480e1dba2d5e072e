/* rtexit.c - leaves by exit(3) from inside real-time code, as an audio callback that
 * calls exit does (t_lazy_dw.sh): the region "rtexit" is entered, rtexit_site
 * allocates 64 bytes there, and exit(0) follows at once, still inside the region, a
 * few milliseconds after start (before the profiler's symbolizer thread has looked at
 * any site). The profile written at exit, on this real-time thread, still names
 * rtexit_site and main by file and line. */
#include <stdlib.h>
#include "audioprof.h"
#include "progs.h"

static void *volatile keep;

NOINLINE void *rtexit_site(void) { return malloc(64); }

int main(void)
{
	AUDIOPROF_RT_ENTER("rtexit");
	keep = rtexit_site();
	exit(0);
}
