/* symcache.c - the persistent cache of DWARF-resolved frames (see symcache.h).
 *
 * File <dir>/<build-id hex>.sym (".dsym" when C++ names were demangled, ".nsym" for
 * SYMCACHE_SYMTAB's frames):
 *   audioprof-symcache 3
 *   <lo, hex>[-<hi, hex>[+<base, hex>]]\t<frame suffix>[\t<frame suffix>...]
 * one line per address range [lo, hi) of ELF addresses over which the frames are the
 * same (just lo: [lo, lo + 1)), innermost frame first, suffix = the frame string after
 * "0xADDR: "; lines in increasing order, ranges disjoint. With "+base", one frame
 * "NAME (in MODULE)" that is "NAME+0x<address - base> (in MODULE)" at each address (a
 * symbol-table name and its offset, symcache_add_offset). A version 2 file (one exact
 * address a line, no "-") is read as ranges of one address and rewritten as version 3
 * at the next flush. Anything else makes the line (or, for the first line, the file)
 * ignored. */
#include "symcache.h"
#include "fds.h"
#include "log.h"
#include "atomicfile.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define HEADER        "audioprof-symcache 3\n"   /* 3: address ranges */
#define HEADER_V2     "audioprof-symcache 2\n"   /* exact addresses: read, not written */
#define MAX_FILE      (64u << 20)   /* larger files are not read */
#define MAX_ENTRIES   (1u << 20)    /* per module */
#define MAX_FRAMES    256           /* per address */
#define MAX_BID       64            /* build ID bytes */
#define MAX_PENDING   64            /* entries added since the last merge (struct cmod) */

struct centry {
	uint64_t lo, hi;             /* the ELF addresses [lo, hi) these frames hold for */
	uint64_t base;               /* SYMCACHE_NO_BASE, or as symcache_lookup says */
	int n;
	char *s[];                   /* n strings, in the same block */
};

/* A sorted array of disjoint entries. */
struct cvec {
	struct centry **v;           /* by lo */
	size_t n, cap;               /* used, allocated */
};

/* One module's entries: `main` plus a short `pending` array that new entries go to, so
 * that adding one costs a move of at most MAX_PENDING pointers; merged into `main` when
 * full and before a write. Entries of the two are disjoint too. */
struct cmod {
	char name[2 * MAX_BID + 8];  /* "<hex>.sym", "<hex>.dsym" or "<hex>.nsym" */
	struct cvec main, pending;
	int loaded;                  /* the file was read (or found missing or bad) */
	int had;                     /* it had entries */
	int dirty;                   /* entries not yet in the file */
	struct stat seen;            /* the file when it was read (st_ino 0: none) */
};

static char *cdir;               /* NULL: off */
static int explicit_dir;         /* set by the user: say so once if it cannot be written */
static int warned;
static struct cmod *mods;
static int nmods, capmods;

/* ---------------------------------------------------------------- set-up */

void symcache_init(const char *dir)
{
	free(cdir);
	cdir = NULL;
	if (dir && strcmp(dir, "off") == 0)
		return;
	if (dir && dir[0] && strcmp(dir, "auto") != 0) {
		cdir = strdup(dir);
		explicit_dir = 1;
		return;
	}
	const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
	if (xdg && xdg[0] == '/') {
		if (asprintf(&cdir, "%s/audioprof", xdg) < 0)
			cdir = NULL;
	} else if (home && home[0] == '/') {
		if (asprintf(&cdir, "%s/.cache/audioprof", home) < 0)
			cdir = NULL;
	}
}

int symcache_enabled(void)
{
	return cdir != NULL;
}

/* ---------------------------------------------------------------- in memory */

/* The number of entries of v that start at or below addr: the one before that index
 * is the only one that may hold addr. */
