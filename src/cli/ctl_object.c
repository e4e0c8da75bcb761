/* ctl_object.c: autionalctl tenant|user|client list and show: what the directory holds. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "ctl.h"
#include "ctl_directory.h"
#include "ctl_object.h"
#include "../core/timefmt.h"

const struct ctl_kind_info ctl_kinds[] = {
	[CTL_TENANT] = { "tenant", "tenants", "id" },
	[CTL_USER] = { "user", "users", "id" },
	[CTL_CLIENT] = { "client", "clients", "client_id" },
};

/* What list and show read from their options. */
struct object_args {
	struct ctl_object_filter filter;
	struct ctl_paging_args paging;
	const char *id;          /* --id (show) */
};

static int
object_option(struct ctl *ctl, int c, const char *arg, void *ctx)
{
	struct object_args *a = ctx;

	switch (c) {
	case 't': a->filter.tenant_id = arg; return -1;
	case 'm': a->filter.match = arg; return -1;
	case 'a':
	case 'A':
		if (a->filter.has_admin && a->filter.admin != (c == 'a'))
			return ctl_usage(ctl, "--admin and --no-admin do not go together");
		a->filter.has_admin = true;
		a->filter.admin = c == 'a';
		return -1;
	case 'p': a->paging.page = arg; return -1;
	case 'P': a->paging.page_size = arg; return -1;
	case 'i': a->id = arg; return -1;
	}
	return ctl_usage(ctl, "unknown option");
}

json_object *
ctl_object_json(enum ctl_kind k, const struct ctl_object *o)
{
	json_object *j = json_object_new_object();

	ctl_json_put(j, ctl_kinds[k].id_key, json_object_new_string(o->id));
	if (k != CTL_TENANT)
		ctl_json_put(j, "tenant_id", json_object_new_string(o->tenant_id));
	if (k != CTL_USER)
		ctl_json_put(j, "name", json_object_new_string(o->name));
	if (k == CTL_USER)
		ctl_json_put(j, "is_admin", json_object_new_boolean(o->is_admin));
	if (k == CTL_TENANT) {
		ctl_json_put(j, "users", json_object_new_int64((int64_t)o->users));
		ctl_json_put(j, "clients", json_object_new_int64((int64_t)o->clients));
	}
	ctl_json_put(j, "created_at", ctl_json_time(&o->created_at));
	return j;
}

/* The columns for people: their headers, and one object's cells (into bufs). */
#define MAX_COLUMNS 5
static const char *const headers[][MAX_COLUMNS] = {
	[CTL_TENANT] = { "ID", "NAME", "USERS", "CLIENTS", "CREATED (UTC)" },
	[CTL_USER] = { "ID", "TENANT", "ADMIN", "CREATED (UTC)", NULL },
	[CTL_CLIENT] = { "CLIENT_ID", "TENANT", "NAME", "CREATED (UTC)", NULL },
};
static const int ncolumns[] = { [CTL_TENANT] = 5, [CTL_USER] = 4, [CTL_CLIENT] = 4 };

struct cell_bufs {
	char users[24], clients[24], created[TIMEFMT_RFC3339_LEN];
};

static void
object_cells(enum ctl_kind k, const struct ctl_object *o, struct cell_bufs *b,
    const char *cells[MAX_COLUMNS])
{
	snprintf(b->users, sizeof(b->users), "%" PRIu64, o->users);
	snprintf(b->clients, sizeof(b->clients), "%" PRIu64, o->clients);
	if (timefmt_rfc3339_tm(&o->created_at, b->created) != 0)
		strcpy(b->created, "?");
	switch (k) {
	case CTL_TENANT:
		cells[0] = o->id; cells[1] = o->name; cells[2] = b->users;
		cells[3] = b->clients; cells[4] = b->created;
		break;
	case CTL_USER:
		cells[0] = o->id; cells[1] = o->tenant_id; cells[2] = o->is_admin ? "yes" : "no";
		cells[3] = b->created;
		break;
	case CTL_CLIENT:
		cells[0] = o->id; cells[1] = o->tenant_id; cells[2] = o->name[0] ? o->name : "-";
		cells[3] = b->created;
		break;
	}
}

/* A list being printed: into a table, or into a JSON array. */
struct list_out {
	enum ctl_kind kind;
	struct ctl_table *table;
	json_object *items;
};

