/* fuzz_query.c: libFuzzer harness for the query string (params_parse_list, _revoke, _revoke_one, text_percent_decode). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/core/config.h"
#include "../../src/api/params.h"
#include "../../src/core/text.h"
#include "fuzz.h"

/*
 * The input is a QUERY_STRING, as the web server passes it (a C string).  The
 * reference model below is params.h read literally: a name counts only when it
 * decodes to exactly that name (a decoded NUL makes another name); a value that
 * is malformed or decodes to more than TOKEN_USER_ID_MAX bytes is invalid.
 */

enum param { P_PAGE, P_PAGE_SIZE, P_USER_ID, P_TOKEN_TYPE, P_DRY_RUN, P_CURSOR, P_COUNT,
	P_UNKNOWN = P_COUNT };
static const char *const param_names[P_COUNT] = {
	"page", "page_size", "user_id", "token_type", "dry_run", "cursor"
};

struct model {
	unsigned long page, page_size;
	char user_id[TOKEN_USER_ID_MAX + 1];
	enum token_type_filter token_type;
	int dry_run;
	char cursor[CURSOR_TEXT_MAX];
};

static int
model_decimal(const char *s, size_t n, unsigned long min, unsigned long max,
    unsigned long *out)
{
	unsigned long long v = 0;

	if (n == 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned long long)(s[i] - '0');
		if (v > max)
			return -1;
	}
	if (v < min)
		return -1;
	*out = (unsigned long)v;
	return 0;
}

static int
model_user_id(const char *v, size_t n)
{
	if (n == 0 || n > TOKEN_USER_ID_MAX)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (!((v[i] >= 'a' && v[i] <= 'z') || (v[i] >= 'A' && v[i] <= 'Z') ||
		    (v[i] >= '0' && v[i] <= '9') || v[i] == '_' || v[i] == '-' || v[i] == '.'))
			return -1;
	return 0;
}

static int
is(const char *v, long n, const char *word)
{
	return n >= 0 && (size_t)n == strlen(word) && memcmp(v, word, (size_t)n) == 0;
}

/*
 * Parse q with the parameters `known` (a bit per enum param).  Returns
 * AUT_OK, or AUT_ERR_BAD_PARAM with *bad the first parameter at fault
 * (P_UNKNOWN: a non-empty pair whose name is not known, when `strict`).
 */
static enum aut_err
model_parse(const char *q, unsigned known, int strict, unsigned int max, struct model *m,
    int *bad)
{
	size_t len = strlen(q), i = 0;
	unsigned seen = 0;
	char *key = malloc(len + 1), *val = malloc(len + 1);
	enum aut_err err = AUT_OK;

	CHECK(key != NULL && val != NULL);
	memset(m, 0, sizeof(*m));
	m->page = 1;
	m->page_size = max < 20 ? max : 20;
	while (i < len && err == AUT_OK) {
		size_t end = i, eq;
		while (end < len && q[end] != '&')
			end++;
		for (eq = i; eq < end && q[eq] != '='; eq++)
			;
		long klen = fuzz_pct_decode(q + i, eq - i, 1, key);
		size_t vs = eq < end ? eq + 1 : end;
		long vlen = fuzz_pct_decode(q + vs, end - vs, 1, val);
		if (vlen > TOKEN_USER_ID_MAX)
			vlen = -1;
		int matched = 0, nonempty = end > i;
		i = end + 1;
		for (int p = 0; p < P_COUNT && klen >= 0; p++) {
			if (!(known & (1u << p)) || !is(key, klen, param_names[p]))
				continue;
			matched = 1;
			*bad = p;
			if (seen & (1u << p)) {
				err = AUT_ERR_BAD_PARAM;
				break;
			}
			seen |= 1u << p;
			int fail = vlen < 0;
			switch (p) {
			case P_PAGE:
				fail = fail || model_decimal(val, (size_t)vlen, 1, PARAMS_PAGE_MAX, &m->page);
				break;
			case P_PAGE_SIZE:
				fail = fail || model_decimal(val, (size_t)vlen, 1, max, &m->page_size);
				break;
			case P_USER_ID:
				fail = fail || model_user_id(val, (size_t)vlen);
				if (!fail) {
					memcpy(m->user_id, val, (size_t)vlen);
					m->user_id[vlen] = '\0';
				}
				break;
			case P_TOKEN_TYPE:
				if (is(val, vlen, "access_token"))
					m->token_type = TOKEN_TYPE_ACCESS;
				else if (is(val, vlen, "refresh_token"))
					m->token_type = TOKEN_TYPE_REFRESH;
				else
					fail = 1;
				break;
			case P_CURSOR:
				/* 44 characters of base64url, as they are. */
				fail = fail || vlen != CURSOR_TEXT_LEN;
				for (long c = 0; !fail && c < vlen; c++)
					fail = !((val[c] >= 'A' && val[c] <= 'Z') ||
					    (val[c] >= 'a' && val[c] <= 'z') ||
					    (val[c] >= '0' && val[c] <= '9') || val[c] == '-' ||
					    val[c] == '_');
				if (!fail) {
					memcpy(m->cursor, val, (size_t)vlen);
					m->cursor[vlen] = '\0';
				}
				break;
			case P_DRY_RUN:
				if (is(val, vlen, "true"))
					m->dry_run = 1;
				else if (is(val, vlen, "false"))
					m->dry_run = 0;
				else
					fail = 1;
				break;
			}
			if (fail)
				err = AUT_ERR_BAD_PARAM;
		}
		if (err == AUT_OK && strict && nonempty && !matched) {
			*bad = P_UNKNOWN;
			err = AUT_ERR_BAD_PARAM;
		}
	}
	/* A cursor says where the page starts: page with it is a contradiction. */
	if (err == AUT_OK && (seen & (1u << P_CURSOR)) && (seen & (1u << P_PAGE))) {
		*bad = P_CURSOR;
		err = AUT_ERR_BAD_PARAM;
	}
	free(key);
	free(val);
	return err;
}

