/* fuzz.h: what the libFuzzer harnesses share: the invariant check and reference models. */
#ifndef AUTIONAL_FUZZ_H
#define AUTIONAL_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/*
 * An invariant the code under test documents.  A violation aborts, which
 * libFuzzer reports as a crash and saves the input that caused it.
 */
#define CHECK(cond) do { \
	if (!(cond)) { \
		fprintf(stderr, "invariant violated: %s (%s:%d)\n", #cond, __FILE__, __LINE__); \
		abort(); \
	} \
} while (0)

/* A copy of the input with a NUL after it: what a C string from the server looks like. */
static inline char *
fuzz_cstring(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (s == NULL)
		abort();
	for (size_t i = 0; i < size; i++)
		s[i] = (char)data[i];
	s[size] = '\0';
	return s;
}

static inline int
fuzz_hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/*
 * Reference percent-decoder: [s, s+n) into out (room for n bytes); '+' becomes
 * a space when form is set.  Returns the decoded length, or -1 for a malformed
 * escape.
 */
static inline long
fuzz_pct_decode(const char *s, size_t n, int form, char *out)
{
	size_t o = 0, i = 0;

	while (i < n) {
		if (s[i] == '%') {
			if (n - i < 3)
				return -1;
			int h = fuzz_hexval((unsigned char)s[i + 1]);
			int l = fuzz_hexval((unsigned char)s[i + 2]);
			if (h < 0 || l < 0)
				return -1;
			out[o++] = (char)(h << 4 | l);
			i += 3;
		} else {
			out[o++] = form && s[i] == '+' ? ' ' : s[i];
			i++;
		}
	}
	return (long)o;
}

/* Reference UTF-8 check, from the table of well-formed sequences (Unicode 3.9, table 3-7). */
static inline int
fuzz_utf8_ok(const unsigned char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		unsigned char c = s[i];
		unsigned char lo = 0x80, hi = 0xBF;
		size_t more;

		if (c <= 0x7F) { i++; continue; }
		if (c >= 0xC2 && c <= 0xDF) more = 1;
		else if (c == 0xE0) { more = 2; lo = 0xA0; }
		else if (c == 0xED) { more = 2; hi = 0x9F; }
		else if (c >= 0xE1 && c <= 0xEF) more = 2;
		else if (c == 0xF0) { more = 3; lo = 0x90; }
		else if (c == 0xF4) { more = 3; hi = 0x8F; }
		else if (c >= 0xF1 && c <= 0xF3) more = 3;
		else return 0;
		if (n - i < more + 1)
			return 0;
		if (s[i + 1] < lo || s[i + 1] > hi)
			return 0;
		for (size_t k = 2; k <= more; k++)
			if (s[i + k] < 0x80 || s[i + k] > 0xBF)
				return 0;
		i += more + 1;
	}
	return 1;
}

#endif
