/* test_dbrow.c: a fetched row whose value is longer than its buffer is refused, and nothing is written past the buffer. */
#include "../../src/core/db.h"

#include <string.h>

#include "unit.h"

/* A buffer with guard bytes after it: what lies past `size` must stay 0xAA. */
struct guarded {
	char buf[8];
	unsigned char guard[32];
};

static int
guard_intact(const struct guarded *g)
{
	for (size_t i = 0; i < sizeof(g->guard); i++)
		if (g->guard[i] != 0xAA)
			return 0;
	return 1;
}

/* What the connector leaves after a fetch: the server's length, however long. */
static void
as_fetched(struct db_row *r, int col, unsigned long length, const char *data, size_t n)
{
	r->length[col] = length;
	memcpy(r->bind[col].buffer, data, n);
}

static void
test_text(void)
{
	struct db_row r;
	struct guarded g;

	memset(&g, 0xAA, sizeof(g));
	db_row_init(&r);
	db_col_text(&r, g.buf, sizeof(g.buf));
	as_fetched(&r, 0, 7, "1234567", 7);
	CHECK(db_row_finish(&r), "text: 7 bytes fit a buffer of 8");
	CHECK_STR(g.buf, "1234567", "text: NUL-terminated at its length");
	CHECK(guard_intact(&g), "text: nothing past the buffer");

	memset(&g, 0xAA, sizeof(g));
	as_fetched(&r, 0, 8, "1234567", 7);
	CHECK(!db_row_finish(&r), "text: 8 bytes do not fit 7 and a NUL: refused");
	CHECK(guard_intact(&g), "text: refused without a write past the buffer");

	memset(&g, 0xAA, sizeof(g));
	as_fetched(&r, 0, 300, "1234567", 7);
	CHECK(!db_row_finish(&r), "text: 300 bytes (truncation not reported) refused");
	CHECK(guard_intact(&g), "text: the server's length is never used as an index");

	memset(&g, 0xAA, sizeof(g));
	r.is_null[0] = 1;
	as_fetched(&r, 0, 300, "", 0);
	CHECK(db_row_finish(&r), "text: NULL is fine whatever the length says");
	CHECK_STR(g.buf, "", "text: NULL reads as empty");
	CHECK(guard_intact(&g), "text: NULL writes nothing past the buffer");
}

static void
test_bytes(void)
{
	struct db_row r;
	struct guarded g;
	char text[4];

	memset(&g, 0xAA, sizeof(g));
	db_row_init(&r);
	db_col_bytes(&r, g.buf, sizeof(g.buf));
	db_col_text(&r, text, sizeof(text));
	as_fetched(&r, 0, 8, "12345678", 8);
	as_fetched(&r, 1, 3, "abc", 3);
	CHECK(db_row_finish(&r), "bytes: 8 bytes fit a buffer of 8");
	CHECK_STR(text, "abc", "bytes: the next column is finished too");
	as_fetched(&r, 0, 9, "12345678", 8);
	CHECK(!db_row_finish(&r), "bytes: 9 bytes into 8 refused");
	CHECK(guard_intact(&g), "bytes: nothing past the buffer");
	as_fetched(&r, 0, 8, "12345678", 8);
	as_fetched(&r, 1, 4, "abc", 3);
	CHECK(!db_row_finish(&r), "bytes: a later text column too long refuses the row");
}

int
main(void)
{
	test_text();
	test_bytes();
	return unit_done();
}
