/* ctl_directory.c: the directory's statements for autionalctl: tenants, users, clients (list, show, update, delete) and one token's row. */
#define _DEFAULT_SOURCE        /* timegm */
#include "ctl_directory.h"

#include <stdlib.h>
#include <string.h>

#include "../core/log.h"

enum statement {
	SQL_LIST_TENANTS, SQL_LIST_USERS, SQL_LIST_CLIENTS,
	SQL_COUNT_TENANTS, SQL_COUNT_USERS, SQL_COUNT_CLIENTS,
	SQL_FIND_TENANT, SQL_FIND_USER, SQL_FIND_CLIENT,
	SQL_LOCK_TENANT, SQL_LOCK_USER, SQL_LOCK_CLIENT,
	SQL_RENAME_TENANT, SQL_SET_ADMIN, SQL_RENAME_CLIENT,
	SQL_CLIENTS_OF_USER, SQL_USERS_OF_TENANT, SQL_CLIENTS_OF_TENANT,
	SQL_DELETE_CLIENT_TOKENS, SQL_DELETE_CLIENT_TOTALS, SQL_DELETE_CLIENT,
	SQL_DELETE_USER_TOKENS, SQL_DELETE_USER, SQL_DELETE_TENANT,
	SQL_TOKEN,
	SQL_STATEMENTS
};

/*
 * Every kind is read with the same nine columns (struct ctl_object): pk,
 * public id, tenant pk, tenant public id, name, is_admin, created_at, and
 * for a tenant the numbers of its users and clients.
 */
#define TENANT_COLUMNS "SELECT t.id, t.public_id, t.id, t.public_id, t.name, 0, t.created_at," \
	" (SELECT COUNT(*) FROM users x WHERE x.tenant_id = t.id)," \
	" (SELECT COUNT(*) FROM oauth_clients x WHERE x.tenant_id = t.id) "
#define USER_COLUMNS "SELECT u.id, u.public_id, t.id, t.public_id, '', u.is_admin," \
	" u.created_at, 0, 0 "
#define CLIENT_COLUMNS "SELECT c.id, c.client_id, t.id, t.public_id, c.name, 0," \
	" c.created_at, 0, 0 "
#define TENANT_FROM "FROM tenants t"
#define USER_FROM "FROM users u JOIN tenants t ON t.id = u.tenant_id"
#define CLIENT_FROM "FROM oauth_clients c JOIN tenants t ON t.id = c.tenant_id"

/* The list filters; a NULL parameter matches everything.  Seven parameters:
 * tenant, tenant, match, match, match, admin, admin. */
#define FILTER(id, name, admin) \
	" WHERE (? IS NULL OR t.public_id = ?)" \
	" AND (? IS NULL OR LOCATE(?, " id ") > 0 OR LOCATE(?, " name ") > 0)" \
	" AND (? IS NULL OR " admin " = ?)"
#define TENANT_FILTER FILTER("t.public_id", "t.name", "0")
#define USER_FILTER FILTER("u.public_id", "u.public_id", "u.is_admin")
#define CLIENT_FILTER FILTER("c.client_id", "c.name", "0")
#define PAGE " LIMIT ? OFFSET ?"

