/*
 * weibo operations (CHANNELS.md §2): statuses/share (form-encoded, or multipart with the picture
 * as field `pic`), the look-up of our own post in statuses/user_timeline (reconcile after a lost
 * answer, a crash or a duplicate error; the status poll after 20032), and statuses/destroy.
 *
 * Weibo takes no idempotency key, so a share is sent only after what a later look-up needs (the
 * normal form's hash of the text and when we first sent it) is durable in the store; an answer
 * that may hide a post (lost response, 5xx, 20017/20019) becomes `unknown` and the core runs
 * reconcile() before anything is sent again. Every API call is counted against the instance's
 * budgets first (posts per post_window, calls per call_window).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "weibo_int.h"
#include "weibo_rules.h"

#define WB_PAGE       100 /* statuses per timeline page (the API's maximum count) */
#define WB_STATUS_URL "https://m.weibo.cn/status/"

enum phase { PH_START, PH_FETCH, PH_PERSIST, PH_POST, PH_LOOKUP, PH_LATER };

struct call {
    struct weibo *w;  /* borrowed */
    struct hd_op *op; /* borrowed until complete() */
    enum phase phase;
    struct hd_http_call *http; /* the request in flight, NULL otherwise */
    struct hd_timer *timer;    /* a deferred completion */
    int cancelled;
    json_t *payload; /* owned: what render() produced (send) */
    json_t *state;   /* owned: the delivery's adapter state */
    char *pic;       /* owned: the fetched picture */
    size_t pic_len;
    const char *pic_type;
    int page;
    int64_t horizon; /* look-ups: a post created before this is not ours */
    /* the outcome to report once a persist or a timer is done */
    enum hd_outcome_kind k;
    int http_status;
    int64_t at;
    char reason[64], detail[400], code[16], rid[64], url[300];
};

static struct call *call_new(struct weibo *w, struct hd_op *op)
{
    struct call *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->w = w;
    c->op = op;
    op->adapter_data = c;
    return c;
}

static void call_free(struct call *c)
{
    json_decref(c->payload);
    json_decref(c->state);
    free(c->pic);
    free(c);
}

static void stash(struct call *c, enum hd_outcome_kind k, const char *reason, const char *detail,
                  int http, long code, const char *rid, const char *url, int64_t at)
{
    c->k = k;
    c->http_status = http;
    c->at = at;
    snprintf(c->reason, sizeof(c->reason), "%s", reason ? reason : "");
    snprintf(c->detail, sizeof(c->detail), "%s", detail ? detail : "");
    snprintf(c->code, sizeof(c->code), "%s", "");
    if (code)
        snprintf(c->code, sizeof(c->code), "%ld", code);
    snprintf(c->rid, sizeof(c->rid), "%s", rid ? rid : "");
    snprintf(c->url, sizeof(c->url), "%s", url ? url : "");
}

static void finish_stashed(struct call *c)
{
    struct hd_outcome o = {
        .kind = c->k,
        .reason = c->reason[0] ? c->reason : NULL,
        .detail = c->detail[0] ? c->detail : NULL,
        .http_status = c->http_status,
        .platform_code = c->code[0] ? c->code : NULL,
        .remote_id = c->rid[0] ? c->rid : NULL,
        .url = c->url[0] ? c->url : NULL,
        .at_ms = c->at,
    };
    c->op->adapter_data = NULL;
    c->w->svc->complete(c->op, &o); /* copies the strings, which live in c */
    call_free(c);
}

/* Report an outcome now (only from a callback, never inside the call that took the op). */
static void done(struct call *c, enum hd_outcome_kind k, const char *reason, const char *detail,
                 int http, long code, const char *rid, const char *url, int64_t at)
{
    stash(c, k, reason, detail, http, code, rid, url, at);
    finish_stashed(c);
}

static void on_later(void *arg)
{
    struct call *c = arg;
    c->timer = NULL;
    finish_stashed(c);
}

/* Report an outcome from the loop, for answers known inside the call that took the op. Returns
 * what that call returns: 0, or -1 (and the op is not taken) when no timer could be set. */
static int later(struct call *c, enum hd_outcome_kind k, const char *reason, const char *detail,
                 int64_t at)
{
    stash(c, k, reason, detail, 0, 0, NULL, NULL, at);
    c->phase = PH_LATER;
    c->timer = c->w->svc->timer_add(c->w->inst, 0, on_later, c);
    if (c->timer)
        return 0;
    c->op->adapter_data = NULL;
    call_free(c);
    return -1;
}

