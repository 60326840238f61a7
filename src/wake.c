/*
 * Time in the engine: one timer for the earliest next_at (retry due, embargo end, max_hold,
 * status poll, window end) or expires_at in the store; holds; retraction of a delivery; and what
 * a restart finds (sends that were in flight when the process died).
 */
#include "common.h"
#include "engine_int.h"

#define WAKE_BATCH 256

void hd_wake_rearm(struct hd_engine *e)
{
    int64_t a = hd_store_wake_next(e->st), b = hd_store_expiry_next(e->st);
    int64_t next = a && b ? HD_MIN(a, b) : a ? a : b;
    if (!next) {
        evtimer_del(e->wake_tmr);
        e->wake_at = 0;
        return;
    }
    if (e->wake_at == next && evtimer_pending(e->wake_tmr, NULL))
        return;
    e->wake_at = next;
    int64_t d = next - hd_now_ms();
    if (d < 0)
        d = 0;
    struct timeval tv = {(time_t)(d / 1000), (suseconds_t)((d % 1000) * 1000)};
    evtimer_add(e->wake_tmr, &tv);
}

int hd_requeue(struct hd_engine *e, struct hd_delivery *d, const char *reason)
{
    struct hd_instance *in = hd_inst_find(e, d->instance);
    d->next_at = 0;
    int rc = hd_delivery_transition(e->st, d, HD_D_PENDING, reason, NULL);
    if (rc == 0 && in) {
        hd_inst_note_state(in, HD_D_PENDING);
        hd_inst_kick(in);
    }
    hd_delivery_free(d);
    return rc;
}

int hd_engine_hold_check(struct hd_engine *e, struct hd_delivery *d, const char *interprets,
                         int64_t now)
{
    struct hd_instance *in = hd_inst_find(e, d->instance);
    int64_t max_hold = in ? in->conf->max_hold_ms : 24 * 3600 * 1000LL;
    char detail[300];
    if (d->not_before > now) {
        d->hold_kind = HD_HOLD_EMBARGO;
        d->next_at = d->not_before;
        hd_delivery_set_str(&d->reason, "embargo");
        hd_delivery_set_str(&d->detail, "held until schedule.not_before");
        return 1;
    }
    if (!d->hold_until)
        d->hold_until = (d->created_at ? d->created_at : now) + max_hold;
    if (interprets && *interprets) {
        int known = 0, routed = 0;
        /* per target: a street or board shows the interpretation only after the document */
        int delivered =
            hd_store_item_delivered_on(e->st, interprets, d->instance, d->target, &known, &routed);
        if (!delivered && !(known && !routed)) {
            if (now >= d->hold_until) {
                snprintf(detail, sizeof(detail),
                         "the interpreted document %s was not published on %s within max_hold",
                         interprets, d->instance);
                hd_delivery_set_str(&d->reason, "dependency");
                hd_delivery_set_str(&d->detail, detail);
                return -1;
            }
            d->hold_kind = HD_HOLD_INTERPRETS;
            hd_delivery_set_str(&d->hold_item, interprets);
            hd_delivery_set_str(&d->hold_instance, d->instance);
            d->next_at = d->hold_until;
            snprintf(detail, sizeof(detail), "waits for the document it interprets (%s) on %s",
                     interprets, d->instance);
            hd_delivery_set_str(&d->reason, "interprets");
            hd_delivery_set_str(&d->detail, detail);
            return 1;
        }
    }
    for (size_t i = 0; in && i < in->conf->n_depends_on; i++) {
        struct hd_delivery *dd = NULL;
        const char *dep = in->conf->depends_on[i];
        if (hd_store_dependency(e->st, d->item_id, d->version, dep, &dd) != 0 || !dd)
            continue; /* not routed to the dependency: nothing to wait for */
        enum hd_dstate ds = dd->state;
        hd_delivery_free(dd);
        if (ds == HD_D_DELIVERED)
            continue;
        if (hd_dstate_terminal(ds)) {
            snprintf(detail, sizeof(detail), "the delivery on %s it depends on ended %s", dep,
                     hd_dstate_name(ds));
            hd_delivery_set_str(&d->reason, "dependency");
            hd_delivery_set_str(&d->detail, detail);
            return -1;
        }
        if (now >= d->hold_until) {
            snprintf(detail, sizeof(detail), "%s did not deliver within max_hold", dep);
            hd_delivery_set_str(&d->reason, "dependency");
            hd_delivery_set_str(&d->detail, detail);
            return -1;
        }
        d->hold_kind = HD_HOLD_DEPENDENCY;
        hd_delivery_set_str(&d->hold_item, d->item_id);
        hd_delivery_set_str(&d->hold_instance, dep);
        d->next_at = d->hold_until;
        snprintf(detail, sizeof(detail), "waits for its delivery on %s", dep);
        hd_delivery_set_str(&d->reason, "dependency");
        hd_delivery_set_str(&d->detail, detail);
        return 1;
    }
    d->hold_kind = HD_HOLD_NONE;
    return 0;
}

