/* cursor.c: page cursors: the position packed, authenticated with HMAC-SHA-256, in base64url. */
#include "cursor.h"

#include <stdbool.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

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

/*
 * The HMAC context of the last key, kept for the life of the process.  The
 * one-shot HMAC() of OpenSSL 3 looks the algorithm up and sets the key up on
 * every call: 8 % of a worker's CPU on a page-1 list (perf, bench data),
 * more than the rest of the cursor.  A context initialised again with its
 * own key (EVP_MAC_init with a NULL key) costs a fraction of that.
 */
static struct {
	EVP_MAC_CTX *ctx;
	unsigned char key[CURSOR_KEY_BYTES];
	bool keyed;
} hmac_sha256;

static EVP_MAC_CTX *
keyed_context(const unsigned char key[CURSOR_KEY_BYTES])
{
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
		OSSL_PARAM_construct_end(),
	};

	if (hmac_sha256.keyed && CRYPTO_memcmp(hmac_sha256.key, key, CURSOR_KEY_BYTES) == 0)
		return EVP_MAC_init(hmac_sha256.ctx, NULL, 0, NULL) == 1 ? hmac_sha256.ctx : NULL;
	hmac_sha256.keyed = false;
	if (hmac_sha256.ctx == NULL) {
		EVP_MAC *hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);

		hmac_sha256.ctx = hmac != NULL ? EVP_MAC_CTX_new(hmac) : NULL;
		EVP_MAC_free(hmac);                  /* the context holds its own reference */
		if (hmac_sha256.ctx == NULL)
			return NULL;
	}
	if (EVP_MAC_init(hmac_sha256.ctx, key, CURSOR_KEY_BYTES, params) != 1)
		return NULL;
	memcpy(hmac_sha256.key, key, CURSOR_KEY_BYTES);
	hmac_sha256.keyed = true;
	return hmac_sha256.ctx;
}

/* The MAC of a packed position together with the scope it was made for; -1
 * when OpenSSL fails (then no cursor is made or accepted). */
static int
mac(const unsigned char key[CURSOR_KEY_BYTES], const struct cursor_scope *scope,
    const unsigned char position[POSITION_BYTES], unsigned char out[MAC_BYTES])
{
	static const char label[] = "autional page cursor";
	unsigned char msg[sizeof(label) + POSITION_BYTES + 8 + 2 + 255];
	unsigned char digest[EVP_MAX_MD_SIZE];
	size_t digest_len = 0;
	size_t user_len = strnlen(scope->user_id, 255), n = 0;
	EVP_MAC_CTX *ctx = keyed_context(key);

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
	if (ctx == NULL || EVP_MAC_update(ctx, msg, n) != 1 ||
	    EVP_MAC_final(ctx, digest, &digest_len, sizeof(digest)) != 1 ||
	    digest_len < MAC_BYTES)
		return -1;
	memcpy(out, digest, MAC_BYTES);
	OPENSSL_cleanse(digest, sizeof(digest));
	return 0;
}

int
cursor_encode(const unsigned char key[CURSOR_KEY_BYTES], const struct cursor_scope *scope,
    const struct cursor_position *pos, char out[CURSOR_TEXT_MAX])
{
	unsigned char raw[CURSOR_BYTES];
	char b64[CURSOR_TEXT_MAX + 4];

	raw[0] = CURSOR_VERSION;
	put_u64(raw + 1, (uint64_t)pos->created_at);
	put_u64(raw + 9, pos->id);
	if (mac(key, scope, raw, raw + POSITION_BYTES) != 0)
		return -1;
	EVP_EncodeBlock((unsigned char *)b64, raw, CURSOR_BYTES);   /* 44 chars, no '=' */
	for (int i = 0; i < CURSOR_TEXT_LEN; i++)
		out[i] = b64[i] == '+' ? '-' : b64[i] == '/' ? '_' : b64[i];
	out[CURSOR_TEXT_LEN] = '\0';
	return 0;
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
	if (mac(key, scope, raw, want) != 0)
		return -2;
	if (CRYPTO_memcmp(want, raw + POSITION_BYTES, MAC_BYTES) != 0)
		return -1;
	pos->created_at = (int64_t)get_u64(raw + 1);
	pos->id = get_u64(raw + 9);
	return 0;
}
