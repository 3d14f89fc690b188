/* kdat_dir.c - see kdat_dir.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "criu/capabilities.h"
#include "criu/kdat_dir.h"

/* 1: `st` is a directory only we can write to. */
static int crac_kdat_dir_is_ours(const struct stat *st)
{
	return S_ISDIR(st->st_mode) && st->st_uid == geteuid() && (st->st_mode & (S_IWGRP | S_IWOTH)) == 0;
}

/*
 * Makes CRAC_KDAT_DIR ours. Returns 0 when CRIU may run: the directory is
 * ours, or nothing is there and it cannot be made (no /dev/shm: CRIU then
 * simply probes and keeps no cache). Returns -1 with a message in `why` when
 * something that is not ours stays there: CRIU must not run.
 * Does nothing unless we are root (unprivileged CRIU keeps its cache in
 * $XDG_RUNTIME_DIR instead: crac_user_kdat_env).
 */
int crac_kdat_dir_prepare(char *why, size_t why_len)
{
	struct stat st;
	if (geteuid() != 0)
		return 0;
	for (int attempt = 0; attempt < 3; attempt++) {
		if (lstat(CRAC_KDAT_DIR, &st) == 0) {
			if (crac_kdat_dir_is_ours(&st))
				return 0;
			/* someone else's (or a symlink, a file): moved aside whole, never read */
			char aside[sizeof(CRAC_KDAT_DIR) + 48];
			snprintf(aside, sizeof(aside), "%s.refused-%ld-%d", CRAC_KDAT_DIR, (long)time(NULL), (int)getpid());
			rename(CRAC_KDAT_DIR, aside);
		} else if (errno != ENOENT) {
			snprintf(why, why_len, "cannot inspect %s: %s", CRAC_KDAT_DIR, strerror(errno));
			return -1;
		}
		if (mkdir(CRAC_KDAT_DIR, 0700) == 0 || errno == EEXIST)
			continue; /* check what is there now */
		if (lstat(CRAC_KDAT_DIR, &st) != 0 && errno == ENOENT)
			return 0; /* nothing there, and nothing can be made: no cache */
	}
	snprintf(why, why_len, "%s belongs to someone else (uid %u, mode %o) and cannot be moved aside: remove it as root",
		 CRAC_KDAT_DIR, (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777));
	return -1;
}

/*
 * For an unprivileged run without $XDG_RUNTIME_DIR: writes "XDG_RUNTIME_DIR=<dir>"
 * into `env_entry`, dir being CRAC_USER_KDAT_DIR_FMT made ours (0700), and
 * returns 0; the caller puts it into CRIU's environment. Returns -1 when there
 * is nothing to do (root, or the variable is set: CRIU uses it) or no such
 * directory can be ours (someone else made it first: CRIU then keeps no cache,
 * and reads nobody else's).
 */
int crac_user_kdat_env(char *env_entry, size_t len)
{
	struct stat st;
	char dir[64];
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	if (geteuid() == 0) {
		/* a container's root: unprivileged CRIU keeps its cache only in $XDG_RUNTIME_DIR; root's
		 * own directory (crac_kdat_dir_prepare), never one the environment names */
		if (!criu_runs_unprivileged() || lstat(CRAC_KDAT_DIR, &st) != 0 || !crac_kdat_dir_is_ours(&st))
			return -1;
		return snprintf(env_entry, len, "XDG_RUNTIME_DIR=%s", CRAC_KDAT_DIR) < (int)len ? 0 : -1;
	}
	if (xdg && *xdg)
		return -1;
	snprintf(dir, sizeof(dir), CRAC_USER_KDAT_DIR_FMT, (unsigned)geteuid());
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return -1;
	if (lstat(dir, &st) != 0 || !crac_kdat_dir_is_ours(&st))
		return -1;
	return snprintf(env_entry, len, "XDG_RUNTIME_DIR=%s", dir) < (int)len ? 0 : -1;
}

int crac_kdat_dir_open(void)
{
	if (geteuid() != 0)
		return -1;
	int dir = open(CRAC_KDAT_DIR, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	if (dir >= 0 && (fstat(dir, &st) != 0 || !crac_kdat_dir_is_ours(&st))) {
		close(dir);
		return -1;
	}
	return dir;
}
