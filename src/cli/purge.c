/* purge.c: the SQL of the batched clean-up of expired and revoked tokens. */
#include "purge.h"

#include <string.h>

enum statement {
	SQL_NEXT_CLIENTS,
	SQL_DELETE_EXPIRED,
	SQL_DELETE_REVOKED,
	SQL_DELETE_REVOKED_EXPIRED,
	SQL_STATEMENTS
};

#define CLIENTS_PER_QUERY 256

static const struct db_statement statements[SQL_STATEMENTS] = {
	[SQL_NEXT_CLIENTS] = { "purge client list",
	    "SELECT id FROM oauth_clients WHERE id > ? ORDER BY id LIMIT 256", false },
	/* Both deletes walk a per-client index range (oauth_tokens_unswept,
	 * whose swept column the IN keeps in the range; oauth_tokens_page),
	 * never the whole table. */
	[SQL_DELETE_EXPIRED] = { "purge",
	    "DELETE FROM oauth_tokens WHERE oauth_client_id = ?"
	    " AND revoked_at IS NULL AND swept IN (0, 1) AND expires_at < ? LIMIT ?", false },
	[SQL_DELETE_REVOKED] = { "purge",
	    "DELETE FROM oauth_tokens WHERE oauth_client_id = ?"
	    " AND revoked_at < ? LIMIT ?", false },
	/* Revoked recently but expired long ago: dead on both counts.  Walks the
	 * client's revoked rows, which the statement above keeps few. */
	[SQL_DELETE_REVOKED_EXPIRED] = { "purge",
	    "DELETE FROM oauth_tokens WHERE oauth_client_id = ?"
	    " AND revoked_at IS NOT NULL AND expires_at < ? LIMIT ?", false },
};

const struct db_table purge_statements = { statements, SQL_STATEMENTS };

static void
pause_ms(unsigned int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };

	if (ms > 0)
		nanosleep(&ts, NULL);
}

static double
seconds_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

enum aut_err
purge_run_patiently(struct db *db, enum db_mode mode, const char *what, db_work_fn work,
    void *ctx)
{
	double give_up = seconds_now() + PURGE_PATIENCE_SECONDS;
	enum aut_err err;

	while ((err = db_run(db, mode, what, work, ctx)) == AUT_ERR_DB_BUSY &&
	    seconds_now() < give_up)
		pause_ms(PURGE_BUSY_PAUSE_MS);
	return err;
}

/* One batch statement with its values, for db_run(). */
struct purge_batch {
	const struct db_statement *s;
	struct db_params params;
};

static enum aut_err
run_batch(struct db *db, void *ctx)
{
	struct purge_batch *b = ctx;

	return db_execute(db, b->s, &b->params, NULL);
}

enum aut_err
purge_batches(struct db *db, const struct db_statement *s, uint64_t client_pk, time_t at,
    unsigned int batch, unsigned int pause, uint64_t *changed)
{
	struct purge_batch b = { .s = s };
	double give_up = seconds_now() + PURGE_PATIENCE_SECONDS;
	unsigned int size = batch;
	uint64_t n;
	enum aut_err err;

	for (;;) {
		db_params_init(&b.params);
		db_param_u64(&b.params, client_pk);
		db_param_time(&b.params, at, 0);
		db_param_u64(&b.params, size);
		/* db_run has already tried this batch DB_BUSY_ATTEMPTS times: a
		 * batch that keeps losing deadlocks to live writers is halved
		 * (down to one row) and tried again, until PURGE_PATIENCE_SECONDS
		 * without progress have passed. */
		err = db_run(db, DB_AUTOCOMMIT, s->what, run_batch, &b);
		if (err == AUT_ERR_DB_BUSY && seconds_now() < give_up) {
			size = size > 1 ? size / 2 : 1;
			pause_ms(PURGE_BUSY_PAUSE_MS);
			continue;
		}
		if (err != AUT_OK)
			return err;
		n = db_affected_rows(db, s);
		*changed += n;
		if (n < size)
			return AUT_OK;
		give_up = seconds_now() + PURGE_PATIENCE_SECONDS;
		size = size < batch / 2 ? size * 2 : batch;
		pause_ms(pause);
	}
}

static enum aut_err
purge_client(struct db *db, uint64_t client_pk, const struct purge_options *opt,
    struct purge_result *out)
{
	enum aut_err err;

	err = purge_batches(db, &statements[SQL_DELETE_EXPIRED], client_pk, opt->cutoff,
	    opt->batch, opt->pause_ms, &out->expired);
	if (err == AUT_OK)
		err = purge_batches(db, &statements[SQL_DELETE_REVOKED], client_pk, opt->cutoff,
		    opt->batch, opt->pause_ms, &out->revoked);
	if (err == AUT_OK)
		err = purge_batches(db, &statements[SQL_DELETE_REVOKED_EXPIRED], client_pk,
		    opt->cutoff, opt->batch, opt->pause_ms, &out->revoked);
	return err;
}

enum aut_err
purge_each_client(struct db *db, purge_client_fn each, void *ctx, uint64_t *visited)
{
	const struct db_statement *next = &statements[SQL_NEXT_CLIENTS];
	uint64_t after = 0, ids[CLIENTS_PER_QUERY], id = 0;
	enum aut_err err;

	for (;;) {
		struct db_params p;
		struct db_row r;
		size_t n = 0;
		bool row = false;

		db_params_init(&p);
		db_param_u64(&p, after);
		db_row_init(&r);
		db_col_u64(&r, &id);
		err = db_execute(db, next, &p, &r);
		while (err == AUT_OK && (err = db_fetch(db, next, &r, &row)) == AUT_OK &&
		    row && n < CLIENTS_PER_QUERY)
			ids[n++] = id;
		if (err != AUT_OK || n == 0)
			break;
		for (size_t i = 0; i < n && err == AUT_OK; i++, (*visited)++)
			err = each(db, ids[i], ctx);
		if (err != AUT_OK)
			break;
		after = ids[n - 1];
	}
	return err;
}

/* The purge's work on one client, for purge_each_client(). */
struct purge_walk {
	const struct purge_options *opt;
	struct purge_result *out;
};

static enum aut_err
purge_one(struct db *db, uint64_t client_pk, void *ctx)
{
	struct purge_walk *w = ctx;

	return purge_client(db, client_pk, w->opt, w->out);
}

enum aut_err
purge_run(struct db *db, const struct purge_options *opt, struct purge_result *out)
{
	struct purge_walk w = { .opt = opt, .out = out };

	memset(out, 0, sizeof(*out));
	return purge_each_client(db, purge_one, &w, &out->clients);
}
