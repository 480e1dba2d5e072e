/* profile.c - the profile writer. Reads every site's statistics and the heap totals,
 * symbolizes the raw stacks into a frame table, merges sites whose frame lists come
 * out identical, and writes DHAT's JSON format (version 2, loadable unmodified in
 * valgrind's dh_view.html) plus audioprof's own fields, atomically. jansson writes
 * the document's head; the program points and the frame table, nearly all of a
 * profile, are formatted straight into the output exactly as jansson's compact dump
 * would write them, so a write never holds them as JSON values (a 17,000-site
 * profile: 52 MB less at peak, and a third of the write's time).
 *
 * The format: audioprof-json(5) describes every field and shows an annotated sample;
 * common/profile_schema.h lists them (key, type, unit, presence, meaning), and the
 * program points and totals below are written from those lists. The audio fields
 * (callbacks, violations) are audio_json.c's, the timeline timeline.c's. */

#include "profile.h"
#include "loader.h"
#include "jsonput.h"
#include "clock.h"
#include "fds.h"
#include "audio.h"
#include "cpuprof.h"
#include "timeline.h"
#include "sites.h"
#include "symbols.h"
#include "under.h"
#include "atomicfile.h"
#include "forkmem.h"
#include "profile_schema.h"

#include <errno.h>
#include <link.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ROOT_FRAME     "[root]"
#define OVERFLOW_FRAME "[audioprof: site table full]"
#define SIGNAL_FRAME   "[audioprof: in a signal handler that interrupted the profiler; callers not unwound]"
#define OUT_BUF_SIZE   (64u << 10)

typedef int (*resolve_fn)(uintptr_t ip, symbols_frame_cb cb, void *arg);

/* The symbolizer; unit tests substitute one that makes distinct stacks collide. */
static resolve_fn resolver = symbols_resolve;

#ifdef AUDIOPROF_TESTING
void profile_testing_set_resolver(resolve_fn fn);
void profile_testing_set_resolver(resolve_fn fn)
{
	resolver = fn ? fn : symbols_resolve;
}
#endif

/* The per-site numbers, in the order they appear in a pp: PROFILE_PP's whole numbers
 * (common/profile_schema.h), each from its member of struct site_stats. All are summed
 * on merge. */
#define PP_WRITE(key, src, type, unit, presence, what) \
	PROFILE_IF_NUMERIC_##type({ #key, offsetof(struct site_stats, src) },)
static const struct {
	const char *key;
	size_t off;          /* offset in struct site_stats */
} pp_fields[] = { PROFILE_PP(PP_WRITE) };
#undef PP_WRITE

/* Everything one profile_write() builds; owned by that call, freed by builder_free. */
/* One program point: the sites whose frame lists came out identical, merged. */
struct group {
	struct site_stats st;   /* summed (saturating), as pp_fields lists them */
	uint32_t fs_start, nfs; /* its frame indices in the builder's fs pool */
	site_id first, last;    /* its sites, linked through the builder's next_id */
};

struct builder {
	/* The frame table: frame index -> its string (offset in text), and open
	 * addressing on the string (frame index + 1, hashes kept beside it). As JSON
	 * values (an array, an object as the map) the table cost a third of a write:
	 * hashing and copying each string into jansson, escaping it back out, freeing. */
	char *text;          /* the frame strings, each with its NUL */
	size_t ntext, captext;
	uint32_t *fstart;    /* frame index -> offset in text */
	uint32_t *fhash;     /* frame index -> its string's hash */
	size_t nframes, capframes, capfhash;
	uint32_t *fslots;
	size_t fcap;
	/* Program points are grouped first and written one at a time (pp_emit), so the
	 * document never holds them all as JSON values: a 17,000-site profile was
	 * 800,000 of them at every write. */
	struct group *groups;
	size_t ngroups, capgroups;
	uint32_t *fspool;    /* the groups' frame lists */
	size_t nfspool, capfspool;
	uint32_t *gslots;    /* open addressing on the frame list: group index + 1 */
	size_t gcap;
	site_id *next_id;    /* site id -> next site of its group (0: last) */
	uint32_t *fs;        /* the current site's frame indices, innermost first */
	size_t nfs, capfs;
	int failed;          /* an allocation failed inside a symbolizer callback */
	/* Each address's frame indices, once found: sites share most of their frames,
	 * and a lookup here costs far less than the symbolizer's lock and hashing the
	 * frame strings (cc1's 17,000 sites: build 145 -> 114 ms). memo: open
	 * addressing on the address; runs: the indices. */
	struct memo { uintptr_t ip; uint32_t start, n; } *memo;
	size_t memo_cap, memo_used;
	uint32_t *runs;
	size_t nruns, capruns;
	/* The heap totals: sums of the very site reads the program points are made of,
	 * so a profile always adds up, also when other threads run during the write. */
	struct heap_totals tot;
	uint64_t te;         /* the profile's te: no block lived longer */
};

/* ------------------------------------------------------------ small helpers */

static int set_u64(json_t *obj, const char *key, uint64_t v)
{
	return json_object_set_new_nocheck(obj, key, jsonput_uint(v));
}

static int grow(void **buf, size_t *cap, size_t need, size_t elem)
{
	if (need <= *cap)
		return 0;
	size_t n = *cap ? *cap : 64;
	while (n < need)
		n *= 2;
	void *p = realloc(*buf, n * elem);
	if (!p)
		return -1;
	*buf = p;
	*cap = n;
	return 0;
}

/* ------------------------------------------------------------ frame table */

static uint32_t hash_str(const char *s, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 0x100000001b3ull;
	}
	return (uint32_t)(h ^ (h >> 32));
}

