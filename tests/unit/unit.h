/* unit.h: a header-only test harness: CHECK macros printing TAP lines, the exit status, a file writer. */
#ifndef AUTIONAL_UNIT_H
#define AUTIONAL_UNIT_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/*
 * Every CHECK* macro takes a printf-style test name after its operands and
 * prints "ok N - name" or "not ok N - name" followed by "#   at file:line: ..."
 * with the values it compared.  main() ends with "return unit_done();", which
 * prints the plan and returns nonzero when any check failed.
 *
 * TODO("why") ... TODO_END(); marks the checks between as a known bug in src/:
 * they still run and a failure is reported as "not ok N - name # TODO why", but
 * does not fail the program (TAP semantics).  When none of them fails any more,
 * TODO_END() says so, and the mark should go.
 */

static int unit_count;              /* checks run so far */
static int unit_failures;           /* failed checks not marked TODO */
static int unit_todo_failures;      /* failed checks marked TODO */
static const char *unit_todo_reason; /* set between TODO() and TODO_END() */
static int unit_todo_block_failures; /* failures since TODO() */

#define TODO(reason) (unit_todo_reason = (reason), unit_todo_block_failures = 0)
#define TODO_END() unit_todo_end(__FILE__, __LINE__)

static inline void
unit_todo_end(const char *file, int line)
{
	if (unit_todo_reason != NULL && unit_todo_block_failures == 0)
		printf("# %s:%d: known bug \"%s\" no longer fails: remove its TODO mark\n",
		    file, line, unit_todo_reason);
	unit_todo_reason = NULL;
}

static inline void unit_vreport(int ok, const char *file, int line,
    const char *detail, const char *fmt, va_list ap)
    __attribute__((format(printf, 5, 0)));

static inline void
unit_vreport(int ok, const char *file, int line, const char *detail,
    const char *fmt, va_list ap)
{
	const char *todo = unit_todo_reason;

	unit_count++;
	printf("%sok %d - ", ok ? "" : "not ", unit_count);
	vprintf(fmt, ap);
	if (todo != NULL)
		printf(" # TODO %s", todo);
	putchar('\n');
	if (!ok) {
		printf("#   at %s:%d: %s\n", file, line, detail);
		if (todo != NULL) {
			unit_todo_failures++;
			unit_todo_block_failures++;
		} else {
			unit_failures++;
		}
	}
	fflush(stdout);
}

