/*
 * Read routes of the admin API about items and the audit log: the item list (filters, keyset
 * paging), one item with its versions, deliveries, attempts and a timeline that puts state
 * changes, attempts and operators' actions side by side, a stored version's document, and the
 * audit log. Each route checks its parameters on the loop, then its SQL runs on the reader
 * thread (api_reader.c); every value is bound, never spliced into SQL.
 */
#include <errno.h>

#include "api.h"
#include "common.h"
#include "delivery.h"
#include "item.h"

#define LIST_MAX     500
#define LIST_DEFAULT 50
#define TIMELINE_MAX 5000

/* ---- helpers shared by the reader-side queries ----------------------------------------------- */

json_t *hd_api_col_str(sqlite3_stmt *st, int i)
{
    if (sqlite3_column_type(st, i) == SQLITE_NULL)
        return json_null();
    const char *t = (const char *)sqlite3_column_text(st, i);
    return t ? hd_api_str(t, (size_t)sqlite3_column_bytes(st, i)) : json_null();
}

json_t *hd_api_col_time(sqlite3_stmt *st, int i)
{
    if (sqlite3_column_type(st, i) == SQLITE_NULL)
        return json_null();
    return hd_api_time_json(sqlite3_column_int64(st, i));
}

json_t *hd_api_col_int(sqlite3_stmt *st, int i)
{
    if (sqlite3_column_type(st, i) == SQLITE_NULL)
        return json_null();
    return json_integer(sqlite3_column_int64(st, i));
}

sqlite3_stmt *hd_api_prepare(sqlite3 *db, const char *sql, struct hd_api_result *res)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        hd_err("admin: reader: cannot prepare a query: %s", sqlite3_errmsg(db));
        hd_api_res_error(res, 500, "internal", "the query failed: %s", sqlite3_errmsg(db));
        sqlite3_finalize(st);
        return NULL;
    }
    return st;
}

void hd_api_bind(sqlite3_stmt *st, int i, const json_t *v)
{
    if (json_is_string(v))
        sqlite3_bind_text(st, i, json_string_value(v), (int)json_string_length(v),
                          SQLITE_TRANSIENT);
    else if (json_is_integer(v))
        sqlite3_bind_int64(st, i, json_integer_value(v));
    else if (json_is_boolean(v))
        sqlite3_bind_int(st, i, json_is_true(v));
    else
        sqlite3_bind_null(st, i);
}

json_t *hd_api_delivery_json(sqlite3_stmt *st, int i0)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", hd_api_col_int(st, i0 + 0));
    json_object_set_new(o, "item_id", hd_api_col_str(st, i0 + 1));
    json_object_set_new(o, "version", hd_api_col_int(st, i0 + 2));
    json_object_set_new(o, "channel", hd_api_col_str(st, i0 + 3));
    json_object_set_new(o, "target", hd_api_col_str(st, i0 + 4));
    json_object_set_new(o, "state", hd_api_col_str(st, i0 + 5));
    json_object_set_new(o, "reason", hd_api_col_str(st, i0 + 6));
    json_object_set_new(o, "detail", hd_api_col_str(st, i0 + 7));
    json_object_set_new(o, "attempts", hd_api_col_int(st, i0 + 8));
    json_object_set_new(o, "created_at", hd_api_col_time(st, i0 + 9));
    json_object_set_new(o, "updated_at", hd_api_col_time(st, i0 + 10));
    json_object_set_new(o, "next_at", hd_api_col_time(st, i0 + 11));
    json_object_set_new(o, "delivered_at", hd_api_col_time(st, i0 + 12));
    json_object_set_new(o, "remote_id", hd_api_col_str(st, i0 + 13));
    json_object_set_new(o, "url", hd_api_col_str(st, i0 + 14));
    json_object_set_new(o, "hold", hd_api_col_str(st, i0 + 15));
    json_object_set_new(o, "not_before", hd_api_col_time(st, i0 + 16));
    json_object_set_new(o, "expires_at", hd_api_col_time(st, i0 + 17));
    json_object_set_new(o, "approved_at", hd_api_col_time(st, i0 + 18));
    return o;
}

