/* allocbench.c - an allocation-heavy workload for timing heap profilers (`make bench`).
 * 96 distinct allocation sites (malloc, calloc, realloc) reached through 5..20 frames of
 * non-inlined recursion, sizes 16..4096, a ring of live blocks freed later (often by another
 * site's operation, or by the other thread), and every block touched as real code does.
 * Built like a distro program: -O2 -g, no frame pointers. Plain C, no C++. */

#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* ---------------------------------------------------------------- configuration */

#define N_MALLOC_SITES  64              /* sites 0..63 call malloc */
#define N_CALLOC_SITES  16              /* sites 64..79 call calloc */
#define N_REALLOC_SITES 16              /* sites 80..95 call realloc */
#define N_ALLOC_SITES   (N_MALLOC_SITES + N_CALLOC_SITES)
#define N_SITES         (N_ALLOC_SITES + N_REALLOC_SITES)
#define RING_SLOTS      8192            /* live blocks kept per thread */
#define QUEUE_SLOTS     1024            /* handoff queue capacity (power of two) */
#define MIN_DEPTH       5               /* recursion levels before allocating */
#define MAX_DEPTH       20
#define DEFAULT_OPS     1000000L        /* operations per thread */
#define DEFAULT_HANDOFF 16              /* with 2 threads, 1 evicted block in N is handed over */
#define DEFAULT_SEED    0x5eedULL

/* ---------------------------------------------------------------- per-thread state */

/* Single-producer single-consumer lock-free queue: one thread pushes blocks it wants the
 * other thread to free. head is written by the consumer only, tail by the producer only. */
struct handoff {
	_Alignas(64) _Atomic size_t head;   /* next slot to pop (consumer) */
	_Alignas(64) _Atomic size_t tail;   /* next slot to push (producer) */
	_Alignas(64) void *slot[QUEUE_SLOTS];
};

struct worker {
	int id;                      /* 0 or 1 */
	long ops;                    /* operations to perform */
	unsigned handoff_every;      /* hand over 1 evicted block in this many; 0 = never */
	uint64_t rng;                /* splitmix64 state */
	void *ring[RING_SLOTS];      /* live blocks, freed when evicted */
	struct handoff *in, *out;    /* queues from / to the other thread; NULL with 1 thread */
	uint64_t site_calls[N_SITES];   /* allocation calls made at each site */
	uint64_t site_bytes[N_SITES];   /* bytes requested at each site */
	uint64_t frees;              /* free() calls made by this thread */
	uint64_t handed;             /* blocks pushed to the other thread */
	uint64_t checksum;           /* keeps the work observable */
};

/* One operation, passed down the recursion to the site. */
struct op {
	struct worker *w;
	size_t size;                 /* requested size */
	void *old;                   /* block to realloc (realloc sites only) */
	int site;
	uint64_t trail;              /* written on the way back up, so calls are not tail calls */
};