static size_t upper(const struct cvec *v, uint64_t addr)
{
	size_t lo = 0, hi = v->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (v->v[mid]->lo <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static struct centry *vec_find(const struct cvec *v, uint64_t addr)
{
	size_t i = upper(v, addr);
	return i > 0 && addr < v->v[i - 1]->hi ? v->v[i - 1] : NULL;
}

static struct centry *find(struct cmod *m, uint64_t addr)
{
	struct centry *e = vec_find(&m->main, addr);
	return e ? e : vec_find(&m->pending, addr);
}

static int vec_reserve(struct cvec *v, size_t need)
{
	if (need <= v->cap)
		return 0;
	size_t ncap = v->cap ? v->cap : 64;
	while (ncap < need)
		ncap *= 2;
	struct centry **nv = realloc(v->v, ncap * sizeof(*nv));
	if (!nv)
		return -1;
	v->v = nv;
	v->cap = ncap;
	return 0;
}

/* Merges b into a, both sorted; an entry of b that overlaps one of a is dropped (a's
 * entries came first). Returns 0, or -1 without memory (a and b unchanged). */
static int vec_merge(struct cvec *a, struct cvec *b)
{
	size_t cap = a->n + b->n ? a->n + b->n : 1;
	struct centry **out = malloc(cap * sizeof(*out));
	if (!out)
		return -1;
	size_t i = 0, j = 0, k = 0;
	while (i < a->n || j < b->n) {
		if (j == b->n || (i < a->n && a->v[i]->lo <= b->v[j]->lo)) {
			out[k++] = a->v[i++];
			continue;
		}
		struct centry *e = b->v[j++];
		if ((k > 0 && e->lo < out[k - 1]->hi) || (i < a->n && a->v[i]->lo < e->hi))
			free(e);
		else
			out[k++] = e;
	}
	free(a->v);
	a->v = out;
	a->n = k;
	a->cap = cap;
	b->n = 0;
	return 0;
}

static void vec_free(struct cvec *v)
{
	for (size_t i = 0; i < v->n; i++)
		free(v->v[i]);
	free(v->v);
	memset(v, 0, sizeof(*v));
}

/* Takes ownership of e, whose range holds addr: trimmed to the gap between the entries
 * around addr (frames of an overlap are the same either way), or freed when addr is
 * already held or e cannot be kept. Returns 1 if kept. */
static int insert(struct cmod *m, struct centry *e, uint64_t addr)
{
	if (m->main.n + m->pending.n >= MAX_ENTRIES || find(m, addr) ||
	    (m->pending.n == MAX_PENDING && vec_merge(&m->main, &m->pending) != 0) ||
	    vec_reserve(&m->pending, m->pending.n + 1) != 0) {
		free(e);
		return 0;
	}
	const struct cvec *vs[2] = { &m->main, &m->pending };
	size_t at = 0;
	for (int k = 0; k < 2; k++) {
		size_t i = upper(vs[k], addr);
		if (i > 0 && vs[k]->v[i - 1]->hi > e->lo)
			e->lo = vs[k]->v[i - 1]->hi;
		if (i < vs[k]->n && vs[k]->v[i]->lo < e->hi)
			e->hi = vs[k]->v[i]->lo;
		at = i;   /* k == 1: the place in pending */
	}
	struct cvec *p = &m->pending;
	memmove(&p->v[at + 1], &p->v[at], (p->n - at) * sizeof(p->v[0]));
	p->v[at] = e;
	p->n++;
	return 1;
}

/* An entry from n strings of the given lengths (not NUL-terminated). */
static struct centry *make_entry(uint64_t lo, uint64_t hi, int n, const char *const *s,
				 const size_t *len)
{
	size_t size = sizeof(struct centry) + (size_t)n * sizeof(char *);
	for (int i = 0; i < n; i++)
		size += len[i] + 1;
	struct centry *e = malloc(size);
	if (!e)
		return NULL;
	e->lo = lo;
	e->hi = hi;
	e->base = SYMCACHE_NO_BASE;
	e->n = n;
	char *p = (char *)&e->s[n];
	for (int i = 0; i < n; i++) {
		memcpy(p, s[i], len[i]);
		p[len[i]] = '\0';
		e->s[i] = p;
		p += len[i] + 1;
	}
	return e;
}

/* ---------------------------------------------------------------- the files */

/* Hex digits only (strtoull would skip white space, even newlines): the value at *pp,
 * at most 16 digits, *pp moved past them. Returns 0, or -1 without digits or with too
 * many. */
static int hex(char **pp, const char *end, uint64_t *out)
{
	char *q = *pp;
	uint64_t v = 0;
	int digits = 0;
	for (; q < end && ((*q >= '0' && *q <= '9') || (*q >= 'a' && *q <= 'f')); q++) {
		if (++digits > 16)
			return -1;
		v = v << 4 | (unsigned)(*q <= '9' ? *q - '0' : *q - 'a' + 10);
	}
	*pp = q;
	*out = v;
	return digits > 0 ? 0 : -1;
}

/* Reads a file's lines into the module: entries already in memory are kept where the
 * file's overlap them. A line out of order or overlapping the one before is ignored. */
static void parse(struct cmod *m, char *buf, size_t size)
{
	size_t hl = sizeof(HEADER) - 1;
	int v2 = size >= hl && memcmp(buf, HEADER_V2, hl) == 0;
	if (size < hl || (!v2 && memcmp(buf, HEADER, hl) != 0))
		return;   /* not ours, or another version: rewritten at the next flush */
	if (v2)
		m->dirty = 1;   /* rewritten in this version's format */
	struct cvec got = { 0 };
	const char *s[MAX_FRAMES];
	size_t len[MAX_FRAMES];
	char *p = buf + hl, *end = buf + size;
	while (p < end && got.n < MAX_ENTRIES) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl)
			break;   /* a last line without its newline: a torn write, ignored */
		char *q = p;
		uint64_t lo, hi, base = SYMCACHE_NO_BASE;
		int ok = hex(&q, nl, &lo) == 0;
		if (ok && !v2 && q < nl && *q == '-') {
			q++;
			ok = hex(&q, nl, &hi) == 0 && hi > lo;
			if (ok && q < nl && *q == '+') {
				q++;
				ok = hex(&q, nl, &base) == 0 && base <= lo;
			}
		} else {
			hi = lo + 1;
			ok = ok && hi > lo;
		}
		ok = ok && (got.n == 0 || got.v[got.n - 1]->hi <= lo);
		int n = 0;
		ok = ok && q < nl && *q == '\t';
		while (ok && q < nl && *q == '\t') {
			char *a = q + 1, *b = a;
			while (b < nl && *b != '\t')
				b++;
			if (b == a || n == MAX_FRAMES) {
				ok = 0;
				break;
			}
			s[n] = a;
			len[n++] = (size_t)(b - a);
			q = b;
		}
		ok = ok && (base == SYMCACHE_NO_BASE || (n == 1 && memmem(s[0], len[0], " (in ", 5)));
		if (ok && n > 0 && q == nl && vec_reserve(&got, got.n + 1) == 0) {
			struct centry *e = make_entry(lo, hi, n, s, len);
			if (e) {
				e->base = base;
				got.v[got.n++] = e;
			}
		}
		p = nl + 1;
	}
	if (got.n)
		m->had = 1;
	if (vec_merge(&m->main, &m->pending) != 0 || vec_merge(&m->main, &got) != 0)
		vec_free(&got);
	free(got.v);
	while (m->main.n > MAX_ENTRIES)
		free(m->main.v[--m->main.n]);
}

