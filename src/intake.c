/*
 * Intake: one Kafka message -> a stored item and its deliveries, or a dead letter.
 *
 * Runs on the loop inside the store's open batch, so a message and everything it causes (item
 * row, superseded older deliveries, new deliveries, their status events) commit together; the
 * message's offset is stored only after that (kafka.c). A message that cannot be taken is recorded
 * as rejected, with its original bytes, and goes to the dead-letter topic with the reason in
 * headers. Re-delivered messages change nothing: items are unique per (id, version), deliveries
 * per (id, version, instance, target), rejections per (topic, partition, offset).
 */
#include <jansson.h>

#include "common.h"
#include "engine.h"
#include "intake.h"
#include "item.h"
#include "metrics.h"
#include "outbox.h"
#include "route.h"
#include "store.h"

struct hd_intake {
    const struct hd_config *cfg;
    struct hd_store *st;
    struct hd_engine *e;
    struct hd_outbox *ob;
    uint64_t accepted, rejected, duplicates, superseded;
};

int hd_intake_create(const struct hd_config *cfg, struct hd_store *st, struct hd_engine *e,
                     struct hd_outbox *ob, struct hd_intake **out)
{
    struct hd_intake *in = calloc(1, sizeof(*in));
    if (!in)
        return HD_ENOMEM;
    in->cfg = cfg;
    in->st = st;
    in->e = e;
    in->ob = ob;
    *out = in;
    return 0;
}

void hd_intake_set_config(struct hd_intake *in, const struct hd_config *cfg)
{
    in->cfg = cfg;
}

void hd_intake_destroy(struct hd_intake *in)
{
    free(in);
}

void hd_intake_stats(const struct hd_intake *in, uint64_t *accepted, uint64_t *rejected,
                     uint64_t *duplicates, uint64_t *superseded)
{
    *accepted = in->accepted;
    *rejected = in->rejected;
    *duplicates = in->duplicates;
    *superseded = in->superseded;
}

/* ---- rejection --------------------------------------------------------------------------------
 */

static int reject(struct hd_intake *in, const struct hd_item_src *src, const void *key, size_t klen,
                  const void *val, size_t vlen, const char *code, const char *detail,
                  int64_t *dlq_row)
{
    struct hd_rejection r = {
        .topic = src->topic,
        .partition = src->partition,
        .offset = src->offset,
        .key = key,
        .key_len = klen,
        .value = val,
        .value_len = vlen,
        .reason = code,
        .detail = detail,
        .rejected_at = hd_now_ms(),
    };
    int rc = hd_store_rejection_put(in->st, &r);
    if (rc)
        return rc;
    in->rejected++;
    hd_metrics_intake_add("rejected", code, 1);
    hd_warn("intake: rejected %s[%d]@%lld: %s: %s", src->topic, src->partition,
            (long long)src->offset, code, detail);
    if (!r.sent) {
        *dlq_row = r.id;
        hd_outbox_dlq(in->ob, &r);
    }
    return 0;
}

/* ---- items ------------------------------------------------------------------------------------
 */

struct supersede_ctx {
    struct hd_intake *in;
    int64_t version;
    int retract;
    const char *reason;
};

static int supersede_one(void *arg, struct hd_delivery *d)
{
    struct supersede_ctx *c = arg;
    if (d->version >= c->version)
        return 0;
    if (c->retract)
        return hd_engine_retract_delivery(c->in->e, d, c->version, "retracted") == HD_EIO;
    switch (d->state) {
    case HD_D_PENDING:
    case HD_D_HELD:
    case HD_D_WAITING_RETRY:
    case HD_D_PARKED: {
        char detail[64];
        snprintf(detail, sizeof(detail), "version %lld came", (long long)c->version);
        d->next_at = 0;
        hd_delivery_transition(c->in->st, d, HD_D_SUPERSEDED, "newer_version", detail);
        hd_release_held(c->in->e, d->item_id, d->instance);
        break;
    }
    default:
        break; /* in flight: the newer version waits for its slot; done: stays as it is */
    }
    return 0;
}

