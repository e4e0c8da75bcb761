/* request.c: turns the CGI environment into a struct request. */
#include "request.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/rand.h>

#include "../core/text.h"

const char *
request_getenv(char *const *envp, const char *name)
{
	size_t n = strlen(name);

	for (; envp != NULL && *envp != NULL; envp++) {
		if (strncmp(*envp, name, n) == 0 && (*envp)[n] == '=')
			return *envp + n + 1;
	}
	return NULL;
}

static const char *
or_empty(const char *s)
{
	return s ? s : "";
}

static int
safe_request_id(const char *s)
{
	size_t n = s ? strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789._-@:") : 0;

	return n > 0 && n <= REQUEST_ID_MAX && s[n] == '\0';
}

/*
 * 16 random bytes for a request id, from a pool filled 64 ids at a time: each
 * RAND_bytes() call costs a getpid() system call (OpenSSL's fork check) and
 * its generator's setup, once per request before.  Ids are not secrets (they
 * are logged and returned); they only need to be unique.
 */
static void
random_id_bytes(unsigned char out[16])
{
	static unsigned char pool[64 * 16];
	static size_t used = sizeof(pool);

	if (used == sizeof(pool)) {
		if (RAND_bytes(pool, sizeof(pool)) != 1) {
			memset(out, 0, 16);            /* still a valid (if dull) id */
			return;
		}
		used = 0;
	}
	memcpy(out, pool + used, 16);
	used += 16;
}

static void
choose_request_id(struct request *req, char *const *envp)
{
	static const char *const server_ids[] = { "UNIQUE_ID", "REQUEST_ID" };
	const char *client = request_getenv(envp, "HTTP_X_REQUEST_ID");
	unsigned char bytes[16];

	req->client_request_id[0] = '\0';
	if (safe_request_id(client))
		strcpy(req->client_request_id, client);
	for (size_t i = 0; i < sizeof(server_ids) / sizeof(server_ids[0]); i++) {
		const char *v = request_getenv(envp, server_ids[i]);
		if (safe_request_id(v)) {
			strcpy(req->request_id, v);
			return;
		}
	}
	random_id_bytes(bytes);
	text_hex_encode(bytes, sizeof(bytes), req->request_id);
}

/* REDIRECT_STATUS as a refusal to write: three digits, 400-599; else 0. */
static int
refusal_status(const char *s)
{
	if (s == NULL || strlen(s) != 3 || strspn(s, "0123456789") != 3)
		return 0;
	int status = atoi(s);
	return status >= 400 && status <= 599 ? status : 0;
}

/* Whether a request body came: a length other than 0, or a transfer coding. */
static bool
body_announced(const char *content_length, const char *transfer_encoding)
{
	if (transfer_encoding != NULL && transfer_encoding[0] != '\0')
		return true;
	return content_length != NULL &&
	    content_length[strspn(content_length, "0")] != '\0';
}

/* The path of an absolute-form request target ("http://host:port/path"). */
static const char *
skip_scheme_and_host(const char *uri)
{
	size_t scheme = strncasecmp(uri, "http://", 7) == 0 ? 7
	    : strncasecmp(uri, "https://", 8) == 0 ? 8 : 0;

	return scheme ? uri + scheme + strcspn(uri + scheme, "/?") : uri;
}

int
request_from_env(struct request *req, char *const *envp)
{
	const char *uri = request_getenv(envp, "REQUEST_URI");

	req->method = or_empty(request_getenv(envp, "REQUEST_METHOD"));
	req->query = or_empty(request_getenv(envp, "QUERY_STRING"));
	req->authorization = request_getenv(envp, "HTTP_AUTHORIZATION");
	choose_request_id(req, envp);
	req->refusal_status = refusal_status(request_getenv(envp, "REDIRECT_STATUS"));
	req->has_body = body_announced(request_getenv(envp, "CONTENT_LENGTH"),
	    request_getenv(envp, "HTTP_TRANSFER_ENCODING"));

	if (uri != NULL && uri[0] != '\0') {
		uri = skip_scheme_and_host(uri);
		req->path = strndup(uri, strcspn(uri, "?"));
	} else {
		const char *script = or_empty(request_getenv(envp, "SCRIPT_NAME"));
		const char *info = or_empty(request_getenv(envp, "PATH_INFO"));
		size_t ls = strlen(script), li = strlen(info);

		req->path = malloc(ls + li + 1);
		if (req->path != NULL) {
			memcpy(req->path, script, ls);
			memcpy(req->path + ls, info, li + 1);
		}
	}
	return req->path ? 0 : -1;
}

void
request_free(struct request *req)
{
	free(req->path);
	req->path = NULL;
}
