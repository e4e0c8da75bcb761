/* handler.c: GET /admin/oauth/clients/{client_id}/tokens, check by check. */
#include "handler.h"

#include <stdio.h>
#include <string.h>

#include "auth.h"
#include "paging.h"
#include "params.h"
#include "render.h"
#include "route.h"

/* Seconds a client should wait before retrying when the database is away. */
#define RETRY_AFTER_SECONDS 5

/* Everything taken from the request before the database is asked. */
struct parsed {
	struct route route;
	unsigned char token_hash[32];
	struct list_params params;
	enum aut_err params_err;          /* reported after 401 and 403 */
	char client_id[ROUTE_CLIENT_ID_MAX + 1];
	enum aut_err client_id_err;       /* reported after 401, 403 and 400 */
	char message[160];                /* for a 400: names the parameter */
};

/* Page rows go straight from the store into the JSON being built. */
static enum aut_err
add_row(void *ctx, const struct token_row *row)
{
	return render_list_add(ctx, row);
}

/* 404/405, then 401 for the credential's form; no database yet. */
static enum aut_err
parse(const struct request *req, const struct config *conf, struct parsed *in)
{
	enum aut_err err = route_match(req->path, &in->route);

	if (err != AUT_OK)
		return err;
	if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0)
		return AUT_ERR_METHOD;
	err = auth_parse_bearer(req->authorization, in->token_hash);
	if (err != AUT_OK)
		return err;

	in->params_err = params_parse_list(req->query, conf->page_size_max,
	    &in->params, in->message, sizeof(in->message));
	in->client_id_err = route_decode_client_id(in->route.client_id_raw,
	    in->route.client_id_raw_len, in->client_id, sizeof(in->client_id));
	if (in->client_id_err != AUT_OK)
		in->client_id[0] = '\0';   /* matches no client */
	if (in->params_err == AUT_OK && in->client_id_err == AUT_ERR_BAD_PARAM)
		snprintf(in->message, sizeof(in->message),
		    "client_id is not valid percent-encoding");
	return AUT_OK;
}

/* 401, 403, 400, 404 in that order, then the page. */
static enum aut_err
list_tokens(struct parsed *in, struct store *st, time_t now,
    struct bearer *who, struct response *resp)
{
	struct authorization authz;
	struct render_list *list = NULL;
	struct paging pg;
	uint64_t total = 0;
	uint64_t offset = (uint64_t)(in->params.page - 1) * in->params.page_size;
	enum aut_err err;

	err = auth_require_admin(st, in->token_hash, in->client_id, now, &authz);
	*who = authz.who;
	if (err != AUT_OK)
		return err;
	if (in->params_err != AUT_OK)
		return in->params_err;
	if (in->client_id_err != AUT_OK)
		return in->client_id_err;
	if (!authz.client_found)
		return AUT_ERR_NO_CLIENT;

	err = render_list_new(&list);
	if (err == AUT_OK)
		err = store_list_page(st, authz.client_pk, now, offset,
		    in->params.page_size, &total, add_row, list);
	if (err != AUT_OK) {
		render_list_free(list);
		return err;
	}
	paging_compute(in->params.page, in->params.page_size, total, &pg);
	return render_list_finish(list, &pg, now, &resp->body, &resp->body_len);
}

void
handler_serve(const struct request *req, const struct config *conf,
    struct store *st, time_t now, struct response *resp, struct bearer *who)
{
	struct parsed in;
	enum aut_err err;

	memset(&in, 0, sizeof(in));
	memset(resp, 0, sizeof(*resp));
	memset(who, 0, sizeof(*who));
	resp->omit_body = strcmp(req->method, "HEAD") == 0;

	err = parse(req, conf, &in);
	if (err == AUT_OK)
		err = list_tokens(&in, st, now, who, resp);
	if (err == AUT_OK) {
		resp->status = 200;
		return;
	}

	resp->status = error_http_status(err);
	if (err == AUT_ERR_NO_CREDENTIAL)
		resp->www_authenticate = WWW_AUTH_CHALLENGE;
	else if (err == AUT_ERR_INVALID_TOKEN)
		resp->www_authenticate = WWW_AUTH_INVALID_TOKEN;
	resp->allow_get_head = err == AUT_ERR_METHOD;
	resp->retry_after = err == AUT_ERR_DB_UNAVAILABLE ? RETRY_AFTER_SECONDS : 0;
	response_free(resp);
	if (render_error(resp->status,
	    err == AUT_ERR_BAD_PARAM && in.message[0] ? in.message : error_message(err),
	    now, &resp->body, &resp->body_len) != AUT_OK) {
		resp->status = 500;
		resp->body = NULL;
		resp->body_len = 0;
	}
}
