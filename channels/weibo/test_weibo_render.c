/*
 * Unit tests of the weibo adapter's pure parts: the text rules shared with the simulator
 * (weibo_rules.h: the pinned length rule, URLs and the secure domain, topic tags, the normal
 * form), render() through the adapter's own table with a stand-in services table (the post's
 * text, its link, truncation on character boundaries, pictures, refusals), create()'s checks,
 * and the helpers of weibo.c (error-code classes, error bodies, created_at, form escaping).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "text.h"
#include "weibo_int.h"
#include "weibo_rules.h"

const struct hd_channel *hd_channel_weibo(void);

#define LINK "https://www.yuexiu.gov.cn/zwgk/tzgg/content/post_7946462.html" /* 61 */

/* ---- a stand-in for the core's services ------------------------------------------------------ */

struct fake {
    const char *strs[16][2];
    const char *deps; /* depends_on's single item, NULL for none */
    int pic;
    long text_limit;
};
static struct fake F;

static const char *f_str(struct hd_instance *in, const char *key)
{
    for (int i = 0; i < 16 && F.strs[i][0]; i++)
        if (strcmp(F.strs[i][0], key) == 0)
            return F.strs[i][1];
    return NULL;
}

static int64_t f_int(struct hd_instance *in, const char *key)
{
    if (strcmp(key, "text_limit") == 0)
        return F.text_limit;
    if (strcmp(key, "lookup_pages") == 0)
        return 3;
    return 1000;
}

static int f_bool(struct hd_instance *in, const char *key)
{
    if (strcmp(key, "pic") == 0)
        return F.pic;
    return strcmp(key, "token_check") != 0;
}

static size_t f_list(struct hd_instance *in, const char *key, const char *const **items)
{
    static const char *one[1];
    one[0] = F.deps;
    *items = one;
    return strcmp(key, "depends_on") == 0 && F.deps ? 1 : 0;
}

static const char *f_secret(struct hd_instance *in, const char *key, size_t *len)
{
    const char *v = f_str(in, key);
    if (len)
        *len = v ? strlen(v) : 0;
    return v;
}

static void f_log(struct hd_instance *in, enum hd_log_level level, const char *fmt, ...)
{
    (void)in;
    (void)level;
    (void)fmt;
}

static int f_quota_define(struct hd_instance *in, const char *name, int64_t limit, int64_t win)
{
    return 0;
}

static const char *f_id(struct hd_instance *in)
{
    return "weibo:official";
}

static struct hd_services svc = {
    .struct_size = sizeof(struct hd_services),
    .abi_version = HD_ABI_VERSION,
    .conf_str = f_str,
    .conf_int = f_int,
    .conf_bool = f_bool,
    .conf_list = f_list,
    .conf_secret = f_secret,
    .instance_id = f_id,
    .log = f_log,
    .utf8_len = hd_utf8_len,
    .utf8_valid = hd_utf8_valid,
    .utf8_truncate = hd_utf8_truncate,
    .html_to_text = hd_html_to_text,
    .sha256_hex = hd_sha256_hex,
    .quota_define = f_quota_define,
};

static void defaults(void)
{
    memset(&F, 0, sizeof(F));
    const char *kv[][2] = {{"base_url", "https://api.weibo.com"},
                           {"secure_domain", "www.yuexiu.gov.cn"},
                           {"rip", "203.0.113.7"},
                           {"access_token", "2.00token"}};
    memcpy(F.strs, kv, sizeof(kv));
    F.deps = "website:portal";
    F.pic = 1;
    F.text_limit = 140;
}

static void *make(void)
{
    void *st = NULL;
    char err[300] = "";
    int rc = hd_channel_weibo()->create((struct hd_instance *)&F, &svc, &st, err, sizeof(err));
    if (rc != 0)
        fail_msg("create: %s", err);
    return st;
}

static int create_error(char *err, size_t len)
{
    void *st = NULL;
    int rc = hd_channel_weibo()->create((struct hd_instance *)&F, &svc, &st, err, len);
    if (rc == 0)
        hd_channel_weibo()->destroy(st);
    return rc;
}

struct rendered {
    int rc;
    char err[512];
    json_t *doc;
    const char *text;
};

