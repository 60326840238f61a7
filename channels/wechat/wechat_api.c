/*
 * WeChat: one platform call, and what its answer means.
 *
 * wx_api() takes one from the call's budget (quota_take: we count ahead of the platform's daily
 * quotas), gets the access_token from the core's single-flight cache, POSTs to
 * <base_url>/cgi-bin/<path>?access_token=..., and reads the errcode of the JSON answer (the
 * platform answers errors with HTTP 200 and an errcode body, CHANNELS.md §0.3). On 40001, 40014
 * or 42001 it invalidates the token it used, gets a fresh one and sends the same request once
 * more (§1.1). wx_fail() maps what is left to an outcome per op kind (§1.5; the README has the
 * table). The job helpers (new, complete, persist) live here too.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "wechat.h"

/* ---- jobs ------------------------------------------------------------------------------------ */

struct wx_job *wx_job_new(struct wechat *w, struct hd_op *op)
{
    struct wx_job *j = calloc(1, sizeof(*j));
    if (!j)
        return NULL;
    j->w = w;
    j->op = op;
    json_t *st = op->adapter_state ? json_loads(op->adapter_state, 0, NULL) : NULL;
    j->state = json_is_object(st) ? st : json_object();
    if (st && !json_is_object(st))
        json_decref(st);
    j->prior_submit = json_object_get(j->state, "submit_at") != NULL;
    j->next = w->jobs;
    w->jobs = j;
    op->adapter_data = j;
    return j;
}

static void clear_call(struct wx_job *j)
{
    free(j->token);
    free(j->path);
    free(j->query);
    free(j->body);
    free(j->part_data);
    free((char *)j->part.filename); /* our copy (wx_api) */
    j->token = j->path = j->query = j->body = NULL;
    j->part_data = NULL;
    memset(&j->part, 0, sizeof(j->part));
    j->token_retried = 0;
}

void wx_job_free(struct wx_job *j)
{
    if (!j)
        return;
    for (struct wx_job **pp = &j->w->jobs; *pp; pp = &(*pp)->next)
        if (*pp == j) {
            *pp = j->next;
            break;
        }
    if (j->timer)
        j->w->svc->timer_cancel(j->timer);
    clear_call(j);
    json_decref(j->plan);
    json_decref(j->state);
    for (size_t i = 0; j->img_urls && i < j->n_imgs; i++)
        free(j->img_urls[i]);
    free(j->img_urls);
    free(j);
}

void wx_complete(struct wx_job *j, enum hd_outcome_kind kind, const char *reason,
                 const char *detail, const struct wx_result *r, const char *remote_id,
                 const char *url, int64_t at_ms)
{
    char code[24] = "";
    if (r && r->errcode != WX_NO_ERRCODE && r->errcode != 0)
        snprintf(code, sizeof(code), "%ld", r->errcode);
    struct hd_outcome o = {.kind = kind,
                           .reason = reason,
                           .detail = detail ? detail
                                     : r    ? r->detail
                                            : NULL,
                           .http_status = r ? r->http_status : 0,
                           .platform_code = code[0] ? code : NULL,
                           .remote_id = remote_id,
                           .url = url,
                           .at_ms = at_ms};
    struct hd_op *op = j->op;
    j->completed = 1;
    op->adapter_data = NULL;
    j->w->svc->complete(op, &o);
    wx_job_free(j);
}

struct later {
    struct wx_job *j;
    enum hd_outcome_kind kind;
    char *reason, *detail, *remote_id, *url;
    int64_t at_ms;
};

static void on_later(void *arg)
{
    struct later *l = arg;
    l->j->timer = NULL;
    wx_complete(l->j, l->kind, l->reason, l->detail, NULL, l->remote_id, l->url, l->at_ms);
    free(l->reason);
    free(l->detail);
    free(l->remote_id);
    free(l->url);
    free(l);
}

static char *dup0(const char *s)
{
    return s ? strdup(s) : NULL;
}

