/*
 * seal_verify.c - checks every file of an image against the seal crac-seal wrote after the dump:
 * none missing, none added, none truncated, none
 * altered, none another user owns or others can write. Each file is opened through the image
 * directory's descriptor (openat, O_NOFOLLOW, O_NONBLOCK), fstat'ed and hashed through its own.
 * `quick` hashes only the files written, replaced or copied since the seal (another device,
 * inode, mtime or ctime: ctime cannot be set back by a user); `full` hashes them all.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "image/files.h"
#include "image/image.h"
#include "image/ownership.h"
#include "sha256/sha256.h"

/* How many files to hash are kept open between their checks and their hashing (others are reopened). */
#define KEPT_OPEN 256
#define CHUNK (1 << 20)

static int plain_name(const char *name)
{
	return name[0] && strcmp(name, ".") != 0 && strcmp(name, "..") != 0 && !strchr(name, '/');
}

static int untouched(const struct stat *st, const struct sealed_file *sealed)
{
	return (double)st->st_dev == sealed->dev && (double)st->st_ino == sealed->ino && crac_ms(st->st_mtim) == sealed->mtime_ms &&
	       crac_ms(st->st_ctim) == sealed->ctime_ms;
}

static int open_sealed(const struct image *image, const char *name, struct crac_error *error)
{
	const char *dir = image->dir;
	if (!plain_name(name))
		return crac_fail(error, CRAC_EIMAGE_CORRUPT, "%s: the seal names \"%s\" is not a file name of an image", dir, name);
	int fd = openat(image->fd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd >= 0)
		return fd;
	if (errno == ENOENT)
		return crac_fail(error, CRAC_EIMAGE_CORRUPT, "%s/%s is missing: the image is incomplete; checkpoint again", dir, name);
	if (errno == ELOOP)
		return crac_fail(error, CRAC_EIMAGE_CORRUPT,
				 "%s/%s was replaced by a symbolic link: image files are read only as themselves; checkpoint again", dir,
				 name);
	const char *code = strerrorname_np(errno);
	return crac_fail(error, CRAC_EIMAGE, "cannot read %s/%s (%s)", dir, name, code ? code : strerror(errno));
}

static int refuse_unexpected(const struct image *image, struct crac_error *error)
{
	int fd = openat(image->fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		if (fd >= 0)
			close(fd);
		return crac_fail(error, CRAC_EIMAGE, "cannot read %s (%s)", image->dir, strerror(errno));
	}
	const struct manifest *m = &image->manifest;
	int result = 0;
	struct dirent *entry;
	while (result == 0 && (entry = readdir(d))) {
		const char *name = entry->d_name;
		if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0 || unsealed_file(name))
			continue;
		size_t i = 0;
		while (i < m->nfiles && strcmp(m->files[i].name, name) != 0)
			i++;
		if (i == m->nfiles)
			result = crac_fail(error, CRAC_EIMAGE_CORRUPT,
					   "%s/%s was added after the checkpoint: the image was altered; checkpoint again", image->dir, name);
	}
	closedir(d);
	return result;
}

struct to_hash {
	const struct sealed_file *sealed;
	dev_t dev;
	ino_t ino;
	int fd; /* -1: reopen */
};

static int by_size_descending(const void *a, const void *b)
{
	double x = ((const struct to_hash *)a)->sealed->size, y = ((const struct to_hash *)b)->sealed->size;
	return x < y ? 1 : x > y ? -1 : 0;
}

/* A page file (pages-<n>.img): only CRIU's restorer reads it, as data copied into memory. */
static int page_file(const char *name)
{
	size_t n = strlen(name);
	return strncmp(name, "pages-", 6) == 0 && n > 10 && n < 64 && strcmp(name + n - 4, ".img") == 0;
}

int verify_seal(const struct image *image, int full, struct seal_check *check, struct crac_error *error)
{
	return verify_seal_deferring(image, full, NULL, check, error);
}

