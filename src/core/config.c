/* config.c: reads the "key = value" configuration file, strictly. */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text.h"

/* A configuration file is a few hundred bytes; anything near this is a mistake. */
#define CONFIG_FILE_MAX (1024 * 1024)

enum key_kind { KEY_STRING, KEY_UINT, KEY_SERVERS };

struct key {
	const char *name;
	enum key_kind kind;
	size_t offset;          /* of the field in struct config */
	size_t size;            /* KEY_STRING: buffer size */
	unsigned long min, max; /* KEY_UINT: accepted range */
};

#define STR(field) KEY_STRING, offsetof(struct config, field), sizeof(((struct config *)0)->field), 0, 0
#define UINT(field, lo, hi) KEY_UINT, offsetof(struct config, field), 0, (lo), (hi)

static const struct key keys[] = {
	{ "db_servers", KEY_SERVERS, offsetof(struct config, db_servers), 0, 0, 0 },
	{ "db_socket", STR(db_socket) },
	{ "db_host", STR(db_host) },
	{ "db_port", UINT(db_port, 1, 65535) },
	{ "db_name", STR(db_name) },
	{ "db_user", STR(db_user) },
	{ "db_password", STR(db_password) },
	{ "db_option_file", STR(db_option_file) },
	{ "db_connect_timeout", UINT(db_connect_timeout, 1, 3600) },
	{ "db_read_timeout", UINT(db_read_timeout, 1, 3600) },
	{ "db_write_timeout", UINT(db_write_timeout, 1, 3600) },
	{ "page_size_max", UINT(page_size_max, 1, CONFIG_PAGE_SIZE_MAX_LIMIT) },
	{ "audit_reads", UINT(audit_reads, 0, 1) },
	{ "revoke_batch", UINT(revoke_batch, 1, 100000) },
	{ "db_causal_reads", UINT(db_causal_reads, 0, 1) },
};

void
config_defaults(struct config *conf)
{
	memset(conf, 0, sizeof(*conf));
	strcpy(conf->db_name, "autional");
	conf->db_connect_timeout = 3;
	conf->db_read_timeout = 5;
	conf->db_write_timeout = 5;
	conf->page_size_max = 100;
	conf->audit_reads = 1;
	conf->revoke_batch = 10000;
	conf->db_causal_reads = 1;
}

static int
is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* Trim blanks on both ends of [*start, *end). */
static void
trim(const char **start, const char **end)
{
	while (*start < *end && is_blank(**start))
		(*start)++;
	while (*end > *start && is_blank((*end)[-1]))
		(*end)--;
}

static int
set_value(struct config *conf, const struct key *k, const char *v, size_t vlen,
    const char **why)
{
	char *field = (char *)conf + k->offset;

	if (memchr(v, '\0', vlen) != NULL) {
		*why = "contains a NUL byte";
		return -1;
	}
	if (k->kind == KEY_SERVERS)
		return db_servers_parse(v, vlen, conf->db_servers, &conf->db_server_count, why);
	if (k->kind == KEY_STRING) {
		if (vlen >= k->size) {
			*why = "is too long";
			return -1;
		}
		memcpy(field, v, vlen);
		field[vlen] = '\0';
		return 0;
	}

	/* KEY_UINT: plain decimal digits within [min, max]. */
	uint64_t n = 0;
	int rc = text_parse_decimal(v, vlen, k->min, k->max, &n);
	if (rc != 0) {
		*why = rc == TEXT_MALFORMED ? "must be a whole number" : "is out of range";
		return -1;
	}
	*(unsigned int *)(void *)field = (unsigned int)n;
	return 0;
}

int
config_parse(struct config *conf, const char *text, size_t len,
    const char *name, char *err, size_t errlen)
{
	const char *p = text, *end = text + len;
	unsigned lineno = 0;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *line_end = nl ? nl : end;
		const char *ks = p, *ke, *vs, *ve = line_end;
		const char *why = NULL;
		const struct key *k = NULL;

		lineno++;
		p = nl ? nl + 1 : end;
		trim(&ks, &ve);
		if (ks == ve || *ks == '#')
			continue;

		const char *eq = memchr(ks, '=', (size_t)(ve - ks));
		if (eq == NULL) {
			snprintf(err, errlen, "%s:%u: expected \"key = value\"", name, lineno);
			return -1;
		}
		ke = eq;
		vs = eq + 1;
		trim(&ks, &ke);
		trim(&vs, &ve);
		for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
			if (strlen(keys[i].name) == (size_t)(ke - ks) &&
			    memcmp(keys[i].name, ks, (size_t)(ke - ks)) == 0)
				k = &keys[i];
		}
		if (k == NULL) {
			int klen = (int)(ke - ks > 64 ? 64 : ke - ks);
			snprintf(err, errlen, "%s:%u: unknown key \"%.*s\"", name, lineno, klen, ks);
			return -1;
		}
		if (set_value(conf, k, vs, (size_t)(ve - vs), &why) != 0) {
			snprintf(err, errlen, "%s:%u: %s %s", name, lineno, k->name, why);
			return -1;
		}
	}
	if (conf->db_server_count > 0 && (conf->db_socket[0] || conf->db_host[0] || conf->db_port)) {
		snprintf(err, errlen, "%s: db_servers replaces db_socket, db_host and db_port: "
		    "give either", name);
		return -1;
	}
	return 0;
}

int
config_load(struct config *conf, const char *path, char *err, size_t errlen)
{
	char *text = NULL;
	size_t len = 0;
	int rc = text_read_file(path, CONFIG_FILE_MAX, &text, &len, err, errlen);

	if (rc == 0)
		rc = config_parse(conf, text, len, path, err, errlen);
	free(text);
	return rc;
}
