/*
 * Render tests of the ejiatong adapter (CHANNELS.md §4.6): the notice body's fields, the title
 * and summary limits (cut on character boundaries or rejected), plain text from HTML, the QR
 * link to the portal article (depends_on result, fallback, none), the validity window, the
 * community target and purity. The adapter runs with a stand-in for the core's services
 * (tests/unit/fake_instance.c) whose text helpers are the core's own (src/text.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <jansson.h>

#include "common.h"
#include "item.h"
#include "fake_instance.h"
#include "text.h"

const struct hd_channel *hd_channel_ejiatong(void);

static int setup(void **state)
{
    fake_reset(hd_channel_ejiatong(), "street-platform-secret-0123456789");
    static const char *const streets[] = {"440104004", "440104012", "440104014"};
    for (size_t i = 0; i < 3; i++)
        F.targets[F.n_targets++] = streets[i];
    fake_conf("url", "http://127.0.0.1:9/gw");
    return 0;
}

/* ---- items ------------------------------------------------------------------------------- */

struct it {
    struct hd_item item;
    char *json;
    struct hd_asset img;
};

static void item(struct it *x, const char *title, const char *summary, const char *body,
                 const char *not_before, const char *expires)
{
    memset(x, 0, sizeof(*x));
    json_t *j = json_pack("{s:s,s:s,s:I,s:s,s:s,s:s}", "schema", "herald.item/v1", "id",
                          "yx-rsj-2026-tz-007", "version", (json_int_t)2, "approved_at",
                          "2026-03-03T10:30:00+08:00", "title", title, "body_html", body);
    if (summary)
        json_object_set_new(j, "summary", json_string(summary));
    if (not_before || expires) {
        json_t *s = json_object();
        if (not_before)
            json_object_set_new(s, "not_before", json_string(not_before));
        if (expires)
            json_object_set_new(s, "expires_at", json_string(expires));
        json_object_set_new(j, "schedule", s);
    }
    x->json = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    struct hd_item *i = &x->item;
    i->struct_size = sizeof(*i);
    i->id = "yx-rsj-2026-tz-007";
    i->version = 2;
    i->action = "publish";
    i->category = "notice";
    i->title = title;
    i->summary = summary;
    i->body_html = body;
    i->approved_at = "2026-03-03T10:30:00+08:00";
    hd_time_parse_rfc3339(i->approved_at, &i->approved_at_ms);
    if (not_before)
        hd_time_parse_rfc3339(not_before, &i->not_before_ms);
    if (expires)
        hd_time_parse_rfc3339(expires, &i->expires_at_ms);
    i->json = x->json;
    i->json_len = strlen(x->json);
}

static const struct hd_dep_result PORTAL = {
    "website:portal", "7946462", "https://www.yuexiu.gov.cn/zwgk/tzgg/content/post_7946462.html"};

/* Renders for street 440104004 with the portal URL (or none); returns the JSON or NULL. */
static json_t *render(void *st, const struct hd_item *i, int with_portal, char *err)
{
    struct hd_render_ctx rc = {.struct_size = sizeof(rc),
                               .instance_id = "ejiatong:streets",
                               .target = "440104004",
                               .idempotency_key = "k",
                               .deps = with_portal ? &PORTAL : NULL,
                               .n_deps = with_portal ? 1 : 0};
    struct hd_payload out;
    memset(&out, 0, sizeof(out));
    err[0] = '\0';
    int r = F.chan->render(st, i, &rc, &out, err, 256);
    if (r != HD_RENDER_OK) {
        assert_null(out.data);
        return NULL;
    }
    assert_string_equal(out.content_type, "application/json; charset=utf-8");
    json_t *j = json_loadb(out.data, out.len, 0, NULL);
    free(out.data);
    assert_non_null(j);
    return j;
}

#define S(j, k) json_string_value(json_object_get((j), (k)))

/* ---- tests --------------------------------------------------------------------------------- */

