/* dbserver.h: the database servers a worker may use, and which one to use next (failover). */
#ifndef AUTIONAL_DBSERVER_H
#define AUTIONAL_DBSERVER_H

#include <stdbool.h>
#include <stddef.h>

#define DB_SERVERS_MAX 8

/* Seconds a server that failed is passed over before it is tried again. */
#define DB_SERVER_HOLD_SECONDS 10

/* One server: a unix socket, or a host with an optional port. */
struct db_server {
	char socket[256];          /* absolute path; empty: host and port */
	char host[256];            /* name or address (an IPv6 one without brackets) */
	unsigned int port;         /* 0: the client library's default */
};

/*
 * Parse a db_servers value: entries separated by commas and/or blanks, each
 * an absolute socket path ("/run/mysqld/mysqld.sock"), "host", "host:port" or
 * "[v6-address]:port".  On failure returns -1 with *why naming the problem.
 */
int db_servers_parse(const char *text, size_t len, struct db_server *out, unsigned int *n,
    const char **why);

/* "socket /path" or "host:port" for log lines (no secrets in either). */
void db_server_name(const struct db_server *s, char *buf, size_t size);

/*
 * Which server a worker uses.  Each worker starts on its home server (spread
 * over the workers by process id) and stays on the server it is connected to.
 * A server that fails is held back for DB_SERVER_HOLD_SECONDS and the worker
 * moves on to the next one in the list; once its home server's hold has run
 * out, the worker goes back to it at the start of a request.
 * Times are monotonic seconds.
 */
struct db_failover {
	unsigned int n;                    /* servers in the list */
	unsigned int home;                 /* this worker's first choice */
	unsigned int current;              /* in use, or the next to try */
	double held_until[DB_SERVERS_MAX]; /* not before this time; 0: never failed */
};

void db_failover_init(struct db_failover *f, unsigned int n, unsigned int home);

/*
 * The server to connect to now: the current one if it is not held back, else
 * the next one in the list that is not; when all are held back, the one whose
 * hold ends first (better a try than no service).
 */
unsigned int db_failover_pick(struct db_failover *f, double now);

/* Whether every server is held back at now (each failed within its hold). */
bool db_failover_all_held(const struct db_failover *f, double now);

/* Server i failed at now: hold it back, and make the next one current. */
void db_failover_failed(struct db_failover *f, unsigned int i, double now);

/* Connected to server i: it is current, and no longer held back. */
void db_failover_connected(struct db_failover *f, unsigned int i);

/*
 * When the worker is away from home and home's hold has run out, make home
 * current and return true: the caller drops its connection (between units of
 * work) and the next connect tries home first.
 */
bool db_failover_go_home(struct db_failover *f, double now);

#endif
