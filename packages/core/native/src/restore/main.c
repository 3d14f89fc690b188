/*
 * crac-restore - `crac restore DIR`, native from its first instruction: the `crac` launcher
 * (packages/cli/bin/crac) execs it for `restore`, so no Node process is in the restore path or
 * the restored app's parent.
 *
 *   crac-restore [--pid-namespace auto|always|never] [--verify quick|full] [--json] <dir>
 *   crac-restore --inspect <dir>
 *   crac-restore --init-args <work-dir> [--pid-namespace always] <dir>
 *
 * It opens the image directory once (O_DIRECTORY | O_NOFOLLOW) and checks it and its parents
 * (image_dir.c), reads the manifest through it (manifest.c), checks the host and binaries
 * (host_check.c) and every file against the seal (seal_verify.c), finds CRIU (criu_binary.c),
 * decides the pid namespace, binds the app's listening sockets (the manifest's `listeners`,
 * listen_slots.c), then hands CRIU that same directory descriptor (fd 3) and
 * supervises the restored app (supervise.c) from a child: pid 1 of a new pid namespace, or a
 * subreaper in a session of its own. This process forwards signals to it, says when the app
 * is restored (the "restore" phase, --json), and exits with the app's exit code: 125 when the
 * restore failed, 2 on a usage error. It owns `crac restore`'s command line (options.c): the Node
 * CLI passes the arguments on.
 * --inspect: see inspect.c. --init-args: see init_args.c.
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

#include "criu/capabilities.h"
#include "criu/criu_binary.h"
#include "criu/log.h"
#include "base/exit_codes.h"
#include "image/core_caps.h"
#include "image/image.h"
#include "supervise/lazy_pages.h"
#include "supervise/listen_slots.h"
#include "package_match.h"
#include "report.h"
#include "proc/proc_stat.h"
#include "restore.h"
#include "supervise/supervise.h"
#include "verify_gate.h"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

/*
 * A working-set restore (the manifest's `workingSet`, unless --memory eager) or the recording of one
 * (--record-working-set): CRIU's lazy-pages server, set up in `work_dir`. Recording, the server has a
 * directory of its own (CRIU connects to the relay in the work directory) and logs every fault into
 * the file named, which must not exist yet; else its log (errors only) is in the work directory.
 */
static int prepare_lazy_pages(struct lazy_pages *lp, const char *criu, const char *work_dir, const char *record, int unprivileged,
			      struct crac_error *error)
{
	static char server_dir[PATH_MAX + 8], relay_socket[PATH_MAX + 32];
	snprintf(server_dir, sizeof(server_dir), "%s%s", work_dir, record ? "/server" : "");
	snprintf(relay_socket, sizeof(relay_socket), "%s/%s", work_dir, LAZY_PAGES_SOCKET);
	/* a socket's path: at most 107 bytes */
	if (strlen(server_dir) + sizeof(LAZY_PAGES_SOCKET) + 1 > 108)
		return crac_fail(error, CRAC_EINVAL, "the work directory %s is too deep for a socket: set TMPDIR to a shorter one", work_dir);
	if (record && mkdir(server_dir, 0700) != 0)
		return crac_fail(error, CRAC_EIO, "cannot make %s: %s", server_dir, strerror(errno));
	int flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
	char log[PATH_MAX + 32];
	snprintf(log, sizeof(log), "%s/lazy-pages.log", work_dir);
	int fd = open(record ? record : log, flags, 0600);
	if (fd < 0)
		return crac_fail(error, record ? CRAC_EINVAL : CRAC_EIO, "cannot make %s: %s", record ? record : log, strerror(errno));
	/* above the descriptors put in place later (the handoff's, the image's) */
	lp->log_fd = fcntl(fd, F_DUPFD_CLOEXEC, 64);
	close(fd);
	if (lp->log_fd < 0)
		return crac_fail(error, CRAC_EIO, "fcntl: %s", strerror(errno));
	lp->argv = lazy_pages_arguments(criu, server_dir, unprivileged, record != NULL);
	lp->server_dir = server_dir;
	lp->relay_socket = record ? relay_socket : NULL;
	if (!lp->argv)
		return crac_fail(error, CRAC_ENOMEM, "out of memory");
	return 0;
}

/* What the supervisor writes once CRIU restored the app: "<pid>\n" (see supervise_run). */
struct restored_notice {
	int fd;
	char line[32];
	size_t len;
	int done, reported;
	int eager_instead; /* the supervisor restored eagerly: the lazy-pages server did not start */
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
		n->eager_instead = strstr(n->line, " eager") != NULL;
	}
}

