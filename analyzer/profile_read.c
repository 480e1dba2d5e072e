/* profile_read.c - reads a profile file into struct profile (profile_read.h), validating
 * everything once. The top level is walked by a small scanner of our own; every value in
 * it (each program point, each frame string, the "audioprof" object) is decoded by
 * jansson on its own, so memory stays near the compact arrays instead of a JSON tree of
 * ten times the file size. A mapped file's pages are released behind the scanner.
 * What the values mean and which types they must have is profile_json.c's part; the
 * invariants between them (validate) and the bounded input every command reads through
 * (profile_input_open: AUDIOPROF_MAX_INPUT) are here. */
#include "profile_read.h"
#include "profile_int.h"
#include "options.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_NESTING   64                 /* the format needs 4; anything deeper is not ours */
#define MAX_SLICE     (1u << 30)         /* one value larger than this is refused */
#define DROP_STEP     (8u << 20)         /* release mapped pages every 8 MiB */

/* ------------------------------------------------------------------ arena */

/* Strings live in chunks that are freed together with the profile. */
struct chunk {
	struct chunk *next;
	size_t used, cap;
	char data[];
};

static char *arena_alloc(struct chunk **head, size_t n)
{
	struct chunk *c = *head;
	if (!c || c->cap - c->used < n) {
		size_t cap = n > (1u << 20) ? n : (1u << 20);
		c = malloc(sizeof(*c) + cap);
		if (!c)
			return NULL;
		c->next = *head;
		c->used = 0;
		c->cap = cap;
		*head = c;
	}
	char *s = c->data + c->used;
	c->used += n;
	return s;
}

static const char *arena_str(struct chunk **head, const char *s, size_t n)
{
	char *d = arena_alloc(head, n + 1);
	if (!d)
		return NULL;
	memcpy(d, s, n);
	d[n] = '\0';
	return d;
}

static void arena_free(struct chunk *c)
{
	while (c) {
		struct chunk *next = c->next;
		free(c);
		c = next;
	}
}

int rd_grow(void *arr, size_t *cap, size_t need, size_t size)
{
	if (need <= *cap)
		return 0;
	size_t n = *cap ? *cap : 64;
	while (n < need)
		n *= 2;
	void *p = realloc(*(void **)arr, n * size);
	if (!p)
		return -1;
	*(void **)arr = p;
	*cap = n;
	return 0;
}

/* ------------------------------------------------------------------ reader state */

#define RD_TOP_NAME(key, type, unit, presence, what) #key,
const char *const rd_top_names[K_COUNT] = { PROFILE_TOP(RD_TOP_NAME) };
#undef RD_TOP_NAME

const char *rd_str(struct rd *r, const char *str, size_t n)
{
	return arena_str(&r->arena, str, n);
}

/* Line and column (from 1) of byte `off` of buf. */
static void line_col_buf(const char *buf, size_t off, size_t *line, size_t *col)
{
	size_t l = 1, c = 1;
	for (size_t i = 0; i < off; i++) {
		if (buf[i] == '\n') {
			l++;
			c = 1;
		} else {
			c++;
		}
	}
	*line = l;
	*col = c;
}

static void line_col(const struct rd *r, size_t off, size_t *line, size_t *col)
{
	line_col_buf(r->buf, off > r->len ? r->len : off, line, col);
}

int rd_fail(struct rd *r, const char *fmt, ...)
{
	int n = snprintf(r->err, r->errlen, "%s: ", r->name);
	if (n < 0 || (size_t)n >= r->errlen)
		return -1;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(r->err + n, r->errlen - n, fmt, ap);
	va_end(ap);
	return -1;
}

/* "line L, column C" of byte offset `off`, into buf. */
static const char *at(const struct rd *r, size_t off, char *buf, size_t len)
{
	size_t l, c;
	line_col(r, off, &l, &c);
	snprintf(buf, len, "line %zu, column %zu", l, c);
	return buf;
}

/* An error jansson reported for the slice that starts at `start`. */
static int fail_json(struct rd *r, size_t start, const json_error_t *e)
{
	char where[64];
	size_t off = start + (e->position > 0 ? (size_t)e->position : 0);
	at(r, off, where, sizeof(where));
	if (strncmp(e->text, "unable to decode byte", 21) == 0)
		return rd_fail(r, "invalid UTF-8 at %s (%s)", where, e->text);
	if (strstr(e->text, "maximum parsing depth"))
		return rd_fail(r, "nesting too deep at %s (%s)", where, e->text);
	if (strstr(e->text, "too big integer") || strstr(e->text, "real number overflow"))
		return rd_fail(r, "number too large at %s (%s)", where, e->text);
	return rd_fail(r, "not valid JSON at %s: %s", where, e->text);
}

/* Releases the mapped pages the scanner has passed (they are read again from the page
 * cache only if an error message needs a line number). */
static void drop_behind(struct rd *r)
{
	if (!r->mapped || r->pos - r->dropped < DROP_STEP)
		return;
	size_t upto = r->pos & ~((size_t)r->page - 1);
	if (upto > r->dropped) {
		madvise((char *)r->buf + r->dropped, upto - r->dropped, MADV_DONTNEED);
		r->dropped = upto;
	}
}

/* ------------------------------------------------------------------ scanner */

static int is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static void skip_ws(struct rd *r)
{
	while (r->pos < r->len && is_ws(r->buf[r->pos]))
		r->pos++;
}

static const char *desc_char(char c, char *buf, size_t len)
{
	if (c >= 0x21 && c < 0x7f)
		snprintf(buf, len, "'%c'", c);
	else
		snprintf(buf, len, "byte 0x%02x", (unsigned char)c);
	return buf;
}

