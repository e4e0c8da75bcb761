/* ctl_store.c: autionalctl's SQL: prepared statements through db.h, by command group. */
#include "ctl_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"

/*
 * db.h keeps at most DB_MAX_STATEMENTS prepared statements per connection, and
 * one run of autionalctl executes one command; so the statements come in
 * groups, one per kind of command, and the store holds one group at a time
 * (switching closes the connection: never switch inside a transaction).
 */
enum group { G_NONE, G_DIRECTORY, G_TOKENS, G_AUDIT, G_MIGRATE };

enum directory_statement {
	D_TENANT_INSERT,
	D_TENANT_PK,
	D_USER_INSERT,
	D_CLIENT_INSERT,
	D_STATEMENTS
};

/* "ON DUPLICATE KEY UPDATE id = id" changes nothing: 0 affected rows says
 * "exists already" without an error. */
static const char *const directory_sql[D_STATEMENTS] = {
	[D_TENANT_INSERT] =
	    "INSERT INTO tenants (public_id, name) VALUES (?, ?)"
	    " ON DUPLICATE KEY UPDATE id = id",
	[D_TENANT_PK] =
	    "SELECT id FROM tenants WHERE public_id = ?",
	[D_USER_INSERT] =
	    "INSERT INTO users (public_id, tenant_id, is_admin) VALUES (?, ?, ?)"
	    " ON DUPLICATE KEY UPDATE id = id",
	[D_CLIENT_INSERT] =
	    "INSERT INTO oauth_clients (client_id, tenant_id, name) VALUES (?, ?, ?)"
	    " ON DUPLICATE KEY UPDATE id = id",
};

enum token_statement {
	T_CLIENT,
	T_USER,
	T_TOKEN_INSERT,
	T_TOKEN_LOCK,
	T_REVOKE_ONE,
	T_REVOKE_ALL,
	T_COUNT_ALL,
	T_AUDIT_INSERT,
	T_STATEMENTS
};

/* A NULL filter parameter matches everything: "(? IS NULL OR col = ?)". */
#define ACTIVE_MATCHING \
	" WHERE oauth_client_id = ? AND revoked_at IS NULL AND expires_at > ?" \
	"   AND (? IS NULL OR user_id = ?) AND (? IS NULL OR token_type = ?)"

static const char *const token_sql[T_STATEMENTS] = {
	[T_CLIENT] =
	    "SELECT c.id, c.tenant_id, t.public_id FROM oauth_clients c"
	    "  JOIN tenants t ON t.id = c.tenant_id WHERE c.client_id = ?",
	[T_USER] =
	    "SELECT id FROM users WHERE public_id = ? AND tenant_id = ?",
	[T_TOKEN_INSERT] =
	    "INSERT INTO oauth_tokens (public_id, token_hash, token_type,"
	    "  oauth_client_id, user_id, scope, created_at, expires_at)"
	    " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
	/* Params: public id, client.  Locks the row until commit.  As in the
	 * API, one token is revoked when unrevoked, even if it has expired. */
	[T_TOKEN_LOCK] =
	    "SELECT id, revoked_at IS NULL FROM oauth_tokens"
	    " WHERE public_id = ? AND oauth_client_id = ? FOR UPDATE",
	[T_REVOKE_ONE] =
	    "UPDATE oauth_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
	/* Walks the client's unrevoked range of oauth_tokens_page. */
	[T_REVOKE_ALL] =
	    "UPDATE oauth_tokens SET revoked_at = ?" ACTIVE_MATCHING,
	[T_COUNT_ALL] =
	    "SELECT COUNT(*) FROM oauth_tokens" ACTIVE_MATCHING,
	[T_AUDIT_INSERT] =
	    "INSERT INTO audit_events (occurred_at, tenant_id, actor, action,"
	    "  client_id, filters, affected, dry_run, request_id, status)"
	    " VALUES (UTC_TIMESTAMP(6), ?, ?, ?, ?, ?, ?, ?, '', 0)",
};