/* A comma-separated list of delivery states as a JSON array; 400 and NULL when one is bad. */
json_t *hd_api_state_list(struct hd_api_req *r, const char *text)
{
    json_t *a = json_array();
    char *copy = hd_strdup(text), *save = NULL;
    for (char *s = strtok_r(copy, ",", &save); s; s = strtok_r(NULL, ",", &save)) {
        while (*s == ' ')
            s++;
        if (hd_dstate_parse(s) < 0) {
            hd_api_error(r->req, 400, "bad_parameter",
                         "unknown delivery state '%.40s' (states: pending, held, sending, "
                         "waiting_retry, publishing, reconciling, parked, retracting, delivered, "
                         "failed, superseded, retracted, expired, cancelled, removed_externally, "
                         "manual_action)",
                         s);
            json_decref(a);
            free(copy);
            return NULL;
        }
        json_array_append_new(a, json_string(s));
    }
    free(copy);
    return a;
}

json_t *hd_api_list_params(struct hd_api_req *r, const char *const *allowed,
                           const char *const *copied)
{
    int64_t limit, since, until;
    if (hd_api_query_only(r, allowed) != 0 ||
        hd_api_param_int(r, "limit", 1, LIST_MAX, LIST_DEFAULT, &limit) != 0 ||
        hd_api_param_time(r, "since", &since) != 0 || hd_api_param_time(r, "until", &until) != 0)
        return NULL;
    json_t *p = json_pack("{s:I}", "limit", (json_int_t)limit);
    for (size_t i = 0; copied && copied[i]; i++)
        if (hd_api_param(r, copied[i]))
            json_object_set_new(p, copied[i], json_string(hd_api_param(r, copied[i])));
    if (since)
        json_object_set_new(p, "since", json_integer(since));
    if (until)
        json_object_set_new(p, "until", json_integer(until));
    return p;
}

int hd_api_list_cursor(struct hd_api_req *r, json_t *p, enum hd_api_cursor kind)
{
    const char *cursor = hd_api_param(r, "cursor");
    if (!cursor)
        return 0;
    json_t *c = hd_api_cursor_parse(cursor),
           *last = json_array_get(c, kind == HD_CURSOR_ID ? 0 : 1);
    int ok = c && json_array_size(c) == (kind == HD_CURSOR_ID ? 1 : 2) &&
             (kind == HD_CURSOR_ID || json_is_integer(json_array_get(c, 0))) &&
             (kind == HD_CURSOR_AT_KEY ? json_is_string(last) : json_is_integer(last));
    if (!ok) {
        json_decref(c);
        hd_api_error(r->req, 400, "bad_parameter", "cursor is not one this server gave out");
        return -1;
    }
    if (kind != HD_CURSOR_ID)
        json_object_set(p, "c_at", json_array_get(c, 0));
    json_object_set(p, "c_id", last);
    json_decref(c);
    return 0;
}

/* ---- GET /items ----------------------------------------------------------------------------- */

static const char ITEMS_SQL[] =
    "SELECT i.item_id, i.version, i.action, i.state,"
    " COALESCE(i.title, (SELECT t.title FROM items t WHERE t.item_id = i.item_id"
    "  AND t.title IS NOT NULL ORDER BY t.version DESC LIMIT 1)),"
    " i.category, i.column_path, i.publisher_code, i.publisher_name, i.approved_at,"
    " i.received_at, i.priority, h.retracted_version,"
    " (SELECT json_group_object(s, n) FROM (SELECT d.state AS s, COUNT(*) AS n FROM deliveries d"
    "  WHERE d.item_id = i.item_id AND d.state <> 'superseded' GROUP BY d.state))"
    " FROM items i CROSS JOIN item_heads h ON h.item_id = i.item_id AND h.max_version = i.version"
    " WHERE (?1 IS NULL OR EXISTS (SELECT 1 FROM deliveries d WHERE d.item_id = i.item_id"
    "   AND d.state IN (SELECT value FROM json_each(?1)) AND (?2 IS NULL OR d.instance = ?2)))"
    "  AND (?2 IS NULL OR EXISTS (SELECT 1 FROM deliveries d WHERE d.item_id = i.item_id"
    "   AND d.instance = ?2))"
    "  AND (?3 IS NULL OR i.category = ?3)"
    "  AND (?4 IS NULL OR i.publisher_code = ?4 OR i.publisher_name = ?4)"
    "  AND (?5 IS NULL OR i.column_path = ?5 OR substr(i.column_path, 1, length(?5) + 1) = ?5 || "
    "'/')"
    "  AND (?6 IS NULL OR i.approved_at >= ?6) AND (?7 IS NULL OR i.approved_at < ?7)"
    "  AND (?8 IS NULL OR EXISTS (SELECT 1 FROM items t WHERE t.item_id = i.item_id"
    "   AND instr(lower(t.title), lower(?8)) > 0))"
    "  AND (?9 IS NULL OR i.approved_at < ?9 OR (i.approved_at = ?9 AND i.item_id < ?10))"
    " ORDER BY i.approved_at DESC, i.item_id DESC LIMIT ?11";