/* Finds the end of the JSON value starting at r->pos (not validated: jansson does that
 * on the slice). `inside` names the place for a truncation message. */
static int value_end(struct rd *r, const char *inside, size_t *end)
{
	char where[64], ch[16];
	size_t i = r->pos;
	if (i >= r->len)
		return rd_fail(r, "truncated: the file ends inside %s", inside);
	char c = r->buf[i];
	if (c == '"') {
		for (i++; i < r->len; i++) {
			if (r->buf[i] == '\\')
				i++;
			else if (r->buf[i] == '"') {
				*end = i + 1;
				return 0;
			}
		}
		return rd_fail(r, "truncated: the file ends inside a string in %s", inside);
	}
	if (c == '{' || c == '[') {
		char stack[MAX_NESTING];
		int depth = 0;
		for (; i < r->len; i++) {
			c = r->buf[i];
			if (c == '"') {
				for (i++; i < r->len && r->buf[i] != '"'; i++)
					if (r->buf[i] == '\\')
						i++;
				if (i >= r->len)
					break;
			} else if (c == '{' || c == '[') {
				if (depth == MAX_NESTING)
					return rd_fail(r, "nesting too deep: more than %d levels at %s",
						    MAX_NESTING, at(r, i, where, sizeof(where)));
				stack[depth++] = c == '{' ? '}' : ']';
			} else if (c == '}' || c == ']') {
				if (stack[depth - 1] != c)
					return rd_fail(r, "not valid JSON at %s: %s does not close '%c'",
						    at(r, i, where, sizeof(where)),
						    desc_char(c, ch, sizeof(ch)),
						    stack[depth - 1] == '}' ? '{' : '[');
				if (--depth == 0) {
					*end = i + 1;
					return 0;
				}
			}
		}
		return rd_fail(r, "truncated: the file ends inside %s", inside);
	}
	if (c == ',' || c == ':' || c == ']' || c == '}')
		return rd_fail(r, "not valid JSON at %s: expected a value, found %s",
			    at(r, i, where, sizeof(where)), desc_char(c, ch, sizeof(ch)));
	while (i < r->len && !is_ws(r->buf[i]) && r->buf[i] != ',' && r->buf[i] != ']' &&
	       r->buf[i] != '}')
		i++;
	*end = i;
	return 0;
}

/* Decodes buf[start, end) with jansson. */
json_t *rd_decode(struct rd *r, size_t start, size_t end)
{
	json_error_t e;
	if (end - start > MAX_SLICE) {
		char where[64];
		rd_fail(r, "a single value larger than %u MiB at %s", MAX_SLICE >> 20,
		     at(r, start, where, sizeof(where)));
		return NULL;
	}
	json_t *v = json_loadb(r->buf + start, end - start,
			       JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &e);
	if (!v)
		fail_json(r, start, &e);
	return v;
}

/* A string value at r->pos, copied into the arena. Plain printable ASCII is copied
 * directly; anything else (escapes, UTF-8) goes through jansson, which validates it. */
static const char *scan_string(struct rd *r, const char *inside, size_t *outlen)
{
	size_t end;
	char where[64], ch[16];
	if (r->pos >= r->len) {
		rd_fail(r, "truncated: the file ends inside %s", inside);
		return NULL;
	}
	if (r->buf[r->pos] != '"') {
		rd_fail(r, "%s: expected a string at %s, found %s", inside,
		     at(r, r->pos, where, sizeof(where)), desc_char(r->buf[r->pos], ch, sizeof(ch)));
		return NULL;
	}
	if (value_end(r, inside, &end) != 0)
		return NULL;
	size_t start = r->pos;
	int plain = 1;
	for (size_t i = start + 1; i < end - 1; i++) {
		unsigned char c = (unsigned char)r->buf[i];
		if (c < 0x20 || c >= 0x7f || c == '\\') {
			plain = 0;
			break;
		}
	}
	const char *s;
	if (plain) {
		s = arena_str(&r->arena, r->buf + start + 1, end - start - 2);
		if (outlen)
			*outlen = end - start - 2;
	} else {
		json_t *v = rd_decode(r, start, end);
		if (!v)
			return NULL;
		s = rd_str(r, json_string_value(v), json_string_length(v));
		if (outlen)
			*outlen = json_string_length(v);
		json_decref(v);
	}
	if (!s) {
		rd_fail(r, "out of memory");
		return NULL;
	}
	r->pos = end;
	return s;
}

/* The fast path of scan_string(): a plain printable-ASCII string at r->pos, copied.
 * NULL (nothing consumed) for anything else, including out of memory. */
static const char *fast_string(struct rd *r)
{
	size_t i = r->pos;
	if (i >= r->len || r->buf[i] != '"')
		return NULL;
	for (i++; i < r->len; i++) {
		unsigned char c = (unsigned char)r->buf[i];
		if (c == '"')
			break;
		if (c < 0x20 || c >= 0x7f || c == '\\')
			return NULL;
	}
	if (i >= r->len)
		return NULL;
	const char *s = arena_str(&r->arena, r->buf + r->pos + 1, i - r->pos - 1);
	if (s)
		r->pos = i + 1;
	return s;
}

/* The fast path for a program point as writers lay it out: a flat object of plain keys
 * whose values are non-negative integers or arrays of them. Returns 1 with the pp added
 * and r->pos past it, or 0 with nothing changed: the caller then takes the general path
 * through jansson, which also produces the error message for anything invalid. */
