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

static int refuse_directory(const char *path, const struct stat *st, int unsafety, uid_t uid, const char *image,
			    struct crac_error *error)
{
	char what[PATH_MAX * 2 + 64], owner[300], you[300];
	if (strcmp(path, image) == 0)
		snprintf(what, sizeof(what), "%s", path);
	else
		snprintf(what, sizeof(what), "%s (a parent directory of %s)", path, image);
	describe_owner(st->st_uid, owner, sizeof(owner));
	unsigned mode = (unsigned)(st->st_mode & 07777);
	if (unsafety == 'o') {
		return crac_fail(error, CRAC_EIMAGE,
				 "%s belongs to another user (owner %s, mode %o), not to you (%s) or root: whoever owns it could have "
				 "altered the image; refusing to restore it. Fix: chown %u %s if you trust its content, or checkpoint "
				 "again into a directory of your own",
				 what, owner, mode, describe_owner(uid, you, sizeof(you)), (unsigned)uid, path);
	}
	return crac_fail(error, CRAC_EIMAGE,
			 "%s is writable by others (owner %s, mode %o): refusing to restore it. Fix: chmod go-w %s (chmod 700 the image "
			 "directory) if you trust its content, or checkpoint again into a directory only you and root can write",
			 what, owner, mode, path);
}

/* The path the kernel resolved `fd` to, for messages. */
static const char *path_of(int fd, char *buf, size_t len, const char *fallback)
{
	char link[64];
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	ssize_t n = readlink(link, buf, len - 1);
	if (n <= 0)
		return fallback;
	buf[n] = '\0';
	return buf;
}

/* The directory open on `dir_fd` and each parent up to the root, through descriptors (`..` of the directory actually opened). */
static int assert_safe_dir_fd(int dir_fd, const char *dir, uid_t uid, struct crac_error *error)
{
	struct stat st, parent_st;
	if (fstat(dir_fd, &st) != 0)
		return crac_fail(error, CRAC_EIMAGE, "cannot inspect %s: %s", dir, strerror(errno));
	int unsafety = directory_unsafety(&st, uid, NULL);
	if (unsafety)
		return refuse_directory(dir, &st, unsafety, uid, dir, error);
	int current = dir_fd;
	int result = 0;
	for (;;) {
		int parent = openat(current, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (current != dir_fd)
			close(current);
		current = parent;
		if (parent < 0) {
			result = crac_fail(error, CRAC_EIMAGE, "cannot inspect a parent directory of %s: %s", dir, strerror(errno));
			break;
		}
		if (fstat(parent, &parent_st) != 0) {
			result = crac_fail(error, CRAC_EIMAGE, "cannot inspect a parent directory of %s: %s", dir, strerror(errno));
			break;
		}
		if (parent_st.st_dev == st.st_dev && parent_st.st_ino == st.st_ino)
			break; /* the root: its own parent */
		unsafety = directory_unsafety(&parent_st, uid, &st);
		if (unsafety) {
			char fallback[PATH_MAX + 8], path[PATH_MAX];
			snprintf(fallback, sizeof(fallback), "%s/..", dir);
			result = refuse_directory(path_of(parent, path, sizeof(path), fallback), &parent_st, unsafety, uid, dir, error);
			break;
		}
		st = parent_st;
	}
	if (current >= 0 && current != dir_fd)
		close(current);
	return result;
}

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
	if (assert_safe_dir_fd(fd, dir, uid, error) != 0) {
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
