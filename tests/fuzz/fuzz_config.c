/* fuzz_config.c: libFuzzer harness for the configuration file parser (config_parse). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/core/config.h"
#include "fuzz.h"

/*
 * The input is the whole file; config_parse gets it as bytes, not a C string.
 * The model's key table is the format as conf/autional.conf and
 * man/autional.conf.5 describe it: a new key belongs here too.
 */

#define NAME "fuzz.conf"

struct model_key {
	const char *name;
	size_t off, size;          /* string field: offset and buffer size */
	unsigned long min, max;    /* number field when size is 0 */
	int servers;               /* db_servers: the list (db_servers_parse, unit-tested
	                              in tests/unit/test_dbserver.c, is the reference) */
};

#define S(f) offsetof(struct config, f), sizeof(((struct config *)0)->f), 0, 0, 0
#define U(f, lo, hi) offsetof(struct config, f), 0, lo, hi, 0

static const struct model_key model_keys[] = {
	{ "db_socket", S(db_socket) }, { "db_host", S(db_host) },
	{ "db_port", U(db_port, 1, 65535) }, { "db_name", S(db_name) },
	{ "db_user", S(db_user) }, { "db_password", S(db_password) },
	{ "db_option_file", S(db_option_file) },
	{ "db_connect_timeout", U(db_connect_timeout, 1, 3600) },
	{ "db_read_timeout", U(db_read_timeout, 1, 3600) },
	{ "db_write_timeout", U(db_write_timeout, 1, 3600) },
	{ "page_size_max", U(page_size_max, 1, 1000) },
	{ "audit_reads", U(audit_reads, 0, 1) },
	{ "revoke_batch", U(revoke_batch, 1, 100000) },
	{ "db_causal_reads", U(db_causal_reads, 0, 1) },
	{ "db_servers", offsetof(struct config, db_servers), 0, 0, 0, 1 },
};

/* model_parse's answer when every line is good but db_servers is given together
 * with db_socket, db_host or db_port (an error of the file, not of a line). */
#define MODEL_CONFLICT 0xFFFFFFFFu
#define NKEYS (sizeof(model_keys) / sizeof(model_keys[0]))

static int
blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/*
 * Reference parser, as conf/autional.conf describes the format.  Fills *conf
 * and returns 0, or returns the 1-based number of the first bad line.
 */
static unsigned
model_parse(struct config *conf, const char *t, size_t len)
{
	unsigned line = 0;
	size_t i = 0;

	while (i < len) {
		size_t s = i, e = i;
		while (e < len && t[e] != '\n')
			e++;
		i = e + 1;
		line++;
		while (s < e && blank(t[s])) s++;
		while (e > s && blank(t[e - 1])) e--;
		if (s == e || t[s] == '#')
			continue;
		size_t eq = s;
		while (eq < e && t[eq] != '=')
			eq++;
		if (eq == e)
			return line;
		size_t ke = eq, vs = eq + 1;
		while (ke > s && blank(t[ke - 1])) ke--;
		while (vs < e && blank(t[vs])) vs++;
		const struct model_key *k = NULL;
		for (size_t j = 0; j < NKEYS; j++)
			if (strlen(model_keys[j].name) == ke - s &&
			    memcmp(model_keys[j].name, t + s, ke - s) == 0)
				k = &model_keys[j];
		if (k == NULL || memchr(t + vs, '\0', e - vs) != NULL)
			return line;
		char *field = (char *)conf + k->off;
		if (k->servers) {
			const char *why = NULL;
			if (db_servers_parse(t + vs, e - vs, conf->db_servers, &conf->db_server_count,
			    &why) != 0)
				return line;
		} else if (k->size) {
			if (e - vs >= k->size)
				return line;
			memcpy(field, t + vs, e - vs);
			field[e - vs] = '\0';
		} else {
			/* Digits only; leading zeros are fine; a huge value stays huge. */
			unsigned long n = 0;
			if (e - vs == 0)
				return line;
			for (size_t j = vs; j < e; j++) {
				if (t[j] < '0' || t[j] > '9')
					return line;
				if (n <= 1000000000UL)
					n = n * 10 + (unsigned long)(t[j] - '0');
			}
			if (n < k->min || n > k->max)
				return line;
			*(unsigned int *)(void *)field = (unsigned int)n;
		}
	}
	if (conf->db_server_count > 0 && (conf->db_socket[0] || conf->db_host[0] || conf->db_port))
		return MODEL_CONFLICT;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config conf, model;
	char err[512];
	unsigned bad;

	config_defaults(&conf);
	config_defaults(&model);
	memset(err, 0, sizeof(err));
	int rc = config_parse(&conf, (const char *)data, size, NAME, err, sizeof(err));
	CHECK(rc == 0 || rc == -1);
	bad = model_parse(&model, (const char *)data, size);

	if (rc == 0) {
		CHECK(bad == 0);
		for (size_t j = 0; j < NKEYS; j++) {
			const struct model_key *k = &model_keys[j];
			const char *a = (const char *)&conf + k->off, *b = (const char *)&model + k->off;
			if (k->servers) {
				CHECK(conf.db_server_count == model.db_server_count);
				CHECK(memcmp(conf.db_servers, model.db_servers,
				    sizeof(conf.db_servers)) == 0);
			} else if (k->size) {
				/* Every string field is NUL-terminated inside its buffer. */
				CHECK(memchr(a, '\0', k->size) != NULL);
				CHECK(strcmp(a, b) == 0);
			} else {
				unsigned int v = *(const unsigned int *)(const void *)a;
				CHECK(v == *(const unsigned int *)(const void *)b);
				CHECK(v == 0 || (v >= k->min && v <= k->max));
			}
		}
		CHECK(conf.db_connect_timeout >= 1 && conf.db_read_timeout >= 1 &&
		    conf.db_write_timeout >= 1 && conf.page_size_max >= 1 &&
		    conf.page_size_max <= CONFIG_PAGE_SIZE_MAX_LIMIT);
	} else if (bad == MODEL_CONFLICT) {
		/* Every line good, the combination not: "fuzz.conf: why". */
		CHECK(memchr(err, '\0', sizeof(err)) != NULL);
		CHECK(strncmp(err, NAME ": db_servers", sizeof(NAME) + 11) == 0);
	} else {
		/* "fuzz.conf:N: why", N the first bad line. */
		char *end;
		CHECK(memchr(err, '\0', sizeof(err)) != NULL);
		CHECK(strncmp(err, NAME ":", sizeof(NAME)) == 0);
		unsigned long line = strtoul(err + sizeof(NAME), &end, 10);
		CHECK(end != err + sizeof(NAME) && end[0] == ':' && end[1] == ' ' && end[2] != '\0');
		CHECK(bad != 0 && line == bad);
	}

	/* A short error buffer is cut, never overrun. */
	char small[8];
	config_defaults(&conf);
	rc = config_parse(&conf, (const char *)data, size, NAME, small, sizeof(small));
	CHECK(rc == (bad ? -1 : 0));
	if (rc != 0)
		CHECK(memchr(small, '\0', sizeof(small)) != NULL);
	return 0;
}
