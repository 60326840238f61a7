/*
 * WeChat simulator: media, drafts and publish jobs (CHANNELS.md §1.2, §1.3).
 *
 * - media/uploadimg: multipart field `media`, JPG/PNG by magic bytes (40005), < 1 MB (40009);
 *   answers an mmbiz.qpic.cn URL, the only image URLs the draft keeps.
 * - material/add_material?type=thumb|image|voice|video: thumb is a JPG <= 64 KB; image is
 *   bmp/png/jpeg/gif <= 10 MB; answers a permanent media_id (url for images only).
 * - draft/add: title <= 32 (45003), author <= 16 (45110), digest <= 128 (45004), content
 *   required (44004), < 20,000 characters and < 1 MB (45002), content_source_url <= 1 KB (45005),
 *   thumb_media_id a permanent thumb/image of this account (40007), risky words (87014). The
 *   stored content loses <script> and every <img> whose src is not an mmbiz.qpic.cn URL.
 * - freepublish/submit: the draft leaves the draft box (a second submit of it is 40007, counted
 *   as a duplicate); check words give 53503; every publish is an applied effect keyed by a
 *   fingerprint of title and content, so a second publish of the same article is a duplicate.
 *   Each job follows a publish_status script (default [1, 0]), one step per publish_step_ms of
 *   the simulator's clock, and pushes PUBLISHJOBFINISH when it reaches a status other than 1.
 * - freepublish/get (53502 unknown), getarticle, batchget (successful publishes, newest first),
 *   delete (article_id, 1-based index; 53600 unknown or already deleted).
 */
#include <ctype.h>
#include <strings.h>

#include "common.h"
#include "sim.h"
#include "sim_wechat.h"

/* ---- helpers ------------------------------------------------------------------------------- */

static int is_jpeg(const char *d, size_t n)
{
    const unsigned char *u = (const unsigned char *)d;
    return n >= 3 && u[0] == 0xff && u[1] == 0xd8 && u[2] == 0xff;
}

static int is_png(const char *d, size_t n)
{
    return n >= 8 && memcmp(d, "\x89PNG\r\n\x1a\n", 8) == 0;
}

static int is_gif(const char *d, size_t n)
{
    return n >= 6 && (memcmp(d, "GIF87a", 6) == 0 || memcmp(d, "GIF89a", 6) == 0);
}

static int is_bmp(const char *d, size_t n)
{
    return n >= 2 && d[0] == 'B' && d[1] == 'M';
}

/* The `media` part of a multipart body, or NULL after answering 41005. */
static const char *media_part(struct hd_sim_req *r, size_t *len)
{
    const char *data = NULL;
    if (hd_sim_req_part(r, "media", &data, len, NULL, NULL) != 0 || *len == 0) {
        wxs_error(r, 41005, "media data missing");
        return NULL;
    }
    return data;
}

static json_t *find_publish(struct wxs *s, const char *key, const char *value)
{
    size_t i;
    json_t *p;
    json_array_foreach (s->publishes, i, p) {
        const char *v = json_string_value(json_object_get(p, key));
        if (v && value && strcmp(v, value) == 0)
            return p;
    }
    return NULL;
}

/* ---- media ----------------------------------------------------------------------------------- */

void wxs_uploadimg(struct wxs *s, struct hd_sim_req *r)
{
    size_t len;
    const char *data = media_part(r, &len);
    if (!data)
        return;
    int png = is_png(data, len);
    if (!png && !is_jpeg(data, len)) {
        wxs_error(r, 40005, "invalid file type");
        return;
    }
    if (len >= WXS_IMG_MAX) {
        wxs_error(r, 40009, "invalid image size");
        return;
    }
    char *id = wxs_id(s, "", 60), hash[65], url[200];
    hd_sim_sha256_hex(data, len, hash);
    snprintf(url, sizeof(url), "http://mmbiz.qpic.cn/sz_mmbiz_%s/%s/0?wx_fmt=%s",
             png ? "png" : "jpg", id ? id : "x", png ? "png" : "jpeg");
    free(id);
    json_object_set_new(s->images, url,
                        json_pack("{s:I,s:s}", "size", (json_int_t)len, "sha256", hash));
    wxs_reply(r, json_pack("{s:s,s:i,s:s}", "url", url, "errcode", 0, "errmsg", "ok"));
}

