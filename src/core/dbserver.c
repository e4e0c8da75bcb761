/* dbserver.c: the db_servers list of the configuration, and the failover choice among them. */
#include "dbserver.h"

#include <stdio.h>
#include <string.h>

static int
is_separator(char c)
{
	return c == ',' || c == ' ' || c == '\t';
}

/* Port digits in [s, e): 1..65535, else 0. */
static unsigned int
parse_port(const char *s, const char *e)
{
	unsigned long v = 0;

	if (s == e || e - s > 5)
		return 0;
	for (; s < e; s++) {
		if (*s < '0' || *s > '9')
			return 0;
		v = v * 10 + (unsigned long)(*s - '0');
	}
	return v >= 1 && v <= 65535 ? (unsigned int)v : 0;
}

/* Copy [s, e) into buf (size bytes); -1 when it does not fit. */
static int
copy(char *buf, size_t size, const char *s, const char *e)
{
	if ((size_t)(e - s) >= size)
		return -1;
	memcpy(buf, s, (size_t)(e - s));
	buf[e - s] = '\0';
	return 0;
}

/* One entry [s, e) into *out. */
static int
parse_entry(const char *s, const char *e, struct db_server *out, const char **why)
{
	const char *host_end = e, *colon;

	memset(out, 0, sizeof(*out));
	if (*s == '/') {
		if (copy(out->socket, sizeof(out->socket), s, e) != 0) {
			*why = "has a socket path that is too long";
			return -1;
		}
		return 0;
	}
	if (*s == '[') {                 /* [v6-address] or [v6-address]:port */
		const char *close = memchr(s, ']', (size_t)(e - s));

		if (close == NULL || close == s + 1) {
			*why = "has a malformed [address]";
			return -1;
		}
		if (close + 1 < e) {
			if (close[1] != ':' || (out->port = parse_port(close + 2, e)) == 0) {
				*why = "has a port that is not a number from 1 to 65535";
				return -1;
			}
		}
		s++;
		host_end = close;
	} else if ((colon = memchr(s, ':', (size_t)(e - s))) != NULL) {
		if (memchr(colon + 1, ':', (size_t)(e - colon - 1)) != NULL) {
			*why = "has an IPv6 address without [brackets]";
			return -1;
		}
		if ((out->port = parse_port(colon + 1, e)) == 0) {
			*why = "has a port that is not a number from 1 to 65535";
			return -1;
		}
		host_end = colon;
	}
	if (host_end == s) {
		*why = "has an entry without a host";
		return -1;
	}
	if (copy(out->host, sizeof(out->host), s, host_end) != 0) {
		*why = "has a host name that is too long";
		return -1;
	}
	return 0;
}

int
db_servers_parse(const char *text, size_t len, struct db_server *out, unsigned int *n,
    const char **why)
{
	const char *p = text, *end = text + len;

	*n = 0;
	while (p < end) {
		const char *s;

		while (p < end && is_separator(*p))
			p++;
		if (p == end)
			break;
		s = p;
		while (p < end && !is_separator(*p))
			p++;
		if (*n == DB_SERVERS_MAX) {
			*why = "lists more than 8 servers";
			return -1;
		}
		if (parse_entry(s, p, &out[*n], why) != 0)
			return -1;
		(*n)++;
	}
	if (*n == 0) {
		*why = "lists no server";
		return -1;
	}
	return 0;
}

void
db_server_name(const struct db_server *s, char *buf, size_t size)
{
	if (s->socket[0])
		snprintf(buf, size, "socket %s", s->socket);
	else if (strchr(s->host, ':') != NULL)
		snprintf(buf, size, "[%s]:%u", s->host, s->port ? s->port : 3306);
	else
		snprintf(buf, size, "%s:%u", s->host[0] ? s->host : "localhost",
		    s->port ? s->port : 3306);
}

void
db_failover_init(struct db_failover *f, unsigned int n, unsigned int home)
{
	memset(f, 0, sizeof(*f));
	f->n = n < 1 ? 1 : n > DB_SERVERS_MAX ? DB_SERVERS_MAX : n;
	f->home = home % f->n;
	f->current = f->home;
}

unsigned int
db_failover_pick(struct db_failover *f, double now)
{
	unsigned int soonest = f->current;

	for (unsigned int k = 0; k < f->n; k++) {
		unsigned int i = (f->current + k) % f->n;

		if (f->held_until[i] <= now)
			return f->current = i;
		if (f->held_until[i] < f->held_until[soonest])
			soonest = i;
	}
	return f->current = soonest;
}

bool
db_failover_all_held(const struct db_failover *f, double now)
{
	for (unsigned int i = 0; i < f->n; i++)
		if (f->held_until[i] <= now)
			return false;
	return f->n > 0;
}

void
db_failover_failed(struct db_failover *f, unsigned int i, double now)
{
	if (i >= f->n)
		return;
	f->held_until[i] = now + DB_SERVER_HOLD_SECONDS;
	f->current = (i + 1) % f->n;
}

void
db_failover_connected(struct db_failover *f, unsigned int i)
{
	if (i >= f->n)
		return;
	f->held_until[i] = 0;
	f->current = i;
}

bool
db_failover_go_home(struct db_failover *f, double now)
{
	if (f->current == f->home || f->held_until[f->home] > now)
		return false;
	f->current = f->home;
	return true;
}
