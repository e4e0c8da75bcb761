/*
 * baseline.c: the benchmark's yardstick, a FastCGI responder that does no work.
 *
 * It answers every request with one fixed response, so lighttpd + libfcgi +
 * the response size cost the same as for the real program, and the difference
 * is the program's own work (database, rendering).
 *
 *   BASELINE_RESPONSE_FILE=F  F holds a whole CGI response (headers, blank line,
 *                             body) captured from the real program in CGI mode:
 *                             replayed byte for byte, so headers and body size
 *                             are exactly the real ones.
 *   BASELINE_BODY_SIZE=N      otherwise: a JSON body of N bytes (default 4096)
 *                             under the real program's header set.
 *
 * Build: cc -O2 -o baseline baseline.c -lfcgi
 * Listens on fd 0 (lighttpd bin-path, spawn-fcgi), like the real program.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fcgiapp.h>

static char *response;
static size_t response_len;

static void
on_term(int sig)
{
	(void)sig;
	FCGX_ShutdownPending();
}

static int
load_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	long n;

	if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) <= 0 ||
	    fseek(f, 0, SEEK_SET) != 0) {
		fprintf(stderr, "baseline: cannot read %s: %s\n", path, strerror(errno));
		if (f != NULL)
			fclose(f);
		return -1;
	}
	response = malloc((size_t)n);
	if (response == NULL || fread(response, 1, (size_t)n, f) != (size_t)n) {
		fprintf(stderr, "baseline: cannot read %s\n", path);
		fclose(f);
		return -1;
	}
	fclose(f);
	response_len = (size_t)n;
	return 0;
}

/* The real program's 200 headers, and a JSON body padded to `size` bytes. */
static int
make_response(size_t size)
{
	static const char open[] = "{\"code\":0,\"message\":\"ok\",\"pad\":\"";
	static const char close[] = "\"}";
	char head[512];
	size_t min = sizeof(open) - 1 + sizeof(close) - 1;

	if (size < min)
		size = min;
	int h = snprintf(head, sizeof(head),
	    "Status: 200 OK\r\n"
	    "Content-Type: application/json; charset=utf-8\r\n"
	    "Content-Length: %lu\r\n"
	    "Cache-Control: no-store\r\n"
	    "X-Content-Type-Options: nosniff\r\n"
	    "\r\n", (unsigned long)size);
	response = malloc((size_t)h + size);
	if (response == NULL)
		return -1;
	memcpy(response, head, (size_t)h);
	char *b = response + h;
	memcpy(b, open, sizeof(open) - 1);
	memset(b + sizeof(open) - 1, 'x', size - min);
	memcpy(b + size - (sizeof(close) - 1), close, sizeof(close) - 1);
	response_len = (size_t)h + size;
	return 0;
}

int
main(void)
{
	struct sigaction sa;
	FCGX_Request req;
	const char *file = getenv("BASELINE_RESPONSE_FILE");
	const char *size = getenv("BASELINE_BODY_SIZE");

	if (file != NULL && file[0] != '\0') {
		if (load_file(file) != 0)
			return 1;
	} else if (make_response(size ? strtoul(size, NULL, 10) : 4096) != 0) {
		fprintf(stderr, "baseline: out of memory\n");
		return 1;
	}

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	sa.sa_handler = on_term;        /* no SA_RESTART: accept() must return */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	if (FCGX_Init() != 0 || FCGX_InitRequest(&req, 0, 0) != 0) {
		fprintf(stderr, "baseline: FastCGI initialisation failed\n");
		return 1;
	}
	while (FCGX_Accept_r(&req) >= 0) {
		FCGX_PutStr(response, (int)response_len, req.out);
		FCGX_Finish_r(&req);
	}
	FCGX_Free(&req, 1);
	free(response);
	return 0;
}
