/* test_config.c: the configuration file: defaults, every key, format, and errors naming file:line. */
#include "../../src/core/config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "unit.h"

static int
parse(struct config *c, const char *text, char *err, size_t errlen)
{
	config_defaults(c);
	err[0] = '\0';
	return config_parse(c, text, strlen(text), "test.conf", err, errlen);
}

/* text is rejected with a message containing part1 and, unless NULL, part2. */
static void
rejects(const char *text, const char *name, const char *part1, const char *part2)
{
	struct config c;
	char err[256];

	CHECK_INT(parse(&c, text, err, sizeof(err)), -1, "%s: rejected", name);
	CHECK_CONTAINS(err, part1, "%s: message", name);
	if (part2 != NULL)
		CHECK_CONTAINS(err, part2, "%s: message names the problem", name);
}

static void
test_defaults(void)
{
	struct config c;
	char err[256];

	memset(&c, 0x5A, sizeof(c));
	config_defaults(&c);
	CHECK_STR(c.db_socket, "", "default db_socket empty");
	CHECK_STR(c.db_host, "", "default db_host empty");
	CHECK_U64(c.db_port, 0, "default db_port 0 (library default)");
	CHECK_STR(c.db_name, "autional", "default db_name");
	CHECK_STR(c.db_user, "", "default db_user empty");
	CHECK_STR(c.db_password, "", "default db_password empty");
	CHECK_STR(c.db_option_file, "", "default db_option_file empty");
	CHECK_U64(c.db_connect_timeout, 3, "default db_connect_timeout");
	CHECK_U64(c.db_read_timeout, 5, "default db_read_timeout");
	CHECK_U64(c.db_write_timeout, 5, "default db_write_timeout");
	CHECK_U64(c.page_size_max, 100, "default page_size_max 100");
	CHECK_U64(c.revoke_batch, 10000, "default revoke_batch 10000");

	CHECK_INT(parse(&c, "", err, sizeof(err)), 0, "empty file accepted");
	CHECK_U64(c.page_size_max, 100, "empty file keeps defaults");
	CHECK_INT(parse(&c, "# only\n\n   \n\t# comments\n", err, sizeof(err)), 0,
	    "comments and blank lines only");
	CHECK_STR(c.db_name, "autional", "comment-only file keeps defaults");
}

static void
test_every_key(void)
{
	static const char text[] =
	    "db_socket = /run/mysqld/mysqld.sock\n"
	    "db_host = db.example.org\n"
	    "db_port = 3307\n"
	    "db_name = autional_test\n"
	    "db_user = api\n"
	    "db_password = s3cret pass\n"
	    "db_option_file = /etc/autional/my.cnf\n"
	    "db_connect_timeout = 2\n"
	    "db_read_timeout = 7\n"
	    "db_write_timeout = 9\n"
	    "page_size_max = 250\n";
	struct config c;
	char err[256];

	CHECK_INT(parse(&c, text, err, sizeof(err)), 0, "every key: accepted (%s)", err);
	CHECK_STR(c.db_socket, "/run/mysqld/mysqld.sock", "db_socket");
	CHECK_STR(c.db_host, "db.example.org", "db_host");
	CHECK_U64(c.db_port, 3307, "db_port");
	CHECK_STR(c.db_name, "autional_test", "db_name");
	CHECK_STR(c.db_user, "api", "db_user");
	CHECK_STR(c.db_password, "s3cret pass", "db_password keeps inner blanks");
	CHECK_STR(c.db_option_file, "/etc/autional/my.cnf", "db_option_file");
	CHECK_U64(c.db_connect_timeout, 2, "db_connect_timeout");
	CHECK_U64(c.db_read_timeout, 7, "db_read_timeout");
	CHECK_U64(c.db_write_timeout, 9, "db_write_timeout");
	CHECK_U64(c.page_size_max, 250, "page_size_max");
}

