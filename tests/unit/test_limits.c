/*
 * Backoff with full jitter, the token bucket and the circuit breaker (src/engine_limits.c), driven
 * by an explicit clock.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "engine_limits.h"

static void test_backoff_bounds(void **state)
{
    (void)state;
    /* attempt n: within [1, min(cap, base*2^n)], and every value of the range is reachable */
    for (int attempt = 0; attempt < 12; attempt++) {
        int64_t ceil_ms = 2000LL << attempt;
        if (ceil_ms > 900000)
            ceil_ms = 900000;
        int64_t lo = INT64_MAX, hi = 0;
        for (uint64_t r = 0; r < 5000; r++) {
            int64_t v = hd_backoff(2000, 900000, attempt, r * 2654435761u);
            assert_true(v >= 1 && v <= ceil_ms);
            if (v < lo)
                lo = v;
            if (v > hi)
                hi = v;
        }
        assert_true(lo <= ceil_ms / 10);     /* full jitter reaches near zero */
        assert_true(hi >= ceil_ms * 9 / 10); /* and near the ceiling */
    }
    assert_int_equal(hd_backoff(2000, 900000, 0, 0), 1);
    assert_int_equal(hd_backoff(2000, 900000, 3, 15999), 16000);
    /* large attempts do not overflow and stay under the cap */
    assert_true(hd_backoff(2000, 900000, 1000, UINT64_MAX) <= 900000);
    assert_int_equal(hd_backoff(0, 10, 5, 7), 1);
}

static void test_bucket(void **state)
{
    (void)state;
    struct hd_bucket b;
    hd_bucket_init(&b, 2.0, 3, 0); /* 2/s, burst 3 */
    assert_int_equal(hd_bucket_take(&b, 0), 0);
    assert_int_equal(hd_bucket_take(&b, 0), 0);
    assert_int_equal(hd_bucket_take(&b, 0), 0);
    int64_t wait = hd_bucket_take(&b, 0);
    assert_int_equal(wait, 500); /* one token every 500 ms */
    assert_true(hd_bucket_take(&b, 499) > 0);
    assert_int_equal(hd_bucket_take(&b, 500), 0);
    /* refills never exceed the burst */
    assert_true(hd_bucket_level(&b, 100000) <= 3.0 + 1e-9);
    assert_int_equal(hd_bucket_take(&b, 100000), 0);
    assert_int_equal(hd_bucket_take(&b, 100000), 0);
    assert_int_equal(hd_bucket_take(&b, 100000), 0);
    assert_true(hd_bucket_take(&b, 100000) > 0);
    /* 20 per hour: the next token after the burst is 3 minutes away */
    hd_bucket_init(&b, 20.0 / 3600.0, 1, 0);
    assert_int_equal(hd_bucket_take(&b, 0), 0);
    assert_int_equal(hd_bucket_take(&b, 0), 180000);
    /* unlimited */
    hd_bucket_init(&b, 0, 1, 0);
    for (int i = 0; i < 1000; i++)
        assert_int_equal(hd_bucket_take(&b, 0), 0);
}

static void test_breaker(void **state)
{
    (void)state;
    struct hd_breaker_conf c = {.failures = 3, .reset_ms = 1000, .reset_max = 3500};
    struct hd_breaker b;
    hd_breaker_init(&b, &c);
    assert_true(hd_breaker_allow(&b, 0));
    assert_int_equal(hd_breaker_failure(&b, &c, 0), 0);
    assert_int_equal(hd_breaker_failure(&b, &c, 0), 0);
    /* a success in between resets the count */
    hd_breaker_success(&b, &c);
    assert_int_equal(hd_breaker_failure(&b, &c, 0), 0);
    assert_int_equal(hd_breaker_failure(&b, &c, 0), 0);
    assert_int_equal(hd_breaker_failure(&b, &c, 10), 1); /* opens */
    assert_int_equal(b.state, HD_BREAKER_OPEN);
    assert_false(hd_breaker_allow(&b, 500));
    assert_false(hd_breaker_allow(&b, 1009));
    /* half-open after the reset: one probe only */
    assert_true(hd_breaker_allow(&b, 1010));
    assert_int_equal(b.state, HD_BREAKER_HALF_OPEN);
    hd_breaker_started(&b);
    assert_false(hd_breaker_allow(&b, 1011));
    /* the probe fails: open again, twice as long */
    assert_int_equal(hd_breaker_failure(&b, &c, 1100), 1);
    assert_int_equal(b.state, HD_BREAKER_OPEN);
    assert_int_equal(b.open_until, 3100);
    assert_false(hd_breaker_allow(&b, 3099));
    assert_true(hd_breaker_allow(&b, 3100));
    hd_breaker_started(&b);
    hd_breaker_failure(&b, &c, 3100); /* doubling stops at reset_max */
    assert_int_equal(b.open_until, 3100 + 3500);
    /* a probe without a verdict lets another probe go */
    assert_true(hd_breaker_allow(&b, 7000));
    hd_breaker_started(&b);
    assert_false(hd_breaker_allow(&b, 7000));
    hd_breaker_neutral(&b);
    assert_true(hd_breaker_allow(&b, 7000));
    hd_breaker_started(&b);
    /* the probe succeeds: closed, and the reset interval starts over */
    assert_int_equal(hd_breaker_success(&b, &c), 1);
    assert_int_equal(b.state, HD_BREAKER_CLOSED);
    assert_int_equal(b.reset_ms, 1000);
    /* late failures of ops started before it opened do not extend an open breaker */
    hd_breaker_failure(&b, &c, 8000);
    hd_breaker_failure(&b, &c, 8000);
    hd_breaker_failure(&b, &c, 8000);
    int64_t until = b.open_until;
    assert_int_equal(hd_breaker_failure(&b, &c, 8500), 0);
    assert_int_equal(b.open_until, until);
    assert_string_equal(hd_breaker_name(HD_BREAKER_HALF_OPEN), "half_open");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_backoff_bounds),
        cmocka_unit_test(test_bucket),
        cmocka_unit_test(test_breaker),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
