/* endpoint.h: what every endpoint receives once the common checks have passed. */
#ifndef AUTIONAL_ENDPOINT_H
#define AUTIONAL_ENDPOINT_H

#include <stdbool.h>
#include <time.h>

#include "../core/config.h"
#include "params.h"
#include "request.h"
#include "response.h"
#include "route.h"
#include "../core/store.h"

/* One request on its way through an endpoint. */
struct call {
	const struct request *req;
	const struct config *conf;
	struct store *st;
	time_t now;                       /* one clock reading for the whole request */
	struct route route;
	char client_id[ROUTE_CLIENT_ID_MAX + 1];  /* decoded */
	struct authorization authz;       /* caller and client, from the store */
	union {                           /* the endpoint's validated query */
		struct list_params list;
		struct revoke_params revoke;
	} params;
	char message[160];                /* a 400's sentence naming the parameter, */
	bool message_on_any_error;        /* or a revocation's progress, said on any error */
	struct response *resp;
};

/* Parse the endpoint's query into call->params; AUT_ERR_BAD_PARAM with message. */
typedef enum aut_err (*endpoint_parse_fn)(struct call *call);
/* Do the work and fill call->resp (status 200 and body) on success. */
typedef enum aut_err (*endpoint_run_fn)(struct call *call);
/* Optional: do the authorization and the work at once; *served false: not done. */
typedef enum aut_err (*endpoint_try_fn)(struct call *call, const unsigned char hash[32],
    bool *served);

/* tokens_list.c: GET/HEAD .../tokens */
enum aut_err tokens_list_parse(struct call *call);
enum aut_err tokens_list_run(struct call *call);
/* Before any authorization: the list and the authorization in one round trip,
 * when the client is known; *served false: go the usual way. */
enum aut_err tokens_list_try_authorized(struct call *call, const unsigned char hash[32],
    bool *served);

/* tokens_revoke.c: DELETE .../tokens and DELETE .../tokens/{token_id} */
enum aut_err tokens_revoke_parse(struct call *call);
enum aut_err tokens_revoke_one_parse(struct call *call);
enum aut_err tokens_revoke_all_run(struct call *call);
enum aut_err tokens_revoke_one_run(struct call *call);

#endif
