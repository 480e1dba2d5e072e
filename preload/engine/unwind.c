/* unwind.c - the profiler's own stack walker for x86-64: the caller's return addresses,
 * from the DWARF call-frame information (CFI) in each module's .eh_frame, with no lock,
 * no allocation and no syscall, so that an audio thread may walk a stack it has never
 * met (libunwind takes the loader's lock in dl_iterate_phdr, its memory pools' locks
 * with two sigprocmask calls each, and mmaps its caches on such a walk).
 *
 * Modules. A table of the loaded modules (executable segments' span, .eh_frame_hdr and
 * its sorted search table), filled from dl_iterate_phdr at start-up, after each dlclose,
 * and when a walk off the audio thread meets code outside every known module. On an
 * audio thread (unwind_start.may_lock = 0) a module not in the table yet (dlopen'ed
 * since) is found without the loader's lock, by following the dynamic linker's public
 * list of loaded objects (_r_debug.r_map) and reading the module's own ELF and program
 * headers; that search is skipped while a dlclose runs (unwind_dlclose_begin/end), so
 * it never follows an entry being freed. The table only grows (entries of unloaded
 * modules are marked dead, never reused), so readers need no lock: an entry is
 * published by its `ready` flag.
 *
 * Frames. For each frame, the FDE covering its return address minus one (the call
 * instruction; the address itself after a signal frame, whose CIE says 'S') is found by
 * binary search in .eh_frame_hdr, its CIE and FDE instructions are run up to that
 * address, and the rules give the caller's stack pointer (the CFA), return address and
 * frame pointer; only rsp, rbp and rip are tracked, which is all that the CFI of
 * compiled code and of glibc's signal trampoline and PLT needs. A frame whose rules are
 * "CFA = rsp or rbp + constant, return address and rbp saved at constant offsets" (all
 * but a few) is remembered by return address in a per-thread cache of shapes, so the
 * next walk through it is a few loads. Every stack read is checked against the thread's
 * stack bounds; a frame the walker cannot follow (no CFI, a rule on another register,
 * a read outside the stack) ends the walk with UNWIND_FAILED and the frames so far. */
#include "unwind.h"
#include "loader.h"

#include <elf.h>
#include <stddef.h>
#include <link.h>
#include <string.h>

#if defined(__x86_64__)

/* ------------------------------------------------------------------ modules */

#define MOD_MAX 16384u

struct module {
	uintptr_t lo, hi;          /* span of its executable segments */
	uintptr_t base;            /* load bias */
	const uint8_t *hdr;        /* .eh_frame_hdr */
	const uint8_t *table;      /* its search table: count pairs of sdata4, hdr-relative */
	uint32_t count;
	uint32_t ready;            /* published (release): the fields above are set */
	uint32_t dead;             /* unloaded: never matched again */
};

static struct module mods[MOD_MAX];
static uint32_t mods_claimed;   /* entries claimed; an entry is used once ready */
static uint32_t closing;        /* dlclose calls under way */
static uint32_t mods_gen;       /* bumped when modules go away: shape caches are emptied */

#define PE_OMIT 0xff

/* Little-endian unaligned loads from module memory (mapped for as long as the module
 * is loaded). */
static inline uint64_t ld(const uint8_t *p, unsigned size)
{
	uint64_t v = 0;
	memcpy(&v, p, size);
	return v;
}

static inline uint64_t uleb(const uint8_t **pp, const uint8_t *end)
{
	const uint8_t *p = *pp;
	uint64_t v = 0;
	unsigned shift = 0;
	while (p < end) {
		uint8_t b = *p++;
		if (shift < 64)
			v |= (uint64_t)(b & 0x7f) << shift;
		shift += 7;
		if (!(b & 0x80))
			break;
	}
	*pp = p;
	return v;
}

static inline int64_t sleb(const uint8_t **pp, const uint8_t *end)
{
	const uint8_t *p = *pp;
	uint64_t v = 0;
	unsigned shift = 0;
	uint8_t b = 0;
	while (p < end) {
		b = *p++;
		if (shift < 64)
			v |= (uint64_t)(b & 0x7f) << shift;
		shift += 7;
		if (!(b & 0x80))
			break;
	}
	if (shift < 64 && (b & 0x40))
		v |= ~(uint64_t)0 << shift;
	*pp = p;
	return (int64_t)v;
}

/* A pointer encoded with DW_EH_PE `enc` at *pp (datarel: relative to `data`). Indirect
 * pointers are not followed (only skipped over: personality routines). */
static int read_enc(const uint8_t **pp, const uint8_t *end, uint8_t enc, uintptr_t data,
		    uintptr_t *out)
{
	const uint8_t *p = *pp;
	uintptr_t base;
	uint64_t v;
	if (enc == PE_OMIT)
		return -1;
	switch (enc & 0x70) {
	case 0x00: base = 0; break;
	case 0x10: base = (uintptr_t)p; break;   /* pcrel */
	case 0x30: base = data; break;           /* datarel */
	default: return -1;
	}
	unsigned size;
	switch (enc & 0x0f) {
	case 0x00: case 0x04: case 0x0c: size = 8; break;
	case 0x02: case 0x0a: size = 2; break;
	case 0x03: case 0x0b: size = 4; break;
	case 0x01: v = uleb(&p, end); goto done;
	case 0x09: v = (uint64_t)sleb(&p, end); goto done;
	default: return -1;
	}
	if (p + size > end)
		return -1;
	v = ld(p, size);
	if ((enc & 0x0f) == 0x0a)
		v = (uint64_t)(int64_t)(int16_t)v;
	else if ((enc & 0x0f) == 0x0b)
		v = (uint64_t)(int64_t)(int32_t)v;
	p += size;
done:
	*pp = p;
	*out = (uintptr_t)(v + base);
	return 0;
}

