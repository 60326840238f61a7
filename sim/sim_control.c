/*
 * herald-sim control endpoints: the /_sim/ requests every simulator's port answers besides its
 * platform protocol — fault knobs, the record of what was received, the simulator's model, its
 * clock, reset, and the echo diagnostic. The contract is in sim.h; the request path itself is in
 * sim_common.c.
 */
#include "common.h"
#include "sim.h"
#include "sim_internal.h"

static void reply_error(struct hd_sim_req *r, int status, const char *error, const char *detail)
{
    json_t *body = json_pack("{s:s}", "error", error);
    if (body && detail)
        json_object_set_new(body, "detail", json_string(detail));
    hd_sim_reply_json(r, status, body);
}

/* ---- the control endpoints ------------------------------------------------------------------- */

static json_t *knob_json(const struct hd_sim_knob *k, const char *count_name, long count)
{
    return json_pack("{s:I,s:s?}", count_name, (json_int_t)count, "match", k->match);
}

static json_t *faults_json(struct hd_sim *sim)
{
    json_t *fail = knob_json(&sim->fail, "next", sim->fail.next);
    if (fail) {
        json_object_set_new(fail, "status", json_integer(sim->fail_status));
        json_object_set_new(fail, "retry_after",
                            sim->fail_retry_after ? json_string(sim->fail_retry_after)
                                                  : json_null());
        json_object_set_new(fail, "body",
                            sim->fail_body ? json_string(sim->fail_body) : json_null());
    }
    return json_pack("{s:o,s:o,s:o,s:o}", "fail", fail, "drop",
                     knob_json(&sim->drop, "next", sim->drop.next), "drop_after",
                     knob_json(&sim->drop_after, "next", sim->drop_after.next), "latency",
                     knob_json(&sim->latency, "ms", sim->latency_ms));
}

/* POST /_sim/faults. Returns NULL when valid, else the reason. */
static const char *faults_set(struct hd_sim *sim, json_t *body)
{
    static const char *const known[] = {"fail_next",  "status",    "retry_after",     "body",
                                        "latency_ms", "drop_next", "drop_after_next", "match"};
    const char *name;
    json_t *v;
    json_object_foreach (body, name, v) {
        size_t i;
        for (i = 0; i < HD_ARRAY_LEN(known); i++)
            if (strcmp(name, known[i]) == 0)
                break;
        if (i == HD_ARRAY_LEN(known))
            return "unknown field";
    }
    json_t *fail = json_object_get(body, "fail_next"), *drop = json_object_get(body, "drop_next");
    json_t *drop_after = json_object_get(body, "drop_after_next");
    json_t *latency = json_object_get(body, "latency_ms");
    json_t *status = json_object_get(body, "status"), *ra = json_object_get(body, "retry_after");
    json_t *fbody = json_object_get(body, "body"), *match = json_object_get(body, "match");
    json_t *counts[] = {fail, drop, drop_after};
    for (size_t i = 0; i < HD_ARRAY_LEN(counts); i++)
        if (counts[i] && (!json_is_integer(counts[i]) || json_integer_value(counts[i]) < 0 ||
                          json_integer_value(counts[i]) > 1000000000))
            return "fail_next, drop_next and drop_after_next must be integers >= 0";
    if (latency && (!json_is_integer(latency) || json_integer_value(latency) < 0 ||
                    json_integer_value(latency) > HD_SIM_MAX_LATENCY))
        return "latency_ms must be an integer from 0 to 600000";
    if ((status || ra || fbody) && !fail)
        return "status, retry_after and body go with fail_next";
    if (status && (!json_is_integer(status) || json_integer_value(status) < 100 ||
                   json_integer_value(status) > 599))
        return "status must be an HTTP status code";
    if (ra && !json_is_string(ra) && !(json_is_integer(ra) && json_integer_value(ra) >= 0))
        return "retry_after must be a string or an integer >= 0";
    if (fbody && !json_is_string(fbody))
        return "body must be a string";
    if (match && (!json_is_string(match) || json_string_value(match)[0] != '/'))
        return "match must be a path prefix starting with /";
    if (match && !fail && !drop && !drop_after && !latency)
        return "match goes with a knob";

    const char *m = match ? json_string_value(match) : NULL;
    if (fail) {
        hd_sim_knob_set(&sim->fail, (long)json_integer_value(fail), m);
        sim->fail_status = status ? (int)json_integer_value(status) : 503;
        free(sim->fail_retry_after);
        sim->fail_retry_after = NULL;
        if (json_is_string(ra))
            sim->fail_retry_after = strdup(json_string_value(ra));
        else if (ra)
            sim->fail_retry_after = hd_asprintf("%" JSON_INTEGER_FORMAT, json_integer_value(ra));
        free(sim->fail_body);
        sim->fail_body = fbody ? strdup(json_string_value(fbody)) : NULL;
    }
    if (drop)
        hd_sim_knob_set(&sim->drop, (long)json_integer_value(drop), m);
    if (drop_after)
        hd_sim_knob_set(&sim->drop_after, (long)json_integer_value(drop_after), m);
    if (latency) {
        sim->latency_ms = (long)json_integer_value(latency);
        hd_sim_knob_set(&sim->latency, 0, m);
    }
    return NULL;
}