static void load(struct cmod *m)
{
	m->loaded = 1;
	char path[PATH_MAX];
	if (snprintf(path, sizeof(path), "%s/%s", cdir, m->name) >= (int)sizeof(path))
		return;
	int fd = fds_open(path, O_RDONLY | O_NOFOLLOW, 0);
	if (fd < 0)
		return;
	struct stat st;
	char *buf = NULL;
	if (fstat(fd, &st) != 0) {
		close(fd);
		return;
	}
	m->seen = st;
	if (S_ISREG(st.st_mode) && st.st_size > 0 &&
	    (uint64_t)st.st_size <= MAX_FILE && (buf = malloc((size_t)st.st_size + 1)) != NULL) {
		size_t got = 0;
		while (got < (size_t)st.st_size) {
			ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0)
				break;
			got += (size_t)r;
		}
		buf[got] = '\0';
		parse(m, buf, got);
	}
	free(buf);
	close(fd);
}

static struct cmod *module(const unsigned char *bid, size_t bidlen, int demangled, int create)
{
	if (!cdir || bidlen == 0 || bidlen > MAX_BID)
		return NULL;
	char name[sizeof(mods->name)];
	for (size_t i = 0; i < bidlen; i++)
		snprintf(name + 2 * i, 3, "%02x", bid[i]);
	static const char *const kinds[] = { ".sym", ".dsym", ".nsym" };
	strcpy(name + 2 * bidlen, kinds[demangled == SYMCACHE_SYMTAB ? 2 : demangled ? 1 : 0]);
	for (int i = 0; i < nmods; i++)
		if (strcmp(mods[i].name, name) == 0)
			return &mods[i];
	if (!create)
		return NULL;
	if (nmods == capmods) {
		int ncap = capmods ? capmods * 2 : 16;
		struct cmod *nv = realloc(mods, (size_t)ncap * sizeof(*nv));
		if (!nv)
			return NULL;
		mods = nv;
		capmods = ncap;
	}
	struct cmod *m = &mods[nmods++];
	memset(m, 0, sizeof(*m));
	strcpy(m->name, name);
	return m;
}

