/* messages.c - see messages.h. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "supervise/messages.h"

const char *supervise_prefix = "crac-init";

void supervise_msg(const char *fmt, ...)
{
	char buf[1024];
	int n = snprintf(buf, sizeof(buf), "%s: ", supervise_prefix);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf + n, sizeof(buf) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	size_t len = strlen(buf);
	buf[len++] = '\n';
	(void)!write(2, buf, len);
}
