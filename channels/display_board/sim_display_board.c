/*
 * display_board simulator: the board gateway of CHANNELS.md §4.5 with an in-memory model of
 * every board and area (what the gateway wants each area to show, and what the board shows now).
 *   PUT    /v1/boards/{board}/areas/{area}/message            idempotent replace of the area's
 *                                                            message of that priority
 *   DELETE /v1/boards/{board}/areas/{area}/message?item_id=  withdraw (404: not there)
 *   GET    /v1/boards/{board}/status                         {online, last_seen, current, areas}
 * Signed as §3.3 (X-Gov-Timestamp / X-Gov-Signature, 300 s tolerance on the simulator's clock),
 * Idempotency-Key on PUT (replay, 409 in flight, 422 reused). The text must be one paragraph of
 * plain text, GBK-encodable (422 text_not_gbk_encodable; checked here with iconv, GBK proper: the
 * CP936 single byte 0x80 for € is refused) and within the area's max_chars (422 text_too_long).
 * An urgent message pre-empts the normal one of the same area, which comes back when the urgent
 * one goes; nothing is shown outside [valid_from, valid_until), and a message already expired is
 * refused (422 expired). An offline board (POST /_sim/boards {"board":..,"online":false}) gets
 * 202 (queued) and is re-synced with the gateway's desired state when it comes back.
 *
 * config: {"secret":"...","tolerance_s":300,"key_ttl_s":86400,"default_max_chars":64,
 *          "boards":{"zwfw-center":{"areas":{"entrance":{"max_chars":64},...}},...}}
 *          secret is required; without "boards" any board/area exists with default_max_chars.
 */
#include <ctype.h>
#include <iconv.h>

#include "common.h"
#include "item.h"
#include "sim.h"

#define ID_MAX 64

struct board_sim {
    struct hd_sim *sim; /* borrowed */
    char *secret;       /* owned */
    int64_t tolerance_s, default_max;
    json_t *layout;           /* owned: the configured boards, or NULL (any) */
    json_t *boards;           /* owned: board id -> model (see board()) */
    struct hd_sim_idem *idem; /* owned */
};

static const char *const put_fields[] = {"item_id",     "revision", "priority", "text",
                                         "mode",        "speed",    "stay_s",   "valid_from",
                                         "valid_until", "color",    NULL};
static const char *const slots[] = {"urgent", "normal"};

static void reply_error(struct hd_sim_req *r, int status, const char *error)
{
    hd_sim_reply_json(r, status, json_pack("{s:s}", "error", error));
}

static void reply_field(struct hd_sim_req *r, const char *field, const char *detail)
{
    hd_sim_reply_json(
        r, 400,
        json_pack("{s:s,s:s,s:s}", "error", "validation", "field", field, "detail", detail));
}

static int nonempty_string(const json_t *v)
{
    return json_is_string(v) && json_string_length(v) > 0;
}

static int id_ok(const char *s, size_t n)
{
    return n > 0 && n <= ID_MAX &&
           strspn(s, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_-") >= n;
}

static size_t utf8_chars(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xc0) != 0x80;
    return n;
}

/* -1 when all of s is GBK (double-byte or ASCII); else the index (in characters) of the first
 * character that is not, copied to bad. */
static long gbk_first_bad(const char *s, char bad[8])
{
    iconv_t cd = iconv_open("GBK", "UTF-8");
    if (cd == (iconv_t)-1)
        return 0;
    long idx = -1, i = 0;
    for (const char *p = s; *p; i++) {
        size_t n = 1;
        while (p[n] && ((unsigned char)p[n] & 0xc0) == 0x80 && n < 4)
            n++;
        char out[16], *in = (char *)p, *o = out;
        size_t left = n, room = sizeof(out);
        iconv(cd, NULL, NULL, NULL, NULL);
        size_t rc = iconv(cd, &in, &left, &o, &room);
        size_t got = sizeof(out) - room;
        int ok = rc != (size_t)-1 && left == 0 &&
                 ((got == 1 && (unsigned char)out[0] < 0x80) || got == 2);
        if (!ok) {
            idx = i;
            memcpy(bad, p, n);
            bad[n] = '\0';
            break;
        }
        p += n;
    }
    iconv_close(cd);
    return idx;
}

