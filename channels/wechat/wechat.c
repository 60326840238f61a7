/*
 * wechat: the district's WeChat official account (e.g. 广州越秀发布), research/CHANNELS.md §1.
 *
 * Publishing is draft + freepublish: send() (wechat_publish.c) uploads the images and the cover,
 * saves a draft and submits it, and reports `accepted` with the publish_id; the result comes
 * later, from poll_status() (freepublish/get, inside a daily budget of 100) or, sooner and for
 * free, from the PUBLISHJOBFINISH event the platform pushes to our own listener (wechat_event.c).
 * The submit has no idempotency key, so the adapter is not idempotent: what reconciliation needs
 * (draft media_id, submit intent, publish_id) is persisted before and after the submit, and
 * reconcile() below decides from it whether a lost submit reached the platform. Retraction is
 * freepublish/delete. The access_token comes from POST /cgi-bin/stable_token (normal mode),
 * cached by the core's single-flight token cache. README.md has the config keys and the
 * errcode -> outcome table.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wechat.h"
#include "wx_crypt.h"

const struct hd_channel *hd_channel_wechat(void);

#define DAY "24h"

static const struct hd_conf_key keys[] = {
    {"appid", HD_CONF_STRING, NULL, 1, 1, 64, NULL, "The official account's AppID (wx...)."},
    {"secret", HD_CONF_SECRET, NULL, 1, 0, 0, NULL,
     "The AppSecret (file:/path or credential:NAME); used only for stable_token."},
    {"base_url", HD_CONF_URL, "https://api.weixin.qq.com", 0, 0, 0, NULL,
     "API base (the adapter calls <base_url>/cgi-bin/...); tests point it at herald-sim."},
    {"author", HD_CONF_STRING, NULL, 0, 1, 200, NULL,
     "Article author, at most 16 characters; unset: the publisher's name when it fits."},
    {"default_cover", HD_CONF_STRING, NULL, 0, 1, 4096, NULL,
     "The account's cover when an item has no JPG <= 64 KB: a JPG file path (checked at start) "
     "or an http(s) URL (fetched when needed). No transcoding."},
    {"token_margin", HD_CONF_DURATION, "300s", 0, 1000, 300000, NULL,
     "Refresh the access_token this long before it expires. At most 300 s: stable_token hands "
     "out the same token until 5 minutes before its expiry."},
    {"quota_window", HD_CONF_DURATION, DAY, 0, 1000, 7LL * 86400 * 1000, NULL,
     "The quota day (whole days turn at local midnight of daemon.timezone); shorten for tests."},
    {"submit_per_day", HD_CONF_INT, "100", 0, 0, 10000000, NULL,
     "freepublish/submit budget per quota day (platform: 100 on a new account)."},
    {"poll_per_day", HD_CONF_INT, "100", 0, 0, 10000000, NULL,
     "freepublish/get budget per quota day (platform: 100)."},
    {"delete_per_day", HD_CONF_INT, "10", 0, 0, 10000000, NULL,
     "freepublish/delete budget per quota day (platform: 10)."},
    {"draft_per_day", HD_CONF_INT, "1000", 0, 0, 10000000, NULL,
     "draft/add budget per quota day (platform: 1000)."},
    {"draft_get_per_day", HD_CONF_INT, "500", 0, 0, 10000000, NULL,
     "draft/get budget per quota day (platform: 500); used by reconciliation."},
    {"list_per_day", HD_CONF_INT, "100", 0, 0, 10000000, NULL,
     "freepublish/batchget budget per quota day (platform: 100); used by reconciliation."},
    {"upload_per_day", HD_CONF_INT, "100000", 0, 0, 100000000, NULL,
     "media/uploadimg + material/add_material budget per quota day (platform: 100,000)."},
    {"truncate_title", HD_CONF_BOOL, "true", 0, 0, 0, NULL,
     "Cut a title over 32 characters on a character boundary with …; false: reject the item."},
    {"truncate_digest", HD_CONF_BOOL, "true", 0, 0, 0, NULL,
     "Cut a summary over 128 characters (the digest) with …; false: reject the item."},
    {"overlong_body", HD_CONF_ENUM, "summary_link", 0, 0, 0, "summary_link|reject",
     "A body of 20,000 characters or more: publish the summary and a 阅读原文 link to the portal "
     "article (depends_on: [website:...]), or reject. Never cut mid-document."},
    {"image_policy", HD_CONF_ENUM, "drop", 0, 0, 0, "drop|reject",
     "Images the platform cannot carry (not declared in item.images, not JPG/PNG, 1 MB or "
     "more): leave them out, or reject the item."},
    {"append_images", HD_CONF_BOOL, "true", 0, 0, 0, NULL,
     "Item images the body does not show are appended after the body, with their captions."},
    {"need_open_comment", HD_CONF_BOOL, "false", 0, 0, 0, NULL, "Open comments on articles."},
    {"only_fans_can_comment", HD_CONF_BOOL, "false", 0, 0, 0, NULL, "Only followers comment."},
    {"event_token", HD_CONF_SECRET, NULL, 0, 0, 0, NULL,
     "The Token of the account's server configuration (消息推送), for the event signature; "
     "required with inbound_listen."},
    {"event_aes_key", HD_CONF_SECRET, NULL, 0, 0, 0, NULL,
     "The EncodingAESKey (43 characters) of the account's server configuration, when its "
     "消息加解密方式 is 兼容模式 or 安全模式: encrypted events are decrypted with it. Without "
     "it only plaintext (明文模式) events are taken."},
    {"event_aes_key_previous", HD_CONF_SECRET, NULL, 0, 0, 0, NULL,
     "The EncodingAESKey before the last change on the console: tried when the current one "
     "does not fit (WeChat's advice for key changes)."},
    {"poll_first", HD_CONF_DURATION, "30s", 0, 100, 86400000, NULL,
     "First freepublish/get after a submit (the event usually comes first)."},
    {"poll_max", HD_CONF_DURATION, "30m", 0, 100, 86400000, NULL,
     "Longest wait between polls (they back off: the wait doubles with the publish's age)."},
    {"reconcile_give_up", HD_CONF_DURATION, DAY, 0, 1000, 30LL * 86400 * 1000, NULL,
     "A submit whose answer was lost and whose article never shows up is failed after this "
     "long (check the console)."},
    {NULL, 0, NULL, 0, 0, 0, NULL, NULL},
};

/* ---- the access_token (POST /cgi-bin/stable_token, normal mode) ------------------------------ */

