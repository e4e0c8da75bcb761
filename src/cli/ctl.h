/* ctl.h: what autionalctl's commands share: options, messages, input validators. */
#ifndef AUTIONAL_CTL_H
#define AUTIONAL_CTL_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include <json.h>

#include "../core/config.h"
#include "ctl_store.h"
#include "../core/db.h"
#include "../core/error.h"
#include "../core/store.h"

/* Exit statuses. */
#define CTL_EXIT_OK 0
#define CTL_EXIT_FAILURE 1
#define CTL_EXIT_USAGE 2

/* Longest id the CLI accepts (tenant, user, client): 1..64 of [A-Za-z0-9_.-]. */
#define CTL_ID_MAX 64
/* "tok_" + 32 lowercase hex digits, and its NUL. */
#include "../core/tokenid.h"

#define CTL_TOKEN_ID_LEN TOKEN_ID_TEXT_LEN
/* "cli:" + login, as audit_events.actor holds it. */
#define CTL_ACTOR_MAX 128

struct ctl;

struct ctl_command {
	const char *name;        /* "token issue" */
	const char *synopsis;    /* options after the name, for usage lines */
	const char *help;        /* what --help prints after the usage line */
	int (*run)(struct ctl *ctl, int argc, char **argv);  /* argv[0]: last word of name */
};

/* One run of autionalctl: the command, the options every command takes, the database. */
struct ctl {
	const struct ctl_command *cmd;
	const char *config_path;  /* --config, else $AUTIONAL_CONFIG, else the default */
	bool json;                /* --json: one JSON value on stdout */
	struct config conf;       /* filled by ctl_open() */
	struct db *db;            /* ctl_open(): the one connection (opened on first use) */
	struct store *store;      /* ctl_open(): what the API runs too (revocation) */
	struct ctl_store *cst;    /* ctl_open(): what only autionalctl runs */
};

/* The commands (each in its ctl_<name>.c). */
extern const struct ctl_command ctl_cmd_migrate;
extern const struct ctl_command ctl_cmd_tenant_create;
extern const struct ctl_command ctl_cmd_user_create;
extern const struct ctl_command ctl_cmd_client_create;
extern const struct ctl_command ctl_cmd_token_issue;
extern const struct ctl_command ctl_cmd_token_revoke;
extern const struct ctl_command ctl_cmd_token_list;
extern const struct ctl_command ctl_cmd_token_show;
extern const struct ctl_command ctl_cmd_tenant_list, ctl_cmd_tenant_show,
    ctl_cmd_tenant_update, ctl_cmd_tenant_delete;
extern const struct ctl_command ctl_cmd_user_list, ctl_cmd_user_show,
    ctl_cmd_user_update, ctl_cmd_user_delete;
extern const struct ctl_command ctl_cmd_client_list, ctl_cmd_client_show,
    ctl_cmd_client_update, ctl_cmd_client_delete;
extern const struct ctl_command ctl_cmd_purge;
extern const struct ctl_command ctl_cmd_sweep;
/* The sweep's statements (ctl_sweep.c), prepared by ctl_open() with the others. */
extern const struct db_table sweep_statements;
extern const struct ctl_command ctl_cmd_audit;

/* The long options every command takes; put them last in its table. */
#define CTL_COMMON_OPTIONS \
	{ "config", required_argument, NULL, 'c' }, \
	{ "json", no_argument, NULL, 'j' }, \
	{ "help", no_argument, NULL, 'h' }, \
	{ NULL, 0, NULL, 0 }
/* getopt's short options for them (":" first: we print our own messages). */
#define CTL_COMMON_SHORT ":c:h"

/*
 * Parse a command's options with getopt_long; call `each` for every option
 * that is not a common one (it returns -1 to go on, else an exit status).
 * Returns -1 when parsing finished and the command should run, else the exit
 * status to return now (0 after --help, 2 on a usage error).
 */
int ctl_parse_options(struct ctl *ctl, int argc, char **argv,
    const struct option *longopts,
    int (*each)(struct ctl *ctl, int c, const char *arg, void *ctx), void *ctx);

/* Print "usage: ..." and the command's help on stdout. */
void ctl_print_help(const struct ctl_command *cmd, FILE *out);

