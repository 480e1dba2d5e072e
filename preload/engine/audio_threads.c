/* audio_threads.c - the threads behind callback sources: AUDIOPROF_RT_THREADS (whole
 * threads marked real-time by name) and each source's thread name and scheduling,
 * read from /proc by the writer thread. */
#include "audio_int.h"
#include "cpuprof.h"
#include "fds.h"
#include "options.h"
#include "wildcard.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

/* ------------------------------------------------------------ AUDIOPROF_RT_THREADS */

static const char *rt_threads_pattern;

void audio_thread_recheck(void)
{
	struct rt_tls *t = &ap_rt;
	t->gen = __atomic_load_n(&audio_rt_gen, __ATOMIC_RELAXED);
	if (!rt_threads_pattern || t->never_rt)
		return;
	char name[16] = "";
	prctl(PR_GET_NAME, name, 0, 0, 0);
	int match = glob_match(rt_threads_pattern, name);
	if (match && !t->thread_src) {
		runtime_guard++;
		t->thread_src = audio_source_new(AP_API_THREAD, name);
		runtime_guard--;
		if (!t->tid)
			t->tid = (int)syscall(SYS_gettid);
		if (t->thread_src) {
			t->thread_src->tid = t->tid;
			snprintf(t->thread_src->thread, sizeof(t->thread_src->thread), "%s", name);
		}
		t->depth++;
		cpuprof_rt_entered();
	} else if (!match && t->thread_src) {
		t->thread_src = NULL;
		t->depth--;
	}
}

/* Called by the shim when any thread is renamed: every thread looks at its name
 * again on its next interposed call. */
void audio_names_changed(void)
{
	if (rt_threads_pattern)
		__atomic_add_fetch(&audio_rt_gen, 1, __ATOMIC_RELAXED);
}

void audio_threads_init(void)
{
	const char *p = OPT_STR(OPT_RT_THREADS);
	if (p && *p) {
		rt_threads_pattern = p;
		audio_rt_gen = 1;   /* every thread checks its name on its next call */
	}
}

/* ------------------------------------------------------------ thread info */

static void thread_info(int tid, char *name, size_t nlen, char *policy, size_t plen, int *prio);

void audio_refresh_thread(struct cb_source *s)
{
	if (s->tid > 0)
		thread_info(s->tid, s->thread, sizeof(s->thread), s->policy, sizeof(s->policy), &s->prio);
}

/* Thread name and scheduling from /proc; unchanged when the thread is gone. */
static void thread_info(int tid, char *name, size_t nlen, char *policy, size_t plen, int *prio)
{
	if (tid <= 0)
		return;
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", tid);
	int fd = fds_open(path, O_RDONLY, 0);
	if (fd < 0)
		return;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = 0;
	char *l = strchr(buf, '('), *r = strrchr(buf, ')');
	if (!l || !r || r < l)
		return;
	snprintf(name, nlen, "%.*s", (int)(r - l - 1), l + 1);
	/* Fields after ") ": state is field 3; rt_priority 40, policy 41. */
	char *p = r + 2;
	long v40 = 0, v41 = 0;
	for (int field = 3; *p && field <= 41; field++) {
		char *e;
		long v = strtol(p, &e, 10);
		if (field == 40)
			v40 = v;
		if (field == 41)
			v41 = v;
		p = strchr(p, ' ');
		if (!p)
			break;
		p++;
	}
	static const char *const pol[] = { "SCHED_OTHER", "SCHED_FIFO", "SCHED_RR", "SCHED_BATCH",
					   "SCHED_ISO", "SCHED_IDLE", "SCHED_DEADLINE" };
	v41 &= ~0x40000000L;   /* SCHED_RESET_ON_FORK */
	snprintf(policy, plen, "%s", v41 >= 0 && v41 < 7 ? pol[v41] : "?");
	*prio = (int)v40;
}
