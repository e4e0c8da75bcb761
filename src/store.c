/* store.c: the API's queries: who is asking, and one page of a client's tokens. */
#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"

enum statement {
	SQL_AUTHORIZE,
	SQL_LIST_PAGE,
	SQL_STATEMENTS
};

static const char *const statement_sql[SQL_STATEMENTS] = {
	/* Params: client_id, token hash, now. */
	[SQL_AUTHORIZE] =
	    "SELECT u.id IS NOT NULL, COALESCE(u.is_admin, 0),"
	    "       COALESCE(t.public_id, ''), COALESCE(u.public_id, ''), c.id"
	    "  FROM oauth_tokens k"
	    "  LEFT JOIN users u ON u.id = k.user_id"
	    "  LEFT JOIN tenants t ON t.id = u.tenant_id"
	    "  LEFT JOIN oauth_clients c ON c.client_id = ? AND c.tenant_id = u.tenant_id"
	    " WHERE k.token_hash = ? AND k.token_type = 'access_token'"
	    "   AND k.revoked_at IS NULL AND k.expires_at > ?",
	/*
	 * Part 0 is one row carrying the exact total (sql/002_token_counts.sql
	 * explains the arithmetic); part 1 is the page, found by a deferred join:
	 * walk the narrow list index to the offset, then fetch rows by primary key.
	 * Params: client, hour(now), client, now, hour(now)+1h, client, now,
	 * limit, offset.
	 */
	[SQL_LIST_PAGE] =
	    "SELECT part, token_type, scope, created_at, expires_at, user_id, total FROM ("
	    " SELECT 0 AS part, NULL AS token_type, NULL AS scope, NULL AS created_at,"
	    "        NULL AS expires_at, NULL AS user_id, NULL AS id,"
	    "        CAST((SELECT COALESCE(SUM(live), 0) FROM oauth_token_counts"
	    "               WHERE oauth_client_id = ? AND expiry_hour > ?)"
	    "           + (SELECT COUNT(*) FROM oauth_tokens"
	    "               WHERE oauth_client_id = ? AND revoked_at IS NULL"
	    "                 AND expires_at > ? AND expires_at < ?) AS UNSIGNED) AS total"
	    " UNION ALL"
	    " SELECT 1, k.token_type, k.scope, k.created_at, k.expires_at, u.public_id, k.id, NULL"
	    "   FROM (SELECT id FROM oauth_tokens"
	    "          WHERE oauth_client_id = ? AND revoked_at IS NULL AND expires_at > ?"
	    "          ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?) AS page"
	    "   JOIN oauth_tokens k ON k.id = page.id"
	    "   LEFT JOIN users u ON u.id = k.user_id"
	    ") AS result ORDER BY part, created_at DESC, id DESC",
};

struct store {
	struct db db;                       /* one connection per worker */
	/* Result buffers of SQL_LIST_PAGE, reused for every row. */
	char token_type[16];
	char scope[4001];                   /* VARCHAR(1000) utf8mb4 */
	char user_id[257];                  /* VARCHAR(64) utf8mb4 */
};

enum aut_err
store_new(const struct config *conf, struct store **out)
{
	struct store *st = calloc(1, sizeof(*st));

	if (st == NULL)
		return AUT_ERR_NOMEM;
	db_init(&st->db, conf, statement_sql, SQL_STATEMENTS);
	*out = st;
	return AUT_OK;
}

void
store_free(struct store *st)
{
	if (st == NULL)
		return;
	db_disconnect(&st->db);
	free(st);
	mysql_library_end();
}

enum aut_err
store_connect(struct store *st)
{
	return db_connect(&st->db);
}

/* ---- queries ------------------------------------------------------------ */