void wxs_add_material(struct wxs *s, struct hd_sim_req *r)
{
    const char *type = hd_sim_req_query(r, "type");
    size_t len;
    if (!type || (strcmp(type, "thumb") != 0 && strcmp(type, "image") != 0 &&
                  strcmp(type, "voice") != 0 && strcmp(type, "video") != 0)) {
        wxs_error(r, 40004, "invalid media type");
        return;
    }
    const char *data = media_part(r, &len);
    if (!data)
        return;
    int thumb = strcmp(type, "thumb") == 0, image = strcmp(type, "image") == 0;
    if (thumb && !is_jpeg(data, len)) {
        wxs_error(r, 40005, "invalid file type");
        return;
    }
    if (thumb && len > WXS_THUMB_MAX) {
        wxs_error(r, 40009, "invalid image size");
        return;
    }
    if (image && !is_jpeg(data, len) && !is_png(data, len) && !is_gif(data, len) &&
        !is_bmp(data, len)) {
        wxs_error(r, 40005, "invalid file type");
        return;
    }
    if ((image && len > WXS_IMAGE_MAX) || (!thumb && !image && len > WXS_IMAGE_MAX)) {
        wxs_error(r, image ? 40009 : 40006, image ? "invalid image size" : "invalid file size");
        return;
    }
    char *id = wxs_id(s, "", 43), hash[65];
    hd_sim_sha256_hex(data, len, hash);
    json_t *rec = json_pack("{s:s,s:I,s:s}", "type", type, "size", (json_int_t)len, "sha256", hash);
    json_t *out = json_pack("{s:s,s:[]}", "media_id", id, "item");
    if (image) {
        char url[200];
        snprintf(url, sizeof(url), "http://mmbiz.qpic.cn/mmbiz_jpg/%s/0?wx_fmt=jpeg", id);
        json_object_set_new(rec, "url", json_string(url));
        json_object_set_new(out, "url", json_string(url));
    }
    json_object_set_new(s->media, id, rec);
    free(id);
    wxs_reply(r, out);
}

/* ---- drafts ---------------------------------------------------------------------------------- */

static int platform_image(const char *src, size_t n)
{
    return (n > 21 && strncmp(src, "http://mmbiz.qpic.cn/", 21) == 0) ||
           (n > 22 && strncmp(src, "https://mmbiz.qpic.cn/", 22) == 0);
}

/* The src value of the <img ...> tag [p, end): its start and length (0 when none). */
static const char *img_src(const char *p, const char *end, size_t *n)
{
    for (const char *q = p + 4; q + 4 < end; q++) {
        if (strncasecmp(q, "src", 3) != 0 || !(isspace((unsigned char)q[-1])))
            continue;
        const char *v = q + 3;
        while (v < end && isspace((unsigned char)*v))
            v++;
        if (v >= end || *v != '=')
            continue;
        v++;
        while (v < end && isspace((unsigned char)*v))
            v++;
        if (v < end && (*v == '"' || *v == '\'')) {
            const char *e = memchr(v + 1, *v, (size_t)(end - v - 1));
            *n = e ? (size_t)(e - v - 1) : 0;
            return v + 1;
        }
        const char *e = v;
        while (e < end && !isspace((unsigned char)*e) && *e != '>')
            e++;
        *n = (size_t)(e - v);
        return v;
    }
    *n = 0;
    return NULL;
}

