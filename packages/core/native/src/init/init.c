/*
 * crac-init - restore supervisor: stays the parent of a process restored by
 * CRIU, forwards signals to it and exits with its exit status.
 *
 *   crac-init [--pidns] [--handoff-fd N] [--listen SPEC]... --pidfile FILE -- <criu-path> restore -d [criu args...]
 *
 * `criu restore` cannot do this itself: in the foreground it waits for the
 * restored tree but always exits 0 and blocks (never forwards) signals; with
 * -d the restored root is orphaned when CRIU exits.
 *
 * Without --pidns: PR_SET_CHILD_SUBREAPER, so the restored root (orphaned
 * when the detached CRIU exits) is reparented to us.
 * With --pidns: unshare(CLONE_NEWPID) and fork; the child is pid 1 of the new
 * pid namespace (an implicit subreaper) and does the same as above; the
 * parent forwards signals to it and exits with its status. The restored
 * process keeps its pid inside the namespace whatever runs on the host, so
 * copies of one image never race for it.
 *
 * No restored app outlives its restore path: the supervisor takes the death
 * of its parent (even SIGKILLed) as a SIGTERM for the app, and kills it if it
 * still runs 10 s later (supervise.c); with --pidns, crac-init outside exits
 * when its parent dies, and pid 1 does the same on crac-init's death.
 * (Without --pidns, crac-init killed leaves the app to its caller.)
 *
 * crac restore does not run this program: crac-restore (restore.c) verifies
 * the image and runs the same supervision (supervise.c) itself. crac-init is
 * the restore path without verification, for the benchmark's floor and for
 * restorers of their own (PROTOCOL.md).
 *
 * Unprivileged (not root, or a container's root), a CRIU that lacks a capability CRIU's
 * unprivileged mode needs is refused first (CRAC_ECRIU_CAPS, exit 125): it would hang.
 *
 * Before CRIU runs, the directory of CRIU's kernel-probe cache is made ours
 * (kdat_dir.h): CRIU loads the cache from it unchecked. Unprivileged, without
 * $XDG_RUNTIME_DIR, CRIU is given a cache directory of the user's own.
 *
 * With --handoff-fd N: crac-init's own environment (the restoring one) is
 * written into a memfd, as "CRAC-HANDOFF/1\0" then NAME=value\0 entries, and
 * the memfd put on fd N, read position at 0. The caller passes CRIU
 * `--inherit-fd fd[N]:<the image's handoff file>`: the restored app finds its
 * restorer's environment on the descriptor it held on that file (see
 * PROTOCOL.md, "Restore handoff").
 *
 * With --listen SPEC (repeatable; as systemd's socket activation): before CRIU runs, crac-init
 * binds and listens on a TCP socket for the app, so that a client connecting while the restore
 * runs waits in the backlog instead of being refused, and CRIU puts that socket in place of the
 * descriptor the app held on the slot file (crac-init appends `--inherit-fd fd[K]:<slot>` to
 * CRIU's arguments; listen_slots.c, shared with crac-restore, which binds the manifest's
 * `listeners` the same way). SPEC is comma-separated key=value fields, `slot` last (its value is
 * the rest of the argument):
 *   host=ADDRESS      numeric IPv4 or IPv6 address the app listened on ("::" included)
 *   port=N            the port it listened on (1-65535)
 *   env=NAME          optional: the variable that names the port after a restore
 *   was=VALUE         optional, with env: its value at the checkpoint (absent: it was unset)
 *   slot=PATH         the slot file (absolute, as named at the dump: the manifest's `slot`)
 * The port is N, unless env=NAME is given and crac-init's environment (the restoring one, the
 * one it hands over) sets NAME to something other than VALUE: then NAME's value, which must be a
 * decimal port number 1-65535 (else nothing is bound). The same rule as the app's server
 * (packages/core/src/http/server-resource.ts); the caller passes env only for a server that
 * follows the variable (its checkpoint port was VALUE's, or VALUE was unset). The socket gets
 * SO_REUSEADDR (as Node's listeners) and a backlog of 511; crac-init closes its own descriptor
 * once CRIU has exited (the app holds the socket then). When it cannot be bound (the port is
 * taken...), nothing is said and CRIU gets /dev/null in the slot's place (it could not open
 * the slot file by its dump-time name): the app finds no socket there, listens itself and reports
 * the failure in its own words. The app checks the socket's address before it uses it.
 *
 * Then: fork+exec CRIU with the given argv (stdio and every other fd are
 * inherited unchanged: nothing is closed), wait for it, read the restored
 * root's pid from FILE (written by CRIU's --pidfile; the caller must pass the
 * same FILE to CRIU), forward the signals of forwarded[] to it (a signal
 * received before the pid is known is queued and delivered right after),
 * reap every child (orphaned grandchildren too) until the root exits.
 *
 * Exit status: the restored root's exit code, or 128+signal if it was killed
 * by a signal; 125 if the restore failed (CRIU could not be run or exited
 * non-zero: the details are in CRIU's log), the pidfile is unreadable, or
 * crac-init itself could not set up (fork, unshare...); 2 on usage errors.
 * Messages go to stderr, prefixed "crac-init: ", only on errors.
 *
 * Signals are handled synchronously: they are blocked and taken with
 * sigwaitinfo() in the main loop, so no work happens in signal handlers.
 * Children restore the original signal mask before exec.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/crac_error.h"
#include "base/exit_codes.h"
#include "criu/capabilities.h"
#include "supervise/listen_slots.h"
#include "supervise/supervise.h"

static void usage(void)
{
	supervise_msg("usage: crac-init [--pidns] [--handoff-fd N] [--listen SPEC]... --pidfile FILE -- <criu-path> restore -d [criu args...]");
	exit(EXIT_USAGE);
}

/* --pidns: this process stays outside, forwards signals to the namespace's pid 1 and exits with its status. */
static void __attribute__((noreturn)) forward_to(pid_t child)
{
	for (;;) {
		int st;
		pid_t p = waitpid(child, &st, WNOHANG);
		if (p == child)
			exit(exit_code_of(st, EXIT_RESTORE_FAILED));
		if (p < 0 && errno != EINTR) {
			supervise_msg("waitpid: %s", strerror(errno));
			exit(EXIT_RESTORE_FAILED);
		}
		siginfo_t si;
		int s = sigwaitinfo(&supervise_wait_set, &si);
		if (s == SUPERVISE_PARENT_DIED)
			exit(EXIT_RESTORE_FAILED); /* pid 1 takes our death as its parent's */
		if (s > 0 && s != SIGCHLD)
			kill(child, s);
	}
}