static void q_items(sqlite3 *db, const json_t *p, struct hd_api_result *res)
{
    sqlite3_stmt *st = hd_api_prepare(db, ITEMS_SQL, res);
    if (!st)
        return;
    static const char *const names[] = {"state", "channel", "category", "publisher", "column",
                                        "since", "until",   "q",        "c_at",      "c_id"};
    for (int i = 0; i < 10; i++)
        hd_api_bind(st, i + 1, json_object_get(p, names[i]));
    int64_t limit = json_integer_value(json_object_get(p, "limit"));
    sqlite3_bind_int64(st, 11, limit + 1);
    json_t *items = json_array();
    int64_t n = 0, last_at = 0;
    char last_id[200] = "";
    int more = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        if (n == limit) {
            more = 1;
            break;
        }
        json_t *o = json_object();
        json_object_set_new(o, "id", hd_api_col_str(st, 0));
        json_object_set_new(o, "version", hd_api_col_int(st, 1));
        json_object_set_new(o, "action", hd_api_col_str(st, 2));
        json_object_set_new(o, "state", hd_api_col_str(st, 3));
        json_object_set_new(o, "title", hd_api_col_str(st, 4));
        json_object_set_new(o, "category", hd_api_col_str(st, 5));
        json_object_set_new(o, "column", hd_api_col_str(st, 6));
        json_object_set_new(o, "publisher_code", hd_api_col_str(st, 7));
        json_object_set_new(o, "publisher", hd_api_col_str(st, 8));
        json_object_set_new(o, "approved_at", hd_api_col_time(st, 9));
        json_object_set_new(o, "received_at", hd_api_col_time(st, 10));
        json_object_set_new(o, "urgent", json_boolean(sqlite3_column_int(st, 11)));
        json_object_set_new(o, "retracted_version", hd_api_col_int(st, 12));
        const char *counts = (const char *)sqlite3_column_text(st, 13);
        json_t *c = counts ? json_loads(counts, 0, NULL) : NULL;
        json_object_set_new(o, "deliveries", c ? c : json_object());
        json_array_append_new(items, o);
        last_at = sqlite3_column_int64(st, 9);
        const char *id = (const char *)sqlite3_column_text(st, 0);
        hd_strlcpy(last_id, id ? id : "", sizeof(last_id));
        n++;
    }
    sqlite3_finalize(st);
    res->json = json_pack("{s:o}", "items", items);
    json_object_set_new(res->json, "next_cursor",
                        more ? hd_api_cursor_json(json_pack("[I, s]", (json_int_t)last_at, last_id))
                             : json_null());
}

void hd_api_items(struct hd_api_req *r)
{
    static const char *const allowed[] = {"state",  "channel", "category", "publisher",
                                          "column", "since",   "until",    "q",
                                          "limit",  "cursor",  NULL};
    static const char *const copied[] = {"channel", "category", "publisher", "column", "q", NULL};
    json_t *p = hd_api_list_params(r, allowed, copied);
    if (!p)
        return;
    const char *state = hd_api_param(r, "state");
    if (state) {
        json_t *a = hd_api_state_list(r, state);
        if (!a) {
            json_decref(p);
            return;
        }
        char *text = json_dumps(a, JSON_COMPACT);
        json_object_set_new(p, "state", json_string(text));
        free(text);
        json_decref(a);
    }
    if (hd_api_list_cursor(r, p, HD_CURSOR_AT_KEY) != 0) {
        json_decref(p);
        return;
    }
    hd_api_submit(hd_api_reader(r->api), r->req, q_items, p, NULL);
}

