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
	SQL_FIND_BEARER,
	SQL_FIND_CLIENT,
	SQL_COUNT_ACTIVE,
	SQL_LIST_ACTIVE,
	SQL_STATEMENTS
};

static const char *const statement_sql[SQL_STATEMENTS] = {
	[SQL_FIND_BEARER] =
	    "SELECT u.id IS NOT NULL, COALESCE(u.is_admin, 0), COALESCE(u.tenant_id, 0),"
	    "       COALESCE(t.public_id, ''), COALESCE(u.public_id, '')"
	    "  FROM oauth_tokens k"
	    "  LEFT JOIN users u ON u.id = k.user_id"
	    "  LEFT JOIN tenants t ON t.id = u.tenant_id"
	    " WHERE k.token_hash = ? AND k.token_type = 'access_token'"
	    "   AND k.revoked_at IS NULL AND k.expires_at > ?",
	[SQL_FIND_CLIENT] =
	    "SELECT id FROM oauth_clients WHERE client_id = ? AND tenant_id = ?",
	[SQL_COUNT_ACTIVE] =
	    "SELECT COUNT(*) FROM oauth_tokens"
	    " WHERE oauth_client_id = ? AND revoked_at IS NULL AND expires_at > ?",
	/* Deferred join: page through the narrow index first, then fetch the
	 * page's rows by primary key. */
	[SQL_LIST_ACTIVE] =
	    "SELECT k.token_type, k.scope, k.created_at, k.expires_at, u.public_id"
	    "  FROM (SELECT id FROM oauth_tokens"
	    "         WHERE oauth_client_id = ? AND revoked_at IS NULL AND expires_at > ?"
	    "         ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?) AS page"
	    "  JOIN oauth_tokens k ON k.id = page.id"
	    "  LEFT JOIN users u ON u.id = k.user_id"
	    " ORDER BY k.created_at DESC, k.id DESC",
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
	/* Reads of one request share a snapshot; store_end() ends it. */
	if (mysql_autocommit(st->db, 0) != 0)
		return fail(st, NULL, "autocommit");
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
store_begin(struct store *st)
{
	return st->db != NULL ? AUT_OK : connect_db(st);
}

void
store_end(struct store *st)
{
	if (st->db != NULL && mysql_rollback(st->db) != 0)
		fail(st, NULL, "end of snapshot");
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

enum aut_err
store_find_bearer(struct store *st, const unsigned char hash[32], time_t now,
    struct bearer *out, bool *found)
{
	MYSQL_BIND p[2], r[5];
	MYSQL_TIME now_t;
	unsigned long hash_len = 32, tenant_len = 0, user_len = 0;
	signed char has_user = 0, is_admin = 0;
	db_flag tenant_null = 0, user_null = 0;
	enum aut_err err;

	memset(p, 0, sizeof(p));
	memset(r, 0, sizeof(r));
	p[0].buffer_type = MYSQL_TYPE_BLOB;
	p[0].buffer = (void *)hash;
	p[0].buffer_length = 32;
	p[0].length = &hash_len;
	bind_time(&p[1], &now_t, now);
	r[0].buffer_type = MYSQL_TYPE_TINY;
	r[0].buffer = &has_user;
	r[1].buffer_type = MYSQL_TYPE_TINY;
	r[1].buffer = &is_admin;
	bind_u64(&r[2], &out->tenant_pk);
	bind_text(&r[3], out->tenant_id, sizeof(out->tenant_id), &tenant_len, &tenant_null);
	bind_text(&r[4], out->user_id, sizeof(out->user_id), &user_len, &user_null);

	err = execute(st, SQL_FIND_BEARER, p, r, "bearer lookup");
	if (err == AUT_OK)
		err = fetch_one(st, SQL_FIND_BEARER, found, "bearer lookup");
	if (err != AUT_OK || !*found) {
		memset(out, 0, sizeof(*out));
		return err;
	}
	out->tenant_id[tenant_len] = '\0';
	out->user_id[user_len] = '\0';
	out->has_user = has_user != 0;
	out->is_admin = is_admin != 0;
	return AUT_OK;
}

enum aut_err
store_find_client(struct store *st, const char *client_id, uint64_t tenant_pk,
    uint64_t *client_pk, bool *found)
{
	MYSQL_BIND p[2], r[1];
	unsigned long id_len = strlen(client_id);
	enum aut_err err;

	memset(p, 0, sizeof(p));
	memset(r, 0, sizeof(r));
	p[0].buffer_type = MYSQL_TYPE_STRING;
	p[0].buffer = (void *)client_id;
	p[0].buffer_length = id_len;
	p[0].length = &id_len;
	bind_u64(&p[1], &tenant_pk);
	bind_u64(&r[0], client_pk);

	err = execute(st, SQL_FIND_CLIENT, p, r, "client lookup");
	if (err == AUT_OK)
		err = fetch_one(st, SQL_FIND_CLIENT, found, "client lookup");
	return err;
}

enum aut_err
store_count_active(struct store *st, uint64_t client_pk, time_t now, uint64_t *total)
{
	MYSQL_BIND p[2], r[1];
	MYSQL_TIME now_t;
	bool found = false;
	enum aut_err err;

	memset(p, 0, sizeof(p));
	memset(r, 0, sizeof(r));
	bind_u64(&p[0], &client_pk);
	bind_time(&p[1], &now_t, now);
	bind_u64(&r[0], total);

	err = execute(st, SQL_COUNT_ACTIVE, p, r, "token count");
	if (err == AUT_OK)
		err = fetch_one(st, SQL_COUNT_ACTIVE, &found, "token count");
	if (err == AUT_OK && !found)
		*total = 0;
	return err;
}

enum aut_err
store_list_active(struct store *st, uint64_t client_pk, time_t now, uint64_t offset,
    unsigned int limit, store_row_fn each, void *ctx)
{
	MYSQL_BIND p[4], r[5];
	MYSQL_TIME now_t, created, expires;
	uint64_t limit64 = limit;
	unsigned long type_len = 0, scope_len = 0, user_len = 0;
	db_flag type_null = 0, scope_null = 0, user_null = 0;
	struct token_row row;
	bool more = false;
	enum aut_err err;

	memset(p, 0, sizeof(p));
	memset(r, 0, sizeof(r));
	bind_u64(&p[0], &client_pk);
	bind_time(&p[1], &now_t, now);
	bind_u64(&p[2], &limit64);
	bind_u64(&p[3], &offset);
	bind_text(&r[0], st->token_type, sizeof(st->token_type), &type_len, &type_null);
	bind_text(&r[1], st->scope, sizeof(st->scope), &scope_len, &scope_null);
	r[2].buffer_type = MYSQL_TYPE_DATETIME;
	r[2].buffer = &created;
	r[3].buffer_type = MYSQL_TYPE_DATETIME;
	r[3].buffer = &expires;
	bind_text(&r[4], st->user_id, sizeof(st->user_id), &user_len, &user_null);

	err = execute(st, SQL_LIST_ACTIVE, p, r, "token list");
	while (err == AUT_OK && (err = fetch(st, SQL_LIST_ACTIVE, &more, "token list")) == AUT_OK && more) {
		st->token_type[type_null ? 0 : type_len] = '\0';
		st->scope[scope_null ? 0 : scope_len] = '\0';
		st->user_id[user_null ? 0 : user_len] = '\0';
		row.token_type = st->token_type;
		row.scope = st->scope;
		row.user_id = user_null ? NULL : st->user_id;
		tm_from_mysql(&created, &row.created_at);
		tm_from_mysql(&expires, &row.expires_at);
		err = each(ctx, &row);
		if (err != AUT_OK) {
			mysql_stmt_free_result(st->stmt[SQL_LIST_ACTIVE]);
			return err;
		}
	}
	return err;
}
