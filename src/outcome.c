/*
 * Operations and their outcomes: starting an op on a delivery (revision rule, dependencies,
 * render, the send itself) and applying the one outcome the adapter reports (DESIGN.md, "Adapter
 * outcomes — the one list") to the delivery's state, its attempt log, the breaker and the queue.
 */
#include <jansson.h>

#include "common.h"
#include "engine_int.h"
#include "text.h"

#define POLL_DEFAULT_MS 30000

void hd_engine_drain_progress(struct hd_engine *e);

static const char *const outcome_names[HD_OUT_MAX] = {
    "delivered",      "accepted", "retry",   "retry_after", "refresh_credentials",
    "needs_operator", "rejected", "unknown", "cancelled"};
static const char *const kind_names[HD_OP_KIND_MAX] = {"send", "retract", "poll", "reconcile"};

static const char *outcome_name(enum hd_outcome_kind k)
{
    return (unsigned)k < HD_OUT_MAX ? outcome_names[k] : "unknown";
}

/* ---- starting ------------------------------------------------------------------------------ */

static void free_op(struct opctx *o)
{
    if (o->deadline_ev)
        event_free(o->deadline_ev);
    hd_itemcache_put(o->e, o->doc);
    free(o->payload.data);
    free(o->remote_id);
    free(o->remote_url);
    free(o->adapter_state);
    free(o->o_reason);
    free(o->o_detail);
    free(o->o_code);
    free(o->o_remote_id);
    free(o->o_url);
    free((char *)o->op.target);
    free(o);
}

static void call_adapter(struct opctx *o)
{
    struct hd_instance *in = o->inst;
    int (*fn)(void *, struct hd_op *) = NULL;
    switch (o->op.kind) {
    case HD_OP_SEND:
        fn = in->chan->send;
        break;
    case HD_OP_RETRACT:
        fn = in->chan->retract;
        break;
    case HD_OP_POLL:
        fn = in->chan->poll_status;
        break;
    case HD_OP_RECONCILE:
        fn = in->chan->reconcile;
        break;
    default:
        break;
    }
    o->in_call = 1;
    int rc = fn ? fn(in->state, &o->op) : -1;
    o->in_call = 0;
    if (rc != 0 && !o->completed) {
        /* not taken: the adapter must not complete it; we do, as a transient failure */
        struct hd_outcome out = {.kind = HD_OUT_RETRY,
                                 .reason = "adapter_refused",
                                 .detail = "the adapter did not take the operation"};
        o->e->svc.complete(&o->op, &out);
    }
}

static void on_sending_durable(void *arg, int err)
{
    struct opctx *o = arg;
    if (err) {
        struct hd_outcome out = {.kind = HD_OUT_CANCELLED,
                                 .reason = "store_failed",
                                 .detail = "the store could not record the send"};
        o->e->svc.complete(&o->op, &out);
        return;
    }
    call_adapter(o);
}

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
    struct opctx *o = arg;
    if (o->completed)
        return;
    HD_LOG(HD_LOG_WARN, o->inst->prefix,
           "operation %s on %s not completed by its deadline: cancelling it",
           kind_names[o->op.kind], o->name);
    o->cancelled_by_core = 1;
    if (o->inst->chan->cancel)
        o->inst->chan->cancel(o->inst->state, &o->op);
}

static int fail_now(struct hd_engine *e, struct hd_delivery *d, enum hd_dstate to,
                    const char *reason, const char *detail)
{
    int rc = hd_delivery_transition(e->st, d, to, reason, detail);
    struct hd_instance *in = hd_inst_find(e, d->instance);
    if (in && rc == 0)
        hd_inst_note_state(in, to);
    hd_release_held(e, d->item_id, d->instance);
    return rc;
}