struct fetch {
    struct wechat *w;
    hd_token_done_fn *done;
    void *done_arg;
};

static void on_token_answer(void *arg, const struct hd_http_resp *resp)
{
    struct fetch *f = arg;
    struct wechat *w = f->w;
    json_t *j = resp->error == HD_HTTP_OK ? json_loadb(resp->body, resp->body_len, 0, NULL) : NULL;
    const char *tok = json_string_value(json_object_get(j, "access_token"));
    json_t *exp = json_object_get(j, "expires_in");
    long code = (long)json_integer_value(json_object_get(j, "errcode"));
    char detail[200];
    if (tok && *tok && resp->status == 200) {
        w->last_token_errcode = 0;
        f->done(f->done_arg, 0, tok, json_is_integer(exp) ? json_integer_value(exp) : 7200, NULL);
    } else {
        if (resp->error != HD_HTTP_OK)
            snprintf(detail, sizeof(detail), "%s", resp->error_text ? resp->error_text : "error");
        else if (code)
            snprintf(detail, sizeof(detail), "errcode %ld %.120s", code,
                     json_string_value(json_object_get(j, "errmsg"))
                         ? json_string_value(json_object_get(j, "errmsg"))
                         : "");
        else
            snprintf(detail, sizeof(detail), "HTTP %d without a token", resp->status);
        w->last_token_errcode = resp->error == HD_HTTP_OK ? (int)code : 0;
        snprintf(w->last_token_detail, sizeof(w->last_token_detail), "%s", detail);
        w->svc->metric_add(w->inst, "wechat_token_failures", "", 1);
        f->done(f->done_arg, -1, NULL, 0, detail);
    }
    json_decref(j);
    free(f);
}

