/* logline.c: formats the per-request log line. */
#include "logline.h"

#include <stdio.h>
#include <string.h>

#include "../core/timefmt.h"

#define PATH_LOG_MAX 512

/* Copy s escaped into out (size outlen). */
static void
escape(const char *s, size_t max, char *out, size_t outlen)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0, i;

	for (i = 0; s[i] != '\0' && i < max && o + 4 < outlen; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c <= 0x20 || c >= 0x7F || c == '"' || c == '\\') {
			out[o++] = '%';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		} else {
			out[o++] = (char)c;
		}
	}
	if (s[i] != '\0' && o + 4 < outlen) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
}

size_t
logline_format(const struct logline *l, char *buf, size_t buflen)
{
	char when[TIMEFMT_RFC3339_LEN], method[40], path[PATH_LOG_MAX * 3 + 8];
	char tenant[200], admin[200], rid[200], client_rid[200];

	timefmt_rfc3339(l->when, when);
	escape(l->method[0] ? l->method : "-", 16, method, sizeof(method));
	escape(l->path, PATH_LOG_MAX, path, sizeof(path));
	escape(l->tenant_id[0] ? l->tenant_id : "-", 64, tenant, sizeof(tenant));
	escape(l->admin_id[0] ? l->admin_id : "-", 64, admin, sizeof(admin));
	escape(l->request_id && l->request_id[0] ? l->request_id : "-", 64, rid, sizeof(rid));
	escape(l->client_request_id && l->client_request_id[0] ? l->client_request_id : "-",
	    64, client_rid, sizeof(client_rid));
	int n = snprintf(buf, buflen,
	    "%s autional-admin: method=%s path=\"%s\" status=%d duration_ms=%.3f tenant=%s user=%s request_id=%s client_request_id=%s\n",
	    when, method, path, l->status, l->duration_ms, tenant, admin, rid, client_rid);
	if (n < 0 || buflen < 2)
		return 0;
	if ((size_t)n < buflen)
		return (size_t)n;
	/* Cut short: still one whole line. */
	buf[buflen - 2] = '\n';
	return buflen - 1;
}
