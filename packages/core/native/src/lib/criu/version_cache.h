/*
 * version_cache.h - the version `criu --version` printed, remembered for the binary's file as it
 * was (device, inode, size, mtime, ctime), so that a restore does not start CRIU once more just
 * to read it (about 3 ms: CRIU links some twenty libraries). Root's only, in CRAC_KDAT_DIR (ours,
 * 0700, on a tmpfs: gone with a reboot); any write to the binary changes its ctime, which no
 * user can set back, and so misses the cache.
 */
#ifndef CRAC_VERSION_CACHE_H
#define CRAC_VERSION_CACHE_H

#include <stddef.h>
#include <sys/stat.h>

/* 0 and the version in `version` when the cache holds one for `path` as `st` describes it; else -1. */
int criu_version_cached(const char *path, const struct stat *st, char *version, size_t len);
/* Remembers `version` for `path` as `st` describes it (best effort: nothing is said of a failure). */
void criu_version_remember(const char *path, const struct stat *st, const char *version);

#endif
