/*
 * WeChat render tests (cmocka): the limits of CHANNELS.md §1.3 as the adapter applies them
 * before sending — title, author, digest, content length; truncation on character and grapheme
 * boundaries (CJK, emoji, flags, combining marks); the summary + 阅读原文 fallback for an
 * over-long body; the image URL rewriting plan (placeholders, declared / undeclared / unusable
 * images, appended images); the cover choice.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "../../channels/wechat/wechat.h"

static const char *const PORTAL = "https://www.yuexiu.gov.cn/zwgk/tzgg/content/post_7946462.html";

static struct wx_render_conf conf(void)
{
    struct wx_render_conf c = {.truncate_title = 1,
                               .truncate_digest = 1,
                               .overlong = WX_OVERLONG_SUMMARY_LINK,
                               .drop_images = 1,
                               .append_images = 1,
                               .have_default_cover = 1};
    return c;
}

static struct hd_item item(const char *title, const char *body)
{
    struct hd_item it = {.struct_size = sizeof(it),
                         .id = "yx-1",
                         .version = 1,
                         .action = "publish",
                         .title = title,
                         .body_html = body,
                         .publisher_name = "广州市越秀区发展和改革局",
                         .summary = "越秀区发展和改革局发布通知。"};
    return it;
}

static struct hd_dep_result portal_dep = {"website:portal", "7946462", NULL};

static struct hd_render_ctx ctx(int with_portal)
{
    portal_dep.url = PORTAL;
    struct hd_render_ctx rc = {.struct_size = sizeof(rc),
                               .instance_id = "wechat:yuexiu",
                               .target = "",
                               .deps = with_portal ? &portal_dep : NULL,
                               .n_deps = with_portal ? 1 : 0};
    return rc;
}

/* Renders; asserts the expected result; returns the plan (or NULL on reject) and the error. */
static json_t *plan(const struct wx_render_conf *c, const struct hd_item *it, int portal, int want,
                    char *err)
{
    struct hd_render_ctx rc = ctx(portal);
    char *out = NULL;
    err[0] = '\0';
    int r = wx_render_plan(c, it, &rc, &out, err, 512);
    assert_int_equal(r, want);
    if (r != HD_RENDER_OK) {
        assert_null(out);
        assert_true(strlen(err) > 0);
        return NULL;
    }
    json_t *j = json_loads(out, 0, NULL);
    free(out);
    assert_non_null(j);
    return j;
}

static char *repeat(const char *unit, size_t n)
{
    size_t l = strlen(unit);
    char *s = malloc(l * n + 1);
    for (size_t i = 0; i < n; i++)
        memcpy(s + i * l, unit, l);
    s[l * n] = '\0';
    return s;
}

static const char *str(json_t *j, const char *k)
{
    return json_string_value(json_object_get(j, k));
}

/* ---- lengths and truncation -------------------------------------------------------------- */

static void test_length_counts_utf16_units(void **st)
{
    assert_int_equal(wx_len("abc"), 3);
    assert_int_equal(wx_len("越秀发布"), 4);
    assert_int_equal(wx_len("📢"), 2); /* outside the BMP: a surrogate pair */
    assert_int_equal(wx_len("a📢b"), 4);
    assert_int_equal(wx_len("𠀀"), 2);        /* CJK Extension B */
    assert_int_equal(wx_len("e\xcc\x81"), 2); /* e + combining acute */
    assert_int_equal(wx_len("\xff\xfe"), 2);  /* invalid bytes count one each */
    assert_int_equal(wx_len(""), 0);
}

/* 1 when prefix is a byte prefix of s */
static int is_prefix(const char *prefix, size_t n, const char *s)
{
    return strncmp(prefix, s, n) == 0;
}

static void check_cut(const char *s, size_t max, const char *want_prefix)
{
    char *t = wx_truncate(s, max, "…");
    assert_non_null(t);
    assert_true(wx_len(t) <= max);
    size_t tl = strlen(t), el = strlen("…");
    assert_true(tl >= el);
    assert_string_equal(t + tl - el, "…");
    assert_true(is_prefix(t, tl - el, s));
    assert_int_equal(tl - el, strlen(want_prefix));
    assert_memory_equal(t, want_prefix, tl - el);
    free(t);
}

static void test_truncate_cjk_title(void **st)
{
    char *s = repeat("越", 40);
    char *want = repeat("越", 31);
    check_cut(s, WX_TITLE_MAX, want);
    free(want);
    char *fits = wx_truncate(s + 3 * 8, WX_TITLE_MAX, "…"); /* 32 characters: kept whole */
    assert_string_equal(fits, s + 3 * 8);
    free(fits);
    free(s);
}

