/*
 * The services table lent to adapters (<herald/services.h>): each entry is a thin, checked door
 * into the core (the engine, the store, the HTTP client, timers, the token cache, text helpers).
 * Adapters never see the core's structures: struct hd_instance is opaque to them.
 */
#include <stdarg.h>
#include <time.h>

#include "common.h"
#include "engine_int.h"
#include "metrics.h"
#include "text.h"

/* ---- persist ----------------------------------------------------------------------------------
 */

struct persist_req {
    hd_persist_cb *done;
    void *arg;
};

static void on_persisted(void *arg, int err)
{
    struct persist_req *p = arg;
    p->done(p->arg, err);
    free(p);
}

static int svc_persist(struct hd_op *op, const char *state_json, hd_persist_cb *done, void *arg)
{
    struct opctx *o = (struct opctx *)op;
    struct hd_delivery *d = NULL;
    if (!o || !done || o->completed)
        return HD_EINVAL;
    if (hd_store_delivery_get(o->e->st, o->delivery_id, &d) != 0 || !d)
        return HD_ENOTFOUND;
    hd_delivery_set_str(&d->adapter_state, state_json);
    int rc = hd_delivery_save(o->e->st, d);
    hd_delivery_free(d);
    if (rc)
        return rc;
    free(o->adapter_state);
    o->adapter_state = hd_strdup(state_json);
    o->op.adapter_state = o->adapter_state;
    struct persist_req *p = malloc(sizeof(*p));
    if (!p)
        return HD_ENOMEM;
    p->done = done;
    p->arg = arg;
    hd_store_when_durable(o->e->st, on_persisted, p);
    return 0;
}

/* ---- configuration ----------------------------------------------------------------------------
 */

static const struct hd_conf_value *value(struct hd_instance *in, const char *key)
{
    const struct hd_conf_value *v = hd_conf_find(&in->conf->own, key);
    if (!v)
        v = hd_conf_find(&in->conf->core, key);
    return v && v->set ? v : NULL;
}

static const char *svc_conf_str(struct hd_instance *in, const char *key)
{
    const struct hd_conf_value *v = value(in, key);
    return v ? v->str : NULL;
}

static int64_t svc_conf_int(struct hd_instance *in, const char *key)
{
    const struct hd_conf_value *v = value(in, key);
    return v ? v->i : 0;
}

static int svc_conf_bool(struct hd_instance *in, const char *key)
{
    const struct hd_conf_value *v = value(in, key);
    return v ? (int)v->i : 0;
}

static size_t svc_conf_list(struct hd_instance *in, const char *key, const char *const **items)
{
    const struct hd_conf_value *v = value(in, key);
    *items = v ? (const char *const *)v->list : NULL;
    return v ? v->n_list : 0;
}

static const char *svc_conf_map_get(struct hd_instance *in, const char *key, const char *mkey)
{
    const struct hd_conf_value *v = value(in, key);
    for (size_t i = 0; v && i < v->n_map; i++)
        if (strcmp(v->map_keys[i], mkey) == 0)
            return v->map_vals[i];
    return NULL;
}

static const char *svc_conf_secret(struct hd_instance *in, const char *key, size_t *len)
{
    const char *over = hd_inst_credential(in, key, len);
    if (over)
        return over;
    const struct hd_conf_value *v = value(in, key);
    if (len)
        *len = v ? v->secret_len : 0;
    return v ? v->secret : NULL;
}

static const char *svc_instance_id(struct hd_instance *in)
{
    return in->conf->id;
}

/* ---- logging ------------------------------------------------------------------------------ */

static void svc_log(struct hd_instance *in, enum hd_log_level level, const char *fmt, ...)
{
    if ((int)level > hd_log_level)
        return;
    va_list ap;
    va_start(ap, fmt);
    hd_log_vwrite(level, in ? in->prefix : "channel", fmt, ap);
    va_end(ap);
}

static int svc_log_enabled(struct hd_instance *in, enum hd_log_level level)
{
    return (int)level <= hd_log_level;
}

/* ---- HTTP ----------------------------------------------------------------------------------- */

static int svc_http_request(struct hd_instance *in, const struct hd_http_req *req, hd_http_cb *cb,
                            void *arg, struct hd_http_call **call)
{
    struct hd_http_opts o = {
        .timeout_ms = in->conf->timeout_ms,
        .connect_timeout_ms = in->conf->connect_timeout_ms,
        .ca_file = in->conf->ca_file,
        .log_prefix = in->prefix,
        /* non-idempotent adapters (WeChat, Weibo): no hidden resend of a POST by libcurl */
        .no_reuse =
            !(in->chan->caps & HD_CAP_IDEMPOTENT) && req->method && strcmp(req->method, "GET") != 0,
    };
    return hd_http_request(in->e->http, req, &o, cb, arg, call);
}