static int fast_int(const char *b, size_t len, size_t *i, int64_t *out, int allow_neg)
{
	size_t k = *i;
	int neg = 0;
	if (k < len && b[k] == '-' && allow_neg) {
		neg = 1;
		k++;
	}
	size_t start = k;
	int64_t v = 0;
	while (k < len && b[k] >= '0' && b[k] <= '9' && k - start < 18)
		v = v * 10 + (b[k++] - '0');
	if (k == start || (b[start] == '0' && k - start > 1))
		return 0;
	if (k < len && ((b[k] >= '0' && b[k] <= '9') || b[k] == '.' || b[k] == 'e' || b[k] == 'E'))
		return 0;   /* 19+ digits, fractions, exponents: the general path decides */
	*out = neg ? -v : v;
	*i = k;
	return 1;
}

/* The keys the fast path knows: PROFILE_PP's numbers and its "fs", with the offset of
 * each number in struct pp. Any other key ("ids") is skipped if its value is a number
 * or an array of them. */
struct fast_key {
	const char *name;
	size_t len;              /* strlen(name) */
	size_t off;              /* offsetof(struct pp, name); unused for fs */
	int need;                /* presence ALWAYS: the general path names what is missing */
	int fs;                  /* the stack */
};
#define FAST_NEED_ALWAYS 1
#define FAST_NEED_BKLT 0
#define FAST_NEED_AUDIOPROF 0
#define FAST_NEED_NEWER 0
#define FAST_NEED_OPTIONAL 0
#define FAST_KEY(key, src, type, unit, presence, what) FAST_KEY_##type(key, FAST_NEED_##presence)
#define FAST_KEY_UINT(k, need) { #k, sizeof(#k) - 1, offsetof(struct pp, k), need, 0 },
#define FAST_KEY_UINT64(k, need) FAST_KEY_UINT(k, need)
#define FAST_KEY_FRAMES(k, need) { #k, sizeof(#k) - 1, 0, need, 1 },
#define FAST_KEY_INTS(k, need)
static const struct fast_key fast_keys[] = { PROFILE_PP(FAST_KEY) };
enum { NK = sizeof(fast_keys) / sizeof(fast_keys[0]) };
_Static_assert(NK <= 32, "the fast path keeps a bit per key in an unsigned");

static int fast_pp(struct rd *r)
{
	struct profile *p = r->p;
	const char *b = r->buf;
	size_t len = r->len, i = r->pos;
	struct pp pp;
	unsigned seen = 0;
	int64_t *field = (int64_t *)&pp;
	memset(&pp, 0xff, sizeof(pp));      /* every field -1: absent */
	size_t nfs = p->nfs, nfs0 = p->nfs;
	if (i >= len || b[i++] != '{')
		return 0;
	for (;;) {
		while (i < len && is_ws(b[i]))
			i++;
		if (i >= len || b[i] != '"')
			return 0;
		size_t ks = ++i;
		while (i < len && ((b[i] >= 'a' && b[i] <= 'z') || (b[i] >= 'A' && b[i] <= 'Z') ||
				   (b[i] >= '0' && b[i] <= '9') || b[i] == '_'))
			i++;
		if (i >= len || b[i] != '"')
			return 0;
		size_t kl = i++ - ks;
		int k = -1;
		for (int j = 0; j < NK; j++)
			if (fast_keys[j].len == kl && memcmp(fast_keys[j].name, b + ks, kl) == 0)
				k = j;
		if (k >= 0 && (seen & (1u << k)))
			return 0;
		if (k >= 0)
			seen |= 1u << k;
		while (i < len && is_ws(b[i]))
			i++;
		if (i >= len || b[i++] != ':')
			return 0;
		while (i < len && is_ws(b[i]))
			i++;
		if (i < len && b[i] == '[') {
			if (k >= 0 && !fast_keys[k].fs)
				return 0;
			i++;
			for (int first = 1;; first = 0) {
				while (i < len && is_ws(b[i]))
					i++;
				if (i < len && b[i] == ']' && first) {
					i++;
					break;
				}
				int64_t x;
				int fs = k >= 0 && fast_keys[k].fs;
				if (!fast_int(b, len, &i, &x, !fs))
					return 0;
				if (fs) {
					if (x < 1 || x > UINT32_MAX || nfs - nfs0 >= MAX_FRAMES ||
					    nfs >= UINT32_MAX ||
					    rd_grow(&p->fs, &r->cap_fs, nfs + 1, sizeof(*p->fs)) != 0)
						return 0;
					p->fs[nfs++] = (uint32_t)x;
				}
				while (i < len && is_ws(b[i]))
					i++;
				if (i < len && b[i] == ',') {
					i++;
					continue;
				}
				if (i < len && b[i] == ']') {
					i++;
					break;
				}
				return 0;
			}
		} else {
			int64_t x;
			if ((k >= 0 && fast_keys[k].fs) || !fast_int(b, len, &i, &x, k < 0))
				return 0;
			if (k >= 0)
				field[fast_keys[k].off / sizeof(int64_t)] = x;
		}
		while (i < len && is_ws(b[i]))
			i++;
		if (i < len && b[i] == ',') {
			i++;
			continue;
		}
		if (i < len && b[i] == '}') {
			i++;
			break;
		}
		return 0;
	}
	/* tb, tbk and a non-empty fs are required: the general path says so. */
	for (int j = 0; j < NK; j++)
		if (fast_keys[j].need && !(seen & (1u << j)))
			return 0;
	if (nfs == nfs0)
		return 0;
	if (rd_grow(&p->pps, &r->cap_pps, p->npps + 1, sizeof(*p->pps)) != 0)
		return 0;
	pp.fs_off = (uint32_t)nfs0;
	pp.fs_len = (uint32_t)(nfs - nfs0);
	p->nfs = nfs;
	p->has_slk |= pp.slk >= 0;
	p->has_cb |= pp.cbk >= 0;
	p->pps[p->npps++] = pp;
	r->pos = i;
	return 1;
}

