/* ctl_migrate.c: autionalctl migrate: apply sql/NNN_*.sql in order, once each. */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"
#include "ctl_store.h"
#include "sqlsplit.h"
#include "../core/text.h"
#include "../core/timefmt.h"

#ifndef PKGDATADIR
#error "PKGDATADIR must name the package data directory (Makefile.am sets it)"
#endif

#define SCRIPT_MAX ((size_t)4 * 1024 * 1024)
#define LOCK_WAIT_DEFAULT 60         /* seconds, --wait */
#define LOCK_WAIT_MAX (24 * 3600)
#define LOCK_POLL_NS 200000000L      /* between looks at a held lock row */

struct migrate_options {
	const char *dir;         /* --sql-dir */
	bool dry_run;            /* --dry-run */
	bool break_lock;         /* --break-lock */
	unsigned int wait;       /* --wait, seconds */
};

struct migration {
	unsigned int version;
	char *name;              /* file name, e.g. "003_token_ids_and_audit.sql" */
	bool applied;
};

struct migrate_run {
	struct ctl *ctl;
	struct ctl_store *st;
	struct db *db;
	struct migration *m;
	size_t n;
	const char *file;        /* being applied, for messages */
	char holder[256];        /* this run, as the migration lock row names it */
	bool server_locked;      /* GET_LOCK held (this server) */
	bool cluster_locked;     /* the lock row is ours (every node) */
};

static int
by_version(const void *a, const void *b)
{
	const struct migration *x = a, *y = b;

	return (x->version > y->version) - (x->version < y->version);
}

/* "NNN_name.sql": its version, or 0 when the name is not a migration's. */
static unsigned int
migration_version(const char *name)
{
	size_t len = strlen(name), digits = strspn(name, "0123456789");
	uint64_t v = 0;

	if (digits == 0 || digits > 9 || name[digits] != '_' || len < digits + 5 ||
	    strcmp(name + len - 4, ".sql") != 0 ||
	    text_parse_decimal(name, digits, 0, UINT32_MAX, &v) != 0)
		return 0;
	return (unsigned int)v;
}

static void
free_migrations(struct migration *m, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(m[i].name);
	free(m);
}

/* The migrations in dir, sorted; 0, or a message and the exit status. */
static int
scan(struct ctl *ctl, const char *dir, struct migration **out, size_t *count)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	struct migration *m = NULL;
	size_t n = 0, cap = 0;

	*out = NULL;
	*count = 0;
	if (d == NULL)
		return ctl_fail(ctl, "cannot open --sql-dir '%s': %s", dir, strerror(errno));
	while ((e = readdir(d)) != NULL) {
		unsigned int v = migration_version(e->d_name);
		if (v == 0)
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 16;
			struct migration *grown = realloc(m, cap * sizeof(*m));
			if (grown == NULL)
				goto nomem;
			m = grown;
		}
		if ((m[n].name = strdup(e->d_name)) == NULL)
			goto nomem;
		m[n].version = v;
		m[n++].applied = false;
	}
	closedir(d);
	if (n > 1)   /* qsort of a NULL array is undefined, even of none */
		qsort(m, n, sizeof(*m), by_version);
	for (size_t i = 1; i < n; i++) {
		if (m[i].version == m[i - 1].version) {
			int rc = ctl_fail(ctl, "two migrations have version %u: %s and %s",
			    m[i].version, m[i - 1].name, m[i].name);
			free_migrations(m, n);
			return rc;
		}
	}
	*out = m;
	*count = n;
	return CTL_EXIT_OK;
nomem:
	closedir(d);
	free_migrations(m, n);
	return ctl_fail(ctl, "out of memory");
}

static enum aut_err
mark_applied(void *ctx, unsigned int version)
{
	struct migrate_run *run = ctx;

	for (size_t i = 0; i < run->n; i++)
		if (run->m[i].version == version)
			run->m[i].applied = true;
	return AUT_OK;
}

static int
count_statement(void *ctx, const char *sql, size_t len, unsigned int line)
{
	(void)ctx;
	(void)sql;
	(void)len;
	(void)line;
	return 0;
}

static int
exec_statement(void *ctx, const char *sql, size_t len, unsigned int line)
{
	struct migrate_run *run = ctx;
	char where[512];

	snprintf(where, sizeof(where), "%s:%u", run->file, line);
	return db_exec_text(run->db, sql, len, where) == AUT_OK ? 0 : 1;
}

