/*
 * The kit's minimal core (kit.h): an event loop, the daemon's HTTP client, a throwaway store in a
 * temporary directory (quotas, durability callbacks) and the real services table of
 * src/services.c, lent to the adapter with a few entries wrapped. complete() and persist()
 * record instead of driving the engine; the asynchronous services (HTTP, timers, tokens,
 * persist) count what is outstanding, so the kit can wait until nothing can still complete an
 * op; every wrapper notes a contract breach (a second completion, a completion from inside the
 * call, a service called from render() or after destroy(), cancelling a finished call) instead
 * of crashing where the daemon would.
 */
#include <stdarg.h>
#include <time.h>

#include <event2/event.h>

#include "common.h"
#include "config.h"
#include "delivery.h"
#include "engine_int.h"
#include "http.h"
#include "item.h"
#include "kit.h"
#include "store.h"

struct kit *K;

/* ---- contract breaches ------------------------------------------------------------------------
 */

static void vadd(char (*list)[200], int *n, const char *fmt, va_list ap)
{
    char msg[200];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    for (int i = 0; i < *n; i++)
        if (!strcmp(list[i], msg))
            return; /* once is enough */
    if (*n >= KIT_MAX_VIOLATIONS)
        return;
    memcpy(list[*n], msg, sizeof(msg));
    (*n)++;
}

void kit_violation(struct kit_op *o, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (o)
        vadd(o->violations, &o->n_violations, fmt, ap);
    else
        vadd(K->violations, &K->n_violations, fmt, ap);
    va_end(ap);
}

int kit_take_violations(char *out, size_t len)
{
    int n = K->n_violations;
    size_t used = 0;
    out[0] = '\0';
    for (int i = 0; i < n && used < len; i++)
        used += (size_t)snprintf(out + used, len - used, "%s%s", i ? "; " : "", K->violations[i]);
    K->n_violations = 0;
    return n;
}

static struct kit_op *find_op(const struct hd_op *op)
{
    for (struct kit_op *o = K->ops; o; o = o->next_all)
        if (&o->op == op)
            return o;
    return NULL;
}

static struct kit_inst *insts[8];
static size_t n_insts;

/* The kit's instance for `in`; notes a call made after destroy(). */
static struct kit_inst *inst_of(struct hd_instance *in, const char *service)
{
    for (size_t i = 0; i < n_insts; i++)
        if (insts[i]->in == in) {
            if (insts[i]->destroyed)
                kit_violation(NULL, "%s() called after destroy()", service);
            return insts[i];
        }
    kit_violation(NULL, "%s() called with an instance the core never created", service);
    return NULL;
}

static int render_guard(const char *service)
{
    if (K->in_render)
        kit_violation(NULL, "render() called %s(): render must be pure", service);
    return K->in_render;
}

/* ---- complete, persist --------------------------------------------------------------------- */

static void w_complete(struct hd_op *op, const struct hd_outcome *out)
{
    struct kit_op *o = find_op(op);
    if (!o) {
        kit_violation(NULL, "complete() with an op pointer the core never handed out");
        return;
    }
    o->completions++;
    if (o->completions > 1) {
        kit_violation(o, "completed %d times (second outcome %s)", o->completions,
                      out ? kit_outcome_name(out->kind) : "NULL");
        return;
    }
    o->completed_ms = hd_mono_ms();
    if (o->in_call)
        kit_violation(o, "completed from inside the call that took the op");
    if (K->in_render)
        kit_violation(o, "completed from inside render()");
    if (o->ki && o->ki->destroyed)
        kit_violation(o, "completed after destroy()");
    if (!out) {
        kit_violation(o, "complete() with a NULL outcome");
        o->out.kind = HD_OUT_UNKNOWN;
        return;
    }
    o->out = *out;
    o->o_reason = hd_strdup(out->reason);
    o->o_detail = hd_strdup(out->detail);
    o->o_code = hd_strdup(out->platform_code);
    o->o_remote_id = hd_strdup(out->remote_id);
    o->o_url = hd_strdup(out->url);
    o->out.reason = o->o_reason;
    o->out.detail = o->o_detail;
    o->out.platform_code = o->o_code;
    o->out.remote_id = o->o_remote_id;
    o->out.url = o->o_url;
}

