/* test_route.c: which paths reach the token list, and how the client_id segment is decoded. */
#include "../../src/api/route.h"

#include "../../src/core/tokenid.h"

#include <stdio.h>
#include <string.h>

#include "unit.h"

#define P "/admin/oauth/clients/"

/* Match path and, on success, copy the raw segment into seg. */
static enum aut_err
match(const char *path, char *seg, size_t seglen)
{
	struct route r;
	enum aut_err err;

	memset(&r, 0, sizeof(r));
	seg[0] = '\0';
	err = route_match(path, &r);
	if (err == AUT_OK) {
		snprintf(seg, seglen, "%.*s", (int)r.client_id_raw_len, r.client_id_raw);
		if (r.kind != ROUTE_CLIENT_TOKENS)
			return AUT_ERR_INTERNAL;
	}
	return err;
}

static void
test_match(void)
{
	char seg[256];

	CHECK_INT(match(P "cli_123/tokens", seg, sizeof(seg)), AUT_OK, "match: plain path");
	CHECK_STR(seg, "cli_123", "match: client_id segment");
	CHECK_INT(match(P "a%2Fb/tokens", seg, sizeof(seg)), AUT_OK,
	    "match: encoded slash stays one segment");
	CHECK_STR(seg, "a%2Fb", "match: segment is still percent-encoded");
	CHECK_INT(match(P "tokens/tokens", seg, sizeof(seg)), AUT_OK,
	    "match: a client called \"tokens\"");
	CHECK_STR(seg, "tokens", "match: client \"tokens\" segment");
	CHECK_INT(match(P "x/tokens", seg, sizeof(seg)), AUT_OK, "match: one-byte client_id");
	CHECK_STR(seg, "x", "match: one-byte segment");
}

static void
test_no_match(void)
{
	static const char *const paths[] = {
		"",
		"/",
		"/admin/oauth/clients",
		"/admin/oauth/clients/",
		P "/tokens",                 /* empty client segment */
		P "tokens",                  /* no client segment at all */
		P "x/tokens/",               /* trailing slash */
		P "x/tokens//",
		P "x/tokens/extra/more",     /* below a token id */
		P "x/y/tokens",              /* extra segment */
		P "x//tokens",
		P "x/token",
		P "x/tokensx",
		P "x/Tokens",
		P "x",
		P "x/",
		"/Admin/oauth/clients/x/tokens",
		"//admin/oauth/clients/x/tokens",
		"/api/admin/oauth/clients/x/tokens",
		"admin/oauth/clients/x/tokens",
		"/admin/oauth/client/x/tokens",
		"/admin/oauth/clients/x/tokens?page=1", /* query is cut before routing */
		"/admin/oauth/clientsx/tokens",
	};

	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		char seg[256];
		CHECK_INT(match(paths[i], seg, sizeof(seg)), AUT_ERR_NO_ROUTE,
		    "no route: \"%s\"", paths[i]);
	}
}

/* Decode raw into a buffer of ROUTE_CLIENT_ID_MAX + 1, as the handler does. */
static enum aut_err
decode(const char *raw, char out[ROUTE_CLIENT_ID_MAX + 1])
{
	return route_decode_client_id(raw, strlen(raw), out, ROUTE_CLIENT_ID_MAX + 1);
}

