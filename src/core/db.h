/* db.h: the database layer: one connection, prepared statements, binds, transactions, retries. */
#ifndef AUTIONAL_DB_H
#define AUTIONAL_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <mysql.h>

#include "config.h"
#include "error.h"

/* The flag type MYSQL_BIND points at (my_bool in MariaDB, bool in MySQL 8). */
typedef __typeof__(*((MYSQL_BIND *)0)->is_null) db_flag;

/* One statement a store prepares: its text and what it does (for messages). */
struct db_statement {
	const char *what;          /* "token list": names the statement in a log line */
	const char *sql;
	bool causal;               /* on Galera (wsrep on) with db_causal_reads: waits until
	                              the node has applied every commit made anywhere before
	                              it runs (wsrep_sync_wait=1); for the first read of a
	                              request, so a revocation on any node shows at once */
};

/* A store's statements, handed to db_new(); they live as long as the program. */
struct db_table {
	const struct db_statement *statements;
	size_t n;
};

/*
 * One connection and the statements of the stores that use it.  Statements are
 * prepared on first use and kept until the connection is dropped; any error
 * drops the connection, so the next call starts afresh (reconnects, prepares
 * again).  One db per process.
 *
 * Servers (db_servers, see dbserver.h): the connection goes to this worker's
 * home server, or the next one that answers.  A server that fails with an
 * error meaning it is away (2002, 2006, 2013, 1047, ...) or that says it is a
 * Galera node not Synced is held back for a while and the next one is used;
 * the worker goes home again at the start of a request (db_request_begins)
 * once the hold is over.
 */
struct db;

/* A db for conf (which must outlive it) preparing the statements of ntables tables. */
enum aut_err db_new(const struct config *conf, const struct db_table *tables, size_t ntables,
    struct db **out);
/* Disconnect, free, and release the client library. */
void db_free(struct db *db);

/* Connect unless connected. */
enum aut_err db_connect(struct db *db);
/* Close statements and connection (the server rolls back what was not committed). */
void db_disconnect(struct db *db);
bool db_connected(const struct db *db);

/*
 * Whether the database is away: not connected, and every server failed
 * within DB_SERVER_HOLD_SECONDS.  A connect now would most likely wait out
 * db_connect_timeout to fail again; work that can wait (the read-audit
 * queue) waits, and a request still tries (db_failover_pick).
 */
bool db_away(const struct db *db);

/*
 * A Galera node refuses a transaction that writes more than wsrep_max_ws_rows
 * rows (a trigger's rows count too) or replicates more than
 * wsrep_max_ws_size bytes (AUT_ERR_DB_TOO_LARGE), so each batch of
 * housekeeping (purge, sweep) and of a revocation by filters is lowered to
 * fit them: a purged, swept or revoked token writes DB_WS_ROWS_PER_TOKEN rows
 * (its own and the counter row its trigger changes) and at most
 * DB_WS_BYTES_PER_ITEM bytes (an UPDATE replicates the row's image before
 * and after: 8,322 bytes a swept token with a 1,000-character scope of
 * 4-byte characters, the counter row and keys included, measured on MariaDB
 * 10.11 with binlog_row_image=FULL; a purged one, 4,140); DB_WS_*_RESERVE
 * are kept for the rest of the transaction (the sweep's fold adds up to 4
 * rows, a revocation its audit row).
 * db_batch_fit(): *fitted is `wanted` items of rows_per_item rows each, lowered to
 * what fits the node this connection uses (its limits read afresh: an
 * operator may change them while a worker holds its connection; at least
 * 1), with one stderr line when it lowers (once per size and rows_per_item).
 */
#define DB_WS_ROWS_PER_TOKEN 2
#define DB_WS_ROWS_RESERVE 4
#define DB_WS_BYTES_PER_ITEM 9216
#define DB_WS_BYTES_RESERVE 4096
enum aut_err db_batch_fit(struct db *db, uint64_t wanted, unsigned int rows_per_item,
    uint64_t *fitted);

/*
 * Every read of this db's sessions is causal on Galera (the CLI: an operator
 * command right after a change made on another node sees it).  Call before
 * the first statement.
 */
void db_causal_session(struct db *db);

/*
 * A request begins (nothing of the last one is open): a worker away from its
 * home server goes back to it once the hold is over.  Only here, so that all
 * the reads of one request run on the node its first, causal read waited on.
 */
void db_request_begins(struct db *db);

/* ---- parameters: values copied in, in the order of the statement's '?' -- */

/* The largest statement: a batch of 16 audit rows of 11 values (store.c). */
#define DB_PARAMS_MAX 176

struct db_params {
	MYSQL_BIND bind[DB_PARAMS_MAX];
	union {
		uint64_t u64;
		signed char tiny;
		MYSQL_TIME time;
	} value[DB_PARAMS_MAX];
	unsigned long length[DB_PARAMS_MAX];
	db_flag is_null[DB_PARAMS_MAX];
	int n;                     /* parameters added; more than DB_PARAMS_MAX is an error */
};

void db_params_init(struct db_params *p);
void db_param_u64(struct db_params *p, uint64_t v);
void db_param_tiny(struct db_params *p, signed char v);
/* s must live until the statement has run. */
void db_param_string(struct db_params *p, const char *s);
void db_param_bytes(struct db_params *p, const void *data, size_t n);
/* A DATETIME(6) at `when` plus usec microseconds (UTC). */
void db_param_time(struct db_params *p, time_t when, long usec);
/* Nullable: SQL NULL when absent (s NULL, present false). */
void db_param_u64_or_null(struct db_params *p, uint64_t v, bool present);
void db_param_string_or_null(struct db_params *p, const char *s);
void db_param_time_or_null(struct db_params *p, time_t when, bool present);

