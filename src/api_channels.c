/*
 * The admin API's overview routes: GET /status (the whole daemon at a glance, with alerts) and
 * GET /channels[/{id}] (each channel instance's health, backlog by state, failures, in-flight,
 * breaker, rate budget, last error, and "needs re-authorization" when parked). Counting rows runs
 * on the reader thread; the live state (in flight, breaker, token bucket, parked) is the engine's
 * and is added on the loop when the counts come back.
 */
#include <stdarg.h>

#include "api.h"
#include "common.h"
#include "config.h"
#include "daemon.h"
#include "engine.h"
#include "intake.h"
#include "kafka.h"
#include "store.h"

#define DAY_MS (24 * 3600 * 1000LL)

static const enum hd_dstate counted[] = {
    HD_D_PENDING,     HD_D_HELD,   HD_D_SENDING,    HD_D_WAITING_RETRY, HD_D_PUBLISHING,
    HD_D_RECONCILING, HD_D_PARKED, HD_D_RETRACTING, HD_D_FAILED,        HD_D_MANUAL_ACTION,
};

/* Reader: per instance, rows in each state that still needs attention, plus the last day's
 * delivered and failed; for /status also rejections waiting and the number of items. */
static void q_counts(sqlite3 *db, const json_t *p, struct hd_api_result *res)
{
    sqlite3_stmt *st = hd_api_prepare(
        db, "SELECT COUNT(*) FROM deliveries WHERE instance = ?1 AND state = ?2", res);
    if (!st)
        return;
    json_t *out = json_object(), *inst;
    size_t i;
    json_array_foreach (json_object_get(p, "instances"), i, inst) {
        json_t *c = json_object();
        for (size_t k = 0; k < HD_ARRAY_LEN(counted); k++) {
            sqlite3_reset(st);
            hd_api_bind(st, 1, inst);
            sqlite3_bind_text(st, 2, hd_dstate_name(counted[k]), -1, SQLITE_STATIC);
            int64_t n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
            json_object_set_new(c, hd_dstate_name(counted[k]), json_integer(n));
        }
        json_object_set_new(c, "delivered_24h", json_integer(0));
        json_object_set_new(c, "failed_24h", json_integer(0));
        json_object_set_new(out, json_string_value(inst), c);
    }
    sqlite3_finalize(st);
    st = hd_api_prepare(db,
                        "SELECT instance, state, COUNT(*) FROM deliveries"
                        " WHERE state IN ('delivered', 'failed') AND updated_at >= ?1"
                        " GROUP BY instance, state",
                        res);
    if (!st) {
        json_decref(out);
        return;
    }
    hd_api_bind(st, 1, json_object_get(p, "day_ago"));
    while (sqlite3_step(st) == SQLITE_ROW) {
        json_t *c = json_object_get(out, (const char *)sqlite3_column_text(st, 0));
        const char *s = (const char *)sqlite3_column_text(st, 1);
        if (c && s)
            json_object_set_new(c, strcmp(s, "delivered") == 0 ? "delivered_24h" : "failed_24h",
                                json_integer(sqlite3_column_int64(st, 2)));
    }
    sqlite3_finalize(st);
    res->json = json_pack("{s:o}", "counts", out);
    if (json_is_true(json_object_get(p, "status"))) {
        st = hd_api_prepare(db,
                            "SELECT (SELECT COUNT(*) FROM rejections WHERE replayed_at IS NULL),"
                            " (SELECT COUNT(*) FROM item_heads)",
                            res);
        if (!st)
            return;
        if (sqlite3_step(st) == SQLITE_ROW) {
            json_object_set_new(res->json, "rejections_waiting", hd_api_col_int(st, 0));
            json_object_set_new(res->json, "items", hd_api_col_int(st, 1));
        }
        sqlite3_finalize(st);
    }
}