static void
test_decode_ok(void)
{
	static const struct { const char *raw, *want, *name; } cases[] = {
		{ "cli_123", "cli_123", "plain" },
		{ "%41%42", "AB", "upper-case hex" },
		{ "%61%6a%6A", "ajj", "lower- and mixed-case hex" },
		{ "a+b", "a+b", "'+' is not a space in a path" },
		{ "a%20b", "a b", "%20 is a space" },
		{ "%2F", "/", "%2F decodes to '/'" },
		{ "a%2fb", "a/b", "%2f decodes to '/'" },
		{ "%25", "%", "%25 decodes once, to '%'" },
		{ "%2541", "%41", "no double decoding" },
		{ "caf%C3%A9", "caf\xC3\xA9", "two-byte UTF-8 (U+00E9)" },
		{ "caf\xC3\xA9", "caf\xC3\xA9", "raw two-byte UTF-8" },
		{ "%E2%82%AC", "\xE2\x82\xAC", "three-byte UTF-8 (U+20AC)" },
		{ "%F0%9F%98%80", "\xF0\x9F\x98\x80", "four-byte UTF-8 (U+1F600)" },
		{ "%C2%80", "\xC2\x80", "smallest two-byte (U+0080)" },
		{ "%E0%A0%80", "\xE0\xA0\x80", "smallest three-byte (U+0800)" },
		{ "%ED%9F%BF", "\xED\x9F\xBF", "U+D7FF, just below the surrogates" },
		{ "%EE%80%80", "\xEE\x80\x80", "U+E000, just above the surrogates" },
		{ "%EF%BF%BF", "\xEF\xBF\xBF", "U+FFFF" },
		{ "%F0%90%80%80", "\xF0\x90\x80\x80", "smallest four-byte (U+10000)" },
		{ "%F4%8F%BF%BF", "\xF4\x8F\xBF\xBF", "largest code point U+10FFFF" },
		{ "~-._!$'()*,;=:@", "~-._!$'()*,;=:@", "sub-delims and unreserved pass" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char out[ROUTE_CLIENT_ID_MAX + 1];
		CHECK_INT(decode(cases[i].raw, out), AUT_OK, "decode ok: %s", cases[i].name);
		CHECK_STR(out, cases[i].want, "decode value: %s", cases[i].name);
	}
}

static void
test_decode_malformed_escape(void)
{
	static const char *const raws[] = {
		"%", "a%", "%4", "a%4", "%G1", "%1G", "%4g", "%%41", "% 41", "%+1", "%-1",
	};

	for (size_t i = 0; i < sizeof(raws) / sizeof(raws[0]); i++) {
		char out[ROUTE_CLIENT_ID_MAX + 1];
		CHECK_INT(decode(raws[i], out), AUT_ERR_BAD_PARAM,
		    "malformed escape \"%s\" is a bad parameter", raws[i]);
	}

	/* An escape cut by the segment's end: bytes after rawlen are not read. */
	char out[ROUTE_CLIENT_ID_MAX + 1];
	CHECK_INT(route_decode_client_id("a%41", 3, out, sizeof(out)), AUT_ERR_BAD_PARAM,
	    "escape cut by rawlen after two bytes");
	CHECK_INT(route_decode_client_id("a%41", 2, out, sizeof(out)), AUT_ERR_BAD_PARAM,
	    "escape cut by rawlen after one byte");

	/* The same through the router: the path's "/tokens" is not part of the escape. */
	struct route r;
	memset(&r, 0, sizeof(r));
	r.client_id_raw = "";
	CHECK_INT(route_match(P "a%4/tokens", &r), AUT_OK, "truncated escape: path matches");
	CHECK_INT(route_decode_client_id(r.client_id_raw, r.client_id_raw_len, out, sizeof(out)),
	    AUT_ERR_BAD_PARAM, "truncated escape at the end of the segment");
}

static void
test_decode_not_a_client_id(void)
{
	static const struct { const char *raw, *name; } cases[] = {
		{ "%00", "NUL byte" },
		{ "a%00b", "NUL byte inside" },
		{ "a%01", "control byte %01" },
		{ "a%0A", "line feed" },
		{ "a%0d", "carriage return" },
		{ "a%1F", "control byte %1F" },
		{ "a%7F", "DEL" },
		{ "a\tb", "raw tab" },
		{ "a\x7f", "raw DEL" },
		{ "%C0%AF", "overlong '/' (%C0%AF)" },
		{ "%C1%BF", "overlong two-byte (%C1)" },
		{ "%E0%80%AF", "overlong three-byte '/'" },
		{ "%E0%9F%BF", "overlong three-byte below U+0800" },
		{ "%F0%80%80%AF", "overlong four-byte '/'" },
		{ "%F0%8F%BF%BF", "overlong four-byte below U+10000" },
		{ "%ED%A0%80", "high surrogate U+D800" },
		{ "%ED%BF%BF", "low surrogate U+DFFF" },
		{ "%ED%A0%BD%ED%B8%80", "CESU-8 surrogate pair" },
		{ "%F4%90%80%80", "above U+10FFFF" },
		{ "%F5%80%80%80", "lead byte F5" },
		{ "%FF", "byte FF" },
		{ "%FE", "byte FE" },
		{ "%80", "lone continuation byte" },
		{ "a%BF", "continuation byte after ASCII" },
		{ "%C3", "truncated two-byte sequence" },
		{ "%C3a", "two-byte lead followed by ASCII" },
		{ "%E2%82", "truncated three-byte sequence" },
		{ "%F0%9F%98", "truncated four-byte sequence" },
		{ "caf\xC3", "raw truncated sequence at the end" },
		{ "\xC0\xAF", "raw overlong" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char out[ROUTE_CLIENT_ID_MAX + 1];
		CHECK_INT(decode(cases[i].raw, out), AUT_ERR_NO_CLIENT,
		    "not a client_id: %s", cases[i].name);
	}
}

static void
test_decode_length(void)
{
	static char raw[3 * (ROUTE_CLIENT_ID_MAX + 1) + 1];
	char out[ROUTE_CLIENT_ID_MAX + 1];

	memset(raw, 'a', ROUTE_CLIENT_ID_MAX);
	raw[ROUTE_CLIENT_ID_MAX] = '\0';
	CHECK_INT(decode(raw, out), AUT_OK, "length: exactly ROUTE_CLIENT_ID_MAX bytes");
	CHECK_U64(strlen(out), ROUTE_CLIENT_ID_MAX, "length: all bytes kept");

	memset(raw, 'a', ROUTE_CLIENT_ID_MAX + 1);
	raw[ROUTE_CLIENT_ID_MAX + 1] = '\0';
	CHECK_INT(decode(raw, out), AUT_ERR_NO_CLIENT, "length: one byte too long");
	CHECK(strlen(out) <= ROUTE_CLIENT_ID_MAX, "length: output stays NUL-terminated in bounds");

	for (size_t i = 0; i < ROUTE_CLIENT_ID_MAX; i++)
		memcpy(raw + 3 * i, "%41", 3);
	raw[3 * ROUTE_CLIENT_ID_MAX] = '\0';
	CHECK_INT(decode(raw, out), AUT_OK,
	    "length: ROUTE_CLIENT_ID_MAX decoded bytes from three times as many raw");
	memcpy(raw + 3 * ROUTE_CLIENT_ID_MAX, "%41", 4);
	CHECK_INT(decode(raw, out), AUT_ERR_NO_CLIENT, "length: decoded one byte too long");

	CHECK_INT(route_decode_client_id("abc", 0, out, sizeof(out)), AUT_ERR_NO_CLIENT,
	    "length: empty client_id");
	CHECK_INT(route_decode_client_id("abcdef", 3, out, sizeof(out)), AUT_OK,
	    "length: only rawlen bytes are read");
	CHECK_STR(out, "abc", "length: stops at rawlen");

	char small[4];
	CHECK_INT(route_decode_client_id("abcd", 4, small, sizeof(small)), AUT_ERR_NO_CLIENT,
	    "length: does not fit a 4-byte buffer");
	CHECK_INT(route_decode_client_id("abc", 3, small, sizeof(small)), AUT_OK,
	    "length: fits a 4-byte buffer");
}

/* Issue 6: /tokens/{token_id} and the token id's form. */
static void
test_token_route(void)
{
	struct route r;
	unsigned char id[TOKEN_ID_BYTES];
	const char *good = "tok_00112233445566778899aabbccddeeff";

	CHECK_INT(route_match(P "cli/tokens/tok_abc", &r), AUT_OK, "token route: matches");
	CHECK_INT(r.kind, ROUTE_CLIENT_TOKEN, "token route: kind");
	CHECK_INT((long long)r.token_id_raw_len, 7, "token route: id segment length");
	CHECK_INT((long long)r.client_id_raw_len, 3, "token route: client segment length");
	CHECK_INT(route_match(P "cli/tokens", &r), AUT_OK, "collection route: matches");
	CHECK_INT(r.kind, ROUTE_CLIENT_TOKENS, "collection route: kind");
	CHECK_STR(route_allowed_methods(ROUTE_CLIENT_TOKENS), "GET, HEAD, DELETE", "Allow: collection");
	CHECK_STR(route_allowed_methods(ROUTE_CLIENT_TOKEN), "DELETE", "Allow: one token");

	CHECK_INT(token_id_parse(good, strlen(good), id), 0, "token id: decodes");
	CHECK_INT(id[0], 0x00, "token id: first byte");
	CHECK_INT(id[15], 0xff, "token id: last byte");
	CHECK_INT(token_id_parse("tok_00112233445566778899AABBCCDDEEFF", 36, id), 0,
	    "token id: upper-case hex accepted");
	CHECK_INT(token_id_parse("tok_00112233445566778899aabbccddeef", 35, id), -1,
	    "token id: one digit short");
	CHECK_INT(token_id_parse("tok_00112233445566778899aabbccddeeffa", 37, id), -1,
	    "token id: one digit long");
	CHECK_INT(token_id_parse("tik_00112233445566778899aabbccddeeff", 36, id), -1,
	    "token id: wrong prefix");
	CHECK_INT(token_id_parse("tok_0011223344556677889%aabbccddeeff", 36, id), -1,
	    "token id: not hex");
}

/* The log line's path: a token id segment that is no token id is left out. */
static void
test_log_path(void)
{
	static const struct { const char *path, *want; } cases[] = {
		{ "/admin/oauth/clients/c1/tokens/h2-secret-token-text",
		  "/admin/oauth/clients/c1/tokens/{not-a-token-id}" },
		{ "/admin/oauth/clients/c%2F1/tokens/tok_0011",
		  "/admin/oauth/clients/c%2F1/tokens/{not-a-token-id}" },
		{ "/admin/oauth/clients/c1/tokens/tok_00112233445566778899aabbccddeeff",
		  "/admin/oauth/clients/c1/tokens/tok_00112233445566778899aabbccddeeff" },
		{ "/admin/oauth/clients/c1/tokens", "/admin/oauth/clients/c1/tokens" },
		{ "/admin/oauth/clients/c1/tokens/sec/ret",
		  "/admin/oauth/clients/c1/tokens/{not-a-token-id}" },
		{ "/admin/oauth/clients/c1/tokens/", "/admin/oauth/clients/c1/tokens/" },
		{ "/admin/oauth/clients/c1/tokenz/secret", "/admin/oauth/clients/c1/tokenz/secret" },
		{ "/elsewhere/secret", "/elsewhere/secret" },
	};
	char out[128], small[20];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		CHECK_STR(route_log_path(cases[i].path, out, sizeof(out)), cases[i].want,
		    "log path of %s", cases[i].path);
	CHECK_STR(route_log_path("/admin/oauth/clients/c1/tokens/secret", small, sizeof(small)),
	    "/admin/oauth/client", "log path cut to its buffer, the secret left out");
}

int
main(void)
{
	test_match();
	test_no_match();
	test_decode_ok();
	test_decode_malformed_escape();
	test_decode_not_a_client_id();
	test_decode_length();
	test_token_route();
	test_log_path();
	return unit_done();
}
