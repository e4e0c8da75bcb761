/* ctl_store.c: the statements only autionalctl runs: directory, token issue, audit trail, migrations. */
#include "ctl_store.h"

#include <stdlib.h>
#include <string.h>

#include "../core/log.h"

/* The database server a session is on, as the migration lock row names it:
 * its host, port and data directory (three nodes on one host differ), as
 * sql/004's counter shards name it. */
#define THIS_SERVER "CONCAT(@@hostname, ':', @@port, ':', @@datadir)"

enum statement {
	SQL_TENANT_INSERT,
	SQL_TENANT_PK,
	SQL_USER_INSERT,
	SQL_CLIENT_INSERT,
	SQL_CLIENT,
	SQL_USER,
	SQL_TOKEN_INSERT,
	SQL_AUDIT_LIST,
	SQL_MIGRATE_LOCK,
	SQL_MIGRATE_UNLOCK,
	SQL_LOCK_ROW_TAKE,
	SQL_LOCK_ROW_READ,
	SQL_LOCK_ROW_REMOVE,
	SQL_HAS_MIGRATIONS,
	SQL_VERSIONS,
	SQL_RECORD_VERSION,
	SQL_STATEMENTS
};

/* "ON DUPLICATE KEY UPDATE id = id" changes nothing: 0 affected rows says
 * "exists already" without an error. */
static const struct db_statement statements[SQL_STATEMENTS] = {
	[SQL_TENANT_INSERT] = { "tenant insert",
	    "INSERT INTO tenants (public_id, name) VALUES (?, ?)"
	    " ON DUPLICATE KEY UPDATE id = id", false },
	[SQL_TENANT_PK] = { "tenant lookup",
	    "SELECT id FROM tenants WHERE public_id = ?", false },
	[SQL_USER_INSERT] = { "user insert",
	    "INSERT INTO users (public_id, tenant_id, is_admin) VALUES (?, ?, ?)"
	    " ON DUPLICATE KEY UPDATE id = id", false },
	[SQL_CLIENT_INSERT] = { "client insert",
	    "INSERT INTO oauth_clients (client_id, tenant_id, name) VALUES (?, ?, ?)"
	    " ON DUPLICATE KEY UPDATE id = id", false },
	[SQL_CLIENT] = { "client lookup",
	    "SELECT c.id, c.tenant_id, t.public_id FROM oauth_clients c"
	    "  JOIN tenants t ON t.id = c.tenant_id WHERE c.client_id = ?", false },
	[SQL_USER] = { "user lookup",
	    "SELECT id FROM users WHERE public_id = ? AND tenant_id = ?", false },
	[SQL_TOKEN_INSERT] = { "token insert",
	    "INSERT INTO oauth_tokens (public_id, token_hash, token_type,"
	    "  oauth_client_id, user_id, scope, created_at, expires_at)"
	    " VALUES (?, ?, ?, ?, ?, ?, ?, ?)", false },
	/* Newest first from audit_events_time, or audit_events_tenant_time.  A
	 * NULL filter parameter matches everything: "(? IS NULL OR col = ?)". */
	[SQL_AUDIT_LIST] = { "audit list",
	    "SELECT id, occurred_at, tenant_id, actor, action, client_id, filters,"
	    "       affected, dry_run, request_id, status"
	    "  FROM audit_events"
	    " WHERE (? IS NULL OR tenant_id = ?) AND (? IS NULL OR client_id = ?)"
	    "   AND (? IS NULL OR action = ?) AND (? IS NULL OR occurred_at >= ?)"
	    " ORDER BY occurred_at DESC, id DESC LIMIT ?", false },
	[SQL_MIGRATE_LOCK] = { "migration lock",
	    "SELECT GET_LOCK('autional.migrate', ?)", false },
	[SQL_MIGRATE_UNLOCK] = { "migration unlock",
	    "SELECT RELEASE_LOCK('autional.migrate')", false },
	/* The cluster-wide lock: one row of a fixed key.  Two nodes inserting it
	 * at once: one commits, the other meets it (0 rows) or fails
	 * certification (1213) and meets it when it tries again. */
	[SQL_LOCK_ROW_TAKE] = { "migration lock row insert",
	    "INSERT IGNORE INTO schema_migration_lock (id, holder, server, taken_at)"
	    " VALUES (1, ?, " THIS_SERVER ", UTC_TIMESTAMP(6))", false },
	[SQL_LOCK_ROW_READ] = { "migration lock row read",
	    "SELECT holder, server, taken_at, GREATEST(0, TIMESTAMPDIFF(SECOND, taken_at, UTC_TIMESTAMP(6))),"
	    "       server = " THIS_SERVER
	    "  FROM schema_migration_lock WHERE id = 1", false },
	/* NULL holder: whoever holds it (--break-lock). */
	[SQL_LOCK_ROW_REMOVE] = { "migration lock row delete",
	    "DELETE FROM schema_migration_lock WHERE id = 1 AND (? IS NULL OR holder = ?)", false },
	[SQL_HAS_MIGRATIONS] = { "schema_migrations lookup",
	    "SELECT COUNT(*) FROM information_schema.tables"
	    " WHERE table_schema = DATABASE() AND table_name = 'schema_migrations'", false },
	[SQL_VERSIONS] = { "schema_migrations read",
	    "SELECT version FROM schema_migrations ORDER BY version", false },
	[SQL_RECORD_VERSION] = { "schema_migrations insert",
	    "INSERT IGNORE INTO schema_migrations (version) VALUES (?)", false },
};