static uint64_t rnd(struct worker *w)
{
	uint64_t z = (w->rng += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Log-uniform size in 16..4096: small blocks are more common, as in real programs. */
static size_t rnd_size(struct worker *w)
{
	uint64_t r = rnd(w);
	unsigned e = 4 + (unsigned)(r % 8);          /* 16 .. 2048 */
	size_t lo = (size_t)1 << e;
	return lo + (size_t)((r >> 8) % (lo + 1));   /* lo .. 2*lo */
}

static void die(const char *what)
{
	fprintf(stderr, "allocbench: %s: %s\n", what, strerror(errno ? errno : ENOMEM));
	exit(1);
}

/* ---------------------------------------------------------------- the sites */

#define TOUCH(p, n, v) memset((p), (v), (n) < 64 ? (n) : 64)

#define MALLOC_SITE(n)                                                         \
	static __attribute__((noinline)) void *bench_site_##n(struct op *op)   \
	{                                                                      \
		void *p = malloc(op->size);                                    \
		if (!p)                                                        \
			die("malloc");                                         \
		TOUCH(p, op->size, (n) & 0xff);                                \
		op->w->site_calls[n]++;                                        \
		op->w->site_bytes[n] += op->size;                              \
		return p;                                                      \
	}

#define CALLOC_SITE(n)                                                         \
	static __attribute__((noinline)) void *bench_site_##n(struct op *op)   \
	{                                                                      \
		size_t nmemb = (op->size + 15) / 16;                           \
		unsigned char *p = calloc(nmemb, 16);                          \
		if (!p)                                                        \
			die("calloc");                                         \
		TOUCH(p, nmemb * 16, (n) & 0xff);                              \
		op->w->site_calls[n]++;                                        \
		op->w->site_bytes[n] += nmemb * 16;                            \
		return p;                                                      \
	}

#define REALLOC_SITE(n)                                                        \
	static __attribute__((noinline)) void *bench_site_##n(struct op *op)   \
	{                                                                      \
		void *p = realloc(op->old, op->size);                          \
		if (!p)                                                        \
			die("realloc");                                        \
		TOUCH(p, op->size, (n) & 0xff);                                \
		op->w->site_calls[n]++;                                        \
		op->w->site_bytes[n] += op->size;                              \
		return p;                                                      \
	}

#define SITES8(M, a) M(a##0) M(a##1) M(a##2) M(a##3) M(a##4) M(a##5) M(a##6) M(a##7)
/* sites 0..63: malloc (numbers written without a leading 0, so 1..9 are plain decimals) */
MALLOC_SITE(0) MALLOC_SITE(1) MALLOC_SITE(2) MALLOC_SITE(3) MALLOC_SITE(4)
MALLOC_SITE(5) MALLOC_SITE(6) MALLOC_SITE(7) MALLOC_SITE(8) MALLOC_SITE(9)
SITES8(MALLOC_SITE, 1) MALLOC_SITE(18) MALLOC_SITE(19)
SITES8(MALLOC_SITE, 2) MALLOC_SITE(28) MALLOC_SITE(29)
SITES8(MALLOC_SITE, 3) MALLOC_SITE(38) MALLOC_SITE(39)
SITES8(MALLOC_SITE, 4) MALLOC_SITE(48) MALLOC_SITE(49)
SITES8(MALLOC_SITE, 5) MALLOC_SITE(58) MALLOC_SITE(59)
MALLOC_SITE(60) MALLOC_SITE(61) MALLOC_SITE(62) MALLOC_SITE(63)
/* sites 64..79: calloc */
CALLOC_SITE(64) CALLOC_SITE(65) CALLOC_SITE(66) CALLOC_SITE(67)
CALLOC_SITE(68) CALLOC_SITE(69) SITES8(CALLOC_SITE, 7)
CALLOC_SITE(78) CALLOC_SITE(79)
/* sites 80..95: realloc */
SITES8(REALLOC_SITE, 8) REALLOC_SITE(88) REALLOC_SITE(89)
REALLOC_SITE(90) REALLOC_SITE(91) REALLOC_SITE(92) REALLOC_SITE(93)
REALLOC_SITE(94) REALLOC_SITE(95)

#define F10(a) bench_site_##a##0, bench_site_##a##1, bench_site_##a##2, bench_site_##a##3, \
	bench_site_##a##4, bench_site_##a##5, bench_site_##a##6, bench_site_##a##7,       \
	bench_site_##a##8, bench_site_##a##9
static void *(*const site_fn[N_SITES])(struct op *) = {
	bench_site_0, bench_site_1, bench_site_2, bench_site_3, bench_site_4,
	bench_site_5, bench_site_6, bench_site_7, bench_site_8, bench_site_9,
	F10(1), F10(2), F10(3), F10(4), F10(5), F10(6), F10(7), F10(8),
	bench_site_90, bench_site_91, bench_site_92, bench_site_93, bench_site_94, bench_site_95,
};

/* ---------------------------------------------------------------- the recursion */

/* Four distinct frames; which one is used at each level depends on the site and the level,
 * so each (site, depth) pair has one fixed stack, as a call path in a real program does. */
static void *descend(struct op *op, int level);

#define LAYER(k)                                                               \
	static __attribute__((noinline)) void *layer_##k(struct op *op, int level) \
	{                                                                      \
		void *r = level == 0 ? site_fn[op->site](op) : descend(op, level - 1); \
		op->trail = op->trail * 31 + (k) + 1;  /* work after the call */ \
		return r;                                                      \
	}
LAYER(0) LAYER(1) LAYER(2) LAYER(3)

static void *(*const layer_fn[4])(struct op *, int) = { layer_0, layer_1, layer_2, layer_3 };

static void *descend(struct op *op, int level)
{
	return layer_fn[((unsigned)op->site * 7u + (unsigned)level) & 3u](op, level);
}

/* ---------------------------------------------------------------- operations */

static void free_counted(struct worker *w, void *p)
{
	free(p);
	w->frees++;
}

/* Give a block to the other thread to free; free it here if the queue is full. */
static void hand_off(struct worker *w, void *p)
{
	struct handoff *q = w->out;
	size_t tail = atomic_load_explicit(&q->tail, memory_order_relaxed);
	size_t head = atomic_load_explicit(&q->head, memory_order_acquire);
	if (tail - head == QUEUE_SLOTS) {
		free_counted(w, p);
		return;
	}
	q->slot[tail & (QUEUE_SLOTS - 1)] = p;
	atomic_store_explicit(&q->tail, tail + 1, memory_order_release);
	w->handed++;
}

/* Free up to max blocks the other thread handed to us. */
static void drain(struct worker *w, struct handoff *q, size_t max)
{
	size_t head = atomic_load_explicit(&q->head, memory_order_relaxed);
	size_t tail = atomic_load_explicit(&q->tail, memory_order_acquire);
	for (size_t n = 0; head != tail && n < max; n++, head++)
		free_counted(w, q->slot[head & (QUEUE_SLOTS - 1)]);
	atomic_store_explicit(&q->head, head, memory_order_release);
}

static void *at_site(struct worker *w, int site, size_t size, void *old)
{
	struct op op = { .w = w, .size = size, .old = old, .site = site, .trail = 0 };
	int depth = MIN_DEPTH + (int)(rnd(w) % (MAX_DEPTH - MIN_DEPTH + 1));
	/* descend() counts levels from 0, and the first layer frame is level depth-1 */
	void *p = descend(&op, depth - 1);
	w->checksum += op.trail;
	return p;
}

static void run_op(struct worker *w)
{
	uint64_t r = rnd(w);
	unsigned kind = (unsigned)(r % 100);
	size_t size = rnd_size(w);
	size_t slot = (size_t)((r >> 8) % RING_SLOTS);

	if (kind >= 85 && w->ring[slot]) {              /* 15 %: grow or shrink a live block */
		int site = N_ALLOC_SITES + (int)((r >> 24) % N_REALLOC_SITES);
		w->ring[slot] = at_site(w, site, size, w->ring[slot]);
		return;
	}
	int site = (int)((r >> 24) % N_ALLOC_SITES);
	void *p = at_site(w, site, size, NULL);
	w->checksum += ((unsigned char *)p)[0];
	if (kind < 50) {                                /* 50 %: temporary */
		free_counted(w, p);
		return;
	}
	void *old = w->ring[slot];                      /* 35 %: kept; evicts an older block */
	w->ring[slot] = p;
	if (!old)
		return;
	if (w->out && w->handoff_every && (r >> 40) % w->handoff_every == 0)
		hand_off(w, old);
	else
		free_counted(w, old);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	for (long i = 0; i < w->ops; i++) {
		run_op(w);
		if (w->in)
			drain(w, w->in, 2);
	}
	for (size_t i = 0; i < RING_SLOTS; i++)
		if (w->ring[i]) {
			free_counted(w, w->ring[i]);
			w->ring[i] = NULL;
		}
	return NULL;
}

/* ---------------------------------------------------------------- main */

static void usage(FILE *f)
{
	fprintf(f,
		"usage: allocbench [-t THREADS] [-n OPS] [-x N] [-s]\n"
		"  -t THREADS  1 or 2 (default 1); with 2, each thread does OPS operations and\n"
		"              frees blocks the other thread hands it through a lock-free queue\n"
		"  -n OPS      operations per thread (default %ld); one allocation call each\n"
		"  -x N        with 2 threads, hand 1 in N evicted live blocks to the other\n"
		"              thread (default %d; 0 = never)\n"
		"  -s          also print the allocation calls and bytes of every site\n"
		"Prints one result line on stdout (identical with and without a profiler) and\n"
		"the program's own elapsed time on stderr.\n", DEFAULT_OPS, DEFAULT_HANDOFF);
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int main(int argc, char **argv)
{
	uint64_t t0 = now_ns();
	int threads = 1, per_site = 0, handoff = DEFAULT_HANDOFF, c;
	long ops = DEFAULT_OPS;
	char *end;

	while ((c = getopt(argc, argv, "t:n:x:sh")) != -1) {
		switch (c) {
		case 't':
			threads = (int)strtol(optarg, &end, 10);
			if (*end || (threads != 1 && threads != 2)) {
				usage(stderr);
				return 2;
			}
			break;
		case 'n':
			ops = strtol(optarg, &end, 10);
			if (*end || ops < 0) {
				usage(stderr);
				return 2;
			}
			break;
		case 'x':
			handoff = (int)strtol(optarg, &end, 10);
			if (*end || handoff < 0) {
				usage(stderr);
				return 2;
			}
			break;
		case 's':
			per_site = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}

	static struct worker w[2];
	static struct handoff q[2];             /* q[i]: from worker i to the other one */
	for (int i = 0; i < threads; i++) {
		w[i].id = i;
		w[i].ops = ops;
		w[i].handoff_every = (unsigned)handoff;
		w[i].rng = DEFAULT_SEED + 0x1000ULL * (uint64_t)i;
		if (threads == 2) {
			w[i].out = &q[i];
			w[i].in = &q[1 - i];
		}
	}

	if (threads == 1) {
		worker_main(&w[0]);             /* on the main thread, as a 1-thread program */
	} else {
		pthread_t tid;
		int err = pthread_create(&tid, NULL, worker_main, &w[1]);
		if (err) {
			errno = err;
			die("pthread_create");
		}
		worker_main(&w[0]);
		pthread_join(tid, NULL);
		drain(&w[0], &q[1], QUEUE_SLOTS);   /* what worker 1 handed over last */
		drain(&w[1], &q[0], QUEUE_SLOTS);   /* and worker 0 (counted as worker 1's frees) */
	}

	uint64_t calls = 0, bytes = 0, frees = 0, handed = 0, sum = 0;
	uint64_t site_calls[N_SITES] = { 0 }, site_bytes[N_SITES] = { 0 };
	for (int i = 0; i < threads; i++) {
		for (int s = 0; s < N_SITES; s++) {
			site_calls[s] += w[i].site_calls[s];
			site_bytes[s] += w[i].site_bytes[s];
		}
		frees += w[i].frees;
		handed += w[i].handed;
		sum += w[i].checksum;
	}
	for (int s = 0; s < N_SITES; s++) {
		calls += site_calls[s];
		bytes += site_bytes[s];
	}
	uint64_t t1 = now_ns();

	/* The result line is deterministic: the same with and without a profiler. */
	printf("allocbench: threads=%d ops=%ld sites=%d alloc_calls=%" PRIu64
	       " alloc_bytes=%" PRIu64 " frees=%" PRIu64 " checksum=%016" PRIx64 "\n",
	       threads, ops, N_SITES, calls, bytes, frees, sum);
	if (per_site)
		for (int s = 0; s < N_SITES; s++)
			printf("site %d %s calls=%" PRIu64 " bytes=%" PRIu64 "\n", s,
			       s < N_MALLOC_SITES ? "malloc" : s < N_ALLOC_SITES ? "calloc" : "realloc",
			       site_calls[s], site_bytes[s]);
	fflush(stdout);
	fprintf(stderr, "allocbench: elapsed %.3f s (handed to the other thread: %" PRIu64 ")\n",
		(double)(t1 - t0) / 1e9, handed);
	return 0;
}
