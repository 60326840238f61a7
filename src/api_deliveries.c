/*
 * Read routes of the admin API about deliveries and dead letters: deliveries by state, channel,
 * item and time (newest change first, keyset paging) with each one's last attempt; one delivery
 * with its attempts and timeline; rejected Kafka messages (the dead-letter topic's records as the
 * store keeps them) with a safe preview of their bytes, and one rejection in full (base64).
 * Parameters are checked on the loop; the SQL runs on the reader thread.
 */
#include <errno.h>

#include <openssl/evp.h>

#include "api.h"
#include "common.h"
#include "config.h"
#include "daemon.h"
#include "delivery.h"
#include "text.h"

#define PREVIEW 240

/* ---- GET /deliveries, GET /dead-letters/deliveries ------------------------------------------ */

#define DELIVERIES_SELECT                                                                          \
    "SELECT " HD_API_DCOLS ", i.title, (SELECT json_object('at', a.started_at, 'op', a.kind,"      \
    " 'outcome', a.outcome, 'http_status', a.http_status, 'platform_code', a.platform_code,"       \
    " 'reason', a.reason, 'message', a.message) FROM attempts a WHERE a.delivery_id = d.id"        \
    " ORDER BY a.id DESC LIMIT 1)"                                                                 \
    " FROM deliveries d LEFT JOIN items i ON i.item_id = d.item_id AND i.version = d.version"
#define DELIVERIES_FILTER                                                                          \
    " AND (?2 IS NULL OR d.instance = ?2) AND (?3 IS NULL OR d.item_id = ?3)"                      \
    " AND (?4 IS NULL OR d.updated_at >= ?4) AND (?5 IS NULL OR d.updated_at < ?5)"                \
    " AND (?6 IS NULL OR d.updated_at < ?6 OR (d.updated_at = ?6 AND d.id < ?7))"                  \
    " ORDER BY d.updated_at DESC, d.id DESC LIMIT ?8"

/* one state: the (state, updated_at) index serves it */
static const char ONE_STATE_SQL[] = DELIVERIES_SELECT " WHERE d.state = ?1" DELIVERIES_FILTER;
static const char ANY_STATE_SQL[] = DELIVERIES_SELECT
    " WHERE (?1 IS NULL OR d.state IN (SELECT value FROM json_each(?1)))" DELIVERIES_FILTER;

/* The last attempt as the SQL built it, with its time made readable. */
static json_t *last_attempt(sqlite3_stmt *st, int i)
{
    const char *t = (const char *)sqlite3_column_text(st, i);
    json_t *a = t ? json_loads(t, 0, NULL) : NULL;
    if (!a)
        return json_null();
    json_object_set_new(a, "at", hd_api_time_json(json_integer_value(json_object_get(a, "at"))));
    return a;
}

static void q_deliveries(sqlite3 *db, const json_t *p, struct hd_api_result *res)
{
    json_t *one = json_object_get(p, "one_state");
    sqlite3_stmt *st = hd_api_prepare(db, one ? ONE_STATE_SQL : ANY_STATE_SQL, res);
    if (!st)
        return;
    hd_api_bind(st, 1, one ? one : json_object_get(p, "states"));
    static const char *const names[] = {"channel", "item", "since", "until", "c_at", "c_id"};
    for (int i = 0; i < 6; i++)
        hd_api_bind(st, i + 2, json_object_get(p, names[i]));
    int64_t limit = json_integer_value(json_object_get(p, "limit"));
    sqlite3_bind_int64(st, 8, limit + 1);
    json_t *a = json_array();
    int64_t n = 0, last_at = 0, last_id = 0;
    int more = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        if (n++ == limit) {
            more = 1;
            break;
        }
        json_t *o = hd_api_delivery_json(st, 0);
        json_object_set_new(o, "title", hd_api_col_str(st, 19));
        json_object_set_new(o, "last_attempt", last_attempt(st, 20));
        json_array_append_new(a, o);
        last_at = sqlite3_column_int64(st, 10);
        last_id = sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
    res->json = json_pack("{s:o}", "deliveries", a);
    json_object_set_new(
        res->json, "next_cursor",
        more ? hd_api_cursor_json(json_pack("[I, I]", (json_int_t)last_at, (json_int_t)last_id))
             : json_null());
}

void hd_api_deliveries(struct hd_api_req *r)
{
    static const char *const allowed[] = {"state", "channel", "item",   "since",
                                          "until", "limit",   "cursor", NULL};
    static const char *const copied[] = {"item", NULL};
    int dead = strcmp(r->segs[0], "dead-letters") == 0;
    json_t *p = hd_api_list_params(r, allowed, copied);
    if (!p)
        return;
    const char *state = hd_api_param(r, "state");
    if (!state && dead)
        state = "failed";
    if (state) {
        json_t *a = hd_api_state_list(r, state);
        if (!a) {
            json_decref(p);
            return;
        }
        if (json_array_size(a) == 1) {
            json_object_set(p, "one_state", json_array_get(a, 0));
        } else {
            char *text = json_dumps(a, JSON_COMPACT);
            json_object_set_new(p, "states", json_string(text));
            free(text);
        }
        json_decref(a);
    }
    const char *channel = hd_api_param(r, "channel");
    if (channel && !hd_config_instance(hd_daemon_config(hd_api_daemon(r->api)), channel)) {
        json_decref(p);
        hd_api_error(r->req, 400, "bad_parameter", "no channel '%.100s' is configured", channel);
        return;
    }
    if (channel)
        json_object_set_new(p, "channel", json_string(channel));
    if (hd_api_list_cursor(r, p, HD_CURSOR_AT_ID) != 0) {
        json_decref(p);
        return;
    }
    hd_api_submit(hd_api_reader(r->api), r->req, q_deliveries, p, NULL);
}

