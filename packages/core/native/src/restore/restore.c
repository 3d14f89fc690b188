/*
 * crac-restore - `crac restore DIR`, native from its first instruction: the `crac` launcher
 * (packages/cli/bin/crac) execs it for `restore`, so no Node process is in the restore path or
 * the restored app's parent.
 *
 *   crac-restore [--pid-namespace auto|always|never] [--verify quick|full] [--json] <dir>
 *   crac-restore --inspect <dir>
 *
 * It opens the image directory once (O_DIRECTORY | O_NOFOLLOW) and checks it and its parents
 * (image_dir.c), reads the manifest through it (manifest.c), checks the host and binaries
 * (host_check.c) and every file against the seal (seal_verify.c), finds CRIU (criu_binary.c),
 * decides the pid namespace, binds the app's listening sockets (the manifest's `listeners`,
 * listen_slots.c), then hands CRIU that same directory descriptor (fd 3) and
 * supervises the restored app (supervise.c) from a child: pid 1 of a new pid namespace, or a
 * subreaper in a session of its own. This process forwards signals to it, says when the app
 * is restored (the "restore" phase, --json), and exits with the app's exit code: 125 when the
 * restore failed, 2 on a usage error. The same phases, codes and messages as the TypeScript
 * command it replaces (packages/cli/src/commands/restore.ts before 0.1).
 *
 * --inspect is what `crac inspect` reports from (one reader of the image format): the manifest
 * as written, then the full verification on this host, as one JSON document on stdout
 * (`{"imagesDir", "manifest", "verification": {"ok": true, "warnings", "durationMs", "seal"} or
 * {"ok": false, "error": {"code", "message"}}}`); exit 0 when the image verifies, 1 when not or
 * when the manifest cannot be read (`{"ok": false, "error"}` then).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "criu_binary.h"
#include "exit_codes.h"
#include "image.h"
#include "listen_slots.h"
#include "package_match.h"
#include "relay.h"
#include "report.h"
#include "supervise.h"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

/* How long to wait for zombies holding the image's pids to be reaped (restore.ts ZOMBIE_WAIT_MS). */
#define ZOMBIE_WAIT_MS 3000

enum pid_namespace_mode { PIDNS_AUTO, PIDNS_ALWAYS, PIDNS_NEVER };

struct options {
	const char *dir;
	int inspect;
	enum pid_namespace_mode pid_namespace;
	int full;
	int json;
};

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static const char HELP[] =
	"Usage: crac restore [options] <dir>\n"
	"\n"
	"restore an image in the foreground; exits with the app's exit code (125: the\n"
	"restore failed)\n"
	"\n"
	"Arguments:\n"
	"  dir                     the image directory\n"
	"\n"
	"Options:\n"
	"  --pid-namespace <mode>  restore in a new pid namespace (auto: always, except\n"
	"                          an image checkpointed on a terminal) (choices: \"auto\",\n"
	"                          \"always\", \"never\", default: \"auto\")\n"
	"  --verify <mode>         hash only the image files touched since the\n"
	"                          checkpoint, or all of them (choices: \"quick\", \"full\",\n"
	"                          default: \"quick\")\n"
	"  --json                  print the result as one JSON line on stdout once\n"
	"                          restored (default: false)\n"
	"  -h, --help              display help for command\n";

static void __attribute__((noreturn, format(printf, 1, 2))) usage_error(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	fprintf(stderr, "crac: error: %s\n", buf);
	exit(EXIT_USAGE);
}

