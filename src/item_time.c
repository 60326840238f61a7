/*
 * RFC 3339 date-times for herald.item/v1 (approved_at, review times, schedule) and for the times
 * herald writes back (status events, dead-letter headers). Pure arithmetic on the proleptic
 * Gregorian calendar: no timegm, no TZ, no locale. Accepted: YYYY-MM-DD T hh:mm:ss [.frac]
 * (Z | +hh:mm | -hh:mm), T and Z in either case, year 0001-9999, no leap second (60), as Python's
 * jsonschema date-time checker accepts, so the differential test can hold the two to one grammar.
 */
#include <inttypes.h>

#include "common.h"
#include "item.h"

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian; H. Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, int64_t m, int64_t d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* The inverse: y-m-d of a day count from 1970-01-01. */
static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

static int is_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int y, int m)
{
    static const int dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : dim[m - 1];
}

/* n ASCII digits at s as a number, or -1. */
static int digits(const char *s, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

static const char bad_date[] = "not a date YYYY-MM-DD";

static int date_part(const char *s, size_t len, int *y, int *mo, int *d, const char **why)
{
    if (len < 10 || (*y = digits(s, 4)) < 0 || s[4] != '-' || (*mo = digits(s + 5, 2)) < 0 ||
        s[7] != '-' || (*d = digits(s + 8, 2)) < 0) {
        *why = bad_date;
        return HD_EINVAL;
    }
    if (*y == 0) {
        *why = "year 0000 does not exist";
        return HD_EINVAL;
    }
    if (*mo < 1 || *mo > 12) {
        *why = "month out of range";
        return HD_EINVAL;
    }
    if (*d < 1 || *d > days_in_month(*y, *mo)) {
        *why = "day out of range for its month";
        return HD_EINVAL;
    }
    return 0;
}

int hd_date_parse(const char *s, size_t len, int64_t *days, const char **why)
{
    int y, mo, d;
    const char *dummy;
    if (!why)
        why = &dummy;
    if (date_part(s, len, &y, &mo, &d, why))
        return HD_EINVAL;
    if (len != 10) {
        *why = bad_date;
        return HD_EINVAL;
    }
    if (days)
        *days = days_from_civil(y, mo, d);
    return 0;
}

int hd_time_parse_ns(const char *s, size_t len, int64_t *sec, int32_t *nsec, const char **why)
{
    static const char *const shape = "not an RFC 3339 date-time (YYYY-MM-DDThh:mm:ss[.f]Z|±hh:mm)";
    int y, mo, d, h, mi, se, oh = 0, om = 0, sign = 0;
    int32_t ns = 0;
    size_t i;
    const char *dummy;

    if (!why)
        why = &dummy;
    if (date_part(s, len, &y, &mo, &d, why)) {
        if (*why == bad_date)
            *why = shape;
        return HD_EINVAL;
    }
    if (len < 19 || (s[10] != 'T' && s[10] != 't') || (h = digits(s + 11, 2)) < 0 || s[13] != ':' ||
        (mi = digits(s + 14, 2)) < 0 || s[16] != ':' || (se = digits(s + 17, 2)) < 0) {
        *why = len == 10 ? "a date without a time" : shape;
        return HD_EINVAL;
    }
    if (h > 23) {
        *why = "hour out of range (00-23)";
        return HD_EINVAL;
    }
    if (mi > 59) {
        *why = "minute out of range";
        return HD_EINVAL;
    }
    if (se > 59) {
        *why = se == 60 ? "leap second not accepted" : "second out of range";
        return HD_EINVAL;
    }
    i = 19;
    if (i < len && s[i] == '.') {
        size_t start = ++i;
        int32_t scale = 100000000;
        while (i < len && s[i] >= '0' && s[i] <= '9') {
            ns += (s[i] - '0') * scale; /* digits past the 9th are read and ignored */
            scale /= 10;
            i++;
        }
        if (i == start) {
            *why = "empty fraction of a second";
            return HD_EINVAL;
        }
    }
    if (i == len) {
        *why = "missing time zone offset (Z or ±hh:mm)";
        return HD_EINVAL;
    }
    if ((s[i] == 'Z' || s[i] == 'z') && i + 1 == len) {
        sign = 0;
    } else if ((s[i] == '+' || s[i] == '-') && len - i == 6 && (oh = digits(s + i + 1, 2)) >= 0 &&
               s[i + 3] == ':' && (om = digits(s + i + 4, 2)) >= 0) {
        sign = s[i] == '+' ? 1 : -1;
        if (oh > 23 || om > 59) {
            *why = "time zone offset out of range";
            return HD_EINVAL;
        }
    } else {
        *why = "bad time zone offset (Z or ±hh:mm)";
        return HD_EINVAL;
    }
    int64_t t = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se;
    t -= (int64_t)sign * (oh * 3600 + om * 60);
    if (sec)
        *sec = t;
    if (nsec)
        *nsec = ns;
    return 0;
}

int hd_time_parse_rfc3339(const char *s, int64_t *epoch_ms)
{
    int64_t sec;
    int32_t ns;
    if (!s || hd_time_parse_ns(s, strlen(s), &sec, &ns, NULL))
        return HD_EINVAL;
    if (epoch_ms)
        *epoch_ms = sec * 1000 + ns / 1000000;
    return 0;
}

void hd_time_format_rfc3339(int64_t epoch_ms, char out[32])
{
    /* floor division, so times before 1970 format as the wall clock they are */
    int64_t ms = epoch_ms % 1000, secs = epoch_ms / 1000;
    if (ms < 0) {
        ms += 1000;
        secs -= 1;
    }
    int64_t days = secs / 86400, rem = secs % 86400;
    if (rem < 0) {
        rem += 86400;
        days -= 1;
    }
    int64_t y;
    int m, d;
    civil_from_days(days, &y, &m, &d);
    snprintf(out, 32, "%04" PRId64 "-%02d-%02dT%02d:%02d:%02d.%03dZ", y, m, d, (int)(rem / 3600),
             (int)(rem / 60 % 60), (int)(rem % 60), (int)ms);
}