static int has_markup(const char *s)
{
    for (const char *p = s; *p; p++) {
        if (*p == '<' && (isalpha((unsigned char)p[1]) || p[1] == '/' || p[1] == '!'))
            return 1;
        if (*p == '&' && (isalpha((unsigned char)p[1]) || p[1] == '#')) {
            const char *q = p + 1 + (p[1] == '#');
            while (isalnum((unsigned char)*q))
                q++;
            if (*q == ';')
                return 1;
        }
    }
    return 0;
}

/* ---- the model ----------------------------------------------------------------------------- */

static int64_t area_max(struct board_sim *s, const char *board_id, const char *area_id)
{
    if (!s->layout)
        return s->default_max;
    json_t *a =
        json_object_get(json_object_get(json_object_get(s->layout, board_id), "areas"), area_id);
    json_t *m = json_object_get(a, "max_chars");
    return m ? json_integer_value(m) : a ? s->default_max : -1;
}

/* A board's model: {"online":bool,"offline_since":ms,"resyncs":n,"areas":{id:{"desired":{slot:
 * msg},"physical":{slot:msg}}}}; NULL when the board is not configured. */
static json_t *board(struct board_sim *s, const char *id)
{
    json_t *b = json_object_get(s->boards, id);
    if (b)
        return b;
    if (s->layout && !json_object_get(s->layout, id))
        return NULL;
    if (!id_ok(id, strlen(id)))
        return NULL;
    b = json_pack("{s:b,s:I,s:{}}", "online", 1, "resyncs", (json_int_t)0, "areas");
    json_object_set_new(s->boards, id, b);
    return b;
}

static json_t *area(struct board_sim *s, json_t *b, const char *board_id, const char *id)
{
    if (area_max(s, board_id, id) < 0)
        return NULL;
    json_t *areas = json_object_get(b, "areas");
    json_t *a = json_object_get(areas, id);
    if (!a) {
        a = json_pack("{s:{},s:{}}", "desired", "physical");
        json_object_set_new(areas, id, a);
    }
    return a;
}

static int in_window(json_t *msg, int64_t now)
{
    json_t *u = json_object_get(msg, "valid_until_ms");
    return json_integer_value(json_object_get(msg, "valid_from_ms")) <= now &&
           (!u || json_is_null(u) || json_integer_value(u) > now);
}

/* What the area shows now: the board's own copy, urgent first, only inside its window. */
static json_t *shown(json_t *a, int64_t now)
{
    json_t *phys = json_object_get(a, "physical");
    for (int i = 0; i < 2; i++) {
        json_t *m = json_object_get(phys, slots[i]);
        if (m && in_window(m, now))
            return m;
    }
    return NULL;
}

/* The board is back: it takes the gateway's desired state. */
static void resync(json_t *b)
{
    const char *id;
    json_t *a;
    json_object_foreach (json_object_get(b, "areas"), id, a) {
        json_object_set_new(a, "physical", json_deep_copy(json_object_get(a, "desired")));
    }
    json_object_set_new(b, "resyncs",
                        json_integer(json_integer_value(json_object_get(b, "resyncs")) + 1));
}

static json_t *msg_brief(json_t *m)
{
    return m ? json_pack("{s:O,s:O,s:O,s:O,s:O?}", "item_id", json_object_get(m, "item_id"),
                         "revision", json_object_get(m, "revision"), "priority",
                         json_object_get(m, "priority"), "text", json_object_get(m, "text"),
                         "valid_until", json_object_get(m, "valid_until"))
             : json_null();
}

/* The §4.5 status answer, with each area's messages and their state (shown, preempted,
 * scheduled, expired, queued: not yet on the offline board). */
