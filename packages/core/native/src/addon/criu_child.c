/*
 * criu_child.c - `criu swrk` started for checkpoint(): a grandchild (CRIU must not be a
 * descendant of the process it dumps, and the middle child is reaped at once so that no zombie
 * ends up in the image), with the environment its action scripts get, holding the other end of
 * the RPC socket.
 */
#define _GNU_SOURCE
#include "exports.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/exit_codes.h"
#include "criu/kdat_dir.h"
#include "criu_child.h"
#include "crac/programs.h"
#include "proc/proc_stat.h"

#ifndef SYS_close_range
#define SYS_close_range 436
#endif

/* Fds in the grandchild: the socket end CRIU is told about ("swrk 3"), and
 * the CLOEXEC pipe that carries execv's errno back (EOF: exec succeeded). */
#define CRIU_SK_FD 3
#define EXEC_STATUS_FD 4

static int same_name(const char *a, const char *b)
{
	size_t n = strcspn(a, "=");
	return n == strcspn(b, "=") && strncmp(a, b, n) == 0;
}

/* Whether `entry` is replaced by one of `extra` (or by `one_more`, when not NULL). */
static int replaced(const char *entry, char *const *extra, size_t extra_count, const char *one_more)
{
	for (size_t j = 0; j < extra_count; j++)
		if (same_name(entry, extra[j]))
			return 1;
	return one_more && same_name(entry, one_more);
}

/*
 * CRIU's environment: this process's, with `extra` and `one_more` (when not NULL) added, replacing
 * entries of the same name; the app's own environment is left alone. Built before fork: the child
 * may only call async-signal-safe functions. The strings are not copied. NULL when out of memory.
 */
char **criu_environment(char *const *extra, size_t extra_count, char *one_more)
{
	extern char **environ;
	size_t n = 0, k = 0;
	while (environ[n])
		n++;
	char **envp = calloc(n + extra_count + 2, sizeof(*envp));
	if (!envp)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (!replaced(environ[i], extra, extra_count, one_more) && strncmp(environ[i], "CRIU_CONFIG_FILE=", 17) != 0)
			envp[k++] = environ[i];
	for (size_t j = 0; j < extra_count; j++)
		envp[k++] = extra[j];
	if (one_more)
		envp[k++] = one_more;
	return envp;
}

#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
/* _Fork(): fork without running pthread_atfork handlers (async-signal-safe). */
#define crac_fork _Fork
#else
#define crac_fork fork
#endif

/*
 * Runs in the grandchild, a fork of a multi-threaded process: only
 * async-signal-safe calls until execv. Never returns.
 */
static void __attribute__((noreturn))
run_criu_child(int sk, int status_w, int nullfd, char *const argv[], char *const envp[], int maxfd)
{
	struct sigaction sa;
	sigset_t empty;
	int e;

	/* Default dispositions first, then an empty mask (no Node handler can run). */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	for (int sig = 1; sig < NSIG; sig++)
		sigaction(sig, &sa, NULL); /* SIGKILL/SIGSTOP etc. fail: fine */
	sigemptyset(&empty);
	sigprocmask(SIG_SETMASK, &empty, NULL);

	setsid();

	/* Move our three fds above the target numbers, then place them. */
	sk = fcntl(sk, F_DUPFD_CLOEXEC, 10);
	status_w = fcntl(status_w, F_DUPFD_CLOEXEC, 10);
	nullfd = fcntl(nullfd, F_DUPFD_CLOEXEC, 10);
	if (sk < 0 || status_w < 0 || nullfd < 0)
		goto fail;
	if (dup2(nullfd, 0) < 0 || dup2(nullfd, 1) < 0 || dup2(nullfd, 2) < 0)
		goto fail;
	if (dup2(sk, CRIU_SK_FD) < 0)             /* dup2 clears FD_CLOEXEC */
		goto fail;
	if (dup3(status_w, EXEC_STATUS_FD, O_CLOEXEC) < 0) /* closes on exec */
		goto fail;
	status_w = EXEC_STATUS_FD;
	if (syscall(SYS_close_range, EXEC_STATUS_FD + 1, ~0U, 0) != 0)
		for (int fd = EXEC_STATUS_FD + 1; fd < maxfd; fd++)
			close(fd);

	execve(argv[0], argv, envp);
fail:
	e = errno;
	if (write(status_w, &e, sizeof(e)) < 0) {
		/* nothing more we can do */
	}
	_exit(EXIT_EXEC_FAILED);
}

/*
 * Starts `<criu_path> swrk 3` as a grandchild that holds the other end of a
 * new RPC socket. Returns our end (CLOEXEC), or -1 with an exception pending.
 */
