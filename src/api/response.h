/* response.h: an HTTP response for the FastCGI/CGI stream: status, headers, body. */
#ifndef AUTIONAL_RESPONSE_H
#define AUTIONAL_RESPONSE_H

#include <stdbool.h>
#include <stddef.h>

enum www_authenticate {
	WWW_AUTH_NONE,           /* no challenge */
	WWW_AUTH_CHALLENGE,      /* Bearer realm="autional" */
	WWW_AUTH_INVALID_TOKEN   /* ... plus error="invalid_token" (RFC 6750 3.1) */
};

struct response {
	int status;
	char *body;              /* malloc'd JSON, or NULL */
	size_t body_len;
	bool omit_body;          /* HEAD: headers as for GET, no body */
	const char *allow;       /* 405: the methods for the Allow header, else NULL */
	const char *request_id;  /* X-Request-Id */
	const char *client_request_id; /* X-Client-Request-Id (the caller's); "" or NULL: none */
	enum www_authenticate www_authenticate;
	unsigned int retry_after; /* seconds for Retry-After; 0: none */
	char *link_next;         /* malloc'd URI reference of the next page (Link: rel="next"), or NULL */
};

/* Room response_format_head() needs at most (a Link header with a long client id). */
#define RESPONSE_HEAD_MAX 2048

/* Reason phrase for a status we send. */
const char *response_reason(int status);

/*
 * Format the CGI header block ("Status: ...\r\n ... \r\n\r\n") into buf.
 * Returns its length, or -1 when buf is too small.
 */
int response_format_head(const struct response *resp, char *buf, size_t buflen);

void response_free(struct response *resp);

#endif
