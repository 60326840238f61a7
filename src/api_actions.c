/*
 * The admin API's actions: retry, cancel, release and resolve a delivery; retry every failed
 * delivery of a channel; pause, resume and un-park a channel; replace a channel's credentials;
 * retract an item; replay a rejected message. They run on the loop (they change the engine's
 * state) through the engine's and intake's operator functions, which check the state table and
 * write the audit log (who = the token's name, what, reason) in the same store batch. The reply is
 * sent once that batch is on disk, so a 200 means the action is durable and visible to the next
 * read. Actions that need a reason (cancel, retract, un-park, credentials) refuse without one.
 */
#include <errno.h>
#include <sys/queue.h>

#include "api.h"
#include "common.h"
#include "config.h"
#include "daemon.h"
#include "engine.h"
#include "intake.h"
#include "store.h"

/* A reply waiting for the store's commit. */
struct pending {
    struct evhttp_request *req; /* NULL once the API is gone (the reply was sent then) */
    int code;
    json_t *body;
    LIST_ENTRY(pending) link;
};
static LIST_HEAD(, pending) waiting = LIST_HEAD_INITIALIZER(waiting);

static void on_durable(void *arg, int err)
{
    struct pending *p = arg;
    if (p->req) {
        LIST_REMOVE(p, link);
        if (err)
            hd_api_error(p->req, 500, "not_stored",
                         "the change could not be written to the store; heraldd restarts from "
                         "what is on disk");
        else
            hd_api_reply_json(p->req, p->code, p->body);
        p->body = NULL;
    }
    json_decref(p->body);
    free(p);
}

static void reply_durable(struct hd_api_req *r, int code, json_t *body)
{
    struct pending *p = calloc(1, sizeof(*p));
    if (!p) {
        json_decref(body);
        hd_api_error(r->req, 500, "internal", "out of memory");
        return;
    }
    p->req = r->req;
    p->code = code;
    p->body = body;
    LIST_INSERT_HEAD(&waiting, p, link);
    hd_store_when_durable(hd_daemon_store(hd_api_daemon(r->api)), on_durable, p);
}

/* At shutdown, before evhttp goes: commit, which answers what waits; answer the rest now. */
void hd_api_actions_shutdown(struct hd_api *api)
{
    hd_store_flush(hd_daemon_store(hd_api_daemon(api)));
    struct pending *p;
    while ((p = LIST_FIRST(&waiting))) {
        LIST_REMOVE(p, link);
        hd_api_error(p->req, 503, "stopping",
                     "heraldd is stopping; the action was taken but not yet confirmed on disk");
        p->req = NULL; /* the store's callback frees it */
    }
}

static struct hd_engine *engine(struct hd_api_req *r)
{
    return hd_daemon_engine(hd_api_daemon(r->api));
}

static struct hd_store *store(struct hd_api_req *r)
{
    return hd_daemon_store(hd_api_daemon(r->api));
}

static json_t *delivery_json(const struct hd_delivery *d)
{
    json_t *o = json_pack("{s:I, s:s, s:I, s:s, s:s, s:s, s:i}", "id", (json_int_t)d->id, "item_id",
                          d->item_id, "version", (json_int_t)d->version, "channel", d->instance,
                          "target", d->target ? d->target : "", "state", hd_dstate_name(d->state),
                          "attempts", d->attempts);
    json_object_set_new(o, "reason",
                        d->reason ? hd_api_str(d->reason, strlen(d->reason)) : json_null());
    json_object_set_new(o, "detail",
                        d->detail ? hd_api_str(d->detail, strlen(d->detail)) : json_null());
    json_object_set_new(o, "updated_at", hd_api_time_json(d->updated_at));
    return o;
}

/* The delivery id in path segment i; 404 and 0 when it is not a positive integer. */
static int64_t delivery_id(struct hd_api_req *r, int i)
{
    char *end;
    errno = 0;
    long long id = strtoll(r->segs[i], &end, 10);
    if (errno || *end || id < 1) {
        hd_api_error(r->req, 404, "not_found", "delivery ids are positive integers");
        return 0;
    }
    return id;
}

static const char *const reason_only[] = {"reason", NULL};

typedef int delivery_action_fn(struct hd_engine *e, int64_t id, const char *who,
                               const char *reason);

