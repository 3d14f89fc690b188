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
 * No restored app outlives its restore path: crac-init takes its parent's
 * death (crac restore, even SIGKILLed) as a SIGTERM for the app
 * (PR_SET_PDEATHSIG); with --pidns, pid 1 dies with crac-init outside
 * (PR_SET_PDEATHSIG SIGKILL), and the kernel kills the namespace with it.
 * (Without --pidns, crac-init killed leaves the app to its caller, which
 * knows its pid: crac restore then kills it.)
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
 * CRIU's arguments). SPEC is comma-separated key=value fields, `slot` last (its value is the rest
 * of the argument):
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
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "exit_codes.h"
#include "kdat_dir.h"

/* "The restore did not happen": the runner failed, not the app (as docker run's 125). */
#define EXIT_RESTORE_FAILED 125

/*
 * The signals meant for the app that reach crac-init instead (it is the
 * process the user or the supervisor started, and the app's parent). Not
 * caught, each would kill crac-init and leave the app running with nobody to
 * report its exit code. Other signals keep their default action here.
 */
static const int forwarded[] = {
	SIGINT,  /* Ctrl-C or kill -INT: stop */
	SIGTERM, /* the usual stop request (kill, systemd, docker stop); also how a
	          * dying crac restore reaches us (PR_SET_PDEATHSIG) */
	SIGHUP,  /* the terminal went away; by convention also "reload" */
	SIGQUIT, /* Ctrl-\ */
	SIGUSR1, /* Node: open the inspector */
	SIGUSR2, /* the app's own (e.g. --heapsnapshot-signal) */
};
#define NFORWARDED (sizeof(forwarded) / sizeof(forwarded[0]))

static sigset_t orig_mask; /* mask to restore in exec'd children */
static sigset_t wait_set;  /* forwarded signals + SIGCHLD, blocked */

/* --listen: at most this many (one per server of the app). */
#define MAX_LISTEN 64
/* Node's default backlog; the app sets its own when it takes the socket over. */
#define LISTEN_BACKLOG 511
/* Where the bound sockets go: above the descriptors the restore uses (stdio, 3, the handoff). */
#define LISTEN_FD_MIN 10

/* The sockets bound for --listen: closed once CRIU is done (the app has its own then), so that
 * nothing but the app keeps them listening (a server the app closes must refuse, not hang). */
static int bound[MAX_LISTEN];
static int nbound;

static void close_listeners(void)
{
	for (int i = 0; i < nbound; i++)
		close(bound[i]);
	nbound = 0;
}


static void msg(const char *fmt, ...)
{
	char buf[512];
	int n = snprintf(buf, sizeof(buf), "crac-init: ");
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf + n, sizeof(buf) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	size_t len = strlen(buf);
	buf[len++] = '\n';
	(void)!write(2, buf, len);
}

static void usage(void)
{
	msg("usage: crac-init [--pidns] [--handoff-fd N] [--listen SPEC]... --pidfile FILE -- <criu-path> restore -d [criu args...]");
	exit(EXIT_USAGE);
}

/* Never called in practice (the signals are blocked and fetched with
 * sigwaitinfo); installed so that no forwarded signal has SIG_DFL/SIG_IGN
 * semantics, which matters for a pid namespace's init. */
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

	sigemptyset(&wait_set);
	sigaddset(&wait_set, SIGCHLD);
	for (size_t i = 0; i < NFORWARDED; i++)
		sigaddset(&wait_set, forwarded[i]);
	if (sigprocmask(SIG_BLOCK, &wait_set, &orig_mask) != 0) {
		msg("sigprocmask: %s", strerror(errno));
		exit(EXIT_RESTORE_FAILED);
	}
	sigaction(SIGCHLD, &sa, NULL);
	for (size_t i = 0; i < NFORWARDED; i++)
		sigaction(forwarded[i], &sa, NULL);
}

/* In a forked child, before exec: handlers are reset by exec, the mask is not. */
static void child_restore_signals(void)
{
	sigprocmask(SIG_SETMASK, &orig_mask, NULL);
}