int verify_seal_deferring(const struct image *image, int full, struct deferred_hashes *deferred, struct seal_check *check,
			  struct crac_error *error)
{
	const struct manifest *m = &image->manifest;
	const char *dir = image->dir;
	memset(check, 0, sizeof(*check));
	if (deferred)
		memset(deferred, 0, sizeof(*deferred));
	if (!m->seal_algorithm || strcmp(m->seal_algorithm, "sha256") != 0)
		return crac_fail(error, CRAC_EIMAGE_CORRUPT,
				 "%s is not sealed: its dump did not finish, or an older crac-node made it; checkpoint again", dir);
	if (refuse_unexpected(image, error) != 0)
		return -1;
	uid_t uid = geteuid();
	struct to_hash *queue = calloc(m->nfiles + 1, sizeof(*queue));
	if (!queue)
		return crac_fail(error, CRAC_EIMAGE, "out of memory");
	size_t queued = 0;
	int result = -1;
	char *buffer = NULL;
	for (size_t i = 0; i < m->nfiles; i++) {
		const struct sealed_file *sealed = &m->files[i];
		int fd = open_sealed(image, sealed->name, error);
		if (fd < 0)
			goto out;
		struct stat st;
		if (fstat(fd, &st) != 0) {
			close(fd);
			crac_fail(error, CRAC_EIMAGE, "cannot read %s/%s (%s)", dir, sealed->name, strerror(errno));
			goto out;
		}
		if (assert_sealed_file(dir, sealed->name, &st, uid, CRAC_EIMAGE_CORRUPT, error) != 0) {
			close(fd);
			goto out;
		}
		if ((double)st.st_size != sealed->size) {
			int truncated = (double)st.st_size < sealed->size;
			close(fd);
			crac_fail(error, CRAC_EIMAGE_CORRUPT, "%s/%s is %lld bytes, %.0f when sealed: the image was %s; checkpoint again", dir,
				  sealed->name, (long long)st.st_size, sealed->size, truncated ? "truncated" : "altered");
			goto out;
		}
		if (!full && untouched(&st, sealed)) {
			close(fd);
		} else if (deferred && page_file(sealed->name) && deferred->count < DEFERRED_MAX) {
			/* hashed while CRIU restores, before the app may resume (hash_deferred) */
			size_t k = deferred->count++;
			deferred->files[k].fd = fd;
			snprintf(deferred->files[k].name, sizeof(deferred->files[k].name), "%s", sealed->name);
			snprintf(deferred->files[k].sha256, sizeof(deferred->files[k].sha256), "%s", sealed->sha256);
			deferred->bytes += (unsigned long long)sealed->size;
		} else {
			struct to_hash *h = &queue[queued++];
			h->sealed = sealed;
			h->dev = st.st_dev;
			h->ino = st.st_ino;
			h->fd = queued <= KEPT_OPEN ? fd : -1;
			if (h->fd < 0)
				close(fd);
		}
	}
	qsort(queue, queued, sizeof(*queue), by_size_descending);
	check->files = m->nfiles;
	check->hashed = queued;
	for (size_t i = 0; i < queued; i++)
		check->bytes_hashed += (unsigned long long)queue[i].sealed->size;
	if (queued > 0 && !(buffer = malloc(CHUNK))) {
		crac_fail(error, CRAC_EIMAGE, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < queued; i++) {
		struct to_hash *h = &queue[i];
		const char *name = h->sealed->name;
		if (h->fd < 0) {
			struct stat st;
			if ((h->fd = open_sealed(image, name, error)) < 0)
				goto out;
			if (fstat(h->fd, &st) != 0 || st.st_dev != h->dev || st.st_ino != h->ino) {
				crac_fail(error, CRAC_EIMAGE_CORRUPT, "%s/%s was replaced while it was verified; checkpoint again", dir, name);
				goto out;
			}
		}
		char digest[65];
		if (sha256_fd(h->fd, buffer, CHUNK, digest) != 0) {
			crac_fail(error, CRAC_EIMAGE, "cannot read %s/%s (%s)", dir, name, strerror(errno));
			goto out;
		}
		close(h->fd);
		h->fd = -1;
		if (strcmp(digest, h->sealed->sha256) != 0) {
			crac_fail(error, CRAC_EIMAGE_CORRUPT,
				  "%s/%s changed since the checkpoint (its SHA-256 differs): the image is damaged or was altered; checkpoint again",
				  dir, name);
			goto out;
		}
	}
	result = 0;
out:
	for (size_t i = 0; i < queued; i++)
		if (queue[i].fd >= 0)
			close(queue[i].fd);
	free(queue);
	free(buffer);
	if (result != 0 && deferred) {
		for (size_t k = 0; k < deferred->count; k++)
			close(deferred->files[k].fd);
		deferred->count = 0;
	}
	return result;
}

int hash_deferred(struct deferred_hashes *deferred, const char *dir, struct crac_error *error)
{
	char *buffer = deferred->count > 0 ? malloc(CHUNK) : NULL;
	int result = deferred->count > 0 && !buffer ? crac_fail(error, CRAC_EIMAGE, "out of memory") : 0;
	for (size_t k = 0; k < deferred->count; k++) {
		char digest[65];
		if (result == 0 && sha256_fd(deferred->files[k].fd, buffer, CHUNK, digest) != 0)
			result = crac_fail(error, CRAC_EIMAGE, "cannot read %s/%s (%s)", dir, deferred->files[k].name, strerror(errno));
		else if (result == 0 && strcmp(digest, deferred->files[k].sha256) != 0)
			result = crac_fail(error, CRAC_EIMAGE_CORRUPT,
					   "%s/%s changed since the checkpoint (its SHA-256 differs): the image is damaged or was altered; "
					   "checkpoint again",
					   dir, deferred->files[k].name);
		close(deferred->files[k].fd);
	}
	deferred->count = 0;
	free(buffer);
	return result;
}
