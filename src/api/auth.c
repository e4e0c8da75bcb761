/* auth.c: Bearer credential parsing, SHA-256 hashing, administrator check. */
#include "auth.h"

#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "../core/log.h"

/* RFC 6750 b64token: 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=" */
static int
valid_b64token(const char *t, size_t n)
{
	size_t i = 0;

	while (i < n && (((t[i] | 0x20) >= 'a' && (t[i] | 0x20) <= 'z') ||
	    (t[i] >= '0' && t[i] <= '9') || strchr("-._~+/", t[i]) != NULL))
		i++;
	if (i == 0)
		return 0;
	while (i < n && t[i] == '=')
		i++;
	return i == n;
}

/*
 * SHA-256 through an algorithm fetched once: EVP_sha256() in EVP_Digest()
 * makes OpenSSL 3 look the implementation up again on every call (3 % of a
 * worker's CPU on a page-1 list, perf).
 */
static enum aut_err
sha256(const void *data, size_t len, unsigned char out[32])
{
	static EVP_MD *md;
	unsigned int outlen = 0;

	if ((md == NULL && (md = EVP_MD_fetch(NULL, "SHA256", NULL)) == NULL) ||
	    EVP_Digest(data, len, out, &outlen, md, NULL) != 1 || outlen != 32) {
		log_error("bearer token: SHA-256 failed in OpenSSL");
		return AUT_ERR_INTERNAL;
	}
	return AUT_OK;
}

enum aut_err
auth_parse_bearer(const char *header, unsigned char hash[32])
{
	static const char scheme[] = "Bearer";
	size_t slen = sizeof(scheme) - 1;

	if (header == NULL || header[0] == '\0')
		return AUT_ERR_NO_CREDENTIAL;

	size_t len = strnlen(header, AUTH_HEADER_MAX + 1);
	size_t word = strcspn(header, " \t");
	if (word != slen || strncasecmp(header, scheme, slen) != 0)
		return AUT_ERR_NO_CREDENTIAL;
	if (len > AUTH_HEADER_MAX || header[slen] != ' ')
		return AUT_ERR_INVALID_TOKEN;

	const char *token = header + slen + 1;
	size_t tlen = len - slen - 1;
	if (!valid_b64token(token, tlen))
		return AUT_ERR_INVALID_TOKEN;

	return sha256(token, tlen, hash);
}

enum aut_err
auth_require_admin(struct store *st, const unsigned char hash[32],
    const char *client_id, time_t now, struct authorization *authz)
{
	enum aut_err err = store_authorize(st, hash, client_id, now, authz);

	if (err != AUT_OK)
		return err;
	if (!authz->token_live)
		return AUT_ERR_INVALID_TOKEN;
	if (!authz->who.has_user || !authz->who.is_admin)
		return AUT_ERR_FORBIDDEN;
	return AUT_OK;
}