static struct rendered run(const struct hd_item *it, const char *dep_url)
{
    struct rendered r = {0};
    void *st = make();
    struct hd_dep_result dep = {"website:portal", "7946462", dep_url};
    struct hd_render_ctx rc = {.struct_size = sizeof(rc),
                               .instance_id = "weibo:official",
                               .target = "",
                               .idempotency_key = "k",
                               .deps = &dep,
                               .n_deps = dep_url ? 1 : 0};
    struct hd_payload out = {0};
    r.rc = hd_channel_weibo()->render(st, it, &rc, &out, r.err, sizeof(r.err));
    if (r.rc == HD_RENDER_OK) {
        r.doc = json_loadb(out.data, out.len, 0, NULL);
        r.text = json_string_value(json_object_get(r.doc, "status"));
        assert_non_null(r.text);
        /* whatever render makes obeys the rules the simulator enforces */
        const char *doms[] = {"www.yuexiu.gov.cn"};
        assert_true(wb_text_weight(r.text) <= F.text_limit);
        assert_false(wb_has_topic(r.text));
        assert_true(wb_has_secure_link(r.text, doms, 1));
        assert_true(hd_utf8_valid(r.text, strlen(r.text)));
        assert_int_equal(json_integer_value(json_object_get(r.doc, "weight")),
                         wb_text_weight(r.text));
    }
    free(out.data);
    hd_channel_weibo()->destroy(st);
    return r;
}

static struct hd_item item(const char *title, const char *summary)
{
    struct hd_item it = {.struct_size = sizeof(it),
                         .id = "yx-1",
                         .version = 1,
                         .action = "publish",
                         .title = title,
                         .summary = summary,
                         .body_html = "<p>正文</p>"};
    return it;
}

static char *repeat(const char *s, int n)
{
    size_t l = strlen(s);
    char *out = malloc(l * (size_t)n + 1);
    for (int i = 0; i < n; i++)
        memcpy(out + l * (size_t)i, s, l);
    out[l * (size_t)n] = '\0';
    return out;
}

static int ends_with(const char *s, const char *tail)
{
    size_t a = strlen(s), b = strlen(tail);
    return a >= b && strcmp(s + a - b, tail) == 0;
}

/* ---- the shared rules ------------------------------------------------------------------------ */

static void test_weight_rule(void **state)
{
    (void)state;
    assert_int_equal(wb_text_weight(""), 0);
    assert_int_equal(wb_text_weight("abc"), 3);              /* ASCII counts 1, not 1/2 */
    assert_int_equal(wb_text_weight("越秀区"), 3);           /* CJK 1 */
    assert_int_equal(wb_text_weight("\xf0\x9f\x98\x80"), 2); /* emoji: two UTF-16 units */
    assert_int_equal(wb_text_weight("【】…，。"), 5);        /* full-width punctuation 1 */
    assert_int_equal(wb_text_weight("\xf0\xa0\x80\x80"), 2); /* CJK Ext. B (astral) 2 */
    assert_int_equal(wb_text_weight(LINK), 61);              /* a URL at full length */
    assert_int_equal(wb_text_weight("a\xff"), -1);           /* not UTF-8 */
    assert_int_equal(wb_text_weight("\xed\xa0\x80"), -1);    /* a surrogate */
    assert_int_equal(wb_text_weight("\xc0\xaf"), -1);        /* overlong */
}

static void test_urls_and_domain(void **state)
{
    (void)state;
    const char *d[] = {"www.yuexiu.gov.cn"};
    const char *parent[] = {"yuexiu.gov.cn"};
    assert_true(wb_has_secure_link("见 " LINK, d, 1));
    assert_true(wb_has_secure_link("见" LINK "。", d, 1)); /* CJK right before and after */
    assert_true(wb_has_secure_link("HTTP://WWW.YUEXIU.GOV.CN/a", d, 1));
    assert_true(wb_has_secure_link("http://www.yuexiu.gov.cn:8080/a", d, 1));
    assert_true(wb_has_secure_link("https://www.yuexiu.gov.cn", d, 1));
    assert_true(wb_has_secure_link("https://www.yuexiu.gov.cn/a", parent, 1));
    assert_false(wb_has_secure_link("没有链接", d, 1));
    assert_false(wb_has_secure_link("www.yuexiu.gov.cn/a", d, 1)); /* no scheme: no URL */
    assert_false(wb_has_secure_link("https://yuexiu.gov.cn/a", d, 1));
    assert_false(wb_has_secure_link("https://evilwww.yuexiu.gov.cn/a", d, 1));
    assert_false(wb_has_secure_link("https://www.yuexiu.gov.cn.evil.com/a", d, 1));
    assert_false(wb_has_secure_link("https://www.yuexiu.gov.cn@evil.com/a", d, 1));
    assert_false(wb_has_secure_link("https://", d, 1));
}

