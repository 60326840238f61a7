/*
 * WeChat render: item -> the publishing plan send() carries out (pure: no clock, no I/O).
 *
 * The plan is a JSON document:
 *   {"v":1, "mode":"full"|"summary_link",
 *    "title", "author"?, "digest"?, "content", "source_url"?, "comment":0|1, "fans_only":0|1,
 *    "images":[{"url","sha256"?,"size","type"}],   -- uploadimg each, index = placeholder
 *    "cover":{"url","sha256"?,"size"} | null,      -- the item's first image, if a JPG <= 64 KB
 *    "default_cover": true|false,                  -- fall back to the account's default cover
 *    "notes":[...]}                                -- what render left out, for the attempt log
 * The content holds src="herald-img://<i>" where image i goes; send() uploads the images
 * (media/uploadimg: the platform strips external image URLs) and fills in the mmbiz URLs.
 *
 * Limits (CHANNELS.md §1.3): title <= 32, author <= 16, digest <= 128, content < 20,000
 * characters and < 1 MB, content_source_url <= 1 KB. Lengths are counted in UTF-16 units
 * (wx_len): never less than the platform's count, whichever way it counts 字. A title or digest
 * over the limit is cut on a grapheme boundary with "…" when the configuration allows it; a body
 * over the limit is never cut: the summary and a 阅读原文 link to the portal article go instead
 * (overlong_body: summary_link), or the delivery is rejected.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "wechat.h"

#define ELLIPSIS "…"

/* ---- UTF-8, UTF-16 units, graphemes -------------------------------------------------------- */

/* The code point at s (advance in *adv), or -1 for an invalid byte (advance 1). */
static long u8_next(const unsigned char *s, size_t *adv)
{
    unsigned c = s[0];
    long cp;
    size_t n;
    if (c < 0x80) {
        *adv = 1;
        return c;
    }
    if (c >= 0xc2 && c <= 0xdf) {
        n = 2;
        cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        cp = c & 0x07;
    } else {
        *adv = 1;
        return -1;
    }
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80) {
            *adv = 1;
            return -1;
        }
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) || (n == 4 && cp < 0x10000) ||
        cp > 0x10ffff) {
        *adv = 1;
        return -1;
    }
    *adv = n;
    return cp;
}

static size_t units(long cp)
{
    return cp > 0xffff ? 2 : 1;
}

size_t wx_len(const char *s)
{
    size_t n = 0, adv;
    const unsigned char *p = (const unsigned char *)s;
    while (p && *p) {
        n += units(u8_next(p, &adv));
        p += adv;
    }
    return n;
}

/* Code points that stay with the one before them (a simplified UAX #29 "Extend"). */
static int extends(long cp)
{
    return (cp >= 0x0300 && cp <= 0x036f) || (cp >= 0x1ab0 && cp <= 0x1aff) ||
           (cp >= 0x1dc0 && cp <= 0x1dff) || (cp >= 0x20d0 && cp <= 0x20ff) ||
           (cp >= 0xfe00 && cp <= 0xfe0f) || (cp >= 0xfe20 && cp <= 0xfe2f) ||
           (cp >= 0x3099 && cp <= 0x309a) || cp == 0x200d || (cp >= 0x1f3fb && cp <= 0x1f3ff) ||
           (cp >= 0xe0020 && cp <= 0xe007f) || (cp >= 0xe0100 && cp <= 0xe01ef);
}

static int regional(long cp)
{
    return cp >= 0x1f1e6 && cp <= 0x1f1ff;
}

/* Byte length and UTF-16 units of the grapheme cluster at p. */
static size_t cluster(const unsigned char *p, size_t *n_units)
{
    size_t adv, len = 0, u = 0;
    long cp = u8_next(p, &adv), prev;
    int ri = regional(cp);
    len += adv;
    u += units(cp);
    prev = cp;
    while (p[len]) {
        long next = u8_next(p + len, &adv);
        int join = extends(next) || prev == 0x200d || (ri == 1 && regional(next));
        if (!join || next < 0)
            break;
        if (regional(next))
            ri++;
        len += adv;
        u += units(next);
        prev = next;
    }
    *n_units = u;
    return len;
}