int main(int argc, char **argv)
{
	struct listen_spec listens[LISTEN_SLOTS_MAX];
	int nlistens = 0;
	int pidns = 0;
	int handoff_fd = -1;
	const char *pidfile = NULL;
	int i = 1;
	for (; i < argc; i++) {
		if (strcmp(argv[i], "--pidns") == 0) {
			pidns = 1;
		} else if (strcmp(argv[i], "--handoff-fd") == 0 && i + 1 < argc) {
			char *end;
			long n = strtol(argv[++i], &end, 10);
			if (*end || n < 3 || n > 1023)
				usage();
			handoff_fd = (int)n;
		} else if (strcmp(argv[i], "--listen") == 0 && i + 1 < argc) {
			if (nlistens == LISTEN_SLOTS_MAX || listen_spec_parse(argv[++i], &listens[nlistens]) != 0)
				usage();
			nlistens++;
		} else if (strcmp(argv[i], "--pidfile") == 0 && i + 1 < argc) {
			pidfile = argv[++i];
		} else if (strncmp(argv[i], "--pidfile=", 10) == 0) {
			pidfile = argv[i] + 10;
		} else if (strcmp(argv[i], "--") == 0) {
			i++;
			break;
		} else {
			usage();
		}
	}
	if (!pidfile || !*pidfile || i >= argc || argv[i][0] != '/')
		usage();
	char **criu_argv = argv + i;

	/* Unprivileged, CRIU without the capabilities it needs hangs mid-restore rather than fail (as
	 * crac-restore does): refused before it starts, with the code and the fix. */
	struct crac_error error;
	if (criu_runs_unprivileged() && assert_criu_capabilities(criu_argv[0], &error) != 0) {
		fprintf(stderr, "crac-init: error [%s] %s\n", error.code, error.message);
		return EXIT_RESTORE_FAILED;
	}
	supervise_prepare(handoff_fd);
	/* After the handoff (it takes its fd number first); before CRIU: clients wait from now on. */
	if (nlistens > 0)
		criu_argv = listen_slots_bind(criu_argv, listens, nlistens);
	/* Our caller may die without a word (SIGKILL): taken as SUPERVISE_PARENT_DIED. Set before
	 * the --pidns fork, so it stays with the process outside the namespace. */
	pid_t caller = getppid();
	if (prctl(PR_SET_PDEATHSIG, SUPERVISE_PARENT_DIED, 0, 0, 0) != 0)
		supervise_msg("prctl(PR_SET_PDEATHSIG): %s (a killed caller would leave the app running)", strerror(errno));
	else if (getppid() != caller)
		raise(SUPERVISE_PARENT_DIED);
	if (pidns) {
		pid_t child = supervise_fork(1, 1);
		if (child > 0) {
			listen_slots_close(); /* pid 1 has them */
			forward_to(child);
		}
	} else if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0) {
		supervise_msg("prctl(PR_SET_CHILD_SUBREAPER): %s", strerror(errno));
		exit(EXIT_RESTORE_FAILED);
	}
	supervise_run(criu_argv, pidfile, -1, 0, NULL);
}
