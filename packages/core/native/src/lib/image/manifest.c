/*
 * manifest.c - reads an image's manifest (crac-manifest.json, written by manifest.ts) through the
 * descriptor of its directory: opened without following a symbolic link and without blocking,
 * checked to be a regular file of at most MAX_MANIFEST_BYTES before a byte is read (a FIFO or a
 * huge file is refused at once), then parsed by json.c into struct manifest.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "image/manifest.h"

static const char *file_kind(mode_t mode)
{
	if (S_ISFIFO(mode))
		return "a FIFO";
	if (S_ISDIR(mode))
		return "a directory";
	if (S_ISSOCK(mode))
		return "a socket";
	if (S_ISCHR(mode) || S_ISBLK(mode))
		return "a device";
	return "not a regular file";
}

/* Field readers: each sets `why` (the first missing or mistyped field) and returns -1. */
struct fields {
	char why[160];
};

static const char *need_string(const struct json *object, const char *key, const char *where, struct fields *f)
{
	const char *s = json_string(json_get(object, key));
	if (!s && !f->why[0])
		snprintf(f->why, sizeof(f->why), "%s%s is not a string", where, key);
	return s;
}

static double need_number(const struct json *object, const char *key, const char *where, struct fields *f)
{
	double d = 0;
	if (!json_number(json_get(object, key), &d) && !f->why[0])
		snprintf(f->why, sizeof(f->why), "%s%s is not a number", where, key);
	return d;
}

static const struct json *need(const struct json *object, const char *key, enum json_type type, struct fields *f)
{
	const struct json *v = json_get(object, key);
	if ((!v || v->type != type) && !f->why[0])
		snprintf(f->why, sizeof(f->why), "%s is not an %s", key, type == JSON_ARRAY ? "array" : "object");
	return v && v->type == type ? v : NULL;
}

