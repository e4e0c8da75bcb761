/* tokenid.h: a token's public id ("tok_" + 32 hex digits). */
#ifndef AUTIONAL_TOKENID_H
#define AUTIONAL_TOKENID_H

#include <stddef.h>

#define TOKEN_ID_PREFIX "tok_"
#define TOKEN_ID_BYTES 16
#define TOKEN_ID_TEXT_LEN (4 + 2 * TOKEN_ID_BYTES + 1)   /* with its NUL */

/* "tok_" + 32 hex digits (either case), exactly len bytes: 0, else -1. */
int token_id_parse(const char *s, size_t len, unsigned char id[TOKEN_ID_BYTES]);

/* The id as the API shows it (lowercase). */
void token_id_format(const unsigned char id[TOKEN_ID_BYTES], char out[TOKEN_ID_TEXT_LEN]);

#endif