const struct db_table ctl_store_statements = { statements, SQL_STATEMENTS };

struct ctl_store {
	struct db *db;
	/* Result buffers of the audit list, reused for every row. */
	char tenant_id[257];            /* VARCHAR(64) utf8mb4 */
	char actor[513];                /* VARCHAR(128) */
	char action[129];               /* VARCHAR(32) */
	char client_id[1021];           /* VARCHAR(255) */
	char filters[4001];             /* VARCHAR(1000) */
	char request_id[257];           /* VARCHAR(64) */
};

enum aut_err
ctl_store_new(struct db *db, struct ctl_store **out)
{
	struct ctl_store *st = calloc(1, sizeof(*st));

	if (st == NULL)
		return AUT_ERR_NOMEM;
	st->db = db;
	*out = st;
	return AUT_OK;
}

void
ctl_store_free(struct ctl_store *st)
{
	free(st);
}

/*
 * Run a statement that yields one row of one unsigned number (a COUNT, a
 * lock); *is_null (may be NULL) says whether it was NULL.
 */
static enum aut_err
single_number(struct ctl_store *st, int which, uint64_t *value, bool *is_null)
{
	const struct db_statement *s = &statements[which];
	struct db_row r;
	bool found = false;
	enum aut_err err;

	*value = 0;
	db_row_init(&r);
	db_col_u64(&r, value);
	err = db_execute(st->db, s, NULL, &r);
	if (err == AUT_OK)
		err = db_fetch_one(st->db, s, &r, &found);
	if (err == AUT_OK && !found) {
		log_error("%s returned no row", s->what);
		db_disconnect(st->db);
		return AUT_ERR_INTERNAL;
	}
	if (is_null != NULL)
		*is_null = db_col_null(&r, 0);
	return err;
}

/* Run a lookup of one row with one id column; *found false when there is none. */
static enum aut_err
lookup_id(struct ctl_store *st, int which, struct db_params *p, bool *found, uint64_t *id)
{
	const struct db_statement *s = &statements[which];
	struct db_row r;
	enum aut_err err;

	db_row_init(&r);
	db_col_u64(&r, id);
	err = db_execute(st->db, s, p, &r);
	if (err == AUT_OK)
		err = db_fetch_one(st->db, s, &r, found);
	return err;
}