/* ---- GET /items/{id} ----------------------------------------------------------------------- */

/* One timeline entry and where it sorts: by time, and within a millisecond by cause -- an
 * attempt just before the state change its outcome made, an operator's action just after the
 * state change it made (the store writes both in the same millisecond more often than not). */
struct ev {
    int64_t at;
    int rank; /* 0 anchored to a state change, 1 attempt, 2 audit (unanchored) */
    int64_t tie;
    int sub; /* -1 before its anchor, 0 the state change itself, 1 after */
    json_t *o;
    /* for anchoring */
    int kind; /* 0 state, 1 attempt, 2 audit */
    int64_t delivery_id, id;
    char prev[16], op[12];
    int operator_action, used;
};

static int ev_cmp(const void *a, const void *b)
{
    const struct ev *x = a, *y = b;
    if (x->at != y->at)
        return x->at < y->at ? -1 : 1;
    if (x->rank != y->rank)
        return x->rank - y->rank;
    if (x->tie != y->tie)
        return x->tie < y->tie ? -1 : 1;
    return x->sub - y->sub;
}

struct tl {
    struct ev *v;
    size_t n, cap;
};

static struct ev *tl_add(struct tl *t, int kind, int64_t delivery, int64_t id, int64_t at,
                         json_t *o)
{
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 64;
        struct ev *nv = realloc(t->v, cap * sizeof(*nv));
        if (!nv) {
            json_decref(o);
            return NULL;
        }
        t->v = nv;
        t->cap = cap;
    }
    struct ev *e = &t->v[t->n++];
    memset(e, 0, sizeof(*e));
    *e = (struct ev){.at = at,
                     .rank = kind == 0 ? 0 : kind,
                     .tie = id,
                     .o = o,
                     .kind = kind,
                     .delivery_id = delivery,
                     .id = id};
    return e;
}

/* The state an op of this kind runs in: its outcome is the change out of that state. */
static const char *op_state(const char *op)
{
    return strcmp(op, "send") == 0      ? "sending"
           : strcmp(op, "retract") == 0 ? "retracting"
           : strcmp(op, "poll") == 0    ? "publishing"
                                        : "reconciling";
}

/* Attempts pair in order with the changes out of their op's state; operators' actions with
 * the latest operator_* change of their delivery at or before them. State changes were added
 * first, in id order. */
static void anchor(struct tl *t)
{
    for (size_t i = 0; i < t->n; i++) {
        struct ev *a = &t->v[i];
        if (a->kind == 1) {
            for (size_t j = 0; j < t->n; j++) {
                struct ev *e = &t->v[j];
                if (e->kind == 0 && !e->used && e->delivery_id == a->delivery_id &&
                    strcmp(e->prev, op_state(a->op)) == 0 && e->at >= a->at) {
                    e->used = 1;
                    a->at = e->at;
                    a->rank = 0;
                    a->tie = e->id;
                    a->sub = -1;
                    break;
                }
            }
        } else if (a->kind == 2 && a->delivery_id) {
            struct ev *best = NULL;
            for (size_t j = 0; j < t->n; j++) {
                struct ev *e = &t->v[j];
                if (e->kind == 0 && e->operator_action && e->delivery_id == a->delivery_id &&
                    e->at <= a->at)
                    best = e;
            }
            if (best) {
                a->at = best->at;
                a->rank = 0;
                a->tie = best->id;
                a->sub = 1;
            }
        }
    }
}

/* Copy channel, target and version of delivery `id` (from the deliveries array) into o. */
static void tag_delivery(json_t *deliveries, int64_t id, json_t *o)
{
    size_t i;
    json_t *d;
    json_array_foreach (deliveries, i, d) {
        if (json_integer_value(json_object_get(d, "id")) == id) {
            json_object_set(o, "channel", json_object_get(d, "channel"));
            json_object_set(o, "target", json_object_get(d, "target"));
            json_object_set(o, "version", json_object_get(d, "version"));
            return;
        }
    }
}

static json_t *find_delivery(json_t *deliveries, int64_t id)
{
    size_t i;
    json_t *d;
    json_array_foreach (deliveries, i, d) {
        if (json_integer_value(json_object_get(d, "id")) == id)
            return d;
    }
    return NULL;
}

