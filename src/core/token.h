/* token.h: what the store and both programs say about tokens: list rows and filters. */
#ifndef AUTIONAL_TOKEN_H
#define AUTIONAL_TOKEN_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* Longest public user id a filter may name (users.public_id is VARCHAR(64)). */
#define TOKEN_USER_ID_MAX 64

enum token_type_filter {
	TOKEN_TYPE_ANY = 0,
	TOKEN_TYPE_ACCESS,
	TOKEN_TYPE_REFRESH
};

/* Filters shared by listing and revoking. */
struct token_filters {
	char user_id[TOKEN_USER_ID_MAX + 1]; /* "" when not filtered */
	enum token_type_filter token_type;
};

/* "access_token", "refresh_token", or NULL for TOKEN_TYPE_ANY. */
static inline const char *
token_type_name(enum token_type_filter type)
{
	switch (type) {
	case TOKEN_TYPE_ACCESS:  return "access_token";
	case TOKEN_TYPE_REFRESH: return "refresh_token";
	case TOKEN_TYPE_ANY:     break;
	}
	return NULL;
}

/* One row of the token list, as the store hands it to rendering. */
struct token_row {
	uint64_t pk;             /* oauth_tokens.id: with created_at, a page cursor's position */
	unsigned char public_id[16]; /* shown as "tok_" + 32 hex digits */
	const char *token_type;  /* "access_token" or "refresh_token" */
	const char *scope;       /* space-separated scopes, may be "" */
	const char *user_id;     /* public user id, NULL for client-credentials tokens */
	struct tm created_at;    /* UTC */
	struct tm expires_at;    /* UTC */
};

#endif