/* The slot of the frame string s (hash h), or the empty slot where it belongs. */
static uint32_t *frame_slot(struct builder *b, const char *s, uint32_t h)
{
	size_t mask = b->fcap - 1;
	for (size_t i = h & mask; ; i = (i + 1) & mask) {
		uint32_t f = b->fslots[i];
		if (!f || (b->fhash[f - 1] == h && strcmp(b->text + b->fstart[f - 1], s) == 0))
			return &b->fslots[i];
	}
}

/* The ftbl index of `frame`, adding it on first sight. */
static int intern_frame(struct builder *b, const char *frame, uint32_t *idx)
{
	size_t len = strlen(frame);
	uint32_t h = hash_str(frame, len);
	if ((b->nframes + 1) * 2 > b->fcap) {
		size_t cap = b->fcap ? b->fcap * 2 : 4096;
		uint32_t *ns = calloc(cap, sizeof(*ns));
		if (!ns)
			return -1;
		free(b->fslots);
		b->fslots = ns;
		b->fcap = cap;
		for (size_t f = 1; f < b->nframes; f++) {   /* frame 0, ROOT_FRAME: never looked up */
			const char *t = b->text + b->fstart[f];
			*frame_slot(b, t, b->fhash[f]) = (uint32_t)f + 1;
		}
	}
	uint32_t *slot = frame_slot(b, frame, h);
	if (*slot) {
		*idx = *slot - 1;
		return 0;
	}
	if (b->nframes >= UINT32_MAX - 1 || b->ntext + len + 1 > UINT32_MAX ||
	    grow((void **)&b->fstart, &b->capframes, b->nframes + 1, sizeof(*b->fstart)) < 0 ||
	    grow((void **)&b->fhash, &b->capfhash, b->nframes + 1, sizeof(*b->fhash)) < 0 ||
	    grow((void **)&b->text, &b->captext, b->ntext + len + 1, 1) < 0)
		return -1;
	memcpy(b->text + b->ntext, frame, len + 1);
	b->fstart[b->nframes] = (uint32_t)b->ntext;
	b->fhash[b->nframes] = h;
	b->ntext += len + 1;
	*idx = (uint32_t)b->nframes++;
	*slot = *idx + 1;
	return 0;
}

/* symbols_frame_cb: append one frame to the current site's frame list. */
static void add_frame(const char *frame, void *arg)
{
	struct builder *b = arg;
	uint32_t idx;
	if (b->failed)
		return;
	if (grow((void **)&b->fs, &b->capfs, b->nfs + 1, sizeof(*b->fs)) < 0 ||
	    intern_frame(b, frame, &idx) < 0) {
		b->failed = 1;
		return;
	}
	b->fs[b->nfs++] = idx;
}

/* The address range of this library's code: a wrapper of ours in the middle of a
 * stack (printf, a callback trampoline) is left out of the frames, so stacks read as
 * they would without the profiler; frame 0, the allocation function, stays. */
static uintptr_t self_lo, self_hi;
static char self_path[256];   /* this library's file name, for frame 0 (add_frame0) */

static int find_self(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	uintptr_t me = (uintptr_t)arg;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X))
			continue;
		uintptr_t lo = info->dlpi_addr + ph->p_vaddr, hi = lo + ph->p_memsz;
		if (me >= lo && me < hi) {
			/* Linked into a program (the unit tests), not preloaded: filter nothing. */
			int program = !info->dlpi_name || !info->dlpi_name[0];
			self_lo = program ? 1 : lo;
			self_hi = program ? 1 : hi;
			if (!program)
				snprintf(self_path, sizeof(self_path), "%s", info->dlpi_name);
			return 1;
		}
	}
	return 0;
}

static int in_self(uintptr_t ip)
{
	if (!self_hi)
		loader_iterate(find_self, (void *)(uintptr_t)find_self);
	return ip - 1 >= self_lo && ip - 1 < self_hi;
}

/* Frame 0, the interposed function, is named as the function the program called
 * ("malloc", "pthread_mutex_lock"), like valgrind's "malloc (in vgpreload_dhat...so)",
 * never by the wrapper's source line ("shim.c:271", "rtcheck.c:195") nor by our code
 * inlined into it: symbols_frame_cb that keeps the last (outermost) frame, rewritten. */
struct frame0 {
	char text[512];
	int have;
};

static void add_frame0(const char *frame, void *arg)
{
	struct frame0 *f = arg;
	const char *paren = strrchr(frame, '(');
	f->have = 1;
	if (!self_path[0] || !paren || paren == frame || paren[-1] != ' ') {
		snprintf(f->text, sizeof(f->text), "%s", frame);
	} else if (strncmp(paren, "(in ", 4) == 0) {
		/* Named from a symbol table ("malloc+0x1", without libdw): the name alone. */
		const char *plus = strstr(frame, "+0x");
		int n = plus && plus < paren ? (int)(plus - frame) : (int)(paren - 1 - frame);
		snprintf(f->text, sizeof(f->text), "%.*s %s", n, frame, paren);
	} else {
		snprintf(f->text, sizeof(f->text), "%.*s(in %s)", (int)(paren - frame), frame,
			 self_path);
	}
}

/* The memo slot of `key` (an address; frame 0's with bit 63 set, see site_frames):
 * the slot holding it, or the empty slot where it belongs. memo_cap is a power of two. */
static struct memo *memo_slot(struct builder *b, uintptr_t key)
{
	size_t mask = b->memo_cap - 1;
	size_t i = (size_t)((key * 0x9E3779B97F4A7C15ull) >> 20) & mask;
	while (b->memo[i].ip && b->memo[i].ip != key)
		i = (i + 1) & mask;
	return &b->memo[i];
}

