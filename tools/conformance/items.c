/*
 * The sample items the kit renders and sends (kit.h): valid herald.item/v1 documents built here
 * and parsed by the core's own parser (src/item.c), so an adapter sees exactly what heraldd would
 * hand it. They cover what tends to break adapters: a short notice, a policy document with
 * images, an attachment and a 文号, an urgent warning with street and board targets and an expiry,
 * text with emoji, rare characters and HTML entities, and every field at its maximum length.
 * Images and attachments point at the kit's asset server (proxy.c) with their real sizes and
 * SHA-256. Times are set once per run, from the hour before the run started (approval an hour
 * ago, expiry in 60 days: windowed platforms refuse what has expired), so within a run the same
 * item always has the same bytes.
 */
#include <jansson.h>

#include "common.h"
#include "item.h"
#include "kit.h"
#include "text.h"

static const char *const names[] = {"notice", "policy", "urgent", "unicode", "overlong"};

size_t kit_n_items(void)
{
    return HD_ARRAY_LEN(names);
}

const char *kit_item_name(size_t i)
{
    return i < HD_ARRAY_LEN(names) ? names[i] : "?";
}

/* A time relative to the run's base (the start of the hour before the run). */
static const char *when(int64_t delta_min, char out[32])
{
    static int64_t base;
    if (!base)
        base = (hd_now_ms() / 3600000 - 1) * 3600000;
    hd_time_format_rfc3339(base + delta_min * 60000, out);
    return out;
}

static json_t *review(void)
{
    char a[32], b[32], c[32];
    return json_pack("[{s:s, s:s, s:s}, {s:s, s:s, s:s}, {s:s, s:s, s:s}]", "level", "initial",
                     "reviewer", "罗海燕", "at", when(-120, a), "level", "recheck", "reviewer",
                     "郑文斌", "at", when(-60, b), "level", "final", "reviewer", "王晓东", "at",
                     when(-5, c));
}

static json_t *asset(const char *name, const char *label_key, const char *label)
{
    size_t len;
    const char *type;
    const void *data = kit_asset(name, &len, &type);
    char sha[65];
    hd_sha256_hex(data, len, sha);
    char *url = hd_asprintf("%s/%s", kit_assets_url(K->assets), name);
    json_t *a = json_pack("{s:s, s:s, s:s, s:I, s:s}", "url", url, "media_type", type, "sha256",
                          sha, "size", (json_int_t)len, label_key, label);
    free(url);
    return a;
}

/* A string of `n` characters cycling through `pattern` (UTF-8). */
static char *repeat(const char *pattern, size_t n)
{
    size_t plen = strlen(pattern), chars = hd_utf8_len(pattern), bytes = 0;
    char *out = malloc(plen * (n / chars + 1) + 1);
    if (!out)
        return NULL;
    for (size_t i = 0; i < n;) {
        const char *p = pattern;
        while (*p && i < n) {
            size_t l = 1;
            while ((p[l] & 0xC0) == 0x80)
                l++;
            memcpy(out + bytes, p, l);
            bytes += l;
            p += l;
            i++;
        }
    }
    out[bytes] = '\0';
    return out;
}

static json_t *base(const char *id, const char *category, const char *title)
{
    char t[32];
    return json_pack("{s:s, s:s, s:i, s:s, s:s, s:o, s:{s:s, s:s, s:s}, s:s, s:s, s:s}", "schema",
                     "herald.item/v1", "id", id, "version", 1, "action", "publish", "approved_at",
                     when(0, t), "review", review(), "publisher", "code", "YX-DSJ", "name",
                     "广州市越秀区东山街道办事处", "kind", "street", "column",
                     "街道信息公开/东山街/通知公告", "category", category, "title", title);
}

