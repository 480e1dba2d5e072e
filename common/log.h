/* log.h - the one logging function: fixed prefix, write(2) to stderr, rate-limited.
 * Never writes to the host program's stdout and never allocates. Shared by the preload
 * and the analyzer. */
#ifndef AUDIOPROF_LOG_H
#define AUDIOPROF_LOG_H

/* Formats into a stack buffer and writes "audioprof: <msg>\n" to fd 2.
 * At most LOG_LIMIT messages per process; after that a single "further messages
 * suppressed" line. Async-signal-safe apart from vsnprintf's locale use. */
void log_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define LOG_LIMIT 64

/* How log_msg finds stderr when the calling thread may have an fd table of its own
 * (the preload's writer and symbolizer threads, fds.h): get() returns a descriptor
 * for fd 2 as the program sees it, or -1, and done(fd) releases it after the write.
 * Set once, before such a thread exists; without hooks (the analyzer) fd 2 is used. */
void log_set_stderr_hooks(int (*get)(void), void (*done)(int fd));

#endif