struct kpersist {
    struct kit_op *o;
    hd_persist_cb *done;
    void *arg;
};

static void on_durable(void *arg, int err)
{
    struct kpersist *p = arg;
    K->persists_out--;
    p->done(p->arg, err);
    free(p);
}

static int w_persist(struct hd_op *op, const char *state_json, hd_persist_cb *done, void *arg)
{
    struct kit_op *o = find_op(op);
    render_guard("persist");
    if (!o) {
        kit_violation(NULL, "persist() with an op pointer the core never handed out");
        return HD_EINVAL;
    }
    if (o->completions > 0) {
        kit_violation(o, "persist() after the op completed");
        return HD_EINVAL;
    }
    if (!done || !state_json) {
        kit_violation(o, "persist() without state or callback");
        return HD_EINVAL;
    }
    json_error_t je;
    json_t *j = json_loads(state_json, JSON_DECODE_ANY, &je);
    if (!j)
        kit_violation(o, "persist() state is not JSON: %s", je.text);
    json_decref(j);
    struct kpersist *p = calloc(1, sizeof(*p));
    char *copy = strdup(state_json);
    if (!p || !copy) {
        free(p);
        free(copy);
        return HD_ENOMEM;
    }
    free(o->state_json);
    o->state_json = copy;
    o->op.adapter_state = o->state_json;
    p->o = o;
    p->done = done;
    p->arg = arg;
    K->persists_out++;
    hd_store_when_durable(K->st, on_durable, p);
    return 0;
}

/* ---- HTTP --------------------------------------------------------------------------------------
 */

struct kcall {
    hd_http_cb *cb;
    void *arg;
    struct hd_http_call *real;
    int done;
    struct kcall *next;
};
static struct kcall *calls;

static void on_http(void *arg, const struct hd_http_resp *resp)
{
    struct kcall *c = arg;
    c->done = 1;
    K->http_out--;
    c->cb(c->arg, resp);
}

static int w_http_request(struct hd_instance *in, const struct hd_http_req *req, hd_http_cb *cb,
                          void *arg, struct hd_http_call **call)
{
    if (render_guard("http_request") || !inst_of(in, "http_request"))
        return HD_EINVAL;
    if (!req || !cb) {
        kit_violation(NULL, "http_request() without request or callback");
        return HD_EINVAL;
    }
    struct kcall *c = calloc(1, sizeof(*c));
    if (!c)
        return HD_ENOMEM;
    c->cb = cb;
    c->arg = arg;
    int rc = K->real.http_request(in, req, on_http, c, &c->real);
    if (rc != 0) {
        free(c);
        return rc;
    }
    c->next = calls;
    calls = c;
    K->http_out++;
    if (call)
        *call = c->real;
    return 0;
}

static void w_http_cancel(struct hd_http_call *call)
{
    for (struct kcall *c = calls; c; c = c->next)
        if (c->real == call && !c->done) {
            K->real.http_cancel(call);
            return;
        }
    kit_violation(NULL, "http_cancel() on a call whose callback already ran (a use after free "
                        "in heraldd)");
}

/* ---- timers, tokens ---------------------------------------------------------------------- */

struct ktimer {
    hd_timer_cb *cb;
    void *arg;
    struct hd_timer *real;
    int armed;
    struct ktimer *next;
};
static struct ktimer *timers;

static void on_timer(void *arg)
{
    struct ktimer *t = arg;
    t->armed = 0;
    K->timers_out--;
    t->cb(t->arg);
}

static struct hd_timer *w_timer_add(struct hd_instance *in, int64_t delay_ms, hd_timer_cb *cb,
                                    void *arg)
{
    if (render_guard("timer_add") || !inst_of(in, "timer_add") || !cb)
        return NULL;
    struct ktimer *t = calloc(1, sizeof(*t));
    if (!t)
        return NULL;
    t->cb = cb;
    t->arg = arg;
    t->real = K->real.timer_add(in, delay_ms, on_timer, t);
    if (!t->real) {
        free(t);
        return NULL;
    }
    t->armed = 1;
    t->next = timers;
    timers = t;
    K->timers_out++;
    return (struct hd_timer *)t;
}

