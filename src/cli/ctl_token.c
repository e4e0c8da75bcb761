/* ctl_token.c: autionalctl token issue and token revoke. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "ctl.h"
#include "ctl_store.h"
#include "../core/log.h"
#include "../core/timefmt.h"
#include "../core/tokenid.h"

/* 32 random bytes in base64url without padding: 43 characters. */
#define TOKEN_BYTES 32
#define TOKEN_TEXT_LEN 44

/* What token issue and token revoke read from their options. */
struct token_args {
	const char *client;       /* --client */
	const char *user;         /* --user */
	const char *type;         /* --type */
	const char *scope;        /* --scope */
	const char *lifetime;     /* --lifetime */
	const char *id;           /* --id (revoke) */
	bool all;                 /* --all (revoke) */
	bool dry_run;             /* --dry-run (revoke) */
};

static int
token_option(struct ctl *ctl, int c, const char *arg, void *ctx)
{
	struct token_args *a = ctx;

	switch (c) {
	case 'C': a->client = arg; return -1;
	case 'u': a->user = arg; return -1;
	case 'T': a->type = arg; return -1;
	case 's': a->scope = arg; return -1;
	case 'l': a->lifetime = arg; return -1;
	case 'i': a->id = arg; return -1;
	case 'a': a->all = true; return -1;
	case 'd': a->dry_run = true; return -1;
	}
	return ctl_usage(ctl, "unknown option");
}

/* Validate --client, --user and --type (when given); -1 when valid. */
static int
check_common(struct ctl *ctl, const struct token_args *a)
{
	struct token_filters f;
	int rc;

	if ((rc = ctl_check_lookup(ctl, "--client", a->client)) >= 0)
		return rc;
	return ctl_token_filters(ctl, a->user, a->type, &f);
}

/*
 * Resolve the client and the optional user (in the client's tenant).
 * Returns -1 when both were found, else the exit status.
 */
static int
resolve(struct ctl *ctl, const struct token_args *a, struct ctl_client *client,
    uint64_t *user_pk)
{
	bool found = false;
	enum aut_err err = ctl_store_client_find(ctl->cst, a->client, &found, client);

	if (err != AUT_OK)
		return ctl_fail_err(ctl, err);
	if (!found)
		return ctl_fail(ctl, "no client '%s'", a->client);
	if (a->user == NULL)
		return -1;
	err = ctl_store_user_find(ctl->cst, a->user, client->tenant_pk, &found, user_pk);
	if (err != AUT_OK)
		return ctl_fail_err(ctl, err);
	if (!found)
		return ctl_fail(ctl, "no user '%s' in tenant '%s' (the tenant of client '%s')",
		    a->user, client->tenant_id, a->client);
	return -1;
}

/* Token text (base64url of 32 random bytes), its SHA-256 and a public id. */
static int
make_token(char text[TOKEN_TEXT_LEN], struct ctl_new_token *t)
{
	unsigned char raw[TOKEN_BYTES];
	unsigned char b64[4 * ((TOKEN_BYTES + 2) / 3) + 1];
	size_t n = 0;
	int rc = -1;

	if (RAND_bytes(raw, sizeof(raw)) != 1 || RAND_bytes(t->public_id, 16) != 1)
		goto out;
	EVP_EncodeBlock(b64, raw, sizeof(raw));
	for (const unsigned char *p = b64; *p != '\0' && *p != '=' && n < TOKEN_TEXT_LEN - 1; p++)
		text[n++] = *p == '+' ? '-' : *p == '/' ? '_' : (char)*p;
	text[n] = '\0';
	if (EVP_Digest(text, n, t->hash, NULL, EVP_sha256(), NULL) == 1)
		rc = 0;
	OPENSSL_cleanse(b64, sizeof(b64));
out:
	OPENSSL_cleanse(raw, sizeof(raw));
	return rc;
}

static int
print_issued(const struct ctl *ctl, const char *text, const struct token_args *a,
    const struct ctl_new_token *t, const char *token_id)
{
	char created[TIMEFMT_RFC3339_LEN], expires[TIMEFMT_RFC3339_LEN];

	if (timefmt_rfc3339(t->created_at, created) != 0 ||
	    timefmt_rfc3339(t->expires_at, expires) != 0)
		return ctl_fail(ctl, "cannot format the time");
	if (ctl->json) {
		json_object *o = json_object_new_object();
		ctl_json_put(o, "token", json_object_new_string(text));
		ctl_json_put(o, "id", json_object_new_string(token_id));
		ctl_json_put(o, "token_type", json_object_new_string(t->token_type));
		ctl_json_put(o, "client_id", json_object_new_string(a->client));
		if (a->user != NULL)
			ctl_json_put(o, "user_id", json_object_new_string(a->user));
		else if (o != NULL)
			json_object_object_add(o, "user_id", NULL);   /* JSON null */
		ctl_json_put(o, "scope", json_object_new_string(t->scope));
		ctl_json_put(o, "created_at", json_object_new_string(created));
		ctl_json_put(o, "expires_at", json_object_new_string(expires));
		return ctl_print_json(o);
	}
	printf("token       %s\n", text);
	printf("id          %s\n", token_id);
	printf("token_type  %s\n", t->token_type);
	printf("client_id   %s\n", a->client);
	printf("user_id     %s\n", a->user ? a->user : "-");
	printf("scope       %s\n", t->scope);
	printf("created_at  %s\n", created);
	printf("expires_at  %s\n", expires);
	if (fflush(stdout) != 0)
		return ctl_fail(ctl, "cannot print the result");
	if (isatty(STDOUT_FILENO))
		log_error("the token text is shown only this once; only its SHA-256 is stored");
	return CTL_EXIT_OK;
}