static int wait_signal(void)
{
	for (;;) {
		siginfo_t si;
		int s = sigwaitinfo(&wait_set, &si);
		if (s > 0)
			return s;
		if (errno != EINTR) {
			msg("sigwaitinfo: %s", strerror(errno));
			exit(EXIT_RESTORE_FAILED);
		}
	}
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
static void __attribute__((noreturn)) exit_as(int status)
{
	if (WIFSIGNALED(status)) {
		int sig = WTERMSIG(status);
		if (sig != SIGINT && sig != SIGTERM && sig != SIGPIPE)
			msg("the restored process was killed by signal %d (%s)", sig, strsignal(sig));
	}
	exit(exit_code_of(status, EXIT_RESTORE_FAILED));
}

/*
 * Runs CRIU, then supervises the restored root. Never returns.
 * We are a subreaper (or a pid namespace's init) here.
 */
static void supervise(char **criu_argv, const char *pidfile)
{
	/* Children that exit before the root's pid is known (the root itself
	 * may exit right after CRIU, before we read the pidfile). */
	enum { MAX_EARLY = 64, MAX_QUEUED = 32 };
	struct { pid_t pid; int status; } early[MAX_EARLY];
	unsigned nearly = 0;
	int queued[MAX_QUEUED];
	unsigned nqueued = 0;

	pid_t criu = fork();
	if (criu < 0) {
		msg("fork: %s", strerror(errno));
		exit(EXIT_RESTORE_FAILED);
	}
	if (criu == 0) {
		child_restore_signals();
		execv(criu_argv[0], criu_argv);
		msg("cannot execute %s: %s", criu_argv[0], strerror(errno));
		_exit(EXIT_EXEC_FAILED);
	}

	int criu_done = 0, criu_status = 0;
	pid_t root = -1;
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
					/* the root is not our child: cannot happen unless
					 * CRIU changed how it detaches */
					msg("restored process %d is not a child of crac-init", (int)root);
					exit(EXIT_RESTORE_FAILED);
				}
				break;
			}
			if (p == criu) {
				criu_done = 1;
				criu_status = st;
				close_listeners();
			} else if (root > 0) {
				if (p == root)
					exit_as(st);
			} else {
				early[nearly % MAX_EARLY].pid = p;
				early[nearly % MAX_EARLY].status = st;
				nearly++;
			}
		}

		if (root < 0 && criu_done) {
			if (!WIFEXITED(criu_status) || WEXITSTATUS(criu_status) != 0) {
				if (WIFSIGNALED(criu_status))
					msg("criu restore failed (killed by signal %d)", WTERMSIG(criu_status));
				else if (WEXITSTATUS(criu_status) != EXIT_EXEC_FAILED) /* already said */
					msg("criu restore failed (exit code %d)", WEXITSTATUS(criu_status));
				exit(EXIT_RESTORE_FAILED);
			}
			const char *why = "";
			root = read_pidfile(pidfile, &why);
			if (root < 0) {
				msg("criu succeeded but the pidfile %s is unreadable: %s", pidfile, why);
				exit(EXIT_RESTORE_FAILED);
			}
			unsigned n = nearly < MAX_EARLY ? nearly : MAX_EARLY;
			for (unsigned i = 0; i < n; i++)
				if (early[i].pid == root)
					exit_as(early[i].status);
			for (unsigned i = 0; i < nqueued; i++)
				kill(root, queued[i]);
			nqueued = 0;
			continue; /* re-check children: ECHILD now means an error */
		}

		int s = wait_signal();
		if (s == SIGCHLD)
			continue;
		if (root > 0)
			kill(root, s);
		else if (nqueued < MAX_QUEUED)
			queued[nqueued++] = s;
	}
}

/*
 * --pidns: the caller stays outside, forwards signals to the namespace's
 * init and exits with its status. Returns only in the child (pid 1).
 */
