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

/* The user behind a live access token. */
struct bearer {
	bool has_user;           /* false: client-credentials token */
	bool is_admin;           /* administrator of its tenant */
	char tenant_id[257];     /* tenants.public_id, for the log */
	char user_id[257];       /* users.public_id, for the log */
};

/* Allocate a store for conf (which must outlive it). Connects lazily. */
enum aut_err store_new(const struct config *conf, struct store **out);
/* Close the connection and release the client library (one store per process). */
void store_free(struct store *st);

/* Connect (or reconnect after a failure) and prepare the statements once. */
enum aut_err store_connect(struct store *st);

/* What one round trip learns about the caller and the client named in the path. */
struct authorization {
	bool token_live;         /* a live access token has this hash */
	struct bearer who;       /* set when token_live */
	bool client_found;       /* client_id exists in the token user's tenant */
	uint64_t client_pk;      /* oauth_clients.id when client_found */
};

/*
 * Look up the bearer token by SHA-256 and, in the same statement, the client
 * with this public client_id in the token user's tenant.
 */
enum aut_err store_authorize(struct store *st, const unsigned char hash[32],
    const char *client_id, time_t now, struct authorization *out);

/* Called once per row, newest first; a non-OK return stops the listing. */
typedef enum aut_err (*store_row_fn)(void *ctx, const struct token_row *row);

/*
 * The exact number of the client's tokens active at `now` and rows
 * [offset, offset+limit) of them, newest first, from one statement (one
 * snapshot).  *total is known before the first row is handed to each().
 */
enum aut_err store_list_page(struct store *st, uint64_t client_pk, time_t now,
    uint64_t offset, unsigned int limit, uint64_t *total,
    store_row_fn each, void *ctx);

#endif
