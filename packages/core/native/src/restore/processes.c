/* processes.c - processes as /proc/PID/stat shows them. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "restore.h"

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

/* /proc/PID/stat: 'alive' (1), a zombie or gone (0). */
int alive(long pid)
{
	char buf[512];
	const char *p = proc_stat_fields(pid, buf, sizeof(buf));
	return p && p[2] != 'Z';
}

/* Field 22 of /proc/PID/stat (start time): the same pid with the same start time is the same process. */
unsigned long long start_time(pid_t pid)
{
	char buf[1024];
	const char *p = proc_stat_fields(pid, buf, sizeof(buf));
	for (int field = 2; p && field < 22; field++)
		p = strchr(p + 1, ' ');
	return p ? strtoull(p + 1, NULL, 10) : 0;
}

