/*
 * ejiatong simulator: the street community platforms ("e家通") of CHANNELS.md §4.6, one per street
 * behind one gateway (the street code is in the path; an optional first path segment stands for
 * a street's own base URL):
 *   POST   [/<prefix>]/v1/streets/{street_code}/notices          upsert by (item_id, revision)
 *   DELETE [/<prefix>]/v1/streets/{street_code}/notices/{item_id} withdraw
 *   GET    [/<prefix>]/v1/streets/{street_code}/notices[/{id}]    what the street shows (unsigned)
 * Signing and idempotency as §3.3 (X-Gov-Timestamp / X-Gov-Signature v1=HMAC over "ts.body",
 * 300 s tolerance on the simulator's clock; Idempotency-Key replay, a replayed 201 answered 200,
 * 409 in flight, 422 reused).
 * Field rules of §4.6: title <= 40 and summary <= 200 characters (422 too_long with the field),
 * plain text only (422 not_plain_text), qr_url, validity window (a notice past valid_until is
 * never shown; one already expired is refused), target, priority. Each street can fail on its
 * own (POST /_sim/streets: down, status + Retry-After, latency_ms). See README.md for the rule
 * list and the test of each.
 *
 * config: {"secret":"...","streets":["440104003",...],"tolerance_s":300,"key_ttl_s":86400,
 *          "title_max":40,"summary_max":200,"street_secrets":{"440104012":"..."}}; secret is
 *          required; without "streets" any 6-12 digit code is a street. A street named in
 *          street_secrets runs a platform of its own and checks signatures with its own key only.
 */
#include <ctype.h>

#include "common.h"
#include "item.h"
#include "sim.h"

struct slow {
    struct slow *next;
    struct ejt_sim *s;      /* borrowed */
    struct hd_sim_req *req; /* borrowed until answered */
    struct event *ev;       /* owned */
};

struct ejt_sim {
    struct hd_sim *sim;     /* borrowed */
    char *secret;           /* owned */
    json_t *street_secrets; /* owned: code -> key of a street's own platform, or NULL */
    int64_t tolerance_s;
    int64_t title_max, summary_max;
    json_t *known;            /* owned: configured street codes (array) or NULL */
    json_t *streets;          /* owned: code -> {"notices":{item_id:rec},"faults":{...}} */
    struct hd_sim_idem *idem; /* owned */
    struct slow *slow;        /* owned: requests held back by a street's latency */
    json_int_t next_notice;
    json_int_t writes; /* orders notices written within the same millisecond */
};

static const char *const categories[] = {"normative_document",
                                         "policy_document",
                                         "policy_interpretation",
                                         "press_conference",
                                         "gazette",
                                         "notice",
                                         "work_news",
                                         "personnel",
                                         "consultation",
                                         "emergency",
                                         NULL};

static const char *const doc_fields[] = {"item_id",     "revision", "category",  "title",
                                         "summary",     "qr_url",   "image_url", "valid_from",
                                         "valid_until", "target",   "priority",  NULL};

static void reply_error(struct hd_sim_req *r, int status, const char *error)
{
    hd_sim_reply_json(r, status, json_pack("{s:s}", "error", error));
}

static size_t utf8_chars(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xc0) != 0x80;
    return n;
}

static int nonempty_string(const json_t *v)
{
    return json_is_string(v) && json_string_length(v) > 0;
}

static int http_url(const json_t *v)
{
    const char *s = json_string_value(v);
    return s && (strncmp(s, "http://", 7) == 0 || strncmp(s, "https://", 8) == 0) &&
           strlen(s) > 8 && !strpbrk(s, " \t\r\n");
}

/* Markup in what must be plain text: a tag (<p>, </b>, <!-- , <?xml) or an entity (&amp;,
 * &#34;, &#x4e2d;). */