static const char *health(const struct hd_instance_view *v, json_t *counts)
{
    if (v->parked)
        return "parked";
    if (v->paused)
        return "paused";
    if (strcmp(v->breaker, "open") == 0)
        return "down";
    int64_t now = hd_now_ms();
    if (strcmp(v->breaker, "half_open") == 0 ||
        (v->last_error_ms > v->last_success_ms && now - v->last_error_ms < 15 * 60 * 1000) ||
        json_integer_value(json_object_get(counts, "failed_24h")) > 0)
        return "degraded";
    return "ok";
}

static json_t *channel_json(struct hd_engine *e, size_t i, json_t *counts)
{
    struct hd_instance_view v;
    hd_engine_instance_view(e, i, &v);
    json_t *o = json_object();
    json_object_set_new(o, "id", json_string(v.id));
    json_object_set_new(o, "adapter", json_string(v.adapter));
    json_object_set_new(o, "health", json_string(health(&v, counts)));
    json_object_set_new(o, "paused", json_boolean(v.paused));
    json_object_set_new(o, "parked", json_boolean(v.parked));
    json_object_set_new(o, "needs_reauthorization", json_boolean(v.parked));
    json_object_set_new(o, "parked_reason",
                        v.parked && v.parked_reason && *v.parked_reason
                            ? hd_api_str(v.parked_reason, strlen(v.parked_reason))
                            : json_null());
    json_object_set_new(o, "in_flight", json_integer(v.in_flight));
    json_object_set_new(o, "max_in_flight", json_integer(v.max_in_flight));
    json_object_set_new(o, "breaker", json_string(v.breaker));
    json_object_set_new(o, "targets", json_integer(v.lanes));
    json_object_set_new(o, "targets_open", json_integer(v.lanes_open));
    json_object_set_new(o, "rate",
                        json_pack("{s:f, s:f}", "per_second", v.rate_per_s, "tokens",
                                  v.rate_per_s > 0 ? v.tokens : 0.0));
    json_t *queue = json_object();
    int64_t backlog = 0;
    for (size_t k = 0; k < HD_ARRAY_LEN(counted); k++) {
        const char *s = hd_dstate_name(counted[k]);
        int64_t n = json_integer_value(json_object_get(counts, s));
        if (!hd_dstate_terminal(counted[k])) {
            json_object_set_new(queue, s, json_integer(n));
            backlog += n;
        }
    }
    json_object_set_new(o, "queue", queue);
    json_object_set_new(o, "backlog", json_integer(backlog));
    json_object_set_new(o, "failed",
                        json_integer(json_integer_value(json_object_get(counts, "failed"))));
    json_object_set_new(o, "manual_action",
                        json_integer(json_integer_value(json_object_get(counts, "manual_action"))));
    json_object_set(o, "delivered_24h", json_object_get(counts, "delivered_24h"));
    json_object_set(o, "failed_24h", json_object_get(counts, "failed_24h"));
    json_object_set_new(o, "last_success_at", hd_api_time_json(v.last_success_ms));
    json_object_set_new(o, "last_error_at", hd_api_time_json(v.last_error_ms));
    json_object_set_new(o, "last_error",
                        v.last_error && *v.last_error
                            ? hd_api_str(v.last_error, strlen(v.last_error))
                            : json_null());
    static const char *const outcomes[] = {
        "delivered",      "accepted", "retry",   "retry_after", "refresh_credentials",
        "needs_operator", "rejected", "unknown", "cancelled"};
    json_t *oc = json_object();
    for (size_t k = 0; k < HD_ARRAY_LEN(outcomes); k++)
        json_object_set_new(oc, outcomes[k], json_integer((json_int_t)v.outcomes[k]));
    json_object_set_new(o, "since_start",
                        json_pack("{s:I, s:I, s:I, s:o}", "attempts", (json_int_t)v.attempts,
                                  "retries", (json_int_t)v.retries, "rate_limited_waits",
                                  (json_int_t)v.rate_limited_waits, "outcomes", oc));
    return o;
}

