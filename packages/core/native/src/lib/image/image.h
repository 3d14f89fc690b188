/*
 * image.h - an image as the native restorer checks it before CRIU reads it: the directory opened
 * once and checked (image_dir.c), its manifest (manifest.h), the seal (seal_verify.c), the host
 * and the binaries the image was made with (host_check.c). The TypeScript writer of the same
 * format is packages/core/src/image/ (layout.ts names every file: crac/layout.h is generated
 * from it).
 */
#ifndef CRAC_IMAGE_H
#define CRAC_IMAGE_H

#include "image/manifest.h"

/* An image directory opened once and checked, and its manifest read through it. */
struct image {
	const char *dir; /* as given (absolute), for messages */
	int fd;          /* O_RDONLY | O_DIRECTORY | O_NOFOLLOW */
	struct manifest manifest;
};

/* The directory, it and its parents checked (owner, mode) through descriptors; its fd, or -1 and `error`. */
int open_image_dir(const char *dir, uid_t uid, struct crac_error *error);
/* open_image_dir, then the manifest through it. -1 and `error` when refused. */
int open_image(const char *dir, struct image *image, struct crac_error *error);
void close_image(struct image *image);

/* seal_verify.c */
struct seal_check {
	size_t files, hashed;
	unsigned long long bytes_hashed;
};
int verify_seal(const struct image *image, int full, struct seal_check *check, struct crac_error *error);

/* The page files (pages-*.img) a verification left to hash later, each checked (owner, mode, size)
 * and held open: CRIU reads them meanwhile, and the app may not resume before they hashed right. */
#define DEFERRED_MAX 16
struct deferred_hashes {
	size_t count;
	unsigned long long bytes;
	struct {
		int fd;
		char name[64];
		char sha256[65];
	} files[DEFERRED_MAX];
};
/* verify_seal(), the page files that need hashing left in `deferred` (the rest hashed now). */
int verify_seal_deferring(const struct image *image, int full, struct deferred_hashes *deferred, struct seal_check *check,
			  struct crac_error *error);
/* Hashes what verify_seal_deferring() left (and closes it): 0, or -1 and CRAC_EIMAGE_CORRUPT naming the file. */
int hash_deferred(struct deferred_hashes *deferred, const char *dir, struct crac_error *error);

/* What verify_host_and_binaries() hashed: binaries that were other files than at the checkpoint, and not in a digest cache. */
struct binaries_check {
	size_t hashed;
	double bytes_hashed;
};

/* host_check.c: the host and binaries (`check` may be NULL). Warnings are appended to `warnings`, one a line. */
int verify_host_and_binaries(const struct image *image, const char *criu_version, char *warnings, size_t warnings_len,
			     struct binaries_check *check, struct crac_error *error);

#endif