static int has_markup(const char *s)
{
    for (const char *p = s; *p; p++) {
        if (*p == '<' &&
            (isalpha((unsigned char)p[1]) || p[1] == '/' || p[1] == '!' || p[1] == '?'))
            return 1;
        if (*p == '&') {
            const char *q = p + 1;
            if (*q == '#') {
                q++;
                if (*q == 'x' || *q == 'X')
                    q++;
                if (!isxdigit((unsigned char)*q))
                    continue;
                while (isxdigit((unsigned char)*q))
                    q++;
            } else {
                if (!isalpha((unsigned char)*q))
                    continue;
                while (isalnum((unsigned char)*q))
                    q++;
            }
            if (*q == ';')
                return 1;
        }
    }
    return 0;
}

/* ---- streets ------------------------------------------------------------------------------ */

static int street_known(struct ejt_sim *s, const char *code)
{
    if (!s->known) {
        size_t n = strlen(code);
        return n >= 6 && n <= 12 && strspn(code, "0123456789") == n;
    }
    size_t i;
    json_t *v;
    json_array_foreach (s->known, i, v) {
        if (strcmp(json_string_value(v), code) == 0)
            return 1;
    }
    return 0;
}

static json_t *street(struct ejt_sim *s, const char *code)
{
    json_t *st = json_object_get(s->streets, code);
    if (!st) {
        st = json_pack("{s:{},s:{}}", "notices", "faults");
        json_object_set_new(s->streets, code, st);
    }
    return st;
}

/* ---- requests ------------------------------------------------------------------------------ */

static int signature_ok(struct ejt_sim *s, struct hd_sim_req *r, const char *code)
{
    size_t len;
    const char *raw = hd_sim_req_body(r, &len);
    const char *ts = hd_sim_req_header(r, "X-Gov-Timestamp");
    const char *sig = hd_sim_req_header(r, "X-Gov-Signature");
    const char *own = json_string_value(json_object_get(s->street_secrets, code));
    if (!ts || !*ts || strlen(ts) > 18 || strspn(ts, "0123456789") != strlen(ts) ||
        hd_sim_verify_v1(own ? own : s->secret, ts, raw, len, sig) != 0) {
        reply_error(r, 401, "bad_signature");
        return 0;
    }
    int64_t age = hd_sim_now_ms(s->sim) / 1000 - strtoll(ts, NULL, 10);
    if (age > s->tolerance_s || -age > s->tolerance_s) {
        reply_error(r, 401, "stale_timestamp");
        return 0;
    }
    return 1;
}

static void reply_field(struct hd_sim_req *r, int status, const char *error, const char *field,
                        const char *detail)
{
    json_t *b = json_pack("{s:s,s:s}", "error", error, "field", field);
    if (b && detail)
        json_object_set_new(b, "detail", json_string(detail));
    hd_sim_reply_json(r, status, b);
}

