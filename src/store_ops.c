/*
 * The store's data operations: items, deliveries, attempts, outbox, dead letters, instance state
 * and audit, each one prepared statement (hd_store_stmt caches them). SQL lives only here and in
 * the admin query module, and every value is bound, never spliced into SQL text.
 */
#include <jansson.h>

#include "common.h"
#include "item.h"
#include "store.h"

#define DCOLS                                                                                      \
    "id, item_id, version, instance, target, state, reason, detail, priority, attempts,"           \
    " created_at, updated_at, next_at, not_before, expires_at, approved_at, hold_kind,"            \
    " hold_item, hold_instance, hold_until, remote_id, remote_url, adapter_state,"                 \
    " delivered_at, seq"

static char *col_str(sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    return t ? strdup((const char *)t) : NULL;
}

static void bind_text(sqlite3_stmt *st, int i, const char *s)
{
    if (s)
        sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(st, i);
}

static void bind_ms(sqlite3_stmt *st, int i, int64_t v)
{
    if (v)
        sqlite3_bind_int64(st, i, v);
    else
        sqlite3_bind_null(st, i);
}

static struct hd_delivery *read_delivery(sqlite3_stmt *st)
{
    struct hd_delivery *d = calloc(1, sizeof(*d));
    if (!d)
        return NULL;
    d->id = sqlite3_column_int64(st, 0);
    d->item_id = col_str(st, 1);
    d->version = sqlite3_column_int64(st, 2);
    d->instance = col_str(st, 3);
    d->target = col_str(st, 4);
    const char *state = (const char *)sqlite3_column_text(st, 5);
    int sv = hd_dstate_parse(state);
    d->state = sv < 0 ? HD_D_FAILED : (enum hd_dstate)sv;
    d->reason = col_str(st, 6);
    d->detail = col_str(st, 7);
    d->priority = sqlite3_column_int(st, 8);
    d->attempts = sqlite3_column_int(st, 9);
    d->created_at = sqlite3_column_int64(st, 10);
    d->updated_at = sqlite3_column_int64(st, 11);
    d->next_at = sqlite3_column_int64(st, 12);
    d->not_before = sqlite3_column_int64(st, 13);
    d->expires_at = sqlite3_column_int64(st, 14);
    d->approved_at = sqlite3_column_int64(st, 15);
    const char *hk = (const char *)sqlite3_column_text(st, 16);
    d->hold_kind = HD_HOLD_NONE;
    for (int h = 0; hk && h < HD_HOLD_MAX; h++)
        if (strcmp(hk, hd_hold_name((enum hd_hold)h)) == 0)
            d->hold_kind = (enum hd_hold)h;
    d->hold_item = col_str(st, 17);
    d->hold_instance = col_str(st, 18);
    d->hold_until = sqlite3_column_int64(st, 19);
    d->remote_id = col_str(st, 20);
    d->remote_url = col_str(st, 21);
    d->adapter_state = col_str(st, 22);
    d->delivered_at = sqlite3_column_int64(st, 23);
    d->seq = sqlite3_column_int64(st, 24);
    if (!d->target)
        d->target = strdup("");
    return d;
}

static int collect_ids(struct hd_store *s, sqlite3_stmt *st, int64_t *ids, int limit)
{
    int n = 0, rc;
    while (n < limit && (rc = sqlite3_step(st)) == SQLITE_ROW)
        ids[n++] = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    return n;
}

static int64_t one_int(struct hd_store *s, sqlite3_stmt *st, int64_t dflt)
{
    int64_t v = dflt;
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
        v = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    return v;
}

static int one_delivery(struct hd_store *s, sqlite3_stmt *st, struct hd_delivery **out)
{
    int rc = sqlite3_step(st);
    *out = NULL;
    if (rc == SQLITE_ROW)
        *out = read_delivery(st);
    sqlite3_reset(st);
    if (rc == SQLITE_ROW)
        return *out ? 0 : HD_ENOMEM;
    return rc == SQLITE_DONE ? HD_ENOTFOUND : HD_EIO;
}

/* ---- items ----------------------------------------------------------------------------------- */

int hd_store_item_head(struct hd_store *s, const char *id, struct hd_item_head *h)
{
    sqlite3_stmt *st = hd_store_stmt(
        s, "SELECT max_version, retracted_version FROM item_heads WHERE item_id = ?1");
    memset(h, 0, sizeof(*h));
    if (!st)
        return HD_EIO;
    bind_text(st, 1, id);
    if (sqlite3_step(st) == SQLITE_ROW) {
        h->exists = 1;
        h->max_version = sqlite3_column_int64(st, 0);
        h->retracted_version = sqlite3_column_int64(st, 1);
    }
    sqlite3_reset(st);
    return 0;
}

