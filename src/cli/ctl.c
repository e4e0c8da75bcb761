/* ctl.c: autionalctl's shared parts: option parsing, messages, validators. */
#define _DEFAULT_SOURCE        /* timegm */
#define _XOPEN_SOURCE 700      /* strptime */

#include "ctl.h"

#include <pwd.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/types.h>

#include "../api/paging.h"
#include "../api/params.h"
#include "ctl_directory.h"
#include "../core/log.h"
#include "purge.h"
#include "../core/text.h"
#include "../core/timefmt.h"
#include "../core/tokenid.h"

void
ctl_print_help(const struct ctl_command *cmd, FILE *out)
{
	fprintf(out, "usage: autionalctl %s %s\n\n%s", cmd->name, cmd->synopsis, cmd->help);
	fputs("\nCommon options:\n"
	    "  -c, --config FILE  configuration file (default: $AUTIONAL_CONFIG, else\n"
	    "                     " SYSCONFDIR "/autional/autional.conf)\n"
	    "  --json             print the result as one JSON value\n"
	    "  -h, --help         this text\n"
	    "\nExit status: 0 on success, 1 on a failure, 2 on a usage error.\n", out);
}

static void vmessage(const struct ctl *ctl, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

static void
vmessage(const struct ctl *ctl, const char *fmt, va_list ap)
{
	char message[2048];

	vsnprintf(message, sizeof(message), fmt, ap);
	if (ctl != NULL && ctl->cmd != NULL)
		log_error("%s: %s", ctl->cmd->name, message);
	else
		log_error("%s", message);
}

int
ctl_usage(const struct ctl *ctl, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmessage(ctl, fmt, ap);
	va_end(ap);
	if (ctl != NULL && ctl->cmd != NULL)
		fprintf(stderr, "Try 'autionalctl %s --help'.\n", ctl->cmd->name);
	else
		fputs("Try 'autionalctl --help'.\n", stderr);
	return CTL_EXIT_USAGE;
}

int
ctl_fail(const struct ctl *ctl, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmessage(ctl, fmt, ap);
	va_end(ap);
	return CTL_EXIT_FAILURE;
}

int
ctl_fail_err(const struct ctl *ctl, enum aut_err err)
{
	switch (err) {
	case AUT_ERR_DB_UNAVAILABLE:
		return ctl_fail(ctl, "the database is unavailable (see the message above)");
	case AUT_ERR_DB_BUSY:
		return ctl_fail(ctl, "the database kept refusing for lock conflicts; nothing was changed, try again");
	case AUT_ERR_NOMEM:
		return ctl_fail(ctl, "out of memory");
	default:
		return ctl_fail(ctl, "database error (see the message above); nothing was changed");
	}
}

int
ctl_parse_options(struct ctl *ctl, int argc, char **argv,
    const struct option *longopts,
    int (*each)(struct ctl *ctl, int c, const char *arg, void *ctx), void *ctx)
{
	int c, rc;

	opterr = 0;
	optind = 0;   /* glibc: start over (argv[0] is the command word) */
	while ((c = getopt_long(argc, argv, CTL_COMMON_SHORT, longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			ctl->config_path = optarg;
			continue;
		case 'j':
			ctl->json = true;
			continue;
		case 'h':
			ctl_print_help(ctl->cmd, stdout);
			return CTL_EXIT_OK;
		case ':':
			return ctl_usage(ctl, "option '%s' needs a value", argv[optind - 1]);
		case '?':
			return ctl_usage(ctl, "unknown option '%s'", argv[optind - 1]);
		}
		if (each == NULL)
			return ctl_usage(ctl, "unknown option '%s'", argv[optind - 1]);
		if ((rc = each(ctl, c, optarg, ctx)) >= 0)
			return rc;
	}
	if (optind < argc)
		return ctl_usage(ctl, "unexpected argument '%s'", argv[optind]);
	return -1;
}

int
ctl_open(struct ctl *ctl)
{
	const struct db_table tables[] = {
		store_statements, ctl_store_statements, purge_statements, sweep_statements,
		ctl_directory_statements
	};
	char err[512];
	const char *path = ctl->config_path;

	if (path == NULL || path[0] == '\0')
		path = getenv("AUTIONAL_CONFIG");
	if (path == NULL || path[0] == '\0')
		path = SYSCONFDIR "/autional/autional.conf";
	config_defaults(&ctl->conf);
	if (config_load(&ctl->conf, path, err, sizeof(err)) != 0) {
		log_error("configuration error: %s", err);
		return CTL_EXIT_FAILURE;
	}
	if (db_new(&ctl->conf, tables, sizeof(tables) / sizeof(tables[0]), &ctl->db) != AUT_OK ||
	    store_new(ctl->db, &ctl->store) != AUT_OK ||
	    ctl_store_new(ctl->db, &ctl->cst) != AUT_OK) {
		log_error("out of memory");
		return CTL_EXIT_FAILURE;
	}
	/* An operator's command sees what was just done on any node of a cluster. */
	db_causal_session(ctl->db);
	return CTL_EXIT_OK;
}

void
ctl_close(struct ctl *ctl)
{
	ctl_store_free(ctl->cst);
	store_free(ctl->store);
	db_free(ctl->db);
	ctl->cst = NULL;
	ctl->store = NULL;
	ctl->db = NULL;
}

void
ctl_json_put(json_object *obj, const char *key, json_object *value)
{
	/* A NULL value (out of memory) leaves the key out; json-c takes value. */
	if (obj != NULL && value != NULL && json_object_object_add(obj, key, value) != 0)
		json_object_put(value);
}

int
ctl_print_json(json_object *value)
{
	const char *s;
	int rc = CTL_EXIT_FAILURE;

	if (value != NULL &&
	    (s = json_object_to_json_string_ext(value,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)) != NULL &&
	    puts(s) >= 0 && fflush(stdout) == 0)
		rc = CTL_EXIT_OK;
	else
		log_error("cannot print the result");
	json_object_put(value);
	return rc;
}

/* ---- output for people ---------------------------------------------------- */

struct ctl_table {
	int ncols;
	char **cells;            /* row after row, ncols each; the header is row 0 */
	size_t nrows, cap;       /* rows held (the header included) and room */
};

struct ctl_table *
ctl_table_new(int ncols, const char *const *header)
{
	struct ctl_table *t = calloc(1, sizeof(*t));

	if (t == NULL)
		return NULL;
	t->ncols = ncols;
	if (ctl_table_add(t, header) != 0) {
		ctl_table_free(t);
		return NULL;
	}
	return t;
}

int
ctl_table_add(struct ctl_table *t, const char *const *cells)
{
	if (t->nrows == t->cap) {
		size_t cap = t->cap ? 2 * t->cap : 16;
		char **grown = realloc(t->cells, cap * (size_t)t->ncols * sizeof(*grown));
		if (grown == NULL)
			return -1;
		t->cells = grown;
		t->cap = cap;
	}
	char **row = t->cells + t->nrows * (size_t)t->ncols;
	for (int i = 0; i < t->ncols; i++) {
		if ((row[i] = strdup(cells[i] ? cells[i] : "-")) == NULL) {
			while (i-- > 0)
				free(row[i]);
			return -1;
		}
	}
	t->nrows++;
	return 0;
}

/* Columns on screen of UTF-8 text: one per character (no wide-character tables). */
static size_t
text_columns(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

void
ctl_table_print(const struct ctl_table *t)
{
	size_t width[16] = { 0 };
	int ncols = t->ncols < 16 ? t->ncols : 16;

	for (size_t r = 0; r < t->nrows; r++)
		for (int i = 0; i < ncols; i++) {
			size_t w = text_columns(t->cells[r * (size_t)t->ncols + i]);
			if (w > width[i])
				width[i] = w;
		}
	for (size_t r = 0; r < t->nrows; r++) {
		for (int i = 0; i < ncols; i++) {
			const char *cell = t->cells[r * (size_t)t->ncols + i];
			if (i == ncols - 1) {
				fputs(cell, stdout);   /* no trailing blanks */
				break;
			}
			fputs(cell, stdout);
			for (size_t pad = text_columns(cell); pad < width[i] + 2; pad++)
				putchar(' ');
		}
		putchar('\n');
	}
}

void
ctl_table_free(struct ctl_table *t)
{
	if (t == NULL)
		return;
	for (size_t i = 0; i < t->nrows * (size_t)t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	free(t);
}

void
ctl_print_fields(int n, const char *const *keys, const char *const *values)
{
	size_t width = 0;

	for (int i = 0; i < n; i++)
		if (strlen(keys[i]) > width)
			width = strlen(keys[i]);
	for (int i = 0; i < n; i++)
		printf("%-*s  %s\n", (int)width, keys[i], values[i] ? values[i] : "-");
}

/* ---- lists ----------------------------------------------------------------- */

int
ctl_parse_paging(struct ctl *ctl, const struct ctl_paging_args *a, unsigned int max,
    unsigned long *page, unsigned int *page_size)
{
	uint64_t v;

	*page = PARAMS_PAGE_DEFAULT;
	*page_size = PARAMS_PAGE_SIZE_DEFAULT < max ? PARAMS_PAGE_SIZE_DEFAULT : max;
	if (a->page != NULL) {
		if (text_parse_decimal(a->page, strlen(a->page), 1, PARAMS_PAGE_MAX, &v) != 0)
			return ctl_usage(ctl, "bad --page '%s': a whole number from 1 to %lu",
			    a->page, PARAMS_PAGE_MAX);
		*page = (unsigned long)v;
	}
	if (a->page_size != NULL) {
		if (text_parse_decimal(a->page_size, strlen(a->page_size), 1, max, &v) != 0)
			return ctl_usage(ctl, "bad --page-size '%s': a whole number from 1 to %u",
			    a->page_size, max);
		*page_size = (unsigned int)v;
	}
	return -1;
}

int
ctl_print_list_json(json_object *items, unsigned long page, unsigned int page_size,
    uint64_t total)
{
	json_object *root = json_object_new_object(), *pagination = json_object_new_object();
	struct paging pg;

	paging_compute(page, page_size, total, &pg);
	ctl_json_put(pagination, "page", json_object_new_int64((int64_t)pg.page));
	ctl_json_put(pagination, "page_size", json_object_new_int64(pg.page_size));
	ctl_json_put(pagination, "total", json_object_new_int64((int64_t)pg.total));
	ctl_json_put(pagination, "total_pages", json_object_new_int64((int64_t)pg.total_pages));
	ctl_json_put(pagination, "has_next", json_object_new_boolean(pg.has_next));
	ctl_json_put(pagination, "has_prev", json_object_new_boolean(pg.has_prev));
	ctl_json_put(root, "items", items);
	ctl_json_put(root, "pagination", pagination);
	ctl_json_put(root, "total", json_object_new_int64((int64_t)total));
	if (root == NULL) {
		json_object_put(items);
		json_object_put(pagination);
	}
	return ctl_print_json(root);
}

void
ctl_print_list_footer(unsigned long page, unsigned int page_size, uint64_t total,
    const char *singular, const char *plural)
{
	struct paging pg;

	paging_compute(page, page_size, total, &pg);
	if (total == 0)
		printf("no %s\n", plural);
	else
		printf("page %lu of %llu, %llu %s in all\n", pg.page,
		    (unsigned long long)pg.total_pages, (unsigned long long)total,
		    total == 1 ? singular : plural);
}

json_object *
ctl_json_time(const struct tm *tm)
{
	char buf[TIMEFMT_RFC3339_LEN];

	return timefmt_rfc3339_tm(tm, buf) == 0 ? json_object_new_string(buf) : NULL;
}

/* ---- validators ---------------------------------------------------------- */

bool
ctl_valid_id(const char *s)
{
	return text_is_id(s, strlen(s), CTL_ID_MAX);
}

int
ctl_check_id(const struct ctl *ctl, const char *option, const char *value)
{
	if (value == NULL)
		return ctl_usage(ctl, "%s is required", option);
	if (!ctl_valid_id(value))
		return ctl_usage(ctl, "bad %s '%s': use 1-64 of A-Z a-z 0-9 _ . -", option, value);
	return -1;
}

bool
ctl_valid_name(const char *s, size_t max_chars)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + strlen(s);
	size_t chars = 0;
	uint32_t cp;

	while (p < end) {
		if (!text_utf8_next(&p, end, &cp))
			return false;
		if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f))
			return false;   /* control characters */
		if (++chars > max_chars)
			return false;
	}
	return chars >= 1;
}

bool
ctl_valid_scope(const char *s)
{
	size_t n = strlen(s);

	if (n > 1000)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == ' ') {
			if (i == 0 || i == n - 1 || s[i + 1] == ' ')
				return false;
		} else if (!(c == 0x21 || (c >= 0x23 && c <= 0x5b) || (c >= 0x5d && c <= 0x7e))) {
			return false;
		}
	}
	return true;
}

