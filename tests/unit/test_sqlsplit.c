/* test_sqlsplit.c: migration files into statements: delimiters, quotes, comments, lines, errors. */
#include "../../src/cli/sqlsplit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/core/text.h"
#include "unit.h"

#define MAX_STATEMENTS 16

/* What one split handed over. */
struct split {
	int n;
	char sql[MAX_STATEMENTS][256];
	unsigned int line[MAX_STATEMENTS];
	int stop_after;          /* return 7 after this many statements; 0: never */
};

static int
collect(void *ctx, const char *sql, size_t len, unsigned int line)
{
	struct split *s = ctx;

	if (s->n < MAX_STATEMENTS) {
		snprintf(s->sql[s->n], sizeof(s->sql[0]), "%.*s", (int)len, sql);
		s->line[s->n] = line;
	}
	s->n++;
	return s->stop_after > 0 && s->n >= s->stop_after ? 7 : 0;
}

/* Split text; the return value, the statements in *s, the message in err. */
static int
split(const char *text, struct split *s, char *err, size_t errlen)
{
	int stop = s->stop_after;

	memset(s, 0, sizeof(*s));
	s->stop_after = stop;
	err[0] = '\0';
	return sqlsplit(text, strlen(text), collect, s, err, errlen);
}

/* text splits into the statements want[] (NULL-terminated) on the lines given. */
static void
expect(const char *text, const char *const *want, const unsigned int *lines, const char *name)
{
	struct split s = { .stop_after = 0 };
	char err[128];
	int n = 0;

	CHECK_INT(split(text, &s, err, sizeof(err)), 0, "%s: splits (%s)", name, err);
	while (want[n] != NULL)
		n++;
	CHECK_INT(s.n, n, "%s: %d statement(s)", name, n);
	for (int i = 0; i < n && i < s.n; i++) {
		CHECK_STR(s.sql[i], want[i], "%s: statement %d", name, i + 1);
		CHECK_INT(s.line[i], lines[i], "%s: statement %d starts on line %u", name, i + 1,
		    lines[i]);
	}
}

static void
expect_error(const char *text, const char *message, const char *name)
{
	struct split s = { .stop_after = 0 };
	char err[128];

	CHECK_INT(split(text, &s, err, sizeof(err)), -1, "%s: refused", name);
	CHECK_CONTAINS(err, message, "%s: says where and why", name);
}

#define W(...) (const char *const[]){ __VA_ARGS__, NULL }
#define L(...) (const unsigned int[]){ __VA_ARGS__ }

static void
test_plain(void)
{
	expect("", (const char *const[]){ NULL }, NULL, "empty input");
	expect(" \n\t\r\n", (const char *const[]){ NULL }, NULL, "blanks only");
	expect(";;\n ;", (const char *const[]){ NULL }, NULL, "empty statements are skipped");
	expect("SELECT 1", W("SELECT 1"), L(1), "no final delimiter, no final newline");
	expect("SELECT 1;\nSELECT 2;\n", W("SELECT 1", "SELECT 2"), L(1, 2), "two statements");
	expect("\n\n  SELECT 1  ;  SELECT\n  2\n;", W("SELECT 1", "SELECT\n  2"), L(3, 3),
	    "blanks around statements trimmed, inner ones kept");
	expect("SELECT 1;\r\nSELECT 2;\r\n", W("SELECT 1", "SELECT 2"), L(1, 2), "CRLF lines");
	expect("SELECT 1;;SELECT 2", W("SELECT 1", "SELECT 2"), L(1, 1),
	    "an empty statement between two");
}

static void
test_quotes(void)
{
	expect("SELECT ';';", W("SELECT ';'"), L(1), "';' inside single quotes");
	expect("SELECT \"a;b\"; SELECT 2", W("SELECT \"a;b\"", "SELECT 2"), L(1, 1),
	    "';' inside double quotes");
	expect("SELECT `a;b` FROM t;", W("SELECT `a;b` FROM t"), L(1), "';' inside backquotes");
	expect("SELECT 'it\\'s;';", W("SELECT 'it\\'s;'"), L(1), "backslash escapes a quote");
	expect("SELECT 'a\\\\';SELECT 2", W("SELECT 'a\\\\'", "SELECT 2"), L(1, 1),
	    "an escaped backslash does not escape the quote");
	expect("SELECT 'a''b;';", W("SELECT 'a''b;'"), L(1), "doubled quote");
	expect("SELECT `a\\`;SELECT 2", W("SELECT `a\\`", "SELECT 2"), L(1, 1),
	    "no backslash escapes in backquotes");
	expect("SELECT 'a\nb';\nSELECT 2;", W("SELECT 'a\nb'", "SELECT 2"), L(1, 3),
	    "newlines inside quotes count");
	expect("SELECT '-- x; # y /* z';", W("SELECT '-- x; # y /* z'"), L(1),
	    "comment starts inside quotes are text");
	expect_error("SELECT 'abc", "line 1: unterminated quoted string", "unterminated quote");
	expect_error("SELECT 1;\n\nSELECT \"x;\n", "line 3: unterminated quoted string",
	    "unterminated quote names its line");
	expect_error("SELECT 'a\\", "unterminated quoted string", "quote ending in a backslash");
}