/* Remember that `key` gives b->fs[from .. b->nfs); a failure only costs speed. */
static void memo_put(struct builder *b, uintptr_t key, size_t from)
{
	if ((b->memo_used + 1) * 2 > b->memo_cap) {
		size_t cap = b->memo_cap ? b->memo_cap * 2 : 1024;
		struct memo *old = b->memo, *n = calloc(cap, sizeof(*n));
		if (!n)
			return;
		size_t oldcap = b->memo_cap;
		b->memo = n;
		b->memo_cap = cap;
		for (size_t i = 0; i < oldcap; i++)
			if (old[i].ip)
				*memo_slot(b, old[i].ip) = old[i];
		free(old);
	}
	size_t n = b->nfs - from;
	if (grow((void **)&b->runs, &b->capruns, b->nruns + n, sizeof(*b->runs)) < 0)
		return;
	memcpy(b->runs + b->nruns, b->fs + from, n * sizeof(*b->runs));
	struct memo *m = memo_slot(b, key);
	m->ip = key;
	m->start = (uint32_t)b->nruns;
	m->n = (uint32_t)n;
	b->nruns += n;
	b->memo_used++;
}

/* Fill b->fs with the frames of site `id`. ips[0] is the interposed function's own
 * address, not a return address: the symbolizer looks up ip - 1, so it gets ip + 1. */
static int site_frames(struct builder *b, site_id id)
{
	unsigned depth;
	const uintptr_t *ips = sites_stack(id, &depth);
	b->nfs = 0;
	if (!ips || depth == 0) {
		add_frame(OVERFLOW_FRAME, b);
		return b->failed ? -1 : 0;
	}
	for (unsigned i = 0; i < depth && !b->failed; i++) {
		uintptr_t ip = i == 0 ? ips[0] + 1 : ips[i];
		/* Frame 0 is reduced below, so it is remembered apart (user-space
		 * addresses never have bit 63 set). */
		uintptr_t key = i == 0 ? ip | ((uintptr_t)1 << 63) : ip;
		if (i > 0 && ip == SITES_SIGNAL_MARK) {
			add_frame(SIGNAL_FRAME, b);
			continue;
		}
		if (b->memo_cap) {
			struct memo *m = memo_slot(b, key);
			if (m->ip == key) {
				if (grow((void **)&b->fs, &b->capfs, b->nfs + m->n, sizeof(*b->fs)) < 0) {
					b->failed = 1;
					break;
				}
				if (m->n == 1)   /* nearly always: no call of memcpy */
					b->fs[b->nfs] = b->runs[m->start];
				else
					memcpy(b->fs + b->nfs, b->runs + m->start, m->n * sizeof(*b->fs));
				b->nfs += m->n;
				continue;
			}
		}
		size_t before = b->nfs;
		if (i > 0 && in_self(ip)) {
			memo_put(b, key, before);   /* no frames */
			continue;
		}
		if (i == 0) {
			struct frame0 f0 = { .have = 0 };
			in_self(ip);   /* finds self_path */
			resolver(ip, add_frame0, &f0);
			if (f0.have)
				add_frame(f0.text, b);
		} else {
			resolver(ip, add_frame, b);
		}
		/* Frame 0 is the allocation function itself: code inlined at its entry
		 * is not a caller worth a frame, so keep only the outermost function. */
		if (i == 0 && b->nfs > before + 1) {
			b->fs[before] = b->fs[b->nfs - 1];
			b->nfs = before + 1;
		}
		if (b->nfs == before && !b->failed) {   /* no frame at all: say so */
			char buf[40];
			snprintf(buf, sizeof(buf), "0x%" PRIXPTR ": ???", ips[i]);
			add_frame(buf, b);
		}
		if (!b->failed)
			memo_put(b, key, before);
	}
	return b->failed ? -1 : 0;
}

/* ------------------------------------------------------------ program points */

/* Two frame indices a step (each step waits for the last one's multiply), then mixed
 * so that the low bits, the slot, depend on every frame. */
static uint64_t hash_fs(const uint32_t *fs, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull ^ n;
	size_t i = 0;
	for (; i + 1 < n; i += 2) {
		h ^= (uint64_t)fs[i] | (uint64_t)fs[i + 1] << 32;
		h *= 0x9E3779B97F4A7C15ull;
		h ^= h >> 29;
	}
	if (i < n) {
		h ^= fs[i];
		h *= 0x9E3779B97F4A7C15ull;
	}
	h ^= h >> 32;
	h *= 0xFF51AFD7ED558CCDull;
	return h ^ (h >> 29);
}

/* The slot of the group with frames b->fs, or the empty slot where it belongs. */
static uint32_t *group_slot(struct builder *b, const uint32_t *fs, size_t n)
{
	size_t mask = b->gcap - 1;
	for (size_t i = (size_t)hash_fs(fs, n) & mask; ; i = (i + 1) & mask) {
		uint32_t g = b->gslots[i];
		if (!g)
			return &b->gslots[i];
		const struct group *gr = &b->groups[g - 1];
		if (gr->nfs == n && memcmp(b->fspool + gr->fs_start, fs, n * sizeof(*fs)) == 0)
			return &b->gslots[i];
	}
}

static uint64_t sat_add(uint64_t a, uint64_t add)
{
	uint64_t sum = a + add;
	return sum < add || sum > (uint64_t)INT64_MAX ? (uint64_t)INT64_MAX : sum;
}

/* One site into its program point: skipped if it never allocated (a stack interned
 * but not yet counted, or one that lost an insertion race). Sites whose frames come
 * out identical are merged: counts summed (mb and mbk become upper bounds). */