static int create_deliveries(struct hd_intake *in, const struct hd_item_doc *doc,
                             const struct hd_routing *rt)
{
    const struct hd_item *v = &doc->view;
    int64_t now = hd_now_ms();
    for (size_t i = 0; i < rt->n; i++) {
        const struct hd_instance_conf *ic = rt->insts[i];
        const char **targets = NULL;
        size_t n_unknown = 0;
        size_t nt = hd_route_targets(ic, doc, &targets, &n_unknown);
        if (n_unknown)
            hd_warn("intake: item %s names %zu target(s) that %s does not have: ignored", v->id,
                    n_unknown, ic->id);
        int kicked = 0;
        for (size_t t = 0; t < nt; t++) {
            struct hd_delivery d = {
                .item_id = (char *)v->id,
                .version = v->version,
                .instance = ic->id,
                .target = (char *)targets[t],
                .state = HD_D_PENDING,
                .priority = v->urgent,
                .not_before = v->not_before_ms,
                .expires_at = v->expires_at_ms,
                .approved_at = v->approved_at_ms,
                .created_at = now,
            };
            /* the hold check fills owned strings: give d its own copies */
            d.item_id = strdup(v->id);
            d.instance = strdup(ic->id);
            d.target = strdup(targets[t]);
            int hold = hd_engine_hold_check(in->e, &d, v->interprets, now);
            enum hd_dstate final = HD_D_MAX;
            char *reason = hd_strdup(d.reason), *detail = hd_strdup(d.detail);
            if (hold == 1) {
                d.state = HD_D_HELD;
            } else {
                hd_delivery_set_str(&d.reason, NULL);
                hd_delivery_set_str(&d.detail, NULL);
                d.next_at = 0;
                d.hold_kind = HD_HOLD_NONE;
                if (hold < 0)
                    final = HD_D_FAILED;
                else if (d.expires_at && d.expires_at <= now)
                    final = HD_D_EXPIRED;
            }
            int rc = hd_delivery_create(in->st, &d);
            if (rc == 0 && final != HD_D_MAX)
                rc = hd_delivery_transition(
                    in->st, &d, final, final == HD_D_EXPIRED ? "expired" : reason,
                    final == HD_D_EXPIRED ? "expired before intake" : detail);
            free(reason);
            free(detail);
            hd_delivery_clear(&d);
            if (rc == HD_EEXIST)
                continue;
            if (rc) {
                free(targets);
                return rc;
            }
            if (hold == 0 && final == HD_D_MAX && !kicked) {
                hd_engine_kick(in->e, ic->id);
                kicked = 1;
            }
        }
        free(targets);
    }
    hd_engine_rearm(in->e);
    return 0;
}

static int take_item(struct hd_intake *in, const struct hd_item_doc *doc,
                     const struct hd_item_src *src)
{
    const struct hd_item *v = &doc->view;
    struct hd_item_head h;
    int retract = strcmp(v->action, "retract") == 0;
    if (hd_store_item_head(in->st, v->id, &h) != 0)
        return HD_EIO;
    int stale =
        h.exists && (v->version < h.max_version || (!retract && v->version <= h.retracted_version));
    struct hd_routing rt = {0};
    if (!stale && !retract && hd_route_item(in->cfg, doc, &rt) != 0)
        return HD_ENOMEM;
    const char *state = stale ? "superseded" : retract ? "retract" : "accepted";
    int rc = hd_store_item_insert(in->st, doc, state, rt.explain, src);
    if (rc == HD_EEXIST) {
        /* the same (id, version) again: a re-delivered message, or upstream reusing a version */
        in->duplicates++;
        hd_metrics_intake_add("duplicates", NULL, 1);
        hd_routing_free(&rt);
        return 0;
    }
    if (rc) {
        hd_routing_free(&rt);
        return rc;
    }
    if (stale) {
        in->superseded++;
        hd_info("intake: item %s version %lld is older than version %lld: recorded superseded",
                v->id, (long long)v->version, (long long)h.max_version);
        return 0;
    }
    struct hd_item_head nh = {.exists = 1,
                              .max_version = HD_MAX(h.max_version, v->version),
                              .retracted_version = retract ? v->version : h.retracted_version};
    if ((rc = hd_store_item_head_put(in->st, v->id, &nh)) != 0) {
        hd_routing_free(&rt);
        return rc;
    }
    struct supersede_ctx sc = {in, v->version, retract, NULL};
    if (h.exists)
        hd_store_item_deliveries(in->st, v->id, supersede_one, &sc);
    if (!retract) {
        if (rt.n == 0)
            hd_warn("intake: item %s (category %s, publisher %s) matches no route: stored "
                    "without deliveries",
                    v->id, v->category ? v->category : "-",
                    v->publisher_code ? v->publisher_code : "-");
        rc = create_deliveries(in, doc, &rt);
    } else if (!h.exists) {
        hd_info("intake: retraction of unknown item %s version %lld: tombstone kept", v->id,
                (long long)v->version);
    }
    hd_routing_free(&rt);
    in->accepted++;
    hd_metrics_intake_add("accepted", retract ? "retract" : "publish", 1);
    return rc;
}

/* ---- operator actions ------------------------------------------------------------------------ */

struct count_ctx {
    struct supersede_ctx sc;
    int n;
};

