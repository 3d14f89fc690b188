/*
 * criu_rpc.h - a minimal, dependency-free encoder/decoder for the few
 * protobuf messages of CRIU's RPC protocol ("criu swrk <fd>") that crac-node
 * needs. Field numbers are taken from CRIU's images/rpc.proto (CRIU 4.2.1).
 *
 * Wire format reminder: every field is a varint key (field_number << 3 |
 * wire_type) followed by the value; wire type 0 = varint, 1 = 64-bit,
 * 2 = length-delimited (strings, sub-messages), 5 = 32-bit.
 * CRIU's swrk speaks one message per SOCK_SEQPACKET datagram, no framing.
 */
#ifndef CRAC_CRIU_RPC_H
#define CRAC_CRIU_RPC_H

#include <stddef.h>
#include <stdint.h>

/* criu_req_type (rpc.proto): the only request crac-node sends. */
enum {
	CRIU_REQ_DUMP = 1,
};

/* Options of a DUMP request: the subset of message criu_opts crac-node sets.
 * A false bool or a NULL string is left out of the message (CRIU's default).
 * pid (2) is never sent: CRIU then dumps the socket's peer (SO_PEERCRED), a
 * self-dump; with an explicit pid it logs a spurious error after the dump. */
struct criu_dump_opts {
	int32_t images_dir_fd;        /* criu_opts.images_dir_fd = 1 (required) */
	int leave_running;            /* criu_opts.leave_running = 3  */
	int shell_job;                /* criu_opts.shell_job     = 7  */
	int32_t log_level;            /* criu_opts.log_level     = 9  */
	const char *log_file;         /* criu_opts.log_file      = 10 */
	const char *config_file;      /* criu_opts.config_file   = 51 */
	int unprivileged;             /* criu_opts.unprivileged  = 67: a non-root CRIU (file capabilities) */
};

/* Decoded message criu_resp (only the fields crac-node reads). */
struct criu_resp {
	int32_t type;                 /* criu_resp.type      = 1 (criu_req_type) */
	int success;                  /* criu_resp.success   = 2 */
	int has_dump;                 /* criu_resp.dump      = 3 (criu_dump_resp) */
	int dump_restored;            /*   criu_dump_resp.restored = 1 */
	int has_cr_errno;
	int32_t cr_errno;             /* criu_resp.cr_errno  = 7 */
	char cr_errmsg[512];          /* criu_resp.cr_errmsg = 9 (truncated, NUL-terminated) */
};

/*
 * Encode criu_req { type = DUMP (1), opts (2) = <o> } into buf.
 * Returns the encoded length, or -1 if buf (of size cap) is too small.
 */
int criu_rpc_encode_dump_req(const struct criu_dump_opts *o, uint8_t *buf, size_t cap);

/*
 * Decode a criu_resp message. Unknown fields are skipped.
 * Returns 0 on success, -1 on a malformed message.
 */
int criu_rpc_decode_resp(const uint8_t *buf, size_t len, struct criu_resp *out);

#endif
