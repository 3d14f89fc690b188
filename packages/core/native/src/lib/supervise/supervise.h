/*
 * supervise.h - the restore supervision shared by crac-init and crac-restore: the restored app's
 * parent (a subreaper, or pid 1 of a new pid namespace) that runs `criu restore -d`, forwards
 * signals to the app, reaps it and exits with its exit status. See supervise.c.
 */
#ifndef CRAC_SUPERVISE_H
#define CRAC_SUPERVISE_H

#include <signal.h>
#include <sys/types.h>

#include "base/exit_codes.h" /* EXIT_RESTORE_FAILED: the runner failed, not the app (as docker run's 125) */
#include "supervise/lazy_pages.h"
#include "supervise/messages.h"

/*
 * Before anything forks: CRIU's kernel-probe cache directory made ours (kdat_dir.h), the
 * restoring environment handed over on `handoff_fd` (-1: none), and the signals the app is meant
 * to get blocked (taken with sigwaitinfo/signalfd, never by handlers). Exits 125 on failure.
 */
void supervise_prepare(int handoff_fd);

/*
 * Holds the signals meant for the app from the first instruction on (blocked, not lost): one sent
 * while the image is verified, before supervise_prepare(), is forwarded once the app is back. The
 * children still start with the mask from before.
 */
void supervise_hold_signals(void);

/* The set supervise_prepare() blocked: the forwarded signals, SIGCHLD and SUPERVISE_PARENT_DIED. */
extern sigset_t supervise_wait_set;

/*
 * Sent to a supervisor by the kernel when the process that started it dies (PR_SET_PDEATHSIG),
 * SIGKILL included: the app is asked to stop (SIGTERM), and killed if it still runs
 * SUPERVISE_GRACE_SECONDS later. Nothing else sends it.
 */
#define SUPERVISE_PARENT_DIED (SIGRTMIN + 2)
#define SUPERVISE_GRACE_SECONDS 10

/* Whether `sig` is one the app is meant to get (forwarded). */
int supervise_forwards(int sig);

/*
 * Forks the supervisor: with `pidns`, into a new pid namespace (it is pid 1 there, with a /proc
 * of its own, in a session of its own); else a subreaper, in a session of its own when
 * `own_session`. It gets SUPERVISE_PARENT_DIED when the caller dies. Returns the child's pid in
 * the caller, 0 in the child; exits 125 on failure.
 */
pid_t supervise_fork(int pidns, int own_session);

/*
 * In the supervisor: runs CRIU (`criu_argv`, which writes the restored root's pid into
 * `pidfile`), then supervises the root until it exits, and exits with its status. When
 * `restored_fd` >= 0, "<pid>\n" is written to it once CRIU restored the app ("<pid> eager\n" when the
 * lazy-pages server did not start and the app was restored eagerly instead), then it is closed.
 * `tty_shared`: the app shares the caller's terminal and gets its signals itself (signals the
 * kernel sends, SI_KERNEL, are then not forwarded again). `lazy`: NULL, or the lazy-pages server
 * of a working-set restore (CRIU runs with --lazy-pages), started first and stopped last; should it
 * end before every page is in, the app is killed (lazy_pages.h). Never returns.
 */
void supervise_run(char **criu_argv, const char *pidfile, int restored_fd, int tty_shared, struct lazy_pages *lazy)
	__attribute__((noreturn));

/* Removes the directory `dir` and what is in it (CRIU's work directory: its log, pid file, one
 * level of subdirectories for the lazy-pages server's). */
void supervise_remove_dir(const char *dir);
/* `dir` (crac restore's private work directory) is removed by the supervisor at its exit should
 * crac restore die first (SIGKILL: nothing else would), if it is still ours alone then. */
void supervise_remove_if_orphaned(const char *dir);

#endif
