/* tokenid.c: hex digits, and a token's public id ("tok_" + 32 hex digits). */
#include "tokenid.h"

#include <string.h>

int
hex_digit(unsigned char c)
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
hex_encode(const unsigned char *bytes, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[bytes[i] >> 4];
		out[2 * i + 1] = digits[bytes[i] & 15];
	}
	out[2 * n] = '\0';
}

int
token_id_parse(const char *s, size_t len, unsigned char id[TOKEN_ID_BYTES])
{
	size_t plen = strlen(TOKEN_ID_PREFIX);

	if (len != TOKEN_ID_TEXT_LEN - 1 || strncmp(s, TOKEN_ID_PREFIX, plen) != 0)
		return -1;
	for (size_t i = 0; i < TOKEN_ID_BYTES; i++) {
		int h = hex_digit((unsigned char)s[plen + 2 * i]);
		int l = hex_digit((unsigned char)s[plen + 2 * i + 1]);
		if (h < 0 || l < 0)
			return -1;
		id[i] = (unsigned char)(h * 16 + l);
	}
	return 0;
}

void
token_id_format(const unsigned char id[TOKEN_ID_BYTES], char out[TOKEN_ID_TEXT_LEN])
{
	memcpy(out, TOKEN_ID_PREFIX, strlen(TOKEN_ID_PREFIX));
	hex_encode(id, TOKEN_ID_BYTES, out + strlen(TOKEN_ID_PREFIX));
}