static void test_truncate_never_splits_an_emoji(void **st)
{
    /* 30 units of CJK, then 📢 (2 units): 31 units fit before the ellipsis, the emoji would
     * need 32: it is left out whole, never half a surrogate pair */
    char *base = repeat("越", 30), s[256], want[256];
    snprintf(s, sizeof(s), "%s📢📢📢", base);
    snprintf(want, sizeof(want), "%s", base);
    check_cut(s, WX_TITLE_MAX, want);
    /* 29 CJK + 📢 = 31 units: the emoji fits */
    base[29 * 3] = '\0';
    snprintf(s, sizeof(s), "%s📢越越越", base);
    snprintf(want, sizeof(want), "%s📢", base);
    check_cut(s, WX_TITLE_MAX, want);
    free(base);
}

static void test_truncate_keeps_grapheme_clusters(void **st)
{
    char *b27 = repeat("越", 27), *b28 = repeat("越", 28), *b30 = repeat("越", 30);
    char s[512], want[512];
    /* 👍🏽 thumbs up + skin tone is one cluster of 4 units: after 28 units it would need 32 of
     * the 31 left before the ellipsis -> dropped whole, never the bare thumb */
    snprintf(s, sizeof(s), "%s👍🏽尾巴", b28);
    check_cut(s, WX_TITLE_MAX, b28);
    /* ... and after 27 it fits whole */
    snprintf(s, sizeof(s), "%s👍🏽尾巴", b27);
    snprintf(want, sizeof(want), "%s👍🏽", b27);
    check_cut(s, WX_TITLE_MAX, want);
    /* the family ZWJ sequence 👨‍👩‍👧 is one cluster of 8 units */
    snprintf(s, sizeof(s), "%s👨‍👩‍👧", b28);
    check_cut(s, WX_TITLE_MAX, b28);
    /* a flag is a pair of regional indicators (4 units): 27 + 4 fits, the next flag does not */
    snprintf(s, sizeof(s), "%s🇨🇳🇨🇳", b27);
    snprintf(want, sizeof(want), "%s🇨🇳", b27);
    check_cut(s, WX_TITLE_MAX, want);
    /* e + combining acute stays together: 30 + 2 > 31 */
    snprintf(s, sizeof(s), "%se\xcc\x81xyz", b30);
    check_cut(s, WX_TITLE_MAX, b30);
    /* keycap 1️⃣ ('1' + VS16 + U+20E3) is one cluster of 3 units: 28 + 3 fits, 'a' does not */
    snprintf(s, sizeof(s),
             "%s1\xef\xb8\x8f\xe2\x83\xa3"
             "abc",
             b28);
    snprintf(want, sizeof(want), "%s1\xef\xb8\x8f\xe2\x83\xa3", b28);
    check_cut(s, WX_TITLE_MAX, want);
    free(b27);
    free(b28);
    free(b30);
}

/* ---- render limits ------------------------------------------------------------------------ */

static void test_title_truncated_or_rejected(void **st)
{
    char err[512], *t = repeat("关于进一步优化营商环境", 4); /* 44 characters */
    struct hd_item it = item(t, "<p>正文</p>");
    struct wx_render_conf c = conf();
    json_t *p = plan(&c, &it, 0, HD_RENDER_OK, err);
    assert_int_equal(wx_len(str(p, "title")), WX_TITLE_MAX);
    assert_non_null(strstr(str(p, "title"), "…"));
    assert_true(json_array_size(json_object_get(p, "notes")) >= 1);
    json_decref(p);
    c.truncate_title = 0;
    assert_null(plan(&c, &it, 0, HD_RENDER_REJECT, err));
    assert_non_null(strstr(err, "title"));
    assert_non_null(strstr(err, "44"));
    free(t);
}

