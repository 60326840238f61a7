/*
 * Out-of-memory paths of the configuration loader and the text helpers: for every N, the Nth
 * allocation fails; the call must not crash and must free everything it took (counted by this
 * executable's own malloc/calloc/realloc/free, which glibc lets a program replace). Sanitizer
 * builds bring their own allocator, so there the test skips.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "common.h"
#include "conf.h"
#include "text.h"

#if defined(__SANITIZE_ADDRESS__)
#define HAVE_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HAVE_SANITIZER 1
#endif
#endif

#ifndef HAVE_SANITIZER
void *__libc_malloc(size_t n);
void *__libc_calloc(size_t a, size_t b);
void *__libc_realloc(void *p, size_t n);
void __libc_free(void *p);
void *malloc(size_t n);
void *calloc(size_t a, size_t b);
void *realloc(void *p, size_t n);
void free(void *p);

static long countdown = -1, live, failed;

static int fail_now(void)
{
    if (countdown > 0 && --countdown == 0) {
        failed = 1;
        return 1;
    }
    return 0;
}

void *malloc(size_t n)
{
    void *p = fail_now() ? NULL : __libc_malloc(n);
    live += p != NULL;
    return p;
}

void *calloc(size_t a, size_t b)
{
    void *p = fail_now() ? NULL : __libc_calloc(a, b);
    live += p != NULL;
    return p;
}

void *realloc(void *q, size_t n)
{
    void *p = fail_now() ? NULL : __libc_realloc(q, n);
    live += p != NULL && q == NULL;
    return p;
}

void free(void *p)
{
    live -= p != NULL;
    __libc_free(p);
}
#endif

static const struct hd_conf_key keys[] = {
    {"url", HD_CONF_URL, NULL, 1, 0, 0, NULL, "h"},
    {"timeout", HD_CONF_DURATION, "10s", 0, 1000, 3600000, NULL, "h"},
    {"retries", HD_CONF_INT, "3", 0, 0, 10, NULL, "h"},
    {"on_revision", HD_CONF_ENUM, "update", 0, 0, 0, "update|ignore|retract_and_republish", "h"},
    {"events", HD_CONF_LIST, "[publish, retract]", 0, 0, 0, NULL, "h"},
    {"headers", HD_CONF_MAP, "{a: b}", 0, 0, 0, NULL, "h"},
    {"name", HD_CONF_STRING, NULL, 0, 1, 16, NULL, "h"},
    {NULL, 0, NULL, 0, 0, 0, NULL, NULL},
};

static void run_check(void)
{
    static const char *yaml = "url: http://h\nretries: 11\nbogus: 1\nretires: 2\n"
                              "headers: {x: y, x: z, q: [1]}\nevents: [a, {b: c}]\n"
                              "name: \"hello\"\nretries: 4\n";
    const struct hd_conf_key *const t[] = {keys};
    struct hd_diag d;
    struct hd_node *root = NULL;
    struct hd_conf_values v;
    hd_diag_init(&d);
    if (hd_conf_parse_string("t.yaml", yaml, strlen(yaml), &root, &d) == 0) {
        hd_conf_check(root, t, 1, NULL, &v, &d);
        hd_conf_values_free(&v);
    }
    hd_node_free(root);
    hd_diag_free(&d);
}

static void run_parse_errors(void)
{
    static const char *yaml = "a: &x 1\nb: *x\nc: !foo 2\n? [k]\n: v\nd: [1, 2\n";
    struct hd_diag d;
    struct hd_node *root = NULL;
    hd_diag_init(&d);
    hd_conf_parse_string("t.yaml", yaml, strlen(yaml), &root, &d);
    hd_node_free(root);
    hd_diag_free(&d);
}

static void run_validate(void)
{
    struct hd_diag d;
    hd_diag_init(&d);
    hd_conf_keys_validate(keys, &d);
    hd_diag_free(&d);
}

static void run_gbk(void)
{
    size_t n, r;
    free(hd_utf8_to_gbk("中文😀©©", "[?]", &n, &r));
    free(hd_utf8_truncate("中文标点符号", 3, "…"));
}

static void sweep(const char *name, void (*fn)(void))
{
#ifdef HAVE_SANITIZER
    (void)name;
    (void)fn;
    print_message("skipped: a sanitizer build replaces malloc, so the counting allocator cannot "
                  "run\n");
    skip();
#else
    fn(); /* warm up lazily initialised library state (iconv modules) */
    long n;
    for (n = 1;; n++) {
        long before = live;
        failed = 0;
        countdown = n;
        fn();
        countdown = -1;
        if (live != before)
            fail_msg("%s: failing allocation %ld leaks %ld block(s)", name, n, live - before);
        if (!failed)
            break;
    }
    print_message("%s: %ld allocation points, none leaks\n", name, n - 1);
    assert_true(n > 10); /* the sweep really went through the code */
#endif
}

static void test_oom_check(void **state)
{
    (void)state;
    sweep("parse+check", run_check);
}

static void test_oom_parse_errors(void **state)
{
    (void)state;
    sweep("parse errors", run_parse_errors);
}

static void test_oom_validate(void **state)
{
    (void)state;
    sweep("keys_validate", run_validate);
}

static void test_oom_gbk(void **state)
{
    (void)state;
    sweep("gbk+truncate", run_gbk);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_oom_check),
        cmocka_unit_test(test_oom_parse_errors),
        cmocka_unit_test(test_oom_validate),
        cmocka_unit_test(test_oom_gbk),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
