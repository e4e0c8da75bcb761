/* tokenid.c: a token's public id ("tok_" + 32 hex digits). */
#include "tokenid.h"

#include <string.h>

#include "text.h"

int
token_id_parse(const char *s, size_t len, unsigned char id[TOKEN_ID_BYTES])
{
	size_t plen = strlen(TOKEN_ID_PREFIX);

	if (len != TOKEN_ID_TEXT_LEN - 1 || strncmp(s, TOKEN_ID_PREFIX, plen) != 0)
		return -1;
	for (size_t i = 0; i < TOKEN_ID_BYTES; i++) {
		int h = text_hex_digit((unsigned char)s[plen + 2 * i]);
		int l = text_hex_digit((unsigned char)s[plen + 2 * i + 1]);
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
	text_hex_encode(id, TOKEN_ID_BYTES, out + strlen(TOKEN_ID_PREFIX));
}