/* A module from its program headers, or -1 if it has no usable .eh_frame_hdr. */
static int module_make(uintptr_t base, const ElfW(Phdr) *ph, unsigned phnum, struct module *m)
{
	uintptr_t lo = UINTPTR_MAX, hi = 0;
	const uint8_t *hdr = NULL;
	for (unsigned i = 0; i < phnum; i++) {
		if (ph[i].p_type == PT_LOAD && (ph[i].p_flags & PF_X)) {
			uintptr_t a = base + ph[i].p_vaddr, b = a + ph[i].p_memsz;
			if (a < lo)
				lo = a;
			if (b > hi)
				hi = b;
		} else if (ph[i].p_type == PT_GNU_EH_FRAME) {
			hdr = (const uint8_t *)(base + ph[i].p_vaddr);
		}
	}
	if (!hdr || lo >= hi || hdr[0] != 1)
		return -1;
	const uint8_t *p = hdr + 4, *end = hdr + 64;
	uintptr_t eh_frame, count;
	if (read_enc(&p, end, hdr[1], (uintptr_t)hdr, &eh_frame) ||
	    read_enc(&p, end, hdr[2], (uintptr_t)hdr, &count) ||
	    hdr[3] != 0x3b)   /* datarel sdata4: what every linker writes */
		return -1;
	m->lo = lo;
	m->hi = hi;
	m->base = base;
	m->hdr = hdr;
	m->table = p;
	m->count = (uint32_t)count;
	return 0;
}

static int module_known(uintptr_t base, const uint8_t *hdr)
{
	uint32_t n = __atomic_load_n(&mods_claimed, __ATOMIC_ACQUIRE);
	if (n > MOD_MAX)
		n = MOD_MAX;
	for (uint32_t i = 0; i < n; i++) {
		const struct module *m = &mods[i];
		if (__atomic_load_n(&m->ready, __ATOMIC_ACQUIRE) &&
		    !__atomic_load_n(&m->dead, __ATOMIC_RELAXED) && m->base == base && m->hdr == hdr)
			return 1;
	}
	return 0;
}

/* Is some live module loaded at this bias? */
static int module_based(uintptr_t base)
{
	uint32_t n = __atomic_load_n(&mods_claimed, __ATOMIC_ACQUIRE);
	if (n > MOD_MAX)
		n = MOD_MAX;
	for (uint32_t i = 0; i < n; i++)
		if (__atomic_load_n(&mods[i].ready, __ATOMIC_ACQUIRE) &&
		    !__atomic_load_n(&mods[i].dead, __ATOMIC_RELAXED) && mods[i].base == base)
			return 1;
	return 0;
}

/* Publish m (lock-free; a duplicate from a concurrent add is harmless). */
static void module_add(const struct module *m)
{
	if (module_known(m->base, m->hdr))
		return;
	uint32_t i = __atomic_fetch_add(&mods_claimed, 1, __ATOMIC_ACQ_REL);
	if (i >= MOD_MAX)
		return;   /* full: walks through new modules fail (libunwind then walks them) */
	mods[i].lo = m->lo;
	mods[i].hi = m->hi;
	mods[i].base = m->base;
	mods[i].hdr = m->hdr;
	mods[i].table = m->table;
	mods[i].count = m->count;
	__atomic_store_n(&mods[i].ready, 1, __ATOMIC_RELEASE);
}

/* The loader's count of objects ever loaded when the table last took them all in: a
 * search for code in no module (JIT code, a bad address) then costs one callback. */
static unsigned long long adds_seen;

static int add_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
	int *first = arg;
	int counted = size >= offsetof(struct dl_phdr_info, dlpi_subs);
	if (*first) {
		*first = 0;
		if (counted && info->dlpi_adds == __atomic_load_n(&adds_seen, __ATOMIC_ACQUIRE))
			return 1;   /* nothing loaded since */
		if (counted)
			__atomic_store_n(&adds_seen, info->dlpi_adds, __ATOMIC_RELEASE);
	}
	struct module m;
	if (module_make(info->dlpi_addr, info->dlpi_phdr, info->dlpi_phnum, &m) == 0)
		module_add(&m);
	return 0;
}

static void add_loaded(void)
{
	int first = 1;
	loader_iterate(add_cb, &first);
}

void unwind_init(void)
{
	add_loaded();
}

static const struct module *module_find(uintptr_t pc)
{
	uint32_t n = __atomic_load_n(&mods_claimed, __ATOMIC_ACQUIRE);
	if (n > MOD_MAX)
		n = MOD_MAX;
	for (uint32_t i = 0; i < n; i++) {
		const struct module *m = &mods[i];
		if (pc - m->lo < m->hi - m->lo && __atomic_load_n(&m->ready, __ATOMIC_ACQUIRE) &&
		    !__atomic_load_n(&m->dead, __ATOMIC_RELAXED))
			return m;
	}
	return NULL;
}

/* The dynamic linker's list of loaded objects, read without its lock (what debuggers
 * read): only while no dlclose runs, the one thing that frees its entries. Each
 * object's ELF header and program headers are where its first segment maps file
 * offset 0 at address 0, as for every shared object the linkers make; others (the
 * main program, known since start-up) are skipped. */
