/*
 * The engine's instances and queues (engine.h). Each instance's "pump" runs as a deferred event:
 * it asks the store for due work (retractions and reconciliations first, then pending sends by
 * priority and age), skipping blocked targets, and starts operations while the concurrency limit
 * and the token bucket allow. Outcomes come back through outcome.c; timers through wake.c.
 */
#include <math.h>
#include <sys/random.h>

#include <jansson.h>

#include "common.h"
#include "conf.h"
#include "engine_int.h"
#include "engine_limits.h"
#include "http.h"
#include "store.h"
#include "text.h"

#define PUMP_BATCH 64

const double hd_latency_bounds[HD_LAT_BUCKETS] = {0.05, 0.1, 0.25, 0.5, 1,   2.5,
                                                  5,    10,  30,   60,  300, 1800};

uint64_t hd_random(void)
{
    uint64_t r;
    if (getrandom(&r, sizeof(r), 0) != sizeof(r))
        r = (uint64_t)hd_mono_ms() * 6364136223846793005ULL + 1442695040888963407ULL;
    return r;
}

struct hd_instance *hd_inst_find(const struct hd_engine *e, const char *id)
{
    for (size_t i = 0; i < e->n_insts; i++)
        if (strcmp(e->insts[i].conf->id, id) == 0)
            return &e->insts[i];
    return NULL;
}

const struct hd_instance_conf *hd_engine_instance_conf(const struct hd_engine *e,
                                                       const char *instance)
{
    struct hd_instance *in = hd_inst_find(e, instance);
    return in ? in->conf : NULL;
}

int hd_engine_instance_can(const struct hd_engine *e, const char *instance, unsigned cap)
{
    struct hd_instance *in = hd_inst_find(e, instance);
    return in && (in->chan->caps & cap) == cap;
}

void hd_inst_note_state(struct hd_instance *in, enum hd_dstate to)
{
    if ((unsigned)to < HD_D_MAX)
        in->entered[to]++;
}

/* ---- lanes: breaker and Retry-After gate ---------------------------------------------------- */

struct lane *hd_lane_get(struct hd_instance *in, const char *target)
{
    struct lane *l;
    const char *t = target ? target : "";
    HASH_FIND_STR(in->lanes, t, l);
    if (l)
        return l;
    l = calloc(1, sizeof(*l));
    if (!l)
        return NULL;
    l->target = strdup(t);
    hd_breaker_init(&l->br, &in->brc);
    HASH_ADD_KEYPTR(hh, in->lanes, l->target, strlen(l->target), l);
    return l;
}

static int lane_blocked(struct hd_instance *in, struct lane *l, int64_t now)
{
    if (l->not_before > now)
        return 1;
    enum hd_breaker_state before = l->br.state;
    int ok = hd_breaker_allow(&l->br, now);
    if (before == HD_BREAKER_OPEN && l->br.state == HD_BREAKER_HALF_OPEN) {
        in->blocked_dirty = 1;
        hd_info("[channel:%s] breaker half-open target=%s: sending one probe", in->conf->id,
                l->target);
    }
    return !ok;
}

static void rebuild_blocked(struct hd_instance *in, int64_t now)
{
    json_t *arr = json_array();
    struct lane *l, *tmp;
    int64_t next = 0;
    HASH_ITER (hh, in->lanes, l, tmp) {
        if (lane_blocked(in, l, now)) {
            json_array_append_new(arr, json_string(l->target));
            int64_t t = l->not_before > now ? l->not_before : 0;
            if (l->br.state == HD_BREAKER_OPEN && l->br.open_until > t)
                t = l->br.open_until;
            if (t && (!next || t < next))
                next = t;
        }
    }
    free(in->blocked_json);
    in->blocked_json = json_dumps(arr, JSON_COMPACT);
    json_decref(arr);
    in->blocked_dirty = 0;
    if (next)
        hd_inst_kick_at(in, next);
}

