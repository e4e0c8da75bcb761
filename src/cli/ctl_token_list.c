/* ctl_token_list.c: autionalctl token list and token show: a client's tokens, as the API lists them. */
#define _DEFAULT_SOURCE        /* timegm */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../api/render.h"
#include "ctl.h"
#include "ctl_directory.h"
#include "ctl_object.h"
#include "../core/cursor.h"
#include "../core/timefmt.h"
#include "../core/tokenid.h"

/* What token list and token show read from their options. */
struct list_args {
	const char *client;                 /* --client */
	const char *user;                   /* --user */
	const char *type;                   /* --type */
	const char *cursor;                 /* --cursor */
	const char *id;                     /* --id (show) */
	struct ctl_paging_args paging;
};

static int
list_option(struct ctl *ctl, int c, const char *arg, void *ctx)
{
	struct list_args *a = ctx;

	switch (c) {
	case 'C': a->client = arg; return -1;
	case 'u': a->user = arg; return -1;
	case 'T': a->type = arg; return -1;
	case 'k': a->cursor = arg; return -1;
	case 'i': a->id = arg; return -1;
	case 'p': a->paging.page = arg; return -1;
	case 'P': a->paging.page_size = arg; return -1;
	}
	return ctl_usage(ctl, "unknown option");
}

/* A page being read: every row into the API's JSON, or into a table. */
struct page_reader {
	struct render_list *json;
	struct ctl_table *table;
	unsigned int want;                  /* page size: rows to show */
	unsigned int seen;                  /* rows handed over (want + 1: a next page) */
	struct cursor_position last;        /* of the last row shown */
};

static const char *const header[] = {
	"ID", "TYPE", "USER", "CREATED (UTC)", "EXPIRES (UTC)", "SCOPE"
};

static enum aut_err
add_row(void *ctx, const struct token_row *row)
{
	struct page_reader *pr = ctx;
	struct tm created = row->created_at;
	char id[TOKEN_ID_TEXT_LEN], made[TIMEFMT_RFC3339_LEN], expires[TIMEFMT_RFC3339_LEN];
	const char *cells[6] = { id, row->token_type, row->user_id, made, expires, row->scope };

	if (++pr->seen > pr->want)
		return AUT_OK;                  /* the look-ahead row */
	pr->last.created_at = (int64_t)timegm(&created);
	pr->last.id = row->pk;
	if (pr->json != NULL)
		return render_list_add(pr->json, row);
	token_id_format(row->public_id, id);
	if (timefmt_rfc3339_tm(&row->created_at, made) != 0 ||
	    timefmt_rfc3339_tm(&row->expires_at, expires) != 0)
		return AUT_ERR_INTERNAL;
	if (row->scope[0] == '\0')
		cells[5] = NULL;
	return ctl_table_add(pr->table, cells) == 0 ? AUT_OK : AUT_ERR_NOMEM;
}

/* Check --client, --user and --type, and fill the filters; -1 when valid. */
static int
check_filters(struct ctl *ctl, const struct list_args *a, struct token_filters *f)
{
	int rc;

	if ((rc = ctl_check_lookup(ctl, "--client", a->client)) >= 0)
		return rc;
	return ctl_token_filters(ctl, a->user, a->type, f);
}

/* The client, by public id; -1 when found, else the exit status. */
static int
find_client(struct ctl *ctl, const char *client_id, struct ctl_object *c)
{
	bool found = false;
	enum aut_err err = ctl_dir_find(ctl->db, CTL_CLIENT, client_id, false, &found, c);

	if (err != AUT_OK)
		return ctl_fail_err(ctl, err);
	return found ? -1 : ctl_fail(ctl, "no client '%s'", client_id);
}

/* Who listed which client's tokens, as the API audits its reads. */
static enum aut_err
audit_read(struct ctl *ctl, const struct ctl_object *c, const struct token_filters *f,
    uint64_t total)
{
	char actor[CTL_ACTOR_MAX + 1], *filters = NULL;
	enum aut_err err;

	if (!ctl->conf.audit_reads)
		return AUT_OK;
	ctl_actor(actor);
	if ((err = render_filters(f, &filters)) != AUT_OK)
		return err;
	struct audit_entry e = {
		.tenant_id = c->tenant_id, .actor = actor, .action = "tokens.list",
		.client_id = c->id, .filters_json = filters, .affected = total,
		.request_id = "", .status = 0,
	};
	err = store_audit_write(ctl->store, &e);
	free(filters);
	return err;
}

