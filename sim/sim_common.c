/*
 * herald-sim common server: runs each channel simulator (struct hd_sim_def) on its own ephemeral
 * 127.0.0.1 port with libevent's evhttp, on the caller's event loop, and adds what every simulator
 * shares: the request accessors, answering (with the latency knob and lost answers), fault knobs
 * applied before the simulator sees a request, the record of what was received and applied, a
 * per-simulator clock, and the /_sim/ control endpoints (see sim.h for their contract).
 *
 * Used by herald-sim (sim_main.c) and in-process by heraldd --demo: no globals, no exit().
 *
 * Request lifetime: evhttp hands us a request whose connection has reading disabled until we
 * answer, so the evhttp_request stays valid however long the simulator or the latency knob holds
 * it; we answer it exactly once (send, or close the connection) and free our struct hd_sim_req.
 * Closing happens from a timer, never inside evhttp's request callback (see drop_now()).
 */
#include <netinet/in.h>
#include <stdarg.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "common.h"
#include "sim.h"
#include "sim_internal.h"

#define MAX_BODY    (16 * 1024 * 1024)
#define KEY_LOG_MAX 300

/* ---- small helpers --------------------------------------------------------------------------- */

static const char *reason_phrase(int status)
{
    static const struct {
        int status;
        const char *text;
    } phrases[] = {
        {200, "OK"},
        {201, "Created"},
        {202, "Accepted"},
        {204, "No Content"},
        {400, "Bad Request"},
        {401, "Unauthorized"},
        {403, "Forbidden"},
        {404, "Not Found"},
        {405, "Method Not Allowed"},
        {409, "Conflict"},
        {413, "Content Too Large"},
        {415, "Unsupported Media Type"},
        {422, "Unprocessable Content"},
        {429, "Too Many Requests"},
        {500, "Internal Server Error"},
        {502, "Bad Gateway"},
        {503, "Service Unavailable"},
        {504, "Gateway Timeout"},
    };
    for (size_t i = 0; i < HD_ARRAY_LEN(phrases); i++)
        if (phrases[i].status == status)
            return phrases[i].text;
    return status < 400 ? "OK" : "Error";
}

static const char *method_name(enum evhttp_cmd_type cmd)
{
    static const struct {
        enum evhttp_cmd_type cmd;
        const char *name;
    } methods[] = {
        {EVHTTP_REQ_GET, "GET"},     {EVHTTP_REQ_POST, "POST"},     {EVHTTP_REQ_HEAD, "HEAD"},
        {EVHTTP_REQ_PUT, "PUT"},     {EVHTTP_REQ_DELETE, "DELETE"}, {EVHTTP_REQ_OPTIONS, "OPTIONS"},
        {EVHTTP_REQ_PATCH, "PATCH"},
    };
    for (size_t i = 0; i < HD_ARRAY_LEN(methods); i++)
        if (methods[i].cmd == cmd)
            return methods[i].name;
    return "OTHER";
}

/* A key as it appears in the record: printable ASCII kept, other bytes as \xNN, capped. */
static char *record_key(const char *key)
{
    size_t n = strlen(key);
    char *out = malloc(HD_MIN(n, (size_t)KEY_LOG_MAX) * 4 + 1);
    size_t o = 0;
    if (!out)
        return NULL;
    for (size_t i = 0; i < n && i < KEY_LOG_MAX; i++) {
        unsigned char c = (unsigned char)key[i];
        if (c >= 0x20 && c < 0x7f && c != '\\')
            out[o++] = (char)c;
        else
            o += (size_t)sprintf(out + o, "\\x%02x", c);
    }
    out[o] = '\0';
    return out;
}

static void count_key(struct hd_sim *sim, const char *key, const char *field)
{
    json_t *c = json_object_get(sim->by_key, key);
    if (!c) {
        c = json_pack("{s:I,s:I,s:I}", "requests", (json_int_t)0, "applied", (json_int_t)0,
                      "duplicates", (json_int_t)0);
        if (!c || json_object_set_new(sim->by_key, key, c) < 0)
            return;
    }
    json_t *v = json_object_get(c, field);
    json_integer_set(v, json_integer_value(v) + 1);
}

