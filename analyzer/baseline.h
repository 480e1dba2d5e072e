/* baseline.h - named baselines of `audioprof run --save-baseline NAME` and
 * `--baseline NAME`: where they live, what a valid NAME is, reading the list of a
 * baseline's runs, and replacing a set of runs whole (a temporary directory beside it,
 * then one rename), so that a reader never sees half a baseline. */
#ifndef AUDIOPROF_BASELINE_H
#define AUDIOPROF_BASELINE_H

#include <stddef.h>

/* The directory that holds the baselines when $AUDIOPROF_BASELINE_DIR is unset or
 * empty, relative to the current directory. */
#define BASELINE_DEFAULT_DIR ".audioprof/baselines"
/* The file that marks a directory as a set of runs written by audioprof: a directory
 * without it is never read as a baseline, nor removed or replaced. */
#define BASELINE_MARKER "audioprof-baseline"
/* Inside baseline NAME: the runs of the last `--baseline NAME` comparison. */
#define BASELINE_LAST "last"

/* The directory of the baselines: $AUDIOPROF_BASELINE_DIR, else BASELINE_DEFAULT_DIR. */
const char *baseline_root(void);

/* 0 when `name` can name a baseline: not empty, no '/', not starting with '.' (which
 * also rules out "." and ".."; names starting with '.' are the temporary directories'),
 * at most 200 bytes. Else prints "run: FLAG: 'NAME': why" and returns -1. */
int baseline_check_name(const char *flag, const char *name);

/* Creates `dir` and its missing parents (mode 0777 before the umask). 0, or -1 with errno. */
int baseline_mkdirs(const char *dir);

/* Creates a new empty directory "PARENT/.PREFIX.tmp.XXXXXX" and writes its path to
 * `out`. 0, or -1 with errno. */
int baseline_tmpdir(const char *parent, const char *prefix, char *out, size_t len);

/* Writes the marker file into `dir`: what the set is ("baseline" or "last"), its name,
 * how many runs, when, and the command line. 0, or -1 with errno. */
int baseline_mark(const char *dir, const char *kind, const char *name, unsigned runs,
		  char **argv);

/* Is `dir` a set written by audioprof (a directory with the marker)? 1 yes, 0 it does
 * not exist, -1 it exists but is not one (errno ENOTDIR or EEXIST). */
int baseline_is_set(const char *dir);

/* The runs of the set in `dir`: the paths "DIR/run-K.json", K = 1, 2, ... in order, as
 * far as they exist. Returns how many (0 when none) and a malloc'd array of malloc'd
 * strings in *paths (free with baseline_free_list), or -1 with errno. */
long baseline_list(const char *dir, char ***paths);
void baseline_free_list(char **paths, long n);

/* Locks (flock LOCK_SH) the set in `dir` for reading, and writes to `path` a name of
 * it that keeps meaning that very directory ("/proc/self/fd/N"): a set saved under the
 * same name meanwhile takes its place at `dir` but never removes this one while it is
 * locked. Returns the descriptor (held until the process ends), or -1 with errno. */
int baseline_open_set(const char *dir, char *path, size_t len);

/* Marks the new directory `tmp` (baseline_tmpdir) as in use by this process: an
 * exclusive flock held until the process ends, which baseline_sweep respects. 0 or -1. */
int baseline_hold(const char *tmp);

/* Removes what killed runs left in `parent`: directories ".PREFIX.tmp.*" that no process
 * holds or reads (flock), older than a few seconds, holding nothing but what audioprof
 * writes into a set (run-*.json, the marker, the preload's ".audioprof.*" temporary
 * names). Anything else is left alone. */
void baseline_sweep(const char *parent, const char *prefix);

/* Puts the complete set `tmp` in place as `final`: renamed there when nothing is there,
 * exchanged with the old set in one rename (renameat2 RENAME_EXCHANGE) when one is,
 * which is then removed (or, while a reader still holds it, left to baseline_sweep
 * under the temporary name). Where the file system cannot exchange, the old set is renamed
 * aside first (a moment without `final`, never a half set). Refuses (-1, errno EEXIST)
 * to replace anything that is not a set (baseline_is_set). 0, or -1 with errno. */
int baseline_install(const char *tmp, const char *final);

/* Removes the directory tree `dir` (files, not following symbolic links). 0, or -1. */
int baseline_remove(const char *dir);

#endif