/* ---- GET /deliveries/{id} -------------------------------------------------------------------- */

static void q_delivery(sqlite3 *db, const json_t *p, struct hd_api_result *res)
{
    sqlite3_stmt *st = hd_api_prepare(db,
                                      "SELECT " HD_API_DCOLS ", i.title FROM deliveries d"
                                      " LEFT JOIN items i ON i.item_id = d.item_id"
                                      " AND i.version = d.version WHERE d.id = ?1",
                                      res);
    if (!st)
        return;
    hd_api_bind(st, 1, json_object_get(p, "id"));
    if (sqlite3_step(st) != SQLITE_ROW) {
        sqlite3_finalize(st);
        hd_api_res_error(res, 404, "not_found", "no delivery %lld",
                         (long long)json_integer_value(json_object_get(p, "id")));
        return;
    }
    json_t *d = hd_api_delivery_json(st, 0);
    json_object_set_new(d, "title", hd_api_col_str(st, 19));
    sqlite3_finalize(st);
    json_t *list = json_pack("[O]", d), *timeline = NULL;
    if (hd_api_timeline(db, json_string_value(json_object_get(d, "item_id")),
                        json_integer_value(json_object_get(d, "id")), list, &timeline, res) != 0) {
        json_decref(list);
        json_decref(d);
        return;
    }
    json_decref(list);
    res->json = json_pack("{s:o, s:o}", "delivery", d, "timeline", timeline);
}

void hd_api_delivery(struct hd_api_req *r)
{
    char *end;
    errno = 0;
    long long id = strtoll(r->segs[1], &end, 10);
    if (hd_api_query_only(r, NULL) != 0)
        return;
    if (errno || *end || id < 1) {
        hd_api_error(r->req, 404, "not_found", "delivery ids are positive integers");
        return;
    }
    hd_api_submit(hd_api_reader(r->api), r->req, q_delivery,
                  json_pack("{s:I}", "id", (json_int_t)id), NULL);
}

/* ---- rejected messages ----------------------------------------------------------------------- */

/* A preview of message bytes that is safe anywhere (terminal, HTML, JSON): text when the bytes
 * are UTF-8 (control characters shown as U+FFFD, line breaks and tabs as spaces), else hex. */
static json_t *preview(const unsigned char *p, size_t n, int *binary)
{
    size_t len = n, floor = n > 4 ? n - 4 : 0;
    /* a prefix may end inside a character: step back to a boundary */
    while (len > floor && !hd_utf8_valid((const char *)p, len))
        len--;
    *binary = !hd_utf8_valid((const char *)p, len) || (n > 0 && len == 0);
    for (size_t i = 0; !*binary && i < len; i++)
        if (p[i] == 0)
            *binary = 1;
    if (*binary) {
        char hex[3 * 48 + 8];
        size_t j = 0;
        for (size_t i = 0; i < n && i < 48; i++)
            j += (size_t)snprintf(hex + j, sizeof(hex) - j, "%s%02x", i ? " " : "", p[i]);
        return json_string(hex);
    }
    char *out = malloc(len * 3 + 1);
    if (!out)
        return json_null();
    size_t j = 0;
    for (size_t i = 0; i < len; i++) {
        if (p[i] == '\n' || p[i] == '\r' || p[i] == '\t') {
            out[j++] = ' ';
        } else if (p[i] < 0x20 || p[i] == 0x7f) {
            memcpy(out + j, "\xef\xbf\xbd", 3);
            j += 3;
        } else {
            out[j++] = (char)p[i];
        }
    }
    json_t *v = json_stringn(out, j);
    free(out);
    return v ? v : json_null();
}

static json_t *b64(const void *p, size_t n)
{
    char *out = malloc(4 * ((n + 2) / 3) + 1);
    if (!out)
        return json_null();
    EVP_EncodeBlock((unsigned char *)out, p, (int)n);
    json_t *v = json_string(out);
    free(out);
    return v;
}