static int fetch_token(void *arg, hd_token_done_fn *done, void *done_arg)
{
    struct wechat *w = arg;
    struct fetch *f = calloc(1, sizeof(*f));
    char url[2100];
    if (!f)
        return -1;
    f->w = w;
    f->done = done;
    f->done_arg = done_arg;
    json_t *b = json_pack("{s:s,s:s,s:s%,s:b}", "grant_type", "client_credential", "appid",
                          w->appid, "secret", w->secret, w->secret_len, "force_refresh", 0);
    char *body = b ? json_dumps(b, JSON_COMPACT) : NULL;
    json_decref(b);
    snprintf(url, sizeof(url), "%s/cgi-bin/stable_token", w->base_url);
    const char *hdrs[] = {"Content-Type: application/json; charset=utf-8"};
    struct hd_http_req req = {.struct_size = sizeof(req),
                              .method = "POST",
                              .url = url,
                              .headers = hdrs,
                              .n_headers = 1,
                              .body = body,
                              .body_len = body ? strlen(body) : 0};
    int rc = body ? w->svc->http_request(w->inst, &req, on_token_answer, f, NULL) : -1;
    if (body) {
        memset(body, 0, strlen(body)); /* it holds the secret */
        free(body);
    }
    if (rc != 0)
        free(f);
    return rc;
}

/* ---- render ---------------------------------------------------------------------------------- */

static int render(void *state, const struct hd_item *it, const struct hd_render_ctx *rc,
                  struct hd_payload *out, char *err, size_t errlen)
{
    struct wechat *w = state;
    char *json = NULL;
    int r = wx_render_plan(&w->rconf, it, rc, &json, err, errlen);
    if (r != HD_RENDER_OK)
        return r;
    out->data = json;
    out->len = strlen(json);
    snprintf(out->content_type, sizeof(out->content_type), "application/json");
    char *cut = w->svc->utf8_truncate(it->title ? it->title : "", 48, "…");
    snprintf(out->summary, sizeof(out->summary), "%s", cut ? cut : "");
    free(cut);
    return HD_RENDER_OK;
}

/* ---- poll ------------------------------------------------------------------------------------ */

/* The next poll: the wait doubles with the publish's age, within [poll_first, poll_max]. */
static int64_t next_poll(struct wx_job *j)
{
    struct wechat *w = j->w;
    int64_t now = w->svc->now_ms();
    json_int_t since = json_integer_value(json_object_get(j->state, "submit_at"));
    int64_t wait = since > 0 ? now - (int64_t)since : w->poll_first_ms;
    if (wait < w->poll_first_ms)
        wait = w->poll_first_ms;
    if (wait > w->poll_max_ms)
        wait = w->poll_max_ms;
    return now + wait;
}

struct status_ctx {
    int status;
    char publish_id[64];
};

static void on_status_saved(struct wx_job *j, int err)
{
    struct hd_outcome o;
    char detail[200];
    const char *pid = j->op->remote_id;
    wx_status_outcome(0, pid, wx_state_str(j->state, "article_url"), &o, detail, sizeof(detail));
    wx_complete(j, o.kind, o.reason, detail, NULL, pid, o.url, 0);
}

/* What publish_status says, for a poll op. */
static void poll_finish(struct wx_job *j, int status, const char *article_id, const char *url)
{
    struct hd_outcome o;
    char detail[200];
    const char *pid = j->op->remote_id;
    if (status == 0) {
        if (article_id)
            json_object_set_new(j->state, "article_id", json_string(article_id));
        if (url)
            json_object_set_new(j->state, "article_url", json_string(url));
        if (wx_persist(j, on_status_saved) != 0)
            on_status_saved(j, -1);
        return;
    }
    wx_status_outcome(status, pid, url, &o, detail, sizeof(detail));
    wx_complete(j, o.kind, o.reason, detail, NULL, pid, NULL,
                o.kind == HD_OUT_ACCEPTED ? next_poll(j) : 0);
}

/* article_id and the first article_url of a freepublish/get answer or event. */
static void article_of(json_t *r, const char **id, const char **url)
{
    json_t *items = json_object_get(json_object_get(r, "article_detail"), "item");
    *id = json_string_value(json_object_get(r, "article_id"));
    *url = json_string_value(json_object_get(json_array_get(items, 0), "article_url"));
}