/* The revision rule for a send whose slot has an earlier version live. 1: handled (do not send). */
static int revision_rule(struct hd_instance *in, struct hd_delivery *d, struct opctx *o)
{
    struct hd_engine *e = in->e;
    struct hd_delivery *live = NULL;
    if (hd_store_slot_live(e->st, d, &live) != 0 || !live)
        return 0;
    int handled = 0;
    char detail[256];
    switch (in->conf->on_revision) {
    case HD_REV_UPDATE:
        o->op.is_update = 1;
        o->remote_id = hd_strdup(live->remote_id);
        o->remote_url = hd_strdup(live->remote_url);
        break;
    case HD_REV_IGNORE:
        snprintf(detail, sizeof(detail),
                 "version %lld is live on %s and on_revision is ignore: update it by hand if "
                 "the change matters",
                 (long long)live->version, in->conf->id);
        fail_now(e, d, HD_D_MANUAL_ACTION, "revision_not_applied", detail);
        handled = 1;
        break;
    case HD_REV_RETRACT_AND_REPUBLISH:
        snprintf(detail, sizeof(detail), "version %lld replaces it", (long long)d->version);
        live->next_at = 0;
        live->attempts = 0;
        if (hd_delivery_transition(e->st, live, HD_D_RETRACTING, "revision", detail) == 0)
            hd_inst_kick(in);
        handled = 1; /* d stays pending: its slot is busy until the retraction is done */
        break;
    default:
        break;
    }
    hd_delivery_free(live);
    return handled;
}

static void fill_deps(struct hd_instance *in, struct hd_delivery *d, struct hd_dep_result *deps,
                      size_t *n, struct hd_delivery **keep)
{
    *n = 0;
    for (size_t i = 0; i < in->conf->n_depends_on && *n < 8; i++) {
        struct hd_delivery *dd = NULL;
        if (hd_store_dependency(in->e->st, d->item_id, d->version, in->conf->depends_on[i], &dd) !=
                0 ||
            !dd)
            continue;
        if (dd->state != HD_D_DELIVERED) {
            hd_delivery_free(dd);
            continue;
        }
        deps[*n] = (struct hd_dep_result){dd->instance, dd->remote_id, dd->remote_url};
        keep[(*n)++] = dd;
    }
}

/* An outcome's reason is a short code (metrics label, status event field, API filter): what an
 * adapter gives is kept to [a-z0-9_.-], 64 characters; its words belong in the detail. */
static char *reason_code(const char *r)
{
    if (!r)
        return NULL;
    char *c = hd_strndup(r, HD_MIN(strlen(r), (size_t)64));
    for (char *p = c; p && *p; p++) {
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
        else if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_' || *p == '.' ||
                   *p == '-'))
            *p = '_';
    }
    return c;
}

/* A render's one-line summary cut inside a character (%.Ns cuts bytes) is cut before it. */
static void whole_utf8(char *s)
{
    size_t n = strlen(s);
    while (n > 0 && !hd_utf8_valid(s, n))
        s[--n] = '\0';
}

