/*
 * crac-seal - the seal step of a checkpoint: CRIU's action script (the criu engine's
 * crac-seal.conf names this program, see image/seal-hook.ts). At post-dump, while the dumped
 * process is still frozen, it seals the staged image CRIU just wrote (the size, SHA-256 and
 * identity of every file into the manifest's `seal`), then puts it in place of the image
 * directory. A non-zero exit fails the dump (CRIU resumes the process, which runs on); what it
 * prints on stderr goes into CRIU's log, where the dump reads it (its `crac: ` lines). Every other
 * action of CRIU is none of its business. The one implementation of the seal and of putting a
 * staged image in place (no Node starts inside the dump's window).
 *
 * Environment (set by the criu engine, inherited through CRIU):
 *   CRAC_SEAL_DIR      the staging directory through the dumped process's descriptor (/proc/<app>/fd/<n>)
 *   CRAC_SEAL_STAGING  its path
 *   CRAC_SEAL_TARGET   the image directory it becomes
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "image/files.h"
#include "image/image.h"
#include "image/ownership.h"
#include "sha256/sha256.h"

#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif


/* A number as JSON.stringify writes it: integers in full, others the shortest text that reads back the same. */
static void number_text(char *out, size_t len, double x)
{
	if (x > -9007199254740992.0 && x < 9007199254740992.0 && x == (double)(long long)x) {
		snprintf(out, len, "%.0f", x);
		return;
	}
	for (int precision = 1; precision <= 17; precision++) {
		snprintf(out, len, "%.*g", precision, x);
		if (strtod(out, NULL) == x && !strchr(out, 'e'))
			return;
	}
	snprintf(out, len, "%.17g", x);
}

struct sealed {
	char name[NAME_MAX + 1];
	struct stat st;
	char sha256[65];
};

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct sealed *)a)->name, ((const struct sealed *)b)->name);
}

static void quote(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c == '\n')
			fputs("\\n", f);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

/*
 * The manifest with its seal: the text the checkpoint wrote (JSON.stringify(manifest, null, 2)),
 * its closing brace replaced by the `seal` member in the same layout. Written aside (0600), then
 * renamed over the manifest: a reader sees the old one or the new one.
 */
static int write_sealed_manifest(int dir_fd, const char *text, size_t len, const struct sealed *files, size_t count,
				 struct crac_error *error)
{
	while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == ' '))
		len--;
	if (len < 2 || text[len - 1] != '}')
		return crac_fail(error, CRAC_EIMAGE, "the manifest does not end with an object");
	len--;
	while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == ' '))
		len--;
	char temporary[64];
	snprintf(temporary, sizeof(temporary), "%s.%d.tmp", MANIFEST_FILE, (int)getpid());
	int fd = openat(dir_fd, temporary, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (!f) {
		if (fd >= 0)
			close(fd);
		return crac_fail(error, CRAC_EIMAGE, "cannot write %s: %s", temporary, strerror(errno));
	}
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	struct tm tm;
	gmtime_r(&now.tv_sec, &tm);
	char when[48];
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	fwrite(text, 1, len, f);
	fprintf(f, "%s\n  \"seal\": {\n    \"algorithm\": \"sha256\",\n    \"sealedAt\": \"%s.%03ldZ\",\n    \"files\": {", len > 1 ? "," : "",
		when, now.tv_nsec / 1000000);
	for (size_t i = 0; i < count; i++) {
		const struct stat *st = &files[i].st;
		char dev[32], ino[32], size[32], mtime[40], ctime[40];
		number_text(size, sizeof(size), (double)st->st_size);
		number_text(dev, sizeof(dev), (double)st->st_dev);
		number_text(ino, sizeof(ino), (double)st->st_ino);
		number_text(mtime, sizeof(mtime), crac_ms(st->st_mtim));
		number_text(ctime, sizeof(ctime), crac_ms(st->st_ctim));
		fprintf(f, "%s\n      ", i ? "," : "");
		quote(f, files[i].name);
		fprintf(f,
			": {\n        \"size\": %s,\n        \"sha256\": \"%s\",\n        \"dev\": %s,\n        \"ino\": %s,\n"
			"        \"mtimeMs\": %s,\n        \"ctimeMs\": %s\n      }",
			size, files[i].sha256, dev, ino, mtime, ctime);
	}
	fprintf(f, "%s}\n  }\n}\n", count ? "\n    " : "");
	if (fflush(f) != 0 || ferror(f)) {
		fclose(f);
		unlinkat(dir_fd, temporary, 0);
		return crac_fail(error, CRAC_EIMAGE, "cannot write %s: %s", temporary, strerror(errno));
	}
	fclose(f);
	if (renameat(dir_fd, temporary, dir_fd, MANIFEST_FILE) != 0) {
		unlinkat(dir_fd, temporary, 0);
		return crac_fail(error, CRAC_EIMAGE, "cannot replace %s: %s", MANIFEST_FILE, strerror(errno));
	}
	return 0;
}

