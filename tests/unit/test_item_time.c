/*
 * Unit tests of the helpers under herald.item/v1 intake: RFC 3339 date-times and dates
 * (src/item_time.c: offsets, leap years, fractions, what is refused, the formatter's round trip)
 * and the header-safe detail text (src/item_lex.c). test_item.c tests whole messages.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "common.h"
#include "item.h"
#include "item_lex.h"

/* ---- RFC 3339 -------------------------------------------------------------------------------- */

static void test_time_parse_valid(void **state)
{
    static const struct {
        const char *s;
        int64_t ms;
    } ok[] = {
        {"1970-01-01T00:00:00Z", 0},
        {"2026-03-02T09:30:00+08:00", 1772415000000},
        {"2026-03-02t01:30:00z", 1772415000000},
        {"2026-03-02T01:30:00.000+00:00", 1772415000000},
        {"2026-03-02T01:30:00-00:00", 1772415000000},
        {"2026-03-02T09:30:00-05:30", 1772463600000},
        {"2000-02-29T00:00:00Z", 951782400000},
        {"2028-02-29T12:00:00Z", 1835438400000},
        {"1969-12-31T23:59:59.999Z", -1},
        {"1969-12-31T23:59:59.9999999Z", -1}, /* truncated, not rounded */
        {"0001-01-01T00:00:00Z", -62135596800000},
        {"9999-12-31T23:59:59.999Z", 253402300799999},
        {"2026-03-02T09:30:00.5+08:00", 1772415000500},
        {"2026-03-02T09:30:00.123456789123+08:00", 1772415000123},
        {"2026-12-31T23:59:59+23:59", 1798761599000 - (23 * 3600 + 59 * 60) * 1000LL},
    };
    for (size_t i = 0; i < HD_ARRAY_LEN(ok); i++) {
        int64_t ms = 42;
        if (hd_time_parse_rfc3339(ok[i].s, &ms) != 0)
            fail_msg("rejected %s", ok[i].s);
        if (ms != ok[i].ms)
            fail_msg("%s: %lld, want %lld", ok[i].s, (long long)ms, (long long)ok[i].ms);
    }
}

static void test_time_parse_invalid(void **state)
{
    static const char *const bad[] = {
        "",
        "2026-02-30T00:00:00Z",      /* no such day */
        "2026-02-29T00:00:00Z",      /* 2026 is not a leap year */
        "2100-02-29T00:00:00Z",      /* nor is 2100 */
        "2026-04-31T00:00:00Z",      /* April has 30 */
        "2026-13-01T00:00:00Z",      /* month 13 */
        "2026-00-01T00:00:00Z",      /* month 0 */
        "2026-01-00T00:00:00Z",      /* day 0 */
        "0000-01-01T00:00:00Z",      /* year 0 */
        "2026-03-02T24:00:00Z",      /* hour 24 */
        "2026-03-02T23:60:00Z",      /* minute 60 */
        "2026-03-02T23:59:60Z",      /* leap second */
        "2026-03-02T09:30:00",       /* missing offset */
        "2026-03-02T09:30:00+0800",  /* offset without colon */
        "2026-03-02T09:30:00+08",    /* short offset */
        "2026-03-02T09:30:00+24:00", /* offset hour 24 */
        "2026-03-02T09:30:00+08:60", /* offset minute 60 */
        "2026-03-02T09:30:00.Z",     /* empty fraction */
        "2026-03-02T09:30:00,5Z",    /* comma fraction */
        "2026-03-02 09:30:00Z",      /* space separator */
        "2026-03-02",                /* date only */
        "2026-3-2T09:30:00Z",        /* one-digit fields */
        "2026-03-02T9:30:00Z",       /* one-digit hour */
        "2026-03-02T09:30Z",         /* no seconds */
        "2026-03-02T09:30:00Z ",     /* trailing space */
        " 2026-03-02T09:30:00Z",     /* leading space */
        "2026-03-02T09:30:00Z\n",    /* trailing newline */
        "2026-03-02T09:30:00ZZ",     /* junk after the offset */
        "+2026-03-02T09:30:00Z",     /* signed year */
        "２０２６-03-02T09:30:00Z",  /* full-width digits */
        "2026-03-02T09:30:00UTC",    /* a zone name */
    };
    int64_t ms;
    for (size_t i = 0; i < HD_ARRAY_LEN(bad); i++)
        if (hd_time_parse_rfc3339(bad[i], &ms) != HD_EINVAL)
            fail_msg("accepted \"%s\"", bad[i]);
    assert_int_equal(hd_time_parse_rfc3339(NULL, &ms), HD_EINVAL);
}