/* Apply one migration and record it; 0, or a message and the exit status. */
static int
apply(struct migrate_run *run, const char *dir, struct migration *m)
{
	char path[4096], err[sizeof(path) + 128];
	char *text = NULL;
	size_t len = 0;
	int rc;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, m->name) >= sizeof(path))
		return ctl_fail(run->ctl, "path too long: %s/%s", dir, m->name);
	if (text_read_file(path, SCRIPT_MAX, &text, &len, err, sizeof(err)) != 0)
		return ctl_fail(run->ctl, "%s", err);
	if (memchr(text, '\0', len) != NULL) {
		free(text);
		return ctl_fail(run->ctl, "%s contains a NUL byte", path);
	}
	run->file = m->name;
	/* Split once without executing, so a malformed file runs nothing. */
	rc = sqlsplit(text, len, count_statement, NULL, err, sizeof(err));
	if (rc == 0)
		rc = sqlsplit(text, len, exec_statement, run, err, sizeof(err));
	free(text);
	if (rc < 0)
		return ctl_fail(run->ctl, "%s: %s; nothing of it was applied", m->name, err);
	if (rc > 0 || ctl_store_record_version(run->st, m->version) != AUT_OK)
		return ctl_fail(run->ctl, "%s failed (see the message above); statements before the"
		    " failing one stay applied; fix the cause and run migrate again", m->name);
	m->applied = true;
	return CTL_EXIT_OK;
}

static int
migrate_option(struct ctl *ctl, int c, const char *arg, void *ctx)
{
	struct migrate_options *o = ctx;
	long seconds;

	switch (c) {
	case 'd': o->dir = arg; return -1;
	case 'n': o->dry_run = true; return -1;
	case 'b': o->break_lock = true; return -1;
	case 'w':
		seconds = ctl_parse_duration(arg, 0);
		if (seconds < 0 || seconds > LOCK_WAIT_MAX)
			return ctl_usage(ctl, "--wait takes 0 to 24h (\"90\", \"30s\", \"5m\")");
		o->wait = (unsigned int)seconds;
		return -1;
	}
	return ctl_usage(ctl, "unknown option");
}

/* "HOLDER on SERVER since TIME (N s ago)" for messages. */
static void
describe_lock(const struct ctl_lock_row *row, char *out, size_t size)
{
	char when[TIMEFMT_RFC3339_LEN] = "?";

	timefmt_rfc3339_tm(&row->taken_at, when);
	snprintf(out, size, "%s on %s since %s (%llu s ago)", row->holder, row->server, when,
	    (unsigned long long)row->age_seconds);
}

/*
 * Take the row.  A certification failure (1213: a node inserted it at the
 * same instant) means it is not ours, and the caller looks again; the error
 * cost the connection and with it GET_LOCK, which is taken again first (else
 * this run would take a live run of this server for a dead one).
 */
static enum aut_err
take_lock_row(struct migrate_run *run, double deadline, bool *got)
{
	enum aut_err err = ctl_store_lock_row_take(run->st, run->holder, got);
	double left = deadline - db_clock_monotonic();

	if (err != AUT_ERR_DB_BUSY)
		return err;
	*got = false;
	run->server_locked = false;
	err = ctl_store_migrate_lock(run->st, left > 0 ? (unsigned int)left + 1 : 1,
	    &run->server_locked);
	if (err == AUT_OK && !run->server_locked)
		err = AUT_ERR_DB_BUSY;
	return err;
}

/*
 * The migration lock, before anything is applied: GET_LOCK keeps two runs on
 * one server apart (it holds on that server only), then the lock row keeps
 * runs on different Galera nodes apart.  A row left by a run on this very
 * server is stale (that run, alive, would hold GET_LOCK): it is removed.  A
 * row of another server's run is waited for until opts->wait seconds are
 * over; then the run fails naming the holder.  0, or a message and 1.
 */