static int module_search_unlocked(uintptr_t pc, struct module *out)
{
	for (const struct link_map *l = _r_debug.r_map; l; l = l->l_next) {
		if (__atomic_load_n(&closing, __ATOMIC_ACQUIRE))
			return -1;
		/* Objects known since start-up (the program, the vDSO: not always laid out
		 * as below) or found before are not looked at: pc is in none of them. */
		if (module_based(l->l_addr))
			continue;
		const ElfW(Ehdr) *eh = (const ElfW(Ehdr) *)l->l_addr;
		if (!eh || memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 ||
		    eh->e_phentsize != sizeof(ElfW(Phdr)) || eh->e_phnum > 128 ||
		    eh->e_phoff > 4096)
			continue;
		const ElfW(Phdr) *ph = (const ElfW(Phdr) *)(l->l_addr + eh->e_phoff);
		size_t ph_end = eh->e_phoff + (size_t)eh->e_phnum * sizeof(ElfW(Phdr));
		int at_zero = 0;
		for (unsigned i = 0; i < eh->e_phnum; i++)
			if (ph[i].p_type == PT_LOAD && ph[i].p_offset == 0 && ph[i].p_vaddr == 0 &&
			    ph[i].p_filesz >= ph_end)
				at_zero = 1;
		if (!at_zero)
			continue;
		struct module m;
		if (module_make(l->l_addr, ph, eh->e_phnum, &m) == 0 && pc - m.lo < m.hi - m.lo) {
			*out = m;
			return 0;
		}
	}
	return -1;
}

/* The module of pc: the table, else (off the audio thread) the loader's list under its
 * lock, else the list without it. *scratch holds a module found but not published. */
static const struct module *module_of(uintptr_t pc, int may_lock, struct module *scratch)
{
	const struct module *m = module_find(pc);
	if (m)
		return m;
	if (may_lock) {
		add_loaded();
		return module_find(pc);
	}
	if (__atomic_load_n(&closing, __ATOMIC_ACQUIRE) || module_search_unlocked(pc, scratch))
		return NULL;
	module_add(scratch);
	return scratch;
}

static unsigned seen_bits[MOD_MAX / 32];   /* dlclose_end's marks, under its caller */

static int mark_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	(void)arg;
	struct module m;
	if (module_make(info->dlpi_addr, info->dlpi_phdr, info->dlpi_phnum, &m) != 0)
		return 0;
	uint32_t n = __atomic_load_n(&mods_claimed, __ATOMIC_ACQUIRE);
	if (n > MOD_MAX)
		n = MOD_MAX;
	for (uint32_t i = 0; i < n; i++)
		if (mods[i].base == m.base && mods[i].hdr == m.hdr)
			seen_bits[i / 32] |= 1u << (i % 32);
	return 0;
}

static unsigned close_lock;   /* one dlclose_end at a time (they are rare) */

void unwind_dlclose_begin(void)
{
	__atomic_fetch_add(&closing, 1, __ATOMIC_ACQ_REL);
}

void unwind_dlclose_end(void)
{
	while (__atomic_exchange_n(&close_lock, 1, __ATOMIC_ACQUIRE))
		__builtin_ia32_pause();
	memset(seen_bits, 0, sizeof(seen_bits));
	loader_iterate(mark_cb, NULL);
	uint32_t n = __atomic_load_n(&mods_claimed, __ATOMIC_ACQUIRE);
	if (n > MOD_MAX)
		n = MOD_MAX;
	int gone = 0;
	for (uint32_t i = 0; i < n; i++) {
		if (__atomic_load_n(&mods[i].ready, __ATOMIC_ACQUIRE) &&
		    !(seen_bits[i / 32] & (1u << (i % 32))) && !mods[i].dead) {
			__atomic_store_n(&mods[i].dead, 1, __ATOMIC_RELEASE);
			gone = 1;
		}
	}
	if (gone)
		__atomic_fetch_add(&mods_gen, 1, __ATOMIC_ACQ_REL);
	__atomic_store_n(&close_lock, 0, __ATOMIC_RELEASE);
	__atomic_fetch_sub(&closing, 1, __ATOMIC_ACQ_REL);
}

/* ------------------------------------------------------------------ CIE and FDE */

struct cie {
	uint64_t code_align;
	int64_t data_align;
	unsigned ra_reg;
	uint8_t fde_enc;
	uint8_t signal;            /* 'S': the frame is a signal trampoline's */
	uint8_t has_z;
	const uint8_t *insns, *end;
};

/* Length and start of the entry at p (CIE or FDE); NULL for a terminator or nonsense. */
static const uint8_t *entry(const uint8_t *p, const uint8_t **end, int *wide)
{
	uint64_t len = ld(p, 4);
	p += 4;
	*wide = 0;
	if (len == 0xffffffffu) {
		len = ld(p, 8);
		p += 8;
		*wide = 1;
	}
	if (len == 0 || len > (1u << 30))
		return NULL;
	*end = p + len;
	return p;
}