static const struct db_statement statements[SQL_STATEMENTS] = {
	[SQL_LIST_TENANTS] = { "tenant list", TENANT_COLUMNS TENANT_FROM TENANT_FILTER
	    " ORDER BY t.public_id" PAGE, false },
	[SQL_LIST_USERS] = { "user list", USER_COLUMNS USER_FROM USER_FILTER
	    " ORDER BY u.public_id" PAGE, false },
	[SQL_LIST_CLIENTS] = { "client list", CLIENT_COLUMNS CLIENT_FROM CLIENT_FILTER
	    " ORDER BY c.client_id" PAGE, false },
	[SQL_COUNT_TENANTS] = { "tenant count", "SELECT COUNT(*) " TENANT_FROM TENANT_FILTER,
	    false },
	[SQL_COUNT_USERS] = { "user count", "SELECT COUNT(*) " USER_FROM USER_FILTER, false },
	[SQL_COUNT_CLIENTS] = { "client count", "SELECT COUNT(*) " CLIENT_FROM CLIENT_FILTER,
	    false },
	[SQL_FIND_TENANT] = { "tenant lookup", TENANT_COLUMNS TENANT_FROM
	    " WHERE t.public_id = ?", false },
	[SQL_FIND_USER] = { "user lookup", USER_COLUMNS USER_FROM " WHERE u.public_id = ?", false },
	[SQL_FIND_CLIENT] = { "client lookup", CLIENT_COLUMNS CLIENT_FROM
	    " WHERE c.client_id = ?", false },
	/* The row to change or delete, locked: no token can be issued for it (the
	 * foreign key check waits) until the transaction ends. */
	[SQL_LOCK_TENANT] = { "tenant lock", TENANT_COLUMNS TENANT_FROM
	    " WHERE t.public_id = ? FOR UPDATE", false },
	[SQL_LOCK_USER] = { "user lock", USER_COLUMNS USER_FROM
	    " WHERE u.public_id = ? FOR UPDATE", false },
	[SQL_LOCK_CLIENT] = { "client lock", CLIENT_COLUMNS CLIENT_FROM
	    " WHERE c.client_id = ? FOR UPDATE", false },
	[SQL_RENAME_TENANT] = { "tenant update", "UPDATE tenants SET name = ? WHERE id = ?", false },
	[SQL_SET_ADMIN] = { "user update", "UPDATE users SET is_admin = ? WHERE id = ?", false },
	[SQL_RENAME_CLIENT] = { "client update", "UPDATE oauth_clients SET name = ? WHERE id = ?",
	    false },
	[SQL_CLIENTS_OF_USER] = { "clients of a user", "SELECT DISTINCT c.id, c.client_id, t.id,"
	    " t.public_id, c.name, 0, c.created_at, 0, 0"
	    "  FROM oauth_tokens k JOIN oauth_clients c ON c.id = k.oauth_client_id"
	    "  JOIN tenants t ON t.id = c.tenant_id"
	    " WHERE k.user_id = ? AND k.revoked_at IS NULL AND k.expires_at > ?"
	    " ORDER BY c.client_id", false },
	[SQL_USERS_OF_TENANT] = { "users of a tenant", USER_COLUMNS USER_FROM
	    " WHERE u.tenant_id = ? ORDER BY u.public_id", false },
	[SQL_CLIENTS_OF_TENANT] = { "clients of a tenant", CLIENT_COLUMNS CLIENT_FROM
	    " WHERE c.tenant_id = ? ORDER BY c.client_id", false },
	/* Token rows go one by one through the delete trigger (sql/004), which
	 * keeps oauth_token_totals right; the client's counter rows then go too. */
	[SQL_DELETE_CLIENT_TOKENS] = { "client's token delete",
	    "DELETE FROM oauth_tokens WHERE oauth_client_id = ?", false },
	[SQL_DELETE_CLIENT_TOTALS] = { "client's token totals delete",
	    "DELETE FROM oauth_token_totals WHERE oauth_client_id = ?", false },
	[SQL_DELETE_CLIENT] = { "client delete", "DELETE FROM oauth_clients WHERE id = ?", false },
	[SQL_DELETE_USER_TOKENS] = { "user's token delete",
	    "DELETE FROM oauth_tokens WHERE user_id = ?", false },
	[SQL_DELETE_USER] = { "user delete", "DELETE FROM users WHERE id = ?", false },
	[SQL_DELETE_TENANT] = { "tenant delete", "DELETE FROM tenants WHERE id = ?", false },
	[SQL_TOKEN] = { "token show",
	    "SELECT k.token_type, k.scope, COALESCE(u.public_id, ''), k.user_id IS NOT NULL,"
	    "       k.created_at, k.expires_at, k.revoked_at"
	    "  FROM oauth_tokens k LEFT JOIN users u ON u.id = k.user_id"
	    " WHERE k.public_id = ? AND k.oauth_client_id = ?", false },
};

const struct db_table ctl_directory_statements = { statements, SQL_STATEMENTS };

/* Bind the nine columns of an object row into o. */
static void
bind_object(struct db_row *r, struct ctl_object *o, signed char *admin)
{
	db_row_init(r);
	db_col_u64(r, &o->pk);
	db_col_text(r, o->id, sizeof(o->id));
	db_col_u64(r, &o->tenant_pk);
	db_col_text(r, o->tenant_id, sizeof(o->tenant_id));
	db_col_text(r, o->name, sizeof(o->name));
	db_col_tiny(r, admin);
	db_col_time(r, &o->created_at, NULL);
	db_col_u64(r, &o->users);
	db_col_u64(r, &o->clients);
}

