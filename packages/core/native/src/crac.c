/*
 * crac.c - the N-API (version 8, ABI-stable) bridge of crac-node.
 *
 * No libcriu: we exec the CRIU binary as "criu swrk <fd>" and speak its RPC
 * protocol over a SOCK_SEQPACKET socketpair (see criu_rpc.c).
 *
 * Exports (see README-native.md for the full contract):
 *
 *   checkpoint(opts) -> { result: 'checkpointed' | 'restored', imagesDirFd: number }
 *     Synchronous self-dump of the calling process.
 *     opts: { criuPath: string (absolute), imagesDir: string, logFile: string
 *             (a file name inside imagesDir), leaveRunning: boolean,
 *             shellJob: boolean,
 *             configFile?: string (absolute: a CRIU configuration file) }
 *     'checkpointed': the dump succeeded and the process was left running
 *                     (leaveRunning: true).
 *     'restored':     this process is a copy restored from the image.
 *     With leaveRunning: false a successful dump never returns in the
 *     original process: CRIU SIGKILLs it.
 *     imagesDirFd: the fd number of imagesDir held open during the dump. It is
 *     recorded in the image by path: a restorer that moved the images can
 *     remap it with `--inherit-fd fd[N]:<path>`. It is closed again before
 *     checkpoint() returns (in both outcomes).
 *     Errors (Error objects with .code):
 *       CRAC_ECRIU_EXEC  the CRIU binary cannot be executed (or fork failed);
 *                        .criuPath, .errno (number), .syscall
 *       CRAC_ECRIU_DUMP  CRIU ran but the dump failed; message holds CRIU's
 *                        own "Error (...)" lines from the log;
 *                        .criuErrors (string[]), .logPath, .crErrno
 *                        (CRIU's cr_errno, or null), .criuMessage (cr_errmsg)
 *       CRAC_EIO         a local system call failed (open imagesDir,
 *                        socketpair, send/recv); .errno, .syscall, .path
 *       ERR_INVALID_ARG_TYPE / ERR_INVALID_ARG_VALUE (TypeError) bad options
 *
 *   reseedRandom() -> true
 *     Reseeds OpenSSL's RNG (RAND_add with 48 bytes of getrandom(), then
 *     RAND_poll) via symbols exported by the node binary.
 *     Throws CRAC_ERESEED if the symbols are missing or getrandom fails.
 *
 *   mallocTrim() -> number   (malloc_trim(0)'s return value: 1 if memory was
 *                             released to the OS, 0 otherwise)
 *
 *   v8Notify(kind) -> true   kind: 'low-memory' calls
 *     v8::Isolate::LowMemoryNotification() on the current isolate;
 *     'pressure-critical' / 'pressure-moderate' / 'pressure-none' call
 *     v8::Isolate::MemoryPressureNotification(level). The C++ methods are
 *     resolved with dlsym from the node binary's exported (mangled) symbols,
 *     verified present in Node 20.20 and 24.21; the Itanium ABI passes `this`
 *     as the first argument. Must be called on a JS thread (it acts on that
 *     thread's isolate). Throws CRAC_ESHRINK if a symbol or the isolate is
 *     missing, ERR_INVALID_ARG_VALUE for an unknown kind.
 */
#define _GNU_SOURCE
#define NAPI_VERSION 8
#include <node_api.h>

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "criu_rpc.h"

#ifndef SYS_close_range
#define SYS_close_range 436
#endif

/* The socket end handed to CRIU always ends up as this fd in the grandchild. */
#define CRIU_SK_FD 3
#define EXEC_STATUS_FD 4
#define MAX_CRIU_ERRORS 32
/* CRIU's most verbose log: a failed dump's log then explains itself. */
#define CRIU_LOG_LEVEL 4

/* -------------------------------------------------------------- helpers */

#define NAPI_CALL(env, call)                                                     \
	do {                                                                     \
		if ((call) != napi_ok) {                                         \
			throw_last_napi_error(env);                              \
			return NULL;                                             \
		}                                                                \
	} while (0)

