/* params.c: query-string parsing and validation of page and page_size. */
#include "params.h"

#include <stdio.h>
#include <string.h>

static int
hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

long
params_form_decode(const char *s, size_t n, char *out, size_t outlen)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '+') {
			c = ' ';
		} else if (c == '%') {
			if (n - i < 3)
				return -1;
			int h = hexval((unsigned char)s[i + 1]);
			int l = hexval((unsigned char)s[i + 2]);
			if (h < 0 || l < 0)
				return -1;
			c = (unsigned char)(h * 16 + l);
			i += 2;
		}
		if (o + 1 >= outlen)
			return -1;
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return (long)o;
}

/* A plain decimal integer in [min, max]: digits only, no sign, no blanks. */
static int
parse_decimal(const char *s, size_t n, unsigned long min, unsigned long max,
    unsigned long *out)
{
	unsigned long v = 0;

	if (n == 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		unsigned long d = (unsigned long)(s[i] - '0');
		if (v > (max - d) / 10)
			return -1;      /* would exceed max */
		v = v * 10 + d;
	}
	if (v < min)
		return -1;
	*out = v;
	return 0;
}

enum aut_err
params_parse_list(const char *query, unsigned int page_size_max,
    struct list_params *out, char *msg, size_t msglen)
{
	const char *p = query;
	int seen_page = 0, seen_size = 0;

	out->page = PARAMS_PAGE_DEFAULT;
	out->page_size = PARAMS_PAGE_SIZE_DEFAULT;
	if (out->page_size > page_size_max)
		out->page_size = page_size_max;

	while (*p != '\0') {
		size_t len = strcspn(p, "&");
		const char *eq = memchr(p, '=', len);
		size_t klen = eq ? (size_t)(eq - p) : len;
		const char *val = eq ? eq + 1 : p + len;
		size_t vlen = (size_t)(p + len - val);
		char key[16], value[32];
		long dlen;

		if (params_form_decode(p, klen, key, sizeof(key)) >= 0) {
			int is_page = strcmp(key, "page") == 0;
			int is_size = strcmp(key, "page_size") == 0;

			if ((is_page && seen_page++) || (is_size && seen_size++)) {
				snprintf(msg, msglen, "%s must be given at most once", key);
				return AUT_ERR_BAD_PARAM;
			}
			dlen = (is_page || is_size)
			    ? params_form_decode(val, vlen, value, sizeof(value)) : 0;
			if (is_page) {
				if (dlen < 0 || parse_decimal(value, (size_t)dlen, 1,
				    PARAMS_PAGE_MAX, &out->page) != 0) {
					snprintf(msg, msglen, "page must be a whole number from 1 to %lu",
					    PARAMS_PAGE_MAX);
					return AUT_ERR_BAD_PARAM;
				}
			} else if (is_size) {
				unsigned long size;
				if (dlen < 0 || parse_decimal(value, (size_t)dlen, 1,
				    page_size_max, &size) != 0) {
					snprintf(msg, msglen, "page_size must be a whole number from 1 to %u",
					    page_size_max);
					return AUT_ERR_BAD_PARAM;
				}
				out->page_size = (unsigned int)size;
			}
		}
		p += len;
		if (*p == '&')
			p++;
	}
	return AUT_OK;
}
