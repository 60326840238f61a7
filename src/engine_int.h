/*
 * Internals shared by the engine's files: engine.c (instances, queues, dispatch, breakers, token
 * buckets), outcome.c (what each adapter outcome does to a delivery), wake.c (timers, holds,
 * expiry, crash recovery) and services.c (the table lent to adapters).
 */
#ifndef HD_ENGINE_INT_H
#define HD_ENGINE_INT_H

#include <sys/queue.h>

#include <event2/http.h>

#include <uthash.h>

#include <herald/channel.h>
#include <herald/services.h>

#include "config.h"
#include "engine.h"
#include "http.h"
#include "item.h"
#include "engine_limits.h"
#include "store.h"

/* A target inside an instance ("" for single-target channels): its own breaker and gate. */
struct lane {
    char *target; /* key */
    struct hd_breaker br;
    int64_t not_before; /* Retry-After gate */
    UT_hash_handle hh;
};

struct token_waiter {
    hd_token_cb *cb;
    void *arg;
    STAILQ_ENTRY(token_waiter) link;
};
STAILQ_HEAD(token_waiters, token_waiter);

struct token {
    char *name; /* key */
    hd_token_fetch_fn *fetch;
    void *arg;
    int64_t margin_s;
    char *value;
    int64_t expires_at;
    int fetching;
    struct token_waiters waiters;
    struct hd_instance *inst;
    UT_hash_handle hh;
};

struct opctx;
struct cached_item;
TAILQ_HEAD(op_list, opctx);
TAILQ_HEAD(idle_items, cached_item);

struct hd_quota;

struct hd_cred {
    char *key;
    char *val; /* owned, wiped on free */
    size_t len;
};

/* The ABI's opaque struct hd_instance: one configured channel instance at run time. */
struct hd_instance {
    struct hd_engine *e;
    const struct hd_instance_conf *conf;
    const struct hd_instance_conf *next_conf; /* a reload waiting for the ops in flight */
    const struct hd_channel *chan;
    void *state; /* the adapter's */
    char prefix[160];
    int created;
    int paused, parked;
    char parked_reason[256];
    int in_flight;
    struct hd_bucket bucket;
    struct hd_breaker_conf brc;
    struct lane *lanes;
    char *blocked_json; /* targets whose lanes are blocked, for the pending query */
    int blocked_dirty;
    struct event *pump_ev;  /* deferred pump */
    struct event *pump_tmr; /* pump later (token refill, breaker probe, gate) */
    int64_t pump_at;
    struct token *tokens_cache;
    struct evhttp *inbound; /* the callback listener (inbound.c) */
    char inbound_url[300];
    struct hd_quota *quotas; /* budgets counted ahead of the platform's (quota.c) */
    struct hd_cred *creds;   /* operator-supplied secrets overriding the configuration */
    size_t n_creds;
    struct hd_cred *read_secrets; /* what the adapter read with secret_read(), kept to the end */
    size_t n_read_secrets;
    struct op_list ops;
    /* observability */
    int64_t last_success_ms, last_error_ms;
    char last_error[256];
    uint64_t outcomes[HD_OUT_MAX + 1];
    uint64_t attempts, retries, rate_limited_waits;
    uint64_t entered[HD_D_MAX];
    uint64_t lat_counts[HD_LAT_BUCKETS + 1];
    double lat_sum;
    uint64_t lat_n;
    size_t index;
};

/* One operation in flight (send, retract, poll, reconcile). */
struct opctx {
    struct hd_op op; /* what the adapter sees: must stay first */
    struct hd_engine *e;
    struct hd_instance *inst;
    struct lane *lane;
    int64_t delivery_id;
    int64_t started_ms;
    double started_mono;
    struct hd_item_doc *doc;
    struct hd_payload payload;
    int has_payload;
    char name[512];
    char key[300];
    char *remote_id, *remote_url, *adapter_state;
    int in_call;           /* the adapter's send() etc. is running */
    int completed;         /* complete() was called */
    int probe;             /* this op is the lane's half-open probe */
    struct hd_outcome out; /* copy of the outcome (strings owned below) */
    char *o_reason, *o_detail, *o_code, *o_remote_id, *o_url;
    struct event *deadline_ev;
    int cancelled_by_core;
    UT_hash_handle hh;            /* by delivery_id in e->inflight */
    TAILQ_ENTRY(opctx) link;      /* inst->ops */
    TAILQ_ENTRY(opctx) done_link; /* e->done */
};