int hd_op_start(struct hd_instance *in, struct hd_delivery *d, enum hd_op_kind kind)
{
    struct hd_engine *e = in->e;
    struct hd_item_error ierr;
    if (kind == HD_OP_SEND && d->expires_at && d->expires_at <= hd_now_ms()) {
        /* an item not delivered by expires_at is not delivered at all (docs/item-schema.md);
         * the expiry sweep may not have run yet, an adapter must never see it */
        int rc = fail_now(e, d, HD_D_EXPIRED, "expired", "expires_at passed before delivery");
        hd_delivery_free(d);
        return rc;
    }
    struct opctx *o = calloc(1, sizeof(*o));
    if (!o) {
        hd_delivery_free(d);
        return HD_ENOMEM;
    }
    o->e = e;
    o->inst = in;
    o->delivery_id = d->id;
    o->lane = hd_lane_get(in, d->target);
    hd_delivery_name(d, o->name, sizeof(o->name));
    hd_idempotency_key(d->item_id, d->version, in->conf->id, d->target, o->key, sizeof(o->key));
    o->doc = hd_itemcache_get(e, d->item_id, d->version, &ierr);
    if (!o->doc) {
        HD_LOG(HD_LOG_ERROR, in->prefix, "delivery %s: stored item unreadable: %s", o->name,
               ierr.detail);
        if (kind == HD_OP_SEND || kind == HD_OP_RECONCILE)
            fail_now(e, d, HD_D_FAILED, "item_unreadable", "the stored item cannot be read");
        free_op(o);
        hd_delivery_free(d);
        return HD_EIO;
    }
    o->op.struct_size = sizeof(o->op);
    o->op.kind = kind;
    o->op.delivery_id = o->name;
    o->op.idempotency_key = o->key;
    o->op.target = strdup(d->target ? d->target : "");
    o->op.item = &o->doc->view;
    o->op.attempt = d->attempts + 1;
    o->adapter_state = hd_strdup(d->adapter_state);
    o->op.adapter_state = o->adapter_state;

    if (kind == HD_OP_SEND) {
        if (revision_rule(in, d, o)) {
            free_op(o);
            hd_delivery_free(d);
            return 0;
        }
        struct hd_dep_result deps[8];
        struct hd_delivery *keep[8];
        size_t n_deps = 0;
        fill_deps(in, d, deps, &n_deps, keep);
        struct hd_render_ctx rc = {
            .struct_size = sizeof(rc),
            .instance_id = in->conf->id,
            .target = o->op.target,
            .idempotency_key = o->key,
            .deps = deps,
            .n_deps = n_deps,
            .is_update = o->op.is_update,
            .prev_remote_id = o->remote_id,
            .prev_url = o->remote_url,
        };
        char err[512] = "";
        int r = in->chan->render(in->state, &o->doc->view, &rc, &o->payload, err, sizeof(err));
        for (size_t i = 0; i < n_deps; i++)
            hd_delivery_free(keep[i]);
        if (r != HD_RENDER_OK) {
            free(o->payload.data);
            o->payload.data = NULL;
            struct hd_attempt a = {.delivery_id = d->id,
                                   .kind = "render",
                                   .started_at = hd_now_ms(),
                                   .outcome = "rejected",
                                   .reason = "render_rejected",
                                   .message = err};
            hd_store_attempt_insert(e->st, &a);
            HD_LOG(HD_LOG_WARN, in->prefix, "delivery %s: render rejected: %s", o->name, err);
            fail_now(e, d, HD_D_FAILED, "render_rejected", err[0] ? err : "render rejected");
            free_op(o);
            hd_delivery_free(d);
            return 0;
        }
        o->has_payload = 1;
        o->payload.summary[sizeof(o->payload.summary) - 1] = '\0';
        whole_utf8(o->payload.summary);
        o->op.payload = &o->payload;
        d->attempts++;
        if (hd_delivery_transition(e->st, d, HD_D_SENDING, NULL, NULL) != 0) {
            free_op(o);
            hd_delivery_free(d);
            return HD_EIO;
        }
        hd_inst_note_state(in, HD_D_SENDING);
    } else {
        o->remote_id = hd_strdup(d->remote_id);
        o->remote_url = hd_strdup(d->remote_url);
        if (kind == HD_OP_RETRACT && !in->chan->retract) {
            fail_now(e, d, HD_D_MANUAL_ACTION, "cannot_retract",
                     "the channel cannot withdraw items: withdraw it by hand");
            free_op(o);
            hd_delivery_free(d);
            return 0;
        }
        if (kind == HD_OP_RECONCILE && !in->chan->reconcile) {
            /* nothing to ask the platform: resend with the same idempotency key */
            hd_requeue(e, d, "unknown_outcome");
            free_op(o);
            return 0;
        }
    }
    o->op.remote_id = o->remote_id;
    o->op.remote_url = o->remote_url;
    int64_t timeout = in->conf->timeout_ms * 3 + 10000;
    o->op.deadline_ms = hd_now_ms() + in->conf->timeout_ms * 2;
    o->started_ms = hd_now_ms();
    o->started_mono = hd_mono_s();
    HASH_ADD(hh, e->inflight, delivery_id, sizeof(o->delivery_id), o);
    TAILQ_INSERT_TAIL(&in->ops, o, link);
    e->n_inflight++;
    in->in_flight++;
    if (o->lane && o->lane->br.state == HD_BREAKER_HALF_OPEN) {
        hd_breaker_started(&o->lane->br);
        o->probe = 1;
        in->blocked_dirty = 1;
    }
    o->deadline_ev = evtimer_new(e->base, on_deadline, o);
    struct timeval tv = {(time_t)(timeout / 1000), (suseconds_t)((timeout % 1000) * 1000)};
    evtimer_add(o->deadline_ev, &tv);
    int wait_durable = kind == HD_OP_SEND && !(in->chan->caps & HD_CAP_IDEMPOTENT);
    hd_delivery_free(d);
    if (wait_durable)
        hd_store_when_durable(e->st, on_sending_durable, o);
    else
        call_adapter(o);
    return 0;
}

/* ---- outcomes -------------------------------------------------------------------------------- */

static void record_attempt(struct opctx *o)
{
    const struct hd_outcome *out = &o->out;
    struct hd_attempt a = {
        .delivery_id = o->delivery_id,
        .kind = kind_names[o->op.kind],
        .started_at = o->started_ms,
        .duration_ms = (int64_t)((hd_mono_s() - o->started_mono) * 1000.0),
        .outcome = outcome_name(out->kind),
        .http_status = out->http_status,
        .platform_code = out->platform_code,
        .reason = out->reason,
        .message = out->detail,
        .remote_id = out->remote_id,
        .remote_url = out->url,
    };
    hd_store_attempt_insert(o->e->st, &a);
}

