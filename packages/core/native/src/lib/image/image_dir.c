/*
 * image_dir.c - the image directory opened once, it and each of its parents checked by the owner
 * rules (ownership.c), and the manifest read through it (manifest.c): `struct image`.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "image/image.h"
#include "image/ownership.h"

int open_image_dir(const char *dir, uid_t uid, struct crac_error *error)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		struct stat st;
		char why[PATH_MAX + 80];
		if (lstat(dir, &st) == 0 && S_ISLNK(st.st_mode)) {
			char *real = realpath(dir, NULL);
			snprintf(why, sizeof(why), "a symbolic link (restore the directory itself: %s)", real ? real : dir);
			free(real);
		} else if (e == ENOTDIR) {
			snprintf(why, sizeof(why), "not a directory");
		} else {
			const char *name = strerrorname_np(e);
			snprintf(why, sizeof(why), "cannot read the directory (%s)", name ? name : strerror(e));
		}
		return crac_fail(error, CRAC_EIMAGE, "%s is not a crac image: %s", dir, why);
	}
	if (assert_safe_dir_fd(fd, dir, uid, DIR_USE_RESTORE, error) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

int open_image(const char *dir, struct image *image, struct crac_error *error)
{
	memset(image, 0, sizeof(*image));
	image->dir = dir;
	image->fd = -1;
	uid_t uid = geteuid();
	int fd = open_image_dir(dir, uid, error);
	if (fd < 0)
		return -1;
	struct stat st;
	if (read_manifest_at(fd, dir, &image->manifest, &st, error) != 0 ||
	    assert_sealed_file(dir, MANIFEST_FILE, &st, uid, CRAC_EIMAGE_CORRUPT, error) != 0) {
		free_manifest(&image->manifest);
		close(fd);
		return -1;
	}
	image->fd = fd;
	return 0;
}

void close_image(struct image *image)
{
	if (image->fd >= 0)
		close(image->fd);
	image->fd = -1;
	free_manifest(&image->manifest);
}
