/* main.c: the FastCGI accept loop: start-up, signals, one request at a time. */
#include "../core/config.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <fcgiapp.h>

#include "../core/db.h"
#include "handler.h"
#include "../core/log.h"
#include "logline.h"
#include "request.h"
#include "response.h"
#include "route.h"
#include "../core/store.h"

extern char **environ;

static volatile sig_atomic_t stopping;

static void
on_term(int sig)
{
	(void)sig;
	stopping = 1;
	FCGX_ShutdownPending();
}

/* Seconds a queued read audit may wait for a quiet moment. */
#define AUDIT_MAX_WAIT_SECONDS 1

/* SIGALRM: the queued read audits have waited AUDIT_MAX_WAIT_SECONDS. */
static volatile sig_atomic_t audit_due;
static bool audit_timer_armed;

static void
on_alarm(int sig)
{
	(void)sig;
	audit_due = 1;
}

static int
install_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	if (sigaction(SIGPIPE, &sa, NULL) != 0)
		return -1;
	/* No SA_RESTART: a blocked accept() must return so the loop can end. */
	sa.sa_handler = on_term;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGTERM, &sa, NULL) != 0 || sigaction(SIGINT, &sa, NULL) != 0)
		return -1;
	sa.sa_handler = on_alarm;
	if (sigaction(SIGALRM, &sa, NULL) != 0)
		return -1;
	return 0;
}

/*
 * systemd socket activation (LISTEN_PID/LISTEN_FDS, first fd 3): move the
 * socket to fd 0, where libfcgi listens.
 */
static int
adopt_systemd_socket(void)
{
	const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");

	if (pid == NULL || fds == NULL || atol(pid) != (long)getpid())
		return 0;
	if (strcmp(fds, "1") != 0) {
		log_error("expected exactly one socket from systemd, got LISTEN_FDS=%s", fds);
		return -1;
	}
	if (dup2(3, 0) < 0) {
		log_error("cannot move socket to fd 0: %s", strerror(errno));
		return -1;
	}
	close(3);
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	return 0;
}

/*
 * Write queued read audits when no request is waiting on the listening
 * socket (under load they go out in full batches, at rest at once), or when
 * they have waited a second.  The timer matters where workers share one
 * socket (spawn-fcgi -F, systemd): a worker that saw a request waiting and
 * then lost it to another blocks in accept() with its queue, until the alarm
 * interrupts the accept (FCGI_FAIL_ACCEPT_ON_INTR) and the loop comes here.
 */
static void
write_audits_when_due(struct store *st)
{
	struct pollfd listener = { .fd = 0, .events = POLLIN };
	bool due = audit_due;

	if (due) {                                 /* the alarm went off: it is spent */
		audit_due = 0;
		audit_timer_armed = false;
	}
	if (!store_audit_pending(st))
		return;
	/* A request waits: keep batching.  Or the database is away: a write
	 * would hold the next request up behind a connect timeout. */
	if (!store_audit_can_wait(st) && (due || poll(&listener, 1, 0) == 0)) {
		if (audit_timer_armed) {
			alarm(0);
			audit_timer_armed = false;
		}
		if (store_audit_flush(st) == AUT_OK)
			return;
		log_error("audit: queued read audits not written yet");
	}
	/* Rows still queued: the alarm comes back for them (once per batch,
	 * not per request), even if no request does. */
	if (!audit_timer_armed) {
		alarm(AUDIT_MAX_WAIT_SECONDS);
		audit_timer_armed = true;
	}
}

static double
elapsed_ms(const struct timespec *start)
{
	struct timespec end;

	clock_gettime(CLOCK_MONOTONIC, &end);
	return (double)(end.tv_sec - start->tv_sec) * 1e3 +
	    (double)(end.tv_nsec - start->tv_nsec) / 1e6;
}

/* Serve one request whose environment is envp; write with put(). */
typedef int (*put_fn)(void *out, const char *buf, size_t len);