/* What the platform keeps of a draft's content: no scripts, no image from outside mmbiz. */
static char *filter_content(const char *in, int *n_img, int *n_js)
{
    size_t len = strlen(in), o = 0;
    char *out = malloc(len + 1);
    if (!out)
        return NULL;
    *n_img = *n_js = 0;
    for (const char *p = in; *p;) {
        if (*p == '<' && strncasecmp(p, "<script", 7) == 0) {
            const char *e = strcasestr(p, "</script>");
            p = e ? e + 9 : p + strlen(p);
            (*n_js)++;
            continue;
        }
        if (*p == '<' && strncasecmp(p, "<img", 4) == 0 &&
            (isspace((unsigned char)p[4]) || p[4] == '/' || p[4] == '>')) {
            const char *end = strchr(p, '>');
            end = end ? end + 1 : p + strlen(p);
            size_t n;
            const char *src = img_src(p, end, &n);
            if (!src || !platform_image(src, n)) {
                (*n_img)++;
                p = end;
                continue;
            }
            memcpy(out + o, p, (size_t)(end - p));
            o += (size_t)(end - p);
            p = end;
            continue;
        }
        out[o++] = *p++;
    }
    out[o] = '\0';
    return out;
}

static int is_01(const json_t *v)
{
    return !v || (json_is_integer(v) && (json_integer_value(v) == 0 || json_integer_value(v) == 1));
}

/* Checks one article of draft/add; 0, or answers the error and returns -1. */
static int check_article(struct wxs *s, struct hd_sim_req *r, json_t *a)
{
    const char *type = json_string_value(json_object_get(a, "article_type"));
    json_t *title = json_object_get(a, "title"), *content = json_object_get(a, "content");
    json_t *author = json_object_get(a, "author"), *digest = json_object_get(a, "digest");
    json_t *src = json_object_get(a, "content_source_url");
    const char *thumb = json_string_value(json_object_get(a, "thumb_media_id"));
    if (!json_is_object(a) || (type && strcmp(type, "news") != 0) || !json_is_string(title) ||
        (author && !json_is_string(author)) || (digest && !json_is_string(digest)) ||
        (src && !json_is_string(src)) || (content && !json_is_string(content)) ||
        !is_01(json_object_get(a, "need_open_comment")) ||
        !is_01(json_object_get(a, "only_fans_can_comment"))) {
        /* (newspic articles are not simulated) */
        wxs_error(r, 47001, "data format error");
        return -1;
    }
    const char *c = json_string_value(content);
    if (!c || !*c) {
        wxs_error(r, 44004, "empty content");
        return -1;
    }
    if (json_string_length(title) == 0 || wxs_chars(json_string_value(title)) > WXS_TITLE) {
        wxs_error(r, 45003, "title size out of limit");
        return -1;
    }
    if (author && wxs_chars(json_string_value(author)) > WXS_AUTHOR) {
        wxs_error(r, 45110, "author size out of limit");
        return -1;
    }
    if (digest && wxs_chars(json_string_value(digest)) > WXS_DIGEST) {
        wxs_error(r, 45004, "description size out of limit");
        return -1;
    }
    if (wxs_chars(c) >= WXS_CONTENT || strlen(c) >= WXS_CONTENT_B) {
        wxs_error(r, 45002, "content size out of limit");
        return -1;
    }
    if (src && json_string_length(src) > WXS_SOURCE_URL) {
        wxs_error(r, 45005, "url size out of limit");
        return -1;
    }
    json_t *m = thumb ? json_object_get(s->media, thumb) : NULL;
    const char *mt = json_string_value(json_object_get(m, "type"));
    if (!mt || (strcmp(mt, "thumb") != 0 && strcmp(mt, "image") != 0)) {
        wxs_error(r, 40007, "invalid media_id");
        return -1;
    }
    if (wxs_has_word(s->risky_words, json_string_value(title)) || wxs_has_word(s->risky_words, c) ||
        wxs_has_word(s->risky_words, json_string_value(digest))) {
        wxs_error(r, 87014, "risky content");
        return -1;
    }
    return 0;
}

