/*
 * The delivery engine: per channel instance a queue (the store's pending rows), a concurrency
 * limit, a token bucket, and per target a circuit breaker; retries with exponential backoff and
 * full jitter; Retry-After; holds (embargo, dependencies, interpretations); supersede, retract and
 * revision rules; reconciliation of unknown outcomes; expiry. docs/design.md describes it.
 */
#ifndef HD_ENGINE_H
#define HD_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "delivery.h"

struct hd_engine;
struct hd_config;
struct hd_instance;
struct hd_registry;
struct hd_store;
struct hd_http;
struct hd_item_doc;

int hd_engine_create(struct event_base *base, const struct hd_config *cfg, struct hd_store *st,
                     struct hd_http *http, struct hd_engine **out, char *err, size_t errlen);
/* Create the adapters, recover what a crash left (sending -> unknown), arm timers. */
int hd_engine_start(struct hd_engine *e, char *err, size_t errlen);
/* heraldd --check-config: run every instance's create() (then destroy()) as a start would, on a
 * throw-away engine (an in-memory store, nothing sent, no listener bound), so that an adapter's
 * own checks (a map value, a secret too short) are reported with the instance's file:line.
 * Returns the number of instances refused. */
struct hd_diag;
int hd_engine_check_adapters(const struct hd_config *cfg, struct hd_diag *d);
/* Stop dispatching; wait up to timeout for in-flight ops, cancel the rest; then done(arg). */
typedef void hd_drained_cb(void *arg);
void hd_engine_drain(struct hd_engine *e, int64_t timeout_ms, hd_drained_cb *done, void *arg);
void hd_engine_destroy(struct hd_engine *e); /* after drain; destroys the adapters */
/* SIGHUP: take the channel settings of nc (same instance ids and adapters, else refused with
 * a log line). Each instance switches once its ops in flight are done. */
int hd_engine_reload(struct hd_engine *e, const struct hd_config *nc);

/* ---- called by intake -------------------------------------------------------------------- */

/* A newly created delivery is ready (pending): let its instance look at its queue. */
void hd_engine_kick(struct hd_engine *e, const char *instance);
/* Timers may need to run earlier (a new held/expiring row). */
void hd_engine_rearm(struct hd_engine *e);
/* Intake hands over a document it has just parsed and stored, so that the engine's operations on
 * it need not read and parse it again. Takes ownership. */
struct hd_item_doc;
void hd_engine_offer_item(struct hd_engine *e, struct hd_item_doc *doc);
/* Decide the initial hold of a new delivery of `doc` (embargo, dependency, interpretation).
 * Returns 0 ready, 1 held (d's hold fields and next_at set), -1 cannot go (reason in d->reason,
 * d->detail): the caller creates it failed. */
int hd_engine_hold_check(struct hd_engine *e, struct hd_delivery *d, const char *interprets,
                         int64_t now);
/* Apply a retract at version v to a delivery found in the store (intake calls it per delivery
 * of the item). */
int hd_engine_retract_delivery(struct hd_engine *e, struct hd_delivery *d, int64_t retract_version,
                               const char *reason);
/* Re-examine deliveries held for (item, instance): a delivery there changed state. */
void hd_release_held(struct hd_engine *e, const char *item, const char *instance);
int hd_engine_instance_can(const struct hd_engine *e, const char *instance, unsigned cap);
/* The instance's configuration, or NULL. */
const struct hd_instance_conf *hd_engine_instance_conf(const struct hd_engine *e,
                                                       const char *instance);

/* ---- operator actions (admin API) -------------------------------------------------------- */

int hd_engine_retry(struct hd_engine *e, int64_t delivery_id, const char *who, const char *reason);
int hd_engine_retry_failed(struct hd_engine *e, const char *instance, const char *who,
                           const char *reason, int *n);
int hd_engine_cancel(struct hd_engine *e, int64_t delivery_id, const char *who, const char *reason);
int hd_engine_release(struct hd_engine *e, int64_t delivery_id, const char *who,
                      const char *reason);
int hd_engine_resolve_manual(struct hd_engine *e, int64_t delivery_id, const char *who,
                             const char *reason);
int hd_engine_pause(struct hd_engine *e, const char *instance, int pause, const char *who,
                    const char *reason);
/* New credentials (or an operator's word) un-park an instance. */
int hd_engine_unpark(struct hd_engine *e, const char *instance, const char *who,
                     const char *reason);

/* Replace the secret `key` of an instance (stored 0600 under state_dir/credentials, used instead
 * of the configuration's from now on), recreate the adapter and un-park the instance.
 * HD_EINVAL when key is not a secret key of the adapter. */
int hd_engine_set_credential(struct hd_engine *e, const char *instance, const char *key,
                             const char *value, size_t len, const char *who, const char *reason);

/* ---- state for the admin API and metrics -------------------------------------------------- */

struct hd_instance_view {
    const char *id;
    const char *adapter;
    int paused, parked;
    const char *parked_reason;
    int in_flight, max_in_flight;
    double tokens, rate_per_s;
    int lanes, lanes_open;
    const char *breaker; /* "closed", "open", "half_open" (worst lane) */
    int64_t last_success_ms, last_error_ms;
    const char *last_error;
    uint64_t outcomes[16]; /* by enum hd_outcome_kind */
    uint64_t attempts, retries, rate_limited_waits;
    uint64_t terminal[HD_D_MAX]; /* transitions into each state since start */
};
size_t hd_engine_instances(const struct hd_engine *e);
void hd_engine_instance_view(const struct hd_engine *e, size_t i, struct hd_instance_view *v);
size_t hd_engine_in_flight(const struct hd_engine *e);
/* The callback listener's URL of instance i, or NULL. */
const char *hd_engine_inbound_url(const struct hd_engine *e, size_t i);
/* Delivery latency (approval -> delivered) histogram buckets, per instance index. */
#define HD_LAT_BUCKETS 12
extern const double hd_latency_bounds[HD_LAT_BUCKETS];
void hd_engine_latency(const struct hd_engine *e, size_t i, uint64_t counts[HD_LAT_BUCKETS + 1],
                       double *sum, uint64_t *n);

#endif
