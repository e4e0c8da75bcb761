/* config.h: the configuration file: what it holds and how it is read. */
#ifndef AUTIONAL_CONFIG_H
#define AUTIONAL_CONFIG_H

#include <stddef.h>

#include "dbserver.h"

#define CONFIG_PAGE_SIZE_MAX_LIMIT 1000

struct config {
	/* db_servers, in order; none given: the one of db_socket or db_host/db_port */
	struct db_server db_servers[DB_SERVERS_MAX];
	unsigned int db_server_count;
	char db_socket[256];       /* unix socket; empty: use db_host/db_port */
	char db_host[256];         /* empty with no socket: library default */
	unsigned int db_port;      /* 0: library default */
	char db_name[65];
	char db_user[129];         /* empty: from db_option_file */
	char db_password[257];     /* empty: from db_option_file, or none */
	char db_option_file[256];  /* MariaDB option file, group [client] */
	unsigned int db_connect_timeout; /* seconds */
	unsigned int db_read_timeout;    /* seconds */
	unsigned int db_write_timeout;   /* seconds */
	unsigned int page_size_max;      /* largest page_size accepted */
	unsigned int audit_reads;        /* 1: every list leaves an audit row */
	unsigned int revoke_batch;       /* tokens per transaction of a revocation by filters */
	unsigned int db_causal_reads;    /* 1: on Galera, a request's first read waits
	                                    until its node has applied every commit
	                                    made anywhere before it (wsrep_sync_wait) */
};

/* Fill *conf with defaults. */
void config_defaults(struct config *conf);

/*
 * Parse the text of a config file (len bytes, need not be NUL-terminated) into
 * *conf, which should hold defaults.  On failure returns -1 and writes a message
 * naming `name` and the line into err.
 */
int config_parse(struct config *conf, const char *text, size_t len,
    const char *name, char *err, size_t errlen);

/* Read and parse the file at path. Same contract as config_parse. */
int config_load(struct config *conf, const char *path, char *err, size_t errlen);

#endif
