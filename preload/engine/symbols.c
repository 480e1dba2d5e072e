/* symbols.c - return addresses to DHAT-style frame strings with elfutils libdwfl.
 * Owns the loader's module list (read again when dlopen or dlclose changed it), one
 * Dwfl over it, the per-ip cache of frame strings, and the early resolution of frames
 * in modules about to be dlclose'd, so that the profile written at exit names them.
 * While a dlclose is under way (symbols_module_closing .. symbols_module_closed), the
 * module list only grows: a module that went away keeps its place, and one mapped in
 * its range since is left out, so that a frame is resolved against the module that
 * held it when it was recorded, never against a library loaded there later (libdw's
 * own, loaded by the symbolizer right after the unload); once the dlclose is over,
 * every frame in the modules that went (its dependencies and destructors' included)
 * is resolved from their files, and the list is read afresh.
 * An address is looked up in the persistent cache (symcache.h) first, by the build ID
 * and load bias the module list holds: only a miss needs libdw, loaded then
 * (dwlib.h, outside the mutex) or never; without it a frame names its module only.
 *
 * Locking: one mutex guards the Dwfl and the cache. Nothing that takes glibc's loader
 * lock (dl_iterate_phdr, dlsym) is called while holding it: a thread inside the loader
 * (a constructor or destructor calling dlclose) may be waiting for our mutex in
 * symbols_module_closing. Cached entries are immutable and live until
 * symbols_shutdown, so callbacks run outside the mutex. */
#include "symbols.h"
#include "loader.h"
#include "demangle.h"
#include "sites.h"
#include "symcache.h"
#include "fds.h"

#include "dwlib.h"

#include <dlfcn.h>
#include <dwarf.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <link.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#define MIN_SLOTS     1024    /* first size of the cache's slot array */

/* One resolved ip: immutable once in the cache. One malloc block holds the
 * struct, the frame pointers and the strings. */
struct entry {
	uintptr_t ip;              /* the return address as recorded (printed as is) */
	int n;                     /* number of frames, >= 1, innermost first */
	char *frames[];            /* n pointers into the same block */
};

/* The loader's load/unload counters (glibc dl_phdr_info.dlpi_adds/dlpi_subs):
 * unchanged counters mean an unchanged module list. */
struct loader_gen {
	unsigned long long adds, subs;
};

#define MAX_BUILD_ID  64      /* bytes of a build ID kept */

/* One loaded object, as the loader lists it, to report to libdwfl. */
struct loaded {
	char *name;                /* canonical path, "[vdso: PID]", or the loader's name */
	uintptr_t lo, hi;          /* first PT_LOAD's aligned vaddr .. end of the last, absolute */
	uintptr_t bias;            /* dlpi_addr: ELF address = absolute - bias (libdwfl's too) */
	int bidlen;                /* its GNU build ID's length, 0: none */
	unsigned char bid[MAX_BUILD_ID];
	int debug_file;            /* a separate debug file: 0 not looked for, 1 no, 2 yes */
};

/* What a resolution needs that can only be read without our mutex held. */
struct outside {
	struct loader_gen gen;     /* loader counters, read before locking */
	demangle_fn demangle;      /* __cxa_demangle if libstdc++ is loaded, else NULL */
	struct loaded *mods;       /* the module list, when asked for; malloc'd */
	int nmods, cap;            /* used, allocated */
	int with_mods;             /* whether mods was gathered (even if empty) */
	uintptr_t dsym_ip;         /* without libdw: the ip looked up with dladdr, or 0 */
	char *dsym;                /* the exported symbol holding it (copied), or NULL */
	uintptr_t dsym_addr;       /* that symbol's address */
};

/* The per-ip cache's slot array: replaced whole (never resized in place) when it grows,
 * so that at every instant the published table is complete and consistent, even in a
 * fork child whose parent was in the middle of an insertion. */
struct table {
	size_t cap;                /* slots, a power of two */
	struct entry *slots[];     /* open addressing on ip, NULL = empty */
};

/* Frame strings being built for one ip (malloc'd, freed after packing). */
struct frame_list {
	char **v;                  /* the strings */
	int n, cap;                /* used, allocated */
};

static struct {
	pthread_mutex_t lock;      /* guards everything below */
	int busy;                  /* set while the lock is held (fork child check) */
	Dwfl *dwfl;                /* NULL until first use or after shutdown */
	int dwfl_stale;            /* the Dwfl's modules are not `mods` (report them again) */
	struct loaded *mods;       /* the module list of the last gathering (gen) */
	int nmods;
	int listed;                /* mods is the list of gen (also when empty) */
	int stale;                 /* gather the modules again before the next lookup */
	int refresh;               /* symbols_refresh asked for that (atomic, no lock) */
	struct loader_gen gen;     /* loader counters at the last report */
	int closing;               /* dlcloses under way: mods keeps every module it had */
	unsigned long long closing_subs; /* the loader's unloads when the first one began */
	struct table *tab;         /* the per-ip cache; NULL while empty */
	size_t used;               /* entries stored (may lag by one in a fork child) */
	struct symbols_stats stats;
} S = { .lock = PTHREAD_MUTEX_INITIALIZER };

static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

/* ---------------------------------------------------------------- locking, fork */

/* In a forked child only the forking thread survives: if another thread held our
 * mutex, the Dwfl and the module list may be half-updated, so drop them (leaked, never
 * freed: freeing could touch the inconsistent state). The per-ip cache is kept either
 * way: its entries are immutable and its table is published whole (see struct table),
 * so the child resolves every frame its parent had resolved without loading any debug
 * information again.
 * The persistent cache's entries are the parent's to write (symcache_after_fork). The
 * mutex is made usable again and the module list re-read. */
static void atfork_child(void)
{
	if (__atomic_load_n(&S.busy, __ATOMIC_RELAXED)) {
		S.dwfl = NULL;
		S.mods = NULL;
		S.nmods = 0;
		S.listed = 0;
		symcache_abandon();   /* it too may have been mid-update */
	} else {
		symcache_after_fork();
	}
	S.busy = 0;
	S.closing = 0;   /* a dlclose of another thread never ends here */
	pthread_mutex_init(&S.lock, NULL);
	S.stale = 1;
}

static void register_atfork(void)
{
	pthread_atfork(NULL, NULL, atfork_child);
}

/* Registered at load time, so that this child handler runs before those of code
 * initialised later (child handlers run in registration order), e.g. a runtime's
 * that resolves in the child; lock() registers it too if constructors did not run. */
__attribute__((constructor)) static void symbols_ctor(void)
{
	pthread_once(&atfork_once, register_atfork);
}

static void lock(void)
{
	pthread_once(&atfork_once, register_atfork);
	pthread_mutex_lock(&S.lock);
	__atomic_store_n(&S.busy, 1, __ATOMIC_RELAXED);
}

static void unlock(void)
{
	__atomic_store_n(&S.busy, 0, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&S.lock);
}

/* ---------------------------------------------------------------- outside the lock */

static int gen_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct loader_gen *g = arg;
	if (size >= offsetof(struct dl_phdr_info, dlpi_subs) + sizeof(info->dlpi_subs)) {
		g->adds = info->dlpi_adds;
		g->subs = info->dlpi_subs;
	}
	return 1;   /* the counters are the same in every entry: stop at the first */
}

/* The span libdwfl expects for an object: from its first PT_LOAD's p_vaddr aligned
 * down to p_align (libdwfl's bias is start minus that) to the end of its last
 * PT_LOAD. The loader reserves the gaps between segments, so nothing else maps
 * inside. Returns 0, or -1 without PT_LOAD. */
static int load_span(const struct dl_phdr_info *info, uintptr_t *lo, uintptr_t *hi)
{
	int seen = 0;
	*lo = *hi = 0;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_LOAD)
			continue;
		uintptr_t end = info->dlpi_addr + ph->p_vaddr + ph->p_memsz;
		if (!seen++) {
			uintptr_t align = ph->p_align ? ph->p_align : 1;
			*lo = info->dlpi_addr + (ph->p_vaddr & ~(align - 1));
		}
		if (end > *hi)
			*hi = end;
	}
	return seen ? 0 : -1;
}

/* The GNU build ID in a loaded object's notes (PT_NOTE segments are mapped); 0 when it
 * has none. */
static int build_id_of(const struct dl_phdr_info *info, unsigned char *bid)
{
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_NOTE)
			continue;
		const char *p = (const char *)(info->dlpi_addr + ph->p_vaddr);
		const char *end = p + ph->p_memsz;
		size_t align = ph->p_align > 4 ? ph->p_align : 4;
		while ((size_t)(end - p) >= sizeof(ElfW(Nhdr))) {
			const ElfW(Nhdr) *nh = (const ElfW(Nhdr) *)p;
			size_t name_at = sizeof(*nh);
			size_t desc_at = name_at + ((nh->n_namesz + align - 1) & ~(align - 1));
			size_t next = desc_at + ((nh->n_descsz + align - 1) & ~(align - 1));
			if (next > (size_t)(end - p) || next < desc_at)
				break;
			if (nh->n_type == NT_GNU_BUILD_ID && nh->n_namesz == 4 &&
			    memcmp(p + name_at, "GNU", 4) == 0 && nh->n_descsz > 0 &&
			    nh->n_descsz <= MAX_BUILD_ID) {
				memcpy(bid, p + desc_at, nh->n_descsz);
				return (int)nh->n_descsz;
			}
			p += next;
		}
	}
	return 0;
}

/* Runs under the loader lock: copies names, spans and build IDs only. Nameless objects
 * other than the main program (always first) and the vdso are skipped. */
