/* ctl_change.c: autionalctl tenant|user|client update and delete, each one audited transaction. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../api/render.h"
#include "ctl.h"
#include "ctl_directory.h"
#include "ctl_object.h"

/* What update and delete read from their options. */
struct change_args {
	const char *id;          /* --id */
	const char *name;        /* --name (tenant, client update) */
	bool has_admin, admin;   /* --admin / --no-admin (user update) */
	bool force;              /* --force (tenant delete) */
};

static int
change_option(struct ctl *ctl, int c, const char *arg, void *ctx)
{
	struct change_args *a = ctx;

	switch (c) {
	case 'i': a->id = arg; return -1;
	case 'n': a->name = arg; return -1;
	case 'a':
	case 'A':
		if (a->has_admin && a->admin != (c == 'a'))
			return ctl_usage(ctl, "--admin and --no-admin do not go together");
		a->has_admin = true;
		a->admin = c == 'a';
		return -1;
	case 'f': a->force = true; return -1;
	}
	return ctl_usage(ctl, "unknown option");
}

/* One update or delete on its way through db_run(); run again from the start
 * after a deadlock, so every result is set afresh by the work. */
struct change_job {
	struct ctl *ctl;
	enum ctl_kind kind;
	const struct change_args *args;
	time_t now;
	char actor[CTL_ACTOR_MAX + 1];
	bool found;              /* the object exists */
	bool refused;            /* tenant delete: not empty, no --force */
	bool unchanged;          /* update: the object had that value already */
	struct ctl_object obj;   /* the object, as locked */
	uint64_t revoked;        /* active tokens revoked */
	uint64_t tokens;         /* token rows deleted */
	uint64_t clients, users; /* deleted with a tenant */
};

/* An audit row of this job: action, tenant, client ("" for none), filters. */
static enum aut_err
audit(struct change_job *job, const char *action, const char *tenant_id,
    const char *client_id, json_object *filters, uint64_t affected)
{
	const char *text = filters ? json_object_to_json_string_ext(filters,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE) : NULL;
	struct audit_entry e = {
		.tenant_id = tenant_id, .actor = job->actor, .action = action,
		.client_id = client_id, .filters_json = text, .affected = affected,
		.request_id = "", .status = 0,
	};
	enum aut_err err = text == NULL ? AUT_ERR_NOMEM : store_audit_write(job->ctl->store, &e);

	json_object_put(filters);
	return err;
}

/* {"key": "value"}, or NULL when out of memory. */
static json_object *
one_field(const char *key, json_object *value)
{
	json_object *o = json_object_new_object();

	ctl_json_put(o, key, value);
	return o;
}

/* Revoke the active tokens of a client (of one user when user_id is not
 * NULL) with their audit row, as `token revoke --all` does. */
static enum aut_err
revoke_tokens(struct change_job *job, const struct ctl_object *client, const char *user_id)
{
	struct revocation r = { .client_pk = client->pk };
	struct audit_entry e = {
		.tenant_id = client->tenant_id, .actor = job->actor, .action = "tokens.revoke",
		.client_id = client->id, .request_id = "", .status = 0,
	};
	char *filters = NULL;
	uint64_t revoked = 0;
	bool found = false;
	enum aut_err err;

	if (user_id != NULL)
		snprintf(r.filters.user_id, sizeof(r.filters.user_id), "%s", user_id);
	if ((err = render_filters(&r.filters, &filters)) != AUT_OK)
		return err;
	e.filters_json = filters;
	err = store_revoke_within(job->ctl->store, &r, job->now, &e, &found, &revoked);
	free(filters);
	job->revoked += revoked;
	return err;
}

/* A client (locked): its tokens revoked and audited, then its rows deleted. */
static enum aut_err
delete_client(struct change_job *job, const struct ctl_object *c)
{
	uint64_t tokens = 0;
	enum aut_err err = revoke_tokens(job, c, NULL);

	if (err == AUT_OK)
		err = ctl_dir_delete_client(job->ctl->db, c->pk, &tokens);
	job->tokens += tokens;
	if (err == AUT_OK)
		err = audit(job, "client.delete", c->tenant_id, c->id,
		    json_object_new_object(), tokens);
	return err;
}

/* A user (locked): its active tokens revoked per client and audited, then
 * its token rows and the user deleted. */
