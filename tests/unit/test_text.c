/*
 * Unit tests of the text and digest helpers (src/text.c): UTF-8 validation edge cases, truncation
 * on character boundaries, HTML to text on realistic government pages, UTF-8 to GBK with the
 * characters LED boards cannot show (which characters GBK carries was checked with iconv(1) on
 * this system, not guessed), digests against published vectors (RFC 4231, FIPS 180-2 examples)
 * and the constant-time compare.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "common.h"
#include "text.h"

/* ---- UTF-8 ------------------------------------------------------------------------------- */

static void test_utf8_valid(void **state)
{
    (void)state;
    struct {
        const char *s;
        size_t len;
        int valid;
    } cases[] = {
        {"", 0, 1},
        {"plain ascii", 11, 1},
        {"中文，标点。", 18, 1},
        {"\xc2\x80", 2, 1},         /* U+0080, smallest 2-byte */
        {"\xdf\xbf", 2, 1},         /* U+07FF */
        {"\xe0\xa0\x80", 3, 1},     /* U+0800, smallest 3-byte */
        {"\xed\x9f\xbf", 3, 1},     /* U+D7FF, just below the surrogates */
        {"\xee\x80\x80", 3, 1},     /* U+E000, just above */
        {"\xef\xbf\xbf", 3, 1},     /* U+FFFF */
        {"\xf0\x90\x80\x80", 4, 1}, /* U+10000, smallest 4-byte */
        {"\xf0\x9f\x98\x80", 4, 1}, /* emoji */
        {"\xf4\x8f\xbf\xbf", 4, 1}, /* U+10FFFF, the last code point */
        {"a\0b", 3, 1},             /* U+0000 is a character */
        {"\xc0\xaf", 2, 0},         /* overlong '/' */
        {"\xc1\xbf", 2, 0},         /* overlong */
        {"\xe0\x80\xaf", 3, 0},     /* overlong */
        {"\xe0\x9f\xbf", 3, 0},     /* overlong U+07FF */
        {"\xf0\x80\x80\xaf", 4, 0}, /* overlong */
        {"\xf0\x8f\xbf\xbf", 4, 0}, /* overlong U+FFFF */
        {"\xed\xa0\x80", 3, 0},     /* U+D800 surrogate */
        {"\xed\xbf\xbf", 3, 0},     /* U+DFFF surrogate */
        {"\xf4\x90\x80\x80", 4, 0}, /* U+110000 */
        {"\xf5\x80\x80\x80", 4, 0}, /* lead byte beyond U+10FFFF */
        {"\xff", 1, 0},
        {"\x80", 1, 0},                 /* lone continuation */
        {"\xe4\xb8", 2, 0},             /* cut 3-byte sequence */
        {"\xf0\x9f\x98", 3, 0},         /* cut 4-byte sequence */
        {"\xe4\xb8\xad\xe6", 4, 0},     /* good char then a cut one */
        {"\xe4\x41\xad", 3, 0},         /* ASCII where a continuation belongs */
        {"\xf0\x9f\x98\x80\x80", 5, 0}, /* extra continuation */
    };
    for (size_t i = 0; i < HD_ARRAY_LEN(cases); i++)
        if (hd_utf8_valid(cases[i].s, cases[i].len) != cases[i].valid)
            fail_msg("case %zu: expected %s", i, cases[i].valid ? "valid" : "invalid");
    assert_true(hd_utf8_valid(NULL, 0));
    assert_false(hd_utf8_valid(NULL, 1));
}

static void test_utf8_len(void **state)
{
    (void)state;
    assert_int_equal(hd_utf8_len(""), 0);
    assert_int_equal(hd_utf8_len("abc"), 3);
    assert_int_equal(hd_utf8_len("越秀发布"), 4);
    assert_int_equal(hd_utf8_len("a中😀é"), 4);
    assert_int_equal(hd_utf8_len("a\xff"
                                 "b"),
                     3);                               /* an invalid byte counts one */
    assert_int_equal(hd_utf8_len("\xe4\xb8"), 2);      /* a cut sequence: one per byte */
    assert_int_equal(hd_utf8_len("\xed\xa0\x80x"), 4); /* surrogate bytes: one each */
    assert_int_equal(hd_utf8_len(NULL), 0);
}