enum audit_statement {
	A_LIST,
	A_STATEMENTS
};

static const char *const audit_sql[A_STATEMENTS] = {
	/* Newest first from audit_events_time, or audit_events_tenant_time. */
	[A_LIST] =
	    "SELECT id, occurred_at, tenant_id, actor, action, client_id, filters,"
	    "       affected, dry_run, request_id, status"
	    "  FROM audit_events"
	    " WHERE (? IS NULL OR tenant_id = ?) AND (? IS NULL OR client_id = ?)"
	    "   AND (? IS NULL OR action = ?) AND (? IS NULL OR occurred_at >= ?)"
	    " ORDER BY occurred_at DESC, id DESC LIMIT ?",
};

enum migrate_statement {
	M_LOCK,
	M_UNLOCK,
	M_HAS_TABLE,
	M_VERSIONS,
	M_RECORD,
	M_STATEMENTS
};

static const char *const migrate_sql[M_STATEMENTS] = {
	[M_LOCK] = "SELECT GET_LOCK('autional.migrate', 60)",
	[M_UNLOCK] = "SELECT RELEASE_LOCK('autional.migrate')",
	[M_HAS_TABLE] =
	    ("SELECT COUNT(*) FROM information_schema.tables"
	     " WHERE table_schema = DATABASE() AND table_name = 'schema_migrations'"),
	[M_VERSIONS] = "SELECT version FROM schema_migrations ORDER BY version",
	[M_RECORD] = "INSERT IGNORE INTO schema_migrations (version) VALUES (?)",
};

static const struct {
	const char *const *sql;
	int n;
} groups[] = {
	[G_NONE] = { NULL, 0 },
	[G_DIRECTORY] = { directory_sql, D_STATEMENTS },
	[G_TOKENS] = { token_sql, T_STATEMENTS },
	[G_AUDIT] = { audit_sql, A_STATEMENTS },
	[G_MIGRATE] = { migrate_sql, M_STATEMENTS },
};

struct ctl_store {
	const struct config *conf;
	struct db db;
	enum group group;               /* the statements db holds */
	/* Result buffers of the audit list, reused for every row. */
	char tenant_id[257];            /* VARCHAR(64) utf8mb4 */
	char actor[513];                /* VARCHAR(128) */
	char action[129];               /* VARCHAR(32) */
	char client_id[1021];           /* VARCHAR(255) */
	char filters[4001];             /* VARCHAR(1000) */
	char request_id[257];           /* VARCHAR(64) */
};

enum aut_err
ctl_store_new(const struct config *conf, struct ctl_store **out)
{
	struct ctl_store *st = calloc(1, sizeof(*st));

	if (st == NULL)
		return AUT_ERR_NOMEM;
	st->conf = conf;
	db_init(&st->db, conf, NULL, 0);
	*out = st;
	return AUT_OK;
}

void
ctl_store_free(struct ctl_store *st)
{
	if (st == NULL)
		return;
	db_disconnect(&st->db);
	free(st);
	mysql_library_end();
}

/* Hold the statements of group g (closing the connection if it held others). */
static void
use(struct ctl_store *st, enum group g)
{
	if (st->group == g)
		return;
	db_disconnect(&st->db);
	db_init(&st->db, st->conf, groups[g].sql, groups[g].n);
	st->group = g;
}

static void
bind_nullable_u64(MYSQL_BIND *b, uint64_t *v, db_flag *is_null, bool present)
{
	db_bind_u64(b, v);
	*is_null = !present;
	b->is_null = is_null;
}

static void
bind_nullable_string(MYSQL_BIND *b, const char *s, unsigned long *len, db_flag *is_null)
{
	*len = s != NULL ? strlen(s) : 0;
	db_bind_string(b, s != NULL ? s : "", len);
	*is_null = s == NULL;
	b->is_null = is_null;
}

