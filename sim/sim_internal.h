/*
 * herald-sim internals shared by the common server (sim_common.c), its control endpoints
 * (sim_control.c) and its body parsers (sim_form.c). Simulators include only sim.h.
 */
#ifndef HD_SIM_INTERNAL_H
#define HD_SIM_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>
#include <event2/http.h>
#include <jansson.h>

#include "sim.h"

struct hd_sim_kv { /* one decoded name=value pair */
    char *name;    /* owned */
    char *value;   /* owned */
};

struct hd_sim_part {    /* one multipart/form-data part */
    char *name;         /* owned */
    char *filename;     /* owned, NULL when the part has none */
    char *content_type; /* owned, NULL when the part has none */
    char *data;         /* owned, NUL-terminated copy */
    size_t len;
};

#define HD_SIM_LOG_SIZE    1000
#define HD_SIM_MAX_LATENCY 600000 /* ms */

struct hd_sim_knob {
    long next;   /* matching requests left */
    char *match; /* owned; path prefix, NULL for every path */
};

struct hd_sim_entry { /* one line of GET /_sim/received's log */
    uint64_t seq;     /* 0: empty slot */
    const char *method;
    char *path;      /* owned */
    char *key;       /* owned, NULL when none */
    int status;      /* sent, 0 when none was */
    int lost_status; /* the answer drop_after_next swallowed */
    unsigned applied : 1, duplicate : 1, faulted : 1, dropped : 1, pending : 1;
    int64_t time_ms;
};

struct hd_sim {
    const struct hd_sim_def *def;
    struct hd_sim_set *set; /* borrowed: the set running this simulator */
    void *state;            /* owned by def (init / destroy) */
    int started;            /* init() succeeded */
    struct evhttp *http;    /* owned */
    char url[64];
    char prefix[64]; /* log prefix "sim:<name>" */
    int64_t clock_offset_ms;
    /* fault knobs */
    struct hd_sim_knob fail, drop, drop_after, latency;
    int fail_status;
    char *fail_retry_after; /* owned */
    char *fail_body;        /* owned */
    long latency_ms;
    /* records */
    uint64_t n_requests, n_applied, n_duplicates, n_faulted, n_dropped;
    json_t *by_key; /* owned: key -> {"requests","applied","duplicates"} */
    uint64_t seq;
    struct hd_sim_entry log[HD_SIM_LOG_SIZE];
    struct hd_sim_req *pending; /* owned: requests not answered (or not yet sent) */
};

struct hd_sim_set {
    struct event_base *base; /* borrowed */
    struct hd_sim **sims;    /* owned */
    size_t n;
};

enum req_action { ACT_NONE, ACT_SEND, ACT_DROP };

struct hd_sim_req {
    struct hd_sim *sim;
    struct evhttp_request *ereq; /* borrowed from evhttp until sent or dropped */
    struct hd_sim_req *prev, *next;
    uint64_t seq; /* log entry; 0 for control requests */
    const char *method;
    char *path; /* owned, decoded */
    int bad_path;
    struct hd_sim_kv *query; /* owned */
    size_t n_query;
    char *body; /* owned, NUL-terminated */
    size_t body_len;
    char *key;      /* owned: Idempotency-Key header, or the first key applied / duplicate named */
    int form_state; /* 0: not parsed, 1: parsed, <0: HD_E* */
    struct hd_sim_kv *form; /* owned */
    size_t n_form;
    struct hd_sim_part *parts; /* owned */
    size_t n_parts;
    int control, handed, answered, drop_after;
    long latency_ms;
    int status;
    struct evbuffer *reply; /* owned: the answer, held while the timer runs */
    enum req_action action;
    double due_s;        /* monotonic time the timer's action is due */
    struct event *timer; /* owned */
};

/* ---- sim_common.c, for sim_control.c --------------------------------------------------------- */

struct hd_sim_entry *hd_sim_entry_of(struct hd_sim *sim, uint64_t seq); /* NULL when overwritten */
void hd_sim_entry_clear(struct hd_sim_entry *e);
void hd_sim_knob_set(struct hd_sim_knob *k, long next, const char *match);
/* Parses the body as a form once (urlencoded or multipart, by Content-Type): 1 or HD_E*. */
int hd_sim_req_parse_form(const struct hd_sim_req *r);

/* ---- sim_control.c -----------------------------------------------------------------------------
 */

/* Answers a request for /_sim/... (see sim.h). */
void hd_sim_control(struct hd_sim *sim, struct hd_sim_req *r);

/* ---- sim_form.c --------------------------------------------------------------------------------
 */

/* "a=b&c=d" with + and %XX decoding (application/x-www-form-urlencoded, and query strings).
 * Malformed escapes are kept literally. Returns 0 or HD_ENOMEM. */
int hd_sim_parse_urlencoded(const char *s, size_t len, struct hd_sim_kv **out, size_t *n);
void hd_sim_kv_free(struct hd_sim_kv *kv, size_t n);
/* The value of the first pair named `name`, or NULL. */
const char *hd_sim_kv_get(const struct hd_sim_kv *kv, size_t n, const char *name);

/* A multipart/form-data body (RFC 7578 / RFC 2046) with the boundary of `content_type`.
 * Returns 0, HD_EINVAL when it is not well-formed, or HD_ENOMEM. */
int hd_sim_parse_multipart(const char *content_type, const char *body, size_t len,
                           struct hd_sim_part **out, size_t *n);
void hd_sim_parts_free(struct hd_sim_part *parts, size_t n);

/* Non-zero when the media type of a Content-Type value (parameters ignored) is `type`. */
int hd_sim_media_type_is(const char *content_type, const char *type);

#endif