/* Run s and hand each object row to each(). */
static enum aut_err
each_object(struct db *db, const struct db_statement *s, struct db_params *p,
    ctl_object_fn each, void *ctx)
{
	struct ctl_object o;
	struct db_row r;
	signed char admin = 0;
	bool row = false;
	enum aut_err err;

	memset(&o, 0, sizeof(o));
	bind_object(&r, &o, &admin);
	err = db_execute(db, s, p, &r);
	while (err == AUT_OK && (err = db_fetch(db, s, &r, &row)) == AUT_OK && row) {
		o.is_admin = admin != 0;
		if ((err = each(ctx, &o)) != AUT_OK) {
			db_discard(db, s);
			return err;
		}
	}
	return err;
}

static void
param_filter(struct db_params *p, const struct ctl_object_filter *f)
{
	db_param_string_or_null(p, f->tenant_id);
	db_param_string_or_null(p, f->tenant_id);
	for (int i = 0; i < 3; i++)
		db_param_string_or_null(p, f->match);
	for (int i = 0; i < 2; i++)
		db_param_u64_or_null(p, f->admin ? 1 : 0, f->has_admin);
}

enum aut_err
ctl_dir_list(struct db *db, enum ctl_kind k, const struct ctl_object_filter *f,
    uint64_t offset, unsigned int limit, uint64_t *total, ctl_object_fn each, void *ctx)
{
	const struct db_statement *count = &statements[SQL_COUNT_TENANTS + k];
	struct db_params p;
	struct db_row r;
	bool found = false;
	enum aut_err err;

	*total = 0;
	db_params_init(&p);
	param_filter(&p, f);
	db_row_init(&r);
	db_col_u64(&r, total);
	err = db_execute(db, count, &p, &r);
	if (err == AUT_OK)
		err = db_fetch_one(db, count, &r, &found);
	if (err != AUT_OK || limit == 0 || offset >= *total)
		return err;
	db_params_init(&p);
	param_filter(&p, f);
	db_param_u64(&p, limit);
	db_param_u64(&p, offset);
	return each_object(db, &statements[SQL_LIST_TENANTS + k], &p, each, ctx);
}

/* each() of a lookup: copy the one row. */
static enum aut_err
keep_one(void *ctx, const struct ctl_object *o)
{
	memcpy(ctx, o, sizeof(*o));
	return AUT_OK;
}

enum aut_err
ctl_dir_find(struct db *db, enum ctl_kind k, const char *id, bool lock, bool *found,
    struct ctl_object *out)
{
	struct db_params p;
	enum aut_err err;

	memset(out, 0, sizeof(*out));
	db_params_init(&p);
	db_param_string(&p, id);
	/* A public id is unique: at most one row. */
	err = each_object(db, &statements[(lock ? SQL_LOCK_TENANT : SQL_FIND_TENANT) + k], &p,
	    keep_one, out);
	*found = err == AUT_OK && out->pk != 0;
	return err;
}

/* Run a statement that changes rows; *affected (may be NULL): how many. */
static enum aut_err
change(struct db *db, int which, struct db_params *p, uint64_t *affected)
{
	enum aut_err err = db_execute(db, &statements[which], p, NULL);

	if (err == AUT_OK && affected != NULL)
		*affected = db_affected_rows(db, &statements[which]);
	return err;
}

/* Run a statement of one primary-key parameter that changes rows. */
static enum aut_err
change_pk(struct db *db, int which, uint64_t pk, uint64_t *affected)
{
	struct db_params p;

	db_params_init(&p);
	db_param_u64(&p, pk);
	return change(db, which, &p, affected);
}

enum aut_err
ctl_dir_rename(struct db *db, enum ctl_kind k, uint64_t pk, const char *name)
{
	struct db_params p;

	db_params_init(&p);
	db_param_string(&p, name);
	db_param_u64(&p, pk);
	return change(db, k == CTL_TENANT ? SQL_RENAME_TENANT : SQL_RENAME_CLIENT, &p, NULL);
}

enum aut_err
ctl_dir_set_admin(struct db *db, uint64_t user_pk, bool is_admin)
{
	struct db_params p;

	db_params_init(&p);
	db_param_tiny(&p, is_admin ? 1 : 0);
	db_param_u64(&p, user_pk);
	return change(db, SQL_SET_ADMIN, &p, NULL);
}