static void throw_last_napi_error(napi_env env)
{
	const napi_extended_error_info *info = NULL;
	bool pending = false;
	napi_is_exception_pending(env, &pending);
	if (pending)
		return;
	napi_get_last_error_info(env, &info);
	napi_throw_error(env, "CRAC_ENAPI",
			 info && info->error_message ? info->error_message : "N-API call failed");
}

static napi_value make_string(napi_env env, const char *s)
{
	napi_value v = NULL;
	napi_create_string_utf8(env, s, NAPI_AUTO_LENGTH, &v);
	return v;
}

static void set_prop(napi_env env, napi_value obj, const char *name, napi_value v)
{
	if (v)
		napi_set_named_property(env, obj, name, v);
}

static void set_int(napi_env env, napi_value obj, const char *name, int64_t n)
{
	napi_value v = NULL;
	napi_create_int64(env, n, &v);
	set_prop(env, obj, name, v);
}

static void set_str(napi_env env, napi_value obj, const char *name, const char *s)
{
	set_prop(env, obj, name, make_string(env, s));
}

/* Create an Error (or TypeError) with .code; returns it without throwing. */
static napi_value make_error(napi_env env, int type_error, const char *code, const char *msg)
{
	napi_value err = NULL;
	napi_value c = make_string(env, code), m = make_string(env, msg);
	if (type_error)
		napi_create_type_error(env, c, m, &err);
	else
		napi_create_error(env, c, m, &err);
	return err;
}

static napi_value throw_type_error(napi_env env, const char *code, const char *fmt, const char *name)
{
	char msg[256];
	snprintf(msg, sizeof(msg), fmt, name);
	napi_throw(env, make_error(env, 1, code, msg));
	return NULL;
}

/* Error for a failed system call: code, "<what>: <strerror> (syscall)". */
static napi_value throw_sys_error(napi_env env, const char *code, int err, const char *syscall_name,
				  const char *what, const char *path)
{
	char msg[PATH_MAX + 256];
	snprintf(msg, sizeof(msg), "%s: %s (%s%s%s)", what, strerror(err), syscall_name, path ? " " : "",
		 path ? path : "");
	napi_value e = make_error(env, 0, code, msg);
	set_int(env, e, "errno", err);
	set_str(env, e, "syscall", syscall_name);
	if (path)
		set_str(env, e, "path", path);
	napi_throw(env, e);
	return NULL;
}

/* Read a property; returns 1 if present (not undefined/null), 0 if absent, -1 on error. */
static int get_prop(napi_env env, napi_value obj, const char *name, napi_value *out)
{
	napi_valuetype t;
	if (napi_get_named_property(env, obj, name, out) != napi_ok)
		return -1;
	if (napi_typeof(env, *out, &t) != napi_ok)
		return -1;
	return (t == napi_undefined || t == napi_null) ? 0 : 1;
}

/* Optional/required string property, malloc'd into *out. Returns 0 ok, -1 thrown. */
static int get_string_opt(napi_env env, napi_value obj, const char *name, int required, char **out)
{
	napi_value v;
	napi_valuetype t;
	size_t len = 0;
	int r = get_prop(env, obj, name, &v);
	*out = NULL;
	if (r < 0)
		return throw_last_napi_error(env), -1;
	if (r == 0) {
		if (required)
			return throw_type_error(env, "ERR_INVALID_ARG_TYPE",
						"checkpoint(): options.%s must be a string", name),
			       -1;
		return 0;
	}
	napi_typeof(env, v, &t);
	if (t != napi_string)
		return throw_type_error(env, "ERR_INVALID_ARG_TYPE", "checkpoint(): options.%s must be a string", name),
		       -1;
	napi_get_value_string_utf8(env, v, NULL, 0, &len);
	*out = malloc(len + 1);
	if (!*out)
		return napi_throw_error(env, "CRAC_ENOMEM", "out of memory"), -1;
	napi_get_value_string_utf8(env, v, *out, len + 1, &len);
	if (strlen(*out) != len) {
		free(*out);
		*out = NULL;
		return throw_type_error(env, "ERR_INVALID_ARG_VALUE",
					"checkpoint(): options.%s must not contain NUL characters", name),
		       -1;
	}
	return 0;
}

