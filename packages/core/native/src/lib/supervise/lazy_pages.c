/* lazy_pages.c - the memory server of a working-set restore and, to record one, its relay. See lazy_pages.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/write_all.h"
#include "supervise/lazy_pages.h"

/* The server's nice value (0 is the app's). */
#define LAZY_PAGES_NICE 10

/* How long the server may take to listen: its kernel probe, or the image's pagemaps read. */
#define READY_TIMEOUT_MS 10000

static int unix_address(struct sockaddr_un *address, const char *dir, const char *name)
{
	memset(address, 0, sizeof(*address));
	address->sun_family = AF_UNIX;
	int n = snprintf(address->sun_path, sizeof(address->sun_path), "%s%s%s", dir, name ? "/" : "", name ? name : "");
	return n > 0 && (size_t)n < sizeof(address->sun_path) ? 0 : -1;
}

/* The child's descriptors: the image on 3 (inherited), `keep` moved to 4, 5, ...; every other one closed. */
static void keep_only(const int *keep, int count)
{
	int moved[4];
	for (int i = 0; i < count; i++)
		moved[i] = fcntl(keep[i], F_DUPFD, 100);
	for (int i = 0; i < count; i++)
		if (moved[i] < 0 || dup2(moved[i], 4 + i) != 4 + i)
			_exit(126);
	syscall(SYS_close_range, 4 + count, ~0U, 0);
}

static int read_exactly(int fd, void *buffer, size_t length)
{
	for (size_t done = 0; done < length;) {
		ssize_t n = read(fd, (char *)buffer + done, length - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		done += (size_t)n;
	}
	return 0;
}

/*
 * The relay (record mode): CRIU's restore sends the server, for each process, its pid and then its
 * userfaultfd (one byte with SCM_RIGHTS), and at the end RESTORE_FINISHED (criu/uffd.c). All but
 * the last are passed on. It then holds both connections until it is killed: a server whose
 * restorer hangs up before that message fails (and the app's memory with it).
 */
static void __attribute__((noreturn)) relay(int listening, const char *server_dir)
{
	keep_only(&listening, 1); /* not the app's listening sockets, nor anything else of the supervisor's */
	listening = 4;
	struct sockaddr_un address;
	int from = accept4(listening, NULL, NULL, SOCK_CLOEXEC);
	int to = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (from < 0 || to < 0 || unix_address(&address, server_dir, LAZY_PAGES_SOCKET) != 0 ||
	    connect(to, (struct sockaddr *)&address, sizeof(address)) != 0)
		_exit(1);
	close(listening);
	for (;;) {
		int32_t pid;
		if (read_exactly(from, &pid, sizeof(pid)) != 0)
			break;
		if ((uint32_t)pid == LAZY_PAGES_RESTORE_FINISHED)
			continue; /* held back: nothing goes in the background, every touched page faults */
		if (write_all(to, &pid, sizeof(pid)) != 0)
			_exit(1);
		if (pid < 0) /* a zombie: no userfaultfd follows */
			continue;
		char byte;
		union {
			struct cmsghdr header;
			char space[CMSG_SPACE(sizeof(int))];
		} control;
		struct iovec io = { .iov_base = &byte, .iov_len = 1 };
		struct msghdr message = { .msg_iov = &io, .msg_iovlen = 1, .msg_control = &control, .msg_controllen = sizeof(control) };
		if (recvmsg(from, &message, MSG_CMSG_CLOEXEC) != 1)
			_exit(1);
		struct cmsghdr *c = CMSG_FIRSTHDR(&message);
		if (!c || c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS || c->cmsg_len != CMSG_LEN(sizeof(int)))
			_exit(1);
		int uffd;
		memcpy(&uffd, CMSG_DATA(c), sizeof(uffd));
		message.msg_controllen = sizeof(control);
		if (sendmsg(to, &message, 0) != 1)
			_exit(1);
		close(uffd);
	}
	for (;;)
		pause();
}

static void fail(char *why, size_t len, const char *fmt, const char *detail)
{
	snprintf(why, len, fmt, detail);
}

/* The server's ready byte (CRIU's --status-fd), or why not. */
static int wait_ready(struct lazy_pages *lp, int status_fd, char *why, size_t why_len)
{
	struct pollfd p = { .fd = status_fd, .events = POLLIN };
	int n;
	do
		n = poll(&p, 1, READY_TIMEOUT_MS);
	while (n < 0 && errno == EINTR);
	char byte;
	if (n == 1 && read(status_fd, &byte, 1) == 1)
		return 0;
	if (n == 0) {
		fail(why, why_len, "the lazy-pages server did not listen within %s s", "10");
		return -1;
	}
	int status = 0;
	if (waitpid(lp->server, &status, 0) == lp->server)
		lp->server = 0;
	char detail[48];
	if (WIFSIGNALED(status))
		snprintf(detail, sizeof(detail), "killed by signal %d", WTERMSIG(status));
	else
		snprintf(detail, sizeof(detail), "exit code %d", WEXITSTATUS(status));
	fail(why, why_len, "the lazy-pages server ended before it listened (%s)", detail);
	return -1;
}

int lazy_pages_start(struct lazy_pages *lp, char *why, size_t why_len)
{
	int status[2];
	if (pipe2(status, O_CLOEXEC) != 0) {
		fail(why, why_len, "pipe: %s", strerror(errno));
		return -1;
	}
	lp->server = fork();
	if (lp->server < 0) {
		fail(why, why_len, "fork: %s", strerror(errno));
		return -1;
	}
	if (lp->server == 0) {
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL);
		/* its background copying yields to the app's first requests; a fault the app waits on finds its core idle */
		if (!lp->relay_socket)
			setpriority(PRIO_PROCESS, 0, LAZY_PAGES_NICE);
		int keep[] = { lp->log_fd, status[1] }; /* LAZY_PAGES_LOG_FD, LAZY_PAGES_STATUS_FD */
		keep_only(keep, 2);
		execv(lp->argv[0], lp->argv);
		_exit(127);
	}
	close(status[1]);
	int ready = wait_ready(lp, status[0], why, why_len);
	close(status[0]);
	if (ready != 0 || !lp->relay_socket) {
		if (ready != 0)
			lazy_pages_stop(lp);
		return ready;
	}
	struct sockaddr_un address;
	int listening = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (listening < 0 || unix_address(&address, lp->relay_socket, NULL) != 0 ||
	    bind(listening, (struct sockaddr *)&address, sizeof(address)) != 0 || listen(listening, 1) != 0) {
		fail(why, why_len, "cannot listen for CRIU's restore: %s", strerror(errno));
		if (listening >= 0)
			close(listening);
		lazy_pages_stop(lp);
		return -1;
	}
	lp->relay = fork();
	if (lp->relay == 0)
		relay(listening, lp->server_dir);
	close(listening);
	if (lp->relay < 0) {
		fail(why, why_len, "fork: %s", strerror(errno));
		lazy_pages_stop(lp);
		return -1;
	}
	return 0;
}

int lazy_pages_available(void)
{
	int fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}

void lazy_pages_stop(struct lazy_pages *lp)
{
	pid_t *children[] = { &lp->server, &lp->relay };
	for (size_t i = 0; i < 2; i++) {
		if (*children[i] <= 0)
			continue;
		kill(*children[i], SIGKILL);
		while (waitpid(*children[i], NULL, 0) < 0 && errno == EINTR)
			;
		*children[i] = 0;
	}
}
