/*
 * Conformance: operations (kit.h). Each scenario starts one op (or several) through the adapter's
 * callback with one fault armed in the kit's proxy, runs the loop until the op completes (calling
 * cancel() when it outlives its deadline, as the core does), then until nothing outstanding could
 * complete it again, and judges: taken, completed exactly once, never from inside the call, a
 * known outcome with a reason, and an outcome that fits what happened on the wire. The happy
 * path's requests are counted first; timeouts, dropped connections, 503s and lost answers are
 * then aimed at each of them in turn. The last request of the happy path is taken as the one that
 * changes the platform's state: after it may have arrived, a non-idempotent adapter must say
 * "unknown", and its reconcile() must then find out what the platform really has.
 */
#include "common.h"
#include "config.h"
#include "item.h"
#include "kit.h"

#define B(x)      (1u << (x))
#define OK_KINDS  (B(HD_OUT_DELIVERED) | B(HD_OUT_ACCEPTED))
#define TRANSIENT (B(HD_OUT_RETRY) | B(HD_OUT_RETRY_AFTER) | B(HD_OUT_UNKNOWN))
#define MAX_AT    6

struct scen {
    enum kit_fault fault;
    int at, status;
    const char *retry_after;
    int cancel; /* 1: right after the call returned; 2: once the proxy holds request `at` */
};

static int idempotent(void)
{
    return (K->chan->caps & HD_CAP_IDEMPOTENT) != 0;
}

static int held(void *arg)
{
    struct kit_op *o = arg;
    return kit_proxy_held(K->proxy) > 0 || o->completions > 0;
}

static int all_done(void *arg)
{
    struct kit_op **ops = arg;
    for (size_t i = 0; ops[i]; i++)
        if (!ops[i]->completions)
            return 0;
    return 1;
}

/* Run ops (NULL-terminated) under one scenario until they are done and the instance is quiet. */
static void run_many(struct kit_op **ops, const struct scen *s)
{
    kit_run_until(kit_quiet, NULL, 10000);
    kit_proxy_arm(K->proxy, s->fault, s->at, s->status, s->retry_after);
    for (size_t i = 0; ops[i]; i++)
        kit_op_call(ops[i]);
    for (size_t i = 0; ops[i]; i++) {
        if (!ops[i]->taken)
            continue;
        if (s->cancel == 1)
            kit_op_cancel(ops[i]);
        if (s->cancel == 2) {
            kit_run_until(held, ops[i], 2 * K->timeout_ms + 5000);
            kit_op_cancel(ops[i]);
        }
    }
    /* the core's own deadline: three timeouts and ten seconds, then cancel() */
    if (!kit_run_until(all_done, ops, 3 * K->timeout_ms + 10000)) {
        for (size_t i = 0; ops[i]; i++)
            if (ops[i]->taken)
                kit_op_cancel(ops[i]);
        kit_run_until(all_done, ops, K->timeout_ms + 5000);
    }
    kit_run_until(kit_quiet, NULL, 2 * K->timeout_ms + 10000);
    kit_proxy_release(K->proxy);
    kit_run_until(kit_quiet, NULL, K->timeout_ms + 5000);
}

static void run(struct kit_op *o, const struct scen *s)
{
    struct kit_op *ops[2] = {o, NULL};
    run_many(ops, s);
}

static const char *kinds(unsigned mask, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int k = 0; k < HD_OUT_MAX; k++)
        if (mask & B(k))
            used += (size_t)snprintf(buf + used, len - used, "%s%s", used ? "|" : "",
                                     kit_outcome_name((enum hd_outcome_kind)k));
    return buf;
}

/*
 * Judge one op: the contract (taken, once, not inside the call, a known outcome with a reason,
 * readable strings), then the outcome against `allowed`, whose reason is `why`. Returns the
 * verdict reported.
 */