struct hd_sim_entry *hd_sim_entry_of(struct hd_sim *sim, uint64_t seq)
{
    struct hd_sim_entry *e = &sim->log[seq % HD_SIM_LOG_SIZE];
    return seq && e->seq == seq ? e : NULL;
}

void hd_sim_entry_clear(struct hd_sim_entry *e)
{
    free(e->path);
    free(e->key);
    memset(e, 0, sizeof(*e));
}

void hd_sim_knob_set(struct hd_sim_knob *k, long next, const char *match)
{
    k->next = next;
    free(k->match);
    k->match = hd_strdup(match);
}

static int knob_matches(const struct hd_sim_knob *k, const char *path)
{
    return !k->match || strncmp(path, k->match, strlen(k->match)) == 0;
}

/* Consumes one use of the knob when it applies to `path`. */
static int knob_take(struct hd_sim_knob *k, const char *path)
{
    if (k->next <= 0 || !knob_matches(k, path))
        return 0;
    k->next--;
    return 1;
}

/* ---- requests -------------------------------------------------------------------------------- */

static void req_free(struct hd_sim_req *r)
{
    struct hd_sim *sim = r->sim;
    if (r->prev)
        r->prev->next = r->next;
    else
        sim->pending = r->next;
    if (r->next)
        r->next->prev = r->prev;
    if (r->timer)
        event_free(r->timer);
    if (r->reply)
        evbuffer_free(r->reply);
    free(r->path);
    hd_sim_kv_free(r->query, r->n_query);
    free(r->body);
    free(r->key);
    hd_sim_kv_free(r->form, r->n_form);
    hd_sim_parts_free(r->parts, r->n_parts);
    free(r);
}

static struct hd_sim_req *req_new(struct hd_sim *sim, struct evhttp_request *ereq)
{
    struct hd_sim_req *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    r->sim = sim;
    r->ereq = ereq;
    r->next = sim->pending;
    if (sim->pending)
        sim->pending->prev = r;
    sim->pending = r;
    r->method = method_name(evhttp_request_get_command(ereq));

    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(ereq);
    const char *raw = uri ? evhttp_uri_get_path(uri) : NULL;
    size_t plen = 0;
    r->path = evhttp_uridecode(raw && *raw ? raw : "/", 0, &plen);
    if (!r->path)
        goto fail;
    r->bad_path = strlen(r->path) != plen || r->path[0] != '/';
    const char *q = uri ? evhttp_uri_get_query(uri) : NULL;
    if (q && hd_sim_parse_urlencoded(q, strlen(q), &r->query, &r->n_query) < 0)
        goto fail;

    struct evbuffer *in = evhttp_request_get_input_buffer(ereq);
    r->body_len = evbuffer_get_length(in);
    r->body = malloc(r->body_len + 1);
    if (!r->body)
        goto fail;
    evbuffer_copyout(in, r->body, r->body_len);
    r->body[r->body_len] = '\0';
    const char *key = evhttp_find_header(evhttp_request_get_input_headers(ereq), "Idempotency-Key");
    if (key && !(r->key = strdup(key)))
        goto fail;
    return r;
fail:
    r->ereq = NULL;
    req_free(r);
    return NULL;
}

/* The request is over (answer sent or connection closed): record it and free it. */
static void req_done(struct hd_sim_req *r, int sent_status, int dropped)
{
    struct hd_sim *sim = r->sim;
    struct hd_sim_entry *e = hd_sim_entry_of(sim, r->seq);
    if (!r->control) {
        if (dropped)
            sim->n_dropped++;
        if (e) {
            e->pending = 0;
            e->status = sent_status;
            e->dropped = dropped ? 1 : 0;
            if (dropped && r->answered && r->drop_after)
                e->lost_status = r->status;
        }
        if (HD_LOG_DEBUG <= hd_log_level)
            hd_log_write(HD_LOG_DEBUG, sim->prefix, "%s %s status=%d%s key=%s", r->method, r->path,
                         sent_status, dropped ? " dropped" : "", r->key ? r->key : "-");
    }
    req_free(r);
}