static void test_fields(void **unused)
{
    void *st = fake_make();
    struct it x;
    item(&x, "越秀区2026年春风行动专场招聘会通知", "3月8日上午9时在区人力资源市场举办。",
         "<p>x</p>", NULL, NULL);
    x.img = (struct hd_asset){.url = "https://www.yuexiu.gov.cn/attachment/a.jpg", .size = -1};
    x.item.images = &x.img;
    x.item.n_images = 1;
    char err[256];
    json_t *j = render(st, &x.item, 1, err);
    assert_non_null(j);
    assert_string_equal(S(j, "item_id"), "yx-rsj-2026-tz-007");
    assert_int_equal(json_integer_value(json_object_get(j, "revision")), 2);
    assert_string_equal(S(j, "category"), "notice");
    assert_string_equal(S(j, "title"), "越秀区2026年春风行动专场招聘会通知");
    assert_string_equal(S(j, "summary"), "3月8日上午9时在区人力资源市场举办。");
    assert_string_equal(S(j, "qr_url"), PORTAL.url);
    assert_string_equal(S(j, "image_url"), "https://www.yuexiu.gov.cn/attachment/a.jpg");
    assert_string_equal(S(j, "valid_from"), "2026-03-03T10:30:00+08:00");
    assert_string_equal(S(j, "valid_until"), "2026-04-02T10:30:00+08:00"); /* + validity 30d */
    assert_true(json_is_true(json_object_get(json_object_get(j, "target"), "all_communities")));
    assert_string_equal(S(j, "priority"), "normal");
    assert_int_equal(json_object_size(j), 11);
    json_decref(j);
    free(x.json);
    F.chan->destroy(st);
}

static void test_title_cut_on_a_character_boundary(void **unused)
{
    void *st = fake_make();
    struct it x;
    /* 45 characters, CJK and ASCII mixed: cut to 40 with the ellipsis, never mid-character */
    const char *title =
        "关于2026年越秀区旧楼加装电梯财政补助资金申报工作及有关事项办理流程的补充通知ABCDEFGHI";
    item(&x, title, "s", "<p>x</p>", NULL, NULL);
    char err[256];
    json_t *j = render(st, &x.item, 1, err);
    assert_non_null(j);
    assert_int_equal(hd_utf8_len(S(j, "title")), 40);
    assert_true(hd_utf8_valid(S(j, "title"), strlen(S(j, "title"))));
    assert_non_null(strstr(S(j, "title"), "…"));
    assert_int_equal(strncmp(S(j, "title"), title, strlen(S(j, "title")) - strlen("…")), 0);
    json_decref(j);
    free(x.json);
    F.chan->destroy(st);
}

static void test_overlong_reject(void **unused)
{
    fake_conf("overlong", "reject");
    void *st = fake_make();
    struct it x;
    char big[700] = "";
    for (int i = 0; i < 201; i++)
        strcat(big, "通");
    item(&x, "短标题", big, "<p>x</p>", NULL, NULL);
    char err[256];
    assert_null(render(st, &x.item, 1, err));
    assert_non_null(strstr(err, "summary has 201 characters, the platform takes 200"));
    free(x.json);
    F.chan->destroy(st);
}

static void test_summary_limit_and_plain_text(void **unused)
{
    void *st = fake_make();
    struct it x;
    char big[1200] = "";
    for (int i = 0; i < 300; i++)
        strcat(big, "社");
    item(&x, "t", big, "<p>x</p>", NULL, NULL);
    char err[256];
    json_t *j = render(st, &x.item, 1, err);
    assert_int_equal(hd_utf8_len(S(j, "summary")), 200);
    json_decref(j);
    free(x.json);

    /* no summary: the body as plain text on one line, entities decoded, tags gone */
    item(&x, "t", NULL,
         "<h3>一、时间</h3><p>3月8日&nbsp;9:00&mdash;12:00</p>\n<p>地点：<b>中山六路</b> "
         "&lt;区人力资源市场&gt;</p><script>x()</script>",
         NULL, NULL);
    j = render(st, &x.item, 1, err);
    assert_non_null(j);
    assert_string_equal(S(j, "summary"),
                        "一、时间 3月8日 9:00—12:00 地点：中山六路 <区人力资源市场>");
    json_decref(j);
    free(x.json);

    /* a summary with markup is made plain too; white space collapses */
    item(&x, "标题\n第二行", "<p>第一段</p><p>第二段</p>", "<p>x</p>", NULL, NULL);
    j = render(st, &x.item, 1, err);
    assert_string_equal(S(j, "title"), "标题 第二行");
    assert_string_equal(S(j, "summary"), "第一段 第二段");
    json_decref(j);
    free(x.json);
    F.chan->destroy(st);
}

static void test_qr_link(void **unused)
{
    void *st = fake_make();
    struct it x;
    item(&x, "t", "s", "<p>x</p>", NULL, NULL);
    char err[256];
    assert_null(render(st, &x.item, 0, err));
    assert_non_null(strstr(err, "no_portal_url"));
    F.chan->destroy(st);

    fake_conf("qr_fallback_url", "https://www.yuexiu.gov.cn/");
    st = fake_make();
    json_t *j = render(st, &x.item, 0, err);
    assert_string_equal(S(j, "qr_url"), "https://www.yuexiu.gov.cn/");
    json_decref(j);
    j = render(st, &x.item, 1, err); /* the article beats the fallback */
    assert_string_equal(S(j, "qr_url"), PORTAL.url);
    json_decref(j);
    free(x.json);
    F.chan->destroy(st);
}