/* Take the budgets for one API call (and one post): 1, or 0 with *next = when the spent budget's
 * window turns and *which = its name. The calls budget is looked at first, so a refused post
 * spends nothing. */
static int budget(struct call *c, int post, int64_t *next, const char **which)
{
    struct weibo *w = c->w;
    *next = 0;
    if (w->svc->quota_left(w->inst, WB_Q_CALLS) < 1) {
        *which = WB_Q_CALLS;
        w->svc->quota_take(w->inst, WB_Q_CALLS, 1, next);
    } else if (post && w->svc->quota_take(w->inst, WB_Q_POSTS, 1, next) != 0) {
        *which = WB_Q_POSTS;
    } else if (w->svc->quota_take(w->inst, WB_Q_CALLS, 1, next) != 0) {
        *which = WB_Q_CALLS;
    } else {
        return 1;
    }
    w->svc->metric_add(w->inst, "budget_waits", *which, 1);
    if (*next <= w->svc->now_ms())
        *next = w->svc->now_ms() + 1000;
    return 0;
}

static int64_t next_limit_window(struct weibo *w)
{
    int64_t now = w->svc->now_ms(), win = w->limit_window_ms > 0 ? w->limit_window_ms : 3600000;
    return now - now % win + win;
}

static const char *error_text(json_t *j)
{
    const char *e = json_string_value(json_object_get(j, "error"));
    return e ? e : "";
}

static void status_url(const char *id, char *out, size_t len)
{
    snprintf(out, len, WB_STATUS_URL "%s", id);
}

/* The id of a Status object as a string ("idstr", else the number "id"). */
static const char *status_id(json_t *s, char *buf, size_t len)
{
    const char *id = json_string_value(json_object_get(s, "idstr"));
    json_t *n = json_object_get(s, "id");
    if (id && *id)
        return id;
    if (json_is_integer(n)) {
        snprintf(buf, len, "%" JSON_INTEGER_FORMAT, json_integer_value(n));
        return buf;
    }
    return NULL;
}

static int64_t state_int(json_t *st, const char *key)
{
    json_t *v = json_object_get(st, key);
    return json_is_integer(v) ? (int64_t)json_integer_value(v) : 0;
}

static int same(const char *a, const char *b)
{
    return a && b && strcmp(a, b) == 0;
}

static int save_state(struct call *c, hd_persist_cb *cb)
{
    char *js = json_dumps(c->state, JSON_COMPACT | JSON_SORT_KEYS);
    int rc = js ? c->w->svc->persist(c->op, js, cb, c) : -1;
    free(js);
    if (rc == 0)
        c->phase = PH_PERSIST;
    return rc;
}

static void on_persisted_final(void *arg, int err)
{
    struct call *c = arg;
    if (err)
        c->w->svc->log(c->w->inst, HD_LOG_WARN,
                       "delivery %s: the store could not record the "
                       "platform's answer (%s)",
                       c->op->delivery_id, c->reason);
    finish_stashed(c);
}

/* Persist what the answer means for a later look-up, then report the stashed outcome. */
static void persist_and_finish(struct call *c)
{
    if (!c->state || save_state(c, on_persisted_final) != 0)
        finish_stashed(c);
}

/* ---- share ----------------------------------------------------------------------------------- */

static void classified(struct call *c, long code, enum hd_weibo_class cls, int http, json_t *j);

