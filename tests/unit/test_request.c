/* test_request.c: the CGI environment becomes a struct request (path, method, query, credential). */
#include "../../src/api/request.h"

#include <stddef.h>

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

/* Issue 6: X-Request-Id taken when safe, generated otherwise. */
static void
test_request_id(void)
{
	char *safe[] = { "REQUEST_URI=/", "HTTP_X_REQUEST_ID=abc-123_x.y:z@w", NULL };
	char *unsafe[] = { "REQUEST_URI=/", "HTTP_X_REQUEST_ID=a b\r\nX-Evil: 1", NULL };
	char *apache[] = { "REQUEST_URI=/", "UNIQUE_ID=Zx9AbC", NULL };
	char *none[] = { "REQUEST_URI=/", NULL };
	struct request a, b, c, d, e;

	CHECK_INT(request_from_env(&a, safe), 0, "request id: parsed");
	CHECK_STR(a.request_id, "abc-123_x.y:z@w", "request id: the server's, when safe");
	CHECK_INT(request_from_env(&b, unsafe), 0, "request id: unsafe parsed");
	CHECK_INT((long long)strlen(b.request_id), 32, "request id: unsafe replaced by 32 hex");
	CHECK(strspn(b.request_id, "0123456789abcdef") == 32, "request id: generated is hex");
	CHECK_INT(request_from_env(&c, apache), 0, "request id: UNIQUE_ID parsed");
	CHECK_STR(c.request_id, "Zx9AbC", "request id: Apache mod_unique_id");
	CHECK_INT(request_from_env(&d, none), 0, "request id: none parsed");
	CHECK_INT(request_from_env(&e, none), 0, "request id: none parsed twice");
	CHECK(strcmp(d.request_id, e.request_id) != 0, "request id: generated ids differ");
	request_free(&a);
	request_free(&b);
	request_free(&c);
	request_free(&d);
	request_free(&e);
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
	return unit_done();
}