/* mkdir -p for the cache directory; the directories it creates are private (0700). */
static int make_dirs(void)
{
	char path[PATH_MAX];
	if (snprintf(path, sizeof(path), "%s", cdir) >= (int)sizeof(path))
		return -1;
	for (char *p = path + 1; ; p++) {
		if (*p == '/' || *p == '\0') {
			char c = *p;
			*p = '\0';
			if (mkdir(path, 0700) != 0 && errno != EEXIST)
				return -1;
			*p = c;
			if (!c)
				break;
		}
	}
	struct stat st;
	return stat(cdir, &st) == 0 && S_ISDIR(st.st_mode) ? 0 : -1;
}

static void cant_write(int err)
{
	if (explicit_dir && !warned) {
		warned = 1;
		log_msg("cannot write the symbol cache in %s: %s", cdir, strerror(err));
	}
}

/* Replaces the module's file through the one atomic writer (common/atomicfile.h).
 * Mode 0600 less the umask: the cache is private to its user, as the 0700
 * directories make_dirs creates; not synced (losing it only costs a lookup). */
static void save(struct cmod *m)
{
	char path[PATH_MAX];
	if (snprintf(path, sizeof(path), "%s/%s", cdir, m->name) >= (int)sizeof(path))
		return;
	struct atomicfile *af = malloc(sizeof(*af));
	if (!af)
		return;
	if (atomicfile_open(af, path, 0600, ATOMICFILE_NOWAIT | ATOMICFILE_NOSIGPIPE) != 0) {
		cant_write(errno);
		free(af);
		return;
	}
	size_t cap = 1 << 16, n = 0;
	char *buf = malloc(cap);
	int err = !buf;
	if (!err) {
		memcpy(buf, HEADER, sizeof(HEADER) - 1);
		n = sizeof(HEADER) - 1;
	}
	if (vec_merge(&m->main, &m->pending) != 0)
		err = 1;
	for (size_t i = 0; !err && i < m->main.n; i++) {
		struct centry *e = m->main.v[i];
		size_t need = 40;
		for (int k = 0; k < e->n; k++)
			need += strlen(e->s[k]) + 1;
		if (n + need > cap) {
			if (atomicfile_write(af, buf, n) < 0) {
				err = 1;
				break;
			}
			n = 0;
			if (need > cap) {
				char *nb = realloc(buf, need);
				if (!nb) {
					err = 1;
					break;
				}
				buf = nb;
				cap = need;
			}
		}
		if (e->base != SYMCACHE_NO_BASE)
			n += (size_t)snprintf(buf + n, cap - n, "%llx-%llx+%llx",
					      (unsigned long long)e->lo, (unsigned long long)e->hi,
					      (unsigned long long)e->base);
		else if (e->hi == e->lo + 1)
			n += (size_t)snprintf(buf + n, cap - n, "%llx", (unsigned long long)e->lo);
		else
			n += (size_t)snprintf(buf + n, cap - n, "%llx-%llx", (unsigned long long)e->lo,
					      (unsigned long long)e->hi);
		for (int k = 0; k < e->n; k++) {
			size_t l = strlen(e->s[k]);
			buf[n++] = '\t';
			memcpy(buf + n, e->s[k], l);
			n += l;
		}
		buf[n++] = '\n';
	}
	if (!err)
		err = atomicfile_write(af, buf, n) < 0;
	free(buf);
	if (err) {
		atomicfile_abort(af);
	} else if (atomicfile_commit(af) == 0) {
		m->dirty = 0;
		char path[PATH_MAX];
		struct stat st;
		if (snprintf(path, sizeof(path), "%s/%s", cdir, m->name) < (int)sizeof(path) &&
		    stat(path, &st) == 0)
			m->seen = st;   /* our own version: nothing new to read back */
	}
	free(af);
}

/* Whether the module's file was replaced since it was read: another process (a forked
 * sibling that resolved frames of code its parent never ran, say) added entries. A
 * miss costs one stat(2) for it; a miss goes on to debug information, which costs far
 * more. */