static enum aut_err
delete_user(struct change_job *job, const struct ctl_object *u)
{
	struct ctl_object *clients = NULL;
	uint64_t tokens = 0;
	size_t n = 0;
	enum aut_err err = ctl_dir_clients_of_user(job->ctl->db, u->pk, job->now, &clients, &n);

	for (size_t i = 0; err == AUT_OK && i < n; i++)
		err = revoke_tokens(job, &clients[i], u->id);
	free(clients);
	if (err == AUT_OK)
		err = ctl_dir_delete_user(job->ctl->db, u->pk, &tokens);
	job->tokens += tokens;
	if (err == AUT_OK)
		err = audit(job, "user.delete", u->tenant_id, "",
		    one_field("user_id", json_object_new_string(u->id)), tokens);
	return err;
}

/* Every client, then every user of a tenant, each locked and deleted. */
static enum aut_err
delete_children(struct change_job *job, enum ctl_kind k, uint64_t *deleted)
{
	struct ctl_object *items = NULL, locked;
	size_t n = 0;
	bool found = false;
	enum aut_err err = ctl_dir_children(job->ctl->db, k, job->obj.pk, &items, &n);

	for (size_t i = 0; err == AUT_OK && i < n; i++) {
		err = ctl_dir_find(job->ctl->db, k, items[i].id, true, &found, &locked);
		if (err != AUT_OK || !found)
			continue;
		err = k == CTL_CLIENT ? delete_client(job, &locked) : delete_user(job, &locked);
		if (err == AUT_OK)
			(*deleted)++;
	}
	free(items);
	return err;
}

static enum aut_err
delete_work(struct db *db, void *ctx)
{
	struct change_job *job = ctx;
	enum aut_err err;

	job->revoked = job->tokens = job->clients = job->users = 0;
	job->refused = false;
	err = ctl_dir_find(db, job->kind, job->args->id, true, &job->found, &job->obj);
	if (err != AUT_OK || !job->found)
		return err;
	switch (job->kind) {
	case CTL_CLIENT:
		return delete_client(job, &job->obj);
	case CTL_USER:
		return delete_user(job, &job->obj);
	case CTL_TENANT:
		break;
	}
	if (job->obj.users + job->obj.clients > 0 && !job->args->force) {
		job->refused = true;
		return AUT_OK;
	}
	err = delete_children(job, CTL_CLIENT, &job->clients);
	if (err == AUT_OK)
		err = delete_children(job, CTL_USER, &job->users);
	if (err == AUT_OK)
		err = ctl_dir_delete_tenant(db, job->obj.pk);
	if (err == AUT_OK)
		err = audit(job, "tenant.delete", job->obj.id, "",
		    one_field("force", json_object_new_boolean(job->args->force)),
		    job->clients + job->users);
	return err;
}

static enum aut_err
update_work(struct db *db, void *ctx)
{
	struct change_job *job = ctx;
	const struct change_args *a = job->args;
	const struct ctl_object *o = &job->obj;
	json_object *change;
	enum aut_err err = ctl_dir_find(db, job->kind, a->id, true, &job->found, &job->obj);

	if (err != AUT_OK || !job->found)
		return err;
	/* Already so: nothing to write and nothing to audit. */
	job->unchanged = job->kind == CTL_USER ? o->is_admin == a->admin :
	    strcmp(o->name, a->name) == 0;
	if (job->unchanged)
		return AUT_OK;
	/* The audit row names the old value and the new one. */
	if (job->kind == CTL_USER) {
		err = ctl_dir_set_admin(db, o->pk, a->admin);
		change = one_field("user_id", json_object_new_string(o->id));
		ctl_json_put(change, "was_admin", json_object_new_boolean(o->is_admin));
		ctl_json_put(change, "is_admin", json_object_new_boolean(a->admin));
	} else {
		err = ctl_dir_rename(db, job->kind, o->pk, a->name);
		change = one_field("old_name", json_object_new_string(o->name));
		ctl_json_put(change, "name", json_object_new_string(a->name));
	}
	if (err != AUT_OK) {
		json_object_put(change);
		return err;
	}
	return audit(job, job->kind == CTL_TENANT ? "tenant.update" : job->kind == CTL_USER
	    ? "user.update" : "client.update", o->tenant_id,
	    job->kind == CTL_CLIENT ? o->id : "", change, 1);
}