static int
lock_migrations(struct migrate_run *run, const struct migrate_options *opts)
{
	double deadline = db_clock_monotonic() + opts->wait;
	struct timespec pause = { 0, LOCK_POLL_NS };
	struct ctl_lock_row row;
	char what[sizeof(row.holder) + sizeof(row.server) + 64];
	bool got = false, found, removed, told = false;
	enum aut_err err;

	if ((err = ctl_store_migrate_lock(run->st, opts->wait, &run->server_locked)) != AUT_OK)
		return ctl_fail_err(run->ctl, err);
	if (!run->server_locked)
		return ctl_fail(run->ctl, "another migrate on this database server held the lock for"
		    " %u s (--wait); try again later", opts->wait);
	if ((err = ctl_store_lock_table(run->st)) != AUT_OK)
		return ctl_fail_err(run->ctl, err);
	if (opts->break_lock) {
		if ((err = ctl_store_lock_row_read(run->st, &row, &found)) != AUT_OK ||
		    (found && (err = ctl_store_lock_row_remove(run->st, NULL, &removed)) != AUT_OK))
			return ctl_fail_err(run->ctl, err);
		if (found) {
			describe_lock(&row, what, sizeof(what));
			fprintf(stderr, "autionalctl: migrate: --break-lock removed the migration lock"
			    " of %s\n", what);
		}
	}
	for (;;) {
		if ((err = take_lock_row(run, deadline, &got)) == AUT_ERR_DB_BUSY)
			return ctl_fail(run->ctl, "another migrate on this database server took the"
			    " lock and held it past --wait (%u s)", opts->wait);
		if (err != AUT_OK)
			return ctl_fail_err(run->ctl, err);
		if (got) {
			run->cluster_locked = true;
			return CTL_EXIT_OK;
		}
		if ((err = ctl_store_lock_row_read(run->st, &row, &found)) != AUT_OK)
			return ctl_fail_err(run->ctl, err);
		if (!found) {            /* released in between: try again at once */
			if (db_clock_monotonic() >= deadline)
				return ctl_fail(run->ctl, "could not take the migration lock in %u s"
				    " (--wait): it was released and taken again", opts->wait);
			continue;
		}
		describe_lock(&row, what, sizeof(what));
		if (row.this_server) {
			if ((err = ctl_store_lock_row_remove(run->st, row.holder, &removed)) != AUT_OK)
				return ctl_fail_err(run->ctl, err);
			fprintf(stderr, "autionalctl: migrate: removed the migration lock of %s:"
			    " a migrate on this server that is gone\n", what);
			continue;
		}
		if (db_clock_monotonic() >= deadline)
			return ctl_fail(run->ctl, "the migration lock is held by %s; if no migrate runs"
			    " there, run migrate on that server (it removes a lock its own dead run"
			    " left) or use --break-lock", what);
		if (!told) {
			fprintf(stderr, "autionalctl: migrate: waiting up to %u s for the migration"
			    " lock, held by %s\n", opts->wait, what);
			told = true;
		}
		nanosleep(&pause, NULL);
	}
}

/* Release what lock_migrations() took; a row left behind is said on stderr. */
static void
unlock_migrations(struct migrate_run *run)
{
	bool removed = false;
	enum aut_err err = AUT_ERR_DB_BUSY;

	/* A node may fail the delete's certification once or twice (1213). */
	for (int attempt = 0; run->cluster_locked && err == AUT_ERR_DB_BUSY && attempt < 8;
	    attempt++)
		err = ctl_store_lock_row_remove(run->st, run->holder, &removed);
	if (run->cluster_locked && (err != AUT_OK || !removed))
		fprintf(stderr, "autionalctl: migrate: the migration lock row of %s may be left"
		    " behind: the next migrate on this server removes it, or use --break-lock\n",
		    run->holder);
	if (run->server_locked)
		ctl_store_migrate_unlock(run->st);
}

