/* db.h: the MariaDB connection and prepared-statement helpers under store and purge. */
#ifndef AUTIONAL_DB_H
#define AUTIONAL_DB_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <mysql.h>

#include "config.h"
#include "error.h"

/* The flag type MYSQL_BIND points at (my_bool in MariaDB, bool in MySQL 8). */
typedef __typeof__(*((MYSQL_BIND *)0)->is_null) db_flag;

#define DB_MAX_STATEMENTS 16

/*
 * One connection and its statements.  Statements are prepared on first use
 * and kept until the connection is dropped; any error drops the connection,
 * so the next call starts afresh (reconnects, prepares again).
 */
struct db {
	const struct config *conf;
	MYSQL *conn;                              /* NULL while disconnected */
	const char *const *sql;                   /* statement texts, by index */
	int nstatements;
	MYSQL_STMT *stmt[DB_MAX_STATEMENTS];      /* prepared, or NULL */
};

void db_init(struct db *db, const struct config *conf, const char *const *sql,
    int nstatements);

/* Connect unless connected. */
enum aut_err db_connect(struct db *db);

/* Close statements and connection. */
void db_disconnect(struct db *db);

/*
 * Log a failure on stderr (the message never holds bound values), drop the
 * connection, and classify it: AUT_ERR_DB_BUSY for a deadlock or lock wait
 * timeout (InnoDB rolled the transaction back: the caller may run it again),
 * AUT_ERR_DB_UNAVAILABLE when the server is away, else AUT_ERR_INTERNAL.
 * stmt may be NULL for connection-level errors.
 */
enum aut_err db_fail(struct db *db, MYSQL_STMT *stmt, const char *what);

/* Bind params, execute statement `which`, bind results (may be NULL). */
enum aut_err db_execute(struct db *db, int which, MYSQL_BIND *params,
    MYSQL_BIND *results, const char *what);

/* Next row into the bound results; *row false at the end (result released). */
enum aut_err db_fetch(struct db *db, int which, bool *row, const char *what);

/* At most one row; a second one is an error. */
enum aut_err db_fetch_one(struct db *db, int which, bool *found, const char *what);

/* Attempts of a transaction that InnoDB rolled back for a deadlock. */
#define DB_BUSY_ATTEMPTS 6

/* Sleep before attempt number `attempt` (1, 2, ...) of such a transaction. */
void db_busy_pause(int attempt);

/* Rows changed by the last execute of `which`. */
uint64_t db_affected_rows(struct db *db, int which);

void db_bind_u64(MYSQL_BIND *b, uint64_t *v);
void db_bind_tiny(MYSQL_BIND *b, signed char *v);
void db_bind_blob(MYSQL_BIND *b, const void *data, unsigned long *len);
void db_bind_string(MYSQL_BIND *b, const char *s, unsigned long *len);
/* A result column read into buf (size bytes including room for a NUL). */
void db_bind_text(MYSQL_BIND *b, char *buf, size_t size, unsigned long *len,
    db_flag *is_null);
/* A DATETIME parameter set to `when` (UTC). */
void db_bind_time(MYSQL_BIND *b, MYSQL_TIME *t, time_t when);
/* A DATETIME result column. */
void db_bind_datetime(MYSQL_BIND *b, MYSQL_TIME *t);
void db_tm_from_mysql(const MYSQL_TIME *t, struct tm *tm);

#endif
