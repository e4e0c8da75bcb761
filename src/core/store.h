/* store.h: the statements both programs run: who asks, a page of tokens, revocation, audit. */
#ifndef AUTIONAL_STORE_H
#define AUTIONAL_STORE_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "cursor.h"
#include "db.h"
#include "error.h"
#include "token.h"

struct store;

/* The statements of this store, for db_new(). */
extern const struct db_table store_statements;

/* A store on db (which must outlive it; its tables include store_statements). */
enum aut_err store_new(struct db *db, struct store **out);
/* Write what the audit queue holds (a line on stderr when it cannot) and release. */
void store_free(struct store *st);

/* The user behind a live access token. */
struct bearer {
	bool has_user;           /* false: client-credentials token */
	bool is_admin;           /* administrator of its tenant */
	char tenant_id[257];     /* tenants.public_id, for the log */
	char user_id[257];       /* users.public_id, for the log */
};

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

/*
 * The primary key an earlier store_authorize of this store found for
 * client_id, if it is remembered (a hint: what uses it checks it).
 */
bool store_known_client(struct store *st, const char *client_id, uint64_t *pk);

/* Called once per row, newest first; a non-OK return stops the listing. */
typedef enum aut_err (*store_row_fn)(void *ctx, const struct token_row *row);

/*
 * The exact number of the client's tokens active at `now` that pass the
 * filters, and rows [offset, offset+limit) of them, newest first, from one
 * snapshot (one statement; a deep page counts first, then reads its rows from
 * the nearer end of the list).  *total is known before the first row is
 * handed to each().
 */
enum aut_err store_list_page(struct store *st, uint64_t client_pk,
    const struct token_filters *filters, time_t now, uint64_t offset,
    unsigned int limit, uint64_t *total, store_row_fn each, void *ctx);

/*
 * store_list_page (offset below a few pages, after NULL) or store_list_after
 * (after set), without a user filter, read in the same statement as the
 * caller's authorization, for client_id with the primary key client_pk that
 * store_known_client gave: rows come back only for a live access token of an
 * administrator of the client's tenant, while client_pk is still that
 * client's, and then *authz is filled as store_authorize would.  *served
 * false: not tried (other filters, deeper page) or no row came back (no such
 * caller, client renamed, or an empty page); nothing was handed to each(),
 * and the caller authorizes and lists the usual way.  One round trip instead
 * of two.
 */
enum aut_err store_list_authorized(struct store *st, const unsigned char hash[32],
    const char *client_id, uint64_t client_pk, const struct token_filters *filters,
    time_t now, uint64_t offset,
    const struct cursor_position *after, unsigned int limit, struct authorization *authz,
    uint64_t *total, store_row_fn each, void *ctx, bool *served);

/* The same exact total alone (no page), from one statement. */
enum aut_err store_count_active(struct store *st, uint64_t client_pk,
    const struct token_filters *filters, time_t now, uint64_t *total);

/*
 * The same total, and the next `limit` rows after `after` in list order (a
 * keyset page: created_at, id below the position), from one statement.  The
 * cost does not grow with the depth of the page.
 */
enum aut_err store_list_after(struct store *st, uint64_t client_pk,
    const struct token_filters *filters, time_t now,
    const struct cursor_position *after, unsigned int limit, uint64_t *total,
    store_row_fn each, void *ctx);

/*
 * The deployment's page-cursor key (api_secrets, made by sql/006), read once
 * per process and kept.
 */
enum aut_err store_cursor_key(struct store *st, unsigned char key[CURSOR_KEY_BYTES]);

/* One audit_events row; the store sets the time it is written for. */
struct audit_entry {
	const char *tenant_id;     /* tenants.public_id */
	const char *actor;         /* users.public_id, or "cli:<login>" */
	const char *action;        /* "tokens.list", "tokens.revoke", "token.revoke" */
	const char *client_id;     /* public client_id */
	const char *filters_json;  /* JSON object of the filters, "{}" for none */
	uint64_t affected;         /* listed total, or revoked (set by the store) */
	bool dry_run;
	const char *request_id;    /* "" from the command line */
	const char *client_request_id; /* the caller's X-Request-Id; NULL or "": none (SQL NULL) */
	int status;                /* HTTP status answered; 0 from the command line */
};

/*
 * Read audits are queued in the worker and written STORE_AUDIT_BATCH rows per
 * INSERT (one commit instead of one per list), each row with the time of its
 * request.  store_audit_queue() copies the entry and writes a full batch;
 * the accept loop calls store_audit_flush() whenever no request is waiting, and
 * at exit.  While the database is away (db_away) neither tries: the rows wait
 * in the queue (the newest 2 batches are kept), and the next request is not
 * held up behind a connect that would time out.  store_audit_can_wait()
 * says so.  A worker killed with SIGKILL loses what it had queued (at most the
 * reads of one burst of requests); revocations are never queued.
 */
#define STORE_AUDIT_BATCH 16
enum aut_err store_audit_queue(struct store *st, const struct audit_entry *entry);
bool store_audit_pending(const struct store *st);
bool store_audit_can_wait(const struct store *st);
enum aut_err store_audit_flush(struct store *st);

/* What to revoke: one token by public id, or every active token passing filters. */
struct revocation {
	uint64_t client_pk;
	const unsigned char *token_id;   /* 16 bytes; NULL: all that pass filters */
	struct token_filters filters;    /* without token_id only */
	bool dry_run;                    /* count, change nothing (still audited) */
	uint64_t batch;                  /* by filters: tokens per transaction; 0: all in one */
	double seconds;                  /* by filters in batches: no batch begun after
	                                    this long; 0: no limit */
	int unfinished_status;           /* with seconds: the audit status of the batch
	                                    after which the time was up (the API's 503) */
};

/*
 * The one revocation path, for the API and autionalctl: revoke, and write
 * `audit` with the count, in one transaction (no revocation without its row),
 * run again on a deadlock or lock wait timeout.  With token_id, *found is
 * false when the client has no such token (nothing is written); revoking a
 * token that is revoked already is found with *revoked 0.
 *
 * By filters with r->batch, in batches of that many tokens (fewer where a
 * Galera node's write-set limits need it, db_batch_fit): each batch is its
 * own transaction with its own audit row (affected: that batch's count), so
 * a client with a million tokens is revoked without one transaction that
 * outlives every timeout.  Batches follow each other until one comes back
 * short (*revoked: the sum).  After r->seconds, no new batch is begun:
 * AUT_ERR_REVOKE_UNFINISHED, with *revoked what was revoked, and the audit
 * row of the last batch says r->unfinished_status; the same revocation
 * again revokes the rest.  On any other error *revoked is what
 * the batches before it revoked (committed, audited).
 */
enum aut_err store_revoke(struct store *st, const struct revocation *r, time_t now,
    struct audit_entry *audit, bool *found, uint64_t *revoked);

/*
 * The same revocation and audit row, run inside a transaction the caller
 * holds (work under db_run(DB_TRANSACTION)): autionalctl's deletes revoke a
 * client's or a user's tokens in the transaction that deletes it.
 */
enum aut_err store_revoke_within(struct store *st, const struct revocation *r, time_t now,
    struct audit_entry *audit, bool *found, uint64_t *revoked);

/* Write one audit row now (in the caller's transaction, if one is open). */
enum aut_err store_audit_write(struct store *st, const struct audit_entry *audit);

#endif
