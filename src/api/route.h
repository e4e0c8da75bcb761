/* route.h: which endpoint a path names, and the ids it carries. */
#ifndef AUTIONAL_ROUTE_H
#define AUTIONAL_ROUTE_H

#include <stddef.h>

#include "../core/error.h"

/* Longest client_id we accept, in bytes (the column holds 255 characters). */
#define ROUTE_CLIENT_ID_MAX 1020

enum route_kind {
	ROUTE_CLIENT_TOKENS,  /* /admin/oauth/clients/{client_id}/tokens */
	ROUTE_CLIENT_TOKEN    /* /admin/oauth/clients/{client_id}/tokens/{token_id} */
};

struct route {
	enum route_kind kind;
	const char *client_id_raw;  /* points into the path: still percent-encoded */
	size_t client_id_raw_len;
	const char *token_id_raw;   /* ROUTE_CLIENT_TOKEN: the last segment, raw */
	size_t token_id_raw_len;
};

/* The methods a route answers, for 405's Allow header. */
const char *route_allowed_methods(enum route_kind kind);

/* Match a raw path. AUT_ERR_NO_ROUTE when it is none of ours. */
enum aut_err route_match(const char *path, struct route *out);

/*
 * The path as the log line shows it: after .../tokens/, whatever is not one
 * token id is replaced by "{not-a-token-id}" (in out, outlen bytes, cut to
 * fit), since a caller may paste a token's text there (and a token text may
 * hold '/'); any other path is returned as it is.
 */
const char *route_log_path(const char *path, char *out, size_t outlen);

/*
 * Percent-decode one path segment into out (size outlen, NUL-terminated).
 * AUT_ERR_BAD_PARAM for a malformed escape; AUT_ERR_NO_CLIENT when the result
 * cannot be a client_id (too long, NUL or other control bytes, invalid UTF-8).
 */
enum aut_err route_decode_client_id(const char *raw, size_t rawlen,
    char *out, size_t outlen);

#endif