/* The general path for a program point: jansson decodes it, profile_json.c reads it. */
static int read_pp(struct rd *r, size_t idx, size_t start, size_t end)
{
	json_t *o = rd_decode(r, start, end);
	if (!o)
		return -1;
	int rc = rd_json_pp(r, idx, o);
	json_decref(o);
	return rc;
}

/* A top-level array walked element by element: "pps" (objects) or "ftbl" (strings). */
static int read_stream_array(struct rd *r, enum top_key k)
{
	char where[64], ch[16];
	const char *inside = k == K_pps ? "the \"pps\" array" : "the \"ftbl\" array";
	if (r->pos >= r->len)
		return rd_fail(r, "truncated: the file ends before %s", inside);
	if (r->buf[r->pos] != '[')
		return rd_fail(r, "\"%s\": expected an array at %s, found %s", rd_top_names[k],
			    at(r, r->pos, where, sizeof(where)),
			    desc_char(r->buf[r->pos], ch, sizeof(ch)));
	r->pos++;
	skip_ws(r);
	if (r->pos < r->len && r->buf[r->pos] == ']') {
		r->pos++;
		return 0;
	}
	for (size_t idx = 0;; idx++) {
		skip_ws(r);
		if (k == K_pps) {
			size_t end;
			if (fast_pp(r)) {
				drop_behind(r);
				goto next;
			}
			if (value_end(r, inside, &end) != 0)
				return -1;
			if (read_pp(r, idx, r->pos, end) != 0)
				return -1;
			r->pos = end;
		} else {
			struct profile *p = r->p;
			char elem[32];
			if (rd_grow(&p->ftbl, &r->cap_ftbl, p->nftbl + 1, sizeof(*p->ftbl)) != 0)
				return rd_fail(r, "out of memory");
			const char *s = fast_string(r);
			if (!s) {
				snprintf(elem, sizeof(elem), "ftbl[%zu]", idx);
				s = scan_string(r, elem, NULL);
			}
			if (!s)
				return -1;
			p->ftbl[p->nftbl++] = s;
		}
		drop_behind(r);
next:
		skip_ws(r);
		if (r->pos >= r->len)
			return rd_fail(r, "truncated: the file ends inside %s", inside);
		char c = r->buf[r->pos++];
		if (c == ']')
			return 0;
		if (c != ',')
			return rd_fail(r, "not valid JSON at %s: expected ',' or ']' in %s, found %s",
				    at(r, r->pos - 1, where, sizeof(where)), inside,
				    desc_char(c, ch, sizeof(ch)));
	}
}

/* ------------------------------------------------------------------ top level */

/* The input does not start with '{': say what it is. */
static int not_an_object(struct rd *r)
{
	json_error_t e;
	if (r->len - r->pos > (64u << 20))
		return rd_fail(r, "not a JSON object: it does not start with '{'");
	json_t *v = json_loadb(r->buf, r->len, JSON_DECODE_ANY, &e);
	if (!v)
		return fail_json(r, 0, &e);
	rd_fail(r, "the JSON document is %s, not an object: not a profile", rd_type_desc(v));
	json_decref(v);
	return -1;
}

static int read_top(struct rd *r)
{
	char where[64], ch[16];
	skip_ws(r);
	if (r->len == 0)
		return rd_fail(r, "empty file");
	if (r->pos == r->len)
		return rd_fail(r, "empty file (only white space)");
	if (r->buf[r->pos] != '{')
		return not_an_object(r);
	r->pos++;
	skip_ws(r);
	if (r->pos < r->len && r->buf[r->pos] == '}') {
		r->pos++;
	} else {
		for (;;) {
			skip_ws(r);
			size_t key_at = r->pos;
			size_t klen;
			const char *key = scan_string(r, "the top-level object", &klen);
			if (!key)
				return -1;
			enum top_key k = K_COUNT;
			for (int i = 0; i < K_COUNT; i++)
				if (strcmp(key, rd_top_names[i]) == 0)
					k = i;
			if (k != K_COUNT) {
				if (r->seen & (1u << k))
					return rd_fail(r, "duplicate key \"%s\" at %s", key,
						    at(r, key_at, where, sizeof(where)));
				r->seen |= 1u << k;
			}
			skip_ws(r);
			if (r->pos >= r->len)
				return rd_fail(r, "truncated: the file ends after the key \"%s\"", key);
			if (r->buf[r->pos] != ':')
				return rd_fail(r, "not valid JSON at %s: expected ':' after \"%s\", found %s",
					    at(r, r->pos, where, sizeof(where)), key,
					    desc_char(r->buf[r->pos], ch, sizeof(ch)));
			r->pos++;
			skip_ws(r);
			if (k == K_pps || k == K_ftbl) {
				if (read_stream_array(r, k) != 0)
					return -1;
			} else {
				char inside[96];
				size_t end;
				snprintf(inside, sizeof(inside), "the value of \"%.60s\"", key);
				if (value_end(r, inside, &end) != 0)
					return -1;
				json_t *v = rd_decode(r, r->pos, end);
				if (!v)
					return -1;
				int rc = k == K_COUNT ? 0 : rd_json_top(r, k, v);
				json_decref(v);
				if (rc)
					return -1;
				r->pos = end;
			}
			skip_ws(r);
			if (r->pos >= r->len)
				return rd_fail(r, "truncated: the file ends before the closing '}'");
			char c = r->buf[r->pos++];
			if (c == '}')
				break;
			if (c != ',')
				return rd_fail(r, "not valid JSON at %s: expected ',' or '}', found %s",
					    at(r, r->pos - 1, where, sizeof(where)),
					    desc_char(c, ch, sizeof(ch)));
		}
	}
	skip_ws(r);
	if (r->pos != r->len)
		return rd_fail(r, "not valid JSON at %s: data after the end of the object",
			    at(r, r->pos, where, sizeof(where)));
	return 0;
}

