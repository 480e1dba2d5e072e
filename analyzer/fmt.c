/* fmt.c - number, time and frame formatting for the analyzer's human output, and the
 * terminal decisions (colour, width). Nothing here allocates; buffers belong to the
 * caller. Single-threaded: the colour setting is a process-wide flag set once. */
#include "fmt.h"
#include "profile_read.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

/* ------------------------------------------------------------------ numbers */

const char *fmt_count(int64_t v, char buf[FMT_NUM])
{
	char tmp[32];
	int neg = v < 0;
	uint64_t u = neg ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
	int n = snprintf(tmp, sizeof(tmp), "%" PRIu64, u);
	char *o = buf;
	if (neg)
		*o++ = '-';
	for (int i = 0; i < n; i++) {
		if (i > 0 && (n - i) % 3 == 0)
			*o++ = ',';
		*o++ = tmp[i];
	}
	*o = '\0';
	return buf;
}

const char *fmt_bytes(int64_t v, char buf[FMT_NUM])
{
	static const char *const unit[] = { "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
	if (v < 1024 && v > -1024) {
		snprintf(buf, FMT_NUM, "%" PRId64 " B", v);
		return buf;
	}
	double d = (double)v;
	int u = -1;
	while ((d >= 1024 || d <= -1024) && u < 5) {
		d /= 1024;
		u++;
	}
	snprintf(buf, FMT_NUM, "%.1f %s", d, unit[u]);
	return buf;
}

const char *fmt_ns(int64_t ns, char buf[FMT_NUM])
{
	if (ns < 0)
		snprintf(buf, FMT_NUM, "-");
	else if (ns < 1000)
		snprintf(buf, FMT_NUM, "%" PRId64 " ns", ns);
	else if (ns < 1000000)
		snprintf(buf, FMT_NUM, "%.1f us", ns / 1e3);
	else if (ns < 1000000000)
		snprintf(buf, FMT_NUM, "%.2f ms", ns / 1e6);
	else
		snprintf(buf, FMT_NUM, "%.2f s", ns / 1e9);
	return buf;
}

const char *fmt_time(const struct profile *p, int64_t v, char buf[FMT_NUM])
{
	if (strcmp(p->tu, "ns") == 0)
		return fmt_ns(v, buf);
	char n[FMT_NUM];
	snprintf(buf, FMT_NUM, "%s %s", fmt_count(v, n), *p->tu ? p->tu : "units");
	return buf;
}

const char *fmt_pct(double pct, char buf[FMT_NUM])
{
	if (pct < 0)
		snprintf(buf, FMT_NUM, "-");
	else
		snprintf(buf, FMT_NUM, "%.1f%%", pct);
	return buf;
}

/* ------------------------------------------------------------------ terminal */

static int use_color;

int fmt_color_init(const char *when)
{
	if (!when || strcmp(when, "auto") == 0) {
		const char *nc = getenv("NO_COLOR");
		use_color = isatty(1) && !(nc && *nc);
	} else if (strcmp(when, "always") == 0) {
		use_color = 1;
	} else if (strcmp(when, "never") == 0) {
		use_color = 0;
	} else {
		return -1;
	}
	return 0;
}

const char *fmt_c(enum fmt_color c)
{
	static const char *const seq[] = {
		[C_RESET] = "\033[0m", [C_BOLD] = "\033[1m", [C_DIM] = "\033[2m",
		[C_RED] = "\033[31m", [C_YELLOW] = "\033[33m", [C_GREEN] = "\033[32m",
		[C_CYAN] = "\033[36m",
	};
	return use_color ? seq[c] : "";
}

int fmt_width(void)
{
	const char *c = getenv("COLUMNS");
	if (c && *c) {
		char *end;
		long w = strtol(c, &end, 10);
		if (*end == '\0' && w >= 20 && w <= 1000)
			return (int)w;
	}
	struct winsize ws;
	if (isatty(1) && ioctl(1, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 20)
		return ws.ws_col;
	return 100;
}

void fmt_wrap(FILE *f, const char *text, int indent1, int indent, int width)
{
	int col = indent1;
	const char *s = text;
	int first = 1;
	while (*s) {
		while (*s == ' ')
			s++;
		const char *e = s;
		while (*e && *e != ' ')
			e++;
		int wl = (int)(e - s);
		if (wl == 0)
			break;
		if (!first && col + 1 + wl > width) {
			fprintf(f, "\n%*s", indent, "");
			col = indent;
		} else if (!first) {
			fputc(' ', f);
			col++;
		}
		fwrite(s, 1, (size_t)wl, f);
		col += wl;
		first = 0;
		s = e;
	}
	fputc('\n', f);
}

/* ------------------------------------------------------------------ frames */

void frame_parse(const char *s, struct frame *f)
{
	memset(f, 0, sizeof(*f));
	/* "0xHEX: " */
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		const char *q = s + 2;
		while ((*q >= '0' && *q <= '9') || (*q >= 'a' && *q <= 'f') || (*q >= 'A' && *q <= 'F'))
			q++;
		if (q[0] == ':' && q[1] == ' ')
			s = q + 2;
	}
	f->text = s;
	size_t n = strlen(s);
	size_t fend = n;
	/* The last "(...)" group: "(file:line)" or "(in module)". Names may contain
	 * parentheses ("operator new(unsigned long)"), so match from the right. */
	if (n >= 3 && s[n - 1] == ')') {
		int depth = 0;
		size_t i = n;
		while (i-- > 0) {
			if (s[i] == ')')
				depth++;
			else if (s[i] == '(' && --depth == 0)
				break;
		}
		if (depth == 0 && i > 0 && s[i - 1] == ' ') {
			const char *g = s + i + 1;
			size_t gl = n - i - 2;
			if (gl > 3 && strncmp(g, "in ", 3) == 0) {
				f->module = g + 3;
				f->module_len = gl - 3;
				fend = i - 1;
			} else {
				const char *colon = NULL;
				for (size_t k = gl; k-- > 0;)
					if (g[k] == ':') {
						colon = g + k;
						break;
					}
				if (colon && colon > g && colon[1] >= '0' && colon[1] <= '9') {
					f->file = g;
					f->file_len = (size_t)(colon - g);
					f->line = strtol(colon + 1, NULL, 10);
					fend = i - 1;
				}
			}
		}
	}
	f->func = s;
	f->func_len = fend;
	/* "foo+0x1f" -> "foo" (only with a module: a symbol-table offset). */
	if (f->module) {
		for (size_t k = 0; k + 3 < f->func_len; k++)
			if (s[k] == '+' && s[k + 1] == '0' && s[k + 2] == 'x') {
				f->func_len = k;
				break;
			}
	}
}

static int func_is(const struct frame *f, const char *name)
{
	size_t n = strlen(name);
	return f->func_len == n && strncmp(f->func, name, n) == 0;
}

static int func_starts(const struct frame *f, const char *prefix)
{
	size_t n = strlen(prefix);
	return f->func_len >= n && strncmp(f->func, prefix, n) == 0;
}

static int module_has(const struct frame *f, const char *part)
{
	if (!f->module)
		return 0;
	size_t n = strlen(part);
	for (size_t i = 0; i + n <= f->module_len; i++)
		if (strncmp(f->module + i, part, n) == 0)
			return 1;
	return 0;
}

int frame_is_allocator(const struct frame *f)
{
	/* profiles written before frame 0 was named by module carry the wrapper's file */
	if (f->file && ((f->file_len == 6 && strncmp(f->file, "shim.c", 6) == 0) ||
			(f->file_len == 9 && strncmp(f->file, "rtcheck.c", 9) == 0)))
		return 1;
	return module_has(f, "libaudioprof") || module_has(f, "vgpreload_");
}

/* A Rust path in the standard library: "alloc::raw_vec::RawVec<T,A>::allocate_in",
 * "<alloc::alloc::Global as core::alloc::Allocator>::allocate_zeroed",
 * "<T as alloc::vec::spec_from_elem::SpecFromElem>::from_elem" (a generic self type). */
static int rust_std_path(const char *s, size_t n)
{
	static const char *const crates[] = { "alloc::", "core::", "std::" };
	size_t skip = n > 0 && s[0] == '<' ? 1 : 0;
	for (size_t k = 0; k < 3; k++) {
		size_t c = strlen(crates[k]);
		if (n >= skip + c && strncmp(s + skip, crates[k], c) == 0)
			return 1;
	}
	/* "<T as core::...>": a one-letter generic self type, then a std trait */
	if (skip && n > 6 && s[1] >= 'A' && s[1] <= 'Z' && strncmp(s + 2, " as ", 4) == 0)
		return rust_std_path(s + 6, n - 6);
	return 0;
}

/* The allocation entry points and the runtimes' modules: what frame_pick_named skips. */
static int frame_is_alloc_entry(const struct frame *f)
{
	static const char *const names[] = {
		"malloc", "calloc", "realloc", "reallocarray", "free", "posix_memalign",
		"aligned_alloc", "memalign", "valloc", "pvalloc", "strdup", "__strdup", "strndup",
		"__strndup", "asprintf", "vasprintf", "__vasprintf_internal", "open_memstream",
		"getline", "getdelim", "qsort", "fopen", "fdopen", "opendir", "scandir",
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (func_is(f, names[i]))
			return 1;
	if (func_starts(f, "operator new") || func_starts(f, "operator delete") ||
	    func_starts(f, "std::") || func_starts(f, "__gnu_cxx::") || func_starts(f, "__cxx"))
		return 1;
	return module_has(f, "/libc.so") || module_has(f, "/libstdc++") ||
	       module_has(f, "/libgcc_s") || module_has(f, "/ld-linux");
}

int frame_is_runtime(const struct frame *f)
{
	/* Identifiers reserved for the implementation (C11 7.1.3: "__x", "_X"): glibc's
	 * internals (_IO_file_doallocate, __libc_malloc), the compiler's and Rust's
	 * (__rust_alloc, __rdl_alloc), named by file:line where debug info is installed. */
	if (f->func_len >= 2 && f->func[0] == '_' &&
	    (f->func[1] == '_' || (f->func[1] >= 'A' && f->func[1] <= 'Z')))
		return 1;
	if (rust_std_path(f->func, f->func_len))
		return 1;
	return frame_is_alloc_entry(f);
}

int frame_is_main(const struct frame *f)
{
	return func_is(f, "main");
}

int frame_is_thread_start(const struct frame *f)
{
	return func_is(f, "start_thread") || func_is(f, "clone") || func_is(f, "clone3");
}

static size_t pick(const struct profile *p, uint32_t fs_off, uint32_t fs_len,
		   int (*skip)(const struct frame *))
{
	for (uint32_t i = 0; i < fs_len; i++) {
		struct frame f;
		frame_parse(p->ftbl[p->fs[fs_off + i]], &f);
		if (i == 0 && frame_is_allocator(&f))
			continue;
		if (!skip(&f))
			return i;
	}
	return fs_len > 1 ? 1 : 0;
}

size_t frame_pick_user(const struct profile *p, uint32_t fs_off, uint32_t fs_len)
{
	return pick(p, fs_off, fs_len, frame_is_runtime);
}

size_t frame_pick_named(const struct profile *p, uint32_t fs_off, uint32_t fs_len)
{
	return pick(p, fs_off, fs_len, frame_is_alloc_entry);
}

void frame_names(const char *s, char *func, size_t funclen, char *where, size_t wherelen)
{
	struct frame f;
	frame_parse(s, &f);
	snprintf(func, funclen, "%.*s", (int)f.func_len, f.func);
	if (f.file) {
		snprintf(where, wherelen, "%.*s:%ld", (int)f.file_len, f.file, f.line);
	} else if (f.module) {
		const char *b = f.module;
		for (size_t i = 0; i < f.module_len; i++)
			if (f.module[i] == '/')
				b = f.module + i + 1;
		snprintf(where, wherelen, "%.*s", (int)(f.module + f.module_len - b), b);
	} else {
		snprintf(where, wherelen, "?");
	}
}
