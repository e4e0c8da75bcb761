/* purge.c: the SQL of the batched clean-up of expired and revoked tokens. */
#include "purge.h"

#include <string.h>

#include "db.h"

enum statement {
	SQL_NEXT_CLIENTS,
	SQL_DELETE_EXPIRED,
	SQL_DELETE_REVOKED,
	SQL_DELETE_REVOKED_EXPIRED,
	SQL_STATEMENTS
};

#define CLIENTS_PER_QUERY 256

static const char *const statement_sql[SQL_STATEMENTS] = {
	[SQL_NEXT_CLIENTS] =
	    "SELECT id FROM oauth_clients WHERE id > ? ORDER BY id LIMIT 256",
	/* Both deletes walk a per-client index range (oauth_tokens_unswept,
	 * whose swept column the IN keeps in the range; oauth_tokens_page),
	 * never the whole table. */
	[SQL_DELETE_EXPIRED] =
	    "DELETE FROM oauth_tokens WHERE oauth_client_id = ?"
	    " AND revoked_at IS NULL AND swept IN (0, 1) AND expires_at < ? LIMIT ?",
	[SQL_DELETE_REVOKED] =
	    "DELETE FROM oauth_tokens WHERE oauth_client_id = ?"
	    " AND revoked_at < ? LIMIT ?",
	/* Revoked recently but expired long ago: dead on both counts.  Walks the
	 * client's revoked rows, which the statement above keeps few. */
	[SQL_DELETE_REVOKED_EXPIRED] =
	    "DELETE FROM oauth_tokens WHERE oauth_client_id = ?"
	    " AND revoked_at IS NOT NULL AND expires_at < ? LIMIT ?",
};

static void
pause_ms(unsigned int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };

	if (ms > 0)
		nanosleep(&ts, NULL);
}

/* Repeat one DELETE ... LIMIT batch until it deletes nothing. */
static enum aut_err
delete_batches(struct db *db, int which, uint64_t client_pk,
    const struct purge_options *opt, uint64_t *deleted)
{
	MYSQL_BIND p[3];
	MYSQL_TIME cutoff_t;
	uint64_t batch = opt->batch, n;
	enum aut_err err;

	memset(p, 0, sizeof(p));
	db_bind_u64(&p[0], &client_pk);
	db_bind_time(&p[1], &cutoff_t, opt->cutoff);
	db_bind_u64(&p[2], &batch);
	do {
		/* A batch InnoDB rolled back for a deadlock (with a revocation, an
		 * issuer) is simply run again, after a pause. */
		err = AUT_ERR_DB_BUSY;
		for (int i = 0; i < DB_BUSY_ATTEMPTS && err == AUT_ERR_DB_BUSY; i++) {
			if (i > 0)
				db_busy_pause(i);
			err = db_execute(db, which, p, NULL, "purge");
		}
		if (err != AUT_OK)
			return err;
		n = db_affected_rows(db, which);
		*deleted += n;
		if (n == batch)
			pause_ms(opt->pause_ms);
	} while (n == batch);
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
purge_run(const struct config *conf, const struct purge_options *opt,
    struct purge_result *out)
{
	struct db db;
	uint64_t after = 0, ids[CLIENTS_PER_QUERY], id = 0;
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
		err = db_execute(&db, SQL_NEXT_CLIENTS, p, r, "purge client list");
		while (err == AUT_OK &&
		    (err = db_fetch(&db, SQL_NEXT_CLIENTS, &row, "purge client list")) == AUT_OK &&
		    row && n < CLIENTS_PER_QUERY)
			ids[n++] = id;
		if (err != AUT_OK || n == 0)
			break;
		for (size_t i = 0; i < n && err == AUT_OK; i++, out->clients++)
			err = purge_client(&db, ids[i], opt, out);
		if (err != AUT_OK)
			break;
		after = ids[n - 1];
	}
	db_disconnect(&db);
	return err;
}
