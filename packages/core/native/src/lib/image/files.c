/* files.c - see files.h. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crac/layout.h"
#include "image/files.h"
#include "image/ownership.h"

int unsealed_file(const char *name)
{
	static const char *const unsealed[] = UNSEALED_FILES;
	for (size_t i = 0; i < sizeof(unsealed) / sizeof(unsealed[0]); i++)
		if (strcmp(name, unsealed[i]) == 0)
			return 1;
	return 0;
}

int dump_file(const char *name)
{
	size_t n = strlen(name);
	if (unsealed_file(name) || strcmp(name, HANDOFF_FILE) == 0 || strcmp(name, SEAL_CONFIG_FILE) == 0)
		return 1;
	if (n > 4 && strcmp(name + n - 4, ".img") == 0)
		return 1;
	size_t slot = strlen(LISTEN_SLOT_PREFIX);
	if (n > slot && strncmp(name, LISTEN_SLOT_PREFIX, slot) == 0) {
		for (size_t i = slot; i < n; i++)
			if (name[i] < '0' || name[i] > '9')
				return 0;
		return 1;
	}
	/* crac-manifest.json.<digits>.tmp */
	size_t prefix = strlen(MANIFEST_FILE) + 1;
	if (n > prefix + 4 && strncmp(name, MANIFEST_FILE ".", prefix) == 0 && strcmp(name + n - 4, ".tmp") == 0) {
		for (size_t i = prefix; i < n - 4; i++)
			if (name[i] < '0' || name[i] > '9')
				return 0;
		return 1;
	}
	return 0;
}

int assert_replaceable_image_dir(const char *target, struct crac_error *error)
{
	struct stat st;
	if (lstat(target, &st) != 0)
		return errno == ENOENT ? 0 : crac_fail(error, CRAC_EIMAGE, "cannot inspect %s: %s", target, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return crac_fail(error, CRAC_EIMAGE, "%s is not a directory%s", target, S_ISLNK(st.st_mode) ? " (a symbolic link)" : "");
	uid_t uid = geteuid();
	if (st.st_uid != uid) {
		char owner[300], you[300];
		return crac_fail(error, CRAC_EIMAGE,
				 "%s belongs to another user (owner %s), not to you (%s): refusing to checkpoint into it. Fix: choose a "
				 "directory of your own",
				 target, describe_owner(st.st_uid, owner, sizeof(owner)), describe_owner(uid, you, sizeof(you)));
	}
	DIR *d = opendir(target);
	if (!d)
		return crac_fail(error, CRAC_EIMAGE, "cannot read %s: %s", target, strerror(errno));
	char shown[1024] = "";
	int foreign = 0;
	struct dirent *entry;
	while ((entry = readdir(d))) {
		if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0 || dump_file(entry->d_name))
			continue;
		if (foreign++ < 5)
			snprintf(shown + strlen(shown), sizeof(shown) - strlen(shown), "%s%s", foreign > 1 ? ", " : "", entry->d_name);
	}
	closedir(d);
	if (foreign > 5)
		snprintf(shown + strlen(shown), sizeof(shown) - strlen(shown), ", and %d more", foreign - 5);
	if (foreign)
		return crac_fail(error, CRAC_EIMAGE,
				 "%s holds files that are not part of an image (%s): a checkpoint replaces the whole directory. Fix: choose "
				 "an empty or new directory, or move those files away",
				 target, shown);
	return 0;
}