static void w_timer_cancel(struct hd_timer *handle)
{
    if (!handle)
        return;
    for (struct ktimer *t = timers; t; t = t->next)
        if ((struct hd_timer *)t == handle) {
            if (!t->armed) {
                kit_violation(NULL, "timer_cancel() on a timer that already fired or was "
                                    "cancelled (a use after free in heraldd)");
                return;
            }
            K->real.timer_cancel(t->real);
            t->armed = 0;
            K->timers_out--;
            return;
        }
    kit_violation(NULL, "timer_cancel() with a pointer timer_add() never returned");
}

struct ktoken {
    hd_token_cb *cb;
    void *arg;
};

static void on_token(void *arg, int err, const char *token, const char *detail)
{
    struct ktoken *t = arg;
    K->tokens_out--;
    t->cb(t->arg, err, token, detail);
    free(t);
}

static int w_token_get(struct hd_instance *in, const char *name, hd_token_cb *cb, void *arg)
{
    if (render_guard("token_get") || !inst_of(in, "token_get"))
        return HD_EINVAL;
    struct ktoken *t = calloc(1, sizeof(*t));
    if (!t)
        return HD_ENOMEM;
    t->cb = cb;
    t->arg = arg;
    K->tokens_out++;
    int rc = K->real.token_get(in, name, on_token, t);
    if (rc != 0) {
        K->tokens_out--;
        free(t);
    }
    return rc;
}

static int w_token_register(struct hd_instance *in, const char *name, hd_token_fetch_fn *fetch,
                            void *arg, int64_t margin_s)
{
    if (render_guard("token_register") || !inst_of(in, "token_register"))
        return HD_EINVAL;
    return K->real.token_register(in, name, fetch, arg, margin_s);
}

/* ---- the rest that must not run in render() -------------------------------------------------- */

static int64_t w_now_ms(void)
{
    render_guard("now_ms");
    return hd_now_ms();
}

static int w_quota_take(struct hd_instance *in, const char *name, int64_t n, int64_t *next_ms)
{
    if (render_guard("quota_take") || !inst_of(in, "quota_take"))
        return HD_EINVAL;
    return K->real.quota_take(in, name, n, next_ms);
}

static int w_quota_define(struct hd_instance *in, const char *name, int64_t limit,
                          int64_t window_ms)
{
    if (render_guard("quota_define") || !inst_of(in, "quota_define"))
        return HD_EINVAL;
    return K->real.quota_define(in, name, limit, window_ms);
}

static int w_resolve_remote(struct hd_instance *in, const char *remote_id,
                            const struct hd_outcome *out)
{
    render_guard("resolve_remote");
    inst_of(in, "resolve_remote");
    return HD_ENOTFOUND; /* the kit has no deliveries outside its ops */
}

/* ---- set-up ---------------------------------------------------------------------------------- */