void wx_complete_later(struct wx_job *j, enum hd_outcome_kind kind, const char *reason,
                       const char *detail, const char *remote_id, const char *url, int64_t at_ms)
{
    struct later *l = calloc(1, sizeof(*l));
    if (l) {
        l->j = j;
        l->kind = kind;
        l->reason = dup0(reason);
        l->detail = dup0(detail);
        l->remote_id = dup0(remote_id);
        l->url = dup0(url);
        l->at_ms = at_ms;
        j->timer = j->w->svc->timer_add(j->w->inst, 0, on_later, l);
    }
    if (!l || !j->timer) {
        /* no timer: completing here is the lesser evil (the core logs it) */
        if (l) {
            free(l->reason);
            free(l->detail);
            free(l->remote_id);
            free(l->url);
            free(l);
        }
        wx_complete(j, kind, reason, detail, NULL, remote_id, url, at_ms);
    }
}

struct persist_ctx {
    struct wx_job *j;
    void (*then)(struct wx_job *j, int err);
};

static void on_persisted(void *arg, int err)
{
    struct persist_ctx *p = arg;
    struct wx_job *j = p->j;
    void (*then)(struct wx_job *, int) = p->then;
    free(p);
    if (!then)
        return; /* fire and forget: the job may be gone */
    j->waiting_persist = 0;
    then(j, err);
}

int wx_persist(struct wx_job *j, void (*then)(struct wx_job *j, int err))
{
    char *s = json_dumps(j->state, JSON_COMPACT | JSON_SORT_KEYS);
    struct persist_ctx *p = malloc(sizeof(*p));
    int rc = -1;
    if (s && p) {
        p->j = j;
        p->then = then;
        j->waiting_persist = then != NULL;
        rc = j->w->svc->persist(j->op, s, on_persisted, p);
        if (rc != 0) {
            j->waiting_persist = 0;
            free(p);
        }
    } else {
        free(p);
    }
    free(s);
    return rc;
}

const char *wx_state_str(json_t *state, const char *key)
{
    return json_string_value(json_object_get(state, key));
}

/* ---- time ------------------------------------------------------------------------------------ */

int64_t wx_quota_spent(struct wechat *w, const char *name)
{
    const struct hd_services *s = w->svc;
    int64_t left = s->quota_left(w->inst, name), next = 0;
    if (left > 0)
        s->quota_take(w->inst, name, left, NULL); /* the platform says the day is spent */
    if (s->quota_take(w->inst, name, 1, &next) == 0 || next <= 0)
        next = s->now_ms() + w->quota_window_ms; /* cannot happen; be safe */
    return next;
}

int64_t wx_next_minute(struct wechat *w)
{
    int64_t now = w->svc->now_ms();
    return now - now % 60000 + 60000 + (int64_t)(rand() % 3000);
}

/* ---- classification -------------------------------------------------------------------------- */

static enum wx_class classify(long code)
{
    switch (code) {
    case 0:
        return WX_OK;
    case -1:
        return WX_TRANSIENT;
    case 40001:
    case 40014:
    case 42001:
        return WX_TOKEN;
    case 40164: /* IP not on the whitelist */
    case 48001: /* api unauthorized */
    case 40013: /* invalid appid */
    case 40125: /* invalid appsecret */
    case 41002: /* appid missing */
    case 41004: /* secret missing */
    case 53500: /* publishing banned for the account */
        return WX_CONFIG;
    case 45009:
        return WX_QUOTA_DAY;
    case 45011:
        return WX_QUOTA_MIN;
    case 53501:
        return WX_RATE;
    default:
        /* 4xxxx and 5xxxx codes refuse the request itself (45002 content too long, 87014 risky
         * content, 53503 draft failed the publish check, ...): a person must look */
        return code >= 40000 ? WX_CONTENT : WX_TRANSIENT;
    }
}

/* ---- one call -------------------------------------------------------------------------------- */

static void call_done(struct wx_job *j, struct wx_result *r)
{
    wx_step_fn *step = j->step;
    j->http = NULL;
    j->step = NULL;
    step(j, r);
}