char *wx_truncate(const char *s, size_t max, const char *ellipsis)
{
    size_t total = wx_len(s);
    if (total <= max)
        return strdup(s);
    size_t el = ellipsis ? wx_len(ellipsis) : 0;
    if (el > max)
        el = 0, ellipsis = NULL;
    size_t budget = max - el, used = 0, bytes = 0;
    const unsigned char *p = (const unsigned char *)s;
    while (p[bytes]) {
        size_t u, len = cluster(p + bytes, &u);
        if (used + u > budget)
            break;
        used += u;
        bytes += len;
    }
    size_t elen = ellipsis ? strlen(ellipsis) : 0;
    char *out = malloc(bytes + elen + 1);
    if (!out)
        return NULL;
    memcpy(out, s, bytes);
    if (elen)
        memcpy(out + bytes, ellipsis, elen);
    out[bytes + elen] = '\0';
    return out;
}

int wx_is_jpeg(const void *data, size_t len)
{
    const unsigned char *d = data;
    return len >= 3 && d[0] == 0xff && d[1] == 0xd8 && d[2] == 0xff;
}

int wx_is_png(const void *data, size_t len)
{
    return len >= 8 && memcmp(data, "\x89PNG\r\n\x1a\n", 8) == 0;
}

/* ---- a growing string ------------------------------------------------------------------------ */

struct buf {
    char *s;
    size_t len, cap;
    int oom;
};

static void put(struct buf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (b->len + n + 1 > cap)
            cap *= 2;
        char *g = realloc(b->s, cap);
        if (!g) {
            b->oom = 1;
            return;
        }
        b->s = g;
        b->cap = cap;
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

static void puts_(struct buf *b, const char *s)
{
    put(b, s, strlen(s));
}

static void put_escaped(struct buf *b, const char *s, int newlines_as_br)
{
    for (; *s; s++) {
        switch (*s) {
        case '&':
            puts_(b, "&amp;");
            break;
        case '<':
            puts_(b, "&lt;");
            break;
        case '>':
            puts_(b, "&gt;");
            break;
        case '"':
            puts_(b, "&quot;");
            break;
        case '\'':
            puts_(b, "&#39;");
            break;
        case '\r':
            break;
        case '\n':
            puts_(b, newlines_as_br ? "<br/>" : " ");
            break;
        default:
            put(b, s, 1);
        }
    }
}

/* ---- <img> tags in the body ------------------------------------------------------------------ */

struct img_tag {
    size_t start, end;         /* the whole tag [start, end) */
    size_t val_start, val_end; /* the src value, quotes excluded; 0,0 when no src */
    int quoted;
};

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
}

/* The next <img ...> tag at or after pos; 0 when there is none. Comments are skipped. */
static int next_img(const char *h, size_t pos, struct img_tag *t)
{
    for (const char *p = h + pos; (p = strchr(p, '<')) != NULL;) {
        if (strncmp(p, "<!--", 4) == 0) {
            const char *e = strstr(p + 4, "-->");
            if (!e)
                return 0;
            p = e + 3;
            continue;
        }
        if (strncasecmp(p + 1, "img", 3) != 0 || !(is_space(p[4]) || p[4] == '/' || p[4] == '>')) {
            p++;
            continue;
        }
        memset(t, 0, sizeof(*t));
        t->start = (size_t)(p - h);
        const char *q = p + 4;
        for (;;) {
            while (is_space(*q) || *q == '/')
                q++;
            if (*q == '>' || !*q)
                break;
            const char *name = q;
            while (*q && !is_space(*q) && *q != '=' && *q != '>' && *q != '/')
                q++;
            size_t nlen = (size_t)(q - name);
            while (is_space(*q))
                q++;
            if (*q != '=')
                continue;
            q++;
            while (is_space(*q))
                q++;
            const char *vs, *ve;
            int quoted = 0;
            if (*q == '"' || *q == '\'') {
                char quote = *q++;
                vs = q;
                while (*q && *q != quote)
                    q++;
                ve = q;
                if (*q)
                    q++;
                quoted = 1;
            } else {
                vs = q;
                while (*q && !is_space(*q) && *q != '>')
                    q++;
                ve = q;
            }
            if (nlen == 3 && strncasecmp(name, "src", 3) == 0 && !t->val_end) {
                t->val_start = (size_t)(vs - h);
                t->val_end = (size_t)(ve - h);
                t->quoted = quoted;
            }
        }
        t->end = (size_t)(q - h) + (*q == '>');
        return 1;
    }
    return 0;
}

