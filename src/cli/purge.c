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

/* One DELETE of the purge with its values, for db_run(). */
struct purge_delete {
	const struct db_statement *s;
	struct db_params params;
};

static enum aut_err
run_delete(struct db *db, void *ctx)
{
	struct purge_delete *d = ctx;

	return db_execute(db, d->s, &d->params, NULL);
}

/* Repeat one DELETE ... LIMIT batch until it deletes less than a batch. */
static enum aut_err
delete_batches(struct db *db, int which, uint64_t client_pk,
    const struct purge_options *opt, uint64_t *deleted)
{
	struct purge_delete d = { .s = &statements[which] };
	uint64_t n;
	enum aut_err err;

	db_params_init(&d.params);
	db_param_u64(&d.params, client_pk);
	db_param_time(&d.params, opt->cutoff, 0);
	db_param_u64(&d.params, opt->batch);
	do {
		/* A batch InnoDB rolled back for a deadlock (with a revocation, an
		 * issuer) is run again after a pause. */
		err = db_run(db, DB_AUTOCOMMIT, d.s->what, run_delete, &d);
		if (err != AUT_OK)
			return err;
		n = db_affected_rows(db, d.s);
		*deleted += n;
		if (n == opt->batch)
			pause_ms(opt->pause_ms);
	} while (n == opt->batch);
	return AUT_OK;
}

static enum aut_err
purge_client(struct db *db, uint64_t client_pk, const struct purge_options *opt,
    struct purge_result *out)
{
	enum aut_err err;

	err = delete_batches(db, SQL_DELETE_EXPIRED, client_pk, opt, &out->expired);
	if (err == AUT_OK)
		err = delete_batches(db, SQL_DELETE_REVOKED, client_pk, opt, &out->revoked);
	if (err == AUT_OK)
		err = delete_batches(db, SQL_DELETE_REVOKED_EXPIRED, client_pk, opt, &out->revoked);
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