/* The command line as commander parses `crac restore` (same messages). */
static void parse_options(int argc, char **argv, struct options *o)
{
	int positional = 0, only_arguments = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (only_arguments || a[0] != '-' || a[1] == '\0') {
			if (positional++ == 0)
				o->dir = a;
			continue;
		}
		if (strcmp(a, "--") == 0) {
			only_arguments = 1;
			continue;
		}
		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			fputs(HELP, stdout);
			exit(0);
		}
		if (strcmp(a, "--json") == 0) {
			o->json = 1;
			continue;
		}
		if (strcmp(a, "--inspect") == 0) {
			o->inspect = 1;
			continue;
		}
		const char *name = NULL, *value = NULL, *choices = NULL;
		size_t len = 0;
		if (strncmp(a, "--pid-namespace", 15) == 0 && (a[15] == '\0' || a[15] == '='))
			name = "--pid-namespace <mode>", len = 15, choices = "auto, always, never";
		else if (strncmp(a, "--verify", 8) == 0 && (a[8] == '\0' || a[8] == '='))
			name = "--verify <mode>", len = 8, choices = "quick, full";
		else
			usage_error("unknown option '%s'", a);
		if (a[len] == '=')
			value = a + len + 1;
		else if (i + 1 < argc)
			value = argv[++i];
		else
			usage_error("option '%s' argument missing", name);
		if (len == 15 && strcmp(value, "auto") == 0)
			o->pid_namespace = PIDNS_AUTO;
		else if (len == 15 && strcmp(value, "always") == 0)
			o->pid_namespace = PIDNS_ALWAYS;
		else if (len == 15 && strcmp(value, "never") == 0)
			o->pid_namespace = PIDNS_NEVER;
		else if (len == 8 && strcmp(value, "quick") == 0)
			o->full = 0;
		else if (len == 8 && strcmp(value, "full") == 0)
			o->full = 1;
		else
			usage_error("option '%s' argument '%s' is invalid. Allowed choices are %s.", name, value, choices);
	}
	if (positional == 0)
		usage_error("missing required argument 'dir'");
	if (positional > 1)
		usage_error("too many arguments for 'restore'. Expected 1 argument but got %d.", positional);
}

/* path.resolve(dir): absolute and normalized by its text (`.`, `..`, `//`, a trailing `/`), symbolic links left alone. */
static char *resolve_path(const char *dir)
{
	char cwd[PATH_MAX] = "/";
	if (dir[0] != '/' && !getcwd(cwd, sizeof(cwd)))
		snprintf(cwd, sizeof(cwd), "%s", getenv("PWD") ? getenv("PWD") : "/");
	char *joined = NULL;
	if (asprintf(&joined, "%s/%s", dir[0] == '/' ? "" : cwd, dir) < 0)
		return NULL;
	char *out = malloc(strlen(joined) + 2);
	if (!out) {
		free(joined);
		return NULL;
	}
	size_t n = 0;
	for (char *save = NULL, *part = strtok_r(joined, "/", &save); part; part = strtok_r(NULL, "/", &save)) {
		if (strcmp(part, ".") == 0)
			continue;
		if (strcmp(part, "..") == 0) {
			while (n > 0 && out[n - 1] != '/')
				n--;
			if (n > 0)
				n--;
			continue;
		}
		out[n++] = '/';
		size_t len = strlen(part);
		memcpy(out + n, part, len);
		n += len;
	}
	if (n == 0)
		out[n++] = '/';
	out[n] = '\0';
	free(joined);
	return out;
}

/* CRIU cannot start a restore without these, and may crash instead of saying so (layout.ts REQUIRED_CRIU_FILES). */
static int assert_complete(const struct image *image, struct crac_error *error)
{
	static const char *const required[] = { "inventory.img", "pstree.img" };
	char missing[64] = "";
	for (size_t i = 0; i < 2; i++) {
		struct stat st;
		if (fstatat(image->fd, required[i], &st, 0) != 0)
			snprintf(missing + strlen(missing), sizeof(missing) - strlen(missing), "%s%s", missing[0] ? ", " : "", required[i]);
	}
	if (missing[0])
		return crac_fail(error, CRAC_EIMAGE, "%s is incomplete: %s missing; checkpoint again", image->dir, missing);
	return 0;
}

/* The first stdio entry handed on with the same target as entry `i` (CRIU gets one --inherit-fd a file). */
static size_t first_of_target(const struct manifest *m, size_t i)
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
static int assert_own_pipes(const struct manifest *m, const struct relay *relays, size_t nrelays, struct crac_error *error)
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