static int add_site(struct builder *b, site_id id, uint64_t now)
{
	struct site_stats st;
	sites_read(id, now, &st);
	if (st.tbk == 0)
		return 0;
	audio_site_cb(id, &st.cbk, &st.cbb);
	/* Read after tb, tbk: a callback allocating meanwhile is counted here only. */
	if (st.cbk > st.tbk)
		st.cbk = st.tbk;
	if (st.cbb > st.tb || !st.cbk)
		st.cbb = st.cbk ? st.tb : 0;
	/* A free read after `now` (a thread still running during the write) has a
	 * lifetime that ends after te: keep tl within the te each block can have had. */
	uint64_t tl_max;
	if (!__builtin_mul_overflow(st.tbk, b->te, &tl_max) && st.tl > tl_max)
		st.tl = tl_max;
	b->tot.curr_b = sat_add(b->tot.curr_b, st.eb);
	b->tot.curr_k = sat_add(b->tot.curr_k, st.ebk);
	b->tot.max_b = sat_add(b->tot.max_b, st.gb);
	b->tot.max_k = sat_add(b->tot.max_k, st.gbk);
	b->tot.total_b = sat_add(b->tot.total_b, st.tb);
	b->tot.total_k = sat_add(b->tot.total_k, st.tbk);
	b->tot.frees = sat_add(b->tot.frees, st.tbk - st.ebk);   /* ebk <= tbk (sites_read) */
	if (site_frames(b, id) < 0)
		return -1;
	if ((b->ngroups + 1) * 2 > b->gcap) {   /* sized for every site by builder_reserve */
		size_t cap = b->gcap ? b->gcap * 2 : 1024;
		uint32_t *ns = calloc(cap, sizeof(*ns));
		if (!ns)
			return -1;
		free(b->gslots);
		b->gslots = ns;
		b->gcap = cap;
		for (size_t g = 0; g < b->ngroups; g++)
			*group_slot(b, b->fspool + b->groups[g].fs_start, b->groups[g].nfs) =
				(uint32_t)g + 1;
	}
	uint32_t *slot = group_slot(b, b->fs, b->nfs);
	if (*slot) {
		struct group *g = &b->groups[*slot - 1];
		for (size_t i = 0; i < sizeof(pp_fields) / sizeof(pp_fields[0]); i++) {
			uint64_t *f = (uint64_t *)((char *)&g->st + pp_fields[i].off);
			*f = sat_add(*f, *(const uint64_t *)((const char *)&st + pp_fields[i].off));
		}
		b->next_id[g->last] = id;
		g->last = id;
		return 0;
	}
	if (grow((void **)&b->groups, &b->capgroups, b->ngroups + 1, sizeof(*b->groups)) < 0 ||
	    grow((void **)&b->fspool, &b->capfspool, b->nfspool + b->nfs, sizeof(*b->fspool)) < 0)
		return -1;
	struct group *g = &b->groups[b->ngroups];
	g->st = st;
	g->fs_start = (uint32_t)b->nfspool;
	g->nfs = (uint32_t)b->nfs;
	g->first = g->last = id;
	memcpy(b->fspool + b->nfspool, b->fs, b->nfs * sizeof(*b->fs));
	b->nfspool += b->nfs;
	*slot = (uint32_t)++b->ngroups;
	return 0;
}

/* Room for n sites' program points at once: the groups and their hash slots never grow
 * (a group per site at most), the frame pool rarely. Grown by doubling, each was copied
 * and rehashed a dozen times per write, a forked child's exit profile included. Only
 * what is used is touched. */
static int builder_reserve(struct builder *b, size_t n)
{
	size_t cap = 1024;
	while (cap < 2 * (n + 1))
		cap *= 2;
	b->gslots = calloc(cap, sizeof(*b->gslots));
	if (!b->gslots)
		return -1;
	b->gcap = cap;
	return grow((void **)&b->groups, &b->capgroups, n + 1, sizeof(*b->groups)) < 0 ||
	       grow((void **)&b->fspool, &b->capfspool, 16 * (n + 1), sizeof(*b->fspool)) < 0 ? -1 : 0;
}

static void builder_free(struct builder *b)
{
	free(b->text);
	free(b->fstart);
	free(b->fhash);
	free(b->fslots);
	free(b->fs);
	free(b->memo);
	free(b->runs);
	free(b->groups);
	free(b->fspool);
	free(b->gslots);
	free(b->next_id);
}

/* A violation's stack as an fs array (for audio_violations_json). */
static json_t *violation_fs(site_id stack, void *arg)
{
	struct builder *b = arg;
	if (site_frames(b, stack) < 0)
		return NULL;
	json_t *fs = json_array();
	for (size_t i = 0; fs && i < b->nfs; i++)
		if (json_array_append_new(fs, json_integer(b->fs[i])) < 0) {
			json_decref(fs);
			return NULL;
		}
	return fs;
}

#define OWN_CODE_FRAME "[audioprof: the profiler's own code]"

/* A CPU sample's stack as an fs array (for cpuprof_object). ips[0] is the interrupted
 * instruction itself, not a return address: the symbolizer looks up ip - 1, so it gets
 * ip + 1. Frames in this library at the leaf (the sample landed in the profiler's own
 * work) become one OWN_CODE_FRAME; further up (a callback trampoline) they are left
 * out, as in allocation stacks. */