static void test_window_and_target(void **unused)
{
    fake_conf("communities.440104004", "440104004001, 440104004002");
    fake_conf("validity", "7d");
    void *st = fake_make();
    struct it x;
    item(&x, "t", "s", "<p>x</p>", "2026-03-20T15:00:00+08:00", "2026-04-02T18:00:00+08:00");
    x.item.urgent = 1;
    x.item.category = "emergency";
    char err[256];
    json_t *j = render(st, &x.item, 1, err);
    assert_string_equal(S(j, "valid_from"), "2026-03-20T15:00:00+08:00");
    assert_string_equal(S(j, "valid_until"), "2026-04-02T18:00:00+08:00");
    assert_string_equal(S(j, "priority"), "urgent");
    assert_string_equal(S(j, "category"), "emergency");
    json_t *codes = json_object_get(json_object_get(j, "target"), "community_codes");
    assert_int_equal(json_array_size(codes), 2);
    assert_string_equal(json_string_value(json_array_get(codes, 1)), "440104004002");
    assert_null(json_object_get(json_object_get(j, "target"), "all_communities"));
    json_decref(j);
    free(x.json);

    /* not_before without expires_at: valid_until = not_before + validity, same offset */
    item(&x, "t", "s", "<p>x</p>", "2026-03-20T15:00:00+08:00", NULL);
    j = render(st, &x.item, 1, err);
    assert_string_equal(S(j, "valid_until"), "2026-03-27T15:00:00+08:00");
    json_decref(j);
    free(x.json);
    F.chan->destroy(st);
}

static void test_pure(void **unused)
{
    void *st = fake_make();
    struct it x;
    item(&x, "越秀区春风行动", "摘要", "<p>x</p>", NULL, NULL);
    struct hd_render_ctx rc = {
        .struct_size = sizeof(rc), .target = "440104014", .deps = &PORTAL, .n_deps = 1};
    struct hd_payload a, b;
    memset(&a, 0, sizeof(a));
    memset(&b, 0, sizeof(b));
    char err[256];
    assert_int_equal(F.chan->render(st, &x.item, &rc, &a, err, sizeof(err)), HD_RENDER_OK);
    assert_int_equal(F.chan->render(st, &x.item, &rc, &b, err, sizeof(err)), HD_RENDER_OK);
    assert_int_equal(a.len, b.len);
    assert_memory_equal(a.data, b.data, a.len);
    assert_non_null(strstr(a.summary, "440104014"));
    free(a.data);
    free(b.data);
    free(x.json);
    F.chan->destroy(st);
}

static void test_create_checks(void **unused)
{
    void *st = NULL;
    char err[256];
    F.targets[F.n_targets++] = "4401/04";
    assert_int_not_equal(
        F.chan->create((struct hd_instance *)&F, fake_svc(), &st, err, sizeof(err)), 0);
    assert_non_null(strstr(err, "targets"));
    F.n_targets--;
    fake_conf("street_urls.440104012", "ftp://x");
    assert_int_not_equal(
        F.chan->create((struct hd_instance *)&F, fake_svc(), &st, err, sizeof(err)), 0);
    assert_non_null(strstr(err, "street_urls"));
    F.v[F.n - 1] = "http://10.0.0.12/ejt";
    fake_conf("communities.440104014", "a;b");
    assert_int_not_equal(
        F.chan->create((struct hd_instance *)&F, fake_svc(), &st, err, sizeof(err)), 0);
    assert_non_null(strstr(err, "communities"));
    unsigned caps = F.chan->caps;
    assert_true(caps & HD_CAP_MULTI_TARGET && caps & HD_CAP_WINDOWED && caps & HD_CAP_IDEMPOTENT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_fields, setup),
        cmocka_unit_test_setup(test_title_cut_on_a_character_boundary, setup),
        cmocka_unit_test_setup(test_overlong_reject, setup),
        cmocka_unit_test_setup(test_summary_limit_and_plain_text, setup),
        cmocka_unit_test_setup(test_qr_link, setup),
        cmocka_unit_test_setup(test_window_and_target, setup),
        cmocka_unit_test_setup(test_pure, setup),
        cmocka_unit_test_setup(test_create_checks, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
