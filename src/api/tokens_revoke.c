/* tokens_revoke.c: DELETE .../tokens (by filters) and DELETE .../tokens/{token_id}. */
#include <stdio.h>
#include <stdlib.h>

#include "endpoint.h"
#include "render.h"
#include "../core/tokenid.h"

/*
 * A revocation takes its parameters from the query string only: one sent in
 * a body (JSON, a form) would be ignored, and a dry run or a filter put there
 * would revoke every token of the client.  So any body is refused.
 */
static enum aut_err
refuse_body(struct call *call, const char *params)
{
	snprintf(call->message, sizeof(call->message), "a revocation takes no request body: "
	    "give %s in the query string", params);
	return AUT_ERR_BAD_PARAM;
}

enum aut_err
tokens_revoke_parse(struct call *call)
{
	if (call->req->has_body)
		return refuse_body(call, "user_id, token_type and dry_run");
	return params_parse_revoke(call->req->query, &call->params.revoke,
	    call->message, sizeof(call->message));
}

enum aut_err
tokens_revoke_one_parse(struct call *call)
{
	if (call->req->has_body)
		return refuse_body(call, "dry_run");
	return params_parse_revoke_one(call->req->query, &call->params.revoke,
	    call->message, sizeof(call->message));
}

static void
audit_entry(struct call *call, const char *action, const char *filters,
    struct audit_entry *a)
{
	*a = (struct audit_entry){
		.tenant_id = call->authz.who.tenant_id,
		.actor = call->authz.who.user_id,
		.action = action,
		.client_id = call->client_id,
		.filters_json = filters,
		.dry_run = call->params.revoke.dry_run != 0,
		.request_id = call->req->request_id,
		.client_request_id = call->req->client_request_id,
		.status = 200,
	};
}

static enum aut_err
answer(struct call *call, uint64_t revoked)
{
	return render_revoked(revoked, call->params.revoke.dry_run != 0, call->now,
	    &call->resp->body, &call->resp->body_len);
}

enum aut_err
tokens_revoke_all_run(struct call *call)
{
	/* In batches; a request begins none after db_write_timeout, so that it
	 * ends within the web server's timeout (the rest: the same request again). */
	struct revocation r = {
		.client_pk = call->authz.client_pk,
		.filters = call->params.revoke.filters,
		.dry_run = call->params.revoke.dry_run != 0,
		.batch = call->conf->revoke_batch,
		.seconds = call->conf->db_write_timeout,
		.unfinished_status = error_http_status(AUT_ERR_REVOKE_UNFINISHED),
	};
	struct audit_entry a;
	uint64_t revoked = 0;
	bool found = false;
	char *filters = NULL;
	enum aut_err err = render_filters(&r.filters, &filters);

	if (err == AUT_OK) {
		audit_entry(call, "tokens.revoke", filters, &a);
		err = store_revoke(call->st, &r, call->now, &a, &found, &revoked);
	}
	free(filters);
	if (err == AUT_ERR_REVOKE_UNFINISHED || (err != AUT_OK && revoked > 0)) {
		snprintf(call->message, sizeof(call->message), "%llu tokens revoked so far "
		    "(committed and audited): send the same request again to revoke the rest",
		    (unsigned long long)revoked);
		call->message_on_any_error = true;
	}
	return err == AUT_OK ? answer(call, revoked) : err;
}

enum aut_err
tokens_revoke_one_run(struct call *call)
{
	unsigned char id[TOKEN_ID_BYTES];
	struct revocation r = {
		.client_pk = call->authz.client_pk,
		.token_id = id,
		.dry_run = call->params.revoke.dry_run != 0,
	};
	struct audit_entry a;
	uint64_t revoked = 0;
	bool found = false;
	char *ref = NULL;
	enum aut_err err;

	if (token_id_parse(call->route.token_id_raw, call->route.token_id_raw_len, id) != 0)
		return AUT_ERR_NO_TOKEN;
	err = render_token_ref(id, &ref);
	if (err == AUT_OK) {
		audit_entry(call, "token.revoke", ref, &a);
		err = store_revoke(call->st, &r, call->now, &a, &found, &revoked);
	}
	free(ref);
	if (err == AUT_OK && !found)
		return AUT_ERR_NO_TOKEN;
	return err == AUT_OK ? answer(call, revoked) : err;
}
