/* store_probe.c: asks the real store for a client's exact total at a chosen instant (tests only). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/core/config.h"
#include "../../src/core/store.h"

/*
 * usage: store_probe CONFIG CLIENT_PK TYPE USER EPOCH...
 * TYPE is any, access_token or refresh_token; USER a public user id or "-".
 * Prints "EPOCH TOTAL" per instant, as store_count_active() computes it: the
 * total expression every list statement of the API carries (store.c TOTAL),
 * so tests can pick instants the clock would take an hour to reach.
 */
int
main(int argc, char **argv)
{
	struct config conf;
	struct db *db = NULL;
	struct store *st = NULL;
	struct token_filters f;
	char err[512];
	int rc = 0;

	if (argc < 6) {
		fprintf(stderr, "usage: store_probe CONFIG CLIENT_PK TYPE USER EPOCH...\n");
		return 2;
	}
	config_defaults(&conf);
	if (config_load(&conf, argv[1], err, sizeof(err)) != 0) {
		fprintf(stderr, "store_probe: %s\n", err);
		return 1;
	}
	memset(&f, 0, sizeof(f));
	if (strcmp(argv[3], "access_token") == 0)
		f.token_type = TOKEN_TYPE_ACCESS;
	else if (strcmp(argv[3], "refresh_token") == 0)
		f.token_type = TOKEN_TYPE_REFRESH;
	if (strcmp(argv[4], "-") != 0)
		snprintf(f.user_id, sizeof(f.user_id), "%s", argv[4]);
	if (db_new(&conf, &store_statements, 1, &db) != AUT_OK ||
	    store_new(db, &st) != AUT_OK)
		return 1;
	for (int i = 5; i < argc; i++) {
		uint64_t total = 0;
		time_t at = (time_t)strtoll(argv[i], NULL, 10);
		enum aut_err e = store_count_active(st, strtoull(argv[2], NULL, 10), &f, at,
		    &total);
		if (e != AUT_OK) {
			fprintf(stderr, "store_probe: %s\n", error_message(e));
			rc = 1;
			break;
		}
		printf("%s %llu\n", argv[i], (unsigned long long)total);
	}
	store_free(st);
	db_free(db);
	return rc;
}
