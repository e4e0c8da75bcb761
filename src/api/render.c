/* render.c: JSON bodies with json-c; nothing else in the program writes JSON. */
#include "render.h"

#include <stdlib.h>
#include <string.h>

#include <json.h>

#include "../core/timefmt.h"
#include "../core/tokenid.h"

struct render_list {
	json_object *items;     /* array of token objects */
};

/*
 * Add key → value to obj, taking ownership of value even on failure.  key is
 * a string literal, new in obj: json-c then neither copies it nor looks for
 * an earlier value (a page of 20 tokens made 130 key copies and lookups).
 */
static int
put(json_object *obj, const char *key, json_object *value)
{
	if (value == NULL)
		return -1;
	if (json_object_object_add_ex(obj, key, value,
	    JSON_C_OBJECT_ADD_KEY_IS_NEW | JSON_C_OBJECT_KEY_IS_CONSTANT) != 0) {
		json_object_put(value);
		return -1;
	}
	return 0;
}

static json_object *
time_string(const struct tm *tm)
{
	char buf[TIMEFMT_RFC3339_LEN];

	if (timefmt_rfc3339_tm(tm, buf) != 0)
		return NULL;
	return json_object_new_string(buf);
}

static json_object *
token_id_string(const unsigned char id[16])
{
	char buf[TOKEN_ID_TEXT_LEN];

	token_id_format(id, buf);
	return json_object_new_string(buf);
}

static json_object *
now_string(time_t now)
{
	char buf[TIMEFMT_RFC3339_LEN];

	if (timefmt_rfc3339(now, buf) != 0)
		return NULL;
	return json_object_new_string(buf);
}

enum aut_err
render_list_new(struct render_list **out)
{
	struct render_list *list = calloc(1, sizeof(*list));

	if (list == NULL || (list->items = json_object_new_array()) == NULL) {
		free(list);
		return AUT_ERR_NOMEM;
	}
	*out = list;
	return AUT_OK;
}

enum aut_err
render_list_add(struct render_list *list, const struct token_row *row)
{
	json_object *item = json_object_new_object();

	if (item == NULL)
		return AUT_ERR_NOMEM;
	if (put(item, "id", token_id_string(row->public_id)) != 0 ||
	    put(item, "created_at", time_string(&row->created_at)) != 0 ||
	    put(item, "expires_at", time_string(&row->expires_at)) != 0 ||
	    put(item, "scope", json_object_new_string(row->scope)) != 0 ||
	    put(item, "token_type", json_object_new_string(row->token_type)) != 0 ||
	    (row->user_id != NULL &&
	     put(item, "user_id", json_object_new_string(row->user_id)) != 0) ||
	    json_object_array_add(list->items, item) != 0) {
		json_object_put(item);
		return AUT_ERR_NOMEM;
	}
	return AUT_OK;
}

void
render_list_free(struct render_list *list)
{
	if (list == NULL)
		return;
	json_object_put(list->items);
	free(list);
}

/* Serialise and free root. */
static enum aut_err
serialise(json_object *root, char **body, size_t *len)
{
	size_t n = 0;
	const char *s = json_object_to_json_string_length(root,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &n);
	enum aut_err err = AUT_ERR_NOMEM;

	if (s != NULL && (*body = malloc(n + 1)) != NULL) {
		memcpy(*body, s, n + 1);
		*len = n;
		err = AUT_OK;
	}
	json_object_put(root);
	return err;
}

