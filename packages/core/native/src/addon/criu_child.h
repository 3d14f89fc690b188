/* criu_child.h - `criu swrk` started for checkpoint() (criu_child.c). */
#ifndef CRAC_ADDON_CRIU_CHILD_H
#define CRAC_ADDON_CRIU_CHILD_H

#include <stddef.h>
#include <sys/types.h>

#include "exports.h"

/* This process's environment without CRIU_CONFIG_FILE, with `extra` ("NAME=value", replacing same-named entries) and `one_more` (may be NULL) added; NULL when out of memory. */
char **criu_environment(char *const *extra, size_t extra_count, char *one_more);
/*
 * Starts `<criu_path> swrk 3` as a grandchild that holds the other end of a
 * new RPC socket. Returns our end (CLOEXEC), or -1 with an exception pending.
 */
int start_criu(napi_env env, char *criu_path, char *const envp[], pid_t *criu_pid);
/*
 * Stops a CRIU that hangs or died without replying: SIGKILL to `criu_pid` and to every other
 * process of its session (start_criu makes it a session leader) but the seal step: CRIU's forks,
 * such as a kernel probe's ptrace target, sleep for ever once CRIU is gone, holding its end of the
 * socket and the staging directory. Returns how many others were stopped.
 */
int stop_criu(pid_t criu_pid);

#endif