int hd_store_item_head_put(struct hd_store *s, const char *id, const struct hd_item_head *h)
{
    sqlite3_stmt *st = hd_store_stmt(
        s, "INSERT INTO item_heads (item_id, max_version, retracted_version) VALUES (?1, ?2, ?3)"
           " ON CONFLICT (item_id) DO UPDATE SET max_version = ?2, retracted_version = ?3");
    if (!st || hd_store_write(s) != 0)
        return HD_EIO;
    bind_text(st, 1, id);
    sqlite3_bind_int64(st, 2, h->max_version);
    sqlite3_bind_int64(st, 3, h->retracted_version);
    hd_store_count_op(s);
    return hd_store_step_done(s, st, "item head");
}

int hd_store_item_insert(struct hd_store *s, const struct hd_item_doc *doc, const char *state,
                         const char *routes, const struct hd_item_src *src)
{
    sqlite3_stmt *st = hd_store_stmt(
        s, "INSERT INTO items (item_id, version, action, state, category, column_path,"
           " publisher_code, publisher_name, publisher_kind, title, priority, approved_at,"
           " not_before, expires_at, interprets, routes, doc, src_topic, src_partition,"
           " src_offset, received_at) VALUES"
           " (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18,?19,?20,?21)");
    if (!st || hd_store_write(s) != 0)
        return HD_EIO;
    const struct hd_item *v = &doc->view;
    json_t *pub = json_object_get(doc->root, "publisher");
    bind_text(st, 1, v->id);
    sqlite3_bind_int64(st, 2, v->version);
    bind_text(st, 3, v->action);
    bind_text(st, 4, state);
    bind_text(st, 5, v->category);
    bind_text(st, 6, v->column);
    bind_text(st, 7, v->publisher_code);
    bind_text(st, 8, v->publisher_name);
    bind_text(st, 9, json_string_value(json_object_get(pub, "kind")));
    bind_text(st, 10, v->title);
    sqlite3_bind_int(st, 11, v->urgent);
    bind_ms(st, 12, v->approved_at_ms);
    bind_ms(st, 13, v->not_before_ms);
    bind_ms(st, 14, v->expires_at_ms);
    bind_text(st, 15, v->interprets);
    bind_text(st, 16, routes);
    sqlite3_bind_text(st, 17, v->json, (int)v->json_len, SQLITE_TRANSIENT);
    bind_text(st, 18, src ? src->topic : NULL);
    if (src) {
        sqlite3_bind_int(st, 19, src->partition);
        sqlite3_bind_int64(st, 20, src->offset);
    }
    sqlite3_bind_int64(st, 21, hd_now_ms());
    hd_store_count_op(s);
    return hd_store_step_done(s, st, "item insert");
}

char *hd_store_item_doc(struct hd_store *s, const char *id, int64_t version)
{
    sqlite3_stmt *st =
        hd_store_stmt(s, "SELECT doc FROM items WHERE item_id = ?1 AND version = ?2");
    char *doc = NULL;
    if (!st)
        return NULL;
    bind_text(st, 1, id);
    sqlite3_bind_int64(st, 2, version);
    if (sqlite3_step(st) == SQLITE_ROW)
        doc = col_str(st, 0);
    sqlite3_reset(st);
    return doc;
}

char *hd_store_item_interprets(struct hd_store *s, const char *id, int64_t version)
{
    sqlite3_stmt *st =
        hd_store_stmt(s, "SELECT interprets FROM items WHERE item_id = ?1 AND version = ?2");
    char *out = NULL;
    if (!st)
        return NULL;
    bind_text(st, 1, id);
    sqlite3_bind_int64(st, 2, version);
    if (sqlite3_step(st) == SQLITE_ROW)
        out = col_str(st, 0);
    sqlite3_reset(st);
    return out;
}

/* ---- deliveries ---------------------------------------------------------------------------- */

static void bind_delivery(sqlite3_stmt *st, const struct hd_delivery *d)
{
    bind_text(st, 1, d->item_id);
    sqlite3_bind_int64(st, 2, d->version);
    bind_text(st, 3, d->instance);
    bind_text(st, 4, d->target ? d->target : "");
    bind_text(st, 5, hd_dstate_name(d->state));
    bind_text(st, 6, d->reason);
    bind_text(st, 7, d->detail);
    sqlite3_bind_int(st, 8, d->priority);
    sqlite3_bind_int(st, 9, d->attempts);
    sqlite3_bind_int64(st, 10, d->created_at);
    sqlite3_bind_int64(st, 11, d->updated_at);
    bind_ms(st, 12, d->next_at);
    bind_ms(st, 13, d->not_before);
    bind_ms(st, 14, d->expires_at);
    bind_ms(st, 15, d->approved_at);
    bind_text(st, 16, d->hold_kind == HD_HOLD_NONE ? NULL : hd_hold_name(d->hold_kind));
    bind_text(st, 17, d->hold_item);
    bind_text(st, 18, d->hold_instance);
    bind_ms(st, 19, d->hold_until);
    bind_text(st, 20, d->remote_id);
    bind_text(st, 21, d->remote_url);
    bind_text(st, 22, d->adapter_state);
    bind_ms(st, 23, d->delivered_at);
    sqlite3_bind_int64(st, 24, d->seq);
}

