/* error.h: the one error type internal calls return, and its mapping to HTTP. */
#ifndef AUTIONAL_ERROR_H
#define AUTIONAL_ERROR_H

/*
 * Every internal function returns an enum aut_err; results travel through
 * out-parameters.  The outcomes a caller can cause (bad path, bad credential,
 * bad parameter...) are errors too, so the handler can stop at the first one and
 * error_http_status() turns it into the answer.
 */
enum aut_err {
	AUT_OK = 0,
	AUT_ERR_NO_ROUTE,        /* path is none of our endpoints: 404 */
	AUT_ERR_METHOD,          /* endpoint exists, method does not: 405 */
	AUT_ERR_NO_CREDENTIAL,   /* no Bearer credential presented: 401 */
	AUT_ERR_INVALID_TOKEN,   /* Bearer credential malformed or not a live access token: 401 */
	AUT_ERR_FORBIDDEN,       /* token's user is not an administrator: 403 */
	AUT_ERR_BAD_PARAM,       /* a request parameter is invalid: 400 */
	AUT_ERR_NO_CLIENT,       /* client unknown or in another tenant: 404 */
	AUT_ERR_NO_TOKEN,        /* no token with that id for that client: 404 */
	AUT_ERR_DB_UNAVAILABLE,  /* database unreachable or connection lost: 503 */
	AUT_ERR_DB_BUSY,         /* deadlock or lock wait timeout, rolled back: retry, else 503 */
	AUT_ERR_DB_TOO_LARGE,    /* beyond a Galera cluster's write-set limits, rolled back: 500 */
	AUT_ERR_REVOKE_UNFINISHED, /* a revocation by filters ran out of time, part done: 503 */
	AUT_ERR_NOMEM,           /* out of memory: 500 */
	AUT_ERR_INTERNAL         /* anything else unexpected: 500 */
};

/* HTTP status for an error (AUT_OK is 200). */
int error_http_status(enum aut_err err);

/* The message a caller sees when the handler has nothing more specific. */
const char *error_message(enum aut_err err);

/*
 * The message of a refusal the web server made and handed us to write
 * (REDIRECT_STATUS 400-599): the same words as its static documents,
 * conf/errors/N.json.
 */
const char *error_refusal_message(int status);

#endif