static int get_bool_opt(napi_env env, napi_value obj, const char *name, int *out)
{
	napi_value v;
	napi_valuetype t;
	bool b = false;
	int r = get_prop(env, obj, name, &v);
	if (r < 0)
		return throw_last_napi_error(env), -1;
	if (r == 0)
		return 0; /* keep default */
	napi_typeof(env, v, &t);
	if (t != napi_boolean)
		return throw_type_error(env, "ERR_INVALID_ARG_TYPE", "checkpoint(): options.%s must be a boolean",
					name),
		       -1;
	napi_get_value_bool(env, v, &b);
	*out = b;
	return 0;
}

/* ------------------------------------------------------ spawning CRIU */

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
run_criu_child(int sk, int status_w, int nullfd, char *const argv[], int maxfd)
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

	execv(argv[0], argv);
fail:
	e = errno;
	if (write(status_w, &e, sizeof(e)) < 0) {
		/* nothing more we can do */
	}
	_exit(127);
}

/* --------------------------------------------------- dump log scanning */

/* Collect CRIU's "Error (...)" lines from the log (skipping the harmless
 * RLIMIT_NOFILE one) into a JS array; returns the count. *first_lines gets a
 * malloc'd "\n"-joined copy of up to MAX_CRIU_ERRORS lines. */
static uint32_t collect_log_errors(napi_env env, int dirfd, const char *log_file, napi_value arr,
				   char **joined)
{
	uint32_t count = 0;
	size_t jlen = 0;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	FILE *f;
	int fd = openat(dirfd, log_file, O_RDONLY | O_CLOEXEC);

	*joined = NULL;
	if (fd < 0)
		return 0;
	f = fdopen(fd, "r");
	if (!f) {
		close(fd);
		return 0;
	}
	while ((n = getline(&line, &cap, f)) >= 0) {
		char *p;
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = 0;
		p = strstr(line, "Error (");
		if (!p || strstr(line, "RLIMIT_NOFILE"))
			continue;
		if (count >= MAX_CRIU_ERRORS)
			break;
		napi_set_element(env, arr, count++, make_string(env, p));
		size_t l = strlen(p);
		char *nj = realloc(*joined, jlen + l + 2);
		if (!nj)
			break;
		*joined = nj;
		if (jlen)
			nj[jlen++] = '\n';
		memcpy(nj + jlen, p, l + 1);
		jlen += l;
	}
	free(line);
	fclose(f);
	return count;
}

static napi_value throw_dump_error(napi_env env, int dirfd, const char *images_dir, const char *log_file,
				   const struct criu_resp *resp, const char *fallback)
{
	napi_value arr, e;
	char *joined = NULL;
	char *msg;
	size_t mlen;
	char log_path[PATH_MAX];
	uint32_t n;

	snprintf(log_path, sizeof(log_path), "%s/%s", images_dir, log_file);
	napi_create_array(env, &arr);
	n = collect_log_errors(env, dirfd, log_file, arr, &joined);

	mlen = strlen(log_path) + (joined ? strlen(joined) : 0) + strlen(fallback) + 600;
	msg = malloc(mlen);
	if (!msg) {
		free(joined);
		napi_throw_error(env, "CRAC_ECRIU_DUMP", "CRIU dump failed");
		return NULL;
	}
	if (n)
		snprintf(msg, mlen, "CRIU dump failed (log: %s):\n%s", log_path, joined);
	else if (resp && resp->cr_errmsg[0])
		snprintf(msg, mlen, "CRIU dump failed: %s (log: %s)", resp->cr_errmsg, log_path);
	else
		snprintf(msg, mlen, "CRIU dump failed: %s (log: %s)", fallback, log_path);

	e = make_error(env, 0, "CRAC_ECRIU_DUMP", msg);
	set_prop(env, e, "criuErrors", arr);
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
	free(joined);
	free(msg);
	napi_throw(env, e);
	return NULL;
}

