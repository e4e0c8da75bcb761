/* logline.h: the one line per request written to stderr. */
#ifndef AUTIONAL_LOGLINE_H
#define AUTIONAL_LOGLINE_H

#include <stddef.h>
#include <time.h>

struct logline {
	time_t when;
	const char *method;
	const char *path;          /* raw path; escaped before printing */
	int status;
	double duration_ms;
	const char *tenant_id;     /* "" when unknown */
	const char *admin_id;      /* public id of the token's user; "" when unknown */
	const char *request_id;    /* X-Request-Id */
	const char *client_request_id; /* the caller's X-Request-Id; "" or NULL when none */
};

/*
 * Format a log line (with trailing newline) into buf; returns its length.
 * Bytes outside printable ASCII, spaces and quotes in the path are %-escaped
 * and the path is cut at 512 bytes, so a line is always one line (and still
 * ends with a newline when buf is too small for all of it).  The bearer
 * token is not among the inputs, so it can never be logged.
 */
size_t logline_format(const struct logline *l, char *buf, size_t buflen);

#endif
