/* demangle.c - Rust (legacy and v0) demanglers and the C++ demangler choice (see
 * demangle.h). The Rust grammars follow rustc-demangle (github.com/rust-lang/
 * rustc-demangle, src/legacy.rs and src/v0.rs) and the v0 RFC 2603; the output is
 * that crate's alternate format ("{:#}"): no legacy hash, no crate disambiguators.
 * Malformed input gives NULL (the caller keeps the mangled name), never a crash:
 * every read is bounded by the string's length and recursion by a depth limit. */
#include "demangle.h"

#include <libiberty/demangle.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 200   /* v0 nesting (types in paths in types...) */

/* ---------------------------------------------------------------- output buffer */

struct sb {
	char *s;                   /* NUL-terminated when len > 0 */
	size_t len, cap;
	int err;                   /* out of memory or malformed input */
};

static void sb_putn(struct sb *b, const char *s, size_t n)
{
	if (b->err)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 64;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *ns = realloc(b->s, cap);
		if (!ns) {
			b->err = 1;
			return;
		}
		b->s = ns;
		b->cap = cap;
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

static void sb_puts(struct sb *b, const char *s)
{
	sb_putn(b, s, strlen(s));
}

static void sb_putu(struct sb *b, uint64_t v)
{
	char buf[24];
	int i = sizeof(buf);
	buf[--i] = '\0';
	do
		buf[--i] = (char)('0' + v % 10);
	while ((v /= 10) != 0);
	sb_puts(b, buf + i);
}

static char *sb_finish(struct sb *b)
{
	if (b->err || !b->s) {
		free(b->s);
		return NULL;
	}
	return b->s;
}

static int is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

static int hex_val(char c)
{
	return c <= '9' ? c - '0' : c - 'a' + 10;
}

/* ---------------------------------------------------------------- Rust legacy */

/* One path component of a legacy name: "$LT$" escapes, "$u7e$" code points (ASCII
 * only), ".." for "::". Returns -1 on an unknown escape. */
static int legacy_ident(struct sb *b, const char *s, size_t n)
{
	static const struct { const char *code, *text; } esc[] = {
		{ "SP", "@" }, { "BP", "*" }, { "RF", "&" }, { "LT", "<" }, { "GT", ">" },
		{ "LP", "(" }, { "RP", ")" }, { "C", "," },
	};
	size_t i = 0;
	if (n >= 2 && s[0] == '_' && s[1] == '$')
		i = 1;   /* an identifier can't start with '$': rustc prefixes '_' */
	while (i < n) {
		if (s[i] == '$') {
			const char *end = memchr(s + i + 1, '$', n - i - 1);
			if (!end)
				return -1;
			const char *code = s + i + 1;
			size_t clen = (size_t)(end - code);
			int done = 0;
			for (size_t k = 0; k < sizeof(esc) / sizeof(esc[0]) && !done; k++)
				if (strlen(esc[k].code) == clen && memcmp(esc[k].code, code, clen) == 0) {
					sb_puts(b, esc[k].text);
					done = 1;
				}
			if (!done) {
				if (clen < 2 || clen > 3 || code[0] != 'u')
					return -1;
				int v = 0;
				for (size_t k = 1; k < clen; k++) {
					if (!is_hex(code[k]))
						return -1;
					v = v * 16 + hex_val(code[k]);
				}
				if (v < 0x20 || v > 0x7e)
					return -1;
				char c = (char)v;
				sb_putn(b, &c, 1);
			}
			i += clen + 2;
		} else if (s[i] == '.' && i + 1 < n && s[i + 1] == '.') {
			sb_puts(b, "::");
			i += 2;
		} else {
			sb_putn(b, s + i, 1);
			i++;
		}
	}
	return 0;
}

static int legacy_is_hash(const char *s, size_t n)
{
	if (n != 17 || s[0] != 'h')
		return 0;
	for (size_t i = 1; i < n; i++)
		if (!is_hex(s[i]))
			return 0;
	return 1;
}

char *demangle_rust_legacy(const char *name)
{
	const char *p;
	if (strncmp(name, "_ZN", 3) == 0)
		p = name + 3;
	else if (strncmp(name, "__ZN", 4) == 0)
		p = name + 4;
	else
		return NULL;
	enum { MAX_PARTS = 256 };
	const char *part[MAX_PARTS];
	size_t plen[MAX_PARTS];
	int n = 0;
	while (*p != 'E') {
		if (*p < '0' || *p > '9' || n == MAX_PARTS)
			return NULL;
		size_t len = 0;
		while (*p >= '0' && *p <= '9') {
			len = len * 10 + (size_t)(*p++ - '0');
			if (len > 4096)
				return NULL;
		}
		if (len == 0 || strnlen(p, len) < len)
			return NULL;
		part[n] = p;
		plen[n++] = len;
		p += len;
	}
	p++;
	/* Only names ending in rustc's hash are Rust's: the rest are C++'s. A suffix
	 * after 'E' is LLVM's (".llvm.1234") or a linker's, and is dropped. */
	if (n < 2 || !legacy_is_hash(part[n - 1], plen[n - 1]) || (*p && *p != '.'))
		return NULL;
	struct sb b = { 0 };
	for (int i = 0; i < n - 1; i++) {
		if (i)
			sb_puts(&b, "::");
		if (legacy_ident(&b, part[i], plen[i]) < 0)
			b.err = 1;
	}
	return sb_finish(&b);
}

/* ---------------------------------------------------------------- Rust v0 */

struct v0 {
	const char *s;             /* the name after "_R" */
	size_t n, pos;             /* its length, the parse position */
	int depth;                 /* recursion depth */
	struct sb out;
};

static int v0_fail(struct v0 *p)
{
	p->out.err = 1;
	return -1;
}

static int v0_peek(const struct v0 *p)
{
	return p->pos < p->n ? p->s[p->pos] : 0;
}

static int v0_eat(struct v0 *p, char c)
{
	if (v0_peek(p) == c) {
		p->pos++;
		return 1;
	}
	return 0;
}

/* base-62-number: {0-9a-zA-Z} "_"; "_" alone is 0, else the digits' value + 1. */
static int v0_base62(struct v0 *p, uint64_t *v)
{
	*v = 0;
	if (v0_eat(p, '_'))
		return 0;
	uint64_t x = 0;
	for (;;) {
		int c = v0_peek(p), d;
		if (c == '_')
			break;
		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'a' && c <= 'z')
			d = 10 + c - 'a';
		else if (c >= 'A' && c <= 'Z')
			d = 36 + c - 'A';
		else
			return v0_fail(p);
		if (x > (UINT64_MAX - (uint64_t)d) / 62)
			return v0_fail(p);
		x = x * 62 + (uint64_t)d;
		p->pos++;
	}
	p->pos++;
	*v = x + 1;
	return 0;
}

