/*
 * manifest.h - an image's manifest (crac-manifest.json) as the native programs read it: opened
 * through the image directory's descriptor, bounded, parsed by json.c into struct manifest. The
 * one reader of the format: TypeScript reads a manifest through crac.node's readManifest().
 */
#ifndef CRAC_IMAGE_MANIFEST_H
#define CRAC_IMAGE_MANIFEST_H

#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

#include "base/crac_error.h"
#include "crac/layout.h"
#include "json/json.h"

/* The largest manifest read (a real one is about 15 KiB): anything bigger is refused unread. */
#define MAX_MANIFEST_BYTES (1 << 20)
/* At most this many listeners a manifest (one per server of the app). */
#define MANIFEST_MAX_LISTENERS 64

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
	int has_working_set; /* crac checkpoint --working-set: its pages eager, the other `lazy_pages` lazily */
	long long working_set_pages, lazy_pages;
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

/*
 * Reads the manifest of the image directory open on `dir_fd` (`dir` names it in messages): -1 and
 * CRAC_EIMAGE in `error` when it is missing, not a small regular file, unreadable or damaged.
 * `st` is what fstat said of the manifest's descriptor.
 */
int read_manifest_at(int dir_fd, const char *dir, struct manifest *manifest, struct stat *st, struct crac_error *error);
/* The manifest's text, m->text[0..length) (malloc'd, taken by `m`, parsed in place), read into `m`:
 * 0, or -1 and CRAC_EIMAGE. read_manifest_at() reads the file, then this; the fuzz target calls it. */
int parse_manifest(struct manifest *m, size_t length, const char *dir, struct crac_error *error);
void free_manifest(struct manifest *manifest);

/* mtimeMs/ctimeMs as Node computes them (sec * 1e3 + nsec / 1e6): the manifest records these. */
static inline double crac_ms(struct timespec ts)
{
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

#endif