static int modules_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct outside *o = arg;
	if (o->nmods == 0)
		gen_cb(info, size, &o->gen);
	uintptr_t lo, hi;
	const char *name = info->dlpi_name ? info->dlpi_name : "";
	if (load_span(info, &lo, &hi) != 0)
		return 0;
	if (!name[0] && o->nmods > 0 && lo != (uintptr_t)getauxval(AT_SYSINFO_EHDR))
		return 0;
	if (o->nmods == o->cap) {
		int ncap = o->cap ? o->cap * 2 : 64;
		struct loaded *nv = realloc(o->mods, (size_t)ncap * sizeof(*nv));
		if (!nv)
			return 1;
		o->mods = nv;
		o->cap = ncap;
	}
	char *copy = strdup(name);
	if (!copy)
		return 1;
	struct loaded *m = &o->mods[o->nmods++];
	*m = (struct loaded){ .name = copy, .lo = lo, .hi = hi, .bias = info->dlpi_addr };
	m->bidlen = build_id_of(info, m->bid);
	return 0;
}

/* Canonical names, like the kernel's in /proc/self/maps (and valgrind's): the main
 * program from /proc/self/exe, "/lib/..." through its symlinks to "/usr/lib/...",
 * the vdso as "[vdso: PID]" so that dwfl_linux_proc_find_elf reads it from memory. */
static void canonical_names(struct outside *o)
{
	uintptr_t vdso = (uintptr_t)getauxval(AT_SYSINFO_EHDR);
	for (int i = 0; i < o->nmods; i++) {
		struct loaded *m = &o->mods[i];
		char *canon = NULL;
		if (vdso && m->lo == vdso) {
			if (asprintf(&canon, "[vdso: %d]", (int)getpid()) < 0)
				canon = NULL;
		} else if (m->name[0]) {
			canon = realpath(m->name, NULL);
		} else if ((canon = calloc(1, PATH_MAX)) != NULL) {
			/* a deleted program reads "/path (deleted)", realpath fails */
			if (readlink("/proc/self/exe", canon, PATH_MAX - 1) <= 0)
				canon[0] = '\0';
		}
		if (canon) {
			free(m->name);
			m->name = canon;
		}
	}
}

/* Takes the loader lock: call without our mutex held. Where libdw cannot be loaded,
 * ip's exported symbol (dladdr) names its frame. */
static void gather_outside(struct outside *o, int with_mods, uintptr_t ip)
{
	memset(o, 0, sizeof(*o));
	if (with_mods) {
		o->with_mods = 1;
		loader_iterate(modules_cb, o);
		canonical_names(o);
	} else {
		loader_iterate(gen_cb, &o->gen);
	}
	o->demangle = (demangle_fn)dlsym(RTLD_DEFAULT, "__cxa_demangle");
	Dl_info di;
	if (ip && dwlib_failed() && dladdr((void *)(ip - 1), &di) && di.dli_sname &&
	    di.dli_saddr && (o->dsym = strdup(di.dli_sname)) != NULL) {
		o->dsym_ip = ip;
		o->dsym_addr = (uintptr_t)di.dli_saddr;
	}
}

static void outside_free(struct outside *o)
{
	for (int i = 0; i < o->nmods; i++)
		free(o->mods[i].name);
	free(o->mods);
	o->mods = NULL;
	o->nmods = o->cap = 0;
	free(o->dsym);
	o->dsym = NULL;
}

/* ---------------------------------------------------------------- the cache */

static size_t slot_of(uintptr_t ip, size_t cap)
{
	uint64_t h = (uint64_t)ip * 0x9E3779B97F4A7C15ull;
	return (size_t)(h ^ (h >> 29)) & (cap - 1);
}

static struct entry *cache_find(uintptr_t ip)
{
	struct table *t = S.tab;
	if (!t)
		return NULL;
	for (size_t i = slot_of(ip, t->cap); t->slots[i]; i = (i + 1) & (t->cap - 1))
		if (t->slots[i]->ip == ip)
			return t->slots[i];
	return NULL;
}

static void slot_put(struct entry **slots, size_t cap, struct entry *e)
{
	size_t i = slot_of(e->ip, cap);
	while (slots[i])
		i = (i + 1) & (cap - 1);
	__atomic_store_n(&slots[i], e, __ATOMIC_RELEASE);
}

/* Returns 0, or -1 when the table cannot grow (the entry is then not kept). Every step
 * leaves a consistent table published: a grown table is filled before it replaces the
 * old one, and an entry goes into an empty slot with one store. */
static int cache_insert(struct entry *e)
{
	struct table *t = S.tab;
	size_t cap = t ? t->cap : 0;
	if ((S.used + 1) * 2 > cap) {
		size_t ncap = cap ? cap * 2 : MIN_SLOTS;
		struct table *nt = calloc(1, sizeof(*nt) + ncap * sizeof(nt->slots[0]));
		if (!nt)
			return -1;
		nt->cap = ncap;
		for (size_t i = 0; i < cap; i++)
			if (t->slots[i])
				slot_put(nt->slots, ncap, t->slots[i]);
		__atomic_store_n(&S.tab, nt, __ATOMIC_RELEASE);
		free(t);
		t = nt;
	}
	slot_put(t->slots, t->cap, e);
	S.used++;
	return 0;
}

static void cache_free(void)
{
	struct table *t = S.tab;
	for (size_t i = 0; t && i < t->cap; i++)
		free(t->slots[i]);
	free(t);
	S.tab = NULL;
	S.used = 0;
}

/* ---------------------------------------------------------------- frame strings */

static void fl_add(struct frame_list *fl, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void fl_add(struct frame_list *fl, const char *fmt, ...)
{
	if (fl->n == fl->cap) {
		int ncap = fl->cap ? fl->cap * 2 : 4;
		char **nv = realloc(fl->v, (size_t)ncap * sizeof(*nv));
		if (!nv)
			return;
		fl->v = nv;
		fl->cap = ncap;
	}
	char *s;
	va_list ap;
	va_start(ap, fmt);
	int r = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (r >= 0)
		fl->v[fl->n++] = s;
}

static void fl_free(struct frame_list *fl)
{
	for (int i = 0; i < fl->n; i++)
		free(fl->v[i]);
	free(fl->v);
}

/* Packs the strings into one entry; NULL if empty or out of memory. */
static struct entry *fl_pack(uintptr_t ip, const struct frame_list *fl)
{
	if (fl->n == 0)
		return NULL;
	size_t size = sizeof(struct entry) + (size_t)fl->n * sizeof(char *);
	for (int i = 0; i < fl->n; i++)
		size += strlen(fl->v[i]) + 1;
	struct entry *e = malloc(size);
	if (!e)
		return NULL;
	e->ip = ip;
	e->n = fl->n;
	char *p = (char *)&e->frames[fl->n];
	for (int i = 0; i < fl->n; i++) {
		size_t len = strlen(fl->v[i]) + 1;
		memcpy(p, fl->v[i], len);
		e->frames[i] = p;
		p += len;
	}
	return e;
}

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');
	return s ? s + 1 : path;
}

/* One "0xADDR: fn (file.c:N)" frame; without a line "0xADDR: fn (in /module)", or
 * "0xADDR: fn+0xOFF (in /module)" when `off` (from the symbol) is non-zero. Rust and
 * C++ names are demangled (demangle.c), whether or not the process has libstdc++. */
static void add_frame(struct frame_list *fl, uintptr_t ip, const char *name,
		      demangle_fn demangle, const char *file, int line, const char *module,
		      uint64_t off)
{
	char *dm = demangle_symbol(name, demangle);
	if (dm)
		name = dm;
	if (file && line > 0)
		fl_add(fl, "0x%" PRIXPTR ": %s (%s:%d)", ip, name, base_name(file), line);
	else if (off)
		fl_add(fl, "0x%" PRIXPTR ": %s+0x%" PRIx64 " (in %s)", ip, name, off, module);
	else
		fl_add(fl, "0x%" PRIXPTR ": %s (in %s)", ip, name, module);
	free(dm);
}

/* A C++ or Rust linkage name (of the DIE, its abstract origin or specification) so
 * that names demangle with their parameters like valgrind's, and Rust's with their
 * full path ("app::dsp::Voice<T>::render", where DW_AT_name is "render<f32>"); else
 * DW_AT_name. Other linkage names are asm labels (glibc's "__GI___libc_malloc"). */
static const char *die_name(Dwarf_Die *die)
{
	Dwarf_Attribute a;
	const char *name = dwlib.dwarf_formstring(dwlib.dwarf_attr_integrate(die, DW_AT_linkage_name, &a));
	if (!name)
		name = dwlib.dwarf_formstring(dwlib.dwarf_attr_integrate(die, DW_AT_MIPS_linkage_name, &a));
	if (name && name[0] == '_' && (name[1] == 'Z' || name[1] == 'R'))
		return name;
	return dwlib.dwarf_formstring(dwlib.dwarf_attr_integrate(die, DW_AT_name, &a));
}

/* ---------------------------------------------------------------- symbol tables */

/* A module's function symbols sorted by address, hung on the module's userdata:
 * libdwfl's dwfl_module_addrinfo scans the whole table on every call (0.6 ms for
 * libc with its debug file). Names point into libdwfl's string tables. */
struct cu_index;

struct symtab {
	struct cu_index *cus;      /* the module's units indexed so far (cu_index_of) */
	size_t n;                  /* symbols kept */
	struct sym {
		GElf_Addr lo, hi;  /* absolute [st_value, st_value + st_size) */
		const char *name;
		int rank;          /* lower is preferred among aliases */
	} v[];
};

