/*
 * exit_codes.h - the shell's exit-code conventions for crac-init, crac-restore, crac-guard and
 * the CRIU child of checkpoint(): their callers, and anyone at a shell, read these codes the
 * usual way. The codes themselves are src/protocol/exit-codes.ts's (crac/exit_codes.h).
 */
#ifndef CRAC_EXIT_CODES_H
#define CRAC_EXIT_CODES_H

#include <sys/wait.h>

#include "crac/exit_codes.h"

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
