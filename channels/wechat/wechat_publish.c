/*
 * WeChat send(): carries out the plan render() made (wechat_render.c), one platform call at a
 * time (CHANNELS.md §1.2, §1.3):
 *
 *   1. each body image: fetch it (size-capped, sha256 checked against the item), then
 *      media/uploadimg (multipart "media") -> an mmbiz URL that replaces the placeholder;
 *   2. the cover: the item's first image if it is a JPG <= 64 KB, else the account's default
 *      (a file read at start, or a URL fetched now) -> material/add_material?type=thumb;
 *   3. draft/add -> the draft's media_id, persisted (A) so later attempts reuse the draft;
 *   4. take one from the submit budget, persist {media_id, submit_at} (B), then
 *      freepublish/submit -> publish_id, persisted (C) before the outcome `accepted`.
 *
 * The submit carries no idempotency key (§0.1): once B is on disk the submit may have happened,
 * so a lost answer is reported `unknown` and reconcile() (wechat.c) decides from the persisted
 * state and the platform — never by submitting again blindly.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "wechat.h"

static void next_image(struct wx_job *j);
static void do_cover(struct wx_job *j);
static void do_draft(struct wx_job *j);
static void do_submit(struct wx_job *j);

static json_t *plan_images(struct wx_job *j)
{
    return json_object_get(j->plan, "images");
}

static int hash_ok(struct wx_job *j, const char *want, const void *data, size_t len)
{
    char got[65];
    if (!want || !*want)
        return 1;
    j->w->svc->sha256_hex(data, len, got);
    return strcasecmp(got, want) == 0;
}

static void reject(struct wx_job *j, const char *reason, const char *fmt, const char *a)
{
    char detail[400];
    snprintf(detail, sizeof(detail), fmt, a ? a : "");
    wx_complete(j, HD_OUT_REJECTED, reason, detail, NULL, NULL, NULL, 0);
}

/* ---- 1. body images -------------------------------------------------------------------------- */

static void on_uploaded(struct wx_job *j, const struct wx_result *r)
{
    if (wx_stopped(j))
        return;
    const char *url = r->cls == WX_OK ? json_string_value(json_object_get(r->json, "url")) : NULL;
    if (r->cls != WX_OK || !url || !*url) {
        if (r->cls == WX_OK) {
            struct wx_result bad = *r;
            bad.cls = WX_TRANSIENT;
            snprintf(bad.detail, sizeof(bad.detail), "media/uploadimg: no url in the answer");
            wx_fail(j, &bad);
            return;
        }
        wx_fail(j, r);
        return;
    }
    j->img_urls[j->img_i] = strdup(url);
    j->img_i++;
    next_image(j);
}

static void on_image(struct wx_job *j, const struct wx_result *r, const void *data, size_t len)
{
    if (wx_stopped(j))
        return;
    json_t *img = json_array_get(plan_images(j), j->img_i);
    const char *url = json_string_value(json_object_get(img, "url"));
    const char *type = json_string_value(json_object_get(img, "type"));
    if (r->cls != WX_OK) {
        wx_fail(j, r);
        return;
    }
    if (!hash_ok(j, json_string_value(json_object_get(img, "sha256")), data, len)) {
        reject(j, "asset_hash_mismatch", "image %.300s does not match the sha256 the item declares",
               url);
        return;
    }
    int png = type && strcasecmp(type, "image/png") == 0;
    if (png ? !wx_is_png(data, len) : !wx_is_jpeg(data, len)) {
        reject(j, "asset_type_mismatch", "image %.300s is not the JPG/PNG the item declares", url);
        return;
    }
    char name[32];
    snprintf(name, sizeof(name), "image%zu.%s", j->img_i, png ? "png" : "jpg");
    if (wx_api(j, "media/uploadimg", NULL, NULL, data, len, name, png ? "image/png" : "image/jpeg",
               WX_Q_UPLOAD, on_uploaded) != 0)
        wx_complete(j, HD_OUT_RETRY, "adapter_error", "cannot start media/uploadimg", NULL, NULL,
                    NULL, 0);
}

