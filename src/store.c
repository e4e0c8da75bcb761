/* store.c: MariaDB access: one connection per worker, statements prepared once. */
#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <errmsg.h>
#include <mysql.h>

/* The flag type MYSQL_BIND points at (my_bool in MariaDB, bool in MySQL 8). */
typedef __typeof__(*((MYSQL_BIND *)0)->is_null) db_flag;

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
	const struct config *conf;
	MYSQL *db;                          /* NULL while disconnected */
	MYSQL_STMT *stmt[SQL_STATEMENTS];   /* prepared on connect */
	/* Result buffers of SQL_LIST_ACTIVE, reused for every row. */
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
	st->conf = conf;
	*out = st;
	return AUT_OK;
}

static void
disconnect(struct store *st)
{
	for (int i = 0; i < SQL_STATEMENTS; i++) {
		if (st->stmt[i] != NULL)
			mysql_stmt_close(st->stmt[i]);
		st->stmt[i] = NULL;
	}
	if (st->db != NULL)
		mysql_close(st->db);
	st->db = NULL;
}

void
store_free(struct store *st)
{
	if (st == NULL)
		return;
	disconnect(st);
	free(st);
	mysql_library_end();
}

/* Errors that mean the server is away (or went away): answer 503, reconnect later. */
static int
is_unavailable(unsigned int code)
{
	return (code >= 2000 && code < 3000) ||  /* client-side: CR_* */
	    code == 1040 ||                      /* ER_CON_COUNT_ERROR */
	    code == 1053 ||                      /* ER_SERVER_SHUTDOWN */
	    code == 1927;                        /* ER_CONNECTION_KILLED */
}

/*
 * Log a database failure (never any bound value: they are not in the message),
 * drop the connection so the next request starts clean, and classify.
 */
static enum aut_err
fail(struct store *st, MYSQL_STMT *stmt, const char *what)
{
	unsigned int code = stmt ? mysql_stmt_errno(stmt) : mysql_errno(st->db);
	const char *text = stmt ? mysql_stmt_error(stmt) : mysql_error(st->db);

	fprintf(stderr, "autional-admin: database error during %s: %u %s\n",
	    what, code, text);
	disconnect(st);
	return is_unavailable(code) ? AUT_ERR_DB_UNAVAILABLE : AUT_ERR_INTERNAL;
}

static const char *
or_null(const char *s)
{
	return s[0] ? s : NULL;
}

static enum aut_err
connect_db(struct store *st)
{
	const struct config *c = st->conf;

	st->db = mysql_init(NULL);
	if (st->db == NULL)
		return AUT_ERR_NOMEM;
	mysql_options(st->db, MYSQL_OPT_CONNECT_TIMEOUT, &c->db_connect_timeout);
	mysql_options(st->db, MYSQL_OPT_READ_TIMEOUT, &c->db_read_timeout);
	mysql_options(st->db, MYSQL_OPT_WRITE_TIMEOUT, &c->db_write_timeout);
	mysql_options(st->db, MYSQL_SET_CHARSET_NAME, "utf8mb4");
	if (c->db_option_file[0]) {
		mysql_options(st->db, MYSQL_READ_DEFAULT_FILE, c->db_option_file);
		mysql_options(st->db, MYSQL_READ_DEFAULT_GROUP, "client");
	}
	if (mysql_real_connect(st->db, or_null(c->db_host), or_null(c->db_user),
	    or_null(c->db_password), c->db_name, c->db_port, or_null(c->db_socket),
	    0) == NULL)
		return fail(st, NULL, "connect");
	for (int i = 0; i < SQL_STATEMENTS; i++) {
		st->stmt[i] = mysql_stmt_init(st->db);
		if (st->stmt[i] == NULL)
			return fail(st, NULL, "statement init");
		if (mysql_stmt_prepare(st->stmt[i], statement_sql[i],
		    strlen(statement_sql[i])) != 0)
			return fail(st, st->stmt[i], "prepare");
	}
	return AUT_OK;
}

