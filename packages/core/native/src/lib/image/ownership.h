/*
 * ownership.h - who may have written what a user restores (ownership.c): the user or root, and
 * nobody else able to write it.
 */
#ifndef CRAC_IMAGE_OWNERSHIP_H
#define CRAC_IMAGE_OWNERSHIP_H

#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "base/crac_error.h"

/* `uid 1001 (alice)`, in `buf`. */
const char *describe_owner(uid_t uid, char *buf, size_t len);
/* 0, 'o' (another owner) or 'w' (writable by others). */
int file_unsafety(const struct stat *st, uid_t uid);
/* The same for a directory; `below` is the entry on the way to the image (NULL for the image
 * directory): a sticky parent others can write is accepted above an entry of the user or root. */
int directory_unsafety(const struct stat *dir, uid_t uid, const struct stat *below);
/* The sealed file (or the manifest) as fstat'ed through its descriptor: the same owner rules, `code` when refused. */
int assert_sealed_file(const char *dir, const char *name, const struct stat *st, uid_t uid, const char *code, struct crac_error *error);

/* What a directory is checked for: restoring an image from it, checkpointing into it, running a program of it, reading a restored copy's environment from it (the words of a refusal). */
enum dir_use { DIR_USE_RESTORE, DIR_USE_CHECKPOINT, DIR_USE_PROGRAM, DIR_USE_ENVIRONMENT };

/*
 * The directory open on `dir_fd` (`dir` names it) and each parent up to the root, through
 * descriptors (`..` of the directory actually opened, not of a path that may have changed): each
 * owned by `uid` or root and not writable by others (a sticky parent above a trusted entry
 * excepted). 0, or -1 with CRAC_EIMAGE (CRAC_EENGINE for a program's) naming the directory, its
 * owner and mode, and the fix.
 */
int assert_safe_dir_fd(int dir_fd, const char *dir, uid_t uid, enum dir_use use, struct crac_error *error);

#endif
