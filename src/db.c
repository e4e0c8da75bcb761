/* db.c: MariaDB connection, lazy statement preparation, failure handling, binds. */
#include "db.h"

#include <stdio.h>
#include <string.h>

#include <errmsg.h>

void
db_init(struct db *db, const struct config *conf, const char *const *sql,
    int nstatements)
{
	memset(db, 0, sizeof(*db));
	db->conf = conf;
	db->sql = sql;
	db->nstatements = nstatements < DB_MAX_STATEMENTS ? nstatements : DB_MAX_STATEMENTS;
}

void
db_disconnect(struct db *db)
{
	for (int i = 0; i < db->nstatements; i++) {
		if (db->stmt[i] != NULL)
			mysql_stmt_close(db->stmt[i]);
		db->stmt[i] = NULL;
	}
	if (db->conn != NULL)
		mysql_close(db->conn);
	db->conn = NULL;
}

/* Errors that mean the server is away (or went away): 503, reconnect later. */
static int
is_unavailable(unsigned int code)
{
	return (code >= 2000 && code < 3000) ||  /* client-side: CR_* */
	    code == 1040 ||                      /* ER_CON_COUNT_ERROR */
	    code == 1053 ||                      /* ER_SERVER_SHUTDOWN */
	    code == 1927;                        /* ER_CONNECTION_KILLED */
}

enum aut_err
db_fail(struct db *db, MYSQL_STMT *stmt, const char *what)
{
	unsigned int code = 0;
	const char *text = "no connection";

	if (stmt != NULL) {
		code = mysql_stmt_errno(stmt);
		text = mysql_stmt_error(stmt);
	} else if (db->conn != NULL) {
		code = mysql_errno(db->conn);
		text = mysql_error(db->conn);
	}
	fprintf(stderr, "autional: database error during %s: %u %s\n", what, code, text);
	db_disconnect(db);
	if (code == 1213 || code == 1205)   /* ER_LOCK_DEADLOCK, ER_LOCK_WAIT_TIMEOUT */
		return AUT_ERR_DB_BUSY;
	return is_unavailable(code) ? AUT_ERR_DB_UNAVAILABLE : AUT_ERR_INTERNAL;
}

static const char *
or_null(const char *s)
{
	return s[0] ? s : NULL;
}

enum aut_err
db_connect(struct db *db)
{
	const struct config *c = db->conf;

	if (db->conn != NULL)
		return AUT_OK;
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
	if (mysql_real_connect(db->conn, or_null(c->db_host), or_null(c->db_user),
	    or_null(c->db_password), c->db_name, c->db_port, or_null(c->db_socket),
	    0) == NULL)
		return db_fail(db, NULL, "connect");
	return AUT_OK;
}

/* The prepared statement `which`, preparing it on first use. */
static MYSQL_STMT *
statement(struct db *db, int which, enum aut_err *err)
{
	*err = db_connect(db);
	if (*err != AUT_OK)
		return NULL;
	if (db->stmt[which] != NULL)
		return db->stmt[which];
	MYSQL_STMT *stmt = mysql_stmt_init(db->conn);
	if (stmt == NULL) {
		*err = db_fail(db, NULL, "statement init");
		return NULL;
	}
	db->stmt[which] = stmt;   /* owned by db from here: db_fail closes it */
	if (mysql_stmt_prepare(stmt, db->sql[which], strlen(db->sql[which])) != 0) {
		*err = db_fail(db, stmt, "prepare");
		return NULL;
	}
	return stmt;
}

enum aut_err
db_execute(struct db *db, int which, MYSQL_BIND *params, MYSQL_BIND *results,
    const char *what)
{
	enum aut_err err;
	MYSQL_STMT *stmt = statement(db, which, &err);

	if (stmt == NULL)
		return err;
	if (mysql_stmt_bind_param(stmt, params) != 0 ||
	    mysql_stmt_execute(stmt) != 0 ||
	    (results != NULL && mysql_stmt_bind_result(stmt, results) != 0))
		return db_fail(db, stmt, what);
	return AUT_OK;
}