/* ---- timers ---------------------------------------------------------------------------------- */

struct hd_timer {
    struct event *ev;
    hd_timer_cb *cb;
    void *arg;
};

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    struct hd_timer *t = arg;
    hd_timer_cb *cb = t->cb;
    void *a = t->arg;
    event_free(t->ev);
    free(t);
    cb(a);
}

static struct hd_timer *svc_timer_add(struct hd_instance *in, int64_t delay_ms, hd_timer_cb *cb,
                                      void *arg)
{
    struct hd_timer *t = calloc(1, sizeof(*t));
    if (!t || !cb) {
        free(t);
        return NULL;
    }
    t->cb = cb;
    t->arg = arg;
    t->ev = evtimer_new(in->e->base, on_timer, t);
    if (!t->ev) {
        free(t);
        return NULL;
    }
    if (delay_ms < 0)
        delay_ms = 0;
    struct timeval tv = {(time_t)(delay_ms / 1000), (suseconds_t)((delay_ms % 1000) * 1000)};
    evtimer_add(t->ev, &tv);
    return t;
}

static void svc_timer_cancel(struct hd_timer *t)
{
    if (!t)
        return;
    event_free(t->ev);
    free(t);
}

/* ---- token cache ------------------------------------------------------------------------------
 */

static struct token *token_find(struct hd_instance *in, const char *name)
{
    struct token *t;
    HASH_FIND_STR(in->tokens_cache, name, t);
    return t;
}

static int svc_token_register(struct hd_instance *in, const char *name, hd_token_fetch_fn *fetch,
                              void *arg, int64_t margin_s)
{
    if (!name || !fetch || token_find(in, name))
        return HD_EINVAL;
    struct token *t = calloc(1, sizeof(*t));
    if (!t)
        return HD_ENOMEM;
    t->name = strdup(name);
    t->fetch = fetch;
    t->arg = arg;
    t->margin_s = margin_s;
    t->inst = in;
    STAILQ_INIT(&t->waiters);
    HASH_ADD_KEYPTR(hh, in->tokens_cache, t->name, strlen(t->name), t);
    return 0;
}

static void notify_waiters(struct token *t, int err, const char *detail)
{
    struct token_waiters todo = STAILQ_HEAD_INITIALIZER(todo);
    STAILQ_CONCAT(&todo, &t->waiters);
    while (!STAILQ_EMPTY(&todo)) {
        struct token_waiter *w = STAILQ_FIRST(&todo);
        STAILQ_REMOVE_HEAD(&todo, link);
        w->cb(w->arg, err, err ? NULL : t->value, detail);
        free(w);
    }
}

static void token_fetched(void *done_arg, int err, const char *token, int64_t expires_in_s,
                          const char *detail)
{
    struct token *t = done_arg;
    t->fetching = 0;
    if (!err && token) {
        free(t->value);
        t->value = strdup(token);
        t->expires_at = hd_now_ms() + (expires_in_s > 0 ? expires_in_s : 7200) * 1000;
        HD_LOG(HD_LOG_INFO, t->inst->prefix, "token %s refreshed, valid for %llds", t->name,
               (long long)expires_in_s);
    } else {
        HD_LOG(HD_LOG_WARN, t->inst->prefix, "token %s refresh failed: %s", t->name,
               detail ? detail : "error");
        if (!err)
            err = HD_EIO;
    }
    notify_waiters(t, err, detail);
}

struct deferred_token {
    struct token *t;
};

static void on_token_ready(evutil_socket_t fd, short what, void *arg)
{
    struct token *t = arg;
    if (!t->fetching)
        notify_waiters(t, t->value ? 0 : HD_EIO, NULL);
}

static int svc_token_get(struct hd_instance *in, const char *name, hd_token_cb *cb, void *arg)
{
    struct token *t = token_find(in, name);
    if (!t || !cb)
        return HD_EINVAL;
    struct token_waiter *w = calloc(1, sizeof(*w));
    if (!w)
        return HD_ENOMEM;
    w->cb = cb;
    w->arg = arg;
    STAILQ_INSERT_TAIL(&t->waiters, w, link);
    if (t->fetching)
        return 0; /* single flight: wait for the fetch already running */
    int fresh = t->value && hd_now_ms() < t->expires_at - t->margin_s * 1000;
    if (fresh) {
        /* never call back from inside the call: defer to the loop */
        event_base_once(in->e->base, -1, EV_TIMEOUT, on_token_ready, t, NULL);
        return 0;
    }
    t->fetching = 1;
    if (t->fetch(t->arg, token_fetched, t) != 0) {
        t->fetching = 0;
        STAILQ_REMOVE(&t->waiters, w, token_waiter, link);
        free(w);
        return HD_EIO;
    }
    return 0;
}

