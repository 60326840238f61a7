/*
 * Routing (src/route.c): rules on category, publisher, publisher kind, column (with /-prefix
 * patterns) and priority; an item's targets.channels replacing the rules; multi-target
 * expansion; disabled instances; loaded from a real configuration file.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "common.h"
#include "config.h"
#include "item.h"
#include "registry.h"
#include "route.h"

static const char *config_text =
    "kafka: {brokers: 'localhost:9092'}\n"
    "channels:\n"
    "  website:portal: {url: 'https://cms.example', secret: 'file:%s'}\n"
    "  webhook:ops: {url: 'https://ops.example/hook', secret: 'file:%s'}\n"
    "  webhook:off: {url: 'https://off.example/hook', secret: 'file:%s', enabled: false}\n"
    "  webhook:press: {url: 'https://press.example/hook', secret: 'file:%s'}\n"
    "routing:\n"
    "  rules:\n"
    "    - name: everything-to-portal\n"
    "      match: {category: [notice, normative_document, policy_interpretation,"
    " press_conference]}\n"
    "      to: [website:portal]\n"
    "    - name: gazette-reversed\n"
    "      match: {category: [gazette]}\n"
    "      to: [webhook:press, webhook:ops, website:portal]\n"
    "    - name: policy\n"
    "      match: {category: [normative_document, policy_interpretation]}\n"
    "      to: [webhook:ops, webhook:off]\n"
    "    - name: streets-urgent\n"
    "      match: {publisher_kind: [street], priority: [urgent]}\n"
    "      to: [webhook:ops]\n"
    "    - name: press\n"
    "      match: {column: ['新闻发布会/*'], publisher: [YX-XWB]}\n"
    "      to: [webhook:press]\n";

struct fixture {
    char dir[64];
    struct hd_registry *reg;
    struct hd_config *cfg;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    strcpy(f->dir, "/tmp/hd-route-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    char secret[128], path[128], text[4096];
    snprintf(secret, sizeof(secret), "%s/secret", f->dir);
    FILE *s = fopen(secret, "w");
    fputs("0123456789abcdef0123456789abcdef\n", s);
    fclose(s);
    snprintf(text, sizeof(text), config_text, secret, secret, secret, secret);
    snprintf(path, sizeof(path), "%s/herald.yaml", f->dir);
    FILE *c = fopen(path, "w");
    fputs(text, c);
    fclose(c);
    char err[256];
    assert_int_equal(hd_registry_create(hd_builtin_channels, &f->reg, err, sizeof(err)), 0);
    struct hd_diag d;
    hd_diag_init(&d);
    int rc = hd_config_load(path, f->reg, &f->cfg, &d);
    if (rc)
        fail_msg("config: %s", d.text);
    hd_diag_free(&d);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    char cmd[128];
    hd_config_free(f->cfg);
    hd_registry_destroy(f->reg);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

static struct hd_item_doc *item(const char *extra)
{
    char buf[4096];
    snprintf(buf, sizeof(buf),
             "{\"schema\":\"herald.item/v1\",\"id\":\"r-1\",\"version\":1,\"action\":\"publish\","
             "\"approved_at\":\"2026-03-03T11:20:00+08:00\",\"review\":["
             "{\"level\":\"initial\",\"reviewer\":\"a\",\"at\":\"2026-03-02T15:10:00+08:00\"},"
             "{\"level\":\"recheck\",\"reviewer\":\"b\",\"at\":\"2026-03-03T09:40:00+08:00\"},"
             "{\"level\":\"final\",\"reviewer\":\"c\",\"at\":\"2026-03-03T11:05:00+08:00\"}],"
             "\"title\":\"t\",\"body_html\":\"<p>b</p>\"%s}",
             extra);
    struct hd_item_doc *doc = NULL;
    struct hd_item_error err;
    if (hd_item_parse(buf, strlen(buf), NULL, 0, 0, &doc, &err) != 0)
        fail_msg("item: %s %s", err.code, err.detail);
    return doc;
}

static void expect(struct fixture *f, const char *extra, const char *want)
{
    struct hd_item_doc *doc = item(extra);
    struct hd_routing r;
    assert_int_equal(hd_route_item(f->cfg, doc, &r), 0);
    char got[512] = "";
    for (size_t i = 0; i < r.n; i++) {
        strcat(got, i ? "," : "");
        strcat(got, r.insts[i]->id);
    }
    if (strcmp(got, want) != 0)
        fail_msg("item %s: routed to [%s], expected [%s] (%s)", extra, got, want, r.explain);
    hd_routing_free(&r);
    hd_item_destroy(doc);
}

#define DEPT   ",\"publisher\":{\"code\":\"YX-FGJ\",\"name\":\"区发改局\",\"kind\":\"department\"}"
#define STREET ",\"publisher\":{\"code\":\"YX-BJJ\",\"name\":\"北京街\",\"kind\":\"street\"}"
#define PRESS  ",\"publisher\":{\"code\":\"YX-XWB\",\"name\":\"区新闻办\",\"kind\":\"department\"}"

static void test_rules(void **state)
{
    struct fixture *f = *state;
    /* the catch-all rule, and a category rule whose disabled instance is dropped */
    expect(f, DEPT ",\"column\":\"政务公开/通知公告\",\"category\":\"notice\"", "website:portal");
    expect(f, DEPT ",\"column\":\"政务公开/规范性文件\",\"category\":\"normative_document\"",
           "website:portal,webhook:ops");
    /* publisher kind AND priority */
    expect(f, STREET ",\"column\":\"街道/通知\",\"category\":\"notice\"", "website:portal");
    expect(f, STREET ",\"column\":\"街道/通知\",\"category\":\"notice\",\"priority\":\"urgent\"",
           "website:portal,webhook:ops");
    /* column prefix pattern: the column itself and below, not a sibling with the same prefix */
    expect(f, PRESS ",\"column\":\"新闻发布会\",\"category\":\"press_conference\"",
           "website:portal,webhook:press");
    expect(f, PRESS ",\"column\":\"新闻发布会/2026\",\"category\":\"press_conference\"",
           "website:portal,webhook:press");
    expect(f, PRESS ",\"column\":\"新闻发布会记录\",\"category\":\"press_conference\"",
           "website:portal");
    expect(f, DEPT ",\"column\":\"新闻发布会/2026\",\"category\":\"press_conference\"",
           "website:portal");
    /* a rule naming instances against configuration order still routes to all of them */
    expect(f, DEPT ",\"column\":\"政府公报\",\"category\":\"gazette\"",
           "website:portal,webhook:ops,webhook:press");
}