void hd_lane_success(struct hd_instance *in, struct lane *l, int probe)
{
    if (!l)
        return;
    if (hd_breaker_success(&l->br, &in->brc)) {
        hd_info("[channel:%s] breaker closed target=%s", in->conf->id, l->target);
        in->blocked_dirty = 1;
    }
}

void hd_lane_failure(struct hd_instance *in, struct lane *l, int probe)
{
    if (!l)
        return;
    if (!hd_breaker_failure(&l->br, &in->brc, hd_now_ms()))
        return;
    in->blocked_dirty = 1;
    hd_warn("[channel:%s] breaker open target=%s after %s, next probe in %lldms", in->conf->id,
            l->target, probe ? "a failed probe" : "consecutive failures",
            (long long)l->br.reset_ms);
    hd_inst_kick_at(in, l->br.open_until);
}

void hd_lane_probe_now(struct hd_instance *in, const char *target)
{
    struct lane *l = hd_lane_get(in, target);
    if (l && l->br.state == HD_BREAKER_OPEN) {
        l->br.open_until = hd_now_ms(); /* an operator says it is fixed: probe at once */
        in->blocked_dirty = 1;
    }
}

/* ---- token bucket --------------------------------------------------------------------------- */

/* 1 when a token was taken; else 0 and the pump is re-armed for when one is due. */
static int take_token(struct hd_instance *in)
{
    int64_t wait = hd_bucket_take(&in->bucket, hd_mono_ms());
    if (wait == 0)
        return 1;
    in->rate_limited_waits++;
    hd_inst_kick_at(in, hd_now_ms() + wait);
    return 0;
}

/* ---- pumping ----------------------------------------------------------------------------------
 */

static int inst_can_dispatch(const struct hd_instance *in)
{
    const struct hd_engine *e = in->e;
    return !e->draining && !e->stopped && !in->paused && !in->parked && in->created &&
           in->conf->enabled && !in->next_conf;
}

static int in_flight_id(const struct hd_engine *e, int64_t id)
{
    struct opctx *o;
    HASH_FIND(hh, e->inflight, &id, sizeof(id), o);
    return o != NULL;
}

static void dispatch_ids(struct hd_instance *in, const int64_t *ids, int n, enum hd_op_kind kind)
{
    struct hd_engine *e = in->e;
    int64_t now = hd_now_ms();
    for (int i = 0; i < n && in->in_flight < in->conf->max_in_flight; i++) {
        if (in_flight_id(e, ids[i]))
            continue;
        struct hd_delivery *d = NULL;
        if (hd_store_delivery_get(e->st, ids[i], &d) != 0)
            continue;
        struct lane *l = hd_lane_get(in, d->target);
        if (!l || lane_blocked(in, l, now) ||
            (kind != HD_OP_SEND && hd_store_slot_busy(e->st, d))) {
            hd_delivery_free(d);
            continue;
        }
        if (!take_token(in)) {
            hd_delivery_free(d);
            return;
        }
        hd_op_start(in, d, kind); /* takes d */
    }
}

static void pump(struct hd_instance *in)
{
    struct hd_engine *e = in->e;
    int64_t ids[PUMP_BATCH];
    if (!inst_can_dispatch(in))
        return;
    int64_t now = hd_now_ms();
    /* lanes unblock with time (breaker reset, Retry-After): look at them on every pump */
    rebuild_blocked(in, now);
    for (int round = 0; round < 8 && in->in_flight < in->conf->max_in_flight; round++) {
        int free_slots = in->conf->max_in_flight - in->in_flight;
        int lim = HD_MIN(PUMP_BATCH, free_slots + in->in_flight);
        int n = hd_store_due_ops(e->st, in->conf->id, HD_D_RETRACTING, ids, lim);
        dispatch_ids(in, ids, n, HD_OP_RETRACT);
        n = hd_store_due_ops(e->st, in->conf->id, HD_D_RECONCILING, ids, lim);
        dispatch_ids(in, ids, n, HD_OP_RECONCILE);
        if (in->in_flight >= in->conf->max_in_flight)
            break;
        free_slots = in->conf->max_in_flight - in->in_flight;
        if (in->blocked_dirty)
            rebuild_blocked(in, now);
        n = hd_store_pending(e->st, in->conf->id, in->blocked_json, ids,
                             HD_MIN(PUMP_BATCH, free_slots));
        if (n <= 0)
            break;
        int before = in->in_flight;
        dispatch_ids(in, ids, n, HD_OP_SEND);
        if (in->in_flight == before)
            break; /* blocked by tokens or lanes: a timer brings us back */
    }
}