static int cie_parse(const uint8_t *at, struct cie *c)
{
	const uint8_t *end;
	int wide;
	const uint8_t *p = entry(at, &end, &wide);
	if (!p)
		return -1;
	p += wide ? 8 : 4;   /* CIE id */
	uint8_t version = *p++;
	const char *aug = (const char *)p;
	size_t auglen = strnlen(aug, (size_t)(end - p));
	p += auglen + 1;
	if (p > end || (aug[0] && aug[0] != 'z'))
		return -1;   /* "eh" and other old forms: not met in current code */
	c->code_align = uleb(&p, end);
	c->data_align = sleb(&p, end);
	c->ra_reg = version == 1 ? *p++ : (unsigned)uleb(&p, end);
	c->fde_enc = 0;   /* absptr */
	c->signal = 0;
	c->has_z = aug[0] == 'z';
	if (c->has_z) {
		uint64_t alen = uleb(&p, end);
		const uint8_t *a = p, *aend = p + alen;
		if (aend > end)
			return -1;
		for (size_t i = 1; i < auglen; i++) {
			uintptr_t ignored;
			switch (aug[i]) {
			case 'R': c->fde_enc = *a++; break;
			case 'L': a++; break;
			case 'P': {
				uint8_t enc = *a++;
				if (read_enc(&a, aend, enc & 0x7f, 0, &ignored))
					return -1;
				break;
			}
			case 'S': c->signal = 1; break;
			default: return -1;   /* unknown letters: the rest cannot be parsed */
			}
		}
		p = aend;
	}
	c->insns = p;
	c->end = end;
	return 0;
}

struct fde {
	uintptr_t start, end;      /* code it covers */
	const uint8_t *insns, *iend;
};

/* The FDE at `at` if it covers pc. */
static int fde_parse(const uint8_t *at, uintptr_t pc, struct cie *c, struct fde *f)
{
	const uint8_t *end;
	int wide;
	const uint8_t *p = entry(at, &end, &wide);
	if (!p)
		return -1;
	uint64_t cie_off = wide ? ld(p, 8) : ld(p, 4);
	if (cie_off == 0)
		return -1;   /* a CIE */
	const uint8_t *cie_at = p - cie_off;
	p += wide ? 8 : 4;
	if (cie_parse(cie_at, c))
		return -1;
	uintptr_t start, range;
	if (read_enc(&p, end, c->fde_enc, 0, &start) ||
	    read_enc(&p, end, c->fde_enc & 0x0f, 0, &range))
		return -1;
	if (pc < start || pc - start >= range)
		return -1;
	if (c->has_z) {
		uint64_t alen = uleb(&p, end);
		p += alen;
	}
	if (p > end)
		return -1;
	f->start = start;
	f->end = start + range;
	f->insns = p;
	f->iend = end;
	return 0;
}

/* The FDE covering pc in m: binary search of .eh_frame_hdr's table. */
static int fde_find(const struct module *m, uintptr_t pc, struct cie *c, struct fde *f)
{
	const uint8_t *t = m->table;
	uintptr_t hdr = (uintptr_t)m->hdr;
	uint32_t lo = 0, hi = m->count;
	if (!hi)
		return -1;
	while (hi - lo > 1) {
		uint32_t mid = lo + (hi - lo) / 2;
		uintptr_t loc = hdr + (intptr_t)(int32_t)ld(t + 8 * (size_t)mid, 4);
		if (loc <= pc)
			lo = mid;
		else
			hi = mid;
	}
	uintptr_t loc = hdr + (intptr_t)(int32_t)ld(t + 8 * (size_t)lo, 4);
	if (loc > pc)
		return -1;
	const uint8_t *at = (const uint8_t *)(hdr + (intptr_t)(int32_t)ld(t + 8 * (size_t)lo + 4, 4));
	return fde_parse(at, pc, c, f);
}

/* ------------------------------------------------------------------ rules */

enum { NREG = 17, REG_RBP = 6, REG_RSP = 7, REG_RA = 16 };
enum how { R_SAME = 0, R_UNDEF, R_OFFSET, R_VAL_OFFSET, R_REG, R_EXPR, R_VAL_EXPR };

struct rule {
	uint8_t how;
	uint8_t reg;               /* R_REG */
	int64_t off;               /* R_OFFSET, R_VAL_OFFSET */
	const uint8_t *expr;       /* R_EXPR, R_VAL_EXPR: uleb length, then the expression */
};

struct row {
	int cfa_reg;               /* -1: cfa_expr */
	int64_t cfa_off;
	const uint8_t *cfa_expr;
	struct rule r[NREG];
};

#define STATE_STACK 8

/* Run instructions [p, end) from location loc while the location stays <= pc. init is
 * the row after the CIE's instructions (for DW_CFA_restore), NULL while running them. */