/* ---- tenants, users, clients --------------------------------------------- */

static enum aut_err
insert_outcome(struct ctl_store *st, int which, struct db_params *p, enum ctl_created *out)
{
	enum aut_err err = db_execute(st->db, &statements[which], p, NULL);

	if (err == AUT_OK)
		*out = db_affected_rows(st->db, &statements[which]) == 1 ? CTL_CREATED : CTL_EXISTS;
	return err;
}

enum aut_err
ctl_store_tenant_create(struct ctl_store *st, const char *tenant_id, const char *name,
    enum ctl_created *out)
{
	struct db_params p;

	db_params_init(&p);
	db_param_string(&p, tenant_id);
	db_param_string(&p, name);
	return insert_outcome(st, SQL_TENANT_INSERT, &p, out);
}

/* tenants.id of a public tenant id; *found false when there is none. */
static enum aut_err
tenant_pk(struct ctl_store *st, const char *tenant_id, bool *found, uint64_t *pk)
{
	struct db_params p;

	db_params_init(&p);
	db_param_string(&p, tenant_id);
	return lookup_id(st, SQL_TENANT_PK, &p, found, pk);
}

/*
 * A row that belongs to a tenant: users (public id, tenant, is_admin) when
 * name is NULL, else oauth_clients (client_id, tenant, name).
 * CTL_NO_TENANT when the tenant named does not exist.
 */
static enum aut_err
create_in_tenant(struct ctl_store *st, int which, const char *tenant_id, const char *id,
    const char *name, bool is_admin, enum ctl_created *out)
{
	struct db_params p;
	uint64_t tenant = 0;
	bool found = false;
	enum aut_err err = tenant_pk(st, tenant_id, &found, &tenant);

	*out = CTL_NO_TENANT;
	if (err != AUT_OK || !found)
		return err;
	db_params_init(&p);
	db_param_string(&p, id);
	db_param_u64(&p, tenant);
	if (name != NULL)
		db_param_string(&p, name);
	else
		db_param_tiny(&p, is_admin ? 1 : 0);
	return insert_outcome(st, which, &p, out);
}

enum aut_err
ctl_store_user_create(struct ctl_store *st, const char *tenant_id, const char *user_id,
    bool is_admin, enum ctl_created *out)
{
	return create_in_tenant(st, SQL_USER_INSERT, tenant_id, user_id, NULL, is_admin, out);
}

enum aut_err
ctl_store_client_create(struct ctl_store *st, const char *tenant_id,
    const char *client_id, const char *name, enum ctl_created *out)
{
	return create_in_tenant(st, SQL_CLIENT_INSERT, tenant_id, client_id, name, false, out);
}

/* ---- tokens --------------------------------------------------------------- */

enum aut_err
ctl_store_client_find(struct ctl_store *st, const char *client_id, bool *found,
    struct ctl_client *out)
{
	const struct db_statement *s = &statements[SQL_CLIENT];
	struct db_params p;
	struct db_row r;
	enum aut_err err;

	memset(out, 0, sizeof(*out));
	db_params_init(&p);
	db_param_string(&p, client_id);
	db_row_init(&r);
	db_col_u64(&r, &out->pk);
	db_col_u64(&r, &out->tenant_pk);
	db_col_text(&r, out->tenant_id, sizeof(out->tenant_id));
	err = db_execute(st->db, s, &p, &r);
	if (err == AUT_OK)
		err = db_fetch_one(st->db, s, &r, found);
	return err;
}

enum aut_err
ctl_store_user_find(struct ctl_store *st, const char *user_id, uint64_t tenant_pk,
    bool *found, uint64_t *user_pk)
{
	struct db_params p;

	db_params_init(&p);
	db_param_string(&p, user_id);
	db_param_u64(&p, tenant_pk);
	return lookup_id(st, SQL_USER, &p, found, user_pk);
}

