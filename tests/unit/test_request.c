/* test_request.c: the CGI environment becomes a struct request (path, method, query, credential). */
#include "../../src/api/request.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "unit.h"

static void
test_request_uri_preferred(void)
{
	char *env[] = {
		"REQUEST_METHOD=GET",
		"REQUEST_URI=/admin/oauth/clients/c%2D1/tokens?page=2&page_size=5",
		"SCRIPT_NAME=/other",
		"PATH_INFO=/place",
		"QUERY_STRING=page=2&page_size=5",
		"HTTP_AUTHORIZATION=Bearer abc",
		NULL
	};
	struct request req;

	CHECK_INT(request_from_env(&req, env), 0, "REQUEST_URI: returns 0");
	CHECK_STR(req.path, "/admin/oauth/clients/c%2D1/tokens",
	    "REQUEST_URI wins over SCRIPT_NAME+PATH_INFO, query cut, still encoded");
	CHECK_STR(req.method, "GET", "method from REQUEST_METHOD");
	CHECK_STR(req.query, "page=2&page_size=5", "query from QUERY_STRING");
	CHECK_STR(req.authorization, "Bearer abc", "authorization from HTTP_AUTHORIZATION");
	request_free(&req);
	CHECK(req.path == NULL, "request_free clears path");
}

static void
test_request_uri_query_only_at_first_question_mark(void)
{
	char *env[] = { "REQUEST_URI=/a/b?x=1?y=2", NULL };
	struct request req;

	CHECK_INT(request_from_env(&req, env), 0, "REQUEST_URI with two '?': returns 0");
	CHECK_STR(req.path, "/a/b", "path ends at the first '?'");
	request_free(&req);
}

static void
test_request_uri_without_query(void)
{
	char *env[] = { "REQUEST_URI=/admin/oauth/clients/x/tokens", NULL };
	struct request req;

	CHECK_INT(request_from_env(&req, env), 0, "REQUEST_URI without '?': returns 0");
	CHECK_STR(req.path, "/admin/oauth/clients/x/tokens", "whole REQUEST_URI is the path");
	request_free(&req);
}

static void
test_script_name_path_info_fallback(void)
{
	char *env[] = {
		"SCRIPT_NAME=/admin/oauth",
		"PATH_INFO=/clients/x/tokens",
		"REQUEST_METHOD=HEAD",
		NULL
	};
	struct request req;

	CHECK_INT(request_from_env(&req, env), 0, "fallback: returns 0");
	CHECK_STR(req.path, "/admin/oauth/clients/x/tokens",
	    "no REQUEST_URI: SCRIPT_NAME followed by PATH_INFO");
	CHECK_STR(req.method, "HEAD", "fallback: method");
	request_free(&req);
}

static void
test_empty_request_uri_falls_back(void)
{
	char *env[] = { "REQUEST_URI=", "SCRIPT_NAME=/s", "PATH_INFO=/p", NULL };
	struct request req;

	CHECK_INT(request_from_env(&req, env), 0, "empty REQUEST_URI: returns 0");
	CHECK_STR(req.path, "/s/p", "empty REQUEST_URI: SCRIPT_NAME+PATH_INFO used");
	request_free(&req);
}

static void
test_script_name_only_and_path_info_only(void)
{
	char *env1[] = { "SCRIPT_NAME=/admin/oauth/clients/x/tokens", NULL };
	char *env2[] = { "PATH_INFO=/admin/oauth/clients/x/tokens", NULL };
	struct request req;

	CHECK_INT(request_from_env(&req, env1), 0, "SCRIPT_NAME only: returns 0");
	CHECK_STR(req.path, "/admin/oauth/clients/x/tokens", "SCRIPT_NAME alone is the path");
	request_free(&req);
	CHECK_INT(request_from_env(&req, env2), 0, "PATH_INFO only: returns 0");
	CHECK_STR(req.path, "/admin/oauth/clients/x/tokens", "PATH_INFO alone is the path");
	request_free(&req);
}

static void
test_missing_variables(void)
{
	char *env[] = { NULL };
	struct request req;

	CHECK_INT(request_from_env(&req, env), 0, "empty environment: returns 0");
	CHECK_STR(req.path, "", "empty environment: path is \"\"");
	CHECK_STR(req.method, "", "missing REQUEST_METHOD: method is \"\"");
	CHECK_STR(req.query, "", "missing QUERY_STRING: query is \"\"");
	CHECK(req.authorization == NULL, "missing HTTP_AUTHORIZATION: NULL");
	request_free(&req);
}

static void
test_empty_authorization_is_not_absent(void)
{
	char *env[] = { "HTTP_AUTHORIZATION=", NULL };
	struct request req;

	CHECK_INT(request_from_env(&req, env), 0, "empty Authorization: returns 0");
	CHECK_STR(req.authorization, "", "empty Authorization header is \"\", not NULL");
	request_free(&req);
}