static void test_topics_and_normal_form(void **state)
{
    (void)state;
    assert_true(wb_has_topic("#越秀发布# 通知"));
    assert_true(wb_has_topic("通知 #a#"));
    assert_false(wb_has_topic("第1号#通知"));
    assert_false(wb_has_topic("##"));
    assert_false(
        wb_has_topic("＃全角＃")); /* the documented tag is ASCII '#'; render drops ＃ too */
    char *n = wb_normalize("【通知】 越秀区\t发布\u3000通知 " LINK " 完");
    assert_string_equal(n, "【通知】越秀区发布通知完");
    free(n);
    n = wb_normalize("a http://t.cn/AbCd1234 b");
    assert_string_equal(n, "ab");
    free(n);
}

static void test_cut_on_boundaries(void **state)
{
    (void)state;
    long w;
    /* 越 越 😀: cutting at 3 must not take half the emoji */
    assert_int_equal(wb_cut("越越\xf0\x9f\x98\x80", 3, &w), 6);
    assert_int_equal(w, 2);
    assert_int_equal(wb_cut("越越\xf0\x9f\x98\x80", 4, &w), 10);
    /* 👍🏽 (thumbs up + skin tone): never separated */
    const char *thumbs = "ab\xf0\x9f\x91\x8d\xf0\x9f\x8f\xbd";
    assert_int_equal(wb_cut(thumbs, 4, &w), 2);
    assert_int_equal(wb_cut(thumbs, 6, &w), strlen(thumbs));
    /* 👨‍👩 (man ZWJ woman): a cut after the ZWJ backs off before the man */
    const char *family = "a\xf0\x9f\x91\xa8\xe2\x80\x8d\xf0\x9f\x91\xa9";
    assert_int_equal(wb_cut(family, 4, &w), 1);
    assert_int_equal(wb_cut(family, 3, &w), 1);
    /* e + combining acute: the mark stays with its letter */
    assert_int_equal(wb_cut("xe\xcc\x81y", 2, &w), 1);
    assert_int_equal(wb_cut("xe\xcc\x81y", 3, &w), 4);
}

/* ---- render ---------------------------------------------------------------------------------- */

static void test_render_plain(void **state)
{
    (void)state;
    defaults();
    struct hd_item it =
        item("关于开展2024年度政务公开工作的通知", "越秀区政务服务数据管理局发布。");
    struct rendered r = run(&it, LINK);
    assert_int_equal(r.rc, HD_RENDER_OK);
    assert_string_equal(
        r.text, "【关于开展2024年度政务公开工作的通知】越秀区政务服务数据管理局发布。 " LINK);
    assert_string_equal(json_string_value(json_object_get(r.doc, "link")), LINK);
    char *norm = wb_normalize(r.text), sha[65];
    hd_sha256_hex(norm, strlen(norm), sha);
    assert_string_equal(json_string_value(json_object_get(r.doc, "norm_sha256")), sha);
    free(norm);
    assert_null(json_object_get(r.doc, "pic"));
    /* pure: the same input renders the same bytes */
    struct rendered again = run(&it, LINK);
    assert_string_equal(r.text, again.text);
    json_decref(r.doc);
    json_decref(again.doc);
}

static void test_render_truncates_cjk_exactly(void **state)
{
    (void)state;
    defaults();
    char *sum = repeat("越", 200);
    struct hd_item it = item("标题", sum);
    struct rendered r = run(&it, LINK);
    assert_int_equal(r.rc, HD_RENDER_OK);
    assert_int_equal(wb_text_weight(r.text), 140); /* filled to the limit, not beyond */
    assert_true(strstr(r.text, "越… " LINK) != NULL);
    assert_true(strncmp(r.text, "【标题】越", strlen("【标题】越")) == 0);
    free(sum);
    json_decref(r.doc);
}

static void test_render_truncates_ascii_at_one_each(void **state)
{
    (void)state;
    defaults();
    char *sum = repeat("Notice ", 40);
    struct hd_item it = item("English", sum);
    struct rendered r = run(&it, LINK);
    assert_int_equal(r.rc, HD_RENDER_OK);
    /* 140 - 62 (space + link) = 78 for "【English】" (9) + summary + "…" */
    assert_int_equal(wb_text_weight(r.text), 140);
    free(sum);
    json_decref(r.doc);
}