enum aut_err
store_connect(struct store *st)
{
	return st->db != NULL ? AUT_OK : connect_db(st);
}

/* ---- binding helpers ---------------------------------------------------- */

static void
bind_time(MYSQL_BIND *b, MYSQL_TIME *t, time_t when)
{
	struct tm tm;

	gmtime_r(&when, &tm);
	memset(t, 0, sizeof(*t));
	t->year = (unsigned)tm.tm_year + 1900;
	t->month = (unsigned)tm.tm_mon + 1;
	t->day = (unsigned)tm.tm_mday;
	t->hour = (unsigned)tm.tm_hour;
	t->minute = (unsigned)tm.tm_min;
	t->second = (unsigned)tm.tm_sec;
	t->time_type = MYSQL_TIMESTAMP_DATETIME;
	b->buffer_type = MYSQL_TYPE_DATETIME;
	b->buffer = t;
}

static void
bind_u64(MYSQL_BIND *b, uint64_t *v)
{
	b->buffer_type = MYSQL_TYPE_LONGLONG;
	b->buffer = v;
	b->is_unsigned = 1;
}

static void
bind_text(MYSQL_BIND *b, char *buf, size_t size, unsigned long *len, db_flag *is_null)
{
	b->buffer_type = MYSQL_TYPE_STRING;
	b->buffer = buf;
	b->buffer_length = size - 1;   /* room for our NUL */
	b->length = len;
	b->is_null = is_null;
}

static void
tm_from_mysql(const MYSQL_TIME *t, struct tm *tm)
{
	memset(tm, 0, sizeof(*tm));
	tm->tm_year = (int)t->year - 1900;
	tm->tm_mon = (int)t->month - 1;
	tm->tm_mday = (int)t->day;
	tm->tm_hour = (int)t->hour;
	tm->tm_min = (int)t->minute;
	tm->tm_sec = (int)t->second;
}

/* Bind, execute and bind results of one statement. */
static enum aut_err
execute(struct store *st, enum statement which, MYSQL_BIND *params,
    MYSQL_BIND *results, const char *what)
{
	MYSQL_STMT *stmt = st->stmt[which];

	if (mysql_stmt_bind_param(stmt, params) != 0 ||
	    mysql_stmt_execute(stmt) != 0 ||
	    mysql_stmt_bind_result(stmt, results) != 0)
		return fail(st, stmt, what);
	return AUT_OK;
}

/*
 * Fetch the next row into the bound results: AUT_OK with *row set, or with
 * *row clear at the end (the result is then released).
 */
static enum aut_err
fetch(struct store *st, enum statement which, bool *row, const char *what)
{
	MYSQL_STMT *stmt = st->stmt[which];
	int rc = mysql_stmt_fetch(stmt);

	*row = rc == 0;
	if (rc == 0)
		return AUT_OK;
	if (rc == MYSQL_NO_DATA) {
		mysql_stmt_free_result(stmt);
		return AUT_OK;
	}
	if (rc == MYSQL_DATA_TRUNCATED) {
		fprintf(stderr, "autional-admin: database error during %s: value truncated\n",
		    what);
		disconnect(st);
		return AUT_ERR_INTERNAL;
	}
	return fail(st, stmt, what);
}

