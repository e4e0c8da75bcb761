/* text.c: untrusted text: decimals with bounds, UTF-8, ids, hex, percent-decoding, whole files. */
#include "text.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
text_parse_decimal(const char *s, size_t n, uint64_t min, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	bool too_large = false;

	if (n == 0)
		return TEXT_MALFORMED;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return TEXT_MALFORMED;
		uint64_t d = (uint64_t)(s[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			too_large = true;
		else
			v = v * 10 + d;
	}
	if (too_large || v < min || v > max)
		return TEXT_OUT_OF_RANGE;
	*out = v;
	return 0;
}

bool
text_utf8_next(const unsigned char **p, const unsigned char *end, uint32_t *cp)
{
	const unsigned char *s = *p;
	uint32_t c;
	size_t more;

	if (s >= end)
		return false;
	if (*s < 0x80) {
		c = *s;
		more = 0;
	} else if (*s >= 0xC2 && *s <= 0xDF) {
		c = *s & 0x1F;
		more = 1;
	} else if (*s >= 0xE0 && *s <= 0xEF) {
		c = *s & 0x0F;
		more = 2;
	} else if (*s >= 0xF0 && *s <= 0xF4) {
		c = *s & 0x07;
		more = 3;
	} else {
		return false;
	}
	if ((size_t)(end - s) <= more)
		return false;
	for (size_t k = 1; k <= more; k++) {
		if ((s[k] & 0xC0) != 0x80)
			return false;
		c = (c << 6) | (s[k] & 0x3F);
	}
	if ((more == 2 && c < 0x800) || (more == 3 && c < 0x10000) ||
	    c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
		return false;   /* overlong, out of range, surrogate */
	*cp = c;
	*p = s + more + 1;
	return true;
}

bool
text_utf8_valid(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + n;
	uint32_t cp;

	while (p < end)
		if (!text_utf8_next(&p, end, &cp))
			return false;
	return true;
}

bool
text_is_id_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
}

bool
text_is_id(const char *s, size_t n, size_t max)
{
	if (n == 0 || n > max)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!text_is_id_char(s[i]))
			return false;
	return true;
}

int
text_hex_digit(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

void
text_hex_encode(const unsigned char *bytes, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[bytes[i] >> 4];
		out[2 * i + 1] = digits[bytes[i] & 15];
	}
	out[2 * n] = '\0';
}

long
text_percent_encode(const char *s, size_t n, char *out, size_t outlen)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		bool plain = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~';

		if (o + (plain ? 1 : 3) >= outlen)
			return TEXT_OUT_OF_RANGE;
		if (plain) {
			out[o++] = (char)c;
		} else {
			out[o++] = '%';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	if (outlen == 0)
		return TEXT_OUT_OF_RANGE;
	out[o] = '\0';
	return (long)o;
}

long
text_percent_decode(const char *s, size_t n, bool plus_is_space, char *out, size_t outlen)
{
	size_t o = 0;
	bool too_long = false;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '+' && plus_is_space) {
			c = ' ';
		} else if (c == '%') {
			if (n - i < 3)
				return TEXT_MALFORMED;
			int h = text_hex_digit((unsigned char)s[i + 1]);
			int l = text_hex_digit((unsigned char)s[i + 2]);
			if (h < 0 || l < 0)
				return TEXT_MALFORMED;
			c = (unsigned char)(h * 16 + l);
			i += 2;
		}
		if (o + 1 >= outlen)
			too_long = true;
		else
			out[o++] = (char)c;
	}
	if (outlen > 0)
		out[o] = '\0';
	return too_long ? TEXT_OUT_OF_RANGE : (long)o;
}

int
text_read_file(const char *path, size_t max, char **text, size_t *len, char *err,
    size_t errlen)
{
	FILE *f = fopen(path, "rb");
	size_t cap = 0, n = 0;
	char *buf = NULL;

	*text = NULL;
	*len = 0;
	if (f == NULL) {
		snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		return -1;
	}
	for (;;) {
		if (n == cap) {
			if (cap > max) {
				snprintf(err, errlen, "%s: larger than %zu bytes", path, max);
				goto fail;
			}
			cap = cap ? 2 * cap : 4096;
			char *grown = realloc(buf, cap + 1);
			if (grown == NULL) {
				snprintf(err, errlen, "%s: out of memory", path);
				goto fail;
			}
			buf = grown;
		}
		size_t got = fread(buf + n, 1, cap - n, f);
		n += got;
		if (got == 0)
			break;
	}
	if (ferror(f)) {
		snprintf(err, errlen, "%s: read error", path);
		goto fail;
	}
	if (n > max) {
		snprintf(err, errlen, "%s: larger than %zu bytes", path, max);
		goto fail;
	}
	fclose(f);
	buf[n] = '\0';
	*text = buf;
	*len = n;
	return 0;
fail:
	fclose(f);
	free(buf);
	return -1;
}