/* Among aliases, the name a user would write: fewer leading underscores
 * ("malloc" over "__libc_malloc"), then global over weak over local. */
static int sym_rank(const char *name, const GElf_Sym *sym)
{
	int u = 0;
	while (name[u] == '_')
		u++;
	int b = GELF_ST_BIND(sym->st_info);
	return u * 4 + (b == STB_GLOBAL ? 0 : b == STB_WEAK ? 1 : 2);
}

static int sym_cmp(const void *pa, const void *pb)
{
	const struct sym *a = pa, *b = pb;
	if (a->lo != b->lo)
		return a->lo < b->lo ? -1 : 1;
	return a->rank - b->rank;
}

static struct symtab *symtab_of(Dwfl_Module *mod)
{
	void **ud = NULL;
	dwlib.dwfl_module_info(mod, &ud, NULL, NULL, NULL, NULL, NULL, NULL);
	if (!ud || *ud)
		return ud ? *ud : NULL;
	int n = dwlib.dwfl_module_getsymtab(mod);
	struct symtab *t = malloc(sizeof(*t) + (size_t)(n > 0 ? n : 0) * sizeof(t->v[0]));
	if (!t)
		return NULL;
	t->n = 0;
	t->cus = NULL;
	for (int i = 1; i < n; i++) {
		GElf_Sym sym;
		GElf_Addr addr;
		const char *name = dwlib.dwfl_module_getsym_info(mod, i, &sym, &addr, NULL, NULL, NULL);
		int type = GELF_ST_TYPE(sym.st_info);
		if (name && name[0] && sym.st_shndx != SHN_UNDEF
		    && (type == STT_FUNC || type == STT_GNU_IFUNC || type == STT_NOTYPE))
			t->v[t->n++] = (struct sym){ addr, addr + sym.st_size, name,
						     sym_rank(name, &sym) };
	}
	qsort(t->v, t->n, sizeof(t->v[0]), sym_cmp);
	size_t k = 0;   /* keep the preferred alias at each address */
	for (size_t i = 0; i < t->n; i++)
		if (k == 0 || t->v[i].lo != t->v[k - 1].lo)
			t->v[k++] = t->v[i];
	t->n = k;
	*ud = t;
	return t;
}

/* The function symbol containing pc, or NULL; *off is pc's offset from it. A symbol
 * without a size extends to the next one. */
static const char *symbol_at(Dwfl_Module *mod, Dwarf_Addr pc, GElf_Off *off)
{
	struct symtab *t = symtab_of(mod);
	*off = 0;
	if (!t || t->n == 0 || pc < t->v[0].lo)
		return NULL;
	size_t lo = 0, hi = t->n;   /* last entry with v.lo <= pc */
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if (t->v[mid].lo <= pc)
			lo = mid;
		else
			hi = mid;
	}
	for (size_t i = lo + 1, tries = 0; i-- > 0 && tries < 8; tries++) {   /* nested */
		const struct sym *s = &t->v[i];
		int sized = s->hi > s->lo;
		if ((sized && pc < s->hi) || (!sized && i == lo)) {
			*off = pc - s->lo;
			return s->name;
		}
	}
	return NULL;
}

/* ---------------------------------------------------------------- ranges of constancy */

/* The addresses [lo, hi) around a pc over which every input of its frames (the line
 * table's row, the unit, each scope holding pc and the scopes beside them, a symbol's
 * name) is provably the same, so that the persistent cache can answer for all of them:
 * a CPU sample lands anywhere in a hot loop, each run elsewhere. Each input narrows it;
 * where one cannot be proved, it becomes [pc, pc + 1). */
struct span {
	Dwarf_Addr lo, hi;
};

static void span_pin(struct span *sp, Dwarf_Addr pc)
{
	sp->lo = pc;
	sp->hi = pc + 1;
}

static void span_clip(struct span *sp, Dwarf_Addr lo, Dwarf_Addr hi)
{
	if (lo > sp->lo)
		sp->lo = lo;
	if (hi < sp->hi)
		sp->hi = hi;
}

/* [lo, hi) does not hold pc: nothing of it may be in sp. */
static void span_cut(struct span *sp, Dwarf_Addr pc, Dwarf_Addr lo, Dwarf_Addr hi)
{
	if (hi <= pc && hi > sp->lo)
		sp->lo = hi;
	else if (lo > pc && lo < sp->hi)
		sp->hi = lo;
}

/* Narrows sp to where symbol_at gives what it gives for pc: the same symbol up to the
 * next symbol's start (the search lands on the same one) and a sized symbol's end,
 * above the ends of the sized ones it passed over (below those it would take them);
 * or none, over the same gap between symbols. */
static void symbol_span(struct span *sp, Dwfl_Module *mod, Dwarf_Addr pc)
{
	struct symtab *t = symtab_of(mod);
	if (!t) {
		span_pin(sp, pc);
		return;
	}
	if (t->n == 0 || pc < t->v[0].lo) {
		if (t->n)
			span_clip(sp, 0, t->v[0].lo);
		return;
	}
	size_t lo = 0, hi = t->n;   /* as symbol_at */
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if (t->v[mid].lo <= pc)
			lo = mid;
		else
			hi = mid;
	}
	span_clip(sp, t->v[lo].lo, lo + 1 < t->n ? t->v[lo + 1].lo : (Dwarf_Addr)-1);
	for (size_t i = lo + 1, tries = 0; i-- > 0 && tries < 8; tries++) {
		const struct sym *s = &t->v[i];
		int sized = s->hi > s->lo;
		if ((sized && pc < s->hi) || (!sized && i == lo)) {
			if (sized)
				span_clip(sp, 0, s->hi);
			return;
		}
		if (sized)
			span_clip(sp, s->hi, (Dwarf_Addr)-1);
	}
}

/* Row i of lines: its address, and whether it starts code of `file`:`line` (not an
 * end of sequence). Returns 0, or -1 when libdw cannot tell. */
static int row_of(Dwarf_Lines *lines, size_t i, const char *file, int line, Dwarf_Addr *addr,
		  int *same)
{
	Dwarf_Line *r = dwlib.dwarf_onesrcline(lines, i);
	bool end;
	int l;
	const char *f;
	if (!r || dwlib.dwarf_lineaddr(r, addr) != 0 || dwlib.dwarf_lineendsequence(r, &end) != 0)
		return -1;
	*same = !end && dwlib.dwarf_lineno(r, &l) == 0 && l == line &&
		(f = dwlib.dwarf_linesrc(r, NULL, NULL)) != NULL && strcmp(f, file) == 0;
	return 0;
}

/* Narrows sp (absolute) to where dwfl_module_getsrc gives the file and line it gave
 * for pc. Its search takes the last row at or below the address (libdw keeps the rows
 * sorted by address), so over [a row's address, the next row's) it lands on that row;
 * the frames use only the row's file and line (not its column or flags), so the rows
 * next to pc's with the same file and line (no end of sequence between) join it. The
 * same search over the unit's rows, checked to find the row libdwfl returned. */
static void line_span(struct span *sp, Dwfl_Module *mod, Dwfl_Line *dl, Dwarf_Addr pc)
{
	enum { MAX_ROWS = 256 };   /* rows joined on either side */
	Dwarf_Addr bias, at, a, b;
	Dwarf_Die *cu = dwlib.dwfl_linecu(dl);
	Dwarf_Lines *lines;
	size_t nlines;
	int line = 0, same;
	const char *file;
	if (!cu || !dwlib.dwfl_module_getdwarf(mod, &bias) ||
	    !(file = dwlib.dwfl_lineinfo(dl, &at, &line, NULL, NULL, NULL)) ||
	    dwlib.dwarf_getsrclines(cu, &lines, &nlines) != 0 || nlines < 2) {
		span_pin(sp, pc);
		return;
	}
	Dwarf_Addr x = pc - bias;
	size_t l = 0, u = nlines - 1;
	while (l < u) {
		size_t idx = u - (u - l) / 2;
		if (dwlib.dwarf_lineaddr(dwlib.dwarf_onesrcline(lines, idx), &a) != 0) {
			span_pin(sp, pc);
			return;
		}
		if (x < a)
			u = idx - 1;
		else
			l = idx;
	}
	if (l + 1 >= nlines || row_of(lines, l, file, line, &a, &same) != 0 || !same ||
	    a + bias != at || a > x) {
		span_pin(sp, pc);
		return;
	}
	size_t lo = l, hi = l + 1;   /* rows [lo, hi) of file:line; hi's address ends them */
	while (lo > 0 && l - lo < MAX_ROWS && row_of(lines, lo - 1, file, line, &b, &same) == 0 &&
	       same)
		a = b, lo--;
	while (row_of(lines, hi, file, line, &b, &same) == 0 && same && hi + 1 < nlines &&
	       hi - l < MAX_ROWS)
		hi++;
	if (row_of(lines, hi, file, line, &b, &same) == 0 && b > x)
		span_clip(sp, a + bias, b + bias);
	else
		span_pin(sp, pc);
}

/* Narrows sp to die's range that holds pc (none: pinned). */
static void die_span(struct span *sp, Dwarf_Die *die, Dwarf_Addr pc)
{
	Dwarf_Addr base, lo, hi;
	ptrdiff_t off = 0;
	while ((off = dwlib.dwarf_ranges(die, off, &base, &lo, &hi)) > 0)
		if (lo <= pc && pc < hi) {
			span_clip(sp, lo, hi);
			return;
		}
	span_pin(sp, pc);
}

