/*
 * ownership.c - who may have written what a user restores (the one implementation of the rules,
 * and their messages: image/ownership.ts calls it through crac.node). CRIU restores the uid and the capabilities an image names: whoever can write an
 * image that root restores runs code as root. So, like sshd's StrictModes, the directory, each of
 * its parents and every image file must be owned by the restoring user or root and not writable
 * by group or others; a sticky parent that others can write (/tmp) is accepted above an entry
 * owned by the user or root.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "image/ownership.h"

static int trusted_owner(uid_t owner, uid_t uid)
{
	return owner == uid || owner == 0;
}

static int writable_by_others(mode_t mode)
{
	return (mode & 022) != 0;
}

int file_unsafety(const struct stat *st, uid_t uid)
{
	if (!trusted_owner(st->st_uid, uid))
		return 'o';
	if (writable_by_others(st->st_mode))
		return 'w';
	return 0;
}

/* As directoryUnsafety: `below` is the entry on the way to the image, NULL for the image directory. */
int directory_unsafety(const struct stat *dir, uid_t uid, const struct stat *below)
{
	if (!trusted_owner(dir->st_uid, uid))
		return 'o';
	if (!writable_by_others(dir->st_mode))
		return 0;
	if (below && (dir->st_mode & S_ISVTX) && trusted_owner(below->st_uid, uid))
		return 0;
	return 'w';
}

/* `uid 1001 (alice)`: the name from /etc/passwd when there is one (read only to word an error). */
const char *describe_owner(uid_t uid, char *buf, size_t len)
{
	snprintf(buf, len, "uid %u", (unsigned)uid);
	FILE *f = fopen("/etc/passwd", "re");
	if (!f)
		return buf;
	char line[1024];
	while (fgets(line, sizeof(line), f)) {
		char *name = line, *colon = strchr(line, ':');
		if (!colon)
			continue;
		*colon = '\0';
		char *pw = colon + 1, *uid_field = strchr(pw, ':');
		if (!uid_field)
			continue;
		uid_field++;
		char *end = strchr(uid_field, ':');
		if (!end)
			continue;
		*end = '\0';
		if (strcmp(uid_field, buf + 4) == 0) {
			snprintf(buf, len, "uid %u (%s)", (unsigned)uid, name);
			break;
		}
	}
	fclose(f);
	return buf;
}

int assert_sealed_file(const char *dir, const char *name, const struct stat *st, uid_t uid, const char *code, struct crac_error *error)
{
	if (!S_ISREG(st->st_mode))
		return crac_fail(error, code, "%s/%s was replaced by something else than a file", dir, name);
	int unsafety = file_unsafety(st, uid);
	if (!unsafety)
		return 0;
	char owner[300], you[300];
	describe_owner(st->st_uid, owner, sizeof(owner));
	unsigned mode = (unsigned)(st->st_mode & 07777);
	if (unsafety == 'w')
		return crac_fail(error, code,
				 "%s/%s can be written by others (owner %s, mode %o): refusing it. Fix: chmod 600 %s/%s if you trust the "
				 "image, or checkpoint again",
				 dir, name, owner, mode, dir, name);
	return crac_fail(error, code,
			 "%s/%s belongs to another user (owner %s, mode %o), not to you (%s) or root: whoever owns it could have altered "
			 "the image; refusing it. Fix: chown %u %s/%s if you trust the image, or checkpoint again",
			 dir, name, owner, mode, describe_owner(uid, you, sizeof(you)), (unsigned)uid, dir, name);
}


static int refuse_directory(const char *path, const struct stat *st, int unsafety, uid_t uid, const char *image,
			    enum dir_use use, struct crac_error *error)
{
	char what[PATH_MAX * 2 + 64], owner[300], you[300];
	if (strcmp(path, image) == 0)
		snprintf(what, sizeof(what), "%s", path);
	else
		snprintf(what, sizeof(what), "%s (a parent directory of %s)", path, image);
	describe_owner(st->st_uid, owner, sizeof(owner));
	unsigned mode = (unsigned)(st->st_mode & 07777);
	if (use != DIR_USE_RESTORE) {
		char why[PATH_MAX + 700];
		if (unsafety == 'o')
			snprintf(why, sizeof(why), "belongs to another user (owner %s, mode %o), not to you (%s) or root", owner, mode,
				 describe_owner(uid, you, sizeof(you)));
		else
			snprintf(why, sizeof(why), "is writable by others (owner %s, mode %o)", owner, mode);
		/* whoever else can change the path can swap the image for their own as it is written */
		if (use == DIR_USE_CHECKPOINT)
			return crac_fail(error, CRAC_EIMAGE,
					 "%s %s: another user could replace the image as it is written; refusing to checkpoint into it. Fix: "
					 "checkpoint into a directory whose parents only you and root can write%s%s%s",
					 what, why, unsafety == 'w' ? " (or chmod go-w " : "", unsafety == 'w' ? path : "",
					 unsafety == 'w' ? ")" : "");
		if (use == DIR_USE_ENVIRONMENT)
			return crac_fail(error, CRAC_ERESTORE_ENV,
					 "%s %s: another user could hand this copy an environment of theirs; refusing to read it. Fix: a "
					 "directory only you and root can write (chown, chmod go-w %s)",
					 what, why, path);
		return crac_fail(error, CRAC_EENGINE,
				 "%s %s: another user could change a program crac runs as you; refusing to run it. Fix: install it "
				 "where only you and root can write",
				 what, why);
	}
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

int assert_safe_dir_fd(int dir_fd, const char *dir, uid_t uid, enum dir_use use, struct crac_error *error)
{
	struct stat st, parent_st;
	if (fstat(dir_fd, &st) != 0)
		return crac_fail(error, CRAC_EIMAGE, "cannot inspect %s: %s", dir, strerror(errno));
	int unsafety = directory_unsafety(&st, uid, NULL);
	if (unsafety)
		return refuse_directory(dir, &st, unsafety, uid, dir, use, error);
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
			result = refuse_directory(path_of(parent, path, sizeof(path), fallback), &parent_st, unsafety, uid, dir, use, error);
			break;
		}
		st = parent_st;
	}
	if (current >= 0 && current != dir_fd)
		close(current);
	return result;
}