static void on_pump(evutil_socket_t fd, short what, void *arg)
{
    struct hd_instance *in = arg;
    if (what & EV_TIMEOUT)
        in->pump_at = 0;
    pump(in);
}

void hd_inst_kick(struct hd_instance *in)
{
    event_active(in->pump_ev, EV_WRITE, 0);
}

void hd_inst_kick_at(struct hd_instance *in, int64_t at_ms)
{
    int64_t now = hd_now_ms();
    if (in->pump_at && in->pump_at <= at_ms && in->pump_at > now)
        return;
    in->pump_at = at_ms;
    int64_t d = at_ms > now ? at_ms - now : 0;
    struct timeval tv = {(time_t)(d / 1000), (suseconds_t)((d % 1000) * 1000)};
    evtimer_add(in->pump_tmr, &tv);
}

void hd_engine_kick(struct hd_engine *e, const char *instance)
{
    struct hd_instance *in = hd_inst_find(e, instance);
    if (in)
        hd_inst_kick(in);
}

static void on_rearm(evutil_socket_t fd, short what, void *arg)
{
    hd_wake_rearm(arg);
}

void hd_engine_rearm(struct hd_engine *e)
{
    /* many state changes of one loop turn ask for it: look at the store once, afterwards */
    event_active(e->rearm_ev, EV_TIMEOUT, 0);
}

void hd_inst_set_parked(struct hd_instance *in, int parked, const char *reason)
{
    struct hd_instance_state st = {.paused = in->paused, .parked = parked};
    hd_strlcpy(st.reason, reason ? reason : "", sizeof(st.reason));
    in->parked = parked;
    hd_strlcpy(in->parked_reason, parked && reason ? reason : "", sizeof(in->parked_reason));
    hd_store_instance_put(in->e->st, in->conf->id, &st);
    if (parked)
        hd_err("[channel:%s] ALERT parked: an operator must act: %s", in->conf->id,
               reason ? reason : "");
}

/* ---- creation ------------------------------------------------------------------------------ */

int hd_engine_create(struct event_base *base, const struct hd_config *cfg, struct hd_store *st,
                     struct hd_http *http, struct hd_engine **out, char *err, size_t errlen)
{
    struct hd_engine *e = calloc(1, sizeof(*e));
    if (!e)
        return HD_ENOMEM;
    e->base = base;
    e->cfg = cfg;
    e->st = st;
    e->http = http;
    TAILQ_INIT(&e->done);
    TAILQ_INIT(&e->items_idle);
    hd_services_init(&e->svc);
    e->insts = calloc(cfg->n_instances + 1, sizeof(*e->insts));
    e->n_insts = cfg->n_instances;
    e->done_ev = event_new(base, -1, 0, NULL, NULL);
    e->wake_tmr = evtimer_new(base, NULL, NULL);
    e->rearm_ev = event_new(base, -1, 0, on_rearm, e);
    if (!e->insts || !e->done_ev || !e->wake_tmr || !e->rearm_ev) {
        snprintf(err, errlen, "out of memory");
        hd_engine_destroy(e);
        return HD_ENOMEM;
    }
    for (size_t i = 0; i < e->n_insts; i++) {
        struct hd_instance *in = &e->insts[i];
        in->e = e;
        in->index = i;
        in->conf = &cfg->instances[i];
        in->chan = in->conf->chan;
        hd_bucket_init(&in->bucket, in->conf->rate_per_s, in->conf->burst, hd_mono_ms());
        in->brc = (struct hd_breaker_conf){in->conf->breaker_failures, in->conf->breaker_reset_ms,
                                           in->conf->breaker_reset_max_ms};
        TAILQ_INIT(&in->ops);
        snprintf(in->prefix, sizeof(in->prefix), "channel:%s", in->conf->id);
        in->pump_ev = event_new(base, -1, 0, on_pump, in);
        in->pump_tmr = evtimer_new(base, on_pump, in);
        struct hd_instance_state is;
        hd_store_instance_get(st, in->conf->id, &is);
        in->paused = is.paused;
        in->parked = is.parked;
        hd_strlcpy(in->parked_reason, is.reason, sizeof(in->parked_reason));
        hd_inst_load_credentials(in);
    }
    *out = e;
    return 0;
}

