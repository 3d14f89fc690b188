/*
 * listeners.c - holdListeners(fds) / reclaimListeners(token): listening sockets kept bound
 * through a checkpoint without being in the image.
 *
 * CRIU dumps every descriptor the process holds, and refuses a listening socket whose accept
 * queue is not empty ("In-flight connection (l)", sk-inet.c; --skip-in-flight would reset those
 * clients). Closing the listener instead refuses every client for the whole checkpoint. So the
 * listening sockets are handed to a holder outside the dumped tree, the app closes its own
 * descriptors (its server's drain), and the kernel keeps the sockets listening: clients that
 * connect meanwhile wait in the backlog. After the dump the original takes them back and
 * listens on them again; a restored copy never gets them (it listens anew, or on the socket its
 * restorer bound: crac-init --listen).
 *
 * The holder: a double fork (as CRIU's in checkpoint.c: a grandchild, the middle child reaped,
 * so nothing of it is in the image), which gets the sockets by inheriting the fd table, closes
 * everything else, ignores signals, leaves the session, and waits on
 *  - an abstract unix socket "\0crac-listeners-<pid>-<random>" (SOCK_SEQPACKET): the first
 *    connection from the app's own pid and uid (SO_PEERCRED) is sent the sockets (SCM_RIGHTS,
 *    in the order given), then the holder exits; anyone else is hung up on;
 *  - a pidfd of the app: when the app ends (killed by CRIU after a dump without leave-running,
 *    or any other way), the holder exits and the sockets close with it. Without pidfd_open
 *    (Linux < 5.3) the holder looks every 200 ms.
 * The app holds nothing of the holder during the dump: the name (the token) is only in its
 * memory. A restored copy in a pid namespace has another pid as seen by the holder, and is
 * refused; one outside a namespace runs only once the original has ended, holder with it.
 * Contract: README-native.md.
 */
#define _GNU_SOURCE
#include "exports.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef SYS_close_range
#define SYS_close_range 436
#endif
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

/* More than any app has servers; SCM_RIGHTS takes up to 253. */
#define MAX_LISTENERS 64
/* The token: hex of this many random bytes, after the pid. */
#define TOKEN_RANDOM_BYTES 12
/* How long reclaimListeners() waits for the holder's answer. */
#define RECLAIM_TIMEOUT_MS 5000
/* Without a pidfd: how often the holder looks whether the app still runs. */
#define PID_POLL_MS 200

#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
#define crac_fork _Fork
#else
#define crac_fork fork
#endif

/* The abstract address of token `token`; returns its length for bind/connect. */
static socklen_t holder_address(const char *token, struct sockaddr_un *addr)
{
	memset(addr, 0, sizeof(*addr));
	addr->sun_family = AF_UNIX;
	int n = snprintf(addr->sun_path + 1, sizeof(addr->sun_path) - 1, "crac-listeners-%s", token);
	return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n);
}

static int cmp_int(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

/* Closes every fd but the `n` sorted ones in `keep` (async-signal-safe). */
static void close_all_but(const int *keep, int n, int maxfd)
{
	int from = 0;
	for (int i = 0; i <= n; i++) {
		int to = i < n ? keep[i] - 1 : INT_MAX; /* close [from, to] */
		if (to >= from) {
			if (syscall(SYS_close_range, (unsigned)from, to == INT_MAX ? ~0U : (unsigned)to, 0) != 0) {
				int last = to < maxfd ? to : maxfd;
				for (int fd = from; fd <= last; fd++)
					close(fd);
			}
		}
		if (i < n)
			from = keep[i] + 1;
	}
}

/* Sends the sockets on `c` in one message; 0 when sent. */
static int send_listeners(int c, const int *fds, int n)
{
	char byte = 'L';
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	union {
		char buf[CMSG_SPACE(sizeof(int) * MAX_LISTENERS)];
		struct cmsghdr align;
	} u;
	struct msghdr m;
	memset(&m, 0, sizeof(m));
	memset(&u, 0, sizeof(u));
	m.msg_iov = &iov;
	m.msg_iovlen = 1;
	m.msg_control = u.buf;
	m.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)n);
	struct cmsghdr *h = CMSG_FIRSTHDR(&m);
	h->cmsg_level = SOL_SOCKET;
	h->cmsg_type = SCM_RIGHTS;
	h->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)n);
	memcpy(CMSG_DATA(h), fds, sizeof(int) * (size_t)n);
	return sendmsg(c, &m, MSG_NOSIGNAL) == 1 ? 0 : -1;
}

/*
 * The holder: a fork of a multi-threaded process, so only async-signal-safe calls. Everything it
 * needs was prepared before the fork. Never returns.
 */
