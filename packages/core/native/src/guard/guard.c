/*
 * crac-guard - run a command with io_uring disabled, so that CRIU can dump it.
 *
 *   crac-guard [--seccomp] [--] <cmd> [args...]
 *   crac-guard --advance-pids N
 *
 * Node >= 22 (libuv >= 1.50) creates an io_uring instance per event loop at
 * start-up, even with UV_USE_IO_URING=0, and CRIU cannot dump io_uring fds
 * ("Unknown shit 600 (anon_inode:[io_uring])"). With io_uring_setup(2)
 * failing with ENOSYS, libuv falls back to epoll.
 *
 * Default mode (preload): prepends crac-nouring.so (found next to this
 * executable) to LD_PRELOAD and execs the command. The shim answers
 * io_uring_setup with ENOSYS for callers of glibc's syscall(3), i.e. libuv.
 * Inherited by child processes through the environment. This is the mode to
 * use with crac-node's self-checkpoint (checkpoint() in crac.node).
 *
 * --seccomp: PR_SET_NO_NEW_PRIVS plus a seccomp BPF filter returning
 * ERRNO(ENOSYS) for io_uring_setup (x86_64 incl. x32, i386, aarch64; other
 * architectures: everything allowed), then exec. Catches every caller, but
 * the filter is inherited by the CRIU the process would spawn to dump
 * itself, and the kernel refuses a seccomp-confined tracer the
 * PTRACE_O_SUSPEND_SECCOMP that CRIU needs: a process started this way can
 * only be dumped by a CRIU started OUTSIDE it (`criu dump -t PID`).
 *
 * --watch: see watch.c (what crac checkpoint started ends with it, even SIGKILLed).
 *
 * --advance-pids N: forks (children that exit at once) until a new process gets
 * a pid of N or more in this pid namespace, then exits: the next process, the
 * app, gets a higher one. In a container the restore's own processes (crac
 * restore, its threads, CRIU) take the lowest pids, and CRIU must give the app
 * its pid and thread ids back; a container's root can neither create a pid
 * namespace nor write ns_last_pid, so forking is what moves the counter.
 * Outside a fresh pid namespace one fork shows the counter is past N already.
 *
 * Exit status: the command's (it is exec'd); 126 if the guard cannot be set
 * up, 127 if the command cannot be executed, 2 on usage errors.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/exit_codes.h"
#include "watch.h"

/* The shell's "cannot execute": here, the guard could not be set up. */
#define EXIT_GUARD_FAILED 126

/* io_uring_setup has number 425 on every architecture (unified syscall table
 * since Linux 5.1): x86_64, i386, aarch64, ... x32 uses the x86_64 number
 * with __X32_SYSCALL_BIT set. */
#define NR_IO_URING_SETUP 425u
#define X32_SYSCALL_BIT 0x40000000u

#ifndef AUDIT_ARCH_AARCH64
#define AUDIT_ARCH_AARCH64 (EM_AARCH64 | __AUDIT_ARCH_64BIT | __AUDIT_ARCH_LE)
#endif

#define SHIM_NAME "crac-nouring.so"

static int install_seccomp(void)
{
	struct sock_filter filter[] = {
		/* [0] A = arch */
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		/* [1..3] known architectures -> [5]; others -> [4] allow */
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 3, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_AARCH64, 2, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_I386, 1, 0),
		/* [4] */ BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		/* [5] A = syscall number */
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		/* [6,7] io_uring_setup (native or x32) -> [9] */
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, NR_IO_URING_SETUP, 2, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, NR_IO_URING_SETUP | X32_SYSCALL_BIT, 1, 0),
		/* [8] */ BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		/* [9] */ BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (ENOSYS & SECCOMP_RET_DATA)),
	};
	struct sock_fprog prog = {
		.len = (unsigned short)(sizeof(filter) / sizeof(filter[0])),
		.filter = filter,
	};

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
		fprintf(stderr, "crac-guard: prctl(PR_SET_NO_NEW_PRIVS): %s\n", strerror(errno));
		return -1;
	}
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) != 0) {
		fprintf(stderr, "crac-guard: installing the seccomp filter failed: %s\n", strerror(errno));
		return -1;
	}
	return 0;
}

