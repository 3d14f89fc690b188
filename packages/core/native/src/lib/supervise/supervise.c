/*
 * supervise.c - the restored app's parent.
 *
 * `criu restore` cannot be it: in the foreground it waits for the restored tree but always
 * exits 0 and blocks (never forwards) signals; with -d the restored root is orphaned when CRIU
 * exits. So the supervisor is a subreaper (PR_SET_CHILD_SUBREAPER: the orphaned root is
 * reparented to it) or pid 1 of a new pid namespace (an implicit subreaper, where the restored
 * process keeps its pid whatever runs on the host, so copies of one image never race for it).
 * It forks and execs CRIU with the given argv (stdio and every other fd inherited unchanged),
 * waits for it, reads the restored root's pid from the pidfile CRIU wrote, forwards the
 * signals of forwarded[] to it (one received before the pid is known is queued and delivered
 * right after), reaps every child (orphaned grandchildren too) until the root exits, and exits
 * with its exit code, or 128+signal; 125 if the restore failed (CRIU could not be run or exited
 * non-zero: the details are in CRIU's log).
 *
 * No restored app outlives its restore path: the supervisor takes the death of the process
 * that started it (even by SIGKILL) as SUPERVISE_PARENT_DIED: SIGTERM to the app, SIGKILL
 * SUPERVISE_GRACE_SECONDS later. Killed itself, a supervisor in a pid namespace takes the
 * namespace with it (the kernel kills every process of a namespace whose pid 1 dies); a
 * subreaper's caller kills its process group (crac-restore) or the app.
 *
 * Signals are handled synchronously: blocked and taken with sigwaitinfo()/sigtimedwait(), so
 * no work happens in signal handlers. Children restore the original mask before exec.
 */
#define _GNU_SOURCE
#include "supervise/supervise.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/exit_codes.h"
#include "crac/signals.h"
#include "criu/kdat_dir.h"
#include "criu/log.h"
#include "supervise/lazy_pages.h"
#include "supervise/listen_slots.h"
#include "base/write_all.h"


/*
 * The signals meant for the app that reach the supervisor instead (it is the process the user
 * or the supervisor started, and the app's parent). Not caught, each would kill it and leave the
 * app running with nobody to report its exit code: SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1 (Node
 * opens an inspector on it: the app's, never ours, we are not Node), SIGUSR2. Other signals keep
 * their default action.
 */
static const int forwarded[] = FORWARDED_SIGNALS; /* src/protocol/signals.ts */
#define NFORWARDED (sizeof(forwarded) / sizeof(forwarded[0]))

static sigset_t orig_mask; /* mask to restore in exec'd children */
sigset_t supervise_wait_set;


#define msg supervise_msg

static int held_early; /* supervise_hold_signals() ran: orig_mask is the mask from before it */

void supervise_hold_signals(void)
{
	sigset_t set;
	sigemptyset(&set);
	for (size_t i = 0; i < NFORWARDED; i++)
		sigaddset(&set, forwarded[i]);
	if (sigprocmask(SIG_BLOCK, &set, &orig_mask) == 0)
		held_early = 1;
}

int supervise_forwards(int sig)
{
	for (size_t i = 0; i < NFORWARDED; i++)
		if (forwarded[i] == sig)
			return 1;
	return 0;
}

/* Never called in practice (the signals are blocked and fetched synchronously); installed so
 * that no waited signal has SIG_DFL/SIG_IGN semantics, which matters for a pid namespace's init. */
static void noop_handler(int sig)
{
	(void)sig;
}

static void setup_signals(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = noop_handler;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;

	sigemptyset(&supervise_wait_set);
	sigaddset(&supervise_wait_set, SIGCHLD);
	sigaddset(&supervise_wait_set, SUPERVISE_PARENT_DIED);
	for (size_t i = 0; i < NFORWARDED; i++)
		sigaddset(&supervise_wait_set, forwarded[i]);
	if (sigprocmask(SIG_BLOCK, &supervise_wait_set, held_early ? NULL : &orig_mask) != 0) {
		msg("sigprocmask: %s", strerror(errno));
		exit(EXIT_RESTORE_FAILED);
	}
	sigaction(SIGCHLD, &sa, NULL);
	sigaction(SUPERVISE_PARENT_DIED, &sa, NULL);
	for (size_t i = 0; i < NFORWARDED; i++)
		sigaction(forwarded[i], &sa, NULL);
}