int kit_host_init(struct kit *k, char *err, size_t errlen)
{
    K = k;
    k->base = event_base_new();
    if (!k->base) {
        snprintf(err, errlen, "cannot create the event loop");
        return HD_EIO;
    }
    snprintf(k->tmp, sizeof(k->tmp), "%s/herald-conformance-XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(k->tmp)) {
        snprintf(err, errlen, "cannot create a temporary directory: %s", strerror(errno));
        return HD_EIO;
    }
    char db[400];
    snprintf(db, sizeof(db), "%s/herald.db", k->tmp);
    struct hd_store_opts so = {.path = db, .commit_interval_ms = 2, .sync_full = 0};
    if (hd_store_open(k->base, &so, &k->st, err, errlen) != 0)
        return HD_EIO;
    if (hd_http_create(k->base, &k->http) != 0) {
        snprintf(err, errlen, "cannot create the HTTP client");
        return HD_EIO;
    }
    hd_services_init(&k->real);
    k->svc = k->real;
    k->svc.complete = w_complete;
    k->svc.persist = w_persist;
    k->svc.http_request = w_http_request;
    k->svc.http_cancel = w_http_cancel;
    k->svc.timer_add = w_timer_add;
    k->svc.timer_cancel = w_timer_cancel;
    k->svc.token_get = w_token_get;
    k->svc.token_register = w_token_register;
    k->svc.now_ms = w_now_ms;
    k->svc.quota_take = w_quota_take;
    k->svc.quota_define = w_quota_define;
    k->svc.resolve_remote = w_resolve_remote;
    struct hd_engine *e = calloc(1, sizeof(*e));
    if (!e) {
        snprintf(err, errlen, "out of memory");
        return HD_ENOMEM;
    }
    e->base = k->base;
    e->st = k->st;
    e->http = k->http;
    e->svc = k->real;
    k->eng = e;
    return 0;
}

int kit_inst_create(struct kit *k, struct kit_inst *ki, char *err, size_t errlen)
{
    struct hd_engine *e = k->eng;
    e->cfg = k->cfg;
    struct hd_instance *in = calloc(1, sizeof(*in));
    if (!in || n_insts >= HD_ARRAY_LEN(insts)) {
        free(in);
        snprintf(err, errlen, "out of memory");
        return HD_ENOMEM;
    }
    in->e = e;
    in->conf = &k->cfg->instances[0];
    in->chan = k->chan;
    snprintf(in->prefix, sizeof(in->prefix), "[conformance:%s]", in->conf->id);
    TAILQ_INIT(&in->ops);
    memset(ki, 0, sizeof(*ki));
    ki->in = in;
    insts[n_insts++] = ki;
    err[0] = '\0';
    int rc = k->chan->create(in, &k->svc, &ki->state, err, errlen);
    if (rc != 0) {
        if (!err[0])
            snprintf(err, errlen, "create() returned %d without a reason", rc);
        ki->destroyed = 1; /* nothing to destroy: any later call is a breach */
        return HD_EINVAL;
    }
    ki->created = 1;
    return 0;
}

void kit_inst_destroy(struct kit *k, struct kit_inst *ki)
{
    if (!ki->created || ki->destroyed)
        return;
    if (k->chan->destroy)
        k->chan->destroy(ki->state);
    ki->destroyed = 1;
}

static void free_inst(struct hd_instance *in)
{
    hd_inst_free_credentials(in); /* and what secret_read() read, wiped */
    hd_tokens_free(in);
    hd_quotas_free(in);
    free(in);
}

void kit_host_free(struct kit *k)
{
    for (size_t i = 0; i < n_insts; i++)
        kit_inst_destroy(k, insts[i]);
    /* the loop no longer runs: drop what is left without calling back (as heraldd's exit) */
    hd_http_destroy(k->http);
    for (struct ktimer *t = timers, *next; t; t = next) {
        next = t->next;
        if (t->armed)
            k->real.timer_cancel(t->real);
        free(t);
    }
    for (struct kcall *c = calls, *next; c; c = next) {
        next = c->next;
        free(c);
    }
    for (size_t i = 0; i < n_insts; i++)
        free_inst(insts[i]->in);
    for (struct kit_op *o = k->ops, *next; o; o = next) {
        next = o->next_all;
        free(o->o_reason);
        free(o->o_detail);
        free(o->o_code);
        free(o->o_remote_id);
        free(o->o_url);
        free(o->key);
        free(o->delivery_id);
        free(o->target);
        free(o->remote_id);
        free(o->remote_url);
        free(o->state_json);
        free(o->payload.data);
        hd_item_destroy(o->doc);
        free(o);
    }
    hd_store_close(k->st);
    free(k->eng);
    if (k->base)
        event_base_free(k->base);
}

/* ---- running ------------------------------------------------------------------------------- */

static void on_expire(evutil_socket_t fd, short what, void *arg)
{
    *(int *)arg = 1;
}

