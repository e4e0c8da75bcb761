/* db.c: the database layer: connection, lazy statement preparation, binds, transactions, retries. */
#include "db.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

/* The prefix that makes a statement a causal read on Galera. */
#define CAUSAL_PREFIX "SET STATEMENT wsrep_sync_wait=1 FOR "

struct db {
	const struct config *conf;
	MYSQL *conn;                        /* NULL while disconnected */
	struct db_table *tables;            /* the statements this program prepares (a copy) */
	size_t ntables;
	MYSQL_STMT **stmt;                  /* one slot per statement of every table */
	struct db_server single;            /* db_socket or db_host/db_port, without db_servers */
	const struct db_server *servers;    /* conf's db_servers, or &single */
	struct db_failover failover;        /* which server to use */
	unsigned int server;                /* the server connected (or being connected) */
	char server_name[300];              /* its name, for log lines */
	bool wsrep;                         /* that server is a Galera node (wsrep_on) */
	bool causal_session;                /* every read waits for the cluster (the CLI) */
	unsigned long rows;                 /* rows fetched since the unit of work began */
};

double
db_clock_monotonic(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

time_t
db_clock_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec;
}

enum aut_err
db_new(const struct config *conf, const struct db_table *tables, size_t ntables,
    struct db **out)
{
	struct db *db = calloc(1, sizeof(*db));
	size_t n = 0;

	for (size_t i = 0; i < ntables; i++)
		n += tables[i].n;
	if (db == NULL || (db->stmt = calloc(n ? n : 1, sizeof(*db->stmt))) == NULL ||
	    (db->tables = calloc(ntables ? ntables : 1, sizeof(*tables))) == NULL) {
		if (db != NULL)
			free(db->stmt);
		free(db);
		return AUT_ERR_NOMEM;
	}
	memcpy(db->tables, tables, ntables * sizeof(*tables));
	db->conf = conf;
	db->ntables = ntables;
	if (conf->db_server_count > 0) {
		db->servers = conf->db_servers;
	} else {
		memcpy(db->single.socket, conf->db_socket, sizeof(db->single.socket));
		memcpy(db->single.host, conf->db_host, sizeof(db->single.host));
		db->single.port = conf->db_port;
		db->servers = &db->single;
	}
	/* Workers spread over the servers by process id. */
	db_failover_init(&db->failover, conf->db_server_count > 0 ? conf->db_server_count : 1,
	    (unsigned int)getpid());
	*out = db;
	return AUT_OK;
}

void
db_causal_session(struct db *db)
{
	db->causal_session = true;
}

void
db_request_begins(struct db *db)
{
	if (db->conn != NULL && db_failover_go_home(&db->failover, db_clock_monotonic()))
		db_disconnect(db);
}

/* The slot of statement s: its tables' offset plus its index in its table. */
static MYSQL_STMT **
slot(struct db *db, const struct db_statement *s)
{
	size_t base = 0;

	for (size_t i = 0; i < db->ntables; i++) {
		const struct db_table *t = &db->tables[i];

		if (s >= t->statements && s < t->statements + t->n)
			return &db->stmt[base + (size_t)(s - t->statements)];
		base += t->n;
	}
	return NULL;
}

void
db_disconnect(struct db *db)
{
	size_t n = 0;

	for (size_t i = 0; i < db->ntables; i++)
		n += db->tables[i].n;
	for (size_t i = 0; i < n; i++) {
		if (db->stmt[i] != NULL)
			mysql_stmt_close(db->stmt[i]);
		db->stmt[i] = NULL;
	}
	if (db->conn != NULL)
		mysql_close(db->conn);
	db->conn = NULL;
}

void
db_free(struct db *db)
{
	if (db == NULL)
		return;
	db_disconnect(db);
	free(db->stmt);
	free(db->tables);
	free(db);
	mysql_library_end();
}

bool
db_connected(const struct db *db)
{
	return db->conn != NULL;
}

bool
db_away(const struct db *db)
{
	return db->conn == NULL && db_failover_all_held(&db->failover, db_clock_monotonic());
}

/* How many items of per_item each fit under limit, reserve kept for the
 * rest of the transaction: at least 1; no limit (0): all. */
