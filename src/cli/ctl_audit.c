/* ctl_audit.c: autionalctl audit: recent rows of the audit trail, newest first. */
#include <stdio.h>
#include <string.h>

#include "ctl.h"
#include "ctl_store.h"
#include "../core/text.h"
#include "../core/timefmt.h"

/* "2026-04-15T10:30:00.123456Z" and its NUL. */
#define OCCURRED_LEN (TIMEFMT_RFC3339_LEN + 7)

struct audit_args {
	struct ctl_audit_filter filter;
	const char *since;       /* --since, as given */
	const char *limit;       /* --limit, as given */
};

struct audit_out {
	bool json;
	json_object *rows;       /* --json: the array being filled */
	bool header;             /* text: the header line is out */
};

static const char header_line[] =
    "id\toccurred_at\ttenant_id\tactor\taction\tclient_id\taffected\tdry_run\t"
    "status\trequest_id\tfilters";

static int
audit_option(struct ctl *ctl, int c, const char *arg, void *ctx)
{
	struct audit_args *a = ctx;

	switch (c) {
	case 't': a->filter.tenant_id = arg; return -1;
	case 'C': a->filter.client_id = arg; return -1;
	case 'A': a->filter.action = arg; return -1;
	case 's': a->since = arg; return -1;
	case 'l': a->limit = arg; return -1;
	}
	return ctl_usage(ctl, "unknown option");
}

static int
format_occurred(const struct ctl_audit_event *ev, char out[OCCURRED_LEN])
{
	char base[TIMEFMT_RFC3339_LEN];

	if (timefmt_rfc3339_tm(&ev->occurred_at, base) != 0)
		return -1;
	/* "...:SS" + ".uuuuuu" + "Z" */
	snprintf(out, OCCURRED_LEN, "%.19s.%06luZ", base, ev->occurred_usec % 1000000);
	return 0;
}

static enum aut_err
print_row(void *ctx, const struct ctl_audit_event *ev)
{
	struct audit_out *out = ctx;
	char occurred[OCCURRED_LEN];

	if (format_occurred(ev, occurred) != 0)
		return AUT_ERR_INTERNAL;
	if (!out->json) {
		if (!out->header)
			puts(header_line);
		out->header = true;
		printf("%llu\t%s\t%s\t%s\t%s\t%s\t%llu\t%s\t%u\t%s\t%s\n",
		    (unsigned long long)ev->id, occurred, ev->tenant_id, ev->actor,
		    ev->action, ev->client_id, (unsigned long long)ev->affected,
		    ev->dry_run ? "true" : "false", ev->status,
		    ev->request_id[0] ? ev->request_id : "-", ev->filters[0] ? ev->filters : "{}");
		return AUT_OK;
	}

	json_object *o = json_object_new_object();
	/* filters holds a JSON object; anything else is shown as the string it is. */
	json_object *filters = ev->filters[0] ? json_tokener_parse(ev->filters)
	    : json_object_new_object();

	if (filters != NULL && !json_object_is_type(filters, json_type_object)) {
		json_object_put(filters);
		filters = NULL;
	}
	if (filters == NULL)
		filters = json_object_new_string(ev->filters);
	ctl_json_put(o, "id", json_object_new_int64((int64_t)ev->id));
	ctl_json_put(o, "occurred_at", json_object_new_string(occurred));
	ctl_json_put(o, "tenant_id", json_object_new_string(ev->tenant_id));
	ctl_json_put(o, "actor", json_object_new_string(ev->actor));
	ctl_json_put(o, "action", json_object_new_string(ev->action));
	ctl_json_put(o, "client_id", json_object_new_string(ev->client_id));
	ctl_json_put(o, "filters", filters);
	ctl_json_put(o, "affected", json_object_new_int64((int64_t)ev->affected));
	ctl_json_put(o, "dry_run", json_object_new_boolean(ev->dry_run));
	ctl_json_put(o, "request_id", json_object_new_string(ev->request_id));
	ctl_json_put(o, "status", json_object_new_int((int)ev->status));
	if (o == NULL || json_object_array_add(out->rows, o) != 0) {
		json_object_put(o);
		return AUT_ERR_NOMEM;
	}
	return AUT_OK;
}

static int
run_audit(struct ctl *ctl, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "tenant", required_argument, NULL, 't' },
		{ "client", required_argument, NULL, 'C' },
		{ "action", required_argument, NULL, 'A' },
		{ "since", required_argument, NULL, 's' },
		{ "limit", required_argument, NULL, 'l' },
		CTL_COMMON_OPTIONS
	};
	struct audit_args a = { .filter = { .limit = 50 } };
	struct audit_out out = { 0 };
	struct ctl_audit_filter *f = &a.filter;
	uint64_t limit;
	enum aut_err err;
	int rc;

	if ((rc = ctl_parse_options(ctl, argc, argv, longopts, audit_option, &a)) >= 0)
		return rc;
	if (f->tenant_id != NULL && !ctl_valid_id(f->tenant_id))
		return ctl_usage(ctl, "bad --tenant '%s': use 1-64 of A-Z a-z 0-9 _ . -", f->tenant_id);
	if (f->client_id != NULL && !ctl_valid_id(f->client_id))
		return ctl_usage(ctl, "bad --client '%s': use 1-64 of A-Z a-z 0-9 _ . -", f->client_id);
	if (f->action != NULL && !ctl_valid_action(f->action))
		return ctl_usage(ctl, "bad --action '%s': e.g. tokens.list, tokens.revoke, token.revoke",
		    f->action);
	if (a.since != NULL) {
		if (ctl_parse_utc(a.since, &f->since) != 0)
			return ctl_usage(ctl, "bad --since '%s': YYYY-MM-DDTHH:MM:SSZ or YYYY-MM-DD (UTC)",
			    a.since);
		f->has_since = true;
	}
	if (a.limit != NULL) {
		if (text_parse_decimal(a.limit, strlen(a.limit), 1, 10000, &limit) != 0)
			return ctl_usage(ctl, "bad --limit '%s': 1..10000", a.limit);
		f->limit = (unsigned int)limit;
	}
	if ((rc = ctl_open(ctl)) != 0)
		return rc;

	out.json = ctl->json;
	if (out.json && (out.rows = json_object_new_array()) == NULL)
		return ctl_fail(ctl, "out of memory");
	err = ctl_store_audit_list(ctl->cst, f, print_row, &out);
	if (err != AUT_OK) {
		json_object_put(out.rows);
		return ctl_fail_err(ctl, err);
	}
	if (out.json)
		return ctl_print_json(out.rows);
	if (!out.header)
		puts(header_line);
	return fflush(stdout) == 0 ? CTL_EXIT_OK : ctl_fail(ctl, "cannot print the result");
}

const struct ctl_command ctl_cmd_audit = {
	"audit",
	"[--tenant TENANT_ID] [--client CLIENT_ID] [--action ACTION]\n"
	"       [--since TIME] [--limit N]",
	"Print recent rows of the audit trail, newest first: who listed or revoked\n"
	"which client's tokens, when, with which filters, and how many tokens it\n"
	"affected.  Filters combine.  --action: the API's tokens.list, tokens.revoke,\n"
	"token.revoke; the command line's tenant.update, user.update, client.update,\n"
	"tenant.delete, user.delete, client.delete.\n"
	"--since: YYYY-MM-DDTHH:MM:SSZ or YYYY-MM-DD (UTC), inclusive.\n"
	"--limit: 1..10000 rows (default 50).\n"
	"Text output: a header line, then one tab-separated line per row.\n",
	run_audit,
};