static void test_digest_and_author(void **st)
{
    char err[512], *sum = repeat("摘", 129);
    struct hd_item it = item("标题", "<p>正文</p>");
    it.summary = sum;
    struct wx_render_conf c = conf();
    json_t *p = plan(&c, &it, 0, HD_RENDER_OK, err);
    assert_int_equal(wx_len(str(p, "digest")), WX_DIGEST_MAX);
    /* publisher name of 12 characters fits the author limit of 16 */
    assert_string_equal(str(p, "author"), "广州市越秀区发展和改革局");
    json_decref(p);
    sum[128 * 3] = '\0'; /* exactly 128: kept as it is */
    p = plan(&c, &it, 0, HD_RENDER_OK, err);
    assert_string_equal(str(p, "digest"), sum);
    json_decref(p);
    sum[128 * 3] = "摘"[0];
    c.truncate_digest = 0;
    assert_null(plan(&c, &it, 0, HD_RENDER_REJECT, err));
    assert_non_null(strstr(err, "digest"));
    /* a publisher name over 16 characters is left out; a configured author wins */
    c.truncate_digest = 1;
    it.summary = NULL;
    it.publisher_name = "广州市越秀区人民政府办公室政务公开科信息发布组";
    p = plan(&c, &it, 0, HD_RENDER_OK, err);
    assert_null(json_object_get(p, "author"));
    assert_null(json_object_get(p, "digest"));
    json_decref(p);
    c.author = "越秀发布";
    p = plan(&c, &it, 0, HD_RENDER_OK, err);
    assert_string_equal(str(p, "author"), "越秀发布");
    json_decref(p);
    free(sum);
}

static void test_body_limit_boundary(void **st)
{
    char err[512];
    struct wx_render_conf c = conf();
    /* "<p>" + n + "</p>" is n + 7 units */
    char *inner = repeat("字", WX_CONTENT_MAX - 1 - 7), body[70000];
    snprintf(body, sizeof(body), "<p>%s</p>", inner);
    assert_int_equal(wx_len(body), WX_CONTENT_MAX - 1);
    struct hd_item it = item("标题", body);
    json_t *p = plan(&c, &it, 1, HD_RENDER_OK, err);
    assert_string_equal(str(p, "mode"), "full");
    assert_string_equal(str(p, "content"), body);
    assert_string_equal(str(p, "source_url"), PORTAL); /* the 阅读原文 link, always */
    json_decref(p);
    snprintf(body, sizeof(body), "<p>%s字</p>", inner); /* 20,000: over */
    it = item("标题", body);
    p = plan(&c, &it, 1, HD_RENDER_OK, err);
    assert_string_equal(str(p, "mode"), "summary_link");
    json_decref(p);
    free(inner);
}

static void test_overlong_body_summary_and_read_more(void **st)
{
    char err[512];
    struct wx_render_conf c = conf();
    char *long_body = repeat("<p>第一条 为进一步优化营商环境……</p>", 1500);
    struct hd_item it = item("关于优化营商环境的若干措施", long_body);
    it.summary = "本措施共19条。\n涉及 <企业> & 楼宇";
    json_t *p = plan(&c, &it, 1, HD_RENDER_OK, err);
    const char *content = str(p, "content");
    assert_string_equal(str(p, "mode"), "summary_link");
    /* never cut mid-document: none of the body is there, the summary (escaped) and the link are */
    assert_null(strstr(content, "第一条"));
    assert_non_null(strstr(content, "本措施共19条。<br/>涉及 &lt;企业&gt; &amp; 楼宇"));
    assert_non_null(strstr(content, "<a href=\"https://www.yuexiu.gov.cn/zwgk/tzgg/content/"
                                    "post_7946462.html\">阅读原文</a>"));
    assert_string_equal(str(p, "source_url"), PORTAL);
    assert_int_equal(json_array_size(json_object_get(p, "images")), 0);
    json_decref(p);
    /* no portal article to link to: rejected */
    assert_null(plan(&c, &it, 0, HD_RENDER_REJECT, err));
    assert_non_null(strstr(err, "portal"));
    /* no summary: rejected */
    it.summary = NULL;
    assert_null(plan(&c, &it, 1, HD_RENDER_REJECT, err));
    assert_non_null(strstr(err, "summary"));
    /* overlong_body: reject */
    it.summary = "摘要";
    c.overlong = WX_OVERLONG_REJECT;
    assert_null(plan(&c, &it, 1, HD_RENDER_REJECT, err));
    assert_non_null(strstr(err, "overlong_body"));
    free(long_body);
}

/* ---- images --------------------------------------------------------------------------------- */

static struct hd_asset img(const char *url, const char *type, int64_t size, const char *cap)
{
    struct hd_asset a = {.url = url,
                         .media_type = type,
                         .size = size,
                         .name = cap,
                         .sha256 =
                             "891c801bfedb82b090b4f62a537aa03bd569a944789f70194882dc8ccef18d5c"};
    return a;
}