static json_t *status_of(struct board_sim *s, const char *board_id, json_t *b)
{
    int64_t now = hd_sim_now_ms(s->sim);
    int online = json_is_true(json_object_get(b, "online"));
    char seen[32];
    hd_time_format_rfc3339(online ? now : json_integer_value(json_object_get(b, "offline_since")),
                           seen);
    json_t *areas = json_object(), *current = json_null();
    const char *id;
    json_t *a;
    json_object_foreach (json_object_get(b, "areas"), id, a) {
        json_t *cur = shown(a, now), *msgs = json_array();
        for (int i = 0; i < 2; i++) {
            json_t *m = json_object_get(json_object_get(a, "desired"), slots[i]);
            if (!m)
                continue;
            json_t *p = json_object_get(json_object_get(a, "physical"), slots[i]);
            const char *state =
                !json_equal(m, p) ? "queued"
                : !in_window(m, now)
                    ? (json_integer_value(json_object_get(m, "valid_from_ms")) > now ? "scheduled"
                                                                                     : "expired")
                : m == cur || json_equal(m, cur) ? "shown"
                                                 : "preempted";
            json_array_append_new(msgs, json_pack("{s:O,s:O,s:O,s:s}", "item_id",
                                                  json_object_get(m, "item_id"), "revision",
                                                  json_object_get(m, "revision"), "priority",
                                                  json_object_get(m, "priority"), "state", state));
        }
        json_object_set_new(areas, id,
                            json_pack("{s:o,s:o}", "current", msg_brief(cur), "messages", msgs));
        if (cur && json_is_null(current))
            current = json_pack("{s:O,s:O,s:O?,s:s}", "item_id", json_object_get(cur, "item_id"),
                                "revision", json_object_get(cur, "revision"), "valid_until",
                                json_object_get(cur, "valid_until"), "area", id);
    }
    return json_pack("{s:s,s:b,s:s,s:o,s:o}", "board_id", board_id, "online", online, "last_seen",
                     seen, "current", current, "areas", areas);
}

/* ---- requests ------------------------------------------------------------------------------ */