/* Execute a statement that yields one unsigned number (a COUNT, a lock). */
static enum aut_err
single_number(struct ctl_store *st, int which, MYSQL_BIND *params, uint64_t *value,
    bool *is_null, const char *what)
{
	MYSQL_BIND r[1];
	db_flag null_flag = 0;
	bool found = false;
	enum aut_err err;

	memset(r, 0, sizeof(r));
	*value = 0;
	db_bind_u64(&r[0], value);
	r[0].is_null = &null_flag;
	err = db_execute(&st->db, which, params, r, what);
	if (err == AUT_OK)
		err = db_fetch_one(&st->db, which, &found, what);
	if (err == AUT_OK && !found) {
		fprintf(stderr, "autionalctl: %s returned no row\n", what);
		db_disconnect(&st->db);
		return AUT_ERR_INTERNAL;
	}
	if (is_null != NULL)
		*is_null = null_flag;
	return err;
}

/* ---- tenants, users, clients --------------------------------------------- */

static enum aut_err
insert_outcome(struct ctl_store *st, int which, MYSQL_BIND *p, const char *what,
    enum ctl_created *out)
{
	enum aut_err err = db_execute(&st->db, which, p, NULL, what);

	if (err == AUT_OK)
		*out = db_affected_rows(&st->db, which) == 1 ? CTL_CREATED : CTL_EXISTS;
	return err;
}

enum aut_err
ctl_store_tenant_create(struct ctl_store *st, const char *tenant_id, const char *name,
    enum ctl_created *out)
{
	MYSQL_BIND p[2];
	unsigned long id_len = strlen(tenant_id), name_len = strlen(name);

	use(st, G_DIRECTORY);
	memset(p, 0, sizeof(p));
	db_bind_string(&p[0], tenant_id, &id_len);
	db_bind_string(&p[1], name, &name_len);
	return insert_outcome(st, D_TENANT_INSERT, p, "tenant insert", out);
}

/* tenants.id of a public tenant id; *found false when there is none. */
static enum aut_err
tenant_pk(struct ctl_store *st, const char *tenant_id, bool *found, uint64_t *pk)
{
	MYSQL_BIND p[1], r[1];
	unsigned long len = strlen(tenant_id);
	enum aut_err err;

	use(st, G_DIRECTORY);
	memset(p, 0, sizeof(p));
	memset(r, 0, sizeof(r));
	db_bind_string(&p[0], tenant_id, &len);
	db_bind_u64(&r[0], pk);
	err = db_execute(&st->db, D_TENANT_PK, p, r, "tenant lookup");
	if (err == AUT_OK)
		err = db_fetch_one(&st->db, D_TENANT_PK, found, "tenant lookup");
	return err;
}

enum aut_err
ctl_store_user_create(struct ctl_store *st, const char *tenant_id, const char *user_id,
    bool is_admin, enum ctl_created *out)
{
	MYSQL_BIND p[3];
	uint64_t tenant = 0;
	unsigned long id_len = strlen(user_id);
	signed char admin = is_admin ? 1 : 0;
	bool found = false;
	enum aut_err err = tenant_pk(st, tenant_id, &found, &tenant);

	*out = CTL_NO_TENANT;
	if (err != AUT_OK || !found)
		return err;
	memset(p, 0, sizeof(p));
	db_bind_string(&p[0], user_id, &id_len);
	db_bind_u64(&p[1], &tenant);
	db_bind_tiny(&p[2], &admin);
	return insert_outcome(st, D_USER_INSERT, p, "user insert", out);
}

enum aut_err
ctl_store_client_create(struct ctl_store *st, const char *tenant_id,
    const char *client_id, const char *name, enum ctl_created *out)
{
	MYSQL_BIND p[3];
	uint64_t tenant = 0;
	unsigned long id_len = strlen(client_id), name_len = strlen(name);
	bool found = false;
	enum aut_err err = tenant_pk(st, tenant_id, &found, &tenant);

	*out = CTL_NO_TENANT;
	if (err != AUT_OK || !found)
		return err;
	memset(p, 0, sizeof(p));
	db_bind_string(&p[0], client_id, &id_len);
	db_bind_u64(&p[1], &tenant);
	db_bind_string(&p[2], name, &name_len);
	return insert_outcome(st, D_CLIENT_INSERT, p, "client insert", out);
}