static void delivery_action(struct hd_api_req *r, int seg, const char *what, delivery_action_fn *fn,
                            int reason_required, const char *allowed)
{
    int64_t id = delivery_id(r, seg);
    if (!id || hd_api_query_only(r, NULL) != 0 ||
        hd_api_body_only(r, reason_only, reason_required) != 0)
        return;
    const char *reason = hd_api_body_str(r, "reason");
    int rc = fn(engine(r), id, r->who, reason);
    struct hd_delivery *d = NULL;
    hd_store_delivery_get(store(r), id, &d);
    if (rc == 0 && d) {
        hd_info("admin: %s delivery %lld by %s: %s", what, (long long)id, r->who,
                reason ? reason : "-");
        reply_durable(
            r, 200,
            json_pack("{s:b, s:s, s:o}", "ok", 1, "action", what, "delivery", delivery_json(d)));
    } else if (rc == HD_ESTATE && d) {
        hd_api_error(r->req, 409, "conflict", "delivery %lld is %s: only %s deliveries can be %s",
                     (long long)id, hd_dstate_name(d->state), allowed, what);
    } else if (rc == HD_ENOTFOUND || !d) {
        hd_api_error(r->req, 404, "not_found", "no delivery %lld", (long long)id);
    } else {
        const char *code;
        int status = hd_api_status_of(rc, &code);
        hd_api_error(r->req, status, code, "%s of delivery %lld failed", what, (long long)id);
    }
    hd_delivery_free(d);
}

void hd_api_retry(struct hd_api_req *r)
{
    /* deliveries/{id}/retry or dead-letters/deliveries/{id}/replay */
    delivery_action(r, strcmp(r->segs[0], "dead-letters") == 0 ? 2 : 1, "retried", hd_engine_retry,
                    0, "failed, expired, cancelled, manual_action, waiting_retry or parked");
}

void hd_api_cancel(struct hd_api_req *r)
{
    delivery_action(r, 1, "cancelled", hd_engine_cancel, 1,
                    "pending, held, waiting_retry, parked, failed or manual_action");
}

void hd_api_release(struct hd_api_req *r)
{
    delivery_action(r, 1, "released", hd_engine_release, 0, "held");
}

void hd_api_resolve(struct hd_api_req *r)
{
    delivery_action(r, 1, "resolved", hd_engine_resolve_manual, 0, "manual_action");
}

/* ---- channels ------------------------------------------------------------------------------- */

static const char *channel(struct hd_api_req *r)
{
    const char *id = r->segs[1];
    if (!hd_config_instance(hd_daemon_config(hd_api_daemon(r->api)), id)) {
        hd_api_error(r->req, 404, "not_found", "no channel '%.100s' is configured", id);
        return NULL;
    }
    return id;
}

static void pause_or_resume(struct hd_api_req *r, int pause)
{
    const char *id = channel(r);
    if (!id || hd_api_query_only(r, NULL) != 0 || hd_api_body_only(r, reason_only, 0) != 0)
        return;
    const char *reason = hd_api_body_str(r, "reason");
    int rc = hd_engine_pause(engine(r), id, pause, r->who, reason);
    if (rc) {
        const char *code;
        int status = hd_api_status_of(rc, &code);
        hd_api_error(r->req, status, code, "could not %s %s", pause ? "pause" : "resume", id);
        return;
    }
    reply_durable(r, 200,
                  json_pack("{s:b, s:s, s:s, s:b}", "ok", 1, "action", pause ? "paused" : "resumed",
                            "channel", id, "paused", pause));
}

void hd_api_pause(struct hd_api_req *r)
{
    pause_or_resume(r, 1);
}

void hd_api_resume(struct hd_api_req *r)
{
    pause_or_resume(r, 0);
}

void hd_api_retry_failed(struct hd_api_req *r)
{
    const char *id = channel(r);
    if (!id || hd_api_query_only(r, NULL) != 0 || hd_api_body_only(r, reason_only, 0) != 0)
        return;
    int n = 0;
    const char *reason = hd_api_body_str(r, "reason");
    int rc = hd_engine_retry_failed(engine(r), id, r->who, reason, &n);
    if (rc) {
        const char *code;
        int status = hd_api_status_of(rc, &code);
        hd_api_error(r->req, status, code, "could not retry the failed deliveries of %s", id);
        return;
    }
    hd_info("admin: %d failed delivery(ies) of %s retried by %s: %s", n, id, r->who,
            reason ? reason : "-");
    reply_durable(r, 200,
                  json_pack("{s:b, s:s, s:s, s:i}", "ok", 1, "action", "retried", "channel", id,
                            "retried", n));
}

void hd_api_unpark(struct hd_api_req *r)
{
    const char *id = channel(r);
    if (!id || hd_api_query_only(r, NULL) != 0 || hd_api_body_only(r, reason_only, 1) != 0)
        return;
    int rc = hd_engine_unpark(engine(r), id, r->who, hd_api_body_str(r, "reason"));
    if (rc) {
        const char *code;
        int status = hd_api_status_of(rc, &code);
        hd_api_error(r->req, status, code, "could not un-park %s", id);
        return;
    }
    reply_durable(r, 200,
                  json_pack("{s:b, s:s, s:s}", "ok", 1, "action", "unparked", "channel", id));
}

