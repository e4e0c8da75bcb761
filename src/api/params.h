/* params.h: the query-string parameters of the token list, validated. */
#ifndef AUTIONAL_PARAMS_H
#define AUTIONAL_PARAMS_H

#include <stddef.h>

#include "../core/cursor.h"
#include "../core/error.h"
#include "../core/token.h"

#define PARAMS_PAGE_DEFAULT 1
#define PARAMS_PAGE_SIZE_DEFAULT 20
#define PARAMS_PAGE_MAX 2147483647UL

/* GET .../tokens */
struct list_params {
	unsigned long page;       /* 1-based, 1..PARAMS_PAGE_MAX */
	unsigned int page_size;   /* 1..page_size_max */
	struct token_filters filters;
	/* A page cursor's text ("" for none): where the page starts, instead of
	 * page.  Only its form is checked here; tokens_list.c checks its MAC. */
	char cursor[CURSOR_TEXT_MAX];
};

/* DELETE .../tokens and DELETE .../tokens/{id} */
struct revoke_params {
	struct token_filters filters;  /* collection only */
	int dry_run;                   /* count, change nothing */
};

/*
 * Parse a raw QUERY_STRING.  page and page_size must be plain decimal integers
 * (after percent-decoding); user_id a public id (1-64 of A-Z a-z 0-9 _ - .);
 * token_type access_token or refresh_token; cursor the 44 base64url
 * characters of a page cursor, and never together with page.  Each may be
 * given at most once; absent ones take the defaults (no filter, page 1);
 * unknown parameters are ignored.
 * On AUT_ERR_BAD_PARAM, msg holds a sentence naming the parameter.
 */
enum aut_err params_parse_list(const char *query, unsigned int page_size_max,
    struct list_params *out, char *msg, size_t msglen);

/*
 * Parse the query of a DELETE: user_id and token_type (as for the list) and
 * dry_run ("true" or "false").  Same rules and errors as params_parse_list,
 * except that a destructive request refuses every parameter it does not know
 * (AUT_ERR_BAD_PARAM, the message naming it): a typo such as dry-run must
 * never turn a dry run into a revocation.
 */
enum aut_err params_parse_revoke(const char *query, struct revoke_params *out,
    char *msg, size_t msglen);

/* The query of DELETE .../tokens/{id}: dry_run only; anything else is refused. */
enum aut_err params_parse_revoke_one(const char *query, struct revoke_params *out,
    char *msg, size_t msglen);

#endif
