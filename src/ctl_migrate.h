/* ctl_migrate.h: splitting a migration file into statements, as the mariadb client does. */
#ifndef AUTIONAL_CTL_MIGRATE_H
#define AUTIONAL_CTL_MIGRATE_H

#include <stddef.h>

/* Called per statement: text without its delimiter, first line (1-based). */
typedef int (*ctl_statement_fn)(void *ctx, const char *sql, size_t len, unsigned int line);

/*
 * Split a script into statements and hand each to `each` (which stops the
 * split by returning non-zero; that value is returned).  Understands what our
 * migrations use: ';' ends a statement; "DELIMITER xx" at the start of a
 * statement changes that (for triggers and procedures); quotes ('', "", ``,
 * with backslash escapes) and comments (-- , #, slash-star) never end one.  Comments
 * before a statement are dropped, those inside are kept.  Returns -1 with a
 * message in err (naming the line) when a quote or comment is unterminated or
 * a DELIMITER line is malformed.
 */
int ctl_split_script(const char *text, size_t len, ctl_statement_fn each, void *ctx,
    char *err, size_t errlen);

#endif