/*
 * A random token for this restore, in the handoff (CRAC_SIGNAL_TOKEN) and on every signal the
 * supervisor forwards to the app (sigqueue). The app holds its stop signals until it has read
 * its handoff after CRIU resumed it: one caught there that carries the token is this copy's (a
 * SIGTERM that reached crac restore while CRIU restored), not one of the original's saved in the
 * image, and is delivered (restored/prepare.ts).
 */
static int signal_token;

static void make_signal_token(void)
{
	char value[16];
	while (signal_token == 0)
		if (getrandom(&signal_token, sizeof(signal_token), 0) != (ssize_t)sizeof(signal_token))
			signal_token = (int)(getpid() ^ time(NULL)) | 1;
	snprintf(value, sizeof(value), "%d", signal_token);
	setenv("CRAC_SIGNAL_TOKEN", value, 1);
}

/* A signal to the app, with this restore's token. */
static void forward(pid_t pid, int sig)
{
	union sigval value = { .sival_int = signal_token };
	if (sig == SIGKILL || sigqueue(pid, sig, value) != 0)
		kill(pid, sig);
}

/* The first bytes of a restore handoff; restored/environment.ts reads the same. */
static const char HANDOFF_MAGIC[] = "CRAC-HANDOFF/1";

/*
 * Puts this process's environment (the restoring one), as "CRAC-HANDOFF/1\0" then NAME=value\0
 * entries, into a memfd on fd `target`, read position at 0. CRIU is passed `--inherit-fd
 * fd[N]:<the image's handoff file>`: the restored app finds its restorer's environment on the
 * descriptor it held on that file (PROTOCOL.md, "Restore handoff").
 */
static void write_handoff(int target)
{
	extern char **environ;
	/* not close-on-exec: CRIU inherits it (the memfd may already be `target`) */
	int fd = memfd_create("crac-handoff", 0);
	int ok = fd >= 0 && write_all(fd, HANDOFF_MAGIC, sizeof HANDOFF_MAGIC) == 0;
	for (char **entry = environ; ok && *entry; entry++)
		ok = write_all(fd, *entry, strlen(*entry) + 1) == 0;
	if (!ok || lseek(fd, 0, SEEK_SET) != 0 || (fd != target && dup2(fd, target) != target)) {
		msg("cannot hand the environment over on fd %d: %s", target, strerror(errno));
		exit(EXIT_RESTORE_FAILED);
	}
	if (fd != target)
		close(fd);
}

void supervise_prepare(int handoff_fd)
{
	char why[256];
	if (crac_kdat_dir_prepare(why, sizeof(why)) != 0) {
		msg("%s", why);
		exit(EXIT_RESTORE_FAILED);
	}
	make_signal_token();
	if (handoff_fd >= 0)
		write_handoff(handoff_fd);
	/* After the handoff, so that the app never sees it: CRIU's own cache directory when
	 * unprivileged without $XDG_RUNTIME_DIR (kdat_dir.h). */
	static char kdat_env[96];
	if (crac_user_kdat_env(kdat_env, sizeof(kdat_env)) == 0)
		putenv(kdat_env);
	setup_signals();
}