static void svc_token_invalidate(struct hd_instance *in, const char *name, const char *bad)
{
    struct token *t = token_find(in, name);
    if (!t || !t->value)
        return;
    if (bad && strcmp(bad, t->value) != 0)
        return; /* a fresher token is cached already */
    free(t->value);
    t->value = NULL;
    t->expires_at = 0;
}

void hd_tokens_free(struct hd_instance *in)
{
    struct token *t, *tmp;
    HASH_ITER (hh, in->tokens_cache, t, tmp) {
        HASH_DEL(in->tokens_cache, t);
        struct token_waiter *w;
        while ((w = STAILQ_FIRST(&t->waiters))) {
            STAILQ_REMOVE_HEAD(&t->waiters, link);
            free(w);
        }
        if (t->value)
            explicit_bzero(t->value, strlen(t->value));
        free(t->value);
        free(t->name);
        free(t);
    }
}

/* ---- metrics, time, remote events ------------------------------------------------------------ */

static void svc_metric_add(struct hd_instance *in, const char *name, const char *label, double v)
{
    hd_metrics_channel_add(in->conf->id, name, label, v);
}

static int svc_resolve_remote(struct hd_instance *in, const char *remote_id,
                              const struct hd_outcome *out)
{
    return hd_engine_resolve_remote(in->e, in, remote_id, out);
}

static int64_t svc_now_ms(void)
{
    return hd_now_ms();
}

static char *svc_utf8_to_gbk(const char *s, const char *replacement, size_t *out_len,
                             size_t *n_replaced)
{
    return hd_utf8_to_gbk(s, replacement, out_len, n_replaced);
}

static void svc_time_format(int64_t ms, int off_min, char *out, size_t len)
{
    time_t t = (time_t)(ms / 1000) + (time_t)off_min * 60;
    struct tm tm;
    gmtime_r(&t, &tm);
    int a = off_min < 0 ? -off_min : off_min;
    char zone[8] = "Z";
    if (off_min)
        snprintf(zone, sizeof(zone), "%c%02d:%02d", off_min < 0 ? '-' : '+', (a / 60) % 100,
                 a % 60);
    snprintf(out, len, "%04d-%02d-%02dT%02d:%02d:%02d%s", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, zone);
}

static int svc_time_offset(const char *ts)
{
    size_t n = ts ? strlen(ts) : 0;
    if (n < 6)
        return 0;
    const char *o = ts + n - 6;
    if ((o[0] != '+' && o[0] != '-') || o[3] != ':')
        return 0;
    for (int i = 1; i < 6; i++)
        if (i != 3 && (o[i] < '0' || o[i] > '9'))
            return 0;
    int m = ((o[1] - '0') * 10 + (o[2] - '0')) * 60 + (o[4] - '0') * 10 + (o[5] - '0');
    return o[0] == '-' ? -m : m;
}

void hd_services_init(struct hd_services *svc)
{
    memset(svc, 0, sizeof(*svc));
    svc->struct_size = sizeof(*svc);
    svc->abi_version = HD_ABI_VERSION;
    svc->complete = hd_op_complete;
    svc->persist = svc_persist;
    svc->conf_str = svc_conf_str;
    svc->conf_int = svc_conf_int;
    svc->conf_bool = svc_conf_bool;
    svc->conf_list = svc_conf_list;
    svc->conf_map_get = svc_conf_map_get;
    svc->conf_secret = svc_conf_secret;
    svc->instance_id = svc_instance_id;
    svc->log = svc_log;
    svc->log_enabled = svc_log_enabled;
    svc->http_request = svc_http_request;
    svc->http_cancel = hd_http_cancel;
    svc->http_header = hd_http_header;
    svc->retry_after_ms = hd_http_retry_after_ms;
    svc->timer_add = svc_timer_add;
    svc->timer_cancel = svc_timer_cancel;
    svc->now_ms = svc_now_ms;
    svc->token_register = svc_token_register;
    svc->token_get = svc_token_get;
    svc->token_invalidate = svc_token_invalidate;
    svc->metric_add = svc_metric_add;
    svc->utf8_len = hd_utf8_len;
    svc->utf8_valid = hd_utf8_valid;
    svc->utf8_truncate = hd_utf8_truncate;
    svc->html_to_text = hd_html_to_text;
    svc->utf8_to_gbk = svc_utf8_to_gbk;
    svc->hmac_sha256_hex = hd_hmac_sha256_hex;
    svc->sha256_hex = hd_sha256_hex;
    svc->sha1_hex = hd_sha1_hex;
    svc->resolve_remote = svc_resolve_remote;
    svc->quota_define = hd_quota_define;
    svc->quota_take = hd_quota_take;
    svc->quota_left = hd_quota_left;
    svc->time_format = svc_time_format;
    svc->secret_read = hd_inst_secret_read;
    svc->time_offset = svc_time_offset;
}