static uint64_t
items_within(uint64_t limit, uint64_t reserve, uint64_t per_item)
{
	if (limit == 0)
		return UINT64_MAX;
	return limit > reserve + per_item ? (limit - reserve) / per_item : 1;
}

/* A Galera node's write-set limits: wsrep_max_ws_rows, wsrep_max_ws_size (0: none). */
struct db_write_set_limits {
	uint64_t rows;
	uint64_t bytes;
};

static enum aut_err fail(struct db *db, MYSQL_STMT *stmt, const char *what);

/* The write-set limits of the Galera node this connection uses (0: none; a
 * plain server has none), read afresh each time: an operator may change
 * them while a worker holds its connection.  The read is a statement of the
 * caller's transaction: a failure (a Galera BF abort, 1213) is the
 * transaction's, reported and classified like any other. */
static enum aut_err
write_set_limits(struct db *db, struct db_write_set_limits *lim)
{
	MYSQL_RES *res;
	MYSQL_ROW row;

	*lim = (struct db_write_set_limits){ 0, 0 };
	if (db->conn == NULL || !db->wsrep)
		return AUT_OK;
	if (mysql_query(db->conn, "SELECT @@wsrep_max_ws_rows, @@wsrep_max_ws_size") != 0 ||
	    (res = mysql_store_result(db->conn)) == NULL)
		return fail(db, NULL, "write-set limits");
	if ((row = mysql_fetch_row(res)) != NULL) {
		lim->rows = row[0] != NULL ? strtoull(row[0], NULL, 10) : 0;
		lim->bytes = row[1] != NULL ? strtoull(row[1], NULL, 10) : 0;
	}
	mysql_free_result(res);
	return AUT_OK;
}

enum aut_err
db_batch_fit(struct db *db, uint64_t wanted, unsigned int rows_per_item, uint64_t *fitted)
{
	/* the last lowered size logged, per rows_per_item (the sweep asks for
	 * two sizes by turns: its marks and its fold) */
	static uint64_t told[DB_WS_ROWS_PER_TOKEN + 1];
	unsigned int kind = rows_per_item < DB_WS_ROWS_PER_TOKEN ?
	    rows_per_item : DB_WS_ROWS_PER_TOKEN;
	struct db_write_set_limits lim;
	uint64_t by_rows, by_bytes, fit;
	enum aut_err err;

	*fitted = wanted;
	if ((err = write_set_limits(db, &lim)) != AUT_OK)
		return err;
	by_rows = items_within(lim.rows, DB_WS_ROWS_RESERVE, rows_per_item);
	by_bytes = items_within(lim.bytes, DB_WS_BYTES_RESERVE, DB_WS_BYTES_PER_ITEM);
	fit = by_rows < by_bytes ? by_rows : by_bytes;

	if (fit >= wanted)
		return AUT_OK;
	if (fit != told[kind]) {
		log_error("batches of %llu instead of %llu: a transaction must fit the Galera "
		    "node's wsrep_max_ws_rows = %llu and wsrep_max_ws_size = %llu",
		    (unsigned long long)fit, (unsigned long long)wanted,
		    (unsigned long long)lim.rows, (unsigned long long)lim.bytes);
		told[kind] = fit;
	}
	*fitted = fit;
	return AUT_OK;
}

/*
 * What an error means for the caller.  The one place that sorts them:
 * AUT_ERR_DB_BUSY when InnoDB rolled the transaction back for a deadlock or a
 * lock wait timeout (the caller may run it again), AUT_ERR_DB_UNAVAILABLE when
 * the server is away or going (503, reconnect later), AUT_ERR_DB_TOO_LARGE
 * when a Galera node refused a transaction beyond wsrep_max_ws_rows (1180 at
 * the statement) or wsrep_max_ws_size (1105 at COMMIT; MariaDB 10.11 gives
 * neither a code of its own, hence the text), else AUT_ERR_INTERNAL.
 */
