/* fuzz_request.c: libFuzzer harness for the request environment, path routing, id decoding and the log line. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../../src/api/logline.h"
#include "../../src/api/request.h"
#include "../../src/api/route.h"
#include "../../src/core/tokenid.h"
#include "fuzz.h"

/*
 * The input is a CGI environment: "NAME=value" strings separated by NUL bytes,
 * as a FastCGI PARAMS record delivers them (the server decides every byte of
 * REQUEST_URI, QUERY_STRING and HTTP_* from what the client sent).
 */

#define PREFIX "/admin/oauth/clients/"
#define SUFFIX "/tokens"

/* Reference lookup: the first entry whose name (up to its first '=') is name. */
static const char *
model_getenv(char **envp, const char *name)
{
	for (; *envp != NULL; envp++) {
		const char *eq = strchr(*envp, '=');
		if (eq != NULL && (size_t)(eq - *envp) == strlen(name) &&
		    memcmp(*envp, name, strlen(name)) == 0)
			return eq + 1;
	}
	return NULL;
}

/*
 * route_decode_client_id into a heap buffer of exactly outlen bytes (so ASan
 * sees any write past it), compared with the reference decoder.
 */
static void
check_decode(const char *raw, size_t rawlen, size_t outlen)
{
	char *out = malloc(outlen), *ref = malloc(rawlen + 1);
	long n;

	CHECK(out != NULL && ref != NULL);
	memset(out, 0xA5, outlen);
	enum aut_err err = route_decode_client_id(raw, rawlen, out, outlen);
	CHECK(err == AUT_OK || err == AUT_ERR_BAD_PARAM || err == AUT_ERR_NO_CLIENT);

	n = fuzz_pct_decode(raw, rawlen, 0, ref);
	if (n < 0) {
		CHECK(err == AUT_ERR_BAD_PARAM);
	} else {
		int control = 0;
		for (long i = 0; i < n; i++)
			if ((unsigned char)ref[i] < 0x20 || ref[i] == 0x7F)
				control = 1;
		int good = n > 0 && (size_t)n < outlen && !control &&
		    fuzz_utf8_ok((const unsigned char *)ref, (size_t)n);
		CHECK(err == (good ? AUT_OK : AUT_ERR_NO_CLIENT));
		/* Documented: out is NUL-terminated whenever the escapes were well formed. */
		CHECK(memchr(out, '\0', outlen) != NULL);
	}
	if (err == AUT_OK) {
		/* NUL-terminated, shorter than the buffer, the decoded bytes, no controls. */
		CHECK(strlen(out) == (size_t)n && (size_t)n < outlen);
		CHECK(memcmp(out, ref, (size_t)n) == 0);
		for (long i = 0; i < n; i++)
			CHECK((unsigned char)out[i] >= 0x20 && out[i] != 0x7F);
		CHECK(fuzz_utf8_ok((const unsigned char *)out, (size_t)n));
	}
	free(out);
	free(ref);
}

/* token_id_parse against the reference: "tok_" and 32 hex digits, either case. */
static void
check_token_id(const char *raw, size_t rawlen)
{
	unsigned char out[TOKEN_ID_BYTES], want[TOKEN_ID_BYTES];
	int good = rawlen == 4 + 2 * TOKEN_ID_BYTES && memcmp(raw, "tok_", 4) == 0;

	for (size_t i = 0; good && i < TOKEN_ID_BYTES; i++) {
		int h = fuzz_hexval((unsigned char)raw[4 + 2 * i]);
		int l = fuzz_hexval((unsigned char)raw[5 + 2 * i]);
		good = h >= 0 && l >= 0;
		if (good)
			want[i] = (unsigned char)(h * 16 + l);
	}
	int rc = token_id_parse(raw, rawlen, out);
	CHECK(rc == 0 || rc == -1);
	CHECK((rc == 0) == good);
	if (rc == 0)
		CHECK(memcmp(out, want, sizeof(out)) == 0);
}

/*
 * route_log_path: after PREFIX seg "/tokens/", nothing but one token id is
 * kept (model: the text after the first "/tokens/" past PREFIX's segment);
 * any other path comes back as itself.  Into a buffer of exactly outlen bytes.
 */