static void send_now(struct hd_sim_req *r)
{
    int status = r->status;
    evhttp_send_reply(r->ereq, status, reason_phrase(status), r->reply);
    r->ereq = NULL;
    req_done(r, status, 0);
}

/* Closes the request's connection without an answer. evhttp has no call for this on a server
 * request, so we free the whole connection (evhttp_connection_free also frees the request); the
 * socket gets SO_LINGER 0 so the peer sees the connection reset rather than a polite close.
 * Called from our timer only: freeing the connection inside evhttp's own request callback
 * would leave evhttp's read path touching freed memory. */
static void drop_now(struct hd_sim_req *r)
{
    struct evhttp_connection *evcon = evhttp_request_get_connection(r->ereq);
    if (evcon) {
        struct bufferevent *bev = evhttp_connection_get_bufferevent(evcon);
        evutil_socket_t fd = bev ? bufferevent_getfd(bev) : -1;
        if (fd >= 0) {
            struct linger lg = {.l_onoff = 1, .l_linger = 0};
            setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
        }
        evhttp_connection_free(evcon);
    } else {
        evhttp_request_free(r->ereq); /* orphaned: its connection is gone already */
    }
    r->ereq = NULL;
    req_done(r, 0, 1);
}

static void on_timer(evutil_socket_t fd, short what, void *arg);

/* Arms the request's timer for `us` microseconds. */
static int arm(struct hd_sim_req *r, int64_t us)
{
    struct timeval tv = {.tv_sec = us / 1000000, .tv_usec = us % 1000000};
    if (!r->timer)
        r->timer = evtimer_new(hd_sim_base(r->sim), on_timer, r);
    return r->timer ? evtimer_add(r->timer, &tv) : -1;
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    struct hd_sim_req *r = arg;
    /* libevent's timers may use a coarse clock and fire a few ms early: latency_ms promises
     * "at least", so check against the precise monotonic clock and wait for the rest */
    double left = r->due_s - hd_mono_s();
    if (r->action == ACT_SEND && left > 0 && arm(r, (int64_t)(left * 1e6) + 1) == 0)
        return;
    if (r->action == ACT_DROP)
        drop_now(r);
    else
        send_now(r);
}

static void schedule(struct hd_sim_req *r, enum req_action action, long ms)
{
    r->action = action;
    r->due_s = hd_mono_s() + (double)ms / 1000.0;
    if (arm(r, (int64_t)ms * 1000) < 0) {
        hd_log_write(HD_LOG_ERROR, r->sim->prefix, "cannot arm a timer; answering now");
        r->action = ACT_SEND;
        if (!r->reply)
            r->reply = evbuffer_new();
        r->status = 500;
        send_now(r);
    }
}

/* ---- the request accessors ------------------------------------------------------------------- */

const char *hd_sim_req_method(const struct hd_sim_req *r)
{
    return r->method;
}

const char *hd_sim_req_path(const struct hd_sim_req *r)
{
    return r->path;
}

const char *hd_sim_req_query(const struct hd_sim_req *r, const char *name)
{
    return hd_sim_kv_get(r->query, r->n_query, name);
}

const char *hd_sim_req_header(const struct hd_sim_req *r, const char *name)
{
    if (!r->ereq)
        return NULL;
    return evhttp_find_header(evhttp_request_get_input_headers(r->ereq), name);
}

const char *hd_sim_req_body(const struct hd_sim_req *r, size_t *len)
{
    if (len)
        *len = r->body_len;
    return r->body;
}

