/*
 * restore.h - the parts of crac-restore (main.c), one file each: its command line (options.c),
 * the checks of the image before anything starts (checks.c), the pid-namespace decision
 * (pid_namespace.c), CRIU's restore arguments and its log read on failure (criu_restore.c),
 * the processes of /proc (processes.c) and --inspect (inspect.c).
 */
#ifndef CRAC_RESTORE_H
#define CRAC_RESTORE_H

#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#include "base/crac_error.h"
#include "image/image.h"
#include "relay.h"

enum pid_namespace_mode { PIDNS_AUTO, PIDNS_ALWAYS, PIDNS_NEVER };

struct options {
	const char *dir;
	int inspect;
	enum pid_namespace_mode pid_namespace;
	int full;
	int json;
	const char *init_args; /* --init-args <work-dir>: print crac-init's arguments, restore nothing */
	int eager;	       /* --memory eager: every page before the app resumes, a working set or not */
	const char *record;    /* --record-working-set <file>: the pages the app touches, logged there (crac checkpoint --working-set) */
};

/* The command line as commander parses `crac restore` (same messages); exits on --help or a usage error. */
void parse_options(int argc, char **argv, struct options *o);
/* path.resolve(dir); NULL when out of memory. */
char *resolve_path(const char *dir);

static inline double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* checks.c */
int assert_complete(const struct image *image, struct crac_error *error);
size_t first_of_target(const struct manifest *m, size_t i);
int assert_own_pipes(const struct manifest *m, const struct relay *relays, size_t nrelays, struct crac_error *error);

/* pid_namespace.c */
int use_pid_namespace(const struct manifest *m, enum pid_namespace_mode mode, int on_terminal, int unprivileged,
		      struct crac_error *error);

/* criu_restore.c */
char **criu_arguments(const struct manifest *m, const char *criu, const char *work_dir, const char *pidfile, int unprivileged,
		      int lazy);
/* `argv` with `--action-script SCRIPT` appended (realloc'ed); NULL when out of memory. */
char **criu_with_action_script(char **argv, const char *script);
char **lazy_pages_arguments(const char *criu, const char *server_dir, int unprivileged, int verbose);
void restore_failure(const char *log_path, const char *dir, struct crac_error *error);

/* init_args.c: `crac-restore --init-args WORK_DIR DIR` prints them: 0, or -1 and `error`. */
int print_init_args(const struct image *image, const char *criu_path, const struct options *o, struct crac_error *error);

/* inspect.c: `crac-restore --inspect DIR`, its exit code. */
int inspect(const char *dir);

#endif
