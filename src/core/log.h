/* log.h: the one way code writes a diagnostic line to stderr, with its program's prefix. */
#ifndef AUTIONAL_LOG_H
#define AUTIONAL_LOG_H

/* Name the program once at start-up: "autional-admin" or "autionalctl". */
void log_set_program(const char *name);

/* The name lines start with ("autional" until log_set_program()). */
const char *log_program(void);

/* "<program>: <message>\n" on stderr, flushed. */
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
