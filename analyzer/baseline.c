/* baseline.c - the directory of named baselines (baseline.h): names, the marker file
 * that tells a set of runs written by audioprof from anything else, the list of a
 * set's runs, and the replacement of a whole set by one rename. Used by run.c only;
 * single-threaded, no signal handlers involved. */
#include "baseline.h"
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------------ names */

const char *baseline_root(void)
{
	const char *env = getenv("AUDIOPROF_BASELINE_DIR");
	return env && *env ? env : BASELINE_DEFAULT_DIR;
}

int baseline_check_name(const char *flag, const char *name)
{
	const char *why = NULL;
	if (!*name)
		why = "a NAME cannot be empty";
	else if (strchr(name, '/'))
		why = "a NAME cannot contain '/'";
	else if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		why = "a NAME cannot be '.' or '..'";
	else if (name[0] == '.')
		why = "a NAME cannot start with '.'";
	else if (strlen(name) > 200)
		why = "a NAME can have at most 200 bytes";
	if (!why)
		return 0;
	cli_error("run: %s: '%s': %s", flag, name, why);
	return -1;
}

/* ------------------------------------------------------------------ directories */

int baseline_mkdirs(const char *dir)
{
	char p[PATH_MAX];
	if (snprintf(p, sizeof(p), "%s", dir) >= (int)sizeof(p)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	for (char *s = p + 1;; s++) {
		if (*s != '/' && *s)
			continue;
		char c = *s;
		*s = '\0';
		if (mkdir(p, 0777) != 0 && errno != EEXIST)
			return -1;
		*s = c;
		if (!c)
			break;
	}
	struct stat st;
	if (stat(dir, &st) != 0)
		return -1;
	if (!S_ISDIR(st.st_mode)) {
		errno = ENOTDIR;
		return -1;
	}
	return 0;
}

int baseline_tmpdir(const char *parent, const char *prefix, char *out, size_t len)
{
	if ((size_t)snprintf(out, len, "%s/.%s.tmp.XXXXXX", parent, prefix) >= len) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return mkdtemp(out) ? 0 : -1;
}

int baseline_mark(const char *dir, const char *kind, const char *name, unsigned runs,
		  char **argv)
{
	char path[PATH_MAX];
	if (snprintf(path, sizeof(path), "%s/%s", dir, BASELINE_MARKER) >= (int)sizeof(path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	char when[64];
	time_t now = time(NULL);
	struct tm tm;
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tm));
	fprintf(f, "audioprof baseline 1\nkind: %s\nname: %s\nruns: %u\nsaved: %s\ncommand:",
		kind, name, runs, when);
	for (char **a = argv; *a; a++)
		fprintf(f, " %s", *a);
	fputc('\n', f);
	int e = ferror(f);
	if (fclose(f) != 0 || e) {
		if (!errno)
			errno = EIO;
		return -1;
	}
	return 0;
}

int baseline_is_set(const char *dir)
{
	struct stat st;
	if (lstat(dir, &st) != 0)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISDIR(st.st_mode)) {
		errno = ENOTDIR;
		return -1;
	}
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/%s", dir, BASELINE_MARKER);
	if (lstat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
		errno = EEXIST;
		return -1;
	}
	return 1;
}

long baseline_list(const char *dir, char ***paths)
{
	*paths = NULL;
	long n = 0;
	for (;;) {
		char path[PATH_MAX];
		if (snprintf(path, sizeof(path), "%s/run-%ld.json", dir, n + 1) >= (int)sizeof(path)) {
			errno = ENAMETOOLONG;
			break;
		}
		if (access(path, F_OK) != 0)
			return n;
		char **grown = realloc(*paths, (size_t)(n + 1) * sizeof(*grown));
		if (!grown)
			break;
		*paths = grown;
		if (!(grown[n] = strdup(path)))
			break;
		n++;
	}
	baseline_free_list(*paths, n);
	*paths = NULL;
	return -1;
}

void baseline_free_list(char **paths, long n)
{
	for (long i = 0; i < n; i++)
		free(paths[i]);
	free(paths);
}

/* ------------------------------------------------------------------ locks */

/* A reader holds LOCK_SH on the set's directory for as long as it runs; a process that
 * writes a new set holds LOCK_EX on its temporary directory. flock is tied to the
 * directory itself, so it follows the set through the renames. */