static void token_failed(struct wx_job *j, const char *detail)
{
    struct wechat *w = j->w;
    struct wx_result r = {.transport = HD_HTTP_OK, .errcode = WX_NO_ERRCODE};
    long code = w->last_token_errcode;
    r.cls = code ? classify(code) : WX_TRANSIENT;
    if (r.cls == WX_TOKEN || r.cls == WX_CONTENT)
        r.cls = WX_CONFIG; /* stable_token itself refused appid/secret: a person must act */
    if (code) {
        r.errcode = code;
        snprintf(r.detail, sizeof(r.detail), "stable_token: %s", w->last_token_detail);
    } else {
        snprintf(r.detail, sizeof(r.detail), "stable_token: %s", detail ? detail : "failed");
    }
    call_done(j, &r);
}

static void send_now(struct wx_job *j);

static void on_token(void *arg, int err, const char *token, const char *detail)
{
    struct wx_job *j = arg;
    j->waiting_token = 0;
    if (j->cancelled) {
        struct wx_result r = {
            .transport = HD_HTTP_CANCELLED, .errcode = WX_NO_ERRCODE, .cls = WX_TRANSIENT};
        snprintf(r.detail, sizeof(r.detail), "cancelled");
        call_done(j, &r);
        return;
    }
    if (err || !token) {
        token_failed(j, detail);
        return;
    }
    free(j->token);
    j->token = strdup(token);
    send_now(j);
}

static int get_token(struct wx_job *j)
{
    j->waiting_token = 1;
    if (j->w->svc->token_get(j->w->inst, "access", on_token, j) != 0) {
        j->waiting_token = 0;
        return -1;
    }
    return 0;
}

static void on_response(void *arg, const struct hd_http_resp *resp)
{
    struct wx_job *j = arg;
    struct wechat *w = j->w;
    struct wx_result r = {.transport = resp->error,
                          .request_sent = resp->request_sent,
                          .http_status = resp->status,
                          .errcode = WX_NO_ERRCODE};
    j->http = NULL;
    if (resp->error != HD_HTTP_OK) {
        r.cls = WX_TRANSIENT;
        snprintf(r.detail, sizeof(r.detail), "%s: %s", j->path,
                 resp->error_text ? resp->error_text : "transport error");
        call_done(j, &r);
        return;
    }
    json_t *body = json_loadb(resp->body, resp->body_len, 0, NULL);
    json_t *ec = json_object_get(body, "errcode");
    r.json = body;
    if (resp->status != 200 || !json_is_object(body)) {
        r.cls = WX_TRANSIENT;
        snprintf(r.detail, sizeof(r.detail), "%s: HTTP %d, %s", j->path, resp->status,
                 json_is_object(body) ? "unexpected status" : "the answer is not JSON");
    } else {
        r.errcode = json_is_integer(ec) ? (long)json_integer_value(ec) : 0;
        r.errmsg = json_string_value(json_object_get(body, "errmsg"));
        r.cls = classify(r.errcode);
        snprintf(r.detail, sizeof(r.detail), "%s: errcode %ld %.200s", j->path, r.errcode,
                 r.errmsg ? r.errmsg : "");
    }
    w->svc->metric_add(w->inst, "wechat_api_calls", j->path, 1);
    if (r.cls == WX_TOKEN && !j->token_retried && !j->cancelled) {
        /* the token we used is refused: forget it (unless a fresher one is cached already),
         * fetch once, send the same request once more */
        j->token_retried = 1;
        w->svc->log(w->inst, HD_LOG_INFO, "%s: errcode %ld, refreshing the access_token once",
                    j->path, r.errcode);
        w->svc->token_invalidate(w->inst, "access", j->token);
        json_decref(body);
        if (get_token(j) != 0) {
            struct wx_result t = {.errcode = WX_NO_ERRCODE, .cls = WX_TRANSIENT};
            snprintf(t.detail, sizeof(t.detail), "token cache refused the request");
            call_done(j, &t);
        }
        return;
    }
    if (r.cls != WX_OK)
        w->svc->metric_add(w->inst, "wechat_api_errors", j->path, 1);
    call_done(j, &r);
    json_decref(body);
}

