/*
 * write_all.h - writes a whole buffer, across short writes and signals.
 */
#ifndef CRAC_WRITE_ALL_H
#define CRAC_WRITE_ALL_H

#include <errno.h>
#include <stddef.h>
#include <unistd.h>

/* 0 once all of buf[0..len) is written; -1 when the descriptor takes no more (errno says why). */
static inline int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

#endif