static json_t *versions(sqlite3 *db, const char *id, struct hd_api_result *res)
{
    sqlite3_stmt *st = hd_api_prepare(
        db,
        "SELECT version, action, state, title, category, column_path, publisher_code,"
        " publisher_name, publisher_kind, priority, approved_at, not_before, expires_at,"
        " interprets, routes, src_topic, src_partition, src_offset, received_at"
        " FROM items WHERE item_id = ?1 ORDER BY version",
        res);
    if (!st)
        return NULL;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
    json_t *a = json_array();
    while (sqlite3_step(st) == SQLITE_ROW) {
        json_t *o = json_object();
        json_object_set_new(o, "version", hd_api_col_int(st, 0));
        json_object_set_new(o, "action", hd_api_col_str(st, 1));
        json_object_set_new(o, "state", hd_api_col_str(st, 2));
        json_object_set_new(o, "title", hd_api_col_str(st, 3));
        json_object_set_new(o, "category", hd_api_col_str(st, 4));
        json_object_set_new(o, "column", hd_api_col_str(st, 5));
        json_object_set_new(o, "publisher_code", hd_api_col_str(st, 6));
        json_object_set_new(o, "publisher", hd_api_col_str(st, 7));
        json_object_set_new(o, "publisher_kind", hd_api_col_str(st, 8));
        json_object_set_new(o, "urgent", json_boolean(sqlite3_column_int(st, 9)));
        json_object_set_new(o, "approved_at", hd_api_col_time(st, 10));
        json_object_set_new(o, "not_before", hd_api_col_time(st, 11));
        json_object_set_new(o, "expires_at", hd_api_col_time(st, 12));
        json_object_set_new(o, "interprets", hd_api_col_str(st, 13));
        json_object_set_new(o, "routing", hd_api_col_str(st, 14));
        json_t *src = json_object();
        json_object_set_new(src, "topic", hd_api_col_str(st, 15));
        json_object_set_new(src, "partition", hd_api_col_int(st, 16));
        json_object_set_new(src, "offset", hd_api_col_int(st, 17));
        json_object_set_new(o, "source", src);
        json_object_set_new(o, "received_at", hd_api_col_time(st, 18));
        json_array_append_new(a, o);
    }
    sqlite3_finalize(st);
    return a;
}