/* Parses the body as a form once (urlencoded or multipart, by Content-Type). */
int hd_sim_req_parse_form(const struct hd_sim_req *cr)
{
    struct hd_sim_req *r = (struct hd_sim_req *)cr; /* a cache filled on first use */
    if (r->form_state != 0)
        return r->form_state;
    const char *ct = hd_sim_req_header(r, "Content-Type");
    int rc;
    if (hd_sim_media_type_is(ct, "application/x-www-form-urlencoded"))
        rc = hd_sim_parse_urlencoded(r->body, r->body_len, &r->form, &r->n_form);
    else if (hd_sim_media_type_is(ct, "multipart/form-data"))
        rc = hd_sim_parse_multipart(ct, r->body, r->body_len, &r->parts, &r->n_parts);
    else
        rc = HD_EINVAL;
    r->form_state = rc < 0 ? rc : 1;
    return r->form_state;
}

int hd_sim_req_part(const struct hd_sim_req *r, const char *name, const char **data, size_t *len,
                    const char **filename, const char **content_type)
{
    if (hd_sim_req_parse_form(r) < 0 ||
        !hd_sim_media_type_is(hd_sim_req_header(r, "Content-Type"), "multipart/form-data"))
        return HD_EINVAL;
    for (size_t i = 0; i < r->n_parts; i++) {
        const struct hd_sim_part *p = &r->parts[i];
        if (strcmp(p->name, name) != 0)
            continue;
        if (data)
            *data = p->data;
        if (len)
            *len = p->len;
        if (filename)
            *filename = p->filename;
        if (content_type)
            *content_type = p->content_type;
        return 0;
    }
    return HD_ENOTFOUND;
}

const char *hd_sim_req_form(const struct hd_sim_req *r, const char *name)
{
    if (hd_sim_req_parse_form(r) < 0)
        return NULL;
    for (size_t i = 0; i < r->n_parts; i++)
        if (!r->parts[i].filename && strcmp(r->parts[i].name, name) == 0)
            return r->parts[i].data;
    return hd_sim_kv_get(r->form, r->n_form, name);
}

int hd_sim_req_content_type_is(const struct hd_sim_req *r, const char *type)
{
    return hd_sim_media_type_is(hd_sim_req_header(r, "Content-Type"), type);
}

int hd_sim_in_flight(const struct hd_sim_req *r, const char *key)
{
    for (const struct hd_sim_req *o = r->sim->pending; o; o = o->next)
        if (o != r && o->handed && o->key && strcmp(o->key, key) == 0)
            return 1;
    return 0;
}

struct hd_sim *hd_sim_req_sim(const struct hd_sim_req *r)
{
    return r->sim;
}

/* ---- answering ------------------------------------------------------------------------------- */

void hd_sim_reply_header(struct hd_sim_req *r, const char *name, const char *value)
{
    if (!r->ereq || r->answered)
        return;
    struct evkeyvalq *h = evhttp_request_get_output_headers(r->ereq);
    evhttp_remove_header(h, name);
    evhttp_add_header(h, name, value);
}

void hd_sim_reply(struct hd_sim_req *r, int status, const char *content_type, const void *body,
                  size_t len)
{
    if (r->answered) {
        hd_log_write(HD_LOG_ERROR, r->sim->prefix, "%s %s answered twice", r->method, r->path);
        return;
    }
    if (content_type)
        hd_sim_reply_header(r, "Content-Type", content_type);
    r->answered = 1;
    r->status = status;
    r->reply = evbuffer_new();
    if (r->reply && len)
        evbuffer_add(r->reply, body, len);
    if (r->drop_after)
        schedule(r, ACT_DROP, 0); /* applied, but the answer is lost */
    else if (r->latency_ms > 0)
        schedule(r, ACT_SEND, r->latency_ms);
    else
        send_now(r);
}

void hd_sim_reply_json(struct hd_sim_req *r, int status, json_t *body)
{
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    if (!text) {
        hd_sim_reply(r, 500, "text/plain", "out of memory\n", 14);
        return;
    }
    hd_sim_reply(r, status, "application/json", text, strlen(text));
    free(text);
}