/* ["s" base-62-number]: the disambiguator, 0 when absent, else the number + 1. */
static int v0_disambiguator(struct v0 *p, uint64_t *v)
{
	*v = 0;
	if (!v0_eat(p, 's'))
		return 0;
	if (v0_base62(p, v) < 0)
		return -1;
	(*v)++;
	return 0;
}

/* undisambiguated-identifier: ["u"] decimal-number ["_"] bytes. Punycode ("u") is
 * printed as is, with a "punycode{...}" marker, rather than decoded. */
static int v0_ident(struct v0 *p, const char **s, size_t *len, int *puny)
{
	*puny = v0_eat(p, 'u');
	int c = v0_peek(p);
	if (c < '0' || c > '9')
		return v0_fail(p);
	size_t n = 0;
	if (c == '0') {
		p->pos++;
	} else {
		while ((c = v0_peek(p)) >= '0' && c <= '9') {
			n = n * 10 + (size_t)(c - '0');
			p->pos++;
			if (n > p->n)
				return v0_fail(p);
		}
	}
	v0_eat(p, '_');
	if (n > p->n - p->pos)
		return v0_fail(p);
	*s = p->s + p->pos;
	*len = n;
	p->pos += n;
	return 0;
}

static void v0_put_ident(struct v0 *p, const char *s, size_t len, int puny)
{
	if (puny) {
		sb_puts(&p->out, "punycode{");
		sb_putn(&p->out, s, len);
		sb_puts(&p->out, "}");
	} else {
		sb_putn(&p->out, s, len);
	}
}

static int v0_path(struct v0 *p, int in_value);
static int v0_type(struct v0 *p);

/* Runs `fn` at the position a backref ("B" base-62-number) points to, before the
 * current one; the parse then continues after the backref. */
