/* store.c: the API's queries: who asks, a page of a client's tokens, revocations, audit. */
#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"

enum statement {
	SQL_AUTHORIZE,
	SQL_LIST_PAGE,
	SQL_LIST_PAGE_DEEP,
	SQL_LIST_PAGE_BY_USER,
	SQL_REVOKE,
	SQL_REVOKE_BY_USER,
	SQL_FIND_TOKEN,
	SQL_REVOKE_ONE,
	SQL_AUDIT,
	SQL_AUDIT_AT,
	SQL_AUDIT_BATCH,
	SQL_STATEMENTS
};

/*
 * Filters are bound, never spliced: token_type IN (?, ?) gets both types, or
 * the wanted one twice; a user filter joins users by its unique public id,
 * which the optimiser reads first (a constant) and then walks
 * oauth_tokens_by_user in list order.
 */
#define ACTIVE "revoked_at IS NULL AND expires_at > ? AND token_type IN (?, ?)"
/*
 * Below this offset a page reads whole rows in list order; from it on, the
 * deferred join skips the offset in the narrow index first.  Server CPU on
 * the bench data (bench/statement-cpu's method): direct / deferred 150 / 200 us
 * at offset 0, 200 / 240 at 20, 380 / 220 at 40, 1280 / 290 at 200.
 */
#define LIST_DIRECT_OFFSET_MAX 40

#define PAGE_COLUMNS "k.public_id, k.token_type, k.scope, k.created_at, k.expires_at, u.public_id"

#define AUDIT_ROW "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
#define AUDIT_ROWS_2 AUDIT_ROW ", " AUDIT_ROW
#define AUDIT_ROWS_4 AUDIT_ROWS_2 ", " AUDIT_ROWS_2
#define AUDIT_ROWS_8 AUDIT_ROWS_4 ", " AUDIT_ROWS_4
#define AUDIT_ROWS_16 AUDIT_ROWS_8 ", " AUDIT_ROWS_8
#define AUDIT_COLUMNS 10

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
	 * Part 0 is one row carrying the exact total (sql/004_token_totals.sql
	 * explains the arithmetic): the writers' counter rows summed, minus the
	 * expired tokens not yet swept, plus the swept ones whose expiry lies
	 * ahead; one walk over two ranges of oauth_tokens_unswept (the OR of two
	 * ranges is one index scan; the row constructor (swept, expires_at) > (?, ?)
	 * would not be a range in MariaDB 10.11).  Part 1 is the page: shallow
	 * pages read whole rows in list order straight from the page index
	 * (SQL_LIST_PAGE); deep ones walk that index to the offset and then fetch
	 * the page's rows by primary key, a deferred join (SQL_LIST_PAGE_DEEP).
	 * Params: client, type, type | client, now, now, type, type | client,
	 * now, type, type, limit, offset.
	 */
