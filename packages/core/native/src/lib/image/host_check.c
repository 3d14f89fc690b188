/*
 * host_check.c - does the image belong on this host (what host.ts, binaries.ts and
 * digest-cache.ts recorded at the checkpoint)? Another architecture, or a CPU that lacks a
 * feature the checkpointed one had, refuses it (the restored process may use the feature and die
 * of SIGILL); so does a node binary, addon or library that is not the file the image mapped (CRIU
 * would map it again by path and fail with a cryptic "bad size"). Another kernel or CRIU version
 * is only said. A file with the same device, inode, size, mtime and ctime is the same file (on an
 * overlay, whatever its device: same_identity); only another file of the same size is hashed,
 * through the digest cache the checkpoint keeps.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include "criu/kdat_dir.h"
#include "image/image.h"
#include "sha256/sha256.h"

/* process.arch for uname's machine. */
static const char *node_arch(const char *machine)
{
	static const char *const names[][2] = {
		{ "x86_64", "x64" }, { "aarch64", "arm64" }, { "i686", "ia32" }, { "i386", "ia32" }, { "armv7l", "arm" },
		{ "armv6l", "arm" }, { "ppc64le", "ppc64" }, { "ppc64", "ppc64" }, { "s390x", "s390x" }, { "riscv64", "riscv64" },
		{ "loongarch64", "loong64" }, { "mips64", "mips64el" },
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(machine, names[i][0]) == 0)
			return names[i][1];
	return machine;
}

/* The flags of the first CPU in /proc/cpuinfo (x86 `flags`, arm64 `Features`), space-separated, in `out`. */
static void cpu_flags(char *out, size_t len)
{
	out[0] = '\0';
	FILE *f = fopen("/proc/cpuinfo", "re");
	if (!f)
		return;
	char *line = NULL;
	size_t cap = 0;
	while (getline(&line, &cap, f) > 0) {
		if (strncmp(line, "flags", 5) != 0 && strncmp(line, "Features", 8) != 0)
			continue;
		char *p = line + (line[0] == 'f' ? 5 : 8);
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p != ':')
			continue;
		snprintf(out, len, " %s", p + 1);
		break;
	}
	free(line);
	fclose(f);
	for (char *c = out; *c; c++)
		if (*c == '\n' || *c == '\t')
			*c = ' ';
	size_t n = strlen(out);
	if (n + 2 < len) { /* " flag1 flag2 ... " for whole-word lookups */
		out[n] = ' ';
		out[n + 1] = '\0';
	}
}

static void append(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void append(char *buf, size_t len, const char *fmt, ...)
{
	size_t n = strlen(buf);
	if (n + 1 >= len)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf + n, len - n, fmt, ap);
	va_end(ap);
}

/* `123 bytes, modified 2026-11-27T08:00:00.000Z, sha256 0123456789ab…` (binaries.ts describe). */
static void describe(char *out, size_t len, double size, double mtime_ms, const char *sha256)
{
	long long ms = (long long)mtime_ms; /* new Date(ms) truncates */
	time_t sec = (time_t)(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
	struct tm tm;
	gmtime_r(&sec, &tm);
	char when[40];
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, len, "%.0f bytes, modified %s.%03lldZ%s%.12s%s", size, when, ((ms % 1000) + 1000) % 1000,
		 sha256 ? ", sha256 " : "", sha256 ? sha256 : "", sha256 ? "\u2026" : "");
}

/*
 * Whether `st` is the file recorded as dev, ino, size, mtime and ctime (a write changes the
 * ctime, which no user can set back). On an overlay (a container's root) the device is not
 * compared: it is the overlay mount's, new in every container, while the inode numbers are
 * those of the layers' files, and a file changed in the container or a later layer is a copy, a
 * new inode.
 */
static int same_identity(const struct stat *st, int overlay, double dev, double ino, double size, double mtime, double ctime)
{
	return (overlay || (double)st->st_dev == dev) && (double)st->st_ino == ino && (double)st->st_size == size &&
	       crac_ms(st->st_mtim) == mtime && crac_ms(st->st_ctim) == ctime;
}