static char *encode(const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    char *out = malloc(strlen(s) * 3 + 1), *o = out;
    if (!out)
        return NULL;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '_' || c == '.' || c == '~') {
            *o++ = (char)c;
        } else {
            *o++ = '%';
            *o++ = hex[c >> 4];
            *o++ = hex[c & 15];
        }
    }
    *o = '\0';
    return out;
}

/* send_now() runs from the token callback, never inside the call that took the op. */
static void send_failed(struct wx_job *j, const char *why)
{
    struct wx_result r = {.errcode = WX_NO_ERRCODE, .cls = WX_TRANSIENT};
    snprintf(r.detail, sizeof(r.detail), "%s: %s", j->path, why);
    j->w->svc->log(j->w->inst, HD_LOG_WARN, "%s", r.detail);
    call_done(j, &r);
}

static void send_now(struct wx_job *j)
{
    struct wechat *w = j->w;
    char *tok = encode(j->token ? j->token : "");
    size_t n = strlen(w->base_url) + strlen(j->path) + (tok ? strlen(tok) : 0) +
               (j->query ? strlen(j->query) : 0) + 40;
    char *url = malloc(n);
    if (!tok || !url) {
        free(tok);
        free(url);
        send_failed(j, "out of memory");
        return;
    }
    snprintf(url, n, "%s/cgi-bin/%s?access_token=%s%s%s", w->base_url, j->path, tok,
             j->query ? "&" : "", j->query ? j->query : "");
    free(tok);
    const char *hdrs[] = {"Content-Type: application/json; charset=utf-8"};
    struct hd_http_req req = {.struct_size = sizeof(req), .method = "POST", .url = url};
    if (j->part.data) {
        req.parts = &j->part;
        req.n_parts = 1;
    } else {
        req.headers = hdrs;
        req.n_headers = 1;
        req.body = j->body ? j->body : "{}";
        req.body_len = strlen(req.body);
    }
    int rc = w->svc->http_request(w->inst, &req, on_response, j, &j->http);
    free(url);
    if (rc != 0)
        send_failed(j, "the HTTP client refused the request");
}

static void on_result_later(void *arg)
{
    struct wx_job *j = arg;
    struct wx_result r = j->later;
    j->timer = NULL;
    call_done(j, &r);
}

int wx_step_later(struct wx_job *j, wx_step_fn *step)
{
    j->step = step;
    j->timer = j->w->svc->timer_add(j->w->inst, 0, on_result_later, j);
    return j->timer ? 0 : -1;
}

int wx_api(struct wx_job *j, const char *path, const char *query, char *body, const void *data,
           size_t len, const char *filename, const char *ctype, const char *quota, wx_step_fn *step)
{
    struct wechat *w = j->w;
    clear_call(j);
    j->path = strdup(path);
    j->query = query ? strdup(query) : NULL;
    j->body = body;
    j->step = step;
    j->quota = quota;
    if (data) {
        j->part_data = malloc(len ? len : 1);
        if (j->part_data)
            memcpy(j->part_data, data, len);
        /* the request starts later (after the token): keep our own copy of the name */
        j->part = (struct hd_http_part){.name = "media",
                                        .filename = filename ? strdup(filename) : NULL,
                                        .content_type = ctype,
                                        .data = j->part_data,
                                        .len = len};
    }
    if (!j->path || (query && !j->query) || (data && !j->part_data))
        goto fail;
    int64_t next = 0;
    if (quota && w->svc->quota_take(w->inst, quota, 1, &next) == HD_QUOTA_EXHAUSTED) {
        /* our own count says the platform's daily quota is spent: do not even ask */
        struct wx_result r = {.errcode = WX_NO_ERRCODE, .cls = WX_QUOTA_DAY, .next_ms = next};
        snprintf(r.detail, sizeof(r.detail), "daily budget %s spent (counted ahead of 45009)",
                 quota);
        w->svc->metric_add(w->inst, "wechat_budget_spent", quota, 1);
        j->later = r;
        if (wx_step_later(j, step) != 0)
            goto fail;
        return 0;
    }
    if (get_token(j) != 0)
        goto fail;
    return 0;
fail:
    clear_call(j);
    j->step = NULL;
    return -1;
}