/* ---------------------------------------------------------- checkpoint */

struct ckpt_args {
	char *criu_path, *images_dir, *log_file, *config_file;
	int leave_running, shell_job;
};

static void free_args(struct ckpt_args *a)
{
	free(a->criu_path);
	free(a->images_dir);
	free(a->log_file);
	free(a->config_file);
}

static int parse_args(napi_env env, napi_callback_info info, struct ckpt_args *a)
{
	size_t argc = 1;
	napi_value argv[1], obj;
	napi_valuetype t;

	memset(a, 0, sizeof(*a));
	if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok)
		return throw_last_napi_error(env), -1;
	if (argc < 1 || napi_typeof(env, argv[0], &t) != napi_ok || t != napi_object)
		return throw_type_error(env, "ERR_INVALID_ARG_TYPE", "checkpoint(%s): options must be an object",
					"options"),
		       -1;
	obj = argv[0];
	if (get_string_opt(env, obj, "criuPath", 1, &a->criu_path) ||
	    get_string_opt(env, obj, "imagesDir", 1, &a->images_dir) ||
	    get_string_opt(env, obj, "logFile", 1, &a->log_file) ||
	    get_string_opt(env, obj, "configFile", 0, &a->config_file) ||
	    get_bool_opt(env, obj, "leaveRunning", &a->leave_running) ||
	    get_bool_opt(env, obj, "shellJob", &a->shell_job))
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
	return 0;
}

static napi_value Checkpoint(napi_env env, napi_callback_info info)
{
	struct ckpt_args a;
	struct criu_dump_opts o;
	struct criu_resp resp;
	napi_value ret = NULL, v;
	char sk_arg[16];
	char *argv[4];
	int sv[2] = { -1, -1 }, pfd[2] = { -1, -1 }, dirfd = -1, nullfd = -1, maxfd = 65536;
	int st, e, req_len;
	uint8_t req[2048];
	uint8_t *rbuf = NULL;
	const size_t rcap = 65536;
	ssize_t n;
	pid_t mid;
	struct rlimit rl;

	if (parse_args(env, info, &a))
		goto out;

	/* Everything the child needs is prepared before fork. */
	snprintf(sk_arg, sizeof(sk_arg), "%d", CRIU_SK_FD);
	argv[0] = a.criu_path;
	argv[1] = "swrk";
	argv[2] = sk_arg;
	argv[3] = NULL;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < INT_MAX)
		maxfd = (int)rl.rlim_cur;

	if (access(a.criu_path, X_OK) != 0) {
		e = errno;
		throw_sys_error(env, "CRAC_ECRIU_EXEC", e, "access", "cannot execute the CRIU binary", a.criu_path);
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
	req_len = criu_rpc_encode_dump_req(&o, req, sizeof(req));
	if (req_len < 0) {
		napi_throw_error(env, "CRAC_EIO", "checkpoint(): CRIU request too large");
		goto out;
	}

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
		throw_sys_error(env, "CRAC_EIO", errno, "socketpair", "cannot create the CRIU RPC socket", NULL);
		goto out;
	}
	if (pipe2(pfd, O_CLOEXEC) != 0) {
		throw_sys_error(env, "CRAC_EIO", errno, "pipe2", "cannot create a pipe", NULL);
		goto out;
	}
	nullfd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (nullfd < 0) {
		throw_sys_error(env, "CRAC_EIO", errno, "open", "cannot open /dev/null", NULL);
		goto out;
	}

	/* Double fork: CRIU must not be a descendant of the dumped process. */
	mid = crac_fork();
	if (mid < 0) {
		throw_sys_error(env, "CRAC_ECRIU_EXEC", errno, "fork", "cannot fork to run CRIU", a.criu_path);
		goto out;
	}
	if (mid == 0) {
		pid_t g = crac_fork();
		if (g < 0)
			_exit(2);
		if (g == 0)
			run_criu_child(sv[1], pfd[1], nullfd, argv, maxfd);
		_exit(0);
	}

	close(sv[1]);
	sv[1] = -1;
	close(pfd[1]);
	pfd[1] = -1;
	close(nullfd);
	nullfd = -1;

	/* Reap the middle child so no zombie ends up in the image. */
	while (waitpid(mid, &st, 0) < 0) {
		if (errno == EINTR)
			continue;
		st = 0; /* ECHILD: SIGCHLD is ignored, the kernel reaped it */
		break;
	}
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		throw_sys_error(env, "CRAC_ECRIU_EXEC", EAGAIN, "fork", "cannot fork to run CRIU", a.criu_path);
		goto out;
	}
	/* EOF on the CLOEXEC pipe == execv succeeded; an int == execv's errno. */
	do
		n = read(pfd[0], &e, sizeof(e));
	while (n < 0 && errno == EINTR);
	close(pfd[0]);
	pfd[0] = -1;
	if (n == (ssize_t)sizeof(e)) {
		throw_sys_error(env, "CRAC_ECRIU_EXEC", e, "execv", "cannot execute the CRIU binary", a.criu_path);
		goto out;
	}

	do
		n = send(sv[0], req, (size_t)req_len, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
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
	do
		n = recv(sv[0], rbuf, rcap, MSG_TRUNC);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		throw_sys_error(env, "CRAC_EIO", errno, "recv", "cannot read CRIU's reply", NULL);
		goto out;
	}
	if (n == 0) {
		throw_dump_error(env, dirfd, a.images_dir, a.log_file, NULL, "CRIU exited without replying");
		goto out;
	}
	if ((size_t)n > rcap || criu_rpc_decode_resp(rbuf, (size_t)n, &resp) != 0) {
		throw_dump_error(env, dirfd, a.images_dir, a.log_file, NULL, "malformed reply from CRIU");
		goto out;
	}
	if (!resp.success || resp.type != CRIU_REQ_DUMP) {
		throw_dump_error(env, dirfd, a.images_dir, a.log_file, &resp, "CRIU reported failure");
		goto out;
	}

	NAPI_CALL(env, napi_create_object(env, &ret));
	v = make_string(env, resp.has_dump && resp.dump_restored ? "restored" : "checkpointed");
	set_prop(env, ret, "result", v);
	set_int(env, ret, "imagesDirFd", dirfd);

