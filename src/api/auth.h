/* auth.h: authentication of the Bearer credential and the administrator check. */
#ifndef AUTIONAL_AUTH_H
#define AUTIONAL_AUTH_H

#include <time.h>

#include "../core/error.h"
#include "../core/store.h"

/* Longest Authorization header we read; longer is an invalid credential. */
#define AUTH_HEADER_MAX 4096

/*
 * Parse an Authorization header value (NULL when absent) and hash its token.
 * AUT_ERR_NO_CREDENTIAL: absent, empty, or a scheme other than Bearer.
 * AUT_ERR_INVALID_TOKEN: Bearer with a malformed or oversized token (RFC 6750
 * b64token, exactly one space after the case-insensitive scheme).
 * On AUT_OK, hash holds SHA-256 of the token text; the text is not kept.
 */
enum aut_err auth_parse_bearer(const char *header, unsigned char hash[32]);

/*
 * Look the hashed token up (together with the client the request names, which
 * store_authorize() resolves in the same round trip) and require an
 * administrator.  AUT_ERR_INVALID_TOKEN when it is not a live access token;
 * AUT_ERR_FORBIDDEN when its user is not an administrator (or it has no user).
 * authz->who is filled whenever the token is live, for the log.
 */
enum aut_err auth_require_admin(struct store *st, const unsigned char hash[32],
    const char *client_id, time_t now, struct authorization *authz);

#endif
