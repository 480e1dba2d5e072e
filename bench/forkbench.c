/* forkbench.c - a fork-heavy workload for timing what a heap profiler costs fork()
 * (`make bench`, forkbench.sh). The parent keeps one live block at each of 2^LEVELS
 * distinct allocation stacks (so that a profile write has real work: a site table, frames
 * to symbolize, a file of some size), then forks N times in a loop while it allocates:
 * each child allocates and frees a few blocks of its own and exits with exit(0) (so under
 * a profiler it writes its own profile), and the parent reaps it before the next fork.
 * Each fork() is timed from the call to its return in the parent; each iteration from
 * the fork to the child's reaping (what a child's exit costs the parent).
 * Built like a distro program: -O2 -g, no frame pointers. Plain C.
 *
 * usage: forkbench [-n FORKS] [-l LEVELS] [-c CHILD_ALLOCS]
 * Prints "forkbench: forks=N children_ok=N sites=S parent_allocs=A child_allocs=C" and
 * "forkbench: fork_ns median=M max=X p99=P iter_ns median=M max=X"; exits 1 if a fork or a
 * child failed. */

#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_LEVELS 14
#define NOINLINE __attribute__((noinline, noclone))

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---------------------------------------------------------------- the site tree */

/* A walk down LEVELS levels, going through step_l or step_r at each one as the bits
 * of `path` say: 2^LEVELS distinct return-address chains, one site each. */
struct walk {
	unsigned path;       /* which way at each level */
	int level, levels;
	size_t size;
	uint64_t trail;      /* written on the way back up: the calls are not tail calls */
};

static void *volatile sink;

NOINLINE static void *tree_leaf(struct walk *w)
{
	void *p = malloc(w->size);
	if (p)
		memset(p, 0x5a, w->size < 64 ? w->size : 64);
	return p;
}

static void *step(struct walk *w);

NOINLINE static void *step_l(struct walk *w)
{
	w->level++;
	void *p = step(w);
	w->trail = w->trail * 31 + 1;
	return p;
}

NOINLINE static void *step_r(struct walk *w)
{
	w->level++;
	void *p = step(w);
	w->trail = w->trail * 31 + 2;
	return p;
}

NOINLINE static void *step(struct walk *w)
{
	if (w->level >= w->levels)
		return tree_leaf(w);
	return (w->path >> w->level) & 1 ? step_r(w) : step_l(w);
}

static void *tree_alloc(unsigned path, int levels, size_t size, uint64_t *trail)
{
	struct walk w = { path, 0, levels, size, 0 };
	void *p = step(&w);
	*trail += w.trail;
	return p;
}

/* ---------------------------------------------------------------- the child */

NOINLINE static void *child_site(size_t size)
{
	return malloc(size);
}

/* The child's own work: c blocks of 48 bytes, every other one freed; then exit(). */
NOINLINE static void child_main(int c)
{
	void **v = calloc((size_t)c + 1, sizeof(*v));
	if (!v)
		_exit(3);
	for (int i = 0; i < c; i++) {
		v[i] = child_site(48);
		if (!v[i])
			_exit(3);
	}
	for (int i = 0; i < c; i += 2)
		free(v[i]);
	sink = v;
	exit(0);
}

/* ---------------------------------------------------------------- main */

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: forkbench [-n FORKS] [-l LEVELS (1..%d)] [-c CHILD_ALLOCS]\n",
		MAX_LEVELS);
}

int main(int argc, char **argv)
{
	long n = 200;
	int levels = 10, c = 16, opt;
	while ((opt = getopt(argc, argv, "n:l:c:h")) != -1) {
		switch (opt) {
		case 'n': n = atol(optarg); break;
		case 'l': levels = atoi(optarg); break;
		case 'c': c = atoi(optarg); break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (n < 1 || levels < 1 || levels > MAX_LEVELS || c < 0 || optind != argc) {
		usage(stderr);
		return 2;
	}
	unsigned nsites = 1u << levels;
	uint64_t trail = 0, parent_allocs = 0;
	void **keep = calloc(nsites, sizeof(*keep));
	uint64_t *fork_ns = calloc((size_t)n, sizeof(*fork_ns));
	uint64_t *iter_ns = calloc((size_t)n, sizeof(*iter_ns));
	if (!keep || !fork_ns || !iter_ns) {
		fprintf(stderr, "forkbench: out of memory\n");
		return 1;
	}
	parent_allocs += 3;
	for (unsigned s = 0; s < nsites; s++, parent_allocs++)
		keep[s] = tree_alloc(s, levels, 16 + s % 256, &trail);

	long ok = 0;
	for (long i = 0; i < n; i++) {
		/* The parent keeps allocating between forks: one block replaced. */
		unsigned s = (unsigned)(i * 7919) % nsites;
		free(keep[s]);
		keep[s] = tree_alloc(s, levels, 16 + (size_t)(i % 512), &trail);
		parent_allocs++;

		uint64_t t0 = now_ns();
		pid_t pid = fork();
		uint64_t t1 = now_ns();
		if (pid < 0) {
			fprintf(stderr, "forkbench: fork: %s\n", strerror(errno));
			return 1;
		}
		if (pid == 0)
			child_main(c);
		int st;
		while (waitpid(pid, &st, 0) < 0) {
			if (errno != EINTR) {
				fprintf(stderr, "forkbench: waitpid: %s\n", strerror(errno));
				return 1;
			}
		}
		uint64_t t2 = now_ns();
		fork_ns[i] = t1 - t0;
		iter_ns[i] = t2 - t0;
		if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
			ok++;
	}
	qsort(fork_ns, (size_t)n, sizeof(*fork_ns), cmp_u64);
	qsort(iter_ns, (size_t)n, sizeof(*iter_ns), cmp_u64);
	printf("forkbench: forks=%ld children_ok=%ld sites=%u parent_allocs=%" PRIu64
	       " child_allocs=%d trail=%" PRIu64 "\n",
	       n, ok, nsites, parent_allocs, c, trail % 1000);
	printf("forkbench: fork_ns median=%" PRIu64 " max=%" PRIu64 " p99=%" PRIu64
	       " iter_ns median=%" PRIu64 " max=%" PRIu64 "\n", fork_ns[n / 2], fork_ns[n - 1],
	       fork_ns[n - 1 - n / 100], iter_ns[n / 2], iter_ns[n - 1]);
	return ok == n ? 0 : 1;
}