static int transition(struct hd_instance *in, struct hd_delivery *d, enum hd_dstate to,
                      const char *reason, const char *detail)
{
    int rc = hd_delivery_transition(in->e->st, d, to, reason, detail);
    if (rc == 0)
        hd_inst_note_state(in, to);
    return rc;
}

static int superseded_since(struct hd_engine *e, const struct hd_delivery *d)
{
    struct hd_item_head h;
    hd_store_item_head(e->st, d->item_id, &h);
    return h.max_version > d->version || h.retracted_version >= d->version;
}

static void note_latency(struct hd_instance *in, const struct hd_delivery *d)
{
    if (!d->approved_at)
        return;
    double s = (double)(hd_now_ms() - d->approved_at) / 1000.0;
    if (s < 0)
        s = 0;
    int b = 0;
    while (b < HD_LAT_BUCKETS && s > hd_latency_bounds[b])
        b++;
    in->lat_counts[b]++;
    in->lat_sum += s;
    in->lat_n++;
}

int hd_after_delivered(struct hd_engine *e, struct hd_delivery *d)
{
    struct hd_instance *in = hd_inst_find(e, d->instance);
    if (!in)
        return 0;
    note_latency(in, d);
    in->last_success_ms = hd_now_ms();
    hd_release_held(e, d->item_id, d->instance);
    /* an update replaced what was live: the older versions of the slot are superseded, so one
     * delivered row per slot says what the public sees */
    struct hd_delivery *older = NULL;
    while (hd_store_slot_live(e->st, d, &older) == 0 && older) {
        char detail[64];
        snprintf(detail, sizeof(detail), "version %lld replaced it", (long long)d->version);
        older->next_at = 0;
        int rc = hd_delivery_transition(e->st, older, HD_D_SUPERSEDED, "updated", detail);
        if (rc == 0)
            hd_inst_note_state(in, HD_D_SUPERSEDED);
        hd_delivery_free(older);
        older = NULL;
        if (rc)
            break;
    }
    struct hd_item_head h;
    hd_store_item_head(e->st, d->item_id, &h);
    if (h.retracted_version >= d->version) {
        /* the retraction arrived while this send was in flight */
        return hd_engine_retract_delivery(e, d, h.retracted_version, "retracted");
    }
    if ((in->chan->caps & HD_CAP_WINDOWED) && d->expires_at) {
        d->next_at = d->expires_at;
        hd_delivery_save(e->st, d);
        hd_engine_rearm(e);
    }
    return 0;
}

/* A transient failure of a send: retry later, or fail when attempts or age are spent. */
static void retry_later(struct hd_instance *in, struct hd_delivery *d, int64_t not_before,
                        const char *reason, const char *detail)
{
    struct hd_engine *e = in->e;
    int64_t now = hd_now_ms();
    char why[300];
    if (superseded_since(e, d)) {
        transition(in, d, HD_D_SUPERSEDED, "newer_version", "a newer version or a retraction came");
        return;
    }
    if (d->expires_at && now >= d->expires_at) {
        transition(in, d, HD_D_EXPIRED, "expired", "expires_at passed before delivery");
        hd_release_held(e, d->item_id, d->instance);
        return;
    }
    if (d->attempts >= in->conf->max_attempts) {
        snprintf(why, sizeof(why), "%d attempts; last: %s", d->attempts,
                 detail   ? detail
                 : reason ? reason
                          : "?");
        transition(in, d, HD_D_FAILED, "attempts_exhausted", why);
        hd_release_held(e, d->item_id, d->instance);
        return;
    }
    if (now - d->created_at >= in->conf->max_age_ms) {
        snprintf(why, sizeof(why), "older than max_age; last: %s",
                 detail   ? detail
                 : reason ? reason
                          : "?");
        transition(in, d, HD_D_FAILED, "max_age", why);
        hd_release_held(e, d->item_id, d->instance);
        return;
    }
    d->next_at = not_before ? not_before
                            : now + hd_backoff(in->conf->retry_base_ms, in->conf->retry_cap_ms,
                                               d->attempts, hd_random());
    in->retries++;
    transition(in, d, HD_D_WAITING_RETRY, reason, detail);
    hd_engine_rearm(e);
}

