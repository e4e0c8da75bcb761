/* test_cursor.c: page cursors: round trips, and refusal of every altered, foreign or malformed cursor. */
#include "../../src/core/cursor.h"

#include <stdio.h>
#include <string.h>

#include "unit.h"

static const unsigned char key[CURSOR_KEY_BYTES] = "0123456789abcdef0123456789abcdef";

static void
test_round_trip(void)
{
	struct cursor_scope scope = { .client_pk = 42, .user_id = "", .token_type = 0 };
	static const struct cursor_position cases[] = {
		{ 0, 0 }, { 1767225600, 1 }, { -1, UINT64_MAX }, { INT64_MAX, 123456789 },
		{ INT64_MIN, 7 },
	};
	char text[CURSOR_TEXT_MAX];
	struct cursor_position got;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cursor_encode(key, &scope, &cases[i], text);
		CHECK_INT((int)strlen(text), CURSOR_TEXT_LEN, "round trip %zu: length", i);
		CHECK_INT((int)strspn(text, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		    "0123456789-_"), CURSOR_TEXT_LEN, "round trip %zu: base64url only", i);
		memset(&got, 0, sizeof(got));
		CHECK_INT(cursor_decode(key, &scope, text, strlen(text), &got), 0,
		    "round trip %zu: accepted", i);
		CHECK_INT(got.created_at == cases[i].created_at && got.id == cases[i].id, 1,
		    "round trip %zu: same position", i);
	}
}

/* Made for one scope, refused for every other. */
static void
test_bound_to_scope(void)
{
	struct cursor_scope made = { .client_pk = 7, .user_id = "usr_1", .token_type = 1 };
	struct cursor_scope other[] = {
		{ .client_pk = 8, .user_id = "usr_1", .token_type = 1 },
		{ .client_pk = 7, .user_id = "usr_2", .token_type = 1 },
		{ .client_pk = 7, .user_id = "", .token_type = 1 },
		{ .client_pk = 7, .user_id = "usr_1", .token_type = 0 },
		{ .client_pk = 7, .user_id = "usr_1", .token_type = 2 },
		{ .client_pk = 7, .user_id = "usr_1x", .token_type = 1 },
	};
	struct cursor_position pos = { 1767225600, 99 }, got;
	char text[CURSOR_TEXT_MAX];
	unsigned char other_key[CURSOR_KEY_BYTES];

	cursor_encode(key, &made, &pos, text);
	CHECK_INT(cursor_decode(key, &made, text, CURSOR_TEXT_LEN, &got), 0, "scope: its own");
	for (size_t i = 0; i < sizeof(other) / sizeof(other[0]); i++)
		CHECK_INT(cursor_decode(key, &other[i], text, CURSOR_TEXT_LEN, &got), -1,
		    "scope: refused for client %llu, user '%s', type %d",
		    (unsigned long long)other[i].client_pk, other[i].user_id, other[i].token_type);
	memcpy(other_key, key, sizeof(other_key));
	other_key[31] ^= 1;
	CHECK_INT(cursor_decode(other_key, &made, text, CURSOR_TEXT_LEN, &got), -1,
	    "scope: refused under another key (another deployment)");
}

