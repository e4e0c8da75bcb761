/* error.c: the mapping from internal errors to HTTP status and message. */
#include "error.h"

int
error_http_status(enum aut_err err)
{
	switch (err) {
	case AUT_OK:                 return 200;
	case AUT_ERR_BAD_PARAM:      return 400;
	case AUT_ERR_NO_CREDENTIAL:
	case AUT_ERR_INVALID_TOKEN:  return 401;
	case AUT_ERR_FORBIDDEN:      return 403;
	case AUT_ERR_NO_ROUTE:
	case AUT_ERR_NO_CLIENT:
	case AUT_ERR_NO_TOKEN:       return 404;
	case AUT_ERR_METHOD:         return 405;
	case AUT_ERR_DB_UNAVAILABLE:
	case AUT_ERR_DB_BUSY:
	case AUT_ERR_REVOKE_UNFINISHED: return 503;
	case AUT_ERR_DB_TOO_LARGE:
	case AUT_ERR_NOMEM:
	case AUT_ERR_INTERNAL:       return 500;
	}
	return 500;
}

const char *
error_message(enum aut_err err)
{
	switch (err) {
	case AUT_OK:
		return "OK";
	case AUT_ERR_NO_ROUTE:
		return "No such endpoint";
	case AUT_ERR_METHOD:
		return "Method not allowed here: see the Allow header";
	case AUT_ERR_NO_CREDENTIAL:
		return "Unauthenticated: provide a valid Bearer token";
	case AUT_ERR_INVALID_TOKEN:
		return "Unauthenticated: the Bearer token is invalid, expired or revoked";
	case AUT_ERR_FORBIDDEN:
		return "Insufficient permissions: administrator role required";
	case AUT_ERR_BAD_PARAM:
		return "Invalid request parameters";
	case AUT_ERR_NO_CLIENT:
		return "Client not found";
	case AUT_ERR_NO_TOKEN:
		return "Token not found";
	case AUT_ERR_DB_UNAVAILABLE:
	case AUT_ERR_DB_BUSY:
		return "Service temporarily unavailable: try again shortly";
	case AUT_ERR_REVOKE_UNFINISHED:
		return "Revocation not finished: send the same request again to revoke the rest";
	case AUT_ERR_DB_TOO_LARGE:
		return "Internal server error: the change is larger than the database cluster "
		    "takes in one transaction";
	case AUT_ERR_NOMEM:
	case AUT_ERR_INTERNAL:
		return "Internal server error";
	}
	return "Internal server error";
}

const char *
error_refusal_message(int status)
{
	switch (status) {
	case 400: return "Bad request: the web server could not parse it";
	case 403: return "Forbidden by the web server";
	case 404: return "Not found: the web server has nothing at this URL";
	case 405: return "Method not allowed by the web server at this URL";
	case 411: return "Length required: the web server wants Content-Length with a body";
	case 413: return "Request body too large for the web server: no endpoint takes one";
	case 414: return "Request URI too long for the web server";
	case 431: return "Request header fields too large for the web server";
	case 501: return "Not implemented: the web server does not know this method or transfer coding";
	case 502: return "Bad gateway: the web server got no answer from the API program";
	case 503: return "Service temporarily unavailable: the web server reached no API program; try again shortly";
	case 504: return "Gateway timeout: the API program did not answer the web server in time";
	}
	return status < 500 ? "Request refused by the web server"
	    : "Internal error: the web server could not run the API program";
}
