/* ctl_sweep.c: autionalctl sweep: take expired tokens out of the token totals, fold the writers' rows. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "ctl.h"
#include "purge.h"
#include "../core/db.h"
#include "../core/log.h"
#include "../core/text.h"
#include "../core/token.h"

/*
 * sql/004_token_totals.sql explains the totals.  A sweep only makes reading
 * them cheaper; every total is exact before, during and after it, and
 * whether it ever runs.  Per client:
 *   1. mark its unrevoked tokens that expired by now swept (the update
 *      trigger takes each out of oauth_token_totals, in the same transaction);
 *   2. clear the mark of swept tokens whose expiry was moved into the future;
 *   3. fold the client's counter rows written from this node (any of its
 *      connections) into the node's own row (connection part 0): the rows
 *      taken are deleted and their sum added to the node's row, in
 *      transactions of at most --batch rows, each row once, in key order (a
 *      row a writer makes again behind the fold waits for the next sweep).
 *      Only this node's rows: a Galera node's writers never share a counter
 *      row with another node's, and neither does its sweeper.
 * The sweeper never waits on a live writer, so it can neither hold one up nor
 * deadlock with one: each step first locks what it will change with
 * SELECT ... FOR UPDATE SKIP LOCKED, passing over rows a writer holds (they
 * wait for the next sweep), then changes exactly the rows it locked, named by
 * primary key in a JSON array (JSON_TABLE).  A plain UPDATE over the
 * oauth_tokens_unswept range locked that index's entry before the row, the
 * opposite order of a writer changing the same token by its hash: one of the
 * two was rolled back for a deadlock (1 in 4 runs of test_counts.py's sweep
 * race under load).  Every batch is a short transaction of at most --batch
 * tokens, fewer on a Galera node whose write-set limits need it
 * (db_batch_fit).
 */

enum statement {
	SQL_SWEEP_TAKE,
	SQL_SWEEP_MARK,
	SQL_UNSWEEP_TAKE,
	SQL_UNSWEEP_MARK,
	SQL_FOLD_TAKE,
	SQL_FOLD_DROP,
	SQL_FOLD_ADD,
	SQL_FOLD_DROP_EMPTY,
	SQL_STATEMENTS
};

/* This node's shard numbers: (node << 32) | connection id, as the triggers write them. */
#define NODE_SHARD "(CRC32(CONCAT(@@hostname, ':', @@port, ':', @@datadir)) << 32)"