void hd_sim_drop(struct hd_sim_req *r)
{
    if (r->answered)
        return;
    r->answered = 1;
    schedule(r, ACT_DROP, 0);
}

/* ---- recording effects ----------------------------------------------------------------------- */

/* The key an effect is counted under; a request without an Idempotency-Key takes the first. */
static const char *effect_key(struct hd_sim_req *r, const char *key)
{
    struct hd_sim *sim = r->sim;
    if (!key)
        return r->key ? r->key : NULL;
    if (!r->key && !r->control) {
        r->key = strdup(key);
        struct hd_sim_entry *e = hd_sim_entry_of(sim, r->seq);
        if (e && r->key && !e->key)
            e->key = record_key(r->key);
        char *k = record_key(key);
        if (k)
            count_key(sim, k, "requests");
        free(k);
    }
    return key;
}

static void record_effect(struct hd_sim_req *r, const char *key, int duplicate)
{
    struct hd_sim *sim = r->sim;
    struct hd_sim_entry *e = hd_sim_entry_of(sim, r->seq);
    const char *k = effect_key(r, key);
    if (duplicate)
        sim->n_duplicates++;
    else
        sim->n_applied++;
    if (e) {
        if (duplicate)
            e->duplicate = 1;
        else
            e->applied = 1;
    }
    if (k) {
        char *rk = record_key(k);
        if (rk)
            count_key(sim, rk, duplicate ? "duplicates" : "applied");
        free(rk);
    }
}

void hd_sim_applied(struct hd_sim_req *r, const char *key)
{
    record_effect(r, key, 0);
}

void hd_sim_duplicate(struct hd_sim_req *r, const char *key)
{
    record_effect(r, key, 1);
}

/* ---- the simulator's environment ------------------------------------------------------------- */

struct event_base *hd_sim_base(struct hd_sim *sim)
{
    return sim->set->base;
}

int64_t hd_sim_now_ms(struct hd_sim *sim)
{
    return hd_now_ms() + sim->clock_offset_ms;
}

const char *hd_sim_url(struct hd_sim *sim)
{
    return sim->url;
}

const char *hd_sim_peer_url(struct hd_sim *sim, const char *name)
{
    return hd_sim_set_url(sim->set, name);
}

void hd_sim_log(struct hd_sim *sim, const char *fmt, ...)
{
    va_list ap;
    if (HD_LOG_INFO > hd_log_level)
        return;
    va_start(ap, fmt);
    hd_log_vwrite(HD_LOG_INFO, sim->prefix, fmt, ap);
    va_end(ap);
}

void hd_sim_log_error(struct hd_sim *sim, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    hd_log_vwrite(HD_LOG_ERROR, sim->prefix, fmt, ap);
    va_end(ap);
}

int hd_sim_conf_check_keys(struct hd_sim *sim, const json_t *conf, const char *const *known)
{
    const char *name;
    json_t *v;
    json_object_foreach ((json_t *)conf, name, v) {
        size_t i = 0;
        while (known[i] && strcmp(known[i], name) != 0)
            i++;
        if (!known[i]) {
            hd_sim_log_error(sim, "config: unknown key \"%s\"", name);
            return HD_EINVAL;
        }
    }
    return 0;
}

static void reply_error(struct hd_sim_req *r, int status, const char *error, const char *detail)
{
    json_t *body = json_pack("{s:s}", "error", error);
    if (body && detail)
        json_object_set_new(body, "detail", json_string(detail));
    hd_sim_reply_json(r, status, body);
}

/* ---- the server ------------------------------------------------------------------------------ */

static void fault_reply(struct hd_sim *sim, struct hd_sim_req *r)
{
    if (sim->fail_retry_after)
        hd_sim_reply_header(r, "Retry-After", sim->fail_retry_after);
    if (sim->fail_body) {
        json_t *parsed = json_loads(sim->fail_body, JSON_DECODE_ANY, NULL);
        hd_sim_reply(r, sim->fail_status, parsed ? "application/json" : "text/plain; charset=utf-8",
                     sim->fail_body, strlen(sim->fail_body));
        json_decref(parsed);
    } else {
        hd_sim_reply_json(
            r, sim->fail_status,
            json_pack("{s:s,s:i}", "error", "simulated_fault", "status", sim->fail_status));
    }
}

