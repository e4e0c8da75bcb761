/* log.c: diagnostic lines on stderr, each starting with the program's name. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>

static const char *program = "autional";

void
log_set_program(const char *name)
{
	program = name;
}

const char *
log_program(void)
{
	return program;
}

void
log_error(const char *fmt, ...)
{
	char line[4096];
	va_list ap;

	/* One write per line, so lines of concurrent workers do not interleave. */
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s: %s\n", program, line);
	fflush(stderr);
}
