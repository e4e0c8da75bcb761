/* handler.h: one request, from parsed environment to finished response. */
#ifndef AUTIONAL_HANDLER_H
#define AUTIONAL_HANDLER_H

#include <time.h>

#include "../core/config.h"
#include "request.h"
#include "response.h"
#include "../core/store.h"

/*
 * Serve req: route, method, authentication (401), administrator (403),
 * parameters (400), client in the caller's tenant (404), then the page (200).
 * Always fills *resp with a JSON body; *who says which administrator asked
 * (empty strings when unknown), for the log.
 */
void handler_serve(const struct request *req, const struct config *conf,
    struct store *st, time_t now, struct response *resp, struct bearer *who);

#endif