static void __attribute__((noreturn)) run_holder(int ls, const int *fds, int n, const int *keep, int nkeep, pid_t app,
						  uid_t uid, int maxfd)
{
	struct sigaction sa;
	sigset_t empty;
	memset(&sa, 0, sizeof(sa));
	/* A Ctrl-C or kill meant for the app's group must not drop the sockets: the holder ends with the app. */
	sa.sa_handler = SIG_IGN;
	for (int sig = 1; sig < NSIG; sig++)
		sigaction(sig, &sa, NULL);
	sigemptyset(&empty);
	sigprocmask(SIG_SETMASK, &empty, NULL);
	setsid();
	close_all_but(keep, nkeep, maxfd);

	int pidfd = (int)syscall(SYS_pidfd_open, app, 0);
	if (pidfd < 0 && errno == ESRCH)
		_exit(0);
	for (;;) {
		struct pollfd p[2] = { { .fd = ls, .events = POLLIN }, { .fd = pidfd, .events = POLLIN } };
		int r = poll(p, pidfd >= 0 ? 2 : 1, pidfd >= 0 ? -1 : PID_POLL_MS);
		if (pidfd >= 0 ? (p[1].revents != 0) : (kill(app, 0) != 0 && errno == ESRCH))
			_exit(0);
		if (r <= 0 || !(p[0].revents & POLLIN))
			continue;
		int c = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
		if (c < 0)
			continue;
		struct ucred cred;
		socklen_t len = sizeof(cred);
		if (getsockopt(c, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0 && cred.pid == app && cred.uid == uid &&
		    send_listeners(c, fds, n) == 0)
			_exit(0); /* the sockets are the app's again: ours close with us */
		close(c);
	}
}

/* Reads the array of fds (listening sockets) of argument 0; -1 with an exception pending. */
static int parse_fds(napi_env env, napi_callback_info info, int *fds, int *n)
{
	size_t argc = 1;
	napi_value argv[1];
	bool is_array = false;
	uint32_t len = 0;
	if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok)
		return throw_last_napi_error(env), -1;
	if (argc < 1 || napi_is_array(env, argv[0], &is_array) != napi_ok || !is_array ||
	    napi_get_array_length(env, argv[0], &len) != napi_ok || len == 0 || len > MAX_LISTENERS)
		return throw_type_error(env, "ERR_INVALID_ARG_TYPE",
					"holdListeners(%s): expected an array of 1 to 64 descriptors", "fds"),
		       -1;
	for (uint32_t i = 0; i < len; i++) {
		napi_value v;
		int32_t fd = -1;
		if (napi_get_element(env, argv[0], i, &v) != napi_ok || napi_get_value_int32(env, v, &fd) != napi_ok ||
		    fd < 0)
			return throw_type_error(env, "ERR_INVALID_ARG_TYPE",
						"holdListeners(): descriptor %s is not a non-negative integer", "fds[i]"),
			       -1;
		int listening = 0;
		socklen_t l = sizeof(listening);
		errno = 0;
		if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &l) != 0 || !listening) {
			char what[64];
			snprintf(what, sizeof(what), "descriptor %d is not a listening socket", fd);
			throw_sys_error(env, CRAC_EINVAL, errno ? errno : EINVAL, "getsockopt", what, NULL);
			return -1;
		}
		fds[i] = fd;
	}
	*n = (int)len;
	return 0;
}

