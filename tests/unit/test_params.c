/* test_params.c: page and page_size from the query string: defaults, limits, rejects, messages. */
#include "../../src/api/params.h"

#include <stdio.h>
#include <string.h>

#include "unit.h"

struct parsed {
	enum aut_err err;
	unsigned long page;
	unsigned int page_size;
	char msg[160];
};

static struct parsed
parse(const char *query, unsigned int max)
{
	struct parsed p;
	struct list_params lp;

	memset(&p, 0, sizeof(p));
	p.err = params_parse_list(query, max, &lp, p.msg, sizeof(p.msg));
	p.page = lp.page;
	p.page_size = lp.page_size;
	return p;
}

/* The query parses, with these values. */
static void
ok(const char *query, unsigned int max, unsigned long page, unsigned int size,
    const char *name)
{
	struct parsed p = parse(query, max);

	CHECK_INT(p.err, AUT_OK, "%s: \"%s\" accepted (max %u)", name, query, max);
	CHECK_U64(p.page, page, "%s: page", name);
	CHECK_U64(p.page_size, size, "%s: page_size", name);
}

/* The query is a 400 whose message names param. */
static void
bad(const char *query, unsigned int max, const char *param, const char *name)
{
	struct parsed p = parse(query, max);
	char want[40];

	CHECK_INT(p.err, AUT_ERR_BAD_PARAM, "%s: \"%s\" rejected (max %u)", name, query, max);
	snprintf(want, sizeof(want), "%s ", param);
	CHECK(strncmp(p.msg, want, strlen(want)) == 0,
	    "%s: message names %s: \"%s\"", name, param, p.msg);
	if (strcmp(param, "page") == 0)
		CHECK(strstr(p.msg, "page_size") == NULL,
		    "%s: message does not name page_size: \"%s\"", name, p.msg);
}

static void
test_defaults(void)
{
	ok("", 100, 1, 20, "defaults");
	ok("other=1", 100, 1, 20, "unknown parameter ignored");
	ok("foo=bar&x&y=&=z&&", 100, 1, 20, "junk unknown parameters ignored");
	ok("pages=9&size=9&Page=9&PAGE_SIZE=9&page_size_max=9", 100, 1, 20,
	    "near-miss names are unknown parameters");
	ok("", 5, 1, 5, "default page_size clipped to a max below 20");
	ok("", 20, 1, 20, "default page_size at max 20");
	ok("", 1, 1, 1, "default page_size clipped to max 1");
	ok("", 1000, 1, 20, "default page_size under a large max");
}

static void
test_values(void)
{
	ok("page=2", 100, 2, 20, "page");
	ok("page_size=50", 100, 1, 50, "page_size");
	ok("page=3&page_size=7", 100, 3, 7, "both");
	ok("page_size=7&page=3", 100, 3, 7, "both, other order");
	ok("a=1&page=3&b=2&page_size=7&c", 100, 3, 7, "among unknown parameters");
	ok("page_size=100", 100, 1, 100, "page_size equal to max");
	ok("page_size=1", 100, 1, 1, "page_size 1");
	ok("page_size=1000", 1000, 1, 1000, "page_size 1000 under max 1000");
	ok("page=007", 100, 7, 20, "leading zeros in page");
	ok("page_size=0010", 100, 1, 10, "leading zeros in page_size");
	ok("page=000000000000000000000000000001", 100, 1, 20,
	    "many leading zeros (30 digits)");
	ok("page=2147483647", 100, PARAMS_PAGE_MAX, 20, "page = PARAMS_PAGE_MAX");
	ok("page=%32", 100, 2, 20, "percent-encoded digit");
	ok("page_size=%31%30", 100, 1, 10, "percent-encoded digits");
	ok("pa%67e=4", 100, 4, 20, "percent-encoded key");
	ok("page%5Fsize=9", 100, 1, 9, "percent-encoded '_' in key");
	ok("page=5&", 100, 5, 20, "trailing '&'");
	ok("&page=5", 100, 5, 20, "leading '&'");
}