static void
check_log_path(const char *path, size_t outlen)
{
	size_t plen = strlen(PREFIX), hlen = strlen(SUFFIX "/");
	const char *slash = strncmp(path, PREFIX, plen) == 0 ? strchr(path + plen, '/') : NULL;
	const char *kept = NULL;              /* the model's tail, when hidden */
	unsigned char id[TOKEN_ID_BYTES];
	char *out = malloc(outlen);

	if (out == NULL)
		return;
	if (slash != NULL && strncmp(slash, SUFFIX "/", hlen) == 0 && slash[hlen] != '\0' &&
	    token_id_parse(slash + hlen, strlen(slash + hlen), id) != 0)
		kept = slash + hlen;
	const char *got = route_log_path(path, out, outlen);
	if (kept == NULL) {
		CHECK(got == path);
	} else {
		size_t head = (size_t)(kept - path), n = strlen(got);
		CHECK(got == out && n < outlen);
		CHECK(memcmp(got, path, n < head ? n : head) == 0);
		CHECK(n <= head || strncmp(got + head, "{not-a-token-id}", n - head) == 0);
	}
	free(out);
}

/*
 * Reference router: PREFIX, a non-empty client segment, "/tokens", then the
 * end (the list) or "/" and one non-empty last segment (one token).
 */
static void
check_route(const char *path, size_t small)
{
	size_t plen = strlen(PREFIX), slen = strlen(SUFFIX), len = strlen(path);
	const char *seg = path + plen, *slash, *rest;
	int model = -1;                 /* -1: none, else the route kind */
	struct route r;

	if (len > plen && memcmp(path, PREFIX, plen) == 0 &&
	    (slash = strchr(seg, '/')) != NULL && slash > seg &&
	    strncmp(slash, SUFFIX, slen) == 0) {
		rest = slash + slen;
		if (*rest == '\0')
			model = ROUTE_CLIENT_TOKENS;
		else if (rest[0] == '/' && rest[1] != '\0' && strchr(rest + 1, '/') == NULL)
			model = ROUTE_CLIENT_TOKEN;
	}

	memset(&r, 0xA5, sizeof(r));
	enum aut_err err = route_match(path, &r);
	CHECK(err == AUT_OK || err == AUT_ERR_NO_ROUTE);
	CHECK((err == AUT_OK) == (model >= 0));
	if (err == AUT_OK) {
		CHECK((int)r.kind == model);
		CHECK(route_allowed_methods(r.kind) != NULL);
		CHECK(r.client_id_raw == seg && r.client_id_raw_len > 0);
		CHECK(seg[r.client_id_raw_len] == '/');
		CHECK(memchr(seg, '/', r.client_id_raw_len) == NULL);
		if (r.kind == ROUTE_CLIENT_TOKEN) {
			CHECK(r.token_id_raw > seg && r.token_id_raw_len > 0);
			CHECK(r.token_id_raw + r.token_id_raw_len == path + len);
			check_token_id(r.token_id_raw, r.token_id_raw_len);
		}
		/* The handler's buffer, then a small one to reach "too long". */
		check_decode(r.client_id_raw, r.client_id_raw_len, ROUTE_CLIENT_ID_MAX + 1);
		check_decode(r.client_id_raw, r.client_id_raw_len, small);
	}
	/* Any path is a byte string a client could put in one segment. */
	check_decode(path, len, small);
	check_token_id(path, len);
	check_log_path(path, small);
}

static int
model_safe_id(const char *s)
{
	size_t n = 0;

	if (s == NULL)
		return 0;
	for (; s[n] != '\0'; n++) {
		unsigned char c = (unsigned char)s[n];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '.' || c == '_' || c == '-' || c == '@' || c == ':'))
			return 0;
	}
	return n >= 1 && n <= REQUEST_ID_MAX;
}

/*
 * The request id: the first safe one the web server passed, else 32 hex
 * digits of ours; never the caller's, which is client_request_id when safe.
 */
static void
check_request_id(const struct request *req, char **envp)
{
	static const char *const names[] = { "UNIQUE_ID", "REQUEST_ID" };
	const char *want = NULL, *client = model_getenv(envp, "HTTP_X_REQUEST_ID");

	CHECK(memchr(req->request_id, '\0', sizeof(req->request_id)) != NULL);
	CHECK(memchr(req->client_request_id, '\0', sizeof(req->client_request_id)) != NULL);
	CHECK(strcmp(req->client_request_id, model_safe_id(client) ? client : "") == 0);
	for (size_t i = 0; want == NULL && i < 2; i++) {
		const char *v = model_getenv(envp, names[i]);
		if (model_safe_id(v))
			want = v;
	}
	if (want != NULL) {
		CHECK(strcmp(req->request_id, want) == 0);
	} else {
		CHECK(strlen(req->request_id) == 32);
		CHECK(strspn(req->request_id, "0123456789abcdef") == 32);
	}
	CHECK(model_safe_id(req->request_id));
}

/*
 * logline.h: "a line is always one line", with its trailing newline, whatever
 * the method, path, ids hold.  The buffer is main.c's.
 */