static int
run_migrate(struct ctl *ctl, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "sql-dir", required_argument, NULL, 'd' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "wait", required_argument, NULL, 'w' },
		{ "break-lock", no_argument, NULL, 'b' },
		CTL_COMMON_OPTIONS
	};
	struct migrate_options opts = { PKGDATADIR "/sql", false, false, LOCK_WAIT_DEFAULT };
	struct migrate_run run = { .ctl = ctl };
	json_object *list = NULL, *o;
	unsigned int version = 0;
	bool dry_run;
	char host[65] = "";
	enum aut_err err;
	int rc;

	if ((rc = ctl_parse_options(ctl, argc, argv, longopts, migrate_option, &opts)) >= 0)
		return rc;
	dry_run = opts.dry_run;
	if ((rc = scan(ctl, opts.dir, &run.m, &run.n)) != 0)
		return rc;
	if (run.n == 0) {
		free_migrations(run.m, run.n);
		return ctl_fail(ctl, "no migrations (NNN_name.sql) in '%s'", opts.dir);
	}
	if ((rc = ctl_open(ctl)) != 0)
		goto out;
	run.st = ctl->cst;
	run.db = ctl->db;
	if (gethostname(host, sizeof(host) - 1) != 0)
		snprintf(host, sizeof(host), "?");
	snprintf(run.holder, sizeof(run.holder), "autionalctl migrate (pid %ld on %s)",
	    (long)getpid(), host);
	/* A dry run changes nothing: it waits for a run on this server only. */
	if (dry_run) {
		err = ctl_store_migrate_lock(run.st, opts.wait, &run.server_locked);
		if (err != AUT_OK || !run.server_locked) {
			rc = err != AUT_OK ? ctl_fail_err(ctl, err) : ctl_fail(ctl, "another migrate"
			    " on this database server held the lock for %u s (--wait)", opts.wait);
			goto out;
		}
	} else if ((rc = lock_migrations(&run, &opts)) != 0) {
		goto out;
	}
	if ((err = ctl_store_applied_versions(run.st, mark_applied, &run)) != AUT_OK) {
		rc = ctl_fail_err(ctl, err);
		goto out;
	}
	if (ctl->json && (list = json_object_new_array()) == NULL) {
		rc = ctl_fail(ctl, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < run.n; i++) {
		struct migration *m = &run.m[i];

		if (m->applied)
			continue;
		if (!dry_run && (rc = apply(&run, opts.dir, m)) != 0)
			goto out;
		if (ctl->json) {
			o = json_object_new_object();
			ctl_json_put(o, "version", json_object_new_int64(m->version));
			ctl_json_put(o, "file", json_object_new_string(m->name));
			if (o != NULL && json_object_array_add(list, o) != 0)
				json_object_put(o);
		} else {
			printf("%s %s\n", dry_run ? "would apply" : "applied", m->name);
			fflush(stdout);
		}
	}
	for (size_t i = 0; i < run.n; i++)
		if (run.m[i].applied)
			version = run.m[i].version;
	if (ctl->json) {
		o = json_object_new_object();
		ctl_json_put(o, dry_run ? "pending" : "applied", list);
		list = NULL;
		ctl_json_put(o, "version", json_object_new_int64(version));
		ctl_json_put(o, "dry_run", json_object_new_boolean(dry_run));
		rc = ctl_print_json(o);
	} else {
		printf("schema version %u%s\n", version, dry_run ? " (dry run)" : "");
		rc = CTL_EXIT_OK;
	}
out:
	json_object_put(list);
	unlock_migrations(&run);
	free_migrations(run.m, run.n);
	return rc;
}

const struct ctl_command ctl_cmd_migrate = {
	"migrate", "[--sql-dir DIR] [--dry-run] [--wait SECONDS] [--break-lock]",
	"Apply the migrations NNN_name.sql of DIR (default " PKGDATADIR "/sql)\n"
	"that schema_migrations does not list, in version order, and record each.\n"
	"Running it again applies nothing.  It needs an account that may change the\n"
	"schema (CREATE, ALTER, INDEX, DROP, TRIGGER, CREATE ROUTINE, ALTER ROUTINE,\n"
	"EXECUTE on the database): give it its own configuration file with --config.\n"
	"The database itself must exist.  Statements are split as the mariadb client\n"
	"does (DELIMITER lines included) and sent one at a time; a failure stops at\n"
	"that statement and names its file and line.  --dry-run lists the pending\n"
	"migrations and applies nothing.\n"
	"Runs at once, on one server or on several nodes of a Galera cluster, wait\n"
	"for each other: each holds the row of schema_migration_lock (made by\n"
	"migrate) while it works.  One that still finds it held after --wait\n"
	"(default 60 s) fails naming the holder.  A row left by a migrate that died\n"
	"is removed by the next migrate on the same server; from elsewhere,\n"
	"--break-lock removes it (make sure that no migrate runs).\n",
	run_migrate,
};