/* Any one character changed, any length but 44, any character outside base64url. */
static void
test_tampered(void)
{
	static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	struct cursor_scope scope = { .client_pk = 3, .user_id = "", .token_type = 0 };
	struct cursor_position pos = { 1700000000, 5 }, got;
	char text[CURSOR_TEXT_MAX], bad[CURSOR_TEXT_MAX + 2];
	int accepted = 0, tried = 0;

	cursor_encode(key, &scope, &pos, text);
	for (int i = 0; i < CURSOR_TEXT_LEN; i++) {
		for (size_t a = 0; a < sizeof(alphabet) - 1; a++) {
			if (alphabet[a] == text[i])
				continue;
			memcpy(bad, text, CURSOR_TEXT_MAX);
			bad[i] = alphabet[a];
			tried++;
			accepted += cursor_decode(key, &scope, bad, CURSOR_TEXT_LEN, &got) == 0;
		}
	}
	CHECK_INT(accepted, 0, "tampered: none of %d one-character changes accepted", tried);

	CHECK_INT(cursor_decode(key, &scope, text, CURSOR_TEXT_LEN - 1, &got), -1,
	    "tampered: cut by one");
	memcpy(bad, text, CURSOR_TEXT_MAX);
	bad[CURSOR_TEXT_LEN] = 'A';
	bad[CURSOR_TEXT_LEN + 1] = '\0';
	CHECK_INT(cursor_decode(key, &scope, bad, CURSOR_TEXT_LEN + 1, &got), -1,
	    "tampered: one character longer");
	CHECK_INT(cursor_decode(key, &scope, "", 0, &got), -1, "tampered: empty");
	static const char specials[] = "+/= \n%.";
	for (size_t s = 0; s < sizeof(specials) - 1; s++) {
		memcpy(bad, text, CURSOR_TEXT_MAX);
		bad[10] = specials[s];
		CHECK_INT(cursor_decode(key, &scope, bad, CURSOR_TEXT_LEN, &got), -1,
		    "tampered: '%c' (0x%02x) is not base64url", specials[s] == '\n' ? ' ' : specials[s],
		    (unsigned char)specials[s]);
	}
	memcpy(bad, text, CURSOR_TEXT_MAX);
	bad[20] = '\0';
	CHECK_INT(cursor_decode(key, &scope, bad, CURSOR_TEXT_LEN, &got), -1,
	    "tampered: a NUL inside");
}

/* Positions that differ give different cursors (nothing collapses). */
static void
test_distinct(void)
{
	struct cursor_scope scope = { .client_pk = 1, .user_id = "", .token_type = 0 };
	struct cursor_position a = { 1700000000, 5 }, b = { 1700000000, 6 }, c = { 1700000001, 5 };
	char ta[CURSOR_TEXT_MAX], tb[CURSOR_TEXT_MAX], tc[CURSOR_TEXT_MAX];

	cursor_encode(key, &scope, &a, ta);
	cursor_encode(key, &scope, &b, tb);
	cursor_encode(key, &scope, &c, tc);
	CHECK_INT(strcmp(ta, tb) != 0 && strcmp(ta, tc) != 0 && strcmp(tb, tc) != 0, 1,
	    "distinct: three positions, three cursors");
}

/*
 * The text of one cursor, as every release since cursors came (issue 10)
 * made it: a worker of a new release accepts the cursors an old one handed
 * out, and the other way round, while a deployment upgrades worker by worker.
 * Made twice in a row (the kept context, initialised again without its key)
 * and after a cursor under another key, so every path of the kept HMAC
 * context is checked against the text: first key, same key again, a key change.
 * The text is HMAC-SHA-256 as Python's hmac module computes it.
 */
static void
test_known_answer(void)
{
	static const char want[] = "QQAAAABpVbkAAAAAAAAAAGM2JspQiXTCMT8BAiPxzkR_";
	struct cursor_scope scope = { .client_pk = 42, .user_id = "usr_1", .token_type = 1 };
	struct cursor_position pos = { 1767225600, 99 };
	unsigned char other_key[CURSOR_KEY_BYTES];
	char text[CURSOR_TEXT_MAX];

	memset(other_key, 'k', sizeof(other_key));
	for (int round = 0; round < 2; round++) {
		CHECK_INT(cursor_encode(key, &scope, &pos, text), 0, "known answer %d: made", round);
		CHECK_STR(text, want, "known answer %d: the same text as ever", round);
		CHECK_INT(cursor_encode(key, &scope, &pos, text), 0, "same key %d: made", round);
		CHECK_STR(text, want, "same key %d: the kept context, the same text", round);
		CHECK_INT(cursor_encode(other_key, &scope, &pos, text), 0, "other key %d: made", round);
		CHECK_INT(strcmp(text, want) != 0, 1, "other key %d: another text", round);
	}
}

int
main(void)
{
	test_known_answer();
	test_round_trip();
	test_bound_to_scope();
	test_tampered();
	test_distinct();
	return unit_done();
}
