/*
 * checkpoint.c - checkpoint(opts): the synchronous self-dump of the calling
 * process. No libcriu: the CRIU binary is exec'd as "criu swrk <fd>" and
 * spoken to over a SOCK_SEQPACKET socketpair (criu_rpc.h).
 *
 * CRIU runs as a grandchild: it must not be a descendant of the process it
 * dumps (it would be dumped too), and the middle child is reaped at once so
 * that no zombie ends up in the image either. A failed dump is reported with
 * the path of CRIU's log (the reply's cr_errno is usually unset, the log is the
 * only useful information): the TypeScript caller adds the log's Error lines.
 * Contract (options, results, errors): README-native.md.
 */
#define _GNU_SOURCE
#include "exports.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "criu_rpc.h"
#include "exit_codes.h"
#include "kdat_dir.h"

#ifndef SYS_close_range
#define SYS_close_range 436
#endif

/* Fds in the grandchild: the socket end CRIU is told about ("swrk 3"), and
 * the CLOEXEC pipe that carries execv's errno back (EOF: exec succeeded). */
#define CRIU_SK_FD 3
#define EXEC_STATUS_FD 4
/* Enough to show the cause; a failed dump can log hundreds of lines. */
/* CRIU's most verbose log: a failed dump's log then explains itself. */
#define CRIU_LOG_LEVEL 4
/* How long CRIU may take to answer a dump by default (options.replyTimeoutMs). */
#define DEFAULT_REPLY_TIMEOUT_MS 120000
/* After the timeout, how long a reply that is on its way may still take. */
#define REPLY_GRACE_MS 2000

/* checkpoint()'s options; the strings are malloc'd (free_args). */
struct ckpt_args {
	char *criu_path, *images_dir, *log_file, *config_file;
	char **env; /* "NAME=value" entries added to CRIU's environment (its action scripts') */
	size_t env_count;
	int leave_running, shell_job, unprivileged;
	uint32_t reply_timeout_ms;
};

static void free_args(struct ckpt_args *a)
{
	free(a->criu_path);
	free(a->images_dir);
	free(a->log_file);
	free(a->config_file);
	free_string_array(a->env, a->env_count);
}

static int parse_args(napi_env env, napi_callback_info info, struct ckpt_args *a)
{
	size_t argc = 1;
	napi_value argv[1], obj;
	napi_valuetype t;

	memset(a, 0, sizeof(*a));
	a->reply_timeout_ms = DEFAULT_REPLY_TIMEOUT_MS;
	if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok)
		return throw_last_napi_error(env), -1;
	if (argc < 1 || napi_typeof(env, argv[0], &t) != napi_ok || t != napi_object)
		return throw_type_error(env, "ERR_INVALID_ARG_TYPE", "checkpoint(%s): options must be an object",
					"options"),
		       -1;
	obj = argv[0];
	if (get_string_opt(env, obj, "checkpoint", "criuPath", 1, &a->criu_path) ||
	    get_string_opt(env, obj, "checkpoint", "imagesDir", 1, &a->images_dir) ||
	    get_string_opt(env, obj, "checkpoint", "logFile", 1, &a->log_file) ||
	    get_string_opt(env, obj, "checkpoint", "configFile", 0, &a->config_file) ||
	    get_string_array_opt(env, obj, "checkpoint", "env", &a->env, &a->env_count) ||
	    get_bool_opt(env, obj, "checkpoint", "leaveRunning", &a->leave_running) ||
	    get_bool_opt(env, obj, "checkpoint", "shellJob", &a->shell_job) ||
	    get_bool_opt(env, obj, "checkpoint", "unprivileged", &a->unprivileged) ||
	    get_uint_opt(env, obj, "checkpoint", "replyTimeoutMs", 1, 24u * 3600 * 1000, &a->reply_timeout_ms))
		return -1;
	if (a->criu_path[0] != '/')
		return throw_type_error(env, "ERR_INVALID_ARG_VALUE",
					"checkpoint(): options.criuPath must be an absolute path (got '%s')",
					a->criu_path),
		       -1;
	if (a->config_file && a->config_file[0] != '/')
		return throw_type_error(env, "ERR_INVALID_ARG_VALUE",
					"checkpoint(): options.configFile must be an absolute path (got '%s')",
					a->config_file),
		       -1;
	if (!a->log_file[0] || strchr(a->log_file, '/'))
		return throw_type_error(env, "ERR_INVALID_ARG_VALUE",
					"checkpoint(): options.logFile must be a plain file name inside imagesDir "
					"(got '%s')",
					a->log_file),
		       -1;
	for (size_t i = 0; i < a->env_count; i++)
		if (!strchr(a->env[i], '=') || a->env[i][0] == '=')
			return throw_type_error(env, "ERR_INVALID_ARG_VALUE",
						"checkpoint(): options.env entries must be NAME=value (got '%s')",
						a->env[i]),
			       -1;
	return 0;
}