/* A unit's scopes that scope_walk would look at first (subprograms, inlined
 * instances, lexical blocks and entry points at its top level or inside namespaces and
 * types), each address range of each, sorted by start. Finding the one containing pc
 * walked every DIE before it in the unit, the whole subtree of each preceding function
 * included: for a large unit (libpython's ceval.c) milliseconds per address, the most
 * of what a first run's symbolization cost. One walk per unit now, then a search. */
struct cu_index {
	struct cu_index *next;
	Dwarf *dw;                 /* the unit's Dwarf and its DIE's offset: the key */
	Dwarf_Off cu;
	size_t n, cap;
	struct scope_range {
		Dwarf_Addr lo, hi;     /* [lo, hi) */
		Dwarf_Addr maxhi;      /* the largest hi of entries 0..this one */
		Dwarf_Off die;         /* the scope's DIE; the lowest wins (scope_walk's order) */
	} *v;
};

static void cu_index_free(struct cu_index *ix)
{
	while (ix) {
		struct cu_index *next = ix->next;
		free(ix->v);
		free(ix);
		ix = next;
	}
}

static int cu_index_add(struct cu_index *ix, Dwarf_Addr lo, Dwarf_Addr hi, Dwarf_Off die)
{
	if (ix->n == ix->cap) {
		size_t cap = ix->cap ? 2 * ix->cap : 64;
		struct scope_range *v = realloc(ix->v, cap * sizeof(*v));
		if (!v)
			return -1;
		ix->v = v;
		ix->cap = cap;
	}
	ix->v[ix->n++] = (struct scope_range){ lo, hi, 0, die };
	return 0;
}

/* scope_walk's descent, collecting instead of matching. */
static int cu_index_collect(Dwarf_Die *parent, struct cu_index *ix)
{
	Dwarf_Die child;
	if (dwlib.dwarf_child(parent, &child) != 0)
		return 0;
	do {
		switch (dwlib.dwarf_tag(&child)) {
		case DW_TAG_subprogram:
		case DW_TAG_inlined_subroutine:
		case DW_TAG_lexical_block:
		case DW_TAG_entry_point: {
			Dwarf_Addr base, lo, hi;
			ptrdiff_t off = 0;
			while ((off = dwlib.dwarf_ranges(&child, off, &base, &lo, &hi)) > 0)
				if (lo < hi && cu_index_add(ix, lo, hi, dwlib.dwarf_dieoffset(&child)) != 0)
					return -1;
			break;
		}
		case DW_TAG_namespace:
		case DW_TAG_module:
		case DW_TAG_structure_type:
		case DW_TAG_class_type:
		case DW_TAG_union_type:
		case DW_TAG_enumeration_type:
			if (cu_index_collect(&child, ix) != 0)
				return -1;
			break;
		default:
			break;
		}
	} while (dwlib.dwarf_siblingof(&child, &child) == 0);
	return 0;
}

static int range_cmp(const void *pa, const void *pb)
{
	const struct scope_range *a = pa, *b = pb;
	if (a->lo != b->lo)
		return a->lo < b->lo ? -1 : 1;
	return a->die < b->die ? -1 : a->die > b->die;
}

/* The index of unit `cu` of module `mod`, built at its first use; NULL without memory
 * (the caller walks the unit then). Kept with the module's symbol table: freed when
 * libdwfl drops the module, and so never outlives the Dwarf it points into. */
static struct cu_index *cu_index_of(Dwfl_Module *mod, Dwarf_Die *cu)
{
	struct symtab *t = symtab_of(mod);
	Dwarf *dw = dwlib.dwarf_cu_getdwarf(cu->cu);
	Dwarf_Off off = dwlib.dwarf_dieoffset(cu);
	if (!t || !dw)
		return NULL;
	for (struct cu_index *ix = t->cus; ix; ix = ix->next)
		if (ix->dw == dw && ix->cu == off)
			return ix;
	struct cu_index *ix = calloc(1, sizeof(*ix));
	if (!ix)
		return NULL;
	ix->dw = dw;
	ix->cu = off;
	if (cu_index_collect(cu, ix) != 0) {
		cu_index_free(ix);
		return NULL;
	}
	if (ix->n)
		qsort(ix->v, ix->n, sizeof(ix->v[0]), range_cmp);
	for (size_t i = 0; i < ix->n; i++)
		ix->v[i].maxhi = i && ix->v[i - 1].maxhi > ix->v[i].hi ? ix->v[i - 1].maxhi
								      : ix->v[i].hi;
	ix->next = t->cus;
	t->cus = ix;
	return ix;
}

/* The first scope of the index containing pc (as scope_walk's first match): 1 and the
 * DIE in *die, or 0. */
static int cu_index_find(const struct cu_index *ix, Dwarf_Addr pc, Dwarf_Die *die)
{
	size_t lo = 0, hi = ix->n;   /* entries [0, lo) start at or before pc */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (ix->v[mid].lo <= pc)
			lo = mid + 1;
		else
			hi = mid;
	}
	Dwarf_Off best = 0;
	int found = 0;
	for (size_t i = lo; i-- > 0 && ix->v[i].maxhi > pc;)
		if (ix->v[i].hi > pc && (!found || ix->v[i].die < best)) {
			best = ix->v[i].die;
			found = 1;
		}
	return found && dwlib.dwarf_offdie(ix->dw, best, die) != NULL;
}

/* Narrows sp (the unit's addresses) to where cu_index_find gives the scope `keep` it
 * gave for pc: inside keep's range holding pc, and clear of every entry that does not
 * hold pc (one that does has a higher offset than keep, and keeps losing to it). */
static void index_span(struct span *sp, const struct cu_index *ix, Dwarf_Addr pc,
		       Dwarf_Off keep)
{
	size_t k = 0, hi = ix->n;   /* entries [0, k) start at or before pc */
	while (k < hi) {
		size_t mid = k + (hi - k) / 2;
		if (ix->v[mid].lo <= pc)
			k = mid + 1;
		else
			hi = mid;
	}
	if (k < ix->n)
		span_clip(sp, 0, ix->v[k].lo);
	int kept = 0;
	for (size_t i = k; i-- > 0 && (ix->v[i].maxhi > sp->lo || !kept);) {
		if (ix->v[i].hi <= pc)
			span_cut(sp, pc, ix->v[i].lo, ix->v[i].hi);
		else if (ix->v[i].die == keep)
			span_clip(sp, ix->v[i].lo, ix->v[i].hi), kept = 1;
	}
	if (!kept)
		span_pin(sp, pc);
}

/* Narrows sp (the unit's addresses) to where scope_walk, under parent, takes the scope
 * `keep` (its DIE offset; 0: none, the innermost scope) as it did for pc: inside keep's
 * range holding pc, clear of every other scope it looks at there (a range of one that
 * does not hold pc). One that holds pc comes after keep, and keeps losing to it. */
static void children_span(struct span *sp, Dwarf_Die *parent, Dwarf_Addr pc, Dwarf_Off keep)
{
	Dwarf_Die child;
	if (dwlib.dwarf_child(parent, &child) != 0)
		return;
	do {
		switch (dwlib.dwarf_tag(&child)) {
		case DW_TAG_subprogram:
		case DW_TAG_inlined_subroutine:
		case DW_TAG_lexical_block:
		case DW_TAG_entry_point: {
			if (keep && dwlib.dwarf_dieoffset(&child) == keep) {
				die_span(sp, &child, pc);
				break;
			}
			Dwarf_Addr base, lo, hi;
			ptrdiff_t off = 0;
			while ((off = dwlib.dwarf_ranges(&child, off, &base, &lo, &hi)) > 0)
				if (lo < hi)
					span_cut(sp, pc, lo, hi);
			break;
		}
		case DW_TAG_namespace:
		case DW_TAG_module:
		case DW_TAG_structure_type:
		case DW_TAG_class_type:
		case DW_TAG_union_type:
		case DW_TAG_enumeration_type:
			children_span(sp, &child, pc, keep);
			break;
		default:
			break;
		}
	} while (dwlib.dwarf_siblingof(&child, &child) == 0);
}

/* Frees the tables of modules dwfl_report_end drops (libdwfl passes the address of
 * the module's userdata, typed void *), and of every module before dwfl_end. */
static int symtab_removed(Dwfl_Module *mod, void *ud, const char *name, Dwarf_Addr base,
			  void *arg)
{
	void **slot = ud;
	(void)mod, (void)name, (void)base, (void)arg;
	struct symtab *t = *slot;
	if (t)
		cu_index_free(t->cus);
	free(t);
	*slot = NULL;
	return DWARF_CB_OK;
}

static int symtab_free_each(Dwfl_Module *mod, void **ud, const char *name, Dwarf_Addr base,
			    void *arg)
{
	return symtab_removed(mod, ud, name, base, arg);
}

/* ---------------------------------------------------------------- DWARF frames */

/* Appends to path[depth..] the DIEs under `parent` whose code contains pc: the
 * subprogram, then each inlined instance and lexical block inside it. Descends into
 * DIEs that hold code without having an address range themselves (namespaces, Rust's
 * impl blocks, C++ classes), never into a function or block that does not contain
 * pc. Returns the new depth. */