/* A growing array of objects, filled by each_object(). */
struct object_array {
	struct ctl_object *items;
	size_t n, cap;
};

static enum aut_err
append(void *ctx, const struct ctl_object *o)
{
	struct object_array *a = ctx;

	if (a->n == a->cap) {
		size_t cap = a->cap ? 2 * a->cap : 8;
		struct ctl_object *items = realloc(a->items, cap * sizeof(*items));
		if (items == NULL)
			return AUT_ERR_NOMEM;
		a->items = items;
		a->cap = cap;
	}
	a->items[a->n++] = *o;
	return AUT_OK;
}

/* Collect the rows of s; the array is the caller's (NULL and 0 on error). */
static enum aut_err
collect(struct db *db, int which, struct db_params *p, struct ctl_object **out, size_t *n)
{
	struct object_array a = { 0 };
	enum aut_err err = each_object(db, &statements[which], p, append, &a);

	if (err != AUT_OK) {
		free(a.items);
		a.items = NULL;
		a.n = 0;
	}
	*out = a.items;
	*n = a.n;
	return err;
}

enum aut_err
ctl_dir_clients_of_user(struct db *db, uint64_t user_pk, time_t now,
    struct ctl_object **out, size_t *n)
{
	struct db_params p;

	db_params_init(&p);
	db_param_u64(&p, user_pk);
	db_param_time(&p, now, 0);
	return collect(db, SQL_CLIENTS_OF_USER, &p, out, n);
}

enum aut_err
ctl_dir_children(struct db *db, enum ctl_kind k, uint64_t tenant_pk,
    struct ctl_object **out, size_t *n)
{
	struct db_params p;

	db_params_init(&p);
	db_param_u64(&p, tenant_pk);
	return collect(db, k == CTL_USER ? SQL_USERS_OF_TENANT : SQL_CLIENTS_OF_TENANT, &p,
	    out, n);
}

enum aut_err
ctl_dir_delete_client(struct db *db, uint64_t client_pk, uint64_t *tokens)
{
	enum aut_err err = change_pk(db, SQL_DELETE_CLIENT_TOKENS, client_pk, tokens);

	if (err == AUT_OK)
		err = change_pk(db, SQL_DELETE_CLIENT_TOTALS, client_pk, NULL);
	if (err == AUT_OK)
		err = change_pk(db, SQL_DELETE_CLIENT, client_pk, NULL);
	return err;
}

enum aut_err
ctl_dir_delete_user(struct db *db, uint64_t user_pk, uint64_t *tokens)
{
	enum aut_err err = change_pk(db, SQL_DELETE_USER_TOKENS, user_pk, tokens);

	if (err == AUT_OK)
		err = change_pk(db, SQL_DELETE_USER, user_pk, NULL);
	return err;
}

enum aut_err
ctl_dir_delete_tenant(struct db *db, uint64_t tenant_pk)
{
	return change_pk(db, SQL_DELETE_TENANT, tenant_pk, NULL);
}

enum aut_err
ctl_dir_token(struct db *db, uint64_t client_pk, const unsigned char id[16], bool *found,
    struct ctl_token *out)
{
	const struct db_statement *s = &statements[SQL_TOKEN];
	struct db_params p;
	struct db_row r;
	signed char has_user = 0;
	enum aut_err err;

	memset(out, 0, sizeof(*out));
	db_params_init(&p);
	db_param_bytes(&p, id, 16);
	db_param_u64(&p, client_pk);
	db_row_init(&r);
	db_col_text(&r, out->token_type, sizeof(out->token_type));
	db_col_text(&r, out->scope, sizeof(out->scope));
	db_col_text(&r, out->user_id, sizeof(out->user_id));
	db_col_tiny(&r, &has_user);
	db_col_time(&r, &out->created_at, NULL);
	db_col_time(&r, &out->expires_at, NULL);
	db_col_time(&r, &out->revoked_at, NULL);
	err = db_execute(db, s, &p, &r);
	if (err == AUT_OK)
		err = db_fetch_one(db, s, &r, found);
	if (err == AUT_OK && *found) {
		out->has_user = has_user != 0;
		out->revoked = !db_col_null(&r, 6);
		out->expires = timegm(&out->expires_at);
	}
	return err;
}