static enum aut_err
add_object(void *ctx, const struct ctl_object *o)
{
	struct list_out *out = ctx;
	const char *cells[MAX_COLUMNS];
	struct cell_bufs b;

	if (out->items != NULL) {
		json_object *j = ctl_object_json(out->kind, o);
		if (j == NULL || json_object_array_add(out->items, j) != 0) {
			json_object_put(j);
			return AUT_ERR_NOMEM;
		}
		return AUT_OK;
	}
	object_cells(out->kind, o, &b, cells);
	return ctl_table_add(out->table, cells) == 0 ? AUT_OK : AUT_ERR_NOMEM;
}

static int
run_list(struct ctl *ctl, int argc, char **argv, enum ctl_kind k, const struct option *lo)
{
	struct object_args a = { 0 };
	struct list_out out = { .kind = k };
	unsigned long page;
	unsigned int page_size;
	uint64_t total = 0;
	enum aut_err err;
	int rc;

	if ((rc = ctl_parse_options(ctl, argc, argv, lo, object_option, &a)) >= 0)
		return rc;
	if (a.filter.tenant_id != NULL && (rc = ctl_check_lookup(ctl, "--tenant",
	    a.filter.tenant_id)) >= 0)
		return rc;
	if (a.filter.match != NULL && !ctl_valid_name(a.filter.match, 200))
		return ctl_usage(ctl, "bad --match: 1-200 characters of UTF-8 text, no control"
		    " characters");
	if ((rc = ctl_open(ctl)) != 0 ||
	    (rc = ctl_parse_paging(ctl, &a.paging, ctl->conf.page_size_max, &page,
	    &page_size)) >= 0)
		return rc;
	/* An unknown tenant is an error, not an empty list. */
	if (a.filter.tenant_id != NULL) {
		struct ctl_object t;
		bool found = false;

		err = ctl_dir_find(ctl->db, CTL_TENANT, a.filter.tenant_id, false, &found, &t);
		if (err != AUT_OK)
			return ctl_fail_err(ctl, err);
		if (!found)
			return ctl_fail(ctl, "no tenant '%s'", a.filter.tenant_id);
	}
	if (ctl->json ? (out.items = json_object_new_array()) == NULL :
	    (out.table = ctl_table_new(ncolumns[k], headers[k])) == NULL)
		return ctl_fail(ctl, "out of memory");
	err = ctl_dir_list(ctl->db, k, &a.filter, (uint64_t)(page - 1) * page_size, page_size,
	    &total, add_object, &out);
	if (err != AUT_OK) {
		json_object_put(out.items);
		ctl_table_free(out.table);
		return ctl_fail_err(ctl, err);
	}
	if (ctl->json)
		return ctl_print_list_json(out.items, page, page_size, total);
	ctl_table_print(out.table);
	ctl_table_free(out.table);
	ctl_print_list_footer(page, page_size, total, ctl_kinds[k].name, ctl_kinds[k].plural);
	return fflush(stdout) == 0 ? CTL_EXIT_OK : ctl_fail(ctl, "cannot print the result");
}

static int
run_show(struct ctl *ctl, int argc, char **argv, enum ctl_kind k)
{
	static const struct option longopts[] = {
		{ "id", required_argument, NULL, 'i' },
		CTL_COMMON_OPTIONS
	};
	struct object_args a = { 0 };
	struct ctl_object o;
	struct token_filters none = { .token_type = TOKEN_TYPE_ANY };
	uint64_t tokens = 0;
	bool found = false;
	enum aut_err err;
	int rc;

	if ((rc = ctl_parse_options(ctl, argc, argv, longopts, object_option, &a)) >= 0 ||
	    (rc = ctl_check_lookup(ctl, "--id", a.id)) >= 0 || (rc = ctl_open(ctl)) != 0)
		return rc;
	err = ctl_dir_find(ctl->db, k, a.id, false, &found, &o);
	if (err == AUT_OK && found && k == CTL_CLIENT)
		err = store_count_active(ctl->store, o.pk, &none, db_clock_now(), &tokens);
	if (err != AUT_OK)
		return ctl_fail_err(ctl, err);
	if (!found)
		return ctl_fail(ctl, "no %s '%s'", ctl_kinds[k].name, a.id);
	if (ctl->json) {
		json_object *j = ctl_object_json(k, &o);
		if (k == CTL_CLIENT)
			ctl_json_put(j, "active_tokens", json_object_new_int64((int64_t)tokens));
		return ctl_print_json(j);
	}

	const char *cells[MAX_COLUMNS + 1];
	const char *keys[MAX_COLUMNS + 1];
	char active[24];
	struct cell_bufs b;
	int n = ncolumns[k];

	object_cells(k, &o, &b, cells);
	for (int i = 0; i < n; i++)
		keys[i] = headers[k][i];
	if (k == CTL_CLIENT) {
		snprintf(active, sizeof(active), "%" PRIu64, tokens);
		keys[n] = "ACTIVE TOKENS";
		cells[n++] = active;
	}
	ctl_print_fields(n, keys, cells);
	return fflush(stdout) == 0 ? CTL_EXIT_OK : ctl_fail(ctl, "cannot print the result");
}