int hd_store_delivery_insert(struct hd_store *s, struct hd_delivery *d)
{
    sqlite3_stmt *st = hd_store_stmt(
        s, "INSERT INTO deliveries (item_id, version, instance, target, state, reason, detail,"
           " priority, attempts, created_at, updated_at, next_at, not_before, expires_at,"
           " approved_at, hold_kind, hold_item, hold_instance, hold_until, remote_id,"
           " remote_url, adapter_state, delivered_at, seq) VALUES"
           " (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18,?19,?20,?21,?22,"
           "?23,?24)");
    if (!st || hd_store_write(s) != 0)
        return HD_EIO;
    bind_delivery(st, d);
    hd_store_count_op(s);
    int rc = hd_store_step_done(s, st, "delivery insert");
    if (rc == 0)
        d->id = sqlite3_last_insert_rowid(hd_store_db(s));
    return rc;
}

int hd_store_delivery_update(struct hd_store *s, const struct hd_delivery *d)
{
    /* Only the columns that change after creation: SQLite maintains every index on a column
     * named in SET, so naming the identity columns (item, version, instance, target) would
     * rewrite the slot and unique indexes on every state change for nothing. */
    sqlite3_stmt *st = hd_store_stmt(
        s, "UPDATE deliveries SET state=?1, reason=?2, detail=?3, attempts=?4, created_at=?5,"
           " updated_at=?6, next_at=?7, not_before=?8, hold_kind=?9, hold_item=?10,"
           " hold_instance=?11, hold_until=?12, remote_id=?13, remote_url=?14,"
           " adapter_state=?15, delivered_at=?16, seq=?17 WHERE id=?18");
    if (!st || hd_store_write(s) != 0)
        return HD_EIO;
    bind_text(st, 1, hd_dstate_name(d->state));
    bind_text(st, 2, d->reason);
    bind_text(st, 3, d->detail);
    sqlite3_bind_int(st, 4, d->attempts);
    sqlite3_bind_int64(st, 5, d->created_at);
    sqlite3_bind_int64(st, 6, d->updated_at);
    bind_ms(st, 7, d->next_at);
    bind_ms(st, 8, d->not_before);
    bind_text(st, 9, d->hold_kind == HD_HOLD_NONE ? NULL : hd_hold_name(d->hold_kind));
    bind_text(st, 10, d->hold_item);
    bind_text(st, 11, d->hold_instance);
    bind_ms(st, 12, d->hold_until);
    bind_text(st, 13, d->remote_id);
    bind_text(st, 14, d->remote_url);
    bind_text(st, 15, d->adapter_state);
    bind_ms(st, 16, d->delivered_at);
    sqlite3_bind_int64(st, 17, d->seq);
    sqlite3_bind_int64(st, 18, d->id);
    hd_store_count_op(s);
    return hd_store_step_done(s, st, "delivery update");
}

int hd_store_delivery_get(struct hd_store *s, int64_t id, struct hd_delivery **out)
{
    sqlite3_stmt *st = hd_store_stmt(s, "SELECT " DCOLS " FROM deliveries WHERE id = ?1");
    if (!st)
        return HD_EIO;
    sqlite3_bind_int64(st, 1, id);
    return one_delivery(s, st, out);
}

int hd_store_delivery_find(struct hd_store *s, const char *item, int64_t version,
                           const char *instance, const char *target, struct hd_delivery **out)
{
    sqlite3_stmt *st = hd_store_stmt(s, "SELECT " DCOLS " FROM deliveries WHERE item_id = ?1"
                                        " AND version = ?2 AND instance = ?3 AND target = ?4");
    if (!st)
        return HD_EIO;
    bind_text(st, 1, item);
    sqlite3_bind_int64(st, 2, version);
    bind_text(st, 3, instance);
    bind_text(st, 4, target ? target : "");
    return one_delivery(s, st, out);
}

int hd_store_item_deliveries(struct hd_store *s, const char *item, hd_delivery_iter_cb *cb,
                             void *arg)
{
    sqlite3_stmt *st = hd_store_stmt(s, "SELECT " DCOLS
                                        " FROM deliveries WHERE item_id = ?1 ORDER BY version, id");
    if (!st)
        return HD_EIO;
    bind_text(st, 1, item);
    /* collect first: callbacks write to the store, which must not happen mid-iteration */
    struct hd_delivery **all = NULL;
    size_t n = 0, cap = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            struct hd_delivery **tmp = realloc(all, cap * sizeof(*all));
            if (!tmp)
                break;
            all = tmp;
        }
        all[n++] = read_delivery(st);
    }
    sqlite3_reset(st);
    int stop = 0;
    for (size_t i = 0; i < n; i++) {
        if (!stop && all[i])
            stop = cb(arg, all[i]);
        hd_delivery_free(all[i]);
    }
    free(all);
    return 0;
}

int hd_store_ids_in_state(struct hd_store *s, const char *instance, enum hd_dstate state,
                          int64_t *ids, int limit)
{
    sqlite3_stmt *st = hd_store_stmt(
        s, "SELECT id FROM deliveries WHERE state = ?1 AND (?2 IS NULL OR instance = ?2)"
           " ORDER BY id LIMIT ?3");
    if (!st)
        return HD_EIO;
    bind_text(st, 1, hd_dstate_name(state));
    bind_text(st, 2, instance);
    sqlite3_bind_int(st, 3, limit);
    return collect_ids(s, st, ids, limit);
}