int hd_engine_retract_delivery(struct hd_engine *e, struct hd_delivery *d, int64_t retract_version,
                               const char *reason)
{
    struct hd_instance *in = hd_inst_find(e, d->instance);
    enum hd_dstate to;
    const char *detail = NULL;
    switch (d->state) {
    case HD_D_PENDING:
    case HD_D_HELD:
    case HD_D_WAITING_RETRY:
    case HD_D_PARKED:
        d->next_at = 0;
        to = HD_D_SUPERSEDED;
        detail = "retracted before it was published";
        break;
    case HD_D_DELIVERED: {
        /* only what is live is withdrawn: the latest delivered version of the slot */
        struct hd_delivery probe = *d, *newer = NULL;
        probe.version = INT64_MAX;
        if (hd_store_slot_live(e->st, &probe, &newer) == 0 && newer &&
            newer->version > d->version) {
            hd_delivery_free(newer);
            return 0;
        }
        hd_delivery_free(newer);
        if (in && (in->chan->caps & HD_CAP_RETRACT)) {
            d->next_at = 0;
            d->attempts = 0;
            to = HD_D_RETRACTING;
        } else {
            d->next_at = 0;
            to = HD_D_MANUAL_ACTION;
            reason = "cannot_retract";
            detail = "the channel cannot withdraw items: withdraw it by hand";
        }
        break;
    }
    default:
        return 0; /* in flight (handled when it completes) or already terminal */
    }
    int rc = hd_delivery_transition(e->st, d, to, reason, detail);
    if (rc == 0 && in) {
        hd_inst_note_state(in, to);
        if (to == HD_D_RETRACTING)
            hd_inst_kick(in);
        if (to == HD_D_SUPERSEDED)
            hd_release_held(e, d->item_id, d->instance);
    }
    return rc;
}

static void wake_one(struct hd_engine *e, struct hd_delivery *d, int64_t now)
{
    struct hd_instance *in = hd_inst_find(e, d->instance);
    if (!in) {
        d->next_at = 0; /* an instance no longer configured: leave it for the operator */
        hd_delivery_save(e->st, d);
        return;
    }
    switch (d->state) {
    case HD_D_WAITING_RETRY:
        d->next_at = 0;
        if (hd_delivery_transition(e->st, d, HD_D_PENDING, "retry_due", NULL) == 0) {
            hd_inst_note_state(in, HD_D_PENDING);
            hd_inst_kick(in);
        }
        break;
    case HD_D_HELD: {
        char *interprets = hd_store_item_interprets(e->st, d->item_id, d->version);
        int r = hd_engine_hold_check(e, d, interprets, now);
        free(interprets);
        if (r == 0) {
            d->next_at = 0;
            if (hd_delivery_transition(e->st, d, HD_D_PENDING, "released", NULL) == 0) {
                hd_inst_note_state(in, HD_D_PENDING);
                hd_inst_kick(in);
            }
        } else if (r < 0) {
            char *reason = hd_strdup(d->reason), *detail = hd_strdup(d->detail);
            d->next_at = 0;
            if (hd_delivery_transition(e->st, d, HD_D_FAILED, reason, detail) == 0) {
                hd_inst_note_state(in, HD_D_FAILED);
                hd_release_held(e, d->item_id, d->instance);
            }
            free(reason);
            free(detail);
        } else {
            if (d->next_at <= now)
                d->next_at = now + 1000;
            hd_delivery_save(e->st, d);
        }
        break;
    }
    case HD_D_PUBLISHING:
        if (in->paused || in->parked || !in->chan->poll_status || e->draining) {
            d->next_at = now + 60000;
            hd_delivery_save(e->st, d);
            break;
        }
        d->next_at = 0;
        hd_delivery_save(e->st, d);
        hd_op_start(in, d, HD_OP_POLL);
        return; /* d was taken */
    case HD_D_RECONCILING:
    case HD_D_RETRACTING:
        d->next_at = 0; /* due: the pump picks it up */
        hd_delivery_save(e->st, d);
        hd_inst_kick(in);
        break;
    case HD_D_DELIVERED:
        d->next_at = 0;
        if ((in->chan->caps & HD_CAP_WINDOWED) && d->expires_at && d->expires_at <= now) {
            hd_engine_retract_delivery(e, d, d->version, "expired_window");
            break;
        }
        hd_delivery_save(e->st, d);
        break;
    default:
        d->next_at = 0;
        hd_delivery_save(e->st, d);
        break;
    }
    hd_delivery_free(d);
}

