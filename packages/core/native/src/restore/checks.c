/* checks.c - what crac-restore checks of an image before anything starts, beside its verification. */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crac/layout.h"
#include "restore.h"

/* CRIU cannot start a restore without these, and may crash instead of saying so (REQUIRED_CRIU_FILES). */
int assert_complete(const struct image *image, struct crac_error *error)
{
	static const char *const required[] = REQUIRED_CRIU_FILES;
	char missing[64] = "";
	for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
		struct stat st;
		if (fstatat(image->fd, required[i], &st, 0) != 0)
			snprintf(missing + strlen(missing), sizeof(missing) - strlen(missing), "%s%s", missing[0] ? ", " : "", required[i]);
	}
	if (missing[0])
		return crac_fail(error, CRAC_EIMAGE, "%s is incomplete: %s missing; checkpoint again", image->dir, missing);
	return 0;
}

/* The first stdio entry handed on with the same target as entry `i` (CRIU gets one --inherit-fd a file). */
size_t first_of_target(const struct manifest *m, size_t i)
{
	for (size_t j = 0; j < i; j++)
		if (strcmp(m->stdio[j].target, m->stdio[i].target) == 0 &&
		    (strcmp(m->stdio[j].kind, "pipe") == 0 || strcmp(m->stdio[j].kind, "file") == 0 || strcmp(m->stdio[j].kind, "socket") == 0))
			return j;
	return i;
}

/*
 * Unprivileged, CRIU hands the app this process's stdio only where the user may open it: the app
 * had a pipe there at the checkpoint, and CRIU reopens the descriptor that replaces it through
 * /proc/self/fd/N with the user's permissions. A pipe belongs to its creator, mode 0600: one that
 * a root supervisor made fails. Checked before anything starts.
 */
int assert_own_pipes(const struct manifest *m, const struct relay *relays, size_t nrelays, struct crac_error *error)
{
	for (size_t i = 0; i < m->nstdio; i++) {
		const struct stdio_record *r = &m->stdio[i];
		if (strcmp(r->kind, "pipe") != 0)
			continue;
		int relayed = 0; /* a pipe of our own replaces it, for every fd of that target (relay.h) */
		for (size_t j = 0; j < nrelays; j++)
			relayed |= relays[j].fd == m->stdio[first_of_target(m, i)].fd;
		if (relayed)
			continue;
		char path[32];
		snprintf(path, sizeof(path), "/proc/self/fd/%d", r->fd);
		if (access(path, r->fd == 0 ? R_OK : W_OK) == 0)
			continue;
		char owner[32] = "another user";
		struct stat st;
		if (fstat(r->fd, &st) == 0)
			snprintf(owner, sizeof(owner), "uid %u", (unsigned)st.st_uid);
		return crac_fail(error, CRAC_EUNPRIVILEGED,
				 "fd %d of crac restore belongs to %s, and CRIU running as uid %u cannot reopen it for the app (which had a "
				 "pipe there): give crac restore a pipe of your own (`crac restore DIR | cat`), a file of yours or a "
				 "terminal, or restore as root",
				 r->fd, owner, (unsigned)geteuid());
	}
	return 0;
}

