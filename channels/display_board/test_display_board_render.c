/*
 * Render tests of the display_board adapter (CHANNELS.md §4.5): the text built from title +
 * summary + the "详见…" pointer to the portal, one paragraph of plain text, cut to each area's
 * limit (64 single line, 256 panel), characters GBK cannot carry (emoji, CJK extensions, €, •)
 * dropped or replaced — the result checked with iconv directly, not through the adapter's own
 * helper — the validity window, mode and colour, and the config checks. The adapter runs with a
 * stand-in for the core's services (tests/unit/fake_instance.c) whose text helpers are the
 * core's own (src/text.c).
 */
#include <iconv.h>
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

const struct hd_channel *hd_channel_display_board(void);

static int setup(void **state)
{
    fake_reset(hd_channel_display_board(), "board-gateway-secret-0123456789");
    static const char *const areas[] = {"zwfw-center/entrance", "zwfw-center/hall-a",
                                        "bjj-fwzx/led-1"};
    for (size_t i = 0; i < 3; i++)
        F.targets[F.n_targets++] = areas[i];
    fake_conf("url", "http://127.0.0.1:9/gw");
    fake_conf("area_max_chars.zwfw-center/hall-a", "256");
    return 0;
}

/* ---- items ------------------------------------------------------------------------------- */

struct it {
    struct hd_item item;
    char *json;
};

static void item(struct it *x, const char *title, const char *summary, const char *body,
                 const char *expires)
{
    memset(x, 0, sizeof(*x));
    json_t *j =
        json_pack("{s:s,s:s,s:I,s:s}", "schema", "herald.item/v1", "id", "yx-zsj-2026-dp-002",
                  "version", (json_int_t)1, "approved_at", "2026-03-12T16:00:00+08:00");
    if (expires)
        json_object_set_new(j, "schedule", json_pack("{s:s}", "expires_at", expires));
    x->json = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    struct hd_item *i = &x->item;
    i->struct_size = sizeof(*i);
    i->id = "yx-zsj-2026-dp-002";
    i->version = 1;
    i->action = "publish";
    i->category = "notice";
    i->title = title;
    i->summary = summary;
    i->body_html = body;
    i->approved_at = "2026-03-12T16:00:00+08:00";
    hd_time_parse_rfc3339(i->approved_at, &i->approved_at_ms);
    if (expires)
        hd_time_parse_rfc3339(expires, &i->expires_at_ms);
    i->json = x->json;
    i->json_len = strlen(x->json);
}

static const struct hd_dep_result PORTAL = {
    "website:portal", "7946470",
    "https://www.yuexiu.gov.cn/bmxxgk/qzsj/tzgg/content/post_7946470.html"};

/* 1 when every character of s is ASCII or a GBK double-byte character, by iconv itself. */
static int gbk_by_iconv(const char *s)
{
    iconv_t cd = iconv_open("GBK", "UTF-8");
    assert_true(cd != (iconv_t)-1);
    char out[4096], *in = (char *)s, *o = out;
    size_t left = strlen(s), room = sizeof(out);
    size_t rc = iconv(cd, &in, &left, &o, &room);
    iconv_close(cd);
    if (rc == (size_t)-1 || left)
        return 0;
    for (const unsigned char *p = (const unsigned char *)out; p < (const unsigned char *)o; p++) {
        if (*p == 0x80 || *p == 0xff)
            return 0; /* CP936's one-byte € (or junk): not GBK proper */
        if (*p > 0x80)
            p++; /* lead byte: skip the trail byte */
    }
    return 1;
}

