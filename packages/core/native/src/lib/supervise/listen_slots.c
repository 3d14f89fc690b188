/*
 * listen_slots.c - see listen_slots.h. Shared by crac-init (--listen) and crac-restore (the
 * manifest's `listeners`).
 */
#define _GNU_SOURCE
#include "supervise/listen_slots.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/exit_codes.h"
#include "supervise/messages.h"

/* Node's default backlog; the app sets its own when it takes the socket over. */
#define LISTEN_BACKLOG 511
/* Where the bound sockets go: above the descriptors the restore uses (stdio, 3, the handoff). */
#define LISTEN_FD_MIN 10

static int bound[LISTEN_SLOTS_MAX];
static int nbound;

void listen_slots_close(void)
{
	for (int i = 0; i < nbound; i++)
		close(bound[i]);
	nbound = 0;
}

int listen_spec_parse(char *spec, struct listen_spec *l)
{
	memset(l, 0, sizeof(*l));
	char *p = spec;
	while (p && *p) {
		/* slot last: its value is the rest of the argument (a path may hold commas) */
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

/* A port as Number() reads it in the app (the TS rule): decimal, blanks around; 0 when not one. */
static int port_number(const char *text)
{
	while (*text == ' ' || *text == '\t')
		text++;
	char *end;
	errno = 0;
	long n = strtol(text, &end, 10);
	while (*end == ' ' || *end == '\t')
		end++;
	if (end == text || *end || errno || n < 1 || n > 65535)
		return 0;
	return (int)n;
}

int listen_spec_of_record(const char *host, int port, const char *port_env, const char *port_env_value, const char *slot,
			  struct listen_spec *l)
{
	memset(l, 0, sizeof(*l));
	if (!host || !*host || port < 1 || port > 65535 || !slot || slot[0] != '/')
		return -1;
	l->host = host;
	l->port = port;
	l->slot = slot;
	int follows = port_env && *port_env && (!port_env_value || port_number(port_env_value) == port);
	if (follows) {
		l->env = port_env;
		l->was = port_env_value;
	}
	return 0;
}

int listen_spec_format(const struct listen_spec *l, char *out, size_t len)
{
	int n = snprintf(out, len, "host=%s,port=%d%s%s%s%s,slot=%s", l->host, l->port, l->env ? ",env=" : "", l->env ? l->env : "",
			 l->was ? ",was=" : "", l->was ? l->was : "", l->slot);
	return n >= 0 && (size_t)n < len ? 0 : -1;
}

/* The port to bind: the recorded one, or the variable's new value; 0: bind nothing. */
static int listen_port(const struct listen_spec *l)
{
	const char *now = l->env ? getenv(l->env) : NULL;
	if (!now || (l->was && strcmp(now, l->was) == 0))
		return l->port;
	/* anything but a port is the app's to refuse */
	return port_number(now);
}

/* Binds and listens as `l` says: the socket's descriptor (inherited by CRIU), or -1. */
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

char **listen_slots_bind(char **criu_argv, const struct listen_spec *specs, int count)
{
	int n = 0;
	while (criu_argv[n])
		n++;
	if (count > LISTEN_SLOTS_MAX)
		count = LISTEN_SLOTS_MAX;
	char **out = calloc((size_t)n + 2 * (size_t)count + 1, sizeof(*out));
	if (!out) {
		supervise_msg("out of memory");
		exit(EXIT_RESTORE_FAILED);
	}
	memcpy(out, criu_argv, sizeof(*out) * (size_t)n);
	for (int i = 0; i < count; i++) {
		int fd = bind_listener(&specs[i]);
		if (fd < 0) {
			/* /dev/null in the slot's place (CRIU could not open the slot file by the name it had
			 * at the dump): the app finds no socket there and listens itself */
			int null_fd = open("/dev/null", O_RDONLY);
			fd = null_fd < 0 ? -1 : fcntl(null_fd, F_DUPFD, LISTEN_FD_MIN);
			if (null_fd >= 0)
				close(null_fd);
			if (fd < 0) {
				supervise_msg("cannot open /dev/null: %s", strerror(errno));
				exit(EXIT_RESTORE_FAILED);
			}
		}
		/* CRIU names inherited files by path without the leading slash */
		char *arg;
		if (asprintf(&arg, "fd[%d]:%s", fd, specs[i].slot + 1) < 0) {
			supervise_msg("out of memory");
			exit(EXIT_RESTORE_FAILED);
		}
		out[n++] = "--inherit-fd";
		out[n++] = arg;
		bound[nbound++] = fd;
	}
	return out;
}