/* ---- tokens --------------------------------------------------------------- */

enum aut_err
ctl_store_client_find(struct ctl_store *st, const char *client_id, bool *found,
    struct ctl_client *out)
{
	MYSQL_BIND p[1], r[3];
	unsigned long id_len = strlen(client_id), tenant_len = 0;
	db_flag tenant_null = 0;
	enum aut_err err;

	use(st, G_TOKENS);
	memset(out, 0, sizeof(*out));
	memset(p, 0, sizeof(p));
	memset(r, 0, sizeof(r));
	db_bind_string(&p[0], client_id, &id_len);
	db_bind_u64(&r[0], &out->pk);
	db_bind_u64(&r[1], &out->tenant_pk);
	db_bind_text(&r[2], out->tenant_id, sizeof(out->tenant_id), &tenant_len, &tenant_null);
	err = db_execute(&st->db, T_CLIENT, p, r, "client lookup");
	if (err == AUT_OK)
		err = db_fetch_one(&st->db, T_CLIENT, found, "client lookup");
	if (err == AUT_OK && *found)
		out->tenant_id[tenant_null ? 0 : tenant_len] = '\0';
	return err;
}

enum aut_err
ctl_store_user_find(struct ctl_store *st, const char *user_id, uint64_t tenant_pk,
    bool *found, uint64_t *user_pk)
{
	MYSQL_BIND p[2], r[1];
	unsigned long id_len = strlen(user_id);
	enum aut_err err;

	use(st, G_TOKENS);
	memset(p, 0, sizeof(p));
	memset(r, 0, sizeof(r));
	db_bind_string(&p[0], user_id, &id_len);
	db_bind_u64(&p[1], &tenant_pk);
	db_bind_u64(&r[0], user_pk);
	err = db_execute(&st->db, T_USER, p, r, "user lookup");
	if (err == AUT_OK)
		err = db_fetch_one(&st->db, T_USER, found, "user lookup");
	return err;
}

enum aut_err
ctl_store_token_insert(struct ctl_store *st, const struct ctl_new_token *t)
{
	MYSQL_BIND p[8];
	MYSQL_TIME created, expires;
	unsigned long id_len = 16, hash_len = 32, type_len = strlen(t->token_type);
	unsigned long scope_len = strlen(t->scope);
	uint64_t client = t->client_pk, user = t->user_pk;
	db_flag user_null;

	use(st, G_TOKENS);
	memset(p, 0, sizeof(p));
	db_bind_blob(&p[0], t->public_id, &id_len);
	db_bind_blob(&p[1], t->hash, &hash_len);
	db_bind_string(&p[2], t->token_type, &type_len);
	db_bind_u64(&p[3], &client);
	bind_nullable_u64(&p[4], &user, &user_null, t->has_user);
	db_bind_string(&p[5], t->scope, &scope_len);
	db_bind_time(&p[6], &created, t->created_at);
	db_bind_time(&p[7], &expires, t->expires_at);
	return db_execute(&st->db, T_TOKEN_INSERT, p, NULL, "token insert");
}

static enum aut_err
begin(struct ctl_store *st)
{
	enum aut_err err = db_connect(&st->db);

	if (err == AUT_OK && mysql_autocommit(st->db.conn, 0) != 0)
		err = db_fail(&st->db, NULL, "begin");
	return err;
}

static enum aut_err
commit(struct ctl_store *st)
{
	if (mysql_commit(st->db.conn) != 0)
		return db_fail(&st->db, NULL, "commit");
	mysql_autocommit(st->db.conn, 1);
	return AUT_OK;
}

