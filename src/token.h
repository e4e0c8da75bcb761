/* token.h: one row of the token list, as the store hands it to rendering. */
#ifndef AUTIONAL_TOKEN_H
#define AUTIONAL_TOKEN_H

#include <time.h>

struct token_row {
	unsigned char public_id[16]; /* shown as "tok_" + 32 hex digits */
	const char *token_type;  /* "access_token" or "refresh_token" */
	const char *scope;       /* space-separated scopes, may be "" */
	const char *user_id;     /* public user id, NULL for client-credentials tokens */
	struct tm created_at;    /* UTC */
	struct tm expires_at;    /* UTC */
};

#endif