static int install_preload(void)
{
	char self[PATH_MAX], shim[PATH_MAX + sizeof(SHIM_NAME)];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char *slash, *val;
	const char *old;
	size_t len;

	if (n < 0) {
		fprintf(stderr, "crac-guard: readlink(/proc/self/exe): %s\n", strerror(errno));
		return -1;
	}
	self[n] = 0;
	slash = strrchr(self, '/');
	if (slash)
		slash[1] = 0;
	snprintf(shim, sizeof(shim), "%s%s", slash ? self : "./", SHIM_NAME);
	if (access(shim, R_OK) != 0) {
		fprintf(stderr, "crac-guard: %s: %s (build it with packages/core/native/build.mjs)\n", shim,
			strerror(errno));
		return -1;
	}
	if (strpbrk(shim, " :")) {
		fprintf(stderr, "crac-guard: %s: LD_PRELOAD cannot hold a path with ' ' or ':'\n", shim);
		return -1;
	}
	old = getenv("LD_PRELOAD");
	if (old && strstr(old, shim))
		return 0; /* already there (nested crac-guard) */
	len = strlen(shim) + (old ? strlen(old) + 1 : 0) + 1;
	val = malloc(len);
	if (!val)
		return -1;
	snprintf(val, len, "%s%s%s", shim, old && *old ? ":" : "", old && *old ? old : "");
	if (setenv("LD_PRELOAD", val, 1) != 0) {
		fprintf(stderr, "crac-guard: setenv(LD_PRELOAD): %s\n", strerror(errno));
		return -1;
	}
	free(val);
	return 0;
}

/* --advance-pids: 0 once a child got a pid >= floor; -1 (said on stderr) when fork fails first. */
static int advance_pids(long floor)
{
	/* bounded: pids only grow until they wrap, past pid_max, far above any floor */
	for (long forks = 0; forks <= floor + 64; forks++) {
		pid_t child = fork();
		if (child < 0) {
			fprintf(stderr, "crac-guard: --advance-pids: fork: %s\n", strerror(errno));
			return -1;
		}
		if (child == 0)
			_exit(0);
		while (waitpid(child, NULL, 0) < 0 && errno == EINTR) {
		}
		if (child >= floor)
			return 0;
	}
	fprintf(stderr, "crac-guard: --advance-pids: no pid of %ld or more after %ld forks\n", floor, floor + 64);
	return -1;
}

int main(int argc, char **argv)
{
	int i = 1, seccomp = 0;

	if (argc == 2 && !strcmp(argv[1], "--watch"))
		return watch_main();
	if (argc == 3 && !strcmp(argv[1], "--advance-pids")) {
		char *end;
		errno = 0;
		long floor = strtol(argv[2], &end, 10);
		if (errno || *end || end == argv[2] || floor < 1 || floor > 1L << 22) {
			fprintf(stderr, "crac-guard: --advance-pids takes a pid from 1 to 4194304, not '%s'\n", argv[2]);
			return EXIT_USAGE;
		}
		return advance_pids(floor) ? EXIT_GUARD_FAILED : 0;
	}

	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--")) {
			i++;
			break;
		} else if (!strcmp(argv[i], "--seccomp")) {
			seccomp = 1;
		} else if (!strcmp(argv[i], "--preload")) {
			seccomp = 0;
		} else {
			i = argc; /* -h, --help, unknown: usage */
			break;
		}
	}
	if (i >= argc) {
		fprintf(stderr, "usage: crac-guard [--seccomp] [--] <command> [args...]\n"
				"       crac-guard --advance-pids N\n"
				"       crac-guard --watch\n"
				"Runs <command> with io_uring_setup(2) failing with ENOSYS, so that\n"
				"CRIU can checkpoint it. Default: LD_PRELOAD shim (%s next to\n"
				"this executable; compatible with self-checkpoint). --seccomp: a seccomp\n"
				"filter instead (only an outside CRIU can then dump the process).\n"
				"--advance-pids N: forks until a new process gets a pid of N or more, then\n"
				"exits (the next process started gets a higher one).\n"
				"--watch: reads \"tree PID\" and \"group PGID\" lines until its stdin ends,\n"
				"then stops what is left of those processes (SIGTERM, SIGKILL 5 s later).\n",
			SHIM_NAME);
		return EXIT_USAGE;
	}
	if (seccomp ? install_seccomp() : install_preload())
		return EXIT_GUARD_FAILED;
	execvp(argv[i], argv + i);
	fprintf(stderr, "crac-guard: cannot execute '%s': %s\n", argv[i], strerror(errno));
	return EXIT_EXEC_FAILED;
}
