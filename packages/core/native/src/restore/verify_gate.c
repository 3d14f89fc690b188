/* verify_gate.c - see verify_gate.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "verify_gate.h"

#define VERDICT_OK "ok"
#define VERDICT_NO "no"

/* `path` is a FIFO of ours, in a directory of ours that nobody else may enter (the work directory). */
static int our_fifo(const char *path)
{
	char dir[PATH_MAX];
	struct stat st;
	const char *slash = strrchr(path, '/');
	if (path[0] != '/' || !slash || (size_t)(slash - path) >= sizeof(dir))
		return 0;
	memcpy(dir, path, (size_t)(slash - path));
	dir[slash - path] = '\0';
	if (lstat(dir, &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 077) != 0)
		return 0;
	return lstat(path, &st) == 0 && S_ISFIFO(st.st_mode) && st.st_uid == geteuid();
}

int verify_gate_script(int *code)
{
	const char *action = getenv("CRTOOLS_SCRIPT_ACTION");
	const char *path = getenv(VERIFY_GATE_ENV);
	if (!action || !path)
		return 0;
	*code = 0;
	if (strcmp(action, "post-restore") != 0)
		return 1; /* CRIU runs its scripts at every action: only this one waits */
	*code = 1;
	/* The variable could come from elsewhere than CRIU (sudo -E): only our own FIFO, in a directory
	 * only we can enter, is opened; anything else fails the gate. */
	int fd = our_fifo(path) ? open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC) : -1;
	struct stat st;
	char verdict[sizeof(VERDICT_OK)] = "";
	size_t len = 0;
	if (fd >= 0 && fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode) && st.st_uid == geteuid()) {
		while (len < strlen(VERDICT_OK)) {
			ssize_t n = read(fd, verdict + len, strlen(VERDICT_OK) - len);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				break;
			len += (size_t)n;
		}
		verdict[len] = '\0';
		*code = strcmp(verdict, VERDICT_OK) != 0;
	}
	if (fd >= 0)
		close(fd);
	if (*code) /* into CRIU's log; crac restore says why */
		fprintf(stderr, "crac: the image's page files did not verify: the app is not resumed\n");
	return 1;
}

int verify_gate_open(struct verify_gate *gate, struct deferred_hashes *deferred, const char *dir, const char *work_dir,
		     struct crac_error *error)
{
	memset(gate, 0, sizeof(*gate));
	gate->deferred = deferred;
	gate->dir = dir;
	gate->fifo = -1;
	snprintf(gate->path, sizeof(gate->path), "%s/verify-gate", work_dir);
	if (mkfifo(gate->path, 0600) != 0)
		return crac_fail(error, CRAC_EIO, "mkfifo %s: %s", gate->path, strerror(errno));
	gate->fifo = open(gate->path, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
	if (gate->fifo < 0)
		return crac_fail(error, CRAC_EIO, "cannot open %s: %s", gate->path, strerror(errno));
	setenv(VERIFY_GATE_ENV, gate->path, 1);
	return 0;
}

void verify_gate_leave(struct verify_gate *gate)
{
	if (gate->fifo >= 0)
		close(gate->fifo);
	gate->fifo = -1;
}

static double monotonic_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void *hash_pages(void *arg)
{
	struct verify_gate *gate = arg;
	double started = monotonic_ms();
	gate->failed = hash_deferred(gate->deferred, gate->dir, &gate->error) != 0;
	gate->hash_ms = monotonic_ms() - started;
	const char *verdict = gate->failed ? VERDICT_NO : VERDICT_OK;
	/* a FIFO holds far more than 2 bytes: this never blocks, read or not */
	if (write(gate->fifo, verdict, strlen(verdict)) != (ssize_t)strlen(verdict) && !gate->failed)
		gate->failed = crac_fail(&gate->error, CRAC_EIO, "the verdict to CRIU's action script: %s", strerror(errno)) != 0;
	return NULL;
}

void verify_gate_start(struct verify_gate *gate)
{
	unsetenv(VERIFY_GATE_ENV);
	if (pthread_create(&gate->thread, NULL, hash_pages, gate) == 0) {
		gate->started = 1;
		return;
	}
	/* no thread: hashed here, the restore waits (CRIU blocks at post-restore meanwhile) */
	hash_pages(gate);
}

int verify_gate_wait(struct verify_gate *gate)
{
	if (gate->started) {
		pthread_join(gate->thread, NULL);
		gate->started = 0;
	}
	verify_gate_leave(gate); /* read by now, or never to be */
	return gate->failed ? -1 : 0;
}