static void enter_pidns(void)
{
	if (unshare(CLONE_NEWPID) != 0) {
		msg("unshare(CLONE_NEWPID): %s", strerror(errno));
		exit(EXIT_RESTORE_FAILED);
	}
	/* Held open by the parent for its whole life (close-on-exec: nobody else
	 * has it): the child sees POLLHUP on its read end if the parent died
	 * before the child's PR_SET_PDEATHSIG took effect. */
	int alive[2];
	if (pipe2(alive, O_CLOEXEC) != 0) {
		msg("pipe2: %s", strerror(errno));
		exit(EXIT_RESTORE_FAILED);
	}
	pid_t child = fork();
	if (child < 0) {
		msg("fork into the new pid namespace: %s", strerror(errno));
		exit(EXIT_RESTORE_FAILED);
	}
	if (child == 0) {
		/* pid 1 of the new namespace, signals still blocked. If crac-init
		 * outside dies (even by SIGKILL), so does pid 1, and with it every
		 * process of the namespace: the restored app never outlives its
		 * restorer. (SIGKILL from the parent's death reaches a namespace's
		 * init: it comes from an ancestor namespace.) */
		close(alive[1]);
		if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0) {
			msg("prctl(PR_SET_PDEATHSIG) in the pid namespace: %s", strerror(errno));
			exit(EXIT_RESTORE_FAILED);
		}
		struct pollfd parent = { .fd = alive[0], .events = POLLIN };
		if (poll(&parent, 1, 0) != 0) /* POLLHUP: the parent is already gone */
			_exit(128 + SIGKILL);
		close(alive[0]);
		/* CRIU needs a
		 * /proc that matches its pid namespace (it reads /proc/<pid>/...
		 * of helpers it forks; with the host's /proc the restore fails in
		 * kerndat: "vdso: Can't find rt vDSO"). Mount a fresh one in a
		 * private mount namespace; MS_SLAVE keeps receiving host mounts. */
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
		/* Own session inside the namespace: otherwise the restored
		 * process's session leader is outside its pid namespace
		 * (getsid() = 0) and it cannot checkpoint itself again ("A
		 * session leader of N(N) is outside of its pid namespace").
		 * With --shell-job CRIU puts the restored root into CRIU's
		 * session, i.e. this one. (A TTY stdio cannot be restored in
		 * --pidns mode either way: CRIU's tty restore fails, with the
		 * setsid ("Failed to set group 1 on 0") and without it, as the
		 * terminal's foreground group is outside the namespace
		 * ("Failed to set group 0 on 0").) */
		if (setsid() < 0) {
			msg("setsid: %s", strerror(errno));
			exit(EXIT_RESTORE_FAILED);
		}
		return;
	}

	close(alive[0]);
	close_listeners(); /* pid 1 has them */
	for (;;) {
		int st;
		pid_t p = waitpid(child, &st, WNOHANG);
		if (p == child)
			exit(exit_code_of(st, EXIT_RESTORE_FAILED));
		if (p < 0 && errno != EINTR) {
			msg("waitpid: %s", strerror(errno));
			exit(EXIT_RESTORE_FAILED);
		}
		int s = wait_signal();
		if (s != SIGCHLD)
			kill(child, s);
	}
}

/* The first bytes of a restore handoff; restored/environment.ts reads the same. */
static const char HANDOFF_MAGIC[] = "CRAC-HANDOFF/1";

static int write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Puts this process's environment, as a handoff, on fd `target` (a memfd: no file, no size limit). */
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

struct listen_spec {
	char *host, *env, *was, *slot;
	int port;
};

/* Parses a --listen SPEC in place (see the header); 0 when well-formed. */
static int parse_listen(char *spec, struct listen_spec *l)
{
	memset(l, 0, sizeof(*l));
	char *p = spec;
	while (p && *p) {
		if (strncmp(p, "slot=", 5) == 0) {
			l->slot = p + 5;
			break;
		}
		char *comma = strchr(p, ',');
		if (comma)
			*comma = '\0';
		if (strncmp(p, "host=", 5) == 0)
			l->host = p + 5;
		else if (strncmp(p, "port=", 5) == 0) {
			char *end;
			long n = strtol(p + 5, &end, 10);
			if (*end || end == p + 5 || n < 1 || n > 65535)
				return -1;
			l->port = (int)n;
		} else if (strncmp(p, "env=", 4) == 0)
			l->env = p + 4;
		else if (strncmp(p, "was=", 4) == 0)
			l->was = p + 4;
		else
			return -1;
		p = comma ? comma + 1 : NULL;
	}
	if (!l->host || !*l->host || !l->port || !l->slot || l->slot[0] != '/' || (l->was && !l->env) ||
	    (l->env && !*l->env))
		return -1;
	return 0;
}

/* The port a --listen socket gets: the recorded one, or the variable's new value; 0: bind nothing. */
static int listen_port(const struct listen_spec *l)
{
	const char *now = l->env ? getenv(l->env) : NULL;
	if (!now || (l->was && strcmp(now, l->was) == 0))
		return l->port;
	/* decimal, surrounding blanks allowed (as Number() in the app); anything else is the app's to refuse */
	while (*now == ' ' || *now == '\t')
		now++;
	char *end;
	errno = 0;
	long n = strtol(now, &end, 10);
	while (*end == ' ' || *end == '\t')
		end++;
	if (end == now || *end || errno || n < 1 || n > 65535)
		return 0;
	return (int)n;
}