/* An attribute value with the few entities URLs carry decoded. malloc'd. */
static char *decode_attr(const char *s, size_t n)
{
    static const struct {
        const char *ent;
        char c;
    } ents[] = {{"&amp;", '&'}, {"&quot;", '"'}, {"&#39;", '\''}, {"&apos;", '\''},
                {"&lt;", '<'},  {"&gt;", '>'},   {"&#38;", '&'},  {"&#x26;", '&'}};
    char *out = malloc(n + 1);
    size_t o = 0;
    if (!out)
        return NULL;
    for (size_t i = 0; i < n;) {
        size_t k;
        for (k = 0; k < sizeof(ents) / sizeof(ents[0]); k++) {
            size_t el = strlen(ents[k].ent);
            if (i + el <= n && strncasecmp(s + i, ents[k].ent, el) == 0) {
                out[o++] = ents[k].c;
                i += el;
                break;
            }
        }
        if (k == sizeof(ents) / sizeof(ents[0]))
            out[o++] = s[i++];
    }
    out[o] = '\0';
    return out;
}

static int platform_url(const char *u)
{
    return strncmp(u, "http://mmbiz.qpic.cn/", 21) == 0 ||
           strncmp(u, "https://mmbiz.qpic.cn/", 22) == 0;
}

/* Why the platform cannot carry this image in the body, or NULL when it can. */
static const char *unusable(const struct hd_asset *a)
{
    if (!a->media_type || (strcasecmp(a->media_type, "image/jpeg") != 0 &&
                           strcasecmp(a->media_type, "image/png") != 0))
        return "not a JPG or PNG (media/uploadimg takes only these)";
    if (a->size >= (int64_t)WX_UPLOADIMG_MAX)
        return "1 MB or larger (media/uploadimg takes less than 1 MB)";
    return NULL;
}

static const char *dep_url(const struct hd_render_ctx *rc)
{
    const char *any = NULL;
    for (size_t i = 0; rc && i < rc->n_deps; i++) {
        const char *u = rc->deps[i].url;
        if (!u || !*u)
            continue;
        if (rc->deps[i].instance && strncmp(rc->deps[i].instance, "website:", 8) == 0)
            return u;
        if (!any)
            any = u;
    }
    return any;
}

/* ---- the plan
 * ------------------------------------------------------------------------------------ */

struct plan {
    const struct wx_render_conf *c;
    const struct hd_item *it;
    struct buf content;
    size_t n_placeholders, placeholder_units; /* occurrences, and the units they take now */
    int *img_index;                           /* item image -> plan image index, or -1 */
    json_t *images, *notes;
    char *err;
    size_t errlen;
};

static int reject(struct plan *p, const char *fmt, const char *a, const char *b)
{
    snprintf(p->err, p->errlen, fmt, a ? a : "", b ? b : "");
    return HD_RENDER_REJECT;
}

/* The plan index of item image k (adding it on first use). */
static long plan_image(struct plan *p, size_t k)
{
    if (p->img_index[k] >= 0)
        return p->img_index[k];
    const struct hd_asset *a = &p->it->images[k];
    json_t *o = json_pack("{s:s,s:I,s:s}", "url", a->url, "size", (json_int_t)a->size, "type",
                          a->media_type);
    if (o && a->sha256)
        json_object_set_new(o, "sha256", json_string(a->sha256));
    json_array_append_new(p->images, o);
    p->img_index[k] = (int)json_array_size(p->images) - 1;
    return p->img_index[k];
}