static void on_send_outcome(struct opctx *o, struct hd_delivery *d)
{
    struct hd_instance *in = o->inst;
    struct hd_engine *e = o->e;
    const struct hd_outcome *out = &o->out;
    struct refreshed *rf;
    switch (out->kind) {
    case HD_OUT_DELIVERED:
        hd_lane_success(in, o->lane, o->probe);
        hd_delivery_set_str(&d->remote_id, out->remote_id);
        hd_delivery_set_str(&d->remote_url, out->url);
        d->next_at = 0;
        if (transition(in, d, HD_D_DELIVERED, out->reason, out->detail) == 0)
            hd_after_delivered(e, d);
        break;
    case HD_OUT_ACCEPTED:
        hd_lane_success(in, o->lane, o->probe);
        hd_delivery_set_str(&d->remote_id, out->remote_id);
        d->next_at = out->at_ms > 0 ? out->at_ms : hd_now_ms() + POLL_DEFAULT_MS;
        transition(in, d, HD_D_PUBLISHING, out->reason ? out->reason : "accepted", out->detail);
        hd_engine_rearm(e);
        break;
    case HD_OUT_RETRY:
        hd_lane_failure(in, o->lane, o->probe);
        retry_later(in, d, 0, out->reason, out->detail);
        break;
    case HD_OUT_RETRY_AFTER: {
        int64_t t = out->at_ms > hd_now_ms() ? out->at_ms : hd_now_ms() + 1000;
        if (o->lane) {
            o->lane->not_before = t;
            hd_breaker_neutral(&o->lane->br);
            in->blocked_dirty = 1;
            hd_inst_kick_at(in, t);
        }
        d->attempts--; /* a rate limit is not a failed attempt */
        retry_later(in, d, t, out->reason ? out->reason : "retry_after", out->detail);
        break;
    }
    case HD_OUT_REFRESH_CREDENTIALS:
        d->attempts--;
        HASH_FIND(hh, e->refreshed, &d->id, sizeof(d->id), rf);
        if (rf) {
            HASH_DEL(e->refreshed, rf);
            free(rf);
            hd_inst_set_parked(in, 1, "credentials refused again right after a refresh");
            transition(in, d, HD_D_PARKED, "needs_operator",
                       "credentials refused again after a refresh");
            break;
        }
        rf = calloc(1, sizeof(*rf));
        if (rf) {
            rf->id = d->id;
            HASH_ADD(hh, e->refreshed, id, sizeof(rf->id), rf);
        }
        transition(in, d, HD_D_PENDING, "refresh_credentials", out->detail);
        break;
    case HD_OUT_NEEDS_OPERATOR:
        d->attempts--;
        hd_inst_set_parked(in, 1, out->detail ? out->detail : out->reason);
        transition(in, d, HD_D_PARKED, out->reason ? out->reason : "needs_operator", out->detail);
        break;
    case HD_OUT_REJECTED:
        hd_lane_success(in, o->lane, o->probe); /* the platform answered: not a breaker failure */
        transition(in, d, HD_D_FAILED, out->reason ? out->reason : "rejected", out->detail);
        hd_release_held(e, d->item_id, d->instance);
        break;
    case HD_OUT_CANCELLED:
        d->attempts--;
        if (o->lane && o->probe)
            hd_breaker_neutral(&o->lane->br);
        transition(in, d, HD_D_PENDING, "cancelled", out->detail);
        break;
    case HD_OUT_UNKNOWN:
    default:
        hd_lane_failure(in, o->lane, o->probe);
        if (in->chan->caps & HD_CAP_IDEMPOTENT) {
            /* resending with the same idempotency key is safe */
            retry_later(in, d, 0, out->reason ? out->reason : "unknown", out->detail);
        } else {
            d->next_at = 0;
            transition(in, d, HD_D_RECONCILING, out->reason ? out->reason : "unknown", out->detail);
        }
        break;
    }
    if (out->kind != HD_OUT_REFRESH_CREDENTIALS) {
        HASH_FIND(hh, e->refreshed, &d->id, sizeof(d->id), rf);
        if (rf) {
            HASH_DEL(e->refreshed, rf);
            free(rf);
        }
    }
}