static enum kit_verdict judge(struct kit_op *o, const char *name, unsigned allowed, const char *why)
{
    char buf[1400], ks[200];
    enum kit_verdict v = KIT_PASS;
    int nv = kit_take_violations(buf, sizeof(buf));
    if (nv || o->n_violations) {
        size_t used = strlen(buf);
        for (int i = 0; i < o->n_violations; i++)
            used += (size_t)snprintf(buf + used, sizeof(buf) - used, "%s%s", used ? "; " : "",
                                     o->violations[i]);
        kit_report(KIT_FAIL, name, "%s", buf);
        return KIT_FAIL;
    }
    if (!o->taken) {
        kit_report(KIT_FAIL, name,
                   "the adapter did not take the op (its callback returned non-zero)");
        return KIT_FAIL;
    }
    if (!o->completions) {
        kit_report(KIT_FAIL, name, "never completed%s",
                   o->cancel_called ? ", not even after cancel()" : " (and there is no cancel())");
        return KIT_FAIL;
    }
    const struct hd_outcome *out = &o->out;
    if ((unsigned)out->kind >= HD_OUT_MAX) {
        kit_report(KIT_FAIL, name, "outcome kind %d is not in enum hd_outcome_kind",
                   (int)out->kind);
        return KIT_FAIL;
    }
    const char *kn = kit_outcome_name(out->kind);
    const char *strs[] = {out->reason, out->detail, out->platform_code, out->remote_id, out->url};
    for (size_t i = 0; i < HD_ARRAY_LEN(strs); i++)
        if (strs[i] && !K->real.utf8_valid(strs[i], strlen(strs[i]))) {
            kit_report(KIT_FAIL, name, "outcome %s carries a string that is not UTF-8", kn);
            return KIT_FAIL;
        }
    if (!(B(out->kind) & allowed)) {
        kit_report(KIT_FAIL, name, "outcome %s (%s), expected %s: %s", kn,
                   out->reason ? out->reason : "no reason", kinds(allowed, ks, sizeof(ks)), why);
        kit_note("detail: %s; requests: %s", out->detail ? out->detail : "-",
                 kit_proxy_log(K->proxy)[0] ? kit_proxy_log(K->proxy) : "none");
        return KIT_FAIL;
    }
    if (!(B(out->kind) & OK_KINDS) && (!out->reason || !out->reason[0])) {
        kit_report(KIT_FAIL, name, "outcome %s without a reason code", kn);
        return KIT_FAIL;
    }
    if (out->kind == HD_OUT_ACCEPTED && (!out->remote_id || !out->remote_id[0]) &&
        o->op.kind != HD_OP_POLL) {
        kit_report(KIT_FAIL, name, "accepted without remote_id: nothing to poll with");
        return KIT_FAIL;
    }
    const char *note = "";
    if (out->kind == HD_OUT_RETRY_AFTER && out->at_ms <= hd_now_ms()) {
        v = KIT_WARN;
        note = " (retry_after without a future at_ms: the core waits 1 s)";
    }
    if (out->reason &&
        strspn(out->reason, "abcdefghijklmnopqrstuvwxyz0123456789_") != strlen(out->reason)) {
        v = KIT_WARN;
        note = " (reason is not a short code [a-z0-9_])";
    }
    int64_t ms = o->completed_ms - o->started_ms;
    kit_report(v, name, "%s (%s) after %lld ms%s", kn, out->reason ? out->reason : "-",
               (long long)ms, note);
    kit_note("requests: %s", kit_proxy_log(K->proxy)[0] ? kit_proxy_log(K->proxy) : "none");
    return v;
}

/* ---- building ops ------------------------------------------------------------------------------
 */

static int counter;