static void on_polled(struct wx_job *j, const struct wx_result *r)
{
    if (wx_stopped(j))
        return;
    json_t *st = json_object_get(r->json, "publish_status");
    if (r->cls == WX_CONTENT && r->errcode == 53502) {
        wx_complete(j, HD_OUT_REJECTED, "wechat_53502",
                    "the platform does not know this publish_id", r, NULL, NULL, 0);
        return;
    }
    if (r->cls != WX_OK || !json_is_integer(st)) {
        if (r->cls == WX_OK) {
            struct wx_result bad = *r;
            bad.cls = WX_TRANSIENT;
            snprintf(bad.detail, sizeof(bad.detail), "freepublish/get: no publish_status");
            wx_fail(j, &bad);
            return;
        }
        wx_fail(j, r);
        return;
    }
    const char *aid, *url;
    article_of(r->json, &aid, &url);
    poll_finish(j, (int)json_integer_value(st), aid, url);
}

static void on_event_known(struct wx_job *j, const struct wx_result *r)
{
    const struct wx_event *ev = wx_event_find(j->w, j->op->remote_id);
    if (wx_stopped(j))
        return;
    if (!ev) { /* cannot happen: events are only added */
        wx_complete(j, HD_OUT_ACCEPTED, "publishing", NULL, NULL, j->op->remote_id, NULL,
                    next_poll(j));
        return;
    }
    poll_finish(j, ev->status, ev->article_id[0] ? ev->article_id : NULL,
                ev->url[0] ? ev->url : NULL);
}

static char *json_body1(const char *key, const char *value)
{
    json_t *d = json_pack("{s:s}", key, value);
    char *s = d ? json_dumps(d, JSON_COMPACT) : NULL;
    json_decref(d);
    return s;
}

static int poll_status(void *state, struct hd_op *op)
{
    struct wechat *w = state;
    const char *pid = op->remote_id;
    if (!pid || !*pid)
        return -1;
    struct wx_job *j = wx_job_new(w, op);
    if (!j)
        return -1;
    int rc;
    if (wx_event_find(w, pid)) {
        /* the PUBLISHJOBFINISH event told us already: no poll spent */
        rc = wx_step_later(j, on_event_known);
    } else {
        char *body = json_body1("publish_id", pid);
        rc = body ? wx_api(j, "freepublish/get", NULL, body, NULL, 0, NULL, NULL, WX_Q_POLL,
                           on_polled)
                  : -1;
    }
    if (rc != 0) {
        op->adapter_data = NULL;
        wx_job_free(j);
        return -1;
    }
    return 0;
}

/* ---- retract --------------------------------------------------------------------------------- */

static void on_deleted(struct wx_job *j, const struct wx_result *r)
{
    if (wx_stopped(j))
        return;
    if (r->cls == WX_OK) {
        wx_complete(j, HD_OUT_DELIVERED, "deleted", "freepublish/delete: withdrawn", r, NULL, NULL,
                    0);
    } else if (r->errcode == 53600) {
        j->w->svc->log(j->w->inst, HD_LOG_WARN,
                       "%s: 53600 invalid article_id: taking it as already deleted", r->detail);
        wx_complete(j, HD_OUT_DELIVERED, "already_gone",
                    "53600 invalid article_id: the article is gone already", r, NULL, NULL, 0);
    } else {
        wx_fail(j, r);
    }
}

static void do_delete(struct wx_job *j, const char *article_id)
{
    json_t *d = json_pack("{s:s,s:i}", "article_id", article_id, "index", 1);
    char *body = d ? json_dumps(d, JSON_COMPACT) : NULL;
    json_decref(d);
    if (!body ||
        wx_api(j, "freepublish/delete", NULL, body, NULL, 0, NULL, NULL, WX_Q_DELETE, on_deleted))
        wx_complete(j, HD_OUT_RETRY, "adapter_error", "cannot start freepublish/delete", NULL, NULL,
                    NULL, 0);
}

