/*
 * image.h - the image format as the native restorer reads it: the directory opened once and
 * checked (image_dir.c), the manifest (manifest.c), the seal (seal_verify.c), the host and the
 * binaries the image was made with (host_check.c). The TypeScript writer of the same format is
 * packages/core/src/image/ (layout.ts names every file).
 */
#ifndef CRAC_IMAGE_H
#define CRAC_IMAGE_H

#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "crac_error.h"
#include "json.h"

/* layout.ts */
#define MANIFEST_FILE "crac-manifest.json"
#define RESTORE_LOG "restore.log"
#define IMAGES_DIR_FD 3
#define HANDOFF_FD 4
/* The largest manifest read (a real one is about 15 KiB): anything bigger is refused unread. */
#define MAX_MANIFEST_BYTES (1 << 20)

struct stdio_record {
	int fd;
	const char *kind; /* tty pipe file socket null closed other */
	const char *target;
};

/* A TCP listening socket the app handed over for the dump (manifest.ts ListenerRecord, format 3). */
struct listener_record {
	const char *host;
	int port;
	const char *port_env;       /* NULL: the port never follows a variable */
	const char *port_env_value; /* NULL: the variable was unset at the checkpoint */
	const char *slot;           /* the slot file, absolute, as named at the dump */
};

struct binary_record {
	const char *path;
	const char *role; /* node addon preload library */
	double size, mtime_ms, dev, ino, ctime_ms;
	const char *sha256; /* NULL for libraries */
};

struct sealed_file {
	const char *name;
	double size, dev, ino, mtime_ms, ctime_ms;
	const char *sha256;
};

struct manifest {
	int format;
	long pid;
	long *ids;
	size_t nids;
	const char *node_version, *node_exec_path;
	const char *criu_path, *criu_version;
	const char *images_dir;
	const char *handoff; /* NULL when none */
	struct listener_record *listeners;
	size_t nlisteners;
	struct stdio_record stdio[3];
	size_t nstdio;
	int has_host;
	const char *host_arch, *host_kernel;
	const char **cpu_flags;
	size_t ncpu_flags;
	struct binary_record *binaries;
	size_t nbinaries;
	const char *seal_algorithm; /* NULL: not sealed */
	struct sealed_file *files;
	size_t nfiles;
	/* storage */
	char *text;  /* parsed in place: its strings are the fields above */
	char *raw;   /* the file's text as read (for the seal step, which rewrites it) */
	size_t raw_len;
	struct json_arena arena;
};

/* An image directory opened once and checked, and its manifest read through it. */
struct image {
	const char *dir; /* as given (absolute), for messages */
	int fd;          /* O_RDONLY | O_DIRECTORY | O_NOFOLLOW */
	struct manifest manifest;
};

/* image_dir.c: what may own what a user restores (ownership.ts). */
const char *describe_owner(uid_t uid, char *buf, size_t len);
int file_unsafety(const struct stat *st, uid_t uid); /* 0, 'o' (owner) or 'w' (writable) */
int open_image_dir(const char *dir, uid_t uid, struct crac_error *error);
/* open_image_dir, then the manifest through it (open.ts openImage). -1 and `error` when refused. */
int open_image(const char *dir, struct image *image, struct crac_error *error);
void close_image(struct image *image);

/* manifest.c */
int read_manifest_at(int dir_fd, const char *dir, struct manifest *manifest, struct stat *st, struct crac_error *error);
void free_manifest(struct manifest *manifest);
/* The sealed file (or the manifest) as fstat'ed through its descriptor: the same owner rules (seal.ts). */
int assert_sealed_file(const char *dir, const char *name, const struct stat *st, uid_t uid, const char *code, struct crac_error *error);

/* seal_verify.c */
struct seal_check {
	size_t files, hashed;
	unsigned long long bytes_hashed;
};
int verify_seal(const struct image *image, int full, struct seal_check *check, struct crac_error *error);

/* host_check.c: the host and binaries (verify.ts). Warnings are appended to `warnings`, one a line. */
int verify_host_and_binaries(const struct image *image, const char *criu_version, char *warnings, size_t warnings_len,
			     struct crac_error *error);

/* mtimeMs/ctimeMs as Node computes them (sec * 1e3 + nsec / 1e6): the manifest records these. */
static inline double crac_ms(struct timespec ts)
{
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

#endif
