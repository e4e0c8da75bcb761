/* request.c: turns the CGI environment into a struct request. */
#include "request.h"

#include <stdlib.h>
#include <string.h>

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

int
request_from_env(struct request *req, char *const *envp)
{
	const char *uri = request_getenv(envp, "REQUEST_URI");

	req->method = or_empty(request_getenv(envp, "REQUEST_METHOD"));
	req->query = or_empty(request_getenv(envp, "QUERY_STRING"));
	req->authorization = request_getenv(envp, "HTTP_AUTHORIZATION");

	if (uri != NULL && uri[0] != '\0') {
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
