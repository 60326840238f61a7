/*
 * Every built-in key table is valid: the core's section tables (config.c) and the key table of
 * every adapter compiled in. hd_conf_keys_validate checks names, types, enum choices, bounds,
 * help texts and that each default parses and lies within its bounds -- a bad default is a
 * programming error that would otherwise only show when an operator leaves the key out.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "common.h"
#include "conf.h"
#include "config.h"
#include "registry.h"

static int validate(const char *what, const struct hd_conf_key *keys)
{
    struct hd_diag d;
    hd_diag_init(&d);
    int n = hd_conf_keys_validate(keys, &d);
    if (n)
        print_message("%s key table:\n%s", what, d.text ? d.text : "");
    hd_diag_free(&d);
    return n;
}

static void test_core_tables(void **state)
{
    (void)state;
    int bad = 0;
    bad += validate("core channel", hd_core_channel_keys);
    bad += validate("daemon", hd_daemon_keys);
    bad += validate("kafka", hd_kafka_keys);
    bad += validate("store", hd_store_keys);
    bad += validate("admin", hd_admin_keys);
    assert_int_equal(bad, 0);
}

static void test_builtin_adapter_tables(void **state)
{
    (void)state;
    int bad = 0, checked = 0;
    for (hd_channel_entry_fn *const *e = hd_builtin_channels; *e; e++) {
        const struct hd_channel *ch = (*e)();
        if (!ch || !ch->keys)
            continue; /* an adapter still being written */
        char what[128];
        snprintf(what, sizeof(what), "adapter %s", ch->name ? ch->name : "(unnamed)");
        bad += validate(what, ch->keys);
        checked++;
    }
    print_message("checked %d adapter key tables\n", checked);
    assert_int_equal(bad, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_core_tables),
        cmocka_unit_test(test_builtin_adapter_tables),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