static json_t *render_to(void *st, const struct hd_item *i, const char *target, int with_portal,
                         char *err)
{
    struct hd_render_ctx rc = {.struct_size = sizeof(rc),
                               .instance_id = "display_board:halls",
                               .target = target,
                               .idempotency_key = "k",
                               .deps = with_portal ? &PORTAL : NULL,
                               .n_deps = with_portal ? 1 : 0};
    struct hd_payload out;
    memset(&out, 0, sizeof(out));
    err[0] = '\0';
    if (F.chan->render(st, i, &rc, &out, err, 256) != HD_RENDER_OK) {
        assert_null(out.data);
        return NULL;
    }
    json_t *j = json_loadb(out.data, out.len, 0, NULL);
    free(out.data);
    assert_non_null(j);
    const char *text = json_string_value(json_object_get(j, "text"));
    assert_non_null(text);
    assert_true(gbk_by_iconv(text));
    assert_null(strpbrk(text, "\r\n\t<"));
    return j;
}

static const char *text_of(json_t *j)
{
    return json_string_value(json_object_get(j, "text"));
}

#define ENTRANCE "zwfw-center/entrance"
#define HALL     "zwfw-center/hall-a"
#define TITLE    "区政务服务中心3月14日暂停办理不动产登记和社保业务的通知"
#define SUMMARY  "3月14日全天B区暂停不动产登记和社保业务,可通过粤省事在线办理。"

/* ---- tests --------------------------------------------------------------------------------- */

static void test_fields_and_pointer(void **unused)
{
    void *st = fake_make();
    struct it x;
    item(&x, TITLE, SUMMARY, "<p>x</p>", "2026-03-15T00:00:00+08:00");
    char err[256];
    json_t *j = render_to(st, &x.item, HALL, 1, err);
    assert_non_null(j);
    assert_string_equal(text_of(j), TITLE "：" SUMMARY "（详见区政府网站）");
    assert_string_equal(json_string_value(json_object_get(j, "item_id")), "yx-zsj-2026-dp-002");
    assert_int_equal(json_integer_value(json_object_get(j, "revision")), 1);
    assert_string_equal(json_string_value(json_object_get(j, "priority")), "normal");
    assert_string_equal(json_string_value(json_object_get(j, "mode")), "scroll_left");
    assert_int_equal(json_integer_value(json_object_get(j, "speed")), 5);
    assert_int_equal(json_integer_value(json_object_get(j, "stay_s")), 5);
    assert_string_equal(json_string_value(json_object_get(j, "color")), "green");
    assert_string_equal(json_string_value(json_object_get(j, "valid_from")),
                        "2026-03-12T16:00:00+08:00");
    assert_string_equal(json_string_value(json_object_get(j, "valid_until")),
                        "2026-03-15T00:00:00+08:00");
    assert_int_equal(json_object_size(j), 10);
    json_decref(j);
    /* not on the portal: no pointer to it */
    j = render_to(st, &x.item, HALL, 0, err);
    assert_string_equal(text_of(j), TITLE "：" SUMMARY);
    json_decref(j);
    free(x.json);
    F.chan->destroy(st);

    fake_conf("pointer_always", "true");
    fake_conf("pointer", "（详见www.yuexiu.gov.cn）");
    st = fake_make();
    item(&x, TITLE, SUMMARY, "<p>x</p>", NULL);
    j = render_to(st, &x.item, HALL, 0, err);
    assert_string_equal(text_of(j), TITLE "：" SUMMARY "（详见www.yuexiu.gov.cn）");
    assert_null(json_object_get(j, "valid_until")); /* no expires_at, window 0 */
    json_decref(j);
    free(x.json);
    F.chan->destroy(st);
}

