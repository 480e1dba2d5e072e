/* log.h - the one logging function: fixed prefix, write(2) to stderr, rate-limited.
 * Never writes to the host program's stdout and never allocates. */
#ifndef AUDIOPROF_LOG_H
#define AUDIOPROF_LOG_H

/* Formats into a stack buffer and writes "audioprof: <msg>\n" to fd 2.
 * At most LOG_LIMIT messages per process; after that a single "further messages
 * suppressed" line. Async-signal-safe apart from vsnprintf's locale use. */
void log_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define LOG_LIMIT 64

#endif