static void expect_trunc(const char *s, size_t max, const char *ell, const char *want)
{
    char *got = hd_utf8_truncate(s, max, ell);
    assert_non_null(got);
    if (strcmp(got, want) != 0)
        fail_msg("truncate(\"%s\", %zu, \"%s\") = \"%s\", want \"%s\"", s, max, ell ? ell : "", got,
                 want);
    assert_true(hd_utf8_len(got) <= max || hd_utf8_len(s) <= max);
    free(got);
}

static void test_utf8_truncate(void **state)
{
    (void)state;
    expect_trunc("abc", 3, "…", "abc"); /* fits: untouched, no ellipsis */
    expect_trunc("abcd", 3, "…", "ab…");
    expect_trunc("中文标点符号", 4, "…", "中文标…");
    expect_trunc("中文标点符号", 4, NULL, "中文标点");
    expect_trunc("中文标点符号", 4, "", "中文标点");
    expect_trunc("😀😀😀", 2, "…", "😀…"); /* 4-byte characters are never split */
    expect_trunc("😀😀😀", 2, NULL, "😀😀");
    expect_trunc("a😀b😀c", 3, "...", "..."); /* the ellipsis counts toward max */
    expect_trunc("a😀b😀c", 4, "...", "a...");
    expect_trunc("abcdef", 2, "...", "ab"); /* no room for the ellipsis: a plain cut */
    expect_trunc("abcdef", 0, "…", "");
    expect_trunc("", 0, "…", "");
    expect_trunc("关于印发《工作要点》的通知", 9, "……", "关于印发《工作……"); /* 7 + 2 */
    expect_trunc("a\xff"
                 "bc",
                 2, NULL, "a\xff"); /* invalid bytes are one character each */
    /* every cut of a mixed string is valid UTF-8 and within the limit */
    const char *mixed = "a中😀é，１①\xf4\x8f\xbf\xbfz";
    size_t n = hd_utf8_len(mixed);
    for (size_t max = 0; max <= n + 1; max++) {
        for (int e = 0; e < 2; e++) {
            char *got = hd_utf8_truncate(mixed, max, e ? "…" : NULL);
            assert_non_null(got);
            assert_true(hd_utf8_valid(got, strlen(got)));
            assert_true(hd_utf8_len(got) <= max);
            assert_true(hd_utf8_len(got) == HD_MIN(max, n));
            if (max >= 1 && max < n && e) /* 0: no room for the ellipsis */
                assert_non_null(strstr(got, "…"));
            free(got);
        }
    }
    assert_null(hd_utf8_truncate(NULL, 3, NULL));
}

/* ---- HTML -------------------------------------------------------------------------------- */

static void expect_text(const char *html, const char *want)
{
    char *got = hd_html_to_text(html);
    assert_non_null(got);
    if (strcmp(got, want) != 0)
        fail_msg("html_to_text:\n--- got ---\n%s\n--- want ---\n%s\n---", got, want);
    free(got);
}