/* 0 when valid; otherwise answered (400 validation, 422 too_long / not_plain_text / expired). */
static int validate(struct ejt_sim *s, struct hd_sim_req *r, json_t *doc, int64_t *from_ms,
                    int64_t *until_ms)
{
    const char *k;
    json_t *v;
    size_t i;
    json_object_foreach (doc, k, v) {
        for (i = 0; doc_fields[i] && strcmp(doc_fields[i], k) != 0; i++)
            ;
        if (!doc_fields[i]) {
            reply_field(r, 400, "validation", k, "unknown field");
            return -1;
        }
    }
    if (!nonempty_string(json_object_get(doc, "item_id"))) {
        reply_field(r, 400, "validation", "item_id", "required, a non-empty string");
        return -1;
    }
    v = json_object_get(doc, "revision");
    if (!json_is_integer(v) || json_integer_value(v) < 1) {
        reply_field(r, 400, "validation", "revision", "required, a positive integer");
        return -1;
    }
    const char *cat = json_string_value(json_object_get(doc, "category"));
    for (i = 0; cat && categories[i] && strcmp(categories[i], cat) != 0; i++)
        ;
    if (!cat || !categories[i]) {
        reply_field(r, 400, "validation", "category", "one of herald.item/v1's categories");
        return -1;
    }
    static const char *const texts[] = {"title", "summary"};
    for (i = 0; i < 2; i++) {
        v = json_object_get(doc, texts[i]);
        if (!json_is_string(v) || (i == 0 && json_string_length(v) == 0)) {
            reply_field(r, 400, "validation", texts[i],
                        i == 0 ? "required, a non-empty string" : "required, a string");
            return -1;
        }
        const char *t = json_string_value(v);
        size_t n = utf8_chars(t), max = (size_t)(i == 0 ? s->title_max : s->summary_max);
        if (n > max) {
            hd_sim_reply_json(r, 422,
                              json_pack("{s:s,s:s,s:I,s:I}", "error", "too_long", "field", texts[i],
                                        "max_chars", (json_int_t)max, "chars", (json_int_t)n));
            return -1;
        }
        if (has_markup(t) || (i == 0 && strpbrk(t, "\r\n"))) {
            reply_field(r, 422, "not_plain_text", texts[i],
                        i == 0 ? "plain text on one line: no markup, no entities"
                               : "plain text: no markup, no entities");
            return -1;
        }
    }
    if (!http_url(json_object_get(doc, "qr_url"))) {
        reply_field(r, 400, "validation", "qr_url", "required, an http(s) URL");
        return -1;
    }
    v = json_object_get(doc, "image_url");
    if (v && !http_url(v)) {
        reply_field(r, 400, "validation", "image_url", "an http(s) URL when given");
        return -1;
    }
    const char *from = json_string_value(json_object_get(doc, "valid_from"));
    const char *until = json_string_value(json_object_get(doc, "valid_until"));
    if (!from || hd_time_parse_rfc3339(from, from_ms) != 0) {
        reply_field(r, 400, "validation", "valid_from", "required, RFC 3339 with an offset");
        return -1;
    }
    if (!until || hd_time_parse_rfc3339(until, until_ms) != 0 || *until_ms <= *from_ms) {
        reply_field(r, 400, "validation", "valid_until",
                    "required, RFC 3339 with an offset, after valid_from");
        return -1;
    }
    if (*until_ms <= hd_sim_now_ms(s->sim)) {
        reply_field(r, 422, "expired", "valid_until", "the notice's window is already over");
        return -1;
    }
    json_t *t = json_object_get(doc, "target");
    json_t *all = json_object_get(t, "all_communities"),
           *codes = json_object_get(t, "community_codes");
    int ok = json_is_object(t) && json_object_size(t) == 1 &&
             ((all && json_is_true(all)) || (json_is_array(codes) && json_array_size(codes) > 0));
    json_array_foreach (codes, i, v) {
        ok &= nonempty_string(v);
    }
    if (!ok) {
        reply_field(r, 400, "validation", "target",
                    "{\"all_communities\":true} or {\"community_codes\":[...]} (non-empty)");
        return -1;
    }
    const char *pr = json_string_value(json_object_get(doc, "priority"));
    if (!pr || (strcmp(pr, "normal") != 0 && strcmp(pr, "urgent") != 0)) {
        reply_field(r, 400, "validation", "priority", "normal or urgent");
        return -1;
    }
    return 0;
}

