/* store.h: the only code that speaks SQL: connection, statements, queries. */
#ifndef AUTIONAL_STORE_H
#define AUTIONAL_STORE_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "config.h"
#include "error.h"
#include "token.h"

struct store;

/* The administrator behind a live access token. */
struct bearer {
	bool has_user;           /* false: client-credentials token */
	bool is_admin;
	uint64_t tenant_pk;      /* tenants.id of the user's tenant */
	char tenant_id[65];      /* tenants.public_id, for the log */
	char user_id[65];        /* users.public_id, for the log */
};

/* Allocate a store for conf (which must outlive it). Connects lazily. */
enum aut_err store_new(const struct config *conf, struct store **out);
/* Close the connection and release the client library (one store per process). */
void store_free(struct store *st);

/*
 * Per request: store_begin() connects (or reconnects after a failure) and
 * prepares the statements once per connection; every read until store_end()
 * sees one consistent snapshot.  After any error the connection is dropped and
 * the next store_begin() starts afresh.
 */
enum aut_err store_begin(struct store *st);
void store_end(struct store *st);

/* A live access token with this SHA-256; *found false when there is none. */
enum aut_err store_find_bearer(struct store *st, const unsigned char hash[32],
    time_t now, struct bearer *out, bool *found);

/* The client with this public client_id in this tenant (oauth_clients.id). */
enum aut_err store_find_client(struct store *st, const char *client_id,
    uint64_t tenant_pk, uint64_t *client_pk, bool *found);

/* How many tokens of the client are active at `now`. */
enum aut_err store_count_active(struct store *st, uint64_t client_pk, time_t now,
    uint64_t *total);

/* Called once per row, newest first; a non-OK return stops the listing. */
typedef enum aut_err (*store_row_fn)(void *ctx, const struct token_row *row);

/* The active tokens of the client, newest first, rows [offset, offset+limit). */
enum aut_err store_list_active(struct store *st, uint64_t client_pk, time_t now,
    uint64_t offset, unsigned int limit, store_row_fn each, void *ctx);

#endif
