/* tokens_list.c: GET /admin/oauth/clients/{client_id}/tokens, with its read audit. */
#include <stdlib.h>

#include "endpoint.h"
#include "paging.h"
#include "render.h"

enum aut_err
tokens_list_parse(struct call *call)
{
	return params_parse_list(call->req->query, call->conf->page_size_max,
	    &call->params.list, call->message, sizeof(call->message));
}

/* Page rows go straight from the store into the JSON being built. */
static enum aut_err
add_row(void *ctx, const struct token_row *row)
{
	return render_list_add(ctx, row);
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
			.status = 200,
		};
		err = store_audit_queue(call->st, &a);
	}
	free(filters);
	return err;
}

enum aut_err
tokens_list_run(struct call *call)
{
	const struct list_params *lp = &call->params.list;
	uint64_t offset = (uint64_t)(lp->page - 1) * lp->page_size, total = 0;
	struct render_list *list = NULL;
	struct paging pg;
	enum aut_err err;

	err = render_list_new(&list);
	if (err == AUT_OK)
		err = store_list_page(call->st, call->authz.client_pk, &lp->filters,
		    call->now, offset, lp->page_size, &total, add_row, list);
	if (err == AUT_OK)
		err = audit_read(call, total);
	if (err != AUT_OK) {
		render_list_free(list);
		return err;
	}
	paging_compute(lp->page, lp->page_size, total, &pg);
	return render_list_finish(list, &pg, call->now, &call->resp->body,
	    &call->resp->body_len);
}
