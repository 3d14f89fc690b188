/*
 * nouring.c -> build/crac-nouring.so: an LD_PRELOAD shim that makes
 * io_uring_setup(2) fail with ENOSYS for everything that calls it through
 * glibc's syscall(3), which is how libuv (Node >= 22) does it. libuv then
 * falls back to epoll, and CRIU can dump the process (CRIU cannot dump
 * io_uring instances).
 *
 * Why not seccomp: a seccomp filter is inherited by every child, including
 * the CRIU that a process spawns to checkpoint itself, and the kernel refuses
 * PTRACE_O_SUSPEND_SECCOMP to a tracer that is itself under seccomp
 * ("suspending seccomp failed: Operation not permitted"). CRIU must suspend
 * the target's filter, so a seccomp-guarded process cannot be self-dumped.
 * crac-guard --seccomp still offers the filter for dumps by an outside CRIU.
 *
 * Every other syscall() call is forwarded unchanged to the next definition
 * (glibc's). Like glibc's own syscall(), six argument registers are always
 * passed on, whatever the callee uses.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <sys/syscall.h>

#ifndef __NR_io_uring_setup
#define __NR_io_uring_setup 425
#endif

typedef long (*syscall_fn)(long, ...);
static syscall_fn real_syscall;

__attribute__((constructor)) static void crac_nouring_init(void)
{
	real_syscall = (syscall_fn)dlsym(RTLD_NEXT, "syscall");
}

__attribute__((visibility("default"))) long syscall(long nr, ...)
{
	va_list ap;
	long a1, a2, a3, a4, a5, a6;

	if (nr == __NR_io_uring_setup) {
		errno = ENOSYS;
		return -1;
	}
	va_start(ap, nr);
	a1 = va_arg(ap, long);
	a2 = va_arg(ap, long);
	a3 = va_arg(ap, long);
	a4 = va_arg(ap, long);
	a5 = va_arg(ap, long);
	a6 = va_arg(ap, long);
	va_end(ap);
	if (!real_syscall) {
		real_syscall = (syscall_fn)dlsym(RTLD_NEXT, "syscall");
		if (!real_syscall) {
			errno = ENOSYS;
			return -1;
		}
	}
	return real_syscall(nr, a1, a2, a3, a4, a5, a6);
}

/* Lets crac-node check that the shim is loaded: dlsym(RTLD_DEFAULT, ...). */
__attribute__((visibility("default"))) const char crac_nouring_loaded[] = "crac-nouring 1";
