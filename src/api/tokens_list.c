/* tokens_list.c: GET /admin/oauth/clients/{client_id}/tokens, with its read audit. */
#define _DEFAULT_SOURCE        /* timegm */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../core/log.h"
#include "../core/text.h"

#include "endpoint.h"
#include "paging.h"
#include "render.h"

enum aut_err
tokens_list_parse(struct call *call)
{
	return params_parse_list(call->req->query, call->conf->page_size_max,
	    &call->params.list, call->message, sizeof(call->message));
}

/* A page being read: rows go straight from the store into the JSON being built. */
struct page_reader {
	struct render_list *list;
	unsigned int want;               /* page_size: rows to show */
	unsigned int seen;               /* rows the store handed over (want + 1 = more) */
	struct cursor_position last;     /* of the last row shown */
};

static enum aut_err
add_row(void *ctx, const struct token_row *row)
{
	struct page_reader *pr = ctx;
	struct tm created = row->created_at;

	if (++pr->seen > pr->want)
		return AUT_OK;              /* the look-ahead row: there is a next page */
	pr->last.created_at = (int64_t)timegm(&created);
	pr->last.id = row->pk;
	return render_list_add(pr->list, row);
}

/* The scope a cursor is bound to: this client and these filters. */
static struct cursor_scope
scope_of(const struct call *call)
{
	const struct list_params *lp = &call->params.list;

	return (struct cursor_scope){ .client_pk = call->authz.client_pk,
	    .user_id = lp->filters.user_id, .token_type = (int)lp->filters.token_type };
}

/*
 * The next page's cursor, in the body (next_cursor) and as the Link header's
 * URI reference: this path with the cursor, page_size and the filters.
 */
static enum aut_err
next_page(struct call *call, const unsigned char key[CURSOR_KEY_BYTES],
    const struct cursor_position *last, char cursor[CURSOR_TEXT_MAX])
{
	const struct list_params *lp = &call->params.list;
	struct cursor_scope scope = scope_of(call);
	const char *type = token_type_name(lp->filters.token_type);
	char client[3 * ROUTE_CLIENT_ID_MAX + 1];
	size_t size;

	if (cursor_encode(key, &scope, last, cursor) != 0) {
		log_error("page cursor: HMAC-SHA-256 failed");
		return AUT_ERR_INTERNAL;
	}
	if (text_percent_encode(call->client_id, strlen(call->client_id), client,
	    sizeof(client)) < 0)
		return AUT_ERR_INTERNAL;
	size = strlen(client) + 256;
	call->resp->link_next = malloc(size);
	if (call->resp->link_next == NULL)
		return AUT_ERR_NOMEM;
	snprintf(call->resp->link_next, size,
	    "/admin/oauth/clients/%s/tokens?cursor=%s&page_size=%u%s%s%s%s", client, cursor,
	    lp->page_size, lp->filters.user_id[0] ? "&user_id=" : "", lp->filters.user_id,
	    type ? "&token_type=" : "", type ? type : "");
	return AUT_OK;
}

/*
 * Who looked at which client's tokens.  Queued (store.h says how it is
 * written); a failure to write a full batch fails the request that filled it.
 */
static enum aut_err
audit_read(struct call *call, uint64_t total)
{
	char *filters = NULL;
	enum aut_err err;

	if (!call->conf->audit_reads)
		return AUT_OK;
	err = render_filters(&call->params.list.filters, &filters);
	if (err == AUT_OK) {
		struct audit_entry a = {
			.tenant_id = call->authz.who.tenant_id,
			.actor = call->authz.who.user_id,
			.action = "tokens.list",
			.client_id = call->client_id,
			.filters_json = filters,
			.affected = total,
			.request_id = call->req->request_id,
			.client_request_id = call->req->client_request_id,
			.status = 200,
		};
		err = store_audit_queue(call->st, &a);
	}
	free(filters);
	return err;
}

/*
 * A page by number (offset paging, as the contract defines it) or after a
 * cursor (keyset paging: the same cost at any depth).  Either way the total
 * is exact and the answer carries the cursor of the page after it.
 */
enum aut_err
tokens_list_run(struct call *call)
{
	const struct list_params *lp = &call->params.list;
	bool by_cursor = lp->cursor[0] != '\0';
	struct page_reader pr = { .want = lp->page_size };
	struct cursor_position after;
	struct cursor_scope scope = scope_of(call);
	unsigned char key[CURSOR_KEY_BYTES];
	char next[CURSOR_TEXT_MAX];
	uint64_t total = 0;
	struct paging pg;
	bool more;
	enum aut_err err;

	err = store_cursor_key(call->st, key);
	if (err != AUT_OK)
		return err;
	if (by_cursor && cursor_decode(key, &scope, lp->cursor, strlen(lp->cursor), &after) != 0) {
		snprintf(call->message, sizeof(call->message), "cursor is not valid for this "
		    "client and these filters: pass next_cursor unchanged, with the same filters");
		return AUT_ERR_BAD_PARAM;
	}
	err = render_list_new(&pr.list);
	/* One row more than the page shows, to know whether another page follows. */
	if (err == AUT_OK && by_cursor)
		err = store_list_after(call->st, call->authz.client_pk, &lp->filters,
		    call->now, &after, lp->page_size + 1, &total, add_row, &pr);
	else if (err == AUT_OK)
		err = store_list_page(call->st, call->authz.client_pk, &lp->filters,
		    call->now, (uint64_t)(lp->page - 1) * lp->page_size, lp->page_size + 1,
		    &total, add_row, &pr);
	if (err == AUT_OK)
		err = audit_read(call, total);
	more = pr.seen > pr.want;
	if (err == AUT_OK && more)
		err = next_page(call, key, &pr.last, next);
	if (err != AUT_OK) {
		render_list_free(pr.list);
		return err;
	}
	if (by_cursor) {
		paging_compute(1, lp->page_size, total, &pg);
		pg.page = 0;                      /* a cursor page has no number */
		pg.has_prev = true;
		pg.has_next = more;
	} else {
		paging_compute(lp->page, lp->page_size, total, &pg);
	}
	return render_list_finish(pr.list, &pg, more ? next : NULL, call->now,
	    &call->resp->body, &call->resp->body_len);
}
