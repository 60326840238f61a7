/*
 * The delivery state table (src/delivery.c, docs/states.md): names, terminal states, and every
 * move the documentation lists is allowed while moves it does not list are refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "delivery.h"

#define S(x) HD_D_##x

static const int expected[][2] = {
    {S(PENDING), S(HELD)},
    {S(PENDING), S(SENDING)},
    {S(PENDING), S(SUPERSEDED)},
    {S(PENDING), S(EXPIRED)},
    {S(PENDING), S(CANCELLED)},
    {S(PENDING), S(PARKED)},
    {S(PENDING), S(FAILED)},
    {S(PENDING), S(MANUAL_ACTION)},
    {S(PENDING), S(RETRACTING)},
    {S(HELD), S(PENDING)},
    {S(HELD), S(SUPERSEDED)},
    {S(HELD), S(EXPIRED)},
    {S(HELD), S(CANCELLED)},
    {S(HELD), S(FAILED)},
    {S(SENDING), S(DELIVERED)},
    {S(SENDING), S(PUBLISHING)},
    {S(SENDING), S(WAITING_RETRY)},
    {S(SENDING), S(RECONCILING)},
    {S(SENDING), S(FAILED)},
    {S(SENDING), S(PARKED)},
    {S(SENDING), S(PENDING)},
    {S(WAITING_RETRY), S(PENDING)},
    {S(WAITING_RETRY), S(SUPERSEDED)},
    {S(WAITING_RETRY), S(EXPIRED)},
    {S(WAITING_RETRY), S(CANCELLED)},
    {S(WAITING_RETRY), S(FAILED)},
    {S(WAITING_RETRY), S(PARKED)},
    {S(PUBLISHING), S(DELIVERED)},
    {S(PUBLISHING), S(FAILED)},
    {S(PUBLISHING), S(RECONCILING)},
    {S(PUBLISHING), S(REMOVED_EXTERNALLY)},
    {S(PUBLISHING), S(WAITING_RETRY)},
    {S(PUBLISHING), S(PARKED)},
    {S(RECONCILING), S(DELIVERED)},
    {S(RECONCILING), S(PUBLISHING)},
    {S(RECONCILING), S(PENDING)},
    {S(RECONCILING), S(WAITING_RETRY)},
    {S(RECONCILING), S(FAILED)},
    {S(RECONCILING), S(SUPERSEDED)},
    {S(RECONCILING), S(PARKED)},
    {S(RECONCILING), S(CANCELLED)},
    {S(PARKED), S(PENDING)},
    {S(PARKED), S(SUPERSEDED)},
    {S(PARKED), S(EXPIRED)},
    {S(PARKED), S(CANCELLED)},
    {S(PARKED), S(RECONCILING)},
    {S(RETRACTING), S(RETRACTED)},
    {S(RETRACTING), S(MANUAL_ACTION)},
    {S(RETRACTING), S(FAILED)},
    {S(DELIVERED), S(RETRACTING)},
    {S(DELIVERED), S(REMOVED_EXTERNALLY)},
    {S(DELIVERED), S(MANUAL_ACTION)},
    {S(DELIVERED), S(SUPERSEDED)},
    {S(FAILED), S(PENDING)},
    {S(FAILED), S(CANCELLED)},
    {S(EXPIRED), S(PENDING)},
    {S(CANCELLED), S(PENDING)},
    {S(MANUAL_ACTION), S(PENDING)},
    {S(MANUAL_ACTION), S(RETRACTED)},
    {S(MANUAL_ACTION), S(CANCELLED)},
};

static int listed(int from, int to)
{
    for (size_t i = 0; i < sizeof(expected) / sizeof(expected[0]); i++)
        if (expected[i][0] == from && expected[i][1] == to)
            return 1;
    return 0;
}

static void test_table_is_exactly_the_documented_one(void **state)
{
    (void)state;
    for (int from = 0; from < HD_D_MAX; from++)
        for (int to = 0; to < HD_D_MAX; to++)
            if (hd_dstate_allowed((enum hd_dstate)from, (enum hd_dstate)to) != listed(from, to))
                fail_msg("%s -> %s: table says %d, docs/states.md says %d",
                         hd_dstate_name((enum hd_dstate)from), hd_dstate_name((enum hd_dstate)to),
                         hd_dstate_allowed((enum hd_dstate)from, (enum hd_dstate)to),
                         listed(from, to));
}

static void test_names_and_terminal(void **state)
{
    (void)state;
    for (int s = 0; s < HD_D_MAX; s++) {
        const char *n = hd_dstate_name((enum hd_dstate)s);
        assert_non_null(n);
        assert_int_equal(hd_dstate_parse(n), s);
    }
    assert_int_equal(hd_dstate_parse("nonsense"), -1);
    assert_int_equal(hd_dstate_parse(NULL), -1);
    assert_string_equal(hd_dstate_name(HD_D_MAX), "invalid");
    const int terminal[] = {S(DELIVERED), S(FAILED),    S(SUPERSEDED),         S(RETRACTED),
                            S(EXPIRED),   S(CANCELLED), S(REMOVED_EXTERNALLY), S(MANUAL_ACTION)};
    for (int s = 0; s < HD_D_MAX; s++) {
        int t = 0;
        for (size_t i = 0; i < sizeof(terminal) / sizeof(terminal[0]); i++)
            t |= terminal[i] == s;
        assert_int_equal(hd_dstate_terminal((enum hd_dstate)s), t);
    }
    /* terminal states other than the ones that can still move lead nowhere */
    for (int to = 0; to < HD_D_MAX; to++) {
        assert_false(hd_dstate_allowed(S(SUPERSEDED), (enum hd_dstate)to));
        assert_false(hd_dstate_allowed(S(RETRACTED), (enum hd_dstate)to));
        assert_false(hd_dstate_allowed(S(REMOVED_EXTERNALLY), (enum hd_dstate)to));
    }
}

static void test_idempotency_key(void **state)
{
    (void)state;
    char k[300];
    hd_idempotency_key("yx-1", 3, "webhook:ops", "", k, sizeof(k));
    assert_string_equal(k, "herald:yx-1:3:webhook:ops");
    hd_idempotency_key("yx-1", 3, "ejiatong:streets", "440104001", k, sizeof(k));
    assert_string_equal(k, "herald:yx-1:3:ejiatong:streets:440104001");
    char longid[201];
    memset(longid, 'a', 200);
    longid[200] = '\0';
    hd_idempotency_key(longid, 1, "display_board:halls", "hall-1/a1", k, sizeof(k));
    assert_true(strlen(k) <= 255);
    assert_non_null(strstr(k, "herald:sha256-"));
    /* two long ids that differ only at the end still get different keys */
    char k2[300];
    longid[199] = 'b';
    hd_idempotency_key(longid, 1, "display_board:halls", "hall-1/a1", k2, sizeof(k2));
    assert_string_not_equal(k, k2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_is_exactly_the_documented_one),
        cmocka_unit_test(test_names_and_terminal),
        cmocka_unit_test(test_idempotency_key),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