static void draft_add(struct wxs *s, struct hd_sim_req *r, json_t *b)
{
    json_t *arts = json_object_get(b, "articles"), *a;
    size_t i;
    if (!json_is_array(arts)) {
        wxs_error(r, 47001, "data format error");
        return;
    }
    if (json_array_size(arts) == 0) {
        wxs_error(r, 44003, "empty news data");
        return;
    }
    if (json_array_size(arts) > 8) {
        wxs_error(r, 45008, "article size out of limit");
        return;
    }
    json_array_foreach (arts, i, a) {
        if (check_article(s, r, a) < 0)
            return;
    }
    json_t *kept = json_array();
    int stripped_img = 0, stripped_js = 0;
    json_array_foreach (arts, i, a) {
        int ni = 0, nj = 0;
        json_t *copy = json_deep_copy(a);
        char *c = filter_content(json_string_value(json_object_get(a, "content")), &ni, &nj);
        json_object_set_new(copy, "content", json_string(c ? c : ""));
        free(c);
        json_t *m =
            json_object_get(s->media, json_string_value(json_object_get(a, "thumb_media_id")));
        if (json_object_get(m, "url"))
            json_object_set(copy, "thumb_url", json_object_get(m, "url"));
        json_array_append_new(kept, copy);
        stripped_img += ni;
        stripped_js += nj;
    }
    char *id = wxs_id(s, "", 43);
    json_object_set_new(s->drafts, id,
                        json_pack("{s:o,s:I,s:i,s:i}", "articles", kept, "created_ms",
                                  (json_int_t)wxs_now(s), "stripped_images", stripped_img,
                                  "stripped_scripts", stripped_js));
    wxs_reply(r, json_pack("{s:s}", "media_id", id));
    free(id);
}

void wxs_draft(struct wxs *s, struct hd_sim_req *r, const char *what)
{
    json_t *b = wxs_body(r);
    if (!b)
        return;
    const char *media_id = json_string_value(json_object_get(b, "media_id"));
    json_t *d = media_id ? json_object_get(s->drafts, media_id) : NULL;
    if (strcmp(what, "add") == 0) {
        draft_add(s, r, b);
    } else if (strcmp(what, "count") == 0) {
        wxs_reply(r, json_pack("{s:I}", "total_count", (json_int_t)json_object_size(s->drafts)));
    } else if (!d) {
        wxs_error(r, 40007, "invalid media_id");
    } else if (strcmp(what, "get") == 0) {
        wxs_reply(r, json_pack("{s:O}", "news_item", json_object_get(d, "articles")));
    } else { /* delete */
        json_object_del(s->drafts, media_id);
        wxs_reply(r, json_pack("{s:i,s:s}", "errcode", 0, "errmsg", "ok"));
    }
    json_decref(b);
}

/* ---- publish jobs
 * -------------------------------------------------------------------------------- */

static void change(struct wxs *s, json_t *p, int status, int push)
{
    int old = (int)json_integer_value(json_object_get(p, "status"));
    json_object_set_new(p, "status", json_integer(status));
    if ((status == 0 || status == 5 || status == 6) && !json_object_get(p, "article_id")) {
        char *aid = wxs_id(s, "", 43), *slug = wxs_id(s, "", 22), url[120];
        snprintf(url, sizeof(url), "https://mp.weixin.qq.com/s/%s", slug ? slug : "x");
        json_object_set_new(p, "article_id", json_string(aid ? aid : "x"));
        json_object_set_new(p, "article_url", json_string(url));
        json_object_set_new(p, "published_ms", json_integer(wxs_now(s)));
        free(aid);
        free(slug);
    }
    if (status == 5 || status == 6)
        json_object_set_new(p, "is_deleted", json_true());
    if (push && status != 1 && (status != old || push > 1))
        wxs_push_event(s, p);
}

void wxs_tick(struct wxs *s)
{
    size_t i;
    json_t *p;
    int64_t now = wxs_now(s);
    json_array_foreach (s->publishes, i, p) {
        json_t *script = json_object_get(p, "script");
        for (;;) {
            json_int_t idx = json_integer_value(json_object_get(p, "index"));
            json_int_t at = json_integer_value(json_object_get(p, "next_change_ms"));
            if (idx + 1 >= (json_int_t)json_array_size(script) || now < at)
                break;
            json_object_set_new(p, "index", json_integer(idx + 1));
            json_object_set_new(p, "next_change_ms", json_integer(at + s->step_ms));
            change(s, p, (int)json_integer_value(json_array_get(script, (size_t)idx + 1)), 1);
        }
    }
}