static void on_share(void *arg, const struct hd_http_resp *r)
{
    struct call *c = arg;
    struct weibo *w = c->w;
    char detail[400], reason[64], idbuf[32], url[300];
    c->http = NULL;
    if (r->error != HD_HTTP_OK) {
        snprintf(detail, sizeof(detail), "%s", r->error_text ? r->error_text : "transport error");
        if (!r->request_sent)
            done(c, r->error == HD_HTTP_CANCELLED ? HD_OUT_CANCELLED : HD_OUT_RETRY,
                 r->error == HD_HTTP_CANCELLED ? "cancelled" : "http_not_sent", detail, 0, 0, NULL,
                 NULL, 0);
        else
            done(c, HD_OUT_UNKNOWN, r->error == HD_HTTP_TIMEOUT ? "timeout" : "http_lost", detail,
                 0, 0, NULL, NULL, 0); /* it may be posted: look it up first */
        return;
    }
    json_t *j = json_loadb(r->body, r->body_len, 0, NULL);
    long code = hd_weibo_error_code(r->body, r->body_len);
    if (code) {
        classified(c, code, hd_weibo_classify(code), r->status, j);
        json_decref(j);
        return;
    }
    const char *id = status_id(j, idbuf, sizeof(idbuf));
    snprintf(reason, sizeof(reason), "http_%d", r->status);
    snprintf(detail, sizeof(detail), "HTTP %d: %.300s", r->status, r->body ? r->body : "");
    if (r->status == 200 && id) {
        status_url(id, url, sizeof(url));
        w->svc->metric_add(w->inst, "posts", "delivered", 1);
        done(c, HD_OUT_DELIVERED, "posted", NULL, r->status, 0, id, url, 0);
    } else if (r->status == 429) {
        int64_t at = w->svc->retry_after_ms(r);
        done(c, HD_OUT_RETRY_AFTER, reason, detail, r->status, 0, NULL, NULL,
             at > 0 ? at : next_limit_window(w));
    } else if (r->status == 401 || r->status == 403 || r->status == 404) {
        done(c, HD_OUT_NEEDS_OPERATOR, reason,
             "the API refused the request without a Weibo "
             "error: check base_url and the token",
             r->status, 0, NULL, NULL, 0);
    } else if (r->status >= 400 && r->status < 500 && r->status != 408) {
        done(c, HD_OUT_REJECTED, reason, detail, r->status, 0, NULL, NULL, 0);
    } else {
        /* 2xx without a post, 408, 5xx: it may be posted all the same */
        done(c, HD_OUT_UNKNOWN, reason, detail, r->status, 0, NULL, NULL, 0);
    }
    json_decref(j);
}

/* A share answered with a Weibo error code (CHANNELS.md §2.4). */
static void classified(struct call *c, long code, enum hd_weibo_class cls, int http, json_t *j)
{
    struct weibo *w = c->w;
    char reason[64], detail[400];
    int64_t now = w->svc->now_ms();
    snprintf(reason, sizeof(reason), "weibo_%ld", code);
    snprintf(detail, sizeof(detail), "weibo %ld (%s): %.300s", code, hd_weibo_class_name(cls),
             error_text(j));
    w->svc->metric_add(w->inst, "errors", reason, 1);
    switch (cls) {
    case HD_WB_DUPLICATE:
        /* the same or a similar text is there: it may be ours; look before sending again */
        json_object_set_new(c->state, "dup_code", json_integer(code));
        json_object_set_new(c->state, "dup_at", json_integer(now));
        stash(c, HD_OUT_UNKNOWN, reason, detail, http, code, NULL, NULL, 0);
        persist_and_finish(c);
        return;
    case HD_WB_DELAYED: {
        char ref[64];
        const char *norm = json_string_value(json_object_get(c->state, "norm_sha256"));
        snprintf(ref, sizeof(ref), "pending-%.16s", norm ? norm : "?");
        json_object_set_new(c->state, "accepted_at", json_integer(now));
        stash(c, HD_OUT_ACCEPTED, reason,
              "posted, the server is slow: confirming through the "
              "timeline",
              http, code, ref, NULL, now + w->poll_ms);
        persist_and_finish(c);
        return;
    }
    case HD_WB_TRANSIENT:
        done(c, HD_OUT_RETRY, reason, detail, http, code, NULL, NULL, 0);
        return;
    case HD_WB_RATE:
        done(c, HD_OUT_RETRY_AFTER, reason, detail, http, code, NULL, NULL, next_limit_window(w));
        return;
    case HD_WB_REAUTH: {
        char d[400];
        snprintf(d, sizeof(d),
                 "the access token was refused (%ld %s): a person must authorize "
                 "the app again, then: heraldctl credentials set %s access_token",
                 code, error_text(j), w->svc->instance_id(w->inst));
        done(c, HD_OUT_NEEDS_OPERATOR, "reauthorize", d, http, code, NULL, NULL, 0);
        return;
    }
    case HD_WB_CONFIG:
        done(c, HD_OUT_NEEDS_OPERATOR, reason, detail, http, code, NULL, NULL, 0);
        return;
    default:
        done(c, HD_OUT_REJECTED, reason, detail, http, code, NULL, NULL, 0);
        return;
    }
}

