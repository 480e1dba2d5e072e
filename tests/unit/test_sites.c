/* test_sites.c - the site table and DHAT statistics, with exact known answers:
 * per-site maxima (including the case DHAT gets wrong), live bytes at the global
 * peak, lifetimes from explicit timestamps, and the same invariants under threads. */
#include <CUnit/CUnit.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sites.h"
#include "clock.h"
#include "suites.h"

/* A fresh accounting epoch: nothing live, no peak yet (the fork-child reset). */
static void reset(void)
{
	sites_reset_after_fork(0);
}

static uintptr_t next_ip = 0x100000;

/* A site of its own for each call. */
static site_id new_site(unsigned depth)
{
	uintptr_t ips[8];
	for (unsigned i = 0; i < depth; i++)
		ips[i] = next_ip + i * 16;
	next_ip += 0x1000;
	return sites_intern(ips, depth);
}

static struct site_stats rd(site_id s, uint64_t now)
{
	struct site_stats st;
	sites_read(s, now, &st);
	return st;
}

static void test_intern_dedup(void)
{
	uintptr_t a[3] = { 1, 2, 3 }, b[3] = { 1, 2, 4 };
	site_id sa = sites_intern(a, 3), sb = sites_intern(b, 3);
	CU_ASSERT(sa != 0 && sb != 0 && sa != sb);
	CU_ASSERT_EQUAL(sites_intern(a, 3), sa);
	CU_ASSERT_EQUAL(sites_intern(a, 2), sites_intern(a, 2));
	CU_ASSERT_NOT_EQUAL(sites_intern(a, 2), sa);
	unsigned d;
	const uintptr_t *ips = sites_stack(sb, &d);
	CU_ASSERT_EQUAL(d, 3);
	CU_ASSERT_EQUAL(ips[2], 4);
	CU_ASSERT(sites_count() >= sb);
}

/* Peak in the middle: A+100 B+50 (peak 150) A-100 B+20. */
static void test_peak_middle(void)
{
	reset();
	site_id a = new_site(3), b = new_site(3);
	sites_on_alloc(a, 100, 10);
	sites_on_alloc(b, 50, 20);
	sites_on_free(a, 100, 10, 30);
	sites_on_alloc(b, 20, 40);
	struct site_stats sa = rd(a, 100), sb = rd(b, 100);
	CU_ASSERT_EQUAL(sa.gb, 100); CU_ASSERT_EQUAL(sa.gbk, 1);
	CU_ASSERT_EQUAL(sb.gb, 50);  CU_ASSERT_EQUAL(sb.gbk, 1);
	CU_ASSERT_EQUAL(sa.mb, 100); CU_ASSERT_EQUAL(sa.mbk, 1);
	CU_ASSERT_EQUAL(sb.mb, 70);  CU_ASSERT_EQUAL(sb.mbk, 2);
	CU_ASSERT_EQUAL(sa.eb, 0);   CU_ASSERT_EQUAL(sb.eb, 70); CU_ASSERT_EQUAL(sb.ebk, 2);
	CU_ASSERT_EQUAL(sa.tb, 100); CU_ASSERT_EQUAL(sb.tb, 70); CU_ASSERT_EQUAL(sb.tbk, 2);
	/* Lifetimes: a lived 10..30; b's blocks live from 20 and 40 up to now = 100. */
	CU_ASSERT_EQUAL(sa.tl, 20);
	CU_ASSERT_EQUAL(sb.tl, 80 + 60);
	struct heap_totals t;
	sites_totals(&t);
	CU_ASSERT_EQUAL(t.max_b, 150);
	CU_ASSERT_EQUAL(t.max_k, 2);
	CU_ASSERT_EQUAL(t.tg, 20);
	CU_ASSERT_EQUAL(t.curr_b, 70);
	sites_on_free(b, 50, 20, 200);
	sites_on_free(b, 20, 40, 200);
}

/* DHAT's bug: a site that grows to 20 live bytes away from the global peak. */
static void test_site_max_off_peak(void)
{
	reset();
	site_id x = new_site(2), s = new_site(2);
	sites_on_alloc(x, 1000, 1);
	sites_on_free(x, 1000, 1, 2);
	sites_on_alloc(s, 10, 3);
	sites_on_alloc(s, 10, 4);
	sites_on_free(s, 10, 3, 5);
	sites_on_free(s, 10, 4, 6);
	struct site_stats ss = rd(s, 10);
	CU_ASSERT_EQUAL(ss.mb, 20);
	CU_ASSERT_EQUAL(ss.mbk, 2);
	CU_ASSERT_EQUAL(ss.gb, 0);
	CU_ASSERT_EQUAL(rd(x, 10).gb, 1000);
	CU_ASSERT_EQUAL(ss.tl, 2 + 2);
}

/* Returning to the same level is not a new peak: the first moment counts. */
static void test_peak_first_reached(void)
{
	reset();
	site_id a = new_site(2), b = new_site(2);
	sites_on_alloc(a, 100, 5);
	sites_on_free(a, 100, 5, 6);
	sites_on_alloc(b, 100, 7);
	CU_ASSERT_EQUAL(rd(a, 10).gb, 100);
	CU_ASSERT_EQUAL(rd(b, 10).gb, 0);
	struct heap_totals t;
	sites_totals(&t);
	CU_ASSERT_EQUAL(t.tg, 5);
	sites_on_free(b, 100, 7, 8);
}