static void test_image_plan(void **st)
{
    char err[512];
    struct hd_asset imgs[] = {
        img("https://www.yuexiu.gov.cn/a/cover.jpg?x=1&y=2", "image/jpeg", 39876, "饭堂"),
        img("https://www.yuexiu.gov.cn/a/chart.png", "image/png", 200000, "流程图"),
        img("https://www.yuexiu.gov.cn/a/anim.gif", "image/gif", 1000, NULL),
        img("https://www.yuexiu.gov.cn/a/huge.jpg", "image/jpeg", 2 << 20, NULL),
    };
    const char *body =
        "<p>一</p><IMG class=\"x\" SRC='https://www.yuexiu.gov.cn/a/cover.jpg?x=1&amp;y=2'>"
        "<p>二</p><img src=\"http://evil.example/track.png\"/>"
        "<img src=\"http://mmbiz.qpic.cn/mmbiz_jpg/abc/0?wx_fmt=jpeg\">"
        "<img alt=\"again\" src=\"https://www.yuexiu.gov.cn/a/cover.jpg?x=1&amp;y=2\">"
        "<!-- <img src=\"https://www.yuexiu.gov.cn/a/chart.png\"> -->";
    struct hd_item it = item("图文", body);
    it.images = imgs;
    it.n_images = 4;
    struct wx_render_conf c = conf();
    json_t *p = plan(&c, &it, 0, HD_RENDER_OK, err);
    json_t *images = json_object_get(p, "images");
    const char *content = str(p, "content");
    /* the declared JPG (twice in the body, one upload), then the PNG appended after the body;
     * the GIF and the 2 MB JPG cannot go through uploadimg: left out */
    assert_int_equal(json_array_size(images), 2);
    assert_string_equal(str(json_array_get(images, 0), "url"), imgs[0].url);
    assert_string_equal(str(json_array_get(images, 1), "url"), imgs[1].url);
    assert_string_equal(str(json_array_get(images, 0), "sha256"), imgs[0].sha256);
    assert_non_null(strstr(content, "<IMG class=\"x\" SRC=\"herald-img://0\">"));
    assert_non_null(strstr(content, "<img alt=\"again\" src=\"herald-img://0\">"));
    assert_null(strstr(content, "evil.example")); /* undeclared: dropped (no hash to check) */
    assert_non_null(strstr(content, "http://mmbiz.qpic.cn/mmbiz_jpg/abc/0?wx_fmt=jpeg"));
    assert_non_null(strstr(content, "<p><img src=\"herald-img://1\"/></p><p>流程图</p>"));
    assert_null(strstr(content, "anim.gif"));
    assert_non_null(strstr(content, "<!-- <img src=\"https://www.yuexiu.gov.cn/a/chart.png\">"));
    assert_true(json_array_size(json_object_get(p, "notes")) >= 3);
    /* the cover is the first image: a JPG within 64 KB */
    assert_string_equal(str(json_object_get(p, "cover"), "url"), imgs[0].url);

    /* send() fills the placeholders with the uploaded URLs (escaped for HTML) */
    const char *urls[] = {"http://mmbiz.qpic.cn/sz_mmbiz_jpg/AAA/0?wx_fmt=jpeg&a=b",
                          "http://mmbiz.qpic.cn/sz_mmbiz_png/BBB/0?wx_fmt=png"};
    char *filled = wx_fill_images(content, urls, 2);
    assert_non_null(filled);
    assert_null(strstr(filled, WX_IMG_PLACEHOLDER));
    assert_non_null(strstr(filled, "SRC=\"http://mmbiz.qpic.cn/sz_mmbiz_jpg/AAA/0?wx_fmt=jpeg"
                                   "&amp;a=b\""));
    assert_non_null(strstr(filled, "src=\"http://mmbiz.qpic.cn/sz_mmbiz_png/BBB/0?wx_fmt=png\""));
    free(filled);
    assert_null(wx_fill_images(content, urls, 1)); /* an index without URL */
    json_decref(p);

    /* image_policy: reject */
    c.drop_images = 0;
    assert_null(plan(&c, &it, 0, HD_RENDER_REJECT, err));
    assert_non_null(strstr(err, "image_policy"));
}

