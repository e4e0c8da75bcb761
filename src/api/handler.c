/* handler.c: one request: route, method, credential, caller, query, client, endpoint. */
#include "handler.h"

#include <stdio.h>
#include <string.h>

#include "auth.h"
#include "endpoint.h"
#include "render.h"

/* Seconds a client should wait before retrying when the database is away. */
#define RETRY_AFTER_SECONDS 5

/* Which code answers which route and method. */
struct endpoint {
	enum route_kind route;
	const char *method;
	endpoint_parse_fn parse;
	endpoint_run_fn run;
	endpoint_try_fn try_authorized;     /* NULL: always authorize first */
};

static const struct endpoint endpoints[] = {
	{ ROUTE_CLIENT_TOKENS, "GET", tokens_list_parse, tokens_list_run,
	    tokens_list_try_authorized },
	{ ROUTE_CLIENT_TOKENS, "HEAD", tokens_list_parse, tokens_list_run,
	    tokens_list_try_authorized },
	{ ROUTE_CLIENT_TOKENS, "DELETE", tokens_revoke_parse, tokens_revoke_all_run, NULL },
	{ ROUTE_CLIENT_TOKEN, "DELETE", tokens_revoke_one_parse, tokens_revoke_one_run, NULL },
};

static const struct endpoint *
find_endpoint(enum route_kind route, const char *method)
{
	for (size_t i = 0; i < sizeof(endpoints) / sizeof(endpoints[0]); i++) {
		if (endpoints[i].route == route && strcmp(endpoints[i].method, method) == 0)
			return &endpoints[i];
	}
	return NULL;
}

/*
 * The checks in the contract's order: 404 (path), 405, 401, 403, 400, 404
 * (client).  Everything that needs no database is looked at first, but
 * reported in that order.
 */
static enum aut_err
serve(struct call *call)
{
	const struct endpoint *ep;
	unsigned char hash[32];
	enum aut_err err, params_err, client_err;

	err = route_match(call->req->path, &call->route);
	if (err != AUT_OK)
		return err;
	ep = find_endpoint(call->route.kind, call->req->method);
	if (ep == NULL) {
		call->resp->allow = route_allowed_methods(call->route.kind);
		return AUT_ERR_METHOD;
	}
	err = auth_parse_bearer(call->req->authorization, hash);
	if (err != AUT_OK)
		return err;

	params_err = ep->parse(call);
	client_err = route_decode_client_id(call->route.client_id_raw,
	    call->route.client_id_raw_len, call->client_id, sizeof(call->client_id));
	if (client_err != AUT_OK)
		call->client_id[0] = '\0';   /* matches no client */
	if (params_err == AUT_OK && client_err == AUT_ERR_BAD_PARAM)
		snprintf(call->message, sizeof(call->message),
		    "client_id is not valid percent-encoding");

	/* A request that would pass every check below may be served in one go. */
	if (params_err == AUT_OK && client_err == AUT_OK && ep->try_authorized != NULL) {
		bool served = false;

		err = ep->try_authorized(call, hash, &served);
		if (err != AUT_OK || served)
			return err;
	}
	err = auth_require_admin(call->st, hash, call->client_id, call->now, &call->authz);
	if (err != AUT_OK)
		return err;
	if (params_err != AUT_OK)
		return params_err;
	if (client_err != AUT_OK)
		return client_err;
	if (!call->authz.client_found)
		return AUT_ERR_NO_CLIENT;
	return ep->run(call);
}

void
handler_serve(const struct request *req, const struct config *conf,
    struct store *st, time_t now, struct response *resp, struct bearer *who)
{
	struct call call = {
		.req = req, .conf = conf, .st = st, .now = now, .resp = resp,
	};
	enum aut_err err;

	memset(resp, 0, sizeof(*resp));
	resp->omit_body = strcmp(req->method, "HEAD") == 0;
	resp->request_id = req->request_id;
	resp->client_request_id = req->client_request_id;

	if (req->refusal_status != 0) {
		/* The web server refused the request; we only write its refusal. */
		*who = call.authz.who;
		resp->status = req->refusal_status;
		if (render_error(resp->status, error_refusal_message(resp->status), now,
		    &resp->body, &resp->body_len) != AUT_OK)
			resp->status = 500;
		return;
	}

	err = serve(&call);
	*who = call.authz.who;
	if (err == AUT_OK) {
		resp->status = 200;
		return;
	}

	resp->status = error_http_status(err);
	if (err == AUT_ERR_NO_CREDENTIAL)
		resp->www_authenticate = WWW_AUTH_CHALLENGE;
	else if (err == AUT_ERR_INVALID_TOKEN)
		resp->www_authenticate = WWW_AUTH_INVALID_TOKEN;
	resp->retry_after = err == AUT_ERR_DB_UNAVAILABLE ? RETRY_AFTER_SECONDS
	    : err == AUT_ERR_DB_BUSY || err == AUT_ERR_REVOKE_UNFINISHED ? 1 : 0;
	response_free(resp);
	if (render_error(resp->status,
	    (err == AUT_ERR_BAD_PARAM || call.message_on_any_error) && call.message[0] ?
	    call.message : error_message(err),
	    now, &resp->body, &resp->body_len) != AUT_OK) {
		resp->status = 500;
		resp->body = NULL;
		resp->body_len = 0;
	}
}