/*
 * The "restore" phase, and with --json the result line, with CRIU's own phases read from its log
 * in `work_dir` (read only then: the app runs already, and waits for nothing of this).
 */
/* The working set restored first, lazily the rest (pages); none: an eager restore. */
struct memory_plan {
	int lazy, has_working_set;
	long long working_set_pages, lazy_pages;
};

/* `hash_ms`: how long the page files took to hash while CRIU restored (< 0: none were) */
static void report_restored(double started, long image_pid, int pidns, const struct memory_plan *memory, const char *work_dir,
			    double hash_ms)
{
	char detail[200], extra[1024], eager[32], background[32];
	int n = snprintf(detail, sizeof(detail), "pid %ld%s", image_pid, pidns ? " (new pid namespace)" : "");
	if (memory->lazy && memory->has_working_set) {
		format_bytes(eager, sizeof(eager), (unsigned long long)memory->working_set_pages * 4096);
		format_bytes(background, sizeof(background), (unsigned long long)memory->lazy_pages * 4096);
		n += snprintf(detail + n, sizeof(detail) - (size_t)n, ", working set %s, %s in the background", eager, background);
	}
	if (hash_ms >= 0 && (size_t)n < sizeof(detail)) /* longer than CRIU's own time: the app waited for it */
		snprintf(detail + n, sizeof(detail) - (size_t)n, ", page files hashed alongside in %.1f ms", hash_ms);
	report_phase("restore", now_ms() - started, detail);
	n = snprintf(extra, sizeof(extra), "\"pid\":%ld,\"pidNamespace\":%s,\"memory\":\"%s\"", image_pid, pidns ? "true" : "false",
		     memory->lazy ? "working-set" : "eager");
	if (report_json()) {
		char log[PATH_MAX + 16];
		struct criu_phase phases[CRIU_RESTORE_PHASES];
		double total = 0;
		snprintf(log, sizeof(log), "%s/%s", work_dir, RESTORE_LOG);
		size_t count = criu_restore_phases(log, phases, &total);
		/* at most 8 short members: well inside `extra` */
		if (count > 0) {
			n += snprintf(extra + n, sizeof(extra) - (size_t)n, ",\"criu\":{\"ms\":%.1f,\"phases\":[", total);
			for (size_t i = 0; i < count && (size_t)n < sizeof(extra); i++)
				n += snprintf(extra + n, sizeof(extra) - (size_t)n, "%s{\"phase\":\"%s\",\"ms\":%.1f}", i ? "," : "",
					      phases[i].name, phases[i].ms);
			if ((size_t)n < sizeof(extra))
				snprintf(extra + n, sizeof(extra) - (size_t)n, "]}");
		}
	}
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

/*
 * A trial restore for `crac checkpoint --working-set` ends with the checkpoint that started it,
 * even one killed by SIGKILL: its death kills this process, which the supervisor takes as its
 * restorer's death (SIGTERM to the app, SIGKILL SUPERVISE_GRACE_SECONDS later). Not a SIGTERM
 * passed on: nothing would then end a copy that lost it.
 */
static void end_with_recorder(void)
{
	pid_t parent = getppid();
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0)
		return;
	if (getppid() != parent)
		raise(SIGKILL);
}

