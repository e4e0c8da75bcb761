/* autionalctl.c: the operator's command line (today: purge). */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json.h>

#include "config.h"
#include "error.h"
#include "purge.h"

static const char usage_text[] =
    "usage: autionalctl [--config FILE] [--json] COMMAND [OPTIONS]\n"
    "\n"
    "Commands:\n"
    "  purge [--older-than DURATION] [--batch N] [--pause-ms N]\n"
    "        Delete tokens that expired or were revoked more than DURATION ago\n"
    "        (default 7d; units s, m, h, d), N rows per transaction (default\n"
    "        1000), pausing between batches (default 10 ms).  Live tokens are\n"
    "        never touched; safe to run while the API serves.\n"
    "\n"
    "Options:\n"
    "  -c, --config FILE  configuration file (default: $AUTIONAL_CONFIG, else\n"
    "                     " SYSCONFDIR "/autional/autional.conf)\n"
    "  --json             print the result as one JSON object\n"
    "  -h, --help         this text\n"
    "\n"
    "Exit status: 0 on success, 1 on a failure, 2 on a usage error.\n";

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Print "autionalctl: <message>" and a hint; returns the usage exit status. */
static int
usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("autionalctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\nTry 'autionalctl --help'.\n", stderr);
	return 2;
}

/* "90", "30s", "15m", "12h", "7d" → seconds; -1 when malformed. */
static long
parse_duration(const char *s)
{
	char *end;
	long n, unit = 1;

	if (s[0] < '0' || s[0] > '9')
		return -1;
	n = strtol(s, &end, 10);
	switch (*end) {
	case '\0': case 's': unit = 1; break;
	case 'm': unit = 60; break;
	case 'h': unit = 3600; break;
	case 'd': unit = 86400; break;
	default: return -1;
	}
	if (*end != '\0' && end[1] != '\0')
		return -1;
	if (n < 0 || n > 3650L * 86400 / unit)
		return -1;
	return n * unit;
}

static long
parse_count(const char *s, long min, long max)
{
	char *end;
	long n;

	if (s[0] < '0' || s[0] > '9')
		return -1;
	n = strtol(s, &end, 10);
	return *end == '\0' && n >= min && n <= max ? n : -1;
}

static int
cmd_purge(const struct config *conf, int argc, char **argv, int json)
{
	static const struct option longopts[] = {
		{ "older-than", required_argument, NULL, 'o' },
		{ "batch", required_argument, NULL, 'b' },
		{ "pause-ms", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct purge_options opt = { .batch = 1000, .pause_ms = 10 };
	struct purge_result res;
	long retention = 7 * 86400, v;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'o':
			if ((retention = parse_duration(optarg)) < 0)
				return usage_error("purge: bad --older-than '%s' (e.g. 7d, 12h, 0)", optarg);
			break;
		case 'b':
			if ((v = parse_count(optarg, 1, 100000)) < 0)
				return usage_error("purge: --batch must be 1..100000, not '%s'", optarg);
			opt.batch = (unsigned int)v;
			break;
		case 'p':
			if ((v = parse_count(optarg, 0, 60000)) < 0)
				return usage_error("purge: --pause-ms must be 0..60000, not '%s'", optarg);
			opt.pause_ms = (unsigned int)v;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return 0;
		default:
			return usage_error("purge: %s", "bad option");
		}
	}
	if (optind != argc)
		return usage_error("purge: unexpected argument '%s'", argv[optind]);

	opt.cutoff = time(NULL) - retention;
	enum aut_err err = purge_run(conf, &opt, &res);
	if (err != AUT_OK) {
		fprintf(stderr, "autionalctl: purge failed (%s); %llu expired and %llu revoked tokens were deleted before the failure\n",
		    error_message(err), (unsigned long long)res.expired,
		    (unsigned long long)res.revoked);
		return 1;
	}
	if (json) {
		json_object *o = json_object_new_object();
		json_object_object_add(o, "expired_deleted", json_object_new_int64((int64_t)res.expired));
		json_object_object_add(o, "revoked_deleted", json_object_new_int64((int64_t)res.revoked));
		json_object_object_add(o, "clients", json_object_new_int64((int64_t)res.clients));
		json_object_object_add(o, "older_than_seconds", json_object_new_int64(retention));
		puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
		json_object_put(o);
	} else {
		printf("purged %llu expired and %llu revoked tokens across %llu clients (older than %ld s)\n",
		    (unsigned long long)res.expired, (unsigned long long)res.revoked,
		    (unsigned long long)res.clients, retention);
	}
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *path = getenv("AUTIONAL_CONFIG");
	struct config conf;
	char err[512];
	int json = 0, c;

	/* "+": stop at the command; its options are parsed by the command. */
	while ((c = getopt_long(argc, argv, "+c:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': path = optarg; break;
		case 'j': json = 1; break;
		case 'h': fputs(usage_text, stdout); return 0;
		default: return usage_error("%s", "bad option");
		}
	}
	if (optind >= argc)
		return usage_error("%s", "missing command");
	if (path == NULL || path[0] == '\0')
		path = SYSCONFDIR "/autional/autional.conf";

	const char *command = argv[optind];
	if (strcmp(command, "purge") != 0)
		return usage_error("unknown command '%s'", command);

	config_defaults(&conf);
	if (config_load(&conf, path, err, sizeof(err)) != 0) {
		fprintf(stderr, "autionalctl: configuration error: %s\n", err);
		return 1;
	}
	return cmd_purge(&conf, argc - optind, argv + optind, json);
}