static void next_image(struct wx_job *j)
{
    if (j->img_i >= j->n_imgs) {
        do_cover(j);
        return;
    }
    json_t *img = json_array_get(plan_images(j), j->img_i);
    const char *url = json_string_value(json_object_get(img, "url"));
    if (!url || wx_fetch(j, url, WX_UPLOADIMG_MAX - 1, on_image) != 0)
        wx_complete(j, HD_OUT_RETRY, "adapter_error", "cannot fetch a body image", NULL, NULL, NULL,
                    0);
}

/* ---- 2. the cover --------------------------------------------------------------------------- */

static void on_thumb(struct wx_job *j, const struct wx_result *r)
{
    if (wx_stopped(j))
        return;
    const char *id =
        r->cls == WX_OK ? json_string_value(json_object_get(r->json, "media_id")) : NULL;
    if (!id) {
        if (r->cls == WX_OK) {
            struct wx_result bad = *r;
            bad.cls = WX_TRANSIENT;
            snprintf(bad.detail, sizeof(bad.detail), "material/add_material: no media_id");
            wx_fail(j, &bad);
        } else {
            wx_fail(j, r);
        }
        return;
    }
    json_object_set_new(j->state, "thumb_media_id", json_string(id));
    if (j->cover_default) {
        free(j->w->default_thumb);
        j->w->default_thumb = strdup(id); /* one upload of the default per run */
    }
    do_draft(j);
}

static void upload_thumb(struct wx_job *j, const void *data, size_t len)
{
    if (wx_api(j, "material/add_material", "type=thumb", NULL, data, len, "cover.jpg", "image/jpeg",
               WX_Q_UPLOAD, on_thumb) != 0)
        wx_complete(j, HD_OUT_RETRY, "adapter_error", "cannot start material/add_material", NULL,
                    NULL, NULL, 0);
}

static int cover_fits(const void *data, size_t len)
{
    return len <= WX_THUMB_MAX && wx_is_jpeg(data, len);
}

static void on_default_cover(struct wx_job *j, const struct wx_result *r, const void *data,
                             size_t len)
{
    if (wx_stopped(j))
        return;
    if (r->cls == WX_TRANSIENT) {
        wx_fail(j, r);
        return;
    }
    if (r->cls != WX_OK || !cover_fits(data, len)) {
        wx_complete(j, HD_OUT_NEEDS_OPERATOR, "default_cover",
                    "default_cover is not a JPG of at most 64 KB (or cannot be fetched): fix "
                    "the configuration",
                    r, NULL, NULL, 0);
        return;
    }
    upload_thumb(j, data, len);
}

static void use_default_cover(struct wx_job *j, const char *why)
{
    struct wechat *w = j->w;
    if (!json_is_true(json_object_get(j->plan, "default_cover"))) {
        reject(j, "no_cover", "no cover: %s, and no default_cover is configured (no transcoding)",
               why);
        return;
    }
    j->cover_default = 1;
    if (w->default_thumb) {
        json_object_set_new(j->state, "thumb_media_id", json_string(w->default_thumb));
        do_draft(j);
    } else if (w->default_cover) {
        upload_thumb(j, w->default_cover, w->default_cover_len);
    } else if (!w->default_cover_url ||
               wx_fetch(j, w->default_cover_url, WX_THUMB_MAX, on_default_cover) != 0) {
        wx_complete(j, HD_OUT_RETRY, "adapter_error", "cannot fetch the default cover", NULL, NULL,
                    NULL, 0);
    }
}

static void on_cover(struct wx_job *j, const struct wx_result *r, const void *data, size_t len)
{
    if (wx_stopped(j))
        return;
    json_t *cover = json_object_get(j->plan, "cover");
    const char *url = json_string_value(json_object_get(cover, "url"));
    if (r->cls == WX_TRANSIENT) {
        wx_fail(j, r);
        return;
    }
    if (r->cls == WX_OK &&
        !hash_ok(j, json_string_value(json_object_get(cover, "sha256")), data, len)) {
        reject(j, "asset_hash_mismatch", "cover %.300s does not match the sha256 the item declares",
               url);
        return;
    }
    if (r->cls != WX_OK || !cover_fits(data, len)) {
        use_default_cover(j, "the item's first image is not a JPG of at most 64 KB");
        return;
    }
    upload_thumb(j, data, len);
}

