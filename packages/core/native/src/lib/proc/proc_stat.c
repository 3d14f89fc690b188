/* proc_stat.c - see proc_stat.h. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proc/proc_stat.h"

/*
 * /proc/PID/stat read into buf, from the ") " that ends the command name (which may hold spaces
 * and parentheses) on: the state is p[2]; NULL when the process is gone.
 */
static const char *proc_stat_fields(long pid, char *buf, size_t size)
{
	char path[32];
	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	ssize_t n = read(fd, buf, size - 1);
	close(fd);
	if (n <= 0)
		return NULL;
	buf[n] = '\0';
	const char *paren = strrchr(buf, ')');
	return paren && paren[1] == ' ' ? paren : NULL;
}

/* Field `field` (1-based, as proc(5) numbers them; 3 or later) of `pid`'s stat line, or NULL. */
static const char *proc_stat_field(long pid, int field, char *buf, size_t size)
{
	const char *p = proc_stat_fields(pid, buf, size);
	for (int at = 2; p && at < field; at++)
		p = strchr(p + 1, ' ');
	return p ? p + 1 : NULL;
}

int proc_alive(long pid)
{
	char buf[512];
	const char *state = proc_stat_field(pid, 3, buf, sizeof(buf));
	return state && *state != 'Z';
}

unsigned long long proc_start_time(pid_t pid)
{
	char buf[1024];
	const char *start = proc_stat_field(pid, 22, buf, sizeof(buf));
	return start ? strtoull(start, NULL, 10) : 0;
}

pid_t proc_session(pid_t pid)
{
	char buf[512];
	const char *session = proc_stat_field(pid, 6, buf, sizeof(buf));
	return session ? (pid_t)strtol(session, NULL, 10) : -1;
}

pid_t proc_parent(pid_t pid)
{
	char buf[512];
	const char *parent = proc_stat_field(pid, 4, buf, sizeof(buf));
	return parent ? (pid_t)strtol(parent, NULL, 10) : -1;
}