static int cfi_run(const uint8_t *p, const uint8_t *end, const struct cie *c, uintptr_t loc,
		   uintptr_t pc, struct row *row, const struct row *init)
{
	struct row stack[STATE_STACK];
	unsigned depth = 0;
	while (p < end) {
		uint8_t op = *p++;
		uint64_t reg, len;
		int64_t off;
		uintptr_t delta = 0;
		switch (op & 0xc0) {
		case 0x40:
			delta = (op & 0x3f) * c->code_align;
			goto advance;
		case 0x80:
			reg = op & 0x3f;
			off = (int64_t)uleb(&p, end) * c->data_align;
			goto offset;
		case 0xc0:
			reg = op & 0x3f;
			goto restore;
		}
		switch (op) {
		case 0x00:   /* nop */
			break;
		case 0x01: { /* set_loc */
			uintptr_t a;
			if (read_enc(&p, end, c->fde_enc, 0, &a))
				return -1;
			if (a > pc)
				return 0;
			loc = a;
			break;
		}
		case 0x02: delta = *p++ * c->code_align; goto advance;
		case 0x03: delta = ld(p, 2) * c->code_align; p += 2; goto advance;
		case 0x04: delta = ld(p, 4) * c->code_align; p += 4; goto advance;
		case 0x05:   /* offset_extended */
			reg = uleb(&p, end);
			off = (int64_t)uleb(&p, end) * c->data_align;
			goto offset;
		case 0x06:   /* restore_extended */
			reg = uleb(&p, end);
			goto restore;
		case 0x07:   /* undefined */
			reg = uleb(&p, end);
			if (reg < NREG)
				row->r[reg].how = R_UNDEF;
			break;
		case 0x08:   /* same_value */
			reg = uleb(&p, end);
			if (reg < NREG)
				row->r[reg].how = R_SAME;
			break;
		case 0x09: { /* register */
			reg = uleb(&p, end);
			uint64_t r2 = uleb(&p, end);
			if (reg < NREG) {
				row->r[reg].how = R_REG;
				row->r[reg].reg = r2 < NREG ? (uint8_t)r2 : 0xff;
			}
			break;
		}
		case 0x0a:   /* remember_state: the CFA rule too, as gcc's and LLVM's do */
			if (depth == STATE_STACK)
				return -1;
			stack[depth++] = *row;
			break;
		case 0x0b:   /* restore_state */
			if (!depth)
				return -1;
			*row = stack[--depth];
			break;
		case 0x0c:   /* def_cfa */
			row->cfa_reg = (int)uleb(&p, end);
			row->cfa_off = (int64_t)uleb(&p, end);
			break;
		case 0x0d:   /* def_cfa_register */
			row->cfa_reg = (int)uleb(&p, end);
			break;
		case 0x0e:   /* def_cfa_offset */
			row->cfa_off = (int64_t)uleb(&p, end);
			break;
		case 0x0f:   /* def_cfa_expression */
			row->cfa_reg = -1;
			row->cfa_expr = p;   /* the length first, as expr_eval reads it */
			len = uleb(&p, end);
			p += len;
			break;
		case 0x10:   /* expression */
		case 0x16: { /* val_expression */
			reg = uleb(&p, end);
			const uint8_t *e = p;
			len = uleb(&p, end);
			p += len;
			if (reg < NREG) {
				row->r[reg].how = op == 0x10 ? R_EXPR : R_VAL_EXPR;
				row->r[reg].expr = e;
			}
			break;
		}
		case 0x11:   /* offset_extended_sf */
			reg = uleb(&p, end);
			off = sleb(&p, end) * c->data_align;
			goto offset;
		case 0x12:   /* def_cfa_sf */
			row->cfa_reg = (int)uleb(&p, end);
			row->cfa_off = sleb(&p, end) * c->data_align;
			break;
		case 0x13:   /* def_cfa_offset_sf */
			row->cfa_off = sleb(&p, end) * c->data_align;
			break;
		case 0x14:   /* val_offset */
		case 0x15:   /* val_offset_sf */
			reg = uleb(&p, end);
			off = (op == 0x14 ? (int64_t)uleb(&p, end) : sleb(&p, end)) * c->data_align;
			if (reg < NREG) {
				row->r[reg].how = R_VAL_OFFSET;
				row->r[reg].off = off;
			}
			break;
		case 0x2e:   /* GNU_args_size */
			uleb(&p, end);
			break;
		case 0x2f:   /* GNU_negative_offset_extended */
			reg = uleb(&p, end);
			off = -(int64_t)uleb(&p, end) * c->data_align;
			goto offset;
		default:
			return -1;
		}
		continue;
advance:
		if (loc + delta > pc)
			return 0;
		loc += delta;
		continue;
offset:
		if (reg < NREG) {
			row->r[reg].how = R_OFFSET;
			row->r[reg].off = off;
		}
		continue;
restore:
		if (reg < NREG) {
			if (!init)
				return -1;
			row->r[reg] = init->r[reg];
		}
		continue;
	}
	return 0;
}

/* ------------------------------------------------------------------ one frame */

struct regs {
	uintptr_t pc, sp, fp;
	int fp_known;
};

/* A walk's stack bounds, and the tag its shape-cache entries carry (shape_key). */
struct bounds { uintptr_t lo, hi, tag; };

static inline int load(const struct bounds *b, uintptr_t a, uintptr_t *v)
{
	if (a < b->lo || a > b->hi - 8 || (a & 7))
		return -1;
	*v = *(const uintptr_t *)a;
	return 0;
}

static int reg_value(const struct regs *r, unsigned reg, uintptr_t *v)
{
	switch (reg) {
	case REG_RSP: *v = r->sp; return 0;
	case REG_RBP: if (!r->fp_known) return -1; *v = r->fp; return 0;
	case REG_RA: *v = r->pc; return 0;
	default: return -1;
	}
}