static int signature_ok(struct board_sim *s, struct hd_sim_req *r)
{
    size_t len;
    const char *raw = hd_sim_req_body(r, &len);
    const char *ts = hd_sim_req_header(r, "X-Gov-Timestamp");
    const char *sig = hd_sim_req_header(r, "X-Gov-Signature");
    if (!ts || !*ts || strlen(ts) > 18 || strspn(ts, "0123456789") != strlen(ts) ||
        hd_sim_verify_v1(s->secret, ts, raw, len, sig) != 0) {
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

/* 0 when valid (the window in from and until; until is -1 when open); otherwise answered. */
static int validate(struct board_sim *s, struct hd_sim_req *r, json_t *doc, int64_t max,
                    int64_t *from, int64_t *until)
{
    const char *k;
    json_t *v;
    size_t i;
    json_object_foreach (doc, k, v) {
        for (i = 0; put_fields[i] && strcmp(put_fields[i], k) != 0; i++)
            ;
        if (!put_fields[i]) {
            reply_field(r, k, "unknown field");
            return -1;
        }
    }
    if (!nonempty_string(json_object_get(doc, "item_id"))) {
        reply_field(r, "item_id", "required, a non-empty string");
        return -1;
    }
    v = json_object_get(doc, "revision");
    if (!json_is_integer(v) || json_integer_value(v) < 1) {
        reply_field(r, "revision", "required, a positive integer");
        return -1;
    }
    const char *pr = json_string_value(json_object_get(doc, "priority"));
    if (!pr || (strcmp(pr, "normal") != 0 && strcmp(pr, "urgent") != 0)) {
        reply_field(r, "priority", "required, normal or urgent");
        return -1;
    }
    const char *text = json_string_value(json_object_get(doc, "text"));
    if (!text || !*text) {
        reply_field(r, "text", "required, a non-empty string");
        return -1;
    }
    for (const unsigned char *p = (const unsigned char *)text; *p; p++)
        if (*p < 0x20 || *p == 0x7f) {
            reply_field(r, "text", "one paragraph: no line breaks or control characters");
            return -1;
        }
    if (has_markup(text)) {
        reply_field(r, "text", "plain text: no HTML tags or entities");
        return -1;
    }
    char bad[8];
    long at = gbk_first_bad(text, bad);
    if (at >= 0) {
        hd_sim_reply_json(r, 422,
                          json_pack("{s:s,s:s,s:I}", "error", "text_not_gbk_encodable", "char", bad,
                                    "offset", (json_int_t)at));
        return -1;
    }
    size_t n = utf8_chars(text);
    if ((int64_t)n > max) {
        hd_sim_reply_json(r, 422,
                          json_pack("{s:s,s:I,s:I}", "error", "text_too_long", "max_chars",
                                    (json_int_t)max, "chars", (json_int_t)n));
        return -1;
    }
    const char *mode = json_string_value(json_object_get(doc, "mode"));
    if (json_object_get(doc, "mode") &&
        (!mode || (strcmp(mode, "static") && strcmp(mode, "scroll_left") &&
                   strcmp(mode, "scroll_up") && strcmp(mode, "typeout")))) {
        reply_field(r, "mode", "static, scroll_left, scroll_up or typeout");
        return -1;
    }
    v = json_object_get(doc, "speed");
    if (v && (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 10)) {
        reply_field(r, "speed", "an integer 1-10");
        return -1;
    }
    v = json_object_get(doc, "stay_s");
    if (v && (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 65535)) {
        reply_field(r, "stay_s", "an integer 0-65535 (16-bit seconds, as the controllers)");
        return -1;
    }
    const char *color = json_string_value(json_object_get(doc, "color"));
    if (json_object_get(doc, "color") &&
        (!color || (strcmp(color, "red") && strcmp(color, "green") && strcmp(color, "yellow")))) {
        reply_field(r, "color", "red, green or yellow");
        return -1;
    }
    int64_t now = hd_sim_now_ms(s->sim);
    v = json_object_get(doc, "valid_from");
    *from = now;
    if (v && (!json_is_string(v) || hd_time_parse_rfc3339(json_string_value(v), from) != 0)) {
        reply_field(r, "valid_from", "RFC 3339 with an offset");
        return -1;
    }
    v = json_object_get(doc, "valid_until");
    *until = -1;
    if (v && (!json_is_string(v) || hd_time_parse_rfc3339(json_string_value(v), until) != 0 ||
              *until <= *from)) {
        reply_field(r, "valid_until", "RFC 3339 with an offset, after valid_from");
        return -1;
    }
    if (v && *until <= now) {
        hd_sim_reply_json(r, 422,
                          json_pack("{s:s,s:s}", "error", "expired", "detail",
                                    "valid_until has passed: the message is never shown"));
        return -1;
    }
    return 0;
}

static void put_message(struct board_sim *s, struct hd_sim_req *r, const char *board_id, json_t *b,
                        const char *area_id, json_t *a, const char *key, json_t *doc, int64_t from,
                        int64_t until)
{
    const char *item_id = json_string_value(json_object_get(doc, "item_id"));
    json_int_t rev = json_integer_value(json_object_get(doc, "revision"));
    const char *slot = json_string_value(json_object_get(doc, "priority"));
    json_t *desired = json_object_get(a, "desired");
    int online = json_is_true(json_object_get(b, "online"));
    for (int i = 0; i < 2; i++) { /* the same item, older or equal, in either slot */
        json_t *m = json_object_get(desired, slots[i]);
        const char *mid = json_string_value(json_object_get(m, "item_id"));
        if (!mid || strcmp(mid, item_id) != 0)
            continue;
        json_int_t have = json_integer_value(json_object_get(m, "revision"));
        if (rev < have) {
            hd_sim_idem_reply(s->idem, r, key, 409,
                              json_pack("{s:s,s:I}", "error", "stale_revision", "revision", have));
            return;
        }
        if (rev == have && strcmp(slots[i], slot) == 0) {
            hd_sim_duplicate(r, key);
            hd_sim_idem_reply(s->idem, r, key, online ? 200 : 202,
                              json_pack("{s:s,s:s,s:s}", "board_id", board_id, "area_id", area_id,
                                        "status", online ? "unchanged" : "queued"));
            return;
        }
        json_object_del(desired, slots[i]);
    }
    json_t *m = json_deep_copy(doc);
    json_object_set_new(m, "valid_from_ms", json_integer(from));
    json_object_set_new(m, "valid_until_ms", until < 0 ? json_null() : json_integer(until));
    json_object_set_new(m, "idempotency_key", json_string(key));
    json_object_set_new(m, "put_at", json_integer(hd_sim_now_ms(s->sim)));
    json_object_set_new(desired, slot, m);
    hd_sim_applied(r, key);
    if (!online) {
        hd_sim_idem_reply(s->idem, r, key, 202,
                          json_pack("{s:s,s:s,s:s}", "board_id", board_id, "area_id", area_id,
                                    "status", "queued"));
        return;
    }
    json_object_set_new(a, "physical", json_deep_copy(desired));
    json_t *cur = shown(a, hd_sim_now_ms(s->sim));
    const char *st = cur && json_equal(cur, m)             ? "shown"
                     : in_window(m, hd_sim_now_ms(s->sim)) ? "preempted"
                                                           : "scheduled";
    hd_sim_idem_reply(
        s->idem, r, key, 200,
        json_pack("{s:s,s:s,s:s}", "board_id", board_id, "area_id", area_id, "status", st));
}

static void delete_message(struct board_sim *s, struct hd_sim_req *r, json_t *b, json_t *a)
{
    const char *item_id = hd_sim_req_query(r, "item_id");
    if (!item_id || !*item_id) {
        reply_field(r, "item_id", "required query parameter");
        return;
    }
    json_t *desired = json_object_get(a, "desired");
    int found = 0;
    for (int i = 0; i < 2; i++) {
        const char *mid =
            json_string_value(json_object_get(json_object_get(desired, slots[i]), "item_id"));
        if (mid && strcmp(mid, item_id) == 0) {
            json_object_del(desired, slots[i]);
            found = 1;
        }
    }
    if (!found) {
        reply_error(r, 404, "not_found");
        return;
    }
    char key[300];
    snprintf(key, sizeof(key), "delete:%s", item_id);
    hd_sim_applied(r, hd_sim_req_header(r, "Idempotency-Key") ? NULL : key);
    if (json_is_true(json_object_get(b, "online"))) {
        json_object_set_new(a, "physical", json_deep_copy(desired));
        hd_sim_reply_json(r, 200, json_pack("{s:b}", "deleted", 1));
    } else {
        hd_sim_reply_json(r, 202, json_pack("{s:b,s:s}", "deleted", 1, "status", "queued"));
    }
}

/* /v1/boards/{board}/areas/{area}/message or /v1/boards/{board}/status */
static int parse_path(const char *path, char *board_id, char *area_id, int *is_status)
{
    if (strncmp(path, "/v1/boards/", 11) != 0)
        return -1;
    const char *p = path + 11;
    size_t n = strcspn(p, "/");
    if (!id_ok(p, n))
        return -1;
    memcpy(board_id, p, n);
    board_id[n] = '\0';
    p += n;
    if (strcmp(p, "/status") == 0) {
        *is_status = 1;
        return 0;
    }
    *is_status = 0;
    if (strncmp(p, "/areas/", 7) != 0)
        return -1;
    p += 7;
    n = strcspn(p, "/");
    if (!id_ok(p, n) || strcmp(p + n, "/message") != 0)
        return -1;
    memcpy(area_id, p, n);
    area_id[n] = '\0';
    return 0;
}

static void handle(void *state, struct hd_sim_req *r)
{
    struct board_sim *s = state;
    const char *method = hd_sim_req_method(r);
    char board_id[ID_MAX + 1], area_id[ID_MAX + 1];
    int is_status;
    if (parse_path(hd_sim_req_path(r), board_id, area_id, &is_status) != 0) {
        reply_error(r, 404, "not_found");
        return;
    }
    json_t *b = board(s, board_id);
    if (!b) {
        reply_error(r, 404, "unknown_board");
        return;
    }
    const char *want = is_status ? "GET" : NULL;
    if ((is_status && strcmp(method, "GET") != 0) ||
        (!is_status && strcmp(method, "PUT") != 0 && strcmp(method, "DELETE") != 0)) {
        hd_sim_reply_header(r, "Allow", want ? want : "PUT, DELETE");
        reply_error(r, 405, "method_not_allowed");
        return;
    }
    if (!signature_ok(s, r))
        return;
    if (is_status) {
        hd_sim_reply_json(r, 200, status_of(s, board_id, b));
        return;
    }
    json_t *a = area(s, b, board_id, area_id);
    if (!a) {
        reply_error(r, 404, "unknown_area");
        return;
    }
    if (strcmp(method, "DELETE") == 0) {
        delete_message(s, r, b, a);
        return;
    }
    if (!hd_sim_req_content_type_is(r, "application/json")) {
        reply_error(r, 415, "unsupported_media_type");
        return;
    }
    const char *key = hd_sim_req_header(r, "Idempotency-Key");
    if (hd_sim_idem_key_ok(key) != 0) {
        reply_field(r, "Idempotency-Key", "required, 1 to 255 printable ASCII characters");
        return;
    }
    if (hd_sim_idem_begin(s->idem, r, key))
        return;
    size_t len;
    const char *raw = hd_sim_req_body(r, &len);
    json_error_t jerr;
    json_t *doc = json_loadb(raw, len, JSON_REJECT_DUPLICATES, &jerr);
    int64_t from, until;
    if (!json_is_object(doc))
        reply_field(r, "body", doc ? "a JSON object" : jerr.text);
    else if (validate(s, r, doc, area_max(s, board_id, area_id), &from, &until) == 0)
        put_message(s, r, board_id, b, area_id, a, key, doc, from, until);
    json_decref(doc);
}

/* POST /_sim/boards {"board":"bjj-fwzx","online":false|true} */
static int control(void *state, const char *path, const json_t *body, json_t **reply)
{
    struct board_sim *s = state;
    if (strcmp(path, "boards") != 0 || !json_is_object(body))
        return -1;
    const char *id = json_string_value(json_object_get(body, "board"));
    json_t *online = json_object_get(body, "online");
    json_t *b = id ? board(s, id) : NULL;
    if (!b || !json_is_boolean(online))
        return -1;
    int was = json_is_true(json_object_get(b, "online"));
    json_object_set(b, "online", online);
    if (was && json_is_false(online))
        json_object_set_new(b, "offline_since", json_integer(hd_sim_now_ms(s->sim)));
    if (!was && json_is_true(online))
        resync(b);
    *reply = status_of(s, id, b);
    return 0;
}

static void destroy(void *state)
{
    struct board_sim *s = state;
    if (!s)
        return;
    hd_sim_idem_destroy(s->idem);
    json_decref(s->boards);
    json_decref(s->layout);
    free(s->secret);
    free(s);
}

static int layout_ok(struct hd_sim *sim, const json_t *layout)
{
    const char *bid, *aid;
    json_t *b, *a;
    if (!json_is_object(layout))
        return 0;
    json_object_foreach ((json_t *)layout, bid, b) {
        json_t *areas = json_object_get(b, "areas");
        if (!id_ok(bid, strlen(bid)) || !json_is_object(areas) || json_object_size(areas) == 0)
            return 0;
        json_object_foreach (areas, aid, a) {
            json_t *m = json_object_get(a, "max_chars");
            if (!id_ok(aid, strlen(aid)) || !json_is_object(a) ||
                (m && (!json_is_integer(m) || json_integer_value(m) < 1)))
                return 0;
        }
    }
    return 1;
}

static int init(struct hd_sim *sim, const json_t *conf, void **state)
{
    static const char *const known[] = {"secret", "tolerance_s", "key_ttl_s", "default_max_chars",
                                        "boards", NULL};
    json_t *secret = json_object_get(conf, "secret"), *layout = json_object_get(conf, "boards");
    if (hd_sim_conf_check_keys(sim, conf, known) < 0)
        return HD_EINVAL;
    if (!nonempty_string(secret)) {
        hd_sim_log_error(sim, "config: \"secret\" (a non-empty string) is required");
        return HD_EINVAL;
    }
    if (layout && !layout_ok(sim, layout)) {
        hd_sim_log_error(sim, "config: \"boards\" is {board: {\"areas\": {area: {\"max_chars\": "
                              "N}}}} with ids [0-9A-Za-z_-]");
        return HD_EINVAL;
    }
    static const char *const ints[] = {"tolerance_s", "key_ttl_s", "default_max_chars"};
    for (size_t i = 0; i < 3; i++) {
        json_t *v = json_object_get(conf, ints[i]);
        if (v && (!json_is_integer(v) || json_integer_value(v) < 1)) {
            hd_sim_log_error(sim, "config: %s must be an integer >= 1", ints[i]);
            return HD_EINVAL;
        }
    }
    struct board_sim *s = calloc(1, sizeof(*s));
    if (!s)
        return HD_ENOMEM;
#define INT_OR(k, d) (json_object_get(conf, k) ? json_integer_value(json_object_get(conf, k)) : (d))
    s->sim = sim;
    s->secret = strdup(json_string_value(secret));
    s->tolerance_s = INT_OR("tolerance_s", 300);
    s->default_max = INT_OR("default_max_chars", 64);
    s->idem = hd_sim_idem_create(sim, INT_OR("key_ttl_s", 86400) * 1000, 0);
#undef INT_OR
    s->layout = layout ? json_deep_copy(layout) : NULL;
    s->boards = json_object();
    if (!s->secret || !s->idem || !s->boards || (layout && !s->layout)) {
        destroy(s);
        return HD_ENOMEM;
    }
    *state = s;
    return 0;
}

static void reset(void *state)
{
    struct board_sim *s = state;
    hd_sim_idem_clear(s->idem);
    json_object_clear(s->boards);
}

static json_t *inspect(void *state)
{
    struct board_sim *s = state;
    int64_t now = hd_sim_now_ms(s->sim);
    const char *bid, *aid;
    json_t *b, *a;
    json_object_foreach (s->layout, bid, b) {
        json_t *m = board(s, bid);
        json_object_foreach (json_object_get(b, "areas"), aid, a) {
            area(s, m, bid, aid);
        }
    }
    json_t *out = json_object();
    json_object_foreach (s->boards, bid, b) {
        json_t *areas = json_object();
        json_object_foreach (json_object_get(b, "areas"), aid, a) {
            json_object_set_new(areas, aid,
                                json_pack("{s:I,s:o,s:O,s:O}", "max_chars",
                                          (json_int_t)area_max(s, bid, aid), "showing",
                                          msg_brief(shown(a, now)), "desired",
                                          json_object_get(a, "desired"), "physical",
                                          json_object_get(a, "physical")));
        }
        json_object_set_new(out, bid,
                            json_pack("{s:O,s:O,s:o}", "online", json_object_get(b, "online"),
                                      "resyncs", json_object_get(b, "resyncs"), "areas", areas));
    }
    return json_pack("{s:o}", "boards", out);
}

const struct hd_sim_def hd_sim_display_board = {
    .name = "display_board",
    .description = "service-hall LED board gateway (CHANNELS.md §4.5)",
    .init = init,
    .destroy = destroy,
    .reset = reset,
    .handle = handle,
    .inspect = inspect,
    .control = control,
};
