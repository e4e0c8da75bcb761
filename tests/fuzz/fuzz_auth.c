/* fuzz_auth.c: libFuzzer harness for the Authorization header (auth_parse_bearer). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/sha.h>

#include "../../src/api/auth.h"
#include "fuzz.h"

/* The input is the header value, as the server passes HTTP_AUTHORIZATION (a C string). */

static int
b64token_char(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	    c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/';
}

/* Reference: RFC 6750 b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=" */
static int
model_b64token(const char *t, size_t n)
{
	size_t i = 0;

	while (i < n && b64token_char((unsigned char)t[i]))
		i++;
	if (i == 0)
		return 0;
	while (i < n && t[i] == '=')
		i++;
	return i == n;
}

/* Reference classification, from auth.h. */
static enum aut_err
model_parse(const char *h)
{
	size_t len = strlen(h);

	if (len == 0)
		return AUT_ERR_NO_CREDENTIAL;
	/* The scheme is the first word, ended by a space, a tab or the end. */
	size_t w = 0;
	while (h[w] != '\0' && h[w] != ' ' && h[w] != '\t')
		w++;
	if (w != 6 || strncasecmp(h, "bearer", 6) != 0)
		return AUT_ERR_NO_CREDENTIAL;
	if (len > AUTH_HEADER_MAX || h[6] != ' ')
		return AUT_ERR_INVALID_TOKEN;
	return model_b64token(h + 7, len - 7) ? AUT_OK : AUT_ERR_INVALID_TOKEN;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *h = fuzz_cstring(data, size);
	unsigned char hash[32], want[32];

	if (size == 0)
		CHECK(auth_parse_bearer(NULL, hash) == AUT_ERR_NO_CREDENTIAL);

	memset(hash, 0, sizeof(hash));
	enum aut_err err = auth_parse_bearer(h, hash);
	CHECK(err == AUT_OK || err == AUT_ERR_NO_CREDENTIAL || err == AUT_ERR_INVALID_TOKEN);
	CHECK(err == model_parse(h));
	if (err == AUT_OK) {
		/* SHA-256 of exactly the token text: no scheme, no space, nothing cut. */
		size_t len = strlen(h);
		CHECK(len <= AUTH_HEADER_MAX);
		SHA256((const unsigned char *)h + 7, len - 7, want);
		CHECK(memcmp(hash, want, 32) == 0);
	}
	free(h);
	return 0;
}