static void
test_format(void)
{
	struct config c;
	char err[256];

	CHECK_INT(parse(&c, "db_user = a\r\ndb_port = 3306\r\n# x\r\n\r\npage_size_max = 7\r\n",
	    err, sizeof(err)), 0, "CRLF line ends accepted (%s)", err);
	CHECK_STR(c.db_user, "a", "CRLF: no '\\r' left in a string");
	CHECK_U64(c.db_port, 3306, "CRLF: number before '\\r'");
	CHECK_U64(c.page_size_max, 7, "CRLF: last line");

	CHECK_INT(parse(&c, "  \tdb_user\t=\t  bob  \t\n", err, sizeof(err)), 0,
	    "blanks around key and value");
	CHECK_STR(c.db_user, "bob", "blanks trimmed");
	CHECK_INT(parse(&c, "db_user=bob", err, sizeof(err)), 0, "no blanks, no final newline");
	CHECK_STR(c.db_user, "bob", "last line without newline");
	CHECK_INT(parse(&c, "db_password = a=b#c \"d\"", err, sizeof(err)), 0,
	    "'=', '#' and quotes inside a value");
	CHECK_STR(c.db_password, "a=b#c \"d\"", "value taken literally");
	CHECK_INT(parse(&c, "db_host =\n", err, sizeof(err)), 0, "empty string value");
	CHECK_STR(c.db_host, "", "empty string value is \"\"");
	CHECK_INT(parse(&c, "   # indented comment = yes\n", err, sizeof(err)), 0,
	    "indented comment");
	CHECK_INT(parse(&c, "db_user = a\ndb_user = b\n", err, sizeof(err)), 0,
	    "key given twice");
	CHECK_STR(c.db_user, "b", "key given twice: the last one counts");
	CHECK_INT(parse(&c, "db_port = 0003306\n", err, sizeof(err)), 0, "leading zeros");
	CHECK_U64(c.db_port, 3306, "leading zeros: value");

	/* The text need not be NUL-terminated: only len bytes are read. */
	config_defaults(&c);
	CHECK_INT(config_parse(&c, "page_size_max = 50XYZ", 18, "n.conf", err, sizeof(err)), 0,
	    "only len bytes are read");
	CHECK_U64(c.page_size_max, 50, "value ends at len");
}

static void
test_errors(void)
{
	rejects("db_user = a\n\n# c\nbogus_key = 1\n", "unknown key", "test.conf:4", "bogus_key");
	rejects("DB_USER = a\n", "keys are case-sensitive", "test.conf:1", "DB_USER");
	rejects("db user = a\n", "key with a blank", "test.conf:1", NULL);
	rejects("= a\n", "empty key", "test.conf:1", NULL);
	rejects("db_user = a\r\nnonsense\r\n", "missing '=' (CRLF)", "test.conf:2", NULL);
	rejects("db_user\n", "key without '='", "test.conf:1", NULL);
	rejects("\n\n\n\n\n\n\n\n\n\nx\n", "missing '=' on line 11", "test.conf:11", NULL);
	rejects("# db_port = 1\ndb_port = 0\n", "db_port 0", "test.conf:2", "db_port");
	rejects("db_port = 65536\n", "db_port 65536", "test.conf:1", "db_port");
	rejects("db_port = 4294967297\n", "db_port 2^32 + 1 does not wrap", "test.conf:1", "db_port");
	rejects("db_port = 99999999999\n", "db_port 11 digits", "test.conf:1", "db_port");
	rejects("db_port = 99999999999999999999999\n", "db_port 23 digits", "test.conf:1", "db_port");
	rejects("db_port = 18446744073709551617\n", "db_port 2^64 + 1 does not wrap to 1",
	    "test.conf:1", "db_port");
	rejects("db_port = -1\n", "negative", "test.conf:1", "db_port");
	rejects("db_port = +1\n", "plus sign", "test.conf:1", "db_port");
	rejects("db_port = 1.5\n", "decimal point", "test.conf:1", "db_port");
	rejects("db_port = 0x10\n", "hexadecimal", "test.conf:1", "db_port");
	rejects("db_port = 33 06\n", "blank inside a number", "test.conf:1", "db_port");
	rejects("db_port = 3306 # port\n", "comment after a number", "test.conf:1", "db_port");
	rejects("db_port =\n", "empty number", "test.conf:1", "db_port");
	rejects("db_port = abc\n", "letters", "test.conf:1", "db_port");
	rejects("db_connect_timeout = 0\n", "connect timeout 0", "test.conf:1", "db_connect_timeout");
	rejects("db_read_timeout = 3601\n", "read timeout 3601", "test.conf:1", "db_read_timeout");
	rejects("db_write_timeout = 0\n", "write timeout 0", "test.conf:1", "db_write_timeout");
	rejects("page_size_max = 0\n", "page_size_max 0", "test.conf:1", "page_size_max");
	rejects("page_size_max = 1001\n", "page_size_max 1001", "test.conf:1", "page_size_max");
	rejects("revoke_batch = 0\n", "revoke_batch 0", "test.conf:1", "revoke_batch");
	rejects("revoke_batch = 100001\n", "revoke_batch 100001", "test.conf:1", "revoke_batch");

	{
		struct config c;
		char err[256];
		static const char nul[] = "db_user = a\0b\n";

		config_defaults(&c);
		CHECK_INT(config_parse(&c, nul, sizeof(nul) - 1, "test.conf", err, sizeof(err)), -1,
		    "NUL byte in a value: rejected");
		CHECK_CONTAINS(err, "test.conf:1", "NUL byte in a value: message");
	}
}