enum aut_err
render_list_finish(struct render_list *list, const struct paging *pg,
    const char *next_cursor, time_t now, char **body, size_t *len)
{
	json_object *root = json_object_new_object();
	json_object *pagination = json_object_new_object();
	json_object *items = list->items;

	list->items = NULL;
	render_list_free(list);
	if (root == NULL || pagination == NULL)
		goto nomem;
	if ((pg->page > 0 && put(pagination, "page", json_object_new_int64((int64_t)pg->page)) != 0) ||
	    put(pagination, "page_size", json_object_new_int64(pg->page_size)) != 0 ||
	    put(pagination, "total", json_object_new_int64((int64_t)pg->total)) != 0 ||
	    put(pagination, "total_pages", json_object_new_int64((int64_t)pg->total_pages)) != 0 ||
	    put(pagination, "has_next", json_object_new_boolean(pg->has_next)) != 0 ||
	    put(pagination, "has_prev", json_object_new_boolean(pg->has_prev)) != 0)
		goto nomem;
	if (put(root, "code", json_object_new_int(200)) != 0 ||
	    put(root, "message", json_object_new_string(error_message(AUT_OK))) != 0)
		goto nomem;
	if (put(root, "items", items) != 0) {
		items = NULL;
		goto nomem;
	}
	items = NULL;
	if (put(root, "pagination", pagination) != 0) {
		pagination = NULL;
		goto nomem;
	}
	pagination = NULL;
	if (put(root, "total", json_object_new_int64((int64_t)pg->total)) != 0 ||
	    (next_cursor != NULL ? put(root, "next_cursor", json_object_new_string(next_cursor))
	    : json_object_object_add_ex(root, "next_cursor", NULL,
	    JSON_C_OBJECT_ADD_KEY_IS_NEW | JSON_C_OBJECT_KEY_IS_CONSTANT)) != 0 ||
	    put(root, "timestamp", now_string(now)) != 0)
		goto nomem;
	return serialise(root, body, len);
nomem:
	json_object_put(items);
	json_object_put(pagination);
	json_object_put(root);
	return AUT_ERR_NOMEM;
}

enum aut_err
render_error(int status, const char *message, time_t now, char **body, size_t *len)
{
	json_object *root = json_object_new_object();

	if (root == NULL)
		return AUT_ERR_NOMEM;
	if (put(root, "code", json_object_new_int(status)) != 0 ||
	    put(root, "message", json_object_new_string(message)) != 0 ||
	    put(root, "timestamp", now_string(now)) != 0) {
		json_object_put(root);
		return AUT_ERR_NOMEM;
	}
	return serialise(root, body, len);
}

enum aut_err
render_revoked(uint64_t revoked, bool dry_run, time_t now, char **body, size_t *len)
{
	json_object *root = json_object_new_object();

	if (root == NULL)
		return AUT_ERR_NOMEM;
	if (put(root, "code", json_object_new_int(200)) != 0 ||
	    put(root, "message", json_object_new_string(dry_run
	        ? "Dry run: nothing was revoked" : "Revoked")) != 0 ||
	    put(root, "revoked", json_object_new_int64((int64_t)revoked)) != 0 ||
	    put(root, "dry_run", json_object_new_boolean(dry_run)) != 0 ||
	    put(root, "timestamp", now_string(now)) != 0) {
		json_object_put(root);
		return AUT_ERR_NOMEM;
	}
	return serialise(root, body, len);
}

enum aut_err
render_filters(const struct token_filters *f, char **json)
{
	json_object *root = json_object_new_object();
	const char *type = token_type_name(f->token_type);
	size_t len;

	if (root == NULL)
		return AUT_ERR_NOMEM;
	if ((f->user_id[0] && put(root, "user_id", json_object_new_string(f->user_id)) != 0) ||
	    (type && put(root, "token_type", json_object_new_string(type)) != 0)) {
		json_object_put(root);
		return AUT_ERR_NOMEM;
	}
	return serialise(root, json, &len);
}

enum aut_err
render_token_ref(const unsigned char id[16], char **json)
{
	json_object *root = json_object_new_object();
	size_t len;

	if (root == NULL)
		return AUT_ERR_NOMEM;
	if (put(root, "id", token_id_string(id)) != 0) {
		json_object_put(root);
		return AUT_ERR_NOMEM;
	}
	return serialise(root, json, &len);
}
