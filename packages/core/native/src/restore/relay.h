/*
 * relay.h - the app's output carried through a pipe of crac-restore's, where CRIU cannot hand the
 * app crac restore's own descriptor.
 *
 * An app checkpointed with stdout or stderr on a pipe gets, through `--inherit-fd`, the
 * restorer's descriptor in that pipe's place; but CRIU reopens an inherited pipe through
 * /proc/self/fd/N (criu/pipes.c, reopen_pipe): for a regular file that is a new open file at
 * offset 0 (the app writes over the log it is given, from its first byte: `crac restore DIR >>
 * app.log` loses the log), and a socket (systemd's journal) cannot be reopened at all. There the
 * app gets a pipe, as it had, and crac-restore copies what comes out of it to its own descriptor.
 */
#ifndef CRAC_RELAY_H
#define CRAC_RELAY_H

#include <stddef.h>

#define RELAY_MAX 2

struct relay {
	int fd;	       /* crac restore's descriptor the app's output goes to (1 or 2) */
	int read_end;  /* what the app writes arrives here; -1 once at its end */
	int write_end; /* put on `fd` for CRIU, in the supervisor; closed in crac-restore */
};

/* Whether the app's output on crac restore's descriptor `fd` must be relayed (a regular file or a socket). */
int relay_needed(int fd);

/* A pipe for the relay of `relay->fd` (both ends close-on-exec). 0, or -1 with errno. */
int relay_open(struct relay *relay);

/* In the supervisor, before CRIU runs: each relay's write end on its descriptor, the read ends closed. */
void relay_install(struct relay *relays, size_t count);

/* Copies what is ready on `relay` to its descriptor: 1 copied, 0 nothing yet, -1 at its end (read end closed). */
int relay_pump(struct relay *relay);

/* Copies what is left, without waiting for writers that may outlive the app. */
void relay_drain(struct relay *relays, size_t count);

#endif
