/*
 * crac_error.h - an error of the native restorer: a stable code of the CRAC_E... registry
 * (packages/core/src/errors.ts, ErrorCode: crac/codes.h is generated from it) and its message, which says what is wrong and the fix,
 * worded as the TypeScript side words the same error.
 */
#ifndef CRAC_ERROR_H
#define CRAC_ERROR_H

#include <stdarg.h>
#include <stdio.h>

#include "crac/codes.h"


struct crac_error {
	const char *code;
	char message[8192];
};

/* Sets `error` and returns -1, for `return crac_fail(error, CODE, "...", ...);`. */
static inline int __attribute__((format(printf, 3, 4))) crac_fail(struct crac_error *error, const char *code, const char *fmt, ...)
{
	va_list ap;
	error->code = code;
	va_start(ap, fmt);
	vsnprintf(error->message, sizeof(error->message), fmt, ap);
	va_end(ap);
	return -1;
}

#endif