static void
rollback(struct ctl_store *st)
{
	if (st->db.conn != NULL) {
		mysql_rollback(st->db.conn);
		mysql_autocommit(st->db.conn, 1);
	}
}

/* Lock the token row; *found, and whether it is unrevoked. */
static enum aut_err
lock_token(struct ctl_store *st, const struct ctl_revocation *r, bool *found,
    uint64_t *token_pk, bool *unrevoked)
{
	MYSQL_BIND p[2], res[2];
	unsigned long id_len = 16;
	uint64_t client = r->client_pk;
	signed char flag = 0;
	enum aut_err err;

	memset(p, 0, sizeof(p));
	memset(res, 0, sizeof(res));
	db_bind_blob(&p[0], r->token_id, &id_len);
	db_bind_u64(&p[1], &client);
	db_bind_u64(&res[0], token_pk);
	db_bind_tiny(&res[1], &flag);
	err = db_execute(&st->db, T_TOKEN_LOCK, p, res, "token lookup");
	if (err == AUT_OK)
		err = db_fetch_one(&st->db, T_TOKEN_LOCK, found, "token lookup");
	*unrevoked = flag != 0;
	return err;
}

static enum aut_err
revoke_one(struct ctl_store *st, const struct ctl_revocation *r, time_t now,
    bool *found, uint64_t *revoked)
{
	MYSQL_BIND p[2];
	MYSQL_TIME revoked_at;
	uint64_t token_pk = 0;
	bool unrevoked = false;
	enum aut_err err = lock_token(st, r, found, &token_pk, &unrevoked);

	if (err != AUT_OK || !*found)
		return err;
	if (r->dry_run || !unrevoked) {
		*revoked = unrevoked ? 1 : 0;
		return AUT_OK;
	}
	memset(p, 0, sizeof(p));
	db_bind_time(&p[0], &revoked_at, now);
	db_bind_u64(&p[1], &token_pk);
	err = db_execute(&st->db, T_REVOKE_ONE, p, NULL, "token revocation");
	if (err == AUT_OK)
		*revoked = db_affected_rows(&st->db, T_REVOKE_ONE);
	return err;
}

static enum aut_err
revoke_all(struct ctl_store *st, const struct ctl_revocation *r, time_t now,
    uint64_t *revoked)
{
	MYSQL_BIND p[7];
	MYSQL_TIME revoked_at, now_t;
	uint64_t client = r->client_pk, user = r->user_pk, user2 = r->user_pk;
	unsigned long type_len, type2_len;
	db_flag user_null, user2_null, type_null, type2_null;
	MYSQL_BIND *f;
	int which = r->dry_run ? T_COUNT_ALL : T_REVOKE_ALL;
	enum aut_err err;

	memset(p, 0, sizeof(p));
	f = p;
	if (!r->dry_run)
		db_bind_time(f++, &revoked_at, now);
	db_bind_u64(f++, &client);
	db_bind_time(f++, &now_t, now);
	bind_nullable_u64(f++, &user, &user_null, r->has_user);
	bind_nullable_u64(f++, &user2, &user2_null, r->has_user);
	bind_nullable_string(f++, r->token_type, &type_len, &type_null);
	bind_nullable_string(f++, r->token_type, &type2_len, &type2_null);
	if (r->dry_run)
		return single_number(st, which, p, revoked, NULL, "revocation count");
	err = db_execute(&st->db, which, p, NULL, "token revocation");
	if (err == AUT_OK)
		*revoked = db_affected_rows(&st->db, which);
	return err;
}

/* occurred_at is the server's UTC_TIMESTAMP(6), as for the API's rows. */
static enum aut_err
audit_insert(struct ctl_store *st, const struct ctl_revocation *r, uint64_t affected)
{
	MYSQL_BIND p[7];
	unsigned long len[5];
	const char *text[5] = { r->tenant_id, r->actor, r->action, r->client_id, r->filters };
	uint64_t count = affected;
	signed char dry = r->dry_run ? 1 : 0;

	memset(p, 0, sizeof(p));
	for (int i = 0; i < 5; i++) {
		len[i] = strlen(text[i]);
		db_bind_string(&p[i], text[i], &len[i]);
	}
	db_bind_u64(&p[5], &count);
	db_bind_tiny(&p[6], &dry);
	return db_execute(&st->db, T_AUDIT_INSERT, p, NULL, "audit insert");
}