static enum aut_err
authorize_once(struct store *st, const unsigned char hash[32], const char *client_id,
    time_t now, struct authorization *out)
{
	MYSQL_BIND p[3], r[5];
	MYSQL_TIME now_t;
	unsigned long id_len = strlen(client_id), hash_len = 32;
	unsigned long tenant_len = 0, user_len = 0;
	signed char has_user = 0, is_admin = 0;
	db_flag tenant_null = 0, user_null = 0, client_null = 0;
	struct bearer *who = &out->who;
	enum aut_err err;

	memset(out, 0, sizeof(*out));
	memset(p, 0, sizeof(p));
	memset(r, 0, sizeof(r));
	db_bind_string(&p[0], client_id, &id_len);
	db_bind_blob(&p[1], hash, &hash_len);
	db_bind_time(&p[2], &now_t, now);
	db_bind_tiny(&r[0], &has_user);
	db_bind_tiny(&r[1], &is_admin);
	db_bind_text(&r[2], who->tenant_id, sizeof(who->tenant_id), &tenant_len, &tenant_null);
	db_bind_text(&r[3], who->user_id, sizeof(who->user_id), &user_len, &user_null);
	db_bind_u64(&r[4], &out->client_pk);
	r[4].is_null = &client_null;

	err = db_execute(&st->db, SQL_AUTHORIZE, p, r, "authorization");
	if (err == AUT_OK)
		err = db_fetch_one(&st->db, SQL_AUTHORIZE, &out->token_live, "authorization");
	if (err != AUT_OK || !out->token_live) {
		memset(out, 0, sizeof(*out));
		return err;
	}
	who->tenant_id[tenant_null ? 0 : tenant_len] = '\0';
	who->user_id[user_null ? 0 : user_len] = '\0';
	who->has_user = has_user != 0;
	who->is_admin = is_admin != 0;
	out->client_found = !client_null;
	if (client_null)
		out->client_pk = 0;
	return AUT_OK;
}

enum aut_err
store_authorize(struct store *st, const unsigned char hash[32], const char *client_id,
    time_t now, struct authorization *out)
{
	bool reused = st->db.conn != NULL;
	enum aut_err err = authorize_once(st, hash, client_id, now, out);

	/*
	 * A connection that sat idle may have lost its server (restart, idle
	 * timeout).  The statement only reads, so one fresh try is safe and spares
	 * the caller a 503 when the server is already back.
	 */
	if (err == AUT_ERR_DB_UNAVAILABLE && reused)
		err = authorize_once(st, hash, client_id, now, out);
	return err;
}

enum aut_err
store_list_page(struct store *st, uint64_t client_pk, time_t now, uint64_t offset,
    unsigned int limit, uint64_t *total, store_row_fn each, void *ctx)
{
	MYSQL_BIND p[9], r[7];
	MYSQL_TIME now_t[2], hour_t, hour_end_t, created, expires;
	uint64_t limit64 = limit, total_col = 0;
	time_t hour = now - now % 3600;
	signed char part = 0;
	unsigned long type_len = 0, scope_len = 0, user_len = 0;
	db_flag type_null = 0, scope_null = 0, user_null = 0, total_null = 0;
	struct token_row row;
	bool more = false, have_total = false;
	enum aut_err err;

	memset(p, 0, sizeof(p));
	memset(r, 0, sizeof(r));
	db_bind_u64(&p[0], &client_pk);
	db_bind_time(&p[1], &hour_t, hour);
	db_bind_u64(&p[2], &client_pk);
	db_bind_time(&p[3], &now_t[0], now);
	db_bind_time(&p[4], &hour_end_t, hour + 3600);
	db_bind_u64(&p[5], &client_pk);
	db_bind_time(&p[6], &now_t[1], now);
	db_bind_u64(&p[7], &limit64);
	db_bind_u64(&p[8], &offset);
	db_bind_tiny(&r[0], &part);
	db_bind_text(&r[1], st->token_type, sizeof(st->token_type), &type_len, &type_null);
	db_bind_text(&r[2], st->scope, sizeof(st->scope), &scope_len, &scope_null);
	db_bind_datetime(&r[3], &created);
	db_bind_datetime(&r[4], &expires);
	db_bind_text(&r[5], st->user_id, sizeof(st->user_id), &user_len, &user_null);
	db_bind_u64(&r[6], &total_col);
	r[6].is_null = &total_null;

	*total = 0;
	err = db_execute(&st->db, SQL_LIST_PAGE, p, r, "token list");
	while (err == AUT_OK &&
	    (err = db_fetch(&st->db, SQL_LIST_PAGE, &more, "token list")) == AUT_OK && more) {
		if (part == 0) {
			*total = total_null ? 0 : total_col;
			have_total = true;
			continue;
		}
		if (!have_total || type_null) {
			fprintf(stderr, "autional: token list: malformed result\n");
			db_disconnect(&st->db);
			return AUT_ERR_INTERNAL;
		}
		st->token_type[type_len] = '\0';
		st->scope[scope_null ? 0 : scope_len] = '\0';
		st->user_id[user_null ? 0 : user_len] = '\0';
		row.token_type = st->token_type;
		row.scope = st->scope;
		row.user_id = user_null ? NULL : st->user_id;
		db_tm_from_mysql(&created, &row.created_at);
		db_tm_from_mysql(&expires, &row.expires_at);
		err = each(ctx, &row);
		if (err != AUT_OK) {
			mysql_stmt_free_result(st->db.stmt[SQL_LIST_PAGE]);
			return err;
		}
	}
	return err;
}
