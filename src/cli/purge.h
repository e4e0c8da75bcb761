/* purge.h: batched deletion of expired and revoked tokens (housekeeping). */
#ifndef AUTIONAL_PURGE_H
#define AUTIONAL_PURGE_H

#include <stdint.h>
#include <time.h>

#include "../core/db.h"
#include "../core/error.h"

struct purge_options {
	time_t cutoff;             /* delete tokens expired or revoked before this */
	unsigned int batch;        /* rows per DELETE (its own short transaction) */
	unsigned int pause_ms;     /* sleep between batches, to yield to the API */
};

struct purge_result {
	uint64_t expired;          /* unrevoked tokens deleted for being expired */
	uint64_t revoked;          /* revoked tokens deleted (revoked or expired before the cutoff) */
	uint64_t clients;          /* clients visited */
};

/*
 * Delete, client by client and in batches of opt->batch rows, the tokens that
 * expired before opt->cutoff and those revoked before it.  A live token
 * (unrevoked, expires_at > now >= cutoff) never matches.  Each batch commits
 * on its own, so the API keeps serving; counts stay exact through the triggers.
 */
enum aut_err purge_run(struct db *db, const struct purge_options *opt,
    struct purge_result *out);

/*
 * Call each() for every client, in id order (256 ids per query), until it
 * returns an error; *visited counts the clients handed over.  The purge and
 * the sweep (ctl_sweep.c) walk the clients this way.
 */
typedef enum aut_err (*purge_client_fn)(struct db *db, uint64_t client_pk, void *ctx);
enum aut_err purge_each_client(struct db *db, purge_client_fn each, void *ctx,
    uint64_t *visited);

/*
 * Housekeeping yields to live traffic: it never waits on a live writer, so it
 * can neither hold one up nor deadlock with one.  In one transaction per
 * batch, `take` locks up to a batch of rows with SELECT id ... FOR UPDATE
 * SKIP LOCKED, passing over those a writer holds, and `act` (param: their ids
 * as a JSON array, joined with PURGE_TAKEN_IDS) changes exactly those.
 * take's params are client, instant and batch size; with a `peek` (params
 * client, instant, batch size; one text column), peek runs first without
 * locking and take's params are its rows as a JSON array, client, instant.
 * With act_ids N, act's params are N ids instead (the last N padded with
 * their first id again), and it runs once per N ids taken: a single-table
 * UPDATE ... WHERE id IN (...), since a Galera node with wsrep_max_ws_rows
 * set refuses every multi-table UPDATE (4165, MariaDB 10.11); a multi-table
 * DELETE it takes.
 * Batches follow each other (pause ms apart) until one comes back short.
 * Rows passed over are tried again while `left` (params: client, instant;
 * NULL: never) still finds one, every PURGE_BUSY_PAUSE_MS, for up to
 * PURGE_PATIENCE_SECONDS; then they wait for the next run.  A batch that
 * fails with AUT_ERR_DB_BUSY after db_run()'s attempts (a Galera
 * certification conflict, a lock wait) is run again the same way.  *changed
 * counts the rows acted on.  The purge's deletes and the sweep's marks.
 */
#define PURGE_PATIENCE_SECONDS 60
#define PURGE_BUSY_PAUSE_MS 20
#define PURGE_TAKEN_IDS "JSON_TABLE(?, '$[*]' COLUMNS (id BIGINT UNSIGNED PATH '$')) AS taken"

struct purge_steps {
	const struct db_statement *peek;   /* NULL, or what take then locks */
	const struct db_statement *take;
	const struct db_statement *act;
	const struct db_statement *left;   /* NULL: what take passed over waits */
	unsigned int act_ids;              /* 0: act takes a JSON array; N: N ids */
};

/* act's id placeholders when act_ids is PURGE_ACT_IDS. */
#define PURGE_ACT_IDS 100
#define PURGE_IDS_10 "?, ?, ?, ?, ?, ?, ?, ?, ?, ?"
#define PURGE_IDS_100 "(" PURGE_IDS_10 ", " PURGE_IDS_10 ", " PURGE_IDS_10 ", " PURGE_IDS_10 \
	", " PURGE_IDS_10 ", " PURGE_IDS_10 ", " PURGE_IDS_10 ", " PURGE_IDS_10 ", " \
	PURGE_IDS_10 ", " PURGE_IDS_10 ")"

enum aut_err purge_locked_batches(struct db *db, const struct purge_steps *steps,
    uint64_t client_pk, time_t at, unsigned int batch, unsigned int pause,
    uint64_t *changed);

/* db_run(), run again after a pause while it fails with AUT_ERR_DB_BUSY, for
 * up to PURGE_PATIENCE_SECONDS. */
enum aut_err purge_run_patiently(struct db *db, enum db_mode mode, const char *what,
    db_work_fn work, void *ctx);

/* The statements of the purge, for db_new(). */
extern const struct db_table purge_statements;

#endif