static json_t *build(size_t i, const char *id, const char *tag)
{
    char title[300];
    json_t *j = NULL;
    switch (i) {
    case 0: /* notice */
        snprintf(title, sizeof(title), "东山街开展“家庭医生进社区”义诊活动 %s", tag);
        j = base(id, "notice", title);
        json_object_set_new(j, "summary", json_string("3月21日上午在署前路社区党群服务中心义诊。"));
        json_object_set_new(
            j, "body_html",
            json_string("<p>东山街社区卫生服务中心定于2026年3月21日(星期六)上午9:00-11:30"
                        "在署前路社区党群服务中心开展义诊活动。</p>"
                        "<p>内容包括:免费测量血压、血糖,中医体质辨识。</p>"));
        break;
    case 1: { /* policy */
        snprintf(title, sizeof(title), "关于印发《越秀区老旧小区改造工作方案》的通知 %s", tag);
        j = base(id, "policy_document", title);
        json_object_set_new(j, "doc_number", json_string("越府办规〔2026〕3号"));
        json_object_set_new(j, "issued_date", json_string("2026-03-02"));
        char *para = repeat("各街道办事处、区政府各部门:现将方案印发给你们,请认真贯彻执行。", 600);
        char *body = hd_asprintf("<h2>一、工作目标</h2><p>%s</p><p><img src=\"%s/cover.jpg\" "
                                 "alt=\"改造前后对比\"/></p><h2>二、主要任务</h2><ol><li>加装电梯"
                                 "</li><li>管线改造</li></ol><table><tr><td>街道</td><td>小区数"
                                 "</td></tr><tr><td>东山街</td><td>12</td></tr></table>",
                                 para, kit_assets_url(K->assets));
        json_object_set_new(j, "body_html", json_string(body));
        free(para);
        free(body);
        json_object_set_new(j, "summary",
                            json_string("2026年全区计划改造老旧小区42个,涉及居民1.2万户。"));
        json_object_set_new(j, "images",
                            json_pack("[o, o]", asset("cover.jpg", "caption", "改造前后对比"),
                                      asset("photo.png", "caption", "加装电梯现场")));
        json_object_set_new(j, "attachments",
                            json_pack("[o]", asset("plan.pdf", "name", "改造工作方案.pdf")));
        break;
    }
    case 2: { /* urgent */
        snprintf(title, sizeof(title), "越秀区气象台发布暴雨橙色预警信号 %s", tag);
        j = base(id, "emergency", title);
        json_object_set_new(j, "priority", json_string("urgent"));
        json_object_set_new(j, "summary",
                            json_string("预计未来3小时有暴雨,请市民减少外出,注意防范。"));
        json_object_set_new(j, "body_html",
                            json_string("<p><strong>暴雨橙色预警</strong>:预计未来3小时本区将出现"
                                        "50毫米以上降水。</p>"));
        char nb[32], ex[32];
        json_object_set_new(j, "schedule",
                            json_pack("{s:s, s:s}", "not_before", when(-10, nb), "expires_at",
                                      when(60 * 24 * 60, ex)));
        json_object_set_new(j, "targets",
                            json_pack("{s:[s, s], s:[s]}", "streets", "440104012", "440104004",
                                      "boards", "zwfw-center/hall-a"));
        break;
    }
    case 3: /* unicode */
        snprintf(title, sizeof(title), "📢 “𠮷野家”食品抽检结果公示(第1期)%s", tag);
        j = base(id, "notice", title);
        json_object_set_new(j, "summary",
                            json_string("抽检𠀀批次全部合格 ✅\n第二行:含 emoji 🍜 与生僻字 𪚥。"));
        json_object_set_new(j, "body_html",
                            json_string("<p>A&amp;B 公司 &lt;合格&gt; &quot;样品&quot; &#x1F35C; "
                                        "&nbsp;𠮷野家</p><ul><li>一 <em>二</em></li></ul>"
                                        "<script>alert(1)</script>"));
        json_object_set_new(j, "body_text",
                            json_string("A&B 公司 <合格> \"样品\" 🍜 𠮷野家\n一 二"));
        break;
    default: { /* overlong: every field at its maximum */
        char *t = repeat("越秀区关于做好二〇二六年春季森林防火工作的通知", 190);
        snprintf(title, sizeof(title), "%s", tag);
        char *full = hd_asprintf("%s%s", title, t);
        char *cut = hd_utf8_truncate(full, 200, NULL);
        j = base(id, "work_news", cut);
        free(t);
        free(full);
        free(cut);
        char *s = repeat("森林防火责任重大,请各单位严格落实值班制度。", 1000);
        char *b = repeat("<p>森林防火,人人有责。</p>", 3000);
        json_object_set_new(j, "summary", json_string(s));
        json_object_set_new(j, "body_html", json_string(b));
        free(s);
        free(b);
        json_object_set_new(j, "doc_number", json_string("越府办〔2026〕99号"));
        break;
    }
    }
    return j;
}

struct hd_item_doc *kit_item(size_t i, const char *tag, int64_t version)
{
    char id[128];
    snprintf(id, sizeof(id), "conformance-%s-%s-%s", K->nonce, kit_item_name(i), tag);
    json_t *j = build(i, id, tag);
    if (j)
        json_object_set_new(j, "version", json_integer(version));
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    struct hd_item_doc *doc = NULL;
    struct hd_item_error err;
    if (!text || hd_item_parse(text, strlen(text), NULL, 0, 0, &doc, &err) != 0) {
        fprintf(stderr, "herald-conformance: sample item %s does not parse: %s %s\n",
                kit_item_name(i), err.code, err.detail);
        abort(); /* the kit's own bug */
    }
    free(text);
    return doc;
}

struct hd_dep_result kit_dep(const struct hd_item *it, char *rid, size_t rlen, char *url,
                             size_t ulen)
{
    char sha[65];
    hd_sha256_hex(it->id, strlen(it->id), sha);
    snprintf(rid, rlen, "portal-%.10s", sha);
    snprintf(url, ulen, "%s%.10s.html", K->dep_url, sha);
    struct hd_dep_result d = {K->dep_instance ? K->dep_instance : "website:portal", rid, url};
    return d;
}