static void on_retract_outcome(struct opctx *o, struct hd_delivery *d)
{
    struct hd_instance *in = o->inst;
    const struct hd_outcome *out = &o->out;
    switch (out->kind) {
    case HD_OUT_DELIVERED:
        hd_lane_success(in, o->lane, o->probe);
        d->next_at = 0;
        transition(in, d, HD_D_RETRACTED, d->reason ? d->reason : "retracted", out->detail);
        break;
    case HD_OUT_REJECTED:
    case HD_OUT_NEEDS_OPERATOR:
        d->next_at = 0;
        transition(in, d, HD_D_MANUAL_ACTION, "retract_failed",
                   out->detail ? out->detail : out->reason);
        if (out->kind == HD_OUT_NEEDS_OPERATOR)
            hd_inst_set_parked(in, 1, out->detail ? out->detail : out->reason);
        break;
    case HD_OUT_REFRESH_CREDENTIALS:
    case HD_OUT_CANCELLED:
        d->next_at = 0;
        hd_delivery_save(in->e->st, d);
        break;
    default: {
        if (out->kind != HD_OUT_RETRY_AFTER)
            hd_lane_failure(in, o->lane, o->probe);
        d->attempts++;
        if (d->attempts >= in->conf->max_attempts) {
            d->next_at = 0;
            transition(in, d, HD_D_MANUAL_ACTION, "retract_failed",
                       out->detail ? out->detail : out->reason);
            break;
        }
        d->next_at = out->kind == HD_OUT_RETRY_AFTER && out->at_ms > hd_now_ms()
                         ? out->at_ms
                         : hd_now_ms() + hd_backoff(in->conf->retry_base_ms, in->conf->retry_cap_ms,
                                                    d->attempts, hd_random());
        hd_delivery_save(in->e->st, d);
        hd_engine_rearm(in->e);
        break;
    }
    }
}

static void on_poll_outcome(struct opctx *o, struct hd_delivery *d)
{
    struct hd_instance *in = o->inst;
    const struct hd_outcome *out = &o->out;
    int64_t now = hd_now_ms();
    switch (out->kind) {
    case HD_OUT_DELIVERED:
        if (out->remote_id)
            hd_delivery_set_str(&d->remote_id, out->remote_id);
        hd_delivery_set_str(&d->remote_url, out->url);
        d->next_at = 0;
        if (transition(in, d, HD_D_DELIVERED, out->reason, out->detail) == 0)
            hd_after_delivered(in->e, d);
        return;
    case HD_OUT_REJECTED:
        d->next_at = 0;
        /* published, then deleted or banned before we learnt it (WeChat publish_status 5/6):
         * the state table's publishing -> removed_externally */
        if (out->reason && strcmp(out->reason, "removed_externally") == 0) {
            if (transition(in, d, HD_D_REMOVED_EXTERNALLY, out->reason, out->detail) == 0)
                HD_LOG(HD_LOG_ERROR, in->prefix,
                       "ALERT delivery %s:%lld removed by the platform: %s", d->item_id,
                       (long long)d->version, out->detail ? out->detail : "");
        } else {
            transition(in, d, HD_D_FAILED, out->reason ? out->reason : "rejected", out->detail);
        }
        hd_release_held(in->e, d->item_id, d->instance);
        return;
    case HD_OUT_NEEDS_OPERATOR:
        hd_inst_set_parked(in, 1, out->detail ? out->detail : out->reason);
        d->next_at = now + POLL_DEFAULT_MS;
        break;
    case HD_OUT_ACCEPTED:
        d->next_at = out->at_ms > now ? out->at_ms : now + POLL_DEFAULT_MS;
        break;
    case HD_OUT_RETRY_AFTER:
        d->next_at = out->at_ms > now ? out->at_ms : now + POLL_DEFAULT_MS;
        break;
    default:
        d->next_at = now +
                     hd_backoff(in->conf->retry_base_ms, in->conf->retry_cap_ms, 3, hd_random()) +
                     POLL_DEFAULT_MS;
        break;
    }
    hd_delivery_save(in->e->st, d);
    hd_engine_rearm(in->e);
}

