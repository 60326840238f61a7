/*
 * herald-conformance internals. The kit hosts one adapter with a minimal core of its own: the
 * daemon's event loop, HTTP client, throwaway store and real services table (src/services.c),
 * with the entries that report back to the engine (complete, persist) replaced by recording ones
 * and every asynchronous service wrapped so the kit knows what is still outstanding. Between the
 * adapter and the platform (--sim URL, or the kit's echo server) sits the kit's own
 * fault-injecting HTTP proxy. Files: main.c (command line, report), host.c (the minimal core),
 * proxy.c (fault proxy and echo server), assets.c (the items' files), fakeclock.c (the clock and
 * randomness render sees), items.c (sample items), settings.c (the configuration, written the way
 * heraldd reads it), checks_config.c, checks_render.c, checks_ops.c, checks_more.c (the contract).
 */
#ifndef HD_KIT_H
#define HD_KIT_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include <herald/channel.h>
#include <herald/services.h>

#include "conf.h"

struct hd_config;
struct hd_registry;
struct hd_store;
struct hd_http;
struct kit_proxy;
struct kit_assets;

/* ---- results ------------------------------------------------------------------------------- */

enum kit_verdict { KIT_PASS, KIT_WARN, KIT_FAIL, KIT_SKIP };

/* One reported check: "ok 12 send.timeout@2: ..." */
void kit_report(enum kit_verdict v, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* A detail line under the last check (shown with --verbose, and always under a failure). */
void kit_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int kit_wanted(const char *name); /* --only filter */

/* ---- the hosted instance and its ops --------------------------------------------------------- */

#define KIT_MAX_VIOLATIONS 8

struct kit_op {
    struct hd_op op; /* what the adapter sees: must stay first */
    struct kit_op *next_all;
    struct kit_inst *ki;
    int taken;       /* the callback returned 0 */
    int in_call;     /* the adapter's send()/retract()/... is running */
    int completions; /* complete() calls */
    int cancel_called;
    int64_t started_ms, cancelled_ms, completed_ms;
    struct hd_outcome out; /* first outcome; strings owned below */
    char *o_reason, *o_detail, *o_code, *o_remote_id, *o_url;
    char *key, *delivery_id, *target, *remote_id, *remote_url, *state_json;
    struct hd_payload payload;
    struct hd_item_doc *doc;
    char violations[KIT_MAX_VIOLATIONS][200]; /* contract breaches seen on this op */
    int n_violations;
};

struct kit_inst {
    struct hd_instance *in; /* the core's instance struct (engine_int.h), owned */
    void *state;            /* the adapter's */
    int created, destroyed;
};

/* ---- the kit --------------------------------------------------------------------------------- */

struct kit {
    struct event_base *base;
    const struct hd_channel *chan;
    const char *origin;
    struct hd_registry *reg;
    char tmp[256];
    struct hd_store *st;
    struct hd_http *http;
    struct hd_config *cfg;
    void *eng; /* struct hd_engine (engine_int.h): only what the services use is set */
    struct hd_services real, svc;
    struct kit_proxy *proxy;
    struct kit_assets *assets;
    struct kit_inst main;
    struct kit_op *ops; /* every op ever started, kept until the end (late completions) */
    char nonce[32];
    /* options */
    const char *settings_path, *sim_url, *dep_url;
    char *dep_instance; /* the first of the settings' depends_on (owned), or NULL */
    int verbose;
    int64_t timeout_ms;
    /* what is outstanding: only a quiet instance can show a late second completion */
    int http_out, timers_out, persists_out, tokens_out;
    int in_render;
    int64_t fake_offset_ms; /* render sees this much added to the clock */
    /* contract breaches outside any op (services called at the wrong time) */
    char violations[KIT_MAX_VIOLATIONS][200];
    int n_violations;
};

extern struct kit *K;

/* host.c */
int kit_host_init(struct kit *k, char *err, size_t errlen);
void kit_host_free(struct kit *k);
/* Create an instance of the adapter from k->cfg's first instance. */
int kit_inst_create(struct kit *k, struct kit_inst *ki, char *err, size_t errlen);
void kit_inst_destroy(struct kit *k, struct kit_inst *ki);
/* Run the loop until done(arg) is true or deadline_ms (monotonic) passes: 1 when done. */
int kit_run_until(int (*done)(void *arg), void *arg, int64_t timeout_ms);
int kit_quiet(void *arg); /* no HTTP call, persist or token wait outstanding */
void kit_violation(struct kit_op *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Take (and clear) the violations recorded outside ops; returns how many there were. */
int kit_take_violations(char *out, size_t len);

/* An op on item doc (owned by the op afterwards). kind HD_OP_*. remote ids may be NULL. */
struct kit_op *kit_op_new(struct kit_inst *ki, enum hd_op_kind kind, struct hd_item_doc *doc,
                          const char *target, const char *key_suffix);
/* Call the adapter's callback for the op (send/retract/poll/reconcile). 0 when taken. */
int kit_op_call(struct kit_op *o);
void kit_op_cancel(struct kit_op *o);
int kit_op_done(void *op); /* for kit_run_until */
const char *kit_outcome_name(enum hd_outcome_kind k);
/* Render through the adapter (with the kit's render guard on). Returns render's value. */
int kit_render(struct kit_inst *ki, const struct hd_item *item, const struct hd_render_ctx *rc,
               struct hd_payload *out, char *err, size_t errlen);

/* fakeclock.c: while on, CLOCK_REALTIME, time(), gettimeofday() and the random functions of
 * libc answer with offset_ms added / a sequence from seed. */
void kit_fake_clock(int on, int64_t offset_ms, unsigned seed);
int kit_fake_clock_reads(void); /* clock or random reads while on, since the last call */

/* items.c */
struct hd_item_doc;
/* The sample items, by index (0 .. kit_n_items()-1); `tag` makes ids and titles unique. */
size_t kit_n_items(void);
const char *kit_item_name(size_t i);
struct hd_item_doc *kit_item(size_t i, const char *tag, int64_t version);
/* What heraldd would pass render() as the dependency's result for item `it`: a remote id and a
 * portal URL (--dep-url followed by a short hash of the item id: one article per item). */
struct hd_dep_result kit_dep(const struct hd_item *it, char *rid, size_t rlen, char *url,
                             size_t ulen);
/* The instance's first target ("" for single-target adapters). */
const char *kit_first_target(void);

/* settings.c */
/* Parse the settings file (a YAML mapping of the instance's keys), substitute @SIM@. */
int kit_settings_load(struct kit *k, struct hd_node **out, char *err, size_t errlen);
/* Write a whole heraldd configuration with `settings` under channels."<adapter>:kit" to path. */
int kit_settings_write(struct kit *k, const struct hd_node *settings, const char *path);
/* Load it the way heraldd does; 0 and *cfg set, or the diagnostics in d. */
int kit_config_load(struct kit *k, const struct hd_node *settings, struct hd_config **cfg,
                    struct hd_diag *d);
/* A deep copy of a node without the key `drop` (NULL: none) and with `add_key: add_value`
 * appended (NULL: none). */
struct hd_node *kit_node_edit(const struct hd_node *map, const char *drop, const char *add_key,
                              const char *add_value);

/* proxy.c */
enum kit_fault {
    KIT_F_PASS,        /* forward */
    KIT_F_HANG,        /* hold: never answer (until released) */
    KIT_F_DROP,        /* close the connection without forwarding or answering */
    KIT_F_LOST_ANSWER, /* forward (the platform acts), then close without answering */
    KIT_F_SLOW,        /* forward, answer late and in small pieces */
    KIT_F_STATUS,      /* answer `status` (and Retry-After when set) without forwarding */
};
int kit_proxy_start(struct event_base *base, const char *upstream, struct kit_proxy **out,
                    char *err, size_t errlen);
const char *kit_proxy_url(const struct kit_proxy *p); /* http://127.0.0.1:PORT */
/* Count requests from now; request number `at` (1-based; 0: every one) gets `fault`. */
void kit_proxy_arm(struct kit_proxy *p, enum kit_fault fault, int at, int status,
                   const char *retry_after);
int kit_proxy_seen(const struct kit_proxy *p);        /* requests since arm */
int kit_proxy_held(const struct kit_proxy *p);        /* requests held now (HANG) */
const char *kit_proxy_log(const struct kit_proxy *p); /* "POST /x, GET /y" since arm */
void kit_proxy_release(struct kit_proxy *p);          /* close held connections, disarm */
void kit_proxy_free(struct kit_proxy *p);

int kit_assets_start(struct event_base *base, struct kit_assets **out);
const char *kit_assets_url(const struct kit_assets *a);
const void *kit_asset(const char *name, size_t *len, const char **media_type);
void kit_assets_free(struct kit_assets *a);

/* checks */
int kit_check_config(struct kit *k, const struct hd_node *settings);
void kit_check_render(struct kit *k, int after_ops);
void kit_check_ops(struct kit *k);
void kit_check_lifecycle(struct kit *k);

#endif