static int scope_walk(Dwarf_Die *parent, Dwarf_Addr pc, Dwarf_Die *path, int depth,
		      int max)
{
	Dwarf_Die child;
	if (dwlib.dwarf_child(parent, &child) != 0)
		return depth;
	do {
		switch (dwlib.dwarf_tag(&child)) {
		case DW_TAG_subprogram:
		case DW_TAG_inlined_subroutine:
		case DW_TAG_lexical_block:
		case DW_TAG_entry_point:
			if (dwlib.dwarf_haspc(&child, pc) == 1) {
				if (depth == max)
					return depth;
				path[depth] = child;
				return scope_walk(&path[depth], pc, path, depth + 1, max);
			}
			break;
		case DW_TAG_namespace:
		case DW_TAG_module:
		case DW_TAG_structure_type:
		case DW_TAG_class_type:
		case DW_TAG_union_type:
		case DW_TAG_enumeration_type: {
			int d = scope_walk(&child, pc, path, depth, max);
			if (d > depth)
				return d;
			break;
		}
		default:
			break;
		}
	} while (dwlib.dwarf_siblingof(&child, &child) == 0);
	return depth;
}

/* The scopes containing pc in `cu`, innermost first, in a malloc'd array (*chain);
 * returns their number, 0 when none. Our own walk rather than dwarf_getscopes, whose
 * pc_match prunes every DIE that does not itself contain pc, DW_TAG_namespace
 * included: rustc nests each function definition in the namespace DIEs of its path
 * (C and C++ compilers put definitions at the unit's top level, with
 * DW_AT_specification into the namespace), so on Rust code dwarf_getscopes, and
 * eu-addr2line -i with it, finds no scope, and every inlined frame was lost; binutils'
 * addr2line -i collects functions from the whole tree. The names come from each
 * instance's abstract origin (dwarf_attr_integrate), which follows DW_FORM_ref_addr
 * into other units and dwz partial units. */
static int scope_chain(Dwfl_Module *mod, Dwarf_Die *cu, Dwarf_Addr pc, Dwarf_Die **chain,
		       struct span *sp)
{
	enum { MAX_SCOPES = 256 };
	*chain = NULL;
	Dwarf_Die *path = malloc(MAX_SCOPES * sizeof(*path));
	if (!path)
		return 0;
	struct cu_index *ix = cu_index_of(mod, cu);
	int n = 0;
	if (!ix)
		n = scope_walk(cu, pc, path, 0, MAX_SCOPES);
	else if (cu_index_find(ix, pc, &path[0]))
		n = scope_walk(&path[0], pc, path, 1, MAX_SCOPES);
	/* The same chain over sp: the same first scope in the index, then at each level
	 * the same first scope holding the address, and none inside the innermost. */
	if (!ix || n == 0 || n == MAX_SCOPES) {
		span_pin(sp, pc);
	} else {
		index_span(sp, ix, pc, dwlib.dwarf_dieoffset(&path[0]));
		for (int i = 0; i < n; i++)
			children_span(sp, &path[i], pc,
				      i + 1 < n ? dwlib.dwarf_dieoffset(&path[i + 1]) : 0);
	}
	for (int i = 0; i < n / 2; i++) {   /* innermost first */
		Dwarf_Die t = path[i];
		path[i] = path[n - 1 - i];
		path[n - 1 - i] = t;
	}
	if (n == 0)
		free(path);
	else
		*chain = path;
	return n;
}

/* Frames from DWARF scopes: the innermost inlined instance first, each named by its
 * function, with the line of `pc` for the first and the call site (DW_AT_call_file,
 * DW_AT_call_line of the inlined instance below it) for the others, ending at the
 * concrete subprogram, from scope_chain (libdw's dwarf_getscopes as a fallback).
 * Returns the number of frames added; 0 leaves the symbol-table fallback to the caller. */
static int dwarf_frames(struct frame_list *fl, Dwfl_Module *mod, uintptr_t ip,
			Dwarf_Addr pc, const char *file, int line, const char *module,
			demangle_fn demangle, struct span *sp)
{
	GElf_Off off;
	Dwarf_Addr bias = 0;
	Dwarf_Die *cu = dwlib.dwfl_module_addrdie(mod, pc, &bias);
	if (!cu)
		return 0;
	/* sp in the unit's addresses until the frames are built */
	struct span usp = { sp->lo - bias, sp->hi - bias };
	die_span(&usp, cu, pc - bias);
	Dwarf_Die *scopes = NULL, *chain = NULL;
	int nchain = scope_chain(mod, cu, pc - bias, &chain, &usp);
	if (nchain <= 0) {
		span_pin(&usp, pc - bias);
		if (dwlib.dwarf_getscopes(cu, pc - bias, &scopes) > 0)
			nchain = dwlib.dwarf_getscopes_die(&scopes[0], &chain);
		free(scopes);
	}
	sp->lo = usp.lo + bias;
	sp->hi = usp.hi + bias;
	Dwarf_Files *files = NULL;
	if (dwlib.dwarf_getsrcfiles(cu, &files, NULL) != 0)
		files = NULL;

	int added = 0, tag = 0;
	for (int i = 0; i < nchain && tag != DW_TAG_subprogram; i++) {
		tag = dwlib.dwarf_tag(&chain[i]);
		if (tag == DW_TAG_entry_point)
			tag = DW_TAG_subprogram;
		if (tag != DW_TAG_inlined_subroutine && tag != DW_TAG_subprogram)
			continue;   /* lexical blocks and the like */
		const char *name = die_name(&chain[i]);
		if (!name && tag == DW_TAG_subprogram) {
			name = symbol_at(mod, pc, &off);
			symbol_span(sp, mod, pc);
		}
		if (!name)
			name = "???";
		add_frame(fl, ip, name, demangle, file, line, module, 0);
		added++;
		if (tag == DW_TAG_subprogram)
			break;
		/* The next frame out is where this instance was inlined. */
		Dwarf_Attribute a;
		Dwarf_Word v;
		file = NULL;
		line = 0;
		if (files && dwlib.dwarf_formudata(dwlib.dwarf_attr(&chain[i], DW_AT_call_file, &a), &v) == 0)
			file = dwlib.dwarf_filesrc(files, v, NULL, NULL);
		if (dwlib.dwarf_formudata(dwlib.dwarf_attr(&chain[i], DW_AT_call_line, &a), &v) == 0)
			line = (int)v;
	}
	free(chain);
	if (added && tag != DW_TAG_subprogram) {   /* inlined frames without their function */
		const char *name = symbol_at(mod, pc, &off);
		symbol_span(sp, mod, pc);
		add_frame(fl, ip, name ? name : "???", demangle, file, line, module, 0);
	}
	return added;
}

/* libelf reads through an Elf's fd only where the file is not mapped. Tell it it is
 * done with the fds of the module's debug file and dwz file (mapped: nothing to read,
 * else read now), so that nothing ever reads through a number the program may have
 * taken over; libdwfl keeps those fds until it drops the module, and fds.c guards
 * that close. Cheap when already done (elf_cntl then fails at once). */
static void seal_debug_files(Dwfl_Module *mod)
{
	Dwarf_Addr bias;
	Dwarf *dw = dwlib.dwfl_module_getdwarf(mod, &bias);
	if (!dw)
		return;
	Elf *e = dwlib.dwarf_getelf(dw);
	if (e)
		dwlib.elf_cntl(e, ELF_C_FDREAD);
	Dwarf *alt = dwlib.dwarf_getalt(dw);
	if (alt && (e = dwlib.dwarf_getelf(alt)) != NULL)
		dwlib.elf_cntl(e, ELF_C_FDREAD);
}

/* The name frames give a module: its reported name, the vdso as "[vdso]". */
static const char *module_name(const struct loaded *m)
{
	return strncmp(m->name, "[vdso", 5) == 0 ? "[vdso]" : m->name;
}

/* Whether a separate debug file for the module's build ID is installed where
 * libdwfl's build-ID lookup (dwfl_build_id_find_debuginfo) finds it. Looked at once
 * per module list. */
static int debug_file_installed(struct loaded *m)
{
	if (m->debug_file == 0) {
		char path[64 + 2 * MAX_BUILD_ID] = "/usr/lib/debug/.build-id/";
		size_t n = strlen(path);
		for (int i = 0; i < m->bidlen; i++) {
			n += (size_t)snprintf(path + n, sizeof(path) - n, "%02x", m->bid[i]);
			if (i == 0)
				path[n++] = '/';
		}
		snprintf(path + n, sizeof(path) - n, ".debug");
		struct stat st;
		m->debug_file = stat(path, &st) == 0 ? 2 : 1;
	}
	return m->debug_file == 2;
}

/* Under the mutex: the frames of ip from the persistent cache, by the module's build
 * ID and bias (no libdw): what DWARF gave, else what the symbol table gave while the
 * module has no debug information anywhere. A frame naming its module gets the
 * module's name in this process. Returns whether they were there. */
static int cached_frames(struct frame_list *fl, uintptr_t ip, struct loaded *m)
{
	if (!m || m->bidlen <= 0 || !symcache_enabled())
		return 0;
	uint64_t addr = ip - m->bias, base = SYMCACHE_NO_BASE;
	int n = 0;
	/* What this process holds first, each kind: a module without debug information
	 * has only symbol-table frames, and looking whether its DWARF file appeared on
	 * disk before each of them cost a stat(2) per frame (cc1: 7,300). */
	const char *const *sfx = symcache_peek(m->bid, (size_t)m->bidlen, SYMCACHE_DWARF,
					       addr, &n, &base);
	if (!sfx && !debug_file_installed(m))
		sfx = symcache_peek(m->bid, (size_t)m->bidlen, SYMCACHE_SYMTAB, addr, &n, &base);
	if (!sfx)
		sfx = symcache_lookup(m->bid, (size_t)m->bidlen, SYMCACHE_DWARF, addr, &n,
				      &base);
	if (!sfx && !debug_file_installed(m))
		sfx = symcache_lookup(m->bid, (size_t)m->bidlen, SYMCACHE_SYMTAB, addr, &n, &base);
	if (!sfx)
		return 0;
	for (int i = 0; i < n; i++) {
		const char *in = strstr(sfx[i], " (in ");
		size_t len = strlen(sfx[i]);
		if (in && base != SYMCACHE_NO_BASE)   /* a symbol's name: its offset here */
			fl_add(fl, "0x%" PRIXPTR ": %.*s+0x%" PRIx64 " (in %s)", ip,
			       (int)(in - sfx[i]), sfx[i], addr - base, module_name(m));
		else if (in && len && sfx[i][len - 1] == ')')
			fl_add(fl, "0x%" PRIXPTR ": %.*s (in %s)", ip, (int)(in - sfx[i]), sfx[i],
			       module_name(m));
		else
			fl_add(fl, "0x%" PRIXPTR ": %s", ip, sfx[i]);
	}
	S.stats.cached++;
	return 1;
}

