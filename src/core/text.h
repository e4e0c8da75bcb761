/* text.h: untrusted text: decimals with bounds, UTF-8, ids, hex, percent-decoding, whole files. */
#ifndef AUTIONAL_TEXT_H
#define AUTIONAL_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What text_parse_decimal() and text_percent_decode() report besides success. */
#define TEXT_MALFORMED (-1)      /* not of the form asked for */
#define TEXT_OUT_OF_RANGE (-2)   /* well formed, but the value or result is too large */

/*
 * The n bytes at s as a plain decimal number (digits only: no sign, no
 * blanks, not empty) within [min, max].  0 with *out set; TEXT_MALFORMED;
 * or TEXT_OUT_OF_RANGE (also for a number too large for any type).
 */
int text_parse_decimal(const char *s, size_t n, uint64_t min, uint64_t max, uint64_t *out);

/*
 * Decode one UTF-8 character at *p (before end): its code point into *cp and
 * *p moved past it; false (and *p unchanged) for anything but a well-formed
 * sequence (no overlongs, no surrogates, nothing above U+10FFFF).
 */
bool text_utf8_next(const unsigned char **p, const unsigned char *end, uint32_t *cp);

/* The n bytes at s are well-formed UTF-8. */
bool text_utf8_valid(const char *s, size_t n);

/* A character of a public id: A-Z a-z 0-9 _ . - */
bool text_is_id_char(char c);

/* n bytes (1..max) of public-id characters. */
bool text_is_id(const char *s, size_t n, size_t max);

/* The value of a hex digit (either case), or -1. */
int text_hex_digit(unsigned char c);

/* n bytes as 2n lowercase hex digits and a NUL. */
void text_hex_encode(const unsigned char *bytes, size_t n, char *out);

/*
 * Percent-decode [s, s+n) into out (size outlen, always NUL-terminated);
 * with plus_is_space, '+' becomes a space (form encoding).  Returns the
 * decoded length; TEXT_MALFORMED when any escape is not '%' and two hex
 * digits (wherever it is); else TEXT_OUT_OF_RANGE when the result does not fit
 * (out then holds the part that did).
 */
long text_percent_decode(const char *s, size_t n, bool plus_is_space, char *out,
    size_t outlen);

/*
 * Percent-encode [s, s+n) for a URI path segment or query value: RFC 3986's
 * unreserved characters (A-Z a-z 0-9 - . _ ~) as they are, every other byte
 * as %XX.  Returns the length written (out NUL-terminated), or
 * TEXT_OUT_OF_RANGE when it does not fit in outlen bytes.
 */
long text_percent_encode(const char *s, size_t n, char *out, size_t outlen);

/*
 * Read the whole file at path (at most max bytes) into a malloc'd buffer with a
 * NUL after the *len bytes read.  0; or -1 with a message naming the path in
 * err (cannot open, larger than max, out of memory, read error).
 */
int text_read_file(const char *path, size_t max, char **text, size_t *len, char *err,
    size_t errlen);

#endif
