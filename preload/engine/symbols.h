/* symbols.h - turns raw return addresses into DHAT-style frame strings with elfutils
 * libdw (libdwfl): function, file:line, inlined frames expanded; the ELF symbol table
 * when a module has no debug info; modules dlclose'd before exit still resolved.
 * Never called on the allocation hot path: only from the profile writer (writer
 * thread, exit, signal flush) and from the dlclose wrapper, always with the
 * re-entrancy guard held, so its own allocations are not recorded. */
#ifndef AUDIOPROF_SYMBOLS_H
#define AUDIOPROF_SYMBOLS_H

#include <stdint.h>

/* One frame string, e.g. "0x4011A6: site_a (tiny.c:3)",
 * "0x4011A6: inner (tiny.c:9)" (inlined, same address, listed first),
 * "0x7F12AB: foo+0x1f (in /usr/lib/libfoo.so.1)", or "0x7F12AB: ??? (in /path)". */
typedef void (*symbols_frame_cb)(const char *frame, void *arg);

/* Resolve `ip` (a return address: the lookup uses ip - 1; the printed address is ip).
 * Calls cb once per frame, innermost (inlined) first; returns the number of frames (>= 1).
 * Results are cached per ip. Thread-safe (one internal mutex). */
int symbols_resolve(uintptr_t ip, symbols_frame_cb cb, void *arg);

/* symbols_resolve for a CPU sample's leaf: ip is the interrupted instruction + 1, any
 * pc of a hot function. When its frames miss the persistent cache and libdw resolves
 * them, the ranges of the whole function holding it are cached as well (bounded), so
 * that later runs find any pc of that function without libdw. */
int symbols_resolve_leaf(uintptr_t ip, symbols_frame_cb cb, void *arg);

/* Called by the dlclose wrapper before the real dlclose(handle): every address that
 * any recorded site holds inside that module is resolved now and kept, so the profile
 * written at exit still names those frames. Returns 1 when symbols_module_closed must
 * follow the real dlclose, else 0. Thread-safe. */
int symbols_module_closing(void *handle);

/* After the real dlclose, when symbols_module_closing returned 1: every address in a
 * module that went away with it (a dependency of the handle's, or recorded by a
 * destructor) is resolved against that module, from its file. Thread-safe. */
void symbols_module_closed(void);

/* Forget cached module lists (after fork or when modules may have changed); the
 * per-ip cache is kept. Thread-safe. */
void symbols_refresh(void);

/* Write the persistent cache's new entries to disk (symcache.h). Thread-safe. */
void symbols_persist(void);

/* How the addresses resolved so far in this process were resolved: from the
 * persistent cache, from DWARF, or from the symbol table alone (or not at all). */
struct symbols_stats { uint64_t cached, dwarf, symtab; };
void symbols_get_stats(struct symbols_stats *out);

/* Let go of the debug information loaded so far (the Dwfl and every module's ELF and
 * DWARF; decompressed, a C library's is megabytes of memory that each fork() copies the
 * page tables of); the per-ip cache stays, and a later miss loads what it needs again.
 * Thread-safe. */
void symbols_release(void);

/* Free everything (used by tests). */
void symbols_shutdown(void);

#endif