/* The peak at the very end (never followed by a free) and a zero-size block. */
static void test_peak_at_end_and_zero(void)
{
	reset();
	site_id a = new_site(2), z = new_site(2);
	sites_on_alloc(z, 0, 1);       /* before the peak: counted in gbk */
	sites_on_alloc(a, 64, 2);
	sites_on_alloc(a, 64, 3);
	CU_ASSERT_EQUAL(rd(a, 9).gb, 128);
	CU_ASSERT_EQUAL(rd(a, 9).gbk, 2);
	CU_ASSERT_EQUAL(rd(z, 9).gbk, 1);
	sites_on_alloc(z, 0, 4);       /* after the peak: not counted */
	CU_ASSERT_EQUAL(rd(z, 9).gbk, 1);
	CU_ASSERT_EQUAL(rd(z, 9).ebk, 2);
	CU_ASSERT_EQUAL(rd(z, 9).mbk, 2);
	sites_on_free(a, 64, 2, 10);
	sites_on_free(a, 64, 3, 10);
	sites_on_free(z, 0, 1, 10);
	sites_on_free(z, 0, 4, 10);
	CU_ASSERT_EQUAL(rd(a, 20).gb, 128);
}

/* Many peaks: only the last (highest) one is reported, with every site's share. */
static void test_successive_peaks(void)
{
	reset();
	site_id a = new_site(2), b = new_site(2), c = new_site(2);
	sites_on_alloc(a, 10, 1);                  /* peak 10 */
	sites_on_free(a, 10, 1, 2);
	sites_on_alloc(b, 30, 3);                  /* peak 30 */
	sites_on_alloc(c, 5, 4);                   /* peak 35 */
	sites_on_free(b, 30, 3, 5);
	sites_on_alloc(a, 40, 6);                  /* peak 45: a 40, c 5, b 0 */
	sites_on_free(c, 5, 4, 7);
	sites_on_alloc(b, 1, 8);
	CU_ASSERT_EQUAL(rd(a, 9).gb, 40);
	CU_ASSERT_EQUAL(rd(b, 9).gb, 0);
	CU_ASSERT_EQUAL(rd(c, 9).gb, 5);
	CU_ASSERT_EQUAL(rd(b, 9).mb, 30);
	struct heap_totals t;
	sites_totals(&t);
	CU_ASSERT_EQUAL(t.max_b, 45);
	CU_ASSERT_EQUAL(t.max_k, 2);
	CU_ASSERT_EQUAL(t.tg, 6);
	sites_on_free(a, 40, 6, 9);
	sites_on_free(b, 1, 8, 9);
}

static void test_short_lived(void)
{
	reset();
	sites_set_short_lived(100);
	site_id s = new_site(2);
	sites_on_alloc(s, 8, 0);
	sites_on_free(s, 8, 0, 99);    /* short */
	sites_on_alloc(s, 8, 200);
	sites_on_free(s, 8, 200, 300); /* exactly the threshold: not short */
	CU_ASSERT_EQUAL(rd(s, 400).short_k, 1);
	sites_set_short_lived(0);
}

/* ------------------------------------------------------------ threads */

#define THREADS 4
#define ROUNDS  20000
static site_id shared[8];

/* Odd workers keep their sums in a thread area of their own (as the preload does),
 * even ones in the sites' shared counters: both must add up exactly. */
struct worker {
	unsigned seed;
	int keep;                  /* leave the last blocks live (in left; live_b, live_k) */
	uint64_t bytes, blocks, live_b, live_k;
	struct { site_id s; uint64_t size, birth; } left[64];
};

static void *churn(void *arg)
{
	struct worker *w = arg;
	struct sites_local *l = (w->seed & 1) ? sites_local_new() : NULL;
	struct { site_id s; uint64_t size, birth; } live[64];
	memset(live, 0, sizeof(live));
	unsigned x = w->seed;
	for (int i = 0; i < ROUNDS; i++) {
		x = x * 1103515245u + 12345u;
		unsigned k = (x >> 8) % 64;
		if (live[k].s) {
			sites_on_free_local(l, live[k].s, live[k].size, live[k].birth, (uint64_t)i);
			live[k].s = 0;
		} else {
			live[k].s = shared[(x >> 16) % 8];
			live[k].size = 1 + (x >> 20) % 500;
			live[k].birth = (uint64_t)i;
			sites_on_alloc_local(l, live[k].s, live[k].size, (uint64_t)i);
			w->bytes += live[k].size;
			w->blocks++;
		}
	}
	for (unsigned k = 0; k < 64; k++) {
		if (!live[k].s)
			continue;
		if (w->keep) {
			w->live_b += live[k].size;
			w->left[w->live_k].s = live[k].s;
			w->left[w->live_k].size = live[k].size;
			w->left[w->live_k++].birth = live[k].birth;
		} else {
			sites_on_free_local(l, live[k].s, live[k].size, live[k].birth, ROUNDS);
		}
	}
	return NULL;
}