static void on_request(struct evhttp_request *ereq, void *arg)
{
    struct hd_sim *sim = arg;
    struct hd_sim_req *r = req_new(sim, ereq);
    if (!r) {
        evhttp_send_error(ereq, 500, NULL);
        return;
    }
    if (strncmp(r->path, "/_sim/", 6) == 0) {
        r->control = 1;
        hd_sim_control(sim, r);
        return;
    }

    r->seq = ++sim->seq;
    struct hd_sim_entry *e = &sim->log[r->seq % HD_SIM_LOG_SIZE];
    hd_sim_entry_clear(e);
    e->seq = r->seq;
    e->method = r->method;
    e->path = hd_strdup(r->path);
    e->key = r->key ? record_key(r->key) : NULL;
    e->pending = 1;
    e->time_ms = hd_sim_now_ms(sim);
    sim->n_requests++;
    if (e->key)
        count_key(sim, e->key, "requests");

    if (sim->latency_ms > 0 && knob_matches(&sim->latency, r->path))
        r->latency_ms = sim->latency_ms;
    if (knob_take(&sim->drop, r->path)) {
        hd_sim_drop(r);
        return;
    }
    if (knob_take(&sim->fail, r->path)) {
        sim->n_faulted++;
        e->faulted = 1;
        fault_reply(sim, r);
        return;
    }
    if (r->bad_path) {
        reply_error(r, 400, "bad_path", "the path must decode to text starting with /");
        return;
    }
    r->drop_after = knob_take(&sim->drop_after, r->path);
    r->handed = 1;
    sim->def->handle(sim->state, r);
}

static void sim_free(struct hd_sim *sim)
{
    if (!sim)
        return;
    if (sim->started && sim->def->destroy)
        sim->def->destroy(sim->state);
    while (sim->pending) {
        sim->pending->ereq = NULL; /* evhttp_free() below frees it with its connection */
        req_free(sim->pending);
    }
    if (sim->http)
        evhttp_free(sim->http);
    for (size_t i = 0; i < HD_SIM_LOG_SIZE; i++)
        hd_sim_entry_clear(&sim->log[i]);
    hd_sim_knob_set(&sim->fail, 0, NULL);
    hd_sim_knob_set(&sim->drop, 0, NULL);
    hd_sim_knob_set(&sim->drop_after, 0, NULL);
    hd_sim_knob_set(&sim->latency, 0, NULL);
    free(sim->fail_retry_after);
    free(sim->fail_body);
    json_decref(sim->by_key);
    free(sim);
}

static const struct hd_sim_def *find_def(const char *name)
{
    for (size_t i = 0; hd_builtin_sims[i]; i++)
        if (strcmp(hd_builtin_sims[i]->name, name) == 0)
            return hd_builtin_sims[i];
    return NULL;
}