/* Binds and listens as --listen says: the socket's descriptor (inherited by CRIU), or -1. */
static int bind_listener(const struct listen_spec *l)
{
	union {
		struct sockaddr_in v4;
		struct sockaddr_in6 v6;
	} a;
	socklen_t len;
	int port = listen_port(l), family;
	if (port == 0)
		return -1;
	memset(&a, 0, sizeof(a));
	if (inet_pton(AF_INET, l->host, &a.v4.sin_addr) == 1) {
		family = AF_INET;
		a.v4.sin_family = AF_INET;
		a.v4.sin_port = htons((uint16_t)port);
		len = sizeof(a.v4);
	} else if (inet_pton(AF_INET6, l->host, &a.v6.sin6_addr) == 1) {
		family = AF_INET6;
		a.v6.sin6_family = AF_INET6;
		a.v6.sin6_port = htons((uint16_t)port);
		len = sizeof(a.v6);
	} else {
		return -1;
	}
	int fd = socket(family, SOCK_STREAM, 0), one = 1;
	if (fd < 0)
		return -1;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 || bind(fd, (struct sockaddr *)&a, len) != 0 ||
	    listen(fd, LISTEN_BACKLOG) != 0) {
		close(fd);
		return -1;
	}
	int high = fcntl(fd, F_DUPFD, LISTEN_FD_MIN);
	close(fd);
	return high;
}

/*
 * CRIU's argv with `--inherit-fd fd[K]:<slot>` appended for each listener (its socket, or
 * /dev/null when it could not be bound). The argv
 * strings of the bound ones are allocated here and live as long as the process.
 */
static char **with_listeners(char **criu_argv, struct listen_spec *specs, int nspecs)
{
	int n = 0;
	while (criu_argv[n])
		n++;
	char **out = calloc((size_t)n + 2 * (size_t)nspecs + 1, sizeof(*out));
	if (!out) {
		msg("out of memory");
		exit(EXIT_RESTORE_FAILED);
	}
	memcpy(out, criu_argv, sizeof(*out) * (size_t)n);
	for (int i = 0; i < nspecs; i++) {
		int fd = bind_listener(&specs[i]);
		if (fd < 0) {
			/* /dev/null in the slot's place (CRIU could not open the slot file by the name it had
			 * at the dump): the app finds no socket there and listens itself */
			int null_fd = open("/dev/null", O_RDONLY);
			fd = null_fd < 0 ? -1 : fcntl(null_fd, F_DUPFD, LISTEN_FD_MIN);
			if (null_fd >= 0)
				close(null_fd);
			if (fd < 0) {
				msg("cannot open /dev/null: %s", strerror(errno));
				exit(EXIT_RESTORE_FAILED);
			}
		}
		/* CRIU names inherited files by path without the leading slash */
		char *arg;
		if (asprintf(&arg, "fd[%d]:%s", fd, specs[i].slot + 1) < 0) {
			msg("out of memory");
			exit(EXIT_RESTORE_FAILED);
		}
		out[n++] = "--inherit-fd";
		out[n++] = arg;
		bound[nbound++] = fd;
	}
	return out;
}

int main(int argc, char **argv)
{
	struct listen_spec listens[MAX_LISTEN];
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
			if (nlistens == MAX_LISTEN || parse_listen(argv[++i], &listens[nlistens]) != 0)
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

	char why[256];
	if (crac_kdat_dir_prepare(why, sizeof(why)) != 0) {
		msg("%s", why);
		exit(EXIT_RESTORE_FAILED);
	}
	if (handoff_fd >= 0)
		write_handoff(handoff_fd);
	/* After the handoff (it takes its fd number first); before CRIU: clients wait from now on. */
	if (nlistens > 0)
		criu_argv = with_listeners(criu_argv, listens, nlistens);
	/* After the handoff, so that the app never sees it: CRIU's own cache directory when
	 * unprivileged without $XDG_RUNTIME_DIR (kdat_dir.h). */
	char kdat_env[96];
	if (crac_user_kdat_env(kdat_env, sizeof(kdat_env)) == 0)
		putenv(kdat_env);
	setup_signals();
	/*
	 * crac restore may die without a word (SIGKILL): take it as a SIGTERM, forwarded to the
	 * app like any other, so that no restored copy outlives its restorer. Set before the
	 * --pidns fork, so it stays with the process outside the namespace (a fork clears it).
	 */
	pid_t restorer = getppid();
	if (prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0) != 0)
		msg("prctl(PR_SET_PDEATHSIG): %s (a killed crac restore would leave the app running)", strerror(errno));
	else if (getppid() != restorer)
		raise(SIGTERM);
	if (pidns)
		enter_pidns();
	else if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0) {
		msg("prctl(PR_SET_CHILD_SUBREAPER): %s", strerror(errno));
		exit(EXIT_RESTORE_FAILED);
	}
	supervise(criu_argv, pidfile);
	return EXIT_RESTORE_FAILED;
}