int hd_engine_check_adapters(const struct hd_config *cfg, struct hd_diag *d)
{
    char err[512];
    int refused = 0;
    struct event_base *base = event_base_new();
    struct hd_store *st = NULL;
    struct hd_http *http = NULL;
    struct hd_engine *e = NULL;
    struct hd_store_opts so = {.path = ":memory:", .commit_interval_ms = 5};
    if (!base || hd_store_open(base, &so, &st, err, sizeof(err)) != 0 ||
        hd_http_create(base, &http) != 0 ||
        hd_engine_create(base, cfg, st, http, &e, err, sizeof(err)) != 0) {
        hd_diag_addf(d, cfg->path, 0, 0, "cannot check the channels: %s",
                     base ? err : "out of memory");
        refused = 1;
        goto out;
    }
    for (size_t i = 0; i < e->n_insts; i++) {
        struct hd_instance *in = &e->insts[i];
        char cerr[512] = "";
        if (in->chan->create(in, &e->svc, &in->state, cerr, sizeof(cerr)) != 0) {
            hd_diag_add(d, in->conf->node, "channel %s: %s", in->conf->id,
                        cerr[0] ? cerr : "create failed");
            refused++;
        } else {
            in->created = 1; /* hd_engine_destroy() destroys it */
        }
    }
out:
    hd_engine_destroy(e);
    hd_http_destroy(http);
    hd_store_close(st);
    if (base)
        event_base_free(base);
    return refused;
}

int hd_engine_start(struct hd_engine *e, char *err, size_t errlen)
{
    event_assign(e->done_ev, e->base, -1, 0, hd_engine_on_done, e);
    event_assign(e->wake_tmr, e->base, -1, 0, hd_engine_on_wake, e);
    for (size_t i = 0; i < e->n_insts; i++) {
        struct hd_instance *in = &e->insts[i];
        char cerr[512] = "";
        if (in->chan->create(in, &e->svc, &in->state, cerr, sizeof(cerr)) != 0) {
            snprintf(err, errlen, "channel %s: %s", in->conf->id, cerr[0] ? cerr : "create failed");
            return HD_EINVAL;
        }
        in->created = 1;
        if (hd_inbound_start(in, cerr, sizeof(cerr)) != 0) {
            snprintf(err, errlen, "channel %s: %s", in->conf->id, cerr);
            return HD_EIO;
        }
        if (in->paused)
            hd_warn("[channel:%s] paused by an operator (kept across restarts)", in->conf->id);
        if (in->parked)
            hd_err("[channel:%s] ALERT parked: %s", in->conf->id, in->parked_reason);
    }
    if (hd_recover(e) != 0) {
        snprintf(err, errlen, "recovering deliveries from the store failed");
        return HD_EIO;
    }
    for (size_t i = 0; i < e->n_insts; i++)
        hd_inst_kick(&e->insts[i]);
    hd_wake_rearm(e);
    return 0;
}

/* ---- reload ---------------------------------------------------------------------------------- */