/* A send of sample item `item` (a fresh id per call), rendered as the core would. */
static struct kit_op *send_op(size_t item, const char *name, const struct kit_op *update_of)
{
    char tag[32];
    snprintf(tag, sizeof(tag), "s%d", ++counter);
    const struct hd_instance_conf *ic = &K->cfg->instances[0];
    /* an update is the same item, a later version */
    struct hd_item_doc *doc = update_of ? kit_item(item, strrchr(update_of->op.item->id, '-') + 1,
                                                   update_of->op.item->version + 1)
                                        : kit_item(item, tag, 1);
    const char *target = kit_first_target();
    struct kit_op *o = kit_op_new(&K->main, HD_OP_SEND, doc, target, NULL);
    char rid[64], url[600];
    struct hd_dep_result dep = kit_dep(&doc->view, rid, sizeof(rid), url, sizeof(url));
    struct hd_render_ctx rc = {
        .struct_size = sizeof(rc),
        .instance_id = ic->id,
        .target = target,
        .idempotency_key = o->key,
        .deps = K->dep_instance ? &dep : NULL,
        .n_deps = K->dep_instance ? 1 : 0,
        .is_update = update_of != NULL,
        .prev_remote_id = update_of ? update_of->out.remote_id : NULL,
        .prev_url = update_of ? update_of->out.url : NULL,
    };
    char err[512] = "";
    if (kit_render(&K->main, &doc->view, &rc, &o->payload, err, sizeof(err)) != HD_RENDER_OK) {
        kit_report(KIT_SKIP, name, "item %s does not render for this instance: %s",
                   kit_item_name(item), err);
        free(o->payload.data);
        o->payload.data = NULL;
        return NULL;
    }
    o->op.payload = &o->payload;
    if (update_of) {
        o->op.is_update = 1;
        o->remote_id = hd_strdup(update_of->out.remote_id);
        o->remote_url = hd_strdup(update_of->out.url);
        o->op.remote_id = o->remote_id;
        o->op.remote_url = o->remote_url;
    }
    return o;
}

/* A later op on the delivery of `of` (retract, poll, reconcile, or a resend). */
static struct kit_op *follow_op(const struct kit_op *of, enum hd_op_kind kind,
                                const char *remote_id, const char *remote_url)
{
    const char *id = of->op.item->id;
    const char *tag = strrchr(id, '-') + 1;
    size_t item = 0;
    for (size_t i = 0; i < kit_n_items(); i++)
        if (strstr(id, kit_item_name(i)))
            item = i;
    struct hd_item_doc *doc = kit_item(item, tag, of->op.item->version);
    struct kit_op *o = kit_op_new(&K->main, kind, doc, of->target, NULL);
    o->op.attempt = of->op.attempt + 1;
    o->remote_id = hd_strdup(remote_id);
    o->remote_url = hd_strdup(remote_url);
    o->op.remote_id = o->remote_id;
    o->op.remote_url = o->remote_url;
    o->state_json = hd_strdup(of->state_json);
    o->op.adapter_state = o->state_json;
    if (kind == HD_OP_SEND) {
        /* the same bytes render() gave, with the NUL an adapter may rely on */
        o->payload.data = of->payload.data ? malloc(of->payload.len + 1) : NULL;
        if (o->payload.data) {
            memcpy(o->payload.data, of->payload.data, of->payload.len);
            o->payload.data[of->payload.len] = '\0';
        }
        o->payload.len = of->payload.len;
        memcpy(o->payload.content_type, of->payload.content_type, sizeof(o->payload.content_type));
        memcpy(o->payload.summary, of->payload.summary, sizeof(o->payload.summary));
        o->op.payload = &o->payload;
        o->op.is_update = of->op.is_update;
    }
    return o;
}

/* ---- polling and reconciling until the platform's answer is final ------------------------------
 */

struct waiter {
    int64_t until;
};

static int past(void *arg)
{
    return hd_now_ms() >= ((struct waiter *)arg)->until;
}

/* Wait (running the loop) until at_ms, at most max_ms. */
static void wait_until(int64_t at_ms, int64_t max_ms)
{
    int64_t now = hd_now_ms();
    struct waiter w = {HD_MIN(at_ms, now + max_ms)};
    if (w.until > now)
        kit_run_until(past, &w, w.until - now + 50);
}

/* Repeat `kind` ops on `of`'s delivery while the answer is "not yet" (accepted for polls, unknown
 * for reconciliations), up to 30 s. Returns the last op (judged by the caller), NULL when one
 * step already failed the contract. */
