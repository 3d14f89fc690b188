/* core_caps.c - see core_caps.h. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "image/core_caps.h"

#define IMG_COMMON_MAGIC 0x54564319u
#define CORE_MAGIC 0x55053847u
/* CoreEntry.thread_core, ThreadCoreEntry.creds, CredsEntry.cap_inh and cap_prm */
#define CORE_THREAD_CORE 5
#define THREAD_CORE_CREDS 10
#define CREDS_CAP_INH 9
#define CREDS_CAP_PRM 10
/* far above any core image (a few KiB): a bigger file is not one */
#define MAX_CORE_IMAGE (4u << 20)

struct slice {
	const uint8_t *p, *end;
};

static int varint(struct slice *s, uint64_t *value)
{
	*value = 0;
	for (int shift = 0; shift < 64 && s->p < s->end; shift += 7) {
		uint8_t byte = *s->p++;
		*value |= (uint64_t)(byte & 0x7f) << shift;
		if (!(byte & 0x80))
			return 0;
	}
	return -1;
}

/* The next field of `s`: its number, wire type, and for wire type 2 its bytes, for 0 its value. */
static int next_field(struct slice *s, unsigned *field, unsigned *wire, struct slice *bytes, uint64_t *value)
{
	uint64_t key;
	if (varint(s, &key) != 0 || key >> 3 == 0 || key >> 3 > 0x1fffffff)
		return -1;
	*field = (unsigned)(key >> 3);
	*wire = (unsigned)(key & 7);
	switch (*wire) {
	case 0:
		return varint(s, value);
	case 1:
	case 5: {
		size_t n = *wire == 1 ? 8 : 4;
		if ((size_t)(s->end - s->p) < n)
			return -1;
		s->p += n;
		return 0;
	}
	case 2: {
		uint64_t n;
		if (varint(s, &n) != 0 || n > (uint64_t)(s->end - s->p))
			return -1;
		bytes->p = s->p;
		bytes->end = s->p + n;
		s->p += n;
		return 0;
	}
	default:
		return -1; /* groups: not in these messages */
	}
}

/* The last field `number` of message `s` that is a message, in `sub`: 1 found, 0 absent, -1 malformed. */
static int sub_message(struct slice s, unsigned number, struct slice *sub)
{
	int found = 0;
	while (s.p < s.end) {
		unsigned field, wire;
		struct slice bytes;
		uint64_t value;
		if (next_field(&s, &field, &wire, &bytes, &value) != 0)
			return -1;
		if (field == number && wire == 2) {
			*sub = bytes;
			found = 1;
		}
	}
	return found;
}

/* Word `*word` of a capability set (low first) into `mask`; words past the second name no capability. */
static void add_word(uint64_t *mask, unsigned *word, uint64_t value)
{
	if (*word < 2)
		*mask |= (value & 0xffffffffu) << (32 * *word);
	(*word)++;
}

/* The repeated uint32 `number` of `s` (the capability words, low first), packed or not, into a mask. */
static int cap_words(struct slice s, unsigned number, uint64_t *mask)
{
	unsigned word = 0;
	while (s.p < s.end) {
		unsigned field, wire;
		struct slice bytes;
		uint64_t value;
		if (next_field(&s, &field, &wire, &bytes, &value) != 0)
			return -1;
		if (field != number)
			continue;
		if (wire == 0)
			add_word(mask, &word, value);
		else if (wire != 2)
			return -1;
		while (wire == 2 && bytes.p < bytes.end) {
			if (varint(&bytes, &value) != 0)
				return -1;
			add_word(mask, &word, value);
		}
	}
	return 0;
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

int core_caps_parse(const uint8_t *data, size_t len, struct core_caps *caps)
{
	if (len < 12 || le32(data) != IMG_COMMON_MAGIC || le32(data + 4) != CORE_MAGIC)
		return -1;
	uint32_t size = le32(data + 8);
	if (size > len - 12)
		return -1;
	struct slice core = { data + 12, data + 12 + size }, thread, creds;
	int found = sub_message(core, CORE_THREAD_CORE, &thread);
	if (found <= 0)
		return found; /* no thread core: nothing to restore */
	found = sub_message(thread, THREAD_CORE_CREDS, &creds);
	if (found <= 0)
		return found;
	return cap_words(creds, CREDS_CAP_PRM, &caps->permitted) == 0 && cap_words(creds, CREDS_CAP_INH, &caps->inheritable) == 0
		       ? 0
		       : -1;
}

/* The bytes of `name` in `dir` (at most MAX_CORE_IMAGE), in a buffer the caller frees: its length, or -1. */
static ssize_t read_image_file(int dir, const char *name, uint8_t **data)
{
	int fd = openat(dir, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -1;
	size_t cap = 16384, len = 0;
	uint8_t *buf = malloc(cap);
	for (;;) {
		if (!buf)
			break;
		if (len == cap) {
			uint8_t *grown = cap < MAX_CORE_IMAGE ? realloc(buf, cap *= 2) : NULL;
			if (!grown) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = grown;
		}
		ssize_t n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			free(buf);
			buf = NULL;
			break;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	*data = buf;
	return buf ? (ssize_t)len : -1;
}

int image_core_caps(int dir, const char *dir_name, struct core_caps *caps, struct crac_error *error)
{
	caps->permitted = caps->inheritable = 0;
	int listing = openat(dir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = listing >= 0 ? fdopendir(listing) : NULL;
	if (!d) {
		if (listing >= 0)
			close(listing);
		return crac_fail(error, CRAC_EIMAGE, "cannot list %s: %s", dir_name, strerror(errno));
	}
	int result = 0;
	for (struct dirent *e; (e = readdir(d));) {
		size_t n = strlen(e->d_name);
		if (strncmp(e->d_name, "core-", 5) != 0 || n < 10 || strcmp(e->d_name + n - 4, ".img") != 0)
			continue;
		uint8_t *data;
		ssize_t len = read_image_file(dir, e->d_name, &data);
		struct core_caps one = { 0, 0 };
		int parsed = len >= 0 ? core_caps_parse(data, (size_t)len, &one) : -1;
		if (len >= 0)
			free(data);
		if (parsed != 0) {
			result = crac_fail(error, CRAC_EIMAGE, "%s/%s is not a CRIU core image (CoreEntry with its credentials)", dir_name, e->d_name);
			break;
		}
		caps->permitted |= one.permitted;
		caps->inheritable |= one.inheritable;
	}
	closedir(d);
	return result;
}
