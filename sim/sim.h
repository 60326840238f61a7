/*
 * herald-sim: the channel simulators' shared server part.
 *
 * Each simulator (channels/<name>/sim_<name>.c) is a struct hd_sim_def. herald-sim runs every
 * simulator on its own ephemeral port of 127.0.0.1, on one libevent loop, and adds to each the
 * same control endpoints under /_sim/ (fault knobs, what was received, clock, reset). The
 * simulator itself only implements the platform's wire protocol and rules, and tells the common
 * part which requests had an effect (applied) and which were duplicates.
 *
 * Control endpoints (JSON in and out) on every simulator's port:
 *   POST /_sim/faults    {"fail_next":N,"status":503,"retry_after":"2","body":"...",
 *                         "latency_ms":M,"drop_next":N,"drop_after_next":N,"match":"/path/prefix"}
 *                        fail_next: answer the next N matching requests with `status` (default
 *                        503) and Retry-After when given, without applying them;
 *                        drop_next: close the connection of the next N without applying or
 *                        answering; drop_after_next: apply, then close without answering (the
 *                        response is lost); latency_ms: delay every answer (0 clears).
 *   GET  /_sim/faults    the knobs now in force
 *   GET  /_sim/received  {"requests":raw,"applied":n,"duplicates":n,"faulted":n,"dropped":n,
 *                         "by_key":{key:{"requests":n,"applied":n}},"log":[last 1000 requests]}
 *   GET  /_sim/state     the simulator's own model (inspect())
 *   POST /_sim/clock     {"advance_s":N} moves this simulator's clock forward
 *   POST /_sim/reset     clears records, knobs, clock offset and the simulator's model
 *   POST /_sim/<other>   passed to the simulator's control()
 */
#ifndef HD_SIM_H
#define HD_SIM_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>
#include <jansson.h>

struct hd_sim;
struct hd_sim_req;

struct hd_sim_def {
    const char *name; /* "webhook", "website", ... */
    const char *description;
    /* conf: this simulator's section of herald-sim's --config JSON (an empty object if none). */
    int (*init)(struct hd_sim *sim, const json_t *conf, void **state);
    void (*destroy)(void *state);
    /* Forget the model (POST /_sim/reset). */
    void (*reset)(void *state);
    /* A request that is not a control request. Must answer it, now or later, exactly once, with
     * hd_sim_reply*() or hd_sim_drop(). */
    void (*handle)(void *state, struct hd_sim_req *req);
    json_t *(*inspect)(void *state); /* GET /_sim/state; may be NULL */
    /* POST /_sim/<path> that the common part does not know; *reply is sent with status 200,
     * a non-zero return gives 404. May be NULL. */
    int (*control)(void *state, const char *path, const json_t *body, json_t **reply);
};

/* ---- the request ---------------------------------------------------------------------------- */

const char *hd_sim_req_method(const struct hd_sim_req *r);
const char *hd_sim_req_path(const struct hd_sim_req *r);  /* decoded path without query */
const char *hd_sim_req_query(const struct hd_sim_req *r, const char *name); /* decoded, or NULL */
const char *hd_sim_req_header(const struct hd_sim_req *r, const char *name);
const char *hd_sim_req_body(const struct hd_sim_req *r, size_t *len); /* NUL-terminated */
/* multipart/form-data: the part named `name` (content and its filename / content type). */
int hd_sim_req_part(const struct hd_sim_req *r, const char *name, const char **data, size_t *len,
                    const char **filename, const char **content_type);
/* application/x-www-form-urlencoded body field, decoded, or NULL. */
const char *hd_sim_req_form(const struct hd_sim_req *r, const char *name);

/* ---- answering ------------------------------------------------------------------------------ */

void hd_sim_reply(struct hd_sim_req *r, int status, const char *content_type, const void *body,
                  size_t len);
/* Takes a reference to `body` (json_decref after sending). */
void hd_sim_reply_json(struct hd_sim_req *r, int status, json_t *body);
/* Add a response header before replying. */
void hd_sim_reply_header(struct hd_sim_req *r, const char *name, const char *value);
/* Close the connection without an answer. */
void hd_sim_drop(struct hd_sim_req *r);

/* ---- recording effects ---------------------------------------------------------------------- */

/* The request had an effect on the platform's state (created, updated or deleted something).
 * `key` identifies the effect for duplicate counting (idempotency key, or e.g. item:revision). */
void hd_sim_applied(struct hd_sim_req *r, const char *key);
/* The request repeated one already applied (a replay, or a platform "duplicate" error). */
void hd_sim_duplicate(struct hd_sim_req *r, const char *key);

/* ---- the simulator's environment ------------------------------------------------------------ */

struct event_base *hd_sim_base(struct hd_sim *sim);
int64_t hd_sim_now_ms(struct hd_sim *sim); /* wall clock plus the /_sim/clock offset */
const char *hd_sim_url(struct hd_sim *sim); /* "http://127.0.0.1:PORT" of this simulator */
/* The URL of another simulator in the same process (e.g. for callbacks), or NULL. */
const char *hd_sim_peer_url(struct hd_sim *sim, const char *name);
void hd_sim_log(struct hd_sim *sim, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- running (herald-sim's main, and heraldd --demo) --------------------------------------- */

extern const struct hd_sim_def *const hd_builtin_sims[]; /* generated, NULL-terminated */

struct hd_sim_set;
/* Start the named simulators (NULL: all) on `base`, each on an ephemeral 127.0.0.1 port.
 * config: herald-sim's --config JSON (may be NULL). */
int hd_sim_set_start(struct event_base *base, const char *const *names, const json_t *config,
                     struct hd_sim_set **out);
/* {"webhook":"http://127.0.0.1:PORT",...} */
json_t *hd_sim_set_urls(const struct hd_sim_set *set);
const char *hd_sim_set_url(const struct hd_sim_set *set, const char *name);
void hd_sim_set_stop(struct hd_sim_set *set); /* NULL-safe */

#endif