/* ---- fetching assets ------------------------------------------------------------------------- */

static void on_fetched(void *arg, const struct hd_http_resp *resp)
{
    struct wx_job *j = arg;
    wx_fetch_fn *fetched = j->fetched;
    struct wx_result r = {.transport = resp->error,
                          .request_sent = resp->request_sent,
                          .http_status = resp->status,
                          .errcode = WX_NO_ERRCODE};
    j->http = NULL;
    j->fetched = NULL;
    if (resp->error == HD_HTTP_TOO_LARGE) {
        r.cls = WX_CONTENT;
        snprintf(r.detail, sizeof(r.detail), "%.200s: larger than %zu bytes", j->path,
                 j->fetch_cap);
    } else if (resp->error != HD_HTTP_OK) {
        r.cls = WX_TRANSIENT;
        snprintf(r.detail, sizeof(r.detail), "%.200s: %s", j->path,
                 resp->error_text ? resp->error_text : "transport error");
    } else if (resp->status == 200) {
        r.cls = WX_OK;
    } else {
        /* the asset server refused: 5xx and 408/429 may pass, the rest is the item's problem */
        int s = resp->status;
        r.cls = s >= 500 || s == 408 || s == 429 ? WX_TRANSIENT : WX_CONTENT;
        snprintf(r.detail, sizeof(r.detail), "%.200s: HTTP %d", j->path, s);
    }
    fetched(j, &r, resp->body, resp->body_len);
}

int wx_fetch(struct wx_job *j, const char *url, size_t cap, wx_fetch_fn *fetched)
{
    struct wechat *w = j->w;
    clear_call(j);
    j->path = strdup(url);
    if (!j->path)
        return -1;
    j->fetched = fetched;
    j->fetch_cap = cap;
    struct hd_http_req req = {
        .struct_size = sizeof(req), .method = "GET", .url = url, .max_response = cap};
    if (w->svc->http_request(w->inst, &req, on_fetched, j, &j->http) != 0) {
        j->fetched = NULL;
        return -1;
    }
    return 0;
}

void wx_api_cancel(struct wx_job *j)
{
    j->cancelled = 1;
    if (j->http)
        j->w->svc->http_cancel(j->http);
}

/* ---- what an error means
 * ------------------------------------------------------------------------- */

int wx_stopped(struct wx_job *j)
{
    if (!j->cancelled)
        return 0;
    wx_complete(j, j->submit_sent ? HD_OUT_UNKNOWN : HD_OUT_CANCELLED, "cancelled",
                j->submit_sent ? "cancelled while the submit was in flight"
                               : "cancelled before anything was published",
                NULL, NULL, NULL, 0);
    return 1;
}

static void reason_of(const struct wx_result *r, char *out, size_t len)
{
    if (r->errcode != WX_NO_ERRCODE && r->errcode != 0)
        snprintf(out, len, "wechat_%ld", r->errcode);
    else if (r->cls == WX_QUOTA_DAY)
        snprintf(out, len, "budget_spent");
    else if (r->transport != HD_HTTP_OK)
        snprintf(out, len, r->transport == HD_HTTP_TIMEOUT ? "timeout" : "http_error");
    else if (r->http_status && r->http_status != 200)
        snprintf(out, len, "http_%d", r->http_status);
    else
        snprintf(out, len, "wechat_error");
}

