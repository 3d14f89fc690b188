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

#include "criu/criu_rpc.h"
#include "criu_child.h"
#include "proc/proc_stat.h"
#include "base/exit_codes.h"
#include "criu/kdat_dir.h"

#ifndef SYS_close_range
#define SYS_close_range 436
#endif

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
/* Throws CRAC_ECRIU_DUMP with CRIU's cr_errmsg, else `fallback`, and where its log
 * is: the caller (engine/criu/dump.ts) adds the log's own Error lines, read by the one
 * CRIU log reader (lib/criu/log.c, criuErrorLines()). resp is NULL when CRIU sent no usable reply. */
static napi_value throw_dump_error(napi_env env, const char *images_dir, const char *log_file,
				   const struct criu_resp *resp, const char *fallback)
{
	char msg[PATH_MAX + 600];
	char log_path[PATH_MAX];
	napi_value e;

	snprintf(log_path, sizeof(log_path), "%s/%s", images_dir, log_file);
	snprintf(msg, sizeof(msg), "CRIU dump failed: %s (log: %s)",
		 resp && resp->cr_errmsg[0] ? resp->cr_errmsg : fallback, log_path);
	e = make_error(env, 0, CRAC_ECRIU_DUMP, msg);
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

/* How often a dump's wait looks whether CRIU still runs. */
#define CRIU_WATCH_MS 100

/* Ways wait_for_reply() ends. */
enum reply_wait { REPLY_TIMEOUT, REPLY_READY, REPLY_CRIU_GONE };

/* Whether CRIU, started at `start` (proc_start_time), still runs. */
static int criu_runs(pid_t pid, unsigned long long start)
{
	return proc_alive(pid) && proc_start_time(pid) == start;
}

/*
 * Waits for CRIU's reply: REPLY_READY when it can be read (or the socket closed), REPLY_CRIU_GONE
 * when CRIU (`criu_pid`, started at `criu_start`; no pid: not watched) ended without one (the socket
 * alone would not tell while a fork of CRIU's holds its end), REPLY_TIMEOUT after timeout_ms.
 * Watched by a look at /proc every CRIU_WATCH_MS, not a pidfd: a descriptor held through the
 * dump would be dumped with the app. Time spent frozen by the dump counts too: a long dump may
 * end just as the timeout expires, so the reply gets a short grace before CRIU is taken for hung
 * (it replies as it resumes us; in a restored copy the reply is queued before it resumes).
 */
static enum reply_wait wait_for_reply(int sk, pid_t criu_pid, unsigned long long criu_start, uint32_t timeout_ms)
{
	struct pollfd p = { .fd = sk, .events = POLLIN };
	for (uint64_t waited = 0; waited < (uint64_t)timeout_ms + REPLY_GRACE_MS; waited += CRIU_WATCH_MS) {
		int r = TEMP_FAILURE_RETRY(poll(&p, 1, CRIU_WATCH_MS));
		if (r != 0)
			return REPLY_READY; /* an error: let recv() say what it is */
		if (criu_pid > 0 && !criu_runs(criu_pid, criu_start))
			/* a reply it sent just before is read all the same */
			return TEMP_FAILURE_RETRY(poll(&p, 1, 0)) != 0 ? REPLY_READY : REPLY_CRIU_GONE;
	}
	return REPLY_TIMEOUT;
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
		throw_sys_error(env, CRAC_ECRIU_EXEC, errno, "access", "cannot execute the CRIU binary", a.criu_path);
		goto out;
	}
	rbuf = malloc(rcap);
	if (!rbuf) {
		napi_throw_error(env, CRAC_ENOMEM, "out of memory");
		goto out;
	}

	dirfd = open(a.images_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0) {
		throw_sys_error(env, CRAC_EIO, errno, "open", "cannot open the images directory", a.images_dir);
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
		napi_throw_error(env, CRAC_EIO, "checkpoint(): CRIU request too large");
		goto out;
	}

	/* Unprivileged without $XDG_RUNTIME_DIR: a cache directory of our own (kdat_dir.h). */
	char kdat_env[96];
	envp = criu_environment(a.env, a.env_count, crac_user_kdat_env(kdat_env, sizeof(kdat_env)) == 0 ? kdat_env : NULL);
	if (!envp) {
		napi_throw_error(env, CRAC_ENOMEM, "out of memory");
		goto out;
	}
	sk = start_criu(env, a.criu_path, envp, &criu_pid);
	if (sk < 0)
		goto out;
	n = TEMP_FAILURE_RETRY(send(sk, req, (size_t)req_len, MSG_NOSIGNAL));
	if (n != req_len) {
		throw_sys_error(env, CRAC_EIO, n < 0 ? errno : EIO, "send", "cannot send the dump request to CRIU",
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
	/* CRIU is not our child (no waitpid): it is watched by pid and start time, read while it runs */
	unsigned long long criu_start = criu_pid > 0 ? proc_start_time(criu_pid) : 0;
	enum reply_wait waited = wait_for_reply(sk, criu_pid, criu_start, a.reply_timeout_ms);
	if (waited == REPLY_CRIU_GONE) {
		/* killed, or crashed: its forks may live on, holding the staging directory and the socket */
		stop_criu(criu_pid);
		throw_dump_error(env, a.images_dir, a.log_file, NULL, "CRIU exited without replying");
		goto out;
	}
	if (waited == REPLY_TIMEOUT) {
		/* CRIU hangs: stop it (the process is not frozen, or we would not be here) */
		stop_criu(criu_pid);
		char why[128];
		snprintf(why, sizeof(why), "CRIU did not answer within %u ms and was stopped", a.reply_timeout_ms);
		throw_dump_error(env, a.images_dir, a.log_file, NULL, why);
		goto out;
	}
	n = TEMP_FAILURE_RETRY(recv(sk, rbuf, rcap, MSG_TRUNC));
	if (n < 0) {
		throw_sys_error(env, CRAC_EIO, errno, "recv", "cannot read CRIU's reply", NULL);
		goto out;
	}
	if (n == 0) {
		/* killed, or crashed: its forks may live on, holding the staging directory */
		stop_criu(criu_pid);
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
