/*
 * capabilities.h - CRIU for a non-root user (its --unprivileged mode): the file capabilities of
 * its binary, this process's own (a container's root), and whether they let CRIU run. The one
 * reader of `security.capability` and of /proc/PID/status's capability lines: crac-restore checks
 * with it before a restore, crac.node's exports before a checkpoint and for `crac check`. Which
 * capabilities CRIU needs, and why, is engine/criu/capabilities.ts's list (crac/capabilities.h).
 */
#ifndef CRAC_CRIU_CAPABILITIES_H
#define CRAC_CRIU_CAPABILITIES_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/crac_error.h"

/* What a file's `security.capability` attribute grants on exec (struct vfs_cap_data / vfs_ns_cap_data). */
struct file_caps {
	int present;	/* 0: the file has none */
	int effective;	/* the effective flag (+e): without it CRIU runs with none of them effective */
	uint64_t permitted, inheritable;
	int has_root_uid; /* revision 3: the user namespace's root they apply to */
	uint32_t root_uid;
};

/* Decodes a `security.capability` value: -1 and CRAC_EIO for one no kernel writes. */
int decode_file_caps(const uint8_t *value, size_t len, struct file_caps *caps, struct crac_error *error);
/* The file capabilities of `path` (following links: the file exec runs); `present` 0 when it has none. */
int read_file_caps(const char *path, struct file_caps *caps, struct crac_error *error);

/* The name of capability `bit` as getcap and capsh print it (`cap_63` for one it does not know), in `buf`. */
const char *capability_name(int bit, char *buf, size_t len);

/* What a /proc/PID/status says of a process's privileges. */
struct privileges {
	int no_new_privs; /* NoNewPrivs: 1: exec ignores file capabilities */
	int caps_known;	  /* CapEff was read */
	uint64_t effective;
	uint64_t permitted, inheritable, bounding; /* CapPrm, CapInh, CapBnd */
};
/* From the text of a /proc/PID/status; NULL: this process's own. */
struct privileges privileges_of(const char *status);

/* Whether CRIU runs in its --unprivileged mode: not root, or root without cap_sys_admin (a container's root). */
int runs_unprivileged(uid_t euid, const struct privileges *p);
int criu_runs_unprivileged(void);

/*
 * Whether the CRIU binary at `path` can run unprivileged for a process of `euid` and `p`, whose
 * file capabilities are `file` (a container's root runs it with its own capabilities, exec keeps
 * them): 0, or -1 with CRAC_ECRIU_CAPS naming the missing ones (also in `missing`, comma-separated,
 * when not NULL) and the fix. (One this user may not execute is refused earlier, where CRIU is
 * found: criu_not_executable().)
 */
int criu_capability_problem(const char *path, uid_t euid, const struct privileges *p, const struct file_caps *file,
			    char *missing, size_t missing_len, struct crac_error *error);
/*
 * Whether this process (`p`) can give the app of an image the capabilities it had (`permitted`,
 * `inheritable`: image/core_caps.h): CRIU's restorer sets them with capset(2), which may not raise
 * a permitted capability, and without one every thread stops mid-restore while CRIU waits for
 * them. 0, or -1 with CRAC_ECRIU_CAPS naming the missing ones and the flags that add them.
 */
int restore_capability_problem(uint64_t permitted, uint64_t inheritable, const struct privileges *p, struct crac_error *error);
/*
 * This process may not execute the CRIU at `path` (it is there, and exec would be refused): 1 with
 * CRAC_EUNPRIVILEGED naming the group that may (the grant restricts a granted CRIU to
 * CRIU_GROUP) and how to join it; else 0. find_criu_in() asks first, so a found CRIU runs.
 */
int criu_not_executable(const char *path, struct crac_error *error);
/* The same for this process and the binary's own file capabilities. */
int assert_criu_capabilities(const char *path, struct crac_error *error);

#endif