void hd_engine_on_wake(evutil_socket_t fd, short what, void *arg)
{
    struct hd_engine *e = arg;
    int64_t ids[WAKE_BATCH];
    int64_t now = hd_now_ms();
    e->wake_at = 0;
    int n = hd_store_wake_due(e->st, now, ids, WAKE_BATCH);
    for (int i = 0; i < n; i++) {
        struct hd_delivery *d = NULL;
        if (hd_store_delivery_get(e->st, ids[i], &d) == 0 && d)
            wake_one(e, d, now);
    }
    int m = hd_store_expired_due(e->st, now, ids, WAKE_BATCH);
    for (int i = 0; i < m; i++) {
        struct hd_delivery *d = NULL;
        if (hd_store_delivery_get(e->st, ids[i], &d) != 0 || !d)
            continue;
        struct hd_instance *in = hd_inst_find(e, d->instance);
        d->next_at = 0;
        if (hd_delivery_transition(e->st, d, HD_D_EXPIRED, "expired",
                                   "expires_at passed before delivery") == 0 &&
            in) {
            hd_inst_note_state(in, HD_D_EXPIRED);
            hd_release_held(e, d->item_id, d->instance);
        }
        hd_delivery_free(d);
    }
    hd_wake_rearm(e);
}

/* What a crash or kill left behind: sends in flight are unknown now. */
int hd_recover(struct hd_engine *e)
{
    int64_t ids[512];
    int total = 0, n;
    while ((n = hd_store_ids_in_state(e->st, NULL, HD_D_SENDING, ids, (int)HD_ARRAY_LEN(ids))) >
           0) {
        for (int i = 0; i < n; i++) {
            struct hd_delivery *d = NULL;
            if (hd_store_delivery_get(e->st, ids[i], &d) != 0 || !d)
                continue;
            struct hd_attempt a = {.delivery_id = d->id,
                                   .kind = "send",
                                   .started_at = d->updated_at,
                                   .outcome = "unknown",
                                   .reason = "restart",
                                   .message = "in flight when heraldd stopped"};
            hd_store_attempt_insert(e->st, &a);
            struct hd_instance *in = hd_inst_find(e, d->instance);
            int idem = in && (in->chan->caps & HD_CAP_IDEMPOTENT);
            d->next_at = idem ? hd_now_ms() : 0;
            hd_delivery_transition(e->st, d, idem ? HD_D_WAITING_RETRY : HD_D_RECONCILING,
                                   "unknown",
                                   idem ? "in flight at restart: resending with the same key"
                                        : "in flight at restart: checking the platform first");
            hd_delivery_free(d);
            total++;
        }
        if (n < (int)HD_ARRAY_LEN(ids))
            break;
    }
    if (total)
        hd_warn("engine: %d send(s) were in flight when heraldd last stopped: recovering them",
                total);
    /* A status poll in flight at the crash left its delivery `publishing` with no next_at
     * (wake_one clears it when the poll starts): poll it again now, or it waits forever. */
    enum { MAX_PUBLISHING = 1 << 16 };
    int64_t *pub = malloc(MAX_PUBLISHING * sizeof(*pub));
    n = pub ? hd_store_ids_in_state(e->st, NULL, HD_D_PUBLISHING, pub, MAX_PUBLISHING) : 0;
    for (int i = 0; i < n; i++) {
        struct hd_delivery *d = NULL;
        if (hd_store_delivery_get(e->st, pub[i], &d) != 0 || !d)
            continue;
        if (!d->next_at) {
            d->next_at = hd_now_ms();
            hd_delivery_save(e->st, d);
        }
        hd_delivery_free(d);
    }
    free(pub);
    return 0;
}