static void
test_ranges_and_lengths(void)
{
	struct config c;
	char err[256], text[700];

	CHECK_INT(parse(&c, "db_port = 1\ndb_connect_timeout = 1\npage_size_max = 1\n",
	    err, sizeof(err)), 0, "lower bounds accepted");
	CHECK_U64(c.page_size_max, 1, "page_size_max 1");
	CHECK_INT(parse(&c, "db_port = 65535\ndb_read_timeout = 3600\npage_size_max = 1000\n",
	    err, sizeof(err)), 0, "upper bounds accepted");
	CHECK_U64(c.db_port, 65535, "db_port 65535");
	CHECK_U64(c.db_read_timeout, 3600, "db_read_timeout 3600");
	CHECK_U64(c.page_size_max, CONFIG_PAGE_SIZE_MAX_LIMIT, "page_size_max 1000");

	static const struct { const char *key; size_t size; } strs[] = {
		{ "db_socket", sizeof(c.db_socket) },
		{ "db_host", sizeof(c.db_host) },
		{ "db_name", sizeof(c.db_name) },
		{ "db_user", sizeof(c.db_user) },
		{ "db_password", sizeof(c.db_password) },
		{ "db_option_file", sizeof(c.db_option_file) },
	};
	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
		size_t n = strs[i].size - 1;
		int k = snprintf(text, sizeof(text), "\n%s = ", strs[i].key);

		memset(text + k, 'v', n);
		text[k + (int)n] = '\0';
		CHECK_INT(parse(&c, text, err, sizeof(err)), 0, "%s: longest value (%zu) fits",
		    strs[i].key, n);
		text[k + (int)n] = 'v';
		text[k + (int)n + 1] = '\0';
		CHECK_INT(parse(&c, text, err, sizeof(err)), -1, "%s: one byte too long (%zu)",
		    strs[i].key, n + 1);
		CHECK_CONTAINS(err, "test.conf:2", "%s: too long: message gives file:line",
		    strs[i].key);
		CHECK_CONTAINS(err, strs[i].key, "%s: too long: message names the key",
		    strs[i].key);
	}
	CHECK_INT(parse(&c, "db_name = "
	    "0123456789012345678901234567890123456789012345678901234567890123",
	    err, sizeof(err)), 0, "db_name of 64 characters");
	CHECK_U64(strlen(c.db_name), 64, "db_name of 64 characters kept whole");
}

