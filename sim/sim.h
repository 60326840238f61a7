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
 *                        A POST sets only the knobs it names (N = 0 clears one); `match` limits
 *                        the knobs named in the same POST to paths starting with it; status,
 *                        retry_after and body go with fail_next. Unknown fields give 400.
 *                        Knobs act before the simulator sees a request: drop_next first, then
 *                        fail_next; latency_ms also delays fault answers.
 *   GET  /_sim/faults    the knobs now in force: {"fail":{"next":N,"status":S,"retry_after":..,
 *                         "body":..,"match":..},"drop":{"next":N,"match":..},
 *                         "drop_after":{"next":N,"match":..},"latency":{"ms":M,"match":..}}
 *   GET  /_sim/received  {"requests":raw,"applied":n,"duplicates":n,"faulted":n,"dropped":n,
 *                         "pending":n,"by_key":{key:{"requests":n,"applied":n,"duplicates":n}},
 *                         "log":[last 1000 requests, oldest first: {"seq","method","path","key",
 *                         "status","lost_status","applied","duplicate","faulted","dropped",
 *                         "pending","time_ms"}]}
 *                        Query: log=N keeps the last N entries, by_key=0 leaves by_key out.
 *                        A request's key is its Idempotency-Key header, else the first key the
 *                        simulator gave hd_sim_applied() / hd_sim_duplicate() for it.
 *   GET  /_sim/state     the simulator's own model (inspect())
 *   GET  /_sim/clock     {"offset_s":..,"now_ms":..}
 *   POST /_sim/clock     {"advance_s":N} moves this simulator's clock forward (N may be negative)
 *   POST /_sim/reset     clears records, knobs, clock offset and the simulator's model
 *   ANY  /_sim/echo      what the common part parsed from this request: method, path, query,
 *                        form fields and multipart parts (?field=NAME and ?part=NAME show what
 *                        hd_sim_req_form() / hd_sim_req_part() return) — for simulator authors
 *   POST /_sim/<other>   passed to the simulator's control()
 * Control requests are neither counted nor logged nor subject to the knobs.
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
     * hd_sim_reply*() or hd_sim_drop(); `req` must not be used after that. Requests still
     * unanswered when the set stops are freed by the common part after destroy(). */
    void (*handle)(void *state, struct hd_sim_req *req);
    json_t *(*inspect)(void *state); /* GET /_sim/state; may be NULL */
    /* POST /_sim/<path> that the common part does not know; *reply is sent with status 200,
     * a non-zero return gives 404. May be NULL. */
    int (*control)(void *state, const char *path, const json_t *body, json_t **reply);
};

/* ---- the request ---------------------------------------------------------------------------- */

const char *hd_sim_req_method(const struct hd_sim_req *r);
const char *hd_sim_req_path(const struct hd_sim_req *r); /* decoded path without query */
const char *hd_sim_req_query(const struct hd_sim_req *r, const char *name); /* decoded, or NULL */
const char *hd_sim_req_header(const struct hd_sim_req *r, const char *name);
const char *hd_sim_req_body(const struct hd_sim_req *r, size_t *len); /* NUL-terminated */
/* multipart/form-data: the part named `name` (content and its filename / content type, NULL when
 * absent). The body is parsed on first use. Returns 0, HD_ENOTFOUND when there is no such part, or
 * HD_EINVAL when the body is not well-formed multipart/form-data (boundary from Content-Type).
 * Part data is binary-safe and NUL-terminated; all of it lives as long as the request. */
int hd_sim_req_part(const struct hd_sim_req *r, const char *name, const char **data, size_t *len,
                    const char **filename, const char **content_type);
/* application/x-www-form-urlencoded body field, decoded, or NULL; with a multipart/form-data body,
 * the part of that name sent without a filename. */
const char *hd_sim_req_form(const struct hd_sim_req *r, const char *name);

/* Non-zero when the media type of the Content-Type header (parameters ignored) is `type`. */
int hd_sim_req_content_type_is(const struct hd_sim_req *r, const char *type);
/* Non-zero when another request with Idempotency-Key `key` was handed to this simulator and is not
 * answered yet (its answer held back by latency_ms, or not given yet): the IETF draft's 409. */
int hd_sim_in_flight(const struct hd_sim_req *r, const char *key);
struct hd_sim *hd_sim_req_sim(const struct hd_sim_req *r);

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

/* Call these before answering. */
/* The request had an effect on the platform's state (created, updated or deleted something).
 * `key` identifies the effect for duplicate counting (idempotency key, or e.g. item:revision;
 * NULL: the request's Idempotency-Key header). */