void hd_inst_apply_reload(struct hd_instance *in)
{
    if (!in->next_conf || in->in_flight > 0)
        return;
    if (in->created && in->chan->destroy)
        in->chan->destroy(in->state);
    hd_inst_free_read_secrets(in); /* the destroyed adapter's; the new one reads its own */
    hd_tokens_free(in);
    in->state = NULL;
    in->created = 0;
    in->conf = in->next_conf;
    in->next_conf = NULL;
    double level = in->bucket.tokens;
    hd_bucket_init(&in->bucket, in->conf->rate_per_s, in->conf->burst, hd_mono_ms());
    in->bucket.tokens = HD_MIN(level, in->bucket.burst);
    in->brc = (struct hd_breaker_conf){in->conf->breaker_failures, in->conf->breaker_reset_ms,
                                       in->conf->breaker_reset_max_ms};
    char err[512] = "";
    if (in->chan->create(in, &in->e->svc, &in->state, err, sizeof(err)) != 0) {
        char why[600];
        snprintf(why, sizeof(why), "reload: the new settings were refused: %s", err);
        hd_inst_set_parked(in, 1, why);
        return;
    }
    in->created = 1;
    in->blocked_dirty = 1;
    hd_info("[channel:%s] new settings in force", in->conf->id);
    hd_inst_kick(in);
}

int hd_engine_reload(struct hd_engine *e, const struct hd_config *nc)
{
    if (nc->n_instances != e->n_insts) {
        hd_err("reload: the new configuration has %zu channel(s), the running one %zu: adding "
               "or removing channels needs a restart",
               nc->n_instances, e->n_insts);
        return HD_EINVAL;
    }
    for (size_t i = 0; i < e->n_insts; i++) {
        const struct hd_instance_conf *ic = hd_config_instance(nc, e->insts[i].conf->id);
        if (!ic || ic->chan != e->insts[i].chan) {
            hd_err("reload: channel %s is missing or changed adapter: that needs a restart",
                   e->insts[i].conf->id);
            return HD_EINVAL;
        }
    }
    e->cfg = nc;
    for (size_t i = 0; i < e->n_insts; i++) {
        struct hd_instance *in = &e->insts[i];
        in->next_conf = hd_config_instance(nc, in->conf->id);
        hd_inst_apply_reload(in);
    }
    hd_info("reload: channel settings of %zu instance(s) taken", e->n_insts);
    return 0;
}

/* ---- draining and teardown --------------------------------------------------------------- */

static void drain_check(struct hd_engine *e)
{
    if (!e->draining || !e->drained_cb || e->n_inflight > 0)
        return;
    hd_drained_cb *cb = e->drained_cb;
    e->drained_cb = NULL;
    if (e->drain_tmr)
        evtimer_del(e->drain_tmr);
    cb(e->drained_arg);
}

static void on_drain_timeout(evutil_socket_t fd, short what, void *arg)
{
    struct hd_engine *e = arg;
    struct opctx *o, *tmp;
    hd_warn("engine: drain timeout with %zu operation(s) in flight: cancelling them",
            e->n_inflight);
    HASH_ITER (hh, e->inflight, o, tmp) {
        if (o->completed || o->cancelled_by_core)
            continue;
        o->cancelled_by_core = 1;
        if (o->inst->chan->cancel)
            o->inst->chan->cancel(o->inst->state, &o->op);
    }
    /* whatever has not completed after one more loop turn is recorded as unknown */
    e->stopped = 1;
}

void hd_engine_drain(struct hd_engine *e, int64_t timeout_ms, hd_drained_cb *done, void *arg)
{
    e->draining = 1;
    e->drained_cb = done;
    e->drained_arg = arg;
    if (!e->drain_tmr)
        e->drain_tmr = evtimer_new(e->base, on_drain_timeout, e);
    struct timeval tv = {(time_t)(timeout_ms / 1000), (suseconds_t)((timeout_ms % 1000) * 1000)};
    evtimer_add(e->drain_tmr, &tv);
    hd_info("engine: draining %zu operation(s) in flight (up to %lldms)", e->n_inflight,
            (long long)timeout_ms);
    drain_check(e);
}

void hd_engine_drain_progress(struct hd_engine *e)
{
    drain_check(e);
}

