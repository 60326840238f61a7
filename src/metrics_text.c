/*
 * /metrics in the Prometheus text format: per channel instance (deliveries by state, attempts
 * by outcome, retries, queue depth, in flight, breaker, rate-limited waits, delivery latency from
 * approval to delivered, last success), intake (consumed, rejected by reason, consumer lag), the
 * store (commits, commit latency, outbox backlog) and adapter-defined counters.
 */
#include <stdarg.h>

#include "common.h"
#include "config.h"
#include "daemon.h"
#include "delivery.h"
#include "engine.h"
#include "kafka.h"
#include "metrics.h"
#include "store.h"

struct buf {
    char *p;
    size_t len, cap;
};

static void put(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    for (;;) {
        va_start(ap, fmt);
        int n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap - b->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0)
            return;
        if (b->p && b->len + (size_t)n < b->cap) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = b->cap ? b->cap * 2 : 16384;
        while (cap < b->len + (size_t)n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p)
            return;
        b->p = p;
        b->cap = cap;
    }
}

/* label values: backslash, double quote and newline escaped */
static const char *esc(const char *s, char *out, size_t len)
{
    size_t j = 0;
    for (; s && *s && j + 3 < len; s++) {
        if (*s == '\\' || *s == '"') {
            out[j++] = '\\';
            out[j++] = *s;
        } else if (*s == '\n') {
            out[j++] = '\\';
            out[j++] = 'n';
        } else {
            out[j++] = *s;
        }
    }
    out[j] = '\0';
    return out;
}

static const char *const outcome_names[] = {
    "delivered",      "accepted", "retry",   "retry_after", "refresh_credentials",
    "needs_operator", "rejected", "unknown", "cancelled"};

struct lag_ctx {
    struct buf *b;
};

static void on_lag(void *arg, const char *topic, int32_t partition, int64_t lag)
{
    struct lag_ctx *c = arg;
    char t[256];
    put(c->b, "herald_consumer_lag{topic=\"%s\",partition=\"%d\"} %lld\n", esc(topic, t, sizeof(t)),
        partition, (long long)lag);
}

struct reg_ctx {
    struct buf *b;
    const char *last_family;
};

static void on_registry(void *arg, const char *family, const char *instance, const char *label,
                        double v)
{
    struct reg_ctx *c = arg;
    char i[256], l[256];
    static const char *const help[][2] = {
        {"herald_intake_consumed_total", "Messages taken from the items topic."},
        {"herald_intake_accepted_total", "Messages stored as items, by action."},
        {"herald_intake_rejected_total", "Messages rejected (dead letters), by reason."},
        {"herald_intake_duplicates_total", "Messages already stored (re-delivered)."},
    };
    if (!c->last_family || strcmp(c->last_family, family) != 0) {
        for (size_t h = 0; h < HD_ARRAY_LEN(help); h++)
            if (strcmp(help[h][0], family) == 0)
                put(c->b, "# HELP %s %s\n", family, help[h][1]);
        put(c->b, "# TYPE %s counter\n", family);
    }
    c->last_family = family;
    /* intake's accepted counter is labelled by the item's action, the others by reason */
    const char *lname = strcmp(family, "herald_intake_accepted_total") == 0 ? "action" : "reason";
    if (instance && *instance)
        put(c->b, "%s{instance=\"%s\",label=\"%s\"} %.17g\n", family, esc(instance, i, sizeof(i)),
            esc(label, l, sizeof(l)), v);
    else if (label && *label)
        put(c->b, "%s{%s=\"%s\"} %.17g\n", family, lname, esc(label, l, sizeof(l)), v);
    else
        put(c->b, "%s %.17g\n", family, v);
}