int hd_store_pending(struct hd_store *s, const char *instance, const char *blocked_json,
                     int64_t *ids, int limit)
{
    sqlite3_stmt *st = hd_store_stmt(
        s, "SELECT d.id FROM deliveries d WHERE d.instance = ?1 AND d.state = 'pending'"
           " AND d.target NOT IN (SELECT value FROM json_each(?2))"
           " AND NOT EXISTS (SELECT 1 FROM deliveries o WHERE o.item_id = d.item_id"
           "  AND o.instance = d.instance AND o.target = d.target AND o.version <> d.version"
           "  AND o.state IN ('sending','publishing','reconciling','retracting'))"
           " ORDER BY d.priority DESC, d.id LIMIT ?3");
    if (!st)
        return HD_EIO;
    bind_text(st, 1, instance);
    bind_text(st, 2, blocked_json ? blocked_json : "[]");
    sqlite3_bind_int(st, 3, limit);
    return collect_ids(s, st, ids, limit);
}

int hd_store_due_ops(struct hd_store *s, const char *instance, enum hd_dstate state, int64_t *ids,
                     int limit)
{
    sqlite3_stmt *st = hd_store_stmt(
        s, "SELECT id FROM deliveries WHERE instance = ?1 AND state = ?2 AND next_at IS NULL"
           " ORDER BY priority DESC, id LIMIT ?3");
    if (!st)
        return HD_EIO;
    bind_text(st, 1, instance);
    bind_text(st, 2, hd_dstate_name(state));
    sqlite3_bind_int(st, 3, limit);
    return collect_ids(s, st, ids, limit);
}

int hd_store_wake_due(struct hd_store *s, int64_t now, int64_t *ids, int limit)
{
    sqlite3_stmt *st = hd_store_stmt(s, "SELECT id FROM deliveries WHERE next_at IS NOT NULL"
                                        " AND next_at <= ?1 ORDER BY next_at LIMIT ?2");
    if (!st)
        return HD_EIO;
    sqlite3_bind_int64(st, 1, now);
    sqlite3_bind_int(st, 2, limit);
    return collect_ids(s, st, ids, limit);
}

int64_t hd_store_wake_next(struct hd_store *s)
{
    sqlite3_stmt *st =
        hd_store_stmt(s, "SELECT MIN(next_at) FROM deliveries WHERE next_at IS NOT NULL");
    return st ? one_int(s, st, 0) : 0;
}

int hd_store_expired_due(struct hd_store *s, int64_t now, int64_t *ids, int limit)
{
    sqlite3_stmt *st = hd_store_stmt(
        /* INDEXED BY: left alone, the planner may walk every pending row by state */
        s, "SELECT id FROM deliveries INDEXED BY deliveries_expiry WHERE expires_at IS NOT NULL"
           " AND state IN ('pending','held','waiting_retry','parked') AND expires_at <= ?1"
           " ORDER BY expires_at LIMIT ?2");
    if (!st)
        return HD_EIO;
    sqlite3_bind_int64(st, 1, now);
    sqlite3_bind_int(st, 2, limit);
    return collect_ids(s, st, ids, limit);
}

int64_t hd_store_expiry_next(struct hd_store *s)
{
    sqlite3_stmt *st = hd_store_stmt(
        s, "SELECT expires_at FROM deliveries INDEXED BY deliveries_expiry"
           " WHERE expires_at IS NOT NULL AND state IN ('pending','held','waiting_retry','parked')"
           " ORDER BY expires_at LIMIT 1");
    return st ? one_int(s, st, 0) : 0;
}

int hd_store_held_by(struct hd_store *s, const char *hold_item, const char *hold_instance,
                     int64_t *ids, int limit)
{
    sqlite3_stmt *st =
        hd_store_stmt(s, "SELECT id FROM deliveries WHERE state = 'held' AND hold_item = ?1"
                         " AND hold_instance = ?2 ORDER BY id LIMIT ?3");
    if (!st)
        return HD_EIO;
    bind_text(st, 1, hold_item);
    bind_text(st, 2, hold_instance);
    sqlite3_bind_int(st, 3, limit);
    return collect_ids(s, st, ids, limit);
}

int hd_store_slot_busy(struct hd_store *s, const struct hd_delivery *d)
{
    sqlite3_stmt *st = hd_store_stmt(
        s, "SELECT EXISTS (SELECT 1 FROM deliveries WHERE item_id = ?1 AND instance = ?2"
           " AND target = ?3 AND version <> ?4"
           " AND state IN ('sending','publishing','reconciling','retracting'))");
    if (!st)
        return 0;
    bind_text(st, 1, d->item_id);
    bind_text(st, 2, d->instance);
    bind_text(st, 3, d->target);
    sqlite3_bind_int64(st, 4, d->version);
    return (int)one_int(s, st, 0);
}

