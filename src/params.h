/* params.h: the query-string parameters of the token list, validated. */
#ifndef AUTIONAL_PARAMS_H
#define AUTIONAL_PARAMS_H

#include <stddef.h>

#include "error.h"

#define PARAMS_PAGE_DEFAULT 1
#define PARAMS_PAGE_SIZE_DEFAULT 20
#define PARAMS_PAGE_MAX 2147483647UL

struct list_params {
	unsigned long page;       /* 1-based, 1..PARAMS_PAGE_MAX */
	unsigned int page_size;   /* 1..page_size_max */
};

/*
 * Parse a raw QUERY_STRING.  page and page_size must be plain decimal integers
 * (after percent-decoding), each given at most once; absent ones take the
 * defaults; unknown parameters are ignored.  On AUT_ERR_BAD_PARAM, msg holds a
 * sentence naming the parameter.
 */
enum aut_err params_parse_list(const char *query, unsigned int page_size_max,
    struct list_params *out, char *msg, size_t msglen);

/*
 * Form-decode [s, s+n) ('+' is a space, %XX a byte) into out (size outlen,
 * NUL-terminated).  Returns the decoded length, or -1 when malformed or too long.
 */
long params_form_decode(const char *s, size_t n, char *out, size_t outlen);

#endif