static void test_threads_exact(void)
{
	reset();
	for (int i = 0; i < 8; i++)
		shared[i] = new_site(4);
	pthread_t th[THREADS];
	struct worker w[THREADS];
	for (int i = 0; i < THREADS; i++) {
		w[i] = (struct worker){ .seed = 77u + (unsigned)i };   /* 77 local, 78 shared, ... */
		pthread_create(&th[i], NULL, churn, &w[i]);
	}
	uint64_t bytes = 0, blocks = 0;
	for (int i = 0; i < THREADS; i++) {
		pthread_join(th[i], NULL);
		bytes += w[i].bytes;
		blocks += w[i].blocks;
	}
	uint64_t tb = 0, tbk = 0, gb = 0, gbk = 0, eb = 0, tl = 0;
	int gb_le_mb = 1;
	for (int i = 0; i < 8; i++) {
		struct site_stats st = rd(shared[i], ROUNDS);
		tb += st.tb; tbk += st.tbk; gb += st.gb; gbk += st.gbk; eb += st.eb; tl += st.tl;
		if (st.gb > st.mb || st.gbk > st.mbk)
			gb_le_mb = 0;
	}
	struct heap_totals t;
	sites_totals(&t);
	uint64_t live_b, live_k;
	sites_live(&live_b, &live_k);   /* each thread's count: some freed others' blocks */
	CU_ASSERT_EQUAL(live_k, t.curr_k);
	CU_ASSERT_EQUAL(live_b, t.curr_b);
	CU_ASSERT_EQUAL(tb, bytes);
	CU_ASSERT_EQUAL(tbk, blocks);
	CU_ASSERT_EQUAL(eb, 0);
	CU_ASSERT_EQUAL(t.curr_b, 0);
	CU_ASSERT(tl <= (uint64_t)blocks * ROUNDS);   /* births and lifetimes summed consistently */
	/* The peak is one consistent moment: the sites' shares add up to it exactly. */
	CU_ASSERT_EQUAL(gb, t.max_b);
	CU_ASSERT_EQUAL(gbk, t.max_k);
	CU_ASSERT(gb_le_mb);
	CU_ASSERT(t.max_b > 0);
}

/* Far below the peak, each thread's events stay within its own budget: the global
 * word is not written. A new peak made while other threads hold bytes in their budgets
 * takes them back first and is exact: its value, its time and every site's share.
 * One thread plays both areas, so the order of events is known. */