static void post_share(struct call *c)
{
    struct weibo *w = c->w;
    const char *status = json_string_value(json_object_get(c->payload, "status"));
    char url[2100];
    int rc = -1;
    snprintf(url, sizeof(url), "%s/2/statuses/share.json", w->base);
    c->phase = PH_POST;
    if (c->pic) {
        /* multipart/form-data with the picture as `pic` (§2.1); curl copies every part */
        const char *ext = strcmp(c->pic_type, "image/png") == 0   ? "pic.png"
                          : strcmp(c->pic_type, "image/gif") == 0 ? "pic.gif"
                                                                  : "pic.jpg";
        struct hd_http_part parts[] = {
            {"access_token", NULL, NULL, w->token, w->token_len},
            {"status", NULL, NULL, status, strlen(status)},
            {"rip", NULL, NULL, w->rip, strlen(w->rip)},
            {"pic", ext, c->pic_type, c->pic, c->pic_len},
        };
        struct hd_http_req req = {
            .struct_size = sizeof(req), .method = "POST", .url = url, .parts = parts, .n_parts = 4};
        rc = w->svc->http_request(w->inst, &req, on_share, c, &c->http);
    } else {
        /* application/x-www-form-urlencoded, each value escaped exactly once (§2.1) */
        char *t = hd_weibo_form_escape(w->token), *s = hd_weibo_form_escape(status);
        char *ip = hd_weibo_form_escape(w->rip);
        char *body = t && s && ip ? malloc(strlen(t) + strlen(s) + strlen(ip) + 40) : NULL;
        if (body) {
            sprintf(body, "access_token=%s&status=%s&rip=%s", t, s, ip);
            const char *hdrs[] = {"Content-Type: application/x-www-form-urlencoded"};
            struct hd_http_req req = {.struct_size = sizeof(req),
                                      .method = "POST",
                                      .url = url,
                                      .headers = hdrs,
                                      .n_headers = 1,
                                      .body = body,
                                      .body_len = strlen(body)};
            rc = w->svc->http_request(w->inst, &req, on_share, c, &c->http);
        }
        free(body);
        free(t);
        free(s);
        free(ip);
    }
    if (rc != 0)
        done(c, HD_OUT_RETRY, "http_start", "cannot start the request: nothing was sent", 0, 0,
             NULL, NULL, 0);
}

static void on_persisted_send(void *arg, int err)
{
    struct call *c = arg;
    if (err)
        done(c, HD_OUT_RETRY, "store_failed",
             "the store could not record the send: nothing "
             "was sent",
             0, 0, NULL, NULL, 0);
    else if (c->cancelled)
        done(c, HD_OUT_CANCELLED, "cancelled", NULL, 0, 0, NULL, NULL, 0);
    else
        post_share(c);
}

/* Record, durably, what a look-up needs -- before the share goes out. */
static int persist_then_post(struct call *c)
{
    struct weibo *w = c->w;
    json_t *prev = c->op->adapter_state ? json_loads(c->op->adapter_state, 0, NULL) : NULL;
    const char *norm = json_string_value(json_object_get(c->payload, "norm_sha256"));
    const char *text = json_string_value(json_object_get(c->payload, "text_sha256"));
    const char *link = json_string_value(json_object_get(c->payload, "link"));
    int64_t now = w->svc->now_ms(), first = now;
    if (norm && same(json_string_value(json_object_get(prev, "norm_sha256")), norm) &&
        state_int(prev, "first_sent_at") > 0)
        first = state_int(prev, "first_sent_at"); /* an earlier attempt may be the one out there */
    json_decref(prev);
    json_decref(c->state);
    c->state = json_pack("{s:i, s:s, s:s?, s:s?, s:I, s:I, s:i}", "v", 1, "norm_sha256",
                         norm ? norm : "", "text_sha256", text, "link", link, "first_sent_at",
                         (json_int_t)first, "sent_at", (json_int_t)now, "attempt", c->op->attempt);
    if (!norm || !c->state)
        return -1;
    return save_state(c, on_persisted_send);
}

/* JPEG, GIF or PNG by their magic numbers (§2.1: the only types statuses/share takes). */
static const char *sniff(const char *p, size_t n)
{
    const unsigned char *u = (const unsigned char *)p;
    if (n >= 3 && u[0] == 0xff && u[1] == 0xd8 && u[2] == 0xff)
        return "image/jpeg";
    if (n >= 6 && (memcmp(p, "GIF87a", 6) == 0 || memcmp(p, "GIF89a", 6) == 0))
        return "image/gif";
    if (n >= 8 && memcmp(p, "\x89PNG\r\n\x1a\n", 8) == 0)
        return "image/png";
    return NULL;
}

