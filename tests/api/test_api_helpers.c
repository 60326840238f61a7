/*
 * The admin API's pure helpers (api.c): paging cursors survive a round trip and refuse what the
 * server did not give out; times are RFC 3339 in the configured zone with its offset; text from
 * the store that is not UTF-8 is repaired, never dropped; role names.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "api.h"

static void test_cursor_round_trip(void **state)
{
    char *c = hd_api_cursor_make(json_pack("[I, s]", (json_int_t)1767225600123LL, "yx-a:1"));
    assert_non_null(c);
    for (const char *p = c; *p; p++) /* URL-safe as it is */
        assert_true((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                    (*p >= '0' && *p <= '9') || *p == '-' || *p == '_');
    json_t *v = hd_api_cursor_parse(c);
    assert_non_null(v);
    assert_int_equal(json_integer_value(json_array_get(v, 0)), 1767225600123LL);
    assert_string_equal(json_string_value(json_array_get(v, 1)), "yx-a:1");
    json_decref(v);
    free(c);
}

static void test_cursor_refuses_junk(void **state)
{
    static const char *const bad[] = {"",         "%%%",
                                      "e30",      /* {} */ "bnVsbA", /* null */
                                      "WzEsMiwz", /* [1,2,3 (truncated) */ "a b",
                                      "=="};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_null(hd_api_cursor_parse(bad[i]));
    char big[2000];
    memset(big, 'A', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    assert_null(hd_api_cursor_parse(big));
}

static void test_times_in_the_zone(void **state)
{
    setenv("TZ", "Asia/Shanghai", 1);
    tzset();
    char out[40];
    hd_api_time(1767225600123LL, out); /* 2026-01-01T00:00:00.123Z */
    assert_string_equal(out, "2026-01-01T08:00:00.123+08:00");
    assert_int_equal(hd_api_local_midnight(2026, 1, 1), 1767196800000LL);
    setenv("TZ", "UTC", 1);
    tzset();
    hd_api_time(1767225600123LL, out);
    assert_string_equal(out, "2026-01-01T00:00:00.123Z");
    json_t *z = hd_api_time_json(0);
    assert_true(json_is_null(z));
}

static void test_text_repaired(void **state)
{
    json_t *s = hd_api_str("ok\xff\xfe信息", 10);
    assert_non_null(s);
    assert_string_equal(json_string_value(s), "ok\xef\xbf\xbd\xef\xbf\xbd信息");
    json_decref(s);
    s = hd_api_str("\xe4\xbf", 2); /* a character cut short */
    assert_string_equal(json_string_value(s), "\xef\xbf\xbd\xef\xbf\xbd");
    json_decref(s);
}

static void test_roles(void **state)
{
    assert_int_equal(hd_role_parse("viewer"), HD_ROLE_VIEWER);
    assert_int_equal(hd_role_parse("operator"), HD_ROLE_OPERATOR);
    assert_int_equal(hd_role_parse("admin"), HD_ROLE_ADMIN);
    assert_int_equal(hd_role_parse("root"), HD_ROLE_NONE);
    assert_int_equal(hd_role_parse(NULL), HD_ROLE_NONE);
    assert_true(HD_ROLE_VIEWER < HD_ROLE_OPERATOR && HD_ROLE_OPERATOR < HD_ROLE_ADMIN);
    assert_string_equal(hd_role_name(HD_ROLE_OPERATOR), "operator");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cursor_round_trip),
        cmocka_unit_test(test_cursor_refuses_junk),
        cmocka_unit_test(test_times_in_the_zone),
        cmocka_unit_test(test_text_repaired),
        cmocka_unit_test(test_roles),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
