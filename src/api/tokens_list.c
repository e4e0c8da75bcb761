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

/* The scope a cursor is bound to: the client client_pk and these filters. */
static struct cursor_scope
scope_of(const struct call *call, uint64_t client_pk)
{
	const struct list_params *lp = &call->params.list;

	return (struct cursor_scope){ .client_pk = client_pk,
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
	struct cursor_scope scope = scope_of(call, call->authz.client_pk);
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

/* A list request's page: its reader, and the cursor key and position. */
struct list_page {
	struct page_reader pr;
	unsigned char key[CURSOR_KEY_BYTES];
	bool by_cursor;
	struct cursor_position after;       /* when by_cursor */
	uint64_t total;
};

/*
 * The cursor key, the reader, and the position of a cursor page, decoded for
 * scope's client.  A cursor that does not decode: AUT_ERR_BAD_PARAM with the
 * message.
 */
static enum aut_err
list_begin(struct call *call, const struct cursor_scope *scope, struct list_page *lp)
{
	const struct list_params *q = &call->params.list;
	enum aut_err err;

	memset(lp, 0, sizeof(*lp));
	lp->pr.want = q->page_size;
	lp->by_cursor = q->cursor[0] != '\0';
	err = store_cursor_key(call->st, lp->key);
	if (err != AUT_OK)
		return err;
	if (lp->by_cursor) {
		int bad = cursor_decode(lp->key, scope, q->cursor, strlen(q->cursor), &lp->after);

		if (bad == -2) {
			log_error("page cursor: HMAC-SHA-256 failed");
			return AUT_ERR_INTERNAL;
		}
		if (bad != 0) {
			snprintf(call->message, sizeof(call->message), "cursor is not valid for "
			    "this client and these filters: pass next_cursor unchanged, with the "
			    "same filters");
			return AUT_ERR_BAD_PARAM;
		}
	}
	return render_list_new(&lp->pr.list);
}

/* The rows are in: audit, the next page's cursor, the body. */
static enum aut_err
list_finish(struct call *call, struct list_page *lp)
{
	const struct list_params *q = &call->params.list;
	bool more = lp->pr.seen > lp->pr.want;
	char next[CURSOR_TEXT_MAX];
	struct paging pg;
	enum aut_err err;

	err = audit_read(call, lp->total);
	if (err == AUT_OK && more)
		err = next_page(call, lp->key, &lp->pr.last, next);
	if (err != AUT_OK) {
		render_list_free(lp->pr.list);
		return err;
	}
	if (lp->by_cursor) {
		paging_compute(1, q->page_size, lp->total, &pg);
		pg.page = 0;                      /* a cursor page has no number */
		pg.has_prev = true;
		pg.has_next = more;
	} else {
		paging_compute(q->page, q->page_size, lp->total, &pg);
	}
	return render_list_finish(lp->pr.list, &pg, more ? next : NULL, call->now,
	    &call->resp->body, &call->resp->body_len);
}

/* The offset of a numbered page. */
static uint64_t
page_offset(const struct list_params *q)
{
	return (uint64_t)(q->page - 1) * q->page_size;
}

/*
 * A page by number (offset paging, as the contract defines it) or after a
 * cursor (keyset paging: the same cost at any depth).  Either way the total
 * is exact and the answer carries the cursor of the page after it.  The
 * caller has been authorized (call->authz).
 */
enum aut_err
tokens_list_run(struct call *call)
{
	const struct list_params *q = &call->params.list;
	struct cursor_scope scope = scope_of(call, call->authz.client_pk);
	struct list_page lp;
	enum aut_err err;

	err = list_begin(call, &scope, &lp);
	if (err != AUT_OK)
		return err;
	/* One row more than the page shows, to know whether another page follows. */
	if (lp.by_cursor)
		err = store_list_after(call->st, call->authz.client_pk, &q->filters, call->now,
		    &lp.after, q->page_size + 1, &lp.total, add_row, &lp.pr);
	else
		err = store_list_page(call->st, call->authz.client_pk, &q->filters, call->now,
		    page_offset(q), q->page_size + 1, &lp.total, add_row, &lp.pr);
	if (err != AUT_OK) {
		render_list_free(lp.pr.list);
		return err;
	}
	return list_finish(call, &lp);
}

/*
 * The list and its authorization in one round trip, for a client this worker
 * has listed before (store_list_authorized).  *served false: nothing was
 * answered (or changed), and the request goes the usual way: authorization,
 * then tokens_list_run, which also reports its errors in the contract's order.
 */
enum aut_err
tokens_list_try_authorized(struct call *call, const unsigned char hash[32], bool *served)
{
	const struct list_params *q = &call->params.list;
	struct cursor_scope scope;
	struct list_page lp;
	uint64_t client_pk;
	enum aut_err err;

	*served = false;
	if (!store_known_client(call->st, call->client_id, &client_pk))
		return AUT_OK;
	scope = scope_of(call, client_pk);
	if (list_begin(call, &scope, &lp) != AUT_OK) {
		call->message[0] = '\0';          /* reported, if at all, the usual way */
		return AUT_OK;
	}
	err = store_list_authorized(call->st, hash, call->client_id, client_pk, &q->filters,
	    call->now, page_offset(q), lp.by_cursor ? &lp.after : NULL, q->page_size + 1,
	    &call->authz, &lp.total, add_row, &lp.pr, served);
	if (err != AUT_OK || !*served) {
		render_list_free(lp.pr.list);
		return err;
	}
	return list_finish(call, &lp);
}