enum aut_err
ctl_store_revoke(struct ctl_store *st, const struct ctl_revocation *r, bool *found,
    uint64_t *revoked)
{
	time_t now = time(NULL);
	enum aut_err err;

	*found = true;
	*revoked = 0;
	use(st, G_TOKENS);
	err = begin(st);
	if (err != AUT_OK)
		return err;
	if (r->token_id != NULL)
		err = revoke_one(st, r, now, found, revoked);
	else
		err = revoke_all(st, r, now, revoked);
	if (err == AUT_OK && *found)
		err = audit_insert(st, r, *revoked);
	if (err == AUT_OK && *found)
		return commit(st);
	/* On a database error the connection is gone and the server rolled back. */
	rollback(st);
	if (err != AUT_OK)
		*revoked = 0;
	return err;
}

/* ---- audit trail --------------------------------------------------------- */

enum aut_err
ctl_store_audit_list(struct ctl_store *st, const struct ctl_audit_filter *f,
    ctl_audit_fn each, void *ctx)
{
	MYSQL_BIND p[9], r[11];
	MYSQL_TIME since[2], occurred;
	unsigned long plen[6], rlen[6] = { 0 };
	db_flag pnull[8], rnull[6] = { 0 };
	const char *filter_text[3] = { f->tenant_id, f->client_id, f->action };
	char *buf[6] = { st->tenant_id, st->actor, st->action, st->client_id,
	    st->filters, st->request_id };
	size_t bufsize[6] = { sizeof(st->tenant_id), sizeof(st->actor), sizeof(st->action),
	    sizeof(st->client_id), sizeof(st->filters), sizeof(st->request_id) };
	struct ctl_audit_event ev;
	uint64_t limit = f->limit, id = 0, affected = 0, status = 0;
	signed char dry = 0;
	bool row = false;
	enum aut_err err;

	use(st, G_AUDIT);
	memset(p, 0, sizeof(p));
	memset(r, 0, sizeof(r));
	for (int i = 0; i < 3; i++) {
		bind_nullable_string(&p[2 * i], filter_text[i], &plen[2 * i], &pnull[2 * i]);
		bind_nullable_string(&p[2 * i + 1], filter_text[i], &plen[2 * i + 1],
		    &pnull[2 * i + 1]);
	}
	for (int i = 0; i < 2; i++) {
		db_bind_time(&p[6 + i], &since[i], f->has_since ? f->since : 0);
		pnull[6 + i] = !f->has_since;
		p[6 + i].is_null = &pnull[6 + i];
	}
	db_bind_u64(&p[8], &limit);

	db_bind_u64(&r[0], &id);
	db_bind_datetime(&r[1], &occurred);
	for (int i = 0; i < 5; i++)
		db_bind_text(&r[2 + i], buf[i], bufsize[i], &rlen[i], &rnull[i]);
	db_bind_u64(&r[7], &affected);
	db_bind_tiny(&r[8], &dry);
	db_bind_text(&r[9], buf[5], bufsize[5], &rlen[5], &rnull[5]);
	db_bind_u64(&r[10], &status);

	err = db_execute(&st->db, A_LIST, p, r, "audit list");
	while (err == AUT_OK &&
	    (err = db_fetch(&st->db, A_LIST, &row, "audit list")) == AUT_OK && row) {
		for (int i = 0; i < 6; i++)
			buf[i][rnull[i] ? 0 : rlen[i]] = '\0';
		memset(&ev, 0, sizeof(ev));
		ev.id = id;
		db_tm_from_mysql(&occurred, &ev.occurred_at);
		ev.occurred_usec = occurred.second_part;
		ev.tenant_id = st->tenant_id;
		ev.actor = st->actor;
		ev.action = st->action;
		ev.client_id = st->client_id;
		ev.filters = st->filters;
		ev.request_id = st->request_id;
		ev.affected = affected;
		ev.dry_run = dry != 0;
		ev.status = (unsigned int)status;
		err = each(ctx, &ev);
		if (err != AUT_OK) {
			mysql_stmt_free_result(st->db.stmt[A_LIST]);
			return err;
		}
	}
	return err;
}