/* Whether the file open as `fd` (or at `path`, when fd < 0) is on an overlay file system. */
static int on_overlay(int fd, const char *path)
{
	struct statfs fs;
	return (fd >= 0 ? fstatfs(fd, &fs) : statfs(path, &fs)) == 0 && fs.f_type == OVERLAYFS_SUPER_MAGIC;
}

/*
 * ---- the digest cache of digest-cache.ts: {"<path>": entry | [entry, ...]}, entry = {dev, ino, size, mtimeMs, ctimeMs, sha256} ----
 * A path keeps up to CACHE_PER_PATH entries, newest first: a node's shared cache sees the
 * /usr/local/bin/node of every image restored there (node 20's, node 22's...), and one entry per
 * path would make their containers hash in turn, each evicting the other's.
 * A user's is where digest-cache.ts keeps it ($CRAC_CACHE_DIR, $XDG_CACHE_HOME/crac, ~/.cache/crac).
 * Root takes no path from the environment (sudo -E keeps a user's HOME): it reads root's own
 * cache beside CRIU's kdat (CRAC_KDAT_DIR, root's alone: a host tmpfs mount shares it among a
 * node's containers, so a pulled image's node binary is hashed once per node, not per container),
 * then root's home cache if root's alone (a build step's checkpoint wrote it into the image), and
 * writes what it hashed to the first.
 */

#define CACHE_FILE "digests.json"
#define CACHE_PER_PATH 4

/* The entries of a path's value: one object, or an array of them. */
static const struct json *first_entry(const struct json *value)
{
	return value && value->type == JSON_ARRAY ? value->first : value;
}

static const struct json *next_entry(const struct json *value, const struct json *entry)
{
	return value->type == JSON_ARRAY ? entry->next : NULL;
}

struct cache {
	char path[PATH_MAX]; /* a user's cache file; "" for root */
	int dir;             /* root: CRAC_KDAT_DIR, open; -1 */
	struct manifest storage[2]; /* text + arena of each cache read */
	const struct json *roots[2]; /* [0] is the one written back */
	char (*added_paths)[PATH_MAX];
	struct { struct stat st; char sha256[65]; } *added;
	size_t nadded;
};

/* The JSON object of the cache file open as `fd` (closed), or NULL; only a file root alone may write when `root_only`. */
static const struct json *cache_load(int fd, struct manifest *storage, int root_only)
{
	struct stat st;
	const struct json *root = NULL;
	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 && st.st_size < (16 << 20) &&
	    (!root_only || (st.st_uid == 0 && (st.st_mode & (S_IWGRP | S_IWOTH)) == 0)) &&
	    (storage->text = malloc((size_t)st.st_size + 1))) {
		ssize_t n = pread(fd, storage->text, (size_t)st.st_size, 0);
		char why[64];
		if (n == st.st_size)
			root = json_parse(storage->text, (size_t)n, &storage->arena, why, sizeof(why));
		if (root && root->type != JSON_OBJECT)
			root = NULL;
	}
	close(fd);
	return root;
}

static void cache_open(struct cache *c, size_t max_added)
{
	memset(c, 0, sizeof(*c));
	c->dir = -1;
	c->added_paths = calloc(max_added + 1, sizeof(*c->added_paths));
	c->added = calloc(max_added + 1, sizeof(*c->added));
	const int flags = O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK;
	if (geteuid() == 0) {
		char why[256], home[PATH_MAX];
		if (crac_kdat_dir_prepare(why, sizeof(why)) == 0 && (c->dir = crac_kdat_dir_open()) >= 0)
			c->roots[0] = cache_load(openat(c->dir, CACHE_FILE, flags), &c->storage[0], 1);
		const struct passwd *pw = getpwuid(0);
		snprintf(home, sizeof(home), "%s/.cache/crac/" CACHE_FILE, pw && pw->pw_dir[0] == '/' ? pw->pw_dir : "/root");
		c->roots[1] = cache_load(open(home, flags), &c->storage[1], 1);
		return;
	}
	const char *dir = getenv("CRAC_CACHE_DIR"), *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
	if (dir && *dir)
		snprintf(c->path, sizeof(c->path), "%s/" CACHE_FILE, dir);
	else if (xdg && *xdg)
		snprintf(c->path, sizeof(c->path), "%s/crac/" CACHE_FILE, xdg);
	else
		snprintf(c->path, sizeof(c->path), "%s/.cache/crac/" CACHE_FILE, home && *home ? home : "/");
	c->roots[0] = cache_load(open(c->path, flags), &c->storage[0], 0);
}