static void on_retract_status(struct wx_job *j, const struct wx_result *r)
{
    if (wx_stopped(j))
        return;
    json_t *st = json_object_get(r->json, "publish_status");
    if (r->cls != WX_OK || !json_is_integer(st)) {
        if (r->errcode == 53502) {
            wx_complete(j, HD_OUT_DELIVERED, "already_gone",
                        "the platform does not know this publish_id", r, NULL, NULL, 0);
            return;
        }
        if (r->cls == WX_OK) {
            struct wx_result bad = *r;
            bad.cls = WX_TRANSIENT;
            wx_fail(j, &bad);
            return;
        }
        wx_fail(j, r);
        return;
    }
    int s = (int)json_integer_value(st);
    const char *aid, *url;
    article_of(r->json, &aid, &url);
    if (s == 0 && aid) {
        do_delete(j, aid);
    } else if (s == 1) {
        wx_complete(j, HD_OUT_RETRY, "still_publishing", "publish_status 1: withdraw when done", r,
                    NULL, NULL, 0);
    } else {
        char d[120];
        snprintf(d, sizeof(d), "publish_status %d: nothing of it is public", s);
        wx_complete(j, HD_OUT_DELIVERED, "already_gone", d, r, NULL, NULL, 0);
    }
}

static void on_retract_go(struct wx_job *j, const struct wx_result *r)
{
    if (wx_stopped(j))
        return;
    do_delete(j, wx_state_str(j->state, "article_id"));
}

static int retract(void *state, struct hd_op *op)
{
    struct wechat *w = state;
    struct wx_job *j = wx_job_new(w, op);
    const char *rid = op->remote_id ? op->remote_id : "";
    if (!j)
        return -1;
    const char *aid = wx_state_str(j->state, "article_id");
    const struct wx_event *ev = aid ? NULL : wx_event_find(w, rid);
    if (!aid && ev && ev->article_id[0])
        aid = ev->article_id;
    if (!aid && strncmp(rid, "article:", 8) == 0)
        aid = rid + 8;
    int rc;
    if (aid) {
        json_object_set_new(j->state, "article_id", json_string(aid));
        rc = wx_step_later(j, on_retract_go);
    } else {
        /* published, but we never learnt the article_id (it came by event before a restart) */
        char *body = json_body1("publish_id", rid);
        rc = body ? wx_api(j, "freepublish/get", NULL, body, NULL, 0, NULL, NULL, WX_Q_POLL,
                           on_retract_status)
                  : -1;
    }
    if (rc != 0) {
        op->adapter_data = NULL;
        wx_job_free(j);
    }
    return rc;
}

/* ---- reconcile ----------------------------------------------------------------------------- */

/*
 * The outcome of a send is unknown (the submit's answer was lost, or heraldd died mid-send).
 * What was persisted decides:
 *   publish_id            -> the platform has it: accepted, poll it (no second submit, ever);
 *   no submit intent      -> the submit never left (it is sent only after the intent is on
 *                            disk): not on the platform, sending again is safe;
 *   intent, no publish_id -> ask the platform: draft/get. A submitted draft leaves the draft box
 *                            (draft_add doc: "once published ... removed from the draft box"),
 *                            so a draft still there was never submitted: safe to submit it. A
 *                            draft gone was submitted: find its article in freepublish/batchget
 *                            (title + thumb_media_id, published after the intent) -> delivered;
 *                            not there yet (still publishing, or failed review) -> unknown, ask
 *                            again later; after reconcile_give_up -> failed for a person to
 *                            check on the console. Never submitted again automatically.
 */
#define LIST_PAGE      20
#define LIST_PAGES     3
#define CLOCK_SLACK_MS 600000

static void on_found_saved(struct wx_job *j, int err)
{
    char rid[160];
    snprintf(rid, sizeof(rid), "article:%s", wx_state_str(j->state, "article_id"));
    wx_complete(j, HD_OUT_DELIVERED, "reconciled",
                "the lost submit was published: found in freepublish/batchget", NULL, rid,
                wx_state_str(j->state, "article_url"), 0);
}

static void list_page(struct wx_job *j, int offset);