/* ------------------------------------------------------------------ validation */

static int64_t sat_add(int64_t a, int64_t b)
{
	int64_t s;
	return __builtin_add_overflow(a, b, &s) ? INT64_MAX : s;
}

static int check_fs(struct rd *r, const char *ctx, size_t idx, uint32_t off, uint32_t len)
{
	const struct profile *p = r->p;
	for (uint32_t j = 0; j < len; j++) {
		uint32_t f = p->fs[off + j];
		if (f >= p->nftbl)
			return rd_fail(r, "%s[%zu].fs[%u]: frame index %u is out of range "
				    "(ftbl has %zu entries)", ctx, idx, j, f, p->nftbl);
	}
	return 0;
}

/* What a program point's numbers must satisfy, whoever wrote them: live blocks and
 * bytes (at the end, at the global peak, at the site's own maximum) are some of the
 * blocks allocated there, so never more than tb, tbk; in audioprof's files, what was
 * live at the peak or at the end never exceeds the site's own maximum (mb, mbk); bytes
 * need blocks; short-lived blocks (slk) are freed ones, so at most tbk - ebk; callback
 * allocations (cbk, cbb) are some of the site's. preload/engine/sites.c's sites_read() and profile.c's add_site() write numbers that
 * hold these even while threads allocate during a snapshot. Absent fields (-1) are
 * not compared. */
static int check_pp(struct rd *r, size_t i, const struct pp *pp)
{
	static const struct {
		size_t small, big;       /* offsets: small <= big */
		const char *why;
	} le[] = {
#define LE(a, b, why) { offsetof(struct pp, a), offsetof(struct pp, b), why }
		LE(eb, tb, "more bytes live at the end than were allocated here"),
		LE(ebk, tbk, "more blocks live at the end than were allocated here"),
		LE(gb, tb, "more bytes live at the peak than were allocated here"),
		LE(gbk, tbk, "more blocks live at the peak than were allocated here"),
		LE(mb, tb, "a maximum of live bytes above the bytes allocated here"),
		LE(mbk, tbk, "a maximum of live blocks above the blocks allocated here"),
		LE(cbk, tbk, "more blocks allocated in callbacks than in all"),
		LE(cbb, tb, "more bytes allocated in callbacks than in all"),
		LE(slk, tbk, "more short-lived blocks than blocks allocated"),
	};
	static const struct {
		size_t bytes, blocks;
		const char *what;
	} need[] = {
#define NB(a, b, w) { offsetof(struct pp, a), offsetof(struct pp, b), w }
		NB(tb, tbk, "allocated"), NB(eb, ebk, "live at the end"),
		NB(gb, gbk, "live at the peak"), NB(mb, mbk, "at the site's maximum"),
		NB(cbb, cbk, "allocated in callbacks"),
#undef NB
	};
	/* The names of struct pp's numbers, in its order (PROFILE_PP). */
#define PP_NAME(key, src, type, unit, presence, what) PROFILE_IF_NUMERIC_##type(#key,)
	static const char *const names[] = { PROFILE_PP(PP_NAME) };
#undef PP_NAME
	const int64_t *f = (const int64_t *)pp;
#define NAME(off) names[(off) / sizeof(int64_t)]
	for (size_t k = 0; k < sizeof(le) / sizeof(le[0]); k++) {
		int64_t a = f[le[k].small / sizeof(int64_t)], b = f[le[k].big / sizeof(int64_t)];
		if (a >= 0 && b >= 0 && a > b)
			return rd_fail(r, "pps[%zu].%s: %" PRId64 " is more than %s (%" PRId64 "): "
				    "%s, which cannot be", i, NAME(le[k].small), a, NAME(le[k].big),
				    b, le[k].why);
	}
	for (size_t k = 0; k < sizeof(need) / sizeof(need[0]); k++) {
		int64_t a = f[need[k].bytes / sizeof(int64_t)], b = f[need[k].blocks / sizeof(int64_t)];
		if (a > 0 && b == 0)
			return rd_fail(r, "pps[%zu].%s: %" PRId64 " bytes %s in 0 blocks (%s), which "
				    "cannot be", i, NAME(need[k].bytes), a, need[k].what,
				    NAME(need[k].blocks));
	}
	/* audioprof's mb and mbk are the site's true maxima of live bytes and blocks, so
	 * nothing live at the peak or at the end exceeds them. DHAT's are not: valgrind
	 * (dh_main.c, intro_Block) sets them only when an allocation at that very site
	 * raises the global maximum, and its own files have gb > mb and eb > mb. */
	static const struct {
		size_t small, big;
		const char *why;
	} le_ap[] = {
		LE(gb, mb, "more bytes live at the peak than the site's own maximum"),
		LE(eb, mb, "more bytes live at the end than the site's own maximum"),
		LE(gbk, mbk, "more blocks live at the peak than the site's own maximum"),
		LE(ebk, mbk, "more blocks live at the end than the site's own maximum"),
	};
	for (size_t k = 0; r->p->has_audioprof && k < sizeof(le_ap) / sizeof(le_ap[0]); k++) {
		int64_t a = f[le_ap[k].small / sizeof(int64_t)], b = f[le_ap[k].big / sizeof(int64_t)];
		if (a >= 0 && b >= 0 && a > b)
			return rd_fail(r, "pps[%zu].%s: %" PRId64 " is more than %s (%" PRId64 "): "
				    "%s, which cannot be", i, NAME(le_ap[k].small), a,
				    NAME(le_ap[k].big), b, le_ap[k].why);
	}
#undef NAME
#undef LE
	if (pp->tl > 0 && pp->tbk == 0)
		return rd_fail(r, "pps[%zu].tl: a lifetime of %" PRId64 " for 0 blocks (tbk), which "
			    "cannot be", i, pp->tl);
	if (pp->slk >= 0 && pp->ebk >= 0 && pp->slk > pp->tbk - pp->ebk)
		return rd_fail(r, "pps[%zu].slk: %" PRId64 " short-lived (freed) blocks, but only %"
			    PRId64 " of tbk %" PRId64 " were freed (ebk %" PRId64 " are live), which "
			    "cannot be", i, pp->slk, pp->tbk - pp->ebk, pp->tbk, pp->ebk);
	return 0;
}

