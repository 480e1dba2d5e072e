/* symcache.c - the persistent cache of DWARF-resolved frames (see symcache.h).
 *
 * File <dir>/<build-id hex>.sym (".dsym" when C++ names were demangled, ".nsym" for
 * SYMCACHE_SYMTAB's frames):
 *   audioprof-symcache 2
 *   <ELF address, hex>\t<frame suffix>[\t<frame suffix>...]
 * one line per address, innermost frame first, suffix = the frame string after
 * "0xADDR: ". Anything else makes the line (or, for the first line, the file) ignored. */
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

#define HEADER        "audioprof-symcache 2\n"   /* 2: Rust demangled, Rust inlined frames */
#define MAX_FILE      (64u << 20)   /* larger files are not read */
#define MAX_ENTRIES   (1u << 20)    /* per module */
#define MAX_FRAMES    256           /* per address */
#define MAX_BID       64            /* build ID bytes */

struct centry {
	uint64_t addr;
	int n;
	char *s[];                   /* n strings, in the same block */
};

struct cmod {
	char name[2 * MAX_BID + 8];  /* "<hex>.sym", "<hex>.dsym" or "<hex>.nsym" */
	struct centry **slots;       /* open addressing on addr */
	size_t cap, used;
	int loaded;                  /* the file was read (or found missing or bad) */
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

static size_t slot_of(uint64_t addr, size_t cap)
{
	uint64_t h = addr * 0x9E3779B97F4A7C15ull;
	return (size_t)(h ^ (h >> 31)) & (cap - 1);
}

static struct centry *find(struct cmod *m, uint64_t addr)
{
	if (!m->slots)
		return NULL;
	for (size_t i = slot_of(addr, m->cap); m->slots[i]; i = (i + 1) & (m->cap - 1))
		if (m->slots[i]->addr == addr)
			return m->slots[i];
	return NULL;
}

/* Takes ownership of e (frees it when it cannot be kept). Returns 1 if kept. */
static int insert(struct cmod *m, struct centry *e)
{
	if (m->used >= MAX_ENTRIES || find(m, e->addr)) {
		free(e);
		return 0;
	}
	if ((m->used + 1) * 2 > m->cap) {
		size_t ncap = m->cap ? m->cap * 2 : 256;
		struct centry **ns = calloc(ncap, sizeof(*ns));
		if (!ns) {
			free(e);
			return 0;
		}
		for (size_t i = 0; i < m->cap; i++)
			if (m->slots[i]) {
				size_t j = slot_of(m->slots[i]->addr, ncap);
				while (ns[j])
					j = (j + 1) & (ncap - 1);
				ns[j] = m->slots[i];
			}
		free(m->slots);
		m->slots = ns;
		m->cap = ncap;
	}
	size_t j = slot_of(e->addr, m->cap);
	while (m->slots[j])
		j = (j + 1) & (m->cap - 1);
	m->slots[j] = e;
	m->used++;
	return 1;
}

/* An entry from n strings of the given lengths (not NUL-terminated). */
static struct centry *make_entry(uint64_t addr, int n, const char *const *s, const size_t *len)
{
	size_t size = sizeof(struct centry) + (size_t)n * sizeof(char *);
	for (int i = 0; i < n; i++)
		size += len[i] + 1;
	struct centry *e = malloc(size);
	if (!e)
		return NULL;
	e->addr = addr;
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

static void parse(struct cmod *m, char *buf, size_t size)
{
	size_t hl = sizeof(HEADER) - 1;
	if (size < hl || memcmp(buf, HEADER, hl) != 0)
		return;   /* not ours, or another version: rewritten at the next flush */
	const char *s[MAX_FRAMES];
	size_t len[MAX_FRAMES];
	char *p = buf + hl, *end = buf + size;
	while (p < end) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl)
			break;   /* a last line without its newline: a torn write, ignored */
		char *q = p;
		/* hex digits only (strtoull would skip white space, even newlines) */
		unsigned long long addr = 0;
		int digits = 0, ok = 1;
		for (; q < nl && ((*q >= '0' && *q <= '9') || (*q >= 'a' && *q <= 'f')); q++) {
			ok &= ++digits <= 16;
			addr = addr << 4 | (unsigned)(*q <= '9' ? *q - '0' : *q - 'a' + 10);
		}
		int n = 0;
		ok = ok && digits > 0 && q < nl && *q == '\t';
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
		if (ok && n > 0 && q == nl) {
			struct centry *e = make_entry(addr, n, s, len);
			if (e)
				insert(m, e);
		}
		p = nl + 1;
	}
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
	for (size_t i = 0; !err && i < m->cap; i++) {
		struct centry *e = m->slots[i];
		if (!e)
			continue;
		size_t need = 24;
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
		n += (size_t)snprintf(buf + n, cap - n, "%llx", (unsigned long long)e->addr);
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
				 uint64_t addr, int *n, int fresh)
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
	if (!e)
		return NULL;
	*n = e->n;
	return (const char *const *)e->s;
}

const char *const *symcache_lookup(const unsigned char *bid, size_t bidlen, int demangled,
				   uint64_t addr, int *n)
{
	return lookup(bid, bidlen, demangled, addr, n, 1);
}

const char *const *symcache_peek(const unsigned char *bid, size_t bidlen, int demangled,
				 uint64_t addr, int *n)
{
	return lookup(bid, bidlen, demangled, addr, n, 0);
}

void symcache_add(const unsigned char *bid, size_t bidlen, int demangled, uint64_t addr,
		  char *const *frames, int n)
{
	if (n <= 0 || n > MAX_FRAMES)
		return;
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
	struct centry *e = make_entry(addr, n, s, len);
	if (e && insert(m, e))
		m->dirty = 1;
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
		for (size_t k = 0; k < mods[i].cap; k++)
			free(mods[i].slots[k]);
		free(mods[i].slots);
	}
	free(mods);
	mods = NULL;
	nmods = capmods = 0;
}
