/* ctl_store.h: the statements only autionalctl runs: directory, token issue, audit trail, migrations. */
#ifndef AUTIONAL_CTL_STORE_H
#define AUTIONAL_CTL_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "../core/db.h"
#include "../core/error.h"

struct ctl_store;

/* The statements of this store, for db_new(). */
extern const struct db_table ctl_store_statements;

/* A store on db (which must outlive it; its tables include ctl_store_statements). */
enum aut_err ctl_store_new(struct db *db, struct ctl_store **out);
void ctl_store_free(struct ctl_store *st);

/* ---- tenants, users, clients --------------------------------------------- */

enum ctl_created {
	CTL_CREATED,         /* the row was inserted */
	CTL_EXISTS,          /* a row with that public id exists already: unchanged */
	CTL_NO_TENANT        /* the tenant named does not exist */
};

enum aut_err ctl_store_tenant_create(struct ctl_store *st, const char *tenant_id,
    const char *name, enum ctl_created *out);
enum aut_err ctl_store_user_create(struct ctl_store *st, const char *tenant_id,
    const char *user_id, bool is_admin, enum ctl_created *out);
enum aut_err ctl_store_client_create(struct ctl_store *st, const char *tenant_id,
    const char *client_id, const char *name, enum ctl_created *out);

/* ---- tokens --------------------------------------------------------------- */

struct ctl_client {
	uint64_t pk;               /* oauth_clients.id */
	uint64_t tenant_pk;        /* tenants.id */
	char tenant_id[257];       /* tenants.public_id */
};

/* The client with this public client_id; *found false when there is none. */
enum aut_err ctl_store_client_find(struct ctl_store *st, const char *client_id,
    bool *found, struct ctl_client *out);

/* users.id of the user with this public id in that tenant; *found false if none. */
enum aut_err ctl_store_user_find(struct ctl_store *st, const char *user_id,
    uint64_t tenant_pk, bool *found, uint64_t *user_pk);

struct ctl_new_token {
	unsigned char hash[32];       /* SHA-256 of the token text */
	unsigned char public_id[16];  /* random; shown as tok_<hex> */
	const char *token_type;       /* "access_token" or "refresh_token" */
	uint64_t client_pk;
	bool has_user;
	uint64_t user_pk;             /* when has_user */
	const char *scope;            /* validated, may be "" */
	time_t created_at, expires_at;
};

enum aut_err ctl_store_token_insert(struct ctl_store *st, const struct ctl_new_token *t);

/* ---- audit trail --------------------------------------------------------- */

struct ctl_audit_filter {
	const char *tenant_id, *client_id, *action;  /* NULL: any */
	bool has_since;
	time_t since;                                /* occurred_at >= since */
	unsigned int limit;
};

/* One audit_events row; the strings live until the next row. */
struct ctl_audit_event {
	uint64_t id;
	struct tm occurred_at;       /* UTC */
	unsigned long occurred_usec;
	const char *tenant_id, *actor, *action, *client_id, *filters, *request_id;
	uint64_t affected;
	bool dry_run;
	unsigned int status;
};

typedef enum aut_err (*ctl_audit_fn)(void *ctx, const struct ctl_audit_event *ev);

/* Matching rows, newest first. */
enum aut_err ctl_store_audit_list(struct ctl_store *st, const struct ctl_audit_filter *f,
    ctl_audit_fn each, void *ctx);

/* ---- migrations ----------------------------------------------------------- */

/* Take the advisory lock that serialises migrate runs on one server (GET_LOCK:
 * it holds on the session's own node only); waits up to wait_seconds. */
enum aut_err ctl_store_migrate_lock(struct ctl_store *st, unsigned int wait_seconds, bool *got);
enum aut_err ctl_store_migrate_unlock(struct ctl_store *st);

/*
 * The cluster-wide migration lock: the one row of schema_migration_lock,
 * which exists while a migrate runs on any node of a Galera cluster.
 */
struct ctl_lock_row {
	char holder[1021];       /* VARCHAR(255) utf8mb4: "autionalctl pid N on HOST" */
	char server[4097];       /* VARCHAR(1024): the holder's "host:port:datadir" */
	struct tm taken_at;      /* UTC */
	uint64_t age_seconds;    /* since taken_at, by the server's clock */
	bool this_server;        /* the holder's session was on this session's server */
};

/* Create schema_migration_lock if it does not exist (DDL: cluster-wide). */
enum aut_err ctl_store_lock_table(struct ctl_store *st);
/* Insert the row as holder; *got false when someone else's is there. */
enum aut_err ctl_store_lock_row_take(struct ctl_store *st, const char *holder, bool *got);
/* The row, if there is one. */
enum aut_err ctl_store_lock_row_read(struct ctl_store *st, struct ctl_lock_row *out,
    bool *found);
/* Delete the row if holder holds it (NULL: whoever does). */
enum aut_err ctl_store_lock_row_remove(struct ctl_store *st, const char *holder,
    bool *removed);

/* Versions in schema_migrations (none when the table does not exist yet). */
typedef enum aut_err (*ctl_version_fn)(void *ctx, unsigned int version);
enum aut_err ctl_store_applied_versions(struct ctl_store *st, ctl_version_fn each,
    void *ctx);

/* Record a version as applied (harmless when it is already). */
enum aut_err ctl_store_record_version(struct ctl_store *st, unsigned int version);

#endif