/* Every file CRIU wrote, sorted by name, hashed through its own descriptor. */
static int seal_image(const char *dir, struct crac_error *error)
{
	int dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir_fd < 0)
		return crac_fail(error, CRAC_EIMAGE, "cannot open %s: %s", dir, strerror(errno));
	unlinkat(dir_fd, SEAL_CONFIG_FILE, 0);
	struct manifest manifest = { 0 };
	struct stat manifest_st;
	size_t count = 0, cap = 64;
	struct sealed *files = malloc(cap * sizeof(*files));
	char *buffer = malloc(1 << 22);
	int result = -1;
	DIR *d = NULL;
	if (read_manifest_at(dir_fd, dir, &manifest, &manifest_st, error) != 0)
		goto out;
	if (!files || !buffer) {
		crac_fail(error, CRAC_EIMAGE, "out of memory");
		goto out;
	}
	int list_fd = openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (list_fd < 0 || !(d = fdopendir(list_fd))) {
		if (list_fd >= 0)
			close(list_fd);
		crac_fail(error, CRAC_EIMAGE, "cannot read %s: %s", dir, strerror(errno));
		goto out;
	}
	struct dirent *entry;
	while ((entry = readdir(d))) {
		if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0 || unsealed_file(entry->d_name))
			continue;
		if (count == cap) {
			struct sealed *grown = realloc(files, (cap *= 2) * sizeof(*files));
			if (!grown) {
				crac_fail(error, CRAC_EIMAGE, "out of memory");
				goto out;
			}
			files = grown;
		}
		snprintf(files[count++].name, NAME_MAX + 1, "%s", entry->d_name);
	}
	qsort(files, count, sizeof(*files), by_name);
	for (size_t i = 0; i < count; i++) {
		int fd = openat(dir_fd, files[i].name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
		struct stat st;
		if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
			if (fd >= 0)
				close(fd);
			crac_fail(error, CRAC_EIMAGE, "cannot seal %s/%s: not a regular file", dir, files[i].name);
			goto out;
		}
		int hashed = sha256_fd(fd, buffer, 1 << 22, files[i].sha256);
		int e = errno;
		int stated = fstat(fd, &files[i].st);
		close(fd);
		if (hashed != 0 || stated != 0) {
			crac_fail(error, CRAC_EIMAGE, "cannot seal %s/%s: %s", dir, files[i].name, strerror(e));
			goto out;
		}
	}
	result = write_sealed_manifest(dir_fd, manifest.raw, manifest.raw_len, files, count, error);
out:
	if (d)
		closedir(d);
	free(files);
	free(buffer);
	free_manifest(&manifest);
	close(dir_fd);
	return result;
}

/* What the exchange left at the staging path: the previous image (files; a directory in it is removed too). */
static void remove_tree(int parent_fd, const char *name)
{
	int fd = openat(parent_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (d) {
		struct dirent *entry;
		while ((entry = readdir(d))) {
			if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0)
				continue;
			if (unlinkat(dirfd(d), entry->d_name, 0) != 0 && (errno == EISDIR || errno == EPERM))
				remove_tree(dirfd(d), entry->d_name);
		}
		closedir(d);
	} else if (fd >= 0) {
		close(fd);
	}
	unlinkat(parent_fd, name, AT_REMOVEDIR);
}

/* The staged image put in place: a rename when there is no image yet, else an exchange in one step. */
static int publish(const char *staging, const char *target, struct crac_error *error)
{
	if (rename(staging, target) == 0)
		return 0;
	if (errno != ENOTEMPTY && errno != EEXIST && errno != EISDIR && errno != ENOTDIR)
		return crac_fail(error, CRAC_EIMAGE, "cannot put %s in place of %s: %s", staging, target, strerror(errno));
	if (assert_replaceable_image_dir(target, error) != 0)
		return -1;
	if (syscall(SYS_renameat2, AT_FDCWD, staging, AT_FDCWD, target, RENAME_EXCHANGE) != 0)
		return crac_fail(error, CRAC_EIMAGE, "cannot exchange %s and %s: %s", staging, target, strerror(errno));
	remove_tree(AT_FDCWD, staging);
	return 0;
}

static const char *required(const char *name, struct crac_error *error)
{
	const char *value = getenv(name);
	if ((!value || !*value) && !error->code)
		crac_fail(error, CRAC_EINVAL, "%s is not set: this program is CRIU's post-dump action script, not a command", name);
	return value && *value ? value : NULL;
}

int main(void)
{
	const char *action = getenv("CRTOOLS_SCRIPT_ACTION");
	if (!action || strcmp(action, "post-dump") != 0)
		return 0;
	struct crac_error error = { 0 };
	const char *written = required("CRAC_SEAL_DIR", &error), *staging = required("CRAC_SEAL_STAGING", &error),
		   *target = required("CRAC_SEAL_TARGET", &error);
	struct stat a, b;
	if (written && staging && target) {
		if (stat(written, &a) != 0 || lstat(staging, &b) != 0 || a.st_dev != b.st_dev || a.st_ino != b.st_ino)
			crac_fail(&error, CRAC_EIMAGE, "%s is not the directory the image was written in", staging);
		else if (seal_image(written, &error) == 0 && publish(staging, target, &error) == 0)
			return 0;
	}
	fprintf(stderr, "crac: sealing the image failed: %s\n", error.message);
	return 1;
}
