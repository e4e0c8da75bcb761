/* test_dbserver.c: the db_servers list (parsing, names) and the failover choice among servers. */
#include "../../src/core/dbserver.h"

#include <string.h>

#include "unit.h"

static int
parse(const char *text, struct db_server *out, unsigned int *n, const char **why)
{
	*why = NULL;
	return db_servers_parse(text, strlen(text), out, n, why);
}

static void
test_parse(void)
{
	struct db_server s[DB_SERVERS_MAX];
	unsigned int n = 99;
	const char *why;

	CHECK_INT(parse("/run/a.sock, db2.example:3307 10.0.0.3,[::1]:3308 ,, [fe80::1]", s, &n, &why),
	    0, "five entries, commas and blanks mixed");
	CHECK_INT((int)n, 5, "five servers");
	CHECK_STR(s[0].socket, "/run/a.sock", "a socket path");
	CHECK_STR(s[0].host, "", "a socket has no host");
	CHECK_STR(s[1].host, "db2.example", "host of host:port");
	CHECK_INT((int)s[1].port, 3307, "port of host:port");
	CHECK_STR(s[2].host, "10.0.0.3", "a host alone");
	CHECK_INT((int)s[2].port, 0, "a host alone: the library's default port");
	CHECK_STR(s[3].host, "::1", "[v6]:port: the address without brackets");
	CHECK_INT((int)s[3].port, 3308, "[v6]:port: the port");
	CHECK_STR(s[4].host, "fe80::1", "[v6] alone");
	CHECK_INT(parse("127.0.0.1:1", s, &n, &why), 0, "one server");
	CHECK_INT((int)n, 1, "one server counted");
}

static void
rejects(const char *text, const char *part)
{
	struct db_server s[DB_SERVERS_MAX];
	unsigned int n;
	const char *why;

	CHECK_INT(parse(text, s, &n, &why), -1, "rejected: \"%s\"", text);
	CHECK_CONTAINS(why ? why : "", part, "reason for \"%s\"", text);
}

static void
test_rejects(void)
{
	char many[256] = "";
	char longhost[300];

	rejects("", "no server");
	rejects(" , ,", "no server");
	rejects("db:0", "port");
	rejects("db:65536", "port");
	rejects("db:33x", "port");
	rejects("db:", "port");
	rejects(":3306", "without a host");
	rejects("fe80::1", "brackets");
	rejects("[fe80::1", "[address]");
	rejects("[]:3306", "[address]");
	rejects("[::1]x", "port");
	for (int i = 0; i < DB_SERVERS_MAX + 1; i++)
		strcat(many, "h:1 ");
	rejects(many, "more than 8");
	memset(longhost, 'a', sizeof(longhost) - 1);
	longhost[sizeof(longhost) - 1] = '\0';
	rejects(longhost, "too long");
}

static void
test_name(void)
{
	struct db_server s = { .socket = "/run/m.sock" };
	char buf[300];

	db_server_name(&s, buf, sizeof(buf));
	CHECK_STR(buf, "socket /run/m.sock", "a socket's name");
	s = (struct db_server){ .host = "db1", .port = 3307 };
	db_server_name(&s, buf, sizeof(buf));
	CHECK_STR(buf, "db1:3307", "host:port");
	s = (struct db_server){ .host = "::1" };
	db_server_name(&s, buf, sizeof(buf));
	CHECK_STR(buf, "[::1]:3306", "an IPv6 host with the default port");
}

static void
test_failover(void)
{
	struct db_failover f;

	db_failover_init(&f, 3, 4);
	CHECK_INT((int)f.home, 1, "home is spread by the worker's number modulo the servers");
	CHECK_INT((int)db_failover_pick(&f, 100), 1, "a fresh worker starts at home");
	db_failover_failed(&f, 1, 100);
	CHECK_INT((int)db_failover_pick(&f, 100), 2, "after home fails: the next server");
	db_failover_failed(&f, 2, 101);
	CHECK_INT((int)db_failover_pick(&f, 101), 0, "then the one after, wrapping around");
	db_failover_connected(&f, 0);
	CHECK(!db_failover_go_home(&f, 100 + DB_SERVER_HOLD_SECONDS - 1),
	    "not back home while home is held back");
	CHECK_INT((int)db_failover_pick(&f, 105), 0, "stays on the server it is connected to");
	CHECK(db_failover_go_home(&f, 100 + DB_SERVER_HOLD_SECONDS),
	    "back home once home's hold has run out");
	CHECK_INT((int)db_failover_pick(&f, 100 + DB_SERVER_HOLD_SECONDS), 1, "home is tried first");
	db_failover_connected(&f, 1);
	CHECK(!db_failover_go_home(&f, 500), "at home: nothing to do");

	db_failover_init(&f, 3, 0);
	CHECK(!db_failover_all_held(&f, 5), "none failed: none held back");
	db_failover_failed(&f, 0, 10);
	db_failover_failed(&f, 1, 11);
	CHECK(!db_failover_all_held(&f, 11), "two of three held back: not all");
	db_failover_failed(&f, 2, 12);
	CHECK(db_failover_all_held(&f, 12), "all three failed within their holds: all held back");
	CHECK(!db_failover_all_held(&f, 10 + DB_SERVER_HOLD_SECONDS),
	    "the first hold ran out: not all held back");
	CHECK_INT((int)db_failover_pick(&f, 13), 0,
	    "all held back: the one whose hold ends first is tried anyway");
	CHECK_INT((int)db_failover_pick(&f, 10 + DB_SERVER_HOLD_SECONDS + 1.5), 0,
	    "a hold that ran out makes a server usable again");

	db_failover_init(&f, 1, 7);
	db_failover_failed(&f, 0, 10);
	CHECK_INT((int)db_failover_pick(&f, 10), 0, "one server: always that one");
	CHECK(!db_failover_go_home(&f, 10), "one server: it is home");
}

int
main(void)
{
	test_parse();
	test_rejects();
	test_name();
	test_failover();
	return unit_done();
}