static void test_render_never_splits_emoji(void **state)
{
    (void)state;
    defaults();
    for (int shift = 0; shift < 2; shift++) {
        char *sum = repeat("\xf0\x9f\x98\x80", 60);
        char title[16];
        snprintf(title, sizeof(title), "%s", shift ? "题目" : "题");
        struct hd_item it = item(title, sum);
        struct rendered r = run(&it, LINK);
        assert_int_equal(r.rc, HD_RENDER_OK);
        long w = wb_text_weight(r.text);
        assert_true(w == 140 || w == 139); /* 139 when one more emoji would weigh 141 */
        assert_true(strstr(r.text, "\xf0\x9f\x98\x80…") != NULL);
        free(sum);
        json_decref(r.doc);
    }
}

static void test_render_zwj_and_combining_at_the_cut(void **state)
{
    (void)state;
    defaults();
    /* 【T】 (3) + summary; room for it = 140 - 62 - 3 - 1 (…) = 74. 70 'x', then a ZWJ family
     * (man 2, ZWJ 1, woman 2): the cut falls right after the ZWJ and backs off before the man. */
    char *x = repeat("x", 70), sum[400], want[300];
    snprintf(sum, sizeof(sum), "%s\xf0\x9f\x91\xa8\xe2\x80\x8d\xf0\x9f\x91\xa9 more text", x);
    struct hd_item it = item("T", sum);
    struct rendered r = run(&it, LINK);
    assert_int_equal(r.rc, HD_RENDER_OK);
    snprintf(want, sizeof(want), "【T】%s… " LINK, x);
    assert_string_equal(r.text, want);
    json_decref(r.doc);
    free(x);
    /* 73 'x', then e + combining acute: the cut falls between them and takes neither */
    x = repeat("x", 73);
    snprintf(sum, sizeof(sum), "%se\xcc\x81 more text and more", x);
    it = item("T", sum);
    r = run(&it, LINK);
    assert_int_equal(r.rc, HD_RENDER_OK);
    snprintf(want, sizeof(want), "【T】%s… " LINK, x);
    assert_string_equal(r.text, want);
    free(x);
    json_decref(r.doc);
}

static void test_render_strips_topics(void **state)
{
    (void)state;
    defaults();
    struct hd_item it = item("#越秀发布#关于＃防汛＃的通知", "请关注#防汛#信息，第3#号");
    struct rendered r = run(&it, LINK);
    assert_int_equal(r.rc, HD_RENDER_OK);
    assert_string_equal(r.text, "【越秀发布关于防汛的通知】请关注防汛信息，第3号 " LINK);
    assert_null(strchr(r.text, '#'));
    json_decref(r.doc);
}

static void test_render_link_choice(void **state)
{
    (void)state;
    defaults();
    struct hd_item it = item("标题", "摘要");
    struct rendered r = run(&it, LINK "#section");
    assert_int_equal(r.rc, HD_RENDER_OK); /* the fragment is dropped (a '#' in the text) */
    assert_true(ends_with(r.text, " " LINK));
    json_decref(r.doc);
    r = run(&it, "https://www.example.com/a.html");
    assert_int_equal(r.rc, HD_RENDER_REJECT);
    assert_non_null(strstr(r.err, "secure_domain"));
    r = run(&it, NULL);
    assert_int_equal(r.rc, HD_RENDER_REJECT);
    assert_non_null(strstr(r.err, "no portal link"));
    r = run(&it, "https://www.yuexiu.gov.cn/有空格 a.html");
    assert_int_equal(r.rc, HD_RENDER_REJECT);
    /* of two dependencies, the one under the secure domain */
    void *st = make();
    struct hd_dep_result deps[] = {{"website:other", "1", "https://www.example.com/x"},
                                   {"website:portal", "2", LINK}};
    struct hd_render_ctx rc = {.struct_size = sizeof(rc), .deps = deps, .n_deps = 2};
    struct hd_payload out = {0};
    char err[200];
    assert_int_equal(hd_channel_weibo()->render(st, &it, &rc, &out, err, sizeof(err)),
                     HD_RENDER_OK);
    assert_non_null(strstr(out.data, "post_7946462"));
    free(out.data);
    hd_channel_weibo()->destroy(st);
}

static void test_render_link_too_long(void **state)
{
    (void)state;
    defaults();
    char link[400];
    char *p = repeat("p", 100);
    snprintf(link, sizeof(link), "%s?%s", LINK, p);
    struct hd_item it = item("标题", "摘要");
    struct rendered r = run(&it, link);
    assert_int_equal(r.rc, HD_RENDER_REJECT);
    assert_non_null(strstr(r.err, "no room"));
    free(p);
}

