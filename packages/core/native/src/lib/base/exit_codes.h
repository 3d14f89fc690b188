/*
 * exit_codes.h - the shell's exit-code conventions, in one place for
 * crac-init, crac-guard and the CRIU child of checkpoint(): their callers,
 * and anyone at a shell, read these codes the usual way.
 */
#ifndef CRAC_EXIT_CODES_H
#define CRAC_EXIT_CODES_H

#include <sys/wait.h>

#define EXIT_USAGE 2        /* bad command line */
#define EXIT_EXEC_FAILED 127 /* the command could not be exec'd */

/* The code a shell reports for a waitpid() status: the exit code, or 128 +
 * the signal that killed the process. `otherwise` for any other status
 * (stopped/continued: never seen by a wait without WUNTRACED/WCONTINUED). */
static inline int exit_code_of(int status, int otherwise)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return otherwise;
}

#endif