#define LIST_TOTAL \
	    "SELECT 0 AS part, NULL AS public_id, NULL AS token_type, NULL AS scope,"\
	    "        NULL AS created_at, NULL AS expires_at, NULL AS user_id, NULL AS id,"\
	    "        CAST((SELECT COALESCE(SUM(live), 0) FROM oauth_token_totals"\
	    "               WHERE oauth_client_id = ? AND token_type IN (?, ?))"\
	    "           + (SELECT COALESCE(SUM(IF(swept, 1, -1)), 0) FROM oauth_tokens"\
	    "               WHERE oauth_client_id = ? AND revoked_at IS NULL"\
	    "                 AND ((swept = 0 AND expires_at <= ?) OR (swept = 1 AND expires_at > ?))"\
	    "                 AND token_type IN (?, ?))"\
	    "           AS UNSIGNED) AS total"
	[SQL_LIST_PAGE] =
	    "SELECT part, public_id, token_type, scope, created_at, expires_at, user_id, total FROM ("
	    LIST_TOTAL
	    " UNION ALL"
	    " (SELECT 1, " PAGE_COLUMNS ", k.id, NULL"
	    "   FROM oauth_tokens k LEFT JOIN users u ON u.id = k.user_id"
	    "  WHERE k.oauth_client_id = ? AND k." ACTIVE
	    "  ORDER BY k.created_at DESC, k.id DESC LIMIT ? OFFSET ?)"
	    ") AS result ORDER BY part, created_at DESC, id DESC",
	[SQL_LIST_PAGE_DEEP] =
	    "SELECT part, public_id, token_type, scope, created_at, expires_at, user_id, total FROM ("
	    LIST_TOTAL
	    " UNION ALL"
	    " SELECT 1, " PAGE_COLUMNS ", k.id, NULL"
	    "   FROM (SELECT id FROM oauth_tokens"
	    "          WHERE oauth_client_id = ? AND " ACTIVE
	    "          ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?) AS page"
	    "   JOIN oauth_tokens k ON k.id = page.id"
	    "   LEFT JOIN users u ON u.id = k.user_id"
	    ") AS result ORDER BY part, created_at DESC, id DESC",
	/* One user's tokens are few: counted directly.  Params: user, client,
	 * now, type, type | user, client, now, type, type, limit, offset. */
	[SQL_LIST_PAGE_BY_USER] =
	    "SELECT part, public_id, token_type, scope, created_at, expires_at, user_id, total FROM ("
	    " SELECT 0 AS part, NULL AS public_id, NULL AS token_type, NULL AS scope,"
	    "        NULL AS created_at, NULL AS expires_at, NULL AS user_id, NULL AS id,"
	    "        (SELECT COUNT(*) FROM oauth_tokens k JOIN users u ON u.id = k.user_id"
	    "          WHERE u.public_id = ? AND k.oauth_client_id = ? AND k." ACTIVE ") AS total"
	    " UNION ALL"
	    " SELECT 1, " PAGE_COLUMNS ", k.id, NULL"
	    "   FROM (SELECT k.id FROM oauth_tokens k JOIN users u ON u.id = k.user_id"
	    "          WHERE u.public_id = ? AND k.oauth_client_id = ? AND k." ACTIVE
	    "          ORDER BY k.created_at DESC, k.id DESC LIMIT ? OFFSET ?) AS page"
	    "   JOIN oauth_tokens k ON k.id = page.id"
	    "   LEFT JOIN users u ON u.id = k.user_id"
	    ") AS result ORDER BY part, created_at DESC, id DESC",
	/* Params: now (revoked_at), client, now, type, type. */
	[SQL_REVOKE] =
	    "UPDATE oauth_tokens SET revoked_at = ?"
	    " WHERE oauth_client_id = ? AND " ACTIVE,
	/* Params: now (revoked_at), user, client, now, type, type. */
	[SQL_REVOKE_BY_USER] =
	    "UPDATE oauth_tokens k JOIN users u ON u.id = k.user_id SET k.revoked_at = ?"
	    " WHERE u.public_id = ? AND k.oauth_client_id = ? AND k." ACTIVE,
	/* Params: public id, client.  Locks the row until the transaction ends. */
	[SQL_FIND_TOKEN] =
	    "SELECT revoked_at IS NULL FROM oauth_tokens"
	    " WHERE public_id = ? AND oauth_client_id = ? FOR UPDATE",
	/* Params: now (revoked_at), public id, client. */
	[SQL_REVOKE_ONE] =
	    "UPDATE oauth_tokens SET revoked_at = ?"
	    " WHERE public_id = ? AND oauth_client_id = ? AND revoked_at IS NULL",
	[SQL_AUDIT] =
	    "INSERT INTO audit_events (occurred_at, tenant_id, actor, action, client_id,"
	    "  filters, affected, dry_run, request_id, status)"
	    " VALUES (UTC_TIMESTAMP(6), ?, ?, ?, ?, ?, ?, ?, ?, ?)",
	/* Queued reads: the time is the request's. */
	[SQL_AUDIT_AT] =
	    "INSERT INTO audit_events (occurred_at, tenant_id, actor, action, client_id,"
	    "  filters, affected, dry_run, request_id, status)"
	    " VALUES " AUDIT_ROW,
	[SQL_AUDIT_BATCH] =
	    "INSERT INTO audit_events (occurred_at, tenant_id, actor, action, client_id,"
	    "  filters, affected, dry_run, request_id, status)"
	    " VALUES " AUDIT_ROWS_16,
};

/* A read audit waiting for its batch: the entry's strings copied. */
struct queued_audit {
	MYSQL_TIME at;                      /* when the request was served (UTC) */
	char tenant_id[257];
	char actor[257];
	char action[32];
	char client_id[1024];
	char filters[512];
	uint64_t affected;
	signed char dry_run;
	char request_id[65];
	uint64_t status;
	unsigned long lengths[7];           /* of the seven strings, for the binds */
};