int start_criu(napi_env env, char *criu_path, char *const envp[], pid_t *criu_pid)
{
	char sk_arg[16];
	char *argv[5];
	int sv[2] = { -1, -1 }, pfd[2] = { -1, -1 }, idfd[2] = { -1, -1 }, nullfd = -1, maxfd = 65536;
	int st, e;
	ssize_t n;
	pid_t mid;
	struct rlimit rl;

	/* CRIU loads its kernel-probe cache from there: it must be ours (kdat_dir.h). */
	char why[256];
	if (crac_kdat_dir_prepare(why, sizeof(why)) != 0) {
		throw_sys_error(env, CRAC_ECRIU_EXEC, EPERM, "mkdir", why, CRAC_KDAT_DIR);
		return -1;
	}

	/* Everything the child needs is prepared before fork. */
	snprintf(sk_arg, sizeof(sk_arg), "%d", CRIU_SK_FD);
	argv[0] = criu_path;
	argv[1] = "swrk";
	argv[2] = sk_arg;
	/* CRIU is ours to configure: no /etc/criu/default.conf, no $HOME/.criu/default.conf (a root
	 * CRIU would run the action scripts of the user whose HOME it got), no CRIU_CONFIG_FILE (not in
	 * its environment); only the config file the RPC names (the seal step's) */
	argv[3] = "--no-default-config";
	argv[4] = NULL;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < INT_MAX)
		maxfd = (int)rl.rlim_cur;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
		throw_sys_error(env, CRAC_EIO, errno, "socketpair", "cannot create the CRIU RPC socket", NULL);
		goto fail;
	}
	if (pipe2(pfd, O_CLOEXEC) != 0 || pipe2(idfd, O_CLOEXEC) != 0) {
		throw_sys_error(env, CRAC_EIO, errno, "pipe2", "cannot create a pipe", NULL);
		goto fail;
	}
	nullfd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (nullfd < 0) {
		throw_sys_error(env, CRAC_EIO, errno, "open", "cannot open /dev/null", NULL);
		goto fail;
	}

	/* Double fork: CRIU must not be a descendant of the dumped process. */
	mid = crac_fork();
	if (mid < 0) {
		throw_sys_error(env, CRAC_ECRIU_EXEC, errno, "fork", "cannot fork to run CRIU", criu_path);
		goto fail;
	}
	if (mid == 0) {
		pid_t g = crac_fork();
		if (g < 0)
			_exit(2);
		if (g == 0)
			run_criu_child(sv[1], pfd[1], nullfd, argv, envp, maxfd);
		/* CRIU's pid, for the watchdog (it is not our child: only its pid can stop it) */
		_exit(write(idfd[1], &g, sizeof(g)) == (ssize_t)sizeof(g) ? 0 : 3);
	}
	close(sv[1]);
	sv[1] = -1;
	close(pfd[1]);
	pfd[1] = -1;
	close(nullfd);
	nullfd = -1;
	close(idfd[1]);
	idfd[1] = -1;

	/* Reap the middle child so no zombie ends up in the image. */
	if (TEMP_FAILURE_RETRY(waitpid(mid, &st, 0)) < 0)
		st = 0; /* ECHILD: SIGCHLD is ignored, the kernel reaped it */
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		throw_sys_error(env, CRAC_ECRIU_EXEC, EAGAIN, "fork", "cannot fork to run CRIU", criu_path);
		goto fail;
	}
	if (TEMP_FAILURE_RETRY(read(idfd[0], criu_pid, sizeof(*criu_pid))) != (ssize_t)sizeof(*criu_pid))
		*criu_pid = -1;
	close(idfd[0]);
	idfd[0] = -1;
	/* EOF on the CLOEXEC pipe == execv succeeded; an int == execv's errno. */
	n = TEMP_FAILURE_RETRY(read(pfd[0], &e, sizeof(e)));
	if (n == (ssize_t)sizeof(e)) {
		throw_sys_error(env, CRAC_ECRIU_EXEC, e, "execv", "cannot execute the CRIU binary", criu_path);
		goto fail;
	}
	close(pfd[0]);
	return sv[0];

fail:
	for (int i = 0; i < 2; i++) {
		if (sv[i] >= 0)
			close(sv[i]);
		if (pfd[i] >= 0)
			close(pfd[i]);
		if (idfd[i] >= 0)
			close(idfd[i]);
	}
	if (nullfd >= 0)
		close(nullfd);
	return -1;
}


int stop_criu(pid_t criu_pid)
{
	int stopped = 0;
	if (criu_pid <= 0)
		return 0;
	kill(criu_pid, SIGKILL);
	DIR *proc = opendir("/proc");
	if (!proc)
		return 0;
	for (struct dirent *entry; (entry = readdir(proc));) {
		char *end;
		long pid = strtol(entry->d_name, &end, 10);
		if (*end || pid <= 0 || pid == criu_pid || proc_session((pid_t)pid) != criu_pid)
			continue;
		/* the seal step CRIU started finishes its work: it puts a sealed image in place, or nothing */
		char path[64], exe[PATH_MAX];
		snprintf(path, sizeof(path), "/proc/%ld/exe", pid);
		ssize_t n = readlink(path, exe, sizeof(exe) - 1);
		if (n > 0) {
			exe[n] = '\0';
			const char *name = strrchr(exe, '/');
			if (name && strcmp(name + 1, SEAL_PROGRAM) == 0)
				continue;
		}
		if (kill((pid_t)pid, SIGKILL) == 0)
			stopped++;
	}
	closedir(proc);
	return stopped;
}