static int v0_backref(struct v0 *p, int (*fn)(struct v0 *, int), int arg)
{
	size_t start = p->pos - 1;
	uint64_t target;
	if (v0_base62(p, &target) < 0 || target >= start)
		return v0_fail(p);
	if (++p->depth > MAX_DEPTH)
		return v0_fail(p);
	size_t save = p->pos;
	p->pos = (size_t)target;
	int r = fn(p, arg);
	p->pos = save;
	p->depth--;
	return r;
}

static int v0_type_fn(struct v0 *p, int unused)
{
	(void)unused;
	return v0_type(p);
}

static int v0_lifetime(struct v0 *p)
{
	uint64_t v;
	if (v0_base62(p, &v) < 0)
		return -1;
	sb_puts(&p->out, "'_");
	return 0;
}

static int v0_binder(struct v0 *p)
{
	uint64_t v;
	if (v0_eat(p, 'G'))
		return v0_base62(p, &v);
	return 0;
}

/* const: type const-data | "p" | backref. Integers in hex, printed in decimal;
 * bools and chars as such; anything else as "_". */
static int v0_const_fn(struct v0 *p, int unused);

static int v0_const(struct v0 *p)
{
	if (v0_eat(p, 'B'))
		return v0_backref(p, v0_const_fn, 0);
	if (v0_eat(p, 'p')) {
		sb_puts(&p->out, "_");
		return 0;
	}
	int t = v0_peek(p);
	if (!t)
		return v0_fail(p);
	p->pos++;
	int neg = 0;
	if (strchr("aslxnih", t) == NULL && strchr("tmyojbc", t) == NULL)
		return v0_fail(p);   /* only integer, bool and char constants */
	if (v0_eat(p, 'n'))
		neg = 1;
	uint64_t v = 0;
	while (is_hex((char)v0_peek(p))) {
		if (v >> 60)
			return v0_fail(p);
		v = v * 16 + (uint64_t)hex_val(p->s[p->pos++]);
	}
	if (!v0_eat(p, '_'))
		return v0_fail(p);
	if (t == 'b') {
		sb_puts(&p->out, v ? "true" : "false");
	} else if (t == 'c' && v >= 0x20 && v < 0x7f) {
		char q[4] = { '\'', (char)v, '\'', 0 };
		sb_puts(&p->out, q);
	} else {
		if (neg)
			sb_puts(&p->out, "-");
		sb_putu(&p->out, v);
	}
	return 0;
}

static int v0_const_fn(struct v0 *p, int unused)
{
	(void)unused;
	return v0_const(p);
}

/* generic-arg: lifetime | type | "K" const */
static int v0_generic_arg(struct v0 *p)
{
	if (v0_eat(p, 'L'))
		return v0_lifetime(p);
	if (v0_eat(p, 'K'))
		return v0_const(p);
	return v0_type(p);
}

static const char *v0_basic(int c)
{
	switch (c) {
	case 'a': return "i8";    case 'b': return "bool";  case 'c': return "char";
	case 'd': return "f64";   case 'e': return "str";   case 'f': return "f32";
	case 'h': return "u8";    case 'i': return "isize"; case 'j': return "usize";
	case 'l': return "i32";   case 'm': return "u32";   case 'n': return "i128";
	case 'o': return "u128";  case 's': return "i16";   case 't': return "u16";
	case 'u': return "()";    case 'v': return "...";   case 'x': return "i64";
	case 'y': return "u64";   case 'z': return "!";     case 'p': return "_";
	default:  return NULL;
	}
}

/* fn-sig: [binder] ["U"] ["K" abi] {type} "E" type */
static int v0_fn_sig(struct v0 *p)
{
	if (v0_binder(p) < 0)
		return -1;
	if (v0_eat(p, 'U'))
		sb_puts(&p->out, "unsafe ");
	if (v0_eat(p, 'K')) {
		sb_puts(&p->out, "extern \"");
		if (v0_eat(p, 'C')) {
			sb_puts(&p->out, "C");
		} else {
			const char *s;
			size_t len;
			int puny;
			if (v0_ident(p, &s, &len, &puny) < 0)
				return -1;
			for (size_t i = 0; i < len; i++)
				sb_putn(&p->out, s[i] == '_' ? "-" : s + i, 1);
		}
		sb_puts(&p->out, "\" ");
	}
	sb_puts(&p->out, "fn(");
	for (int i = 0; !v0_eat(p, 'E'); i++) {
		if (p->pos >= p->n)
			return v0_fail(p);
		if (i)
			sb_puts(&p->out, ", ");
		if (v0_type(p) < 0)
			return -1;
	}
	sb_puts(&p->out, ")");
	if (v0_peek(p) == 'u') {
		p->pos++;
	} else {
		sb_puts(&p->out, " -> ");
		if (v0_type(p) < 0)
			return -1;
	}
	return 0;
}