static int same_file(const struct json *entry, const struct stat *st, int overlay)
{
	double dev, ino, size, mtime, ctime;
	return json_number(json_get(entry, "dev"), &dev) && json_number(json_get(entry, "ino"), &ino) &&
	       json_number(json_get(entry, "size"), &size) && json_number(json_get(entry, "mtimeMs"), &mtime) &&
	       json_number(json_get(entry, "ctimeMs"), &ctime) && same_identity(st, overlay, dev, ino, size, mtime, ctime) &&
	       json_string(json_get(entry, "sha256"));
}

/* The SHA-256 of `path` (0), from a cache when it names the same file, else hashed (counted in `check`) and remembered. */
static int cached_digest(struct cache *c, const char *path, char out[65], struct binaries_check *check)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	int overlay = on_overlay(fd, path);
	for (int i = 0; i < 2; i++) {
		const struct json *value = json_get(c->roots[i], path);
		for (const struct json *entry = first_entry(value); entry; entry = next_entry(value, entry))
			if (same_file(entry, &st, overlay)) {
				snprintf(out, 65, "%s", json_string(json_get(entry, "sha256")));
				close(fd);
				return 0;
			}
	}
	static char buffer[1 << 20];
	int r = sha256_fd(fd, buffer, sizeof(buffer), out);
	close(fd);
	check->hashed++;
	check->bytes_hashed += (double)st.st_size;
	if (r == 0 && c->added) {
		snprintf(c->added_paths[c->nadded], PATH_MAX, "%s", path);
		c->added[c->nadded].st = st;
		memcpy(c->added[c->nadded].sha256, out, 65);
		c->nadded++;
	}
	return r;
}

static void put_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\')
			fprintf(f, "\\%c", ch);
		else if (ch < 0x20)
			fprintf(f, "\\u%04x", ch);
		else
			fputc(ch, f);
	}
	fputc('"', f);
}

/* One entry's object, without its path. */
static void put_identity(FILE *f, double dev, double ino, double size, double mtime, double ctime, const char *sha)
{
	fprintf(f, "{\"dev\":%.17g,\"ino\":%.17g,\"size\":%.17g,\"mtimeMs\":%.17g,\"ctimeMs\":%.17g,\"sha256\":", dev, ino, size, mtime,
		ctime);
	put_string(f, sha);
	fputc('}', f);
}

static void put_added(FILE *f, const struct cache *c, size_t i)
{
	const struct stat *st = &c->added[i].st;
	put_identity(f, (double)st->st_dev, (double)st->st_ino, (double)st->st_size, crac_ms(st->st_mtim), crac_ms(st->st_ctim),
		     c->added[i].sha256);
}

/* Whether `entry` is well formed (its fields in the out parameters) and not the file hashed anew as added[i]. */
static int kept_entry(const struct json *entry, const struct cache *c, size_t i, double v[5])
{
	const char *fields[] = { "dev", "ino", "size", "mtimeMs", "ctimeMs" };
	for (int k = 0; k < 5; k++)
		if (!json_number(json_get(entry, fields[k]), &v[k]))
			return 0;
	if (!json_string(json_get(entry, "sha256")))
		return 0;
	if (i == c->nadded)
		return 1;
	const struct stat *st = &c->added[i].st;
	return !(v[0] == (double)st->st_dev && v[1] == (double)st->st_ino && v[2] == (double)st->st_size &&
		 v[3] == crac_ms(st->st_mtim) && v[4] == crac_ms(st->st_ctim));
}