static void do_cover(struct wx_job *j)
{
    json_t *cover = json_object_get(j->plan, "cover");
    const char *url = json_string_value(json_object_get(cover, "url"));
    if (!url) {
        use_default_cover(j, "the item has no JPG image of at most 64 KB");
        return;
    }
    if (wx_fetch(j, url, WX_THUMB_MAX, on_cover) != 0)
        wx_complete(j, HD_OUT_RETRY, "adapter_error", "cannot fetch the cover", NULL, NULL, NULL,
                    0);
}

/* ---- 3. the draft ---------------------------------------------------------------------------- */

static void on_draft_saved(struct wx_job *j, int err)
{
    if (wx_stopped(j))
        return;
    if (err) {
        wx_complete(j, HD_OUT_RETRY, "store_failed", "cannot record the draft's media_id", NULL,
                    NULL, NULL, 0);
        return;
    }
    do_submit(j);
}

static void on_draft(struct wx_job *j, const struct wx_result *r)
{
    if (wx_stopped(j))
        return;
    if (r->cls == WX_CONTENT && r->errcode == 40007 && j->cover_default && j->w->default_thumb &&
        !j->thumb_reuploaded) {
        /* the cached default cover's media_id is gone (deleted on the console): upload again,
         * once (CHANNELS.md §1.5: RE_UPLOAD once, then fail) */
        free(j->w->default_thumb);
        j->w->default_thumb = NULL;
        j->thumb_reuploaded = 1;
        use_default_cover(j, "re-upload");
        return;
    }
    const char *id =
        r->cls == WX_OK ? json_string_value(json_object_get(r->json, "media_id")) : NULL;
    if (!id) {
        if (r->cls == WX_OK) {
            struct wx_result bad = *r;
            bad.cls = WX_TRANSIENT;
            snprintf(bad.detail, sizeof(bad.detail), "draft/add: no media_id in the answer");
            wx_fail(j, &bad);
        } else {
            wx_fail(j, r);
        }
        return;
    }
    json_object_set_new(j->state, "media_id", json_string(id));
    json_object_del(j->state, "submit_at");
    json_object_set_new(j->state, "title", json_incref(json_object_get(j->plan, "title")));
    json_object_set_new(j->state, "plan_sha256", json_string(j->plan_hash));
    if (wx_persist(j, on_draft_saved) != 0)
        wx_complete(j, HD_OUT_RETRY, "store_failed", "cannot record the draft's media_id", NULL,
                    NULL, NULL, 0);
}

static void do_draft(struct wx_job *j)
{
    const char *content = json_string_value(json_object_get(j->plan, "content"));
    char *filled =
        wx_fill_images(content ? content : "", (const char *const *)j->img_urls, j->n_imgs);
    if (!filled) {
        wx_complete(j, HD_OUT_RETRY, "adapter_error", "cannot fill in the image URLs", NULL, NULL,
                    NULL, 0);
        return;
    }
    size_t n = wx_len(filled), bytes = strlen(filled);
    if (n >= WX_CONTENT_MAX || bytes >= WX_CONTENT_BYTES) {
        char d[160];
        snprintf(d, sizeof(d), "%zu characters, %zu bytes with the uploaded image URLs", n, bytes);
        free(filled);
        reject(j, "content_too_long", "content is %s (limits: < 20,000 characters, < 1 MB)", d);
        return;
    }
    json_t *a = json_pack("{s:s,s:O,s:s,s:s,s:O,s:O}", "article_type", "news", "title",
                          json_object_get(j->plan, "title"), "content", filled, "thumb_media_id",
                          wx_state_str(j->state, "thumb_media_id"), "need_open_comment",
                          json_object_get(j->plan, "comment"), "only_fans_can_comment",
                          json_object_get(j->plan, "fans_only"));
    free(filled);
    static const char *const optional[][2] = {
        {"author", "author"}, {"digest", "digest"}, {"source_url", "content_source_url"}};
    for (size_t i = 0; a && i < sizeof(optional) / sizeof(optional[0]); i++) {
        json_t *v = json_object_get(j->plan, optional[i][0]);
        if (v)
            json_object_set(a, optional[i][1], v);
    }
    json_t *doc = a ? json_pack("{s:[o]}", "articles", a) : NULL;
    char *body = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    if (!body || wx_api(j, "draft/add", NULL, body, NULL, 0, NULL, NULL, WX_Q_DRAFT, on_draft)) {
        wx_complete(j, HD_OUT_RETRY, "adapter_error", "cannot start draft/add", NULL, NULL, NULL,
                    0);
    }
}