static inline int unit_check(int ok, const char *expr, const char *file, int line,
    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static inline int
unit_check(int ok, const char *expr, const char *file, int line, const char *fmt, ...)
{
	char detail[512];
	va_list ap;

	snprintf(detail, sizeof(detail), "expected: %s", expr);
	va_start(ap, fmt);
	unit_vreport(ok, file, line, detail, fmt, ap);
	va_end(ap);
	return ok;
}

static inline int unit_check_int(long long got, long long want, const char *expr,
    const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

static inline int
unit_check_int(long long got, long long want, const char *expr, const char *file,
    int line, const char *fmt, ...)
{
	char detail[512];
	va_list ap;
	int ok = got == want;

	snprintf(detail, sizeof(detail), "%s: got %lld, want %lld", expr, got, want);
	va_start(ap, fmt);
	unit_vreport(ok, file, line, detail, fmt, ap);
	va_end(ap);
	return ok;
}

static inline int unit_check_u64(uint64_t got, uint64_t want, const char *expr,
    const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

static inline int
unit_check_u64(uint64_t got, uint64_t want, const char *expr, const char *file,
    int line, const char *fmt, ...)
{
	char detail[512];
	va_list ap;
	int ok = got == want;

	snprintf(detail, sizeof(detail), "%s: got %llu, want %llu", expr,
	    (unsigned long long)got, (unsigned long long)want);
	va_start(ap, fmt);
	unit_vreport(ok, file, line, detail, fmt, ap);
	va_end(ap);
	return ok;
}

/* Print s (or NULL) quoted, with non-printable bytes as \xHH, cut at ~120 bytes. */
static inline void
unit_quote(char *buf, size_t buflen, const char *s)
{
	size_t o = 0;

	if (s == NULL) {
		snprintf(buf, buflen, "NULL");
		return;
	}
	buf[o++] = '"';
	for (size_t i = 0; s[i] != '\0' && o + 8 < buflen; i++) {
		unsigned char c = (unsigned char)s[i];
		if (i == 120) {
			o += (size_t)snprintf(buf + o, buflen - o, "...");
			break;
		}
		if (c < 0x20 || c >= 0x7F || c == '"' || c == '\\')
			o += (size_t)snprintf(buf + o, buflen - o, "\\x%02X", c);
		else
			buf[o++] = (char)c;
	}
	buf[o++] = '"';
	buf[o] = '\0';
}

/* mode 0: got equals want; mode 1: got contains want. */
static inline int unit_check_str(int mode, const char *got, const char *want,
    const char *expr, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));

static inline int
unit_check_str(int mode, const char *got, const char *want, const char *expr,
    const char *file, int line, const char *fmt, ...)
{
	char detail[1024], g[400], w[400];
	va_list ap;
	int ok;

	if (got == NULL || want == NULL)
		ok = got == want;
	else
		ok = mode == 0 ? strcmp(got, want) == 0 : strstr(got, want) != NULL;
	unit_quote(g, sizeof(g), got);
	unit_quote(w, sizeof(w), want);
	snprintf(detail, sizeof(detail), "%s: got %s, want %s%s", expr, g,
	    mode == 0 ? "" : "something containing ", w);
	va_start(ap, fmt);
	unit_vreport(ok, file, line, detail, fmt, ap);
	va_end(ap);
	return ok;
}

/* CHECK(cond, name...): cond is true. */
#define CHECK(cond, ...) \
	unit_check(!!(cond), #cond, __FILE__, __LINE__, __VA_ARGS__)
/* CHECK_INT(got, want, name...): signed integers (enums too) are equal. */
#define CHECK_INT(got, want, ...) \
	unit_check_int((long long)(got), (long long)(want), #got, __FILE__, __LINE__, \
	    __VA_ARGS__)
/* CHECK_U64(got, want, name...): unsigned integers are equal. */
#define CHECK_U64(got, want, ...) \
	unit_check_u64((uint64_t)(got), (uint64_t)(want), #got, __FILE__, __LINE__, \
	    __VA_ARGS__)
/* CHECK_STR(got, want, name...): strings are equal (both NULL counts as equal). */
#define CHECK_STR(got, want, ...) \
	unit_check_str(0, (got), (want), #got, __FILE__, __LINE__, __VA_ARGS__)
/* CHECK_CONTAINS(got, part, name...): part occurs in got. */
#define CHECK_CONTAINS(got, part, ...) \
	unit_check_str(1, (got), (part), #got, __FILE__, __LINE__, __VA_ARGS__)

/* Write len bytes of text to a fresh file dir/name; its path into path. 0, or -1. */
static inline int
unit_write_file(const char *dir, const char *name, const char *text, size_t len,
    char *path, size_t pathlen)
{
	FILE *f;

	snprintf(path, pathlen, "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (f == NULL)
		return -1;
	if (fwrite(text, 1, len, f) != len) {
		fclose(f);
		return -1;
	}
	return fclose(f);
}

/* Print the plan and a summary; the exit status for main(). */
static inline int
unit_done(void)
{
	if (unit_todo_reason != NULL) {
		printf("# TODO(\"%s\") without TODO_END()\n", unit_todo_reason);
		unit_failures++;
	}
	printf("1..%d\n", unit_count);
	if (unit_todo_failures > 0)
		printf("# %d known bug(s) still failing (marked TODO)\n",
		    unit_todo_failures);
	if (unit_failures > 0)
		printf("# %d of %d checks failed\n", unit_failures, unit_count);
	return unit_failures > 0 || unit_count == 0;
}

#endif