static void
test_comments(void)
{
	expect("-- head\n# hash\n/* block\n;\n*/\nSELECT 1;", W("SELECT 1"), L(6),
	    "comments before a statement are dropped");
	expect("SELECT 1; -- after\nSELECT 2; # after\n", W("SELECT 1", "SELECT 2"), L(1, 2),
	    "comments after a statement are dropped");
	expect("SELECT /* a;b */ 1;", W("SELECT /* a;b */ 1"), L(1), "comment inside is kept");
	expect("SELECT 1 -- a;b\n, 2;", W("SELECT 1 -- a;b\n, 2"), L(1),
	    "line comment inside hides the delimiter");
	expect("SELECT 1--2;", W("SELECT 1--2"), L(1), "'--' without a blank is no comment");
	expect("SELECT 1 --", W("SELECT 1 --"), L(1), "'--' at the very end");
	expect("/*!40101 SET x = 1 */;", W("/*!40101 SET x = 1 */"), L(1),
	    "executable comment is code");
	expect("/*M!100100 SET x = 1 */;", W("/*M!100100 SET x = 1 */"), L(1),
	    "MariaDB executable comment is code");
	expect("/* a\nb */ SELECT 1;", W("SELECT 1"), L(2), "lines inside a dropped comment count");
	expect_error("SELECT 1; /* open", "line 1: unterminated comment", "unterminated comment");
	expect_error("SELECT /* open\n;", "unterminated comment", "unterminated comment inside");
}

static void
test_delimiter(void)
{
	expect("DELIMITER //\n"
	    "CREATE TRIGGER t AFTER INSERT ON x FOR EACH ROW BEGIN\n"
	    "  UPDATE y SET n = n + 1;\n"
	    "END//\n"
	    "DELIMITER ;\n"
	    "SELECT 1;\n",
	    W("CREATE TRIGGER t AFTER INSERT ON x FOR EACH ROW BEGIN\n"
	    "  UPDATE y SET n = n + 1;\nEND", "SELECT 1"), L(2, 6), "DELIMITER block");
	expect("delimiter $$\nSELECT 1; SELECT 2$$\nDelimiter ;\nSELECT 3",
	    W("SELECT 1; SELECT 2", "SELECT 3"), L(2, 4), "delimiter in any case");
	expect("DELIMITER ;;  \nSELECT 1;;SELECT 2;;", W("SELECT 1", "SELECT 2"), L(2, 2),
	    "two-character delimiter, blanks after it");
	expect("SELECT 1, 'DELIMITER //';", W("SELECT 1, 'DELIMITER //'"), L(1),
	    "DELIMITER inside a statement is text");
	expect("DELIMITERS;", W("DELIMITERS"), L(1), "DELIMITERS is no DELIMITER line");
	expect_error("DELIMITER \nSELECT 1;", "line 1: malformed DELIMITER line",
	    "DELIMITER without a delimiter");
	expect_error("SELECT 1;\nDELIMITER 0123456789abcdef\n", "line 2: malformed DELIMITER line",
	    "delimiter longer than 15");
	expect_error("DELIMITER a b\n", "malformed DELIMITER line", "delimiter with a blank");
	expect_error("DELIMITER '\n", "malformed DELIMITER line", "delimiter with a quote");

	/* A delimiter starting with a NUL byte once matched everywhere, forever
	 * (found by fuzz_sqlsplit). */
	{
		static const char nul[] = "DELIMITER \0x\nSELECT 1;";
		struct split s = { .stop_after = 0 };
		char err[128] = "";

		CHECK_INT(sqlsplit(nul, sizeof(nul) - 1, collect, &s, err, sizeof(err)), -1,
		    "delimiter with a NUL byte: refused");
		CHECK_CONTAINS(err, "malformed DELIMITER line", "delimiter with a NUL byte: says so");
	}
}

static void
test_stop(void)
{
	struct split s = { .stop_after = 2 };
	char err[128];

	CHECK_INT(split("SELECT 1; SELECT 2; SELECT 3;", &s, err, sizeof(err)), 7,
	    "stop: the callback's value is returned");
	CHECK_INT(s.n, 2, "stop: no statement after the one that stopped");
	s.stop_after = 1;
	CHECK_INT(split("SELECT 1", &s, err, sizeof(err)), 7,
	    "stop: also for a last statement without a delimiter");
}

/* The shipped migrations split without error into statements that start with a word. */
static void
test_shipped(void)
{
	static const char *const files[] = {
		"001_core.sql", "002_token_counts.sql", "003_token_ids_and_audit.sql",
	};
	const char *srcdir = getenv("srcdir");
	char path[1024], err[1200];

	if (srcdir == NULL) {
		printf("# srcdir not set: shipped migrations not checked\n");
		return;
	}
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		struct split s = { .stop_after = 0 };
		char *text = NULL;
		size_t len = 0;

		snprintf(path, sizeof(path), "%s/sql/%s", srcdir, files[i]);
		if (text_read_file(path, 1 << 20, &text, &len, err, sizeof(err)) != 0) {
			CHECK(0, "%s: read (%s)", files[i], err);
			continue;
		}
		CHECK_INT(sqlsplit(text, len, collect, &s, err, sizeof(err)), 0, "%s: splits",
		    files[i]);
		CHECK(s.n > 0, "%s: has statements (%d)", files[i], s.n);
		for (int k = 0; k < s.n && k < MAX_STATEMENTS; k++) {
			char c = s.sql[k][0];
			if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'))) {
				CHECK(0, "%s: statement %d starts with a word: %.40s", files[i], k + 1,
				    s.sql[k]);
				break;
			}
		}
		free(text);
	}
}

int
main(void)
{
	test_plain();
	test_quotes();
	test_comments();
	test_delimiter();
	test_stop();
	test_shipped();
	return unit_done();
}