static void
check_logline(const struct request *req, const char *tenant, const char *user)
{
	char line[2048];
	struct logline l = {
		.when = 1776249000, .method = req->method, .path = req->path,
		.status = 404, .duration_ms = 12345.678,
		.tenant_id = tenant, .admin_id = user, .request_id = req->request_id,
		.client_request_id = req->client_request_id,
	};
	size_t n = logline_format(&l, line, sizeof(line));

	CHECK(n > 0 && n < sizeof(line) && line[n] == '\0');
	CHECK(line[n - 1] == '\n');
	for (size_t i = 0; i + 1 < n; i++)
		CHECK((unsigned char)line[i] >= 0x20 && (unsigned char)line[i] < 0x7F);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = fuzz_cstring(data, size);
	size_t count = 1;
	char **envp;
	struct request req;

	for (size_t i = 0; i < size; i++)
		count += data[i] == '\0';
	envp = calloc(count + 1, sizeof(*envp));
	CHECK(envp != NULL);
	for (size_t i = 0, k = 0, start = 0; i <= size; i++) {
		if (buf[i] == '\0') {
			envp[k++] = buf + start;
			start = i + 1;
		}
	}

	memset(&req, 0, sizeof(req));
	CHECK(request_from_env(&req, envp) == 0);
	CHECK(req.method != NULL && req.query != NULL && req.path != NULL);

	const char *v = model_getenv(envp, "REQUEST_METHOD");
	CHECK(strcmp(req.method, v ? v : "") == 0);
	v = model_getenv(envp, "QUERY_STRING");
	CHECK(strcmp(req.query, v ? v : "") == 0);
	CHECK(req.authorization == model_getenv(envp, "HTTP_AUTHORIZATION"));

	/*
	 * The path: REQUEST_URI before its '?' (an absolute-form "http://host"
	 * or "https://host" in front dropped), else SCRIPT_NAME + PATH_INFO.
	 */
	const char *uri = model_getenv(envp, "REQUEST_URI");
	if (uri != NULL && uri[0] != '\0') {
		size_t scheme = strncasecmp(uri, "http://", 7) == 0 ? 7
		    : strncasecmp(uri, "https://", 8) == 0 ? 8 : 0;
		if (scheme != 0) {
			uri += scheme;
			while (*uri != '\0' && *uri != '/' && *uri != '?')
				uri++;
		}
		const char *q = strchr(uri, '?');
		size_t n = q ? (size_t)(q - uri) : strlen(uri);
		CHECK(strlen(req.path) == n && memcmp(req.path, uri, n) == 0);
	} else {
		const char *s = model_getenv(envp, "SCRIPT_NAME"), *p = model_getenv(envp, "PATH_INFO");
		size_t ls = s ? strlen(s) : 0, lp = p ? strlen(p) : 0;
		CHECK(strlen(req.path) == ls + lp);
		CHECK(memcmp(req.path, s ? s : "", ls) == 0 && memcmp(req.path + ls, p ? p : "", lp) == 0);
	}

	check_request_id(&req, envp);
	check_route(req.path, 1 + size % 48);

	/* REDIRECT_STATUS: exactly three digits making 400-599, else 0. */
	v = model_getenv(envp, "REDIRECT_STATUS");
	int want_refusal = 0;
	if (v != NULL && strlen(v) == 3 && v[0] >= '4' && v[0] <= '5' &&
	    v[1] >= '0' && v[1] <= '9' && v[2] >= '0' && v[2] <= '9')
		want_refusal = (v[0] - '0') * 100 + (v[1] - '0') * 10 + (v[2] - '0');
	CHECK(req.refusal_status == want_refusal);

	/* A body: CONTENT_LENGTH with a digit other than 0 (or anything not a
	 * digit), or a Transfer-Encoding. */
	const char *cl = model_getenv(envp, "CONTENT_LENGTH");
	const char *te = model_getenv(envp, "HTTP_TRANSFER_ENCODING");
	bool want_body = te != NULL && te[0] != '\0';
	for (size_t i = 0; cl != NULL && cl[i] != '\0'; i++)
		want_body = want_body || cl[i] != '0';
	CHECK(req.has_body == want_body);

	/*
	 * tenant and user ids come from the database (VARCHAR(64) utf8mb4: up to
	 * 256 bytes); take them from the optional AUTIONAL_TENANT/USER entries.
	 */
	char tenant[257] = "", user[257] = "";
	if ((v = model_getenv(envp, "AUTIONAL_TENANT")) != NULL)
		snprintf(tenant, sizeof(tenant), "%s", v);
	if ((v = model_getenv(envp, "AUTIONAL_USER")) != NULL)
		snprintf(user, sizeof(user), "%s", v);
	check_logline(&req, tenant, user);

	request_free(&req);
	CHECK(req.path == NULL);
	free(envp);
	free(buf);
	return 0;
}