static enum aut_err
classify(unsigned int code, const char *text)
{
	if ((code == 1180 && strstr(text, "wsrep_max_ws_rows") != NULL) ||
	    (code == 1105 && strstr(text, "Maximum writeset size") != NULL))
		return AUT_ERR_DB_TOO_LARGE;
	switch (code) {
	case 1213:   /* ER_LOCK_DEADLOCK */
	case 1205:   /* ER_LOCK_WAIT_TIMEOUT */
		return AUT_ERR_DB_BUSY;
	case 1040:   /* ER_CON_COUNT_ERROR */
	case 1047:   /* ER_UNKNOWN_COM_ERROR: a Galera node not ready (joining, no quorum) */
	case 1053:   /* ER_SERVER_SHUTDOWN */
	case 1927:   /* ER_CONNECTION_KILLED */
		return AUT_ERR_DB_UNAVAILABLE;
	}
	if (code >= 2000 && code < 3000)   /* client-side: CR_* (gone, lost, cannot connect) */
		return AUT_ERR_DB_UNAVAILABLE;
	return AUT_ERR_INTERNAL;
}

/*
 * Log a failure (the message never holds bound values), drop the connection,
 * and classify it.  A server that is away is held back (the next connect
 * uses another one).  stmt may be NULL for connection-level errors.
 */
static enum aut_err
fail(struct db *db, MYSQL_STMT *stmt, const char *what)
{
	enum aut_err err;
	unsigned int code = 0;
	const char *text = "no connection";

	if (stmt != NULL) {
		code = mysql_stmt_errno(stmt);
		text = mysql_stmt_error(stmt);
	} else if (db->conn != NULL) {
		code = mysql_errno(db->conn);
		text = mysql_error(db->conn);
	}
	log_error("database error during %s on %s: %u %s", what, db->server_name, code, text);
	err = classify(code, text);         /* text lives in the connection */
	db_disconnect(db);
	if (err == AUT_ERR_DB_UNAVAILABLE)
		db_failover_failed(&db->failover, db->server, db_clock_monotonic());
	return err;
}

/* An unexpected result shape: logged, connection dropped. */
static enum aut_err
fail_result(struct db *db, const char *what, const char *problem)
{
	log_error("database error during %s: %s", what, problem);
	db_disconnect(db);
	return AUT_ERR_INTERNAL;
}

static const char *
or_null(const char *s)
{
	return s[0] ? s : NULL;
}

/*
 * On a Galera node (wsrep_on), whether it may serve: Synced, else the next
 * server is tried.  A plain server costs one trivial query per connection.
 * The CLI's sessions are made causal here.
 */
static enum aut_err
check_node(struct db *db)
{
	MYSQL_RES *res;
	MYSQL_ROW row;
	bool synced = false;

	if (mysql_query(db->conn, "SELECT @@wsrep_on") != 0 ||
	    (res = mysql_store_result(db->conn)) == NULL)
		return fail(db, NULL, "node check");
	row = mysql_fetch_row(res);
	db->wsrep = row != NULL && row[0] != NULL && strcmp(row[0], "1") == 0;
	mysql_free_result(res);
	if (!db->wsrep)
		return AUT_OK;
	if (mysql_query(db->conn, "SHOW GLOBAL STATUS LIKE 'wsrep_local_state_comment'") != 0 ||
	    (res = mysql_store_result(db->conn)) == NULL)
		return fail(db, NULL, "node check");
	row = mysql_fetch_row(res);
	synced = row != NULL && row[1] != NULL && strcmp(row[1], "Synced") == 0;
	if (!synced) {
		log_error("database: %s is a Galera node in state %s, not Synced: not used for "
		    "%d s", db->server_name, row != NULL && row[1] != NULL ? row[1] : "unknown",
		    DB_SERVER_HOLD_SECONDS);
		mysql_free_result(res);
		db_disconnect(db);
		db_failover_failed(&db->failover, db->server, db_clock_monotonic());
		return AUT_ERR_DB_UNAVAILABLE;
	}
	mysql_free_result(res);
	if (db->causal_session && db->conf->db_causal_reads &&
	    mysql_query(db->conn, "SET SESSION wsrep_sync_wait = 1") != 0)
		return fail(db, NULL, "causal session");
	return AUT_OK;
}

