/* fuzz_sqlsplit.c: libFuzzer harness for the migration splitter (sqlsplit). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../../src/cli/sqlsplit.h"
#include "fuzz.h"

/*
 * The input is a migration file, as bytes.  What every split must give, as
 * sqlsplit.h documents it: statements in order, each a non-empty part of the
 * input that neither starts nor ends with a blank, not overlapping the one
 * before, starting on the line it says; a callback's non-zero value stops the
 * split at once and is returned.  And a reference model for the plain subset:
 * text without quotes, comments, backslashes or DELIMITER lines splits exactly
 * at each ';' (the input is also checked with those bytes replaced).
 */

#define MAX_SEEN 4096

struct seen {
	const char *text;        /* the input */
	size_t len;
	size_t n;                /* statements handed over */
	size_t start[MAX_SEEN], length[MAX_SEEN];
	size_t prev_end;         /* where the last statement ended */
	size_t counted;          /* newlines are counted in [0, counted) ... */
	unsigned int lines;      /* ... and there are lines - 1 of them */
	size_t stop_after;       /* return 5 after this many; 0: never */
};

static int
blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

static int
check_statement(void *ctx, const char *sql, size_t len, unsigned int line)
{
	struct seen *s = ctx;
	size_t start = (size_t)(sql - s->text);

	CHECK(sql >= s->text && start + len <= s->len);
	CHECK(len > 0);
	CHECK(!blank(sql[0]) && !blank(sql[len - 1]));
	CHECK(s->n == 0 || start >= s->prev_end);
	for (; s->counted < start; s->counted++)
		s->lines += s->text[s->counted] == '\n';
	CHECK(line == s->lines);
	if (s->n < MAX_SEEN) {
		s->start[s->n] = start;
		s->length[s->n] = len;
	}
	s->n++;
	s->prev_end = start + len;
	return s->stop_after > 0 && s->n == s->stop_after ? 5 : 0;
}

static int
split(const char *text, size_t len, struct seen *s, size_t stop_after)
{
	char err[128];
	int rc;

	memset(s, 0, sizeof(*s));
	s->text = text;
	s->len = len;
	s->stop_after = stop_after;
	s->lines = 1;
	err[0] = '\0';
	rc = sqlsplit(text, len, check_statement, s, err, sizeof(err));
	if (rc == -1)
		CHECK(strncmp(err, "line ", 5) == 0);   /* a message naming the line */
	return rc;
}

/* Bytes that may start a quote or comment, escape, or a DELIMITER line. */
static int
special(char c)
{
	return strchr("'\"`#-/\\", c) != NULL || c == '\0';
}

/* Reference model of the plain subset: split at ';', trim blanks, drop empties. */
static void
check_plain(const char *t, size_t len)
{
	struct seen s;
	size_t i = 0, k = 0;

	for (size_t j = 0; j + 9 <= len; j++)
		if (strncasecmp(t + j, "delimiter", 9) == 0)
			return;   /* not in the subset */
	CHECK(split(t, len, &s, 0) == 0);
	while (i < len) {
		size_t e = i, a, b;
		while (e < len && t[e] != ';')
			e++;
		for (a = i; a < e && blank(t[a]); a++)
			;
		for (b = e; b > a && blank(t[b - 1]); b--)
			;
		if (b > a) {
			CHECK(k < s.n);
			if (k < MAX_SEEN)
				CHECK(s.start[k] == a && s.length[k] == b - a);
			k++;
		}
		i = e + 1;
	}
	CHECK(k == s.n);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *t = (const char *)data;
	struct seen s;
	char *plain;
	int rc = split(t, size, &s, 0);
	size_t all = s.n;

	CHECK(rc == 0 || rc == -1);
	/* Stopping after k statements: exactly k calls, the callback's value. */
	if (all > 0) {
		size_t k = 1 + size % all;
		CHECK(split(t, size, &s, k) == 5);
		CHECK(s.n == k);
	}
	/* The same bytes with every special one replaced: the plain subset. */
	plain = malloc(size ? size : 1);
	CHECK(plain != NULL);
	for (size_t i = 0; i < size; i++)
		plain[i] = special(t[i]) ? 'x' : t[i];
	check_plain(plain, size);
	free(plain);
	return 0;
}
