/* test_auth.c: the Authorization header: Bearer parsing, rejects, and the SHA-256 of the token. */
#include "../../src/api/auth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"

/* Hash as lower-case hex, or "" when parsing failed. */
static enum aut_err
parse_hex(const char *header, char hex[65])
{
	unsigned char hash[32];
	enum aut_err err;

	memset(hash, 0, sizeof(hash));
	hex[0] = '\0';
	err = auth_parse_bearer(header, hash);
	if (err == AUT_OK) {
		for (size_t i = 0; i < 32; i++)
			snprintf(hex + 2 * i, 3, "%02x", hash[i]);
	}
	return err;
}

static void
test_no_credential(void)
{
	static const char *const headers[] = {
		"",
		"Basic dXNlcjpwYXNz",
		"basic abc",
		"Digest username=\"a\"",
		"Token abc",
		"Bearerabc",            /* no separator: scheme "Bearerabc" */
		"Bearer_abc",
		"Bearerx abc",
		"Beare abc",
		" Bearer abc",          /* leading blank: no scheme word */
		"abc",
	};
	char hex[65];

	CHECK_INT(parse_hex(NULL, hex), AUT_ERR_NO_CREDENTIAL, "NULL header: no credential");
	for (size_t i = 0; i < sizeof(headers) / sizeof(headers[0]); i++)
		CHECK_INT(parse_hex(headers[i], hex), AUT_ERR_NO_CREDENTIAL,
		    "no Bearer credential: \"%s\"", headers[i]);
	CHECK_INT(error_http_status(AUT_ERR_NO_CREDENTIAL), 401, "no credential is a 401");
}

static void
test_scheme_case(void)
{
	char hex[65];

	CHECK_INT(parse_hex("Bearer abc", hex), AUT_OK, "\"Bearer\" accepted");
	CHECK_INT(parse_hex("bearer abc", hex), AUT_OK, "\"bearer\" accepted");
	CHECK_INT(parse_hex("BEARER abc", hex), AUT_OK, "\"BEARER\" accepted");
	CHECK_INT(parse_hex("bEaReR abc", hex), AUT_OK, "\"bEaReR\" accepted");
}

static void
test_invalid_token(void)
{
	static const struct { const char *header, *name; } cases[] = {
		{ "Bearer", "scheme without token" },
		{ "Bearer ", "empty token" },
		{ "Bearer  abc", "two spaces" },
		{ "Bearer\tabc", "tab instead of space" },
		{ "Bearer \tabc", "space then tab" },
		{ "Bearer abc ", "trailing space" },
		{ "Bearer abc\t", "trailing tab" },
		{ "Bearer ab c", "space inside the token" },
		{ "Bearer abc def", "two words" },
		{ "Bearer abc,def", "comma" },
		{ "Bearer abc;", "semicolon" },
		{ "Bearer \"abc\"", "quoted token" },
		{ "Bearer abc:def", "colon" },
		{ "Bearer abc*", "asterisk" },
		{ "Bearer a%20b", "percent" },
		{ "Bearer abc\r\n", "CR LF" },
		{ "Bearer abc\x7f", "DEL" },
		{ "Bearer abc\x01", "control byte" },
		{ "Bearer caf\xC3\xA9", "non-ASCII (UTF-8)" },
		{ "Bearer \xFF\xFE", "non-ASCII bytes" },
		{ "Bearer =", "padding only" },
		{ "Bearer ==abc", "padding first" },
		{ "Bearer ab=c", "padding in the middle" },
		{ "Bearer abc=d=", "padding then more token" },
		{ "Bearer @abc", "'@'" },
		{ "Bearer [abc]", "brackets" },
		{ "Bearer `abc`", "backticks" },
	};
	char hex[65];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		CHECK_INT(parse_hex(cases[i].header, hex), AUT_ERR_INVALID_TOKEN,
		    "invalid token: %s", cases[i].name);
	CHECK_INT(error_http_status(AUT_ERR_INVALID_TOKEN), 401, "invalid token is a 401");
}

static void
test_valid_token_characters(void)
{
	static const char *const headers[] = {
		"Bearer abc=",
		"Bearer abc==",
		"Bearer abc=====",
		"Bearer A-Za-z0-9._~+/",
		"Bearer ~",
		"Bearer +/+/",
		"Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl",
		"Bearer demo_admin_acme_0001",
	};
	char hex[65];

	for (size_t i = 0; i < sizeof(headers) / sizeof(headers[0]); i++)
		CHECK_INT(parse_hex(headers[i], hex), AUT_OK, "valid b64token: \"%s\"", headers[i]);
}

static void
test_hash(void)
{
	char hex[65];

	CHECK_INT(parse_hex("Bearer abc", hex), AUT_OK, "hash: parsed");
	CHECK_STR(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
	    "hash is SHA-256 of the token text: sha256(\"abc\")");
	CHECK_INT(parse_hex("bearer abc", hex), AUT_OK, "hash: lower-case scheme parsed");
	CHECK_STR(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
	    "hash does not depend on the scheme's case");
	CHECK_INT(parse_hex("Bearer abc=", hex), AUT_OK, "hash: padded token parsed");
	CHECK_STR(hex, "894b2bd86b2154d5f8b98042c6d06982e260c762d16583584dc71e3f005fe9f6",
	    "hash: padding '=' is part of the hashed text: sha256(\"abc=\")");
	CHECK_INT(parse_hex("Bearer abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
	    hex), AUT_OK, "hash: 56-byte token parsed");
	CHECK_STR(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
	    "hash: SHA-256 test vector of the 56-byte message");
}

static void
test_length(void)
{
	char *h = malloc(AUTH_HEADER_MAX + 2);
	char hex[65];

	if (h == NULL) {
		CHECK(0, "length: malloc");
		return;
	}
	memcpy(h, "Bearer ", 7);
	memset(h + 7, 'a', AUTH_HEADER_MAX - 7);
	h[AUTH_HEADER_MAX] = '\0';
	CHECK_INT(parse_hex(h, hex), AUT_OK, "length: header of exactly AUTH_HEADER_MAX bytes");
	h[AUTH_HEADER_MAX] = 'a';
	h[AUTH_HEADER_MAX + 1] = '\0';
	CHECK_INT(parse_hex(h, hex), AUT_ERR_INVALID_TOKEN,
	    "length: one byte over AUTH_HEADER_MAX is an invalid token");
	memcpy(h, "Basic  ", 7);
	CHECK_INT(parse_hex(h, hex), AUT_ERR_NO_CREDENTIAL,
	    "length: an oversized Basic header is still no Bearer credential");
	free(h);
}

int
main(void)
{
	test_no_credential();
	test_scheme_case();
	test_invalid_token();
	test_valid_token_characters();
	test_hash();
	test_length();
	return unit_done();
}
