/* request.h: the request as the CGI environment describes it, before validation. */
#ifndef AUTIONAL_REQUEST_H
#define AUTIONAL_REQUEST_H

#include <stdbool.h>

/* Longest request id we take from the web server or the caller. */
#define REQUEST_ID_MAX 64

/*
 * Filled from the CGI/FastCGI environment by request_from_env(); pure: no
 * libfcgi, no database.  String fields point into the environment (valid until
 * the request finishes) except path, which request_free() releases.
 */
struct request {
	const char *method;        /* REQUEST_METHOD, "" when absent */
	char *path;                /* raw (still percent-encoded) path, no query */
	const char *query;         /* QUERY_STRING, "" when absent */
	const char *authorization; /* HTTP_AUTHORIZATION, NULL when absent */
	/* X-Request-Id, audit_events.request_id: the web server's, else ours */
	char request_id[REQUEST_ID_MAX + 1];
	/* The caller's X-Request-Id when safe, else "": kept apart, never the id */
	char client_request_id[REQUEST_ID_MAX + 1];
	/*
	 * REDIRECT_STATUS 400-599: the web server refused the request itself and
	 * hands it to us only to write that refusal (Apache ErrorDocument, lighttpd
	 * server.error-handler); 0 for a request to serve.
	 */
	int refusal_status;
	/* A body came with the request: CONTENT_LENGTH neither empty nor 0, or a
	 * Transfer-Encoding.  No endpoint takes one. */
	bool has_body;
};

/* Look a variable up in a NULL-terminated "NAME=value" array. */
const char *request_getenv(char *const *envp, const char *name);

/*
 * Build *req from envp.  The path is REQUEST_URI up to its '?' (the bytes the
 * client sent, so percent-decoding happens exactly once, in route.c; an
 * absolute-form "http://host/path" loses its scheme and host), else
 * SCRIPT_NAME followed by PATH_INFO.  The request id is the web server's,
 * UNIQUE_ID (Apache mod_unique_id), else REQUEST_ID (nginx $request_id as a
 * fastcgi_param), when it is 1-64 of A-Z a-z 0-9 . _ - @ : ; otherwise 32
 * random hex digits (128 bits).  The caller's HTTP_X_REQUEST_ID is never the
 * request id: it lands in client_request_id when it has that form, else is
 * dropped.  has_body says whether a request body came (CONTENT_LENGTH other
 * than empty or zeros, or HTTP_TRANSFER_ENCODING).  Returns 0, or -1 when out
 * of memory.
 */
int request_from_env(struct request *req, char *const *envp);

void request_free(struct request *req);

#endif