#define AUDIT_QUEUE_MAX (2 * STORE_AUDIT_BATCH)

struct store {
	struct db db;                       /* one connection per worker */
	struct queued_audit queue[AUDIT_QUEUE_MAX];  /* read audits not yet written */
	int queued;
	/* Result buffers of the list statements, reused for every row. */
	char token_type[16];
	char scope[4001];                   /* VARCHAR(1000) utf8mb4 */
	char user_id[257];                  /* VARCHAR(64) utf8mb4 */
};

/* Parameters of one statement, added in order. */
struct binds {
	MYSQL_BIND b[16];
	MYSQL_TIME times[4];
	unsigned long lengths[8];
	int n, ntimes, nlengths;
};

static MYSQL_BIND *
next_bind(struct binds *p)
{
	MYSQL_BIND *b = &p->b[p->n++];

	memset(b, 0, sizeof(*b));
	return b;
}

static void
add_u64(struct binds *p, uint64_t *v)
{
	db_bind_u64(next_bind(p), v);
}

static void
add_time(struct binds *p, time_t when)
{
	db_bind_time(next_bind(p), &p->times[p->ntimes++], when);
}

static void
add_string(struct binds *p, const char *s)
{
	unsigned long *len = &p->lengths[p->nlengths++];

	*len = strlen(s);
	db_bind_string(next_bind(p), s, len);
}

static void
add_bytes(struct binds *p, const void *data, unsigned long n)
{
	unsigned long *len = &p->lengths[p->nlengths++];

	*len = n;
	db_bind_blob(next_bind(p), data, len);
}

/* token_type IN (?, ?): both types, or the wanted one twice. */
static void
add_types(struct binds *p, enum token_type_filter type)
{
	const char *only = params_token_type_name(type);

	add_string(p, only ? only : "access_token");
	add_string(p, only ? only : "refresh_token");
}

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
	if (store_audit_flush(st) != AUT_OK)
		fprintf(stderr, "autional: audit: %d read-audit rows lost at exit\n", st->queued);
	db_disconnect(&st->db);
	free(st);
	mysql_library_end();
}

enum aut_err
store_connect(struct store *st)
{
	return db_connect(&st->db);
}

/* ---- who asks ----------------------------------------------------------- */

static enum aut_err
authorize_once(struct store *st, const unsigned char hash[32], const char *client_id,
    time_t now, struct authorization *out)
{
	struct binds p = { .n = 0 };
	MYSQL_BIND r[5];
	unsigned long tenant_len = 0, user_len = 0;
	signed char has_user = 0, is_admin = 0;
	db_flag tenant_null = 0, user_null = 0, client_null = 0;
	struct bearer *who = &out->who;
	enum aut_err err;

	memset(out, 0, sizeof(*out));
	memset(r, 0, sizeof(r));
	add_string(&p, client_id);
	add_bytes(&p, hash, 32);
	add_time(&p, now);
	db_bind_tiny(&r[0], &has_user);
	db_bind_tiny(&r[1], &is_admin);
	db_bind_text(&r[2], who->tenant_id, sizeof(who->tenant_id), &tenant_len, &tenant_null);
	db_bind_text(&r[3], who->user_id, sizeof(who->user_id), &user_len, &user_null);
	db_bind_u64(&r[4], &out->client_pk);
	r[4].is_null = &client_null;

	err = db_execute(&st->db, SQL_AUTHORIZE, p.b, r, "authorization");
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
	struct timespec t0, t1;
	enum aut_err err;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	err = authorize_once(st, hash, client_id, now, out);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	/*
	 * A connection that sat idle may have lost its server (restart, idle
	 * timeout): that fails at once, and the statement only reads, so one fresh
	 * try spares the caller a 503 when the server is already back.  A failure
	 * that took a while is a server not answering: trying again would only
	 * add a connect timeout to the caller's wait.
	 */
	if (err == AUT_ERR_DB_UNAVAILABLE && reused && t1.tv_sec - t0.tv_sec < 1)
		err = authorize_once(st, hash, client_id, now, out);
	return err;
}

/* ---- the list ----------------------------------------------------------- */