out:
	if (sv[0] >= 0)
		close(sv[0]);
	if (sv[1] >= 0)
		close(sv[1]);
	if (pfd[0] >= 0)
		close(pfd[0]);
	if (pfd[1] >= 0)
		close(pfd[1]);
	if (nullfd >= 0)
		close(nullfd);
	if (dirfd >= 0)
		close(dirfd);
	free(rbuf);
	free_args(&a);
	return ret;
}

/* -------------------------------------------------------- reseedRandom */

typedef int (*rand_poll_fn)(void);
typedef void (*rand_add_fn)(const void *buf, int num, double randomness);

static napi_value ReseedRandom(napi_env env, napi_callback_info info)
{
	(void)info;
	unsigned char buf[48];
	size_t got = 0;
	napi_value t;
	rand_poll_fn rand_poll = (rand_poll_fn)dlsym(RTLD_DEFAULT, "RAND_poll");
	rand_add_fn rand_add = (rand_add_fn)dlsym(RTLD_DEFAULT, "RAND_add");

	if (!rand_poll || !rand_add) {
		napi_throw_error(env, "CRAC_ERESEED",
				 "reseedRandom(): OpenSSL's RAND_poll/RAND_add are not exported by this node binary");
		return NULL;
	}
	while (got < sizeof(buf)) {
		ssize_t n = getrandom(buf + got, sizeof(buf) - got, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			throw_sys_error(env, "CRAC_ERESEED", errno, "getrandom", "reseedRandom(): getrandom failed",
					NULL);
			return NULL;
		}
		got += (size_t)n;
	}
	rand_add(buf, (int)sizeof(buf), (double)sizeof(buf));
	memset(buf, 0, sizeof(buf));
	if (rand_poll() != 1) {
		napi_throw_error(env, "CRAC_ERESEED", "reseedRandom(): RAND_poll() failed");
		return NULL;
	}
	napi_get_boolean(env, true, &t);
	return t;
}