void hd_engine_destroy(struct hd_engine *e)
{
    if (!e)
        return;
    /* ops an adapter never completed: record them as unknown, then forget them */
    struct opctx *o, *tmp;
    HASH_ITER (hh, e->inflight, o, tmp) {
        if (!o->completed) {
            o->out.kind = HD_OUT_UNKNOWN;
            o->out.reason = "shutdown";
            o->out.detail = "still in flight at shutdown";
            o->completed = 1;
        }
    }
    for (size_t i = 0; e->insts && i < e->n_insts; i++) {
        struct hd_instance *in = &e->insts[i];
        hd_inbound_stop(in);
        if (in->created && in->chan->destroy)
            in->chan->destroy(in->state);
        struct lane *l, *lt;
        HASH_ITER (hh, in->lanes, l, lt) {
            HASH_DEL(in->lanes, l);
            free(l->target);
            free(l);
        }
        hd_tokens_free(in);
        hd_quotas_free(in);
        hd_inst_free_credentials(in);
        free(in->blocked_json);
        if (in->pump_ev)
            event_free(in->pump_ev);
        if (in->pump_tmr)
            event_free(in->pump_tmr);
    }
    free(e->insts);
    hd_itemcache_clear(e);
    struct refreshed *r, *rt;
    HASH_ITER (hh, e->refreshed, r, rt) {
        HASH_DEL(e->refreshed, r);
        free(r);
    }
    if (e->done_ev)
        event_free(e->done_ev);
    if (e->wake_tmr)
        event_free(e->wake_tmr);
    if (e->rearm_ev)
        event_free(e->rearm_ev);
    if (e->drain_tmr)
        event_free(e->drain_tmr);
    free(e);
}

/* ---- views ---------------------------------------------------------------------------------- */

size_t hd_engine_instances(const struct hd_engine *e)
{
    return e->n_insts;
}

size_t hd_engine_in_flight(const struct hd_engine *e)
{
    return e->n_inflight;
}

void hd_engine_instance_view(const struct hd_engine *e, size_t i, struct hd_instance_view *v)
{
    struct hd_instance *in = &e->insts[i];
    memset(v, 0, sizeof(*v));
    v->id = in->conf->id;
    v->adapter = in->conf->adapter;
    v->paused = in->paused;
    v->parked = in->parked;
    v->parked_reason = in->parked_reason;
    v->in_flight = in->in_flight;
    v->max_in_flight = in->conf->max_in_flight;
    v->tokens = hd_bucket_level(&in->bucket, hd_mono_ms());
    v->rate_per_s = in->conf->rate_per_s;
    v->breaker = "closed";
    struct lane *l, *tmp;
    int64_t now = hd_now_ms();
    HASH_ITER (hh, in->lanes, l, tmp) {
        v->lanes++;
        if (l->br.state == HD_BREAKER_OPEN && now < l->br.open_until) {
            v->lanes_open++;
            v->breaker = "open";
        } else if (l->br.state != HD_BREAKER_CLOSED && strcmp(v->breaker, "open") != 0) {
            v->breaker = "half_open";
        }
    }
    v->last_success_ms = in->last_success_ms;
    v->last_error_ms = in->last_error_ms;
    v->last_error = in->last_error;
    for (int k = 0; k < HD_OUT_MAX && k < 16; k++)
        v->outcomes[k] = in->outcomes[k];
    v->attempts = in->attempts;
    v->retries = in->retries;
    v->rate_limited_waits = in->rate_limited_waits;
    memcpy(v->terminal, in->entered, sizeof(v->terminal));
}

void hd_engine_latency(const struct hd_engine *e, size_t i, uint64_t counts[HD_LAT_BUCKETS + 1],
                       double *sum, uint64_t *n)
{
    const struct hd_instance *in = &e->insts[i];
    memcpy(counts, in->lat_counts, sizeof(in->lat_counts));
    *sum = in->lat_sum;
    *n = in->lat_n;
}