enum aut_err
store_list_page(struct store *st, uint64_t client_pk, const struct token_filters *f,
    time_t now, uint64_t offset, unsigned int limit, uint64_t *total,
    store_row_fn each, void *ctx)
{
	struct binds p = { .n = 0 };
	MYSQL_BIND r[8];
	MYSQL_TIME created, expires;
	uint64_t limit64 = limit, total_col = 0;
	signed char part = 0;
	unsigned long id_len = 0, type_len = 0, scope_len = 0, user_len = 0;
	db_flag id_null = 0, type_null = 0, scope_null = 0, user_null = 0, total_null = 0;
	struct token_row row;
	bool more = false, have_total = false, by_user = f->user_id[0] != '\0';
	enum statement which = by_user ? SQL_LIST_PAGE_BY_USER :
	    offset < LIST_DIRECT_OFFSET_MAX ? SQL_LIST_PAGE : SQL_LIST_PAGE_DEEP;
	enum aut_err err;

	if (by_user) {
		for (int i = 0; i < 2; i++) {
			add_string(&p, f->user_id);
			add_u64(&p, &client_pk);
			add_time(&p, now);
			add_types(&p, f->token_type);
		}
	} else {
		add_u64(&p, &client_pk);
		add_types(&p, f->token_type);
		add_u64(&p, &client_pk);
		add_time(&p, now);
		add_time(&p, now);
		add_types(&p, f->token_type);
		add_u64(&p, &client_pk);
		add_time(&p, now);
		add_types(&p, f->token_type);
	}
	add_u64(&p, &limit64);
	add_u64(&p, &offset);

	memset(r, 0, sizeof(r));
	db_bind_tiny(&r[0], &part);
	r[1].buffer_type = MYSQL_TYPE_BLOB;
	r[1].buffer = row.public_id;
	r[1].buffer_length = sizeof(row.public_id);
	r[1].length = &id_len;
	r[1].is_null = &id_null;
	db_bind_text(&r[2], st->token_type, sizeof(st->token_type), &type_len, &type_null);
	db_bind_text(&r[3], st->scope, sizeof(st->scope), &scope_len, &scope_null);
	db_bind_datetime(&r[4], &created);
	db_bind_datetime(&r[5], &expires);
	db_bind_text(&r[6], st->user_id, sizeof(st->user_id), &user_len, &user_null);
	db_bind_u64(&r[7], &total_col);
	r[7].is_null = &total_null;

	*total = 0;
	err = db_execute(&st->db, which, p.b, r, "token list");
	while (err == AUT_OK &&
	    (err = db_fetch(&st->db, which, &more, "token list")) == AUT_OK && more) {
		if (part == 0) {
			*total = total_null ? 0 : total_col;
			have_total = true;
			continue;
		}
		if (!have_total || type_null || id_null || id_len != sizeof(row.public_id)) {
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
			mysql_stmt_free_result(st->db.stmt[which]);
			return err;
		}
	}
	return err;
}

/* ---- audit and revocation ----------------------------------------------- */

/* One audit row, now, inside the caller's transaction (revocations). */
static enum aut_err
audit_now(struct store *st, const struct audit_entry *a)
{
	struct binds p = { .n = 0 };
	uint64_t affected = a->affected, status = (uint64_t)a->status;
	signed char dry_run = a->dry_run;

	add_string(&p, a->tenant_id);
	add_string(&p, a->actor);
	add_string(&p, a->action);
	add_string(&p, a->client_id);
	add_string(&p, a->filters_json);
	add_u64(&p, &affected);
	db_bind_tiny(next_bind(&p), &dry_run);
	add_string(&p, a->request_id);
	add_u64(&p, &status);
	return db_execute(&st->db, SQL_AUDIT, p.b, NULL, "audit");
}

/* Copy a string into a queue field, cut to fit. */
static unsigned long
copy_field(char *dst, size_t size, const char *src)
{
	size_t n = strnlen(src, size - 1);

	memcpy(dst, src, n);
	dst[n] = '\0';
	return (unsigned long)n;
}

static void
bind_queued(MYSQL_BIND *b, struct queued_audit *q)
{
	char *strings[] = { q->tenant_id, q->actor, q->action, q->client_id, q->filters };

	memset(b, 0, AUDIT_COLUMNS * sizeof(*b));
	b[0].buffer_type = MYSQL_TYPE_DATETIME;
	b[0].buffer = &q->at;
	for (int i = 0; i < 5; i++)
		db_bind_string(&b[1 + i], strings[i], &q->lengths[i]);
	db_bind_u64(&b[6], &q->affected);
	db_bind_tiny(&b[7], &q->dry_run);
	db_bind_string(&b[8], q->request_id, &q->lengths[5]);
	db_bind_u64(&b[9], &q->status);
}