int kit_run_until(int (*done)(void *arg), void *arg, int64_t timeout_ms)
{
    int expired = 0;
    struct event *t = evtimer_new(K->base, on_expire, &expired);
    struct timeval tv = {(time_t)(timeout_ms / 1000), (suseconds_t)((timeout_ms % 1000) * 1000)};
    evtimer_add(t, &tv);
    while (!done(arg) && !expired)
        event_base_loop(K->base, EVLOOP_ONCE);
    event_free(t);
    return done(arg);
}

int kit_quiet(void *arg)
{
    return K->http_out == 0 && K->persists_out == 0 && K->tokens_out == 0;
}

/* ---- ops ---------------------------------------------------------------------------------------
 */

static const char *const outcome_names[HD_OUT_MAX] = {
    "delivered",      "accepted", "retry",   "retry_after", "refresh_credentials",
    "needs_operator", "rejected", "unknown", "cancelled"};

const char *kit_outcome_name(enum hd_outcome_kind k)
{
    return (unsigned)k < HD_OUT_MAX ? outcome_names[k] : "(not an outcome)";
}

struct kit_op *kit_op_new(struct kit_inst *ki, enum hd_op_kind kind, struct hd_item_doc *doc,
                          const char *target, const char *key_suffix)
{
    struct kit_op *o = calloc(1, sizeof(*o));
    if (!o)
        return NULL;
    const char *inst = ki->in->conf->id;
    const struct hd_item *it = &doc->view;
    char key[400], name[600];
    hd_idempotency_key(it->id, it->version, inst, target && *target ? target : NULL, key,
                       sizeof(key));
    if (target && *target)
        snprintf(name, sizeof(name), "%s:%lld:%s:%s", it->id, (long long)it->version, inst, target);
    else
        snprintf(name, sizeof(name), "%s:%lld:%s", it->id, (long long)it->version, inst);
    o->key = hd_asprintf("%s%s", key, key_suffix ? key_suffix : "");
    o->delivery_id = strdup(name);
    o->target = strdup(target ? target : "");
    o->doc = doc;
    o->ki = ki;
    o->op.struct_size = sizeof(o->op);
    o->op.kind = kind;
    o->op.delivery_id = o->delivery_id;
    o->op.idempotency_key = o->key;
    o->op.target = o->target;
    o->op.item = it;
    o->op.attempt = 1;
    o->op.deadline_ms = hd_now_ms() + ki->in->conf->timeout_ms * 2;
    o->next_all = K->ops;
    K->ops = o;
    return o;
}

int kit_op_call(struct kit_op *o)
{
    const struct hd_channel *c = K->chan;
    int (*fn)(void *, struct hd_op *) = NULL;
    switch (o->op.kind) {
    case HD_OP_SEND:
        fn = c->send;
        break;
    case HD_OP_RETRACT:
        fn = c->retract;
        break;
    case HD_OP_POLL:
        fn = c->poll_status;
        break;
    case HD_OP_RECONCILE:
        fn = c->reconcile;
        break;
    default:
        break;
    }
    if (!fn)
        return HD_EINVAL;
    o->started_ms = hd_mono_ms();
    o->in_call = 1;
    int rc = fn(o->ki->state, &o->op);
    o->in_call = 0;
    o->taken = rc == 0;
    if (rc != 0 && o->completions > 0)
        kit_violation(o, "returned %d (not taken) but completed the op", rc);
    return rc;
}

void kit_op_cancel(struct kit_op *o)
{
    if (o->completions > 0 || o->cancel_called || !K->chan->cancel)
        return;
    o->cancel_called = 1;
    o->cancelled_ms = hd_mono_ms();
    K->chan->cancel(o->ki->state, &o->op);
}

int kit_op_done(void *op)
{
    return ((struct kit_op *)op)->completions > 0;
}

int kit_render(struct kit_inst *ki, const struct hd_item *item, const struct hd_render_ctx *rc,
               struct hd_payload *out, char *err, size_t errlen)
{
    K->in_render = 1;
    int r = K->chan->render(ki->state, item, rc, out, err, errlen);
    K->in_render = 0;
    return r;
}
