/* cursor.h: opaque page cursors, a position in a client's token list bound to the client and filters by an HMAC. */
#ifndef AUTIONAL_CURSOR_H
#define AUTIONAL_CURSOR_H

#include <stddef.h>
#include <stdint.h>

#define CURSOR_KEY_BYTES 32
/* 44 characters of base64url (33 bytes: version, position, truncated MAC) and a NUL. */
#define CURSOR_TEXT_LEN 44
#define CURSOR_TEXT_MAX (CURSOR_TEXT_LEN + 1)

/* Where the next page starts: after this token, in list order (newest first). */
struct cursor_position {
	int64_t created_at;   /* the last listed token's created_at, Unix seconds (UTC) */
	uint64_t id;          /* its oauth_tokens.id, which breaks ties in created_at */
};

/* What a cursor is valid for: it is refused for any other client or filters. */
struct cursor_scope {
	uint64_t client_pk;   /* oauth_clients.id */
	const char *user_id;  /* the user_id filter, "" for none */
	int token_type;       /* enum token_type_filter */
};

/*
 * The cursor text for pos within scope, under key (a secret shared by every
 * worker of a deployment), and 0; -1 when OpenSSL fails.  The text is
 * base64url: safe in a URL as is.
 */
int cursor_encode(const unsigned char key[CURSOR_KEY_BYTES],
    const struct cursor_scope *scope, const struct cursor_position *pos,
    char out[CURSOR_TEXT_MAX]);

/*
 * 0 and *pos when [text, text+len) is a cursor made with key for exactly this
 * scope; -1 when it is malformed, altered, or made for another client, other
 * filters or under another key; -2 when OpenSSL fails (our failure, not the
 * caller's: no cursor is accepted).
 */
int cursor_decode(const unsigned char key[CURSOR_KEY_BYTES],
    const struct cursor_scope *scope, const char *text, size_t len,
    struct cursor_position *pos);

#endif