int hd_api_timeline(sqlite3 *db, const char *item, int64_t delivery_id, json_t *deliveries,
                    json_t **out, struct hd_api_result *res)
{
    struct tl t = {0};
    struct ev *e;
    sqlite3_stmt *st = hd_api_prepare(
        db,
        "SELECT * FROM (SELECT e.id, e.delivery_id, e.seq, e.at, e.state, e.previous, e.reason,"
        " e.detail, e.attempts FROM delivery_events e JOIN deliveries d ON d.id = e.delivery_id"
        " WHERE d.item_id = ?1 AND (?2 = 0 OR d.id = ?2) ORDER BY e.id DESC LIMIT ?3)"
        " ORDER BY id",
        res);
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, item, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, delivery_id);
    sqlite3_bind_int(st, 3, TIMELINE_MAX);
    while (sqlite3_step(st) == SQLITE_ROW) {
        json_t *o = json_pack("{s:s}", "kind", "state");
        json_object_set_new(o, "at", hd_api_col_time(st, 3));
        json_object_set_new(o, "delivery_id", hd_api_col_int(st, 1));
        tag_delivery(deliveries, sqlite3_column_int64(st, 1), o);
        json_object_set_new(o, "seq", hd_api_col_int(st, 2));
        json_object_set_new(o, "state", hd_api_col_str(st, 4));
        json_object_set_new(o, "previous", hd_api_col_str(st, 5));
        json_object_set_new(o, "reason", hd_api_col_str(st, 6));
        json_object_set_new(o, "detail", hd_api_col_str(st, 7));
        json_object_set_new(o, "attempts", hd_api_col_int(st, 8));
        if (!(e = tl_add(&t, 0, sqlite3_column_int64(st, 1), sqlite3_column_int64(st, 0),
                         sqlite3_column_int64(st, 3), o)))
            continue;
        const char *prev = (const char *)sqlite3_column_text(st, 5);
        const char *reason = (const char *)sqlite3_column_text(st, 6);
        hd_strlcpy(e->prev, prev ? prev : "", sizeof(e->prev));
        e->operator_action = reason && strncmp(reason, "operator_", 9) == 0;
    }
    sqlite3_finalize(st);
    st = hd_api_prepare(
        db,
        "SELECT a.id, a.delivery_id, a.kind, a.started_at, a.duration_ms, a.outcome,"
        " a.http_status, a.platform_code, a.reason, a.message, a.remote_id, a.remote_url"
        " FROM attempts a JOIN deliveries d ON d.id = a.delivery_id"
        " WHERE d.item_id = ?1 AND (?2 = 0 OR d.id = ?2) ORDER BY a.id DESC LIMIT ?3",
        res);
    if (!st)
        goto fail;
    sqlite3_bind_text(st, 1, item, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, delivery_id);
    sqlite3_bind_int(st, 3, TIMELINE_MAX);
    size_t first_attempt = t.n;
    while (sqlite3_step(st) == SQLITE_ROW) {
        json_t *o = json_pack("{s:s}", "kind", "attempt");
        json_object_set_new(o, "at", hd_api_col_time(st, 3));
        json_object_set_new(o, "delivery_id", hd_api_col_int(st, 1));
        tag_delivery(deliveries, sqlite3_column_int64(st, 1), o);
        json_object_set_new(o, "op", hd_api_col_str(st, 2));
        json_object_set_new(o, "duration_ms", hd_api_col_int(st, 4));
        json_object_set_new(o, "outcome", hd_api_col_str(st, 5));
        json_object_set_new(o, "http_status", hd_api_col_int(st, 6));
        json_object_set_new(o, "platform_code", hd_api_col_str(st, 7));
        json_object_set_new(o, "reason", hd_api_col_str(st, 8));
        json_object_set_new(o, "message", hd_api_col_str(st, 9));
        json_object_set_new(o, "remote_id", hd_api_col_str(st, 10));
        json_object_set_new(o, "url", hd_api_col_str(st, 11));
        json_t *d = find_delivery(deliveries, sqlite3_column_int64(st, 1));
        if (d) {
            json_t *list = json_object_get(d, "attempt_log");
            if (!list)
                json_object_set_new(d, "attempt_log", list = json_array());
            json_array_insert(list, 0, o);
        }
        if (!(e = tl_add(&t, 1, sqlite3_column_int64(st, 1), sqlite3_column_int64(st, 0),
                         sqlite3_column_int64(st, 3), o)))
            continue;
        const char *op = (const char *)sqlite3_column_text(st, 2);
        hd_strlcpy(e->op, op ? op : "", sizeof(e->op));
    }
    sqlite3_finalize(st);
    /* attempts were read newest first: pair them oldest first */
    for (size_t i = first_attempt, j = t.n; j > i + 1; i++, j--) {
        struct ev tmp = t.v[i];
        t.v[i] = t.v[j - 1];
        t.v[j - 1] = tmp;
    }
    st = hd_api_prepare(db,
                        "SELECT id, at, who, action, delivery_id, instance, reason FROM audit"
                        " WHERE item_id = ?1 AND (?2 = 0 OR delivery_id = ?2)"
                        " ORDER BY id DESC LIMIT ?3",
                        res);
    if (!st)
        goto fail;
    sqlite3_bind_text(st, 1, item, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, delivery_id);
    sqlite3_bind_int(st, 3, TIMELINE_MAX);
    while (sqlite3_step(st) == SQLITE_ROW) {
        json_t *o = json_pack("{s:s}", "kind", "audit");
        json_object_set_new(o, "at", hd_api_col_time(st, 1));
        json_object_set_new(o, "who", hd_api_col_str(st, 2));
        json_object_set_new(o, "action", hd_api_col_str(st, 3));
        json_object_set_new(o, "delivery_id", hd_api_col_int(st, 4));
        if (sqlite3_column_type(st, 4) != SQLITE_NULL)
            tag_delivery(deliveries, sqlite3_column_int64(st, 4), o);
        else
            json_object_set_new(o, "channel", hd_api_col_str(st, 5));
        json_object_set_new(o, "reason", hd_api_col_str(st, 6));
        tl_add(&t, 2, sqlite3_column_int64(st, 4), sqlite3_column_int64(st, 0),
               sqlite3_column_int64(st, 1), o);
    }
    sqlite3_finalize(st);
    anchor(&t);
    qsort(t.v, t.n, sizeof(*t.v), ev_cmp);
    json_t *arr = json_array();
    for (size_t i = 0; i < t.n; i++)
        json_array_append_new(arr, t.v[i].o);
    free(t.v);
    *out = arr;
    return 0;