static void test_time_parse_ns_and_reason(void **state)
{
    int64_t sec;
    int32_t ns;
    const char *why = NULL;
    const char *s = "2026-03-02T09:30:00.000000001+08:00";
    assert_int_equal(hd_time_parse_ns(s, strlen(s), &sec, &ns, &why), 0);
    assert_int_equal(sec, 1772415000);
    assert_int_equal(ns, 1);
    s = "2026-02-30T09:30:00Z";
    assert_int_equal(hd_time_parse_ns(s, strlen(s), &sec, &ns, &why), HD_EINVAL);
    assert_string_equal(why, "day out of range for its month");
    s = "2026-03-02T09:30:00";
    assert_int_equal(hd_time_parse_ns(s, strlen(s), &sec, &ns, &why), HD_EINVAL);
    assert_string_equal(why, "missing time zone offset (Z or ±hh:mm)");
    /* the length bounds the parse: a valid prefix of a longer buffer */
    s = "2026-03-02T09:30:00Zjunk";
    assert_int_equal(hd_time_parse_ns(s, 20, &sec, NULL, NULL), 0);
    assert_int_equal(hd_time_parse_ns(s, 19, &sec, NULL, NULL), HD_EINVAL);
}

static void test_time_format(void **state)
{
    char out[32];
    hd_time_format_rfc3339(1772415000000, out);
    assert_string_equal(out, "2026-03-02T01:30:00.000Z");
    hd_time_format_rfc3339(0, out);
    assert_string_equal(out, "1970-01-01T00:00:00.000Z");
    hd_time_format_rfc3339(-1, out);
    assert_string_equal(out, "1969-12-31T23:59:59.999Z");
    hd_time_format_rfc3339(951782400123, out);
    assert_string_equal(out, "2000-02-29T00:00:00.123Z");
    hd_time_format_rfc3339(253402300799999, out);
    assert_string_equal(out, "9999-12-31T23:59:59.999Z");
    hd_time_format_rfc3339(INT64_MIN, out); /* absurd, but bounded and NUL-terminated */
    assert_true(strlen(out) < 32);
    hd_time_format_rfc3339(INT64_MAX, out);
    assert_true(strlen(out) < 32);
    /* round trip over four centuries in uneven steps (leap days, negative times included) */
    for (int64_t ms = -62135596800000; ms < 253402300799999; ms += 86399999LL * 97 + 7) {
        int64_t back;
        hd_time_format_rfc3339(ms, out);
        assert_int_equal(hd_time_parse_rfc3339(out, &back), 0);
        assert_int_equal(back, ms);
    }
}

static void test_date_parse(void **state)
{
    int64_t days;
    const char *why;
    assert_int_equal(hd_date_parse("1970-01-02", 10, &days, &why), 0);
    assert_int_equal(days, 1);
    assert_int_equal(hd_date_parse("2028-02-29", 10, &days, &why), 0);
    assert_int_equal(hd_date_parse("2026-02-29", 10, &days, &why), HD_EINVAL);
    assert_int_equal(hd_date_parse("2026-02-27T00:00:00Z", 20, &days, &why), HD_EINVAL);
    assert_int_equal(hd_date_parse("0000-01-01", 10, &days, &why), HD_EINVAL);
    assert_int_equal(hd_date_parse("2026-2-27", 9, &days, &why), HD_EINVAL);
}

static void test_sanitize(void **state)
{
    char out[16];
    hd_item_sanitize(out, sizeof out,
                     "a\tb\x7f\xff"
                     "c");
    assert_string_equal(out, "a\\u0009b\\u007f?");
    hd_item_sanitize(out, 8, "越秀区"); /* 9 bytes: cut on a character boundary */
    assert_string_equal(out, "越秀");
    hd_item_sanitize(out, sizeof out, "\xe8\xb6");
    assert_string_equal(out, "??");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_time_parse_valid),
        cmocka_unit_test(test_time_parse_invalid),
        cmocka_unit_test(test_time_parse_ns_and_reason),
        cmocka_unit_test(test_time_format),
        cmocka_unit_test(test_date_parse),
        cmocka_unit_test(test_sanitize),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