enum aut_err
db_fetch(struct db *db, int which, bool *row, const char *what)
{
	MYSQL_STMT *stmt = db->stmt[which];
	int rc = mysql_stmt_fetch(stmt);

	*row = rc == 0;
	if (rc == 0)
		return AUT_OK;
	if (rc == MYSQL_NO_DATA) {
		mysql_stmt_free_result(stmt);
		return AUT_OK;
	}
	if (rc == MYSQL_DATA_TRUNCATED) {
		fprintf(stderr, "autional: database error during %s: value truncated\n", what);
		db_disconnect(db);
		return AUT_ERR_INTERNAL;
	}
	return db_fail(db, stmt, what);
}

enum aut_err
db_fetch_one(struct db *db, int which, bool *found, const char *what)
{
	bool more = false;
	enum aut_err err = db_fetch(db, which, found, what);

	if (err == AUT_OK && *found)
		err = db_fetch(db, which, &more, what);
	if (err == AUT_OK && more) {
		fprintf(stderr, "autional: %s returned more than one row\n", what);
		db_disconnect(db);
		return AUT_ERR_INTERNAL;
	}
	return err;
}

void
db_busy_pause(int attempt)
{
	/* 2, 8, 18, 32... ms, so two retrying transactions fall out of step. */
	long ms = 2L * attempt * attempt + (long)(clock() % 3);
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

uint64_t
db_affected_rows(struct db *db, int which)
{
	my_ulonglong n = db->stmt[which] ? mysql_stmt_affected_rows(db->stmt[which]) : 0;

	return n == (my_ulonglong)-1 ? 0 : (uint64_t)n;
}

void
db_bind_u64(MYSQL_BIND *b, uint64_t *v)
{
	b->buffer_type = MYSQL_TYPE_LONGLONG;
	b->buffer = v;
	b->is_unsigned = 1;
}

void
db_bind_tiny(MYSQL_BIND *b, signed char *v)
{
	b->buffer_type = MYSQL_TYPE_TINY;
	b->buffer = v;
}

void
db_bind_blob(MYSQL_BIND *b, const void *data, unsigned long *len)
{
	b->buffer_type = MYSQL_TYPE_BLOB;
	b->buffer = (void *)data;
	b->buffer_length = *len;
	b->length = len;
}

void
db_bind_string(MYSQL_BIND *b, const char *s, unsigned long *len)
{
	b->buffer_type = MYSQL_TYPE_STRING;
	b->buffer = (void *)s;
	b->buffer_length = *len;
	b->length = len;
}

void
db_bind_text(MYSQL_BIND *b, char *buf, size_t size, unsigned long *len,
    db_flag *is_null)
{
	b->buffer_type = MYSQL_TYPE_STRING;
	b->buffer = buf;
	b->buffer_length = size - 1;   /* room for the caller's NUL */
	b->length = len;
	b->is_null = is_null;
}

void
db_bind_time(MYSQL_BIND *b, MYSQL_TIME *t, time_t when)
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
	t->time_type = MYSQL_TIMESTAMP_DATETIME;
	b->buffer_type = MYSQL_TYPE_DATETIME;
	b->buffer = t;
}

void
db_bind_datetime(MYSQL_BIND *b, MYSQL_TIME *t)
{
	b->buffer_type = MYSQL_TYPE_DATETIME;
	b->buffer = t;
}

void
db_tm_from_mysql(const MYSQL_TIME *t, struct tm *tm)
{
	memset(tm, 0, sizeof(*tm));
	tm->tm_year = (int)t->year - 1900;
	tm->tm_mon = (int)t->month - 1;
	tm->tm_mday = (int)t->day;
	tm->tm_hour = (int)t->hour;
	tm->tm_min = (int)t->minute;
	tm->tm_sec = (int)t->second;
}