/* dyn-bounds: [binder] {path {"p" undisambiguated-identifier type}} "E" lifetime */
static int v0_dyn(struct v0 *p)
{
	sb_puts(&p->out, "dyn ");
	if (v0_binder(p) < 0)
		return -1;
	for (int i = 0; !v0_eat(p, 'E'); i++) {
		if (p->pos >= p->n)
			return v0_fail(p);
		if (i)
			sb_puts(&p->out, " + ");
		if (v0_path(p, 0) < 0)
			return -1;
		/* associated-type bindings go inside the trait's <...>: "FnBox<(), Output = ()>" */
		for (int k = 0; v0_eat(p, 'p'); k++) {
			const char *s;
			size_t len;
			int puny;
			if (v0_ident(p, &s, &len, &puny) < 0)
				return -1;
			if (k) {
				sb_puts(&p->out, ", ");
			} else if (p->out.len && p->out.s[p->out.len - 1] == '>') {
				p->out.s[--p->out.len] = '\0';
				sb_puts(&p->out, ", ");
			} else {
				sb_puts(&p->out, "<");
			}
			v0_put_ident(p, s, len, puny);
			sb_puts(&p->out, " = ");
			if (v0_type(p) < 0)
				return -1;
			if (v0_peek(p) != 'p')
				sb_puts(&p->out, ">");
		}
	}
	uint64_t lt;
	return v0_eat(p, 'L') ? v0_base62(p, &lt) : v0_fail(p);
}

static int v0_type(struct v0 *p)
{
	if (++p->depth > MAX_DEPTH)
		return v0_fail(p);
	int r = 0, c = v0_peek(p);
	const char *basic = v0_basic(c);
	if (basic) {
		p->pos++;
		sb_puts(&p->out, basic);
		p->depth--;
		return 0;
	}
	p->pos++;
	switch (c) {
	case 'A': case 'S':
		sb_puts(&p->out, "[");
		r = v0_type(p);
		if (r == 0 && c == 'A') {
			sb_puts(&p->out, "; ");
			r = v0_const(p);
		}
		sb_puts(&p->out, "]");
		break;
	case 'T': {
		int i = 0;
		sb_puts(&p->out, "(");
		for (; r == 0 && !v0_eat(p, 'E'); i++) {
			if (p->pos >= p->n) {
				r = v0_fail(p);
				break;
			}
			if (i)
				sb_puts(&p->out, ", ");
			r = v0_type(p);
		}
		sb_puts(&p->out, i == 1 ? ",)" : ")");
		break;
	}
	case 'R': case 'Q':
		sb_puts(&p->out, c == 'R' ? "&" : "&mut ");
		if (v0_eat(p, 'L')) {
			uint64_t lt;
			r = v0_base62(p, &lt);
		}
		if (r == 0)
			r = v0_type(p);
		break;
	case 'P': case 'O':
		sb_puts(&p->out, c == 'P' ? "*const " : "*mut ");
		r = v0_type(p);
		break;
	case 'F':
		r = v0_fn_sig(p);
		break;
	case 'D':
		r = v0_dyn(p);
		break;
	case 'B':
		r = v0_backref(p, v0_type_fn, 0);
		break;
	default:
		p->pos--;
		r = v0_path(p, 0);
		break;
	}
	p->depth--;
	return r;
}

static int v0_path_fn(struct v0 *p, int in_value)
{
	return v0_path(p, in_value);
}

