/* criu_restore.c - `criu restore`'s arguments, and its log read when it failed. */
#define _GNU_SOURCE
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crac/layout.h"
#include "criu/log.h"
#include "restore.h"
#include "supervise/lazy_pages.h"

#define STR_(x) #x
#define STR(x) STR_(x)

/* CRIU names inherited files by path without the leading slash. */
static const char *without_slash(const char *path)
{
	return path[0] == '/' ? path + 1 : path;
}

/*
 * criu restore's arguments (the one builder: restorerArguments() of @crac/core/protocol asks crac-restore --init-args): detached (the supervisor
 * stays the parent), the app's stdio pointed at ours (`--inherit-fd` of each pipe, file or socket
 * it had; a terminal needs only --shell-job), the image directory it held during the dump
 * remapped to IMAGES_DIR_FD, its handoff file to HANDOFF_FD. The listeners' slots are appended
 * once their sockets are bound (listen_slots_bind).
 */
char **criu_arguments(const struct manifest *m, const char *criu, const char *work_dir, const char *pidfile, int unprivileged,
		      int lazy)
{
	char **argv = calloc(32, sizeof(char *));
	int n = 0;
	if (!argv)
		return NULL;
	argv[n++] = (char *)criu;
	static const char *const fixed[] = { "restore", "-d", "-D", "/proc/self/fd/" STR(IMAGES_DIR_FD), "-W" };
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		argv[n++] = (char *)fixed[i];
	argv[n++] = (char *)work_dir;
	argv[n++] = "-o";
	argv[n++] = RESTORE_LOG;
	argv[n++] = "-v4";
	/* no default config: a root CRIU would read $HOME/.criu/default.conf (the caller's HOME: a user's
	 * action scripts would run as root); CRIU_CONFIG_FILE is taken out of its environment (supervise.c) */
	argv[n++] = "--no-default-config";
	argv[n++] = "--shell-job";
	argv[n++] = "--pidfile";
	argv[n++] = (char *)pidfile;
	if (unprivileged)
		argv[n++] = "--unprivileged";
	if (lazy) /* the working set eager, the rest from the lazy-pages server (lazy_pages_arguments) */
		argv[n++] = "--lazy-pages";
	for (size_t i = 0; i < m->nstdio; i++) {
		const struct stdio_record *r = &m->stdio[i];
		if (strcmp(r->kind, "pipe") != 0 && strcmp(r->kind, "file") != 0 && strcmp(r->kind, "socket") != 0)
			continue;
		if (first_of_target(m, i) != i)
			continue;
		argv[n++] = "--inherit-fd";
		if (asprintf(&argv[n++], "fd[%d]:%s", r->fd, without_slash(r->target)) < 0)
			return NULL;
	}
	argv[n++] = "--inherit-fd";
	if (asprintf(&argv[n++], "fd[%d]:%s", IMAGES_DIR_FD, without_slash(m->images_dir)) < 0)
		return NULL;
	if (m->handoff) {
		argv[n++] = "--inherit-fd";
		if (asprintf(&argv[n++], "fd[%d]:%s", HANDOFF_FD, without_slash(m->handoff)) < 0)
			return NULL;
	}
	argv[n] = NULL;
	return argv;
}

/*
 * `criu lazy-pages`' arguments: the image on IMAGES_DIR_FD as CRIU's restore has it, its socket in
 * `server_dir`, its log and ready pipe on the descriptors lazy_pages_start() gives it. `verbose`
 * (recording a working set): -v4, which logs every page fault (`#PF at 0x...`); else errors and
 * warnings only (a fault is not worth a line).
 */
char **lazy_pages_arguments(const char *criu, const char *server_dir, int unprivileged, int verbose)
{
	char **argv = calloc(16, sizeof(char *));
	int n = 0;
	if (!argv)
		return NULL;
	argv[n++] = (char *)criu;
	static const char *const fixed[] = { "lazy-pages", "-D", "/proc/self/fd/" STR(IMAGES_DIR_FD),
					     "-o", "/proc/self/fd/" STR(LAZY_PAGES_LOG_FD), "--status-fd", STR(LAZY_PAGES_STATUS_FD),
					     "--no-default-config", "-W" };
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		argv[n++] = (char *)fixed[i];
	argv[n++] = (char *)server_dir;
	argv[n++] = verbose ? "-v4" : "-v2";
	if (unprivileged)
		argv[n++] = "--unprivileged";
	argv[n] = NULL;
	return argv;
}

/* Known restore failures and the option or step that fixes each. */
static const char *restore_advice(const char *errors)
{
	static const char *const advice[][2] = {
		{ "Can't fork for [0-9]+: File exists|set_next_pid|clone3.*EEXIST",
		  "a pid of the image is taken on this host: restore with --pid-namespace always (the default, auto, takes one except "
		  "for an image checkpointed on a terminal)" },
		{ "has bad size|bad size",
		  "a file the process had open changed since the checkpoint (the node binary, the addon, or a log file): restore on the "
		  "host and build that made the image" },
		{ "Address already in use|Can't bind",
		  "a port the process was listening on is taken: stop what holds it, or release it in beforeCheckpoint" },
		{ "No such file or directory", "a file the process had open is missing on this host" },
	};
	for (size_t i = 0; i < sizeof(advice) / sizeof(advice[0]); i++) {
		regex_t re;
		if (regcomp(&re, advice[i][0], REG_EXTENDED | REG_ICASE | REG_NOSUB) != 0)
			continue;
		int found = regexec(&re, errors, 0, NULL, 0) == 0;
		regfree(&re);
		if (found)
			return advice[i][1];
	}
	return NULL;
}

/* CRAC_ECRIU_RESTORE from CRIU's own `Error (...)` lines of its log (the last 5), and the advice for them. */
void restore_failure(const char *log_path, const char *dir, struct crac_error *error)
{
	struct criu_log_errors errors = criu_log_errors(log_path);
	char all[8192] = "", detail[4096] = "";
	for (size_t i = 0; i < errors.count; i++) {
		size_t used = strlen(all);
		snprintf(all + used, sizeof(all) - used, "%s\n", errors.lines[i]);
	}
	if (errors.count == 0)
		snprintf(detail, sizeof(detail), "CRIU ended without an error line in its log (see the lines above)");
	for (size_t i = errors.count > 5 ? errors.count - 5 : 0; i < errors.count; i++) {
		size_t used = strlen(detail);
		snprintf(detail + used, sizeof(detail) - used, "%s%s", used ? "\n  " : "", errors.lines[i]);
	}
	criu_log_errors_free(&errors);
	const char *advice = restore_advice(all);
	crac_fail(error, CRAC_ECRIU_RESTORE, "cannot restore %s:\n  %s%s%s", dir, detail, advice ? "\n  fix: " : "", advice ? advice : "");
}

char **criu_with_action_script(char **argv, const char *script)
{
	size_t n = 0;
	while (argv[n])
		n++;
	char **out = realloc(argv, (n + 3) * sizeof(*out));
	if (!out)
		return NULL;
	out[n] = "--action-script";
	out[n + 1] = (char *)script;
	out[n + 2] = NULL;
	return out;
}