static void test_single_line_limit(void **unused)
{
    void *st = fake_make();
    struct it x;
    item(&x, TITLE, SUMMARY, "<p>x</p>", NULL);
    char err[256];
    json_t *j = render_to(st, &x.item, ENTRANCE, 1, err);
    const char *t = text_of(j);
    /* 29 title + ： + cut summary with … + 9 pointer = 64 */
    assert_int_equal(hd_utf8_len(t), 64);
    assert_int_equal(strncmp(t, TITLE "：3月14日", strlen(TITLE "：3月14日")), 0);
    size_t n = strlen(t), p = strlen("…（详见区政府网站）");
    assert_string_equal(t + n - p, "…（详见区政府网站）");
    json_decref(j);
    free(x.json);

    /* a title too long for the line: the summary goes, the title is cut, the pointer stays */
    char title[400] = "";
    for (int i = 0; i < 70; i++)
        strcat(title, "越");
    item(&x, title, SUMMARY, "<p>x</p>", NULL);
    j = render_to(st, &x.item, ENTRANCE, 1, err);
    t = text_of(j);
    assert_int_equal(hd_utf8_len(t), 64);
    assert_null(strstr(t, "粤省事"));
    assert_non_null(strstr(t, "越…（详见区政府网站）"));
    json_decref(j);
    free(x.json);

    /* title and pointer fit but no room for a useful piece of summary: summary dropped */
    char t2[400] = "";
    for (int i = 0; i < 52; i++)
        strcat(t2, "秀");
    item(&x, t2, SUMMARY, "<p>x</p>", NULL);
    j = render_to(st, &x.item, ENTRANCE, 1, err);
    assert_int_equal(hd_utf8_len(text_of(j)), 61);
    assert_null(strstr(text_of(j), "："));
    json_decref(j);
    free(x.json);
    F.chan->destroy(st);
}

static void test_overlong_reject(void **unused)
{
    fake_conf("overlong", "reject");
    void *st = fake_make();
    struct it x;
    item(&x, TITLE, SUMMARY, "<p>x</p>", NULL);
    char err[256];
    assert_null(render_to(st, &x.item, ENTRANCE, 1, err));
    assert_non_null(strstr(err, "text_too_long: 72 characters, the area takes 64"));
    json_t *j = render_to(st, &x.item, HALL, 1, err); /* fits the panel */
    assert_non_null(j);
    json_decref(j);
    free(x.json);
    F.chan->destroy(st);
}

static void test_gbk_dropped(void **unused)
{
    void *st = fake_make();
    struct it x;
    /* emoji with VS16, a ZWJ family, CJK Ext-A and Ext-B, €, •, ©, ™ and ₿ go; 〇, ①,
     * ℃, full-width letters and — stay */
    item(&x, "🌧️暴雨橙色预警👨‍👩‍👧生效㐀𠀀中",
         "气温28℃，请市民减少外出€•©™₿，注意ＡＢＣ①号通告〇—详"
         "见"
         "。",
         "<p>x</p>", NULL);
    char err[256];
    json_t *j = render_to(st, &x.item, HALL, 1, err);
    assert_string_equal(text_of(j),
                        "暴雨橙色预警生效中：气温28℃，请市民减少外出，注意ＡＢＣ①号通告〇—详见。"
                        "（详见区政府网站）");
    json_decref(j);
    free(x.json);
    F.chan->destroy(st);
}

static void test_gbk_replaced(void **unused)
{
    fake_conf("gbk_replacement", "□");
    void *st = fake_make();
    struct it x;
    /* one replacement per run of characters GBK cannot carry; joiners and selectors vanish */
    item(&x, "🌧️暴雨橙色预警👨‍👩‍👧生效㐀𠀀中", "A€•B", "<p>x</p>",
         NULL);
    char err[256];
    json_t *j = render_to(st, &x.item, HALL, 0, err);
    assert_string_equal(text_of(j), "□暴雨橙色预警□生效□中：A□B");
    json_decref(j);
    free(x.json);

    /* nothing left once what GBK cannot carry is taken out: nothing to show */
    F.chan->destroy(st);
    F.n--;
    st = fake_make();
    item(&x, "😀🏠", NULL, "<p>🎉</p>", NULL);
    assert_null(render_to(st, &x.item, HALL, 1, err));
    assert_non_null(strstr(err, "GBK"));
    free(x.json);
    F.chan->destroy(st);
}