static json_t *cpu_fs(const uintptr_t *ips, unsigned n, void *arg)
{
	struct builder *b = arg;
	b->nfs = 0;
	int leaf = 1;
	for (unsigned i = 0; i < n && !b->failed; i++) {
		uintptr_t ip = i == 0 ? ips[0] + 1 : ips[i];
		if (in_self(ip)) {
			if (leaf)
				add_frame(OWN_CODE_FRAME, b);
			leaf = 0;
			continue;
		}
		size_t before = b->nfs;
		/* The interrupted instruction: the resolver caches its whole function. */
		resolve_fn fn = i == 0 && resolver == symbols_resolve ? symbols_resolve_leaf
								   : resolver;
		leaf = 0;
		fn(ip, add_frame, b);
		if (b->nfs == before && !b->failed) {
			char buf[40];
			snprintf(buf, sizeof(buf), "0x%" PRIXPTR ": ???", ips[i]);
			add_frame(buf, b);
		}
	}
	if (b->failed)
		return NULL;
	json_t *fs = json_array();
	for (size_t i = 0; fs && i < b->nfs; i++)
		if (json_array_append_new(fs, json_integer(b->fs[i])) < 0) {
			json_decref(fs);
			return NULL;
		}
	return fs;
}

/* ------------------------------------------------------------ the document */

/* Fields by their type in the schema: jsonput.h. */
json_t jsonput_absent;