/* A DWARF expression (uleb length first), with `push` on the stack if with_push. */
static int expr_eval(const uint8_t *e, const struct regs *r, const struct bounds *b,
		     int with_push, uintptr_t push, uintptr_t *out)
{
	const uint8_t *p = e;
	uint64_t len = uleb(&p, p + 10);
	const uint8_t *end = p + len;
	uintptr_t st[16];
	unsigned n = 0, steps = 0;
	if (with_push)
		st[n++] = push;
#define NEED(k) do { if (n < (k)) return -1; } while (0)
#define PUSH(v) do { uintptr_t v_ = (v); if (n == 16) return -1; st[n] = v_; n++; } while (0)
	while (p < end) {
		if (++steps > 256)
			return -1;
		uint8_t op = *p++;
		uintptr_t a, v;
		if (op >= 0x30 && op <= 0x4f) {          /* lit0..31 */
			PUSH(op - 0x30u);
			continue;
		}
		if (op >= 0x70 && op <= 0x8f) {          /* breg0..31 */
			int64_t off = sleb(&p, end);
			if (reg_value(r, op - 0x70u, &v))
				return -1;
			PUSH(v + (uintptr_t)off);
			continue;
		}
		switch (op) {
		case 0x03: PUSH((uintptr_t)ld(p, 8)); p += 8; break;
		case 0x06: NEED(1); if (load(b, st[n - 1], &v)) return -1; st[n - 1] = v; break;
		case 0x08: PUSH(*p); p++; break;
		case 0x09: PUSH((uintptr_t)(int8_t)*p); p++; break;
		case 0x0a: PUSH(ld(p, 2)); p += 2; break;
		case 0x0b: PUSH((uintptr_t)(int16_t)ld(p, 2)); p += 2; break;
		case 0x0c: PUSH(ld(p, 4)); p += 4; break;
		case 0x0d: PUSH((uintptr_t)(int32_t)ld(p, 4)); p += 4; break;
		case 0x0e: case 0x0f: PUSH(ld(p, 8)); p += 8; break;
		case 0x10: PUSH(uleb(&p, end)); break;
		case 0x11: PUSH((uintptr_t)sleb(&p, end)); break;
		case 0x12: NEED(1); PUSH(st[n - 1]); break;
		case 0x13: NEED(1); n--; break;
		case 0x14: NEED(2); PUSH(st[n - 2]); break;
		case 0x16: NEED(2); a = st[n - 1]; st[n - 1] = st[n - 2]; st[n - 2] = a; break;
		case 0x1a: NEED(2); n--; st[n - 1] &= st[n]; break;
		case 0x1c: NEED(2); n--; st[n - 1] -= st[n]; break;
		case 0x1e: NEED(2); n--; st[n - 1] *= st[n]; break;
		case 0x1f: NEED(1); st[n - 1] = -st[n - 1]; break;
		case 0x20: NEED(1); st[n - 1] = ~st[n - 1]; break;
		case 0x21: NEED(2); n--; st[n - 1] |= st[n]; break;
		case 0x22: NEED(2); n--; st[n - 1] += st[n]; break;
		case 0x23: NEED(1); st[n - 1] += uleb(&p, end); break;
		case 0x24: NEED(2); n--; st[n - 1] = st[n] < 64 ? st[n - 1] << st[n] : 0; break;
		case 0x25: NEED(2); n--; st[n - 1] = st[n] < 64 ? st[n - 1] >> st[n] : 0; break;
		case 0x27: NEED(2); n--; st[n - 1] ^= st[n]; break;
		case 0x29: case 0x2a: case 0x2b: case 0x2c: case 0x2d: case 0x2e: {
			NEED(2);
			n--;
			intptr_t x = (intptr_t)st[n - 1], y = (intptr_t)st[n];
			int t = op == 0x29 ? x == y : op == 0x2a ? x >= y : op == 0x2b ? x > y :
				op == 0x2c ? x <= y : op == 0x2d ? x < y : x != y;
			st[n - 1] = (uintptr_t)t;
			break;
		}
		case 0x2f: { int16_t s = (int16_t)ld(p, 2); p += 2 + s; break; }
		case 0x28: {
			int16_t s = (int16_t)ld(p, 2);
			p += 2;
			NEED(1);
			if (st[--n])
				p += s;
			break;
		}
		case 0x92: {
			uint64_t reg = uleb(&p, end);
			int64_t off = sleb(&p, end);
			if (reg_value(r, (unsigned)reg, &v))
				return -1;
			PUSH(v + (uintptr_t)off);
			break;
		}
		case 0x96: break;
		default: return -1;
		}
	}
#undef NEED
#undef PUSH
	if (!n)
		return -1;
	*out = st[n - 1];
	return 0;
}

/* The value a rule gives a register of the caller, or -1 (unknown). */
static int rule_value(const struct rule *u, unsigned reg, const struct regs *r,
		      const struct bounds *b, uintptr_t cfa, uintptr_t *v, uintptr_t *slot)
{
	uintptr_t a;
	*slot = 0;
	switch (u->how) {
	case R_SAME: return reg_value(r, reg, v);
	case R_UNDEF: return -1;
	case R_OFFSET:
		a = cfa + (uintptr_t)u->off;
		*slot = a;
		return load(b, a, v);
	case R_VAL_OFFSET: *v = cfa + (uintptr_t)u->off; return 0;
	case R_REG: return reg_value(r, u->reg, v);
	case R_EXPR:
		if (expr_eval(u->expr, r, b, 1, cfa, &a))
			return -1;
		return load(b, a, v);
	case R_VAL_EXPR: return expr_eval(u->expr, r, b, 1, cfa, v);
	}
	return -1;
}

/* ------------------------------------------------------------------ shape cache */

/* Direct-mapped, 16 bytes a shape: 256 KB a thread, touched only where used. With 2048
 * shapes, gcc's cc1 on one file met 40,000 frames not in the cache (each a search of
 * .eh_frame_hdr and a run of the FDE's CFI); with 16384, 31,000.
 *
 * Modules going away (mods_gen bumped) empty every cache, without a write: an entry's
 * key is its return address with the low 16 bits of the generation it was made in
 * above bit 48 (no user-space address reaches there), so an entry of an older
 * generation matches nothing. The table is cleared only when the generation's upper
 * bits move (every 65,536 unloads), where a low half could come round again: a thread
 * never writes 256 KB, or faults its pages in, because a library was unloaded. */
#define SHAPES      16384u  /* power of two */
#define FP_SAME     INT16_MAX