static int
run_token_issue(struct ctl *ctl, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "client", required_argument, NULL, 'C' },
		{ "user", required_argument, NULL, 'u' },
		{ "type", required_argument, NULL, 'T' },
		{ "scope", required_argument, NULL, 's' },
		{ "lifetime", required_argument, NULL, 'l' },
		CTL_COMMON_OPTIONS
	};
	struct token_args a = { 0 };
	struct ctl_new_token t;
	struct ctl_client client;
	char text[TOKEN_TEXT_LEN] = "", token_id[TOKEN_ID_TEXT_LEN];
	long lifetime;
	enum aut_err err;
	int rc;

	if ((rc = ctl_parse_options(ctl, argc, argv, longopts, token_option, &a)) >= 0 ||
	    (rc = check_common(ctl, &a)) >= 0)
		return rc;
	if (a.type == NULL)
		return ctl_usage(ctl, "--type is required (access_token or refresh_token)");
	if (a.scope != NULL && !ctl_valid_scope(a.scope))
		return ctl_usage(ctl, "bad --scope: space-separated words of printable ASCII"
		    " without '\"' or '\\', at most 1000 bytes");
	if (a.lifetime == NULL)
		lifetime = strcmp(a.type, "access_token") == 0 ? 3600 : 30L * 86400;
	else if ((lifetime = ctl_parse_duration(a.lifetime, 1)) < 0)
		return ctl_usage(ctl, "bad --lifetime '%s': e.g. 3600, 90s, 15m, 1h, 30d (at most 3650d)",
		    a.lifetime);
	if ((rc = ctl_open(ctl)) != 0)
		return rc;

	memset(&t, 0, sizeof(t));
	if ((rc = resolve(ctl, &a, &client, &t.user_pk)) >= 0)
		goto out;
	if (make_token(text, &t) != 0) {
		rc = ctl_fail(ctl, "cannot draw random bytes or hash the token");
		goto out;
	}
	t.token_type = a.type;
	t.client_pk = client.pk;
	t.has_user = a.user != NULL;
	t.scope = a.scope ? a.scope : "";
	t.created_at = db_clock_now();
	t.expires_at = t.created_at + lifetime;
	err = ctl_store_token_insert(ctl->cst, &t);
	if (err != AUT_OK) {
		rc = ctl_fail_err(ctl, err);
		goto out;
	}
	token_id_format(t.public_id, token_id);
	rc = print_issued(ctl, text, &a, &t, token_id);
out:
	OPENSSL_cleanse(text, sizeof(text));
	return rc;
}

/* The filters as the JSON object audit_events.filters holds. */
static json_object *
filters_json(const struct token_args *a)
{
	json_object *o = json_object_new_object();

	if (a->id != NULL)
		ctl_json_put(o, "id", json_object_new_string(a->id));
	if (a->user != NULL)
		ctl_json_put(o, "user_id", json_object_new_string(a->user));
	if (a->type != NULL)
		ctl_json_put(o, "token_type", json_object_new_string(a->type));
	return o;
}

static int
print_revoked(const struct ctl *ctl, const struct token_args *a, uint64_t revoked)
{
	if (ctl->json) {
		json_object *o = json_object_new_object();
		ctl_json_put(o, "client_id", json_object_new_string(a->client));
		ctl_json_put(o, "filters", filters_json(a));
		ctl_json_put(o, "revoked", json_object_new_int64((int64_t)revoked));
		ctl_json_put(o, "dry_run", json_object_new_boolean(a->dry_run));
		return ctl_print_json(o);
	}
	printf("%s %llu token%s of client %s%s%s%s%s%s%s\n",
	    a->dry_run ? "would revoke" : "revoked", (unsigned long long)revoked,
	    revoked == 1 ? "" : "s", a->client,
	    a->id ? " with id " : "", a->id ? a->id : "",
	    a->user ? ", user " : "", a->user ? a->user : "",
	    a->type ? ", type " : "", a->type ? a->type : "");
	return CTL_EXIT_OK;
}

