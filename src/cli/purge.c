/* purge.c: the SQL of the batched clean-up of expired and revoked tokens. */
#include "purge.h"

#include <string.h>

#include <json.h>

#include "ctl.h"

enum statement {
	SQL_NEXT_CLIENTS,
	SQL_PEEK_EXPIRED,
	SQL_PEEK_REVOKED,
	SQL_PEEK_REVOKED_EXPIRED,
	SQL_TAKE_EXPIRED,
	SQL_TAKE_REVOKED,
	SQL_TAKE_REVOKED_EXPIRED,
	SQL_LEFT_EXPIRED,
	SQL_LEFT_REVOKED,
	SQL_LEFT_REVOKED_EXPIRED,
	SQL_DELETE_TAKEN,
	SQL_STATEMENTS
};

#define CLIENTS_PER_QUERY 256

/* What each kind of dead token is: params client, cutoff.  Read through a
 * per-client index range (oauth_tokens_unswept, whose swept column the IN
 * keeps in the range; oauth_tokens_page), never the whole table.  The third
 * (revoked recently but expired long ago: dead on both counts) walks the
 * client's revoked rows, which the second keeps few. */
#define EXPIRED \
	"k.oauth_client_id = ? AND k.revoked_at IS NULL AND k.swept IN (0, 1) AND k.expires_at < ?"
#define REVOKED "k.oauth_client_id = ? AND k.revoked_at < ?"
#define REVOKED_EXPIRED \
	"k.oauth_client_id = ? AND k.revoked_at IS NOT NULL AND k.expires_at < ?"
/*
 * Peek: up to a batch (the third param) of them, by hash, without locking.
 * Take: lock those that still are, passing over rows a writer holds, in the
 * order a writer locks a token it changes by hash (the hash index, then the
 * row): a lock taken through the range index first is the opposite order,
 * and the DELETE then waited on a writer waiting on it (a deadlock whose
 * victim was the writer).  Params: the hashes (JSON array of hex), client,
 * cutoff.  Left: is any still there (a consistent read, no lock)?
 */
#define PEEK(kind) "SELECT HEX(k.token_hash) FROM oauth_tokens k WHERE " kind " LIMIT ?"
#define TAKE(kind) \
	"SELECT STRAIGHT_JOIN k.id" \
	" FROM JSON_TABLE(?, '$[*]' COLUMNS (h CHAR(64) PATH '$')) AS peeked" \
	" JOIN oauth_tokens k FORCE INDEX (oauth_tokens_hash) ON k.token_hash = UNHEX(peeked.h)" \
	" WHERE " kind " FOR UPDATE SKIP LOCKED"
#define LEFT(kind) "SELECT 1 FROM oauth_tokens k WHERE " kind " LIMIT 1"

static const struct db_statement statements[SQL_STATEMENTS] = {
	[SQL_NEXT_CLIENTS] = { "purge client list",
	    "SELECT id FROM oauth_clients WHERE id > ? ORDER BY id LIMIT 256", false },
	[SQL_PEEK_EXPIRED] = { "purge", PEEK(EXPIRED), false },
	[SQL_PEEK_REVOKED] = { "purge", PEEK(REVOKED), false },
	[SQL_PEEK_REVOKED_EXPIRED] = { "purge", PEEK(REVOKED_EXPIRED), false },
	[SQL_TAKE_EXPIRED] = { "purge", TAKE(EXPIRED), false },
	[SQL_TAKE_REVOKED] = { "purge", TAKE(REVOKED), false },
	[SQL_TAKE_REVOKED_EXPIRED] = { "purge", TAKE(REVOKED_EXPIRED), false },
	[SQL_LEFT_EXPIRED] = { "purge", LEFT(EXPIRED), false },
	[SQL_LEFT_REVOKED] = { "purge", LEFT(REVOKED), false },
	[SQL_LEFT_REVOKED_EXPIRED] = { "purge", LEFT(REVOKED_EXPIRED), false },
	/* Params: the ids taken, as a JSON array (locked by this transaction). */
	[SQL_DELETE_TAKEN] = { "purge",
	    "DELETE k FROM oauth_tokens k JOIN " PURGE_TAKEN_IDS " ON k.id = taken.id", false },
};