static void on_pic(void *arg, const struct hd_http_resp *r)
{
    struct call *c = arg;
    struct weibo *w = c->w;
    json_t *pic = json_object_get(c->payload, "pic");
    const char *want = json_string_value(json_object_get(pic, "sha256"));
    const char *purl = json_string_value(json_object_get(pic, "url"));
    char detail[400], got[65];
    c->http = NULL;
    if (c->cancelled || r->error == HD_HTTP_CANCELLED) {
        done(c, HD_OUT_CANCELLED, "cancelled", NULL, 0, 0, NULL, NULL, 0);
        return;
    }
    if (r->error == HD_HTTP_TOO_LARGE || (r->error == HD_HTTP_OK && r->body_len >= WB_PIC_MAX)) {
        w->svc->log(w->inst, HD_LOG_WARN,
                    "delivery %s: picture %s is 5 MB or more: posting the "
                    "text alone",
                    c->op->delivery_id, purl);
    } else if (r->error != HD_HTTP_OK || r->status != 200) {
        snprintf(detail, sizeof(detail), "fetching the picture %.200s: %s", purl,
                 r->error != HD_HTTP_OK ? (r->error_text ? r->error_text : "error") : "HTTP error");
        done(c, HD_OUT_RETRY, "pic_fetch", detail, r->status, 0, NULL, NULL, 0);
        return;
    } else {
        w->svc->sha256_hex(r->body, r->body_len, got);
        if (want && strcasecmp(want, got) != 0) {
            snprintf(detail, sizeof(detail),
                     "the picture %.200s does not match its sha256 "
                     "(got %s): not posting it",
                     purl, got);
            done(c, HD_OUT_RETRY, "pic_sha256_mismatch", detail, r->status, 0, NULL, NULL, 0);
            return;
        }
        c->pic_type = sniff(r->body, r->body_len);
        if (!c->pic_type) {
            w->svc->log(w->inst, HD_LOG_WARN,
                        "delivery %s: picture %s is not JPEG, GIF or PNG: "
                        "posting the text alone",
                        c->op->delivery_id, purl);
        } else if ((c->pic = malloc(r->body_len ? r->body_len : 1))) {
            memcpy(c->pic, r->body, r->body_len);
            c->pic_len = r->body_len;
        }
    }
    if (persist_then_post(c) != 0)
        done(c, HD_OUT_RETRY, "store_failed", "cannot record the send: nothing was sent", 0, 0,
             NULL, NULL, 0);
}

int hd_weibo_send(void *state, struct hd_op *op)
{
    struct weibo *w = state;
    int64_t next;
    const char *which;
    char detail[200];
    if (!op->payload || !op->payload->data)
        return -1;
    struct call *c = call_new(w, op);
    if (!c)
        return -1;
    c->payload = json_loadb(op->payload->data, op->payload->len, 0, NULL);
    if (!json_is_string(json_object_get(c->payload, "status")))
        return later(c, HD_OUT_REJECTED, "bad_payload", "the payload is not this adapter's", 0);
    if (!budget(c, 1, &next, &which)) {
        snprintf(detail, sizeof(detail),
                 "herald's %s budget for this account is spent until the "
                 "window turns (at=%lld)",
                 which, (long long)next);
        return later(c, HD_OUT_RETRY_AFTER,
                     strcmp(which, WB_Q_POSTS) == 0 ? "budget_posts" : "budget_calls", detail,
                     next);
    }
    json_t *pic = json_object_get(c->payload, "pic");
    if (pic && w->pic) {
        struct hd_http_req req = {.struct_size = sizeof(req),
                                  .method = "GET",
                                  .url = json_string_value(json_object_get(pic, "url")),
                                  .max_response = WB_PIC_MAX - 1};
        c->phase = PH_FETCH;
        if (req.url && w->svc->http_request(w->inst, &req, on_pic, c, &c->http) == 0)
            return 0;
        return later(c, HD_OUT_RETRY, "pic_fetch", "cannot start fetching the picture", 0);
    }
    if (persist_then_post(c) != 0)
        return later(c, HD_OUT_RETRY, "store_failed", "cannot record the send: nothing was sent",
                     0);
    return 0;
}

/* ---- look-ups: reconcile and poll ------------------------------------------------------------ */

static int lookup_page(struct call *c, int64_t *next);