pid_t supervise_fork(int pidns, int own_session)
{
	if (pidns && unshare(CLONE_NEWPID) != 0) {
		msg("unshare(CLONE_NEWPID): %s", strerror(errno));
		exit(EXIT_RESTORE_FAILED);
	}
	/* Held open by the parent for its whole life (close-on-exec: nobody else has it): the
	 * child sees POLLHUP on its read end if the parent died before the child's
	 * PR_SET_PDEATHSIG took effect. */
	int alive[2];
	if (pipe2(alive, O_CLOEXEC) != 0) {
		msg("pipe2: %s", strerror(errno));
		exit(EXIT_RESTORE_FAILED);
	}
	pid_t child = fork();
	if (child < 0) {
		msg("fork%s: %s", pidns ? " into the new pid namespace" : "", strerror(errno));
		exit(EXIT_RESTORE_FAILED);
	}
	if (child > 0) {
		close(alive[0]);
		return child;
	}
	close(alive[1]);
	/* The caller's death (even by SIGKILL) reaches us, also as pid 1 of a namespace: it comes
	 * from an ancestor namespace, and we handle the signal. */
	if (prctl(PR_SET_PDEATHSIG, SUPERVISE_PARENT_DIED, 0, 0, 0) != 0) {
		msg("prctl(PR_SET_PDEATHSIG): %s", strerror(errno));
		exit(EXIT_RESTORE_FAILED);
	}
	struct pollfd parent = { .fd = alive[0], .events = POLLIN };
	if (poll(&parent, 1, 0) != 0) /* POLLHUP: the parent is already gone */
		_exit(128 + SIGKILL);
	close(alive[0]);
	if (pidns) {
		/* CRIU needs a /proc that matches its pid namespace (it reads /proc/<pid>/... of
		 * helpers it forks; with the host's /proc the restore fails in kerndat: "vdso: Can't
		 * find rt vDSO"). Mount a fresh one in a private mount namespace; MS_SLAVE keeps
		 * receiving host mounts. */
		if (unshare(CLONE_NEWNS) != 0) {
			msg("unshare(CLONE_NEWNS): %s", strerror(errno));
			exit(EXIT_RESTORE_FAILED);
		}
		if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) != 0) {
			msg("mount(/, MS_REC|MS_SLAVE): %s", strerror(errno));
			exit(EXIT_RESTORE_FAILED);
		}
		if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) != 0) {
			msg("mount proc on /proc: %s", strerror(errno));
			exit(EXIT_RESTORE_FAILED);
		}
		/* Own session inside the namespace: otherwise the restored process's session leader
		 * is outside its pid namespace (getsid() = 0) and it cannot checkpoint itself again
		 * ("A session leader of N(N) is outside of its pid namespace"). With --shell-job
		 * CRIU puts the restored root into CRIU's session, i.e. this one. (A TTY stdio cannot
		 * be restored in a pid namespace either way: CRIU's tty restore fails.) */
		own_session = 1;
	} else if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0) {
		msg("prctl(PR_SET_CHILD_SUBREAPER): %s", strerror(errno));
		exit(EXIT_RESTORE_FAILED);
	}
	/* What is sent to the caller's process group (a terminal's Ctrl-C, kill -INT -PGID) then
	 * reaches the caller only, which forwards it once: CRIU puts the app (--shell-job) in our
	 * session and process group. */
	if (own_session && setsid() < 0) {
		msg("setsid: %s", strerror(errno));
		exit(EXIT_RESTORE_FAILED);
	}
	return 0;
}

/* Reads a decimal pid from FILE; -1 on any error (errno-ish reason in *why). */
static pid_t read_pidfile(const char *path, const char **why)
{
	char buf[32];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		*why = strerror(errno);
		return -1;
	}
	ssize_t n = TEMP_FAILURE_RETRY(read(fd, buf, sizeof(buf) - 1));
	int e = errno;
	close(fd);
	if (n < 0) {
		*why = strerror(e);
		return -1;
	}
	buf[n] = '\0';
	char *end;
	errno = 0;
	long v = strtol(buf, &end, 10);
	while (*end == '\n' || *end == ' ' || *end == '\t')
		end++;
	if (end == buf || *end != '\0' || errno != 0 || v <= 0 || v > 0x3fffffffL) {
		*why = "not a pid";
		return -1;
	}
	return (pid_t)v;
}

/*
 * Exits with the restored root's exit status. A death by a signal that nobody sent to stop it
 * is said, as a shell says "Killed": otherwise only the exit code (128 + n) would tell.
 */