/* o, or NULL (and o released) if anything failed while it was made. */
static json_t *finish(json_t *o, int err)
{
	if (err) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* "audioprof.symbols" and "audioprof.stack_cache" (PROFILE_SYMBOLS, PROFILE_STACK_CACHE). */
#define SYV_cached      ss.cached
#define SYV_dwarf       ss.dwarf
#define SYV_symtab      ss.symtab
#define SCV_hits        m->cache_hits
#define SCV_misses      m->cache_misses
#define SCV_uncacheable m->cache_uncacheable

static json_t *symbols_object(void)
{
	struct symbols_stats ss;
	symbols_get_stats(&ss);
	json_t *o = json_object();
	int err = !o;
#define SYMBOLS_PUT(key, type, unit, presence, what) err |= o && put_##type(o, #key, SYV_##key) < 0;
	PROFILE_SYMBOLS(SYMBOLS_PUT)
#undef SYMBOLS_PUT
	return finish(o, err);
}

static json_t *stack_cache_object(const struct profile_meta *m)
{
	json_t *o = json_object();
	int err = !o;
#define CACHE_PUT(key, type, unit, presence, what) err |= o && put_##type(o, #key, SCV_##key) < 0;
	PROFILE_STACK_CACHE(CACHE_PUT)
#undef CACHE_PUT
	return finish(o, err);
}

/* "audioprof.totals" (PROFILE_TOTALS), from the members of struct heap_totals of the
 * same names. */
static json_t *totals_object(const struct heap_totals *t)
{
	json_t *o = json_object();
	int err = !o;
#define TOTAL_PUT(key, type, unit, presence, what) err |= o && put_##type(o, #key, t->key) < 0;
	PROFILE_TOTALS(TOTAL_PUT)
#undef TOTAL_PUT
	return finish(o, err);
}

/* Each audioprof field's value (PROFILE_AUDIOPROF in common/profile_schema.h): a field
 * is its line in the schema and its line here. The audio fields are audio_json.c's, the
 * timeline timeline.c's. */
#define AV_version         PROFILE_FORMAT_VERSION
#define AV_reason          (m->reason ? m->reason : "exit")
#define AV_signal          (uint64_t)m->signal
#define AV_ppid            (uint64_t)m->ppid
#define AV_start_ns        m->start_ns
#define AV_end_ns          m->end_ns
#define AV_clock           (clock_tsc ? "tsc" : "monotonic")
#define AV_allocator       (under_name() ? under_name() : "libc")
#define AV_depth           m->depth
#define AV_own_bytes       m->own_bytes
#define AV_peak_rss        m->peak_rss
#define AV_threads         m->threads
#define AV_signal_lost     m->signal_lost
#define AV_symbols         symbols_object()
#define AV_stack_cache     stack_cache_object(m)
#define AV_totals          totals_object(t)
#define AV_violations_lost audio_violations_lost()
#define AV_callbacks       audio_callbacks_json(violation_fs, b, m->start_ns)
#define AV_violations      audio_violations_json(violation_fs, b)
#define AV_timeline        timeline_json(m->start_ns)
#define AV_cpu             (cpuprof_on() ? cpuprof_object(cpu_fs, b) : JSONPUT_ABSENT)

/* The audioprof object; NULL when out of memory. Violations' stacks go through b. */
static json_t *audioprof_object(const struct profile_meta *m, const struct heap_totals *t,
				struct builder *b)
{
	json_t *ap = json_object();
	int err = !ap;
#define AP_PUT(key, type, unit, presence, what) err |= ap && put_##type(ap, #key, AV_##key) < 0;
	PROFILE_AUDIOPROF(AP_PUT)
#undef AP_PUT
	return finish(ap, err);
}

/* The profile's document without "pps" and "ftbl", and in *b the program points
 * and the frame table that follow them; NULL when out of memory. */
static json_t *build_document(const struct profile_meta *m, struct builder *b)
{
	struct heap_totals t;
	json_t *doc = json_object();
	int err = !doc;

	uint32_t n = sites_count();
	b->next_id = calloc((size_t)n + 1, sizeof(*b->next_id));
	err |= !b->next_id || builder_reserve(b, n) < 0;
	/* Frame 0, never looked up: a frame of a stack by that name is one of its own. */
	uint32_t root;
	if (!err)
		err |= intern_frame(b, ROOT_FRAME, &root) < 0;
	if (!err)
		*frame_slot(b, ROOT_FRAME, b->fhash[root]) = 0;   /* the only entry */
	uint64_t now = clock_ticks_of(m->end_ns);   /* live blocks' lifetimes run to here */
	b->te = m->end_ns > m->start_ns ? m->end_ns - m->start_ns : 0;
	for (uint32_t id = 1; !err && id <= n; id++)
		err |= add_site(b, id, now) < 0;
	/* The totals are the sums of the sites as read (b->tot), not a second read of
	 * the tables: threads still running would make the two disagree (audioprof-json(5),
	 * "Profiles of running programs"). */
	t = b->tot;
	t.tg = sites_peak_ns();

	uint64_t te = m->end_ns > m->start_ns ? m->end_ns - m->start_ns : 0;
	uint64_t tg = t.tg != 0 && t.tg >= m->start_ns ? t.tg - m->start_ns : 0;
	if (t.curr_b > t.max_b) {
		/* Sites read one after another while other threads allocate can add up to
		 * more live bytes than they held at the maximum as read: in the picture
		 * this profile gives, the maximum is then at its end. */
		for (size_t i = 0; i < b->ngroups; i++) {
			b->groups[i].st.gb = b->groups[i].st.eb;
			b->groups[i].st.gbk = b->groups[i].st.ebk;
		}
		t.max_b = t.curr_b;
		t.max_k = t.curr_k;
		tg = te;
	}
	if (tg > te)
		tg = te;   /* a snapshot racing an allocation that set a new peak */
	if (!err) {
		err |= json_object_set_new_nocheck(doc, "dhatFileVersion", json_integer(2)) < 0;
		err |= json_object_set_new_nocheck(doc, "mode", json_string("heap")) < 0;
		err |= json_object_set_new_nocheck(doc, "verb", json_string("Allocated")) < 0;
		err |= json_object_set_new_nocheck(doc, "bklt", json_true()) < 0;
		err |= json_object_set_new_nocheck(doc, "bkacc", json_false()) < 0;
		err |= json_object_set_new_nocheck(doc, "tu", json_string("ns")) < 0;
		err |= json_object_set_new_nocheck(doc, "Mtu", json_string("ms")) < 0;
		err |= set_u64(doc, "tuth", m->short_lived_ns) < 0;
		err |= json_object_set_new_nocheck(doc, "cmd", jsonput_str(m->cmd ? m->cmd : "")) < 0;
		err |= json_object_set_new_nocheck(doc, "pid", json_integer(m->pid)) < 0;
		err |= set_u64(doc, "te", te) < 0;
		err |= set_u64(doc, "tg", tg) < 0;
		err |= json_object_set_new_nocheck(doc, "audioprof", audioprof_object(m, &t, b)) < 0;
	}
	if (err) {
		json_decref(doc);
		return NULL;
	}
	return doc;
}

/* ------------------------------------------------------------ fork */

/* A write keeps its file open across slow work (JSON). fork() must not wait for that,
 * and a child must not keep the parent's descriptors (fds the program would see, a
 * temporary file's lock held on). Opening and committing (or giving up) are short
 * steps under file_lock, which the runtime's prepare handler takes: the child then
 * knows exactly which descriptors are the parent's write's and closes them, leaving
 * the file itself to the parent. Writes are one at a time (the runtime's write_lock),
 * so one slot is enough. */
#define file_lock (forkmem_atfork.profile_file)   /* on the fork handlers' page (forkmem.h) */
static struct atomicfile *file_af;   /* the write in progress, or NULL */
/* Whether its descriptors are in the program's fd table. The writer thread usually has
 * a table of its own (fds_private_table): a child, copying the forking thread's table,
 * never has its files, and the same numbers there may be the program's. */
static int file_af_shared;

void profile_fork_prepare(void)
{
	pthread_mutex_lock(&file_lock);
}

void profile_fork_parent(void)
{
	pthread_mutex_unlock(&file_lock);
}

void profile_fork_child(void)
{
	if (file_af && file_af_shared) {
		if (file_af->fd >= 0)
			close(file_af->fd);
		if (file_af->how == ATOMICFILE_REPLACE && file_af->dirfd >= 0)
			close(file_af->dirfd);
	}
	file_af = NULL;
	pthread_mutex_init(&file_lock, NULL);
}

/* ------------------------------------------------------------ atomic write */

/* Buffered output to the file being written, for json_dump_callback (no stdio). */
struct out {
	struct atomicfile af;
	size_t n;            /* bytes waiting in buf */
	int err;             /* errno of the first failed write, or 0 */
	char buf[OUT_BUF_SIZE];
};

static int out_flush(struct out *o)
{
	if (!o->err && o->n && atomicfile_write(&o->af, o->buf, o->n) != 0)
		o->err = errno;
	o->n = 0;
	return o->err ? -1 : 0;
}

static int out_put(const char *p, size_t len, void *arg)
{
	struct out *o = arg;
	if (len <= sizeof(o->buf) - o->n) {   /* the common case: a small token */
		memcpy(o->buf + o->n, p, len);
		o->n += len;
		return 0;
	}
	while (len > 0) {
		if (o->n == sizeof(o->buf) && out_flush(o) < 0)
			return -1;
		size_t k = sizeof(o->buf) - o->n;
		if (k > len)
			k = len;
		memcpy(o->buf + o->n, p, k);
		o->n += k;
		p += k;
		len -= k;
	}
	return 0;
}

/* The whole file: the document's members, then "pps" one program point at a time,
 * then "ftbl" (last: violations' stacks may add frames to it), as jansson's compact
 * dump of the whole would be. Returns 0 or -1. */
struct emit_args {
	const json_t *doc;
	const struct builder *b;
};

/* A decimal number into buf (at least 20 bytes); returns its length. Written in place
 * from its last digit, two digits a step: a child's exit profile formats some 40
 * numbers a program point (a copy loop here became a call of memcpy per number). */
static size_t fmt_u64(char *buf, uint64_t v)
{
	static const char pairs[] = "00010203040506070809101112131415161718192021222324"
				    "25262728293031323334353637383940414243444546474849"
				    "50515253545556575859606162636465666768697071727374"
				    "75767778798081828384858687888990919293949596979899";
	static const uint64_t pow10[20] = {
		1ull, 10ull, 100ull, 1000ull, 10000ull, 100000ull, 1000000ull, 10000000ull,
		100000000ull, 1000000000ull, 10000000000ull, 100000000000ull,
		1000000000000ull, 10000000000000ull, 100000000000000ull,
		1000000000000000ull, 10000000000000000ull, 100000000000000000ull,
		1000000000000000000ull, 10000000000000000000ull };
	if (v < 10) {   /* most counts of most program points */
		buf[0] = (char)('0' + v);
		return 1;
	}
	/* Its digits: log10 from the bit length (1233 / 4096 ~ log10(2)), then one
	 * comparison, instead of a multiply per digit. */
	size_t t = ((size_t)(64 - __builtin_clzll(v)) * 1233) >> 12;
	size_t n = t + (v >= pow10[t]);
	char *e = buf + n;
	while (v >= 100) {
		unsigned r = (unsigned)(v % 100);
		v /= 100;
		e -= 2;
		e[0] = pairs[2 * r];
		e[1] = pairs[2 * r + 1];
	}
	if (v >= 10) {
		e[-2] = pairs[2 * v];
		e[-1] = pairs[2 * v + 1];
	} else {
		e[-1] = (char)('0' + v);
	}
	return n;
}

/* One program point, exactly as jansson's compact dump of the object {DHAT's fields,
 * audioprof's, "fs", "ids"} would write it, but formatted straight into the output: a
 * JSON value per number cost ~5 us a program point, which made a forked child's exit
 * profile (all the sites it inherited) the bulk of what the child cost its parent. The
 * text is gathered in a local buffer and handed to out_put a few hundred bytes at a
 * time (a call per number was 60 calls of memcpy a program point). */
/* Each number's text before its value, `,"key":`, in 16 bytes: copied with one
 * fixed-size store (a copy of the key's own length was a call of memcpy). */
#define PP_PREFIX 16
#define PP_KEY_FITS(key, src, type, unit, presence, what) \
	_Static_assert(sizeof(#key) + 3 <= PP_PREFIX, "a pp key longer than PP_PREFIX");
PROFILE_PP(PP_KEY_FITS)
#undef PP_KEY_FITS
#define PP_NFIELDS (sizeof(pp_fields) / sizeof(pp_fields[0]))
static struct {
	char text[PP_PREFIX];
	size_t n;
} pp_prefix[PP_NFIELDS];

static void pp_prefix_make(void)
{
	for (size_t i = 0; i < PP_NFIELDS; i++)
		pp_prefix[i].n = (size_t)snprintf(pp_prefix[i].text, PP_PREFIX, ",\"%s\":",
						  pp_fields[i].key);
}
struct pp_text {
	char buf[512];
	size_t n;
};

/* Room for `need` more bytes in t (need <= sizeof(t->buf)), handing what is there on. */
static int pp_room(struct out *o, struct pp_text *t, size_t need)
{
	if (t->n + need <= sizeof(t->buf))
		return 0;
	int rc = out_put(t->buf, t->n, o);
	t->n = 0;
	return rc;
}

static int pp_emit(struct out *o, const struct builder *b, const struct group *g, int first)
{
	struct pp_text t;
	t.n = 0;
	if (!first)
		t.buf[t.n++] = ',';
	/* The numbers always fit the empty buffer together: no room check each. */
	_Static_assert(1 + PP_NFIELDS * (PP_PREFIX + 20) <= sizeof(t.buf),
		       "a pp's numbers do not fit struct pp_text");
	for (size_t i = 0; i < PP_NFIELDS; i++) {
		memcpy(t.buf + t.n, pp_prefix[i].text, PP_PREFIX);
		t.buf[t.n] = i ? ',' : '{';
		t.n += pp_prefix[i].n;
		uint64_t v = *(const uint64_t *)((const char *)&g->st + pp_fields[i].off);
		t.n += fmt_u64(t.buf + t.n, v > (uint64_t)INT64_MAX ? (uint64_t)INT64_MAX : v);
	}
	if (pp_room(o, &t, 7) < 0)
		return -1;
	memcpy(t.buf + t.n, ",\"fs\":[", 7);
	t.n += 7;
	for (size_t i = 0; i < g->nfs; i++) {
		if (pp_room(o, &t, 24) < 0)
			return -1;
		if (i)
			t.buf[t.n++] = ',';
		t.n += fmt_u64(t.buf + t.n, b->fspool[g->fs_start + i]);
	}
	if (pp_room(o, &t, 9) < 0)
		return -1;
	memcpy(t.buf + t.n, "],\"ids\":[", 9);
	t.n += 9;
	for (site_id id = g->first; id; id = b->next_id[id]) {
		if (pp_room(o, &t, 24) < 0)
			return -1;
		if (id != g->first)
			t.buf[t.n++] = ',';
		t.n += fmt_u64(t.buf + t.n, id);
	}
	if (pp_room(o, &t, 2) < 0)
		return -1;
	t.buf[t.n++] = ']';
	t.buf[t.n++] = '}';
	return out_put(t.buf, t.n, o);
}

/* One frame string as jansson's compact dump writes a string value: UTF-8 as it is,
 * '"' and '\\' escaped, control characters as \b \f \n \r \t or \u00XX. A string
 * that is not valid UTF-8 (jansson refuses it) has its bytes >= 0x80 as '?', as
 * jsonput_str makes it. */
static int str_emit(struct out *o, const char *s)
{
	char *fixed = NULL;
	for (const char *p = s; *p; p++)
		if ((unsigned char)*p >= 0x80) {
			json_t *j = json_string(s);   /* rare: let jansson judge the UTF-8 */
			if (j) {
				json_decref(j);
				break;
			}
			if (!(fixed = strdup(s)))
				return -1;
			for (char *q = fixed; *q; q++)
				if ((unsigned char)*q >= 0x80)
					*q = '?';
			s = fixed;
			break;
		}
	int rc = out_put("\"", 1, o);
	const char *run = s;
	for (const char *p = s; rc == 0 && *p; p++) {
		unsigned char c = (unsigned char)*p;
		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		char seq[8];
		size_t k = 2;
		seq[0] = '\\';
		switch (c) {
		case '"':  seq[1] = '"'; break;
		case '\\': seq[1] = '\\'; break;
		case '\b': seq[1] = 'b'; break;
		case '\f': seq[1] = 'f'; break;
		case '\n': seq[1] = 'n'; break;
		case '\r': seq[1] = 'r'; break;
		case '\t': seq[1] = 't'; break;
		default:   k = (size_t)snprintf(seq, sizeof(seq), "\\u%04X", c); break;
		}
		rc = out_put(run, (size_t)(p - run), o);
		if (rc == 0)
			rc = out_put(seq, k, o);
		run = p + 1;
	}
	if (rc == 0)
		rc = out_put(run, strlen(run), o);
	if (rc == 0)
		rc = out_put("\"", 1, o);
	free(fixed);
	return rc;
}

/* "ftbl": the frame strings in index order, as jansson's compact dump of an array. */
static int ftbl_emit(struct out *o, const struct builder *b)
{
	int rc = out_put("[", 1, o);
	for (size_t f = 0; rc == 0 && f < b->nframes; f++) {
		if (f)
			rc = out_put(",", 1, o);
		if (rc == 0)
			rc = str_emit(o, b->text + b->fstart[f]);
	}
	return rc == 0 ? out_put("]", 1, o) : -1;
}

static int emit(struct out *o, const struct emit_args *a)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, pp_prefix_make);
	char *head = json_dumps(a->doc, JSON_COMPACT);
	size_t hl = head ? strlen(head) : 0;
	int err = !head || hl < 2 || head[hl - 1] != '}';
	/* "{...}" without its closing brace; the document is never empty */
	err = err || out_put(head, hl - 1, o) < 0 || out_put(",\"pps\":[", 8, o) < 0;
	free(head);
	for (size_t g = 0; !err && g < a->b->ngroups; g++)
		err = pp_emit(o, a->b, &a->b->groups[g], g == 0) < 0;
	err = err || out_put("],\"ftbl\":", 9, o) < 0 || ftbl_emit(o, a->b) < 0 ||
	      out_put("}\n", 2, o) < 0;
	return err ? -1 : 0;
}

/* Writes the file through the one atomic writer (common/atomicfile.h): a regular file
 * is replaced whole (mode 0666 less the umask, like any file the program creates;
 * renamed into place; not synced to disk first: the rename is what
 * makes it atomic for readers and a killed process's data stays in the page cache,
 * while a sync cost every profiled process, each forked child on its way out
 * included, 1 to 5 ms at exit); a device or FIFO is written into, never replaced;
 * a FIFO nobody reads is an error, not a wait, and a reader that goes away never
 * raises SIGPIPE in the program. On failure the target is as it was. */
static int write_atomic(const char *path, const struct emit_args *args)
{
	struct out *o = malloc(sizeof(*o));
	if (!o) {
		errno = ENOMEM;
		return -1;
	}
	/* Opened under file_lock (a fork's prepare handler takes it): a child then knows
	 * exactly which descriptors are the parent's write's. Not synced to disk before
	 * the rename (see below), so committing is short too. */
	pthread_mutex_lock(&file_lock);
	int rc = atomicfile_open(&o->af, path, 0666, ATOMICFILE_NOWAIT | ATOMICFILE_NOSIGPIPE);
	if (rc == 0) {
		file_af = &o->af;
		file_af_shared = !fds_private();
	}
	pthread_mutex_unlock(&file_lock);
	if (rc != 0) {
		int err = errno;
		free(o);
		errno = err;
		return -1;
	}
	o->n = 0;
	o->err = 0;
	int failed = emit(o, args) < 0 || out_flush(o) < 0;
	int emit_err = o->err ? o->err : ENOMEM;
	pthread_mutex_lock(&file_lock);
	if (failed) {
		errno = emit_err;
		atomicfile_abort(&o->af);
		rc = -1;
	} else {
		rc = atomicfile_commit(&o->af);
	}
	int err = errno;
	file_af = NULL;
	pthread_mutex_unlock(&file_lock);
	free(o);
	errno = err;
	return rc;
}

/* ------------------------------------------------------------ entry point */

int profile_write(const char *path, const struct profile_meta *meta)
{
	if (!path || !*path || !meta) {
		errno = EINVAL;
		return -1;
	}
	struct builder b = { 0 };
	json_t *doc = build_document(meta, &b);
	if (!doc) {
		builder_free(&b);
		errno = ENOMEM;
		return -1;
	}
	struct emit_args args = { doc, &b };
	int rc = write_atomic(path, &args);
	int err = errno;
	json_decref(doc);
	builder_free(&b);
	errno = err;
	return rc;
}