/* Print the page: the API's JSON, or the table, its footer and the next cursor. */
static int
print_page(struct ctl *ctl, struct page_reader *pr, const struct paging *pg,
    const char *next)
{
	char *body = NULL;
	size_t len = 0;
	enum aut_err err;

	if (pr->json != NULL) {
		err = render_list_finish(pr->json, pg, next, db_clock_now(), &body, &len);
		pr->json = NULL;
		if (err != AUT_OK)
			return ctl_fail_err(ctl, err);
		int ok = fwrite(body, 1, len, stdout) == len && putchar('\n') != EOF;
		free(body);
		return ok && fflush(stdout) == 0 ? CTL_EXIT_OK : ctl_fail(ctl, "cannot print");
	}
	ctl_table_print(pr->table);
	if (pg->page > 0)
		ctl_print_list_footer(pg->page, pg->page_size, pg->total, "active token",
		    "active tokens");
	else
		printf("%" PRIu64 " active token%s in all\n", pg->total, pg->total == 1 ? "" : "s");
	if (next != NULL)
		printf("next page: --cursor %s\n", next);
	return fflush(stdout) == 0 ? CTL_EXIT_OK : ctl_fail(ctl, "cannot print the result");
}

static int
list_page(struct ctl *ctl, const struct list_args *a, const struct token_filters *f,
    struct page_reader *pr)
{
	struct ctl_object c;
	struct cursor_scope scope;
	struct cursor_position after;
	unsigned char key[CURSOR_KEY_BYTES];
	char next[CURSOR_TEXT_MAX];
	unsigned long page;
	uint64_t total = 0;
	struct paging pg;
	time_t now = db_clock_now();
	enum aut_err err;
	int rc;

	if ((rc = ctl_parse_paging(ctl, &a->paging, ctl->conf.page_size_max, &page,
	    &pr->want)) >= 0 || (rc = find_client(ctl, a->client, &c)) >= 0)
		return rc;
	scope = (struct cursor_scope){ .client_pk = c.pk, .user_id = f->user_id,
	    .token_type = (int)f->token_type };
	if ((err = store_cursor_key(ctl->store, key)) != AUT_OK)
		return ctl_fail_err(ctl, err);
	if (a->cursor != NULL &&
	    (rc = cursor_decode(key, &scope, a->cursor, strlen(a->cursor), &after)) == -2)
		return ctl_fail(ctl, "page cursor: HMAC-SHA-256 failed (OpenSSL)");
	if (a->cursor != NULL && rc != 0)
		return ctl_usage(ctl, "bad --cursor: not valid for this client and these filters"
		    " (pass next_cursor unchanged, with the same filters)");
	/* One row more than the page shows, to know whether another page follows. */
	if (a->cursor != NULL)
		err = store_list_after(ctl->store, c.pk, f, now, &after, pr->want + 1, &total,
		    add_row, pr);
	else
		err = store_list_page(ctl->store, c.pk, f, now, (uint64_t)(page - 1) * pr->want,
		    pr->want + 1, &total, add_row, pr);
	if (err == AUT_OK)
		err = audit_read(ctl, &c, f, total);
	if (err != AUT_OK)
		return ctl_fail_err(ctl, err);
	if (pr->seen > pr->want && cursor_encode(key, &scope, &pr->last, next) != 0)
		return ctl_fail(ctl, "page cursor: HMAC-SHA-256 failed (OpenSSL)");
	paging_compute(a->cursor ? 1 : page, pr->want, total, &pg);
	if (a->cursor != NULL) {
		pg.page = 0;                    /* a cursor page has no number */
		pg.has_prev = true;
		pg.has_next = pr->seen > pr->want;
	}
	return print_page(ctl, pr, &pg, pr->seen > pr->want ? next : NULL);
}

static int
run_token_list(struct ctl *ctl, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "client", required_argument, NULL, 'C' },
		{ "user", required_argument, NULL, 'u' },
		{ "type", required_argument, NULL, 'T' },
		{ "page", required_argument, NULL, 'p' },
		{ "page-size", required_argument, NULL, 'P' },
		{ "cursor", required_argument, NULL, 'k' },
		CTL_COMMON_OPTIONS
	};
	struct list_args a = { 0 };
	struct token_filters f;
	struct page_reader pr = { 0 };
	enum aut_err err = AUT_OK;
	int rc;

	if ((rc = ctl_parse_options(ctl, argc, argv, longopts, list_option, &a)) >= 0 ||
	    (rc = check_filters(ctl, &a, &f)) >= 0)
		return rc;
	if (a.cursor != NULL && a.paging.page != NULL)
		return ctl_usage(ctl, "--cursor and --page do not go together");
	if ((rc = ctl_open(ctl)) != 0)
		return rc;
	if (ctl->json)
		err = render_list_new(&pr.json);
	else if ((pr.table = ctl_table_new(6, header)) == NULL)
		err = AUT_ERR_NOMEM;
	rc = err == AUT_OK ? list_page(ctl, &a, &f, &pr) : ctl_fail_err(ctl, err);
	render_list_free(pr.json);
	ctl_table_free(pr.table);
	return rc;
}