napi_value js_hold_listeners(napi_env env, napi_callback_info info)
{
	int fds[MAX_LISTENERS], keep[MAX_LISTENERS + 1], n = 0, maxfd = 65536, st;
	unsigned char rnd[TOKEN_RANDOM_BYTES];
	char token[64];
	struct sockaddr_un addr;
	struct rlimit rl;

	if (parse_fds(env, info, fds, &n))
		return NULL;
	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd)) {
		throw_sys_error(env, CRAC_EIO, errno, "getrandom", "cannot name the listener holder", NULL);
		return NULL;
	}
	int k = snprintf(token, sizeof(token), "%d-", (int)getpid());
	for (size_t i = 0; i < sizeof(rnd); i++)
		k += snprintf(token + k, sizeof(token) - (size_t)k, "%02x", rnd[i]);

	int ls = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (ls < 0) {
		throw_sys_error(env, CRAC_EIO, errno, "socket", "cannot create the listener holder's socket", NULL);
		return NULL;
	}
	socklen_t alen = holder_address(token, &addr);
	if (bind(ls, (struct sockaddr *)&addr, alen) != 0 || listen(ls, 4) != 0) {
		throw_sys_error(env, CRAC_EIO, errno, "bind", "cannot create the listener holder's socket", NULL);
		close(ls);
		return NULL;
	}
	/* Prepared before the fork: the holder may only call async-signal-safe functions. */
	memcpy(keep, fds, sizeof(int) * (size_t)n);
	keep[n] = ls;
	qsort(keep, (size_t)n + 1, sizeof(int), cmp_int);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < INT_MAX)
		maxfd = (int)rl.rlim_cur;
	pid_t app = getpid();
	uid_t uid = getuid();

	pid_t mid = crac_fork();
	if (mid < 0) {
		throw_sys_error(env, CRAC_EIO, errno, "fork", "cannot start the listener holder", NULL);
		close(ls);
		return NULL;
	}
	if (mid == 0) {
		pid_t g = crac_fork();
		if (g == 0)
			run_holder(ls, fds, n, keep, n + 1, app, uid, maxfd);
		_exit(g < 0 ? 1 : 0);
	}
	close(ls);
	/* Reap the middle child: no zombie in the image. ECHILD: SIGCHLD ignored, the kernel reaped it. */
	if (TEMP_FAILURE_RETRY(waitpid(mid, &st, 0)) < 0)
		st = 0;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		throw_sys_error(env, CRAC_EIO, EAGAIN, "fork", "cannot start the listener holder", NULL);
		return NULL;
	}
	return make_string(env, token);
}

napi_value js_reclaim_listeners(napi_env env, napi_callback_info info)
{
	size_t argc = 1;
	napi_value argv[1], out = NULL;
	char token[64];
	size_t tlen = 0;
	struct sockaddr_un addr;
	napi_valuetype t;

	if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok)
		return throw_last_napi_error(env), NULL;
	if (argc < 1 || napi_typeof(env, argv[0], &t) != napi_ok || t != napi_string ||
	    napi_get_value_string_utf8(env, argv[0], token, sizeof(token), &tlen) != napi_ok || tlen == 0 ||
	    tlen >= sizeof(token) - 1)
		return throw_type_error(env, "ERR_INVALID_ARG_TYPE", "reclaimListeners(%s): expected a token string",
					"token");

	int s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (s < 0) {
		throw_sys_error(env, CRAC_EIO, errno, "socket", "cannot reach the listener holder", NULL);
		return NULL;
	}
	socklen_t alen = holder_address(token, &addr);
	if (TEMP_FAILURE_RETRY(connect(s, (struct sockaddr *)&addr, alen)) != 0) {
		throw_sys_error(env, CRAC_EIO, errno, "connect", "cannot reach the listener holder (did it end?)", NULL);
		close(s);
		return NULL;
	}
	struct pollfd p = { .fd = s, .events = POLLIN };
	if (TEMP_FAILURE_RETRY(poll(&p, 1, RECLAIM_TIMEOUT_MS)) <= 0) {
		throw_sys_error(env, CRAC_EIO, ETIMEDOUT, "poll", "the listener holder did not answer", NULL);
		close(s);
		return NULL;
	}
	char byte;
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	union {
		char buf[CMSG_SPACE(sizeof(int) * MAX_LISTENERS)];
		struct cmsghdr align;
	} u;
	struct msghdr m;
	memset(&m, 0, sizeof(m));
	m.msg_iov = &iov;
	m.msg_iovlen = 1;
	m.msg_control = u.buf;
	m.msg_controllen = sizeof(u.buf);
	ssize_t r = TEMP_FAILURE_RETRY(recvmsg(s, &m, MSG_CMSG_CLOEXEC));
	int e = errno;
	close(s);
	struct cmsghdr *h = r == 1 ? CMSG_FIRSTHDR(&m) : NULL;
	if (!h || h->cmsg_level != SOL_SOCKET || h->cmsg_type != SCM_RIGHTS) {
		throw_sys_error(env, CRAC_EIO, r < 0 ? e : EPROTO, "recvmsg",
				"the listener holder sent no sockets (refused: not the process that handed them over?)",
				NULL);
		return NULL;
	}
	size_t count = (h->cmsg_len - CMSG_LEN(0)) / sizeof(int);
	int got[MAX_LISTENERS];
	memcpy(got, CMSG_DATA(h), sizeof(int) * count);
	if (napi_create_array_with_length(env, count, &out) != napi_ok) {
		for (size_t i = 0; i < count; i++)
			close(got[i]);
		return throw_last_napi_error(env), NULL;
	}
	for (size_t i = 0; i < count; i++) {
		napi_value v;
		napi_create_int32(env, got[i], &v);
		napi_set_element(env, out, (uint32_t)i, v);
	}
	return out;
}