struct hd_engine {
    struct event_base *base;
    const struct hd_config *cfg;
    struct hd_store *st;
    struct hd_http *http;
    struct hd_services svc;
    struct hd_instance *insts;
    size_t n_insts;
    struct opctx *inflight; /* by delivery id */
    size_t n_inflight;
    struct op_list done; /* completed ops waiting to be processed */
    struct event *done_ev;
    struct event *wake_tmr;
    struct event *rearm_ev;          /* coalesces hd_engine_rearm() calls of one loop turn */
    struct cached_item *items;       /* parsed items shared by ops (itemcache.c), by key */
    struct cached_item *items_bydoc; /* the same, by document */
    struct idle_items items_idle;    /* those no op holds, least recently used first */
    int64_t wake_at;
    int draining, stopped;
    struct event *drain_tmr;
    hd_drained_cb *drained_cb;
    void *drained_arg;
    /* REFRESH_CREDENTIALS seen once per delivery (a second one parks the instance) */
    struct refreshed {
        int64_t id;
        UT_hash_handle hh;
    } * refreshed;
};

/* engine.c */
struct hd_instance *hd_inst_find(const struct hd_engine *e, const char *id);
struct lane *hd_lane_get(struct hd_instance *in, const char *target);
void hd_lane_success(struct hd_instance *in, struct lane *l, int probe);
void hd_lane_failure(struct hd_instance *in, struct lane *l, int probe);
/* An operator retried: an open breaker of the target lets one probe go now. */
void hd_lane_probe_now(struct hd_instance *in, const char *target);
void hd_inst_kick(struct hd_instance *in);
void hd_inst_kick_at(struct hd_instance *in, int64_t at_ms);
uint64_t hd_random(void);
void hd_inst_set_parked(struct hd_instance *in, int parked, const char *reason);
void hd_inst_note_state(struct hd_instance *in, enum hd_dstate to);
void hd_engine_drain_progress(struct hd_engine *e);
void hd_inst_apply_reload(struct hd_instance *in);
/* Start an op on delivery d (which it takes over). kind: HD_OP_*. */
int hd_op_start(struct hd_instance *in, struct hd_delivery *d, enum hd_op_kind kind);

/* outcome.c */
void hd_op_complete(struct hd_op *op, const struct hd_outcome *out);
void hd_op_finish(struct opctx *o);
int hd_after_delivered(struct hd_engine *e, struct hd_delivery *d);
void hd_release_held(struct hd_engine *e, const char *item, const char *instance);
int hd_engine_resolve_remote(struct hd_engine *e, struct hd_instance *in, const char *remote_id,
                             const struct hd_outcome *out);

/* wake.c */
void hd_wake_rearm(struct hd_engine *e);
int hd_recover(struct hd_engine *e);
int hd_requeue(struct hd_engine *e, struct hd_delivery *d, const char *reason);

/* event callbacks (outcome.c, wake.c) */
void hd_engine_on_done(evutil_socket_t fd, short what, void *arg);
void hd_engine_on_wake(evutil_socket_t fd, short what, void *arg);

/* credentials.c */
const char *hd_inst_credential(const struct hd_instance *in, const char *key, size_t *len);
void hd_inst_load_credentials(struct hd_instance *in);
void hd_inst_free_credentials(struct hd_instance *in);  /* and what secret_read() read */
void hd_inst_free_read_secrets(struct hd_instance *in); /* once the adapter is destroyed */
const char *hd_inst_secret_read(struct hd_instance *in, const char *ref, size_t *len, char *err,
                                size_t errlen);

/* inbound.c */
int hd_inbound_start(struct hd_instance *in, char *err, size_t errlen);
void hd_inbound_stop(struct hd_instance *in);

/* itemcache.c: a parsed item for an op (counted reference; put it back when done) */
struct hd_item_doc *hd_itemcache_get(struct hd_engine *e, const char *id, int64_t version,
                                     struct hd_item_error *err);
void hd_itemcache_put(struct hd_engine *e, struct hd_item_doc *doc);
void hd_itemcache_clear(struct hd_engine *e);

/* quota.c */
int hd_quota_define(struct hd_instance *in, const char *name, int64_t limit, int64_t window_ms);
int hd_quota_take(struct hd_instance *in, const char *name, int64_t n, int64_t *next_ms);
int64_t hd_quota_left(struct hd_instance *in, const char *name);
void hd_quotas_free(struct hd_instance *in);

/* services.c */
void hd_services_init(struct hd_services *svc);
void hd_tokens_free(struct hd_instance *in);

#endif