/* Under the mutex, libdw loaded: the frames of pc from DWARF (its line and scopes), and
 * in *sp the addresses they hold for; 0 when DWARF does not name it. */
static int dwarf_cell(struct frame_list *fl, Dwfl_Module *mod, Dwarf_Addr pc,
		      const char *module, demangle_fn demangle, struct span *sp)
{
	const char *file = NULL;
	int line = 0;
	Dwfl_Line *dl = dwlib.dwfl_module_getsrc(mod, pc);
	Dwarf_Addr la;
	if (dl)
		file = dwlib.dwfl_lineinfo(dl, &la, &line, NULL, NULL, NULL);
	sp->lo = 0;
	sp->hi = (Dwarf_Addr)-1;
	if (!file || line <= 0)
		return 0;
	line_span(sp, mod, dl, pc);
	return dwarf_frames(fl, mod, (uintptr_t)pc + 1, pc, file, line, module, demangle, sp) > 0;
}

/* Under the mutex, libdw loaded, after pc missed the persistent cache of a module whose
 * file had entries (not a first run: a CPU sample landed in code no run had sampled
 * there, say): the ranges next to pc's (`done`) are cached too, up to FILL_BYTES on
 * either side and FILL_CELLS of them, so that the next run's samples in the same loop
 * find them. A `leaf` pc (the interrupted instruction of a CPU sample: any pc of a hot
 * function) widens that to the whole function holding it, its ELF symbol's extent (or
 * the gap between symbols), up to LEAF_BYTES on either side and LEAF_CELLS of them:
 * the next run's samples anywhere in that function find them. At most FILL_TOTAL per
 * process: a run with many new misses pays for its own frames only. */
static void fill_around(Dwfl_Module *mod, struct loaded *m, Dwarf_Addr pc, struct span done,
			const char *module, demangle_fn demangle, int leaf)
{
	enum { FILL_BYTES = 512, FILL_CELLS = 64, FILL_TOTAL = 4096 };
	enum { LEAF_BYTES = 8192, LEAF_CELLS = 512 };
	static unsigned filled;   /* under the mutex */
	Dwarf_Addr wlo = pc > m->lo + FILL_BYTES ? pc - FILL_BYTES : m->lo;
	Dwarf_Addr whi = pc + FILL_BYTES < m->hi ? pc + FILL_BYTES : m->hi;
	int cells = 0, most = FILL_CELLS;
	if (leaf) {
		struct span fn = { 0, (Dwarf_Addr)-1 };
		symbol_span(&fn, mod, pc);
		span_clip(&fn, pc > m->lo + LEAF_BYTES ? pc - LEAF_BYTES : m->lo,
			  pc + LEAF_BYTES < m->hi ? pc + LEAF_BYTES : m->hi);
		if (fn.lo < wlo)
			wlo = fn.lo;
		if (fn.hi > whi)
			whi = fn.hi;
		most = LEAF_CELLS;
	}
	for (int dir = 0; dir < 2; dir++) {
		Dwarf_Addr x = dir == 0 ? done.hi : done.lo - 1;
		while (x >= wlo && x < whi && cells < most && filled < FILL_TOTAL) {
			struct frame_list fl = { 0 };
			struct span sp;
			int ok = dwarf_cell(&fl, mod, x, module, demangle, &sp);
			if (ok) {
				span_clip(&sp, m->lo, m->hi);
				symcache_add(m->bid, (size_t)m->bidlen, SYMCACHE_DWARF, x + 1 - m->bias,
					     sp.lo + 1 - m->bias, sp.hi + 1 - m->bias, fl.v, fl.n);
			}
			fl_free(&fl);
			cells++;
			filled++;
			if (!ok)
				break;   /* code DWARF does not describe: the function ends */
			x = dir == 0 ? sp.hi : sp.lo - 1;
		}
	}
}

/* All frames for one ip in the current module list (m: its module, NULL if none;
 * mod: the same in the Dwfl, NULL without libdw), at least one on success. */
static void resolve_frames(struct frame_list *fl, uintptr_t ip, Dwfl_Module *mod,
			   struct loaded *m, const struct outside *o, int leaf)
{
	Dwarf_Addr pc = ip - 1;   /* inside the call instruction, not after it */
	demangle_fn demangle = o->demangle;
	if (!m) {
		fl_add(fl, "0x%" PRIXPTR ": ???", ip);
		S.stats.symtab++;
		return;
	}
	const char *module = module_name(m);
	if (!mod) {   /* libdw could not be loaded (or not here) */
		if (o->dsym && o->dsym_ip == ip)
			add_frame(fl, ip, o->dsym, demangle, NULL, 0, module,
				  (uint64_t)(ip - o->dsym_addr));
		else
			fl_add(fl, "0x%" PRIXPTR ": ??? (in %s)", ip, module);
		S.stats.symtab++;
		return;
	}

	/* Frames go to the persistent cache under the module's build ID and ELF address
	 * (names are demangled the same way in every process: one ".sym" file kind). */
	const unsigned char *bid = m->bid;
	size_t bidlen = symcache_enabled() ? (size_t)m->bidlen : 0;
	uint64_t addr = ip - m->bias;

	const char *file = NULL;
	int line = 0;
	Dwfl_Line *dl = dwlib.dwfl_module_getsrc(mod, pc);
	seal_debug_files(mod);
	if (dl) {
		Dwarf_Addr la;
		file = dwlib.dwfl_lineinfo(dl, &la, &line, NULL, NULL, NULL);
	}
	if (file && line > 0) {
		/* The frames hold over sp (struct span); cached for the return addresses
		 * whose pc (ip - 1) is in it. */
		struct span sp = { 0, (Dwarf_Addr)-1 };
		line_span(&sp, mod, dl, pc);
		if (dwarf_frames(fl, mod, ip, pc, file, line, module, demangle, &sp) > 0) {
			span_clip(&sp, m->lo, m->hi);
			S.stats.dwarf++;
			if (bidlen > 0) {
				symcache_add(bid, bidlen, SYMCACHE_DWARF, addr, sp.lo + 1 - m->bias,
					     sp.hi + 1 - m->bias, fl->v, fl->n);
				if (symcache_was_read(bid, bidlen, SYMCACHE_DWARF))
					fill_around(mod, m, pc, sp, module, demangle, leaf);
			}
			return;
		}
	}
	GElf_Off off;
	const char *symname = symbol_at(mod, pc, &off);
	if (file && line > 0) {
		/* Line info without a subprogram DIE (assembly): the ELF symbol's name. */
		add_frame(fl, ip, symname ? symname : "???", demangle, file, line, module, 0);
		S.stats.dwarf++;
		if (bidlen > 0)
			symcache_add(bid, bidlen, SYMCACHE_DWARF, addr, addr, addr + 1, fl->v, fl->n);
		return;
	}
	S.stats.symtab++;
	/* "???" holds over the gap between symbols in a module without DWARF (no line
	 * anywhere), as a CPU sample in a stripped library's static code needs; a name
	 * comes with the address's offset, and only for that address. */
	Dwarf_Addr dbias;
	int has_dwarf = dwlib.dwfl_module_getdwarf(mod, &dbias) != NULL;
	struct span sp = { 0, (Dwarf_Addr)-1 };
	if (symname) {   /* no debug info: the printed address's offset too */
		add_frame(fl, ip, symname, demangle, NULL, 0, module, (uint64_t)off + 1);
		/* Without DWARF, the name holds over the symbol (symbol_span): cached as
		 * the name and the symbol's address, the offset made at each lookup. */
		struct frame_list plain = { 0 };
		if (!has_dwarf && bidlen > 0)
			add_frame(&plain, ip, symname, demangle, NULL, 0, module, 0);
		if (plain.n == 1) {
			symbol_span(&sp, mod, pc);
			span_clip(&sp, m->lo, m->hi);
			symcache_add_offset(bid, bidlen, SYMCACHE_SYMTAB, addr, sp.lo + 1 - m->bias,
					    sp.hi + 1 - m->bias, pc - off - m->bias, plain.v[0]);
		}
		fl_free(&plain);
		if (plain.n == 1)
			return;
		span_pin(&sp, pc);
	} else {
		fl_add(fl, "0x%" PRIXPTR ": ??? (in %s)", ip, module);
		if (has_dwarf)
			span_pin(&sp, pc);
		else
			symbol_span(&sp, mod, pc);
		span_clip(&sp, m->lo, m->hi);
	}
	/* Cached too, so that a process whose frames are all cached never loads libdw:
	 * for good when the module has DWARF without a line here (crt1's _start), else
	 * until a debug file for it is installed. */
	if (bidlen > 0)
		symcache_add(bid, bidlen, has_dwarf ? SYMCACHE_DWARF : SYMCACHE_SYMTAB, addr,
			     sp.lo + 1 - m->bias, sp.hi + 1 - m->bias, fl->v, fl->n);
}