static json_t *channels_json(struct hd_api *api, json_t *counts, const char *only)
{
    struct hd_engine *e = hd_daemon_engine(hd_api_daemon(api));
    json_t *a = json_array();
    for (size_t i = 0; i < hd_engine_instances(e); i++) {
        struct hd_instance_view v;
        hd_engine_instance_view(e, i, &v);
        if (only && strcmp(only, v.id) != 0)
            continue;
        json_array_append_new(a, channel_json(e, i, json_object_get(counts, v.id)));
    }
    return a;
}

static void finish_channels(struct hd_api *api, struct evhttp_request *req,
                            struct hd_api_result *res)
{
    json_t *a = channels_json(api, json_object_get(res->json, "counts"), NULL);
    hd_api_reply_json(req, 200, json_pack("{s:o}", "channels", a));
}

static void finish_channel(struct hd_api *api, struct evhttp_request *req,
                           struct hd_api_result *res)
{
    json_t *counts = json_object_get(res->json, "counts");
    const char *id = json_object_iter_key(json_object_iter(counts));
    json_t *a = channels_json(api, counts, id);
    if (json_array_size(a) == 1)
        hd_api_reply_json(req, 200, json_pack("{s:O}", "channel", json_array_get(a, 0)));
    else
        hd_api_error(req, 404, "not_found", "the channel went away (configuration reloaded)");
    json_decref(a);
}

static json_t *instance_ids(struct hd_api *api, const char *only)
{
    struct hd_engine *e = hd_daemon_engine(hd_api_daemon(api));
    json_t *a = json_array();
    for (size_t i = 0; i < hd_engine_instances(e); i++) {
        struct hd_instance_view v;
        hd_engine_instance_view(e, i, &v);
        if (!only || strcmp(only, v.id) == 0)
            json_array_append_new(a, json_string(v.id));
    }
    return a;
}

static json_t *count_params(struct hd_api *api, const char *only, int status)
{
    return json_pack("{s:o, s:I, s:b}", "instances", instance_ids(api, only), "day_ago",
                     (json_int_t)(hd_now_ms() - DAY_MS), "status", status);
}

void hd_api_channels(struct hd_api_req *r)
{
    if (hd_api_query_only(r, NULL) != 0)
        return;
    hd_api_submit(hd_api_reader(r->api), r->req, q_counts, count_params(r->api, NULL, 0),
                  finish_channels);
}

void hd_api_channel(struct hd_api_req *r)
{
    if (hd_api_query_only(r, NULL) != 0)
        return;
    json_t *p = count_params(r->api, r->segs[1], 0);
    if (json_array_size(json_object_get(p, "instances")) == 0) {
        json_decref(p);
        hd_api_error(r->req, 404, "not_found", "no channel '%.100s' is configured", r->segs[1]);
        return;
    }
    hd_api_submit(hd_api_reader(r->api), r->req, q_counts, p, finish_channel);
}

/* An alert: level, a stable code, the channel and count it is about (for the dashboard's own
 * wording), and an English message. */
static void add_alert(json_t *alerts, const char *level, const char *code, const char *channel,
                      json_int_t count, const char *fmt, ...) __attribute__((format(printf, 6, 7)));
static void add_alert(json_t *alerts, const char *level, const char *code, const char *channel,
                      json_int_t count, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    json_t *a = json_pack("{s:s, s:s, s:o}", "level", level, "code", code, "message",
                          hd_api_str(msg, strlen(msg)));
    if (channel)
        json_object_set_new(a, "channel", json_string(channel));
    if (count)
        json_object_set_new(a, "count", json_integer(count));
    json_array_append_new(alerts, a);
}