static void
test_load(void)
{
	const char *tmp = getenv("TMPDIR");
	char dir[256], path[512], err[512];
	struct config c;

	snprintf(dir, sizeof(dir), "%s/autional-test-config-XXXXXX",
	    tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp");
	if (mkdtemp(dir) == NULL) {
		CHECK(0, "load: temporary directory");
		return;
	}

	snprintf(path, sizeof(path), "%s/absent.conf", dir);
	config_defaults(&c);
	CHECK_INT(config_load(&c, path, err, sizeof(err)), -1, "load: missing file fails");
	CHECK_CONTAINS(err, path, "load: missing file: message names the file");

	config_defaults(&c);
	CHECK_INT(config_load(&c, dir, err, sizeof(err)), -1, "load: a directory fails");
	CHECK_CONTAINS(err, dir, "load: directory: message names it");

	static const char good[] = "# test\r\ndb_user = loaded\npage_size_max = 42\n";
	CHECK_INT(unit_write_file(dir, "good.conf", good, sizeof(good) - 1, path, sizeof(path)), 0,
	    "load: wrote good.conf");
	config_defaults(&c);
	CHECK_INT(config_load(&c, path, err, sizeof(err)), 0, "load: good file (%s)", err);
	CHECK_STR(c.db_user, "loaded", "load: string from the file");
	CHECK_U64(c.page_size_max, 42, "load: number from the file");
	CHECK_STR(c.db_name, "autional", "load: unset keys keep defaults");
	unlink(path);

	static const char broken[] = "db_user = x\n# fine\npage_size_max = lots\n";
	CHECK_INT(unit_write_file(dir, "broken.conf", broken, sizeof(broken) - 1, path, sizeof(path)),
	    0, "load: wrote broken.conf");
	config_defaults(&c);
	CHECK_INT(config_load(&c, path, err, sizeof(err)), -1, "load: broken file fails");
	{
		char want[600];
		snprintf(want, sizeof(want), "%s:3", path);
		CHECK_CONTAINS(err, want, "load: broken file: message gives path:line");
	}
	unlink(path);

	/* Bigger than the first read buffer: the key after 6000 bytes of comments counts. */
	{
		size_t n = 6000;
		char *big = malloc(n + 64);
		if (big != NULL) {
			for (size_t i = 0; i < n; i += 60) {
				memset(big + i, '#', 59);
				big[i + 59] = '\n';
			}
			int k = snprintf(big + n, 64, "page_size_max = 77\n");
			CHECK_INT(unit_write_file(dir, "big.conf", big, n + (size_t)k, path, sizeof(path)), 0,
			    "load: wrote big.conf");
			config_defaults(&c);
			CHECK_INT(config_load(&c, path, err, sizeof(err)), 0, "load: 6 KB file (%s)", err);
			CHECK_U64(c.page_size_max, 77, "load: key after 6000 bytes read");
			unlink(path);
			free(big);
		}
	}

	/* Far larger than any config: refused, naming the file. */
	{
		size_t n = 2 * 1024 * 1024;
		char *huge = malloc(n);
		if (huge != NULL) {
			memset(huge, '#', n);
			CHECK_INT(unit_write_file(dir, "huge.conf", huge, n, path, sizeof(path)), 0,
			    "load: wrote huge.conf");
			config_defaults(&c);
			CHECK_INT(config_load(&c, path, err, sizeof(err)), -1, "load: 2 MiB file refused");
			CHECK_CONTAINS(err, path, "load: 2 MiB file: message names it");
			unlink(path);
			free(huge);
		}
	}
	rmdir(dir);

	/* The example shipped in conf/ must load as is. */
	const char *srcdir = getenv("srcdir");
	if (srcdir == NULL) {
		printf("# srcdir not set: shipped example not checked\n");
		return;
	}
	snprintf(path, sizeof(path), "%s/conf/autional.conf", srcdir);
	config_defaults(&c);
	CHECK_INT(config_load(&c, path, err, sizeof(err)), 0, "shipped conf/autional.conf loads (%s)",
	    err);
	CHECK_STR(c.db_socket, "/run/mysqld/mysqld.sock", "shipped example: db_socket");
	CHECK_STR(c.db_user, "autional", "shipped example: db_user");
	CHECK_U64(c.page_size_max, 100, "shipped example: page_size_max");
}

/* db_servers: the list, its errors with file:line, and what it excludes. */
static void
test_servers(void)
{
	struct config c;
	char err[256];

	CHECK_INT(parse(&c, "db_name = x\n", err, sizeof(err)), 0, "no db_servers");
	CHECK_INT((int)c.db_server_count, 0, "no db_servers: an empty list (db_socket/db_host used)");
	CHECK_INT((int)c.db_causal_reads, 1, "db_causal_reads defaults to 1");
	CHECK_INT(parse(&c, "db_servers = /run/a.sock, 10.0.0.2:3307 db3\ndb_causal_reads = 0\n",
	    err, sizeof(err)), 0, "three servers");
	CHECK_INT((int)c.db_server_count, 3, "three servers counted");
	CHECK_STR(c.db_servers[0].socket, "/run/a.sock", "first: a socket");
	CHECK_STR(c.db_servers[1].host, "10.0.0.2", "second: a host");
	CHECK_INT((int)c.db_servers[1].port, 3307, "second: its port");
	CHECK_STR(c.db_servers[2].host, "db3", "third: a host alone");
	CHECK_INT((int)c.db_causal_reads, 0, "db_causal_reads 0");
	rejects("\ndb_servers = db1:99999\n", "bad port in db_servers", "test.conf:2", "port");
	rejects("db_servers =\n", "empty db_servers", "test.conf:1", "no server");
	rejects("db_servers = a b c d e f g h i\n", "nine servers", "test.conf:1", "more than 8");
	rejects("db_socket = /x\ndb_servers = /y\n", "db_servers with db_socket", "test.conf",
	    "db_servers replaces");
	rejects("db_servers = /y\ndb_port = 3306\n", "db_servers with db_port", "test.conf",
	    "db_servers replaces");
	rejects("db_causal_reads = 2\n", "db_causal_reads 2", "test.conf:1", "db_causal_reads");
}

int
main(void)
{
	test_defaults();
	test_every_key();
	test_format();
	test_errors();
	test_ranges_and_lengths();
	test_load();
	test_servers();
	return unit_done();
}
