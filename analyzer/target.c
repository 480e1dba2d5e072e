/* target.c - finds the program to run on PATH and checks, from its ELF program headers
 * and its mode bits, that the dynamic loader will honour LD_PRELOAD for it. Reads the
 * file itself (no `file`, no `readelf`) and never executes anything. */
#include "target.h"
#include "cli.h"

#include <elf.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#define SHEBANG_MAX_DEPTH 4      /* the kernel's own limit on nested interpreters */

/* ------------------------------------------------------------------ PATH search */

static int is_exec_file(const char *path, int *exists)
{
	struct stat st;
	if (stat(path, &st) != 0)
		return 0;
	if (!S_ISREG(st.st_mode))
		return 0;
	*exists = 1;
	return access(path, X_OK) == 0;
}

int target_resolve(const char *name, char *out, size_t outlen)
{
	if (*name == '\0') {
		cli_error("'': command not found");
		return EXIT_NOT_FOUND;
	}
	if (strchr(name, '/')) {
		struct stat st;
		if (stat(name, &st) != 0) {
			cli_error("%s: %s", name, strerror(errno));
			return errno == ENOENT || errno == ENOTDIR ? EXIT_NOT_FOUND : EXIT_CANNOT_EXEC;
		}
		if (S_ISDIR(st.st_mode)) {
			cli_error("%s: is a directory", name);
			return EXIT_CANNOT_EXEC;
		}
		if (access(name, X_OK) != 0) {
			cli_error("%s: %s", name, strerror(errno));
			return EXIT_CANNOT_EXEC;
		}
		if ((size_t)snprintf(out, outlen, "%s", name) >= outlen) {
			cli_error("%s: path too long", name);
			return EXIT_NOT_FOUND;
		}
		return 0;
	}

	const char *path = getenv("PATH");
	char defpath[256];
	if (!path) {
		size_t n = confstr(_CS_PATH, defpath, sizeof(defpath));
		path = n > 0 && n <= sizeof(defpath) ? defpath : "/bin:/usr/bin";
	}
	int seen_nonexec = 0;
	for (const char *p = path;; ) {
		const char *colon = strchr(p, ':');
		size_t dlen = colon ? (size_t)(colon - p) : strlen(p);
		int n = dlen == 0 ? snprintf(out, outlen, "%s", name)
				  : snprintf(out, outlen, "%.*s/%s", (int)dlen, p, name);
		if (n > 0 && (size_t)n < outlen) {
			int exists = 0;
			if (is_exec_file(out, &exists))
				return 0;
			seen_nonexec |= exists;
		}
		if (!colon)
			break;
		p = colon + 1;
	}
	if (seen_nonexec) {
		cli_error("%s: permission denied (found on PATH but not executable)", name);
		return EXIT_CANNOT_EXEC;
	}
	cli_error("%s: command not found", name);
	return EXIT_NOT_FOUND;
}

/* ------------------------------------------------------------------ ELF */