static void test_item_targets_override(void **state)
{
    struct fixture *f = *state;
    /* an adapter name selects all its enabled instances; an instance id selects one */
    expect(f,
           DEPT
           ",\"column\":\"c\",\"category\":\"notice\",\"targets\":{\"channels\":[\"webhook\"]}",
           "webhook:ops,webhook:press");
    expect(f,
           DEPT
           ",\"column\":\"c\",\"category\":\"notice\",\"targets\":{\"channels\":[\"webhook:press\","
           "\"wechat:nope\"]}",
           "webhook:press");
    /* named out of configuration order: all of them, in configuration order */
    expect(f,
           DEPT
           ",\"column\":\"c\",\"category\":\"notice\",\"targets\":{\"channels\":[\"webhook:press\","
           "\"website:portal\",\"webhook:ops\"]}",
           "website:portal,webhook:ops,webhook:press");
}

static void test_column_match(void **state)
{
    (void)state;
    assert_true(hd_route_column_match("a/b", "a/b"));
    assert_false(hd_route_column_match("a/b", "a/b/c"));
    assert_true(hd_route_column_match("a/*", "a"));
    assert_true(hd_route_column_match("a/*", "a/b/c"));
    assert_false(hd_route_column_match("a/*", "ab"));
    assert_false(hd_route_column_match(NULL, "a"));
}

static void test_targets(void **state)
{
    (void)state;
    char *streets[] = {"440104001", "440104002", "440104003"};
    struct hd_instance_conf ic = {
        .targets = streets, .n_targets = 3, .targets_from = HD_TARGETS_STREETS};
    const char **t = NULL;
    size_t unknown = 0;
    /* no targets in the item: every configured target */
    struct hd_item_doc *doc = item(DEPT ",\"column\":\"c\",\"category\":\"notice\"");
    assert_int_equal(hd_route_targets(&ic, doc, &t, &unknown), 3);
    assert_int_equal(unknown, 0);
    free(t);
    hd_item_destroy(doc);
    /* the item's streets, known ones only */
    doc = item(DEPT ",\"column\":\"c\",\"category\":\"notice\",\"targets\":{\"streets\":["
                    "\"440104003\",\"440104099\"]}");
    assert_int_equal(hd_route_targets(&ic, doc, &t, &unknown), 1);
    assert_string_equal(t[0], "440104003");
    assert_int_equal(unknown, 1);
    free(t);
    /* a single-target instance has the one empty target */
    struct hd_instance_conf single = {0};
    assert_int_equal(hd_route_targets(&single, doc, &t, &unknown), 1);
    assert_string_equal(t[0], "");
    free(t);
    hd_item_destroy(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_targets),
        cmocka_unit_test_setup_teardown(test_rules, setup, teardown),
        cmocka_unit_test_setup_teardown(test_item_targets_override, setup, teardown),
        cmocka_unit_test(test_column_match),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