static void test_render_sources_of_text(void **state)
{
    (void)state;
    defaults();
    /* no summary: the body's text */
    struct hd_item it = item("标题", NULL);
    it.body_html = "<p>第一段。</p><p>第二段。</p>";
    struct rendered r = run(&it, LINK);
    assert_int_equal(r.rc, HD_RENDER_OK);
    assert_string_equal(r.text, "【标题】第一段。 第二段。 " LINK);
    json_decref(r.doc);
    /* a summary equal to the title is not repeated; white space and controls are tidied */
    it = item("  越秀\t通知\x01 ", "越秀 通知");
    r = run(&it, LINK);
    assert_int_equal(r.rc, HD_RENDER_OK);
    assert_string_equal(r.text, "【越秀 通知】 " LINK);
    json_decref(r.doc);
    /* nothing at all */
    it = item("", "");
    it.body_html = NULL;
    r = run(&it, LINK);
    assert_int_equal(r.rc, HD_RENDER_REJECT);
}

static void test_render_long_title(void **state)
{
    (void)state;
    defaults();
    char *t = repeat("长", 120);
    struct hd_item it = item(t, "摘要");
    struct rendered r = run(&it, LINK);
    assert_int_equal(r.rc, HD_RENDER_OK);
    assert_int_equal(wb_text_weight(r.text), 140);
    assert_true(strstr(r.text, "长…】 " LINK) != NULL);
    free(t);
    json_decref(r.doc);
    /* a lower text_limit is honoured */
    F.text_limit = 100;
    char *s = repeat("越", 100);
    it = item("标题", s);
    r = run(&it, LINK);
    assert_int_equal(r.rc, HD_RENDER_OK);
    assert_int_equal(wb_text_weight(r.text), 100);
    free(s);
    json_decref(r.doc);
}

static void test_render_picture_choice(void **state)
{
    (void)state;
    defaults();
    struct hd_asset imgs[] = {
        {"https://a/x.bmp", NULL, "image/bmp", NULL, 100},
        {"https://a/big.jpg", NULL, "image/jpeg", NULL, 5 * 1024 * 1024},
        {"https://a/ok.png", "ab12", "image/png", "图", 4000},
        {"https://a/late.gif", NULL, "image/gif", NULL, 10},
    };
    struct hd_item it = item("标题", "摘要");
    it.images = imgs;
    it.n_images = 4;
    struct rendered r = run(&it, LINK);
    json_t *pic = json_object_get(r.doc, "pic");
    assert_string_equal(json_string_value(json_object_get(pic, "url")), "https://a/ok.png");
    assert_string_equal(json_string_value(json_object_get(pic, "sha256")), "ab12");
    json_decref(r.doc);
    F.pic = 0;
    r = run(&it, LINK);
    assert_null(json_object_get(r.doc, "pic"));
    json_decref(r.doc);
}

static void test_create_checks(void **state)
{
    (void)state;
    char err[300];
    defaults();
    F.deps = NULL;
    assert_int_not_equal(create_error(err, sizeof(err)), 0);
    assert_non_null(strstr(err, "depends_on"));
    defaults();
    F.strs[2][1] = "10.0.0.300";
    assert_int_not_equal(create_error(err, sizeof(err)), 0);
    assert_non_null(strstr(err, "rip"));
    defaults();
    F.strs[1][1] = "https://www.yuexiu.gov.cn/";
    assert_int_not_equal(create_error(err, sizeof(err)), 0);
    assert_non_null(strstr(err, "secure_domain"));
    defaults();
    F.strs[4][0] = "on_revision";
    F.strs[4][1] = "update";
    assert_int_not_equal(create_error(err, sizeof(err)), 0);
    assert_non_null(strstr(err, "cannot be edited"));
    defaults();
    F.strs[3][1] = "two\nlines";
    assert_int_not_equal(create_error(err, sizeof(err)), 0);
    defaults();
    assert_int_equal(create_error(err, sizeof(err)), 0);
}

/* ---- helpers --------------------------------------------------------------------------------- */