static void put_placeholder(struct plan *p, long idx)
{
    char ph[48];
    snprintf(ph, sizeof(ph), "%s%ld", WX_IMG_PLACEHOLDER, idx);
    puts_(&p->content, ph);
    p->n_placeholders++;
    p->placeholder_units += strlen(ph);
}

static void note(struct plan *p, const char *fmt, const char *a, const char *b)
{
    char line[600];
    snprintf(line, sizeof(line), fmt, a ? a : "", b ? b : "");
    json_array_append_new(p->notes, json_string(line));
}

/* The body with every <img> either pointing at a plan image or removed. */
static int plan_body(struct plan *p)
{
    const char *h = p->it->body_html;
    size_t pos = 0;
    struct img_tag t;
    while (next_img(h, pos, &t)) {
        put(&p->content, h + pos, t.start - pos);
        pos = t.end;
        char *src = t.val_end > t.val_start ? decode_attr(h + t.val_start, t.val_end - t.val_start)
                                            : strdup("");
        if (!src)
            return reject(p, "out of memory", NULL, NULL);
        if (*src && platform_url(src)) {
            put(&p->content, h + t.start, t.end - t.start); /* already on the platform */
            free(src);
            continue;
        }
        size_t k;
        for (k = 0; k < p->it->n_images && strcmp(p->it->images[k].url, src) != 0; k++)
            ;
        const char *why = k < p->it->n_images ? unusable(&p->it->images[k])
                          : *src              ? "not declared in item.images (no sha256 to check)"
                                              : "without a src";
        if (why) {
            if (!p->c->drop_images) {
                int r = reject(p, "body image %.300s is %s (image_policy: reject)", src, why);
                free(src);
                return r;
            }
            note(p, "body image %.300s left out: %s", src, why);
            free(src);
            continue; /* the tag is dropped */
        }
        free(src);
        long idx = plan_image(p, k);
        /* the tag as it was, with the src value replaced (quoted) */
        put(&p->content, h + t.start, t.val_start - t.start - (t.quoted ? 1 : 0));
        puts_(&p->content, "\"");
        put_placeholder(p, idx);
        puts_(&p->content, "\"");
        size_t after = t.val_end + (t.quoted ? 1 : 0);
        put(&p->content, h + after, t.end - after);
    }
    puts_(&p->content, h + pos);
    if (!p->c->append_images)
        return HD_RENDER_OK;
    for (size_t k = 0; k < p->it->n_images; k++) {
        const struct hd_asset *a = &p->it->images[k];
        if (p->img_index[k] >= 0)
            continue;
        const char *why = unusable(a);
        if (why) {
            if (!p->c->drop_images)
                return reject(p, "image %.300s is %s (image_policy: reject)", a->url, why);
            note(p, "image %.300s left out: %s", a->url, why);
            continue;
        }
        puts_(&p->content, "<p><img src=\"");
        put_placeholder(p, plan_image(p, k));
        puts_(&p->content, "\"/></p>");
        if (a->name && *a->name) {
            puts_(&p->content, "<p>");
            put_escaped(&p->content, a->name, 0);
            puts_(&p->content, "</p>");
        }
    }
    return HD_RENDER_OK;
}

/* Units and bytes the content will have once every placeholder is an uploaded image's URL. */
static void planned_size(const struct plan *p, size_t *u, size_t *bytes)
{
    size_t extra = p->n_placeholders * WX_URL_RESERVE;
    *u = wx_len(p->content.s ? p->content.s : "") - p->placeholder_units + extra;
    *bytes = p->content.len - p->placeholder_units + extra;
}