int hd_store_slot_live(struct hd_store *s, const struct hd_delivery *d, struct hd_delivery **out)
{
    sqlite3_stmt *st =
        hd_store_stmt(s, "SELECT " DCOLS " FROM deliveries WHERE item_id = ?1 AND instance = ?2"
                         " AND target = ?3 AND version < ?4 AND state = 'delivered'"
                         " ORDER BY version DESC LIMIT 1");
    if (!st)
        return HD_EIO;
    bind_text(st, 1, d->item_id);
    bind_text(st, 2, d->instance);
    bind_text(st, 3, d->target);
    sqlite3_bind_int64(st, 4, d->version);
    return one_delivery(s, st, out);
}

int hd_store_dependency(struct hd_store *s, const char *item, int64_t version, const char *instance,
                        struct hd_delivery **out)
{
    return hd_store_delivery_find(s, item, version, instance, "", out);
}

int hd_store_item_delivered_on(struct hd_store *s, const char *item, const char *instance,
                               const char *target, int *known, int *routed_here)
{
    struct hd_item_head h;
    hd_store_item_head(s, item, &h);
    *known = h.exists;
    sqlite3_stmt *st =
        hd_store_stmt(s, "SELECT COUNT(*), COALESCE(SUM(state = 'delivered'), 0) FROM deliveries"
                         " WHERE item_id = ?1 AND instance = ?2 AND target = ?3");
    if (!st)
        return 0;
    bind_text(st, 1, item);
    bind_text(st, 2, instance);
    bind_text(st, 3, target ? target : "");
    int delivered = 0;
    *routed_here = 0;
    if (sqlite3_step(st) == SQLITE_ROW) {
        *routed_here = sqlite3_column_int(st, 0) > 0;
        delivered = sqlite3_column_int(st, 1) > 0;
    }
    sqlite3_reset(st);
    return delivered;
}

int hd_store_delivery_by_remote(struct hd_store *s, const char *instance, const char *ref,
                                struct hd_delivery **out)
{
    sqlite3_stmt *st =
        hd_store_stmt(s, "SELECT " DCOLS " FROM deliveries WHERE instance = ?1 AND remote_id = ?2"
                         " ORDER BY version DESC, id DESC LIMIT 1");
    if (!st)
        return HD_EIO;
    bind_text(st, 1, instance);
    bind_text(st, 2, ref);
    return one_delivery(s, st, out);
}

int64_t hd_store_count_state(struct hd_store *s, const char *instance, enum hd_dstate state)
{
    sqlite3_stmt *st =
        hd_store_stmt(s, "SELECT COUNT(*) FROM deliveries WHERE instance = ?1 AND state = ?2");
    if (!st)
        return 0;
    bind_text(st, 1, instance);
    bind_text(st, 2, hd_dstate_name(state));
    return one_int(s, st, 0);
}

int hd_store_counts(struct hd_store *s, hd_count_cb *cb, void *arg)
{
    sqlite3_stmt *st = hd_store_stmt(
        s, "SELECT instance, state, COUNT(*) FROM deliveries"
           " WHERE state NOT IN ('delivered','failed','superseded','retracted','expired',"
           "'cancelled','removed_externally','manual_action') GROUP BY instance, state");
    if (!st)
        return HD_EIO;
    while (sqlite3_step(st) == SQLITE_ROW)
        cb(arg, (const char *)sqlite3_column_text(st, 0), (const char *)sqlite3_column_text(st, 1),
           sqlite3_column_int64(st, 2));
    sqlite3_reset(st);
    return 0;
}

/* ---- retention ----------------------------------------------------------------------------- */

static int delete_by(struct hd_store *s, const char *sql, int64_t id, int64_t *deleted)
{
    sqlite3_stmt *st = hd_store_stmt(s, sql);
    if (!st)
        return HD_EIO;
    sqlite3_bind_int64(st, 1, id);
    int rc = hd_store_step_done(s, st, "retention delete");
    if (rc == 0 && sqlite3_changes(hd_store_db(s)) > 0) {
        *deleted += sqlite3_changes(hd_store_db(s));
        hd_store_count_op(s); /* a batch's size counts what it deletes too */
    }
    return rc;
}