const struct db_table purge_statements = { statements, SQL_STATEMENTS };

static void
pause_ms(unsigned int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };

	if (ms > 0)
		nanosleep(&ts, NULL);
}

enum aut_err
purge_run_patiently(struct db *db, enum db_mode mode, const char *what, db_work_fn work,
    void *ctx)
{
	double give_up = db_clock_monotonic() + PURGE_PATIENCE_SECONDS;
	enum aut_err err;

	while ((err = db_run(db, mode, what, work, ctx)) == AUT_ERR_DB_BUSY &&
	    db_clock_monotonic() < give_up)
		pause_ms(PURGE_BUSY_PAUSE_MS);
	return err;
}

/* One batch of purge_locked_batches(), one transaction (run again from the
 * start after a deadlock or certification failure). */
struct locked_batch {
	const struct purge_steps *steps;
	uint64_t client_pk;
	time_t at;
	uint64_t wanted;                   /* the caller's batch size */
	uint64_t size;                     /* the last run's: wanted, fitted to the node */
	uint64_t taken;                    /* rows the last run locked */
	uint64_t acted;                    /* and changed */
};

/* Run s with params p; every row's one column appended to the array: as a
 * number (ids) or as text (hashes in hex). */
static enum aut_err
column_to_json(struct db *db, const struct db_statement *s, struct db_params *p,
    bool numbers, json_object *array, uint64_t *rows)
{
	struct db_row r;
	char text[72];
	uint64_t number = 0;
	bool more = false;
	enum aut_err err;

	*rows = 0;
	db_row_init(&r);
	if (numbers)
		db_col_u64(&r, &number);
	else
		db_col_text(&r, text, sizeof(text));
	err = db_execute(db, s, p, &r);
	while (err == AUT_OK && (err = db_fetch(db, s, &r, &more)) == AUT_OK && more) {
		if (!ctl_json_append(array, numbers ? json_object_new_uint64(number) :
		    json_object_new_string(text))) {
			db_discard(db, s);
			return AUT_ERR_NOMEM;
		}
		(*rows)++;
	}
	return err;
}

/* act on the ids taken: as one JSON array, or st->act_ids at a time. */
static enum aut_err
act_on_taken(struct db *db, const struct purge_steps *st, json_object *ids, uint64_t *acted)
{
	size_t n = json_object_array_length(ids);
	struct db_params p;
	enum aut_err err = AUT_OK;

	*acted = 0;
	if (st->act_ids == 0) {
		db_params_init(&p);
		db_param_string(&p, json_object_to_json_string_ext(ids, JSON_C_TO_STRING_PLAIN));
		if ((err = db_execute(db, st->act, &p, NULL)) == AUT_OK)
			*acted = db_affected_rows(db, st->act);
		return err;
	}
	for (size_t i = 0; i < n && err == AUT_OK; i += st->act_ids) {
		db_params_init(&p);
		/* past the last id, the first of these again: no other row */
		for (size_t j = i; j < i + st->act_ids; j++)
			db_param_u64(&p, json_object_get_uint64(
			    json_object_array_get_idx(ids, j < n ? j : i)));
		if ((err = db_execute(db, st->act, &p, NULL)) == AUT_OK)
			*acted += db_affected_rows(db, st->act);
	}
	return err;
}