static int
run_token_revoke(struct ctl *ctl, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "client", required_argument, NULL, 'C' },
		{ "id", required_argument, NULL, 'i' },
		{ "all", no_argument, NULL, 'a' },
		{ "user", required_argument, NULL, 'u' },
		{ "type", required_argument, NULL, 'T' },
		{ "dry-run", no_argument, NULL, 'd' },
		CTL_COMMON_OPTIONS
	};
	struct token_args a = { 0 };
	struct revocation r;
	struct audit_entry audit;
	struct ctl_client client;
	unsigned char token_id[16];
	char actor[CTL_ACTOR_MAX + 1], canonical[TOKEN_ID_TEXT_LEN], *filters = NULL;
	uint64_t user_pk = 0;
	uint64_t revoked = 0;
	json_object *fj;
	bool found = false;
	enum aut_err err;
	int rc;

	if ((rc = ctl_parse_options(ctl, argc, argv, longopts, token_option, &a)) >= 0 ||
	    (rc = check_common(ctl, &a)) >= 0)
		return rc;
	if ((a.id != NULL) == a.all)
		return ctl_usage(ctl, "give either --id TOKEN_ID or --all");
	if (a.id != NULL && (a.user != NULL || a.type != NULL))
		return ctl_usage(ctl, "--user and --type narrow --all; they do not go with --id");
	if (a.id != NULL) {
		if (token_id_parse(a.id, strlen(a.id), token_id) != 0)
			return ctl_usage(ctl, "bad --id '%s': tok_ and 32 hex digits", a.id);
		token_id_format(token_id, canonical);   /* lower case, as listed */
		a.id = canonical;
	}
	if ((rc = ctl_open(ctl)) != 0)
		return rc;

	if ((rc = resolve(ctl, &a, &client, &user_pk)) >= 0)
		goto out;
	fj = filters_json(&a);
	if (fj == NULL || (filters = strdup(json_object_to_json_string_ext(fj,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE))) == NULL) {
		json_object_put(fj);
		rc = ctl_fail(ctl, "out of memory");
		goto out;
	}
	json_object_put(fj);
	ctl_actor(actor);
	memset(&r, 0, sizeof(r));
	r.client_pk = client.pk;
	r.token_id = a.id ? token_id : NULL;
	if (a.user != NULL)
		snprintf(r.filters.user_id, sizeof(r.filters.user_id), "%s", a.user);
	r.filters.token_type = a.type == NULL ? TOKEN_TYPE_ANY :
	    strcmp(a.type, "access_token") == 0 ? TOKEN_TYPE_ACCESS : TOKEN_TYPE_REFRESH;
	r.dry_run = a.dry_run;
	r.batch = ctl->conf.revoke_batch;   /* no time limit: runs until done */
	audit = (struct audit_entry){
		.tenant_id = client.tenant_id,
		.actor = actor,
		.action = a.id ? "token.revoke" : "tokens.revoke",
		.client_id = a.client,
		.filters_json = filters,
		.dry_run = a.dry_run,
		.request_id = "",
		.status = 0,
	};
	err = store_revoke(ctl->store, &r, db_clock_now(), &audit, &found, &revoked);
	if (err != AUT_OK && revoked > 0)
		rc = ctl_fail(ctl, "%llu tokens were revoked (and audited) in batches before the "
		    "failure (see the message above); run the command again to revoke the rest",
		    (unsigned long long)revoked);
	else if (err != AUT_OK)
		rc = ctl_fail_err(ctl, err);
	else if (!found)
		rc = ctl_fail(ctl, "client '%s' has no token '%s'", a.client, a.id);
	else
		rc = print_revoked(ctl, &a, revoked);
out:
	free(filters);
	return rc;
}

const struct ctl_command ctl_cmd_token_issue = {
	"token issue",
	"--client CLIENT_ID [--user USER_ID] --type access_token|refresh_token\n"
	"       [--scope \"SCOPE ...\"] [--lifetime DURATION]",
	"Issue a token for a client, for one of the users of its tenant or (without\n"
	"--user) for the client itself.  The token text is 32 random bytes in\n"
	"base64url without padding; it is printed this once, and only its SHA-256\n"
	"is stored.  Also printed: its public id (tok_ and 32 hex digits), which\n"
	"token revoke and the API use.  --scope: space-separated scope words (default\n"
	"none).  --lifetime: seconds, or a number with s, m, h or d (default 1h for an\n"
	"access token, 30d for a refresh token; at most 3650d).\n"
	"An administrator's access token (see user create --admin) can call the API.\n",
	run_token_issue,
};

const struct ctl_command ctl_cmd_token_revoke = {
	"token revoke",
	"--client CLIENT_ID (--id TOKEN_ID | --all [--user USER_ID]\n"
	"       [--type access_token|refresh_token]) [--dry-run]",
	"Revoke one token of a client by its public id, or all of the client's\n"
	"active tokens (narrowed to one user, one type, or both).  Revocation is\n"
	"immediate.  An audit row (actor cli:<login>, action token.revoke or\n"
	"tokens.revoke, status 0) is written in the same transaction.  --all\n"
	"revokes in transactions of revoke_batch tokens (the configuration's,\n"
	"10000 by default), each with its own audit row, until none is left.  --all\n"
	"counts active tokens only; --id revokes the token unless it is revoked\n"
	"already (then it counts 0 and succeeds), as the API does.\n"
	"--dry-run counts what would be revoked, changes no token, and is audited.\n",
	run_token_revoke,
};