/* Write the first n queued rows (n is 1 or STORE_AUDIT_BATCH) and drop them. */
static enum aut_err
write_queued(struct store *st, int n)
{
	MYSQL_BIND b[STORE_AUDIT_BATCH * AUDIT_COLUMNS];
	enum aut_err err;

	for (int i = 0; i < n; i++)
		bind_queued(&b[i * AUDIT_COLUMNS], &st->queue[i]);
	err = db_execute(&st->db, n == 1 ? SQL_AUDIT_AT : SQL_AUDIT_BATCH, b, NULL,
	    "read audit");
	if (err != AUT_OK)
		return err;
	st->queued -= n;
	memmove(st->queue, st->queue + n, (size_t)st->queued * sizeof(st->queue[0]));
	return AUT_OK;
}

enum aut_err
store_audit_queue(struct store *st, const struct audit_entry *a)
{
	struct timespec now;
	struct tm tm;
	struct queued_audit *q;

	if (st->queued == AUDIT_QUEUE_MAX) {
		/* The database refused the last batches: keep the newest rows. */
		fprintf(stderr, "autional: audit: %d read-audit rows dropped, the database "
		    "did not take them\n", STORE_AUDIT_BATCH);
		st->queued -= STORE_AUDIT_BATCH;
		memmove(st->queue, st->queue + STORE_AUDIT_BATCH,
		    (size_t)st->queued * sizeof(st->queue[0]));
	}
	q = &st->queue[st->queued++];
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	memset(&q->at, 0, sizeof(q->at));
	q->at.year = (unsigned)tm.tm_year + 1900;
	q->at.month = (unsigned)tm.tm_mon + 1;
	q->at.day = (unsigned)tm.tm_mday;
	q->at.hour = (unsigned)tm.tm_hour;
	q->at.minute = (unsigned)tm.tm_min;
	q->at.second = (unsigned)tm.tm_sec;
	q->at.second_part = (unsigned long)(now.tv_nsec / 1000);
	q->at.time_type = MYSQL_TIMESTAMP_DATETIME;
	q->lengths[0] = copy_field(q->tenant_id, sizeof(q->tenant_id), a->tenant_id);
	q->lengths[1] = copy_field(q->actor, sizeof(q->actor), a->actor);
	q->lengths[2] = copy_field(q->action, sizeof(q->action), a->action);
	q->lengths[3] = copy_field(q->client_id, sizeof(q->client_id), a->client_id);
	q->lengths[4] = copy_field(q->filters, sizeof(q->filters), a->filters_json);
	q->lengths[5] = copy_field(q->request_id, sizeof(q->request_id), a->request_id);
	q->affected = a->affected;
	q->dry_run = a->dry_run;
	q->status = (uint64_t)a->status;
	return st->queued >= STORE_AUDIT_BATCH ? write_queued(st, STORE_AUDIT_BATCH) : AUT_OK;
}

bool
store_audit_pending(const struct store *st)
{
	return st->queued > 0;
}

enum aut_err
store_audit_flush(struct store *st)
{
	enum aut_err err = AUT_OK;

	while (err == AUT_OK && st->queued >= STORE_AUDIT_BATCH)
		err = write_queued(st, STORE_AUDIT_BATCH);
	while (err == AUT_OK && st->queued > 0)
		err = write_queued(st, 1);
	return err;
}

/* Text statements without values: transaction control only. */
static enum aut_err
control(struct store *st, const char *sql)
{
	enum aut_err err = db_connect(&st->db);

	if (err == AUT_OK && mysql_query(st->db.conn, sql) != 0)
		err = db_fail(&st->db, NULL, sql);
	return err;
}

/* Commit when all went well, else roll back (db_fail has dropped the link). */
static enum aut_err
finish(struct store *st, enum aut_err err)
{
	if (err == AUT_OK)
		return control(st, "COMMIT");
	if (st->db.conn != NULL && mysql_query(st->db.conn, "ROLLBACK") != 0)
		db_fail(&st->db, NULL, "ROLLBACK");
	return err;
}

