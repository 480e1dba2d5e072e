/* dwlib.h - elfutils' libdw and libelf, opened with dlopen the first time a frame
 * needs them (a miss of the persistent symbol cache), so that a process whose frames
 * are all cached never maps them, nor their compression libraries (libz, libbz2,
 * liblzma, libzstd): fewer mappings for every fork() to copy, less start-up work.
 * symbols.c calls libdw only through the table below.
 *
 * dwlib_load is called only where the symbolizer may run (the profiler's threads, the
 * profile writes at exit, exec or a fatal signal, the dlclose wrapper), on a real-time
 * thread only just before it aborts (AUDIOPROF_ON_VIOLATION=abort) or while it writes
 * the last profile (a callback that calls exit), and never with
 * symbols.c's mutex held: dlopen takes the loader's lock. It runs with runtime_guard
 * held, so what dlopen and libdw allocate is the profiler's own. */
#ifndef AUDIOPROF_DWLIB_H
#define AUDIOPROF_DWLIB_H

#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <libelf.h>

/* Every function of theirs the profiler calls: X(library, name). */
#define DWLIB_FUNCTIONS(X) \
	X(DW, dwfl_begin) X(DW, dwfl_end) X(DW, dwfl_report_begin) \
	X(DW, dwfl_report_module) X(DW, dwfl_report_end) X(DW, dwfl_getmodules) \
	X(DW, dwfl_addrmodule) X(DW, dwfl_module_info) X(DW, dwfl_module_getelf) \
	X(DW, dwfl_module_build_id) X(DW, dwfl_module_getdwarf) X(DW, dwfl_module_addrdie) \
	X(DW, dwfl_module_getsrc) X(DW, dwfl_lineinfo) X(DW, dwfl_module_getsymtab) \
	X(DW, dwfl_module_getsym_info) X(DW, dwfl_build_id_find_debuginfo) \
	X(DW, dwarf_attr) X(DW, dwarf_attr_integrate) X(DW, dwarf_formstring) \
	X(DW, dwarf_formudata) X(DW, dwarf_child) X(DW, dwarf_siblingof) X(DW, dwarf_tag) \
	X(DW, dwarf_haspc) X(DW, dwarf_getscopes) X(DW, dwarf_getscopes_die) \
	X(DW, dwarf_getsrcfiles) X(DW, dwarf_filesrc) X(DW, dwarf_getelf) X(DW, dwarf_getalt) \
	X(DW, dwarf_ranges) X(DW, dwarf_dieoffset) X(DW, dwarf_cu_getdwarf) X(DW, dwarf_offdie) \
	X(DW, dwfl_linecu) X(DW, dwarf_getsrclines) X(DW, dwarf_onesrcline) \
	X(DW, dwarf_lineaddr) X(DW, dwarf_lineendsequence) X(DW, dwarf_lineno) X(DW, dwarf_linesrc) \
	X(ELF, elf_begin) X(ELF, elf_memory) X(ELF, elf_cntl) X(ELF, elf_end)

/* One pointer per function, named after it and of its declared type (__typeof__
 * refers to the declaration only: nothing is linked). */
struct dwlib {
#define DWLIB_FIELD(lib, name) __typeof__(name) *name;
	DWLIB_FUNCTIONS(DWLIB_FIELD)
#undef DWLIB_FIELD
};

/* The table: valid once dwlib_load returned 1. */
extern struct dwlib dwlib;

/* Load libdw and libelf (RTLD_LOCAL) and fill the table, once per process. Returns 1
 * when they are usable, 0 when they are not: they could not be loaded (one warning,
 * then never tried again), or the caller is on a real-time thread (outside
 * dwlib_last_write and AUDIOPROF_ON_VIOLATION=abort), or another
 * thread's load did not end within 2 s (tried again later). Thread-safe. */
int dwlib_load(void);

/* The calling thread writes the process's last profile (exit, _exit, exec) while `on`:
 * it may load them even inside real-time code, for nothing real-time follows (an exec
 * that fails returns, and turns this off again). */
void dwlib_last_write(int on);

/* Whether the table is filled (a plain load: no lock, no system call). */
int dwlib_loaded(void);

/* Whether loading failed for good: symbolization goes on without libdw. */
int dwlib_failed(void);

#endif