static void lookup_found(struct call *c, const char *id)
{
    char url[300];
    status_url(id, url, sizeof(url));
    done(c, HD_OUT_DELIVERED, c->op->kind == HD_OP_POLL ? "confirmed" : "found",
         "the post is on the account's timeline", 200, 0, id, url, 0);
}

static void lookup_absent(struct call *c)
{
    struct weibo *w = c->w;
    int64_t now = w->svc->now_ms();
    char detail[300];
    if (c->op->kind == HD_OP_POLL) {
        int64_t since = state_int(c->state, "accepted_at");
        if (!since)
            since = state_int(c->state, "sent_at");
        if (since && now < since + w->confirm_ms) {
            done(c, HD_OUT_ACCEPTED, "not_visible_yet",
                 "accepted (20032), not on the timeline "
                 "yet",
                 200, 0, c->op->remote_id, NULL, now + w->poll_ms);
        } else {
            snprintf(detail, sizeof(detail),
                     "accepted (20032) but not on the timeline after "
                     "%llds: check the account by hand",
                     (long long)(w->confirm_ms / 1000));
            done(c, HD_OUT_REJECTED, "not_visible", detail, 200, 0, NULL, NULL, 0);
        }
        return;
    }
    long dup = (long)state_int(c->state, "dup_code");
    if (!dup) {
        done(c, HD_OUT_RETRY, "absent", "not on the account's timeline: sending is safe", 200, 0,
             NULL, NULL, 0);
    } else if (now < state_int(c->state, "dup_at") + w->confirm_ms) {
        snprintf(detail, sizeof(detail),
                 "weibo said %ld (same or similar text exists) but the "
                 "timeline does not show ours yet",
                 dup);
        done(c, HD_OUT_RETRY_AFTER, "duplicate_not_visible", detail, 200, dup, NULL, NULL,
             now + w->poll_ms);
    } else {
        snprintf(detail, sizeof(detail),
                 "weibo said %ld (same or similar text exists) and the "
                 "timeline never showed ours: check the account by hand",
                 dup);
        done(c, HD_OUT_REJECTED, "duplicate_not_found", detail, 200, dup, NULL, NULL, 0);
    }
}

/* The look-up could not tell: reconcile asks again later, a poll keeps polling. */
static void lookup_unknown(struct call *c, const char *reason, const char *detail, int http,
                           long code, int64_t at)
{
    struct weibo *w = c->w;
    int64_t now = w->svc->now_ms();
    if (c->op->kind == HD_OP_POLL)
        done(c, HD_OUT_ACCEPTED, reason, detail, http, code, c->op->remote_id, NULL,
             at > now ? at : now + w->poll_ms);
    else if (at > now)
        done(c, HD_OUT_RETRY_AFTER, reason, detail, http, code, NULL, NULL, at);
    else
        done(c, HD_OUT_UNKNOWN, reason, detail, http, code, NULL, NULL, 0);
}