void wx_fail(struct wx_job *j, const struct wx_result *r)
{
    struct wechat *w = j->w;
    enum hd_op_kind kind = j->op->kind;
    char reason[48];
    int64_t at = 0;
    reason_of(r, reason, sizeof(reason));
    if (kind == HD_OP_RECONCILE && r->cls != WX_CONFIG) {
        /* reconcile: anything but an answer means "still cannot tell" (never "send again") */
        wx_complete(j, HD_OUT_UNKNOWN, reason, NULL, r, NULL, NULL, 0);
        return;
    }
    switch (r->cls) {
    case WX_OK:
    case WX_TRANSIENT:
        wx_complete(j, kind == HD_OP_SEND && j->submit_sent ? HD_OUT_UNKNOWN : HD_OUT_RETRY, reason,
                    NULL, r, NULL, NULL, 0);
        return;
    case WX_TOKEN:
        wx_complete(j, HD_OUT_REFRESH_CREDENTIALS, reason,
                    "the access_token was refused again right after a refresh", r, NULL, NULL, 0);
        return;
    case WX_CONFIG:
        if (kind == HD_OP_RETRACT && r->errcode == 48001) {
            wx_complete(j, HD_OUT_REJECTED, reason,
                        "48001: this account may not delete published articles (verified "
                        "accounts only): withdraw it by hand on mp.weixin.qq.com",
                        r, NULL, NULL, 0);
            return;
        }
        w->svc->log(w->inst, HD_LOG_ERROR,
                    "ALERT %s: a person must act (appid, secret, IP "
                    "whitelist or account rights)",
                    r->detail);
        wx_complete(j, HD_OUT_NEEDS_OPERATOR, reason, NULL, r, NULL, NULL, 0);
        return;
    case WX_QUOTA_DAY:
        at = r->next_ms;
        if (!at) {
            at = wx_quota_spent(w, j->quota ? j->quota : WX_Q_SUBMIT);
            w->svc->metric_add(w->inst, "wechat_quota_exhausted", j->quota ? j->quota : "-", 1);
        }
        {
            char when[64];
            time_t t = (time_t)(at / 1000);
            struct tm tm;
            localtime_r(&t, &tm);
            strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S %z", &tm);
            w->svc->log(w->inst, r->next_ms ? HD_LOG_WARN : HD_LOG_ERROR,
                        "%s daily quota of %s is spent (%s): waiting until %s",
                        r->next_ms ? "our" : "ALERT the platform's", j->quota ? j->quota : "?",
                        r->detail, when);
        }
        wx_complete(j, HD_OUT_RETRY_AFTER, reason, NULL, r, NULL, NULL, at);
        return;
    case WX_QUOTA_MIN:
        wx_complete(j, HD_OUT_RETRY_AFTER, reason, NULL, r, NULL, NULL, wx_next_minute(w));
        return;
    case WX_RATE:
        wx_complete(j, HD_OUT_RETRY_AFTER, reason, NULL, r, NULL, NULL, w->svc->now_ms() + 60000);
        return;
    case WX_CONTENT:
    default:
        wx_complete(j, HD_OUT_REJECTED, reason, NULL, r, NULL, NULL, 0);
        return;
    }
}

void wx_status_outcome(int status, const char *publish_id, const char *url, struct hd_outcome *o,
                       char *detail, size_t detail_len)
{
    static const char *const what[] = {
        "published",
        "still publishing (发布中)",
        "原创失败: the originality check failed; review needed",
        "常规失败: ordinary failure, no reason given; retry by hand",
        "平台审核不通过: rejected in platform review",
        "成功后用户删除所有文章: published, then deleted by the account",
        "成功后系统封禁所有文章: published, then banned by the platform",
    };
    static const char *const reasons[] = {"published",
                                          "publishing",
                                          "wechat_publish_status_2",
                                          "wechat_publish_status_3",
                                          "wechat_publish_status_4",
                                          "removed_externally",
                                          "removed_externally"};
    memset(o, 0, sizeof(*o));
    if (status < 0 || status > 6)
        status = 1; /* a status we do not know: keep asking */
    snprintf(detail, detail_len, "publish_status %d: %s", status, what[status]);
    o->reason = reasons[status];
    o->detail = detail;
    o->remote_id = publish_id;
    switch (status) {
    case 0:
        o->kind = HD_OUT_DELIVERED;
        o->url = url;
        break;
    case 1:
        o->kind = HD_OUT_ACCEPTED;
        break;
    default: /* 2, 3, 4 failed; 5, 6 removed after success */
        o->kind = HD_OUT_REJECTED;
        break;
    }
}