int baseline_open_set(const char *dir, char *path, size_t len)
{
	for (int tries = 0; tries < 100; tries++) {
		int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0)
			return -1;
		struct stat a, b;
		if (flock(fd, LOCK_SH) == 0 && fstat(fd, &a) == 0 && stat(dir, &b) == 0 &&
		    a.st_dev == b.st_dev && a.st_ino == b.st_ino) {
			if ((size_t)snprintf(path, len, "/proc/self/fd/%d", fd) >= len) {
				close(fd);
				errno = ENAMETOOLONG;
				return -1;
			}
			return fd;
		}
		close(fd);   /* replaced between the open and the lock: the new set */
	}
	errno = EAGAIN;
	return -1;
}

int baseline_hold(const char *tmp)
{
	int fd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (flock(fd, LOCK_EX) != 0) {
		close(fd);
		return -1;
	}
	return 0;   /* fd stays open: the lock lasts as long as the process */
}

#define SWEEP_AGE 10   /* seconds unchanged: its creator locks it at once */

/* Whether every entry of the directory `fd` is one audioprof writes into a set. */
static int only_ours(int fd)
{
	int dup_fd = dup(fd);
	if (dup_fd < 0)
		return 0;
	DIR *d = fdopendir(dup_fd);
	if (!d) {
		close(dup_fd);
		return 0;
	}
	int ours = 1;
	struct dirent *e;
	while (ours && (e = readdir(d))) {
		const char *n = e->d_name;
		if (strcmp(n, ".") == 0 || strcmp(n, "..") == 0)
			continue;
		size_t l = strlen(n);
		ours = e->d_type != DT_DIR && e->d_type != DT_LNK &&
		       ((strncmp(n, "run-", 4) == 0 && l > 9 && strcmp(n + l - 5, ".json") == 0) ||
			strcmp(n, BASELINE_MARKER) == 0 || strncmp(n, ".audioprof.", 11) == 0);
	}
	closedir(d);
	return ours;
}

void baseline_sweep(const char *parent, const char *prefix)
{
	char pat[256];
	if ((size_t)snprintf(pat, sizeof(pat), ".%s.tmp.", prefix) >= sizeof(pat))
		return;
	DIR *d = opendir(parent);
	if (!d)
		return;
	time_t now = time(NULL);
	struct dirent *e;
	while ((e = readdir(d))) {
		if (strncmp(e->d_name, pat, strlen(pat)) != 0)
			continue;
		int fd = openat(dirfd(d), e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			continue;
		struct stat st;
		if (flock(fd, LOCK_EX | LOCK_NB) == 0 && fstat(fd, &st) == 0 &&
		    now - st.st_mtime > SWEEP_AGE && only_ours(fd)) {
			char path[PATH_MAX];
			if ((size_t)snprintf(path, sizeof(path), "%s/%s", parent, e->d_name) <
			    sizeof(path))
				baseline_remove(path);
		}
		close(fd);
	}
	closedir(d);
}

/* Removes the old set `dir` now unless a reader holds it: then a later sweep does. */
static void remove_unless_read(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return;
	if (flock(fd, LOCK_EX | LOCK_NB) == 0)
		baseline_remove(dir);
	close(fd);
}

/* ------------------------------------------------------------------ replacing */

static int remove_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return (type == FTW_DP ? rmdir(path) : unlink(path)) == 0 || errno == ENOENT ? 0 : -1;
}

int baseline_remove(const char *dir)
{
	return nftw(dir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

int baseline_install(const char *tmp, const char *final)
{
	int is = baseline_is_set(final);
	if (is < 0)
		return -1;
	if (is == 0) {
		if (renameat2(AT_FDCWD, tmp, AT_FDCWD, final, RENAME_NOREPLACE) == 0)
			return 0;
		if (errno != EINVAL && errno != ENOSYS)
			return -1;
		return rename(tmp, final);   /* no RENAME_NOREPLACE here: an empty `final` */
	}
	if (renameat2(AT_FDCWD, tmp, AT_FDCWD, final, RENAME_EXCHANGE) == 0) {
		remove_unless_read(tmp);     /* now the old set */
		return 0;
	}
	if (errno != EINVAL && errno != ENOSYS)
		return -1;
	/* No exchange on this file system: the old set aside, then the new one in. */
	char old[PATH_MAX];
	if (snprintf(old, sizeof(old), "%s.old", tmp) >= (int)sizeof(old)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if (rename(final, old) != 0)
		return -1;
	if (rename(tmp, final) != 0) {
		int e = errno;
		rename(old, final);
		errno = e;
		return -1;
	}
	remove_unless_read(old);
	return 0;
}