/*
 * Writes the paths of the cache read first to `f`, each with what was hashed anew first, then
 * its older entries (at most CACHE_PER_PATH in all); paths gone are left out (it does not grow
 * with the paths of images long removed); then the paths new to it.
 */
static void cache_write(const struct cache *c, FILE *f)
{
	int first = 1;
	char *written = calloc(c->nadded + 1, 1);
	fputc('{', f);
	for (const struct json *value = c->roots[0] ? c->roots[0]->first : NULL; value; value = value->next) {
		struct stat st;
		if (stat(value->key, &st) != 0)
			continue;
		size_t i = 0;
		while (i < c->nadded && strcmp(c->added_paths[i], value->key) != 0)
			i++;
		const struct json *kept[CACHE_PER_PATH];
		double fields[CACHE_PER_PATH][5];
		size_t n = 0, room = i < c->nadded ? CACHE_PER_PATH - 1 : CACHE_PER_PATH;
		for (const struct json *e = first_entry(value); e && n < room; e = next_entry(value, e))
			if (kept_entry(e, c, i, fields[n]))
				kept[n++] = e;
		size_t total = n + (i < c->nadded);
		if (total == 0)
			continue;
		if (!first)
			fputc(',', f);
		first = 0;
		put_string(f, value->key);
		fputs(total > 1 ? ":[" : ":", f);
		if (i < c->nadded) {
			put_added(f, c, i);
			if (written)
				written[i] = 1;
		}
		for (size_t k = 0; k < n; k++) {
			if (k > 0 || i < c->nadded)
				fputc(',', f);
			put_identity(f, fields[k][0], fields[k][1], fields[k][2], fields[k][3], fields[k][4], json_string(json_get(kept[k], "sha256")));
		}
		if (total > 1)
			fputc(']', f);
	}
	for (size_t i = 0; i < c->nadded; i++) {
		if (written && written[i])
			continue;
		if (!first)
			fputc(',', f);
		first = 0;
		put_string(f, c->added_paths[i]);
		fputc(':', f);
		put_added(f, c, i);
	}
	fputc('}', f);
	free(written);
}

