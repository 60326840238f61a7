/*
 * Operator actions on deliveries and instances (admin API, heraldctl). Each one checks that the
 * delivery's state allows it, changes state through the state table, and writes the audit log
 * (who, what, reason) in the same store batch.
 */
#include "common.h"
#include "engine_int.h"

static int load(struct hd_engine *e, int64_t id, struct hd_delivery **d)
{
    int rc = hd_store_delivery_get(e->st, id, d);
    return rc == 0 && *d ? 0 : HD_ENOTFOUND;
}

int hd_engine_retry(struct hd_engine *e, int64_t id, const char *who, const char *reason)
{
    struct hd_delivery *d;
    if (load(e, id, &d))
        return HD_ENOTFOUND;
    struct hd_instance *in = hd_inst_find(e, d->instance);
    int rc = HD_ESTATE;
    switch (d->state) {
    case HD_D_FAILED:
    case HD_D_EXPIRED:
    case HD_D_CANCELLED:
    case HD_D_MANUAL_ACTION:
    case HD_D_WAITING_RETRY:
    case HD_D_PARKED:
        if (!in)
            break;
        d->attempts = 0;
        d->next_at = 0;
        d->created_at = hd_now_ms(); /* a new max_age window */
        rc = hd_delivery_transition(e->st, d, HD_D_PENDING, "operator_retry", reason);
        if (rc == 0) {
            hd_inst_note_state(in, HD_D_PENDING);
            hd_store_audit(e->st, who, "retry", d->item_id, d->id, d->instance, reason);
            hd_lane_probe_now(in, d->target);
            hd_inst_kick(in);
        }
        break;
    default:
        break;
    }
    hd_delivery_free(d);
    return rc;
}

int hd_engine_retry_failed(struct hd_engine *e, const char *instance, const char *who,
                           const char *reason, int *count)
{
    int64_t ids[512];
    int n, total = 0;
    *count = 0;
    if (!hd_inst_find(e, instance))
        return HD_ENOTFOUND;
    do {
        n = hd_store_ids_in_state(e->st, instance, HD_D_FAILED, ids, 512);
        for (int i = 0; i < n; i++)
            if (hd_engine_retry(e, ids[i], who, reason) == 0)
                total++;
    } while (n == 512);
    *count = total;
    return 0;
}

int hd_engine_cancel(struct hd_engine *e, int64_t id, const char *who, const char *reason)
{
    struct hd_delivery *d;
    if (load(e, id, &d))
        return HD_ENOTFOUND;
    int rc = HD_ESTATE;
    switch (d->state) {
    case HD_D_PENDING:
    case HD_D_HELD:
    case HD_D_WAITING_RETRY:
    case HD_D_PARKED:
    case HD_D_FAILED:
    case HD_D_MANUAL_ACTION:
        d->next_at = 0;
        rc = hd_delivery_transition(e->st, d, HD_D_CANCELLED, "operator_cancel", reason);
        if (rc == 0) {
            struct hd_instance *in = hd_inst_find(e, d->instance);
            if (in)
                hd_inst_note_state(in, HD_D_CANCELLED);
            hd_store_audit(e->st, who, "cancel", d->item_id, d->id, d->instance, reason);
            hd_release_held(e, d->item_id, d->instance);
        }
        break;
    default:
        break; /* in flight or done: nothing to cancel */
    }
    hd_delivery_free(d);
    return rc;
}

int hd_engine_release(struct hd_engine *e, int64_t id, const char *who, const char *reason)
{
    struct hd_delivery *d;
    if (load(e, id, &d))
        return HD_ENOTFOUND;
    int rc = HD_ESTATE;
    struct hd_instance *in = hd_inst_find(e, d->instance);
    if (d->state == HD_D_HELD && in) {
        d->next_at = 0;
        d->not_before = 0;
        rc = hd_delivery_transition(e->st, d, HD_D_PENDING, "operator_release", reason);
        if (rc == 0) {
            hd_inst_note_state(in, HD_D_PENDING);
            hd_store_audit(e->st, who, "release", d->item_id, d->id, d->instance, reason);
            hd_inst_kick(in);
        }
    }
    hd_delivery_free(d);
    return rc;
}

int hd_engine_resolve_manual(struct hd_engine *e, int64_t id, const char *who, const char *reason)
{
    struct hd_delivery *d;
    if (load(e, id, &d))
        return HD_ENOTFOUND;
    int rc = HD_ESTATE;
    if (d->state == HD_D_MANUAL_ACTION) {
        enum hd_dstate to = d->reason && strcmp(d->reason, "revision_not_applied") == 0
                                ? HD_D_CANCELLED
                                : HD_D_RETRACTED;
        rc = hd_delivery_transition(e->st, d, to, "operator_resolved", reason);
        if (rc == 0)
            hd_store_audit(e->st, who, "resolve", d->item_id, d->id, d->instance, reason);
    }
    hd_delivery_free(d);
    return rc;
}

int hd_engine_pause(struct hd_engine *e, const char *instance, int pause, const char *who,
                    const char *reason)
{
    struct hd_instance *in = hd_inst_find(e, instance);
    if (!in)
        return HD_ENOTFOUND;
    in->paused = pause;
    struct hd_instance_state st = {.paused = pause, .parked = in->parked};
    hd_strlcpy(st.reason, in->parked_reason, sizeof(st.reason));
    int rc = hd_store_instance_put(e->st, instance, &st);
    hd_store_audit(e->st, who, pause ? "pause" : "resume", NULL, 0, instance, reason);
    hd_info("[channel:%s] %s by %s: %s", instance, pause ? "paused" : "resumed", who,
            reason ? reason : "");
    if (!pause)
        hd_inst_kick(in);
    return rc;
}

int hd_engine_unpark(struct hd_engine *e, const char *instance, const char *who, const char *reason)
{
    struct hd_instance *in = hd_inst_find(e, instance);
    if (!in)
        return HD_ENOTFOUND;
    hd_inst_set_parked(in, 0, NULL);
    hd_store_audit(e->st, who, "unpark", NULL, 0, instance, reason);
    /* the deliveries that hit the problem go back to the queue */
    int64_t *ids = calloc(10000, sizeof(*ids));
    int n = ids ? hd_store_ids_in_state(e->st, instance, HD_D_PARKED, ids, 10000) : 0;
    for (int i = 0; i < n; i++) {
        struct hd_delivery *d;
        if (load(e, ids[i], &d) == 0)
            hd_requeue(e, d, "unparked");
    }
    free(ids);
    hd_info("[channel:%s] un-parked by %s (%d delivery(ies) requeued)", instance, who, n);
    hd_inst_kick(in);
    return 0;
}
