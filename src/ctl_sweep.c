/* ctl_sweep.c: autionalctl sweep: take expired tokens out of the token totals, fold the writers' rows. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "ctl.h"
#include "db.h"

/*
 * sql/004_token_totals.sql explains the totals.  A sweep only makes reading
 * them cheaper; every total is exact before, during and after it, and
 * whether it ever runs.  Per client:
 *   1. mark its unrevoked tokens that expired by now swept (the update
 *      trigger takes each out of oauth_token_totals, in the same transaction);
 *   2. clear the mark of swept tokens whose expiry was moved into the future;
 *   3. fold the client's counter rows written from this node (any of its
 *      connections) into the node's own row (connection part 0): DELETE ...
 *      RETURNING hands back exactly the values it removed, which the same
 *      transaction adds to the node's row.  Only this node's rows: a Galera
 *      node's writers never share a counter row with another node's, and
 *      neither does its sweeper.
 * Every statement is a short transaction of at most --batch tokens.
 */

enum statement {
	SQL_NEXT_CLIENTS,
	SQL_SWEEP,
	SQL_UNSWEEP,
	SQL_FOLD_TAKE,
	SQL_FOLD_ADD,
	SQL_FOLD_DROP_EMPTY,
	SQL_STATEMENTS
};

/* This node's shard numbers: (node << 32) | connection id, as the triggers write them. */
#define NODE_SHARD "(CRC32(CONCAT(@@hostname, ':', @@port, ':', @@datadir)) << 32)"

static const char *const statement_sql[SQL_STATEMENTS] = {
	[SQL_NEXT_CLIENTS] =
	    "SELECT id FROM oauth_clients WHERE id > ? ORDER BY id LIMIT 256",
	/* Params: client, now, batch.  Both walk a range of oauth_tokens_unswept. */
	[SQL_SWEEP] =
	    "UPDATE oauth_tokens SET swept = 1 WHERE oauth_client_id = ?"
	    " AND revoked_at IS NULL AND swept = 0 AND expires_at <= ? LIMIT ?",
	[SQL_UNSWEEP] =
	    "UPDATE oauth_tokens SET swept = 0 WHERE oauth_client_id = ?"
	    " AND revoked_at IS NULL AND swept = 1 AND expires_at > ? LIMIT ?",
	/* Params: client.  Type as its ENUM index (1 access, 2 refresh). */
	[SQL_FOLD_TAKE] =
	    "DELETE FROM oauth_token_totals WHERE oauth_client_id = ?"
	    " AND shard > " NODE_SHARD " AND shard <= (" NODE_SHARD " | 0xFFFFFFFF)"
	    " RETURNING token_type + 0, live",
	/* Params: client, type index, sum. */
	[SQL_FOLD_ADD] =
	    "INSERT INTO oauth_token_totals (oauth_client_id, token_type, shard, live)"
	    " VALUES (?, ?, " NODE_SHARD ", ?) ON DUPLICATE KEY UPDATE live = live + VALUES(live)",
	/* Params: client. */
	[SQL_FOLD_DROP_EMPTY] =
	    "DELETE FROM oauth_token_totals WHERE oauth_client_id = ?"
	    " AND shard = " NODE_SHARD " AND live = 0",
};

struct sweep_result {
	uint64_t swept;            /* expired tokens taken out of the totals */
	uint64_t unswept;          /* swept tokens whose expiry moved to the future */
	uint64_t folded;           /* counter rows folded into the node's row */
	uint64_t clients;          /* clients visited */
};

static void
bind_i64(MYSQL_BIND *b, int64_t *v)
{
	memset(b, 0, sizeof(*b));
	b->buffer_type = MYSQL_TYPE_LONGLONG;
	b->buffer = v;
}