static void on_listed(struct wx_job *j, const struct wx_result *r)
{
    struct wechat *w = j->w;
    if (wx_stopped(j))
        return;
    if (r->cls != WX_OK) {
        wx_fail(j, r);
        return;
    }
    const char *title = wx_state_str(j->state, "title");
    const char *thumb = wx_state_str(j->state, "thumb_media_id");
    int64_t since = (int64_t)json_integer_value(json_object_get(j->state, "submit_at"));
    json_t *items = json_object_get(r->json, "item"), *it;
    size_t i;
    int older = 0;
    json_array_foreach (items, i, it) {
        int64_t t = (int64_t)json_integer_value(json_object_get(it, "update_time")) * 1000;
        json_t *news =
            json_array_get(json_object_get(json_object_get(it, "content"), "news_item"), 0);
        const char *t_title = json_string_value(json_object_get(news, "title"));
        const char *t_thumb = json_string_value(json_object_get(news, "thumb_media_id"));
        if (t < since - CLOCK_SLACK_MS) {
            older = 1;
            continue;
        }
        if (!title || !t_title || strcmp(title, t_title) != 0 ||
            (thumb && t_thumb && strcmp(thumb, t_thumb) != 0))
            continue;
        const char *aid = json_string_value(json_object_get(it, "article_id"));
        const char *url = json_string_value(json_object_get(news, "url"));
        if (!aid)
            continue;
        if (json_is_true(json_object_get(news, "is_deleted"))) {
            wx_complete(j, HD_OUT_REJECTED, "removed_externally",
                        "the lost submit was published and then deleted", r, NULL, NULL, 0);
            return;
        }
        json_object_set_new(j->state, "article_id", json_string(aid));
        if (url)
            json_object_set_new(j->state, "article_url", json_string(url));
        if (wx_persist(j, on_found_saved) != 0)
            on_found_saved(j, -1);
        return;
    }
    int offset = (int)json_integer_value(json_object_get(j->state, "_list_offset"));
    int total = (int)json_integer_value(json_object_get(r->json, "total_count"));
    offset += LIST_PAGE;
    if (!older && offset < total && offset < LIST_PAGE * LIST_PAGES) {
        list_page(j, offset);
        return;
    }
    if (w->svc->now_ms() - since > w->give_up_ms) {
        wx_complete(j, HD_OUT_REJECTED, "publish_unconfirmed",
                    "a submit whose answer was lost left the draft box but its article never "
                    "showed up: check 发表记录 on mp.weixin.qq.com before retrying by hand",
                    r, NULL, NULL, 0);
        return;
    }
    wx_complete(j, HD_OUT_UNKNOWN, "submitted_not_listed",
                "the draft was submitted, its article is not published yet (publishing, or "
                "failed review): asking again later",
                r, NULL, NULL, 0);
}

static void list_page(struct wx_job *j, int offset)
{
    json_object_set_new(j->state, "_list_offset", json_integer(offset));
    json_t *d = json_pack("{s:i,s:i,s:i}", "offset", offset, "count", LIST_PAGE, "no_content", 1);
    char *body = d ? json_dumps(d, JSON_COMPACT) : NULL;
    json_decref(d);
    if (!body || wx_api(j, "freepublish/batchget", NULL, body, NULL, 0, NULL, NULL, WX_Q_LIST,
                        on_listed) != 0)
        wx_complete(j, HD_OUT_UNKNOWN, "adapter_error", "cannot start freepublish/batchget", NULL,
                    NULL, NULL, 0);
}

static void on_draft_checked(struct wx_job *j, const struct wx_result *r)
{
    if (wx_stopped(j))
        return;
    if (r->cls == WX_OK && json_array_size(json_object_get(r->json, "news_item")) > 0) {
        wx_complete(j, HD_OUT_RETRY, "draft_still_there",
                    "the draft is still in the draft box: the submit never took effect", r, NULL,
                    NULL, 0);
        return;
    }
    if (r->errcode == 40007) {
        list_page(j, 0);
        return;
    }
    wx_fail(j, r);
}