static void
test_rejects(void)
{
	bad("page=0", 100, "page", "zero page");
	bad("page=-1", 100, "page", "negative page");
	bad("page=+1", 100, "page", "explicit plus sign");
	bad("page=%2B1", 100, "page", "encoded plus sign");
	bad("page=1e3", 100, "page", "exponent");
	bad("page=1.0", 100, "page", "decimal point");
	bad("page=0x10", 100, "page", "hexadecimal");
	bad("page=%201", 100, "page", "leading blank (encoded)");
	bad("page=1+", 100, "page", "trailing '+' decodes to a blank");
	bad("page=1%20", 100, "page", "trailing blank");
	bad("page=1%00", 100, "page", "trailing NUL byte");
	bad("page=%", 100, "page", "malformed escape");
	bad("page=%3", 100, "page", "truncated escape");
	bad("page=%zz", 100, "page", "non-hex escape");
	bad("page=", 100, "page", "empty page");
	bad("page", 100, "page", "page without '='");
	bad("page=abc", 100, "page", "letters");
	bad("page=１", 100, "page", "non-ASCII digit");
	bad("page=2147483648", 100, "page", "PARAMS_PAGE_MAX + 1");
	bad("page=4294967296", 100, "page", "2^32");
	bad("page=18446744073709551616", 100, "page", "2^64 (20 digits)");
	bad("page=99999999999999999999", 100, "page", "20-digit number");
	bad("page=1000000000000000000000000000000", 100, "page", "31-digit number");
	bad("page=1&page=1", 100, "page", "repeated page, same value");
	bad("page=1&page=2", 100, "page", "repeated page");
	bad("page&page", 100, "page", "repeated page without values");
	bad("page=1&pa%67e=2", 100, "page", "repeated page, one percent-encoded");

	bad("page_size=0", 100, "page_size", "zero page_size");
	bad("page_size=-1", 100, "page_size", "negative page_size");
	bad("page_size=101", 100, "page_size", "page_size above max");
	bad("page_size=1000", 100, "page_size", "page_size 1000 above max 100");
	bad("page_size=21", 20, "page_size", "page_size above max 20");
	bad("page_size=", 100, "page_size", "empty page_size");
	bad("page_size", 100, "page_size", "page_size without '='");
	bad("page_size=99999999999999999999", 100, "page_size", "20-digit page_size");
	bad("page_size=5&page_size=5", 100, "page_size", "repeated page_size");
	bad("page=2&page_size=x", 100, "page_size", "page fine, page_size bad");
}

/* page_size_max below 10: one digit can already exceed it. */
static void
test_small_max(void)
{
	ok("page_size=5", 5, 1, 5, "page_size equal to a max of 5");
	bad("page_size=10", 5, "page_size", "page_size 10 above max 5");
	bad("page_size=51", 50, "page_size", "page_size 51 above max 50");
	bad("page_size=6", 5, "page_size", "page_size 6 above max 5");
	bad("page_size=9", 5, "page_size", "page_size 9 above max 5");
	bad("page_size=7", 1, "page_size", "page_size 7 above max 1");
	bad("page_size=19", 5, "page_size", "page_size 19 above max 5");
	bad("page_size=99", 9, "page_size", "page_size 99 above max 9");
}

static void
test_messages(void)
{
	struct parsed p;

	p = parse("page=0", 100);
	CHECK_CONTAINS(p.msg, "2147483647", "page message gives the upper bound");
	p = parse("page_size=500", 250);
	CHECK_CONTAINS(p.msg, "250", "page_size message gives the configured max");
	p = parse("page_size=1&page_size=1", 100);
	CHECK_CONTAINS(p.msg, "once", "repeat message says the parameter was repeated");

	/* The message buffer may be small: the message is cut, not overrun. */
	char tiny[8];
	struct list_params lp;
	memset(tiny, 'X', sizeof(tiny));
	CHECK_INT(params_parse_list("page=x", 100, &lp, tiny, 5), AUT_ERR_BAD_PARAM,
	    "small message buffer: still rejected");
	CHECK_STR(tiny, "page", "small message buffer: cut and terminated");
	CHECK(tiny[5] == 'X', "small message buffer: nothing written past msglen");
}

static void
test_key_with_nul(void)
{
	/* "page%00" decodes to "page" followed by a NUL: a different, unknown key. */
	ok("page%00=abc", 100, 1, 20, "key \"page%00\" is an unknown parameter");
	ok("page=2&page%00=3", 100, 2, 20, "key \"page%00\" does not repeat page");
	ok("page_size%00=abc", 100, 1, 20, "key \"page_size%00\" is an unknown parameter");
}

