/* ctl_directory.h: the directory's statements for autionalctl: tenants, users, clients (list, show, update, delete) and one token's row. */
#ifndef AUTIONAL_CTL_DIRECTORY_H
#define AUTIONAL_CTL_DIRECTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "../core/db.h"
#include "../core/error.h"

/* The statements of the directory, for db_new(). */
extern const struct db_table ctl_directory_statements;

enum ctl_kind { CTL_TENANT, CTL_USER, CTL_CLIENT };

/* One tenant, user or client, as list and show print it. */
struct ctl_object {
	uint64_t pk;                 /* tenants.id, users.id or oauth_clients.id */
	char id[1021];               /* public id (client_id: VARCHAR(255) utf8mb4) */
	uint64_t tenant_pk;          /* the tenant's tenants.id (a tenant: its own) */
	char tenant_id[257];         /* the tenant's public id (a tenant: its own) */
	char name[801];              /* tenants and clients; "" for users */
	bool is_admin;               /* users */
	struct tm created_at;        /* UTC */
	uint64_t users, clients;     /* tenants: how many of each it holds */
};

/* What list narrows to; NULL / false: no filter. */
struct ctl_object_filter {
	const char *tenant_id;       /* users and clients of this tenant */
	const char *match;           /* public id or name contains this text (case-sensitive) */
	bool has_admin;              /* users: is_admin = admin */
	bool admin;
};

typedef enum aut_err (*ctl_object_fn)(void *ctx, const struct ctl_object *o);

/*
 * The exact number of objects of kind k passing the filter, then rows
 * [offset, offset+limit) of them in order of public id, one by one to each().
 */
enum aut_err ctl_dir_list(struct db *db, enum ctl_kind k, const struct ctl_object_filter *f,
    uint64_t offset, unsigned int limit, uint64_t *total, ctl_object_fn each, void *ctx);

/* One object by public id; *found false when there is none.  lock: FOR UPDATE
 * (inside a transaction, before changing or deleting it). */
enum aut_err ctl_dir_find(struct db *db, enum ctl_kind k, const char *id, bool lock,
    bool *found, struct ctl_object *out);

/* Set a tenant's or client's name, or a user's is_admin, by primary key. */
enum aut_err ctl_dir_rename(struct db *db, enum ctl_kind k, uint64_t pk, const char *name);
enum aut_err ctl_dir_set_admin(struct db *db, uint64_t user_pk, bool is_admin);

/*
 * The clients that hold active tokens of a user (users.id), or every client
 * of a tenant (tenants.id), or every user of a tenant: public ids and
 * tenants, in a malloc'd array (*n of them) the caller frees.
 */
enum aut_err ctl_dir_clients_of_user(struct db *db, uint64_t user_pk, time_t now,
    struct ctl_object **out, size_t *n);
enum aut_err ctl_dir_children(struct db *db, enum ctl_kind k, uint64_t tenant_pk,
    struct ctl_object **out, size_t *n);

/*
 * Delete the token rows of a client (oauth_clients.id), then its counter rows
 * and the client; or the token rows of a user, then the user; or a tenant
 * (empty by then).  *tokens: token rows deleted.
 */
enum aut_err ctl_dir_delete_client(struct db *db, uint64_t client_pk, uint64_t *tokens);
enum aut_err ctl_dir_delete_user(struct db *db, uint64_t user_pk, uint64_t *tokens);
enum aut_err ctl_dir_delete_tenant(struct db *db, uint64_t tenant_pk);

/* One token of a client, by public id, with its state; never its hash. */
struct ctl_token {
	char token_type[16];
	char scope[4001];            /* VARCHAR(1000) utf8mb4 */
	char user_id[257];           /* "" with has_user false: a client's own token */
	bool has_user;
	struct tm created_at, expires_at, revoked_at;   /* UTC */
	bool revoked;                /* revoked_at is set */
	time_t expires;              /* expires_at as time_t */
};

enum aut_err ctl_dir_token(struct db *db, uint64_t client_pk, const unsigned char id[16],
    bool *found, struct ctl_token *out);

#endif