static void on_reconcile_go(struct wx_job *j, const struct wx_result *r)
{
    if (wx_stopped(j))
        return;
    const char *pid = wx_state_str(j->state, "publish_id");
    if (pid) {
        wx_complete(j, HD_OUT_ACCEPTED, "reconciled", "the submit was answered: polling it", NULL,
                    pid, NULL, j->w->svc->now_ms());
        return;
    }
    if (!wx_state_str(j->state, "media_id") || !json_object_get(j->state, "submit_at")) {
        wx_complete(j, HD_OUT_RETRY, "not_submitted",
                    "nothing was submitted (no submit intent on record): sending is safe", NULL,
                    NULL, NULL, 0);
        return;
    }
    char *body = json_body1("media_id", wx_state_str(j->state, "media_id"));
    if (!body ||
        wx_api(j, "draft/get", NULL, body, NULL, 0, NULL, NULL, WX_Q_DRAFTGET, on_draft_checked))
        wx_complete(j, HD_OUT_UNKNOWN, "adapter_error", "cannot start draft/get", NULL, NULL, NULL,
                    0);
}

static int reconcile(void *state, struct hd_op *op)
{
    struct wx_job *j = wx_job_new(state, op);
    if (!j)
        return -1;
    if (wx_step_later(j, on_reconcile_go) != 0) {
        op->adapter_data = NULL;
        wx_job_free(j);
        return -1;
    }
    return 0;
}

static void cancel(void *state, struct hd_op *op)
{
    struct wx_job *j = op->adapter_data;
    if (j)
        wx_api_cancel(j);
}

/* ---- create / destroy ------------------------------------------------------------------------ */

static int load_cover(struct wechat *w, const char *path, char *err, size_t errlen)
{
    if (strncmp(path, "http://", 7) == 0 || strncmp(path, "https://", 8) == 0) {
        w->default_cover_url = path;
        return 0;
    }
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "default_cover %s: %s", path, strerror(errno));
        return -1;
    }
    unsigned char *buf = malloc(WX_THUMB_MAX + 1);
    size_t n = buf ? fread(buf, 1, WX_THUMB_MAX + 1, f) : 0;
    fclose(f);
    if (!buf || n > WX_THUMB_MAX || !wx_is_jpeg(buf, n)) {
        snprintf(err, errlen, "default_cover %s: %s", path,
                 !buf               ? "out of memory"
                 : n > WX_THUMB_MAX ? "larger than 64 KB (a WeChat thumb is a JPG <= 64 KB)"
                                    : "not a JPG (a WeChat thumb is a JPG <= 64 KB)");
        free(buf);
        return -1;
    }
    w->default_cover = buf;
    w->default_cover_len = n;
    return 0;
}

static void destroy(void *state)
{
    struct wechat *w = state;
    if (!w)
        return;
    while (w->jobs) {
        w->jobs->op->adapter_data = NULL;
        wx_job_free(w->jobs);
    }
    wx_events_stop(w);
    free(w->default_cover);
    free(w->default_thumb);
    wx_wipe(w->aes_keys, sizeof(w->aes_keys));
    free(w);
}