/* Run the job; -1 when the object was found (and not refused), else the exit status. */
static int
run_job(struct ctl *ctl, struct change_job *job, db_work_fn work, const char *what)
{
	enum aut_err err;

	ctl_actor(job->actor);
	job->now = db_clock_now();
	err = db_run(ctl->db, DB_TRANSACTION, what, work, job);
	if (err != AUT_OK)
		return ctl_fail_err(ctl, err);
	if (!job->found)
		return ctl_fail(ctl, "no %s '%s'; nothing was changed", ctl_kinds[job->kind].name,
		    job->args->id);
	if (job->refused)
		return ctl_fail(ctl, "tenant '%s' still has %" PRIu64 " client(s) and %" PRIu64
		    " user(s); nothing was changed (--force deletes them with it)",
		    job->args->id, job->obj.clients, job->obj.users);
	return -1;
}

static int
run_update(struct ctl *ctl, int argc, char **argv, enum ctl_kind k, const struct option *lo)
{
	struct change_args a = { 0 };
	struct change_job job = { .ctl = ctl, .kind = k, .args = &a };
	struct ctl_object o;
	bool found = false;
	enum aut_err err;
	int rc;

	if ((rc = ctl_parse_options(ctl, argc, argv, lo, change_option, &a)) >= 0 ||
	    (rc = ctl_check_lookup(ctl, "--id", a.id)) >= 0)
		return rc;
	if (k == CTL_USER && !a.has_admin)
		return ctl_usage(ctl, "nothing to change: give --admin or --no-admin");
	if (k != CTL_USER && a.name == NULL)
		return ctl_usage(ctl, "nothing to change: give --name");
	/* A client's name may be empty; a tenant's may not (as at create). */
	if (a.name != NULL && (k == CTL_TENANT || a.name[0] != '\0') &&
	    !ctl_valid_name(a.name, 200))
		return ctl_usage(ctl, "bad --name: %s200 characters of UTF-8 text, no control"
		    " characters", k == CTL_TENANT ? "1-" : "up to ");
	if ((rc = ctl_open(ctl)) != 0 || (rc = run_job(ctl, &job, update_work, "update")) >= 0)
		return rc;
	if (!ctl->json) {
		printf("%s %s %s\n", job.unchanged ? "unchanged (it was so already):" : "updated",
		    ctl_kinds[k].name, a.id);
		return CTL_EXIT_OK;
	}
	err = ctl_dir_find(ctl->db, k, a.id, false, &found, &o);
	if (err != AUT_OK)
		return ctl_fail_err(ctl, err);
	return ctl_print_json(ctl_object_json(k, found ? &o : &job.obj));
}

static int
run_delete(struct ctl *ctl, int argc, char **argv, enum ctl_kind k, const struct option *lo)
{
	struct change_args a = { 0 };
	struct change_job job = { .ctl = ctl, .kind = k, .args = &a };
	int rc;

	if ((rc = ctl_parse_options(ctl, argc, argv, lo, change_option, &a)) >= 0 ||
	    (rc = ctl_check_lookup(ctl, "--id", a.id)) >= 0 ||
	    (rc = ctl_open(ctl)) != 0 || (rc = run_job(ctl, &job, delete_work, "delete")) >= 0)
		return rc;
	if (ctl->json) {
		json_object *o = json_object_new_object();
		ctl_json_put(o, ctl_kinds[k].id_key, json_object_new_string(a.id));
		ctl_json_put(o, "deleted", json_object_new_boolean(1));
		if (k == CTL_TENANT) {
			ctl_json_put(o, "clients_deleted", json_object_new_int64((int64_t)job.clients));
			ctl_json_put(o, "users_deleted", json_object_new_int64((int64_t)job.users));
		}
		ctl_json_put(o, "revoked", json_object_new_int64((int64_t)job.revoked));
		ctl_json_put(o, "tokens_deleted", json_object_new_int64((int64_t)job.tokens));
		return ctl_print_json(o);
	}
	if (k == CTL_TENANT)
		printf("deleted tenant %s with %" PRIu64 " client(s) and %" PRIu64 " user(s): ",
		    a.id, job.clients, job.users);
	else
		printf("deleted %s %s: ", ctl_kinds[k].name, a.id);
	printf("revoked %" PRIu64 " active token(s), deleted %" PRIu64 " token row(s)\n",
	    job.revoked, job.tokens);
	return CTL_EXIT_OK;
}

