/* ctl_create.c: autionalctl tenant create, user create, client create. */
#include <string.h>

#include "ctl.h"
#include "ctl_store.h"

enum kind { K_TENANT, K_USER, K_CLIENT };
static const char *const kind_name[] = { "tenant", "user", "client" };

/* What the three commands read from their options. */
struct create_args {
	const char *id;         /* --id */
	const char *tenant;     /* --tenant */
	const char *name;       /* --name */
	bool admin;             /* --admin */
};

static int
create_option(struct ctl *ctl, int c, const char *arg, void *ctx)
{
	struct create_args *a = ctx;

	switch (c) {
	case 'i': a->id = arg; return -1;
	case 't': a->tenant = arg; return -1;
	case 'n': a->name = arg; return -1;
	case 'a': a->admin = true; return -1;
	}
	return ctl_usage(ctl, "unknown option");
}

/* Check --id (and --tenant when wanted); -1 when valid, else the exit status. */
static int
check_ids(struct ctl *ctl, const struct create_args *a, bool want_tenant)
{
	int rc = ctl_check_id(ctl, "--id", a->id);

	if (rc < 0 && want_tenant)
		rc = ctl_check_id(ctl, "--tenant", a->tenant);
	return rc;
}

/* Report the outcome; `what` is "tenant", "user" or "client". */
static int
finish(struct ctl *ctl, enum aut_err err, enum ctl_created made, const char *what,
    const struct create_args *a)
{
	if (err != AUT_OK)
		return ctl_fail_err(ctl, err);
	if (made == CTL_NO_TENANT)
		return ctl_fail(ctl, "no tenant '%s'", a->tenant);
	if (made == CTL_EXISTS)
		return ctl_fail(ctl, "%s '%s' exists already; nothing was changed", what, a->id);
	if (ctl->json) {
		json_object *o = json_object_new_object();
		ctl_json_put(o, strcmp(what, "client") == 0 ? "client_id" : "id",
		    json_object_new_string(a->id));
		if (a->tenant != NULL)
			ctl_json_put(o, "tenant_id", json_object_new_string(a->tenant));
		if (a->name != NULL || strcmp(what, "client") == 0)
			ctl_json_put(o, "name", json_object_new_string(a->name ? a->name : ""));
		if (strcmp(what, "user") == 0)
			ctl_json_put(o, "is_admin", json_object_new_boolean(a->admin));
		ctl_json_put(o, "created", json_object_new_boolean(1));
		return ctl_print_json(o);
	}
	if (a->tenant != NULL)
		printf("created %s%s %s in tenant %s\n", what,
		    a->admin ? " (administrator)" : "", a->id, a->tenant);
	else
		printf("created %s %s\n", what, a->id);
	return CTL_EXIT_OK;
}

/* The three commands differ in their options and the row they insert. */
static int
create(struct ctl *ctl, int argc, char **argv, enum kind k, const struct option *longopts)
{
	struct create_args a = { 0 };
	enum ctl_created made = CTL_EXISTS;
	enum aut_err err;
	int rc;

	if ((rc = ctl_parse_options(ctl, argc, argv, longopts, create_option, &a)) >= 0 ||
	    (rc = check_ids(ctl, &a, k != K_TENANT)) >= 0)
		return rc;
	if (k == K_TENANT && a.name == NULL)
		return ctl_usage(ctl, "--name is required");
	/* A client's name may be empty; a tenant's may not. */
	if (a.name != NULL && (k == K_TENANT || a.name[0] != '\0') &&
	    !ctl_valid_name(a.name, 200))
		return ctl_usage(ctl, "bad --name: %s200 characters of UTF-8 text, no control"
		    " characters", k == K_TENANT ? "1-" : "up to ");
	if ((rc = ctl_open(ctl)) != 0)
		return rc;
	switch (k) {
	case K_TENANT:
		err = ctl_store_tenant_create(ctl->cst, a.id, a.name, &made);
		break;
	case K_USER:
		err = ctl_store_user_create(ctl->cst, a.tenant, a.id, a.admin, &made);
		break;
	case K_CLIENT:
	default:
		err = ctl_store_client_create(ctl->cst, a.tenant, a.id, a.name ? a.name : "",
		    &made);
		break;
	}
	return finish(ctl, err, made, kind_name[k], &a);
}

static int
run_tenant_create(struct ctl *ctl, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "id", required_argument, NULL, 'i' },
		{ "name", required_argument, NULL, 'n' },
		CTL_COMMON_OPTIONS
	};

	return create(ctl, argc, argv, K_TENANT, longopts);
}

static int
run_user_create(struct ctl *ctl, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "id", required_argument, NULL, 'i' },
		{ "tenant", required_argument, NULL, 't' },
		{ "admin", no_argument, NULL, 'a' },
		CTL_COMMON_OPTIONS
	};

	return create(ctl, argc, argv, K_USER, longopts);
}

static int
run_client_create(struct ctl *ctl, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "id", required_argument, NULL, 'i' },
		{ "tenant", required_argument, NULL, 't' },
		{ "name", required_argument, NULL, 'n' },
		CTL_COMMON_OPTIONS
	};

	return create(ctl, argc, argv, K_CLIENT, longopts);
}

const struct ctl_command ctl_cmd_tenant_create = {
	"tenant create", "--id TENANT_ID --name NAME",
	"Create a tenant.  TENANT_ID is its public id (1-64 of A-Z a-z 0-9 _ . -,\n"
	"e.g. ten_acme); NAME is free text (1-200 characters).  Fails when the id\n"
	"exists already.\n",
	run_tenant_create,
};

const struct ctl_command ctl_cmd_user_create = {
	"user create", "--tenant TENANT_ID --id USER_ID [--admin]",
	"Create a user in a tenant.  USER_ID is its public id (shown as user_id),\n"
	"unique across tenants.  --admin makes it an administrator of its tenant:\n"
	"its access tokens may then use the admin API.\n",
	run_user_create,
};

const struct ctl_command ctl_cmd_client_create = {
	"client create", "--tenant TENANT_ID --id CLIENT_ID [--name NAME]",
	"Create an OAuth client in a tenant.  CLIENT_ID is its public client_id,\n"
	"unique across tenants; NAME is free text (up to 200 characters).\n",
	run_client_create,
};