struct shape {
	uintptr_t pc;              /* return address; 0: empty */
	int32_t cfa_off;           /* CFA = (rbp if ra_off is odd, else rsp) + cfa_off */
	int16_t ra_off;            /* return address at CFA + (ra_off & ~1) */
	int16_t fp_off;            /* rbp saved at CFA + fp_off, or FP_SAME: unchanged */
};

struct unwind_shapes {
	uint32_t gen;              /* mods_gen of its last walk: entries are of gen's epoch */
	struct unwind_counters n;
	struct shape s[SHAPES];
};

size_t unwind_shapes_size(void)
{
	return sizeof(struct unwind_shapes);
}

void unwind_shapes_init(struct unwind_shapes *c)
{
	memset(c->s, 0, sizeof(c->s));
	c->gen = __atomic_load_n(&mods_gen, __ATOMIC_ACQUIRE);
}

void unwind_shapes_counters(const struct unwind_shapes *c, struct unwind_counters *sum)
{
	sum->walks += c->n.walks;
	sum->frames += c->n.frames;
	sum->shape_hits += c->n.shape_hits;
	sum->failed += c->n.failed;
}

#define SHAPE_TAG_SHIFT 48
#define SHAPE_EPOCH(g)  ((g) >> 16)

/* The key of pc's entry made in generation gen; 0 (never a key) for a pc the tag would
 * overlap. */
static inline uintptr_t shape_key(uintptr_t pc, uint32_t gen)
{
	if (pc >> SHAPE_TAG_SHIFT)
		return 0;
	return pc | (uintptr_t)(gen & 0xffff) << SHAPE_TAG_SHIFT;
}

static inline struct shape *shape_slot(struct unwind_shapes *c, uintptr_t pc)
{
	uint64_t x = (uint64_t)pc * 0x9E3779B97F4A7C15ull;
	return &c->s[(x >> 40) & (SHAPES - 1)];
}

int unwind_frame_on_sp(const struct unwind_shapes *c, uintptr_t pc)
{
	uint32_t g = __atomic_load_n(&mods_gen, __ATOMIC_RELAXED);
	uintptr_t key = shape_key(pc, g);
	if (!c || !key || SHAPE_EPOCH(c->gen) != SHAPE_EPOCH(g))
		return 0;
	const struct shape *sh = shape_slot((struct unwind_shapes *)c, pc);
	return __atomic_load_n(&sh->pc, __ATOMIC_RELAXED) == key && !(sh->ra_off & 1);
}

enum step { STEP_OK, STEP_END, STEP_FAIL };

/* From the frame in r (its pc a return address unless *exact) to its caller's, by the
 * frame's CFI: what step does when the shape cache does not know the frame. Out of
 * line, so that its large frame (CIE, FDE, two rows) is set up only for such frames. */
static enum step __attribute__((noinline)) step_cfi(struct unwind_shapes *c, struct regs *r,
						    int *exact, const struct bounds *b,
						    int may_lock, uintptr_t *slot)
{
	uintptr_t cfa, ra, fp;
	uintptr_t at = *exact ? r->pc : r->pc - 1;
	struct module scratch;
	const struct module *m = module_of(at, may_lock, &scratch);
	struct cie ci;
	struct fde f;
	if (!m || fde_find(m, at, &ci, &f))
		return STEP_FAIL;
	struct row init = { .cfa_reg = REG_RSP, .cfa_off = 8 };
	if (cfi_run(ci.insns, ci.end, &ci, f.start, at, &init, NULL))
		return STEP_FAIL;
	struct row row = init;
	if (cfi_run(f.insns, f.iend, &ci, f.start, at, &row, &init))
		return STEP_FAIL;
	if (ci.ra_reg >= NREG)
		return STEP_FAIL;
	if (row.cfa_reg == -1) {
		if (expr_eval(row.cfa_expr, r, b, 0, 0, &cfa))
			return STEP_FAIL;
	} else {
		uintptr_t base;
		if (row.cfa_reg < 0 || reg_value(r, (unsigned)row.cfa_reg, &base))
			return STEP_FAIL;
		cfa = base + (uintptr_t)row.cfa_off;
	}
	const struct rule *ru = &row.r[ci.ra_reg];
	if (ru->how == R_UNDEF)
		return STEP_END;   /* the outermost frame (_start, clone's child) */
	if (ru->how == R_SAME || rule_value(ru, ci.ra_reg, r, b, cfa, &ra, slot))
		return STEP_FAIL;
	const struct rule *rf = &row.r[REG_RBP];
	uintptr_t ignored;
	int fp_known = 1;
	if (rf->how == R_SAME) {
		fp = r->fp;
		fp_known = r->fp_known;
	} else if (rule_value(rf, REG_RBP, r, b, cfa, &fp, &ignored)) {
		fp_known = 0;
	}
	uintptr_t sp = cfa;
	const struct rule *rs = &row.r[REG_RSP];
	if (rs->how != R_SAME && rule_value(rs, REG_RSP, r, b, cfa, &sp, &ignored))
		return STEP_FAIL;
	/* Remember the common shapes. */
	if (c && b->tag && !*exact && !ci.signal && rs->how == R_SAME && ru->how == R_OFFSET &&
	    (row.cfa_reg == REG_RSP || row.cfa_reg == REG_RBP) &&
	    row.cfa_off == (int32_t)row.cfa_off && !(ru->off & 7) &&
	    ru->off > INT16_MIN && ru->off < INT16_MAX &&
	    (rf->how == R_SAME || (rf->how == R_OFFSET && rf->off > INT16_MIN &&
				   rf->off < FP_SAME))) {
		/* Key last, after a barrier: a walk in a signal handler that interrupted
		 * this one (a CPU-time sample) sees the entry empty or whole. */
		struct shape *sh = shape_slot(c, r->pc);
		__atomic_store_n(&sh->pc, 0, __ATOMIC_RELAXED);
		__atomic_signal_fence(__ATOMIC_SEQ_CST);
		sh->cfa_off = (int32_t)row.cfa_off;
		sh->ra_off = (int16_t)(ru->off | (row.cfa_reg == REG_RBP));
		sh->fp_off = rf->how == R_SAME ? FP_SAME : (int16_t)rf->off;
		__atomic_signal_fence(__ATOMIC_SEQ_CST);
		__atomic_store_n(&sh->pc, shape_key(r->pc, (uint32_t)b->tag), __ATOMIC_RELAXED);
	}
	*exact = ci.signal;
	r->fp = fp;
	r->fp_known = fp_known;
	r->sp = sp;
	r->pc = ra;
	return STEP_OK;
}