static void test_html_government_page(void **state)
{
    (void)state;
    const char *html =
        "<!DOCTYPE html>\n<html><head><meta charset=\"gb2312\">\n"
        "<title>关于印发《越秀区政务公开工作要点》的通知</title>\n"
        "<style>p { text-indent: 2em; }</style>\n"
        "<script>var s = \"<p>not text</p>\";</script></head>\n"
        "<body>\n<div class=\"article\">\n"
        "  <h1>关于印发《越秀区政务公开工作要点》的通知</h1>\n"
        "  <div class=\"meta\"><span>发布日期：2024-03-01</span>&nbsp;&nbsp;"
        "<span>来源：区政务服务数据管理局</span></div>\n"
        "  <div class=\"content\">\n"
        "    <p>&nbsp;&nbsp;&nbsp;&nbsp;各街道办事处、区政府各部门：</p>\n"
        "    <p>　　现将《工作要点》印发给你们，请认真贯彻执行。<br>执行中遇到的问题，"
        "请径向区政务公开办反映。</p>\n"
        "    <table border=\"1\">\n"
        "      <tr><th>序号</th><th>事项</th><th>时限</th></tr>\n"
        "      <tr><td>1</td><td>政策解读 &lt;同步&gt; 发布</td><td>3 个工作日</td></tr>\n"
        "    </table>\n"
        "    <ul><li>一、主动公开</li><li>二、依申请公开 &amp; 答复</li></ul>\n"
        "    <div><div><div>深层<b>加粗</b><i>斜体</i> <a href=\"x\">链接</a></div></div></div>\n"
        "    <!-- 注释不出现 -->\n"
        "    <p>（联系电话：020-83123456）</p>\n"
        "  </div>\n</div>\n<script type=\"text/javascript\">alert('x');</script>\n"
        "<noscript>请启用脚本</noscript>\n"
        "</body></html>\n";
    expect_text(html, "关于印发《越秀区政务公开工作要点》的通知\n"
                      "发布日期：2024-03-01 来源：区政务服务数据管理局\n"
                      "各街道办事处、区政府各部门：\n"
                      "　　现将《工作要点》印发给你们，请认真贯彻执行。\n"
                      "执行中遇到的问题，请径向区政务公开办反映。\n"
                      "序号 事项 时限\n"
                      "1 政策解读 <同步> 发布 3 个工作日\n"
                      "一、主动公开\n"
                      "二、依申请公开 & 答复\n"
                      "深层加粗斜体 链接\n"
                      "（联系电话：020-83123456）");
}

static void test_html_small_cases(void **state)
{
    (void)state;
    expect_text("", "");
    expect_text("   \n\t ", "");
    expect_text("plain text", "plain text");
    expect_text("<p>a</p><p>b</p>", "a\nb");
    expect_text("a<br>b", "a\nb");
    expect_text("a<br><br>b", "a\n\nb");
    expect_text("a<br><br><br><br>b", "a\n\nb"); /* at most one blank line */
    expect_text("<p>a<br></p><p>b</p>", "a\nb");
    expect_text("<br><p>a</p><br>", "a"); /* no leading or trailing blank lines */
    expect_text("<b>x</b> <i>y</i>", "x y");
    expect_text("<b>x</b><i>y</i>", "xy");
    expect_text("a\n\n   b", "a b"); /* source line breaks are blanks */
    expect_text("&lt;p&gt; &amp;amp; &quot;&#x4e2d;&#25991;&quot; &copy;", "<p> &amp; \"中文\" ©");
    expect_text("a&nbsp;&nbsp;&nbsp;b", "a b");
    expect_text("<p>  lead and trail  </p>", "lead and trail");
    expect_text("中文标点，“引号”、《书名号》", "中文标点，“引号”、《书名号》");
    expect_text("<script>x</script><style>y</style>z", "z");
    expect_text("<h2>标题</h2>正文", "标题\n正文");
    expect_text("<p>unclosed <b>bold<p>next", "unclosed bold\nnext");
}

static void test_html_hostile(void **state)
{
    (void)state;
    /* very deep nesting: no stack overflow, text kept */
    size_t depth = 20000;
    char *deep = malloc(depth * 11 + 16);
    char *p = deep;
    for (size_t i = 0; i < depth; i++)
        p += sprintf(p, "<div>");
    p += sprintf(p, "x");
    for (size_t i = 0; i < depth; i++)
        p += sprintf(p, "</div>");
    char *t = hd_html_to_text(deep);
    assert_non_null(t);
    free(t);
    free(deep);
    /* invalid UTF-8 in, valid UTF-8 out: each bad byte becomes U+FFFD */
    expect_text("<p>bad \xff\xfe bytes \xe4\xb8</p>", "bad \xef\xbf\xbd\xef\xbf\xbd bytes "
                                                      "\xef\xbf\xbd\xef\xbf\xbd");
    expect_text("ok \xe4\xb8\xad bad\xed\xa0\x80x",
                "ok 中 bad\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbdx");
    assert_null(hd_html_to_text(NULL));
}

/* ---- GBK --------------------------------------------------------------------------------- */