static void test_error_classes(void **state)
{
    (void)state;
    const struct {
        long code;
        enum hd_weibo_class cls;
    } cases[] = {
        {10001, HD_WB_TRANSIENT}, {10002, HD_WB_TRANSIENT}, {10003, HD_WB_TRANSIENT},
        {10009, HD_WB_TRANSIENT}, {10010, HD_WB_TRANSIENT}, {10011, HD_WB_TRANSIENT},
        {10022, HD_WB_RATE},      {10023, HD_WB_RATE},      {10024, HD_WB_RATE},
        {20016, HD_WB_RATE},      {10014, HD_WB_CONFIG},    {10017, HD_WB_CONFIG},
        {20003, HD_WB_CONFIG},    {10016, HD_WB_CONFIG},    {10006, HD_WB_CONFIG},
        {20005, HD_WB_CONTENT},   {20006, HD_WB_CONTENT},   {20007, HD_WB_CONTENT},
        {20012, HD_WB_CONTENT},   {20018, HD_WB_CONTENT},   {20020, HD_WB_CONTENT},
        {20021, HD_WB_CONTENT},   {20017, HD_WB_DUPLICATE}, {20019, HD_WB_DUPLICATE},
        {20111, HD_WB_DUPLICATE}, {20032, HD_WB_DELAYED},   {20101, HD_WB_GONE},
        {20102, HD_WB_NOT_OWN},   {21314, HD_WB_REAUTH},    {21315, HD_WB_REAUTH},
        {21316, HD_WB_REAUTH},    {21317, HD_WB_REAUTH},    {21319, HD_WB_REAUTH},
        {21327, HD_WB_REAUTH},    {21332, HD_WB_REAUTH},    {21301, HD_WB_REAUTH},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        if (hd_weibo_classify(cases[i].code) != cases[i].cls)
            fail_msg("code %ld: got %s, want %s", cases[i].code,
                     hd_weibo_class_name(hd_weibo_classify(cases[i].code)),
                     hd_weibo_class_name(cases[i].cls));
    }
}

static void test_error_body(void **state)
{
    (void)state;
    const char *s =
        "{\"request\":\"/2/statuses/share.json\",\"error_code\":\"20019\",\"error\":\"x\"}";
    const char *n = "{\"request\":\"/2/statuses/share.json\",\"error_code\":21327,\"error\":\"x\"}";
    assert_int_equal(hd_weibo_error_code(s, strlen(s)), 20019);
    assert_int_equal(hd_weibo_error_code(n, strlen(n)), 21327);
    assert_int_equal(hd_weibo_error_code("{\"id\":1}", 8), 0);
    assert_int_equal(hd_weibo_error_code("{\"error_code\":\"x1\"}", 19), 0);
    assert_int_equal(hd_weibo_error_code("<html>", 6), 0);
    assert_int_equal(hd_weibo_error_code(NULL, 0), 0);
}

static void test_time_and_escape(void **state)
{
    (void)state;
    int64_t ms;
    assert_int_equal(hd_weibo_parse_time("Tue May 31 17:46:55 +0800 2011", &ms), 0);
    assert_int_equal(ms, 1306835215000LL);
    assert_int_equal(hd_weibo_parse_time("Fri Mar 31 23:47:24 -0130 2017", &ms), 0);
    assert_int_equal(hd_weibo_parse_time("2011-05-31T17:46:55+08:00", &ms), -1);
    assert_int_equal(hd_weibo_parse_time("Tue Mai 31 17:46:55 +0800 2011", &ms), -1);
    assert_int_equal(hd_weibo_parse_time(NULL, &ms), -1);
    char *e = hd_weibo_form_escape("a b&c=越+~");
    assert_string_equal(e, "a%20b%26c%3D%E8%B6%8A%2B~");
    free(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_weight_rule),
        cmocka_unit_test(test_urls_and_domain),
        cmocka_unit_test(test_topics_and_normal_form),
        cmocka_unit_test(test_cut_on_boundaries),
        cmocka_unit_test(test_render_plain),
        cmocka_unit_test(test_render_truncates_cjk_exactly),
        cmocka_unit_test(test_render_truncates_ascii_at_one_each),
        cmocka_unit_test(test_render_never_splits_emoji),
        cmocka_unit_test(test_render_zwj_and_combining_at_the_cut),
        cmocka_unit_test(test_render_strips_topics),
        cmocka_unit_test(test_render_link_choice),
        cmocka_unit_test(test_render_link_too_long),
        cmocka_unit_test(test_render_sources_of_text),
        cmocka_unit_test(test_render_long_title),
        cmocka_unit_test(test_render_picture_choice),
        cmocka_unit_test(test_create_checks),
        cmocka_unit_test(test_error_classes),
        cmocka_unit_test(test_error_body),
        cmocka_unit_test(test_time_and_escape),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
