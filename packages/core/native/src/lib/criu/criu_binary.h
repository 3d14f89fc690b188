/*
 * criu_binary.h - the CRIU binary a restore runs (engine/criu/binary.ts findCriu), and, for a
 * non-root user, whether its file capabilities let CRIU's --unprivileged mode work
 * (engine/criu/capabilities.ts assertCriuCapabilities). Same choices and messages.
 */
#ifndef CRAC_CRIU_BINARY_H
#define CRAC_CRIU_BINARY_H

#include <limits.h>

#include "base/crac_error.h"

struct criu_binary {
	char path[PATH_MAX];
	char version[32];
};

int find_criu(struct criu_binary *criu, struct crac_error *error);
int assert_criu_capabilities(const char *path, struct crac_error *error);

/* Whether CRIU runs in its --unprivileged mode: not root, or root without cap_sys_admin (a container's root). */
int criu_runs_unprivileged(void);

#endif