static void
serve(char *const *envp, const struct config *conf, struct store *st,
    put_fn put, void *out)
{
	struct timespec start;
	struct request req;
	struct response resp;
	struct bearer who;
	char head[RESPONSE_HEAD_MAX], line[4096], log_path[4096];
	time_t now = db_clock_now();

	memset(&req, 0, sizeof(req));
	clock_gettime(CLOCK_MONOTONIC, &start);
	if (request_from_env(&req, envp) != 0) {
		log_error("out of memory reading the request");
		memset(&resp, 0, sizeof(resp));
		resp.status = 500;
		memset(&who, 0, sizeof(who));
	} else {
		handler_serve(&req, conf, st, now, &resp, &who);
	}

	int n = response_format_head(&resp, head, sizeof(head));
	if (n > 0) {
		put(out, head, (size_t)n);
		if (!resp.omit_body && resp.body_len > 0)
			put(out, resp.body, resp.body_len);
	}

	struct logline l = {
		.when = now, .method = req.method ? req.method : "",
		.path = req.path ? route_log_path(req.path, log_path, sizeof(log_path)) : "",
		.status = resp.status,
		.duration_ms = elapsed_ms(&start),
		.tenant_id = who.tenant_id, .admin_id = who.user_id,
		.request_id = req.request_id,
		.client_request_id = req.client_request_id,
	};
	size_t len = logline_format(&l, line, sizeof(line));
	fwrite(line, 1, len, stderr);
	fflush(stderr);
	response_free(&resp);
	request_free(&req);
}

static int
put_fcgi(void *out, const char *buf, size_t len)
{
	return FCGX_PutStr(buf, (int)len, out);
}

static int
put_stdout(void *out, const char *buf, size_t len)
{
	return (int)fwrite(buf, 1, len, out);
}

int
main(void)
{
	struct config conf;
	struct db *db = NULL;
	struct store *st = NULL;
	FCGX_Request fcgi;
	char err[512];
	const char *path = getenv("AUTIONAL_CONFIG");

	log_set_program("autional-admin");
	if (path == NULL || path[0] == '\0')
		path = SYSCONFDIR "/autional/autional.conf";
	config_defaults(&conf);
	if (config_load(&conf, path, err, sizeof(err)) != 0) {
		log_error("configuration error: %s", err);
		return 1;
	}
	if (install_signals() != 0 || adopt_systemd_socket() != 0)
		return 1;
	if (db_new(&conf, &store_statements, 1, &db) != AUT_OK ||
	    store_new(db, &st) != AUT_OK) {
		log_error("out of memory");
		return 1;
	}
	if (FCGX_Init() != 0) {
		log_error("FCGX_Init failed");
		return 1;
	}

	if (FCGX_IsCGI()) {
		/* Not started as FastCGI: answer the one CGI request (tests, debugging). */
		serve(environ, &conf, st, put_stdout, stdout);
		fflush(stdout);
		store_free(st);
		db_free(db);
		return 0;
	}

	/* An accept() interrupted by a signal returns (the audit timer, SIGTERM). */
	if (FCGX_InitRequest(&fcgi, 0, FCGI_FAIL_ACCEPT_ON_INTR) != 0) {
		log_error("FCGX_InitRequest failed");
		return 1;
	}
	/*
	 * SIGTERM (and the audit timer) are held back while a request is served,
	 * so no system call of that request is interrupted: the request
	 * completes, then the loop ends (or writes the audits).
	 */
	sigset_t held;
	sigemptyset(&held);
	sigaddset(&held, SIGTERM);
	sigaddset(&held, SIGINT);
	sigaddset(&held, SIGALRM);
	for (;;) {
		int rc;

		write_audits_when_due(st);
		if (stopping)
			break;
		rc = FCGX_Accept_r(&fcgi);
		if (rc == -EINTR && !stopping)
			continue;                     /* the audit timer */
		if (rc < 0)
			break;
		sigprocmask(SIG_BLOCK, &held, NULL);
		serve(fcgi.envp, &conf, st, put_fcgi, fcgi.out);
		FCGX_Finish_r(&fcgi);
		sigprocmask(SIG_UNBLOCK, &held, NULL);
	}
	FCGX_Free(&fcgi, 1);
	store_free(st);
	db_free(db);
	return 0;
}
