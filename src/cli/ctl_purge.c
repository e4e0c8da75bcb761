/* ctl_purge.c: autionalctl purge: the batched clean-up of expired and revoked tokens. */
#include <string.h>
#include <time.h>

#include "ctl.h"
#include "purge.h"
#include "../core/text.h"

struct purge_args {
	struct purge_options opt;
	long retention;          /* seconds: --older-than */
};

static int
purge_option(struct ctl *ctl, int c, const char *arg, void *ctx)
{
	struct purge_args *a = ctx;
	uint64_t v;

	switch (c) {
	case 'o':
		if ((a->retention = ctl_parse_duration(arg, 0)) < 0)
			return ctl_usage(ctl, "bad --older-than '%s' (e.g. 7d, 12h, 0)", arg);
		return -1;
	case 'b':
		if (text_parse_decimal(arg, strlen(arg), 1, 100000, &v) != 0)
			return ctl_usage(ctl, "--batch must be 1..100000, not '%s'", arg);
		a->opt.batch = (unsigned int)v;
		return -1;
	case 'p':
		if (text_parse_decimal(arg, strlen(arg), 0, 60000, &v) != 0)
			return ctl_usage(ctl, "--pause-ms must be 0..60000, not '%s'", arg);
		a->opt.pause_ms = (unsigned int)v;
		return -1;
	}
	return ctl_usage(ctl, "unknown option");
}

static int
run_purge(struct ctl *ctl, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "older-than", required_argument, NULL, 'o' },
		{ "batch", required_argument, NULL, 'b' },
		{ "pause-ms", required_argument, NULL, 'p' },
		CTL_COMMON_OPTIONS
	};
	struct purge_args a = { .opt = { .batch = 1000, .pause_ms = 10 },
	    .retention = 7 * 86400 };
	struct purge_result res;
	enum aut_err err;
	int rc;

	if ((rc = ctl_parse_options(ctl, argc, argv, longopts, purge_option, &a)) >= 0)
		return rc;
	if ((rc = ctl_open(ctl)) != 0)
		return rc;

	a.opt.cutoff = db_clock_now() - a.retention;
	err = purge_run(ctl->db, &a.opt, &res);
	if (err != AUT_OK)
		return ctl_fail(ctl, "failed (%s); %llu expired and %llu revoked tokens were"
		    " deleted before the failure", err == AUT_ERR_DB_UNAVAILABLE ?
		    "database unavailable" : "database error",
		    (unsigned long long)res.expired, (unsigned long long)res.revoked);
	if (ctl->json) {
		json_object *o = json_object_new_object();
		ctl_json_put(o, "expired_deleted", json_object_new_int64((int64_t)res.expired));
		ctl_json_put(o, "revoked_deleted", json_object_new_int64((int64_t)res.revoked));
		ctl_json_put(o, "clients", json_object_new_int64((int64_t)res.clients));
		ctl_json_put(o, "older_than_seconds", json_object_new_int64(a.retention));
		return ctl_print_json(o);
	}
	printf("purged %llu expired and %llu revoked tokens across %llu clients (older than %ld s)\n",
	    (unsigned long long)res.expired, (unsigned long long)res.revoked,
	    (unsigned long long)res.clients, a.retention);
	return CTL_EXIT_OK;
}

const struct ctl_command ctl_cmd_purge = {
	"purge", "[--older-than DURATION] [--batch N] [--pause-ms N]",
	"Delete tokens that expired or were revoked more than DURATION ago (default\n"
	"7d; seconds, or a number with s, m, h or d), N rows per transaction\n"
	"(default 1000), pausing between batches (default 10 ms).  Live tokens are\n"
	"never touched; safe to run while the API serves.  Rows are deleted one by\n"
	"one (never TRUNCATE), so the token counts stay exact.\n",
	run_purge,
};