static void post_notice(struct ejt_sim *s, struct hd_sim_req *r, const char *code, const char *key,
                        json_t *doc, int64_t from_ms, int64_t until_ms)
{
    json_t *notices = json_object_get(street(s, code), "notices");
    const char *item_id = json_string_value(json_object_get(doc, "item_id"));
    json_int_t revision = json_integer_value(json_object_get(doc, "revision"));
    json_t *rec = json_object_get(notices, item_id);
    int64_t now = hd_sim_now_ms(s->sim);
    if (rec) {
        json_int_t stored = json_integer_value(json_object_get(rec, "revision"));
        const char *nid = json_string_value(json_object_get(rec, "notice_id"));
        if (revision < stored) {
            hd_sim_idem_reply(
                s->idem, r, key, 409,
                json_pack("{s:s,s:I}", "error", "stale_revision", "revision", stored));
            return;
        }
        if (revision == stored) { /* an upsert of what is there: nothing changes */
            hd_sim_duplicate(r, key);
            hd_sim_idem_reply(s->idem, r, key, 200,
                              json_pack("{s:s,s:s,s:I,s:s}", "notice_id", nid, "street_code", code,
                                        "revision", stored, "status", "unchanged"));
            return;
        }
    }
    char nid[96];
    if (rec)
        snprintf(nid, sizeof(nid), "%s", json_string_value(json_object_get(rec, "notice_id")));
    else
        snprintf(nid, sizeof(nid), "%s-%" JSON_INTEGER_FORMAT, code, s->next_notice++);
    json_t *nrec = json_pack(
        "{s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:s,s:O}", "notice_id", nid, "revision", revision,
        "valid_from_ms", (json_int_t)from_ms, "valid_until_ms", (json_int_t)until_ms, "created_at",
        rec ? json_integer_value(json_object_get(rec, "created_at")) : (json_int_t)now,
        "updated_at", (json_int_t)now, "write", ++s->writes, "idempotency_key", key, "notice", doc);
    json_object_set_new(notices, item_id, nrec);
    hd_sim_applied(r, key);
    hd_sim_idem_reply(s->idem, r, key, rec ? 200 : 201,
                      json_pack("{s:s,s:s,s:I,s:s}", "notice_id", nid, "street_code", code,
                                "revision", revision, "status", rec ? "updated" : "created"));
}

static void delete_notice(struct ejt_sim *s, struct hd_sim_req *r, const char *code,
                          const char *key, const char *item_id)
{
    json_t *notices = json_object_get(street(s, code), "notices");
    if (!json_object_get(notices, item_id)) {
        hd_sim_idem_reply(s->idem, r, key, 404, json_pack("{s:s}", "error", "not_found"));
        return;
    }
    json_object_del(notices, item_id);
    hd_sim_applied(r, key);
    hd_sim_idem_reply(s->idem, r, key, 200, json_pack("{s:b}", "deleted", 1));
}

/* Notices the street shows at `now`: inside their window, urgent first, then newest first. */
static json_t *showing(struct ejt_sim *s, json_t *st)
{
    int64_t now = hd_sim_now_ms(s->sim);
    json_t *list = json_array();
    const char *id;
    json_t *rec;
    for (int urgent = 1; urgent >= 0; urgent--) {
        json_t *part = json_array();
        json_object_foreach (json_object_get(st, "notices"), id, rec) {
            json_t *n = json_object_get(rec, "notice");
            int u = strcmp(json_string_value(json_object_get(n, "priority")), "urgent") == 0;
            if (u != urgent || json_integer_value(json_object_get(rec, "valid_from_ms")) > now ||
                json_integer_value(json_object_get(rec, "valid_until_ms")) <= now)
                continue;
            json_t *e = json_pack(
                "{s:s,s:O,s:O,s:O,s:O}", "item_id", id, "revision",
                json_object_get(rec, "revision"), "title", json_object_get(n, "title"), "priority",
                json_object_get(n, "priority"), "updated_at", json_object_get(rec, "updated_at"));
            size_t at = 0; /* newest first (the later write first within a millisecond) */
            json_t *o;
            json_int_t eu = json_integer_value(json_object_get(rec, "updated_at"));
            json_int_t ew = json_integer_value(json_object_get(rec, "write"));
            json_array_foreach (part, at, o) {
                json_int_t ou = json_integer_value(json_object_get(o, "updated_at"));
                if (ou < eu || (ou == eu && json_integer_value(json_object_get(o, "write")) < ew))
                    break;
            }
            json_object_set_new(e, "write", json_integer(ew));
            json_array_insert_new(part, at, e);
        }
        size_t i;
        json_t *o;
        json_array_foreach (part, i, o)
            json_object_del(o, "write"); /* for ordering only */
        json_array_extend(list, part);
        json_decref(part);
    }
    return list;
}