/* Whether two environment entries (NAME=value) name the same variable. */
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
static char **criu_environment(char *const *extra, size_t extra_count, char *one_more)
{
	extern char **environ;
	size_t n = 0, k = 0;
	while (environ[n])
		n++;
	char **envp = calloc(n + extra_count + 2, sizeof(*envp));
	if (!envp)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (!replaced(environ[i], extra, extra_count, one_more))
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
static int start_criu(napi_env env, char *criu_path, char *const envp[], pid_t *criu_pid)
{
	char sk_arg[16];
	char *argv[4];
	int sv[2] = { -1, -1 }, pfd[2] = { -1, -1 }, idfd[2] = { -1, -1 }, nullfd = -1, maxfd = 65536;
	int st, e;
	ssize_t n;
	pid_t mid;
	struct rlimit rl;

	/* CRIU loads its kernel-probe cache from there: it must be ours (kdat_dir.h). */
	char why[256];
	if (crac_kdat_dir_prepare(why, sizeof(why)) != 0) {
		throw_sys_error(env, "CRAC_ECRIU_EXEC", EPERM, "mkdir", why, CRAC_KDAT_DIR);
		return -1;
	}

	/* Everything the child needs is prepared before fork. */
	snprintf(sk_arg, sizeof(sk_arg), "%d", CRIU_SK_FD);
	argv[0] = criu_path;
	argv[1] = "swrk";
	argv[2] = sk_arg;
	argv[3] = NULL;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < INT_MAX)
		maxfd = (int)rl.rlim_cur;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
		throw_sys_error(env, "CRAC_EIO", errno, "socketpair", "cannot create the CRIU RPC socket", NULL);
		goto fail;
	}
	if (pipe2(pfd, O_CLOEXEC) != 0 || pipe2(idfd, O_CLOEXEC) != 0) {
		throw_sys_error(env, "CRAC_EIO", errno, "pipe2", "cannot create a pipe", NULL);
		goto fail;
	}
	nullfd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (nullfd < 0) {
		throw_sys_error(env, "CRAC_EIO", errno, "open", "cannot open /dev/null", NULL);
		goto fail;
	}

	/* Double fork: CRIU must not be a descendant of the dumped process. */
	mid = crac_fork();
	if (mid < 0) {
		throw_sys_error(env, "CRAC_ECRIU_EXEC", errno, "fork", "cannot fork to run CRIU", criu_path);
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
		throw_sys_error(env, "CRAC_ECRIU_EXEC", EAGAIN, "fork", "cannot fork to run CRIU", criu_path);
		goto fail;
	}
	if (TEMP_FAILURE_RETRY(read(idfd[0], criu_pid, sizeof(*criu_pid))) != (ssize_t)sizeof(*criu_pid))
		*criu_pid = -1;
	close(idfd[0]);
	idfd[0] = -1;
	/* EOF on the CLOEXEC pipe == execv succeeded; an int == execv's errno. */
	n = TEMP_FAILURE_RETRY(read(pfd[0], &e, sizeof(e)));
	if (n == (ssize_t)sizeof(e)) {
		throw_sys_error(env, "CRAC_ECRIU_EXEC", e, "execv", "cannot execute the CRIU binary", criu_path);
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

/* Throws CRAC_ECRIU_DUMP with CRIU's cr_errmsg, else `fallback`, and where its log
 * is: the caller (engine/criu/dump.ts) adds the log's own Error lines, read by the one
 * CRIU log reader (engine/criu/log.ts). resp is NULL when CRIU sent no usable reply. */
static napi_value throw_dump_error(napi_env env, const char *images_dir, const char *log_file,
				   const struct criu_resp *resp, const char *fallback)
{
	char msg[PATH_MAX + 600];
	char log_path[PATH_MAX];
	napi_value e;

	snprintf(log_path, sizeof(log_path), "%s/%s", images_dir, log_file);
	snprintf(msg, sizeof(msg), "CRIU dump failed: %s (log: %s)",
		 resp && resp->cr_errmsg[0] ? resp->cr_errmsg : fallback, log_path);
	e = make_error(env, 0, "CRAC_ECRIU_DUMP", msg);
	set_str(env, e, "logPath", log_path);
	if (resp && resp->has_cr_errno) {
		set_int(env, e, "crErrno", resp->cr_errno);
	} else {
		napi_value nul;
		napi_get_null(env, &nul);
		set_prop(env, e, "crErrno", nul);
	}
	if (resp && resp->cr_errmsg[0])
		set_str(env, e, "criuMessage", resp->cr_errmsg);
	napi_throw(env, e);
	return NULL;
}

/*
 * Waits for CRIU's reply: 1 when it can be read (or the socket closed), 0 after timeout_ms.
 * Time spent frozen by the dump counts too: a long dump may end just as the timeout expires, so
 * the reply gets a short grace before CRIU is taken for hung (it replies as it resumes us).
 */
static int wait_for_reply(int sk, uint32_t timeout_ms)
{
	struct pollfd p = { .fd = sk, .events = POLLIN };
	int r = TEMP_FAILURE_RETRY(poll(&p, 1, (int)timeout_ms));
	if (r == 0)
		r = TEMP_FAILURE_RETRY(poll(&p, 1, REPLY_GRACE_MS));
	return r != 0; /* an error: let recv() say what it is */
}

napi_value js_checkpoint(napi_env env, napi_callback_info info)
{
	struct ckpt_args a;
	struct criu_dump_opts o;
	struct criu_resp resp;
	napi_value ret = NULL;
	int sk = -1, dirfd = -1, req_len;
	char **envp = NULL;
	pid_t criu_pid = -1;
	uint8_t req[2048];
	uint8_t *rbuf = NULL;
	const size_t rcap = 65536;
	ssize_t n;

	if (parse_args(env, info, &a))
		goto out;
	if (access(a.criu_path, X_OK) != 0) {
		throw_sys_error(env, "CRAC_ECRIU_EXEC", errno, "access", "cannot execute the CRIU binary", a.criu_path);
		goto out;
	}
	rbuf = malloc(rcap);
	if (!rbuf) {
		napi_throw_error(env, "CRAC_ENOMEM", "out of memory");
		goto out;
	}

	dirfd = open(a.images_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0) {
		throw_sys_error(env, "CRAC_EIO", errno, "open", "cannot open the images directory", a.images_dir);
		goto out;
	}
	memset(&o, 0, sizeof(o));
	o.images_dir_fd = dirfd;
	o.leave_running = a.leave_running;
	o.shell_job = a.shell_job;
	o.log_level = CRIU_LOG_LEVEL;
	o.log_file = a.log_file;
	o.config_file = a.config_file;
	o.unprivileged = a.unprivileged;
	req_len = criu_rpc_encode_dump_req(&o, req, sizeof(req));
	if (req_len < 0) {
		napi_throw_error(env, "CRAC_EIO", "checkpoint(): CRIU request too large");
		goto out;
	}

	/* Unprivileged without $XDG_RUNTIME_DIR: a cache directory of our own (kdat_dir.h). */
	char kdat_env[96];
	envp = criu_environment(a.env, a.env_count, crac_user_kdat_env(kdat_env, sizeof(kdat_env)) == 0 ? kdat_env : NULL);
	if (!envp) {
		napi_throw_error(env, "CRAC_ENOMEM", "out of memory");
		goto out;
	}
	sk = start_criu(env, a.criu_path, envp, &criu_pid);
	if (sk < 0)
		goto out;
	n = TEMP_FAILURE_RETRY(send(sk, req, (size_t)req_len, MSG_NOSIGNAL));
	if (n != req_len) {
		throw_sys_error(env, "CRAC_EIO", n < 0 ? errno : EIO, "send", "cannot send the dump request to CRIU",
				NULL);
		goto out;
	}

	/*
	 * Block until CRIU answers. Three ways out:
	 *  - leave-running dump: CRIU replies success (dump.restored = false);
	 *  - no leave-running: CRIU SIGKILLs us; we only get here again in a
	 *    restored copy, where CRIU queued a reply with dump.restored = true;
	 *  - failure: success = false, or EOF if CRIU died.
	 */
	if (!wait_for_reply(sk, a.reply_timeout_ms)) {
		/* CRIU hangs: stop it (the process is not frozen, or we would not be here) */
		if (criu_pid > 0)
			kill(criu_pid, SIGKILL);
		char why[128];
		snprintf(why, sizeof(why), "CRIU did not answer within %u ms and was stopped", a.reply_timeout_ms);
		throw_dump_error(env, a.images_dir, a.log_file, NULL, why);
		goto out;
	}
	n = TEMP_FAILURE_RETRY(recv(sk, rbuf, rcap, MSG_TRUNC));
	if (n < 0) {
		throw_sys_error(env, "CRAC_EIO", errno, "recv", "cannot read CRIU's reply", NULL);
		goto out;
	}
	if (n == 0) {
		throw_dump_error(env, a.images_dir, a.log_file, NULL, "CRIU exited without replying");
		goto out;
	}
	if ((size_t)n > rcap || criu_rpc_decode_resp(rbuf, (size_t)n, &resp) != 0) {
		throw_dump_error(env, a.images_dir, a.log_file, NULL, "malformed reply from CRIU");
		goto out;
	}
	if (!resp.success || resp.type != CRIU_REQ_DUMP) {
		throw_dump_error(env, a.images_dir, a.log_file, &resp, "CRIU reported failure");
		goto out;
	}

	if (napi_create_object(env, &ret) != napi_ok) {
		throw_last_napi_error(env);
		ret = NULL;
		goto out;
	}
	set_str(env, ret, "result", resp.has_dump && resp.dump_restored ? "restored" : "checkpointed");
	set_int(env, ret, "imagesDirFd", dirfd);

out:
	if (sk >= 0)
		close(sk);
	if (dirfd >= 0)
		close(dirfd);
	free(rbuf);
	free(envp);
	free_args(&a);
	return ret;
}
