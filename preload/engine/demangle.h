/* demangle.h - symbol names as a user writes them: Rust (legacy "_ZN...17h<hash>E" and
 * v0 "_R...") by our own demanglers, C++ by the process's __cxa_demangle when it has
 * one, else by libiberty's (linked in statically), so that names read the same whether
 * or not the program loads libstdc++. Called only where symbols are resolved (writer
 * thread, exit, dlclose wrapper), never on an audio thread: it allocates. */
#ifndef AUDIOPROF_DEMANGLE_H
#define AUDIOPROF_DEMANGLE_H

#include <stddef.h>

/* __cxa_demangle's signature. */
typedef char *(*demangle_fn)(const char *name, char *buf, size_t *len, int *status);

/* The demangled form of `name` (malloc'd, the caller frees it), or NULL when it is not
 * a mangled Rust or C++ name or cannot be demangled. Rust names come without their
 * legacy hash ("::h0123456789abcdef") and without crate disambiguators, like
 * rustc-demangle's alternate format; LLVM's ".llvm.NNN" suffixes are dropped. `cxa` is
 * the process's __cxa_demangle or NULL. */
char *demangle_symbol(const char *name, demangle_fn cxa);

/* The Rust demanglers alone (unit tests): NULL when `name` is not such a Rust name. */
char *demangle_rust_legacy(const char *name);
char *demangle_rust_v0(const char *name);

#endif
