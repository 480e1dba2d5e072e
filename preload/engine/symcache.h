/* symcache.h - a persistent cache of frames resolved from DWARF, shared by every
 * profiled process of a user: one file per module build ID (and demangling mode),
 * mapping ranges of addresses in the module's ELF, over which the frames are the
 * same, to the frame strings without the "0xADDR: " prefix (a CPU sample anywhere in
 * a hot loop's line finds what another run resolved for another address there). A
 * process whose frames are all cached never loads debug information, which for a C
 * library with compressed debug information costs a tenth of a second per process:
 * what made profiling a script that starts many short processes slow.
 *
 * Only frames found in DWARF are cached (a build ID fixes the code, and so the DWARF
 * that describes it); symbol-table fallbacks are cheap and would hide debug
 * information installed later. A damaged or foreign file is ignored and rewritten.
 * Files are replaced atomically (temporary file and rename); concurrent processes may
 * each drop the other's new entries, which only costs a later lookup.
 *
 * All functions run under symbols.c's mutex (not thread-safe on their own) and never
 * on the allocation path. */
#ifndef AUDIOPROF_SYMCACHE_H
#define AUDIOPROF_SYMCACHE_H

#include <stddef.h>
#include <stdint.h>

/* The cache directory: `dir` ("" or "auto": $XDG_CACHE_HOME/audioprof, else
 * $HOME/.cache/audioprof; "off": no cache). Called once at start-up. */
void symcache_init(const char *dir);
int symcache_enabled(void);

/* The kinds of frames, each in a file of its own per module (`demangled` below):
 * frames resolved from DWARF (or from the symbol table of a module with DWARF, which
 * a build ID fixes too), and frames from the symbol table of a module without debug
 * information, which the caller trusts only while none is installed for it. */
enum { SYMCACHE_DWARF = 0, SYMCACHE_SYMTAB = 2 };

/* Frames cached for (module build ID, demangled or not, ELF address): those of the
 * cached range holding addr, as suffixes (what follows "0xADDR: "), *n of them; NULL
 * when not cached. Valid until the next symcache call. *base is SYMCACHE_NO_BASE, or
 * for an entry of symcache_add_offset the symbol's address: its one frame,
 * "NAME (in MODULE)", is "NAME+0x<addr - base> (in MODULE)" (base NULL: such entries
 * are not found). */
#define SYMCACHE_NO_BASE UINT64_MAX
const char *const *symcache_lookup(const unsigned char *bid, size_t bidlen, int demangled,
				   uint64_t addr, int *n, uint64_t *base);

/* The same from what this process holds (the file is read at the module's first
 * look-up), without looking whether the file was replaced since: no system call.
 * A caller that tries several kinds peeks at each before it looks them up. */
const char *const *symcache_peek(const unsigned char *bid, size_t bidlen, int demangled,
				 uint64_t addr, int *n, uint64_t *base);

/* Remember frames for that key, and for every address of [lo, hi) (which holds addr;
 * else just addr): the caller has proved the frames the same over it. Each string is a
 * full frame ("0xADDR: ..."); the prefix is dropped. Strings with a tab or a newline
 * are not cached. Where the range overlaps cached ones it is cut to the gap around
 * addr (their frames are the same there). */
void symcache_add(const unsigned char *bid, size_t bidlen, int demangled, uint64_t addr,
		  uint64_t lo, uint64_t hi, char *const *frames, int n);

/* Remember, for every address a of [lo, hi) (which holds addr), the frame
 * "0xADDR: NAME+0x<a - base> (in MODULE)" of a symbol at base, given as `frame`,
 * "0xADDR: NAME (in MODULE)": a symbol-table name in a module without line
 * information. */
void symcache_add_offset(const unsigned char *bid, size_t bidlen, int demangled,
			 uint64_t addr, uint64_t lo, uint64_t hi, uint64_t base,
			 const char *frame);

/* Whether that key's file held entries when it was read (this is not the module's
 * first run). */
int symcache_was_read(const unsigned char *bid, size_t bidlen, int demangled);

/* Write the files of modules with new entries (creating the directory, mode 0700). */
void symcache_flush(void);

/* Forget everything in memory (tests; the files stay). */
void symcache_shutdown(void);

/* In a fork child: the entries in memory that are not yet in the files are the parent's
 * to write; the child writes only what it adds itself (each child rewriting its
 * parent's files cost every forked child a write of the whole module file). */
void symcache_after_fork(void);

/* In a fork child whose parent was inside a symcache call: drop the in-memory state
 * without freeing it (it may be inconsistent); the files are read again. */
void symcache_abandon(void);

#endif