/*
 * /proc/PID/stat read into buf, from the ") " that ends the command name (which may hold spaces
 * and parentheses) on: the state is p[2]; NULL when the process is gone.
 */
static const char *proc_stat_fields(long pid, char *buf, size_t size)
{
	char path[32];
	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	ssize_t n = read(fd, buf, size - 1);
	close(fd);
	if (n <= 0)
		return NULL;
	buf[n] = '\0';
	const char *paren = strrchr(buf, ')');
	return paren && paren[1] == ' ' ? paren : NULL;
}

/* /proc/PID/stat: 'alive' (1), a zombie or gone (0). */
static int alive(long pid)
{
	char buf[512];
	const char *p = proc_stat_fields(pid, buf, sizeof(buf));
	return p && p[2] != 'Z';
}

/* The image's ids that a process of this pid namespace holds; the first in *first. */
static size_t taken_ids(const struct manifest *m, long *first, int *all_dead)
{
	size_t taken = 0;
	*all_dead = 1;
	for (size_t i = 0; i < m->nids; i++) {
		char path[32];
		snprintf(path, sizeof(path), "/proc/%ld", m->ids[i]);
		if (access(path, F_OK) != 0)
			continue;
		if (taken++ == 0)
			*first = m->ids[i];
		if (alive(m->ids[i]))
			*all_dead = 0;
	}
	return taken;
}

/*
 * Whether to restore into a new pid namespace (restore.ts usePidNamespace). `auto`: always, as
 * looking whether the image's pids are free is a race (copies of one image started together
 * all see them free); except where CRIU cannot restore into one: an image checkpointed on a
 * terminal, and any unprivileged restore (a pid namespace needs root). Those wait a little for
 * zombies holding their pids; the terminal one gets a namespace if a live process holds one,
 * the unprivileged one is refused. 1/0, or -1 with `error`.
 */
static int use_pid_namespace(const struct manifest *m, enum pid_namespace_mode mode, int on_terminal, int unprivileged,
			     struct crac_error *error)
{
	if (unprivileged && mode == PIDNS_ALWAYS)
		return crac_fail(error, CRAC_EUNPRIVILEGED,
				 "--pid-namespace always needs root (CAP_SYS_ADMIN): a non-root user restores in the host pid namespace");
	if (mode == PIDNS_ALWAYS)
		return 1;
	if (mode == PIDNS_AUTO && !on_terminal && !unprivileged)
		return 1;
	double deadline = now_ms() + ZOMBIE_WAIT_MS;
	long first = 0;
	int all_dead;
	size_t taken = taken_ids(m, &first, &all_dead);
	while (taken > 0 && all_dead && now_ms() < deadline) {
		usleep(50 * 1000);
		taken = taken_ids(m, &first, &all_dead);
	}
	/* never: CRIU then says which pid is taken, and the fix */
	if (taken == 0 || mode == PIDNS_NEVER)
		return 0;
	if (unprivileged)
		return crac_fail(error, CRAC_EUNPRIVILEGED,
				 "pid %ld that the image needs is taken, and only root can restore into a new pid namespace where it would "
				 "be free: end process %ld (a copy of this image still running?), or restore as root",
				 first, first);
	if (on_terminal)
		return crac_fail(error, CRAC_ECRIU_RESTORE,
				 "pid %ld that the image needs is taken, and an app checkpointed on a terminal cannot be restored in a new "
				 "pid namespace (CRIU cannot hand it the terminal there): end process %ld, or checkpoint with stdout and "
				 "stderr on a file or a pipe",
				 first, first);
	return 1;
}

/* CRIU names inherited files by path without the leading slash. */
static const char *without_slash(const char *path)
{
	return path[0] == '/' ? path + 1 : path;
}