int hd_store_prune_step(struct hd_store *s, int64_t cutoff_ms, int limit, struct hd_prune_cursor *c,
                        int64_t *deleted)
{
    *deleted = 0;
    if (limit <= 0 || hd_store_write(s) != 0)
        return -1;
    sqlite3_stmt *st =
        hd_store_stmt(s, "SELECT id, updated_at, state FROM deliveries WHERE updated_at >= ?2"
                         " AND updated_at < ?1 AND (updated_at > ?2 OR id > ?3)"
                         " ORDER BY updated_at, id LIMIT ?4");
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, cutoff_ms);
    sqlite3_bind_int64(st, 2, c->at);
    sqlite3_bind_int64(st, 3, c->id);
    sqlite3_bind_int(st, 4, limit);
    int64_t *settled = malloc((size_t)limit * sizeof(*settled));
    if (!settled) {
        sqlite3_reset(st);
        return -1;
    }
    int n = 0, n_settled = 0, step;
    struct hd_prune_cursor next = *c; /* moved only once the step's deletes are done */
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        n++;
        next.id = sqlite3_column_int64(st, 0);
        next.at = sqlite3_column_int64(st, 1);
        int state = hd_dstate_parse((const char *)sqlite3_column_text(st, 2));
        /* settled: terminal, but not manual_action (a person still has to act on it, with
         * what its attempts say) */
        if (state >= 0 && hd_dstate_terminal((enum hd_dstate)state) && state != HD_D_MANUAL_ACTION)
            settled[n_settled++] = next.id;
    }
    sqlite3_reset(st);
    int rc = step == SQLITE_DONE ? 0 : HD_EIO;
    for (int i = 0; i < n_settled && rc == 0; i++) {
        rc = delete_by(s, "DELETE FROM attempts WHERE delivery_id = ?1", settled[i], deleted);
        if (rc == 0)
            rc = delete_by(s, "DELETE FROM delivery_events WHERE delivery_id = ?1", settled[i],
                           deleted);
    }
    free(settled);
    /* dead letters once the deliveries are caught up: few rows, but no index on their age */
    if (rc == 0 && n < limit) {
        sqlite3_stmt *dl = hd_store_stmt(
            s, "DELETE FROM rejections WHERE id IN (SELECT id FROM rejections WHERE sent = 1"
               " AND rejected_at < ?1 ORDER BY id LIMIT ?2)");
        if (!dl)
            return -1;
        sqlite3_bind_int64(dl, 1, cutoff_ms);
        sqlite3_bind_int(dl, 2, limit);
        rc = hd_store_step_done(s, dl, "retention delete");
        if (rc == 0 && sqlite3_changes(hd_store_db(s)) > 0) {
            *deleted += sqlite3_changes(hd_store_db(s));
            hd_store_count_op(s);
        }
    }
    if (rc)
        return -1;
    *c = next;
    return n;
}

/* ---- attempts ------------------------------------------------------------------------------ */

int hd_store_attempt_insert(struct hd_store *s, const struct hd_attempt *a)
{
    sqlite3_stmt *st = hd_store_stmt(
        s, "INSERT INTO attempts (delivery_id, kind, started_at, duration_ms, outcome,"
           " http_status, platform_code, reason, message, remote_id, remote_url)"
           " VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11)");
    if (!st || hd_store_write(s) != 0)
        return HD_EIO;
    sqlite3_bind_int64(st, 1, a->delivery_id);
    bind_text(st, 2, a->kind);
    sqlite3_bind_int64(st, 3, a->started_at);
    sqlite3_bind_int64(st, 4, a->duration_ms);
    bind_text(st, 5, a->outcome);
    if (a->http_status)
        sqlite3_bind_int(st, 6, a->http_status);
    bind_text(st, 7, a->platform_code);
    bind_text(st, 8, a->reason);
    bind_text(st, 9, a->message);
    bind_text(st, 10, a->remote_id);
    bind_text(st, 11, a->remote_url);
    hd_store_count_op(s);
    return hd_store_step_done(s, st, "attempt insert");
}

/* ---- outbox ------------------------------------------------------------------------------- */

int hd_store_outbox_insert(struct hd_store *s, const char *key, const char *payload)
{
    sqlite3_stmt *st = hd_store_stmt(s, "INSERT INTO outbox (key, payload) VALUES (?1, ?2)");
    if (!st || hd_store_write(s) != 0)
        return HD_EIO;
    bind_text(st, 1, key);
    bind_text(st, 2, payload);
    hd_store_count_op(s);
    int rc = hd_store_step_done(s, st, "outbox insert");
    if (rc == 0)
        hd_store_outbox_written(s, sqlite3_last_insert_rowid(hd_store_db(s)));
    return rc;
}

int hd_store_history_insert(struct hd_store *s, const struct hd_delivery *d, const char *previous)
{
    sqlite3_stmt *st = hd_store_stmt(
        s, "INSERT INTO delivery_events (delivery_id, seq, at, state, previous, reason, detail,"
           " attempts) VALUES (?1,?2,?3,?4,?5,?6,?7,?8)");
    if (!st || hd_store_write(s) != 0)
        return HD_EIO;
    sqlite3_bind_int64(st, 1, d->id);
    sqlite3_bind_int64(st, 2, d->seq);
    sqlite3_bind_int64(st, 3, d->updated_at);
    bind_text(st, 4, hd_dstate_name(d->state));
    bind_text(st, 5, previous);
    bind_text(st, 6, d->reason);
    bind_text(st, 7, d->detail);
    sqlite3_bind_int(st, 8, d->attempts);
    hd_store_count_op(s);
    return hd_store_step_done(s, st, "history insert");
}