/* Splits [/<prefix>]/v1/streets/{code}/notices[/{item_id}]; 0 when it matches. */
static int parse_path(const char *path, char *code, size_t clen, const char **item_id,
                      int *has_item)
{
    const char *v1 = strstr(path, "/v1/streets/");
    if (!v1)
        return -1;
    if (v1 != path) { /* one prefix segment at most: /<prefix>/v1/... */
        const char *slash = strchr(path + 1, '/');
        if (slash != v1)
            return -1;
    }
    const char *c = v1 + strlen("/v1/streets/");
    size_t n = strcspn(c, "/");
    if (n == 0 || n >= clen || strncmp(c + n, "/notices", 8) != 0)
        return -1;
    memcpy(code, c, n);
    code[n] = '\0';
    const char *rest = c + n + 8;
    *has_item = 0;
    *item_id = NULL;
    if (*rest == '\0' || strcmp(rest, "/") == 0)
        return 0;
    if (*rest != '/' || !rest[1] || strchr(rest + 1, '/'))
        return -1;
    *has_item = 1;
    *item_id = rest + 1;
    return 0;
}

static void serve(struct ejt_sim *s, struct hd_sim_req *r)
{
    const char *method = hd_sim_req_method(r), *path = hd_sim_req_path(r), *item_id;
    char code[64];
    int has_item;
    if (parse_path(path, code, sizeof(code), &item_id, &has_item) != 0) {
        reply_error(r, 404, "not_found");
        return;
    }
    if (!street_known(s, code)) {
        reply_error(r, 404, "unknown_street");
        return;
    }
    json_t *st = street(s, code);
    json_object_set_new(st, "last_path", json_string(path));
    if (strcmp(method, "GET") == 0) {
        if (!has_item) {
            hd_sim_reply_json(
                r, 200, json_pack("{s:s,s:o}", "street_code", code, "showing", showing(s, st)));
        } else {
            json_t *rec = json_object_get(json_object_get(st, "notices"), item_id);
            if (rec)
                hd_sim_reply_json(r, 200, json_incref(rec));
            else
                reply_error(r, 404, "not_found");
        }
        return;
    }
    if ((!has_item && strcmp(method, "POST") != 0) || (has_item && strcmp(method, "DELETE") != 0)) {
        hd_sim_reply_header(r, "Allow", has_item ? "GET, DELETE" : "GET, POST");
        reply_error(r, 405, "method_not_allowed");
        return;
    }
    if (!hd_sim_req_content_type_is(r, "application/json")) {
        reply_error(r, 415, "unsupported_media_type");
        return;
    }
    if (!signature_ok(s, r, code))
        return;
    const char *key = hd_sim_req_header(r, "Idempotency-Key");
    if (hd_sim_idem_key_ok(key) != 0) {
        reply_field(r, 400, "validation", "Idempotency-Key",
                    "required, 1 to 255 printable ASCII characters");
        return;
    }
    if (hd_sim_idem_begin(s->idem, r, key))
        return;
    size_t len;
    const char *raw = hd_sim_req_body(r, &len);
    json_error_t jerr;
    json_t *doc =
        len || !has_item ? json_loadb(raw, len, JSON_REJECT_DUPLICATES, &jerr) : json_object();
    int64_t from_ms, until_ms;
    if (!json_is_object(doc))
        reply_field(r, 400, "validation", "body", doc ? "a JSON object" : jerr.text);
    else if (has_item)
        delete_notice(s, r, code, key, item_id);
    else if (validate(s, r, doc, &from_ms, &until_ms) == 0)
        post_notice(s, r, code, key, doc, from_ms, until_ms);
    json_decref(doc);
}

static void on_slow(evutil_socket_t fd, short what, void *arg)
{
    struct slow *w = arg, **pp;
    struct ejt_sim *s = w->s;
    for (pp = &s->slow; *pp && *pp != w; pp = &(*pp)->next)
        ;
    if (*pp)
        *pp = w->next;
    event_free(w->ev);
    serve(s, w->req);
    free(w);
}