/* Run one (auto-committed) statement again while InnoDB rolls it back for a deadlock. */
static enum aut_err
execute_retrying(struct db *db, int which, MYSQL_BIND *p, const char *what)
{
	enum aut_err err = AUT_ERR_DB_BUSY;

	for (int i = 0; i < DB_BUSY_ATTEMPTS && err == AUT_ERR_DB_BUSY; i++) {
		if (i > 0)
			db_busy_pause(i);
		err = db_execute(db, which, p, NULL, what);
	}
	return err;
}

/* SQL_SWEEP or SQL_UNSWEEP in batches until one changes fewer rows than the batch. */
static enum aut_err
mark_batches(struct db *db, int which, uint64_t client_pk, time_t now, uint64_t batch,
    uint64_t *changed)
{
	MYSQL_BIND p[3];
	MYSQL_TIME now_t;
	uint64_t n;
	enum aut_err err;

	memset(p, 0, sizeof(p));
	db_bind_u64(&p[0], &client_pk);
	db_bind_time(&p[1], &now_t, now);
	db_bind_u64(&p[2], &batch);
	do {
		err = execute_retrying(db, which, p, "sweep");
		if (err != AUT_OK)
			return err;
		n = db_affected_rows(db, which);
		*changed += n;
	} while (n == batch);
	return AUT_OK;
}

/* One transaction: take this node's counter rows of the client, add them to its node row. */
static enum aut_err
fold_once(struct db *db, uint64_t client_pk, uint64_t *folded)
{
	MYSQL_BIND p[3], r[2];
	uint64_t type = 0, rows = 0;
	int64_t live = 0, sum[3] = { 0, 0, 0 };
	bool taken[3] = { false, false, false }, more = false;
	enum aut_err err = db_connect(db);

	if (err == AUT_OK && mysql_autocommit(db->conn, 0) != 0)
		err = db_fail(db, NULL, "sweep: begin");
	memset(p, 0, sizeof(p));
	memset(r, 0, sizeof(r));
	db_bind_u64(&p[0], &client_pk);
	db_bind_u64(&r[0], &type);
	bind_i64(&r[1], &live);
	if (err == AUT_OK)
		err = db_execute(db, SQL_FOLD_TAKE, p, r, "sweep: fold");
	while (err == AUT_OK && (err = db_fetch(db, SQL_FOLD_TAKE, &more, "sweep: fold")) == AUT_OK &&
	    more) {
		if (type < 1 || type > 2) {
			fprintf(stderr, "autional: sweep: token type %llu in oauth_token_totals\n",
			    (unsigned long long)type);
			db_disconnect(db);     /* the server rolls the fold back */
			return AUT_ERR_INTERNAL;
		}
		sum[type] += live;
		taken[type] = true;
		rows++;
	}
	for (uint64_t t = 1; t <= 2 && err == AUT_OK; t++) {
		if (!taken[t])
			continue;
		db_bind_u64(&p[1], &t);
		bind_i64(&p[2], &sum[t]);
		err = db_execute(db, SQL_FOLD_ADD, p, NULL, "sweep: fold");
	}
	if (err == AUT_OK && rows > 0)
		err = db_execute(db, SQL_FOLD_DROP_EMPTY, p, NULL, "sweep: fold");
	if (err == AUT_OK && mysql_commit(db->conn) != 0)
		err = db_fail(db, NULL, "sweep: commit");
	if (err == AUT_OK) {
		mysql_autocommit(db->conn, 1);
		*folded += rows;
	}
	return err;                    /* on failure the connection is gone: rolled back */
}

static enum aut_err
sweep_client(struct db *db, uint64_t client_pk, time_t now, uint64_t batch,
    struct sweep_result *out)
{
	enum aut_err err = mark_batches(db, SQL_SWEEP, client_pk, now, batch, &out->swept);

	if (err == AUT_OK)
		err = mark_batches(db, SQL_UNSWEEP, client_pk, now, batch, &out->unswept);
	if (err != AUT_OK)
		return err;
	err = AUT_ERR_DB_BUSY;
	for (int i = 0; i < DB_BUSY_ATTEMPTS && err == AUT_ERR_DB_BUSY; i++) {
		if (i > 0)
			db_busy_pause(i);
		err = fold_once(db, client_pk, &out->folded);
	}
	return err;
}