static int create(struct hd_instance *inst, const struct hd_services *svc, void **state, char *err,
                  size_t errlen)
{
    struct wechat *w = calloc(1, sizeof(*w));
    if (!w) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    w->inst = inst;
    w->svc = svc;
    w->appid = svc->conf_str(inst, "appid");
    w->base_url = svc->conf_str(inst, "base_url");
    w->secret = svc->conf_secret(inst, "secret", &w->secret_len);
    w->event_token = svc->conf_secret(inst, "event_token", &w->event_token_len);
    const char *author = svc->conf_str(inst, "author");
    const char *cover = svc->conf_str(inst, "default_cover");
    w->rconf = (struct wx_render_conf){
        .author = author,
        .truncate_title = svc->conf_bool(inst, "truncate_title"),
        .truncate_digest = svc->conf_bool(inst, "truncate_digest"),
        .overlong = strcmp(svc->conf_str(inst, "overlong_body"), "reject") == 0
                        ? WX_OVERLONG_REJECT
                        : WX_OVERLONG_SUMMARY_LINK,
        .drop_images = strcmp(svc->conf_str(inst, "image_policy"), "drop") == 0,
        .append_images = svc->conf_bool(inst, "append_images"),
        .have_default_cover = cover != NULL,
        .need_open_comment = svc->conf_bool(inst, "need_open_comment"),
        .only_fans_can_comment = svc->conf_bool(inst, "only_fans_can_comment"),
    };
    w->quota_window_ms = svc->conf_int(inst, "quota_window");
    w->poll_first_ms = svc->conf_int(inst, "poll_first");
    w->poll_max_ms = svc->conf_int(inst, "poll_max");
    w->give_up_ms = svc->conf_int(inst, "reconcile_give_up");
    if (w->base_url) {
        /* no trailing slash: we append /cgi-bin/... */
        size_t n = strlen(w->base_url);
        if (n > 0 && w->base_url[n - 1] == '/') {
            snprintf(err, errlen, "base_url: no trailing slash, please");
            goto fail;
        }
    }
    if (!w->secret || w->secret_len == 0) {
        snprintf(err, errlen, "secret: the AppSecret is empty");
        goto fail;
    }
    if (author && wx_len(author) > WX_AUTHOR_MAX) {
        snprintf(err, errlen, "author: at most %d characters (WeChat's limit)", WX_AUTHOR_MAX);
        goto fail;
    }
    if (cover && load_cover(w, cover, err, errlen) != 0)
        goto fail;
    static const char *const aes_keys[] = {"event_aes_key", "event_aes_key_previous"};
    for (size_t i = 0; i < 2; i++) {
        size_t len = 0;
        const char *k = svc->conf_secret(inst, aes_keys[i], &len);
        if (!k)
            continue;
        if (i == 1 && w->n_aes_keys == 0) {
            snprintf(err, errlen, "event_aes_key_previous without event_aes_key");
            goto fail;
        }
        if (wx_aes_key(k, len, w->aes_keys[w->n_aes_keys]) != 0) {
            snprintf(err, errlen,
                     "%s: an EncodingAESKey is %d characters of a-z, A-Z and 0-9 (as the "
                     "console shows it)",
                     aes_keys[i], WX_AES_KEY_CHARS);
            goto fail;
        }
        w->n_aes_keys++;
    }
    if (svc->conf_str(inst, "inbound_listen") && (!w->event_token || !w->event_token_len)) {
        snprintf(err, errlen, "event_token is required with inbound_listen (the event signature)");
        goto fail;
    }
    if (w->poll_max_ms < w->poll_first_ms) {
        snprintf(err, errlen, "poll_max is shorter than poll_first");
        goto fail;
    }
    static const struct {
        const char *name, *key;
    } budgets[] = {
        {WX_Q_SUBMIT, "submit_per_day"},      {WX_Q_POLL, "poll_per_day"},
        {WX_Q_DELETE, "delete_per_day"},      {WX_Q_DRAFT, "draft_per_day"},
        {WX_Q_DRAFTGET, "draft_get_per_day"}, {WX_Q_LIST, "list_per_day"},
        {WX_Q_UPLOAD, "upload_per_day"},
    };
    for (size_t i = 0; i < sizeof(budgets) / sizeof(budgets[0]); i++)
        if (svc->quota_define(inst, budgets[i].name, svc->conf_int(inst, budgets[i].key),
                              w->quota_window_ms) != 0) {
            snprintf(err, errlen, "cannot set up the %s budget", budgets[i].name);
            goto fail;
        }
    if (svc->token_register(inst, "access", fetch_token, w,
                            svc->conf_int(inst, "token_margin") / 1000) != 0) {
        snprintf(err, errlen, "cannot register the access_token source");
        goto fail;
    }
    *state = w;
    return 0;
fail:
    destroy(w);
    return -1;
}

static const struct hd_channel channel = {
    .abi_version = HD_ABI_VERSION,
    .struct_size = sizeof(struct hd_channel),
    .build_signature = HD_BUILD_SIGNATURE,
    .name = "wechat",
    .description = "WeChat official account (CHANNELS.md §1): draft + freepublish, poll and "
                   "PUBLISHJOBFINISH event, freepublish/delete",
    .version = "1.0",
    .caps = HD_CAP_RETRACT | HD_CAP_POLL,
    .default_on_revision = HD_REV_IGNORE,
    .keys = keys,
    .create = create,
    .destroy = destroy,
    .render = render,
    .send = wx_send,
    .retract = retract,
    .poll_status = poll_status,
    .reconcile = reconcile,
    .cancel = cancel,
    .inbound = wx_inbound,
};

const struct hd_channel *hd_channel_wechat(void)
{
    return &channel;
}