static void parse_fields(const struct json *root, struct manifest *m, struct fields *f)
{
	const struct json *ids = need(root, "ids", JSON_ARRAY, f);
	if (ids) {
		m->ids = calloc(ids->count + 1, sizeof(long));
		for (const struct json *id = ids->first; id && m->ids; id = id->next) {
			double d;
			if (!json_number(id, &d) || d <= 0 || d > INT_MAX || d != (double)(long)d) {
				snprintf(f->why, sizeof(f->why), "ids holds something else than a pid");
				return;
			}
			m->ids[m->nids++] = (long)d;
		}
	}
	const struct json *node = need(root, "node", JSON_OBJECT, f);
	m->node_version = need_string(node, "version", "node.", f);
	m->node_exec_path = need_string(node, "execPath", "node.", f);
	const struct json *criu = need(root, "criu", JSON_OBJECT, f);
	m->criu_path = need_string(criu, "path", "criu.", f);
	m->criu_version = need_string(criu, "version", "criu.", f);
	m->images_dir = need_string(root, "imagesDir", "", f);
	const struct json *handoff = json_get(root, "handoff");
	if (handoff && handoff->type != JSON_NULL)
		m->handoff = need_string(root, "handoff", "", f);
	/* format 3: absent, or an array of records (their slots must be replaced at restore) */
	const struct json *listeners = json_get(root, "listeners");
	if (listeners && listeners->type != JSON_NULL) {
		listeners = need(root, "listeners", JSON_ARRAY, f);
		if (listeners)
			m->listeners = calloc(listeners->count + 1, sizeof(*m->listeners));
		for (const struct json *e = listeners ? listeners->first : NULL; e && m->listeners; e = e->next) {
			struct listener_record *r = &m->listeners[m->nlisteners++];
			r->host = need_string(e, "host", "listeners[].", f);
			double port = need_number(e, "port", "listeners[].", f);
			r->slot = need_string(e, "slot", "listeners[].", f);
			const struct json *env = json_get(e, "portEnv"), *value = json_get(e, "portEnvValue");
			if (env)
				r->port_env = need_string(e, "portEnv", "listeners[].", f);
			if (value)
				r->port_env_value = need_string(e, "portEnvValue", "listeners[].", f);
			if (f->why[0])
				return;
			if (port < 1 || port > 65535 || port != (double)(int)port)
				snprintf(f->why, sizeof(f->why), "listeners[].port is not a port");
			else if (!*r->host)
				snprintf(f->why, sizeof(f->why), "listeners[].host is empty");
			else if (r->slot[0] != '/')
				snprintf(f->why, sizeof(f->why), "listeners[].slot is not an absolute path");
			else if (m->nlisteners > MANIFEST_MAX_LISTENERS)
				snprintf(f->why, sizeof(f->why), "more than %d listeners", MANIFEST_MAX_LISTENERS);
			if (f->why[0])
				return;
			r->port = (int)port;
		}
	}
	/* a working set recorded after the checkpoint (crac checkpoint --working-set): restored lazily */
	const struct json *working_set = json_get(root, "workingSet");
	if (working_set && working_set->type != JSON_NULL) {
		working_set = need(root, "workingSet", JSON_OBJECT, f);
		double pages = need_number(working_set, "pages", "workingSet.", f);
		double lazy = need_number(working_set, "lazyPages", "workingSet.", f);
		if (f->why[0])
			return;
		if (pages < 0 || lazy < 0 || pages > 1e15 || lazy > 1e15 || pages != (double)(long long)pages ||
		    lazy != (double)(long long)lazy)
			snprintf(f->why, sizeof(f->why), "workingSet holds something else than page counts");
		m->has_working_set = 1;
		m->working_set_pages = (long long)pages;
		m->lazy_pages = (long long)lazy;
	}
	const struct json *stdio = need(root, "stdio", JSON_ARRAY, f);
	for (const struct json *e = stdio ? stdio->first : NULL; e && m->nstdio < 3; e = e->next) {
		struct stdio_record *r = &m->stdio[m->nstdio++];
		double fd = need_number(e, "fd", "stdio[].", f);
		r->kind = need_string(e, "kind", "stdio[].", f);
		r->target = need_string(e, "target", "stdio[].", f);
		/* checked before it is converted: a double out of int's range is undefined behaviour to convert */
		if (fd != 0 && fd != 1 && fd != 2)
			snprintf(f->why, sizeof(f->why), "stdio[].fd is not 0, 1 or 2");
		else
			r->fd = (int)fd;
	}
	const struct json *host = json_get(root, "host");
	if (host && host->type == JSON_OBJECT) {
		m->has_host = 1;
		m->host_arch = need_string(host, "arch", "host.", f);
		m->host_kernel = need_string(host, "kernel", "host.", f);
		const struct json *flags = need(host, "cpuFlags", JSON_ARRAY, f);
		if (flags) {
			m->cpu_flags = calloc(flags->count + 1, sizeof(char *));
			for (const struct json *flag = flags->first; flag && m->cpu_flags; flag = flag->next)
				if ((m->cpu_flags[m->ncpu_flags] = json_string(flag)))
					m->ncpu_flags++;
		}
	}
	const struct json *binaries = json_get(root, "binaries");
	if (binaries && binaries->type == JSON_ARRAY) {
		m->binaries = calloc(binaries->count + 1, sizeof(*m->binaries));
		for (const struct json *b = binaries->first; b && m->binaries; b = b->next) {
			struct binary_record *r = &m->binaries[m->nbinaries++];
			r->path = need_string(b, "path", "binaries[].", f);
			r->role = need_string(b, "role", "binaries[].", f);
			r->size = need_number(b, "size", "binaries[].", f);
			r->mtime_ms = need_number(b, "mtimeMs", "binaries[].", f);
			r->dev = need_number(b, "dev", "binaries[].", f);
			r->ino = need_number(b, "ino", "binaries[].", f);
			r->ctime_ms = need_number(b, "ctimeMs", "binaries[].", f);
			r->sha256 = json_string(json_get(b, "sha256"));
		}
	}
	const struct json *seal = json_get(root, "seal");
	if (seal && seal->type == JSON_OBJECT) {
		m->seal_algorithm = need_string(seal, "algorithm", "seal.", f);
		const struct json *files = need(seal, "files", JSON_OBJECT, f);
		if (files) {
			m->files = calloc(files->count + 1, sizeof(*m->files));
			for (const struct json *file = files->first; file && m->files; file = file->next) {
				struct sealed_file *r = &m->files[m->nfiles++];
				r->name = file->key;
				r->size = need_number(file, "size", "seal.files[].", f);
				r->dev = need_number(file, "dev", "seal.files[].", f);
				r->ino = need_number(file, "ino", "seal.files[].", f);
				r->mtime_ms = need_number(file, "mtimeMs", "seal.files[].", f);
				r->ctime_ms = need_number(file, "ctimeMs", "seal.files[].", f);
				r->sha256 = need_string(file, "sha256", "seal.files[].", f);
			}
		}
	}
	if (!f->why[0] && ((ids && !m->ids) || (listeners && listeners->type == JSON_ARRAY && !m->listeners) || (host && host->type == JSON_OBJECT && !m->cpu_flags) ||
			   (binaries && binaries->type == JSON_ARRAY && !m->binaries)))
		snprintf(f->why, sizeof(f->why), "out of memory");
}