static json_t *take_script(struct wxs *s, const char *title)
{
    size_t i;
    json_t *e;
    json_array_foreach (s->scripts, i, e) {
        const char *m = json_string_value(json_object_get(e, "title_contains"));
        if (!m || (title && strstr(title, m))) {
            json_t *st = json_deep_copy(json_object_get(e, "statuses"));
            json_array_remove(s->scripts, i);
            return st;
        }
    }
    return json_deep_copy(s->default_script);
}

static void submit(struct wxs *s, struct hd_sim_req *r, json_t *b)
{
    const char *media_id = json_string_value(json_object_get(b, "media_id"));
    json_t *d = media_id ? json_object_get(s->drafts, media_id) : NULL;
    const char *again =
        media_id ? json_string_value(json_object_get(s->submitted, media_id)) : NULL;
    if (!d) {
        if (again) {
            /* this draft was submitted already and left the draft box: the client is
             * submitting twice; the platform refuses, the record shows it */
            json_t *p = find_publish(s, "publish_id", again);
            char key[64];
            snprintf(key, sizeof(key), "publish:%s",
                     json_string_value(json_object_get(p, "fingerprint")));
            hd_sim_duplicate(r, key);
            json_object_set_new(
                p, "resubmits",
                json_integer(json_integer_value(json_object_get(p, "resubmits")) + 1));
        }
        wxs_error(r, 40007, "invalid media_id");
        return;
    }
    json_t *art = json_array_get(json_object_get(d, "articles"), 0);
    const char *title = json_string_value(json_object_get(art, "title"));
    const char *content = json_string_value(json_object_get(art, "content"));
    if (wxs_has_word(s->check_words, title) || wxs_has_word(s->check_words, content)) {
        wxs_error(r, 53503, "该草稿未通过发布检查");
        return;
    }
    /* the article's fingerprint: the same article published twice is a duplicate effect */
    size_t tl = strlen(title ? title : ""), cl = strlen(content ? content : "");
    char *buf = malloc(tl + cl + 2), fp[65], key[80], pid[32], msg[32];
    if (!buf) {
        wxs_error(r, -1, "system error");
        return;
    }
    memcpy(buf, title ? title : "", tl);
    buf[tl] = '\n';
    memcpy(buf + tl + 1, content ? content : "", cl);
    hd_sim_sha256_hex(buf, tl + cl + 1, fp);
    free(buf);
    fp[16] = '\0';
    snprintf(key, sizeof(key), "publish:%s", fp);
    s->seq++;
    snprintf(pid, sizeof(pid), "%lld", 2247483647LL + (long long)s->seq);
    snprintf(msg, sizeof(msg), "%lld", 2247483647LL + 1000000LL + (long long)s->seq);
    int dup = find_publish(s, "fingerprint", fp) != NULL;
    if (dup)
        hd_sim_duplicate(r, key);
    else
        hd_sim_applied(r, key);
    json_t *script = take_script(s, title);
    int64_t now = wxs_now(s);
    json_t *p = json_pack(
        "{s:s,s:s,s:s,s:s?,s:s,s:O,s:o,s:i,s:i,s:I,s:I,s:b,s:i,s:b}", "publish_id", pid,
        "msg_data_id", msg, "media_id", media_id, "title", title, "fingerprint", fp, "article", art,
        "script", script, "index", 0, "status", 1, "created_ms", (json_int_t)now, "next_change_ms",
        (json_int_t)(now + s->step_ms), "is_deleted", 0, "resubmits", 0, "duplicate", dup);
    json_array_append_new(s->publishes, p);
    json_object_set_new(s->submitted, media_id, json_string(pid));
    json_object_del(s->drafts, media_id); /* published drafts leave the draft box (§1.3) */
    change(s, p, (int)json_integer_value(json_array_get(script, 0)), 1);
    wxs_reply(r, json_pack("{s:i,s:s,s:s,s:s}", "errcode", 0, "errmsg", "ok", "publish_id", pid,
                           "msg_data_id", msg));
}