/* ---------------------------------------------------------------- the module list */

/* The vdso's image, copied once from our own memory (process_vm_readv: no fd, and a
 * fault-free failure if the image is shorter than its header says). Kept for the
 * life of the process: the Elf libdwfl holds points into it. */
static Elf *vdso_elf(void)
{
	static char *image;
	static size_t size;
	uintptr_t base = (uintptr_t)getauxval(AT_SYSINFO_EHDR);
	if (!base)
		return NULL;
	if (!image) {
		const ElfW(Ehdr) *eh = (const ElfW(Ehdr) *)base;
		size_t n = (size_t)eh->e_shoff + (size_t)eh->e_shnum * eh->e_shentsize;
		const ElfW(Phdr) *ph = (const ElfW(Phdr) *)(base + eh->e_phoff);
		for (int i = 0; i < eh->e_phnum; i++)
			if (ph[i].p_type == PT_LOAD && ph[i].p_offset + ph[i].p_filesz > n)
				n = ph[i].p_offset + ph[i].p_filesz;
		char *buf = n && n <= (1u << 20) ? malloc(n) : NULL;
		if (!buf)
			return NULL;
		struct iovec local = { buf, n }, remote = { (void *)base, n };
		if (process_vm_readv(getpid(), &local, 1, &remote, 1, 0) != (ssize_t)n) {
			free(buf);
			return NULL;
		}
		image = buf;
		size = n;
	}
	return dwlib.elf_memory(image, size);
}

/* Dwfl_Callbacks.find_elf: like dwfl_linux_proc_find_elf (regular files only, the
 * vdso from memory), but libdwfl keeps no fd: the file is mapped by elf_begin,
 * elf_cntl(ELF_C_FDREAD) tells libelf it is done with the fd (the whole file is
 * mapped, or read now if mapping failed) and the fd is closed here. Returning -1 with
 * *elfp set is how libdwfl takes an Elf without an fd (its own vdso case). */
static int find_elf(Dwfl_Module *mod, void **userdata, const char *name, Dwarf_Addr base,
		    char **file_name, Elf **elfp)
{
	(void)mod, (void)userdata, (void)base;
	if (strncmp(name, "[vdso: ", 7) == 0) {
		*elfp = vdso_elf();
		*file_name = NULL;
		return -1;
	}
	struct stat st;
	if (name[0] != '/' || stat(name, &st) != 0 || !S_ISREG(st.st_mode))
		return -1;   /* special files might hang on open or read */
	int fd = fds_open(name, O_RDONLY, 0);
	if (fd < 0)
		return -1;
	Elf *elf = dwlib.elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (elf && dwlib.elf_cntl(elf, ELF_C_FDREAD) != 0) {
		dwlib.elf_end(elf);
		elf = NULL;
	}
	close(fd);
	char *copy = elf ? strdup(name) : NULL;
	if (!copy) {
		if (elf)
			dwlib.elf_end(elf);
		return -1;
	}
	*file_name = copy;
	*elfp = elf;
	return -1;
}

static Dwfl_Callbacks dwfl_callbacks = {
	/* No fd kept per module (find_elf above). */
	.find_elf = find_elf,
	/* Build-id lookup only (/usr/lib/debug/.build-id, where Debian's -dbg and
	 * dbgsym packages put their files, dwz alt files included). The standard
	 * callback ends in a debuginfod query, which with DEBUGINFOD_URLS set would
	 * download debug info from inside the profiled process. */
	.find_debuginfo = NULL,   /* dwfl_build_id_find_debuginfo, once libdw is loaded */
	/* libdwfl keeps the debug file's fd (and a dwz file's) for as long as it keeps
	 * the module: its open() comes through the interposed one, which puts the fd
	 * above the fd floor, close-on-exec (fds.c). */
};

/* Under the mutex: whether the module list may differ from the loader's. */
static int modules_outdated(const struct loader_gen *gen)
{
	if (__atomic_exchange_n(&S.refresh, 0, __ATOMIC_RELAXED))
		S.stale = 1;
	return !S.listed || S.stale || gen->adds != S.gen.adds || gen->subs != S.gen.subs;
}

static int overlaps(const struct loaded *a, const struct loaded *b)
{
	return a->lo < b->hi && b->lo < a->hi;
}

/* Under the mutex: add to the current list the gathered modules that overlap none of
 * it (a module in the range of one that went away is left out). Returns -1 when out
 * of memory (the list stays as it was). */
static int merge_modules(struct outside *o)
{
	struct loaded *v = realloc(S.mods, (size_t)(S.nmods + o->nmods + 1) * sizeof(*v));
	if (!v)
		return -1;
	S.mods = v;
	for (int i = 0; i < o->nmods; i++) {
		int j = 0;
		while (j < S.nmods && !overlaps(&S.mods[j], &o->mods[i]))
			j++;
		if (j == S.nmods) {
			S.mods[S.nmods++] = o->mods[i];
			o->mods[i].name = NULL;
		}
	}
	return 0;
}

/* Under the mutex: the gathered module list becomes the current one (o keeps none);
 * while a dlclose is under way, it is added to the current one (merge_modules). */
static void take_modules(struct outside *o)
{
	if (S.closing > 0 && S.listed && merge_modules(o) == 0) {
		for (int i = 0; i < o->nmods; i++)
			free(o->mods[i].name);
		free(o->mods);
	} else {
		for (int i = 0; i < S.nmods; i++)
			free(S.mods[i].name);
		free(S.mods);
		S.mods = o->mods;
		S.nmods = o->nmods;
	}
	o->mods = NULL;
	o->nmods = o->cap = 0;
	S.listed = 1;
	S.stale = 0;
	S.dwfl_stale = 1;
	S.gen = o->gen;
}

/* Under the mutex: the module holding pc, or NULL. */
static struct loaded *module_at(uintptr_t pc)
{
	for (int i = 0; i < S.nmods; i++)
		if (pc >= S.mods[i].lo && pc < S.mods[i].hi)
			return &S.mods[i];
	return NULL;
}

/* Under the mutex, libdw loaded: report the module list. Not dwfl_linux_proc_report: in
 * /proc/self/maps libelf's own mmap of a module's file often sits right below the
 * module, same inode, and libdwfl merges the two into one module with the wrong
 * start, which breaks every symbol lookup in it. Modules reported again with the
 * same name and range keep their loaded ELF and DWARF; dwfl_report_end drops the
 * ones not reported. Returns 0, or -1 without a Dwfl. */
static int report_modules(void)
{
	if (!S.dwfl) {
		dwfl_callbacks.find_debuginfo = dwlib.dwfl_build_id_find_debuginfo;
		S.dwfl = dwlib.dwfl_begin(&dwfl_callbacks);
	}
	if (!S.dwfl)
		return -1;
	dwlib.dwfl_report_begin(S.dwfl);
	for (int i = 0; i < S.nmods; i++)
		dwlib.dwfl_report_module(S.dwfl, S.mods[i].name, S.mods[i].lo, S.mods[i].hi);
	dwlib.dwfl_report_end(S.dwfl, symtab_removed, NULL);
	S.dwfl_stale = 0;
	return 0;
}

/* Under the mutex: the Dwfl's module holding pc; NULL without libdw. */
static Dwfl_Module *dwfl_module_at(uintptr_t pc)
{
	if (!dwlib_loaded())
		return NULL;
	if ((!S.dwfl || S.dwfl_stale) && report_modules() != 0)
		return NULL;
	return dwlib.dwfl_addrmodule(S.dwfl, pc);
}

/* Under the mutex: resolve `ip` with the current module list and cache it. *owned is
 * set when the entry could not be cached and the caller must free it. Returns NULL
 * with *need_dw set when the frames are not in the persistent cache and libdw could
 * still be loaded (only when `may_defer`: the caller loads it and comes back). `leaf`:
 * ip is a CPU sample's interrupted instruction + 1 (fill_around). */
static struct entry *build_entry(uintptr_t ip, const struct outside *o, int may_defer,
				 int *owned, int *need_dw, int leaf)
{
	struct frame_list fl = { 0 };
	struct loaded *m = module_at(ip - 1);
	int unkept = 0;
	*owned = 0;
	if (!cached_frames(&fl, ip, m)) {
		if (m && may_defer && !dwlib_loaded() && !dwlib_failed()) {
			*need_dw = 1;
			return NULL;
		}
		Dwfl_Module *mod = dwfl_module_at(ip - 1);
		/* Named without libdw because this thread may not load it (a real-time
		 * one): not kept, a later lookup elsewhere does better. */
		unkept = m && !mod && !dwlib_loaded() && !dwlib_failed();
		resolve_frames(&fl, ip, mod, m, o, leaf);
	}
	struct entry *e = fl_pack(ip, &fl);
	fl_free(&fl);
	*owned = e && (unkept || cache_insert(e) != 0);
	return e;
}

/* The slow path of symbols_resolve. Each attempt reads the loader's state without
 * the mutex, then works under it: an outdated module list asks for one more attempt
 * that gathers the list; an ip in no module asks for one more attempt that checks
 * whether dlopen added a module meanwhile, and then settles for "???"; frames not in
 * the persistent cache ask for one more attempt that loads libdw first (dlopen takes
 * the loader's lock: never under the mutex). */
