/* request.h: the request as the CGI environment describes it, before validation. */
#ifndef AUTIONAL_REQUEST_H
#define AUTIONAL_REQUEST_H

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
	char request_id[65];       /* X-Request-Id: the web server's if safe, else ours */
};

/* Longest request id we take from the web server. */
#define REQUEST_ID_MAX 64

/* Look a variable up in a NULL-terminated "NAME=value" array. */
const char *request_getenv(char *const *envp, const char *name);

/*
 * Build *req from envp.  The path is REQUEST_URI up to its '?' (the bytes the
 * client sent, so percent-decoding happens exactly once, in route.c), else
 * SCRIPT_NAME followed by PATH_INFO.  The request id is taken from
 * HTTP_X_REQUEST_ID, else UNIQUE_ID (Apache mod_unique_id), else REQUEST_ID
 * (a fastcgi_param), when it is 1-64 of A-Z a-z 0-9 . _ - @ : ; otherwise
 * 32 random hex digits.  Returns 0, or -1 when out of memory.
 */
int request_from_env(struct request *req, char *const *envp);

void request_free(struct request *req);

#endif
