/* response.c: the status line and headers every response carries. */
#include "response.h"

#include <stdio.h>
#include <stdlib.h>

const char *
response_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 411: return "Length Required";
	case 413: return "Content Too Large";
	case 414: return "URI Too Long";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	default:  return status >= 400 && status < 500 ? "Client Error" : "Internal Server Error";
	}
}

int
response_format_head(const struct response *resp, char *buf, size_t buflen)
{
	static const char *const challenge[] = {
		[WWW_AUTH_NONE] = "",
		[WWW_AUTH_CHALLENGE] = "WWW-Authenticate: Bearer realm=\"autional\"\r\n",
		[WWW_AUTH_INVALID_TOKEN] =
		    "WWW-Authenticate: Bearer realm=\"autional\", error=\"invalid_token\"\r\n",
	};
	char retry[48] = "", allow[64] = "", client_id[96] = "";

	if (resp->retry_after > 0)
		snprintf(retry, sizeof(retry), "Retry-After: %u\r\n", resp->retry_after);
	if (resp->allow != NULL)
		snprintf(allow, sizeof(allow), "Allow: %s\r\n", resp->allow);
	if (resp->client_request_id != NULL && resp->client_request_id[0] != '\0')
		snprintf(client_id, sizeof(client_id), "X-Client-Request-Id: %s\r\n",
		    resp->client_request_id);
	int n = snprintf(buf, buflen,
	    "Status: %d %s\r\n"
	    "Content-Type: application/json; charset=utf-8\r\n"
	    "Content-Length: %lu\r\n"
	    "Cache-Control: no-store\r\n"
	    "X-Content-Type-Options: nosniff\r\n"
	    "X-Request-Id: %s\r\n"
	    "%s%s%s%s%s%s%s"
	    "\r\n",
	    resp->status, response_reason(resp->status),
	    (unsigned long)resp->body_len,
	    resp->request_id ? resp->request_id : "-",
	    client_id, challenge[resp->www_authenticate], allow, retry,
	    resp->link_next ? "Link: <" : "", resp->link_next ? resp->link_next : "",
	    resp->link_next ? ">; rel=\"next\"\r\n" : "");
	return n < 0 || (size_t)n >= buflen ? -1 : n;
}

void
response_free(struct response *resp)
{
	free(resp->body);
	resp->body = NULL;
	free(resp->link_next);
	resp->link_next = NULL;
	resp->body_len = 0;
}