static void expect_gbk(const char *s, const char *rep, const char *want_hex, size_t want_replaced)
{
    size_t len = 99, replaced = 99;
    char *g = hd_utf8_to_gbk(s, rep, &len, &replaced);
    assert_non_null(g);
    char hex[1024];
    for (size_t i = 0; i < len && 2 * i + 2 < sizeof(hex); i++)
        sprintf(hex + 2 * i, "%02x", (unsigned char)g[i]);
    hex[len ? 2 * len : 0] = '\0';
    if (strcmp(hex, want_hex) != 0)
        fail_msg("gbk(\"%s\") = %s, want %s", s, hex, want_hex);
    assert_int_equal(g[len], '\0');
    assert_int_equal(replaced, want_replaced);
    free(g);
}

static void test_gbk_common(void **state)
{
    (void)state;
    expect_gbk("", NULL, "", 0);
    expect_gbk("LED 1", NULL, "4c45442031", 0);
    expect_gbk("中文", NULL, "d6d0cec4", 0);
    /* punctuation: ，“”、《》 */
    expect_gbk("，“”、《》", NULL, "a3aca1b0a1b1a1a2a1b6a1b7", 0);
    expect_gbk("１①⑩⒈", NULL, "a3b1a2d9a2e2a2b1", 0); /* full-width digit, circled, dotted */
    expect_gbk("€", NULL, "80", 0);                   /* glibc's GBK is CP936 here */
    const char *ok[] = {"中文标点，“引号”、《书名号》",
                        "全角数字０１２３４５６７８９",
                        "①②③④⑤⑥⑦⑧⑨⑩",
                        "……——～·",
                        "℃ № ‰ ￥",
                        "〇 é ─",
                        "越秀区政务服务中心 大厅 3 号屏"};
    for (size_t i = 0; i < HD_ARRAY_LEN(ok); i++)
        if (!hd_gbk_encodable(ok[i]))
            fail_msg("\"%s\" should be GBK-encodable", ok[i]);
}

static void test_gbk_unmappable(void **state)
{
    (void)state;
    /* what iconv(1) refuses: emoji, CJK Extension B and A, ₿, ⑪ (GBK stops at ⑩), ©, ®,
     * ™, katakana middle dot ・ */
    const char *no[] = {"😀", "𠀀", "㐀", "₿", "⑪", "©", "®", "™", "・", "中文😀"};
    for (size_t i = 0; i < HD_ARRAY_LEN(no); i++)
        if (hd_gbk_encodable(no[i]))
            fail_msg("\"%s\" should not be GBK-encodable", no[i]);
    expect_gbk("价格₿100😀", "?", "bcdbb8f13f3130303f", 2);
    expect_gbk("价格₿100😀", NULL, "bcdbb8f1313030", 2); /* dropped */
    expect_gbk("价格₿100😀", "", "bcdbb8f1313030", 2);
    expect_gbk("😀😀😀", "□", "a1f5a1f5a1f5", 3);
    expect_gbk("越秀𠀀发布", "？", "d4bdd0e3a3bfb7a2b2bc", 1); /* 4-byte char: one replacement */
    expect_gbk("©", "[?]", "5b3f5d", 1);
    /* a replacement GBK cannot carry is refused; so is invalid UTF-8 */
    size_t len, n;
    assert_null(hd_utf8_to_gbk("a₿", "😀", &len, &n));
    assert_null(hd_utf8_to_gbk("bad \xff", "?", &len, &n));
    assert_null(hd_utf8_to_gbk("\xed\xa0\x80", "?", &len, &n));
    assert_null(hd_utf8_to_gbk(NULL, "?", &len, &n));
    assert_false(hd_gbk_encodable("bad \xff"));
    assert_true(hd_gbk_encodable(""));
}

static void test_gbk_growth(void **state)
{
    (void)state;
    /* 5000 two-byte characters, each replaced by a longer string: the output must grow */
    size_t count = 5000;
    char *s = malloc(count * 2 + 1);
    for (size_t i = 0; i < count; i++)
        memcpy(s + 2 * i, "\xc2\xa9", 2); /* © */
    s[count * 2] = '\0';
    size_t len, n;
    char *g = hd_utf8_to_gbk(s, "[copyright]", &len, &n);
    assert_non_null(g);
    assert_int_equal(n, count);
    assert_int_equal(len, count * 11);
    assert_memory_equal(g + len - 11, "[copyright]", 11);
    free(g);
    free(s);
}