static enum aut_err
sweep_run(const struct config *conf, uint64_t batch, struct sweep_result *out)
{
	struct db db;
	uint64_t after = 0, ids[256], id = 0;
	time_t now = time(NULL);
	enum aut_err err;

	memset(out, 0, sizeof(*out));
	db_init(&db, conf, statement_sql, SQL_STATEMENTS);
	for (;;) {
		MYSQL_BIND p[1], r[1];
		size_t n = 0;
		bool row = false;

		memset(p, 0, sizeof(p));
		memset(r, 0, sizeof(r));
		db_bind_u64(&p[0], &after);
		db_bind_u64(&r[0], &id);
		err = db_execute(&db, SQL_NEXT_CLIENTS, p, r, "sweep: client list");
		while (err == AUT_OK &&
		    (err = db_fetch(&db, SQL_NEXT_CLIENTS, &row, "sweep: client list")) == AUT_OK &&
		    row && n < 256)
			ids[n++] = id;
		if (err != AUT_OK || n == 0)
			break;
		for (size_t i = 0; i < n && err == AUT_OK; i++, out->clients++)
			err = sweep_client(&db, ids[i], now, batch, out);
		if (err != AUT_OK)
			break;
		after = ids[n - 1];
	}
	db_disconnect(&db);
	return err;
}

static int
sweep_option(struct ctl *ctl, int c, const char *arg, void *ctx)
{
	uint64_t *batch = ctx;
	long v;

	if (c != 'b')
		return ctl_usage(ctl, "unknown option");
	if ((v = ctl_parse_count(arg, 1, 100000)) < 0)
		return ctl_usage(ctl, "--batch must be 1..100000, not '%s'", arg);
	*batch = (uint64_t)v;
	return -1;
}

static int
run_sweep(struct ctl *ctl, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "batch", required_argument, NULL, 'b' },
		CTL_COMMON_OPTIONS
	};
	uint64_t batch = 1000;
	struct sweep_result res;
	enum aut_err err;
	int rc;

	if ((rc = ctl_parse_options(ctl, argc, argv, longopts, sweep_option, &batch)) >= 0)
		return rc;
	if ((rc = ctl_load_config(ctl)) != 0)
		return rc;
	err = sweep_run(&ctl->conf, batch, &res);
	if (err != AUT_OK)
		return ctl_fail(ctl, "failed (%s) after %llu tokens swept; the totals are exact"
		    " regardless", err == AUT_ERR_DB_UNAVAILABLE ? "database unavailable" :
		    "database error", (unsigned long long)res.swept);
	if (ctl->json) {
		json_object *o = json_object_new_object();
		ctl_json_put(o, "swept", json_object_new_int64((int64_t)res.swept));
		ctl_json_put(o, "unswept", json_object_new_int64((int64_t)res.unswept));
		ctl_json_put(o, "rows_folded", json_object_new_int64((int64_t)res.folded));
		ctl_json_put(o, "clients", json_object_new_int64((int64_t)res.clients));
		return ctl_print_json(o);
	}
	printf("swept %llu expired tokens (%llu unswept), folded %llu counter rows, %llu clients\n",
	    (unsigned long long)res.swept, (unsigned long long)res.unswept,
	    (unsigned long long)res.folded, (unsigned long long)res.clients);
	return CTL_EXIT_OK;
}

const struct ctl_command ctl_cmd_sweep = {
	"sweep", "[--batch N]",
	"Make token totals cheap to read: mark tokens that expired since the last\n"
	"sweep (N per transaction, default 1000) and fold the counter rows of this\n"
	"database node's connections into one.  Totals are exact whether or not it\n"
	"runs; run it every minute or so (cron, a systemd timer), on each node of a\n"
	"Galera cluster.  Safe while the API serves and tokens are written.\n",
	run_sweep,
};