static void test_budgets(void)
{
	reset();
	struct sites_local *l1 = sites_local_new(), *l2 = sites_local_new();
	CU_ASSERT_PTR_NOT_NULL_FATAL(l1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(l2);
	site_id big = new_site(3), a = new_site(3), b = new_site(3), c = new_site(3);
	const uint64_t m0 = 64u << 20;
	sites_on_alloc_local(l1, big, m0, 1);          /* peak m0 */
	sites_on_free_local(l1, big, m0, 1, 2);        /* far below it now */
	uint64_t g0 = sites_global_events();
	for (uint64_t i = 0; i < 100; i++)
		sites_on_alloc_local(l1, a, 1000, 10 + i);
	for (uint64_t i = 0; i < 50; i++)
		sites_on_alloc_local(l2, b, 2000, 200 + i);
	for (uint64_t i = 0; i < 30; i++)
		sites_on_free_local(l2, a, 1000, 10 + i, 300 + i);   /* l1's blocks, freed by l2 */
	/* l2's first event found no budget of its own: the other 179 did not write it */
	CU_ASSERT(sites_global_events() - g0 <= 1);
	struct heap_totals t;
	sites_totals(&t);
	CU_ASSERT_EQUAL(t.curr_b, 70 * 1000 + 50 * 2000);
	CU_ASSERT_EQUAL(t.curr_k, 120);
	CU_ASSERT_EQUAL(t.max_b, m0);
	CU_ASSERT_EQUAL(t.tg, 1);
	CU_ASSERT_EQUAL(rd(big, 400).gb, m0);
	CU_ASSERT_EQUAL(rd(a, 400).gb, 0);
	CU_ASSERT_EQUAL(rd(a, 400).mb, 100 * 1000);
	/* A new peak: l2 allocates m0 while l1 holds 100,000 bytes in its budget. */
	sites_on_alloc_local(l2, c, m0, 500);
	sites_totals(&t);
	CU_ASSERT_EQUAL(t.max_b, m0 + 70 * 1000 + 50 * 2000);
	CU_ASSERT_EQUAL(t.max_k, 121);
	CU_ASSERT_EQUAL(t.tg, 500);
	/* After it: l1 frees 10 of a's blocks, allocates 5 more (not at the peak). */
	for (uint64_t i = 30; i < 40; i++)
		sites_on_free_local(l1, a, 1000, 10 + i, 600 + i);
	for (uint64_t i = 0; i < 5; i++)
		sites_on_alloc_local(l1, a, 1000, 700 + i);
	struct site_stats sa = rd(a, 800), sb = rd(b, 800), sc = rd(c, 800), sg = rd(big, 800);
	CU_ASSERT_EQUAL(sa.gb, 70 * 1000); CU_ASSERT_EQUAL(sa.gbk, 70);
	CU_ASSERT_EQUAL(sb.gb, 50 * 2000); CU_ASSERT_EQUAL(sb.gbk, 50);
	CU_ASSERT_EQUAL(sc.gb, m0);        CU_ASSERT_EQUAL(sc.gbk, 1);
	CU_ASSERT_EQUAL(sg.gb, 0);         CU_ASSERT_EQUAL(sg.gbk, 0);
	CU_ASSERT_EQUAL(sa.eb, 65 * 1000); CU_ASSERT_EQUAL(sa.ebk, 65);
	CU_ASSERT_EQUAL(sa.tb, 105 * 1000); CU_ASSERT_EQUAL(sa.tbk, 105);
	CU_ASSERT_EQUAL(sa.mb, 100 * 1000); CU_ASSERT_EQUAL(sa.mbk, 100);
	sites_totals(&t);
	CU_ASSERT_EQUAL(t.curr_b, 65 * 1000 + 50 * 2000 + m0);
	/* Nothing left live for later tests. */
	for (uint64_t i = 40; i < 100; i++)
		sites_on_free_local(l2, a, 1000, 10 + i, 900);
	for (uint64_t i = 0; i < 5; i++)
		sites_on_free_local(l2, a, 1000, 700 + i, 900);
	for (uint64_t i = 0; i < 50; i++)
		sites_on_free_local(l1, b, 2000, 200 + i, 900);
	sites_on_free_local(l1, c, m0, 500, 900);
	sites_totals(&t);
	CU_ASSERT_EQUAL(t.curr_b, 0);
	CU_ASSERT_EQUAL(t.curr_k, 0);
}

/* Threads churning far below the peak, each in its own budget, then a new peak made
 * by this thread after they ended with blocks live in their budgets: exact. */
static void test_budget_threads(void)
{
	reset();
	struct sites_local *l0 = sites_local_new();
	CU_ASSERT_PTR_NOT_NULL_FATAL(l0);
	for (int i = 0; i < 8; i++)
		shared[i] = new_site(4);
	site_id big = new_site(4);
	const uint64_t m0 = 64u << 20;
	sites_on_alloc_local(l0, big, m0, 1);
	sites_on_free_local(l0, big, m0, 1, 2);
	for (int keep = 0; keep < 2; keep++) {
		pthread_t th[THREADS];
		struct worker w[THREADS];
		for (int i = 0; i < THREADS; i++) {
			w[i] = (struct worker){ .seed = 91u + (unsigned)i, .keep = keep };
			pthread_create(&th[i], NULL, churn, &w[i]);
		}
		uint64_t live_b = 0, live_k = 0;
		for (int i = 0; i < THREADS; i++) {
			pthread_join(th[i], NULL);
			live_b += w[i].live_b;
			live_k += w[i].live_k;
		}
		struct heap_totals t;
		sites_totals(&t);
		CU_ASSERT_EQUAL(t.curr_b, live_b);
		CU_ASSERT_EQUAL(t.curr_k, live_k);
		CU_ASSERT_EQUAL(t.max_b, m0);
		CU_ASSERT_EQUAL(t.max_k, 1);
		if (!keep)
			continue;
		CU_ASSERT(live_b > 0);
		sites_on_alloc_local(l0, big, m0, ROUNDS + 1);
		sites_totals(&t);
		CU_ASSERT_EQUAL(t.max_b, m0 + live_b);
		CU_ASSERT_EQUAL(t.max_k, 1 + live_k);
		CU_ASSERT_EQUAL(t.tg, ROUNDS + 1);
		uint64_t gb = 0, gbk = 0;
		for (int i = 0; i < 8; i++) {
			struct site_stats st = rd(shared[i], ROUNDS + 2);
			gb += st.gb;
			gbk += st.gbk;
		}
		CU_ASSERT_EQUAL(gb, live_b);
		CU_ASSERT_EQUAL(gbk, live_k);
		CU_ASSERT_EQUAL(rd(big, ROUNDS + 2).gb, m0);
		for (int i = 0; i < THREADS; i++)
			for (uint64_t k = 0; k < w[i].live_k; k++)
				sites_on_free_local(l0, w[i].left[k].s, w[i].left[k].size,
						    w[i].left[k].birth, ROUNDS + 3);
	}
	sites_on_free_local(l0, big, m0, ROUNDS + 1, ROUNDS + 3);
	struct heap_totals t;
	sites_totals(&t);
	CU_ASSERT_EQUAL(t.curr_b, 0);
	CU_ASSERT_EQUAL(t.curr_k, 0);
}

/* A site owned by one thread (area l1: plain updates) and used by another (l2:
 * locked updates): every field is the sum of both parts, exactly.
 * s: l1 +100, l2 +50 (peak 150), l2 frees l1's 100, l1 +30;
 * t: l1 +200 (new peak 280: s holds 80 in 2 blocks); then l2 frees s's 30. */
static void test_owner_and_others(void)
{
	reset();
	struct sites_local *l1 = sites_local_new(), *l2 = sites_local_new();
	CU_ASSERT_PTR_NOT_NULL_FATAL(l1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(l2);
	site_id s = new_site(3), t = new_site(3);
	sites_on_alloc_local(l1, s, 100, 10);
	sites_on_alloc_local(l2, s, 50, 20);
	struct site_stats a = rd(s, 25);
	CU_ASSERT_EQUAL(a.gb, 150); CU_ASSERT_EQUAL(a.gbk, 2);
	CU_ASSERT_EQUAL(a.mb, 150); CU_ASSERT_EQUAL(a.mbk, 2);
	sites_on_free_local(l2, s, 100, 10, 30);
	sites_on_alloc_local(l1, s, 30, 40);
	a = rd(s, 45);
	CU_ASSERT_EQUAL(a.eb, 80);  CU_ASSERT_EQUAL(a.ebk, 2);
	CU_ASSERT_EQUAL(a.gb, 150); CU_ASSERT_EQUAL(a.gbk, 2);
	CU_ASSERT_EQUAL(a.mb, 150); CU_ASSERT_EQUAL(a.mbk, 2);
	sites_on_alloc_local(l1, t, 200, 50);
	sites_on_free_local(l2, s, 30, 40, 60);
	a = rd(s, 100);
	struct site_stats b = rd(t, 100);
	CU_ASSERT_EQUAL(a.gb, 80);  CU_ASSERT_EQUAL(a.gbk, 2);
	CU_ASSERT_EQUAL(b.gb, 200); CU_ASSERT_EQUAL(b.gbk, 1);
	CU_ASSERT_EQUAL(a.eb, 50);  CU_ASSERT_EQUAL(a.ebk, 1);
	CU_ASSERT_EQUAL(a.mb, 150); CU_ASSERT_EQUAL(a.mbk, 2);
	CU_ASSERT_EQUAL(a.tb, 180); CU_ASSERT_EQUAL(a.tbk, 3);
	/* lifetimes 10..30 and 40..60 freed; 50 bytes born at 20 live up to 100 */
	CU_ASSERT_EQUAL(a.tl, 20 + 20 + 80);
	struct heap_totals tot;
	sites_totals(&tot);
	CU_ASSERT_EQUAL(tot.max_b, 280);
	CU_ASSERT_EQUAL(tot.max_k, 3);
	CU_ASSERT_EQUAL(tot.tg, 50);
	CU_ASSERT_EQUAL(tot.curr_b, 250);
	uint64_t live_b, live_k;
	sites_live(&live_b, &live_k);
	CU_ASSERT_EQUAL(live_b, 250);
	CU_ASSERT_EQUAL(live_k, tot.curr_k);
	/* A fork child keeps what is live, whichever part held it. */
	sites_reset_after_fork(200);
	a = rd(s, 200);
	CU_ASSERT_EQUAL(a.eb, 50); CU_ASSERT_EQUAL(a.ebk, 1);
	CU_ASSERT_EQUAL(a.mb, 50); CU_ASSERT_EQUAL(a.gb, 50);
	sites_on_free_local(l1, s, 50, 20, 210);
	sites_on_free_local(l2, t, 200, 50, 210);   /* nothing left live for later tests */
	a = rd(s, 220);
	CU_ASSERT_EQUAL(a.eb, 0); CU_ASSERT_EQUAL(a.ebk, 0);
	CU_ASSERT_EQUAL(rd(t, 220).eb, 0);
}

/* The timeline's live blocks (counted per thread area) are every site's live blocks
 * added up: blocks allocated in one area and freed in another, or without an area,
 * some left live. */
static uint64_t sum_ebk(void)
{
	uint64_t k = 0;
	for (site_id id = 1; id <= sites_count(); id++)
		k += rd(id, 1000).ebk;
	return k;
}

static void test_live_blocks(void)
{
	reset();
	struct sites_local *l1 = sites_local_new(), *l2 = sites_local_new();
	CU_ASSERT_PTR_NOT_NULL_FATAL(l1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(l2);
	site_id a = new_site(3), b = new_site(4);
	uint64_t bytes0, k0;
	sites_live(&bytes0, &k0);
	CU_ASSERT_EQUAL(k0, sum_ebk());
	for (int i = 0; i < 10; i++)
		sites_on_alloc_local(l1, a, 32, 10);
	for (int i = 0; i < 4; i++)
		sites_on_alloc_local(l2, b, 64, 10);
	sites_on_alloc(b, 16, 10);
	for (int i = 0; i < 7; i++)
		sites_on_free_local(l2, a, 32, 10, 20);   /* l1's blocks, freed by l2 */
	sites_on_free_local(l1, b, 64, 10, 20);
	sites_on_free(b, 64, 10, 20);
	uint64_t bytes, k;
	sites_live(&bytes, &k);
	CU_ASSERT_EQUAL(k, k0 + 3 + 2 + 1);
	CU_ASSERT_EQUAL(k, sum_ebk());
	CU_ASSERT_EQUAL(bytes, bytes0 + 3 * 32 + 2 * 64 + 16);
	for (int i = 0; i < 3; i++)
		sites_on_free_local(l1, a, 32, 10, 30);
	sites_on_free_local(l2, b, 64, 10, 30);
	sites_on_free_local(l2, b, 64, 10, 30);
	sites_on_free_local(l1, b, 16, 10, 30);
	sites_live(&bytes, &k);
	CU_ASSERT_EQUAL(k, k0);
	CU_ASSERT_EQUAL(k, sum_ebk());
	CU_ASSERT_EQUAL(bytes, bytes0);
}

/* Two threads on one site: one allocates (the owner), the other frees every block
 * through a queue. Totals exact; the site's maximum lies between its value at the
 * peak and everything it allocated. */
#define OQ 4096
static void *oq_slot[OQ];
static int oq_head, oq_tail;
static site_id oq_site;
static struct sites_local *oq_l2;

static void *oq_consumer(void *arg)
{
	(void)arg;
	for (int done = 0; done < OQ;) {
		int t = __atomic_load_n(&oq_tail, __ATOMIC_ACQUIRE);
		while (done < t) {
			uint64_t size = (uint64_t)(uintptr_t)oq_slot[done];
			sites_on_free_local(oq_l2, oq_site, size, 1, 2);
			done++;
		}
		__atomic_store_n(&oq_head, done, __ATOMIC_RELEASE);
	}
	return NULL;
}

static void test_owner_threads(void)
{
	reset();
	struct sites_local *l1 = sites_local_new();
	oq_l2 = sites_local_new();
	CU_ASSERT_PTR_NOT_NULL_FATAL(l1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(oq_l2);
	oq_site = new_site(3);
	oq_head = oq_tail = 0;
	pthread_t th;
	CU_ASSERT_EQUAL_FATAL(pthread_create(&th, NULL, oq_consumer, NULL), 0);
	uint64_t total = 0;
	for (int i = 0; i < OQ; i++) {
		uint64_t size = 16 + (uint64_t)(i % 7) * 8;
		sites_on_alloc_local(l1, oq_site, size, 1);
		total += size;
		oq_slot[i] = (void *)(uintptr_t)size;
		__atomic_store_n(&oq_tail, i + 1, __ATOMIC_RELEASE);
	}
	pthread_join(th, NULL);
	struct site_stats a = rd(oq_site, 3);
	CU_ASSERT_EQUAL(a.tb, total); CU_ASSERT_EQUAL(a.tbk, OQ);
	CU_ASSERT_EQUAL(a.eb, 0);     CU_ASSERT_EQUAL(a.ebk, 0);
	CU_ASSERT(a.mb >= a.gb && a.mb <= total && a.mb > 0);
	CU_ASSERT(a.mbk >= a.gbk && a.mbk <= OQ && a.mbk > 0);
}

/* Owner and another thread allocating at one site at the same moment, round after
 * round, nothing freed: the site's maximum must be its live total after every round
 * (each event's sum of parts must see the other thread's event when they overlap). */
#define RACE_ROUNDS 20000
static site_id race_site;
static struct sites_local *race_l2;
static unsigned race_go, race_done;

static void *race_other(void *arg)
{
	(void)arg;
	for (unsigned r = 1; r <= RACE_ROUNDS; r++) {
		while (__atomic_load_n(&race_go, __ATOMIC_ACQUIRE) < r)
			;
		sites_on_alloc_local(race_l2, race_site, 8, r);
		__atomic_store_n(&race_done, r, __ATOMIC_RELEASE);
	}
	return NULL;
}

static void test_owner_race_max(void)
{
	reset();
	struct sites_local *l1 = sites_local_new();
	race_l2 = sites_local_new();
	CU_ASSERT_PTR_NOT_NULL_FATAL(l1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(race_l2);
	race_site = new_site(3);
	sites_on_alloc_local(l1, race_site, 8, 1);   /* l1 becomes the owner */
	race_go = race_done = 0;
	pthread_t th;
	CU_ASSERT_EQUAL_FATAL(pthread_create(&th, NULL, race_other, NULL), 0);
	unsigned bad = 0;
	for (unsigned r = 1; r <= RACE_ROUNDS; r++) {
		__atomic_store_n(&race_go, r, __ATOMIC_RELEASE);
		/* the other thread sees the flag some 100 ns later: sweep our start
		 * across that moment */
		for (unsigned d = r % 97; d; d--)
			__builtin_ia32_pause();
		sites_on_alloc_local(l1, race_site, 8, r);
		while (__atomic_load_n(&race_done, __ATOMIC_ACQUIRE) < r)
			;
		struct site_stats a = rd(race_site, r);
		if (a.mb != a.tb || a.mbk != a.tbk)
			bad++;
	}
	pthread_join(th, NULL);
	for (unsigned r = 0; r <= RACE_ROUNDS; r++)
		sites_on_free_local(l1, race_site, 8, 1, RACE_ROUNDS);
	for (unsigned r = 1; r <= RACE_ROUNDS; r++)
		sites_on_free_local(race_l2, race_site, 8, 1, RACE_ROUNDS);
	struct site_stats a = rd(race_site, RACE_ROUNDS);
	CU_ASSERT_EQUAL(a.tbk, 2 * RACE_ROUNDS + 1);
	CU_ASSERT_EQUAL(a.ebk, 0);
	CU_ASSERT_EQUAL(a.mbk, a.tbk);
	CU_ASSERT_EQUAL(a.mb, a.tb);
	CU_ASSERT_EQUAL(bad, 0);
}

/* ------------------------------------------------------------ fork children */

/* How many of the pages holding the sites' first three cache lines (their counters)
 * this process has a copy of its own of: /proc/self/pagemap's "exclusively mapped"
 * bit. Right after a fork every page is still shared with the parent; each one the
 * child writes is copied. */
#define FK_SITES 256
static uintptr_t fk_pages[2 * FK_SITES];

static int cmp_uptr(const void *a, const void *b)
{
	uintptr_t x = *(const uintptr_t *)a, y = *(const uintptr_t *)b;
	return x < y ? -1 : x > y;
}

static int pages_own(const site_id *ids, unsigned n)
{
	unsigned np = 0;
	for (unsigned i = 0; i < n; i++) {
		uintptr_t p = (uintptr_t)sites_site(ids[i]);
		fk_pages[np++] = p & ~(uintptr_t)4095;
		fk_pages[np++] = (p + 191) & ~(uintptr_t)4095;
	}
	qsort(fk_pages, np, sizeof(*fk_pages), cmp_uptr);
	int fd = open("/proc/self/pagemap", O_RDONLY);
	if (fd < 0)
		return -1;
	int own = 0;
	for (unsigned i = 0; i < np; i++) {
		uint64_t e = 0;
		if (i && fk_pages[i] == fk_pages[i - 1])
			continue;
		if (pread(fd, &e, sizeof(e), (off_t)(fk_pages[i] / 4096 * sizeof(e))) != sizeof(e)) {
			own = -1;
			break;
		}
		if ((e >> 63) & 1 && (e >> 56) & 1)
			own++;
	}
	close(fd);
	return own;
}

/* What a child reads of a site whose one block of `size` bytes it inherited (the fork
 * at tick 1000): its own, allocated at the fork. */
static int inherited_ok(site_id id, uint64_t size, uint64_t now)
{
	struct site_stats a = rd(id, now);
	return a.eb == size && a.ebk == 1 && a.tb == size && a.tbk == 1 && a.mb == size &&
	       a.mbk == 1 && a.gb == size && a.gbk == 1 && a.tl == now - 1000 && a.short_k == 0;
}

/* The live blocks as the timeline samples them (each thread's count). */
static uint64_t live_blocks(void)
{
	uint64_t b, k;
	sites_live(&b, &k);
	return k;
}

/* A child's checks, one bit each: its exit status. */
static int fork_child_checks(struct sites_local *l, const site_id *ids)
{
	int fail = 0;
	sites_reset_after_fork(1000);
	if (pages_own(ids, FK_SITES) != 0)
		fail |= 1;     /* the reset wrote inherited sites */
	for (unsigned i = 0; i < FK_SITES; i++)
		if (!inherited_ok(ids[i], 100 + i, 1000))
			fail |= 2;
	struct heap_totals t;
	sites_totals(&t);
	if (t.total_k < FK_SITES || t.frees != 0 || live_blocks() != t.curr_k)
		fail |= 2;
	if (pages_own(ids, FK_SITES) != 0)
		fail |= 4;     /* reading wrote them */
	sites_on_free_local(l, ids[5], 105, 10, 1100);
	sites_on_alloc_local(l, ids[6], 50, 1150);
	int own = pages_own(ids, FK_SITES);
	if (own < 1 || own > 4)
		fail |= 8;     /* two sites written: at most two pages each */
	struct site_stats a = rd(ids[5], 1200);
	if (a.eb != 0 || a.ebk != 0 || a.tb != 105 || a.tbk != 1 || a.mb != 105 ||
	    a.gb != 105 || a.gbk != 1 || a.tl != 100)
		fail |= 16;
	a = rd(ids[6], 1200);
	/* the peak stays the fork's: the child freed 105 bytes before it allocated 50 */
	if (a.eb != 156 || a.ebk != 2 || a.tb != 156 || a.tbk != 2 || a.mb != 156 ||
	    a.mbk != 2 || a.gb != 106 || a.gbk != 1 || a.tl != 200 + 50)
		fail |= 32;
	if (!inherited_ok(ids[7], 107, 1200))
		fail |= 64;
	sites_totals(&t);
	if (live_blocks() != t.curr_k)
		fail |= 128;   /* the threads' counts of live blocks, inherited */
	return fail;
}

static void test_fork_child_lazy(void)
{
	reset();
	struct sites_local *l = sites_local_new();
	CU_ASSERT_PTR_NOT_NULL_FATAL(l);
	site_id ids[FK_SITES];
	for (unsigned i = 0; i < FK_SITES; i++) {
		ids[i] = new_site(3);
		sites_on_alloc_local(l, ids[i], 100 + i, 10);
	}
	/* some history the child must not count: a block freed, a peak above the fork's */
	sites_on_alloc_local(l, ids[5], 1 << 20, 20);
	sites_on_free_local(l, ids[5], 1 << 20, 20, 30);
	CU_ASSERT_EQUAL_FATAL(pages_own(ids, FK_SITES) > 0, 1);   /* pagemap readable */
	fflush(NULL);
	pid_t pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0)
		_exit(fork_child_checks(l, ids));
	int st = 0;
	CU_ASSERT_EQUAL(waitpid(pid, &st, 0), pid);
	CU_ASSERT(WIFEXITED(st));
	CU_ASSERT_EQUAL(WEXITSTATUS(st), 0);
	for (unsigned i = 0; i < FK_SITES; i++)
		sites_on_free_local(l, ids[i], 100 + i, 10, 40);
}

/* More fork generations than a site can tell apart (so some children reset every
 * site at once, as before): each child still counts only what it inherited. */
static void test_fork_generations(void)
{
	reset();
	struct sites_local *l = sites_local_new();
	CU_ASSERT_PTR_NOT_NULL_FATAL(l);
	site_id s = new_site(3), t = new_site(3);
	sites_on_alloc_local(l, s, 64, 10);
	int bad = 0;
	for (uint64_t g = 1; g <= 600; g++) {
		uint64_t now = 1000 * g;
		sites_reset_after_fork(now);
		struct site_stats a = rd(s, now + 10);
		if (a.tb != 64 || a.tbk != 1 || a.mb != 64 || a.gb != 64 || a.tl != 10)
			bad++;
		/* a block allocated and freed in every other generation */
		if (g % 2) {
			sites_on_alloc_local(l, t, 8, now + 1);
			sites_on_free_local(l, t, 8, now + 1, now + 3);
			a = rd(t, now + 5);
			if (a.tb != 8 || a.tbk != 1 || a.eb != 0 || a.mb != 8 || a.tl != 2)
				bad++;
		} else {
			a = rd(t, now + 5);
			if (a.tb != 0 || a.tbk != 0 || a.mb != 0 || a.tl != 0)
				bad++;
		}
	}
	CU_ASSERT_EQUAL(bad, 0);
	sites_on_free_local(l, s, 64, 10, 700000);
}

/* Past the small table of chains (sites.c: the first 8,192 sites; later ones go into
 * the large table once their small chain is frozen), with threads interning the same
 * stacks at once, each from another starting point: every stack has one site, the one
 * every thread got and a lookup finds again. */
#define RACE_STACKS 20000
#define RACE_THREADS 4
static site_id race_ids[RACE_THREADS][RACE_STACKS];

static void race_stack(unsigned i, uintptr_t ips[3])
{
	ips[0] = 0x7000000 + i * 16;
	ips[1] = 0x9000000 + (i % 97) * 16;
	ips[2] = 0xb000000 + i;
}

static void *race_intern(void *arg)
{
	unsigned t = (unsigned)(uintptr_t)arg;
	for (unsigned k = 0; k < RACE_STACKS; k++) {
		unsigned i = (k + t * (RACE_STACKS / RACE_THREADS)) % RACE_STACKS;
		uintptr_t ips[3];
		race_stack(i, ips);
		race_ids[t][i] = sites_intern(ips, 3);
	}
	return NULL;
}

static void test_intern_two_tables(void)
{
	uint32_t before = sites_count();
	pthread_t th[RACE_THREADS];
	for (unsigned t = 0; t < RACE_THREADS; t++)
		CU_ASSERT_EQUAL_FATAL(pthread_create(&th[t], NULL, race_intern, (void *)(uintptr_t)t), 0);
	for (unsigned t = 0; t < RACE_THREADS; t++)
		pthread_join(th[t], NULL);
	unsigned differ = 0, lost = 0;
	for (unsigned i = 0; i < RACE_STACKS; i++) {
		uintptr_t ips[3];
		race_stack(i, ips);
		site_id id = sites_intern(ips, 3);
		lost += id <= before;
		for (unsigned t = 0; t < RACE_THREADS; t++)
			differ += race_ids[t][i] != id;
	}
	CU_ASSERT_EQUAL(lost, 0);
	CU_ASSERT_EQUAL(differ, 0);
	/* Ids past the small table's: some stacks are in the large one. */
	CU_ASSERT(sites_count() >= before + RACE_STACKS);
}

/* Times here are made-up tick values: the identity clock (the runtime linked into this
 * binary may have chosen the TSC at start-up). */
static int sites_suite_init(void)
{
	clock_reset_identity();
	return 0;
}

void suite_sites(void)
{
	CU_pSuite s = CU_add_suite("sites", sites_suite_init, NULL);
	sites_init();
	CU_add_test(s, "intern deduplicates stacks", test_intern_dedup);
	CU_add_test(s, "intern: two tables, threads racing on the same stacks",
		    test_intern_two_tables);
	CU_add_test(s, "peak in the middle", test_peak_middle);
	CU_add_test(s, "site maximum away from the global peak", test_site_max_off_peak);
	CU_add_test(s, "peak is the first time the maximum is reached", test_peak_first_reached);
	CU_add_test(s, "peak at the end; zero-size blocks", test_peak_at_end_and_zero);
	CU_add_test(s, "successive peaks", test_successive_peaks);
	CU_add_test(s, "short-lived blocks", test_short_lived);
	CU_add_test(s, "a site's owner thread and other threads", test_owner_and_others);
	CU_add_test(s, "owner allocates, another thread frees", test_owner_threads);
	CU_add_test(s, "live blocks per thread area: every site's added up", test_live_blocks);
	CU_add_test(s, "owner and another thread allocate at once: exact maximum",
		    test_owner_race_max);
	CU_add_test(s, "threads: exact totals and a consistent peak", test_threads_exact);
	CU_add_test(s, "budgets below the peak; a new peak takes them back, exact",
		    test_budgets);
	CU_add_test(s, "threads in budgets, then a new peak: exact", test_budget_threads);
	CU_add_test(s, "a fork child copies only the sites it writes; counts exact",
		    test_fork_child_lazy);
	CU_add_test(s, "fork generations beyond what a site tells apart", test_fork_generations);
}