/*
 * criu restore's arguments (protocol/criu-restore.ts restorerArguments): detached (the supervisor
 * stays the parent), the app's stdio pointed at ours (`--inherit-fd` of each pipe, file or socket
 * it had; a terminal needs only --shell-job), the image directory it held during the dump
 * remapped to IMAGES_DIR_FD, its handoff file to HANDOFF_FD. The listeners' slots are appended
 * once their sockets are bound (listen_slots_bind).
 */
static char **criu_arguments(const struct manifest *m, const char *criu, const char *work_dir, const char *pidfile, int unprivileged)
{
	char **argv = calloc(32, sizeof(char *));
	int n = 0;
	if (!argv)
		return NULL;
	argv[n++] = (char *)criu;
	static const char *const fixed[] = { "restore", "-d", "-D", "/proc/self/fd/3", "-W" };
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		argv[n++] = (char *)fixed[i];
	argv[n++] = (char *)work_dir;
	argv[n++] = "-o";
	argv[n++] = RESTORE_LOG;
	argv[n++] = "-v4";
	argv[n++] = "--shell-job";
	argv[n++] = "--pidfile";
	argv[n++] = (char *)pidfile;
	if (unprivileged)
		argv[n++] = "--unprivileged";
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

/* Known restore failures and the option or step that fixes each (engine/criu/log.ts ADVICE). */
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
static void restore_failure(const char *log_path, const char *dir, struct crac_error *error)
{
	char *lines[5] = { 0 };
	size_t count = 0;
	char all[8192] = "";
	FILE *f = fopen(log_path, "re");
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	while (f && (len = getline(&line, &cap, f)) > 0) {
		if (!strstr(line, "Error (") || strstr(line, "RLIMIT_NOFILE"))
			continue;
		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == ' ' || line[len - 1] == '\r'))
			line[--len] = '\0';
		char *text = line;
		if (text[0] == '(') { /* "(0.012345) " */
			char *close = strchr(text, ')');
			if (close && close - text < 24)
				text = close + 1;
		}
		while (*text == ' ' || *text == '\t')
			text++;
		free(lines[count % 5]);
		lines[count % 5] = strdup(text);
		count++;
		size_t used = strlen(all);
		snprintf(all + used, sizeof(all) - used, "%s\n", text);
	}
	free(line);
	if (f)
		fclose(f);
	char detail[4096] = "";
	if (count == 0)
		snprintf(detail, sizeof(detail), "CRIU ended without an error line in its log (see the lines above)");
	for (size_t i = count > 5 ? count - 5 : 0; i < count; i++) {
		size_t used = strlen(detail);
		snprintf(detail + used, sizeof(detail) - used, "%s%s", used ? "\n  " : "", lines[i % 5]);
	}
	for (size_t i = 0; i < 5; i++)
		free(lines[i]);
	const char *advice = restore_advice(all);
	crac_fail(error, CRAC_ECRIU_RESTORE, "cannot restore %s:\n  %s%s%s", dir, detail, advice ? "\n  fix: " : "", advice ? advice : "");
}

/* The work directory and what CRIU left in it. */
static void remove_work_dir(const char *dir)
{
	DIR *d = opendir(dir);
	if (d) {
		struct dirent *e;
		while ((e = readdir(d)))
			if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
				unlinkat(dirfd(d), e->d_name, 0);
		closedir(d);
	}
	rmdir(dir);
}

/* Field 22 of /proc/PID/stat (start time): the same pid with the same start time is the same process. */
static unsigned long long start_time(pid_t pid)
{
	char buf[1024];
	const char *p = proc_stat_fields(pid, buf, sizeof(buf));
	for (int field = 2; p && field < 22; field++)
		p = strchr(p + 1, ' ');
	return p ? strtoull(p + 1, NULL, 10) : 0;
}

/* What the supervisor writes once CRIU restored the app: "<pid>\n" (see supervise_run). */
struct restored_notice {
	int fd;
	char line[32];
	size_t len;
	int done, reported;
	pid_t pid;
	unsigned long long start;
};

