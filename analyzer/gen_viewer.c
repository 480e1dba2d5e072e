/* gen_viewer.c - build-time tool: turns viewer/index.html and the stylesheet and
 * scripts it links into one page, written as C arrays (viewer_head, viewer_tail of
 * view.h) for `audioprof view`. The stylesheet and every script are inlined, the
 * scripts as one <script> block, and the page's Content-Security-Policy is rewritten to
 * allow exactly those two blocks by their SHA-256 hashes instead of 'self'.
 *
 *   gen_viewer VIEWER_DIR OUT.c
 *
 * index.html must keep each <link rel="stylesheet" href=...>, <script src=...></script>
 * and the <script type="application/json" id="audioprof-data"></script> on a line of its
 * own. An inlined file may not contain "</script", "</style" or "<!--", which would end
 * or confuse its element. Exit status 0, or 1 with a message naming the file. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ------------------------------------------------------------------ growing buffer */

struct buf {
	char *p;
	size_t len, cap;
};

static void die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
static void die(const char *fmt, ...)
{
	va_list ap;
	fputs("gen_viewer: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static void put(struct buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		while (b->len + n + 1 > cap)
			cap *= 2;
		if (!(b->p = realloc(b->p, cap)))
			die("out of memory");
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void puts_(struct buf *b, const char *s)
{
	put(b, s, strlen(s));
}

/* The whole file, with carriage returns dropped (the HTML parser drops them before a
 * script's hash is taken, so they would make the hash wrong). */
static struct buf slurp(const char *path)
{
	struct buf b = { 0 };
	FILE *f = fopen(path, "rb");
	if (!f)
		die("%s: cannot open", path);
	char chunk[65536];
	size_t n;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		for (size_t i = 0; i < n; i++)
			if (chunk[i] != '\r')
				put(&b, &chunk[i], 1);
	if (ferror(f))
		die("%s: read error", path);
	fclose(f);
	if (memchr(b.p ? b.p : "", '\0', b.len))
		die("%s: contains a NUL byte", path);
	if (!b.p)
		put(&b, "", 0);
	return b;
}

/* ------------------------------------------------------------------ SHA-256 (FIPS 180-4) */

static const uint32_t K[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
	0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
	0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
	0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
	0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

#define ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void sha256_block(uint32_t h[8], const unsigned char *p)
{
	uint32_t w[64];
	for (int i = 0; i < 16; i++)
		w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
		       (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
	for (int i = 16; i < 64; i++) {
		uint32_t s0 = ROR(w[i - 15], 7) ^ ROR(w[i - 15], 18) ^ (w[i - 15] >> 3);
		uint32_t s1 = ROR(w[i - 2], 17) ^ ROR(w[i - 2], 19) ^ (w[i - 2] >> 10);
		w[i] = w[i - 16] + s0 + w[i - 7] + s1;
	}
	uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], k = h[7];
	for (int i = 0; i < 64; i++) {
		uint32_t t1 = k + (ROR(e, 6) ^ ROR(e, 11) ^ ROR(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + w[i];
		uint32_t t2 = (ROR(a, 2) ^ ROR(a, 13) ^ ROR(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
		k = g; g = f; f = e; e = d + t1; d = c; c = b; b = a; a = t1 + t2;
	}
	h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e; h[5] += f; h[6] += g; h[7] += k;
}

static void sha256(const void *data, size_t len, unsigned char out[32])
{
	uint32_t h[8] = { 0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
			  0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19 };
	const unsigned char *p = data;
	size_t n = len;
	for (; n >= 64; p += 64, n -= 64)
		sha256_block(h, p);
	unsigned char last[128] = { 0 };
	memcpy(last, p, n);
	last[n] = 0x80;
	size_t blocks = n + 9 > 64 ? 2 : 1;
	uint64_t bits = (uint64_t)len * 8;
	for (int i = 0; i < 8; i++)
		last[blocks * 64 - 1 - i] = (unsigned char)(bits >> (8 * i));
	for (size_t i = 0; i < blocks; i++)
		sha256_block(h, last + 64 * i);
	for (int i = 0; i < 8; i++)
		for (int j = 0; j < 4; j++)
			out[4 * i + j] = (unsigned char)(h[i] >> (24 - 8 * j));
}

/* "sha256-<base64>" of data, as a CSP source expression (without quotes). */
static void csp_hash(const char *data, size_t len, char out[64])
{
	static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	unsigned char d[33] = { 0 };
	sha256(data, len, d);
	char *o = out + sprintf(out, "sha256-");
	for (int i = 0; i < 32; i += 3) {
		uint32_t v = (uint32_t)d[i] << 16 | (uint32_t)d[i + 1] << 8 | (i + 2 < 32 ? d[i + 2] : 0);
		*o++ = b64[v >> 18 & 63];
		*o++ = b64[v >> 12 & 63];
		*o++ = i + 1 < 32 ? b64[v >> 6 & 63] : '=';
		*o++ = i + 2 < 32 ? b64[v & 63] : '=';
	}
	*o = '\0';
}

/* ------------------------------------------------------------------ page */

/* Does s contain needle, ignoring ASCII case? */
static int has_ci(const char *s, const char *needle)
{
	size_t n = strlen(needle);
	for (; *s; s++)
		if (strncasecmp(s, needle, n) == 0)
			return 1;
	return 0;
}

/* If `line` (leading blanks skipped) is exactly prefix VALUE suffix, copies VALUE to
 * out and returns 1. */
static int match(const char *line, const char *prefix, const char *suffix, char *out, size_t outlen)
{
	while (*line == ' ' || *line == '\t')
		line++;
	size_t lp = strlen(prefix), ls = strlen(suffix), l = strlen(line);
	if (l < lp + ls || strncmp(line, prefix, lp) != 0 || strcmp(line + l - ls, suffix) != 0)
		return 0;
	size_t n = l - lp - ls;
	if (n == 0 || n >= outlen || memchr(line + lp, '"', n))
		return 0;
	memcpy(out, line + lp, n);
	out[n] = '\0';
	return 1;
}

/* Replaces the first `from` in b (from offset `start`) by `to`. Returns 0, -1 if absent. */
static int replace(struct buf *b, size_t start, const char *from, const char *to)
{
	char *at = strstr(b->p + start, from);
	if (!at)
		return -1;
	struct buf r = { 0 };
	put(&r, b->p, (size_t)(at - b->p));
	puts_(&r, to);
	puts_(&r, at + strlen(from));
	free(b->p);
	*b = r;
	return 0;
}

static void emit_array(FILE *f, const char *name, const char *p, size_t n)
{
	fprintf(f, "const unsigned char %s[] = {", name);
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%s0x%02x,", i % 16 ? " " : "\n\t", (unsigned char)p[i]);
	fprintf(f, "\n};\nconst size_t %s_len = %zu;\n\n", name, n);
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fputs("usage: gen_viewer VIEWER_DIR OUT.c\n", stderr);
		return 2;
	}
	const char *dir = argv[1];
	char path[4096], name[1024];
	snprintf(path, sizeof(path), "%s/index.html", dir);
	struct buf html = slurp(path);

	struct buf out = { 0 }, js = { 0 }, css = { 0 };
	size_t js_at = (size_t)-1, css_at = (size_t)-1, split = (size_t)-1;
	const char *data_tag = "<script type=\"application/json\" id=\"audioprof-data\"></script>";
	int njs = 0;
	char *save = NULL;
	for (char *line = strtok_r(html.p, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (match(line, "<link rel=\"stylesheet\" href=\"", "\">", name, sizeof(name))) {
			snprintf(path, sizeof(path), "%s/%s", dir, name);
			struct buf f = slurp(path);
			if (has_ci(f.p, "</style") || strstr(f.p, "<!--"))
				die("%s: contains \"</style\" or \"<!--\", which would end the inlined <style>", path);
			if (css_at != (size_t)-1)
				die("%s: more than one stylesheet", argv[1]);
			put(&css, "\n", 1);
			put(&css, f.p, f.len);
			puts_(&out, "<style>");
			css_at = out.len;
			put(&out, css.p, css.len);
			puts_(&out, "</style>\n");
			free(f.p);
		} else if (match(line, "<script src=\"", "\"></script>", name, sizeof(name))) {
			snprintf(path, sizeof(path), "%s/%s", dir, name);
			struct buf f = slurp(path);
			if (has_ci(f.p, "</script") || strstr(f.p, "<!--"))
				die("%s: contains \"</script\" or \"<!--\", which would end the inlined <script>", path);
			if (njs++ == 0)
				js_at = out.len;   /* all scripts go here, as one block */
			puts_(&js, "\n/* ---- ");
			puts_(&js, name);
			puts_(&js, " */\n");
			put(&js, f.p, f.len);
			if (f.len && f.p[f.len - 1] != '\n')
				puts_(&js, "\n");
			free(f.p);
		} else if (strstr(line, data_tag)) {
			const char *t = strstr(line, data_tag);
			put(&out, line, (size_t)(t - line) + strlen(data_tag) - strlen("></script>"));
			split = out.len;
			puts_(&out, "</script>\n");
		} else {
			puts_(&out, line);
			puts_(&out, "\n");
		}
	}
	if (css_at == (size_t)-1 || njs == 0 || split == (size_t)-1)
		die("%s/index.html: no stylesheet link, no <script src>, or no %s line", dir, data_tag);

	/* Insert the scripts (after the data element, so split stays valid). */
	struct buf page = { 0 };
	put(&page, out.p, js_at);
	puts_(&page, "<script>");
	put(&page, js.p, js.len);
	puts_(&page, "</script>\n");
	put(&page, out.p + js_at, out.len - js_at);
	if (js_at < split)
		die("%s/index.html: the scripts must come after the data element", dir);

	/* Allow exactly these two blocks. */
	char h_js[64], h_css[64], src[96];
	csp_hash(js.p, js.len, h_js);
	csp_hash(css.p, css.len, h_css);
	size_t before = page.len;
	snprintf(src, sizeof(src), "script-src '%s'", h_js);
	if (replace(&page, 0, "script-src 'self'", src) < 0)
		die("%s/index.html: no \"script-src 'self'\" in its Content-Security-Policy", dir);
	snprintf(src, sizeof(src), "style-src '%s'", h_css);
	if (replace(&page, 0, "style-src 'self'", src) < 0)
		die("%s/index.html: no \"style-src 'self'\" in its Content-Security-Policy", dir);
	if (strstr(page.p, "sha256-") > page.p + split)
		die("%s/index.html: the Content-Security-Policy must come before the data element", dir);
	split += page.len - before;

	FILE *f = fopen(argv[2], "w");
	if (!f)
		die("%s: cannot create", argv[2]);
	fprintf(f, "/* Generated by analyzer/gen_viewer.c from %s/index.html and the files it links.\n"
		   " * Do not edit: edit viewer/ and rebuild. */\n#include \"view.h\"\n\n", dir);
	emit_array(f, "viewer_head", page.p, split);
	emit_array(f, "viewer_tail", page.p + split, page.len - split);
	if (fclose(f) != 0)
		die("%s: write error", argv[2]);
	free(html.p);
	free(out.p);
	free(js.p);
	free(css.p);
	free(page.p);
	return 0;
}