static struct entry *resolve_slow(uintptr_t ip, int *owned, int leaf)
{
	enum { ATTEMPTS = 5 };
	struct entry *e = NULL;
	int with_mods = 0, missed = 0, need_dw = 0;
	*owned = 0;
	for (int attempt = 0; attempt < ATTEMPTS && !e; attempt++) {
		int last = attempt == ATTEMPTS - 1, gathered = 0, again = 0, wants = 0;
		struct outside o;
		if (need_dw)
			dwlib_load();
		gather_outside(&o, with_mods, ip);
		lock();
		e = cache_find(ip);
		if (!e && modules_outdated(&o.gen)) {
			if (o.with_mods)
				take_modules(&o), gathered = 1;
			else if (!last)
				again = with_mods = 1;
		}
		if (!e && !again) {
			if (module_at(ip - 1) || gathered || missed || last)
				e = build_entry(ip, &o, !need_dw && !last, owned, &wants, leaf);
			else
				missed = 1;
			if (wants)
				need_dw = 1;
		}
		unlock();
		outside_free(&o);
	}
	return e;
}

/* ---------------------------------------------------------------- public API */

static int resolve_any(uintptr_t ip, symbols_frame_cb cb, void *arg, int leaf)
{
	int owned = 0;
	lock();
	struct entry *e = cache_find(ip);
	unlock();
	if (!e)
		e = resolve_slow(ip, &owned, leaf);
	if (!e) {   /* out of memory: an uncached "???" */
		char buf[40];
		snprintf(buf, sizeof(buf), "0x%" PRIXPTR ": ???", ip);
		if (cb)
			cb(buf, arg);
		return 1;
	}
	int n = e->n;
	if (cb)
		for (int i = 0; i < n; i++)
			cb(e->frames[i], arg);
	if (owned)
		free(e);
	return n;
}

int symbols_resolve(uintptr_t ip, symbols_frame_cb cb, void *arg)
{
	return resolve_any(ip, cb, arg, 0);
}

int symbols_resolve_leaf(uintptr_t ip, symbols_frame_cb cb, void *arg)
{
	return resolve_any(ip, cb, arg, 1);
}

/* The span of one loaded object, found by its link_map. */
struct closing {
	const struct link_map *lm; /* the object to find */
	uintptr_t lo, hi;          /* its span; lo == hi when not found */
};

static int closing_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct closing *c = arg;
	const char *a = info->dlpi_name ? info->dlpi_name : "";
	const char *b = c->lm->l_name ? c->lm->l_name : "";
	(void)size;
	if (info->dlpi_addr != c->lm->l_addr || strcmp(a, b) != 0)
		return 0;
	load_span(info, &c->lo, &c->hi);
	return 1;
}

/* Under the mutex: resolve every uncached ip of every site that falls in the closing
 * object (when `o` is NULL only count them). With `want_dw`, ips whose frames are not
 * in the persistent cache are left, and *want_dw set, when libdw could be loaded for
 * them. Returns how many ips there were. */
static unsigned closing_ips(const struct closing *c, const struct outside *o, int *want_dw)
{
	unsigned found = 0;
	uint32_t count = sites_count();
	for (site_id id = 1; id <= count; id++) {
		unsigned depth = 0;
		const uintptr_t *ips = sites_stack(id, &depth);
		/* ips[0] is the interposed function (in the preload), not a return address */
		for (unsigned k = 1; ips && k < depth; k++) {
			if (ips[k] - 1 < c->lo || ips[k] - 1 >= c->hi || cache_find(ips[k]))
				continue;
			found++;
			if (!o)
				continue;
			int owned, need_dw = 0;
			struct entry *e = build_entry(ips[k], o, want_dw != NULL, &owned, &need_dw, 0);
			if (owned)
				free(e);
			if (need_dw)
				*want_dw = 1;
		}
	}
	return found;
}

int symbols_module_closing(void *handle)
{
	struct link_map *lm = NULL;
	if (!handle || handle == RTLD_NEXT || dlinfo(handle, RTLD_DI_LINKMAP, &lm) != 0 || !lm)
		return 0;
	struct closing c = { .lm = lm };
	loader_iterate(closing_cb, &c);

	/* The list with everything this dlclose may unload (the module's dependencies
	 * too), read again only when the loader's counters moved: from now until
	 * symbols_module_closed, it only grows. */
	struct outside all;
	gather_outside(&all, 0, 0);
	lock();
	while (modules_outdated(&all.gen)) {
		unlock();
		outside_free(&all);
		gather_outside(&all, 1, 0);
		lock();
		take_modules(&all);
	}
	if (S.closing++ == 0)
		S.closing_subs = S.gen.subs;
	unsigned todo = c.lo < c.hi ? closing_ips(&c, NULL, NULL) : 0;
	unlock();
	outside_free(&all);
	if (!todo)
		return 1;

	/* The module is still loaded, so the gathered list has it. Frames not in the
	 * persistent cache need libdw now, before the module is gone: a second pass. */
	int want_dw = 0;
	for (int pass = 0; pass < 2; pass++) {
		struct outside o;
		if (pass == 1)
			dwlib_load();
		gather_outside(&o, 1, 0);
		lock();
		if (modules_outdated(&o.gen))
			take_modules(&o);
		closing_ips(&c, &o, pass == 0 ? &want_dw : NULL);
		unlock();
		outside_free(&o);
		if (!want_dw)
			break;
	}
	return 1;
}

/* Under the mutex: whether the gathered list `o` still has module m. */
static int still_loaded(const struct outside *o, const struct loaded *m)
{
	for (int i = 0; i < o->nmods; i++)
		if (o->mods[i].lo == m->lo && o->mods[i].hi == m->hi &&
		    strcmp(o->mods[i].name, m->name) == 0)
			return 1;
	return 0;
}

/* Under the mutex: whether pc lies in one of the n modules gone[]. */
static int in_gone(uintptr_t pc, const struct loaded *const *gone, int n)
{
	for (int i = 0; i < n; i++)
		if (pc >= gone[i]->lo && pc < gone[i]->hi)
			return 1;
	return 0;
}

/* Under the mutex: resolve every uncached ip of every site that lies in a module of
 * the current list that `o` (the loader's list now) no longer has, against the
 * current list (from the module's file: it is no longer mapped). With `want_dw` as in
 * closing_ips. The current list's modules do not overlap (merge_modules), so the
 * module such an ip is resolved in is the one that went. */
static void gone_ips(const struct outside *o, int *want_dw)
{
	const struct loaded **gone = malloc(((size_t)S.nmods + 1) * sizeof(*gone));
	int ngone = 0;
	if (!gone)
		return;
	for (int i = 0; i < S.nmods; i++)
		if (!still_loaded(o, &S.mods[i]))
			gone[ngone++] = &S.mods[i];
	uint32_t count = ngone ? sites_count() : 0;
	for (site_id id = 1; id <= count; id++) {
		unsigned depth = 0;
		const uintptr_t *ips = sites_stack(id, &depth);
		for (unsigned k = 1; ips && k < depth; k++) {
			if (!in_gone(ips[k] - 1, gone, ngone) || cache_find(ips[k]))
				continue;
			int owned, need_dw = 0;
			struct entry *e = build_entry(ips[k], o, want_dw != NULL, &owned, &need_dw, 0);
			if (owned)
				free(e);
			if (need_dw)
				*want_dw = 1;
		}
	}
	free(gone);
}

void symbols_module_closed(void)
{
	struct outside o;
	gather_outside(&o, 0, 0);
	lock();
	/* Nothing was unloaded (the handle was still in use): nothing to do. */
	int unloaded = o.gen.subs != S.closing_subs;
	unlock();
	outside_free(&o);
	int want_dw = 0;
	for (int pass = 0; unloaded && pass < 2; pass++) {
		if (pass == 1)
			dwlib_load();
		gather_outside(&o, 1, 0);
		lock();
		gone_ips(&o, pass == 0 ? &want_dw : NULL);
		unlock();
		outside_free(&o);
		if (!want_dw)
			break;
	}
	lock();
	if (S.closing > 0 && --S.closing == 0 && unloaded)
		S.stale = 1;   /* read the list afresh (without the modules gone) */
	unlock();
}

/* Without the mutex: a fork child's handler may call this before ours has made the
 * mutex usable again. */
void symbols_refresh(void)
{
	__atomic_store_n(&S.refresh, 1, __ATOMIC_RELAXED);
}

void symbols_persist(void)
{
	lock();
	symcache_flush();
	unlock();
}

void symbols_get_stats(struct symbols_stats *out)
{
	lock();
	*out = S.stats;
	unlock();
}

void symbols_release(void)
{
	lock();
	if (S.dwfl) {
		dwlib.dwfl_getmodules(S.dwfl, symtab_free_each, NULL, 0);
		dwlib.dwfl_end(S.dwfl);
		S.dwfl = NULL;   /* the next miss reports the modules again */
	}
	unlock();
}

void symbols_shutdown(void)
{
	lock();
	symcache_shutdown();
	memset(&S.stats, 0, sizeof(S.stats));
	if (S.dwfl) {
		dwlib.dwfl_getmodules(S.dwfl, symtab_free_each, NULL, 0);
		dwlib.dwfl_end(S.dwfl);
	}
	S.dwfl = NULL;
	S.stale = 0;
	S.closing = 0;
	for (int i = 0; i < S.nmods; i++)
		free(S.mods[i].name);
	free(S.mods);
	S.mods = NULL;
	S.nmods = 0;
	S.listed = 0;
	memset(&S.gen, 0, sizeof(S.gen));
	cache_free();
	unlock();
}
