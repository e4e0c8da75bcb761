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

/* The statements of the purge, for db_new(). */
extern const struct db_table purge_statements;

#endif