/* ---------------------------------------------------------- mallocTrim */

static napi_value MallocTrim(napi_env env, napi_callback_info info)
{
	(void)info;
	napi_value r;
	napi_create_int32(env, malloc_trim(0), &r);
	return r;
}

/* ------------------------------------------------------------ v8Notify */

/* V8's C++ API, reached from C: static Isolate* Isolate::GetCurrent(); member
 * functions take the isolate as their first (implicit `this`) argument. */
typedef void *(*isolate_get_current_fn)(void);
typedef void (*isolate_low_memory_fn)(void *isolate);
typedef void (*isolate_pressure_fn)(void *isolate, int level);

#define SYM_GET_CURRENT "_ZN2v87Isolate10GetCurrentEv"
#define SYM_LOW_MEMORY "_ZN2v87Isolate21LowMemoryNotificationEv"
#define SYM_PRESSURE "_ZN2v87Isolate26MemoryPressureNotificationENS_19MemoryPressureLevelE"

static napi_value V8Notify(napi_env env, napi_callback_info info)
{
	size_t argc = 1;
	napi_value argv[1], t;
	char kind[32];
	size_t len = 0;
	int level = -1; /* v8::MemoryPressureLevel: kNone 0, kModerate 1, kCritical 2 */

	NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
	if (argc < 1 || napi_get_value_string_utf8(env, argv[0], kind, sizeof(kind), &len) != napi_ok) {
		napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "v8Notify(kind): kind must be a string");
		return NULL;
	}
	if (strcmp(kind, "pressure-critical") == 0)
		level = 2;
	else if (strcmp(kind, "pressure-moderate") == 0)
		level = 1;
	else if (strcmp(kind, "pressure-none") == 0)
		level = 0;
	else if (strcmp(kind, "low-memory") != 0) {
		napi_throw_type_error(env, "ERR_INVALID_ARG_VALUE",
				      "v8Notify(kind): kind must be 'low-memory' or 'pressure-critical|moderate|none'");
		return NULL;
	}
	isolate_get_current_fn get_current = (isolate_get_current_fn)dlsym(RTLD_DEFAULT, SYM_GET_CURRENT);
	void *fn = dlsym(RTLD_DEFAULT, level < 0 ? SYM_LOW_MEMORY : SYM_PRESSURE);
	if (!get_current || !fn) {
		napi_throw_error(env, "CRAC_ESHRINK",
				 "v8Notify(): this node binary does not export v8::Isolate's GetCurrent / "
				 "LowMemoryNotification / MemoryPressureNotification");
		return NULL;
	}
	void *isolate = get_current();
	if (!isolate) {
		napi_throw_error(env, "CRAC_ESHRINK", "v8Notify(): no current V8 isolate on this thread");
		return NULL;
	}
	if (level < 0)
		((isolate_low_memory_fn)fn)(isolate);
	else
		((isolate_pressure_fn)fn)(isolate, level);
	napi_get_boolean(env, true, &t);
	return t;
}

/* ---------------------------------------------------------------- init */

NAPI_MODULE_INIT()
{
	napi_property_descriptor props[] = {
		{ "checkpoint", NULL, Checkpoint, NULL, NULL, NULL, napi_enumerable, NULL },
		{ "reseedRandom", NULL, ReseedRandom, NULL, NULL, NULL, napi_enumerable, NULL },
		{ "mallocTrim", NULL, MallocTrim, NULL, NULL, NULL, napi_enumerable, NULL },
		{ "v8Notify", NULL, V8Notify, NULL, NULL, NULL, napi_enumerable, NULL },
	};
	if (napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props) != napi_ok)
		return NULL;
	return exports;
}