static int summary_link(struct plan *p, const char *portal, size_t units_now)
{
    const char *summary = p->it->summary;
    char detail[64];
    snprintf(detail, sizeof(detail), "%zu", units_now);
    if (p->c->overlong == WX_OVERLONG_REJECT)
        return reject(p,
                      "body is %s characters with images, the limit is 19,999 (overlong_body: "
                      "reject)%s",
                      detail, NULL);
    if (!summary || !*summary)
        return reject(p,
                      "body is %s characters with images, the limit is 19,999, and the item has "
                      "no summary to publish instead%s",
                      detail, NULL);
    if (!portal)
        return reject(p,
                      "body is %s characters with images, the limit is 19,999, and there is no "
                      "portal article to link to (depends_on: [website:...])%s",
                      detail, NULL);
    free(p->content.s);
    memset(&p->content, 0, sizeof(p->content));
    p->n_placeholders = p->placeholder_units = 0;
    json_array_clear(p->images);
    for (size_t k = 0; k < p->it->n_images; k++)
        p->img_index[k] = -1;
    puts_(&p->content, "<p>");
    put_escaped(&p->content, summary, 1);
    puts_(&p->content, "</p><p><a href=\"");
    put_escaped(&p->content, portal, 0);
    puts_(&p->content, "\">阅读原文</a></p>");
    note(p, "body is %s characters: the summary and a link to the portal article go instead%s",
         detail, NULL);
    size_t u, bytes;
    planned_size(p, &u, &bytes);
    if (u >= WX_CONTENT_MAX || bytes >= WX_CONTENT_BYTES)
        return reject(p, "even the summary is too long for WeChat (%s)%s", detail, NULL);
    return HD_RENDER_OK;
}

static int text_field(struct plan *p, const char *name, const char *value, size_t max, int cut,
                      const char *key, json_t *doc)
{
    size_t n = wx_len(value);
    if (n <= max) {
        json_object_set_new(doc, key, json_string(value));
        return HD_RENDER_OK;
    }
    char lim[96];
    snprintf(lim, sizeof(lim), "%zu characters, the limit is %zu", n, max);
    if (!cut)
        return reject(p, "%s is %s (truncation is off)", name, lim);
    char *t = wx_truncate(value, max, ELLIPSIS);
    if (!t)
        return reject(p, "out of memory%s%s", NULL, NULL);
    json_object_set_new(doc, key, json_string(t));
    note(p, "%s cut: %s", name, lim);
    free(t);
    return HD_RENDER_OK;
}