static int
run_tenant_update(struct ctl *ctl, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "id", required_argument, NULL, 'i' },
		{ "name", required_argument, NULL, 'n' },
		CTL_COMMON_OPTIONS
	};
	return run_update(ctl, argc, argv, CTL_TENANT, lo);
}

static int
run_user_update(struct ctl *ctl, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "id", required_argument, NULL, 'i' },
		{ "admin", no_argument, NULL, 'a' },
		{ "no-admin", no_argument, NULL, 'A' },
		CTL_COMMON_OPTIONS
	};
	return run_update(ctl, argc, argv, CTL_USER, lo);
}

static int
run_client_update(struct ctl *ctl, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "id", required_argument, NULL, 'i' },
		{ "name", required_argument, NULL, 'n' },
		CTL_COMMON_OPTIONS
	};
	return run_update(ctl, argc, argv, CTL_CLIENT, lo);
}

static int
run_tenant_delete(struct ctl *ctl, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "id", required_argument, NULL, 'i' },
		{ "force", no_argument, NULL, 'f' },
		CTL_COMMON_OPTIONS
	};
	return run_delete(ctl, argc, argv, CTL_TENANT, lo);
}

static int
run_user_delete(struct ctl *ctl, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "id", required_argument, NULL, 'i' },
		CTL_COMMON_OPTIONS
	};
	return run_delete(ctl, argc, argv, CTL_USER, lo);
}

static int
run_client_delete(struct ctl *ctl, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "id", required_argument, NULL, 'i' },
		CTL_COMMON_OPTIONS
	};
	return run_delete(ctl, argc, argv, CTL_CLIENT, lo);
}

const struct ctl_command ctl_cmd_tenant_update = {
	"tenant update", "--id TENANT_ID --name NAME",
	"Rename a tenant (NAME: 1-200 characters).  Audited: action tenant.update,\n"
	"actor cli:<login>, filters {\"name\": NAME}.\n",
	run_tenant_update,
};

const struct ctl_command ctl_cmd_user_update = {
	"user update", "--id USER_ID (--admin | --no-admin)",
	"Make a user an administrator of its tenant (--admin) or take that away\n"
	"(--no-admin).  Its tokens stay; from now on an access token of a user\n"
	"without admin rights gets 403 from the API.  Audited: action user.update.\n",
	run_user_update,
};

const struct ctl_command ctl_cmd_client_update = {
	"client update", "--id CLIENT_ID --name NAME",
	"Rename an OAuth client (NAME: up to 200 characters, may be empty).\n"
	"Audited: action client.update.\n",
	run_client_update,
};

const struct ctl_command ctl_cmd_tenant_delete = {
	"tenant delete", "--id TENANT_ID [--force]",
	"Delete a tenant.  A tenant that still has clients or users is refused\n"
	"(exit 1, nothing changed) unless --force is given: then each of its\n"
	"clients and users is deleted first, as client delete and user delete do,\n"
	"all in one transaction.  Audited: action tenant.delete (affected: clients\n"
	"and users deleted), after the rows of each client and user.\n",
	run_tenant_delete,
};

const struct ctl_command ctl_cmd_user_delete = {
	"user delete", "--id USER_ID",
	"Delete a user.  In one transaction: its active tokens are revoked (one\n"
	"tokens.revoke audit row per client that held them, filters {\"user_id\"}),\n"
	"then all its token rows are deleted (the schema's foreign key leaves no\n"
	"other way), then the user; audit row user.delete (affected: token rows).\n",
	run_user_delete,
};

const struct ctl_command ctl_cmd_client_delete = {
	"client delete", "--id CLIENT_ID",
	"Delete an OAuth client.  In one transaction: its active tokens are revoked\n"
	"(audit row tokens.revoke, as token revoke --all writes), then all its token\n"
	"rows and counters are deleted (the schema's foreign key leaves no other\n"
	"way), then the client; audit row client.delete (affected: token rows).\n",
	run_client_delete,
};