static void
test_getenv_exact_names(void)
{
	char *env[] = {
		"HTTP_AUTHORIZATIONX=wrong",
		"HTTP_AUTHORIZATION",
		"REQUEST_URI_EXTRA=/wrong",
		"QUERY=wrong",
		"HTTP_AUTHORIZATION=Bearer right",
		"HTTP_AUTHORIZATION=Bearer second",
		NULL
	};
	struct request req;

	CHECK_STR(request_getenv(env, "HTTP_AUTHORIZATION"), "Bearer right",
	    "getenv: longer names and entries without '=' do not match; first wins");
	CHECK(request_getenv(env, "REQUEST_URI") == NULL,
	    "getenv: REQUEST_URI_EXTRA is not REQUEST_URI");
	CHECK(request_getenv(env, "QUERY_STRING") == NULL,
	    "getenv: QUERY is not QUERY_STRING");
	CHECK(request_getenv(NULL, "PATH_INFO") == NULL, "getenv: NULL environment");
	CHECK_STR(request_getenv(env, "HTTP_AUTHORIZATIONX"), "wrong",
	    "getenv: exact longer name still found");

	CHECK_INT(request_from_env(&req, env), 0, "near-miss names: returns 0");
	CHECK_STR(req.path, "", "REQUEST_URI_EXTRA is not used as the path");
	CHECK_STR(req.query, "", "QUERY is not used as the query");
	request_free(&req);
}

/*
 * Issue 6, issue 12: the request id is the web server's (UNIQUE_ID, then
 * REQUEST_ID) when safe, else 32 random hex digits; the caller's X-Request-Id
 * is never the request id, only client_request_id, and only when safe.
 */
static void
test_request_id(void)
{
	char *caller[] = { "REQUEST_URI=/", "HTTP_X_REQUEST_ID=abc-123_x.y:z@w", NULL };
	char *unsafe[] = { "REQUEST_URI=/", "HTTP_X_REQUEST_ID=a b\r\nX-Evil: 1", NULL };
	char *apache[] = { "REQUEST_URI=/", "HTTP_X_REQUEST_ID=forged", "UNIQUE_ID=Zx9AbC", NULL };
	char *nginx[] = { "REQUEST_URI=/", "REQUEST_ID=0123456789abcdef0123456789abcdef",
	    "HTTP_X_REQUEST_ID=forged", NULL };
	char *both[] = { "REQUEST_URI=/", "REQUEST_ID=from-nginx", "UNIQUE_ID=from-apache", NULL };
	char *bad_server[] = { "REQUEST_URI=/", "UNIQUE_ID=a\"b", "HTTP_X_REQUEST_ID=ok", NULL };
	char long_id[80 + 19];
	char *too_long[] = { "REQUEST_URI=/", long_id, NULL };
	char *none[] = { "REQUEST_URI=/", NULL };
	struct request a, b, c, d, e, f, g, h, n;

	CHECK_INT(request_from_env(&a, caller), 0, "request id: parsed");
	CHECK((long long)strlen(a.request_id) == 32 &&
	    strspn(a.request_id, "0123456789abcdef") == 32,
	    "request id: a caller's X-Request-Id is not taken; 32 hex generated");
	CHECK_STR(a.client_request_id, "abc-123_x.y:z@w", "request id: the caller's kept apart");
	CHECK_INT(request_from_env(&b, unsafe), 0, "request id: unsafe parsed");
	CHECK_INT((long long)strlen(b.request_id), 32, "request id: unsafe caller, 32 hex");
	CHECK_STR(b.client_request_id, "", "request id: an unsafe caller id is dropped");
	CHECK_INT(request_from_env(&c, apache), 0, "request id: UNIQUE_ID parsed");
	CHECK_STR(c.request_id, "Zx9AbC", "request id: Apache mod_unique_id wins over the caller");
	CHECK_STR(c.client_request_id, "forged", "request id: the caller's beside UNIQUE_ID");
	CHECK_INT(request_from_env(&d, nginx), 0, "request id: REQUEST_ID parsed");
	CHECK_STR(d.request_id, "0123456789abcdef0123456789abcdef",
	    "request id: nginx $request_id wins over the caller");
	CHECK_INT(request_from_env(&e, both), 0, "request id: both server ids parsed");
	CHECK_STR(e.request_id, "from-apache", "request id: UNIQUE_ID before REQUEST_ID");
	CHECK_INT(request_from_env(&f, bad_server), 0, "request id: unsafe server id parsed");
	CHECK_INT((long long)strlen(f.request_id), 32, "request id: unsafe server id, 32 hex");
	CHECK_STR(f.client_request_id, "ok", "request id: caller's kept with an unsafe server id");
	snprintf(long_id, sizeof(long_id), "HTTP_X_REQUEST_ID=%065d", 7);
	CHECK_INT(request_from_env(&g, too_long), 0, "request id: 65-character caller id parsed");
	CHECK_STR(g.client_request_id, "", "request id: 65 characters dropped, not cut");
	CHECK_INT(request_from_env(&h, none), 0, "request id: none parsed");
	CHECK_INT(request_from_env(&n, none), 0, "request id: none parsed twice");
	CHECK(strcmp(h.request_id, n.request_id) != 0, "request id: generated ids differ");
	CHECK_STR(h.client_request_id, "", "request id: no caller id");
	request_free(&a);
	request_free(&b);
	request_free(&c);
	request_free(&d);
	request_free(&e);
	request_free(&f);
	request_free(&g);
	request_free(&h);
	request_free(&n);
}