static void on_lookup(void *arg, const struct hd_http_resp *r)
{
    struct call *c = arg;
    struct weibo *w = c->w;
    char detail[400], idbuf[32];
    c->http = NULL;
    if (r->error != HD_HTTP_OK) {
        lookup_unknown(c, r->error == HD_HTTP_CANCELLED ? "cancelled" : "lookup_failed",
                       r->error_text, 0, 0, 0);
        return;
    }
    json_t *j = json_loadb(r->body, r->body_len, 0, NULL);
    long code = hd_weibo_error_code(r->body, r->body_len);
    if (code) {
        enum hd_weibo_class cls = hd_weibo_classify(code);
        snprintf(detail, sizeof(detail), "timeline look-up: weibo %ld (%s): %.200s", code,
                 hd_weibo_class_name(cls), error_text(j));
        if (cls == HD_WB_REAUTH || cls == HD_WB_CONFIG)
            done(c, HD_OUT_NEEDS_OPERATOR, cls == HD_WB_REAUTH ? "reauthorize" : "lookup_config",
                 detail, r->status, code, NULL, NULL, 0);
        else
            lookup_unknown(c, "lookup_error", detail, r->status, code,
                           cls == HD_WB_RATE ? next_limit_window(w) : 0);
        json_decref(j);
        return;
    }
    json_t *sts = json_object_get(j, "statuses"), *s;
    if (r->status != 200 || !json_is_array(sts)) {
        snprintf(detail, sizeof(detail), "timeline look-up: HTTP %d: %.200s", r->status,
                 r->body ? r->body : "");
        lookup_unknown(c, "lookup_bad_answer", detail, r->status, 0, 0);
        json_decref(j);
        return;
    }
    const char *want = json_string_value(json_object_get(c->state, "norm_sha256"));
    const char *found = NULL;
    int64_t oldest = INT64_MAX;
    size_t i;
    json_array_foreach (sts, i, s) {
        const char *text = json_string_value(json_object_get(s, "text"));
        int64_t t;
        if (hd_weibo_parse_time(json_string_value(json_object_get(s, "created_at")), &t) != 0)
            t = INT64_MAX; /* no time: compare its text all the same */
        if (t < oldest)
            oldest = t;
        if (!text || t < c->horizon || found)
            continue;
        char *norm = wb_normalize(text), sha[65];
        if (!norm)
            continue;
        w->svc->sha256_hex(norm, strlen(norm), sha);
        free(norm);
        if (want && strcmp(sha, want) == 0)
            found = status_id(s, idbuf, sizeof(idbuf));
    }
    if (found) {
        char id[64];
        snprintf(id, sizeof(id), "%s", found);
        json_decref(j);
        lookup_found(c, id);
        return;
    }
    int last = json_array_size(sts) < WB_PAGE || oldest < c->horizon || c->page >= w->lookup_pages;
    json_decref(j);
    if (last) {
        lookup_absent(c);
        return;
    }
    int64_t next;
    c->page++;
    int rc = lookup_page(c, &next);
    if (rc > 0)
        lookup_unknown(c, "budget_calls", "the calls budget is spent until the window turns", 0, 0,
                       next);
    else if (rc < 0)
        lookup_unknown(c, "http_start", "cannot start the look-up", 0, 0, 0);
}

/* 0: started; 1: the calls budget is spent (*next: when it turns); -1: could not start. */
static int lookup_page(struct call *c, int64_t *next)
{
    struct weibo *w = c->w;
    const char *which;
    if (!budget(c, 0, next, &which))
        return 1;
    char *tok = hd_weibo_form_escape(w->token);
    char *url = tok ? malloc(strlen(w->base) + strlen(tok) + 120) : NULL;
    int rc = -1;
    if (url) {
        sprintf(url,
                "%s/2/statuses/user_timeline.json?access_token=%s&count=%d&page=%d&trim_user=1",
                w->base, tok, WB_PAGE, c->page);
        struct hd_http_req req = {.struct_size = sizeof(req), .method = "GET", .url = url};
        c->phase = PH_LOOKUP;
        rc = w->svc->http_request(w->inst, &req, on_lookup, c, &c->http);
    }
    free(url);
    free(tok);
    return rc == 0 ? 0 : -1;
}

static int lookup_start(struct weibo *w, struct hd_op *op)
{
    int64_t next;
    struct call *c = call_new(w, op);
    if (!c)
        return -1;
    c->state = op->adapter_state ? json_loads(op->adapter_state, 0, NULL) : NULL;
    if (!json_is_string(json_object_get(c->state, "norm_sha256"))) {
        if (op->kind == HD_OP_RECONCILE) /* send() records before it posts: nothing went out */
            return later(c, HD_OUT_RETRY, "never_sent",
                         "no send was recorded for this "
                         "delivery: nothing reached Weibo",
                         0);
        return later(c, HD_OUT_REJECTED, "no_record",
                     "nothing recorded to look the post up "
                     "by: check the account by hand",
                     0);
    }
    c->horizon = state_int(c->state, "first_sent_at") - w->skew_ms;
    c->page = 1;
    int rc = lookup_page(c, &next);
    if (rc == 0)
        return 0;
    if (rc > 0)
        return later(c, op->kind == HD_OP_POLL ? HD_OUT_ACCEPTED : HD_OUT_RETRY_AFTER,
                     "budget_calls", "the calls budget is spent until the window turns", next);
    return later(c, op->kind == HD_OP_POLL ? HD_OUT_ACCEPTED : HD_OUT_UNKNOWN, "http_start",
                 "cannot start the look-up", w->svc->now_ms() + w->poll_ms);
}

int hd_weibo_reconcile(void *state, struct hd_op *op)
{
    return lookup_start(state, op);
}

int hd_weibo_poll(void *state, struct hd_op *op)
{
    return lookup_start(state, op);
}

/* ---- destroy --------------------------------------------------------------------------------- */

