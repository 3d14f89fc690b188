/*
 * listen_slots.h - the app's listening sockets bound by its restorer before CRIU runs (crac-init
 * --listen, crac-restore for a manifest's `listeners`; PROTOCOL.md, "Listening sockets"). A client
 * that connects while the restore runs waits in the backlog instead of being refused, and CRIU
 * puts the socket in place of the descriptor the app held on the slot file (`--inherit-fd`).
 */
#ifndef CRAC_LISTEN_SLOTS_H
#define CRAC_LISTEN_SLOTS_H

#include <stddef.h>

/* At most this many (one per server of the app). */
#define LISTEN_SLOTS_MAX 64

/*
 * One listener to bind. The port is `port`, unless `env` is set and the environment (the
 * restoring one) gives that variable a value other than `was` (NULL: it was unset at the
 * checkpoint): then that value, which must be a decimal port 1-65535 (else nothing is bound). The
 * same rule as the app's server (packages/core/src/http/server-resource.ts).
 */
struct listen_spec {
	const char *host; /* numeric IPv4 or IPv6 address */
	int port;
	const char *env, *was;
	const char *slot; /* the slot file, absolute, as named at the dump */
};

/* Parses crac-init's `--listen host=…,port=…[,env=…[,was=…]],slot=…` in place; 0 when well-formed. */
int listen_spec_parse(char *spec, struct listen_spec *l);

/*
 * The spec of a listener of the manifest : `env` only for a
 * server that follows its port variable (it listened on the variable's value at the checkpoint,
 * or the variable was unset). 0, or -1 when the record cannot be one (no host, port, slot).
 */
int listen_spec_of_record(const char *host, int port, const char *port_env, const char *port_env_value, const char *slot,
			  struct listen_spec *l);

/* The spec as crac-init's `--listen` takes it (listen_spec_parse reads it back): 0, or -1 when `out` is too small. */
int listen_spec_format(const struct listen_spec *l, char *out, size_t len);

/*
 * Binds and listens for each spec (SO_REUSEADDR, backlog 511), and returns CRIU's argv with
 * `--inherit-fd fd[K]:<slot>` appended for each: the socket, or /dev/null when it could not be
 * bound (CRIU could not open the slot by its dump-time name; the app finds no socket there and
 * listens itself). The descriptors are kept (inherited by CRIU) until listen_slots_close().
 * Exits 125 (EXIT_RESTORE_FAILED) when out of memory or without /dev/null.
 */
char **listen_slots_bind(char **criu_argv, const struct listen_spec *specs, int count);

/* Closes this process's descriptors of the bound sockets: once CRIU is done (the app has its own
 * then), so that nothing but the app keeps them listening, or in a process that forked the one
 * running CRIU. */
void listen_slots_close(void);

#endif