/* Absolute-form targets (RFC 9112 3.2.2: Apache passes them on as REQUEST_URI). */
static void
test_absolute_form(void)
{
	char *http[] = { "REQUEST_URI=http://h.example:8080/admin/oauth/clients/x/tokens?page=2", NULL };
	char *https[] = { "REQUEST_URI=HTTPS://h.example/admin/x", NULL };
	char *no_path[] = { "REQUEST_URI=http://h.example?x=1", NULL };
	struct request a, b, c;

	CHECK_INT(request_from_env(&a, http), 0, "absolute form: parsed");
	CHECK_STR(a.path, "/admin/oauth/clients/x/tokens", "absolute form: scheme and host dropped");
	CHECK_INT(request_from_env(&b, https), 0, "absolute form https: parsed");
	CHECK_STR(b.path, "/admin/x", "absolute form: scheme matched without case");
	CHECK_INT(request_from_env(&c, no_path), 0, "absolute form without path: parsed");
	CHECK_STR(c.path, "", "absolute form without path: empty path (no endpoint)");
	request_free(&a);
	request_free(&b);
	request_free(&c);
}

/* REDIRECT_STATUS: a refusal of the web server to write, or nothing. */
static void
test_refusal_status(void)
{
	static const struct { const char *env; int want; } cases[] = {
		{ "REDIRECT_STATUS=431", 431 }, { "REDIRECT_STATUS=400", 400 },
		{ "REDIRECT_STATUS=599", 599 }, { "REDIRECT_STATUS=200", 0 },
		{ "REDIRECT_STATUS=600", 0 }, { "REDIRECT_STATUS=399", 0 },
		{ "REDIRECT_STATUS=4041", 0 }, { "REDIRECT_STATUS=40a", 0 },
		{ "REDIRECT_STATUS= 404", 0 }, { "REDIRECT_STATUS=", 0 },
		{ "HTTP_REDIRECT_STATUS=404", 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *env[] = { "REQUEST_URI=/", (char *)cases[i].env, NULL };
		struct request r;

		CHECK(request_from_env(&r, env) == 0 && r.refusal_status == cases[i].want,
		    "refusal status: %s", cases[i].env);
		request_free(&r);
	}
}

/* A body came: no endpoint takes one, so a revocation refuses it (tokens_revoke.c). */
static void
test_has_body(void)
{
	static const struct { const char *a, *b; bool want; } cases[] = {
		{ NULL, NULL, false },
		{ "CONTENT_LENGTH=", NULL, false },
		{ "CONTENT_LENGTH=0", NULL, false },
		{ "CONTENT_LENGTH=000", NULL, false },
		{ "CONTENT_TYPE=application/json", "CONTENT_LENGTH=0", false },
		{ "CONTENT_LENGTH=1", NULL, true },
		{ "CONTENT_LENGTH=1024", NULL, true },
		{ "CONTENT_LENGTH=0010", NULL, true },
		{ "CONTENT_LENGTH=x", NULL, true },
		{ "HTTP_TRANSFER_ENCODING=chunked", NULL, true },
		{ "HTTP_TRANSFER_ENCODING=chunked", "CONTENT_LENGTH=0", true },
		{ "HTTP_TRANSFER_ENCODING=", NULL, false },
		{ "HTTP_CONTENT_LENGTH=5", NULL, false },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *env[] = { "REQUEST_URI=/", (char *)cases[i].a, (char *)cases[i].b, NULL };
		struct request r;

		if (cases[i].a == NULL)
			env[1] = NULL;
		CHECK(request_from_env(&r, env) == 0 && r.has_body == cases[i].want,
		    "has_body %d: %s %s", cases[i].want, cases[i].a ? cases[i].a : "(none)",
		    cases[i].b ? cases[i].b : "");
		request_free(&r);
	}
}

int
main(void)
{
	test_request_uri_preferred();
	test_request_uri_query_only_at_first_question_mark();
	test_request_uri_without_query();
	test_script_name_path_info_fallback();
	test_empty_request_uri_falls_back();
	test_script_name_only_and_path_info_only();
	test_missing_variables();
	test_empty_authorization_is_not_absent();
	test_getenv_exact_names();
	test_request_id();
	test_absolute_form();
	test_refusal_status();
	test_has_body();
	return unit_done();
}