fail:
    for (size_t i = 0; i < t.n; i++)
        json_decref(t.v[i].o);
    free(t.v);
    return -1;
}

static void q_item(sqlite3 *db, const json_t *p, struct hd_api_result *res)
{
    const char *id = json_string_value(json_object_get(p, "id"));
    json_t *vers = versions(db, id, res), *timeline = NULL;
    if (!vers)
        return;
    sqlite3_stmt *st = hd_api_prepare(
        db, "SELECT max_version, retracted_version FROM item_heads WHERE item_id = ?1", res);
    if (!st) {
        json_decref(vers);
        return;
    }
    sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
    int64_t max_version = 0, retracted = 0;
    if (sqlite3_step(st) == SQLITE_ROW) {
        max_version = sqlite3_column_int64(st, 0);
        retracted = sqlite3_column_int64(st, 1);
    }
    sqlite3_finalize(st);
    if (json_array_size(vers) == 0) {
        json_decref(vers);
        hd_api_res_error(res, 404, "not_found", "no item '%.128s'", id);
        return;
    }
    st = hd_api_prepare(db,
                        "SELECT " HD_API_DCOLS " FROM deliveries d WHERE d.item_id = ?1"
                        " ORDER BY d.version, d.instance, d.target",
                        res);
    if (!st) {
        json_decref(vers);
        return;
    }
    sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
    json_t *deliveries = json_array();
    while (sqlite3_step(st) == SQLITE_ROW)
        json_array_append_new(deliveries, hd_api_delivery_json(st, 0));
    sqlite3_finalize(st);
    if (hd_api_timeline(db, id, 0, deliveries, &timeline, res) != 0) {
        json_decref(vers);
        json_decref(deliveries);
        return;
    }
    /* the item as it stands: the latest version that carries a title */
    json_t *latest = NULL, *v;
    size_t i;
    json_array_foreach (vers, i, v) {
        if (json_is_string(json_object_get(v, "title")))
            latest = v;
    }
    json_t *item = json_object();
    json_object_set_new(item, "id", json_string(id));
    json_object_set_new(item, "latest_version", json_integer(max_version));
    json_object_set_new(item, "retracted_version",
                        retracted ? json_integer(retracted) : json_null());
    static const char *const fields[] = {"title",     "category",       "column", "publisher_code",
                                         "publisher", "publisher_kind", "urgent", "approved_at"};
    for (size_t k = 0; latest && k < HD_ARRAY_LEN(fields); k++)
        json_object_set(item, fields[k], json_object_get(latest, fields[k]));
    res->json = json_pack("{s:o, s:o, s:o, s:o}", "item", item, "versions", vers, "deliveries",
                          deliveries, "timeline", timeline);
}

static int item_id_ok(struct hd_api_req *r, const char *id)
{
    for (const char *c = id; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
              *c == '.' || *c == '_' || *c == ':' || *c == '-')) {
            hd_api_error(r->req, 404, "not_found",
                         "no item with that id (item ids use A-Z a-z 0-9 . _ : -)");
            return 0;
        }
    if (strlen(id) > 128) {
        hd_api_error(r->req, 404, "not_found", "no item with that id (longer than 128)");
        return 0;
    }
    return 1;
}

void hd_api_item(struct hd_api_req *r)
{
    if (hd_api_query_only(r, NULL) != 0 || !item_id_ok(r, r->segs[1]))
        return;
    hd_api_submit(hd_api_reader(r->api), r->req, q_item, json_pack("{s:s}", "id", r->segs[1]),
                  NULL);
}

/* ---- GET /items/{id}/versions/{v} ----------------------------------------------------------- */