static enum aut_err
count_only(void *ctx, const struct token_row *row)
{
	(void)ctx;
	(void)row;
	return AUT_ERR_INTERNAL;   /* limit 0: never called */
}

static enum aut_err
revoke_tokens_once(struct store *st, uint64_t client_pk,
    const struct token_filters *f, time_t now, struct audit_entry *audit,
    uint64_t *revoked)
{
	struct binds p = { .n = 0 };
	bool by_user = f->user_id[0] != '\0';
	enum statement which = by_user ? SQL_REVOKE_BY_USER : SQL_REVOKE;
	enum aut_err err;

	*revoked = 0;
	err = control(st, "START TRANSACTION");
	if (err != AUT_OK)
		return err;
	if (audit->dry_run) {
		err = store_list_page(st, client_pk, f, now, 0, 0, revoked, count_only, NULL);
	} else {
		add_time(&p, now);
		if (by_user)
			add_string(&p, f->user_id);
		add_u64(&p, &client_pk);
		add_time(&p, now);
		add_types(&p, f->token_type);
		err = db_execute(&st->db, which, p.b, NULL, "revocation");
		if (err == AUT_OK)
			*revoked = db_affected_rows(&st->db, which);
	}
	audit->affected = *revoked;
	if (err == AUT_OK)
		err = audit_now(st, audit);
	return finish(st, err);
}

static enum aut_err
revoke_token_once(struct store *st, uint64_t client_pk,
    const unsigned char public_id[16], time_t now, struct audit_entry *audit,
    bool *found, uint64_t *revoked)
{
	struct binds p = { .n = 0 }, q = { .n = 0 };
	MYSQL_BIND r[1];
	signed char unrevoked = 0;
	enum aut_err err;

	*found = false;
	*revoked = 0;
	err = control(st, "START TRANSACTION");
	if (err != AUT_OK)
		return err;
	memset(r, 0, sizeof(r));
	add_bytes(&p, public_id, 16);
	add_u64(&p, &client_pk);
	db_bind_tiny(&r[0], &unrevoked);
	err = db_execute(&st->db, SQL_FIND_TOKEN, p.b, r, "token lookup");
	if (err == AUT_OK)
		err = db_fetch_one(&st->db, SQL_FIND_TOKEN, found, "token lookup");
	if (err != AUT_OK)
		return finish(st, err);
	if (!*found)
		return control(st, "ROLLBACK");   /* nothing to change, nothing to audit */

	if (audit->dry_run) {
		*revoked = unrevoked ? 1 : 0;
	} else {
		add_time(&q, now);
		add_bytes(&q, public_id, 16);
		add_u64(&q, &client_pk);
		err = db_execute(&st->db, SQL_REVOKE_ONE, q.b, NULL, "revocation");
		if (err == AUT_OK)
			*revoked = db_affected_rows(&st->db, SQL_REVOKE_ONE);
	}
	audit->affected = *revoked;
	if (err == AUT_OK)
		err = audit_now(st, audit);
	return finish(st, err);
}

/*
 * Revocations race other writers (the purge, issuers); InnoDB may pick them as
 * a deadlock victim and roll them back.  Run the whole transaction again.
 */
enum aut_err
store_revoke_tokens(struct store *st, uint64_t client_pk,
    const struct token_filters *f, time_t now, struct audit_entry *audit,
    uint64_t *revoked)
{
	enum aut_err err = AUT_ERR_DB_BUSY;

	for (int i = 0; i < DB_BUSY_ATTEMPTS && err == AUT_ERR_DB_BUSY; i++) {
		if (i > 0)
			db_busy_pause(i);
		err = revoke_tokens_once(st, client_pk, f, now, audit, revoked);
	}
	return err;
}

enum aut_err
store_revoke_token(struct store *st, uint64_t client_pk,
    const unsigned char public_id[16], time_t now, struct audit_entry *audit,
    bool *found, uint64_t *revoked)
{
	enum aut_err err = AUT_ERR_DB_BUSY;

	for (int i = 0; i < DB_BUSY_ATTEMPTS && err == AUT_ERR_DB_BUSY; i++) {
		if (i > 0)
			db_busy_pause(i);
		err = revoke_token_once(st, client_pk, public_id, now, audit, found, revoked);
	}
	return err;
}
