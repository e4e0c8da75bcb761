/* timefmt.h: RFC 3339 UTC timestamps ("2026-04-15T10:30:00Z"). */
#ifndef AUTIONAL_TIMEFMT_H
#define AUTIONAL_TIMEFMT_H

#include <time.h>

#define TIMEFMT_RFC3339_LEN 21   /* "YYYY-MM-DDTHH:MM:SSZ" and its NUL */

/* Format a broken-down UTC time (years 1000-9999, as DATETIME). 0, or -1. */
int timefmt_rfc3339_tm(const struct tm *tm, char out[TIMEFMT_RFC3339_LEN]);

/* Format a time_t as UTC. */
int timefmt_rfc3339(time_t t, char out[TIMEFMT_RFC3339_LEN]);

#endif
