/* ctl_sweep.c: autionalctl sweep: take expired tokens out of the token totals, fold the writers' rows. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "ctl.h"
#include "purge.h"
#include "../core/db.h"
#include "../core/log.h"
#include "../core/text.h"

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
 * Every statement is a short transaction of at most --batch tokens; like the
 * purge's, a batch that keeps losing deadlocks to live writers is halved and
 * tried again (purge.h).
 */

enum statement {
	SQL_SWEEP,
	SQL_UNSWEEP,
	SQL_FOLD_LOCK,
	SQL_FOLD_TAKE,
	SQL_FOLD_ADD,
	SQL_FOLD_DROP_EMPTY,
	SQL_STATEMENTS
};

/* This node's shard numbers: (node << 32) | connection id, as the triggers write them. */
#define NODE_SHARD "(CRC32(CONCAT(@@hostname, ':', @@port, ':', @@datadir)) << 32)"

static const struct db_statement statements[SQL_STATEMENTS] = {
	/* Params: client, now, batch.  Both walk a range of oauth_tokens_unswept. */
	[SQL_SWEEP] = { "sweep",
	    "UPDATE oauth_tokens SET swept = 1 WHERE oauth_client_id = ?"
	    " AND revoked_at IS NULL AND swept = 0 AND expires_at <= ? LIMIT ?", false },
	[SQL_UNSWEEP] = { "sweep",
	    "UPDATE oauth_tokens SET swept = 0 WHERE oauth_client_id = ?"
	    " AND revoked_at IS NULL AND swept = 1 AND expires_at > ? LIMIT ?", false },
	/* Params: client.  Locks the rows the fold takes before it reads them: a
	 * deadlock or lock wait then fails this statement, which reports it (and
	 * db_run runs the fold again), rather than the middle of a result. */
	[SQL_FOLD_LOCK] = { "sweep: fold",
	    "UPDATE oauth_token_totals SET live = live WHERE oauth_client_id = ?"
	    " AND shard > " NODE_SHARD " AND shard <= (" NODE_SHARD " | 0xFFFFFFFF)", false },
	/* Params: client.  Type as its ENUM index (1 access, 2 refresh); the
	 * signed count as its positive and negative part (unsigned binds). */
	[SQL_FOLD_TAKE] = { "sweep: fold",
	    "DELETE FROM oauth_token_totals WHERE oauth_client_id = ?"
	    " AND shard > " NODE_SHARD " AND shard <= (" NODE_SHARD " | 0xFFFFFFFF)"
	    " RETURNING token_type + 0, GREATEST(live, 0), GREATEST(-live, 0)", false },
	/* Params: client, type index, plus, minus. */
	[SQL_FOLD_ADD] = { "sweep: fold",
	    "INSERT INTO oauth_token_totals (oauth_client_id, token_type, shard, live)"
	    " VALUES (?, ?, " NODE_SHARD ", CAST(? AS SIGNED) - CAST(? AS SIGNED))"
	    " ON DUPLICATE KEY UPDATE live = live + VALUES(live)", false },
	/* Params: client. */
	[SQL_FOLD_DROP_EMPTY] = { "sweep: fold",
	    "DELETE FROM oauth_token_totals WHERE oauth_client_id = ?"
	    " AND shard = " NODE_SHARD " AND live = 0", false },
};

const struct db_table sweep_statements = { statements, SQL_STATEMENTS };

struct sweep_result {
	uint64_t swept;            /* expired tokens taken out of the totals */
	uint64_t unswept;          /* swept tokens whose expiry moved to the future */
	uint64_t folded;           /* counter rows folded into the node's row */
	uint64_t clients;          /* clients visited */
};

/* The fold of one client, one transaction (db_run may run it again). */
struct sweep_fold {
	uint64_t client_pk;
	uint64_t rows;             /* counter rows taken by the last (committed) run */
};

