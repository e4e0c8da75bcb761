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

#include "ctl_directory.h"
#include "../core/log.h"
#include "purge.h"
#include "../core/text.h"
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
	case AUT_ERR_DB_TOO_LARGE:
		return ctl_fail(ctl, "the change is larger than the database cluster takes in one "
		    "transaction (wsrep_max_ws_rows, wsrep_max_ws_size); it was rolled back");
	case AUT_ERR_NOMEM:
		return ctl_fail(ctl, "out of memory");
	default:
		return ctl_fail(ctl, "database error (see the message above); nothing was changed");
	}
}

/*
 * The name of the command's own option c when it takes a value, else NULL.
 * Such an option given twice is refused: with the last one silently winning,
 * "--client a --client b --all" revoked b's tokens (the API's DELETE refuses a
 * repeated parameter too).  A flag said twice says the same thing.
 */
static const char *
valued_option_name(const struct option *longopts, int c)
{
	for (const struct option *o = longopts; o->name != NULL; o++)
		if (o->val == c && o->has_arg == required_argument)
			return o->name;
	return NULL;
}

int
ctl_parse_options(struct ctl *ctl, int argc, char **argv,
    const struct option *longopts,
    int (*each)(struct ctl *ctl, int c, const char *arg, void *ctx), void *ctx)
{
	bool seen[256] = { false };
	const char *name;
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
		if (c > 0 && c < 256 && (name = valued_option_name(longopts, c)) != NULL) {
			if (seen[c])
				return ctl_usage(ctl, "--%s given twice: give it once", name);
			seen[c] = true;
		}
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
	else if (obj == NULL)
		json_object_put(value);
}

bool
ctl_json_append(json_object *array, json_object *value)
{
	if (array != NULL && value != NULL && json_object_array_add(array, value) == 0)
		return true;
	json_object_put(value);
	return false;
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

int
ctl_check_lookup(const struct ctl *ctl, const char *option, const char *value)
{
	if (value == NULL)
		return ctl_usage(ctl, "%s is required", option);
	if (!ctl_valid_name(value, CTL_LOOKUP_MAX))
		return ctl_usage(ctl, "bad %s: 1-%d characters of UTF-8 text, no control characters",
		    option, CTL_LOOKUP_MAX);
	return -1;
}

int
ctl_token_filters(const struct ctl *ctl, const char *user, const char *type,
    struct token_filters *f)
{
	int rc;

	memset(f, 0, sizeof(*f));
	if (user != NULL) {
		if ((rc = ctl_check_lookup(ctl, "--user", user)) >= 0)
			return rc;
		/* Never cut to fit: a prefix may be another user's id. */
		if (strlen(user) >= sizeof(f->user_id))
			return ctl_usage(ctl, "bad --user: a user id is at most %d bytes",
			    TOKEN_USER_ID_MAX);
		memcpy(f->user_id, user, strlen(user) + 1);
	}
	if (type == NULL)
		f->token_type = TOKEN_TYPE_ANY;
	else if (strcmp(type, "access_token") == 0)
		f->token_type = TOKEN_TYPE_ACCESS;
	else if (strcmp(type, "refresh_token") == 0)
		f->token_type = TOKEN_TYPE_REFRESH;
	else
		return ctl_usage(ctl, "bad --type '%s': access_token or refresh_token", type);
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