static int
run_tenant_list(struct ctl *ctl, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "match", required_argument, NULL, 'm' },
		{ "page", required_argument, NULL, 'p' },
		{ "page-size", required_argument, NULL, 'P' },
		CTL_COMMON_OPTIONS
	};

	return run_list(ctl, argc, argv, CTL_TENANT, longopts);
}

static int
run_user_list(struct ctl *ctl, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "tenant", required_argument, NULL, 't' },
		{ "match", required_argument, NULL, 'm' },
		{ "admin", no_argument, NULL, 'a' },
		{ "no-admin", no_argument, NULL, 'A' },
		{ "page", required_argument, NULL, 'p' },
		{ "page-size", required_argument, NULL, 'P' },
		CTL_COMMON_OPTIONS
	};

	return run_list(ctl, argc, argv, CTL_USER, longopts);
}

static int
run_client_list(struct ctl *ctl, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "tenant", required_argument, NULL, 't' },
		{ "match", required_argument, NULL, 'm' },
		{ "page", required_argument, NULL, 'p' },
		{ "page-size", required_argument, NULL, 'P' },
		CTL_COMMON_OPTIONS
	};

	return run_list(ctl, argc, argv, CTL_CLIENT, longopts);
}

static int
run_tenant_show(struct ctl *ctl, int argc, char **argv)
{
	return run_show(ctl, argc, argv, CTL_TENANT);
}

static int
run_user_show(struct ctl *ctl, int argc, char **argv)
{
	return run_show(ctl, argc, argv, CTL_USER);
}

static int
run_client_show(struct ctl *ctl, int argc, char **argv)
{
	return run_show(ctl, argc, argv, CTL_CLIENT);
}

#define PAGING_HELP \
	"--page N (default 1) and --page-size N (default 20, at most the\n" \
	"configuration's page_size_max) choose the page; the footer (or, with\n" \
	"--json, pagination and total) gives the exact total.\n"

const struct ctl_command ctl_cmd_tenant_list = {
	"tenant list", "[--match TEXT] [--page N] [--page-size N]",
	"List tenants in order of id, with how many users and clients each holds.\n"
	"--match: only tenants whose id or name contains TEXT (case-sensitive).\n"
	PAGING_HELP,
	run_tenant_list,
};

const struct ctl_command ctl_cmd_user_list = {
	"user list", "[--tenant TENANT_ID] [--match TEXT] [--admin | --no-admin]\n"
	"       [--page N] [--page-size N]",
	"List users in order of id.  --tenant: only that tenant's; --match: only\n"
	"ids containing TEXT (case-sensitive); --admin / --no-admin: only\n"
	"administrators / only other users.\n"
	PAGING_HELP,
	run_user_list,
};

const struct ctl_command ctl_cmd_client_list = {
	"client list", "[--tenant TENANT_ID] [--match TEXT] [--page N] [--page-size N]",
	"List OAuth clients in order of client_id.  --tenant: only that tenant's;\n"
	"--match: only clients whose client_id or name contains TEXT (case-sensitive).\n"
	PAGING_HELP,
	run_client_list,
};

const struct ctl_command ctl_cmd_tenant_show = {
	"tenant show", "--id TENANT_ID",
	"Show one tenant: its name, creation time (UTC) and how many users and\n"
	"clients it holds.  Exit 1 when there is no such tenant.\n",
	run_tenant_show,
};

const struct ctl_command ctl_cmd_user_show = {
	"user show", "--id USER_ID",
	"Show one user: its tenant, whether it is an administrator, its creation\n"
	"time (UTC).  Exit 1 when there is no such user.\n",
	run_user_show,
};

const struct ctl_command ctl_cmd_client_show = {
	"client show", "--id CLIENT_ID",
	"Show one OAuth client: its tenant, name, creation time (UTC) and the number\n"
	"of its active tokens (the API's exact total).  Exit 1 when there is no\n"
	"such client.\n",
	run_client_show,
};