static void test_plain_text_one_paragraph(void **unused)
{
    void *st = fake_make();
    struct it x;
    item(&x, "流花街\n暑期办公时间", NULL,
         "<h3>调整时间</h3><p>7月1日至9月30日</p><ul><li>上午&nbsp;8:30-12:00</li><li>下午 "
         "14:30-18:00</li></ul><style>p{}</style>",
         NULL);
    char err[256];
    json_t *j = render_to(st, &x.item, HALL, 0, err);
    assert_string_equal(
        text_of(j),
        "流花街 暑期办公时间：调整时间 7月1日至9月30日 上午 8:30-12:00 下午 14:30-18:00");
    json_decref(j);
    free(x.json);
    F.chan->destroy(st);
}

static void test_area_settings_and_urgent(void **unused)
{
    fake_conf("area_mode.zwfw-center/hall-a", "static");
    fake_conf("window", "2d");
    void *st = fake_make();
    struct it x;
    item(&x, TITLE, SUMMARY, "<p>x</p>", NULL);
    x.item.urgent = 1;
    char err[256];
    json_t *j = render_to(st, &x.item, HALL, 1, err);
    assert_string_equal(json_string_value(json_object_get(j, "mode")), "static");
    assert_string_equal(json_string_value(json_object_get(j, "priority")), "urgent");
    assert_string_equal(json_string_value(json_object_get(j, "color")), "red");
    assert_string_equal(json_string_value(json_object_get(j, "valid_until")),
                        "2026-03-14T16:00:00+08:00");
    json_decref(j);
    j = render_to(st, &x.item, "bjj-fwzx/led-1", 1, err);
    assert_string_equal(json_string_value(json_object_get(j, "mode")), "scroll_left");
    json_decref(j);
    assert_null(render_to(st, &x.item, "no-area", 1, err));
    free(x.json);
    F.chan->destroy(st);
}

static void test_create_checks(void **unused)
{
    void *st = NULL;
    char err[256];
    size_t n0 = F.n;
    fake_conf("pointer", "（详见🔗）");
    assert_int_not_equal(
        F.chan->create((struct hd_instance *)&F, fake_svc(), &st, err, sizeof(err)), 0);
    assert_non_null(strstr(err, "pointer"));
    F.n = n0;
    fake_conf("gbk_replacement", "€");
    assert_int_not_equal(
        F.chan->create((struct hd_instance *)&F, fake_svc(), &st, err, sizeof(err)), 0);
    assert_non_null(strstr(err, "gbk_replacement"));
    F.n = n0;
    fake_conf("area_max_chars.zwfw-center/entrance", "sixty");
    assert_int_not_equal(
        F.chan->create((struct hd_instance *)&F, fake_svc(), &st, err, sizeof(err)), 0);
    assert_non_null(strstr(err, "area_max_chars"));
    F.n = n0;
    fake_conf("area_mode.bjj-fwzx/led-1", "marquee");
    assert_int_not_equal(
        F.chan->create((struct hd_instance *)&F, fake_svc(), &st, err, sizeof(err)), 0);
    assert_non_null(strstr(err, "area_mode"));
    F.n = n0;
    F.targets[F.n_targets++] = "zwfw-center";
    assert_int_not_equal(
        F.chan->create((struct hd_instance *)&F, fake_svc(), &st, err, sizeof(err)), 0);
    assert_non_null(strstr(err, "board/area"));
    F.n_targets--;
    st = fake_make();
    F.chan->destroy(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_fields_and_pointer, setup),
        cmocka_unit_test_setup(test_single_line_limit, setup),
        cmocka_unit_test_setup(test_overlong_reject, setup),
        cmocka_unit_test_setup(test_gbk_dropped, setup),
        cmocka_unit_test_setup(test_gbk_replaced, setup),
        cmocka_unit_test_setup(test_plain_text_one_paragraph, setup),
        cmocka_unit_test_setup(test_area_settings_and_urgent, setup),
        cmocka_unit_test_setup(test_create_checks, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