static void __attribute__((noreturn)) exit_as(int status, struct lazy_pages *lazy)
{
	if (lazy)
		lazy_pages_stop(lazy); /* nothing left to serve */
	if (WIFSIGNALED(status)) {
		int sig = WTERMSIG(status);
		if (sig != SIGINT && sig != SIGTERM && sig != SIGPIPE)
			msg("the restored process was killed by signal %d (%s)", sig, strsignal(sig));
	}
	exit(exit_code_of(status, EXIT_RESTORE_FAILED));
}

static void notify_restored(int *fd, pid_t root, int eager_instead)
{
	if (*fd < 0)
		return;
	char line[24];
	int n = snprintf(line, sizeof(line), "%d%s\n", (int)root, eager_instead ? " eager" : "");
	(void)write_all(*fd, line, (size_t)n);
	close(*fd);
	*fd = -1;
}

/* The last error lines of a CRIU log open on `fd`. */
static void log_errors(int fd)
{
	char log[48];
	snprintf(log, sizeof(log), "/proc/self/fd/%d", fd);
	struct criu_log_errors errors = criu_log_errors(log);
	for (size_t i = errors.count > 5 ? errors.count - 5 : 0; i < errors.count; i++)
		msg("  %s", errors.lines[i]);
	criu_log_errors_free(&errors);
}

/* CRIU's arguments without --lazy-pages: 1, or 0 when it was not there. */
static int without_lazy_pages(char **argv)
{
	for (char **arg = argv; *arg; arg++) {
		if (strcmp(*arg, "--lazy-pages") != 0)
			continue;
		for (; *arg; arg++)
			arg[0] = arg[1];
		return 1;
	}
	return 0;
}

/*
 * The lazy-pages server ended before the app had all its memory: the pages not yet in would read as
 * zeros. The app is killed, and CRIU should it still run; in a pid namespace our exit ends every
 * process in it, outside one what the app started is in our process group (in our own session),
 * which is killed with us.
 */
static void __attribute__((noreturn)) memory_lost(int status, pid_t criu, int criu_done, pid_t root, struct lazy_pages *lazy)
{
	if (WIFSIGNALED(status))
		msg("the lazy-pages server was killed by signal %d before the app had all its memory: stopping the app",
		    WTERMSIG(status));
	else
		msg("the lazy-pages server failed (exit code %d) before the app had all its memory: stopping the app "
		    "(restore with --memory eager to load every page first)",
		    WEXITSTATUS(status));
	if (root > 0)
		kill(root, SIGKILL);
	if (!criu_done)
		kill(criu, SIGKILL);
	lazy_pages_stop(lazy);
	log_errors(lazy->log_fd);
	/* our process group is the app's only in a session of our own (not for an image on a terminal:
	 * then it is crac restore's, and its caller's job) */
	if (getpid() != 1 && getsid(0) == getpid())
		kill(0, SIGKILL);
	exit(EXIT_RESTORE_FAILED);
}

void supervise_remove_dir(const char *dir)
{
	DIR *d = opendir(dir);
	if (d) {
		struct dirent *e;
		while ((e = readdir(d))) {
			if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
				continue;
			if (unlinkat(dirfd(d), e->d_name, 0) != 0 && errno == EISDIR) {
				char sub[PATH_MAX];
				snprintf(sub, sizeof(sub), "%s/%s", dir, e->d_name);
				supervise_remove_dir(sub);
			}
		}
		closedir(d);
	}
	rmdir(dir);
}

/* A work directory its maker removes, or we do should it die first (supervise_remove_if_orphaned). */
static char work_dir[PATH_MAX];

void supervise_remove_if_orphaned(const char *dir)
{
	snprintf(work_dir, sizeof(work_dir), "%s", dir);
}

/* At our exit after crac restore died (killed before it could clean up): its work directory,
 * while still ours alone (a name in /tmp that someone else took since is left alone). */
