/* test_text.c: the shared text module: decimals with bounds, UTF-8, ids, hex, percent-decoding, files. */
#include "../../src/core/text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "unit.h"

static void
test_decimal(void)
{
	uint64_t v = 7;

	CHECK_INT(text_parse_decimal("42", 2, 1, 100, &v), 0, "decimal: 42 in [1, 100]");
	CHECK_U64(v, 42, "decimal: value");
	CHECK_INT(text_parse_decimal("007", 3, 0, 10, &v), 0, "decimal: leading zeros");
	CHECK_U64(v, 7, "decimal: leading zeros value");
	CHECK_INT(text_parse_decimal("1", 1, 1, 1, &v), 0, "decimal: min = max");
	CHECK_INT(text_parse_decimal("0", 1, 1, 10, &v), TEXT_OUT_OF_RANGE, "decimal: below min");
	CHECK_INT(text_parse_decimal("11", 2, 1, 10, &v), TEXT_OUT_OF_RANGE, "decimal: above max");
	CHECK_INT(text_parse_decimal("", 0, 0, 10, &v), TEXT_MALFORMED, "decimal: empty");
	CHECK_INT(text_parse_decimal("-1", 2, 0, 10, &v), TEXT_MALFORMED, "decimal: sign");
	CHECK_INT(text_parse_decimal("+1", 2, 0, 10, &v), TEXT_MALFORMED, "decimal: plus sign");
	CHECK_INT(text_parse_decimal(" 1", 2, 0, 10, &v), TEXT_MALFORMED, "decimal: blank");
	CHECK_INT(text_parse_decimal("1x", 2, 0, 10, &v), TEXT_MALFORMED, "decimal: trailing junk");
	CHECK_INT(text_parse_decimal("12", 1, 0, 10, &v), 0, "decimal: reads only n bytes");
	CHECK_U64(v, 1, "decimal: n bytes value");
	CHECK_INT(text_parse_decimal("18446744073709551615", 20, 0, UINT64_MAX, &v), 0,
	    "decimal: UINT64_MAX");
	CHECK_U64(v, UINT64_MAX, "decimal: UINT64_MAX value");
	CHECK_INT(text_parse_decimal("18446744073709551616", 20, 0, UINT64_MAX, &v),
	    TEXT_OUT_OF_RANGE, "decimal: UINT64_MAX + 1 overflows to out of range");
	CHECK_INT(text_parse_decimal("99999999999999999999999x", 24, 0, UINT64_MAX, &v),
	    TEXT_MALFORMED, "decimal: junk after an overflow is still malformed");
	v = 5;
	text_parse_decimal("x", 1, 0, 10, &v);
	CHECK_U64(v, 5, "decimal: *out untouched on failure");
}