static void read_notice(struct restored_notice *n)
{
	ssize_t got = read(n->fd, n->line + n->len, sizeof(n->line) - 1 - n->len);
	if (got < 0 && errno == EINTR)
		return;
	if (got > 0)
		n->len += (size_t)got;
	if (got <= 0 || n->len == sizeof(n->line) - 1 || memchr(n->line, '\n', n->len)) {
		n->done = 1;
		n->line[n->len] = '\0';
		n->pid = (pid_t)atoi(n->line);
	}
}

/* The "restore" phase, and with --json the result line. */
static void report_restored(double started, long image_pid, int pidns)
{
	char detail[64], extra[96];
	snprintf(detail, sizeof(detail), "pid %ld%s", image_pid, pidns ? " (new pid namespace)" : "");
	report_phase("restore", now_ms() - started, detail);
	snprintf(extra, sizeof(extra), "\"pid\":%ld,\"pidNamespace\":%s", image_pid, pidns ? "true" : "false");
	report_finish(1, extra, NULL);
}

static int fail_restore(const struct crac_error *error)
{
	report_error(error);
	report_finish(0, NULL, error);
	return strcmp(error->code, CRAC_EINVAL) == 0 ? EXIT_USAGE : EXIT_RESTORE_FAILED;
}

/*
 * Puts the verified image directory on IMAGES_DIR_FD, inheritable: CRIU reads the image through
 * it (`-D /proc/self/fd/3`), never by path.
 */
static int image_on_fd3(struct image *image, struct crac_error *error)
{
	if (image->fd != IMAGES_DIR_FD) {
		if (dup2(image->fd, IMAGES_DIR_FD) != IMAGES_DIR_FD)
			return crac_fail(error, CRAC_EIMAGE, "cannot hand %s to CRIU: %s", image->dir, strerror(errno));
		close(image->fd);
		image->fd = IMAGES_DIR_FD;
	}
	if (fcntl(IMAGES_DIR_FD, F_SETFD, 0) != 0)
		return crac_fail(error, CRAC_EIMAGE, "cannot hand %s to CRIU: %s", image->dir, strerror(errno));
	return 0;
}

static void print_error_json(const char *prefix, const struct crac_error *error)
{
	static char code[64], message[sizeof(error->message) * 2];
	json_quote(code, sizeof(code), error->code);
	json_quote(message, sizeof(message), error->message);
	printf("%s\"ok\":false,\"error\":{\"code\":%s,\"message\":%s}}", prefix, code, message);
}

/* --inspect: see the header. The manifest is read first without the ownership checks (they are the verification's). */
static int inspect(const char *dir)
{
	struct crac_error error = { 0 };
	char quoted_dir[PATH_MAX * 2];
	json_quote(quoted_dir, sizeof(quoted_dir), dir);
	int dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct manifest manifest;
	struct stat st;
	if (dir_fd < 0) {
		const char *name = strerrorname_np(errno);
		crac_fail(&error, CRAC_EIMAGE, "%s is not a crac image: cannot read %s (%s)", dir, MANIFEST_FILE, name ? name : strerror(errno));
	} else if (read_manifest_at(dir_fd, dir, &manifest, &st, &error) != 0) {
		close(dir_fd);
		dir_fd = -1;
	}
	if (dir_fd < 0) {
		print_error_json("{", &error);
		printf("\n");
		return 1;
	}
	close(dir_fd);
	printf("{\"imagesDir\":%s,\"manifest\":%.*s,\"verification\":", quoted_dir, (int)manifest.raw_len, manifest.raw);
	free_manifest(&manifest);

	double started = now_ms();
	struct criu_binary criu;
	struct crac_error no_criu;
	int have_criu = find_criu(&criu, &no_criu) == 0; /* no CRIU here: the image is still inspected */
	struct image image;
	char warnings[2048] = "";
	struct seal_check check;
	if (open_image(dir, &image, &error) != 0) {
		print_error_json("{", &error);
		printf("}\n");
		return 1;
	}
	int failed = verify_host_and_binaries(&image, have_criu ? criu.version : NULL, warnings, sizeof(warnings), &error) != 0 ||
		     verify_seal(&image, 1, &check, &error) != 0;
	close_image(&image);
	if (failed) {
		print_error_json("{", &error);
		printf("}\n");
		return 1;
	}
	printf("{\"ok\":true,\"warnings\":[");
	int first = 1;
	for (char *save = NULL, *w = strtok_r(warnings, "\n", &save); w; w = strtok_r(NULL, "\n", &save)) {
		char quoted[1200];
		json_quote(quoted, sizeof(quoted), w);
		printf("%s%s", first ? "" : ",", quoted);
		first = 0;
	}
	printf("],\"durationMs\":%.3f,\"seal\":{\"files\":%zu,\"hashed\":%zu,\"bytesHashed\":%llu}}}\n", now_ms() - started, check.files,
	       check.hashed, check.bytes_hashed);
	return 0;
}

