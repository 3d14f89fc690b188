/*
 * sha256.h - SHA-256 (FIPS 180-4), written from the specification: the image seal and the
 * identity of binaries use it, and the native restorer needs it without a crypto library.
 */
#ifndef CRAC_SHA256_H
#define CRAC_SHA256_H

#include <stddef.h>
#include <stdint.h>

struct sha256 {
	uint32_t state[8];
	uint64_t length; /* bytes hashed so far */
	uint8_t block[64];
	size_t used; /* bytes of `block` filled */
};

void sha256_init(struct sha256 *ctx);
void sha256_update(struct sha256 *ctx, const void *data, size_t len);
/* The digest as 64 lowercase hex digits and a NUL, as sha256sum prints it. */
void sha256_hex(struct sha256 *ctx, char out[65]);

/*
 * SHA-256 of the file open on `fd`, read from offset 0 with pread (the descriptor's position is
 * left alone) through `buf` of `buf_len` bytes. Returns 0, or -1 with errno set by the read.
 */
int sha256_fd(int fd, void *buf, size_t buf_len, char out[65]);

#endif