static void on_destroy(void *arg, const struct hd_http_resp *r)
{
    struct call *c = arg;
    struct weibo *w = c->w;
    char detail[400], reason[64];
    c->http = NULL;
    if (r->error != HD_HTTP_OK) {
        /* destroying again is harmless: a post already gone answers 20101 */
        done(c, r->error == HD_HTTP_CANCELLED && !r->request_sent ? HD_OUT_CANCELLED : HD_OUT_RETRY,
             "http_error", r->error_text, 0, 0, NULL, NULL, 0);
        return;
    }
    json_t *j = json_loadb(r->body, r->body_len, 0, NULL);
    long code = hd_weibo_error_code(r->body, r->body_len);
    enum hd_weibo_class cls = hd_weibo_classify(code);
    snprintf(reason, sizeof(reason), "weibo_%ld", code);
    snprintf(detail, sizeof(detail), "statuses/destroy: weibo %ld (%s): %.200s", code,
             hd_weibo_class_name(cls), error_text(j));
    if (!code && r->status == 200)
        done(c, HD_OUT_DELIVERED, "destroyed", NULL, 200, 0, c->op->remote_id, NULL, 0);
    else if (!code)
        done(c, r->status >= 500 ? HD_OUT_RETRY : HD_OUT_REJECTED, "http_error", r->body, r->status,
             0, NULL, NULL, 0);
    else if (cls == HD_WB_GONE)
        done(c, HD_OUT_DELIVERED, "already_gone", detail, r->status, code, NULL, NULL, 0);
    else if (cls == HD_WB_REAUTH)
        done(c, HD_OUT_NEEDS_OPERATOR, "reauthorize", detail, r->status, code, NULL, NULL, 0);
    else if (cls == HD_WB_RATE)
        done(c, HD_OUT_RETRY_AFTER, reason, detail, r->status, code, NULL, NULL,
             next_limit_window(w));
    else if (cls == HD_WB_TRANSIENT)
        done(c, HD_OUT_RETRY, reason, detail, r->status, code, NULL, NULL, 0);
    else /* 20102 not ours, 10014 not permitted, ...: a person deletes it by hand */
        done(c, HD_OUT_REJECTED, reason, detail, r->status, code, NULL, NULL, 0);
    json_decref(j);
}

int hd_weibo_retract(void *state, struct hd_op *op)
{
    struct weibo *w = state;
    const char *id = op->remote_id, *which;
    int64_t next;
    struct call *c = call_new(w, op);
    if (!c)
        return -1;
    if (!w->retract_ok)
        return later(c, HD_OUT_REJECTED, "retract_disabled",
                     "statuses/destroy is off for this "
                     "instance (retract: false): delete the post by hand",
                     0);
    if (!id || !*id || strspn(id, "0123456789") != strlen(id))
        return later(c, HD_OUT_REJECTED, "no_post_id",
                     "no post id is known for this delivery: "
                     "delete the post by hand",
                     0);
    if (!budget(c, 0, &next, &which))
        return later(c, HD_OUT_RETRY_AFTER, "budget_calls",
                     "the calls budget is spent until "
                     "the window turns",
                     next);
    char *tok = hd_weibo_form_escape(w->token);
    char *body = tok ? malloc(strlen(tok) + strlen(id) + 32) : NULL;
    char url[2100];
    int rc = -1;
    snprintf(url, sizeof(url), "%s/2/statuses/destroy.json", w->base);
    if (body) {
        sprintf(body, "access_token=%s&id=%s", tok, id);
        const char *hdrs[] = {"Content-Type: application/x-www-form-urlencoded"};
        struct hd_http_req req = {.struct_size = sizeof(req),
                                  .method = "POST",
                                  .url = url,
                                  .headers = hdrs,
                                  .n_headers = 1,
                                  .body = body,
                                  .body_len = strlen(body)};
        c->phase = PH_POST;
        rc = w->svc->http_request(w->inst, &req, on_destroy, c, &c->http);
    }
    free(body);
    free(tok);
    if (rc != 0)
        return later(c, HD_OUT_RETRY, "http_start", "cannot start the request", 0);
    return 0;
}

void hd_weibo_cancel(void *state, struct hd_op *op)
{
    struct weibo *w = state;
    struct call *c = op->adapter_data;
    if (!c)
        return;
    c->cancelled = 1; /* a persist in flight completes the op as cancelled */
    if (c->http)
        w->svc->http_cancel(c->http);
}
