/* test_render.c: the JSON bodies, parsed back with json-c: list envelope, items, errors, escaping. */
#include "../../src/api/render.h"

#include <stdlib.h>
#include <string.h>

#include <json.h>

#include "unit.h"

/* 2026-04-15T10:30:00Z */
#define NOW ((time_t)1776249000)

static struct tm
utc(time_t t)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	return tm;
}

static json_object *
parse_body(const char *body, size_t len, const char *name)
{
	json_tokener *tok = json_tokener_new();
	json_object *obj = NULL;

	if (tok == NULL)
		return NULL;
	obj = json_tokener_parse_ex(tok, body, (int)len);
	CHECK(obj != NULL && json_tokener_get_error(tok) == json_tokener_success &&
	    json_tokener_get_parse_end(tok) == len, "%s: body is one complete JSON value", name);
	json_tokener_free(tok);
	return obj;
}

static json_object *
get(json_object *obj, const char *key)
{
	json_object *v = NULL;

	return json_object_object_get_ex(obj, key, &v) ? v : NULL;
}

static int
key_count(json_object *obj)
{
	return json_object_is_type(obj, json_type_object) ? json_object_object_length(obj) : -1;
}

static void
check_int(json_object *obj, const char *key, int64_t want, const char *name)
{
	json_object *v = get(obj, key);

	CHECK(json_object_is_type(v, json_type_int), "%s: \"%s\" is an integer", name, key);
	CHECK_INT(json_object_get_int64(v), want, "%s: \"%s\" value", name, key);
}

static void
check_bool(json_object *obj, const char *key, int want, const char *name)
{
	json_object *v = get(obj, key);

	CHECK(json_object_is_type(v, json_type_boolean), "%s: \"%s\" is a boolean", name, key);
	CHECK_INT(json_object_get_boolean(v), want, "%s: \"%s\" value", name, key);
}

static void
check_string(json_object *obj, const char *key, const char *want, const char *name)
{
	json_object *v = get(obj, key);

	CHECK(json_object_is_type(v, json_type_string), "%s: \"%s\" is a string", name, key);
	CHECK_STR(json_object_get_string(v), want, "%s: \"%s\" value", name, key);
}

/* No raw control byte: JSON requires them escaped. */
static void
check_no_raw_controls(const char *body, size_t len, const char *name)
{
	size_t bad = len;

	for (size_t i = 0; i < len; i++) {
		if ((unsigned char)body[i] < 0x20) {
			bad = i;
			break;
		}
	}
	CHECK(bad == len, "%s: no raw control byte in the body", name);
	CHECK_U64(strlen(body), len, "%s: body length matches and is NUL-terminated", name);
}

/* Render a list of rows with paging; returns the parsed body (caller puts it). */
static json_object *
render_next(const struct token_row *rows, size_t n, unsigned long page, unsigned int size,
    uint64_t total, const char *next_cursor, const char *name)
{
	struct render_list *list = NULL;
	struct paging pg;
	char *body = NULL;
	size_t len = 0;
	json_object *root;

	CHECK_INT(render_list_new(&list), AUT_OK, "%s: list created", name);
	for (size_t i = 0; i < n; i++)
		CHECK_INT(render_list_add(list, &rows[i]), AUT_OK, "%s: row %zu added", name, i);
	paging_compute(page > 0 ? page : 1, size, total, &pg);
	pg.page = page;
	CHECK_INT(render_list_finish(list, &pg, next_cursor, NOW, &body, &len), AUT_OK,
	    "%s: envelope rendered", name);
	if (body == NULL)
		return NULL;
	check_no_raw_controls(body, len, name);
	root = parse_body(body, len, name);
	free(body);
	return root;
}

/* A page that is the last one (next_cursor null). */
static json_object *
render(const struct token_row *rows, size_t n, unsigned long page, unsigned int size,
    uint64_t total, const char *name)
{
	return render_next(rows, n, page, size, total, NULL, name);
}