/* ---- 4. the submit --------------------------------------------------------------------------- */

static void on_publish_saved(struct wx_job *j, int err)
{
    struct wechat *w = j->w;
    const char *pid = wx_state_str(j->state, "publish_id");
    char detail[160];
    if (err)
        w->svc->log(w->inst, HD_LOG_WARN,
                    "publish_id %s: cannot persist it (store error %d); the outcome records it",
                    pid, err);
    snprintf(detail, sizeof(detail), "submitted: publish_id %s", pid);
    /* the core records remote_id = publish_id with the outcome; then polls (or the event) */
    wx_complete(j, HD_OUT_ACCEPTED, "submitted", detail, NULL, pid, NULL,
                w->svc->now_ms() + w->poll_first_ms);
}

static void on_submitted(struct wx_job *j, const struct wx_result *r)
{
    struct wechat *w = j->w;
    if (r->cls == WX_OK) {
        json_t *pid = json_object_get(r->json, "publish_id");
        char id[64] = "";
        if (json_is_string(pid))
            snprintf(id, sizeof(id), "%s", json_string_value(pid));
        else if (json_is_integer(pid))
            snprintf(id, sizeof(id), "%" JSON_INTEGER_FORMAT, json_integer_value(pid));
        if (!id[0]) {
            wx_complete(j, HD_OUT_UNKNOWN, "no_publish_id",
                        "freepublish/submit answered errcode 0 without a publish_id", r, NULL, NULL,
                        0);
            return;
        }
        w->svc->metric_add(w->inst, "wechat_submitted", "", 1);
        json_object_set_new(j->state, "publish_id", json_string(id));
        json_t *msg = json_object_get(r->json, "msg_data_id");
        if (msg)
            json_object_set(j->state, "msg_data_id", msg);
        if (wx_persist(j, on_publish_saved) != 0)
            on_publish_saved(j, -1);
        return;
    }
    int answered =
        r->transport == HD_HTTP_OK && r->http_status == 200 && r->errcode != WX_NO_ERRCODE;
    if (!answered && r->request_sent) {
        /* the request left and no WeChat answer came back: it may have been published */
        wx_complete(j, HD_OUT_UNKNOWN, "submit_unanswered",
                    "freepublish/submit sent, no answer: reconcile before any resend", r, NULL,
                    NULL, 0);
        return;
    }
    /* provably not sent, or refused by the platform: nothing was published */
    j->submit_sent = 0;
    if (wx_stopped(j))
        return;
    if (r->errcode == 40007 && !j->prior_submit) {
        /* the draft is gone from the draft box (deleted on the console) and we never submitted
         * it before: forget it, the next attempt makes a new one */
        json_object_del(j->state, "media_id");
        json_object_del(j->state, "submit_at");
        wx_persist(j, NULL);
        wx_complete(j, HD_OUT_RETRY, "wechat_40007", "the draft is gone: a new one will be made", r,
                    NULL, NULL, 0);
        return;
    }
    if (r->errcode == 40007) {
        wx_complete(j, HD_OUT_UNKNOWN, "wechat_40007",
                    "the draft left the draft box after an earlier submit: reconcile", r, NULL,
                    NULL, 0);
        return;
    }
    if (r->errcode != WX_NO_ERRCODE) {
        /* the platform refused this submit (quota, busy, content...): it took no effect, so
         * the intent is withdrawn and a later 40007 cannot be blamed on it */
        json_object_del(j->state, "submit_at");
        wx_persist(j, NULL);
    }
    wx_fail(j, r);
}

