/*
 * kdat_dir.h - the directory where our CRIU keeps its kernel-probe cache.
 *
 * At every start CRIU probes the kernel's features (about half of a small
 * restore) unless it loads its cache, KDAT_RUNDIR/criu.kdat. scripts/setup-criu.sh
 * builds CRIU with RUNDIR=CRAC_KDAT_DIR (a tmpfs: CRIU saves the cache only on
 * one, so it lasts until the next boot). CRIU loads that file without checking
 * who wrote it, and /dev/shm is writable by everyone: a user who made the
 * directory could plant a cache that root's CRIU then trusts. So before CRIU
 * runs, crac_kdat_dir_prepare() makes sure the directory is ours (our euid, no
 * group/other write, not a symlink), creating it 0700, or moving what is there
 * out of the way (one atomic rename: root never walks a tree someone else can
 * change under it, as a recursive delete would) and creating it again. In a
 * sticky /dev/shm nobody else can then rename or replace it.
 *
 * Keep CRAC_KDAT_DIR in sync with KDAT_RUNDIR in packages/cli/scripts/setup-criu.sh.
 *
 * Unprivileged CRIU (a non-root user, file capabilities) keeps its cache in
 * $XDG_RUNTIME_DIR/criu.kdat instead, and none at all when that is unset (su,
 * runuser, cron, CI): it then probes at every run, about 40 of a 70 ms restore
 * here. crac_user_kdat_dir() gives such a run a directory of the user's own on
 * the same tmpfs, for CRIU's environment only.
 */
#ifndef CRAC_KDAT_DIR_H
#define CRAC_KDAT_DIR_H

#include <stddef.h>

#define CRAC_KDAT_DIR "/dev/shm/crac-criu"
/* Per user (the euid), for unprivileged runs without $XDG_RUNTIME_DIR. */
#define CRAC_USER_KDAT_DIR_FMT CRAC_KDAT_DIR "-%u"

/*
 * Makes CRAC_KDAT_DIR ours. Returns 0 when CRIU may run: the directory is
 * ours, or nothing is there and it cannot be made (no /dev/shm: CRIU then
 * simply probes and keeps no cache). Returns -1 with a message in `why` when
 * something that is not ours stays there: CRIU must not run.
 * Does nothing unless we are root (unprivileged CRIU keeps its cache in
 * $XDG_RUNTIME_DIR instead: crac_user_kdat_env).
 */
int crac_kdat_dir_prepare(char *why, size_t why_len);

/*
 * For an unprivileged run without $XDG_RUNTIME_DIR: writes "XDG_RUNTIME_DIR=<dir>"
 * into `env_entry`, dir being CRAC_USER_KDAT_DIR_FMT made ours (0700), and
 * returns 0; the caller puts it into CRIU's environment. A container's root
 * (unprivileged CRIU too, which keeps its cache only in $XDG_RUNTIME_DIR) gets
 * CRAC_KDAT_DIR, once crac_kdat_dir_prepare() made it root's, whatever the
 * environment says. Returns -1 when there is nothing to do (privileged root,
 * or the variable is set: CRIU uses it) or no such directory can be ours.
 */
int crac_user_kdat_env(char *env_entry, size_t len);

/*
 * Root's caches beside CRIU's (criu.version, digests.json): CRAC_KDAT_DIR
 * opened O_PATH when we are root and it is root's alone (a directory, not a
 * symlink, no group/other write); -1 otherwise, and then no such cache is read
 * or written. A host tmpfs directory mounted there shares them among a node's
 * containers.
 */
int crac_kdat_dir_open(void);

#endif