static void finish_status(struct hd_api *api, struct evhttp_request *req, struct hd_api_result *res)
{
    struct hd_daemon *d = hd_api_daemon(api);
    struct hd_kafka *k = hd_daemon_kafka(d);
    struct hd_engine *e = hd_daemon_engine(d);
    json_t *counts = json_object_get(res->json, "counts");
    json_t *channels = channels_json(api, counts, NULL);
    json_t *totals = json_object(), *alerts = json_array(), *c;
    size_t i;
    json_array_foreach (channels, i, c) {
        const char *id = json_string_value(json_object_get(c, "id"));
        json_t *n = json_object_get(counts, id), *v;
        const char *s;
        json_object_foreach (n, s, v) {
            json_object_set_new(totals, s,
                                json_integer(json_integer_value(json_object_get(totals, s)) +
                                             json_integer_value(v)));
        }
        const char *why = json_string_value(json_object_get(c, "parked_reason"));
        const char *err = json_string_value(json_object_get(c, "last_error"));
        if (json_is_true(json_object_get(c, "parked")))
            add_alert(alerts, "error", "channel_parked", id, 0, "%s needs an operator: %s", id,
                      why ? why : "re-authorization");
        else if (strcmp(json_string_value(json_object_get(c, "health")), "down") == 0)
            add_alert(alerts, "error", "channel_down", id, 0, "%s is not answering: %s", id,
                      err ? err : "circuit breaker open");
    }
    int64_t failed = json_integer_value(json_object_get(totals, "failed"));
    if (failed > 0)
        add_alert(alerts, "warning", "deliveries_failed", NULL, failed,
                  "%lld delivery(ies) failed and wait for an operator (dead letters)",
                  (long long)failed);
    int64_t waiting = json_integer_value(json_object_get(res->json, "rejections_waiting"));
    if (waiting > 0)
        add_alert(alerts, "warning", "messages_rejected", NULL, waiting,
                  "%lld rejected message(s) on the dead-letter list", (long long)waiting);
    if (!hd_kafka_joined(k))
        add_alert(alerts, "warning", "not_joined", NULL, 0,
                  "the Kafka consumer group is not joined yet");
    if (hd_kafka_paused(k))
        add_alert(alerts, "error", "intake_paused", NULL, 0,
                  "intake is paused (store trouble or back-pressure): new items wait in Kafka");
    uint64_t acc = 0, rej = 0, dup = 0, sup = 0;
    if (hd_daemon_intake(d))
        hd_intake_stats(hd_daemon_intake(d), &acc, &rej, &dup, &sup);
    int64_t now = hd_now_ms(), started_ms = hd_api_started_ms(api);
    json_t *o = json_object();
    json_object_set_new(o, "version", json_string(HERALD_VERSION));
    json_object_set_new(o, "now", hd_api_time_json(now));
    json_object_set_new(o, "started_at", hd_api_time_json(started_ms));
    json_object_set_new(o, "uptime_s", json_integer((now - started_ms) / 1000));
    json_object_set_new(o, "ready", json_boolean(hd_kafka_joined(k) && !hd_kafka_paused(k)));
    json_object_set_new(o, "intake",
                        json_pack("{s:b, s:b, s:I, s:I, s:I, s:I, s:I}", "joined",
                                  hd_kafka_joined(k), "paused", hd_kafka_paused(k), "consumed",
                                  (json_int_t)hd_kafka_consumed(k), "accepted", (json_int_t)acc,
                                  "rejected", (json_int_t)rej, "duplicates", (json_int_t)dup,
                                  "superseded", (json_int_t)sup));
    json_object_set_new(o, "in_flight", json_integer((json_int_t)hd_engine_in_flight(e)));
    json_object_set_new(o, "outbox_pending",
                        json_integer(hd_store_outbox_count(hd_daemon_store(d))));
    json_object_set(o, "items", json_object_get(res->json, "items"));
    json_object_set(o, "rejections_waiting", json_object_get(res->json, "rejections_waiting"));
    json_object_set_new(o, "deliveries", totals);
    json_object_set_new(o, "alerts", alerts);
    json_object_set_new(o, "channels", channels);
    hd_api_reply_json(req, 200, o);
}

void hd_api_status(struct hd_api_req *r)
{
    if (hd_api_query_only(r, NULL) != 0)
        return;
    hd_api_submit(hd_api_reader(r->api), r->req, q_counts, count_params(r->api, NULL, 1),
                  finish_status);
}