int hd_store_outbox_after(struct hd_store *s, int64_t after_id, int limit, hd_outbox_row_cb *cb,
                          void *arg)
{
    sqlite3_stmt *st =
        hd_store_stmt(s, "SELECT id, key, payload FROM outbox WHERE id > ?1 AND id <= ?3"
                         " ORDER BY id LIMIT ?2");
    int n = 0;
    if (!st)
        return HD_EIO;
    sqlite3_bind_int64(st, 1, after_id);
    sqlite3_bind_int(st, 2, limit);
    sqlite3_bind_int64(st, 3, hd_store_outbox_durable(s)); /* only rows on disk go out */
    while (sqlite3_step(st) == SQLITE_ROW) {
        cb(arg, sqlite3_column_int64(st, 0), (const char *)sqlite3_column_text(st, 1),
           (const char *)sqlite3_column_text(st, 2));
        n++;
    }
    sqlite3_reset(st);
    return n;
}

int hd_store_outbox_delete(struct hd_store *s, int64_t id)
{
    sqlite3_stmt *st = hd_store_stmt(s, "DELETE FROM outbox WHERE id = ?1");
    if (!st || hd_store_write(s) != 0)
        return HD_EIO;
    sqlite3_bind_int64(st, 1, id);
    hd_store_count_op(s);
    return hd_store_step_done(s, st, "outbox delete");
}

int64_t hd_store_outbox_count(struct hd_store *s)
{
    sqlite3_stmt *st = hd_store_stmt(s, "SELECT COUNT(*) FROM outbox");
    return st ? one_int(s, st, 0) : 0;
}

/* ---- rejections ------------------------------------------------------------------------------ */

int hd_store_rejection_put(struct hd_store *s, struct hd_rejection *r)
{
    sqlite3_stmt *st = hd_store_stmt(
        s, "INSERT INTO rejections (topic, partition, offset, msg_key, value, reason, detail,"
           " rejected_at) VALUES (?1,?2,?3,?4,?5,?6,?7,?8)"
           " ON CONFLICT (topic, partition, offset) DO NOTHING");
    if (!st || hd_store_write(s) != 0)
        return HD_EIO;
    bind_text(st, 1, r->topic);
    sqlite3_bind_int(st, 2, r->partition);
    sqlite3_bind_int64(st, 3, r->offset);
    if (r->key)
        sqlite3_bind_blob(st, 4, r->key, (int)r->key_len, SQLITE_TRANSIENT);
    sqlite3_bind_blob(st, 5, r->value ? r->value : "", (int)r->value_len, SQLITE_TRANSIENT);
    bind_text(st, 6, r->reason);
    bind_text(st, 7, r->detail);
    sqlite3_bind_int64(st, 8, r->rejected_at);
    hd_store_count_op(s);
    int rc = hd_store_step_done(s, st, "rejection insert");
    if (rc)
        return rc;
    sqlite3_stmt *q = hd_store_stmt(s, "SELECT id, sent FROM rejections WHERE topic = ?1"
                                       " AND partition = ?2 AND offset = ?3");
    if (!q)
        return HD_EIO;
    bind_text(q, 1, r->topic);
    sqlite3_bind_int(q, 2, r->partition);
    sqlite3_bind_int64(q, 3, r->offset);
    if (sqlite3_step(q) == SQLITE_ROW) {
        r->id = sqlite3_column_int64(q, 0);
        r->sent = sqlite3_column_int(q, 1);
    }
    sqlite3_reset(q);
    return 0;
}

static int each_rejection(sqlite3_stmt *st, hd_rejection_cb *cb, void *arg)
{
    int n = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        struct hd_rejection r = {
            .id = sqlite3_column_int64(st, 0),
            .topic = (const char *)sqlite3_column_text(st, 1),
            .partition = sqlite3_column_int(st, 2),
            .offset = sqlite3_column_int64(st, 3),
            .key = sqlite3_column_blob(st, 4),
            .key_len = (size_t)sqlite3_column_bytes(st, 4),
            .value = sqlite3_column_blob(st, 5),
            .value_len = (size_t)sqlite3_column_bytes(st, 5),
            .reason = (const char *)sqlite3_column_text(st, 6),
            .detail = (const char *)sqlite3_column_text(st, 7),
            .rejected_at = sqlite3_column_int64(st, 8),
        };
        cb(arg, &r);
        n++;
    }
    sqlite3_reset(st);
    return n;
}

int hd_store_rejections_unsent(struct hd_store *s, int limit, hd_rejection_cb *cb, void *arg)
{
    sqlite3_stmt *st = hd_store_stmt(
        s, "SELECT id, topic, partition, offset, msg_key, value, reason, detail, rejected_at"
           " FROM rejections WHERE sent = 0 ORDER BY id LIMIT ?1");
    if (!st)
        return HD_EIO;
    sqlite3_bind_int(st, 1, limit);
    return each_rejection(st, cb, arg);
}

int hd_store_rejection_get(struct hd_store *s, int64_t id, hd_rejection_cb *cb, void *arg)
{
    sqlite3_stmt *st = hd_store_stmt(
        s, "SELECT id, topic, partition, offset, msg_key, value, reason, detail, rejected_at"
           " FROM rejections WHERE id = ?1");
    if (!st)
        return HD_EIO;
    sqlite3_bind_int64(st, 1, id);
    return each_rejection(st, cb, arg) == 1 ? 0 : HD_ENOTFOUND;
}

