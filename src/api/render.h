/* render.h: the only code that builds JSON (json-c): list envelope and errors. */
#ifndef AUTIONAL_RENDER_H
#define AUTIONAL_RENDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "../core/error.h"
#include "paging.h"
#include "params.h"
#include "../core/token.h"

/* A token list being built: items are added one by one as the store reads them. */
struct render_list;

enum aut_err render_list_new(struct render_list **out);
enum aut_err render_list_add(struct render_list *list, const struct token_row *row);

/*
 * Wrap the items in the envelope {code, message, items, pagination, total,
 * next_cursor, timestamp} and serialise it into a malloc'd *body.
 * next_cursor is NULL on the last page (null in the JSON); pg->page 0 is a
 * page found by a cursor (no page number in pagination).  Frees list either way.
 */
enum aut_err render_list_finish(struct render_list *list, const struct paging *pg,
    const char *next_cursor, time_t now, char **body, size_t *len);
void render_list_free(struct render_list *list);

/* {code, message, revoked, dry_run, timestamp} into a malloc'd *body. */
enum aut_err render_revoked(uint64_t revoked, bool dry_run, time_t now,
    char **body, size_t *len);

/* The filters as a JSON object for the audit trail, e.g. {"user_id":"usr_x"}. */
enum aut_err render_filters(const struct token_filters *filters, char **json);

/* {"id":"tok_..."}: the audit trail's record of which token was revoked. */
enum aut_err render_token_ref(const unsigned char id[16], char **json);

/* {code, message, timestamp} into a malloc'd *body. */
enum aut_err render_error(int status, const char *message, time_t now,
    char **body, size_t *len);

#endif