static struct kit_op *repeat_op(const struct kit_op *of, enum hd_op_kind kind, const char *name,
                                const char *remote_id)
{
    static const struct scen pass = {KIT_F_PASS, 0, 0, NULL, 0};
    int64_t give_up = hd_mono_ms() + 30000;
    struct kit_op *o = NULL;
    const struct kit_op *prev = of;
    for (int step = 1;; step++) {
        o = follow_op(of, kind, remote_id, of->out.url);
        o->op.attempt = step;
        if (prev != of && prev->state_json) {
            free(o->state_json);
            o->state_json = strdup(prev->state_json);
            o->op.adapter_state = o->state_json;
        }
        run(o, &pass);
        unsigned again = kind == HD_OP_POLL ? B(HD_OUT_ACCEPTED) | TRANSIENT : B(HD_OUT_UNKNOWN);
        if (o->n_violations || !o->completions || !(B(o->out.kind) & again) ||
            hd_mono_ms() > give_up)
            return o;
        if (o->out.kind == HD_OUT_ACCEPTED && o->out.remote_id)
            remote_id = o->out.remote_id;
        wait_until(o->out.at_ms > 0 ? o->out.at_ms : hd_now_ms() + 500, 5000);
        prev = o;
        if (step == 1)
            kit_note("%s: %s, asking again", name, kit_outcome_name(o->out.kind));
    }
}

/* ---- the scenarios
 * -------------------------------------------------------------------------------- */

struct happy {
    struct kit_op *op;    /* the last successful send */
    struct kit_op *final; /* the op that made it delivered (send or poll) */
    int n_requests;       /* HTTP requests of one warm send */
    int with_sim;
};

static void check_retract(struct happy *h)
{
    if (!(K->chan->caps & HD_CAP_RETRACT) || !h->final || h->final->out.kind != HD_OUT_DELIVERED)
        return;
    static const struct scen pass = {KIT_F_PASS, 0, 0, NULL, 0};
    const char *rid = h->final->out.remote_id ? h->final->out.remote_id : h->op->out.remote_id;
    if (kit_wanted("retract.delivered")) {
        struct kit_op *o = follow_op(h->op, HD_OP_RETRACT, rid, h->final->out.url);
        run(o, &pass);
        judge(o, "retract.delivered", h->with_sim ? B(HD_OUT_DELIVERED) : ~0u,
              "withdrawing what was delivered");
        struct kit_op *again = follow_op(h->op, HD_OP_RETRACT, rid, h->final->out.url);
        run(again, &pass);
        judge(again, "retract.again", h->with_sim ? B(HD_OUT_DELIVERED) : ~0u,
              "withdrawing what is gone already counts as withdrawn");
    }
    if (kit_wanted("retract.timeout")) {
        struct kit_op *s = send_op(0, "retract.timeout", NULL);
        if (!s)
            return;
        run(s, &pass);
        struct kit_op *o = follow_op(s, HD_OP_RETRACT, s->out.remote_id, s->out.url);
        struct scen hang = {KIT_F_HANG, 0, 0, NULL, 0};
        run(o, &hang);
        judge(o, "retract.timeout", TRANSIENT | B(HD_OUT_CANCELLED),
              "no answer is not a refusal: withdraw again later");
    }
}

static void check_reconcile(struct happy *h)
{
    if (!K->chan->reconcile)
        return;
    if (kit_wanted("reconcile.sent") && h->op) {
        struct kit_op *o = repeat_op(h->op, HD_OP_RECONCILE, "reconcile.sent", NULL);
        judge(o, "reconcile.sent", h->with_sim ? OK_KINDS : ~0u,
              "the platform has what was sent: delivered or accepted");
    }
    if (kit_wanted("reconcile.never_sent")) {
        struct kit_op *s = send_op(0, "reconcile.never_sent", NULL);
        if (!s)
            return;
        struct kit_op *o = repeat_op(s, HD_OP_RECONCILE, "reconcile.never_sent", NULL);
        judge(o, "reconcile.never_sent", h->with_sim ? B(HD_OUT_RETRY) : ~0u,
              "the platform does not have it: retry (sending is safe)");
    }
}

/*
 * What a send may report after a fault on request `at` of `n` (the last one changes the
 * platform's state). More requests than the happy path made mean someone sent again: libcurl
 * resends a request whose reused connection died before any answer (heraldd allows that only for
 * idempotent adapters), or the adapter retried by itself. For an idempotent adapter that is safe
 * and may end in success; a non-idempotent one must never send the state-changing request twice.
 */
