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

static enum aut_err
add_row(void *ctx, const struct token_row *row)
{
	return render_list_add(ctx, row);
}

/* Parameters, client, count, page: everything after authentication. */
static enum aut_err
list_tokens(const struct request *req, const struct route *route,
    const struct config *conf, struct store *st, time_t now,
    const struct bearer *admin, struct response *resp, char *msg, size_t msglen)
{
	struct list_params params;
	char client_id[ROUTE_CLIENT_ID_MAX + 1];
	uint64_t client_pk = 0, total = 0;
	bool found = false;
	struct paging pg;
	struct render_list *list = NULL;
	enum aut_err err;

	err = params_parse_list(req->query, conf->page_size_max, &params, msg, msglen);
	if (err != AUT_OK)
		return err;
	err = route_decode_client_id(route->client_id_raw, route->client_id_raw_len,
	    client_id, sizeof(client_id));
	if (err == AUT_ERR_BAD_PARAM)
		snprintf(msg, msglen, "client_id is not valid percent-encoding");
	if (err != AUT_OK)
		return err;
	err = store_find_client(st, client_id, admin->tenant_pk, &client_pk, &found);
	if (err != AUT_OK)
		return err;
	if (!found)
		return AUT_ERR_NO_CLIENT;

	err = store_count_active(st, client_pk, now, &total);
	if (err != AUT_OK)
		return err;
	paging_compute(params.page, params.page_size, total, &pg);

	err = render_list_new(&list);
	if (err != AUT_OK)
		return err;
	if (!pg.past_end)
		err = store_list_active(st, client_pk, now, pg.offset, pg.page_size,
		    add_row, list);
	if (err != AUT_OK) {
		render_list_free(list);
		return err;
	}
	return render_list_finish(list, &pg, now, &resp->body, &resp->body_len);
}

void
handler_serve(const struct request *req, const struct config *conf,
    struct store *st, time_t now, struct response *resp, struct bearer *who)
{
	struct route route;
	unsigned char hash[32];
	char msg[160] = "";
	enum aut_err err;

	memset(resp, 0, sizeof(*resp));
	memset(who, 0, sizeof(*who));
	resp->omit_body = strcmp(req->method, "HEAD") == 0;

	err = route_match(req->path, &route);
	if (err == AUT_OK && !resp->omit_body && strcmp(req->method, "GET") != 0)
		err = AUT_ERR_METHOD;
	if (err == AUT_OK)
		err = auth_parse_bearer(req->authorization, hash);
	if (err == AUT_OK) {
		err = store_begin(st);
		if (err == AUT_OK)
			err = auth_require_admin(st, hash, now, who);
		if (err == AUT_OK)
			err = list_tokens(req, &route, conf, st, now, who, resp, msg,
			    sizeof(msg));
		store_end(st);
	}
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
	if (render_error(resp->status, msg[0] ? msg : error_message(err), now,
	    &resp->body, &resp->body_len) != AUT_OK) {
		resp->status = 500;
		resp->body = NULL;
		resp->body_len = 0;
	}
}