static json_t *news_item(json_t *p, int with_content)
{
    json_t *a = json_deep_copy(json_object_get(p, "article"));
    if (!with_content)
        json_object_del(a, "content");
    json_object_set(a, "url", json_object_get(p, "article_url"));
    json_object_set_new(a, "is_deleted",
                        json_boolean(json_is_true(json_object_get(p, "is_deleted"))));
    return a;
}

static void get_status(struct wxs *s, struct hd_sim_req *r, json_t *b)
{
    json_t *pidv = json_object_get(b, "publish_id");
    char pid[64] = "";
    if (json_is_string(pidv))
        snprintf(pid, sizeof(pid), "%s", json_string_value(pidv));
    else if (json_is_integer(pidv))
        snprintf(pid, sizeof(pid), "%" JSON_INTEGER_FORMAT, json_integer_value(pidv));
    json_t *p = find_publish(s, "publish_id", pid);
    if (!p) {
        wxs_error(r, 53502, "invalid publish_id");
        return;
    }
    int st = (int)json_integer_value(json_object_get(p, "status"));
    json_t *out = json_pack("{s:s,s:i}", "publish_id", pid, "publish_status", st);
    if (st == 0 || st == 5 || st == 6) {
        json_object_set(out, "article_id", json_object_get(p, "article_id"));
        json_object_set_new(out, "article_detail",
                            json_pack("{s:i,s:[{s:i,s:O}]}", "count", 1, "item", "idx", 1,
                                      "article_url", json_object_get(p, "article_url")));
    }
    json_object_set_new(out, "fail_idx", st == 2 || st == 4 ? json_pack("[i]", 1) : json_array());
    wxs_reply(r, out);
}

static int newest_first(const void *a, const void *b)
{
    json_int_t x = json_integer_value(json_object_get(*(json_t *const *)a, "published_ms"));
    json_int_t y = json_integer_value(json_object_get(*(json_t *const *)b, "published_ms"));
    return x < y ? 1 : x > y ? -1 : 0;
}

static void batchget(struct wxs *s, struct hd_sim_req *r, json_t *b)
{
    json_t *off = json_object_get(b, "offset"), *cnt = json_object_get(b, "count");
    if (!json_is_integer(off) || !json_is_integer(cnt) || json_integer_value(off) < 0 ||
        json_integer_value(cnt) < 1 || json_integer_value(cnt) > 20) {
        wxs_error(r, 47001, "data format error");
        return;
    }
    int with_content = json_integer_value(json_object_get(b, "no_content")) != 1;
    size_t n = 0, i;
    json_t *p, **all = calloc(json_array_size(s->publishes) + 1, sizeof(*all));
    if (!all) {
        wxs_error(r, -1, "system error");
        return;
    }
    json_array_foreach (s->publishes, i, p) {
        if (json_object_get(p, "article_id"))
            all[n++] = p;
    }
    qsort(all, n, sizeof(*all), newest_first);
    json_t *items = json_array();
    size_t from = (size_t)json_integer_value(off);
    for (i = from; i < n && i < from + (size_t)json_integer_value(cnt); i++)
        json_array_append_new(
            items,
            json_pack("{s:O,s:{s:[o]},s:I}", "article_id", json_object_get(all[i], "article_id"),
                      "content", "news_item", news_item(all[i], with_content), "update_time",
                      json_integer_value(json_object_get(all[i], "published_ms")) / 1000));
    free(all);
    wxs_reply(r, json_pack("{s:I,s:I,s:o}", "total_count", (json_int_t)n, "item_count",
                           (json_int_t)json_array_size(items), "item", items));
}