static void q_item_version(sqlite3 *db, const json_t *p, struct hd_api_result *res)
{
    sqlite3_stmt *st = hd_api_prepare(
        db, "SELECT doc, received_at FROM items WHERE item_id = ?1 AND version = ?2", res);
    if (!st)
        return;
    hd_api_bind(st, 1, json_object_get(p, "id"));
    hd_api_bind(st, 2, json_object_get(p, "version"));
    if (sqlite3_step(st) == SQLITE_ROW) {
        const char *doc = (const char *)sqlite3_column_text(st, 0);
        json_t *d = doc ? json_loads(doc, 0, NULL) : NULL;
        res->json = json_pack("{s:O, s:O, s:o, s:o}", "id", json_object_get(p, "id"), "version",
                              json_object_get(p, "version"), "received_at", hd_api_col_time(st, 1),
                              "document", d ? d : json_null());
    } else {
        hd_api_res_error(res, 404, "not_found", "no such version of the item");
    }
    sqlite3_finalize(st);
}

void hd_api_item_version(struct hd_api_req *r)
{
    if (hd_api_query_only(r, NULL) != 0 || !item_id_ok(r, r->segs[1]))
        return;
    char *end;
    errno = 0;
    long long v = strtoll(r->segs[3], &end, 10);
    if (errno || *end || v < 1) {
        hd_api_error(r->req, 404, "not_found", "versions are positive integers");
        return;
    }
    hd_api_submit(hd_api_reader(r->api), r->req, q_item_version,
                  json_pack("{s:s, s:I}", "id", r->segs[1], "version", (json_int_t)v), NULL);
}

/* ---- GET /audit ----------------------------------------------------------------------------- */

static void q_audit(sqlite3 *db, const json_t *p, struct hd_api_result *res)
{
    sqlite3_stmt *st = hd_api_prepare(
        db,
        "SELECT id, at, who, action, item_id, delivery_id, instance, reason FROM audit"
        " WHERE (?1 IS NULL OR who = ?1) AND (?2 IS NULL OR action = ?2)"
        " AND (?3 IS NULL OR item_id = ?3) AND (?4 IS NULL OR instance = ?4)"
        " AND (?5 IS NULL OR id < ?5) AND (?6 IS NULL OR at >= ?6) AND (?7 IS NULL OR at < ?7)"
        " ORDER BY id DESC LIMIT ?8",
        res);
    if (!st)
        return;
    static const char *const names[] = {"who",  "action", "item", "channel",
                                        "c_id", "since",  "until"};
    for (int i = 0; i < 7; i++)
        hd_api_bind(st, i + 1, json_object_get(p, names[i]));
    int64_t limit = json_integer_value(json_object_get(p, "limit"));
    sqlite3_bind_int64(st, 8, limit + 1);
    json_t *a = json_array();
    int64_t n = 0, last = 0;
    int more = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        if (n++ == limit) {
            more = 1;
            break;
        }
        json_t *o = json_object();
        json_object_set_new(o, "id", hd_api_col_int(st, 0));
        json_object_set_new(o, "at", hd_api_col_time(st, 1));
        json_object_set_new(o, "who", hd_api_col_str(st, 2));
        json_object_set_new(o, "action", hd_api_col_str(st, 3));
        json_object_set_new(o, "item_id", hd_api_col_str(st, 4));
        json_object_set_new(o, "delivery_id", hd_api_col_int(st, 5));
        json_object_set_new(o, "channel", hd_api_col_str(st, 6));
        json_object_set_new(o, "reason", hd_api_col_str(st, 7));
        json_array_append_new(a, o);
        last = sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
    res->json = json_pack("{s:o}", "entries", a);
    json_object_set_new(res->json, "next_cursor",
                        more ? hd_api_cursor_json(json_pack("[I]", (json_int_t)last))
                             : json_null());
}

void hd_api_audit(struct hd_api_req *r)
{
    static const char *const allowed[] = {"who",   "action", "item",   "channel", "since",
                                          "until", "limit",  "cursor", NULL};
    static const char *const copied[] = {"who", "action", "item", "channel", NULL};
    json_t *p = hd_api_list_params(r, allowed, copied);
    if (!p)
        return;
    if (hd_api_list_cursor(r, p, HD_CURSOR_ID) != 0) {
        json_decref(p);
        return;
    }
    hd_api_submit(hd_api_reader(r->api), r->req, q_audit, p, NULL);
}