static json_t *entry_json(const struct hd_sim_entry *e)
{
    json_t *j =
        json_pack("{s:I,s:s,s:s,s:o,s:i,s:b,s:b,s:b,s:b,s:b,s:I}", "seq", (json_int_t)e->seq,
                  "method", e->method, "path", e->path ? e->path : "", "key",
                  e->key ? json_string(e->key) : json_null(), "status", e->status, "applied",
                  e->applied, "duplicate", e->duplicate, "faulted", e->faulted, "dropped",
                  e->dropped, "pending", e->pending, "time_ms", (json_int_t)e->time_ms);
    if (j && e->lost_status)
        json_object_set_new(j, "lost_status", json_integer(e->lost_status));
    return j;
}

static json_t *received_json(struct hd_sim *sim, struct hd_sim_req *r)
{
    const char *q_log = hd_sim_req_query(r, "log");
    const char *q_keys = hd_sim_req_query(r, "by_key");
    long want = q_log ? HD_MAX(strtol(q_log, NULL, 10), 0) : HD_SIM_LOG_SIZE;
    long pending = 0;
    for (struct hd_sim_req *o = sim->pending; o; o = o->next)
        pending += !o->control;
    json_t *log = json_array();
    uint64_t first = sim->seq > HD_SIM_LOG_SIZE ? sim->seq - HD_SIM_LOG_SIZE + 1 : 1;
    if ((uint64_t)want < sim->seq - first + 1)
        first = sim->seq - (uint64_t)want + 1;
    for (uint64_t s = first; s <= sim->seq && log; s++) {
        struct hd_sim_entry *e = hd_sim_entry_of(sim, s);
        if (e)
            json_array_append_new(log, entry_json(e));
    }
    json_t *out =
        json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:o}", "requests", (json_int_t)sim->n_requests,
                  "applied", (json_int_t)sim->n_applied, "duplicates",
                  (json_int_t)sim->n_duplicates, "faulted", (json_int_t)sim->n_faulted, "dropped",
                  (json_int_t)sim->n_dropped, "pending", (json_int_t)pending, "log", log);
    if (out && !(q_keys && strcmp(q_keys, "0") == 0))
        json_object_set_new(out, "by_key", json_deep_copy(sim->by_key));
    return out;
}

static json_t *clock_json(struct hd_sim *sim)
{
    return json_pack("{s:f,s:I}", "offset_s", (double)sim->clock_offset_ms / 1000.0, "now_ms",
                     (json_int_t)hd_sim_now_ms(sim));
}

static void sim_reset(struct hd_sim *sim)
{
    for (size_t i = 0; i < HD_SIM_LOG_SIZE; i++)
        hd_sim_entry_clear(&sim->log[i]);
    sim->n_requests = sim->n_applied = sim->n_duplicates = sim->n_faulted = sim->n_dropped = 0;
    json_object_clear(sim->by_key);
    hd_sim_knob_set(&sim->fail, 0, NULL);
    hd_sim_knob_set(&sim->drop, 0, NULL);
    hd_sim_knob_set(&sim->drop_after, 0, NULL);
    hd_sim_knob_set(&sim->latency, 0, NULL);
    sim->latency_ms = 0;
    sim->fail_status = 503;
    free(sim->fail_retry_after);
    sim->fail_retry_after = NULL;
    free(sim->fail_body);
    sim->fail_body = NULL;
    sim->clock_offset_ms = 0;
    sim->seq = 0; /* requests still pending keep no log entry */
    for (struct hd_sim_req *o = sim->pending; o; o = o->next)
        o->seq = 0;
    if (sim->started && sim->def->reset)
        sim->def->reset(sim->state);
}

static json_t *part_json(const char *name, const char *data, size_t len, const char *filename,
                         const char *content_type)
{
    char hash[65];
    hd_sim_sha256_hex(data, len, hash);
    json_t *j = json_pack("{s:s,s:s?,s:s?,s:I,s:s}", "name", name, "filename", filename,
                          "content_type", content_type, "len", (json_int_t)len, "sha256", hash);
    json_t *text = json_stringn(data, len); /* NULL unless valid UTF-8 */
    if (j && text)
        json_object_set_new(j, "text", text);
    return j;
}

/* ANY /_sim/echo[?field=NAME&part=NAME]: what the common part parsed from this request, through
 * the same accessors simulators use (a diagnostic for simulator authors, and what the tests of
 * the multipart and urlencoded parsers look at). */