/*
 * A server that refuses a new session's first statements with a deadlock or
 * lock wait (a Galera node was seen answering 1213 to every statement of
 * every new session for a minute) cannot serve either: held back like one
 * that is away, so the next one is tried.
 */
static enum aut_err
unusable(struct db *db, enum aut_err err)
{
	if (err != AUT_ERR_DB_BUSY)
		return err;
	db_failover_failed(&db->failover, db->server, db_clock_monotonic());
	return AUT_ERR_DB_UNAVAILABLE;
}

/* Sleep before attempt number `attempt` (1, 2, ...) of work that was rolled back. */
static void
busy_pause(int attempt)
{
	/* 2, 8, 18, 32 ... 200 ms, so two retrying transactions fall out of step. */
	long step = attempt < 10 ? attempt : 10;
	long ms = 2L * step * step + (long)(clock() % 3);
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* One attempt to connect to server i of the list. */
static enum aut_err
connect_once(struct db *db, unsigned int i)
{
	const struct config *c = db->conf;
	const struct db_server *sv = &db->servers[i];

	db->server = i;
	db->wsrep = false;
	db_server_name(sv, db->server_name, sizeof(db->server_name));
	db->conn = mysql_init(NULL);
	if (db->conn == NULL)
		return AUT_ERR_NOMEM;
	mysql_options(db->conn, MYSQL_OPT_CONNECT_TIMEOUT, &c->db_connect_timeout);
	mysql_options(db->conn, MYSQL_OPT_READ_TIMEOUT, &c->db_read_timeout);
	mysql_options(db->conn, MYSQL_OPT_WRITE_TIMEOUT, &c->db_write_timeout);
	mysql_options(db->conn, MYSQL_SET_CHARSET_NAME, "utf8mb4");
	/*
	 * Every read of ours is one statement (one snapshot in any level), and
	 * READ COMMITTED locks only the rows a write changes, not the gaps and
	 * unmatched rows it passes: revocations and the purge rarely meet.
	 */
	mysql_options(db->conn, MYSQL_INIT_COMMAND,
	    "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED");
	if (c->db_option_file[0]) {
		mysql_options(db->conn, MYSQL_READ_DEFAULT_FILE, c->db_option_file);
		mysql_options(db->conn, MYSQL_READ_DEFAULT_GROUP, "client");
	}
	if (mysql_real_connect(db->conn, or_null(sv->host), or_null(c->db_user),
	    or_null(c->db_password), c->db_name, sv->port, or_null(sv->socket), 0) == NULL)
		return fail(db, NULL, "connect");
	return check_node(db);
}

/*
 * Connect to server i of the list.  A new session whose first statement a
 * Galera node rolls back (1213: its init command or check aborted by a
 * replicated write set, seen once in the galera stage beside DDL on another
 * node) is tried again at once, DB_CONNECT_BUSY_ATTEMPTS times in all; a
 * server that keeps refusing new sessions so is held back (unusable()).
 */
#define DB_CONNECT_BUSY_ATTEMPTS 3

static enum aut_err
connect_to(struct db *db, unsigned int i)
{
	enum aut_err err = connect_once(db, i);

	for (int attempt = 1; attempt < DB_CONNECT_BUSY_ATTEMPTS && err == AUT_ERR_DB_BUSY;
	    attempt++) {
		busy_pause(attempt);
		err = connect_once(db, i);
	}
	return unusable(db, err);
}

/*
 * Open the connection.  The one place that chooses the server: the one the
 * failover picks, then the next ones while they are away, within about one
 * db_connect_timeout in all.
 */
enum aut_err
db_connect(struct db *db)
{
	double start = db_clock_monotonic();
	enum aut_err err = AUT_ERR_DB_UNAVAILABLE;

	if (db->conn != NULL)
		return AUT_OK;
	for (unsigned int k = 0; k < db->failover.n; k++) {
		if (k > 0 && db_clock_monotonic() - start >= db->conf->db_connect_timeout)
			break;
		err = connect_to(db, db_failover_pick(&db->failover, db_clock_monotonic()));
		if (err == AUT_OK)
			db_failover_connected(&db->failover, db->server);
		if (err != AUT_ERR_DB_UNAVAILABLE)
			break;
	}
	return err;
}

/* ---- time: the one conversion each way ---------------------------------- */

static void
time_to_mysql(time_t when, long usec, MYSQL_TIME *t)
{
	struct tm tm;

	gmtime_r(&when, &tm);
	memset(t, 0, sizeof(*t));
	t->year = (unsigned)tm.tm_year + 1900;
	t->month = (unsigned)tm.tm_mon + 1;
	t->day = (unsigned)tm.tm_mday;
	t->hour = (unsigned)tm.tm_hour;
	t->minute = (unsigned)tm.tm_min;
	t->second = (unsigned)tm.tm_sec;
	t->second_part = (unsigned long)usec;
	t->time_type = MYSQL_TIMESTAMP_DATETIME;
}

static void
time_from_mysql(const MYSQL_TIME *t, struct tm *tm)
{
	memset(tm, 0, sizeof(*tm));
	tm->tm_year = (int)t->year - 1900;
	tm->tm_mon = (int)t->month - 1;
	tm->tm_mday = (int)t->day;
	tm->tm_hour = (int)t->hour;
	tm->tm_min = (int)t->minute;
	tm->tm_sec = (int)t->second;
}

/* ---- parameters ------------------------------------------------------------ */

void
db_params_init(struct db_params *p)
{
	p->n = 0;
}

/* The next parameter, cleared; NULL (and p->n past the end) when there is no room. */
static MYSQL_BIND *
next_param(struct db_params *p)
{
	if (p->n >= DB_PARAMS_MAX) {
		p->n = DB_PARAMS_MAX + 1;
		return NULL;
	}
	MYSQL_BIND *b = &p->bind[p->n];
	memset(b, 0, sizeof(*b));
	p->is_null[p->n] = 0;
	b->is_null = &p->is_null[p->n];
	p->n++;
	return b;
}

void
db_param_u64(struct db_params *p, uint64_t v)
{
	MYSQL_BIND *b = next_param(p);

	if (b == NULL)
		return;
	p->value[p->n - 1].u64 = v;
	b->buffer_type = MYSQL_TYPE_LONGLONG;
	b->buffer = &p->value[p->n - 1].u64;
	b->is_unsigned = 1;
}

void
db_param_tiny(struct db_params *p, signed char v)
{
	MYSQL_BIND *b = next_param(p);

	if (b == NULL)
		return;
	p->value[p->n - 1].tiny = v;
	b->buffer_type = MYSQL_TYPE_TINY;
	b->buffer = &p->value[p->n - 1].tiny;
}

static void
param_text(struct db_params *p, enum enum_field_types type, const void *data, size_t n)
{
	MYSQL_BIND *b = next_param(p);

	if (b == NULL)
		return;
	p->length[p->n - 1] = (unsigned long)n;
	b->buffer_type = type;
	b->buffer = (void *)data;
	b->buffer_length = (unsigned long)n;
	b->length = &p->length[p->n - 1];
}

void
db_param_string(struct db_params *p, const char *s)
{
	param_text(p, MYSQL_TYPE_STRING, s, strlen(s));
}

void
db_param_bytes(struct db_params *p, const void *data, size_t n)
{
	param_text(p, MYSQL_TYPE_BLOB, data, n);
}

void
db_param_time(struct db_params *p, time_t when, long usec)
{
	MYSQL_BIND *b = next_param(p);

	if (b == NULL)
		return;
	time_to_mysql(when, usec, &p->value[p->n - 1].time);
	b->buffer_type = MYSQL_TYPE_DATETIME;
	b->buffer = &p->value[p->n - 1].time;
}

/* Mark the parameter just added as SQL NULL unless present. */
static void
null_unless(struct db_params *p, bool present)
{
	if (p->n >= 1 && p->n <= DB_PARAMS_MAX)
		p->is_null[p->n - 1] = !present;
}

void
db_param_u64_or_null(struct db_params *p, uint64_t v, bool present)
{
	db_param_u64(p, v);
	null_unless(p, present);
}

void
db_param_string_or_null(struct db_params *p, const char *s)
{
	db_param_string(p, s != NULL ? s : "");
	null_unless(p, s != NULL);
}

void
db_param_time_or_null(struct db_params *p, time_t when, bool present)
{
	db_param_time(p, present ? when : 0, 0);
	null_unless(p, present);
}

/* ---- result columns -------------------------------------------------------- */

void
db_row_init(struct db_row *r)
{
	r->n = 0;
}

static MYSQL_BIND *
next_column(struct db_row *r)
{
	if (r->n >= DB_COLUMNS_MAX) {
		r->n = DB_COLUMNS_MAX + 1;
		return NULL;
	}
	int i = r->n++;
	MYSQL_BIND *b = &r->bind[i];

	memset(b, 0, sizeof(*b));
	r->length[i] = 0;
	r->is_null[i] = 0;
	r->tm[i] = NULL;
	r->usec[i] = NULL;
	b->length = &r->length[i];
	b->is_null = &r->is_null[i];
	return b;
}

void
db_col_u64(struct db_row *r, uint64_t *v)
{
	MYSQL_BIND *b = next_column(r);

	if (b == NULL)
		return;
	b->buffer_type = MYSQL_TYPE_LONGLONG;
	b->buffer = v;
	b->is_unsigned = 1;
}

void
db_col_tiny(struct db_row *r, signed char *v)
{
	MYSQL_BIND *b = next_column(r);

	if (b == NULL)
		return;
	b->buffer_type = MYSQL_TYPE_TINY;
	b->buffer = v;
}

void
db_col_text(struct db_row *r, char *buf, size_t size)
{
	MYSQL_BIND *b = next_column(r);

	if (b == NULL)
		return;
	b->buffer_type = MYSQL_TYPE_STRING;
	b->buffer = buf;
	b->buffer_length = (unsigned long)(size - 1);   /* room for the NUL */
}

void
db_col_bytes(struct db_row *r, void *buf, size_t size)
{
	MYSQL_BIND *b = next_column(r);

	if (b == NULL)
		return;
	b->buffer_type = MYSQL_TYPE_BLOB;
	b->buffer = buf;
	b->buffer_length = (unsigned long)size;
}

void
db_col_time(struct db_row *r, struct tm *tm, unsigned long *usec)
{
	MYSQL_BIND *b = next_column(r);

	if (b == NULL)
		return;
	r->tm[r->n - 1] = tm;
	r->usec[r->n - 1] = usec;
	b->buffer_type = MYSQL_TYPE_DATETIME;
	b->buffer = &r->time[r->n - 1];
}

bool
db_col_null(const struct db_row *r, int i)
{
	return r->is_null[i] != 0;
}

unsigned long
db_col_length(const struct db_row *r, int i)
{
	return r->length[i];
}

bool
db_row_finish(struct db_row *r)
{
	/*
	 * A value longer than its buffer is an error, whatever the connector's
	 * truncation reporting says: the length is the server's, and the buffer
	 * holds only buffer_length bytes (a text buffer one more, for the NUL).
	 */
	for (int i = 0; i < r->n; i++) {
		MYSQL_BIND *b = &r->bind[i];

		if (!r->is_null[i] && (b->buffer_type == MYSQL_TYPE_STRING ||
		    b->buffer_type == MYSQL_TYPE_BLOB) && r->length[i] > b->buffer_length)
			return false;
	}
	for (int i = 0; i < r->n; i++) {
		MYSQL_BIND *b = &r->bind[i];

		if (b->buffer_type == MYSQL_TYPE_STRING)
			((char *)b->buffer)[r->is_null[i] ? 0 : r->length[i]] = '\0';
		else if (r->tm[i] != NULL) {
			time_from_mysql(&r->time[i], r->tm[i]);
			if (r->usec[i] != NULL)
				*r->usec[i] = r->time[i].second_part;
		}
	}
	return true;
}

/* ---- statements ------------------------------------------------------------ */

/* The prepared statement s, preparing it on first use. */
static MYSQL_STMT *
statement(struct db *db, const struct db_statement *s, enum aut_err *err)
{
	MYSQL_STMT **at = slot(db, s);

	if (at == NULL) {
		log_error("database error: statement \"%s\" is not in this program's tables",
		    s->what);
		*err = AUT_ERR_INTERNAL;
		return NULL;
	}
	*err = db_connect(db);
	if (*err != AUT_OK)
		return NULL;
	if (*at != NULL)
		return *at;
	MYSQL_STMT *stmt = mysql_stmt_init(db->conn);
	if (stmt == NULL) {
		*err = fail(db, NULL, "statement init");
		return NULL;
	}
	*at = stmt;   /* owned by db from here: fail() closes it */
	if (s->causal && db->wsrep && db->conf->db_causal_reads && !db->causal_session) {
		size_t len = strlen(CAUSAL_PREFIX) + strlen(s->sql);
		char *text = malloc(len + 1);
		int rc;

		if (text == NULL) {
			*err = AUT_ERR_NOMEM;
			return NULL;
		}
		snprintf(text, len + 1, "%s%s", CAUSAL_PREFIX, s->sql);
		rc = mysql_stmt_prepare(stmt, text, (unsigned long)len);
		free(text);
		if (rc != 0) {
			*err = fail(db, stmt, s->what);
			return NULL;
		}
		return stmt;
	}
	if (mysql_stmt_prepare(stmt, s->sql, strlen(s->sql)) != 0) {
		*err = fail(db, stmt, s->what);
		return NULL;
	}
	return stmt;
}

enum aut_err
db_execute(struct db *db, const struct db_statement *s, struct db_params *params,
    struct db_row *row)
{
	enum aut_err err;
	MYSQL_STMT *stmt;

	if ((params != NULL && params->n > DB_PARAMS_MAX) ||
	    (row != NULL && row->n > DB_COLUMNS_MAX))
		return fail_result(db, s->what, "too many parameters or columns");
	stmt = statement(db, s, &err);
	if (stmt == NULL)
		return err;
	if ((params != NULL && params->n > 0 && mysql_stmt_bind_param(stmt, params->bind) != 0) ||
	    mysql_stmt_execute(stmt) != 0 ||
	    (row != NULL && mysql_stmt_bind_result(stmt, row->bind) != 0))
		return fail(db, stmt, s->what);
	return AUT_OK;
}

enum aut_err
db_fetch(struct db *db, const struct db_statement *s, struct db_row *row, bool *more)
{
	MYSQL_STMT **at = slot(db, s);
	int rc;

	*more = false;
	if (at == NULL || *at == NULL)
		return fail_result(db, s->what, "fetch without a result");
	rc = mysql_stmt_fetch(*at);
	if (rc == 0) {
		db->rows++;
		*more = true;
		if (row != NULL && !db_row_finish(row))
			return fail_result(db, s->what, "a value longer than its buffer");
		return AUT_OK;
	}
	if (rc == MYSQL_NO_DATA) {
		mysql_stmt_free_result(*at);
		return AUT_OK;
	}
	if (rc == MYSQL_DATA_TRUNCATED)
		return fail_result(db, s->what, "value truncated");
	return fail(db, *at, s->what);
}

enum aut_err
db_fetch_one(struct db *db, const struct db_statement *s, struct db_row *row, bool *found)
{
	bool more = false;
	enum aut_err err = db_fetch(db, s, row, found);

	if (err == AUT_OK && *found)
		err = db_fetch(db, s, row, &more);
	if (err == AUT_OK && more)
		return fail_result(db, s->what, "more than one row");
	return err;
}

void
db_discard(struct db *db, const struct db_statement *s)
{
	MYSQL_STMT **at = slot(db, s);

	if (at != NULL && *at != NULL)
		mysql_stmt_free_result(*at);
}

uint64_t
db_affected_rows(struct db *db, const struct db_statement *s)
{
	MYSQL_STMT **at = slot(db, s);
	my_ulonglong n = at != NULL && *at != NULL ? mysql_stmt_affected_rows(*at) : 0;

	return n == (my_ulonglong)-1 ? 0 : (uint64_t)n;
}

enum aut_err
db_exec_text(struct db *db, const char *sql, size_t len, const char *where)
{
	enum aut_err err = db_connect(db);
	int status;

	if (err != AUT_OK)
		return err;
	if (mysql_real_query(db->conn, sql, (unsigned long)len) != 0)
		return fail(db, NULL, where);
	do {
		MYSQL_RES *res = mysql_store_result(db->conn);

		if (res != NULL)
			mysql_free_result(res);
		else if (mysql_field_count(db->conn) != 0)
			return fail(db, NULL, where);
		status = mysql_next_result(db->conn);   /* 0: another result; -1: done */
		if (status > 0)
			return fail(db, NULL, where);
	} while (status == 0);
	return AUT_OK;
}

/* ---- transactions and retries ---------------------------------------------- */

/* Transaction control: text statements without values. */
static enum aut_err
control(struct db *db, const char *sql)
{
	enum aut_err err = db_connect(db);

	if (err == AUT_OK && mysql_query(db->conn, sql) != 0)
		err = fail(db, NULL, sql);
	return err;
}

enum aut_err
db_begin(struct db *db)
{
	return control(db, "START TRANSACTION");
}

enum aut_err
db_commit(struct db *db)
{
	return control(db, "COMMIT");
}

void
db_rollback(struct db *db)
{
	if (db->conn != NULL && mysql_query(db->conn, "ROLLBACK") != 0)
		fail(db, NULL, "ROLLBACK");
}

static enum aut_err
run_once(struct db *db, enum db_mode mode, db_work_fn work, void *ctx)
{
	enum aut_err err;

	if (mode == DB_AUTOCOMMIT || mode == DB_READ)
		return work(db, ctx);
	if (mode == DB_READ_SNAPSHOT) {
		/* For the next transaction only; InnoDB takes the snapshot at its
		 * first read. */
		err = control(db, "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ");
		if (err == AUT_OK)
			err = control(db, "START TRANSACTION READ ONLY");
	} else {
		err = db_begin(db);
	}
	if (err == AUT_OK)
		err = work(db, ctx);
	if (err == AUT_OK)
		return db_commit(db);
	db_rollback(db);
	return err;
}

/*
 * On a Galera node with causal reads: wait until it has applied everything
 * committed anywhere so far, so a read retried here after a failover sees
 * what the request's causal first read saw on the node that went away.
 */
static enum aut_err
catch_up(struct db *db)
{
	MYSQL_RES *res;

	if (!db->wsrep || !db->conf->db_causal_reads || db->causal_session)
		return AUT_OK;
	if (mysql_query(db->conn, CAUSAL_PREFIX "SELECT 1") != 0)
		return fail(db, NULL, "catching up");
	res = mysql_store_result(db->conn);
	if (res == NULL)
		return fail(db, NULL, "catching up");
	mysql_free_result(res);
	return AUT_OK;
}

enum aut_err
db_run(struct db *db, enum db_mode mode, const char *what, db_work_fn work, void *ctx)
{
	double start = db_clock_monotonic();
	int attempts = 1;
	enum aut_err err;

	db->rows = 0;
	err = run_once(db, mode, work, ctx);
	/*
	 * A read whose server went away before any row came back runs once more:
	 * on the next server when there are several; on the one server only when
	 * the failure was quick (a connection that had lost its server while
	 * idle), since a server that did not answer would only make the caller
	 * wait a second timeout.
	 */
	if ((mode == DB_READ || mode == DB_READ_SNAPSHOT) && err == AUT_ERR_DB_UNAVAILABLE &&
	    db->rows == 0 &&
	    (db->failover.n > 1 || db_clock_monotonic() - start < 1.0)) {
		log_error("database: %s failed on %s before any row; once more", what,
		    db->server_name);
		err = db_connect(db);
		if (err == AUT_OK)
			err = catch_up(db);
		if (err == AUT_OK)
			err = run_once(db, mode, work, ctx);
	}

	while (err == AUT_ERR_DB_BUSY &&
	    (attempts < DB_BUSY_ATTEMPTS || db_clock_monotonic() - start < DB_BUSY_SECONDS)) {
		busy_pause(attempts);
		err = run_once(db, mode, work, ctx);
		attempts++;
	}
	if (err == AUT_ERR_DB_BUSY)
		log_error("database: %s gave up after %d attempts in %.1f s, each rolled back "
		    "for a deadlock, lock wait timeout or certification failure", what, attempts,
		    db_clock_monotonic() - start);
	return err;
}