/* Filters: user_id NUL-terminated in its buffer and valid; a known token type. */
static void
check_filters(const struct token_filters *f, const struct model *m)
{
	CHECK(memchr(f->user_id, '\0', sizeof(f->user_id)) != NULL);
	CHECK(strcmp(f->user_id, m->user_id) == 0);
	CHECK(f->user_id[0] == '\0' || model_user_id(f->user_id, strlen(f->user_id)) == 0);
	CHECK(f->token_type == m->token_type);
	CHECK((token_type_name(f->token_type) == NULL) == (f->token_type == TOKEN_TYPE_ANY));
}

/* A 400's sentence: NUL-terminated, naming the parameter at fault first. */
static void
check_message(const char *msg, size_t size, int bad)
{
	CHECK(memchr(msg, '\0', size) != NULL);
	if (bad == P_UNKNOWN) {
		CHECK(strncmp(msg, "unknown parameter ", 18) == 0);
		CHECK(strchr(msg, '<') == NULL && strchr(msg, '"') == NULL);
		return;
	}
	size_t n = strlen(param_names[bad]);
	CHECK(strncmp(msg, param_names[bad], n) == 0 && msg[n] == ' ');
}

static void
check_list(const char *q, unsigned int max)
{
	struct list_params p;
	struct model m;
	char msg[160];
	int bad = -1;

	memset(msg, 0, sizeof(msg));
	enum aut_err err = params_parse_list(q, max, &p, msg, sizeof(msg));
	CHECK(err == AUT_OK || err == AUT_ERR_BAD_PARAM);
	CHECK(err == model_parse(q, 1u << P_PAGE | 1u << P_PAGE_SIZE | 1u << P_USER_ID |
	    1u << P_TOKEN_TYPE | 1u << P_CURSOR, 0, max, &m, &bad));
	if (err == AUT_OK) {
		/* Documented bounds, and the values the query asked for. */
		CHECK(p.page >= 1 && p.page <= PARAMS_PAGE_MAX);
		CHECK(p.page_size >= 1 && p.page_size <= max);
		CHECK(p.page == m.page && p.page_size == m.page_size);
		CHECK(strcmp(p.cursor, m.cursor) == 0);
		check_filters(&p.filters, &m);
	} else {
		check_message(msg, sizeof(msg), bad);
	}
}

/* DELETE .../tokens (filters, dry_run) and DELETE .../tokens/{id} (dry_run only). */
static void
check_revoke(const char *q, int one)
{
	struct revoke_params p;
	struct model m;
	char msg[160];
	int bad = -1;
	enum aut_err err;

	memset(msg, 0, sizeof(msg));
	if (one)
		err = params_parse_revoke_one(q, &p, msg, sizeof(msg));
	else
		err = params_parse_revoke(q, &p, msg, sizeof(msg));
	CHECK(err == AUT_OK || err == AUT_ERR_BAD_PARAM);
	CHECK(err == model_parse(q, one ? 1u << P_DRY_RUN :
	    1u << P_USER_ID | 1u << P_TOKEN_TYPE | 1u << P_DRY_RUN, 1, 1, &m, &bad));
	if (err == AUT_OK) {
		check_filters(&p.filters, &m);
		CHECK(p.dry_run == m.dry_run);
	} else {
		check_message(msg, sizeof(msg), bad);
	}
}

/* text_percent_decode (form) into a buffer of exactly outlen bytes, against the reference. */
static void
check_form_decode(const char *s, size_t n, size_t outlen)
{
	char *out = malloc(outlen), *ref = malloc(n + 1);

	CHECK(out != NULL && ref != NULL);
	long got = text_percent_decode(s, n, true, out, outlen);
	long want = fuzz_pct_decode(s, n, 1, ref);
	if (want >= 0 && (size_t)want >= outlen)
		want = TEXT_OUT_OF_RANGE;
	CHECK(got == want);
	if (got >= 0) {
		CHECK((size_t)got < outlen && out[got] == '\0');
		CHECK(memcmp(out, ref, (size_t)got) == 0);
	}
	free(out);
	free(ref);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *q = fuzz_cstring(data, size);
	size_t n = strlen(q);

	check_list(q, 100);                   /* the shipped default */
	check_list(q, CONFIG_PAGE_SIZE_MAX_LIMIT);
	check_list(q, 1 + (unsigned int)(size % 1000));
	check_revoke(q, 0);
	check_revoke(q, 1);
	check_form_decode(q, n, 1 + size % 40);
	check_form_decode(q, n, n + 1);
	free(q);
	return 0;
}