static void test_image_urls_count_toward_the_limit(void **st)
{
    char err[512];
    struct hd_asset imgs[] = {img("https://www.yuexiu.gov.cn/a/p.jpg", "image/jpeg", 1000, NULL)};
    struct wx_render_conf c = conf();
    /* 19,800 units of text + one image: the uploaded URL may take WX_URL_RESERVE units */
    char *inner = repeat("字", 19800), *body = malloc(70000);
    snprintf(body, 70000, "<p>%s</p><img src=\"%s\">", inner, imgs[0].url);
    struct hd_item it = item("标题", body);
    it.images = imgs;
    it.n_images = 1;
    json_t *p = plan(&c, &it, 1, HD_RENDER_OK, err);
    assert_string_equal(str(p, "mode"), "summary_link");
    json_decref(p);
    inner[19000 * 3] = '\0';
    snprintf(body, 70000, "<p>%s</p><img src=\"%s\">", inner, imgs[0].url);
    it.body_html = body;
    p = plan(&c, &it, 1, HD_RENDER_OK, err);
    assert_string_equal(str(p, "mode"), "full");
    json_decref(p);
    free(inner);
    free(body);
}

static void test_cover_choice(void **st)
{
    char err[512];
    struct wx_render_conf c = conf();
    struct hd_item it = item("标题", "<p>正文</p>");
    /* no image at all: the default cover */
    json_t *p = plan(&c, &it, 0, HD_RENDER_OK, err);
    assert_true(json_is_null(json_object_get(p, "cover")));
    assert_true(json_is_true(json_object_get(p, "default_cover")));
    json_decref(p);
    /* a first image that is a PNG, or a JPG over 64 KB, is not a cover (no transcoding) */
    struct hd_asset png[] = {img("https://x.example/a.png", "image/png", 1000, NULL)};
    struct hd_asset big[] = {img("https://x.example/a.jpg", "image/jpeg", 65537, NULL)};
    struct hd_asset ok[] = {img("https://x.example/b.jpg", "image/jpeg", 65536, NULL)};
    it.images = png;
    it.n_images = 1;
    p = plan(&c, &it, 0, HD_RENDER_OK, err);
    assert_true(json_is_null(json_object_get(p, "cover")));
    json_decref(p);
    it.images = big;
    p = plan(&c, &it, 0, HD_RENDER_OK, err);
    assert_true(json_is_null(json_object_get(p, "cover")));
    json_decref(p);
    it.images = ok;
    p = plan(&c, &it, 0, HD_RENDER_OK, err);
    assert_string_equal(str(json_object_get(p, "cover"), "url"), ok[0].url);
    json_decref(p);
    /* neither fits and no default: rejected */
    c.have_default_cover = 0;
    it.images = big;
    assert_null(plan(&c, &it, 0, HD_RENDER_REJECT, err));
    assert_non_null(strstr(err, "cover"));
    it.images = ok;
    p = plan(&c, &it, 0, HD_RENDER_OK, err);
    json_decref(p);
}

static void test_render_is_pure(void **st)
{
    char err[512];
    struct wx_render_conf c = conf();
    struct hd_item it = item("标题", "<p>正文</p><img src=\"https://x.example/b.jpg\">");
    struct hd_asset ok[] = {img("https://x.example/b.jpg", "image/jpeg", 1000, "说明")};
    it.images = ok;
    it.n_images = 1;
    struct hd_render_ctx rc = ctx(1);
    char *a = NULL, *b = NULL;
    assert_int_equal(wx_render_plan(&c, &it, &rc, &a, err, sizeof(err)), HD_RENDER_OK);
    assert_int_equal(wx_render_plan(&c, &it, &rc, &b, err, sizeof(err)), HD_RENDER_OK);
    assert_string_equal(a, b);
    free(a);
    free(b);
}

static void test_magic_bytes(void **st)
{
    assert_true(wx_is_jpeg("\xff\xd8\xff\xe0", 4));
    assert_false(wx_is_jpeg("\x89PNG", 4));
    assert_true(wx_is_png("\x89PNG\r\n\x1a\n..", 10));
    assert_false(wx_is_png("GIF89a", 6));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_length_counts_utf16_units),
        cmocka_unit_test(test_truncate_cjk_title),
        cmocka_unit_test(test_truncate_never_splits_an_emoji),
        cmocka_unit_test(test_truncate_keeps_grapheme_clusters),
        cmocka_unit_test(test_title_truncated_or_rejected),
        cmocka_unit_test(test_digest_and_author),
        cmocka_unit_test(test_body_limit_boundary),
        cmocka_unit_test(test_overlong_body_summary_and_read_more),
        cmocka_unit_test(test_image_plan),
        cmocka_unit_test(test_image_urls_count_toward_the_limit),
        cmocka_unit_test(test_cover_choice),
        cmocka_unit_test(test_render_is_pure),
        cmocka_unit_test(test_magic_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