int hd_store_rejection_replayed(struct hd_store *s, int64_t id)
{
    sqlite3_stmt *st = hd_store_stmt(s, "UPDATE rejections SET replayed_at = ?2 WHERE id = ?1");
    if (!st || hd_store_write(s) != 0)
        return HD_EIO;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, hd_now_ms());
    hd_store_count_op(s);
    return hd_store_step_done(s, st, "rejection replayed");
}

int hd_store_rejection_mark_sent(struct hd_store *s, int64_t id)
{
    sqlite3_stmt *st = hd_store_stmt(s, "UPDATE rejections SET sent = 1 WHERE id = ?1");
    if (!st || hd_store_write(s) != 0)
        return HD_EIO;
    sqlite3_bind_int64(st, 1, id);
    hd_store_count_op(s);
    return hd_store_step_done(s, st, "rejection sent");
}

/* ---- instance state and audit ------------------------------------------------------------- */

int hd_store_instance_get(struct hd_store *s, const char *instance, struct hd_instance_state *is)
{
    sqlite3_stmt *st =
        hd_store_stmt(s, "SELECT paused, parked, reason FROM instances WHERE instance = ?1");
    memset(is, 0, sizeof(*is));
    if (!st)
        return HD_EIO;
    bind_text(st, 1, instance);
    if (sqlite3_step(st) == SQLITE_ROW) {
        is->paused = sqlite3_column_int(st, 0);
        is->parked = sqlite3_column_int(st, 1);
        const char *r = (const char *)sqlite3_column_text(st, 2);
        hd_strlcpy(is->reason, r ? r : "", sizeof(is->reason));
    }
    sqlite3_reset(st);
    return 0;
}

int hd_store_instance_put(struct hd_store *s, const char *instance,
                          const struct hd_instance_state *is)
{
    sqlite3_stmt *st = hd_store_stmt(
        s, "INSERT INTO instances (instance, paused, parked, reason, updated_at)"
           " VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (instance) DO UPDATE SET paused = ?2,"
           " parked = ?3, reason = ?4, updated_at = ?5");
    if (!st || hd_store_write(s) != 0)
        return HD_EIO;
    bind_text(st, 1, instance);
    sqlite3_bind_int(st, 2, is->paused);
    sqlite3_bind_int(st, 3, is->parked);
    bind_text(st, 4, is->reason);
    sqlite3_bind_int64(st, 5, hd_now_ms());
    hd_store_count_op(s);
    return hd_store_step_done(s, st, "instance state");
}

int hd_store_audit(struct hd_store *s, const char *who, const char *action, const char *item_id,
                   int64_t delivery_id, const char *instance, const char *reason)
{
    sqlite3_stmt *st = hd_store_stmt(
        s, "INSERT INTO audit (at, who, action, item_id, delivery_id, instance, reason)"
           " VALUES (?1,?2,?3,?4,?5,?6,?7)");
    if (!st || hd_store_write(s) != 0)
        return HD_EIO;
    sqlite3_bind_int64(st, 1, hd_now_ms());
    bind_text(st, 2, who);
    bind_text(st, 3, action);
    bind_text(st, 4, item_id);
    bind_ms(st, 5, delivery_id);
    bind_text(st, 6, instance);
    bind_text(st, 7, reason);
    hd_store_count_op(s);
    return hd_store_step_done(s, st, "audit");
}

/* ---- quotas ------------------------------------------------------------------------------------
 */

int hd_store_quota_get(struct hd_store *s, const char *instance, const char *name,
                       int64_t *window_start, int64_t *used)
{
    sqlite3_stmt *st =
        hd_store_stmt(s, "SELECT window_start, used FROM quotas WHERE instance = ?1 AND name = ?2");
    if (!st)
        return HD_EIO;
    bind_text(st, 1, instance);
    bind_text(st, 2, name);
    int rc = HD_ENOTFOUND;
    if (sqlite3_step(st) == SQLITE_ROW) {
        *window_start = sqlite3_column_int64(st, 0);
        *used = sqlite3_column_int64(st, 1);
        rc = 0;
    }
    sqlite3_reset(st);
    return rc;
}

int hd_store_quota_put(struct hd_store *s, const char *instance, const char *name,
                       int64_t window_start, int64_t used)
{
    sqlite3_stmt *st = hd_store_stmt(
        s, "INSERT INTO quotas (instance, name, window_start, used) VALUES (?1, ?2, ?3, ?4)"
           " ON CONFLICT (instance, name) DO UPDATE SET window_start = ?3, used = ?4");
    if (!st || hd_store_write(s) != 0)
        return HD_EIO;
    bind_text(st, 1, instance);
    bind_text(st, 2, name);
    sqlite3_bind_int64(st, 3, window_start);
    sqlite3_bind_int64(st, 4, used);
    hd_store_count_op(s);
    return hd_store_step_done(s, st, "quota");
}