enum aut_err
ctl_store_token_insert(struct ctl_store *st, const struct ctl_new_token *t)
{
	struct db_params p;

	db_params_init(&p);
	db_param_bytes(&p, t->public_id, 16);
	db_param_bytes(&p, t->hash, 32);
	db_param_string(&p, t->token_type);
	db_param_u64(&p, t->client_pk);
	db_param_u64_or_null(&p, t->user_pk, t->has_user);
	db_param_string(&p, t->scope);
	db_param_time(&p, t->created_at, 0);
	db_param_time(&p, t->expires_at, 0);
	return db_execute(st->db, &statements[SQL_TOKEN_INSERT], &p, NULL);
}

/* ---- audit trail --------------------------------------------------------- */

enum aut_err
ctl_store_audit_list(struct ctl_store *st, const struct ctl_audit_filter *f,
    ctl_audit_fn each, void *ctx)
{
	const struct db_statement *s = &statements[SQL_AUDIT_LIST];
	const char *filter_text[3] = { f->tenant_id, f->client_id, f->action };
	struct db_params p;
	struct db_row r;
	struct ctl_audit_event ev;
	uint64_t status = 0;
	signed char dry = 0;
	bool row = false;
	enum aut_err err;

	db_params_init(&p);
	for (int i = 0; i < 3; i++) {
		db_param_string_or_null(&p, filter_text[i]);
		db_param_string_or_null(&p, filter_text[i]);
	}
	db_param_time_or_null(&p, f->since, f->has_since);
	db_param_time_or_null(&p, f->since, f->has_since);
	db_param_u64(&p, f->limit);

	memset(&ev, 0, sizeof(ev));
	ev.tenant_id = st->tenant_id;
	ev.actor = st->actor;
	ev.action = st->action;
	ev.client_id = st->client_id;
	ev.filters = st->filters;
	ev.request_id = st->request_id;
	db_row_init(&r);
	db_col_u64(&r, &ev.id);
	db_col_time(&r, &ev.occurred_at, &ev.occurred_usec);
	db_col_text(&r, st->tenant_id, sizeof(st->tenant_id));
	db_col_text(&r, st->actor, sizeof(st->actor));
	db_col_text(&r, st->action, sizeof(st->action));
	db_col_text(&r, st->client_id, sizeof(st->client_id));
	db_col_text(&r, st->filters, sizeof(st->filters));
	db_col_u64(&r, &ev.affected);
	db_col_tiny(&r, &dry);
	db_col_text(&r, st->request_id, sizeof(st->request_id));
	db_col_u64(&r, &status);

	err = db_execute(st->db, s, &p, &r);
	while (err == AUT_OK && (err = db_fetch(st->db, s, &r, &row)) == AUT_OK && row) {
		ev.dry_run = dry != 0;
		ev.status = (unsigned int)status;
		err = each(ctx, &ev);
		if (err != AUT_OK) {
			db_discard(st->db, s);
			return err;
		}
	}
	return err;
}

/* ---- migrations ----------------------------------------------------------- */

enum aut_err
ctl_store_migrate_lock(struct ctl_store *st, unsigned int wait_seconds, bool *got)
{
	const struct db_statement *s = &statements[SQL_MIGRATE_LOCK];
	struct db_params p;
	struct db_row r;
	uint64_t v = 0;
	bool found = false;
	enum aut_err err;

	*got = false;
	db_params_init(&p);
	db_param_u64(&p, wait_seconds);
	db_row_init(&r);
	db_col_u64(&r, &v);
	err = db_execute(st->db, s, &p, &r);
	if (err == AUT_OK)
		err = db_fetch_one(st->db, s, &r, &found);
	*got = err == AUT_OK && found && !db_col_null(&r, 0) && v == 1;
	return err;
}

enum aut_err
ctl_store_migrate_unlock(struct ctl_store *st)
{
	uint64_t v = 0;

	if (!db_connected(st->db))
		return AUT_OK;          /* the lock went with the connection */
	return single_number(st, SQL_MIGRATE_UNLOCK, &v, NULL);
}