static void
test_envelope(void)
{
	struct token_row rows[2];
	json_object *root, *pag, *items, *it;

	memset(rows, 0, sizeof(rows));
	rows[0].token_type = "access_token";
	rows[0].scope = "openid profile email";
	rows[0].user_id = "usr_abc123";
	rows[0].created_at = utc(NOW);
	rows[0].expires_at = utc(NOW + 900);
	rows[1].token_type = "refresh_token";
	rows[1].scope = "";
	rows[1].user_id = NULL;
	rows[1].created_at = utc(951782400);
	rows[1].expires_at = utc(253402300799);

	root = render(rows, 2, 2, 2, 5, "envelope");
	CHECK_INT(key_count(root), 7, "envelope: exactly seven keys");
	CHECK(json_object_object_get_ex(root, "next_cursor", &it) && it == NULL,
	    "envelope: next_cursor is null on the last page");
	check_int(root, "code", 200, "envelope");
	check_string(root, "message", "OK", "envelope");
	check_int(root, "total", 5, "envelope");
	check_string(root, "timestamp", "2026-04-15T10:30:00Z", "envelope");

	pag = get(root, "pagination");
	CHECK_INT(key_count(pag), 6, "pagination: exactly six keys");
	check_int(pag, "page", 2, "pagination");
	check_int(pag, "page_size", 2, "pagination");
	check_int(pag, "total", 5, "pagination");
	check_int(pag, "total_pages", 3, "pagination");
	check_bool(pag, "has_next", 1, "pagination");
	check_bool(pag, "has_prev", 1, "pagination");

	items = get(root, "items");
	CHECK(json_object_is_type(items, json_type_array), "items is an array");
	CHECK_INT(items ? (long long)json_object_array_length(items) : -1, 2, "items: two");

	it = items ? json_object_array_get_idx(items, 0) : NULL;
	CHECK_INT(key_count(it), 6, "item with user: six keys (id included)");
	check_string(it, "created_at", "2026-04-15T10:30:00Z", "item 0");
	check_string(it, "expires_at", "2026-04-15T10:45:00Z", "item 0");
	check_string(it, "scope", "openid profile email", "item 0");
	check_string(it, "token_type", "access_token", "item 0");
	check_string(it, "user_id", "usr_abc123", "item 0");

	it = items ? json_object_array_get_idx(items, 1) : NULL;
	CHECK_INT(key_count(it), 5, "item without user: five keys (id included)");
	CHECK(it != NULL && !json_object_object_get_ex(it, "user_id", NULL),
	    "item without user: no \"user_id\" key at all (not null, not \"\")");
	check_string(it, "created_at", "2000-02-29T00:00:00Z", "item 1");
	check_string(it, "expires_at", "9999-12-31T23:59:59Z", "item 1");
	check_string(it, "scope", "", "item 1: empty scope is \"\"");
	check_string(it, "token_type", "refresh_token", "item 1");
	json_object_put(root);
}

static void
test_empty_and_large(void)
{
	json_object *root, *items, *pag;

	root = render(NULL, 0, 1, 20, 0, "empty list");
	items = get(root, "items");
	CHECK(json_object_is_type(items, json_type_array), "empty list: items is an array");
	CHECK_INT(items ? (long long)json_object_array_length(items) : -1, 0,
	    "empty list: items is []");
	check_int(root, "total", 0, "empty list");
	pag = get(root, "pagination");
	check_int(pag, "total_pages", 0, "empty list");
	check_bool(pag, "has_next", 0, "empty list");
	check_bool(pag, "has_prev", 0, "empty list");
	json_object_put(root);

	root = render(NULL, 0, 2147483647UL, 1000, UINT64_C(5000000000), "past the end");
	items = get(root, "items");
	CHECK_INT(items ? (long long)json_object_array_length(items) : -1, 0,
	    "past the end: items is []");
	check_int(root, "total", 5000000000LL, "past the end: total above 2^32");
	pag = get(root, "pagination");
	check_int(pag, "page", 2147483647LL, "past the end: largest page");
	check_int(pag, "total_pages", 5000000, "past the end");
	check_bool(pag, "has_next", 0, "past the end");
	check_bool(pag, "has_prev", 1, "past the end");
	json_object_put(root);
}

static void
test_escaping(void)
{
	static const char *const texts[] = {
		"say \"hi\"",
		"back\\slash",
		"a/b",
		"line\nfeed\rreturn\ttab",
		"\x01\x02\x1f bell\x07 esc\x1b",
		"caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80",
		"</script><script>alert(1)</script>",
		"\x7f",
	};

	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		struct token_row row;
		json_object *root, *items, *it;
		char *body = NULL;
		size_t len = 0;

		memset(&row, 0, sizeof(row));
		row.token_type = "access_token";
		row.scope = texts[i];
		row.user_id = texts[i];
		row.created_at = utc(NOW);
		row.expires_at = utc(NOW);
		root = render(&row, 1, 1, 20, 1, "escaping in an item");
		items = get(root, "items");
		it = items ? json_object_array_get_idx(items, 0) : NULL;
		CHECK_STR(json_object_get_string(get(it, "scope")), texts[i],
		    "escaping: scope %zu round-trips", i);
		CHECK_STR(json_object_get_string(get(it, "user_id")), texts[i],
		    "escaping: user_id %zu round-trips", i);
		json_object_put(root);

		CHECK_INT(render_error(400, texts[i], NOW, &body, &len), AUT_OK,
		    "escaping: error %zu rendered", i);
		if (body == NULL)
			continue;
		check_no_raw_controls(body, len, "escaping in an error");
		root = parse_body(body, len, "escaping in an error");
		CHECK_STR(json_object_get_string(get(root, "message")), texts[i],
		    "escaping: error message %zu round-trips", i);
		json_object_put(root);
		free(body);
	}

	/* What a person reading the raw body sees: '/' and UTF-8 are not escaped. */
	char *body = NULL;
	size_t len = 0;
	CHECK_INT(render_error(404, "caf\xC3\xA9 a/b \"q\" \x01", NOW, &body, &len), AUT_OK,
	    "raw body: rendered");
	if (body != NULL) {
		CHECK_CONTAINS(body, "\"message\":\"caf\xC3\xA9 a/b \\\"q\\\" \\u0001\"",
		    "raw body: UTF-8 and '/' as is, quote and control byte escaped");
		free(body);
	}
}