/* From the frame in r (its pc a return address unless *exact) to its caller's: a frame
 * the shape cache knows is a few loads here; any other goes to step_cfi. */
static inline enum step step(struct unwind_shapes *c, struct regs *r, int *exact,
			     const struct bounds *b, int may_lock, uintptr_t *slot)
{
	uintptr_t key;
	if (!*exact && c && b->tag && (key = shape_key(r->pc, (uint32_t)b->tag))) {
		struct shape *sh = shape_slot(c, r->pc);
		if (__atomic_load_n(&sh->pc, __ATOMIC_RELAXED) == key) {
			uintptr_t cfa, ra, fp;
			int on_fp = sh->ra_off & 1;
			if (on_fp && !r->fp_known)
				return STEP_FAIL;
			cfa = (on_fp ? r->fp : r->sp) + (intptr_t)sh->cfa_off;
			uintptr_t a = cfa + (intptr_t)(sh->ra_off & ~1);
			if (load(b, a, &ra))
				return STEP_FAIL;
			if (sh->fp_off != FP_SAME) {
				if (load(b, cfa + (intptr_t)sh->fp_off, &fp))
					return STEP_FAIL;
				r->fp = fp;
				r->fp_known = 1;
			}
			*slot = a;
			c->n.shape_hits++;
			*exact = 0;
			r->sp = cfa;
			r->pc = ra;
			return STEP_OK;
		}
	}
	return step_cfi(c, r, exact, b, may_lock, slot);
}

enum unwind_status unwind_walk(struct unwind_shapes *c, const struct unwind_start *st,
			       uintptr_t *ips, uintptr_t *slots, unsigned max, unsigned *np)
{
	struct regs r = { .pc = st->ra, .sp = st->sp, .fp = st->fp, .fp_known = 1 };
	struct bounds b = { st->lo, st->hi, 0 };
	int exact = st->exact;
	unsigned n = 0;
	enum unwind_status status = UNWIND_DONE;
	if (c) {
		uint32_t g = __atomic_load_n(&mods_gen, __ATOMIC_ACQUIRE);
		if (SHAPE_EPOCH(c->gen) != SHAPE_EPOCH(g))
			unwind_shapes_init(c);
		c->gen = g;
		/* tag: the generation, plus a bit above it so that it is never 0 */
		b.tag = (uintptr_t)g | (uintptr_t)1 << 32;
		c->n.walks++;
	}
	if (max) {
		ips[n] = r.pc;
		if (slots)
			slots[n] = exact ? 0 : r.sp - 8;
		n++;
	}
	if (b.hi - b.lo < 16)
		status = UNWIND_FAILED;
	while (n < max && status == UNWIND_DONE) {
		uintptr_t slot = 0, old_sp = r.sp;
		int was_exact = exact;
		enum step s = step(c, &r, &exact, &b, st->may_lock, &slot);
		if (s == STEP_END)
			break;
		if (s == STEP_FAIL) {
			status = UNWIND_FAILED;
			break;
		}
		if (!r.pc)
			break;   /* a zero return address ends the chain */
		/* Each caller's frame lies above its callee's (a signal frame's interrupted
		 * stack may be elsewhere, e.g. before the alternate stack). */
		if (r.sp <= old_sp && !was_exact && !exact) {
			status = UNWIND_FAILED;
			break;
		}
		ips[n] = r.pc;
		if (slots)
			slots[n] = slot;
		n++;
	}
	if (c) {
		c->n.frames += n;
		if (status == UNWIND_FAILED)
			c->n.failed++;
	}
	*np = n;
	return status;
}

#else   /* not x86-64: every walk fails, libunwind walks */

struct unwind_shapes { struct unwind_counters n; };
size_t unwind_shapes_size(void) { return sizeof(struct unwind_shapes); }
void unwind_shapes_init(struct unwind_shapes *c) { (void)c; }
void unwind_shapes_counters(const struct unwind_shapes *c, struct unwind_counters *sum)
{
	(void)c;
	(void)sum;
}
void unwind_init(void) {}
int unwind_frame_on_sp(const struct unwind_shapes *c, uintptr_t pc)
{
	(void)c;
	(void)pc;
	return 0;
}
void unwind_dlclose_begin(void) {}
void unwind_dlclose_end(void) {}
enum unwind_status unwind_walk(struct unwind_shapes *c, const struct unwind_start *st,
			       uintptr_t *ips, uintptr_t *slots, unsigned max, unsigned *np)
{
	(void)c; (void)st; (void)ips; (void)slots; (void)max;
	*np = 0;
	return UNWIND_FAILED;
}

#endif
