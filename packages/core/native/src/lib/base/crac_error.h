/*
 * crac_error.h - an error of the native restorer: a stable code of the CRAC_E... registry
 * (packages/core/src/errors.ts, ErrorCode) and its message, which says what is wrong and the fix,
 * worded as the TypeScript side words the same error.
 */
#ifndef CRAC_ERROR_H
#define CRAC_ERROR_H

#include <stdarg.h>
#include <stdio.h>

#define CRAC_EIMAGE "CRAC_EIMAGE"
#define CRAC_EIMAGE_CORRUPT "CRAC_EIMAGE_CORRUPT"
#define CRAC_EIMAGE_FOREIGN "CRAC_EIMAGE_FOREIGN"
#define CRAC_EUNPRIVILEGED "CRAC_EUNPRIVILEGED"
#define CRAC_ECRIU_CAPS "CRAC_ECRIU_CAPS"
#define CRAC_ECRIU_RESTORE "CRAC_ECRIU_RESTORE"
#define CRAC_EENGINE "CRAC_EENGINE"
#define CRAC_EINVAL "CRAC_EINVAL"
#define CRAC_EIO "CRAC_EIO"

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
