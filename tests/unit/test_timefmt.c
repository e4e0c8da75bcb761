/* test_timefmt.c: RFC 3339 UTC timestamps from time_t and from broken-down time. */
#include "../../src/core/timefmt.h"

#include <stdlib.h>
#include <string.h>

#include "unit.h"

static void
from_time_t(time_t t, const char *want, const char *name)
{
	char out[TIMEFMT_RFC3339_LEN];

	memset(out, 'X', sizeof(out));
	CHECK_INT(timefmt_rfc3339(t, out), 0, "%s: formatted", name);
	CHECK_STR(out, want, "%s: text", name);
}

static struct tm
tm_of(int year, int mon, int mday, int hour, int min, int sec)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	tm.tm_year = year - 1900;
	tm.tm_mon = mon - 1;
	tm.tm_mday = mday;
	tm.tm_hour = hour;
	tm.tm_min = min;
	tm.tm_sec = sec;
	return tm;
}

static void
from_tm(int year, int mon, int mday, int hour, int min, int sec, int want_rc,
    const char *want, const char *name)
{
	struct tm tm = tm_of(year, mon, mday, hour, min, sec);
	char out[TIMEFMT_RFC3339_LEN];

	memset(out, 'X', sizeof(out));
	CHECK_INT(timefmt_rfc3339_tm(&tm, out), want_rc, "%s: return value", name);
	if (want != NULL)
		CHECK_STR(out, want, "%s: text", name);
}

int
main(void)
{
	char out[TIMEFMT_RFC3339_LEN];

	/* Timestamps must be UTC whatever the local zone is. */
	setenv("TZ", "XST-5:30", 1);
	tzset();

	CHECK_INT(TIMEFMT_RFC3339_LEN, (int)sizeof("2026-04-15T10:30:00Z"),
	    "buffer holds exactly one timestamp and its NUL");

	from_time_t(0, "1970-01-01T00:00:00Z", "epoch");
	from_time_t(1, "1970-01-01T00:00:01Z", "epoch + 1 s");
	from_time_t(-1, "1969-12-31T23:59:59Z", "one second before the epoch");
	from_time_t(1776249000, "2026-04-15T10:30:00Z", "the seed's example date");
	from_time_t(1776249900, "2026-04-15T10:45:00Z", "the seed's expiry example");
	from_time_t(951782400, "2000-02-29T00:00:00Z", "leap day 2000");
	from_time_t(1709251199, "2024-02-29T23:59:59Z", "last second of leap day 2024");
	from_time_t(1709251200, "2024-03-01T00:00:00Z", "day after leap day 2024");
	from_time_t(4107542400, "2100-03-01T00:00:00Z", "2100 is not a leap year");
	from_time_t(2147483647, "2038-01-19T03:14:07Z", "largest 32-bit time_t");
	from_time_t(2147483648, "2038-01-19T03:14:08Z", "past 2038");
	from_time_t(253402300799, "9999-12-31T23:59:59Z", "last second of year 9999");

	memset(out, 'X', sizeof(out));
	CHECK_INT(timefmt_rfc3339(253402300800, out), -1, "year 10000: does not fit");
	CHECK_STR(out, "", "year 10000: output emptied");
	memset(out, 'X', sizeof(out));
	CHECK_INT(timefmt_rfc3339((time_t)1 << 62, out), -1, "time_t beyond gmtime: fails");
	CHECK_STR(out, "", "time_t beyond gmtime: output emptied");

	from_tm(2026, 4, 15, 10, 30, 0, 0, "2026-04-15T10:30:00Z", "broken-down time");
	from_tm(2024, 2, 29, 23, 59, 59, 0, "2024-02-29T23:59:59Z", "broken-down leap day");
	from_tm(1000, 1, 1, 0, 0, 0, 0, "1000-01-01T00:00:00Z", "MariaDB's first DATETIME year");
	from_tm(9999, 12, 31, 23, 59, 59, 0, "9999-12-31T23:59:59Z", "year 9999");
	from_tm(10000, 1, 1, 0, 0, 0, -1, "", "year 10000 rejected");
	from_tm(-1, 12, 31, 0, 0, 0, -1, "", "year -1 rejected");
	from_tm(2026, 1, 1, 0, 0, 60, 0, "2026-01-01T00:00:60Z", "leap second kept");

	/* Years 0..999 must come out with four digits, or not at all. */
	/* Years before 1000 are refused (DATETIME starts at 1000). */
	{
		struct tm tm = tm_of(999, 12, 31, 23, 59, 59);
		CHECK_INT(timefmt_rfc3339_tm(&tm, out), -1, "year 999: refused");
		tm = tm_of(1000, 1, 1, 0, 0, 0);
		CHECK_INT(timefmt_rfc3339_tm(&tm, out), 0, "year 1000: accepted");
		CHECK_STR(out, "1000-01-01T00:00:00Z", "year 1000: text");
	}
	{
		struct tm tm = tm_of(999, 12, 31, 23, 59, 59);
		int rc = timefmt_rfc3339_tm(&tm, out);
		CHECK(rc != 0 || (strlen(out) == 20 && out[4] == '-'),
		    "year 999: never a short, malformed timestamp");
	}
	return unit_done();
}