static void on_reconcile_outcome(struct opctx *o, struct hd_delivery *d)
{
    struct hd_instance *in = o->inst;
    struct hd_engine *e = o->e;
    const struct hd_outcome *out = &o->out;
    switch (out->kind) {
    case HD_OUT_DELIVERED:
        hd_delivery_set_str(&d->remote_id, out->remote_id);
        hd_delivery_set_str(&d->remote_url, out->url);
        d->next_at = 0;
        if (transition(in, d, HD_D_DELIVERED, "reconciled", out->detail) == 0)
            hd_after_delivered(e, d);
        break;
    case HD_OUT_ACCEPTED:
        hd_delivery_set_str(&d->remote_id, out->remote_id);
        d->next_at = out->at_ms > 0 ? out->at_ms : hd_now_ms() + POLL_DEFAULT_MS;
        transition(in, d, HD_D_PUBLISHING, "reconciled", out->detail);
        hd_engine_rearm(e);
        break;
    case HD_OUT_RETRY: /* the platform does not have it: sending again is safe */
        if (superseded_since(e, d)) {
            transition(in, d, HD_D_SUPERSEDED, "newer_version",
                       "not on the platform, and a newer version or a retraction came");
            break;
        }
        d->next_at = 0;
        transition(in, d, HD_D_PENDING, "reconciled_absent", out->detail);
        break;
    case HD_OUT_REJECTED:
        d->next_at = 0;
        transition(in, d, HD_D_FAILED, out->reason ? out->reason : "rejected", out->detail);
        hd_release_held(e, d->item_id, d->instance);
        break;
    case HD_OUT_NEEDS_OPERATOR:
        hd_inst_set_parked(in, 1, out->detail ? out->detail : out->reason);
        transition(in, d, HD_D_PARKED, out->reason ? out->reason : "needs_operator", out->detail);
        break;
    default: /* still unknown: ask again later -- not before at_ms when the adapter names a
              * time (retry_after: a rate limit, or a platform that shows results late) */
        d->next_at = out->at_ms > hd_now_ms()
                         ? out->at_ms
                         : hd_now_ms() + hd_backoff(in->conf->retry_base_ms, in->conf->retry_cap_ms,
                                                    2, hd_random());
        hd_delivery_save(e->st, d);
        hd_engine_rearm(e);
        break;
    }
}

void hd_op_finish(struct opctx *o)
{
    struct hd_engine *e = o->e;
    struct hd_instance *in = o->inst;
    HASH_DEL(e->inflight, o);
    TAILQ_REMOVE(&in->ops, o, link);
    e->n_inflight--;
    in->in_flight--;
    if (o->probe && o->lane && o->lane->br.probe_in_flight) {
        hd_breaker_neutral(&o->lane->br); /* a probe without verdict: allow another */
        in->blocked_dirty = 1;
    }
    enum hd_outcome_kind k = (unsigned)o->out.kind < HD_OUT_MAX ? o->out.kind : HD_OUT_UNKNOWN;
    o->out.kind = k;
    in->outcomes[k]++;
    in->attempts++;
    if (k != HD_OUT_DELIVERED && k != HD_OUT_ACCEPTED && k != HD_OUT_CANCELLED) {
        in->last_error_ms = hd_now_ms();
        snprintf(in->last_error, sizeof(in->last_error), "%s: %s",
                 o->out.reason ? o->out.reason : outcome_name(k),
                 o->out.detail ? o->out.detail : "");
    }
    HD_LOG(k == HD_OUT_DELIVERED || k == HD_OUT_ACCEPTED ? HD_LOG_DEBUG : HD_LOG_INFO, in->prefix,
           "%s %s outcome=%s reason=%s http=%d detail=%s", kind_names[o->op.kind], o->name,
           outcome_name(k), o->out.reason ? o->out.reason : "-", o->out.http_status,
           o->out.detail ? o->out.detail : "-");
    record_attempt(o);
    struct hd_delivery *d = NULL;
    if (hd_store_delivery_get(e->st, o->delivery_id, &d) == 0 && d) {
        switch (o->op.kind) {
        case HD_OP_SEND:
            if (d->state == HD_D_SENDING)
                on_send_outcome(o, d);
            break;
        case HD_OP_RETRACT:
            if (d->state == HD_D_RETRACTING)
                on_retract_outcome(o, d);
            break;
        case HD_OP_POLL:
            if (d->state == HD_D_PUBLISHING)
                on_poll_outcome(o, d);
            break;
        case HD_OP_RECONCILE:
            if (d->state == HD_D_RECONCILING)
                on_reconcile_outcome(o, d);
            break;
        default:
            break;
        }
        hd_delivery_free(d);
    }
    free_op(o);
    hd_inst_apply_reload(in);
    hd_inst_kick(in);
    hd_engine_drain_progress(e);
}

void hd_engine_on_done(evutil_socket_t fd, short what, void *arg)
{
    struct hd_engine *e = arg;
    struct opctx *o;
    while ((o = TAILQ_FIRST(&e->done))) {
        TAILQ_REMOVE(&e->done, o, done_link);
        hd_op_finish(o);
    }
}