bool
ctl_valid_action(const char *s)
{
	size_t n = 0;

	for (; s[n] != '\0'; n++)
		if (n >= 32 || !((s[n] >= 'a' && s[n] <= 'z') || s[n] == '.' || s[n] == '_'))
			return false;
	return n >= 1;
}

long
ctl_parse_duration(const char *s, long min)
{
	size_t len = strlen(s);
	long unit = 1;
	uint64_t n;

	if (len == 0)
		return -1;
	switch (s[len - 1]) {
	case 's': unit = 1; len--; break;
	case 'm': unit = 60; len--; break;
	case 'h': unit = 3600; len--; break;
	case 'd': unit = 86400; len--; break;
	default: break;
	}
	if (text_parse_decimal(s, len, 0, (uint64_t)(3650L * 86400 / unit), &n) != 0 ||
	    (long)n * unit < min)
		return -1;
	return (long)n * unit;
}

int
ctl_parse_utc(const char *s, time_t *out)
{
	bool date_only = strlen(s) == 10;
	const char *end;
	char again[32];
	struct tm tm;
	time_t t;

	memset(&tm, 0, sizeof(tm));
	end = strptime(s, date_only ? "%Y-%m-%d" : "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (end == NULL || *end != '\0' || tm.tm_year < 70)
		return -1;
	t = timegm(&tm);
	/* strptime takes "2026-2-30" and timegm makes it March 2: only the
	 * canonical spelling of a real date and time counts. */
	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(again, sizeof(again), date_only ? "%Y-%m-%d" : "%Y-%m-%dT%H:%M:%SZ",
	    &tm) == 0 || strcmp(again, s) != 0)
		return -1;
	*out = t;
	return 0;
}

void
ctl_actor(char out[CTL_ACTOR_MAX + 1])
{
	struct passwd *pw = getpwuid(getuid());
	char login[CTL_ACTOR_MAX - 4 + 1];
	size_t n = 0;

	if (pw != NULL && pw->pw_name != NULL) {
		for (const char *p = pw->pw_name; *p != '\0' && n < sizeof(login) - 1; p++) {
			login[n++] = text_is_id_char(*p) || *p == '@' ? *p : '_';
		}
	}
	login[n] = '\0';
	if (n == 0)
		snprintf(login, sizeof(login), "uid%lu", (unsigned long)getuid());
	snprintf(out, CTL_ACTOR_MAX + 1, "cli:%s", login);
}