static void judge_fault(struct happy *h, struct kit_op *o, const char *name, int at,
                        const char *what)
{
    int last = at == h->n_requests;
    int resent = kit_proxy_seen(K->proxy) > h->n_requests;
    char why[300];
    if (!idempotent() && last && resent && o->completions) {
        kit_report(KIT_FAIL, name,
                   "the request that changes the platform's state was sent again after %s "
                   "(requests: %s): a non-idempotent adapter must report unknown and let "
                   "reconcile() decide",
                   what, kit_proxy_log(K->proxy));
        return;
    }
    unsigned ok =
        last ? (idempotent() ? B(HD_OUT_RETRY) | B(HD_OUT_UNKNOWN) : B(HD_OUT_UNKNOWN)) : TRANSIENT;
    if (resent)
        ok |= OK_KINDS;
    if (!last)
        snprintf(why, sizeof(why), "%s before the state-changing request is transient", what);
    else if (idempotent())
        snprintf(why, sizeof(why), "after %s the request may have been applied: retry or unknown",
                 what);
    else
        snprintf(why, sizeof(why),
                 "after %s the request may have been applied and the adapter is not idempotent: "
                 "only unknown is safe (reconcile before sending again)",
                 what);
    judge(o, name, ok, why);
}

static void faults_at(struct happy *h, int at)
{
    char name[80];
    snprintf(name, sizeof(name), "send.timeout@%d", at);
    if (kit_wanted(name)) {
        struct kit_op *o = send_op(0, name, NULL);
        struct scen s = {KIT_F_HANG, at, 0, NULL, 0};
        if (o) {
            run(o, &s);
            judge_fault(h, o, name, at, "a timeout");
            if (at == h->n_requests && !idempotent() && h->with_sim && o->completions &&
                o->out.kind == HD_OUT_UNKNOWN && kit_wanted("reconcile.after_timeout")) {
                /* the proxy held the request: the platform never saw it */
                struct kit_op *r = repeat_op(o, HD_OP_RECONCILE, "reconcile.after_timeout", NULL);
                judge(r, "reconcile.after_timeout", B(HD_OUT_RETRY),
                      "the request never reached the platform: retry");
            }
        }
    }
    snprintf(name, sizeof(name), "send.dropped@%d", at);
    if (kit_wanted(name)) {
        struct kit_op *o = send_op(0, name, NULL);
        struct scen s = {KIT_F_DROP, at, 0, NULL, 0};
        if (o) {
            run(o, &s);
            judge_fault(h, o, name, at, "a connection reset");
        }
    }
    snprintf(name, sizeof(name), "send.http503@%d", at);
    if (kit_wanted(name)) {
        struct kit_op *o = send_op(0, name, NULL);
        struct scen s = {KIT_F_STATUS, at, 503, NULL, 0};
        if (o) {
            run(o, &s);
            /* an adapter may retry a 503 itself and succeed: then more requests followed */
            unsigned ok = TRANSIENT | (kit_proxy_seen(K->proxy) > h->n_requests ? OK_KINDS : 0);
            judge(o, name, ok, "a 503 is transient");
        }
    }
}