/* ---- result columns: where each column of a row lands ------------------- */

#define DB_COLUMNS_MAX 16

struct db_row {
	MYSQL_BIND bind[DB_COLUMNS_MAX];
	unsigned long length[DB_COLUMNS_MAX];
	db_flag is_null[DB_COLUMNS_MAX];
	MYSQL_TIME time[DB_COLUMNS_MAX];
	struct tm *tm[DB_COLUMNS_MAX];          /* db_col_time: converted after each fetch */
	unsigned long *usec[DB_COLUMNS_MAX];
	int n;
};

void db_row_init(struct db_row *r);
void db_col_u64(struct db_row *r, uint64_t *v);
void db_col_tiny(struct db_row *r, signed char *v);
/* Text into buf (size bytes with its NUL), NUL-terminated after each fetch; "" for NULL. */
void db_col_text(struct db_row *r, char *buf, size_t size);
/* Bytes into buf (size bytes); db_col_length() says how many came. */
void db_col_bytes(struct db_row *r, void *buf, size_t size);
/* A DATETIME as UTC broken-down time (and its microseconds, when usec is not NULL). */
void db_col_time(struct db_row *r, struct tm *tm, unsigned long *usec);
/* Of the last row fetched: column i was NULL; its length in bytes. */
bool db_col_null(const struct db_row *r, int i);
unsigned long db_col_length(const struct db_row *r, int i);
/*
 * After a fetch (db_fetch calls it): false when a text or byte column came
 * longer than its buffer (nothing is written past the buffer, whatever the
 * connector's truncation reporting); else NUL-terminate the text columns and
 * convert the times, and true.
 */
bool db_row_finish(struct db_row *r);

/* ---- statements ----------------------------------------------------------- */

/* Bind params (may be NULL when it has none), execute s, bind row (may be NULL). */
enum aut_err db_execute(struct db *db, const struct db_statement *s, struct db_params *params,
    struct db_row *row);
/* Next row into row; *more false at the end (the result is released then). */
enum aut_err db_fetch(struct db *db, const struct db_statement *s, struct db_row *row,
    bool *more);
/* At most one row; a second one is an error. */
enum aut_err db_fetch_one(struct db *db, const struct db_statement *s, struct db_row *row,
    bool *found);
/* Release the rest of a result the caller stops reading early. */
void db_discard(struct db *db, const struct db_statement *s);
/* Rows changed by the last execute of s. */
uint64_t db_affected_rows(struct db *db, const struct db_statement *s);

/*
 * Now, in whole seconds, on the clock MariaDB reads (CLOCK_REALTIME): the
 * instant to bind as a statement's "now".  Not time(): on Linux it returns the
 * kernel's copy of that clock, updated once per tick, which for up to a tick
 * (5 ms measured here, more on a loaded machine) into a new second still says
 * the previous one, while UTC_TIMESTAMP() and every other reader of the clock
 * say the new one: a total taken at that stale second counts tokens that had
 * already expired by the database's clock.
 */
time_t db_clock_now(void);

/* Seconds on the monotonic clock, for deadlines and durations (every timer
 * of the program and autionalctl). */
double db_clock_monotonic(void);

/*
 * Run SQL text that cannot be prepared (DDL, triggers, procedures), discarding
 * any results.  `where` names it in the error message (file:line).
 */
enum aut_err db_exec_text(struct db *db, const char *sql, size_t len, const char *where);

/* ---- transactions and the one retry policy -------------------------------- */

enum aut_err db_begin(struct db *db);
enum aut_err db_commit(struct db *db);
/* Roll back if still connected (after an error the server has done it). */
void db_rollback(struct db *db);

/*
 * Work that InnoDB rolled back for a deadlock or lock wait timeout, or that
 * lost Galera's certification, runs again: at least DB_BUSY_ATTEMPTS times
 * in all, with pauses of 2, 8, 18 ... 98 ms (about 0.3 s), then on with
 * pauses of about 200 ms until DB_BUSY_SECONDS have passed since the first
 * attempt, well inside the read timeout.  Eight attempts alone gave up once
 * in a few thousand revocations beside back-to-back purges on one server,
 * and once in 1,784 revocations beside purges on other Galera nodes.
 */
#define DB_BUSY_ATTEMPTS 8
#define DB_BUSY_SECONDS 2.0

typedef enum aut_err (*db_work_fn)(struct db *db, void *ctx);

enum db_mode {
	DB_AUTOCOMMIT,             /* work is one statement, committed on its own */
	DB_TRANSACTION,            /* work runs between BEGIN and COMMIT (ROLLBACK on error) */
	DB_READ,                   /* work only reads: on a server that went away before
	                              any row came back, it runs once more (on the next
	                              server when there are several) */
	DB_READ_SNAPSHOT           /* DB_READ whose statements all read one snapshot: a
	                              read-only REPEATABLE READ transaction (the sessions
	                              are READ COMMITTED, a snapshot per statement) */
};

/*
 * Run work; when it fails with AUT_ERR_DB_BUSY (deadlock 1213, lock wait
 * timeout 1205, a Galera certification failure 1213: the server rolled it
 * back), run it again after a growing pause, as DB_BUSY_ATTEMPTS and
 * DB_BUSY_SECONDS say, then log that it gave up and return AUT_ERR_DB_BUSY
 * (503 + Retry-After).
 * work must be safe to run again from the start.  A write whose server went
 * away (even at COMMIT: its outcome is unknown) is never run again here:
 * AUT_ERR_DB_UNAVAILABLE (503 + Retry-After); the caller's retry finds out.
 */
enum aut_err db_run(struct db *db, enum db_mode mode, const char *what, db_work_fn work,
    void *ctx);

#endif