char *hd_metrics_render(struct hd_daemon *d);
char *hd_metrics_render(struct hd_daemon *d)
{
    struct buf b = {0};
    struct hd_engine *e = hd_daemon_engine(d);
    struct hd_store *st = hd_daemon_store(d);
    struct hd_kafka *k = hd_daemon_kafka(d);
    size_t n = hd_engine_instances(e);
    char id[256];
    put(&b, "# HELP herald_up 1 while heraldd runs.\n# TYPE herald_up gauge\nherald_up 1\n");
    put(&b,
        "# HELP herald_build_info The running heraldd's version.\n"
        "# TYPE herald_build_info gauge\nherald_build_info{version=\"%s\"} 1\n",
        HERALD_VERSION);

    put(&b, "# HELP herald_deliveries_total Deliveries that entered each state since start.\n"
            "# TYPE herald_deliveries_total counter\n");
    for (size_t i = 0; i < n; i++) {
        struct hd_instance_view v;
        hd_engine_instance_view(e, i, &v);
        for (int s = 0; s < HD_D_MAX; s++)
            if (v.terminal[s])
                put(&b, "herald_deliveries_total{instance=\"%s\",state=\"%s\"} %llu\n",
                    esc(v.id, id, sizeof(id)), hd_dstate_name((enum hd_dstate)s),
                    (unsigned long long)v.terminal[s]);
    }
    put(&b, "# HELP herald_attempts_total Operations on channels by outcome.\n"
            "# TYPE herald_attempts_total counter\n");
    for (size_t i = 0; i < n; i++) {
        struct hd_instance_view v;
        hd_engine_instance_view(e, i, &v);
        for (int o = 0; o < HD_OUT_MAX; o++)
            put(&b, "herald_attempts_total{instance=\"%s\",outcome=\"%s\"} %llu\n",
                esc(v.id, id, sizeof(id)), outcome_names[o], (unsigned long long)v.outcomes[o]);
    }
    put(&b, "# HELP herald_retries_total Deliveries scheduled for another attempt.\n"
            "# TYPE herald_retries_total counter\n");
    for (size_t i = 0; i < n; i++) {
        struct hd_instance_view v;
        hd_engine_instance_view(e, i, &v);
        put(&b, "herald_retries_total{instance=\"%s\"} %llu\n", esc(v.id, id, sizeof(id)),
            (unsigned long long)v.retries);
    }
    put(&b, "# HELP herald_rate_limited_waits_total Dispatches that waited for the token "
            "bucket.\n# TYPE herald_rate_limited_waits_total counter\n");
    for (size_t i = 0; i < n; i++) {
        struct hd_instance_view v;
        hd_engine_instance_view(e, i, &v);
        put(&b, "herald_rate_limited_waits_total{instance=\"%s\"} %llu\n",
            esc(v.id, id, sizeof(id)), (unsigned long long)v.rate_limited_waits);
    }
    put(&b, "# HELP herald_queue_depth Deliveries not yet done, by state.\n"
            "# TYPE herald_queue_depth gauge\n");
    for (size_t i = 0; i < n; i++) {
        struct hd_instance_view v;
        hd_engine_instance_view(e, i, &v);
        for (int s = 0; s < HD_D_DELIVERED; s++)
            put(&b, "herald_queue_depth{instance=\"%s\",state=\"%s\"} %lld\n",
                esc(v.id, id, sizeof(id)), hd_dstate_name((enum hd_dstate)s),
                (long long)hd_store_count_state(st, v.id, (enum hd_dstate)s));
    }
    put(&b, "# HELP herald_in_flight Operations in flight.\n# TYPE herald_in_flight gauge\n");
    put(&b, "# HELP herald_breaker_open Targets whose circuit breaker is open.\n"
            "# TYPE herald_breaker_open gauge\n");
    put(&b, "# HELP herald_channel_parked 1 when the instance waits for an operator.\n"
            "# TYPE herald_channel_parked gauge\n");
    put(&b, "# HELP herald_channel_paused 1 when an operator paused the instance.\n"
            "# TYPE herald_channel_paused gauge\n");
    put(&b, "# HELP herald_last_success_timestamp_seconds Last delivery that succeeded.\n"
            "# TYPE herald_last_success_timestamp_seconds gauge\n");
    put(&b, "# HELP herald_breaker_state Circuit breaker of the instance (its worst target): 1 "
            "for the state it is in.\n# TYPE herald_breaker_state gauge\n");
    put(&b, "# HELP herald_deliveries_failed Deliveries in the failed state now (the dead-letter "
            "view), waiting for an operator.\n# TYPE herald_deliveries_failed gauge\n");
    for (size_t i = 0; i < n; i++) {
        struct hd_instance_view v;
        hd_engine_instance_view(e, i, &v);
        esc(v.id, id, sizeof(id));
        put(&b, "herald_in_flight{instance=\"%s\"} %d\n", id, v.in_flight);
        put(&b, "herald_breaker_open{instance=\"%s\"} %d\n", id, v.lanes_open);
        put(&b, "herald_channel_parked{instance=\"%s\"} %d\n", id, v.parked);
        put(&b, "herald_channel_paused{instance=\"%s\"} %d\n", id, v.paused);
        put(&b, "herald_last_success_timestamp_seconds{instance=\"%s\"} %.3f\n", id,
            (double)v.last_success_ms / 1000.0);
        static const char *const breaker_states[] = {"closed", "half_open", "open"};
        for (size_t s = 0; s < HD_ARRAY_LEN(breaker_states); s++)
            put(&b, "herald_breaker_state{instance=\"%s\",state=\"%s\"} %d\n", id,
                breaker_states[s], strcmp(v.breaker, breaker_states[s]) == 0);
        put(&b, "herald_deliveries_failed{instance=\"%s\"} %lld\n", id,
            (long long)hd_store_count_state(st, v.id, HD_D_FAILED));
    }
    put(&b, "# HELP herald_delivery_latency_seconds From approval to delivered.\n"
            "# TYPE herald_delivery_latency_seconds histogram\n");
    for (size_t i = 0; i < n; i++) {
        struct hd_instance_view v;
        uint64_t counts[HD_LAT_BUCKETS + 1], cnt;
        double sum;
        hd_engine_instance_view(e, i, &v);
        hd_engine_latency(e, i, counts, &sum, &cnt);
        esc(v.id, id, sizeof(id));
        uint64_t cum = 0;
        for (int j = 0; j < HD_LAT_BUCKETS; j++) {
            cum += counts[j];
            put(&b, "herald_delivery_latency_seconds_bucket{instance=\"%s\",le=\"%g\"} %llu\n", id,
                hd_latency_bounds[j], (unsigned long long)cum);
        }
        put(&b, "herald_delivery_latency_seconds_bucket{instance=\"%s\",le=\"+Inf\"} %llu\n", id,
            (unsigned long long)cnt);
        put(&b, "herald_delivery_latency_seconds_sum{instance=\"%s\"} %.6f\n", id, sum);
        put(&b, "herald_delivery_latency_seconds_count{instance=\"%s\"} %llu\n", id,
            (unsigned long long)cnt);
    }
    put(&b, "# HELP herald_consumer_lag Messages on the items topic not consumed yet.\n"
            "# TYPE herald_consumer_lag gauge\n");
    struct lag_ctx lc = {&b};
    hd_kafka_lag(k, on_lag, &lc);
    put(&b,
        "# HELP herald_intake_paused 1 while intake is paused.\n"
        "# TYPE herald_intake_paused gauge\nherald_intake_paused %d\n",
        hd_kafka_paused(k));
    struct hd_store_stats ss;
    hd_store_stats(st, &ss);
    put(&b,
        "# HELP herald_store_commits_total Store batches committed (group commit).\n"
        "# TYPE herald_store_commits_total counter\nherald_store_commits_total %llu\n",
        (unsigned long long)ss.commits);
    put(&b, "# HELP herald_store_commit_seconds Time from a batch's COMMIT until it is on disk.\n"
            "# TYPE herald_store_commit_seconds histogram\n");
    uint64_t cum = 0;
    for (int j = 0; j < HD_STORE_COMMIT_BUCKETS; j++) {
        cum += ss.commit_buckets[j];
        put(&b, "herald_store_commit_seconds_bucket{le=\"%g\"} %llu\n", hd_store_commit_bounds[j],
            (unsigned long long)cum);
    }
    put(&b, "herald_store_commit_seconds_bucket{le=\"+Inf\"} %llu\n",
        (unsigned long long)ss.commits);
    put(&b, "herald_store_commit_seconds_sum %.6f\nherald_store_commit_seconds_count %llu\n",
        ss.commit_seconds_sum, (unsigned long long)ss.commits);
    put(&b,
        "# HELP herald_store_pruned_rows_total Rows of attempts, state history and dead letters "
        "store.retention deleted.\n# TYPE herald_store_pruned_rows_total counter\n"
        "herald_store_pruned_rows_total %llu\n",
        (unsigned long long)hd_daemon_pruned_rows(d));
    put(&b,
        "# HELP herald_outbox_pending Status events not yet acknowledged by Kafka.\n"
        "# TYPE herald_outbox_pending gauge\nherald_outbox_pending %lld\n",
        (long long)hd_store_outbox_count(st));
    put(&b,
        "# HELP herald_producer_queue Messages the Kafka producer holds (sent, not yet "
        "acknowledged).\n# TYPE herald_producer_queue gauge\nherald_producer_queue %zu\n",
        hd_kafka_producer_outq(k));
    struct reg_ctx rc = {&b, NULL};
    hd_metrics_each(on_registry, &rc);
    return b.p;
}