int main(int argc, char **argv)
{
	/* run by CRIU as its action script, the gate of the page files hashed meanwhile */
	int gate_code;
	if (verify_gate_script(&gate_code))
		return gate_code;
	double started = now_ms();
	struct options o = { 0 };
	parse_options(argc, argv, &o);
	if (!o.inspect && !o.init_args)
		supervise_hold_signals();
	report_init(o.json);
	if (o.record)
		end_with_recorder();
	else if (!o.inspect)
		end_with_launcher();
	supervise_prefix = "crac";
	/* Our output's reader may go away (a log shipper, `| head`): a write then fails with EPIPE and
	 * what it said is dropped; dying of SIGPIPE would end the app with us (Node ignores it too).
	 * CRIU gets the default back; the app gets its own from the image. */
	signal(SIGPIPE, SIG_IGN);
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
	if (o.init_args)
		return print_init_args(&image, criu.path, &o, &error) == 0 ? 0 : fail_restore(&error);
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
	/* the page files are hashed while CRIU restores, unless pages are read lazily (the lazy-pages server reads them too) */
	static struct deferred_hashes deferred;
	int lazy = o.record || (m->has_working_set && !o.eager);
	struct binaries_check binaries;
	if (verify_host_and_binaries(&image, criu.version, warnings, sizeof(warnings), &binaries, &error) != 0 ||
	    verify_seal_deferring(&image, o.full, lazy ? NULL : &deferred, &check, &error) != 0)
		return fail_restore(&error);
	for (char *save = NULL, *w = strtok_r(warnings, "\n", &save); w; w = strtok_r(NULL, "\n", &save)) {
		char line[600];
		snprintf(line, sizeof(line), "warning: %s", w);
		report_info(line);
	}
	char bytes[32], detail[320];
	format_bytes(bytes, sizeof(bytes), check.bytes_hashed);
	int n_detail = snprintf(detail, sizeof(detail), "%zu files as sealed, %zu hashed (%s)", check.files, check.hashed, bytes);
	if (deferred.count > 0) {
		format_bytes(bytes, sizeof(bytes), deferred.bytes);
		n_detail += snprintf(detail + n_detail, sizeof(detail) - (size_t)n_detail, ", %zu page file%s (%s) while CRIU restores",
				     deferred.count, deferred.count == 1 ? "" : "s", bytes);
	}
	if (binaries.hashed > 0 && (size_t)n_detail < sizeof(detail)) {
		/* binaries that are other files than at the checkpoint (a pulled image, a new node) and in no digest cache */
		format_bytes(bytes, sizeof(bytes), binaries.bytes_hashed);
		snprintf(detail + n_detail, sizeof(detail) - (size_t)n_detail, ", %zu binar%s hashed (%s)", binaries.hashed,
			 binaries.hashed == 1 ? "y" : "ies", bytes);
	}
	report_phase("verify", opened + (now_ms() - verifying), detail);
	/* Unprivileged (a container's root: its own set), the app's capabilities must be ours to give:
	 * read once the image is verified, refused before CRIU would hang on them */
	if (unprivileged) {
		struct core_caps caps;
		struct privileges own = privileges_of(NULL);
		if (image_core_caps(image.fd, image.dir, &caps, &error) != 0 ||
		    restore_capability_problem(caps.permitted, caps.inheritable, &own, &error) != 0)
			return fail_restore(&error);
	}

	int on_terminal = 0;
	for (size_t i = 0; i < m->nstdio; i++)
		on_terminal |= strcmp(m->stdio[i].kind, "tty") == 0;
	int pidns = use_pid_namespace(m, o.pid_namespace, on_terminal, unprivileged, &error);
	if (pidns < 0)
		return fail_restore(&error);

	/* As root, no directory from the environment (a user could have set TMPDIR to one of theirs
	 * and swapped the pid file CRIU writes): /tmp, sticky, where nobody else can rename ours. */
	const char *tmp = geteuid() == 0 ? NULL : getenv("TMPDIR");
	char work_dir[PATH_MAX], pidfile[PATH_MAX + 16];
	snprintf(work_dir, sizeof(work_dir), "%s/crac-restore-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(work_dir)) {
		crac_fail(&error, CRAC_EIO, "cannot make a work directory %s: %s", work_dir, strerror(errno));
		return fail_restore(&error);
	}
	snprintf(pidfile, sizeof(pidfile), "%s/restored.pid", work_dir);
	supervise_remove_if_orphaned(work_dir);
	/* CRIU 4.2's unprivileged mode has no lazy pages (kerndat_uffd() leaves userfaultfd to root) */
	if (lazy && (unprivileged || lazy_pages_available() != 0)) {
		const char *why = unprivileged ? "CRIU's unprivileged mode has no lazy pages" : strerror(errno);
		if (o.record) {
			supervise_remove_dir(work_dir);
			crac_fail(&error, CRAC_EUNPRIVILEGED, "recording a working set needs CRIU's lazy pages (%s): record it as root", why);
			return fail_restore(&error);
		}
		char line[320];
		snprintf(line, sizeof(line),
			 "warning: the image's working set is not used (%s): every page is restored first (restore as root to use it)", why);
		report_info(line);
		lazy = 0;
	}
	/* the manifest goes with the image once the supervisor has it: what is reported is kept */
	struct memory_plan memory = { lazy, m->has_working_set, m->working_set_pages, m->lazy_pages };
	struct lazy_pages lazy_pages = { .log_fd = -1 };
	if (lazy && prepare_lazy_pages(&lazy_pages, criu.path, work_dir, o.record, unprivileged, &error) != 0) {
		supervise_remove_dir(work_dir);
		return fail_restore(&error);
	}
	char **criu_argv = criu_arguments(m, criu.path, work_dir, pidfile, unprivileged, lazy);
	/* the page files left to hash: CRIU runs this program at each of its actions, and at
	 * post-restore it waits for their verdict (verify_gate.h) */
	int gated = deferred.count > 0; /* hash_deferred() empties the list */
	static char self[PATH_MAX];
	ssize_t self_len = gated ? readlink("/proc/self/exe", self, sizeof(self) - 1) : 0;
	if (gated && self_len <= 0) {
		/* no path CRIU could run: hashed now, before CRIU starts */
		gated = 0;
		if (hash_deferred(&deferred, image.dir, &error) != 0) {
			supervise_remove_dir(work_dir);
			return fail_restore(&error);
		}
	} else if (gated && criu_argv) {
		self[self_len] = '\0';
		criu_argv = criu_with_action_script(criu_argv, self);
	}
	struct listen_spec listen_specs[LISTEN_SLOTS_MAX];
	for (size_t i = 0; i < m->nlisteners && i < LISTEN_SLOTS_MAX; i++) {
		const struct listener_record *r = &m->listeners[i];
		/* the manifest reader checked each record: this cannot fail */
		listen_spec_of_record(r->host, r->port, r->port_env, r->port_env_value, r->slot, &listen_specs[i]);
	}
	if (!criu_argv || image_on_fd3(&image, &error) != 0) {
		supervise_remove_dir(work_dir);
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
	struct verify_gate gate = { .fifo = -1, .hash_ms = -1 };
	if (gated && verify_gate_open(&gate, &deferred, image.dir, work_dir, &error) != 0) {
		supervise_remove_dir(work_dir);
		return fail_restore(&error);
	}
	int restored_pipe[2];
	int piped = pipe2(restored_pipe, O_CLOEXEC) == 0;
	for (size_t i = 0; piped && i < nrelays; i++)
		piped = relay_open(&relays[i]) == 0;
	if (!piped) {
		supervise_remove_dir(work_dir);
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
		verify_gate_leave(&gate); /* the verdict is crac restore's to give: should it die, the script reads the end */
		relay_install(relays, nrelays);
		supervise_run(criu_argv, pidfile, restored_pipe[1], on_terminal, lazy ? &lazy_pages : NULL);
	}
	if (gated)
		verify_gate_start(&gate);
	if (lazy_pages.log_fd >= 0)
		close(lazy_pages.log_fd); /* the supervisor's, for the server */
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
			/* CRIU resumed the app only after the script's "ok": the verdict is in, and good */
			if (gated && verify_gate_wait(&gate) != 0) {
				kill(supervisor, SIGKILL);
				break;
			}
			memory.lazy &= !notice.eager_instead;
			/* outside a pid namespace the app is our grandchild: remembered, to end it should the supervisor be killed */
			if (!pidns)
				notice.start = proc_start_time(notice.pid);
			report_restored(started, image_pid, pidns, &memory, work_dir, gated ? gate.hash_ms : -1);
			/* CRIU is done: its log and pid file are not needed any more, while the app may run for months */
			supervise_remove_dir(work_dir);
		}
	}
	/* the supervisor may have said so just before it ended (an app that exited at once): its
	 * write end is closed now, so this read ends */
	while (!notice.done)
		read_notice(&notice);
	relay_drain(relays, nrelays);
	if (notice.eager_instead)
		memory.lazy = 0;
	if (notice.pid > 0 && !notice.reported)
		report_restored(started, image_pid, pidns, &memory, work_dir, -1);
	pid_t restored = notice.pid;
	unsigned long long restored_start = notice.start;
	/* a page file that did not verify: CRIU aborted the restore at post-restore, the app never ran */
	if (gated && verify_gate_wait(&gate) != 0) {
		if (restored > 0 && !pidns)
			kill(restored, SIGKILL);
		supervise_remove_dir(work_dir);
		return fail_restore(&gate.error);
	}
	if (restored <= 0) {
		char log[PATH_MAX + 16];
		snprintf(log, sizeof(log), "%s/%s", work_dir, RESTORE_LOG);
		restore_failure(log, dir, &error);
		supervise_remove_dir(work_dir);
		return fail_restore(&error);
	}
	supervise_remove_dir(work_dir);
	/* The supervisor killed: in a pid namespace the app died with it (the kernel ends a namespace
	 * whose pid 1 dies); outside one, nobody else knows the app: it is in the supervisor's
	 * process group with its own children (not on a terminal), or else alone. */
	if (WIFSIGNALED(status) && !pidns) {
		if (!on_terminal)
			kill(-supervisor, SIGKILL);
		else if (restored_start && proc_start_time(restored) == restored_start)
			kill(restored, SIGKILL);
	}
	return exit_code_of(status, 1);
}