/* The numbers of a program point that "bklt": true makes required (PROFILE_PP's BKLT). */
#define BKLT_NEED(key, src, type, unit, presence, what) BKLT_NEED_##presence(key)
#define BKLT_NEED_BKLT(k) { #k, offsetof(struct pp, k) },
#define BKLT_NEED_ALWAYS(k)
#define BKLT_NEED_AUDIOPROF(k)
#define BKLT_NEED_NEWER(k)
#define BKLT_NEED_OPTIONAL(k)
static const struct {
	const char *key;
	size_t off;
} bklt_need[] = { PROFILE_PP(BKLT_NEED) };

static int validate(struct rd *r)
{
	struct profile *p = r->p;
	if (!(r->seen & (1u << K_dhatFileVersion)))
		return rd_fail(r, "not a DHAT or audioprof profile: no \"dhatFileVersion\"");
	if (p->dhat_version != 2)
		return rd_fail(r, "dhatFileVersion is %" PRId64 "; only version 2 is supported",
			    p->dhat_version);
	if (!(r->seen & (1u << K_pps)))
		return rd_fail(r, "missing \"pps\" (the program points)");
	if (!(r->seen & (1u << K_ftbl)))
		return rd_fail(r, "missing \"ftbl\" (the frame table)");
	if (p->nftbl == 0)
		return rd_fail(r, "\"ftbl\" is empty: it must start with \"[root]\"");
	/* Without "bklt" (not a DHAT writer we know), lifetimes are there if the pps have them. */
	if (!(r->seen & (1u << K_bklt)))
		p->bklt = p->npps > 0 && p->pps[0].tl >= 0;
	for (size_t i = 0; i < p->npps; i++) {
		const struct pp *pp = &p->pps[i];
		if (p->bklt) {
			for (size_t k = 0; k < sizeof(bklt_need) / sizeof(bklt_need[0]); k++)
				if (*(const int64_t *)((const char *)pp + bklt_need[k].off) < 0)
					return rd_fail(r, "pps[%zu]: missing \"%s\" (required when "
						    "\"bklt\" is true)", i, bklt_need[k].key);
		}
		if (check_fs(r, "pps", i, pp->fs_off, pp->fs_len) || check_pp(r, i, pp))
			return -1;
	}
	if (p->bklt) {
		if (p->te < 0)
			return rd_fail(r, "missing \"te\" (required when \"bklt\" is true)");
		if (p->tg < 0)
			return rd_fail(r, "missing \"tg\" (required when \"bklt\" is true)");
		if (p->tg > p->te)
			return rd_fail(r, "\"tg\" (%" PRId64 ") is after the end \"te\" (%" PRId64 ")",
				    p->tg, p->te);
	}
	for (size_t i = 0; i < p->nviolations; i++) {
		const struct violation *v = &p->violations[i];
		if (check_fs(r, "audioprof.violations", i, v->fs_off, v->fs_len))
			return -1;
		if (v->callback >= 0 && (size_t)v->callback >= p->ncallbacks)
			return rd_fail(r, "audioprof.violations[%zu].callback: %" PRId64 " is out of "
				    "range (%zu callback%s)", i, v->callback, p->ncallbacks,
				    p->ncallbacks == 1 ? "" : "s");
	}
	for (size_t i = 0; i < p->cpu.nstacks; i++) {
		const struct cpu_stack *c = &p->cpu.stacks[i];
		if (check_fs(r, "audioprof.cpu.stacks", i, c->fs_off, c->fs_len))
			return -1;
		if (c->callback >= 0 && (size_t)c->callback >= p->ncallbacks)
			return rd_fail(r, "audioprof.cpu.stacks[%zu].callback: %" PRId64 " is out of "
				    "range (%zu callback%s)", i, c->callback, p->ncallbacks,
				    p->ncallbacks == 1 ? "" : "s");
	}
	for (size_t i = 0; i < p->ncallbacks; i++)
		for (size_t k = 0; k < p->callbacks[i].nslow; k++)
			for (size_t j = 0; j < p->callbacks[i].slow[k].nv; j++) {
				const struct cycle_violation *cv = &p->callbacks[i].slow[k].v[j];
				char ctx[96];
				snprintf(ctx, sizeof(ctx), "audioprof.callbacks[%zu].slow_cycles[%zu]"
					 ".violations", i, k);
				if (check_fs(r, ctx, j, cv->fs_off, cv->fs_len))
					return -1;
			}
	/* The totals the preload writes: curr_b and max_b come from one atomic word (live
	 * bytes and their maximum), frees are blocks allocated and no longer live. */
	if (p->has_totals && p->totals.curr_b > p->totals.max_b)
		return rd_fail(r, "audioprof.totals.curr_b: %" PRId64 " is more than max_b (%" PRId64
			    "): more bytes live at the end than at the peak, which cannot be",
			    p->totals.curr_b, p->totals.max_b);
	if (p->has_totals && p->totals.frees > p->totals.total_k)
		return rd_fail(r, "audioprof.totals.frees: %" PRId64 " is more than total_k (%" PRId64
			    "): more blocks freed than allocated, which cannot be",
			    p->totals.frees, p->totals.total_k);
	if (!p->has_totals) {
		struct totals *t = &p->totals;
		for (size_t i = 0; i < p->npps; i++) {
			const struct pp *pp = &p->pps[i];
			t->total_b = sat_add(t->total_b, pp->tb);
			t->total_k = sat_add(t->total_k, pp->tbk);
			if (p->bklt) {
				t->curr_b = sat_add(t->curr_b, pp->eb);
				t->curr_k = sat_add(t->curr_k, pp->ebk);
				t->max_b = sat_add(t->max_b, pp->gb);
				t->max_k = sat_add(t->max_k, pp->gbk);
			}
		}
		t->frees = t->total_k >= t->curr_k ? t->total_k - t->curr_k : 0;
	}
	return 0;
}

