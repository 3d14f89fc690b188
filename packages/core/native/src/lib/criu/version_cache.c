/* version_cache.c - see version_cache.h. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "criu/kdat_dir.h"
#include "criu/version_cache.h"

#define CACHE_FILE "criu.version"

/* The line that describes `path` as `st` says, without the version. */
static void key_of(const char *path, const struct stat *st, char *key, size_t len)
{
	snprintf(key, len, "%s\t%lu %lu %lld %lld.%09ld %lld.%09ld\t", path, (unsigned long)st->st_dev, (unsigned long)st->st_ino,
		 (long long)st->st_size, (long long)st->st_mtim.tv_sec, st->st_mtim.tv_nsec, (long long)st->st_ctim.tv_sec,
		 st->st_ctim.tv_nsec);
}

int criu_version_cached(const char *path, const struct stat *st, char *version, size_t len)
{
	int dir = crac_kdat_dir_open();
	if (dir < 0)
		return -1;
	int fd = openat(dir, CACHE_FILE, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	close(dir);
	if (fd < 0)
		return -1;
	char text[PATH_MAX + 256], key[PATH_MAX + 128];
	struct stat own;
	ssize_t n = -1;
	if (fstat(fd, &own) == 0 && S_ISREG(own.st_mode) && own.st_uid == 0 && (own.st_mode & (S_IWGRP | S_IWOTH)) == 0)
		n = read(fd, text, sizeof(text) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	text[n] = '\0';
	key_of(path, st, key, sizeof(key));
	size_t klen = strlen(key);
	if (strncmp(text, key, klen) != 0)
		return -1;
	const char *v = text + klen;
	size_t vlen = strcspn(v, "\n");
	if (vlen == 0 || vlen >= len || v[vlen] != '\n' || v[vlen + 1] != '\0')
		return -1;
	memcpy(version, v, vlen);
	version[vlen] = '\0';
	return 0;
}

void criu_version_remember(const char *path, const struct stat *st, const char *version)
{
	int dir = crac_kdat_dir_open();
	if (dir < 0)
		return;
	char key[PATH_MAX + 128], line[PATH_MAX + 256], temp[64];
	key_of(path, st, key, sizeof(key));
	int len = snprintf(line, sizeof(line), "%s%s\n", key, version);
	snprintf(temp, sizeof(temp), CACHE_FILE ".%d", (int)getpid());
	/* written aside, then renamed over: a reader sees the old line or the new one, whole */
	int fd = openat(dir, temp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd >= 0) {
		int written = len > 0 && (size_t)len < sizeof(line) && write(fd, line, (size_t)len) == len;
		close(fd);
		if (!written || renameat(dir, temp, dir, CACHE_FILE) != 0)
			unlinkat(dir, temp, 0);
	}
	close(dir);
}