static void check_faults(struct happy *h)
{
    static const struct scen pass = {KIT_F_PASS, 0, 0, NULL, 0};
    if (h->n_requests == 0) {
        kit_report(KIT_SKIP, "send.faults", "a send makes no HTTP request: no fault to inject");
        return;
    }
    int n = HD_MIN(h->n_requests, MAX_AT);
    for (int at = 1; at <= n; at++)
        faults_at(h, at);
    if (kit_wanted("send.slow")) {
        struct kit_op *o = send_op(0, "send.slow", NULL);
        struct scen s = {KIT_F_SLOW, 0, 0, NULL, 0};
        if (o) {
            run(o, &s);
            judge(o, "send.slow", h->with_sim ? OK_KINDS : ~0u,
                  "slow answers within the timeout are still answers");
        }
    }
    if (kit_wanted("send.retry_after")) {
        struct kit_op *o = send_op(0, "send.retry_after", NULL);
        struct scen s = {KIT_F_STATUS, h->n_requests, 429, "120", 0};
        if (o) {
            run(o, &s);
            if (judge(o, "send.retry_after", TRANSIENT, "a 429 is a rate limit") != KIT_FAIL) {
                int64_t at = o->out.at_ms, now = hd_now_ms();
                if (o->out.kind != HD_OUT_RETRY_AFTER)
                    kit_report(KIT_WARN, "send.retry_after.honoured",
                               "429 with Retry-After: 120 gave %s: the core retries after its "
                               "own backoff instead of the platform's time",
                               kit_outcome_name(o->out.kind));
                else if (at < now + 60000 || at > now + 300000)
                    kit_report(KIT_WARN, "send.retry_after.honoured",
                               "retry_after at %+lld s, the platform said 120 s",
                               (long long)((at - now) / 1000));
                else
                    kit_report(KIT_PASS, "send.retry_after.honoured",
                               "retry_after at +%lld s (Retry-After: 120)",
                               (long long)((at - now) / 1000));
            }
        }
    }
    if (kit_wanted("send.lost_answer")) {
        struct kit_op *o = send_op(0, "send.lost_answer", NULL);
        struct scen s = {KIT_F_LOST_ANSWER, h->n_requests, 0, NULL, 0};
        if (o) {
            run(o, &s);
            judge_fault(h, o, "send.lost_answer", h->n_requests,
                        "the platform acted and the answer was lost");
            if (o->completions && o->out.kind == HD_OUT_UNKNOWN && h->with_sim) {
                if (idempotent() && kit_wanted("send.lost_answer.resend")) {
                    struct kit_op *again = follow_op(o, HD_OP_SEND, NULL, NULL);
                    run(again, &pass);
                    judge(again, "send.lost_answer.resend", OK_KINDS,
                          "resending with the same idempotency key must succeed");
                } else if (!idempotent() && kit_wanted("reconcile.after_lost_answer")) {
                    struct kit_op *r =
                        repeat_op(o, HD_OP_RECONCILE, "reconcile.after_lost_answer", NULL);
                    judge(r, "reconcile.after_lost_answer", OK_KINDS,
                          "the platform has it (the proxy forwarded the request): delivered or "
                          "accepted");
                }
            }
        }
    }
}

static void check_cancel(struct happy *h)
{
    if (!K->chan->cancel) {
        kit_report(KIT_WARN, "cancel",
                   "no cancel(): at shutdown, ops run until their own "
                   "timeout and past the drain they are recorded unknown");
        return;
    }
    if (kit_wanted("cancel.early")) {
        struct kit_op *o = send_op(0, "cancel.early", NULL);
        struct scen s = {KIT_F_PASS, 0, 0, NULL, 1};
        if (o) {
            run(o, &s);
            unsigned ok = B(HD_OUT_CANCELLED) | B(HD_OUT_UNKNOWN) |
                          (kit_proxy_seen(K->proxy) >= h->n_requests ? OK_KINDS : 0);
            judge(o, "cancel.early", ok, "cancelled before anything was sent: cancelled");
        }
    }
    if (kit_wanted("cancel.in_flight") && h->n_requests > 0) {
        struct kit_op *o = send_op(0, "cancel.in_flight", NULL);
        struct scen s = {KIT_F_HANG, h->n_requests, 0, NULL, 2};
        if (o) {
            run(o, &s);
            unsigned ok =
                idempotent() ? B(HD_OUT_CANCELLED) | B(HD_OUT_UNKNOWN) : B(HD_OUT_UNKNOWN);
            if (judge(o, "cancel.in_flight", ok,
                      idempotent() ? "cancelled while the request was out: cancelled or unknown"
                                   : "the request reached the platform: a non-idempotent adapter "
                                     "must say unknown") != KIT_FAIL &&
                o->cancelled_ms && o->completed_ms - o->cancelled_ms >= K->timeout_ms)
                kit_report(KIT_WARN, "cancel.in_flight.prompt",
                           "completed %lld ms after cancel(), only when the request timed out: "
                           "cancel() should stop it (http_cancel)",
                           (long long)(o->completed_ms - o->cancelled_ms));
        }
    }
}