/* ------------------------------------------------------------------ entry points */

static struct profile *parse(const char *buf, size_t len, const char *name, int mapped,
			     char *err, size_t errlen)
{
	struct profile *p = calloc(1, sizeof(*p));
	if (!p) {
		snprintf(err, errlen, "%s: out of memory", name);
		return NULL;
	}
	struct rd r = { .buf = buf, .len = len, .name = name, .err = err, .errlen = errlen,
			.p = p, .mapped = mapped, .page = sysconf(_SC_PAGESIZE) };
	if (r.page <= 0)
		r.page = 4096;
	p->path = name;
	p->mode = p->verb = p->tu = p->mtu = p->cmd = "";
	p->tuth = p->pid = p->te = p->tg = -1;
	rd_json_init(p);
	int rc = read_top(&r);
	if (rc == 0)
		rc = validate(&r);
	p->arena = r.arena;
	if (rc != 0) {
		profile_free(p);
		return NULL;
	}
	return p;
}

struct profile *profile_parse(const char *buf, size_t len, const char *name,
			      char *err, size_t errlen)
{
	return parse(buf, len, name, 0, err, errlen);
}

void profile_free(struct profile *p)
{
	if (!p)
		return;
	free(p->suppressed);
	free(p->pps);
	free(p->fs);
	free(p->ftbl);
	for (size_t i = 0; i < p->ncallbacks; i++) {
		free(p->callbacks[i].dur_hist);
		for (size_t k = 0; k < p->callbacks[i].nzones; k++)
			free(p->callbacks[i].zones[k].dur_hist);
		free(p->callbacks[i].zones);
		for (size_t k = 0; k < p->callbacks[i].nslow; k++)
			free(p->callbacks[i].slow[k].v);
		free(p->callbacks[i].slow);
	}
	free(p->callbacks);
	free(p->violations);
	free(p->cpu.sources);
	free(p->cpu.stacks);
	arena_free(p->arena);
	free(p);
}

/* ------------------------------------------------------------------ the input */

/* The limit on one input's size, for every command (AUDIOPROF_MAX_INPUT, else
 * PROFILE_MAX_INPUT_DEFAULT); read once. A bad value is reported once and ignored. */
int64_t profile_max_input(void)
{
	static int64_t limit;
	if (limit)
		return limit;
	limit = PROFILE_MAX_INPUT_DEFAULT;
	const char *s = getenv(PROFILE_MAX_INPUT_ENV);
	int64_t v;
	if (s && *s) {
		if (options_parse_size(s, &v) == 0 && v > 0)
			limit = v;
		else
			fprintf(stderr, "audioprof: %s: '%s' is not a size like 512M or 4G; "
				"using the default, 2G\n", PROFILE_MAX_INPUT_ENV, s);
	}
	return limit;
}

/* "2 GiB", "1 MiB", "1000 bytes": a limit, exactly. */
static const char *limit_str(int64_t n, char *buf, size_t len)
{
	static const char *const unit[] = { "KiB", "MiB", "GiB", "TiB" };
	int u = -1;
	while (u < 3 && n >= 1024 && n % 1024 == 0) {
		n /= 1024;
		u++;
	}
	if (u < 0)
		snprintf(buf, len, "%" PRId64 " byte%s", n, n == 1 ? "" : "s");
	else
		snprintf(buf, len, "%" PRId64 " %s", n, unit[u]);
	return buf;
}

/* The input is over the limit: a regular file of `size` bytes, or (size < 0) a stream
 * that went on past it. */
static int too_big(const char *name, int64_t size, char *err, size_t errlen)
{
	char l[32];
	limit_str(profile_max_input(), l, sizeof(l));
	if (size >= 0)
		snprintf(err, errlen, "%s: the file is %" PRId64 " bytes, more than the input limit "
			 "of %s (set %s to raise it)", name, size, l, PROFILE_MAX_INPUT_ENV);
	else
		snprintf(err, errlen, "%s: more than the input limit of %s; not read further "
			 "(set %s to raise it)", name, l, PROFILE_MAX_INPUT_ENV);
	return -1;
}

/* A byte that can start a JSON text (after white space). */
static int json_start(char c)
{
	return c == '{' || c == '[' || c == '"' || c == '-' || (c >= '0' && c <= '9') ||
	       c == 't' || c == 'f' || c == 'n';
}

