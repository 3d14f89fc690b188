/*
 * relay.c - see relay.h.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "relay.h"
#include "base/write_all.h"

int relay_needed(int fd)
{
	struct stat st;
	return fstat(fd, &st) == 0 && (S_ISREG(st.st_mode) || S_ISSOCK(st.st_mode));
}

int relay_open(struct relay *relay)
{
	int ends[2];
	if (pipe2(ends, O_CLOEXEC) != 0)
		return -1;
	relay->read_end = ends[0];
	relay->write_end = ends[1];
	return 0;
}

void relay_install(struct relay *relays, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		dup2(relays[i].write_end, relays[i].fd); /* without close-on-exec: CRIU inherits it */
		close(relays[i].write_end);
		close(relays[i].read_end);
	}
}

int relay_pump(struct relay *relay)
{
	char buffer[65536];
	ssize_t n;
	do
		n = read(relay->read_end, buffer, sizeof(buffer));
	while (n < 0 && errno == EINTR);
	if (n > 0) {
		(void)write_all(relay->fd, buffer, (size_t)n); /* the output is gone: dropped, as it would be */
		return 1;
	}
	if (n < 0 && errno == EAGAIN)
		return 0;
	close(relay->read_end);
	relay->read_end = -1;
	return -1;
}

void relay_drain(struct relay *relays, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		if (relays[i].read_end < 0)
			continue;
		fcntl(relays[i].read_end, F_SETFL, fcntl(relays[i].read_end, F_GETFL) | O_NONBLOCK);
		while (relay_pump(&relays[i]) > 0)
			;
		if (relays[i].read_end >= 0)
			close(relays[i].read_end);
		relays[i].read_end = -1;
	}
}