/* path (see the v0 grammar); `in_value`: generic arguments print as "::<...>". */
static int v0_path(struct v0 *p, int in_value)
{
	if (++p->depth > MAX_DEPTH)
		return v0_fail(p);
	int r = 0, c = v0_peek(p);
	uint64_t dis;
	const char *s;
	size_t len;
	int puny;
	p->pos++;
	switch (c) {
	case 'C':   /* crate root: its disambiguator is left out */
		r = v0_disambiguator(p, &dis) < 0 || v0_ident(p, &s, &len, &puny) < 0 ? -1 : 0;
		if (r == 0)
			v0_put_ident(p, s, len, puny);
		break;
	case 'M':   /* inherent impl: <Type> */
	case 'X':   /* trait impl: <Type as Trait> */
	case 'Y': { /* trait definition: <Type as Trait> */
		if (c != 'Y') {
			/* impl-path: [disambiguator] path, the impl's own path, not printed */
			size_t save = p->out.len;
			r = v0_disambiguator(p, &dis) < 0 || v0_path(p, 0) < 0 ? -1 : 0;
			p->out.len = save;
			if (p->out.s)
				p->out.s[save] = '\0';
		}
		sb_puts(&p->out, "<");
		if (r == 0)
			r = v0_type(p);
		if (r == 0 && c != 'M') {
			sb_puts(&p->out, " as ");
			r = v0_path(p, 0);
		}
		sb_puts(&p->out, ">");
		break;
	}
	case 'N': { /* nested: namespace path identifier */
		int ns = v0_peek(p);
		if (!((ns >= 'a' && ns <= 'z') || (ns >= 'A' && ns <= 'Z'))) {
			r = v0_fail(p);
			break;
		}
		p->pos++;
		r = v0_path(p, in_value);
		if (r == 0)
			r = v0_disambiguator(p, &dis) < 0 || v0_ident(p, &s, &len, &puny) < 0 ? -1 : 0;
		if (r != 0)
			break;
		if (ns >= 'A' && ns <= 'Z') {   /* closures, shims: {closure#N} */
			sb_puts(&p->out, "::{");
			if (ns == 'C')
				sb_puts(&p->out, "closure");
			else if (ns == 'S')
				sb_puts(&p->out, "shim");
			else {
				char nc = (char)ns;
				sb_putn(&p->out, &nc, 1);
			}
			if (len) {
				sb_puts(&p->out, ":");
				v0_put_ident(p, s, len, puny);
			}
			sb_puts(&p->out, "#");
			sb_putu(&p->out, dis);
			sb_puts(&p->out, "}");
		} else if (len) {
			sb_puts(&p->out, "::");
			v0_put_ident(p, s, len, puny);
		}
		break;
	}
	case 'I':   /* generic args */
		r = v0_path(p, in_value);
		sb_puts(&p->out, in_value ? "::<" : "<");
		for (int i = 0; r == 0 && !v0_eat(p, 'E'); i++) {
			if (p->pos >= p->n) {
				r = v0_fail(p);
				break;
			}
			if (i)
				sb_puts(&p->out, ", ");
			r = v0_generic_arg(p);
		}
		sb_puts(&p->out, ">");
		break;
	case 'B':
		r = v0_backref(p, v0_path_fn, in_value);
		break;
	default:
		r = v0_fail(p);
		break;
	}
	p->depth--;
	return r;
}

char *demangle_rust_v0(const char *name)
{
	const char *s;
	if (strncmp(name, "_R", 2) == 0)
		s = name + 2;
	else if (strncmp(name, "__R", 3) == 0)
		s = name + 3;
	else
		return NULL;
	if (*s >= '0' && *s <= '9')
		return NULL;   /* an encoding version other than 0 */
	struct v0 p = { .s = s, .n = strlen(s) };
	if (*s < 'A' || *s > 'Z' || v0_path(&p, 1) < 0) {
		free(p.out.s);
		return NULL;
	}
	/* [instantiating-crate] is not printed; a vendor suffix (".llvm.N") is dropped */
	if (p.pos < p.n && p.s[p.pos] != '.') {
		struct v0 q = p;
		q.out = (struct sb){ 0 };
		if (v0_path(&q, 0) < 0 || (q.pos < q.n && q.s[q.pos] != '.')) {
			free(q.out.s);
			free(p.out.s);
			return NULL;
		}
		free(q.out.s);
	}
	return sb_finish(&p.out);
}

/* ---------------------------------------------------------------- any name */

char *demangle_symbol(const char *name, demangle_fn cxa)
{
	if (name[0] != '_')
		return NULL;
	char *r = demangle_rust_legacy(name);
	if (!r)
		r = demangle_rust_v0(name);
	if (r || name[1] != 'Z')
		return r;
	if (cxa) {
		int status = -1;
		r = cxa(name, NULL, NULL, &status);
		if (status == 0 && r)
			return r;
		free(r);
		return NULL;
	}
	/* No libstdc++ in the process: libiberty's demangler, the same code as
	 * libstdc++'s (both come from GCC), linked in statically. */
	return cplus_demangle(name, DMGL_PARAMS | DMGL_ANSI);
}