/* Reads a stream (pipe, FIFO, character device, standard input; or a regular file that
 * is not to be mapped, `hint` its size) into a new buffer,
 * at most the input limit: one byte more is an error, so /dev/zero or a writer that
 * never stops ends there instead of filling memory. Stops early, also with an error,
 * when the first byte that is not white space cannot start JSON at all (/dev/zero's
 * NUL): nothing after it can make the input a profile. */
static int read_stream(int fd, const char *name, int64_t hint, struct profile_input *in,
		       char *err, size_t errlen)
{
	int64_t limit = profile_max_input();
	size_t cap = 1 << 16, n = 0, ws = 0;
	if (hint >= (int64_t)cap)   /* a regular file's size: one buffer, one byte to spare */
		cap = (size_t)(hint < limit ? hint + 1 : limit + 1);
	char *b = malloc(cap);
	if (!b)
		goto nomem;
	for (;;) {
		if (n == cap) {
			if ((int64_t)n > limit) {
				free(b);
				return too_big(name, -1, err, errlen);
			}
			size_t nc = (int64_t)cap * 2 > limit + 1 ? (size_t)limit + 1 : cap * 2;
			char *nb = realloc(b, nc);
			if (!nb)
				goto nomem;
			b = nb;
			cap = nc;
		}
		/* The first read is small, so that the check of the first byte below stops
		 * /dev/zero, or a huge file of NULs, before much is read. */
		size_t want = cap - n;
		if (want > (n ? (size_t)8 << 20 : (size_t)1 << 16))
			want = n ? (size_t)8 << 20 : (size_t)1 << 16;
		ssize_t k = read(fd, b + n, want);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			snprintf(err, errlen, "%s: cannot read: %s", name, strerror(errno));
			free(b);
			return -1;
		}
		if (k == 0)
			break;
		n += (size_t)k;
		if ((int64_t)n > limit) {
			free(b);
			return too_big(name, -1, err, errlen);
		}
		while (ws < n && is_ws(b[ws]))
			ws++;
		if (ws < n && !json_start(b[ws])) {
			char ch[16];
			size_t l, c;
			line_col_buf(b, ws, &l, &c);
			snprintf(err, errlen, "%s: not valid JSON at line %zu, column %zu: %s cannot "
				 "start a JSON value (not read further)", name, l, c,
				 desc_char(b[ws], ch, sizeof(ch)));
			free(b);
			return -1;
		}
	}
	in->buf = b;
	in->len = n;
	return 0;
nomem:
	free(b);
	snprintf(err, errlen, "%s: out of memory", name);
	return -1;
}

int profile_input_open(const char *path, int map, struct profile_input *in, char *err,
		       size_t errlen)
{
	memset(in, 0, sizeof(*in));
	int std = strcmp(path, "-") == 0;
	in->name = std ? "(standard input)" : path;
	int fd = std ? 0 : open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		snprintf(err, errlen, "%s: cannot open: %s", in->name, strerror(errno));
		return -1;
	}
	int rc = -1;
	struct stat st;
	if (fstat(fd, &st) != 0) {
		snprintf(err, errlen, "%s: cannot stat: %s", in->name, strerror(errno));
		goto out;
	}
	if (S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "%s: is a directory, not a profile file", in->name);
		goto out;
	}
	if (S_ISREG(st.st_mode)) {
		/* Refused before a byte is read. (A file that grows while it is read is
		 * read to the size it had here, or to the limit.) */
		if (st.st_size > profile_max_input()) {
			too_big(in->name, (int64_t)st.st_size, err, errlen);
			goto out;
		}
		if (map && st.st_size > 0) {
			size_t len = (size_t)st.st_size;
			char *m = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
			if (m != MAP_FAILED) {
				madvise(m, len, MADV_SEQUENTIAL);
				in->buf = m;
				in->len = len;
				in->mapped = 1;
				rc = 0;
				goto out;
			}
		}
	}
	rc = read_stream(fd, in->name, S_ISREG(st.st_mode) ? (int64_t)st.st_size : 0, in, err,
			 errlen);
out:
	if (fd != 0)
		close(fd);
	return rc;
}

void profile_input_close(struct profile_input *in)
{
	if (in->mapped)
		munmap(in->buf, in->len);
	else
		free(in->buf);
	memset(in, 0, sizeof(*in));
}

/* A file truncated by someone else while mapped raises SIGBUS: turned into an error. */
static sigjmp_buf bus_jmp;
static void on_sigbus(int sig)
{
	(void)sig;
	siglongjmp(bus_jmp, 1);
}

struct profile *profile_input_parse(const struct profile_input *in, char *err, size_t errlen)
{
	if (!in->mapped)
		return parse(in->buf, in->len, in->name, 0, err, errlen);
	struct profile *volatile p = NULL;   /* volatile: kept across siglongjmp */
	struct sigaction sa, old;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sigbus;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGBUS, &sa, &old);
	if (sigsetjmp(bus_jmp, 1) == 0)
		p = parse(in->buf, in->len, in->name, 1, err, errlen);
	else
		snprintf(err, errlen, "%s: the file shrank while it was read", in->name);
	sigaction(SIGBUS, &old, NULL);
	return p;
}

struct profile *profile_load(const char *path, char *err, size_t errlen)
{
	struct profile_input in;
	if (profile_input_open(path, 1, &in, err, errlen) != 0)
		return NULL;
	struct profile *p = profile_input_parse(&in, err, errlen);
	profile_input_close(&in);
	if (p)
		p->path = path;
	return p;
}