/*
 * Started by a package manager's script (`npm start`, `npx crac restore`, pnpm, yarn: they set
 * npm_lifecycle_event / npm_config_user_agent): npm passes a SIGTERM on to its `sh -c`, which
 * dies of it without passing it further. This process then gets SIGTERM when its parent dies,
 * and forwards it to the app once, instead of running on reparented to init. Not when nohup'd
 * (SIGHUP ignored): that parent is meant to go away.
 */
static void end_with_launcher(void)
{
	if (!getenv("npm_lifecycle_event") && !getenv("npm_config_user_agent"))
		return;
	struct sigaction hup;
	if (sigaction(SIGHUP, NULL, &hup) == 0 && hup.sa_handler == SIG_IGN)
		return;
	pid_t parent = getppid();
	if (parent <= 1 || prctl(PR_SET_PDEATHSIG, SIGTERM) != 0)
		return;
	if (getppid() != parent) /* it died before the request took effect */
		raise(SIGTERM);
}

int main(int argc, char **argv)
{
	double started = now_ms();
	struct options o = { 0 };
	parse_options(argc, argv, &o);
	report_init(o.json);
	if (!o.inspect)
		end_with_launcher();
	supervise_prefix = "crac";
	/* Only what is handed on purpose reaches CRIU (and the app): stdio, the image, the handoff,
	 * the listening sockets. */
	syscall(436 /* close_range */, 3U, ~0U, CLOSE_RANGE_CLOEXEC);

	struct crac_error error = { 0 };
	/* A platform package of another version than the @crac/core the launcher found: refused
	 * before anything else (the restorer and the app's @crac/core speak one protocol). */
	if (assert_package_matches(getenv("CRAC_CORE_DIR"), &error) != 0)
		return fail_restore(&error);
	unsetenv("CRAC_CORE_DIR");
	char *dir = resolve_path(o.dir);
	if (!dir)
		return fail_restore((crac_fail(&error, CRAC_EIMAGE, "out of memory"), &error));
	if (o.inspect)
		return inspect(dir);
	/* The directory is opened once and checked (it and its parents: owner, mode), the manifest
	 * read through it; every file is then checked through that descriptor, and CRIU reads the
	 * image through the same one (fd 3): nothing is reopened by path after it was checked. */
	struct image image;
	if (open_image(dir, &image, &error) != 0)
		return fail_restore(&error);
	double opened = now_ms() - started;
	const struct manifest *m = &image.manifest;
	struct criu_binary criu;
	if (assert_complete(&image, &error) != 0 || find_criu(&criu, &error) != 0)
		return fail_restore(&error);
	/* Not root, or a container's root (no cap_sys_admin): CRIU's --unprivileged mode, with the
	 * file capabilities of its binary or root's own (checked first: CRIU hangs rather than fails
	 * without one), and no pid namespace. */
	int unprivileged = criu_runs_unprivileged();
	struct relay relays[RELAY_MAX];
	size_t nrelays = 0;
	for (size_t i = 0; i < m->nstdio && nrelays < RELAY_MAX; i++) {
		const struct stdio_record *r = &m->stdio[i];
		if (strcmp(r->kind, "pipe") != 0 || r->fd == 0 || !relay_needed(r->fd) || first_of_target(m, i) != i)
			continue;
		relays[nrelays++] = (struct relay){ .fd = r->fd, .read_end = -1, .write_end = -1 }; /* opened below */
	}
	if (unprivileged && (assert_criu_capabilities(criu.path, &error) != 0 || assert_own_pipes(m, relays, nrelays, &error) != 0))
		return fail_restore(&error);
	/* Same host and build, every file as sealed after the dump: or refuse, before anything starts. */
	double verifying = now_ms();
	char warnings[2048] = "";
	struct seal_check check;
	if (verify_host_and_binaries(&image, criu.version, warnings, sizeof(warnings), &error) != 0 ||
	    verify_seal(&image, o.full, &check, &error) != 0)
		return fail_restore(&error);
	for (char *save = NULL, *w = strtok_r(warnings, "\n", &save); w; w = strtok_r(NULL, "\n", &save)) {
		char line[600];
		snprintf(line, sizeof(line), "warning: %s", w);
		report_info(line);
	}
	char bytes[32], detail[160];
	format_bytes(bytes, sizeof(bytes), check.bytes_hashed);
	snprintf(detail, sizeof(detail), "%zu files as sealed, %zu hashed (%s)", check.files, check.hashed, bytes);
	report_phase("verify", opened + (now_ms() - verifying), detail);

	int on_terminal = 0;
	for (size_t i = 0; i < m->nstdio; i++)
		on_terminal |= strcmp(m->stdio[i].kind, "tty") == 0;
	int pidns = use_pid_namespace(m, o.pid_namespace, on_terminal, unprivileged, &error);
	if (pidns < 0)
		return fail_restore(&error);

	const char *tmp = getenv("TMPDIR");
	char work_dir[PATH_MAX], pidfile[PATH_MAX + 16];
	snprintf(work_dir, sizeof(work_dir), "%s/crac-restore-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(work_dir)) {
		crac_fail(&error, CRAC_EIO, "cannot make a work directory %s: %s", work_dir, strerror(errno));
		return fail_restore(&error);
	}
	snprintf(pidfile, sizeof(pidfile), "%s/restored.pid", work_dir);
	char **criu_argv = criu_arguments(m, criu.path, work_dir, pidfile, unprivileged);
	struct listen_spec listen_specs[LISTEN_SLOTS_MAX];
	for (size_t i = 0; i < m->nlisteners && i < LISTEN_SLOTS_MAX; i++) {
		const struct listener_record *r = &m->listeners[i];
		/* the manifest reader checked each record: this cannot fail */
		listen_spec_of_record(r->host, r->port, r->port_env, r->port_env_value, r->slot, &listen_specs[i]);
	}
	if (!criu_argv || image_on_fd3(&image, &error) != 0) {
		remove_work_dir(work_dir);
		if (!criu_argv)
			crac_fail(&error, CRAC_EIO, "out of memory");
		return fail_restore(&error);
	}
	long image_pid = m->pid;

	/* The handoff goes on fd 4 before anything else can take it. */
	supervise_prepare(m->handoff ? HANDOFF_FD : -1);
	/* Then the app's ports, bound before CRIU runs: a client connecting from now on waits in the
	 * backlog (PROTOCOL.md, "Listening sockets"). Only with a handoff, as restorerArguments():
	 * the port rule reads the restoring environment, which only a handoff gives the app. */
	if (m->handoff && m->nlisteners > 0)
		criu_argv = listen_slots_bind(criu_argv, listen_specs, (int)m->nlisteners);
	int restored_pipe[2];
	int piped = pipe2(restored_pipe, O_CLOEXEC) == 0;
	for (size_t i = 0; piped && i < nrelays; i++)
		piped = relay_open(&relays[i]) == 0;
	if (!piped) {
		remove_work_dir(work_dir);
		crac_fail(&error, CRAC_EIO, "pipe: %s", strerror(errno));
		return fail_restore(&error);
	}
	/* The supervisor: pid 1 of a new pid namespace, or a subreaper; in a session of its own,
	 * with the app (which CRIU puts in its session and process group): what is sent to this
	 * process's group (a terminal's Ctrl-C, kill -INT -PGID) reaches this process only, which
	 * forwards it once. Not for an image checkpointed on a terminal: CRIU hands the app the
	 * terminal as its controlling one, in this session (the app gets the terminal's own signals). */
	pid_t supervisor = supervise_fork(pidns, !on_terminal);
	if (supervisor == 0) {
		close(restored_pipe[0]);
		relay_install(relays, nrelays);
		supervise_run(criu_argv, pidfile, restored_pipe[1], on_terminal);
	}
	close(restored_pipe[1]);
	for (size_t i = 0; i < nrelays; i++)
		close(relays[i].write_end);
	close(IMAGES_DIR_FD);
	if (m->handoff)
		close(HANDOFF_FD);
	listen_slots_close(); /* the supervisor has them, and closes them once CRIU is done */
	close_image(&image);

	int signals = signalfd(-1, &supervise_wait_set, SFD_CLOEXEC);
	if (signals < 0) {
		supervise_msg("signalfd: %s", strerror(errno));
		kill(supervisor, SIGKILL);
	}
	struct restored_notice notice = { .fd = restored_pipe[0] };
	int status = 0;
	for (;;) {
		pid_t p = waitpid(supervisor, &status, WNOHANG);
		if (p == supervisor)
			break;
		struct pollfd fds[2 + RELAY_MAX] = { { .fd = signals, .events = POLLIN },
						       { .fd = notice.done ? -1 : notice.fd, .events = POLLIN } };
		for (size_t i = 0; i < nrelays; i++)
			fds[2 + i] = (struct pollfd){ .fd = relays[i].read_end, .events = POLLIN };
		if (poll(fds, 2 + nrelays, -1) < 0 && errno != EINTR)
			break;
		for (size_t i = 0; i < nrelays; i++)
			if (fds[2 + i].revents)
				relay_pump(&relays[i]);
		if (fds[1].revents)
			read_notice(&notice);
		if (fds[0].revents) {
			struct signalfd_siginfo si;
			if (read(signals, &si, sizeof(si)) == sizeof(si) && supervise_forwards((int)si.ssi_signo)) {
				/* a terminal's own signal reached the app already when it shares the terminal */
				if (!(on_terminal && si.ssi_code == SI_KERNEL))
					kill(supervisor, (int)si.ssi_signo);
			}
		}
		if (notice.pid > 0 && !notice.reported) {
			notice.reported = 1;
			/* outside a pid namespace the app is our grandchild: remembered, to end it should the supervisor be killed */
			if (!pidns)
				notice.start = start_time(notice.pid);
			report_restored(started, image_pid, pidns);
		}
	}
	/* the supervisor may have said so just before it ended (an app that exited at once): its
	 * write end is closed now, so this read ends */
	while (!notice.done)
		read_notice(&notice);
	relay_drain(relays, nrelays);
	if (notice.pid > 0 && !notice.reported)
		report_restored(started, image_pid, pidns);
	pid_t restored = notice.pid;
	unsigned long long restored_start = notice.start;
	if (restored <= 0) {
		char log[PATH_MAX + 16];
		snprintf(log, sizeof(log), "%s/%s", work_dir, RESTORE_LOG);
		restore_failure(log, dir, &error);
		remove_work_dir(work_dir);
		return fail_restore(&error);
	}
	remove_work_dir(work_dir);
	/* The supervisor killed: in a pid namespace the app died with it (the kernel ends a namespace
	 * whose pid 1 dies); outside one, nobody else knows the app: it is in the supervisor's
	 * process group with its own children (not on a terminal), or else alone. */
	if (WIFSIGNALED(status) && !pidns) {
		if (!on_terminal)
			kill(-supervisor, SIGKILL);
		else if (restored_start && start_time(restored) == restored_start)
			kill(restored, SIGKILL);
	}
	return exit_code_of(status, 1);
}