/* "autionalctl: <command>: <message>" and a hint on stderr; returns 2. */
int ctl_usage(const struct ctl *ctl, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* "autionalctl: <command>: <message>" on stderr; returns 1. */
int ctl_fail(const struct ctl *ctl, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* A database-level failure (the detail is already on stderr); returns 1. */
int ctl_fail_err(const struct ctl *ctl, enum aut_err err);

/*
 * Load the configuration and set up the database layer and both stores
 * (connecting on first use); 0, or a message on stderr and 1.
 */
int ctl_open(struct ctl *ctl);

/* Release what ctl_open() set up (harmless when it did not run). */
void ctl_close(struct ctl *ctl);

/* Print value as one line of JSON on stdout and release it. 0, or 1 on failure. */
int ctl_print_json(json_object *value);

/* Add key → value (NULL value: out of memory, reported later by ctl_print_json). */
void ctl_json_put(json_object *obj, const char *key, json_object *value);
/* Append value to array (which takes it); false, and value freed, when either
 * is NULL or out of memory. */
bool ctl_json_append(json_object *array, json_object *value);

/* ---- output for people: aligned columns ------------------------------------ */

/* A table being filled: every cell is copied; printed with each column as wide
 * as its widest cell, two spaces apart, the header first. */
struct ctl_table;

/* A table of ncols columns with these headers; NULL when out of memory. */
struct ctl_table *ctl_table_new(int ncols, const char *const *header);
/* Add a row of ncols cells (NULL prints as "-"); 0, or -1 when out of memory. */
int ctl_table_add(struct ctl_table *t, const char *const *cells);
/* Print the table on stdout (nothing but the header when it has no rows). */
void ctl_table_print(const struct ctl_table *t);
void ctl_table_free(struct ctl_table *t);

/* "key  value" lines, the values aligned: what show prints for people.  NULL
 * values print as "-". */
void ctl_print_fields(int n, const char *const *keys, const char *const *values);

/* ---- lists: paging options and the envelope -------------------------------- */

/* --page and --page-size as given (NULL: not given). */
struct ctl_paging_args {
	const char *page, *page_size;
};

/*
 * Check --page (1..2147483647, default 1) and --page-size (1..max, default
 * 20, as the API's); -1 when valid, else exit status 2 after the message.
 */
int ctl_parse_paging(struct ctl *ctl, const struct ctl_paging_args *a, unsigned int max,
    unsigned long *page, unsigned int *page_size);

/*
 * {"items": items, "pagination": {page, page_size, total, total_pages,
 * has_next, has_prev}, "total": total}: the API's list envelope, printed on
 * stdout (takes items).  0, or 1 when it cannot be built or printed.
 */
int ctl_print_list_json(json_object *items, unsigned long page, unsigned int page_size,
    uint64_t total);

/* "page 2 of 5, 97 tenants in all" (or "no tenants") on stdout, after a table. */
void ctl_print_list_footer(unsigned long page, unsigned int page_size, uint64_t total,
    const char *singular, const char *plural);

/* A UTC time as a JSON string "YYYY-MM-DDTHH:MM:SSZ" (NULL when out of range). */
json_object *ctl_json_time(const struct tm *tm);

/* ---- validators: pure functions over untrusted text ---------------------- */

/* 1..64 characters of [A-Za-z0-9_.-]. */
bool ctl_valid_id(const char *s);

/* A required id option (--id, --tenant, --client ...): -1 when given and
 * valid, else the message and exit status 2. */
int ctl_check_id(const struct ctl *ctl, const char *option, const char *value);
/*
 * An option naming an object that exists (show, update, delete, token list, a
 * --tenant filter): any id the schema holds, whoever created it (the API and
 * issuers accept client ids of up to 255 characters of any text), so 1-255
 * characters of UTF-8 without control characters; one that names nothing is
 * "no such ..." (status 1), not a usage error.  ctl_check_id is for create.
 */
#define CTL_LOOKUP_MAX 255
int ctl_check_lookup(const struct ctl *ctl, const char *option, const char *value);
/* --user (a lookup, at most TOKEN_USER_ID_MAX bytes) and --type, either NULL,
 * into token filters; -1 when valid, else the usage status. */
int ctl_token_filters(const struct ctl *ctl, const char *user, const char *type,
    struct token_filters *f);

/* Valid UTF-8, 1..max_chars characters, no control characters. */
bool ctl_valid_name(const char *s, size_t max_chars);

/* RFC 6749 scope: "" or scope-tokens (%x21 / %x23-5B / %x5D-7E) separated by
 * single spaces, at most 1000 bytes. */
bool ctl_valid_scope(const char *s);

/* 1..32 characters of [a-z._] (an audit action such as "tokens.revoke"). */
bool ctl_valid_action(const char *s);

/* "90", "30s", "15m", "12h", "7d" → seconds in [min, 3650 days]; -1 otherwise. */
long ctl_parse_duration(const char *s, long min);

/* "YYYY-MM-DDTHH:MM:SSZ" or "YYYY-MM-DD" (UTC) → time_t; 0, or -1 when malformed. */
int ctl_parse_utc(const char *s, time_t *out);

/* "cli:<login>" for the user running the command. */
void ctl_actor(char out[CTL_ACTOR_MAX + 1]);

#endif