static const struct db_statement statements[SQL_STATEMENTS] = {
	/* Params: client, now, batch.  Both walk a range of oauth_tokens_unswept. */
	[SQL_SWEEP_TAKE] = { "sweep",
	    "SELECT id FROM oauth_tokens WHERE oauth_client_id = ?"
	    " AND revoked_at IS NULL AND swept = 0 AND expires_at <= ? LIMIT ?"
	    " FOR UPDATE SKIP LOCKED", false },
	[SQL_UNSWEEP_TAKE] = { "sweep",
	    "SELECT id FROM oauth_tokens WHERE oauth_client_id = ?"
	    " AND revoked_at IS NULL AND swept = 1 AND expires_at > ? LIMIT ?"
	    " FOR UPDATE SKIP LOCKED", false },
	/* Params: PURGE_ACT_IDS ids taken (locked by this transaction, so
	 * still as read), padded with the first of them. */
	[SQL_SWEEP_MARK] = { "sweep",
	    "UPDATE oauth_tokens SET swept = 1 WHERE id IN " PURGE_IDS_100, false },
	[SQL_UNSWEEP_MARK] = { "sweep",
	    "UPDATE oauth_tokens SET swept = 0 WHERE id IN " PURGE_IDS_100, false },
	/* Params: client, then the last row the fold took (its type's enum
	 * index, twice, and its shard; 0, 0, 0 at first), batch.  The signed
	 * count as its positive and negative part (unsigned columns).  In key
	 * order from that row on: a writer's row made again behind it waits for
	 * the next sweep, so the fold ends while writers write. */
	[SQL_FOLD_TAKE] = { "sweep: fold",
	    "SELECT token_type, token_type + 0, shard, GREATEST(live, 0), GREATEST(-live, 0)"
	    " FROM oauth_token_totals WHERE oauth_client_id = ?"
	    " AND shard > " NODE_SHARD " AND shard <= (" NODE_SHARD " | 0xFFFFFFFF)"
	    " AND (token_type + 0 > ? OR (token_type + 0 = ? AND shard > ?))"
	    " ORDER BY token_type, shard LIMIT ? FOR UPDATE SKIP LOCKED", false },
	/* Params: the rows taken as a JSON array of [type, shard], client. */
	[SQL_FOLD_DROP] = { "sweep: fold",
	    "DELETE k FROM oauth_token_totals k JOIN JSON_TABLE(?, '$[*]' COLUMNS"
	    " (token_type VARCHAR(16) PATH '$[0]', shard BIGINT UNSIGNED PATH '$[1]')) AS taken"
	    " ON k.token_type = taken.token_type AND k.shard = taken.shard"
	    " WHERE k.oauth_client_id = ?", false },
	/* Params: client, type, plus, minus. */
	[SQL_FOLD_ADD] = { "sweep: fold",
	    "INSERT INTO oauth_token_totals (oauth_client_id, token_type, shard, live)"
	    " VALUES (?, ?, " NODE_SHARD ", CAST(? AS SIGNED) - CAST(? AS SIGNED))"
	    " ON DUPLICATE KEY UPDATE live = live + VALUES(live)", false },
	/* Params: client, type.  By the whole primary key: a range over the
	 * client's rows would wait on rows writers hold (and deadlock them). */
	[SQL_FOLD_DROP_EMPTY] = { "sweep: fold",
	    "DELETE FROM oauth_token_totals WHERE oauth_client_id = ? AND token_type = ?"
	    " AND shard = " NODE_SHARD " AND live = 0", false },
};

const struct db_table sweep_statements = { statements, SQL_STATEMENTS };

struct sweep_result {
	uint64_t swept;            /* expired tokens taken out of the totals */
	uint64_t unswept;          /* swept tokens whose expiry moved to the future */
	uint64_t folded;           /* counter rows folded into the node's row */
	uint64_t clients;          /* clients visited */
};

/* Step 1 or 2 of one client: locked batches (purge.h); held rows wait for the next sweep. */
static enum aut_err
mark_batches(struct db *db, enum statement take, enum statement mark, uint64_t client_pk,
    time_t now, uint64_t batch, uint64_t *changed)
{
	const struct purge_steps steps = { NULL, &statements[take], &statements[mark], NULL,
	    PURGE_ACT_IDS };

	return purge_locked_batches(db, &steps, client_pk, now, (unsigned int)batch, 0, changed);
}

/* One fold of a client's counter rows, at most a batch of them: one
 * transaction (db_run may run it again). */
struct sweep_fold {
	uint64_t client_pk;
	uint64_t wanted;           /* the batch size asked for */
	uint64_t size;             /* the last run's: wanted, fitted to the node */
	uint64_t rows;             /* counter rows taken by the last (committed) run */
	uint64_t after_type;       /* where the run starts: after this row (enum index) */
	uint64_t after_shard;
	uint64_t last_type;        /* the last row the last run took */
	uint64_t last_shard;
};

