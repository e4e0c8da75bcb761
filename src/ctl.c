/* ctl.c: autionalctl's shared parts: option parsing, messages, validators. */
#include "ctl.h"

#include <pwd.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/types.h>

#include "tokenid.h"

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
	fputs("autionalctl: ", stderr);
	if (ctl != NULL && ctl->cmd != NULL)
		fprintf(stderr, "%s: ", ctl->cmd->name);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
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
ctl_load_config(struct ctl *ctl)
{
	char err[512];
	const char *path = ctl->config_path;

	if (path == NULL || path[0] == '\0')
		path = getenv("AUTIONAL_CONFIG");
	if (path == NULL || path[0] == '\0')
		path = SYSCONFDIR "/autional/autional.conf";
	config_defaults(&ctl->conf);
	if (config_load(&ctl->conf, path, err, sizeof(err)) != 0) {
		fprintf(stderr, "autionalctl: configuration error: %s\n", err);
		return CTL_EXIT_FAILURE;
	}
	return CTL_EXIT_OK;
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
		fputs("autionalctl: cannot print the result\n", stderr);
	json_object_put(value);
	return rc;
}

/* ---- validators ---------------------------------------------------------- */

bool
ctl_valid_id(const char *s)
{
	size_t n = 0;

	for (; s[n] != '\0'; n++) {
		char c = s[n];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-'))
			return false;
		if (n >= CTL_ID_MAX)
			return false;
	}
	return n >= 1;
}

bool
ctl_valid_name(const char *s, size_t max_chars)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t chars = 0;

	while (*p != '\0') {
		uint32_t cp;
		int more;

		if (*p < 0x80) {
			cp = *p;
			more = 0;
		} else if (*p >= 0xc2 && *p <= 0xdf) {
			cp = *p & 0x1f;
			more = 1;
		} else if (*p >= 0xe0 && *p <= 0xef) {
			cp = *p & 0x0f;
			more = 2;
		} else if (*p >= 0xf0 && *p <= 0xf4) {
			cp = *p & 0x07;
			more = 3;
		} else {
			return false;
		}
		p++;
		for (int i = 0; i < more; i++, p++) {
			if ((*p & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (*p & 0x3f);
		}
		if ((more == 2 && cp < 0x800) || (more == 3 && cp < 0x10000) ||
		    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;   /* overlong, out of range, surrogate */
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
ctl_parse_count(const char *s, long min, long max)
{
	long n = 0;

	if (s[0] == '\0')
		return -1;
	for (const char *p = s; *p != '\0'; p++) {
		if (*p < '0' || *p > '9' || n > (max - (*p - '0')) / 10)
			return -1;
		n = n * 10 + (*p - '0');
	}
	return n >= min && n <= max ? n : -1;
}

long
ctl_parse_duration(const char *s, long min)
{
	char digits[16];
	size_t len = strlen(s);
	long unit = 1, n;

	if (len == 0 || len >= sizeof(digits))
		return -1;
	switch (s[len - 1]) {
	case 's': unit = 1; len--; break;
	case 'm': unit = 60; len--; break;
	case 'h': unit = 3600; len--; break;
	case 'd': unit = 86400; len--; break;
	default: break;
	}
	memcpy(digits, s, len);
	digits[len] = '\0';
	n = ctl_parse_count(digits, 0, 3650L * 86400 / unit);
	if (n < 0 || n * unit < min)
		return -1;
	return n * unit;
}

int
ctl_parse_token_id(const char *s, unsigned char id[16])
{
	return token_id_parse(s, strlen(s), id);
}

void
ctl_format_token_id(const unsigned char id[16], char out[CTL_TOKEN_ID_LEN])
{
	token_id_format(id, out);
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm). */
static long
days_from_civil(long y, long m, long d)
{
	y -= m <= 2;
	long era = (y >= 0 ? y : y - 399) / 400;
	long yoe = y - era * 400;
	long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* n digits at s as a number, or -1. */
static long
digits(const char *s, int n)
{
	long v = 0;

	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

int
ctl_parse_utc(const char *s, time_t *out)
{
	static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	size_t len = strlen(s);
	long y, mo, d, h = 0, mi = 0, sec = 0;

	if (len != 10 && len != 20)
		return -1;
	if (s[4] != '-' || s[7] != '-')
		return -1;
	y = digits(s, 4), mo = digits(s + 5, 2), d = digits(s + 8, 2);
	if (len == 20) {
		if (s[10] != 'T' || s[13] != ':' || s[16] != ':' || s[19] != 'Z')
			return -1;
		h = digits(s + 11, 2), mi = digits(s + 14, 2), sec = digits(s + 17, 2);
	}
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] ||
	    h < 0 || h > 23 || mi < 0 || mi > 59 || sec < 0 || sec > 59)
		return -1;
	if (mo == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return -1;
	*out = (time_t)(days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec);
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
			char c = *p;
			bool safe = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			    (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-' || c == '@';
			login[n++] = safe ? c : '_';
		}
	}
	login[n] = '\0';
	if (n == 0)
		snprintf(login, sizeof(login), "uid%lu", (unsigned long)getuid());
	snprintf(out, CTL_ACTOR_MAX + 1, "cli:%s", login);
}
