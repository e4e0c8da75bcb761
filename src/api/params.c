/* params.c: query-string parsing and validation of page and page_size. */
#include "params.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "../core/text.h"

/* ---- one validator per parameter: value → field, or a message ---------- */

/* Everything a validator may fill; each request kind reads its own part. */
struct parsed_query {
	struct list_params *list;       /* NULL unless parsing a list query */
	struct revoke_params *revoke;   /* NULL unless parsing a revoke query */
	unsigned int page_size_max;
	bool seen_page;                 /* page was given (a cursor excludes it) */
};

typedef int (*param_fn)(struct parsed_query *q, const char *v, size_t n,
    char *msg, size_t msglen);

struct param_def {
	const char *name;
	param_fn parse;
};

static struct token_filters *
filters_of(struct parsed_query *q)
{
	return q->list ? &q->list->filters : &q->revoke->filters;
}

static int
parse_page(struct parsed_query *q, const char *v, size_t n, char *msg, size_t msglen)
{
	uint64_t page;

	q->seen_page = true;
	if (text_parse_decimal(v, n, 1, PARAMS_PAGE_MAX, &page) == 0) {
		q->list->page = (unsigned long)page;
		return 0;
	}
	snprintf(msg, msglen, "page must be a whole number from 1 to %lu", PARAMS_PAGE_MAX);
	return -1;
}

static int
parse_page_size(struct parsed_query *q, const char *v, size_t n, char *msg, size_t msglen)
{
	uint64_t size;

	if (text_parse_decimal(v, n, 1, q->page_size_max, &size) == 0) {
		q->list->page_size = (unsigned int)size;
		return 0;
	}
	snprintf(msg, msglen, "page_size must be a whole number from 1 to %u",
	    q->page_size_max);
	return -1;
}

static int
parse_user_id(struct parsed_query *q, const char *v, size_t n, char *msg, size_t msglen)
{
	struct token_filters *f = filters_of(q);

	if (!text_is_id(v, n, TOKEN_USER_ID_MAX)) {
		snprintf(msg, msglen, "user_id must be 1 to %d letters, digits, '_', '-' or '.'",
		    TOKEN_USER_ID_MAX);
		return -1;
	}
	memcpy(f->user_id, v, n);
	f->user_id[n] = '\0';
	return 0;
}

static int
parse_token_type(struct parsed_query *q, const char *v, size_t n, char *msg, size_t msglen)
{
	struct token_filters *f = filters_of(q);

	if (n == strlen("access_token") && memcmp(v, "access_token", n) == 0)
		f->token_type = TOKEN_TYPE_ACCESS;
	else if (n == strlen("refresh_token") && memcmp(v, "refresh_token", n) == 0)
		f->token_type = TOKEN_TYPE_REFRESH;
	else {
		snprintf(msg, msglen, "token_type must be access_token or refresh_token");
		return -1;
	}
	return 0;
}

static int
parse_dry_run(struct parsed_query *q, const char *v, size_t n, char *msg, size_t msglen)
{
	if (n == 4 && memcmp(v, "true", 4) == 0)
		q->revoke->dry_run = 1;
	else if (n == 5 && memcmp(v, "false", 5) == 0)
		q->revoke->dry_run = 0;
	else {
		snprintf(msg, msglen, "dry_run must be true or false");
		return -1;
	}
	return 0;
}

/* The form of a page cursor; whether it is genuine is tokens_list.c's question. */
static int
parse_cursor(struct parsed_query *q, const char *v, size_t n, char *msg, size_t msglen)
{
	if (n == CURSOR_TEXT_LEN && strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789-_") == n) {
		memcpy(q->list->cursor, v, n);
		q->list->cursor[n] = '\0';
		return 0;
	}
	snprintf(msg, msglen, "cursor must be the next_cursor of an earlier list response, "
	    "unchanged");
	return -1;
}

static const struct param_def list_defs[] = {
	{ "page", parse_page },
	{ "cursor", parse_cursor },
	{ "page_size", parse_page_size },
	{ "user_id", parse_user_id },
	{ "token_type", parse_token_type },
};

static const struct param_def revoke_defs[] = {
	{ "user_id", parse_user_id },
	{ "token_type", parse_token_type },
	{ "dry_run", parse_dry_run },
};

/* One token by id: there is nothing to filter (filters are refused as unknown). */
static const struct param_def revoke_one_defs[] = {
	{ "dry_run", parse_dry_run },
};

/*
 * A destructive request refuses a name it does not know (a typo of dry_run must
 * not turn a dry run into a revocation): the message names it when it can be
 * shown safely, and lists the names the request takes.
 */