void kit_check_ops(struct kit *k)
{
    static const struct scen pass = {KIT_F_PASS, 0, 0, NULL, 0};
    struct happy h = {.with_sim = k->sim_url != NULL};
    unsigned happy_ok = h.with_sim ? OK_KINDS : ~0u;
    const char *happy_why = "the platform (the simulator) takes it";

    /* the first send warms up what the instance caches (tokens) */
    struct kit_op *o = send_op(0, "send.first", NULL);
    if (!o)
        return;
    run(o, &pass);
    if (judge(o, "send.first", happy_ok, happy_why) == KIT_FAIL) {
        kit_report(KIT_SKIP, "send",
                   "the happy path fails: the remaining scenarios would "
                   "only repeat it");
        return;
    }
    o = send_op(0, "send.happy", NULL);
    if (!o)
        return;
    run(o, &pass);
    h.n_requests = kit_proxy_seen(k->proxy);
    if (judge(o, "send.happy", happy_ok, happy_why) == KIT_FAIL)
        return;
    kit_note("one send makes %d request(s): %s", h.n_requests, kit_proxy_log(k->proxy));
    h.op = h.final = o;
    if (o->out.kind == HD_OUT_ACCEPTED) {
        if (!(k->chan->caps & HD_CAP_POLL))
            kit_report(KIT_FAIL, "send.accepted_needs_poll",
                       "accepted, but the adapter does not claim HD_CAP_POLL: the delivery "
                       "would wait for a poll that never comes");
        else if (kit_wanted("poll.until_final")) {
            struct kit_op *p = repeat_op(o, HD_OP_POLL, "poll.until_final", o->out.remote_id);
            judge(p, "poll.until_final", h.with_sim ? B(HD_OUT_DELIVERED) : ~0u,
                  "the platform publishes what it accepted");
            h.final = p;
            if (kit_wanted("poll.timeout")) {
                struct kit_op *t = follow_op(o, HD_OP_POLL, o->out.remote_id, NULL);
                struct scen hang = {KIT_F_HANG, 0, 0, NULL, 0};
                run(t, &hang);
                judge(t, "poll.timeout", ~(B(HD_OUT_DELIVERED) | B(HD_OUT_REJECTED)),
                      "no answer says nothing about the publication: ask again later");
            }
        }
    }
    if (kit_wanted("send.rich")) {
        struct kit_op *r = send_op(1, "send.rich", NULL);
        if (r) {
            run(r, &pass);
            judge(r, "send.rich", happy_ok | B(HD_OUT_REJECTED),
                  "an item with images and attachments");
        }
    }
    if (kit_wanted("send.concurrent")) {
        struct kit_op *ops[5] = {NULL};
        size_t n = 0;
        for (size_t i = 0; i < 4; i++)
            if ((ops[n] = send_op(i == 3 ? 3 : 0, "send.concurrent", NULL)))
                n++;
        ops[n] = NULL;
        run_many(ops, &pass);
        enum kit_verdict worst = KIT_PASS;
        for (size_t i = 0; i < n; i++) {
            char name[40];
            snprintf(name, sizeof(name), "send.concurrent#%zu", i + 1);
            enum kit_verdict v =
                judge(ops[i], name, happy_ok | (h.with_sim ? B(HD_OUT_RETRY_AFTER) : 0),
                      "four sends in flight at once, each completed once with its own op");
            worst = v > worst ? v : worst;
        }
        (void)worst;
    }
    if ((k->chan->caps & HD_CAP_UPDATE) && kit_wanted("send.update") &&
        h.final->out.kind == HD_OUT_DELIVERED) {
        struct kit_op *u = send_op(0, "send.update", h.final);
        if (u) {
            run(u, &pass);
            if (judge(u, "send.update", happy_ok, "an update of what is live") != KIT_FAIL &&
                u->out.kind == HD_OUT_DELIVERED)
                h.op = h.final = u; /* what is live now: retract that version */
        }
    }
    check_faults(&h);
    check_cancel(&h);
    check_reconcile(&h); /* before retract: it withdraws what reconcile must find */
    check_retract(&h);
}