static json_t *echo_json(struct hd_sim_req *r)
{
    char hash[65];
    hd_sim_sha256_hex(r->body, r->body_len, hash);
    json_t *query = json_object(), *out;
    for (size_t i = 0; query && i < r->n_query; i++)
        if (!json_object_get(query, r->query[i].name))
            json_object_set_new(query, r->query[i].name, json_string(r->query[i].value));
    out = json_pack("{s:s,s:s,s:o,s:s?,s:I,s:s}", "method", r->method, "path", r->path, "query",
                    query, "content_type", hd_sim_req_header(r, "Content-Type"), "body_len",
                    (json_int_t)r->body_len, "body_sha256", hash);
    if (!out)
        return NULL;
    int rc = hd_sim_req_parse_form(r);
    json_object_set_new(out, "form_ok", json_boolean(rc > 0));
    json_t *form = json_object(), *parts = json_array();
    for (size_t i = 0; form && i < r->n_form;
         i++) /* the first of repeated names, as the accessor */
        if (!json_object_get(form, r->form[i].name))
            json_object_set_new(form, r->form[i].name, json_string(r->form[i].value));
    for (size_t i = 0; parts && i < r->n_parts; i++) {
        const struct hd_sim_part *p = &r->parts[i];
        json_array_append_new(parts,
                              part_json(p->name, p->data, p->len, p->filename, p->content_type));
    }
    json_object_set_new(out, "form", form);
    json_object_set_new(out, "parts", parts);
    const char *field = hd_sim_req_query(r, "field"), *part = hd_sim_req_query(r, "part");
    if (field) {
        const char *v = hd_sim_req_form(r, field);
        json_object_set_new(out, "field", v ? json_string(v) : json_null());
    }
    if (part) {
        const char *data = NULL, *filename = NULL, *ct = NULL;
        size_t len = 0;
        int prc = hd_sim_req_part(r, part, &data, &len, &filename, &ct);
        json_object_set_new(
            out, "part", prc == 0 ? part_json(part, data, len, filename, ct) : json_integer(prc));
    }
    return out;
}

void hd_sim_control(struct hd_sim *sim, struct hd_sim_req *r)
{
    const char *what = r->path + strlen("/_sim/");
    int get = strcmp(r->method, "GET") == 0, post = strcmp(r->method, "POST") == 0;
    json_t *body = NULL;
    json_error_t jerr;

    if (strcmp(what, "echo") == 0) {
        hd_sim_reply_json(r, 200, echo_json(r));
        return;
    }
    if (post) {
        body = r->body_len ? json_loadb(r->body, r->body_len, 0, &jerr) : json_object();
        if (!json_is_object(body)) {
            json_decref(body);
            reply_error(r, 400, "bad_json", "the body must be a JSON object");
            return;
        }
    }
    if (strcmp(what, "faults") == 0 && (get || post)) {
        const char *bad = post ? faults_set(sim, body) : NULL;
        if (bad)
            reply_error(r, 400, "bad_faults", bad);
        else
            hd_sim_reply_json(r, 200, faults_json(sim));
    } else if (strcmp(what, "received") == 0 && get) {
        hd_sim_reply_json(r, 200, received_json(sim, r));
    } else if (strcmp(what, "state") == 0 && get) {
        json_t *state = sim->def->inspect ? sim->def->inspect(sim->state) : NULL;
        hd_sim_reply_json(r, 200, state ? state : json_object());
    } else if (strcmp(what, "clock") == 0 && (get || post)) {
        json_t *adv = post ? json_object_get(body, "advance_s") : NULL;
        if (post && (!json_is_number(adv) || json_object_size(body) != 1)) {
            reply_error(r, 400, "bad_clock", "expected {\"advance_s\":N}");
        } else {
            if (adv)
                sim->clock_offset_ms += (int64_t)(json_number_value(adv) * 1000.0);
            hd_sim_reply_json(r, 200, clock_json(sim));
        }
    } else if (strcmp(what, "reset") == 0 && post) {
        sim_reset(sim);
        hd_sim_reply_json(r, 200, json_pack("{s:b}", "reset", 1));
    } else if (post && *what && sim->def->control) {
        json_t *reply = NULL;
        if (sim->def->control(sim->state, what, body, &reply) == 0)
            hd_sim_reply_json(r, 200, reply ? reply : json_object());
        else
            reply_error(r, 404, "unknown_control", what);
    } else if (strcmp(what, "faults") == 0 || strcmp(what, "received") == 0 ||
               strcmp(what, "state") == 0 || strcmp(what, "clock") == 0 ||
               strcmp(what, "reset") == 0) {
        reply_error(r, 405, "method_not_allowed", what);
    } else {
        reply_error(r, 404, "unknown_control", what);
    }
    json_decref(body);
}