/* hd_services.complete */
void hd_op_complete(struct hd_op *op, const struct hd_outcome *out)
{
    struct opctx *o = (struct opctx *)op;
    if (!o || !out)
        return;
    if (o->completed) {
        HD_LOG(HD_LOG_ERROR, o->inst->prefix,
               "adapter bug: operation %s completed twice (second outcome %s ignored)", o->name,
               outcome_name(out->kind));
        return;
    }
    if (o->in_call)
        HD_LOG(HD_LOG_WARN, o->inst->prefix,
               "adapter bug: operation %s completed inside the call that started it", o->name);
    o->completed = 1;
    o->out = *out;
    o->o_reason = reason_code(out->reason);
    o->o_detail = hd_strdup(out->detail);
    o->o_code = hd_strdup(out->platform_code);
    o->o_remote_id = hd_strdup(out->remote_id);
    o->o_url = hd_strdup(out->url);
    o->out.reason = o->o_reason;
    o->out.detail = o->o_detail;
    o->out.platform_code = o->o_code;
    o->out.remote_id = o->o_remote_id;
    o->out.url = o->o_url;
    if (o->deadline_ev)
        evtimer_del(o->deadline_ev);
    TAILQ_INSERT_TAIL(&o->e->done, o, done_link);
    event_active(o->e->done_ev, EV_TIMEOUT, 0);
}

/* ---- held deliveries ------------------------------------------------------------------------ */

void hd_release_held(struct hd_engine *e, const char *item, const char *instance)
{
    int64_t ids[256];
    int n = hd_store_held_by(e->st, item, instance, ids, (int)HD_ARRAY_LEN(ids));
    int64_t now = hd_now_ms();
    for (int i = 0; i < n; i++) {
        struct hd_delivery *d = NULL;
        if (hd_store_delivery_get(e->st, ids[i], &d) != 0 || !d)
            continue;
        struct hd_instance *in = hd_inst_find(e, d->instance);
        char *interprets = hd_store_item_interprets(e->st, d->item_id, d->version);
        int r = hd_engine_hold_check(e, d, interprets, now);
        free(interprets);
        if (r == 0) {
            d->next_at = 0;
            if (in && transition(in, d, HD_D_PENDING, "released", NULL) == 0)
                hd_inst_kick(in);
        } else if (r < 0) {
            char *reason = hd_strdup(d->reason), *detail = hd_strdup(d->detail);
            d->next_at = 0;
            if (in && transition(in, d, HD_D_FAILED, reason, detail) == 0)
                hd_release_held(e, d->item_id, d->instance); /* its own dependents */
            free(reason);
            free(detail);
        } else {
            hd_delivery_save(e->st, d);
        }
        hd_delivery_free(d);
    }
    if (n > 0)
        hd_engine_rearm(e);
}

/* A platform event outside any op (hd_services.resolve_remote), e.g. WeChat's PUBLISHJOBFINISH. */
int hd_engine_resolve_remote(struct hd_engine *e, struct hd_instance *in, const char *remote_id,
                             const struct hd_outcome *out)
{
    struct hd_delivery *d = NULL;
    if (!remote_id || !out ||
        hd_store_delivery_by_remote(e->st, in->conf->id, remote_id, &d) != 0 || !d)
        return HD_ENOTFOUND;
    int64_t id = d->id;
    struct opctx *busy;
    HASH_FIND(hh, e->inflight, &id, sizeof(id), busy);
    int rc = 0;
    if (busy) {
        rc = HD_EBUSY; /* a poll is running: its answer will say the same */
    } else if (d->state == HD_D_PUBLISHING) {
        struct opctx tmp = {.e = e, .inst = in, .out = *out};
        tmp.op.kind = HD_OP_POLL;
        on_poll_outcome(&tmp, d);
    } else if (d->state == HD_D_DELIVERED && out->kind == HD_OUT_REJECTED && out->reason &&
               strcmp(out->reason, "removed_externally") == 0) {
        rc = transition(in, d, HD_D_REMOVED_EXTERNALLY, out->reason, out->detail);
        if (rc == 0)
            HD_LOG(HD_LOG_ERROR, in->prefix, "ALERT delivery %s:%lld removed by the platform: %s",
                   d->item_id, (long long)d->version, out->detail ? out->detail : "");
    }
    hd_delivery_free(d);
    return rc;
}