static void on_intent_saved(struct wx_job *j, int err)
{
    if (wx_stopped(j))
        return;
    if (err) {
        wx_complete(j, HD_OUT_RETRY, "store_failed", "cannot record the submit intent", NULL, NULL,
                    NULL, 0);
        return;
    }
    char *body = NULL;
    json_t *doc = json_pack("{s:s}", "media_id", wx_state_str(j->state, "media_id"));
    body = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    j->submit_sent = 1; /* from here on the platform may have it */
    /* (the budget was taken in do_submit(): none here; but a 45009 names it) */
    if (!body ||
        wx_api(j, "freepublish/submit", NULL, body, NULL, 0, NULL, NULL, NULL, on_submitted) != 0) {
        j->submit_sent = 0;
        wx_complete(j, HD_OUT_RETRY, "adapter_error", "cannot start freepublish/submit", NULL, NULL,
                    NULL, 0);
        return;
    }
    j->quota = WX_Q_SUBMIT;
}

static void do_submit(struct wx_job *j)
{
    struct wechat *w = j->w;
    int64_t next = 0;
    if (w->svc->quota_take(w->inst, WX_Q_SUBMIT, 1, &next) == HD_QUOTA_EXHAUSTED) {
        struct wx_result r = {.errcode = WX_NO_ERRCODE, .cls = WX_QUOTA_DAY, .next_ms = next};
        snprintf(r.detail, sizeof(r.detail),
                 "daily submit budget spent (counted ahead of 45009); the draft is kept");
        j->quota = WX_Q_SUBMIT;
        w->svc->metric_add(w->inst, "wechat_budget_spent", WX_Q_SUBMIT, 1);
        wx_fail(j, &r);
        return;
    }
    json_object_set_new(j->state, "submit_at", json_integer(w->svc->now_ms()));
    if (wx_persist(j, on_intent_saved) != 0)
        wx_complete(j, HD_OUT_RETRY, "store_failed", "cannot record the submit intent", NULL, NULL,
                    NULL, 0);
}

/* ---- the op ---------------------------------------------------------------------------------- */

static void on_start(struct wx_job *j, const struct wx_result *r)
{
    size_t i;
    json_t *n;
    if (wx_stopped(j))
        return;
    json_array_foreach (json_object_get(j->plan, "notes"), i, n) {
        /* what render left out or cut (image_policy, truncation, the summary fallback) */
        j->w->svc->log(j->w->inst, HD_LOG_INFO, "%s: %s", j->op->delivery_id, json_string_value(n));
    }
    const char *done = wx_state_str(j->state, "publish_id");
    if (done) {
        /* a send after a publish that ended (an operator's retry of a failed one): its draft
         * was consumed by that submit; start afresh */
        j->w->svc->log(j->w->inst, HD_LOG_INFO,
                       "%s: publish_id %s ended; publishing again from a new draft",
                       j->op->delivery_id, done);
        static const char *const old[] = {"publish_id",  "msg_data_id", "article_id",
                                          "article_url", "media_id",    "submit_at"};
        for (i = 0; i < sizeof(old) / sizeof(old[0]); i++)
            json_object_del(j->state, old[i]);
    }
    const char *media_id = wx_state_str(j->state, "media_id");
    const char *planned = wx_state_str(j->state, "plan_sha256");
    if (media_id && planned && strcmp(planned, j->plan_hash) == 0) {
        /* an earlier attempt made the draft (and it was not published: reconcile said so, or
         * the submit was refused): submit that draft */
        do_submit(j);
        return;
    }
    json_object_del(j->state, "media_id");
    json_object_del(j->state, "submit_at");
    j->prior_submit = 0; /* a new draft: never submitted */
    next_image(j);
}

int wx_send(void *state, struct hd_op *op)
{
    struct wechat *w = state;
    if (!op->payload || !op->payload->data)
        return -1;
    struct wx_job *j = wx_job_new(w, op);
    if (!j)
        return -1;
    j->plan = json_loadb(op->payload->data, op->payload->len, 0, NULL);
    w->svc->sha256_hex(op->payload->data, op->payload->len, j->plan_hash);
    j->n_imgs = json_array_size(plan_images(j));
    j->img_urls = calloc(j->n_imgs + 1, sizeof(*j->img_urls));
    if (!json_is_object(j->plan) || !j->img_urls) {
        op->adapter_data = NULL;
        wx_job_free(j);
        return -1;
    }
    /* start from a timer: never complete inside the call that took the op */
    j->later = (struct wx_result){.cls = WX_OK};
    if (wx_step_later(j, on_start) != 0) {
        op->adapter_data = NULL;
        wx_job_free(j);
        return -1;
    }
    return 0;
}