/* ---- migrations ----------------------------------------------------------- */

enum aut_err
ctl_store_migrate_lock(struct ctl_store *st, bool *got)
{
	MYSQL_BIND p[1];
	uint64_t v = 0;
	bool is_null = false;
	enum aut_err err;

	use(st, G_MIGRATE);
	memset(p, 0, sizeof(p));
	err = single_number(st, M_LOCK, p, &v, &is_null, "migration lock");
	*got = err == AUT_OK && !is_null && v == 1;
	return err;
}

enum aut_err
ctl_store_migrate_unlock(struct ctl_store *st)
{
	MYSQL_BIND p[1];
	uint64_t v = 0;

	use(st, G_MIGRATE);
	if (st->db.conn == NULL)
		return AUT_OK;          /* the lock went with the connection */
	memset(p, 0, sizeof(p));
	return single_number(st, M_UNLOCK, p, &v, NULL, "migration unlock");
}

enum aut_err
ctl_store_applied_versions(struct ctl_store *st, ctl_version_fn each, void *ctx)
{
	MYSQL_BIND p[1], r[1];
	uint64_t tables = 0, version = 0;
	bool row = false;
	enum aut_err err;

	use(st, G_MIGRATE);
	memset(p, 0, sizeof(p));
	memset(r, 0, sizeof(r));
	err = single_number(st, M_HAS_TABLE, p, &tables, NULL, "schema_migrations lookup");
	if (err != AUT_OK || tables == 0)
		return err;
	db_bind_u64(&r[0], &version);
	err = db_execute(&st->db, M_VERSIONS, p, r, "schema_migrations read");
	while (err == AUT_OK &&
	    (err = db_fetch(&st->db, M_VERSIONS, &row, "schema_migrations read")) == AUT_OK &&
	    row) {
		if (version > 0xffffffffu)
			continue;
		err = each(ctx, (unsigned int)version);
		if (err != AUT_OK) {
			mysql_stmt_free_result(st->db.stmt[M_VERSIONS]);
			return err;
		}
	}
	return err;
}

enum aut_err
ctl_store_exec_script(struct ctl_store *st, const char *sql, size_t len, const char *where)
{
	enum aut_err err;
	MYSQL *conn;
	int status;

	use(st, G_MIGRATE);
	err = db_connect(&st->db);
	if (err != AUT_OK)
		return err;
	conn = st->db.conn;
	if (mysql_real_query(conn, sql, (unsigned long)len) != 0)
		return db_fail(&st->db, NULL, where);
	do {
		MYSQL_RES *res = mysql_store_result(conn);

		if (res != NULL)
			mysql_free_result(res);
		else if (mysql_field_count(conn) != 0)
			return db_fail(&st->db, NULL, where);
		status = mysql_next_result(conn);   /* 0: another result; -1: done */
		if (status > 0)
			return db_fail(&st->db, NULL, where);
	} while (status == 0);
	return AUT_OK;
}

enum aut_err
ctl_store_record_version(struct ctl_store *st, unsigned int version)
{
	MYSQL_BIND p[1];
	uint64_t v = version;

	use(st, G_MIGRATE);
	memset(p, 0, sizeof(p));
	db_bind_u64(&p[0], &v);
	return db_execute(&st->db, M_RECORD, p, NULL, "schema_migrations insert");
}
