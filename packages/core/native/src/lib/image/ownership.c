/*
 * ownership.c - who may have written what a user restores (the rules of ownership.ts, and its
 * messages). CRIU restores the uid and the capabilities an image names: whoever can write an
 * image that root restores runs code as root. So, like sshd's StrictModes, the directory, each of
 * its parents and every image file must be owned by the restoring user or root and not writable
 * by group or others; a sticky parent that others can write (/tmp) is accepted above an entry
 * owned by the user or root.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>

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

