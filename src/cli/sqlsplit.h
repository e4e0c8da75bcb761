/* sqlsplit.h: a migration file split into statements, as the mariadb client splits it. */
#ifndef AUTIONAL_SQLSPLIT_H
#define AUTIONAL_SQLSPLIT_H

#include <stddef.h>

/* Longest delimiter a DELIMITER line may set. */
#define SQLSPLIT_DELIMITER_MAX 15

/*
 * Called per statement: its text without the delimiter and without the blanks
 * before it (never empty, never starting with a blank), and its first line
 * (1-based).  A non-zero return stops the split.
 */
typedef int (*sqlsplit_fn)(void *ctx, const char *sql, size_t len, unsigned int line);

/*
 * Split a script into statements and hand each to `each` (which stops the
 * split by returning non-zero; that value is returned).  Understands what our
 * migrations use: ';' ends a statement; "DELIMITER xx" at the start of a
 * statement changes that (for triggers and procedures); quotes ('', "", ``,
 * with backslash escapes outside ``) and comments (-- , #, slash-star) never
 * end one.  Comments before a statement are dropped, those inside are kept;
 * an executable comment (slash-star-bang) is code.  Returns 0 when all went
 * through; -1 with a message in err (naming the line) when a quote or comment
 * is unterminated or a DELIMITER line is malformed: then `each` may already
 * have seen the statements before the problem (split once with a callback
 * that does nothing to check a whole file first).
 */
int sqlsplit(const char *text, size_t len, sqlsplit_fn each, void *ctx, char *err,
    size_t errlen);

#endif