static enum aut_err
run_fold(struct db *db, void *ctx)
{
	struct sweep_fold *f = ctx;
	const struct db_statement *take = &statements[SQL_FOLD_TAKE];
	struct db_params p;
	struct db_row r;
	uint64_t type = 0, plus = 0, minus = 0, sum_plus[3] = { 0 }, sum_minus[3] = { 0 };
	bool taken[3] = { false, false, false }, more = false;
	enum aut_err err;

	f->rows = 0;
	db_params_init(&p);
	db_param_u64(&p, f->client_pk);
	err = db_execute(db, &statements[SQL_FOLD_LOCK], &p, NULL);
	if (err != AUT_OK)
		return err;
	db_row_init(&r);
	db_col_u64(&r, &type);
	db_col_u64(&r, &plus);
	db_col_u64(&r, &minus);
	err = db_execute(db, take, &p, &r);
	while (err == AUT_OK && (err = db_fetch(db, take, &r, &more)) == AUT_OK && more) {
		if (type < 1 || type > 2) {
			log_error("sweep: token type %llu in oauth_token_totals",
			    (unsigned long long)type);
			db_discard(db, take);
			return AUT_ERR_INTERNAL;
		}
		sum_plus[type] += plus;
		sum_minus[type] += minus;
		taken[type] = true;
		f->rows++;
	}
	for (uint64_t t = 1; t <= 2 && err == AUT_OK; t++) {
		if (!taken[t])
			continue;
		db_params_init(&p);
		db_param_u64(&p, f->client_pk);
		db_param_u64(&p, t);
		db_param_u64(&p, sum_plus[t]);
		db_param_u64(&p, sum_minus[t]);
		err = db_execute(db, &statements[SQL_FOLD_ADD], &p, NULL);
	}
	if (err == AUT_OK && f->rows > 0) {
		db_params_init(&p);
		db_param_u64(&p, f->client_pk);
		err = db_execute(db, &statements[SQL_FOLD_DROP_EMPTY], &p, NULL);
	}
	return err;
}

static enum aut_err
sweep_client(struct db *db, uint64_t client_pk, time_t now, uint64_t batch,
    struct sweep_result *out)
{
	struct sweep_fold f = { .client_pk = client_pk };
	enum aut_err err = purge_batches(db, &statements[SQL_SWEEP], client_pk, now,
	    (unsigned int)batch, 0, &out->swept);

	if (err == AUT_OK)
		err = purge_batches(db, &statements[SQL_UNSWEEP], client_pk, now,
		    (unsigned int)batch, 0, &out->unswept);
	if (err == AUT_OK)
		err = purge_run_patiently(db, DB_TRANSACTION, "sweep: fold", run_fold, &f);
	if (err == AUT_OK)
		out->folded += f.rows;
	return err;
}

/* The sweep's work on one client, for purge_each_client(). */
struct sweep_walk {
	time_t now;
	uint64_t batch;
	struct sweep_result *out;
};

static enum aut_err
sweep_one(struct db *db, uint64_t client_pk, void *ctx)
{
	struct sweep_walk *w = ctx;

	return sweep_client(db, client_pk, w->now, w->batch, w->out);
}

static enum aut_err
sweep_run(struct db *db, uint64_t batch, struct sweep_result *out)
{
	struct sweep_walk w = { .now = db_clock_now(), .batch = batch, .out = out };

	memset(out, 0, sizeof(*out));
	return purge_each_client(db, sweep_one, &w, &out->clients);
}

static int
sweep_option(struct ctl *ctl, int c, const char *arg, void *ctx)
{
	uint64_t *batch = ctx;

	if (c != 'b')
		return ctl_usage(ctl, "unknown option");
	if (text_parse_decimal(arg, strlen(arg), 1, 100000, batch) != 0)
		return ctl_usage(ctl, "--batch must be 1..100000, not '%s'", arg);
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
	if ((rc = ctl_open(ctl)) != 0)
		return rc;
	err = sweep_run(ctl->db, batch, &res);
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