int wx_render_plan(const struct wx_render_conf *c, const struct hd_item *it,
                   const struct hd_render_ctx *rc, char **json_out, char *err, size_t errlen)
{
    struct plan p = {.c = c, .it = it, .err = err, .errlen = errlen};
    json_t *doc = json_object();
    const char *portal = dep_url(rc);
    int r = HD_RENDER_REJECT;

    *json_out = NULL;
    p.images = json_array();
    p.notes = json_array();
    p.img_index = malloc((it->n_images + 1) * sizeof(*p.img_index));
    if (!doc || !p.images || !p.notes || !p.img_index) {
        snprintf(err, errlen, "out of memory");
        goto done;
    }
    for (size_t k = 0; k < it->n_images; k++)
        p.img_index[k] = -1;
    if (!it->title || !*it->title) {
        snprintf(err, errlen, "WeChat needs a title");
        goto done;
    }
    if (!it->body_html || !*it->body_html) {
        snprintf(err, errlen, "WeChat needs a body (content is required)");
        goto done;
    }
    if ((r = text_field(&p, "title", it->title, WX_TITLE_MAX, c->truncate_title, "title", doc)))
        goto done;
    const char *author = c->author;
    if (!author && it->publisher_name && wx_len(it->publisher_name) <= WX_AUTHOR_MAX)
        author = it->publisher_name;
    if (author && wx_len(author) <= WX_AUTHOR_MAX)
        json_object_set_new(doc, "author", json_string(author));
    if (it->summary && *it->summary &&
        (r = text_field(&p, "digest (the summary)", it->summary, WX_DIGEST_MAX, c->truncate_digest,
                        "digest", doc)))
        goto done;
    if (portal && strlen(portal) > WX_SOURCE_URL) {
        note(&p, "the portal URL is over 1 KB: no 阅读原文 link%s%s", NULL, NULL);
        portal = NULL;
    }
    if (portal)
        json_object_set_new(doc, "source_url", json_string(portal));

    if ((r = plan_body(&p)))
        goto done;
    if (p.content.oom) {
        snprintf(err, errlen, "out of memory");
        r = HD_RENDER_REJECT;
        goto done;
    }
    size_t u, bytes;
    planned_size(&p, &u, &bytes);
    const char *mode = "full";
    if (u >= WX_CONTENT_MAX || bytes >= WX_CONTENT_BYTES) {
        if ((r = summary_link(&p, portal, u)))
            goto done;
        mode = "summary_link";
    }

    /* the cover: the item's first image if it is a JPG within 64 KB, else the default */
    json_t *cover = json_null();
    if (it->n_images > 0) {
        const struct hd_asset *a = &it->images[0];
        int jpg = a->media_type && strcasecmp(a->media_type, "image/jpeg") == 0;
        if (jpg && a->size <= (int64_t)WX_THUMB_MAX) {
            cover = json_pack("{s:s,s:I}", "url", a->url, "size", (json_int_t)a->size);
            if (cover && a->sha256)
                json_object_set_new(cover, "sha256", json_string(a->sha256));
        } else {
            note(&p, "the first image %.300s cannot be the cover: %s", a->url,
                 jpg ? "larger than 64 KB" : "not a JPG");
        }
    }
    if (json_is_null(cover) && !c->have_default_cover) {
        json_decref(cover);
        snprintf(err, errlen,
                 "no cover: the item's first image is not a JPG of at most 64 KB and no "
                 "default_cover is configured (no transcoding)");
        r = HD_RENDER_REJECT;
        goto done;
    }
    json_object_set_new(doc, "v", json_integer(1));
    json_object_set_new(doc, "mode", json_string(mode));
    json_object_set_new(doc, "content", json_string(p.content.s ? p.content.s : ""));
    json_object_set_new(doc, "comment", json_integer(c->need_open_comment ? 1 : 0));
    json_object_set_new(doc, "fans_only", json_integer(c->only_fans_can_comment ? 1 : 0));
    json_object_set_new(doc, "images", json_incref(p.images));
    json_object_set_new(doc, "cover", cover);
    json_object_set_new(doc, "default_cover", json_boolean(c->have_default_cover));
    json_object_set_new(doc, "notes", json_incref(p.notes));
    *json_out = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
    if (!*json_out) {
        snprintf(err, errlen, "cannot serialise the plan (invalid UTF-8 in the item?)");
        r = HD_RENDER_REJECT;
        goto done;
    }
    r = HD_RENDER_OK;
done:
    json_decref(doc);
    json_decref(p.images);
    json_decref(p.notes);
    free(p.img_index);
    free(p.content.s);
    return r;
}

/* ---- filling in the uploaded images -------------------------------------------------------- */

char *wx_fill_images(const char *content, const char *const *urls, size_t n)
{
    struct buf b = {0};
    const char *p = content, *m;
    size_t plen = strlen(WX_IMG_PLACEHOLDER);
    while ((m = strstr(p, WX_IMG_PLACEHOLDER)) != NULL) {
        const char *d = m + plen;
        char *end;
        unsigned long idx = strtoul(d, &end, 10);
        put(&b, p, (size_t)(m - p));
        if (end == d || *end != '"') {
            put(&b, m, plen); /* not ours (no index, or not a whole attribute value) */
            p = m + plen;
            continue;
        }
        if (idx >= n || !urls[idx]) {
            free(b.s);
            return NULL;
        }
        put_escaped(&b, urls[idx], 0);
        p = end;
    }
    puts_(&b, p);
    if (b.oom) {
        free(b.s);
        return NULL;
    }
    return b.s ? b.s : strdup("");
}