static enum aut_err
run_locked_batch(struct db *db, void *ctx)
{
	struct locked_batch *b = ctx;
	const struct purge_steps *st = b->steps;
	json_object *peeked = NULL, *ids = json_object_new_array();
	struct db_params p;
	uint64_t n = 0;
	enum aut_err err = AUT_OK;

	b->taken = b->acted = 0;
	if (ids == NULL)
		return AUT_ERR_NOMEM;
	if ((err = db_batch_fit(db, b->wanted, DB_WS_ROWS_PER_TOKEN, &b->size)) != AUT_OK) {
		json_object_put(ids);
		return err;
	}
	db_params_init(&p);
	db_param_u64(&p, b->client_pk);
	db_param_time(&p, b->at, 0);
	db_param_u64(&p, b->size);
	if (st->peek != NULL) {
		/* take's params: what peek found, then client and instant */
		if ((peeked = json_object_new_array()) == NULL) {
			json_object_put(ids);
			return AUT_ERR_NOMEM;
		}
		err = column_to_json(db, st->peek, &p, false, peeked, &n);
		db_params_init(&p);
		db_param_string(&p, json_object_to_json_string_ext(peeked, JSON_C_TO_STRING_PLAIN));
		db_param_u64(&p, b->client_pk);
		db_param_time(&p, b->at, 0);
	}
	if (err == AUT_OK && (st->peek == NULL || n > 0))
		err = column_to_json(db, st->take, &p, true, ids, &b->taken);
	/* A batch is full when peek found a whole one, even if some were held. */
	if (st->peek != NULL && err == AUT_OK)
		b->taken = n;
	if (err == AUT_OK && json_object_array_length(ids) > 0)
		err = act_on_taken(db, st, ids, &b->acted);
	json_object_put(peeked);
	json_object_put(ids);
	return err;
}

/* Is a row of `left` (params: client, instant) still there? */
static enum aut_err
any_left(struct db *db, const struct db_statement *left, uint64_t client_pk, time_t at,
    bool *found)
{
	struct db_params p;
	struct db_row r;
	uint64_t one = 0;
	bool more = false;
	enum aut_err err;

	*found = false;
	db_params_init(&p);
	db_param_u64(&p, client_pk);
	db_param_time(&p, at, 0);
	db_row_init(&r);
	db_col_u64(&r, &one);
	err = db_execute(db, left, &p, &r);
	while (err == AUT_OK && (err = db_fetch(db, left, &r, &more)) == AUT_OK && more)
		*found = true;
	return err;
}

enum aut_err
purge_locked_batches(struct db *db, const struct purge_steps *steps, uint64_t client_pk,
    time_t at, unsigned int batch, unsigned int pause, uint64_t *changed)
{
	struct locked_batch b = { steps, client_pk, at, batch, batch, 0, 0 };
	double give_up = db_clock_monotonic() + PURGE_PATIENCE_SECONDS;
	bool found;
	enum aut_err err;

	for (;;) {
		err = purge_run_patiently(db, DB_TRANSACTION, steps->take->what, run_locked_batch,
		    &b);
		if (err != AUT_OK)
			return err;
		*changed += b.acted;
		if (b.taken == b.size && b.acted > 0) {
			pause_ms(pause);
			continue;
		}
		/* The last batch was short: done, unless rows were passed over
		 * because writers held them; those are tried again once their
		 * writers commit, for up to PURGE_PATIENCE_SECONDS. */
		if (steps->left == NULL || db_clock_monotonic() >= give_up)
			return AUT_OK;
		if ((err = any_left(db, steps->left, client_pk, at, &found)) != AUT_OK || !found)
			return err;
		pause_ms(PURGE_BUSY_PAUSE_MS);
	}
}

static enum aut_err
purge_client(struct db *db, uint64_t client_pk, const struct purge_options *opt,
    struct purge_result *out)
{
	static const struct purge_steps kinds[] = {
		{ &statements[SQL_PEEK_EXPIRED], &statements[SQL_TAKE_EXPIRED],
		  &statements[SQL_DELETE_TAKEN], &statements[SQL_LEFT_EXPIRED], 0 },
		{ &statements[SQL_PEEK_REVOKED], &statements[SQL_TAKE_REVOKED],
		  &statements[SQL_DELETE_TAKEN], &statements[SQL_LEFT_REVOKED], 0 },
		{ &statements[SQL_PEEK_REVOKED_EXPIRED], &statements[SQL_TAKE_REVOKED_EXPIRED],
		  &statements[SQL_DELETE_TAKEN], &statements[SQL_LEFT_REVOKED_EXPIRED], 0 },
	};
	uint64_t *counts[] = { &out->expired, &out->revoked, &out->revoked };
	enum aut_err err = AUT_OK;

	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]) && err == AUT_OK; i++)
		err = purge_locked_batches(db, &kinds[i], client_pk, opt->cutoff, opt->batch,
		    opt->pause_ms, counts[i]);
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
