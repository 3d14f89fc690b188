/*
 * messages.h - how the restore supervision speaks: one line on stderr, "<prefix>: ...", the
 * prefix being crac-init's or crac restore's. Shared by supervise.c and listen_slots.c.
 */
#ifndef CRAC_SUPERVISE_MESSAGES_H
#define CRAC_SUPERVISE_MESSAGES_H

extern const char *supervise_prefix;
void supervise_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