enum aut_err
ctl_store_lock_table(struct ctl_store *st)
{
	static const char ddl[] =
	    "CREATE TABLE IF NOT EXISTS schema_migration_lock ("
	    " id TINYINT UNSIGNED NOT NULL PRIMARY KEY COMMENT 'always 1',"
	    " holder VARCHAR(255) NOT NULL COMMENT 'the autionalctl migrate that holds it',"
	    " server VARCHAR(1024) NOT NULL COMMENT 'host:port:datadir of its session',"
	    " taken_at DATETIME(6) NOT NULL COMMENT 'UTC'"
	    ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4"
	    " COMMENT='autionalctl migrate: one row while a migrate runs (any node)'";

	return db_exec_text(st->db, ddl, sizeof(ddl) - 1, "migration lock table");
}

enum aut_err
ctl_store_lock_row_take(struct ctl_store *st, const char *holder, bool *got)
{
	const struct db_statement *s = &statements[SQL_LOCK_ROW_TAKE];
	struct db_params p;
	enum aut_err err;

	db_params_init(&p);
	db_param_string(&p, holder);
	err = db_execute(st->db, s, &p, NULL);
	*got = err == AUT_OK && db_affected_rows(st->db, s) == 1;
	return err;
}

enum aut_err
ctl_store_lock_row_read(struct ctl_store *st, struct ctl_lock_row *out, bool *found)
{
	const struct db_statement *s = &statements[SQL_LOCK_ROW_READ];
	struct db_row r;
	unsigned long usec = 0;
	signed char same = 0;
	enum aut_err err;

	memset(out, 0, sizeof(*out));
	db_row_init(&r);
	db_col_text(&r, out->holder, sizeof(out->holder));
	db_col_text(&r, out->server, sizeof(out->server));
	db_col_time(&r, &out->taken_at, &usec);
	db_col_u64(&r, &out->age_seconds);
	db_col_tiny(&r, &same);
	err = db_execute(st->db, s, NULL, &r);
	if (err == AUT_OK)
		err = db_fetch_one(st->db, s, &r, found);
	if (err != AUT_OK || !*found)
		return err;
	out->this_server = same == 1;
	return AUT_OK;
}

enum aut_err
ctl_store_lock_row_remove(struct ctl_store *st, const char *holder, bool *removed)
{
	const struct db_statement *s = &statements[SQL_LOCK_ROW_REMOVE];
	struct db_params p;
	enum aut_err err;

	db_params_init(&p);
	db_param_string_or_null(&p, holder);
	db_param_string_or_null(&p, holder);
	err = db_execute(st->db, s, &p, NULL);
	*removed = err == AUT_OK && db_affected_rows(st->db, s) == 1;
	return err;
}

enum aut_err
ctl_store_applied_versions(struct ctl_store *st, ctl_version_fn each, void *ctx)
{
	const struct db_statement *s = &statements[SQL_VERSIONS];
	struct db_row r;
	uint64_t tables = 0, version = 0;
	bool row = false;
	enum aut_err err = single_number(st, SQL_HAS_MIGRATIONS, &tables, NULL);

	if (err != AUT_OK || tables == 0)
		return err;
	db_row_init(&r);
	db_col_u64(&r, &version);
	err = db_execute(st->db, s, NULL, &r);
	while (err == AUT_OK && (err = db_fetch(st->db, s, &r, &row)) == AUT_OK && row) {
		if (version > 0xffffffffu)
			continue;
		err = each(ctx, (unsigned int)version);
		if (err != AUT_OK) {
			db_discard(st->db, s);
			return err;
		}
	}
	return err;
}

enum aut_err
ctl_store_record_version(struct ctl_store *st, unsigned int version)
{
	struct db_params p;

	db_params_init(&p);
	db_param_u64(&p, version);
	return db_execute(st->db, &statements[SQL_RECORD_VERSION], &p, NULL);
}
