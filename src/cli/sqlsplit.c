/* sqlsplit.c: a migration file split into statements, as the mariadb client splits it. */
#include "sqlsplit.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static int
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

/* End of the comment or quoted string starting at i (index after it), or 0. */
static size_t
skip_quoted(const char *t, size_t len, size_t i, unsigned int *line)
{
	char q = t[i];

	for (i++; i < len; i++) {
		if (t[i] == '\n')
			(*line)++;
		if (t[i] == '\\' && q != '`' && i + 1 < len) {
			if (t[++i] == '\n')
				(*line)++;
		} else if (t[i] == q) {
			return i + 1;
		}
	}
	return 0;
}

/* Length of "-- " / "#" comment start at i (to be skipped to end of line), or 0. */
static int
line_comment_at(const char *t, size_t len, size_t i)
{
	if (t[i] == '#')
		return 1;
	if (t[i] == '-' && i + 1 < len && t[i + 1] == '-' &&
	    (i + 2 == len || is_space(t[i + 2])))
		return 2;
	return 0;
}

/* "DELIMITER x" at i: the new delimiter into delim; index after the line. 0 if
 * not a DELIMITER line; (size_t)-1 when malformed. */
static size_t
delimiter_line(const char *t, size_t len, size_t i, char delim[SQLSPLIT_DELIMITER_MAX + 1])
{
	size_t end, s;

	if (len - i < 10 || strncasecmp(t + i, "delimiter", 9) != 0 ||
	    (t[i + 9] != ' ' && t[i + 9] != '\t'))
		return 0;
	for (end = i; end < len && t[end] != '\n'; end++)
		;
	for (s = i + 9; s < end && is_space(t[s]); s++)
		;
	size_t e = end;
	while (e > s && is_space(t[e - 1]))
		e--;
	if (e == s || e - s > SQLSPLIT_DELIMITER_MAX)
		return (size_t)-1;
	for (size_t k = s; k < e; k++)
		if ((unsigned char)t[k] <= ' ' || t[k] == '\'' || t[k] == '"' || t[k] == '`')
			return (size_t)-1;
	memcpy(delim, t + s, e - s);
	delim[e - s] = '\0';
	return end;
}

/* Hand [start, end) to each(), without the blanks at its end. */
static int
emit(const char *t, size_t start, size_t end, unsigned int line, sqlsplit_fn each, void *ctx)
{
	while (end > start && is_space(t[end - 1]))
		end--;
	return each(ctx, t + start, end - start, line);
}

int
sqlsplit(const char *t, size_t len, sqlsplit_fn each, void *ctx, char *err, size_t errlen)
{
	char delim[SQLSPLIT_DELIMITER_MAX + 1] = ";";
	size_t i = 0, start = 0, dlen = 1, next;
	unsigned int line = 1, start_line = 0;
	bool content = false;    /* the current statement has begun */
	int rc;

	while (i < len) {
		char c = t[i];

		if (!content && is_space(c)) {
			if (c == '\n')
				line++;
			i++;
			continue;
		}
		if (!content && (next = delimiter_line(t, len, i, delim)) != 0) {
			if (next == (size_t)-1) {
				snprintf(err, errlen, "line %u: malformed DELIMITER line", line);
				return -1;
			}
			dlen = strlen(delim);
			i = next;
			continue;
		}
		if (line_comment_at(t, len, i)) {
			while (i < len && t[i] != '\n')
				i++;
			continue;
		}
		if (c == '/' && i + 1 < len && t[i + 1] == '*') {
			/* Executable comments (slash-star-bang) are code. */
			bool code = (i + 2 < len && t[i + 2] == '!') ||
			    (i + 3 < len && t[i + 2] == 'M' && t[i + 3] == '!');
			unsigned int at = line;
			size_t k;

			for (k = i + 2; k + 1 < len && !(t[k] == '*' && t[k + 1] == '/'); k++)
				if (t[k] == '\n')
					line++;
			if (k + 1 >= len) {
				snprintf(err, errlen, "line %u: unterminated comment", at);
				return -1;
			}
			if (code && !content) {
				content = true;
				start = i;
				start_line = at;
			}
			i = k + 2;
			continue;
		}
		if (len - i >= dlen && memcmp(t + i, delim, dlen) == 0) {
			/* The end of a statement; a delimiter alone ends an empty one. */
			if (content && (rc = emit(t, start, i, start_line, each, ctx)) != 0)
				return rc;
			content = false;
			i += dlen;
			continue;
		}
		if (!content) {
			content = true;
			start = i;
			start_line = line;
		}
		if (c == '\'' || c == '"' || c == '`') {
			unsigned int at = line;
			if ((next = skip_quoted(t, len, i, &line)) == 0) {
				snprintf(err, errlen, "line %u: unterminated quoted string", at);
				return -1;
			}
			i = next;
			continue;
		}
		if (c == '\n')
			line++;
		i++;
	}
	return content ? emit(t, start, len, start_line, each, ctx) : 0;
}