static enum aut_err
refuse_unknown(const char *raw, size_t rawlen, const struct param_def *defs,
    size_t ndefs, char *msg, size_t msglen)
{
	char name[33], known[64] = "";
	long n = text_percent_decode(raw, rawlen, true, name, sizeof(name));

	for (size_t i = 0; i < ndefs; i++) {
		strncat(known, i ? ", " : "", sizeof(known) - strlen(known) - 1);
		strncat(known, defs[i].name, sizeof(known) - strlen(known) - 1);
	}
	/* A name safe to repeat in a message: short, of public-id characters. */
	if (n > 0 && text_is_id(name, (size_t)n, 32))
		snprintf(msg, msglen, "unknown parameter %s: this request takes only %s",
		    name, known);
	else
		snprintf(msg, msglen, "unknown parameter (name not shown): this request "
		    "takes only %s", known);
	return AUT_ERR_BAD_PARAM;
}

enum unknown_names { UNKNOWN_IGNORED, UNKNOWN_REFUSED };

/*
 * Walk name=value pairs; each known name at most once.  Unknown names are
 * ignored by reads and refused by destructive requests (empty pairs, as in
 * "a=1&&b=2", are skipped by both).
 */
static enum aut_err
parse_query(const char *query, const struct param_def *defs, size_t ndefs,
    enum unknown_names unknown, struct parsed_query *q, char *msg, size_t msglen)
{
	const char *p = query;
	unsigned int seen = 0;

	while (*p != '\0') {
		size_t len = strcspn(p, "&");
		const char *eq = memchr(p, '=', len);
		size_t klen = eq ? (size_t)(eq - p) : len;
		const char *val = eq ? eq + 1 : p + len;
		size_t vlen = (size_t)(p + len - val);
		char key[16], value[TOKEN_USER_ID_MAX + 1];
		bool matched = false;

		long keylen = text_percent_decode(p, klen, true, key, sizeof(key));

		/* (A decoded NUL makes the key longer than its strlen: no match.) */
		if (keylen >= 0 && (size_t)keylen == strlen(key)) {
			for (size_t i = 0; i < ndefs; i++) {
				if (strcmp(key, defs[i].name) != 0)
					continue;
				matched = true;
				if (seen & (1u << i)) {
					snprintf(msg, msglen, "%s must be given at most once", key);
					return AUT_ERR_BAD_PARAM;
				}
				seen |= 1u << i;
				long dlen = text_percent_decode(val, vlen, true, value, sizeof(value));
				if (dlen < 0) {
					/* Malformed or too long: let the validator word it. */
					value[0] = '\x01';
					dlen = 1;
				}
				if (defs[i].parse(q, value, (size_t)dlen, msg, msglen) != 0)
					return AUT_ERR_BAD_PARAM;
			}
		}
		if (!matched && len > 0 && unknown == UNKNOWN_REFUSED)
			return refuse_unknown(p, klen, defs, ndefs, msg, msglen);
		p += len;
		if (*p == '&')
			p++;
	}
	return AUT_OK;
}

enum aut_err
params_parse_list(const char *query, unsigned int page_size_max,
    struct list_params *out, char *msg, size_t msglen)
{
	struct parsed_query q = { .list = out, .page_size_max = page_size_max };

	memset(out, 0, sizeof(*out));
	out->page = PARAMS_PAGE_DEFAULT;
	out->page_size = PARAMS_PAGE_SIZE_DEFAULT;
	if (out->page_size > page_size_max)
		out->page_size = page_size_max;
	enum aut_err err = parse_query(query, list_defs, sizeof(list_defs) / sizeof(list_defs[0]),
	    UNKNOWN_IGNORED, &q, msg, msglen);
	if (err == AUT_OK && out->cursor[0] != '\0' && q.seen_page) {
		snprintf(msg, msglen, "cursor and page cannot be used together: the cursor says "
		    "where the page starts");
		return AUT_ERR_BAD_PARAM;
	}
	return err;
}

enum aut_err
params_parse_revoke(const char *query, struct revoke_params *out, char *msg,
    size_t msglen)
{
	struct parsed_query q = { .revoke = out };

	memset(out, 0, sizeof(*out));
	return parse_query(query, revoke_defs, sizeof(revoke_defs) / sizeof(revoke_defs[0]),
	    UNKNOWN_REFUSED, &q, msg, msglen);
}

enum aut_err
params_parse_revoke_one(const char *query, struct revoke_params *out, char *msg,
    size_t msglen)
{
	struct parsed_query q = { .revoke = out };

	memset(out, 0, sizeof(*out));
	return parse_query(query, revoke_one_defs,
	    sizeof(revoke_one_defs) / sizeof(revoke_one_defs[0]), UNKNOWN_REFUSED, &q,
	    msg, msglen);
}
