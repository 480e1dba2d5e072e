/* fmt.h - how the analyzer prints numbers, times and frames for people: human sizes,
 * durations in the profile's time unit, thousands separators, colour only on a terminal,
 * the terminal width, word wrapping, and the parts of a DHAT frame string. */
#ifndef AUDIOPROF_FMT_H
#define AUDIOPROF_FMT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct profile;

/* Buffers for the formatters: big enough for any int64 with separators and a unit. */
#define FMT_NUM 40

/* 5,101 */
const char *fmt_count(int64_t v, char buf[FMT_NUM]);
/* 0 B, 1,000 B, 102.5 KiB, 12.3 MiB, 1.2 GiB */
const char *fmt_bytes(int64_t v, char buf[FMT_NUM]);
/* A duration of `v` in the profile's time unit: 12 ns, 750 us, 1.73 ms, 2.50 s when tu
 * is "ns"; otherwise "699,611 instrs" (DHAT counts instructions). */
const char *fmt_time(const struct profile *p, int64_t v, char buf[FMT_NUM]);
/* A duration in nanoseconds (callback timings). -1 prints "-". */
const char *fmt_ns(int64_t ns, char buf[FMT_NUM]);
/* 41.5% (one decimal); negative prints "-". */
const char *fmt_pct(double pct, char buf[FMT_NUM]);

/* ------------------------------------------------------------------ terminal */

enum fmt_color { C_RESET, C_BOLD, C_DIM, C_RED, C_YELLOW, C_GREEN, C_CYAN };

/* Decides once: `when` is "auto" (colour if stdout is a terminal and NO_COLOR is unset
 * or empty), "always" or "never". Returns -1 for another word. */
int fmt_color_init(const char *when);
/* The escape sequence, or "" when colour is off. */
const char *fmt_c(enum fmt_color c);

/* Output width: $COLUMNS if set (20..1000), else the terminal's, else 100. */
int fmt_width(void);

/* Prints `text` to `f` wrapped at `width`, the first line after `indent1` columns already
 * used, later lines indented by `indent` spaces. */
void fmt_wrap(FILE *f, const char *text, int indent1, int indent, int width);

/* ------------------------------------------------------------------ frame strings */

/* The parts of one frame string ("0x4011A6: f (t.c:3)", "0x7F..: foo+0x1f (in /lib/x.so)",
 * "0x..: ??? (in /lib/x.so)", "[root]"); pointers into the string, not terminated. */
struct frame {
	const char *text;        /* the string without "0xADDR: " */
	const char *func;        /* function name, without "+0xOFF" */
	size_t func_len;
	const char *file;        /* "t.c" of "(t.c:3)", else NULL */
	size_t file_len;
	long line;               /* 3 of "(t.c:3)", else 0 */
	const char *module;      /* "/lib/x.so" of "(in /lib/x.so)", else NULL */
	size_t module_len;
};

void frame_parse(const char *s, struct frame *f);

/* Frame 0 that is the profiler's own entry point (audioprof's wrapper of malloc or of
 * pthread_mutex_lock, valgrind's vgpreload), which reports hide. */
int frame_is_allocator(const struct frame *f);
/* A frame of libc, the C++ runtime or the allocation functions, which advice skips to
 * name the program's own code. */
int frame_is_runtime(const struct frame *f);
/* "main": reports hide the frames below it (libc's start code). */
int frame_is_main(const struct frame *f);
/* glibc's thread start (start_thread, clone, clone3): reports hide it and below. */
int frame_is_thread_start(const struct frame *f);

/* Index (into the stack, innermost first) of the first frame worth naming in advice:
 * past the allocator and the runtime; 0 if there is none. */
size_t frame_pick_user(const struct profile *p, uint32_t fs_off, uint32_t fs_len);
/* The frame a suppression rule's function name is matched against: the first past
 * the allocation entry points (malloc, strdup, operator new, ...) and the runtimes'
 * modules, so runtime internals such as __new_exitfn or _dl_allocate_tls are named
 * (frame_pick_user passes over them to the program's own code). */
size_t frame_pick_named(const struct profile *p, uint32_t fs_off, uint32_t fs_len);

/* "func" of frame f and "file:line" (or the module's base name, or "?") into the
 * buffers, for advice text. */
void frame_names(const char *s, char *func, size_t funclen, char *where, size_t wherelen);

#endif