void hd_api_credentials(struct hd_api_req *r)
{
    static const char *const allowed[] = {"key", "value", "reason", NULL};
    const char *id = channel(r);
    if (!id || hd_api_query_only(r, NULL) != 0 || hd_api_body_only(r, allowed, 1) != 0)
        return;
    const char *key = hd_api_body_str(r, "key");
    json_t *value = json_object_get(r->body, "value");
    if (!key || !*key || !json_is_string(value) || json_string_length(value) == 0) {
        hd_api_error(r->req, 400, "bad_request",
                     "send {\"key\": \"<secret setting>\", \"value\": \"<new secret>\", "
                     "\"reason\": \"...\"}");
        return;
    }
    struct hd_instance_view v = {0};
    struct hd_engine *e = engine(r);
    for (size_t i = 0; i < hd_engine_instances(e); i++) {
        hd_engine_instance_view(e, i, &v);
        if (strcmp(v.id, id) == 0)
            break;
    }
    int was_parked = v.parked;
    int rc =
        hd_engine_set_credential(e, id, key, json_string_value(value), json_string_length(value),
                                 r->who, hd_api_body_str(r, "reason"));
    if (rc == HD_EINVAL) {
        hd_api_error(r->req, 400, "bad_request",
                     "'%.60s' is not a secret setting of %s (heraldd --list-channels shows them)",
                     key, id);
        return;
    }
    if (rc) {
        const char *code;
        int status = hd_api_status_of(rc, &code);
        hd_api_error(r->req, status, code, "could not store the credential for %s", id);
        return;
    }
    reply_durable(r, 200,
                  json_pack("{s:b, s:s, s:s, s:s, s:b}", "ok", 1, "action", "credentials_set",
                            "channel", id, "key", key, "unparked", was_parked));
}

/* ---- items and dead letters ------------------------------------------------------------------ */

void hd_api_retract(struct hd_api_req *r)
{
    if (hd_api_query_only(r, NULL) != 0 || hd_api_body_only(r, reason_only, 1) != 0)
        return;
    struct hd_intake *in = hd_daemon_intake(hd_api_daemon(r->api));
    const char *id = r->segs[1], *reason = hd_api_body_str(r, "reason");
    int n = 0;
    int rc = in ? hd_intake_retract(in, id, r->who, reason, &n) : HD_EIO;
    if (rc == HD_ENOTFOUND) {
        hd_api_error(r->req, 404, "not_found", "no item '%.128s'", id);
        return;
    }
    if (rc) {
        const char *code;
        int status = hd_api_status_of(rc, &code);
        hd_api_error(r->req, status, code, "could not retract item %.128s", id);
        return;
    }
    reply_durable(r, 200,
                  json_pack("{s:b, s:s, s:s, s:i}", "ok", 1, "action", "retracted", "item_id", id,
                            "deliveries_affected", n));
}

void hd_api_replay(struct hd_api_req *r)
{
    char *end;
    errno = 0;
    long long id = strtoll(r->segs[2], &end, 10);
    if (errno || *end || id < 1) {
        hd_api_error(r->req, 404, "not_found", "rejection ids are positive integers");
        return;
    }
    if (hd_api_query_only(r, NULL) != 0 || hd_api_body_only(r, reason_only, 0) != 0)
        return;
    struct hd_intake *in = hd_daemon_intake(hd_api_daemon(r->api));
    char result[400] = "";
    int rc = in ? hd_intake_replay(in, id, r->who, result, sizeof(result)) : HD_EIO;
    if (rc == HD_ENOTFOUND) {
        hd_api_error(r->req, 404, "not_found", "no rejected message %lld", id);
        return;
    }
    if (rc == HD_EINVAL) {
        /* the audit entry of the attempt is written: let it reach the disk before answering */
        json_t *e = json_pack("{s:s, s:o}", "error", "rejected_again", "message",
                              hd_api_str(result, strlen(result)));
        reply_durable(r, 409, e);
        return;
    }
    if (rc) {
        hd_api_error(r->req, 500, "internal", "replay failed: %s", result);
        return;
    }
    hd_info("admin: rejected message %lld replayed by %s: %s", id, r->who, result);
    reply_durable(r, 200,
                  json_pack("{s:b, s:s, s:I, s:o}", "ok", 1, "action", "replayed", "rejection_id",
                            (json_int_t)id, "result", hd_api_str(result, strlen(result))));
}