static int sim_start(struct hd_sim_set *set, const struct hd_sim_def *def, const json_t *config)
{
    struct hd_sim *sim = calloc(1, sizeof(*sim));
    if (!sim)
        return HD_ENOMEM;
    set->sims[set->n++] = sim;
    sim->def = def;
    sim->set = set;
    sim->fail_status = 503;
    snprintf(sim->prefix, sizeof(sim->prefix), "sim:%s", def->name);
    sim->by_key = json_object();
    sim->http = evhttp_new(set->base);
    if (!sim->by_key || !sim->http)
        return HD_ENOMEM;
    evhttp_set_gencb(sim->http, on_request, sim);
    evhttp_set_max_body_size(sim->http, MAX_BODY);
    /* read an oversized body before answering 413, so the client sees the answer, not EPIPE */
    evhttp_set_flags(sim->http, EVHTTP_SERVER_LINGERING_CLOSE);
    evhttp_set_allowed_methods(sim->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
                                              EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
                                              EVHTTP_REQ_OPTIONS | EVHTTP_REQ_PATCH);
    struct evhttp_bound_socket *bound = evhttp_bind_socket_with_handle(sim->http, "127.0.0.1", 0);
    if (!bound) {
        hd_log_write(HD_LOG_ERROR, sim->prefix, "cannot listen on 127.0.0.1");
        return HD_EIO;
    }
    struct sockaddr_in sin;
    socklen_t slen = sizeof(sin);
    if (getsockname(evhttp_bound_socket_get_fd(bound), (struct sockaddr *)&sin, &slen) < 0)
        return HD_EIO;
    snprintf(sim->url, sizeof(sim->url), "http://127.0.0.1:%u", (unsigned)ntohs(sin.sin_port));

    json_t *conf = json_object_get(config, def->name);
    json_t *empty = conf ? NULL : json_object();
    int rc = def->init ? def->init(sim, conf ? conf : empty, &sim->state) : 0;
    json_decref(empty);
    if (rc < 0) {
        hd_log_write(HD_LOG_ERROR, sim->prefix, "init failed (bad config?)");
        return rc;
    }
    sim->started = 1;
    return 0;
}

int hd_sim_set_start(struct event_base *base, const char *const *names, const json_t *config,
                     struct hd_sim_set **out)
{
    struct hd_sim_set *set = NULL;
    size_t n_builtin = 0;
    const char *name;
    json_t *v;
    int rc = HD_EINVAL;

    *out = NULL;
    if (config && !json_is_object(config)) {
        hd_err("herald-sim: the config must be a JSON object");
        return HD_EINVAL;
    }
    json_object_foreach ((json_t *)config, name, v) {
        if (!find_def(name)) {
            hd_err("herald-sim: config: no simulator named \"%s\"", name);
            return HD_EINVAL;
        }
        if (!json_is_object(v)) {
            hd_err("herald-sim: config: \"%s\" must be an object", name);
            return HD_EINVAL;
        }
    }
    while (hd_builtin_sims[n_builtin])
        n_builtin++;
    set = calloc(1, sizeof(*set));
    if (!set || !(set->sims = calloc(n_builtin + 1, sizeof(*set->sims)))) {
        free(set);
        return HD_ENOMEM;
    }
    set->base = base;
    for (size_t i = 0; names ? names[i] != NULL : i < n_builtin; i++) {
        const struct hd_sim_def *def = names ? find_def(names[i]) : hd_builtin_sims[i];
        if (!def) {
            hd_err("herald-sim: no simulator named \"%s\"", names[i]);
            rc = HD_EINVAL;
            goto fail;
        }
        for (size_t j = 0; j < set->n; j++)
            if (set->sims[j]->def == def) {
                hd_err("herald-sim: simulator \"%s\" named twice", def->name);
                rc = HD_EINVAL;
                goto fail;
            }
        if (set->n == n_builtin) {
            rc = HD_EINVAL;
            goto fail;
        }
        rc = sim_start(set, def, config);
        if (rc < 0)
            goto fail;
    }
    *out = set;
    return 0;
fail:
    hd_sim_set_stop(set);
    return rc;
}

json_t *hd_sim_set_urls(const struct hd_sim_set *set)
{
    json_t *urls = json_object();
    for (size_t i = 0; urls && i < set->n; i++)
        json_object_set_new(urls, set->sims[i]->def->name, json_string(set->sims[i]->url));
    return urls;
}

const char *hd_sim_set_url(const struct hd_sim_set *set, const char *name)
{
    for (size_t i = 0; set && i < set->n; i++)
        if (strcmp(set->sims[i]->def->name, name) == 0)
            return set->sims[i]->url;
    return NULL;
}

void hd_sim_set_stop(struct hd_sim_set *set)
{
    if (!set)
        return;
    for (size_t i = set->n; i > 0; i--)
        sim_free(set->sims[i - 1]);
    free(set->sims);
    free(set);
}
