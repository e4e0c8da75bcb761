/* route.c: path matching, percent-decoding of the client_id segment, the path as logged. */
#include "route.h"

#include <stdio.h>
#include <string.h>

#include "../core/text.h"
#include "../core/tokenid.h"

#define PREFIX "/admin/oauth/clients/"
#define SUFFIX "/tokens"

enum aut_err
route_match(const char *path, struct route *out)
{
	size_t plen = strlen(PREFIX), slen = strlen(SUFFIX);
	const char *seg, *rest;

	memset(out, 0, sizeof(*out));
	if (strncmp(path, PREFIX, plen) != 0)
		return AUT_ERR_NO_ROUTE;
	seg = path + plen;
	rest = strchr(seg, '/');
	if (rest == NULL || rest == seg || strncmp(rest, SUFFIX, slen) != 0)
		return AUT_ERR_NO_ROUTE;
	out->client_id_raw = seg;
	out->client_id_raw_len = (size_t)(rest - seg);
	rest += slen;
	if (*rest == '\0') {
		out->kind = ROUTE_CLIENT_TOKENS;
		return AUT_OK;
	}
	/* /tokens/{token_id}: one more non-empty segment, nothing after it. */
	if (rest[0] != '/' || rest[1] == '\0' || strchr(rest + 1, '/') != NULL)
		return AUT_ERR_NO_ROUTE;
	out->kind = ROUTE_CLIENT_TOKEN;
	out->token_id_raw = rest + 1;
	out->token_id_raw_len = strlen(rest + 1);
	return AUT_OK;
}

const char *
route_allowed_methods(enum route_kind kind)
{
	return kind == ROUTE_CLIENT_TOKENS ? "GET, HEAD, DELETE" : "DELETE";
}

const char *
route_log_path(const char *path, char *out, size_t outlen)
{
	size_t plen = strlen(PREFIX), slen = strlen(SUFFIX "/");
	unsigned char id[TOKEN_ID_BYTES];
	const char *rest;

	if (strncmp(path, PREFIX, plen) != 0 || (rest = strchr(path + plen, '/')) == NULL ||
	    strncmp(rest, SUFFIX "/", slen) != 0)
		return path;
	rest += slen;              /* what stands where a token id goes */
	if (*rest == '\0' || token_id_parse(rest, strlen(rest), id) == 0 || outlen == 0)
		return path;
	snprintf(out, outlen, "%.*s{not-a-token-id}", (int)(rest - path), path);
	return out;
}

enum aut_err
route_decode_client_id(const char *raw, size_t rawlen, char *out, size_t outlen)
{
	long n = text_percent_decode(raw, rawlen, false, out, outlen);

	if (n == TEXT_MALFORMED)
		return AUT_ERR_BAD_PARAM;
	if (n <= 0)
		return AUT_ERR_NO_CLIENT;   /* empty, or too long */
	for (long i = 0; i < n; i++)
		if ((unsigned char)out[i] < 0x20 || out[i] == 0x7F)
			return AUT_ERR_NO_CLIENT;   /* NUL and other control bytes */
	return text_utf8_valid(out, (size_t)n) ? AUT_OK : AUT_ERR_NO_CLIENT;
}