/* Writes the cache back with what was hashed (private, atomically); a cache that cannot be written only costs the hashing. */
static void cache_close(struct cache *c)
{
	if (c->nadded > 0 && (c->dir >= 0 || c->path[0])) {
		char dir[PATH_MAX], tmp[PATH_MAX + 32];
		if (c->dir < 0) {
			snprintf(dir, sizeof(dir), "%s", c->path);
			char *slash = strrchr(dir, '/');
			if (slash) {
				*slash = '\0';
				for (char *p = dir + 1; *p; p++) /* mkdir -p, 0700 */
					if (*p == '/') {
						*p = '\0';
						mkdir(dir, 0700);
						*p = '/';
					}
				mkdir(dir, 0700);
			}
			snprintf(tmp, sizeof(tmp), "%s.%d.tmp", c->path, (int)getpid());
		} else {
			snprintf(tmp, sizeof(tmp), CACHE_FILE ".%d.tmp", (int)getpid());
		}
		int at = c->dir >= 0 ? c->dir : AT_FDCWD;
		const char *final = c->dir >= 0 ? CACHE_FILE : c->path;
		int fd = openat(at, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
		FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
		if (f) {
			cache_write(c, f);
			if (fclose(f) != 0 || renameat(at, tmp, at, final) != 0)
				unlinkat(at, tmp, 0);
		} else if (fd >= 0) {
			close(fd);
			unlinkat(at, tmp, 0);
		}
	}
	if (c->dir >= 0)
		close(c->dir);
	free(c->added_paths);
	free(c->added);
	free_manifest(&c->storage[0]);
	free_manifest(&c->storage[1]);
}

int verify_host_and_binaries(const struct image *image, const char *criu_version, char *warnings, size_t warnings_len,
			     struct binaries_check *check, struct crac_error *error)
{
	struct binaries_check ignored;
	if (!check)
		check = &ignored;
	*check = (struct binaries_check){ 0 };
	const struct manifest *m = &image->manifest;
	char lines[6144] = "", refusals[2048] = "";
	int differences = 0;
	if (m->has_host) {
		struct utsname u;
		uname(&u);
		const char *arch = node_arch(u.machine);
		if (strcmp(m->host_arch, arch) != 0)
			append(refusals, sizeof(refusals), "\n  the image is for %s, this host is %s", m->host_arch, arch);
		static char flags[16384];
		cpu_flags(flags, sizeof(flags));
		char missing[2048] = "";
		for (size_t i = 0; i < m->ncpu_flags; i++) {
			char word[128];
			snprintf(word, sizeof(word), " %s ", m->cpu_flags[i]);
			if (!strstr(flags, word))
				append(missing, sizeof(missing), "%s%s", missing[0] ? " " : "", m->cpu_flags[i]);
		}
		if (missing[0])
			append(refusals, sizeof(refusals),
			       "\n  this CPU lacks features the checkpointed CPU had (%s): the restored process may use them and die of SIGILL",
			       missing);
		if (strcmp(m->host_kernel, u.release) != 0)
			append(warnings, warnings_len, "the image was made on kernel %s, this is %s\n", m->host_kernel, u.release);
	}
	struct cache cache;
	int cache_opened = 0;
	for (size_t i = 0; i < m->nbinaries; i++) {
		const struct binary_record *b = &m->binaries[i];
		char recorded[200], found[200];
		describe(recorded, sizeof(recorded), b->size, b->mtime_ms, b->sha256);
		struct stat st;
		if (stat(b->path, &st) != 0) {
			append(lines, sizeof(lines), "\n  %s (%s) is missing on this host; the image had %s", b->path, b->role, recorded);
			differences++;
			continue;
		}
		if ((double)st.st_size != b->size) {
			describe(found, sizeof(found), (double)st.st_size, crac_ms(st.st_mtim), NULL);
			append(lines, sizeof(lines), "\n  %s (%s) is not the file the image was made with: it had %s; this host has %s", b->path,
			       b->role, recorded, found);
			differences++;
			continue;
		}
		if (!b->sha256 || same_identity(&st, on_overlay(-1, b->path), b->dev, b->ino, b->size, b->mtime_ms, b->ctime_ms))
			continue;
		if (!cache_opened) {
			cache_open(&cache, m->nbinaries);
			cache_opened = 1;
		}
		char digest[65];
		if (cached_digest(&cache, b->path, digest, check) != 0)
			snprintf(digest, sizeof(digest), "unreadable");
		if (strcmp(digest, b->sha256) != 0) {
			describe(found, sizeof(found), (double)st.st_size, crac_ms(st.st_mtim), digest);
			append(lines, sizeof(lines), "\n  %s (%s) is not the file the image was made with: it had %s; this host has %s", b->path,
			       b->role, recorded, found);
			differences++;
		}
	}
	if (cache_opened)
		cache_close(&cache);
	if (differences > 0 || refusals[0]) {
		const char *fix = differences > 0 ? "restore where the same build of these files is at the same paths (the image was made by node "
						  : "restore on a host with the same CPU, or checkpoint again on this one";
		if (differences > 0)
			return crac_fail(error, CRAC_EIMAGE_FOREIGN,
					 "%s was made on another host or build:%s%s\n  fix: %s%s at %s), or checkpoint again with this host's files",
					 image->dir, lines, refusals, fix, m->node_version, m->node_exec_path);
		return crac_fail(error, CRAC_EIMAGE_FOREIGN, "%s was made on another host or build:%s\n  fix: %s", image->dir, refusals, fix);
	}
	if (criu_version && strcmp(m->criu_version, criu_version) != 0)
		append(warnings, warnings_len, "the image was made by CRIU %s, this is CRIU %s\n", m->criu_version, criu_version);
	return 0;
}
