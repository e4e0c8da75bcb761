/* timefmt.c: RFC 3339 formatting with gmtime_r and strftime. */
#include "timefmt.h"

int
timefmt_rfc3339_tm(const struct tm *tm, char out[TIMEFMT_RFC3339_LEN])
{
	if (tm->tm_year < 1000 - 1900 || tm->tm_year > 9999 - 1900) {
		out[0] = '\0';
		return -1;
	}
	return strftime(out, TIMEFMT_RFC3339_LEN, "%Y-%m-%dT%H:%M:%SZ", tm) ==
	    TIMEFMT_RFC3339_LEN - 1 ? 0 : -1;
}

int
timefmt_rfc3339(time_t t, char out[TIMEFMT_RFC3339_LEN])
{
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL) {
		out[0] = '\0';
		return -1;
	}
	return timefmt_rfc3339_tm(&tm, out);
}
