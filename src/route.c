/* route.c: path matching and percent-decoding of the client_id segment. */
#include "route.h"

#include <string.h>

#include "tokenid.h"

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

/* Strict UTF-8 (no overlongs, no surrogates, nothing above U+10FFFF). */
static int
valid_utf8(const unsigned char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		unsigned char c = s[i];
		size_t more;
		unsigned long cp;

		if (c < 0x80) {
			i++;
			continue;
		} else if (c >= 0xC2 && c <= 0xDF) {
			more = 1; cp = c & 0x1F;
		} else if (c >= 0xE0 && c <= 0xEF) {
			more = 2; cp = c & 0x0F;
		} else if (c >= 0xF0 && c <= 0xF4) {
			more = 3; cp = c & 0x07;
		} else {
			return 0;
		}
		if (n - i <= more)
			return 0;
		for (size_t k = 1; k <= more; k++) {
			if ((s[i + k] & 0xC0) != 0x80)
				return 0;
			cp = (cp << 6) | (s[i + k] & 0x3F);
		}
		if ((more == 2 && cp < 0x800) || (more == 3 && cp < 0x10000) ||
		    cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
			return 0;
		i += more + 1;
	}
	return 1;
}

enum aut_err
route_decode_client_id(const char *raw, size_t rawlen, char *out, size_t outlen)
{
	size_t o = 0;
	int too_long = 0, control = 0;

	for (size_t i = 0; i < rawlen; i++) {
		unsigned char c = (unsigned char)raw[i];

		if (c == '%') {
			if (rawlen - i < 3)
				return AUT_ERR_BAD_PARAM;
			int h = hex_digit((unsigned char)raw[i + 1]);
			int l = hex_digit((unsigned char)raw[i + 2]);
			if (h < 0 || l < 0)
				return AUT_ERR_BAD_PARAM;
			c = (unsigned char)(h * 16 + l);
			i += 2;
		}
		if (c < 0x20 || c == 0x7F)
			control = 1;
		if (o + 1 >= outlen)
			too_long = 1;
		else
			out[o++] = (char)c;
	}
	out[o] = '\0';
	if (too_long || control || o == 0 || !valid_utf8((const unsigned char *)out, o))
		return AUT_ERR_NO_CLIENT;
	return AUT_OK;
}

int
route_decode_token_id(const char *raw, size_t rawlen,
    unsigned char out[ROUTE_TOKEN_ID_BYTES])
{
	return token_id_parse(raw, rawlen, out);
}