static void remove_orphaned_work_dir(void)
{
	struct stat st;
	if (work_dir[0] && lstat(work_dir, &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == geteuid() && (st.st_mode & 077) == 0)
		supervise_remove_dir(work_dir);
}

/* Exits with `code`, the lazy-pages server stopped first: no process of ours outlives us. */
static void __attribute__((noreturn)) leave(int code, struct lazy_pages *lazy)
{
	if (lazy)
		lazy_pages_stop(lazy);
	exit(code);
}

/*
 * CRIU moves every --inherit-fd descriptor into its fdstore, closing it, and then (--shell-job)
 * puts its own stdin there too. An app checkpointed with a pipe or a file on stdin (`cmd | crac
 * checkpoint`, a container build's RUN step, `< file`) inherits ours on fd 0, which CRIU has
 * closed by then ("Can't send fd 0 into store: Bad file descriptor"): it gets a copy of our stdin
 * on another descriptor instead. In CRIU's child only, just before it runs.
 */
static void inherit_stdin_elsewhere(char **argv)
{
	for (char **arg = argv; arg[0] && arg[1]; arg++) {
		if (strcmp(arg[0], "--inherit-fd") != 0 || strncmp(arg[1], "fd[0]:", 6) != 0)
			continue;
		int copy = fcntl(STDIN_FILENO, F_DUPFD, 10); /* inheritable */
		char *moved;
		if (copy >= 0 && asprintf(&moved, "fd[%d]:%s", copy, arg[1] + 6) >= 0)
			arg[1] = moved;
	}
}

void supervise_run(char **criu_argv, const char *pidfile, int restored_fd, int tty_shared, struct lazy_pages *lazy)
{
	/* Children that exit before the root's pid is known (the root itself may exit right
	 * after CRIU, before we read the pidfile). */
	enum { MAX_EARLY = 64, MAX_QUEUED = 32 };
	struct { pid_t pid; int status; } early[MAX_EARLY];
	unsigned nearly = 0;
	int queued[MAX_QUEUED];
	unsigned nqueued = 0;

	int eager_instead = 0; /* the lazy-pages server did not start: restored eagerly */
	if (lazy) {
		char why[256];
		if (lazy_pages_start(lazy, why, sizeof(why)) != 0) {
			log_errors(lazy->log_fd);
			if (lazy->relay_socket || !without_lazy_pages(criu_argv)) {
				msg("%s", why);
				exit(EXIT_RESTORE_FAILED);
			}
			/* nothing is restored yet: the app is, eagerly */
			msg("warning: %s: every page is restored first", why);
			lazy = NULL;
			eager_instead = 1;
		}
	}
	pid_t criu = fork();
	if (criu < 0) {
		msg("fork: %s", strerror(errno));
		leave(EXIT_RESTORE_FAILED, lazy);
	}
	if (criu == 0) {
		if (restored_fd >= 0)
			close(restored_fd);
		sigprocmask(SIG_SETMASK, &orig_mask, NULL);
		signal(SIGPIPE, SIG_DFL); /* ignored by crac-restore (its output's reader may go away): not CRIU's concern */
		unsetenv("CRIU_CONFIG_FILE"); /* CRIU is ours to configure (the handoff kept the app's copy) */
		inherit_stdin_elsewhere(criu_argv);
		execv(criu_argv[0], criu_argv);
		msg("cannot execute %s: %s", criu_argv[0], strerror(errno));
		_exit(EXIT_EXEC_FAILED);
	}

	int criu_done = 0, criu_status = 0;
	pid_t root = -1;
	struct timespec kill_at = { 0, 0 }; /* after the caller died: when the app is killed */
	for (;;) {
		/* reap everything that has exited */
		for (;;) {
			int st;
			pid_t p = waitpid(-1, &st, WNOHANG);
			if (p == 0)
				break;
			if (p < 0) {
				if (errno == EINTR)
					continue;
				if (errno == ECHILD && root > 0) {
					/* the root is not our child: cannot happen unless CRIU changed how it detaches */
					msg("restored process %d is not a child of the supervisor", (int)root);
					leave(EXIT_RESTORE_FAILED, lazy);
				}
				break;
			}
			if (lazy && p == lazy->server) {
				lazy->server = 0;
				if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
					memory_lost(st, criu, criu_done, root, lazy);
				continue; /* every page is in */
			}
			if (lazy && p == lazy->relay) {
				lazy->relay = 0; /* the server fails without it, and says so */
				continue;
			}
			if (p == criu) {
				criu_done = 1;
				criu_status = st;
				/* the app holds the listening sockets bound for it now (or the restore failed):
				 * nothing else may keep them listening (a server the app closes must refuse) */
				listen_slots_close();
			} else if (root > 0) {
				if (p == root)
					exit_as(st, lazy);
			} else {
				early[nearly % MAX_EARLY].pid = p;
				early[nearly % MAX_EARLY].status = st;
				nearly++;
			}
		}

		if (root < 0 && criu_done) {
			if (!WIFEXITED(criu_status) || WEXITSTATUS(criu_status) != 0) {
				/* with restored_fd, crac-restore says why from CRIU's log or the gate: a line of
				 * ours would only come first and say less */
				if (restored_fd < 0 && WIFSIGNALED(criu_status))
					msg("criu restore failed (killed by signal %d)", WTERMSIG(criu_status));
				else if (restored_fd < 0 && WEXITSTATUS(criu_status) != EXIT_EXEC_FAILED) /* already said */
					msg("criu restore failed (exit code %d)", WEXITSTATUS(criu_status));
				leave(EXIT_RESTORE_FAILED, lazy);
			}
			const char *why = "";
			root = read_pidfile(pidfile, &why);
			if (root < 0) {
				msg("criu succeeded but the pidfile %s is unreadable: %s", pidfile, why);
				leave(EXIT_RESTORE_FAILED, lazy);
			}
			notify_restored(&restored_fd, root, eager_instead);
			unsigned n = nearly < MAX_EARLY ? nearly : MAX_EARLY;
			for (unsigned i = 0; i < n; i++)
				if (early[i].pid == root)
					exit_as(early[i].status, lazy);
			for (unsigned i = 0; i < nqueued; i++)
				forward(root, queued[i]);
			nqueued = 0;
			continue; /* re-check children: ECHILD now means an error */
		}

		siginfo_t si;
		int s;
		if (kill_at.tv_sec) {
			struct timespec now, left;
			clock_gettime(CLOCK_MONOTONIC, &now);
			left.tv_sec = kill_at.tv_sec - now.tv_sec;
			left.tv_nsec = kill_at.tv_nsec - now.tv_nsec;
			if (left.tv_nsec < 0)
				left.tv_sec--, left.tv_nsec += 1000000000L;
			if (left.tv_sec < 0) {
				/* the grace is over: as pid 1 our exit kills the namespace; a subreaper kills the app */
				msg("the app did not stop within %d s of its restorer's death: killing it", SUPERVISE_GRACE_SECONDS);
				if (root > 0)
					kill(root, SIGKILL);
				leave(128 + SIGKILL, lazy);
			}
			s = sigtimedwait(&supervise_wait_set, &si, &left);
		} else {
			s = sigwaitinfo(&supervise_wait_set, &si);
		}
		if (s < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			msg("sigwaitinfo: %s", strerror(errno));
			leave(EXIT_RESTORE_FAILED, lazy);
		}
		if (s == SIGCHLD)
			continue;
		if (s == SUPERVISE_PARENT_DIED) {
			/* the restore path above us is gone: stop the app, as a SIGTERM would */
			if (!kill_at.tv_sec) {
				atexit(remove_orphaned_work_dir);
				clock_gettime(CLOCK_MONOTONIC, &kill_at);
				kill_at.tv_sec += SUPERVISE_GRACE_SECONDS;
			}
			s = SIGTERM;
		} else if (tty_shared && si.si_code == SI_KERNEL) {
			continue; /* the terminal sent it to its foreground group: the app has it already */
		}
		if (root > 0)
			forward(root, s);
		else if (nqueued < MAX_QUEUED)
			queued[nqueued++] = s;
	}
}