static json_t *rejection_json(sqlite3_stmt *st, int full)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", hd_api_col_int(st, 0));
    json_object_set_new(o, "topic", hd_api_col_str(st, 1));
    json_object_set_new(o, "partition", hd_api_col_int(st, 2));
    json_object_set_new(o, "offset", hd_api_col_int(st, 3));
    json_object_set_new(o, "reason", hd_api_col_str(st, 4));
    json_object_set_new(o, "detail", hd_api_col_str(st, 5));
    json_object_set_new(o, "rejected_at", hd_api_col_time(st, 6));
    json_object_set_new(o, "on_dead_letter_topic", json_boolean(sqlite3_column_int(st, 7)));
    json_object_set_new(o, "replayed_at", hd_api_col_time(st, 8));
    const unsigned char *v = sqlite3_column_blob(st, 9);
    size_t vn = (size_t)sqlite3_column_bytes(st, 9);
    int binary;
    json_object_set_new(o, "size", json_integer((json_int_t)vn));
    json_object_set_new(o, "preview", preview(v, HD_MIN(vn, (size_t)PREVIEW), &binary));
    json_object_set_new(o, "binary", json_boolean(binary));
    const unsigned char *k = sqlite3_column_blob(st, 10);
    size_t kn = (size_t)sqlite3_column_bytes(st, 10);
    int kbin = 0;
    json_object_set_new(o, "key", k ? preview(k, HD_MIN(kn, (size_t)128), &kbin) : json_null());
    if (full) {
        json_object_set_new(o, "value_base64", b64(v ? v : (const void *)"", vn));
        json_object_set_new(o, "key_base64", k ? b64(k, kn) : json_null());
        if (!binary && hd_utf8_valid((const char *)v, vn))
            json_object_set_new(o, "value_text", json_stringn((const char *)v, vn));
    }
    return o;
}

#define REJ_COLS                                                                                   \
    "id, topic, partition, offset, reason, detail, rejected_at, sent, replayed_at, value, msg_key"

static void q_rejections(sqlite3 *db, const json_t *p, struct hd_api_result *res)
{
    sqlite3_stmt *st =
        hd_api_prepare(db,
                       "SELECT " REJ_COLS " FROM rejections WHERE (?1 IS NULL OR reason = ?1)"
                       " AND (?2 IS NULL OR (?2 = 1) = (replayed_at IS NOT NULL))"
                       " AND (?3 IS NULL OR rejected_at >= ?3) AND (?4 IS NULL OR rejected_at < ?4)"
                       " AND (?5 IS NULL OR id < ?5) ORDER BY id DESC LIMIT ?6",
                       res);
    if (!st)
        return;
    static const char *const names[] = {"reason", "replayed", "since", "until", "c_id"};
    for (int i = 0; i < 5; i++)
        hd_api_bind(st, i + 1, json_object_get(p, names[i]));
    int64_t limit = json_integer_value(json_object_get(p, "limit"));
    sqlite3_bind_int64(st, 6, limit + 1);
    json_t *a = json_array();
    int64_t n = 0, last = 0;
    int more = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        if (n++ == limit) {
            more = 1;
            break;
        }
        json_array_append_new(a, rejection_json(st, 0));
        last = sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
    res->json = json_pack("{s:o}", "rejections", a);
    json_object_set_new(res->json, "next_cursor",
                        more ? hd_api_cursor_json(json_pack("[I]", (json_int_t)last))
                             : json_null());
}

void hd_api_rejections(struct hd_api_req *r)
{
    static const char *const allowed[] = {"reason", "replayed", "since", "until",
                                          "limit",  "cursor",   NULL};
    static const char *const copied[] = {"reason", NULL};
    json_t *p = hd_api_list_params(r, allowed, copied);
    if (!p)
        return;
    const char *replayed = hd_api_param(r, "replayed");
    if (replayed && strcmp(replayed, "true") && strcmp(replayed, "false")) {
        json_decref(p);
        hd_api_error(r->req, 400, "bad_parameter", "replayed must be true or false");
        return;
    }
    if (replayed)
        json_object_set_new(p, "replayed", json_integer(strcmp(replayed, "true") == 0));
    if (hd_api_list_cursor(r, p, HD_CURSOR_ID) != 0) {
        json_decref(p);
        return;
    }
    hd_api_submit(hd_api_reader(r->api), r->req, q_rejections, p, NULL);
}

static void q_rejection(sqlite3 *db, const json_t *p, struct hd_api_result *res)
{
    sqlite3_stmt *st = hd_api_prepare(db, "SELECT " REJ_COLS " FROM rejections WHERE id = ?1", res);
    if (!st)
        return;
    hd_api_bind(st, 1, json_object_get(p, "id"));
    if (sqlite3_step(st) == SQLITE_ROW)
        res->json = json_pack("{s:o}", "rejection", rejection_json(st, 1));
    else
        hd_api_res_error(res, 404, "not_found", "no rejected message %lld",
                         (long long)json_integer_value(json_object_get(p, "id")));
    sqlite3_finalize(st);
}

void hd_api_rejection(struct hd_api_req *r)
{
    char *end;
    errno = 0;
    long long id = strtoll(r->segs[2], &end, 10);
    if (hd_api_query_only(r, NULL) != 0)
        return;
    if (errno || *end || id < 1) {
        hd_api_error(r->req, 404, "not_found", "rejection ids are positive integers");
        return;
    }
    hd_api_submit(hd_api_reader(r->api), r->req, q_rejection,
                  json_pack("{s:I}", "id", (json_int_t)id), NULL);
}