static enum aut_err
run_fold(struct db *db, void *ctx)
{
	static const enum token_type_filter types[2] = { TOKEN_TYPE_ACCESS, TOKEN_TYPE_REFRESH };
	struct sweep_fold *f = ctx;
	const struct db_statement *take = &statements[SQL_FOLD_TAKE];
	json_object *rows = json_object_new_array(), *row;
	struct db_params p;
	struct db_row r;
	char type[16];
	uint64_t type_index = 0, shard = 0, plus = 0, minus = 0;
	uint64_t sum_plus[2] = { 0 }, sum_minus[2] = { 0 };
	bool taken[2] = { false, false }, more = false;
	enum aut_err err;
	int t;

	f->rows = 0;
	f->last_type = f->after_type;
	f->last_shard = f->after_shard;
	/* each row taken is one deleted row of the write set */
	if (rows == NULL)
		return AUT_ERR_NOMEM;
	if ((err = db_batch_fit(db, f->wanted, 1, &f->size)) != AUT_OK) {
		json_object_put(rows);
		return err;
	}
	db_params_init(&p);
	db_param_u64(&p, f->client_pk);
	db_param_u64(&p, f->after_type);
	db_param_u64(&p, f->after_type);
	db_param_u64(&p, f->after_shard);
	db_param_u64(&p, f->size);
	db_row_init(&r);
	db_col_text(&r, type, sizeof(type));
	db_col_u64(&r, &type_index);
	db_col_u64(&r, &shard);
	db_col_u64(&r, &plus);
	db_col_u64(&r, &minus);
	err = db_execute(db, take, &p, &r);
	while (err == AUT_OK && (err = db_fetch(db, take, &r, &more)) == AUT_OK && more) {
		for (t = 0; t < 2 && strcmp(type, token_type_name(types[t])) != 0; t++)
			;
		if (t == 2) {
			log_error("sweep: token type '%s' in oauth_token_totals", type);
			err = AUT_ERR_INTERNAL;
		} else if ((row = json_object_new_array()) == NULL ||
		    !ctl_json_append(rows, row) ||
		    !ctl_json_append(row, json_object_new_string(type)) ||
		    !ctl_json_append(row, json_object_new_uint64(shard))) {
			err = AUT_ERR_NOMEM;
		}
		if (err != AUT_OK) {
			db_discard(db, take);
			break;
		}
		sum_plus[t] += plus;
		sum_minus[t] += minus;
		taken[t] = true;
		f->rows++;
		f->last_type = type_index;
		f->last_shard = shard;
	}
	if (err == AUT_OK && f->rows > 0) {
		db_params_init(&p);
		db_param_string(&p, json_object_to_json_string_ext(rows, JSON_C_TO_STRING_PLAIN));
		db_param_u64(&p, f->client_pk);
		err = db_execute(db, &statements[SQL_FOLD_DROP], &p, NULL);
	}
	for (t = 0; t < 2 && err == AUT_OK; t++) {
		if (!taken[t])
			continue;
		db_params_init(&p);
		db_param_u64(&p, f->client_pk);
		db_param_string(&p, token_type_name(types[t]));
		db_param_u64(&p, sum_plus[t]);
		db_param_u64(&p, sum_minus[t]);
		err = db_execute(db, &statements[SQL_FOLD_ADD], &p, NULL);
		if (err != AUT_OK)
			break;
		db_params_init(&p);
		db_param_u64(&p, f->client_pk);
		db_param_string(&p, token_type_name(types[t]));
		err = db_execute(db, &statements[SQL_FOLD_DROP_EMPTY], &p, NULL);
	}
	json_object_put(rows);
	return err;
}

static enum aut_err
sweep_client(struct db *db, uint64_t client_pk, time_t now, uint64_t batch,
    struct sweep_result *out)
{
	struct sweep_fold f = { .client_pk = client_pk, .wanted = batch };
	enum aut_err err = mark_batches(db, SQL_SWEEP_TAKE, SQL_SWEEP_MARK, client_pk, now,
	    batch, &out->swept);

	if (err == AUT_OK)
		err = mark_batches(db, SQL_UNSWEEP_TAKE, SQL_UNSWEEP_MARK, client_pk, now,
		    batch, &out->unswept);
	/* A full fold may have left more rows: fold again, from its last row on. */
	do {
		if (err == AUT_OK)
			err = purge_run_patiently(db, DB_TRANSACTION, "sweep: fold", run_fold, &f);
		if (err == AUT_OK) {
			out->folded += f.rows;
			f.after_type = f.last_type;
			f.after_shard = f.last_shard;
		}
	} while (err == AUT_OK && f.rows == f.size);
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