static void
test_utf8(void)
{
	static const struct { const char *s; int ok; const char *name; } cases[] = {
		{ "", 1, "empty" },
		{ "plain ASCII", 1, "ASCII" },
		{ "caf\xC3\xA9", 1, "two-byte" },
		{ "\xE2\x82\xAC", 1, "three-byte (euro)" },
		{ "\xF0\x9F\x98\x80", 1, "four-byte (emoji)" },
		{ "\xF4\x8F\xBF\xBF", 1, "U+10FFFF" },
		{ "\xC0\xAF", 0, "overlong two-byte" },
		{ "\xE0\x80\xAF", 0, "overlong three-byte" },
		{ "\xF0\x80\x80\xAF", 0, "overlong four-byte" },
		{ "\xED\xA0\x80", 0, "surrogate U+D800" },
		{ "\xF4\x90\x80\x80", 0, "above U+10FFFF" },
		{ "\xF5\x80\x80\x80", 0, "lead byte F5" },
		{ "\x80", 0, "lone continuation" },
		{ "\xC3", 0, "truncated two-byte" },
		{ "\xE2\x82", 0, "truncated three-byte" },
		{ "\xC3(", 0, "bad continuation" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		CHECK_INT(text_utf8_valid(cases[i].s, strlen(cases[i].s)), cases[i].ok,
		    "utf8: %s", cases[i].name);
	/* A valid character cut by n is invalid. */
	CHECK_INT(text_utf8_valid("\xE2\x82\xAC", 2), 0, "utf8: sequence cut by n");

	const unsigned char *p = (const unsigned char *)"\xC3\xA9x", *start = p;
	uint32_t cp = 0;
	CHECK(text_utf8_next(&p, start + 3, &cp), "utf8 next: decodes");
	CHECK_U64(cp, 0xE9, "utf8 next: code point U+00E9");
	CHECK_INT(p - start, 2, "utf8 next: moves past the character");
	p = (const unsigned char *)"\xC0\xAF";
	start = p;
	CHECK(!text_utf8_next(&p, start + 2, &cp), "utf8 next: refuses an overlong");
	CHECK(p == start, "utf8 next: does not move on failure");
}

static void
test_ids(void)
{
	char max[65];

	memset(max, 'a', 64);
	max[64] = '\0';
	CHECK(text_is_id("usr_A-1.z", 9, 64), "id: letters, digits, _ - .");
	CHECK(text_is_id(max, 64, 64), "id: 64 characters");
	CHECK(!text_is_id(max, 64, 63), "id: longer than max");
	CHECK(!text_is_id("", 0, 64), "id: empty");
	CHECK(!text_is_id("a b", 3, 64), "id: space");
	CHECK(!text_is_id("a/b", 3, 64), "id: slash");
	CHECK(!text_is_id("a@b", 3, 64), "id: @");
	CHECK(!text_is_id("a\0b", 3, 64), "id: NUL inside n");
	CHECK(!text_is_id("caf\xC3\xA9", 5, 64), "id: non-ASCII");
}

static void
test_hex(void)
{
	static const unsigned char bytes[] = { 0x00, 0x1f, 0xab, 0xff };
	char out[9];

	CHECK_INT(text_hex_digit('0'), 0, "hex: 0");
	CHECK_INT(text_hex_digit('9'), 9, "hex: 9");
	CHECK_INT(text_hex_digit('a'), 10, "hex: a");
	CHECK_INT(text_hex_digit('F'), 15, "hex: F");
	CHECK_INT(text_hex_digit('g'), -1, "hex: g");
	CHECK_INT(text_hex_digit('/'), -1, "hex: /");
	text_hex_encode(bytes, sizeof(bytes), out);
	CHECK_STR(out, "001fabff", "hex: encode, lowercase");
}

static void
test_percent(void)
{
	char out[16];

	CHECK_INT(text_percent_decode("a+b%41%6a", 9, true, out, sizeof(out)), 5,
	    "form decode: length");
	CHECK_STR(out, "a bAj", "form decode: '+' is a space, %%XX both cases");
	CHECK_INT(text_percent_decode("a+b%2B", 6, false, out, sizeof(out)), 4,
	    "path decode: length");
	CHECK_STR(out, "a+b+", "path decode: '+' stays '+'");
	CHECK_INT(text_percent_decode("", 0, true, out, sizeof(out)), 0, "decode: empty");
	CHECK_STR(out, "", "decode: empty output");
	CHECK_INT(text_percent_decode("abcdef", 3, true, out, sizeof(out)), 3,
	    "decode: reads only n bytes");
	CHECK_STR(out, "abc", "decode: stops at n");
	CHECK_INT(text_percent_decode("%4", 2, true, out, sizeof(out)), TEXT_MALFORMED,
	    "decode: truncated escape");
	CHECK_INT(text_percent_decode("%41", 2, true, out, sizeof(out)), TEXT_MALFORMED,
	    "decode: escape cut by n");
	CHECK_INT(text_percent_decode("%g1", 3, true, out, sizeof(out)), TEXT_MALFORMED,
	    "decode: non-hex escape");
	CHECK_INT(text_percent_decode("%00", 3, false, out, sizeof(out)), 1,
	    "decode: %%00 is one byte");
	CHECK_INT(out[0], 0, "decode: %%00 is a NUL");
	CHECK_INT(text_percent_decode("0123456789abcde", 15, true, out, sizeof(out)), 15,
	    "decode: 15 bytes fit 16");
	CHECK_INT(text_percent_decode("0123456789abcdef", 16, true, out, sizeof(out)),
	    TEXT_OUT_OF_RANGE, "decode: 16 bytes do not fit 16");
	CHECK_STR(out, "0123456789abcde", "decode: too long keeps what fit, NUL-terminated");
	CHECK_INT(text_percent_decode("0123456789abcdef%zz", 19, true, out, sizeof(out)),
	    TEXT_MALFORMED, "decode: a bad escape after the end of room is still malformed");
}

static void
test_percent_encode(void)
{
	char out[16], back[16];

	CHECK_INT(text_percent_encode("Az09-._~", 8, out, sizeof(out)), 8,
	    "encode: unreserved characters stay");
	CHECK_STR(out, "Az09-._~", "encode: unreserved output");
	CHECK_INT(text_percent_encode("a/b c%", 6, out, sizeof(out)), 12,
	    "encode: '/', ' ' and '%%' escaped");
	CHECK_STR(out, "a%2Fb%20c%25", "encode: uppercase hex");
	CHECK_INT(text_percent_encode("\xc3\xa9\n", 3, out, sizeof(out)), 9,
	    "encode: UTF-8 and control bytes escaped byte by byte");
	CHECK_STR(out, "%C3%A9%0A", "encode: UTF-8 output");
	CHECK_INT(text_percent_decode(out, 9, false, back, sizeof(back)), 3,
	    "encode: decodes back");
	CHECK_INT(memcmp(back, "\xc3\xa9\n", 3), 0, "encode: same bytes back");
	CHECK_INT(text_percent_encode("", 0, out, sizeof(out)), 0, "encode: empty");
	CHECK_INT(text_percent_encode("0123456789abcde", 15, out, sizeof(out)), 15,
	    "encode: 15 bytes fit 16");
	CHECK_INT(text_percent_encode("0123456789abcdef", 16, out, sizeof(out)),
	    TEXT_OUT_OF_RANGE, "encode: 16 do not fit 16");
	CHECK_INT(text_percent_encode("0123456789abcd/", 15, out, sizeof(out)),
	    TEXT_OUT_OF_RANGE, "encode: an escape that would not fit");
	CHECK_INT(text_percent_encode("a", 1, out, 0), TEXT_OUT_OF_RANGE, "encode: no room");
}

static void
test_read_file(void)
{
	const char *tmp = getenv("TMPDIR");
	char dir[256], path[512], err[700];
	char *text = NULL, big[10000];
	size_t len = 99;

	snprintf(dir, sizeof(dir), "%s/test_text.XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
	if (mkdtemp(dir) == NULL) {
		CHECK(0, "read file: temporary directory");
		return;
	}
	snprintf(path, sizeof(path), "%s/missing", dir);
	CHECK_INT(text_read_file(path, 100, &text, &len, err, sizeof(err)), -1,
	    "read file: missing file fails");
	CHECK_CONTAINS(err, path, "read file: message names the file");
	CHECK_CONTAINS(err, "cannot open", "read file: message says why");
	CHECK(text == NULL, "read file: no buffer on failure");

	CHECK_INT(unit_write_file(dir, "empty", "", 0, path, sizeof(path)), 0,
	    "read file: wrote empty");
	CHECK_INT(text_read_file(path, 100, &text, &len, err, sizeof(err)), 0,
	    "read file: empty file");
	CHECK_U64(len, 0, "read file: empty length");
	CHECK(text != NULL && text[0] == '\0', "read file: empty is an empty string");
	free(text);
	unlink(path);

	memset(big, 'x', sizeof(big));
	big[5000] = '\0';   /* a NUL inside is kept: len counts it */
	CHECK_INT(unit_write_file(dir, "big", big, sizeof(big), path, sizeof(path)), 0,
	    "read file: wrote 10000 bytes");
	CHECK_INT(text_read_file(path, sizeof(big), &text, &len, err, sizeof(err)), 0,
	    "read file: exactly max bytes");
	CHECK_U64(len, sizeof(big), "read file: all bytes past the first buffer");
	CHECK(text != NULL && memcmp(text, big, sizeof(big)) == 0 && text[len] == '\0',
	    "read file: content, NUL after it");
	free(text);
	text = NULL;
	CHECK_INT(text_read_file(path, sizeof(big) - 1, &text, &len, err, sizeof(err)), -1,
	    "read file: one byte over max refused");
	CHECK_CONTAINS(err, "larger than", "read file: too large says so");
	CHECK(text == NULL, "read file: too large gives no buffer");
	unlink(path);
	rmdir(dir);
}

int
main(void)
{
	test_decimal();
	test_utf8();
	test_ids();
	test_hex();
	test_percent();
	test_percent_encode();
	test_read_file();
	return unit_done();
}