/* Issue 6: filters on the list, and the query of a DELETE. */
static void
test_filters(void)
{
	struct list_params lp;
	struct revoke_params rp;
	char msg[160] = "";

	CHECK_INT(params_parse_list("user_id=usr_abc-1.x&token_type=refresh_token", 100, &lp,
	    msg, sizeof(msg)), AUT_OK, "filters: both accepted");
	CHECK_STR(lp.filters.user_id, "usr_abc-1.x", "filters: user_id kept");
	CHECK_INT(lp.filters.token_type, TOKEN_TYPE_REFRESH, "filters: token_type kept");
	CHECK_INT(params_parse_list("", 100, &lp, msg, sizeof(msg)), AUT_OK, "filters: none");
	CHECK_STR(lp.filters.user_id, "", "filters: no user filter");
	CHECK_INT(lp.filters.token_type, TOKEN_TYPE_ANY, "filters: no type filter");
	CHECK_INT(params_parse_list("token_type=id_token", 100, &lp, msg, sizeof(msg)),
	    AUT_ERR_BAD_PARAM, "filters: unknown token_type");
	CHECK_CONTAINS(msg, "token_type", "filters: message names token_type");
	CHECK_INT(params_parse_list("user_id=a%27b", 100, &lp, msg, sizeof(msg)),
	    AUT_ERR_BAD_PARAM, "filters: quote in user_id");
	CHECK_CONTAINS(msg, "user_id", "filters: message names user_id");
	CHECK_INT(params_parse_list("user_id=", 100, &lp, msg, sizeof(msg)),
	    AUT_ERR_BAD_PARAM, "filters: empty user_id");
	CHECK_INT(params_parse_list("user_id=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	    100, &lp, msg, sizeof(msg)), AUT_ERR_BAD_PARAM, "filters: 65-byte user_id");
	CHECK_INT(params_parse_list("user_id=a&user_id=b", 100, &lp, msg, sizeof(msg)),
	    AUT_ERR_BAD_PARAM, "filters: repeated user_id");

	CHECK_INT(params_parse_revoke("dry_run=true&token_type=access_token", &rp,
	    msg, sizeof(msg)), AUT_OK, "revoke: dry_run and type");
	CHECK_INT(rp.dry_run, 1, "revoke: dry_run true");
	CHECK_INT(rp.filters.token_type, TOKEN_TYPE_ACCESS, "revoke: type");
	CHECK_INT(params_parse_revoke("dry_run=false", &rp, msg, sizeof(msg)), AUT_OK,
	    "revoke: dry_run false");
	CHECK_INT(rp.dry_run, 0, "revoke: dry_run false kept");
	CHECK_INT(params_parse_revoke("dry_run=1", &rp, msg, sizeof(msg)), AUT_ERR_BAD_PARAM,
	    "revoke: dry_run=1 refused");
	CHECK_CONTAINS(msg, "dry_run", "revoke: message names dry_run");
	CHECK_INT(params_parse_revoke_one("dry_run=true", &rp, msg, sizeof(msg)), AUT_OK,
	    "revoke one: dry_run");
	CHECK_INT(rp.dry_run, 1, "revoke one: dry_run true");
	CHECK_INT(params_parse_revoke_one("dry_run=true&token_type=access_token", &rp, msg,
	    sizeof(msg)), AUT_ERR_BAD_PARAM, "revoke one: a filter is not its parameter (refused)");
	CHECK_CONTAINS(msg, "token_type", "revoke one: message names token_type");
	CHECK_INT(params_parse_revoke_one("dry_run=yes", &rp, msg, sizeof(msg)),
	    AUT_ERR_BAD_PARAM, "revoke one: bad dry_run");
	CHECK_INT(params_parse_list("dry_run=maybe", 100, &lp, msg, sizeof(msg)), AUT_OK,
	    "list: dry_run is not a list parameter (ignored)");
}

/* A destructive request refuses what it does not know: a typo must not widen it. */
static void
test_revoke_strict(void)
{
	struct revoke_params rp;
	char msg[160];

	CHECK_INT(params_parse_revoke("dry-run=true", &rp, msg, sizeof(msg)),
	    AUT_ERR_BAD_PARAM, "strict: dry-run (typo of dry_run) refused");
	CHECK_CONTAINS(msg, "dry-run", "strict: message names dry-run");
	CHECK_CONTAINS(msg, "dry_run", "strict: message lists the known names");
	CHECK_INT(params_parse_revoke("token_typ=refresh_token", &rp, msg, sizeof(msg)),
	    AUT_ERR_BAD_PARAM, "strict: token_typ (typo of token_type) refused");
	CHECK_CONTAINS(msg, "parameter token_typ:", "strict: message names token_typ");
	CHECK_INT(params_parse_revoke("dry_run=true&page=2", &rp, msg, sizeof(msg)),
	    AUT_ERR_BAD_PARAM, "strict: page is not a revocation parameter");
	CHECK_INT(params_parse_revoke("token_type=access_token&token_type=refresh_token", &rp,
	    msg, sizeof(msg)), AUT_ERR_BAD_PARAM, "strict: repeated token_type refused");
	CHECK_CONTAINS(msg, "token_type", "strict: message names the repeated filter");
	CHECK_INT(params_parse_revoke("dry_run=true&dry_run=false", &rp, msg, sizeof(msg)),
	    AUT_ERR_BAD_PARAM, "strict: repeated dry_run refused");
	CHECK_INT(params_parse_revoke("=true", &rp, msg, sizeof(msg)), AUT_ERR_BAD_PARAM,
	    "strict: an empty name is unknown");
	CHECK_INT(params_parse_revoke("dry%00_run=true", &rp, msg, sizeof(msg)),
	    AUT_ERR_BAD_PARAM, "strict: a NUL in the name is no known name");
	CHECK_CONTAINS(msg, "name not shown", "strict: an unprintable name is not echoed");
	CHECK_INT(params_parse_revoke("%3Cscript%3E=1", &rp, msg, sizeof(msg)),
	    AUT_ERR_BAD_PARAM, "strict: markup in a name refused");
	CHECK_INT(strstr(msg, "<") == NULL, 1, "strict: markup is not echoed");
	CHECK_INT(params_parse_revoke("&dry_run=true&&", &rp, msg, sizeof(msg)), AUT_OK,
	    "strict: empty pairs are skipped");
	CHECK_INT(rp.dry_run, 1, "strict: dry_run read between empty pairs");
	CHECK_INT(params_parse_revoke("", &rp, msg, sizeof(msg)), AUT_OK,
	    "strict: no parameters at all");
	CHECK_INT(params_parse_revoke_one("dry_run=false&user_id=u1", &rp, msg, sizeof(msg)),
	    AUT_ERR_BAD_PARAM, "strict: revoke one refuses user_id");
	CHECK_INT(params_parse_list("dry-run=true&token_typ=x", 100, &(struct list_params){0},
	    msg, sizeof(msg)), AUT_OK, "strict: a read still ignores unknown names");
}

/* cursor: its form only (the MAC is checked with the key, in tokens_list.c). */
static void
test_cursor(void)
{
	static const char good[] = "QQAAAABpUJ2AAAAAAAAAAGPvYt4Lw-6F_cpsT4x4JZ4z";
	struct list_params lp;
	char msg[160], q[200];

	snprintf(q, sizeof(q), "cursor=%s&page_size=5", good);
	CHECK_INT(params_parse_list(q, 100, &lp, msg, sizeof(msg)), AUT_OK, "cursor: accepted");
	CHECK_STR(lp.cursor, good, "cursor: kept as given");
	CHECK_INT(lp.page_size, 5, "cursor: with page_size");
	CHECK_INT(params_parse_list("", 100, &lp, msg, sizeof(msg)), AUT_OK, "cursor: none");
	CHECK_STR(lp.cursor, "", "cursor: none is empty");
	snprintf(q, sizeof(q), "cursor=%s&page=2", good);
	CHECK_INT(params_parse_list(q, 100, &lp, msg, sizeof(msg)), AUT_ERR_BAD_PARAM,
	    "cursor: with page refused");
	CHECK_CONTAINS(msg, "cursor and page", "cursor: message names both");
	snprintf(q, sizeof(q), "page=1&cursor=%s", good);
	CHECK_INT(params_parse_list(q, 100, &lp, msg, sizeof(msg)), AUT_ERR_BAD_PARAM,
	    "cursor: with page=1 first refused");
	snprintf(q, sizeof(q), "cursor=%.43s", good);
	CHECK_INT(params_parse_list(q, 100, &lp, msg, sizeof(msg)), AUT_ERR_BAD_PARAM,
	    "cursor: 43 characters refused");
	CHECK_CONTAINS(msg, "cursor", "cursor: message names cursor");
	snprintf(q, sizeof(q), "cursor=%sA", good);
	CHECK_INT(params_parse_list(q, 100, &lp, msg, sizeof(msg)), AUT_ERR_BAD_PARAM,
	    "cursor: 45 characters refused");
	snprintf(q, sizeof(q), "cursor=%.40s%%2B%%2F", good);
	CHECK_INT(params_parse_list(q, 100, &lp, msg, sizeof(msg)), AUT_ERR_BAD_PARAM,
	    "cursor: '+' and '/' (plain base64) refused");
	snprintf(q, sizeof(q), "cursor=%.43s%%00", good);
	CHECK_INT(params_parse_list(q, 100, &lp, msg, sizeof(msg)), AUT_ERR_BAD_PARAM,
	    "cursor: a NUL refused");
	snprintf(q, sizeof(q), "cursor=%s&cursor=%s", good, good);
	CHECK_INT(params_parse_list(q, 100, &lp, msg, sizeof(msg)), AUT_ERR_BAD_PARAM,
	    "cursor: twice refused");
	CHECK_INT(params_parse_list("cursor=", 100, &lp, msg, sizeof(msg)), AUT_ERR_BAD_PARAM,
	    "cursor: empty refused");
}

int
main(void)
{
	test_defaults();
	test_values();
	test_rejects();
	test_small_max();
	test_messages();
	test_key_with_nul();
	test_revoke_strict();
	test_cursor();
	test_filters();
	return unit_done();
}