/* A street's own faults: down (the connection is closed unanswered), status (+ Retry-After),
 * latency_ms (the answer comes late). */
static void handle(void *state, struct hd_sim_req *r)
{
    struct ejt_sim *s = state;
    char code[64];
    const char *item_id;
    int has_item;
    json_t *f = NULL;
    if (parse_path(hd_sim_req_path(r), code, sizeof(code), &item_id, &has_item) == 0)
        f = json_object_get(json_object_get(s->streets, code), "faults");
    if (json_is_true(json_object_get(f, "down"))) {
        hd_sim_drop(r);
        return;
    }
    json_int_t status = json_integer_value(json_object_get(f, "status"));
    if (status) {
        const char *ra = json_string_value(json_object_get(f, "retry_after"));
        if (ra)
            hd_sim_reply_header(r, "Retry-After", ra);
        hd_sim_reply_json(
            r, (int)status,
            json_pack("{s:s,s:s}", "error", "street_unavailable", "street_code", code));
        return;
    }
    json_int_t latency = json_integer_value(json_object_get(f, "latency_ms"));
    if (latency > 0) {
        struct slow *w = calloc(1, sizeof(*w));
        if (w) {
            w->s = s;
            w->req = r;
            w->ev = evtimer_new(hd_sim_base(s->sim), on_slow, w);
            struct timeval tv = {(time_t)(latency / 1000), (suseconds_t)(latency % 1000) * 1000};
            if (w->ev && evtimer_add(w->ev, &tv) == 0) {
                w->next = s->slow;
                s->slow = w;
                return;
            }
            if (w->ev)
                event_free(w->ev);
            free(w);
        }
    }
    serve(s, r);
}

/* POST /_sim/streets {"street":"440104004" | "streets":[...], "down":bool, "status":N,
 * "retry_after":"S", "latency_ms":N, "clear":true} */
static int control(void *state, const char *path, const json_t *body, json_t **reply)
{
    struct ejt_sim *s = state;
    if (strcmp(path, "streets") != 0 || !json_is_object(body))
        return -1;
    json_t *codes = json_array();
    json_t *one = json_object_get(body, "street"), *many = json_object_get(body, "streets");
    if (json_is_string(one))
        json_array_append(codes, one);
    json_array_extend(codes, json_is_array(many) ? many : NULL);
    size_t i;
    json_t *c;
    json_t *out = json_object();
    json_array_foreach (codes, i, c) {
        if (!json_is_string(c) || !street_known(s, json_string_value(c)))
            continue;
        json_t *f = json_object_get(street(s, json_string_value(c)), "faults");
        if (json_is_true(json_object_get(body, "clear")))
            json_object_clear(f);
        static const char *const knobs[] = {"down", "status", "retry_after", "latency_ms", NULL};
        for (int k = 0; knobs[k]; k++) {
            json_t *v = json_object_get(body, knobs[k]);
            if (!v)
                continue;
            if (json_is_null(v) || json_is_false(v) ||
                (json_is_integer(v) && !json_integer_value(v)))
                json_object_del(f, knobs[k]);
            else
                json_object_set(f, knobs[k], v);
        }
        json_object_set(out, json_string_value(c), f);
    }
    json_decref(codes);
    *reply = json_pack("{s:o}", "faults", out);
    return 0;
}

static void destroy(void *state)
{
    struct ejt_sim *s = state;
    if (!s)
        return;
    while (s->slow) {
        struct slow *w = s->slow;
        s->slow = w->next;
        event_free(w->ev);
        free(w);
    }
    hd_sim_idem_destroy(s->idem);
    json_decref(s->streets);
    json_decref(s->known);
    json_decref(s->street_secrets);
    free(s->secret);
    free(s);
}