static int retract_counted(void *arg, struct hd_delivery *d)
{
    struct count_ctx *c = arg;
    enum hd_dstate before = d->state;
    int stop = supersede_one(&c->sc, d);
    struct hd_delivery *now = NULL;
    if (hd_store_delivery_get(c->sc.in->st, d->id, &now) == 0 && now) {
        c->n += now->state != before;
        hd_delivery_free(now);
    }
    return stop;
}

int hd_intake_retract(struct hd_intake *in, const char *item_id, const char *who,
                      const char *reason, int *n_affected)
{
    struct hd_item_head h;
    *n_affected = 0;
    if (hd_store_item_head(in->st, item_id, &h) != 0)
        return HD_EIO;
    if (!h.exists)
        return HD_ENOTFOUND;
    /* as a retraction at the current version: everything up to it is withdrawn, a later
     * version (a correction from upstream) publishes again */
    h.retracted_version = h.max_version;
    int rc = hd_store_item_head_put(in->st, item_id, &h);
    if (rc)
        return rc;
    struct count_ctx c = {{in, h.max_version + 1, 1, reason}, 0};
    hd_store_item_deliveries(in->st, item_id, retract_counted, &c);
    hd_store_audit(in->st, who, "retract", item_id, 0, NULL, reason);
    hd_info("intake: item %s retracted by %s (%d delivery(ies) affected): %s", item_id, who, c.n,
            reason ? reason : "");
    *n_affected = c.n;
    return 0;
}

struct replay_ctx {
    int64_t id;
    int found;
    char *topic;
    int32_t partition;
    int64_t offset;
    void *key, *value;
    size_t key_len, value_len;
};

static void on_rejection(void *arg, const struct hd_rejection *r)
{
    struct replay_ctx *c = arg;
    c->found = 1;
    c->topic = hd_strdup(r->topic);
    c->partition = r->partition;
    c->offset = r->offset;
    c->key = r->key_len ? hd_strndup(r->key, r->key_len) : NULL;
    c->key_len = r->key_len;
    c->value = hd_strndup(r->value ? r->value : "", r->value_len);
    c->value_len = r->value_len;
}

int hd_intake_replay(struct hd_intake *in, int64_t rejection_id, const char *who, char *result,
                     size_t len)
{
    struct replay_ctx c = {.id = rejection_id};
    if (hd_store_rejection_get(in->st, rejection_id, on_rejection, &c) != 0 || !c.found)
        return HD_ENOTFOUND;
    struct hd_item_src src = {c.topic, c.partition, c.offset};
    struct hd_item_doc *doc = NULL;
    struct hd_item_error err;
    int rc;
    if (hd_item_parse(c.value, c.value_len, c.key, c.key_len, (size_t)in->cfg->max_message_bytes,
                      &doc, &err) != 0) {
        snprintf(result, len, "rejected again: %s: %s", err.code, err.detail);
        rc = HD_EINVAL;
    } else {
        rc = take_item(in, doc, &src);
        if (rc == 0) {
            hd_store_rejection_replayed(in->st, rejection_id);
            snprintf(result, len, "accepted: item %s version %lld", doc->view.id,
                     (long long)doc->view.version);
        } else {
            snprintf(result, len, "the store could not take it");
        }
    }
    hd_store_audit(in->st, who, "replay", doc ? doc->view.id : NULL, 0, NULL, result);
    hd_item_destroy(doc);
    free(c.topic);
    free(c.key);
    free(c.value);
    return rc;
}

int hd_intake_message(void *arg, const rd_kafka_message_t *m, int64_t *dlq_row)
{
    struct hd_intake *in = arg;
    struct hd_item_src src = {rd_kafka_topic_name(m->rkt), m->partition, m->offset};
    struct hd_item_doc *doc = NULL;
    struct hd_item_error err;
    *dlq_row = 0;
    hd_metrics_intake_add("consumed", NULL, 1);
    if (!m->payload || m->len == 0)
        return reject(in, &src, m->key, m->key_len, "", 0, HD_REJ_INVALID_JSON, "empty message",
                      dlq_row);
    int prc = hd_item_parse(m->payload, m->len, m->key, m->key_len,
                            (size_t)in->cfg->max_message_bytes, &doc, &err);
    if (prc == HD_ENOMEM)
        return HD_ENOMEM; /* not the message's fault: intake pauses and reads it again */
    if (prc != 0)
        return reject(in, &src, m->key, m->key_len, m->payload, m->len, err.code, err.detail,
                      dlq_row);
    int rc = take_item(in, doc, &src);
    if (rc == 0 && strcmp(doc->view.action, "publish") == 0)
        hd_engine_offer_item(in->e, doc); /* its deliveries will want it parsed */
    else
        hd_item_destroy(doc);
    return rc == HD_EEXIST ? 0 : rc;
}
