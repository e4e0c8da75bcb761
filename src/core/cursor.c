/* cursor.c: page cursors: the position packed, authenticated with HMAC-SHA-256, in base64url. */
#include "cursor.h"

#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#define CURSOR_VERSION 'A'
#define POSITION_BYTES 17            /* version, created_at, id */
#define MAC_BYTES 16                 /* HMAC-SHA-256 cut to 128 bits */
#define CURSOR_BYTES (POSITION_BYTES + MAC_BYTES)

static void
put_u64(unsigned char *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (unsigned char)v;
}

static uint64_t
get_u64(const unsigned char *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

/* The MAC of a packed position together with the scope it was made for. */
static void
mac(const unsigned char key[CURSOR_KEY_BYTES], const struct cursor_scope *scope,
    const unsigned char position[POSITION_BYTES], unsigned char out[MAC_BYTES])
{
	static const char label[] = "autional page cursor";
	unsigned char msg[sizeof(label) + POSITION_BYTES + 8 + 2 + 255];
	unsigned char digest[EVP_MAX_MD_SIZE];
	unsigned int digest_len = 0;
	size_t user_len = strnlen(scope->user_id, 255), n = 0;

	memcpy(msg, label, sizeof(label));           /* with its NUL: a separator */
	n += sizeof(label);
	memcpy(msg + n, position, POSITION_BYTES);
	n += POSITION_BYTES;
	put_u64(msg + n, scope->client_pk);
	n += 8;
	msg[n++] = (unsigned char)scope->token_type;
	msg[n++] = (unsigned char)user_len;          /* length first: no ambiguity */
	memcpy(msg + n, scope->user_id, user_len);
	n += user_len;
	HMAC(EVP_sha256(), key, CURSOR_KEY_BYTES, msg, n, digest, &digest_len);
	memcpy(out, digest, MAC_BYTES);
	OPENSSL_cleanse(digest, sizeof(digest));
}

void
cursor_encode(const unsigned char key[CURSOR_KEY_BYTES], const struct cursor_scope *scope,
    const struct cursor_position *pos, char out[CURSOR_TEXT_MAX])
{
	unsigned char raw[CURSOR_BYTES];
	char b64[CURSOR_TEXT_MAX + 4];

	raw[0] = CURSOR_VERSION;
	put_u64(raw + 1, (uint64_t)pos->created_at);
	put_u64(raw + 9, pos->id);
	mac(key, scope, raw, raw + POSITION_BYTES);
	EVP_EncodeBlock((unsigned char *)b64, raw, CURSOR_BYTES);   /* 44 chars, no '=' */
	for (int i = 0; i < CURSOR_TEXT_LEN; i++)
		out[i] = b64[i] == '+' ? '-' : b64[i] == '/' ? '_' : b64[i];
	out[CURSOR_TEXT_LEN] = '\0';
}

int
cursor_decode(const unsigned char key[CURSOR_KEY_BYTES], const struct cursor_scope *scope,
    const char *text, size_t len, struct cursor_position *pos)
{
	unsigned char b64[CURSOR_TEXT_LEN + 1], raw[CURSOR_BYTES + 3], want[MAC_BYTES];

	if (len != CURSOR_TEXT_LEN)
		return -1;
	/* Only the base64url alphabet: EVP_DecodeBlock would skip blanks. */
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)text[i];
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
			b64[i] = c;
		else if (c == '-')
			b64[i] = '+';
		else if (c == '_')
			b64[i] = '/';
		else
			return -1;
	}
	b64[len] = '\0';
	if (EVP_DecodeBlock(raw, b64, (int)len) != CURSOR_BYTES || raw[0] != CURSOR_VERSION)
		return -1;
	mac(key, scope, raw, want);
	if (CRYPTO_memcmp(want, raw + POSITION_BYTES, MAC_BYTES) != 0)
		return -1;
	pos->created_at = (int64_t)get_u64(raw + 1);
	pos->id = get_u64(raw + 9);
	return 0;
}