static void
test_error(void)
{
	static const int statuses[] = { 400, 401, 403, 404, 405, 500, 503 };

	for (size_t i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++) {
		char *body = NULL;
		size_t len = 0;
		json_object *root;
		const char *msg = "page must be a whole number from 1 to 2147483647";

		CHECK_INT(render_error(statuses[i], msg, NOW, &body, &len), AUT_OK,
		    "error %d: rendered", statuses[i]);
		if (body == NULL)
			continue;
		root = parse_body(body, len, "error");
		CHECK_INT(key_count(root), 3, "error %d: exactly three keys", statuses[i]);
		check_int(root, "code", statuses[i], "error");
		check_string(root, "message", msg, "error");
		check_string(root, "timestamp", "2026-04-15T10:30:00Z", "error");
		CHECK(get(root, "items") == NULL && get(root, "pagination") == NULL,
		    "error %d: no list fields", statuses[i]);
		json_object_put(root);
		free(body);
	}
}

static void
test_free(void)
{
	struct render_list *list = NULL;
	struct token_row row;

	render_list_free(NULL);
	CHECK(1, "render_list_free(NULL) is harmless");
	memset(&row, 0, sizeof(row));
	row.token_type = "access_token";
	row.scope = "s";
	row.created_at = utc(NOW);
	row.expires_at = utc(NOW);
	CHECK_INT(render_list_new(&list), AUT_OK, "abandoned list: created");
	CHECK_INT(render_list_add(list, &row), AUT_OK, "abandoned list: row added");
	render_list_free(list);   /* valgrind checks nothing leaks */
}

/* Issue 6: the revocation answer and the audit's filters. */
static void
test_revoked_and_filters(void)
{
	char *body = NULL;
	size_t len = 0;
	struct token_filters f;
	json_object *root;

	CHECK_INT(render_revoked(7, true, 0, &body, &len), AUT_OK, "revoked: renders");
	root = body ? json_tokener_parse(body) : NULL;
	CHECK_INT(key_count(root), 5, "revoked: five keys");
	CHECK(root && json_object_get_int64(json_object_object_get(root, "revoked")) == 7,
	    "revoked: count");
	CHECK(root && json_object_get_boolean(json_object_object_get(root, "dry_run")),
	    "revoked: dry_run true");
	json_object_put(root);
	free(body);

	memset(&f, 0, sizeof(f));
	CHECK_INT(render_filters(&f, &body), AUT_OK, "filters: none renders");
	CHECK_STR(body, "{}", "filters: none is {}");
	free(body);
	strcpy(f.user_id, "usr_\"x");
	f.token_type = TOKEN_TYPE_ACCESS;
	CHECK_INT(render_filters(&f, &body), AUT_OK, "filters: both render");
	CHECK_STR(body, "{\"user_id\":\"usr_\\\"x\",\"token_type\":\"access_token\"}",
	    "filters: escaped JSON");
	free(body);
}

/* A page with a next page carries its cursor; a page found by a cursor has no number. */
static void
test_next_cursor(void)
{
	static const char cursor[] = "QQAAAABpUJ2AAAAAAAAAAGPvYt4Lw-6F_cpsT4x4JZ4z";
	json_object *root, *pag;

	root = render_next(NULL, 0, 1, 20, 45, cursor, "next cursor");
	check_string(root, "next_cursor", cursor, "next cursor");
	pag = get(root, "pagination");
	check_int(pag, "page", 1, "next cursor");
	json_object_put(root);

	root = render_next(NULL, 0, 0, 20, 45, cursor, "cursor page");
	pag = get(root, "pagination");
	CHECK_INT(key_count(pag), 5, "cursor page: pagination without a page number");
	CHECK(!json_object_object_get_ex(pag, "page", NULL), "cursor page: no page key");
	check_int(pag, "total", 45, "cursor page");
	check_int(pag, "total_pages", 3, "cursor page");
	json_object_put(root);
}

int
main(void)
{
	/* Timestamps must be UTC whatever the local zone is. */
	setenv("TZ", "XST-5:30", 1);
	tzset();
	test_envelope();
	test_next_cursor();
	test_empty_and_large();
	test_escaping();
	test_error();
	test_free();
	test_revoked_and_filters();
	return unit_done();
}