static int init(struct hd_sim *sim, const json_t *conf, void **state)
{
    static const char *const known[] = {"secret",    "streets",     "tolerance_s",    "key_ttl_s",
                                        "title_max", "summary_max", "street_secrets", NULL};
    json_t *secret = json_object_get(conf, "secret"), *streets = json_object_get(conf, "streets");
    if (hd_sim_conf_check_keys(sim, conf, known) < 0)
        return HD_EINVAL;
    if (!nonempty_string(secret)) {
        hd_sim_log_error(sim, "config: \"secret\" (a non-empty string) is required");
        return HD_EINVAL;
    }
    size_t i;
    json_t *v;
    json_array_foreach (streets, i, v) {
        if (!nonempty_string(v) || strchr(json_string_value(v), '/')) {
            hd_sim_log_error(sim, "config: \"streets\" must list street codes");
            return HD_EINVAL;
        }
    }
    json_t *own = json_object_get(conf, "street_secrets");
    const char *code;
    json_object_foreach (own, code, v) {
        if (!nonempty_string(v)) {
            hd_sim_log_error(sim, "config: \"street_secrets\" maps street codes to keys");
            return HD_EINVAL;
        }
    }
    if (own && !json_is_object(own)) {
        hd_sim_log_error(sim, "config: \"street_secrets\" maps street codes to keys");
        return HD_EINVAL;
    }
    static const char *const ints[] = {"tolerance_s", "key_ttl_s", "title_max", "summary_max"};
    for (i = 0; i < 4; i++) {
        v = json_object_get(conf, ints[i]);
        if (v && (!json_is_integer(v) || json_integer_value(v) < 1)) {
            hd_sim_log_error(sim, "config: %s must be an integer >= 1", ints[i]);
            return HD_EINVAL;
        }
    }
    struct ejt_sim *s = calloc(1, sizeof(*s));
    if (!s)
        return HD_ENOMEM;
#define INT_OR(k, d) (json_object_get(conf, k) ? json_integer_value(json_object_get(conf, k)) : (d))
    s->sim = sim;
    s->secret = strdup(json_string_value(secret));
    s->tolerance_s = INT_OR("tolerance_s", 300);
    s->title_max = INT_OR("title_max", 40);
    s->summary_max = INT_OR("summary_max", 200);
    s->idem = hd_sim_idem_create(sim, INT_OR("key_ttl_s", 86400) * 1000, 200);
#undef INT_OR
    s->known = json_is_array(streets) ? json_deep_copy(streets) : NULL;
    s->street_secrets = own ? json_deep_copy(own) : NULL;
    s->streets = json_object();
    s->next_notice = 1;
    if (!s->secret || !s->idem || !s->streets || (streets && !s->known)) {
        destroy(s);
        return HD_ENOMEM;
    }
    *state = s;
    return 0;
}

static void reset(void *state)
{
    struct ejt_sim *s = state;
    hd_sim_idem_clear(s->idem);
    json_object_clear(s->streets);
    s->next_notice = 1;
}

static json_t *inspect(void *state)
{
    struct ejt_sim *s = state;
    json_t *out = json_object();
    size_t i;
    json_t *v;
    json_array_foreach (s->known, i, v) {
        street(s, json_string_value(v));
    }
    const char *code;
    json_t *st;
    json_object_foreach (s->streets, code, st) {
        json_t *o =
            json_pack("{s:o,s:O,s:O}", "showing", showing(s, st), "notices",
                      json_object_get(st, "notices"), "faults", json_object_get(st, "faults"));
        if (json_object_get(st, "last_path"))
            json_object_set(o, "last_path", json_object_get(st, "last_path"));
        json_object_set_new(out, code, o);
    }
    return json_pack("{s:o}", "streets", out);
}

const struct hd_sim_def hd_sim_ejiatong = {
    .name = "ejiatong",
    .description = "e家通 street community platforms (CHANNELS.md §4.6)",
    .init = init,
    .destroy = destroy,
    .reset = reset,
    .handle = handle,
    .inspect = inspect,
    .control = control,
};