void hd_sim_applied(struct hd_sim_req *r, const char *key);
/* The request repeated one already applied (a replay, or a platform "duplicate" error). */
void hd_sim_duplicate(struct hd_sim_req *r, const char *key);

/* ---- the simulator's environment ------------------------------------------------------------ */

struct event_base *hd_sim_base(struct hd_sim *sim);
int64_t hd_sim_now_ms(struct hd_sim *sim);  /* wall clock plus the /_sim/clock offset */
const char *hd_sim_url(struct hd_sim *sim); /* "http://127.0.0.1:PORT" of this simulator */
/* The URL of another simulator in the same process (e.g. for callbacks), or NULL. */
const char *hd_sim_peer_url(struct hd_sim *sim, const char *name);
void hd_sim_log(struct hd_sim *sim, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void hd_sim_log_error(struct hd_sim *sim, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* For init(): logs and returns HD_EINVAL when `conf` has a key not in NULL-terminated `known`. */
int hd_sim_conf_check_keys(struct hd_sim *sim, const json_t *conf, const char *const *known);

/* ---- helpers for signed, idempotent push protocols (sim_idem.c) ----------------------------- */

/* Stripe-style signature check: `header` holds one or more comma-separated "v1=<hex>" values (other
 * schemes are ignored); returns 0 when one equals hex(HMAC-SHA256(secret, timestamp "." body)),
 * compared in constant time, else HD_EINVAL. */
int hd_sim_verify_v1(const char *secret, const char *timestamp, const char *body, size_t len,
                     const char *header);
void hd_sim_sha256_hex(const void *data, size_t len, char out[65]);

/* Idempotency-Key records (CHANNELS.md §3.2, Stripe and the IETF draft): the first response given
 * for a key is saved with a fingerprint of method, path and body, and replayed for the same
 * request; records older than ttl_ms (on the simulator's clock) are forgotten. */
struct hd_sim_idem;
/* replay_2xx: 0 replays the saved status; otherwise a saved 2xx status is replayed as this one
 * (CHANNELS.md §3.3 answers a replayed 201 with 200). */
struct hd_sim_idem *hd_sim_idem_create(struct hd_sim *sim, int64_t ttl_ms, int replay_2xx);
void hd_sim_idem_destroy(struct hd_sim_idem *idem); /* NULL-safe */
void hd_sim_idem_clear(struct hd_sim_idem *idem);
/* 0: `key` is new, process the request and answer through hd_sim_idem_reply() (or answer without
 * saving, e.g. a validation error). 1: answered already: 409 {"error":"in_flight"} while another
 * request with the key is unanswered, the saved response (counted a duplicate, header
 * Idempotent-Replayed: true) for the same request, 422 {"error":"idempotency_key_reused"} for a
 * different one. */
int hd_sim_idem_begin(struct hd_sim_idem *idem, struct hd_sim_req *r, const char *key);
/* Saves (status, body) as the key's response and answers with it; takes the reference to body. */
void hd_sim_idem_reply(struct hd_sim_idem *idem, struct hd_sim_req *r, const char *key, int status,
                       json_t *body);
/* 0 when `key` is an acceptable Idempotency-Key: 1..255 printable ASCII characters. */
int hd_sim_idem_key_ok(const char *key);

/* The assets simulator's file for `path` (extension picks the format), `size` bytes (16 B to
 * 16 MiB), deterministic; malloc'd, NULL when out of range. GET /a/<size>/<path> serves it. */
char *hd_sim_asset_bytes(const char *path, size_t size, const char **content_type);

/* ---- running (herald-sim's main, and heraldd --demo) --------------------------------------- */

extern const struct hd_sim_def *const hd_builtin_sims[]; /* generated, NULL-terminated */

struct hd_sim_set;
/* Start the named simulators (NULL: all) on `base`, each on an ephemeral 127.0.0.1 port.
 * config: herald-sim's --config JSON (may be NULL). */
/* Returns 0, HD_EINVAL for an unknown name or a bad config (the reason is logged), or HD_EIO.
 * Does not touch signal handling: the caller ignores SIGPIPE. */
int hd_sim_set_start(struct event_base *base, const char *const *names, const json_t *config,
                     struct hd_sim_set **out);
/* {"webhook":"http://127.0.0.1:PORT",...} */
json_t *hd_sim_set_urls(const struct hd_sim_set *set);
const char *hd_sim_set_url(const struct hd_sim_set *set, const char *name);
void hd_sim_set_stop(struct hd_sim_set *set); /* NULL-safe */

#endif