/* Reads exactly `len` bytes at `off`; 0 on success. */
static int read_at(int fd, void *buf, size_t len, off_t off)
{
	char *p = buf;
	while (len > 0) {
		ssize_t n = pread(fd, p, len, off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		off += n;
		len -= (size_t)n;
	}
	return 0;
}

/* What the program headers say. */
struct elf_facts {
	int has_interp;   /* PT_INTERP: the dynamic loader runs (and reads LD_PRELOAD) */
	int has_dynamic;  /* PT_DYNAMIC */
};

#if __BYTE_ORDER == __LITTLE_ENDIAN
#define HOST_ELFDATA ELFDATA2LSB
#else
#define HOST_ELFDATA ELFDATA2MSB
#endif

/* Scans the program headers of an ELF file of this machine's byte order. Returns 0 with
 * `f` filled in, 1 if the file is not something we can judge (foreign byte order or
 * class; exec will complain), -1 on a read error or a malformed header. */
static int elf_scan(int fd, const unsigned char *ident, struct elf_facts *f)
{
	memset(f, 0, sizeof(*f));
	if (ident[EI_DATA] != HOST_ELFDATA)
		return 1;
	uint64_t phoff, phnum, phentsize, shoff;
	if (ident[EI_CLASS] == ELFCLASS64) {
		Elf64_Ehdr eh;
		if (read_at(fd, &eh, sizeof(eh), 0) != 0)
			return -1;
		phoff = eh.e_phoff, phnum = eh.e_phnum, phentsize = eh.e_phentsize, shoff = eh.e_shoff;
		if (phnum == PN_XNUM) {          /* the real count is in section 0's sh_info */
			Elf64_Shdr sh;
			if (shoff == 0 || read_at(fd, &sh, sizeof(sh), (off_t)shoff) != 0)
				return -1;
			phnum = sh.sh_info;
		}
		if (phentsize < sizeof(Elf64_Phdr))
			return phnum == 0 ? 0 : -1;
		for (uint64_t i = 0; i < phnum; i++) {
			Elf64_Phdr ph;
			if (read_at(fd, &ph, sizeof(ph), (off_t)(phoff + i * phentsize)) != 0)
				return -1;
			f->has_interp |= ph.p_type == PT_INTERP;
			f->has_dynamic |= ph.p_type == PT_DYNAMIC;
		}
		return 0;
	}
	if (ident[EI_CLASS] == ELFCLASS32) {
		Elf32_Ehdr eh;
		if (read_at(fd, &eh, sizeof(eh), 0) != 0)
			return -1;
		phoff = eh.e_phoff, phnum = eh.e_phnum, phentsize = eh.e_phentsize, shoff = eh.e_shoff;
		if (phnum == PN_XNUM) {
			Elf32_Shdr sh;
			if (shoff == 0 || read_at(fd, &sh, sizeof(sh), (off_t)shoff) != 0)
				return -1;
			phnum = sh.sh_info;
		}
		if (phentsize < sizeof(Elf32_Phdr))
			return phnum == 0 ? 0 : -1;
		for (uint64_t i = 0; i < phnum; i++) {
			Elf32_Phdr ph;
			if (read_at(fd, &ph, sizeof(ph), (off_t)(phoff + i * phentsize)) != 0)
				return -1;
			f->has_interp |= ph.p_type == PT_INTERP;
			f->has_dynamic |= ph.p_type == PT_DYNAMIC;
		}
		return 0;
	}
	return 1;
}

/* ------------------------------------------------------------------ #! scripts */

/* The interpreter path of a "#!" line in `head` (n bytes), or 0 if there is none. */
static int shebang_interp(const char *head, size_t n, char *out, size_t outlen)
{
	if (n < 2 || head[0] != '#' || head[1] != '!')
		return 0;
	size_t i = 2;
	while (i < n && (head[i] == ' ' || head[i] == '\t'))
		i++;
	size_t start = i;
	while (i < n && head[i] != ' ' && head[i] != '\t' && head[i] != '\n' && head[i] != '\0')
		i++;
	size_t len = i - start;
	if (len == 0 || len >= outlen)
		return 0;
	memcpy(out, head + start, len);
	out[len] = '\0';
	return 1;
}

/* ------------------------------------------------------------------ the check */

/* Secure-execution mode (AT_SECURE): the loader then ignores LD_PRELOAD paths. The
 * kernel sets it when the new effective uid/gid differs from the real one, or when exec
 * grants capabilities (never for root, who has them all). So root may profile a
 * set-user-ID root program, but nobody may profile one owned by someone else. */
static int secure_exec_reason(const char *path, const struct stat *st, char *why, size_t whylen)
{
	if ((st->st_mode & S_ISUID) && st->st_uid != getuid()) {
		snprintf(why, whylen, "it is set-user-ID (owner uid %u): the dynamic loader runs it "
			 "in secure-execution mode and ignores LD_PRELOAD", (unsigned)st->st_uid);
		return 1;
	}
	/* S_ISGID without group execute is mandatory locking, not set-group-ID. */
	if ((st->st_mode & S_ISGID) && (st->st_mode & S_IXGRP) && st->st_gid != getgid()) {
		snprintf(why, whylen, "it is set-group-ID (group gid %u): the dynamic loader runs it "
			 "in secure-execution mode and ignores LD_PRELOAD", (unsigned)st->st_gid);
		return 1;
	}
	if (getuid() != 0 && getxattr(path, "security.capability", NULL, 0) > 0) {
		snprintf(why, whylen, "it has file capabilities: the dynamic loader runs it in "
			 "secure-execution mode and ignores LD_PRELOAD");
		return 1;
	}
	return 0;
}

static int check_depth(const char *path, char *why, size_t whylen, int depth)
{
	struct stat st;
	if (stat(path, &st) != 0)
		return 0;                        /* exec reports it */
	if (secure_exec_reason(path, &st, why, whylen))
		return -1;

	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;                        /* execute-only file: cannot judge, let it run */
	char head[256];
	ssize_t n = pread(fd, head, sizeof(head), 0);
	if (n < 0)
		n = 0;

	if (n >= EI_NIDENT && memcmp(head, ELFMAG, SELFMAG) == 0) {
		struct elf_facts f;
		int rc = elf_scan(fd, (const unsigned char *)head, &f);
		close(fd);
		if (rc == 0 && !f.has_interp) {
			snprintf(why, whylen, "it is statically linked (its ELF program headers have "
				 "no %s): no dynamic loader runs, so LD_PRELOAD cannot load the profiler",
				 f.has_dynamic ? "PT_INTERP" : "PT_INTERP and no PT_DYNAMIC");
			return -1;
		}
		if (rc == 0 && !f.has_dynamic) {
			snprintf(why, whylen, "it has no dynamic section (PT_DYNAMIC): "
				 "LD_PRELOAD cannot work for it");
			return -1;
		}
		return 0;
	}
	close(fd);

	char interp[4096];
	if (shebang_interp(head, (size_t)n, interp, sizeof(interp))) {
		if (depth >= SHEBANG_MAX_DEPTH)
			return 0;
		char sub[4096];
		if (check_depth(interp, sub, sizeof(sub), depth + 1) != 0) {
			snprintf(why, whylen, "its #! interpreter %s cannot be profiled: %s", interp, sub);
			return -1;
		}
	}
	return 0;
}

int target_check(const char *path, char *why, size_t whylen)
{
	return check_depth(path, why, whylen, 0);
}

void target_program_name(const char *path, const char *argv0, char *out, size_t outlen)
{
	const char *name = argv0;
	char interp[4096];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		char head[256];
		ssize_t n = pread(fd, head, sizeof(head), 0);
		close(fd);
		if (n > 0 && shebang_interp(head, (size_t)n, interp, sizeof(interp)))
			name = interp;
	}
	const char *slash = strrchr(name, '/');
	snprintf(out, outlen, "%s", slash ? slash + 1 : name);
}