int parse_manifest(struct manifest *m, size_t length, const char *dir, struct crac_error *error)
{
	char why[200] = "";
	m->raw = malloc(length + 1);
	if (!m->raw)
		return crac_fail(error, CRAC_EIMAGE, "%s/%s: out of memory", dir, MANIFEST_FILE);
	memcpy(m->raw, m->text, length);
	m->raw[length] = '\0';
	m->raw_len = length;
	struct json *root = json_parse(m->text, length, &m->arena, why, sizeof(why));
	double format = 0, pid = 0;
	if (root && (!json_number(json_get(root, "format"), &format) || (format != 1 && format != 2 && format != 3) ||
		     !json_number(json_get(root, "pid"), &pid) || pid <= 0 || pid > INT_MAX || pid != (double)(long)pid)) {
		snprintf(why, sizeof(why), "unknown format");
		root = NULL;
	}
	if (!root)
		return crac_fail(error, CRAC_EIMAGE, "%s/%s is damaged: %s", dir, MANIFEST_FILE, why);
	m->format = (int)format;
	m->pid = (long)pid;
	struct fields f = { "" };
	parse_fields(root, m, &f);
	if (f.why[0])
		return crac_fail(error, CRAC_EIMAGE, "%s/%s is damaged: %s", dir, MANIFEST_FILE, f.why);
	return 0;
}

int read_manifest_at(int dir_fd, const char *dir, struct manifest *m, struct stat *st, struct crac_error *error)
{
	memset(m, 0, sizeof(*m));
	int fd = openat(dir_fd, MANIFEST_FILE, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		if (e == ELOOP)
			return crac_fail(error, CRAC_EIMAGE, "%s is not a crac image: %s is a symbolic link", dir, MANIFEST_FILE);
		const char *name = strerrorname_np(e);
		return crac_fail(error, CRAC_EIMAGE, "%s is not a crac image: cannot read %s (%s)", dir, MANIFEST_FILE,
				 name ? name : strerror(e));
	}
	int result = -1;
	if (fstat(fd, st) != 0) {
		crac_fail(error, CRAC_EIMAGE, "%s is not a crac image: cannot read %s (%s)", dir, MANIFEST_FILE, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st->st_mode)) {
		crac_fail(error, CRAC_EIMAGE, "%s/%s is %s, not a manifest: refusing to read it; checkpoint again", dir, MANIFEST_FILE,
			  file_kind(st->st_mode));
		goto out;
	}
	if (st->st_size > MAX_MANIFEST_BYTES) {
		crac_fail(error, CRAC_EIMAGE,
			  "%s/%s is %lld bytes, more than a manifest can be (%d): refusing to read it; checkpoint again", dir,
			  MANIFEST_FILE, (long long)st->st_size, MAX_MANIFEST_BYTES);
		goto out;
	}
	/* at most one byte more than allowed: a file that grew since the fstat is refused too */
	size_t cap = (size_t)st->st_size + 1, length = 0;
	m->text = malloc(cap + 1);
	if (!m->text) {
		crac_fail(error, CRAC_EIMAGE, "%s/%s: out of memory", dir, MANIFEST_FILE);
		goto out;
	}
	while (length < cap) {
		ssize_t n = pread(fd, m->text + length, cap - length, (off_t)length);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			crac_fail(error, CRAC_EIMAGE, "%s is not a crac image: cannot read %s (%s)", dir, MANIFEST_FILE, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		length += (size_t)n;
	}
	if (length > (size_t)st->st_size && length > MAX_MANIFEST_BYTES) {
		crac_fail(error, CRAC_EIMAGE, "%s/%s grew past %d bytes while read: refusing it; checkpoint again", dir, MANIFEST_FILE,
			  MAX_MANIFEST_BYTES);
		goto out;
	}
	if (parse_manifest(m, length, dir, error) != 0)
		goto out;
	result = 0;
out:
	close(fd);
	return result;
}

void free_manifest(struct manifest *m)
{
	free(m->ids);
	free(m->listeners);
	free(m->cpu_flags);
	free(m->binaries);
	free(m->files);
	json_free(&m->arena);
	free(m->text);
	free(m->raw);
	memset(m, 0, sizeof(*m));
}