/* Fetch at most one row; a second row is a schema violation. */
static enum aut_err
fetch_one(struct store *st, enum statement which, bool *found, const char *what)
{
	bool more = false;
	enum aut_err err = fetch(st, which, found, what);

	if (err == AUT_OK && *found)
		err = fetch(st, which, &more, what);
	if (err == AUT_OK && more) {
		fprintf(stderr, "autional-admin: %s returned more than one row\n", what);
		disconnect(st);
		return AUT_ERR_INTERNAL;
	}
	return err;
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
	p[0].buffer_type = MYSQL_TYPE_STRING;
	p[0].buffer = (void *)client_id;
	p[0].buffer_length = id_len;
	p[0].length = &id_len;
	p[1].buffer_type = MYSQL_TYPE_BLOB;
	p[1].buffer = (void *)hash;
	p[1].buffer_length = 32;
	p[1].length = &hash_len;
	bind_time(&p[2], &now_t, now);
	r[0].buffer_type = MYSQL_TYPE_TINY;
	r[0].buffer = &has_user;
	r[1].buffer_type = MYSQL_TYPE_TINY;
	r[1].buffer = &is_admin;
	bind_text(&r[2], who->tenant_id, sizeof(who->tenant_id), &tenant_len, &tenant_null);
	bind_text(&r[3], who->user_id, sizeof(who->user_id), &user_len, &user_null);
	bind_u64(&r[4], &out->client_pk);
	r[4].is_null = &client_null;

	err = execute(st, SQL_AUTHORIZE, p, r, "authorization");
	if (err == AUT_OK)
		err = fetch_one(st, SQL_AUTHORIZE, &out->token_live, "authorization");
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
	bool reused = st->db != NULL;
	enum aut_err err = store_connect(st);

	if (err == AUT_OK)
		err = authorize_once(st, hash, client_id, now, out);
	/*
	 * A connection that sat idle may have lost its server (restart, idle
	 * timeout).  The statement only reads, so one fresh try is safe and spares
	 * the caller a 503 when the server is already back.
	 */
	if (err == AUT_ERR_DB_UNAVAILABLE && reused) {
		err = store_connect(st);
		if (err == AUT_OK)
			err = authorize_once(st, hash, client_id, now, out);
	}
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
	bind_u64(&p[0], &client_pk);
	bind_time(&p[1], &hour_t, hour);
	bind_u64(&p[2], &client_pk);
	bind_time(&p[3], &now_t[0], now);
	bind_time(&p[4], &hour_end_t, hour + 3600);
	bind_u64(&p[5], &client_pk);
	bind_time(&p[6], &now_t[1], now);
	bind_u64(&p[7], &limit64);
	bind_u64(&p[8], &offset);
	r[0].buffer_type = MYSQL_TYPE_TINY;
	r[0].buffer = &part;
	bind_text(&r[1], st->token_type, sizeof(st->token_type), &type_len, &type_null);
	bind_text(&r[2], st->scope, sizeof(st->scope), &scope_len, &scope_null);
	r[3].buffer_type = MYSQL_TYPE_DATETIME;
	r[3].buffer = &created;
	r[4].buffer_type = MYSQL_TYPE_DATETIME;
	r[4].buffer = &expires;
	bind_text(&r[5], st->user_id, sizeof(st->user_id), &user_len, &user_null);
	bind_u64(&r[6], &total_col);
	r[6].is_null = &total_null;

	*total = 0;
	err = execute(st, SQL_LIST_PAGE, p, r, "token list");
	while (err == AUT_OK &&
	    (err = fetch(st, SQL_LIST_PAGE, &more, "token list")) == AUT_OK && more) {
		if (part == 0) {
			*total = total_null ? 0 : total_col;
			have_total = true;
			continue;
		}
		if (!have_total || type_null) {
			fprintf(stderr, "autional-admin: token list: malformed result\n");
			disconnect(st);
			return AUT_ERR_INTERNAL;
		}
		st->token_type[type_len] = '\0';
		st->scope[scope_null ? 0 : scope_len] = '\0';
		st->user_id[user_null ? 0 : user_len] = '\0';
		row.token_type = st->token_type;
		row.scope = st->scope;
		row.user_id = user_null ? NULL : st->user_id;
		tm_from_mysql(&created, &row.created_at);
		tm_from_mysql(&expires, &row.expires_at);
		err = each(ctx, &row);
		if (err != AUT_OK) {
			mysql_stmt_free_result(st->stmt[SQL_LIST_PAGE]);
			return err;
		}
	}
	return err;
}