static int
print_token(struct ctl *ctl, const struct ctl_object *c, const char *id,
    const struct ctl_token *t)
{
	char made[TIMEFMT_RFC3339_LEN], expires[TIMEFMT_RFC3339_LEN];
	char revoked[TIMEFMT_RFC3339_LEN] = "-";
	const char *state = t->revoked ? "revoked" : t->expires <= db_clock_now() ? "expired" : "active";

	if (timefmt_rfc3339_tm(&t->created_at, made) != 0 ||
	    timefmt_rfc3339_tm(&t->expires_at, expires) != 0 ||
	    (t->revoked && timefmt_rfc3339_tm(&t->revoked_at, revoked) != 0))
		return ctl_fail(ctl, "cannot format a time");
	if (ctl->json) {
		json_object *o = json_object_new_object();
		ctl_json_put(o, "id", json_object_new_string(id));
		ctl_json_put(o, "client_id", json_object_new_string(c->id));
		ctl_json_put(o, "tenant_id", json_object_new_string(c->tenant_id));
		if (t->has_user)
			ctl_json_put(o, "user_id", json_object_new_string(t->user_id));
		else if (o != NULL)
			json_object_object_add(o, "user_id", NULL);
		ctl_json_put(o, "token_type", json_object_new_string(t->token_type));
		ctl_json_put(o, "scope", json_object_new_string(t->scope));
		ctl_json_put(o, "created_at", json_object_new_string(made));
		ctl_json_put(o, "expires_at", json_object_new_string(expires));
		if (t->revoked)
			ctl_json_put(o, "revoked_at", json_object_new_string(revoked));
		else if (o != NULL)
			json_object_object_add(o, "revoked_at", NULL);
		ctl_json_put(o, "state", json_object_new_string(state));
		return ctl_print_json(o);
	}
	const char *keys[] = { "ID", "CLIENT_ID", "TENANT", "USER", "TYPE", "SCOPE",
	    "CREATED (UTC)", "EXPIRES (UTC)", "REVOKED (UTC)", "STATE" };
	const char *values[] = { id, c->id, c->tenant_id, t->has_user ? t->user_id : NULL,
	    t->token_type, t->scope[0] ? t->scope : NULL, made, expires, revoked, state };
	ctl_print_fields(10, keys, values);
	return fflush(stdout) == 0 ? CTL_EXIT_OK : ctl_fail(ctl, "cannot print the result");
}

static int
run_token_show(struct ctl *ctl, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "client", required_argument, NULL, 'C' },
		{ "id", required_argument, NULL, 'i' },
		CTL_COMMON_OPTIONS
	};
	struct list_args a = { 0 };
	struct ctl_object c;
	struct ctl_token t;
	unsigned char id[TOKEN_ID_BYTES];
	char canonical[TOKEN_ID_TEXT_LEN];
	bool found = false;
	enum aut_err err;
	int rc;

	if ((rc = ctl_parse_options(ctl, argc, argv, longopts, list_option, &a)) >= 0 ||
	    (rc = ctl_check_lookup(ctl, "--client", a.client)) >= 0)
		return rc;
	if (a.id == NULL)
		return ctl_usage(ctl, "--id is required");
	if (token_id_parse(a.id, strlen(a.id), id) != 0)
		return ctl_usage(ctl, "bad --id '%s': tok_ and 32 hex digits", a.id);
	token_id_format(id, canonical);
	if ((rc = ctl_open(ctl)) != 0 || (rc = find_client(ctl, a.client, &c)) >= 0)
		return rc;
	err = ctl_dir_token(ctl->db, c.pk, id, &found, &t);
	if (err != AUT_OK)
		return ctl_fail_err(ctl, err);
	if (!found)
		return ctl_fail(ctl, "client '%s' has no token '%s'", a.client, canonical);
	return print_token(ctl, &c, canonical, &t);
}

const struct ctl_command ctl_cmd_token_list = {
	"token list",
	"--client CLIENT_ID [--user USER_ID] [--type access_token|refresh_token]\n"
	"       [--page-size N] [--page N | --cursor CURSOR]",
	"List a client's active tokens exactly as the API's GET\n"
	"/admin/oauth/clients/{client_id}/tokens does: newest first (created_at,\n"
	"then id), the same filters, the exact total, pages by number (--page,\n"
	"--page-size: default 20, at most page_size_max) or after a cursor\n"
	"(--cursor: the next_cursor of the page before, with the same filters and\n"
	"page size).  Cursors are the API's: one from either works in the other.\n"
	"With --json the output is the API's list body.  Like the API's reads it is\n"
	"audited (tokens.list) when the configuration's audit_reads is on.\n",
	run_token_list,
};

const struct ctl_command ctl_cmd_token_show = {
	"token show", "--client CLIENT_ID --id TOKEN_ID",
	"Show one token of a client by its public id: type, user, scope, when it\n"
	"was created, expires and was revoked (UTC), and its state (active,\n"
	"expired or revoked).  Never its text or hash.  Exit 1 when the client has\n"
	"no such token.\n",
	run_token_show,
};