static void delete_article(struct wxs *s, struct hd_sim_req *r, json_t *b)
{
    const char *aid = json_string_value(json_object_get(b, "article_id"));
    json_t *index = json_object_get(b, "index");
    json_t *p = find_publish(s, "article_id", aid);
    char key[200];
    if (index && (!json_is_integer(index) || json_integer_value(index) < 0)) {
        wxs_error(r, 47001, "data format error");
        return;
    }
    if (!p) {
        wxs_error(r, 53600, "invalid article_id");
        return;
    }
    snprintf(key, sizeof(key), "delete:%s", aid);
    if (json_is_true(json_object_get(p, "is_deleted"))) {
        hd_sim_duplicate(r, key);
        wxs_error(r, 53600, "invalid article_id");
        return;
    }
    if (index && json_integer_value(index) > 1) { /* one article per publish here */
        wxs_error(r, 53600, "invalid article_id");
        return;
    }
    hd_sim_applied(r, key);
    change(s, p, 5, 0); /* 成功后用户删除所有文章 */
    json_object_set_new(p, "deleted_ms", json_integer(wxs_now(s)));
    wxs_reply(r, json_pack("{s:i,s:s}", "errcode", 0, "errmsg", "ok"));
}

void wxs_freepublish(struct wxs *s, struct hd_sim_req *r, const char *what)
{
    json_t *b = wxs_body(r);
    if (!b)
        return;
    if (strcmp(what, "submit") == 0) {
        submit(s, r, b);
    } else if (strcmp(what, "get") == 0) {
        get_status(s, r, b);
    } else if (strcmp(what, "batchget") == 0) {
        batchget(s, r, b);
    } else if (strcmp(what, "delete") == 0) {
        delete_article(s, r, b);
    } else { /* getarticle */
        json_t *p =
            find_publish(s, "article_id", json_string_value(json_object_get(b, "article_id")));
        if (!p)
            wxs_error(r, 53600, "invalid article_id");
        else
            wxs_reply(r, json_pack("{s:[o]}", "news_item", news_item(p, 1)));
    }
    json_decref(b);
}

/* ---- control --------------------------------------------------------------------------------- */

static int selected(json_t *p, const json_t *body)
{
    const char *pid = json_string_value(json_object_get(body, "publish_id"));
    const char *aid = json_string_value(json_object_get(body, "article_id"));
    const char *title = json_string_value(json_object_get(body, "title_contains"));
    const char *t = json_string_value(json_object_get(p, "title"));
    return (!pid || hd_streq(pid, json_string_value(json_object_get(p, "publish_id")))) &&
           (!aid || hd_streq(aid, json_string_value(json_object_get(p, "article_id")))) &&
           (!title || (t && strstr(t, title)));
}

int wxs_advance(struct wxs *s, const json_t *body, json_t **reply)
{
    size_t i, n = 0;
    json_t *p;
    json_array_foreach (s->publishes, i, p) {
        json_t *script = json_object_get(p, "script");
        json_int_t idx = json_integer_value(json_object_get(p, "index"));
        if (!selected(p, body) || idx + 1 >= (json_int_t)json_array_size(script))
            continue;
        json_object_set_new(p, "index", json_integer(idx + 1));
        json_object_set_new(p, "next_change_ms", json_integer(wxs_now(s) + s->step_ms));
        change(s, p, (int)json_integer_value(json_array_get(script, (size_t)idx + 1)), 1);
        n++;
    }
    *reply = json_pack("{s:I}", "advanced", (json_int_t)n);
    return 0;
}

int wxs_set_status(struct wxs *s, const json_t *body, json_t **reply)
{
    json_t *st = json_object_get(body, "status"), *p;
    size_t i, n = 0;
    if (!json_is_integer(st) || json_integer_value(st) < 0 || json_integer_value(st) > 6)
        return -1;
    int push = json_is_false(json_object_get(body, "push")) ? 0 : 2;
    json_array_foreach (s->publishes, i, p) {
        if (!selected(p, body))
            continue;
        /* the script is over: this status stays */
        json_object_set_new(
            p, "index", json_integer((json_int_t)json_array_size(json_object_get(p, "script"))));
        change(s, p, (int)json_integer_value(st), push);
        n++;
    }
    *reply = json_pack("{s:I}", "changed", (json_int_t)n);
    return 0;
}