/* ---- digests ----------------------------------------------------------------------------- */

static void expect_hmac(const void *key, size_t kl, const void *msg, size_t ml, const char *want)
{
    char out[65];
    hd_hmac_sha256_hex(key, kl, msg, ml, out);
    assert_string_equal(out, want);
}

static void test_hmac_rfc4231(void **state)
{
    (void)state;
    unsigned char k[131], m[50];
    memset(k, 0x0b, 20);
    expect_hmac(k, 20, "Hi There", 8,
                "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"); /* case 1 */
    expect_hmac("Jefe", 4, "what do ya want for nothing?", 28,
                "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"); /* case 2 */
    memset(k, 0xaa, 20);
    memset(m, 0xdd, 50);
    expect_hmac(k, 20, m, 50,
                "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"); /* case 3 */
    for (int i = 0; i < 25; i++)
        k[i] = (unsigned char)(i + 1);
    memset(m, 0xcd, 50);
    expect_hmac(k, 25, m, 50,
                "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"); /* case 4 */
    memset(k, 0xaa, 131);
    const char *m6 = "Test Using Larger Than Block-Size Key - Hash Key First";
    expect_hmac(k, 131, m6, strlen(m6),
                "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"); /* case 6 */
    const char *m7 = "This is a test using a larger than block-size key and a larger than "
                     "block-size data. The key needs to be hashed before being used by the HMAC "
                     "algorithm.";
    expect_hmac(k, 131, m7, strlen(m7),
                "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"); /* case 7 */
    /* empty key and message (NULL pointers with zero length are allowed) */
    expect_hmac(NULL, 0, NULL, 0,
                "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
}

static void test_sha(void **state)
{
    (void)state;
    char out[65], out1[41];
    const char *abc448 = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    hd_sha256_hex("", 0, out);
    assert_string_equal(out, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    hd_sha256_hex("abc", 3, out);
    assert_string_equal(out, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    hd_sha256_hex(abc448, strlen(abc448), out);
    assert_string_equal(out, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    hd_sha1_hex("", 0, out1);
    assert_string_equal(out1, "da39a3ee5e6b4b0d3255bfef95601890afd80709");
    hd_sha1_hex("abc", 3, out1);
    assert_string_equal(out1, "a9993e364706816aba3e25717850c26c9cd0d89d");
    hd_sha1_hex(abc448, strlen(abc448), out1);
    assert_string_equal(out1, "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
    char *million = malloc(1000000);
    memset(million, 'a', 1000000);
    hd_sha1_hex(million, 1000000, out1);
    assert_string_equal(out1, "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
    hd_sha256_hex(million, 1000000, out);
    assert_string_equal(out, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    free(million);
}

static void test_consttime_streq(void **state)
{
    (void)state;
    assert_true(hd_consttime_streq("", ""));
    assert_true(hd_consttime_streq("sig=abcdef", "sig=abcdef"));
    assert_false(hd_consttime_streq("sig=abcdef", "sig=abcdeg"));
    assert_false(hd_consttime_streq("Sig=abcdef", "sig=abcdef"));
    assert_false(hd_consttime_streq("abc", "abcd")); /* a prefix is not equal */
    assert_false(hd_consttime_streq("abcd", "abc"));
    assert_false(hd_consttime_streq("", "a"));
    assert_false(hd_consttime_streq(NULL, "a"));
    assert_false(hd_consttime_streq("a", NULL));
    assert_false(hd_consttime_streq(NULL, NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_utf8_valid),
        cmocka_unit_test(test_utf8_len),
        cmocka_unit_test(test_utf8_truncate),
        cmocka_unit_test(test_html_government_page),
        cmocka_unit_test(test_html_small_cases),
        cmocka_unit_test(test_html_hostile),
        cmocka_unit_test(test_gbk_common),
        cmocka_unit_test(test_gbk_unmappable),
        cmocka_unit_test(test_gbk_growth),
        cmocka_unit_test(test_hmac_rfc4231),
        cmocka_unit_test(test_sha),
        cmocka_unit_test(test_consttime_streq),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