static int changed(struct cmod *m)
{
	char path[PATH_MAX];
	struct stat st;
	if (snprintf(path, sizeof(path), "%s/%s", cdir, m->name) >= (int)sizeof(path) ||
	    stat(path, &st) != 0 || !S_ISREG(st.st_mode))
		return 0;
	return st.st_ino != m->seen.st_ino || st.st_dev != m->seen.st_dev ||
	       st.st_size != m->seen.st_size || st.st_mtim.tv_sec != m->seen.st_mtim.tv_sec ||
	       st.st_mtim.tv_nsec != m->seen.st_mtim.tv_nsec;
}

/* ---------------------------------------------------------------- API */

static const char *const *lookup(const unsigned char *bid, size_t bidlen, int demangled,
				 uint64_t addr, int *n, uint64_t *base, int fresh)
{
	struct cmod *m = module(bid, bidlen, demangled, 1);
	if (!m)
		return NULL;
	if (!m->loaded)
		load(m);
	struct centry *e = find(m, addr);
	if (!e && fresh && changed(m)) {
		load(m);   /* merged: entries already here are kept */
		e = find(m, addr);
	}
	if (!e || (!base && e->base != SYMCACHE_NO_BASE))
		return NULL;
	if (base)
		*base = e->base;
	*n = e->n;
	return (const char *const *)e->s;
}

const char *const *symcache_lookup(const unsigned char *bid, size_t bidlen, int demangled,
				   uint64_t addr, int *n, uint64_t *base)
{
	return lookup(bid, bidlen, demangled, addr, n, base, 1);
}

const char *const *symcache_peek(const unsigned char *bid, size_t bidlen, int demangled,
				 uint64_t addr, int *n, uint64_t *base)
{
	return lookup(bid, bidlen, demangled, addr, n, base, 0);
}

void symcache_add(const unsigned char *bid, size_t bidlen, int demangled, uint64_t addr,
		  uint64_t lo, uint64_t hi, char *const *frames, int n)
{
	if (n <= 0 || n > MAX_FRAMES)
		return;
	if (!(lo <= addr && addr < hi))
		lo = addr, hi = addr + 1;
	if (hi <= lo)
		return;   /* addr is the last address there is */
	struct cmod *m = module(bid, bidlen, demangled, 1);
	if (!m)
		return;
	if (!m->loaded)
		load(m);
	const char *s[MAX_FRAMES];
	size_t len[MAX_FRAMES];
	for (int i = 0; i < n; i++) {
		const char *f = strstr(frames[i], ": ");
		if (!f || strpbrk(f + 2, "\t\n") || !f[2])
			return;
		s[i] = f + 2;
		len[i] = strlen(s[i]);
	}
	struct centry *e = make_entry(lo, hi, n, s, len);
	if (e && insert(m, e, addr))
		m->dirty = 1;
}

void symcache_add_offset(const unsigned char *bid, size_t bidlen, int demangled,
			 uint64_t addr, uint64_t lo, uint64_t hi, uint64_t base,
			 const char *frame)
{
	struct cmod *m = module(bid, bidlen, demangled, 1);
	const char *f = strstr(frame, ": ");
	if (!m || !f || !f[2] || strpbrk(f + 2, "\t\n") || !strstr(f + 2, " (in ") ||
	    !(lo <= addr && addr < hi) || base > lo)
		return;
	if (!m->loaded)
		load(m);
	const char *s = f + 2;
	size_t len = strlen(s);
	struct centry *e = make_entry(lo, hi, 1, &s, &len);
	if (e) {
		e->base = base;
		if (insert(m, e, addr))
			m->dirty = 1;
	}
}

int symcache_was_read(const unsigned char *bid, size_t bidlen, int demangled)
{
	struct cmod *m = module(bid, bidlen, demangled, 0);
	return m && m->had;
}

void symcache_flush(void)
{
	int dirs = 0;
	for (int i = 0; i < nmods; i++) {
		if (!mods[i].dirty)
			continue;
		if (!dirs && (dirs = make_dirs() == 0 ? 1 : -1) < 0) {
			cant_write(errno);
			return;
		}
		save(&mods[i]);
	}
}

void symcache_after_fork(void)
{
	for (int i = 0; i < nmods; i++)
		mods[i].dirty = 0;
}

void symcache_abandon(void)
{
	mods = NULL;
	nmods = capmods = 0;
}

void symcache_shutdown(void)
{
	for (int i = 0; i < nmods; i++) {
		vec_free(&mods[i].main);
		vec_free(&mods[i].pending);
	}
	free(mods);
	mods = NULL;
	nmods = capmods = 0;
}
