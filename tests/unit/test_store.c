/*
 * The store (src/store.c, store_ops.c, delivery.c) on a real SQLite file: migrations, refusing a
 * newer schema and a corrupt file, group commit and durability callbacks (never inside the call,
 * after the commit), state changes with their outbox events, refused moves, the pump's queue
 * order (urgent first, then age), blocked targets and busy slots, timers, dead letters, quotas.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>
#include <jansson.h>
#include <sqlite3.h>

#include "common.h"
#include "delivery.h"
#include "store.h"

struct fixture {
    char dir[64];
    char path[128];
    struct event_base *base;
    struct hd_store *st;
};

static int open_store(struct fixture *f)
{
    char err[512];
    struct hd_store_opts o = {.path = f->path,
                              .commit_interval_ms = 1,
                              .commit_max_ops = 1000,
                              .sync_full = 1,
                              .status_topic = "herald.status"};
    int rc = hd_store_open(f->base, &o, &f->st, err, sizeof(err));
    if (rc)
        print_message("open: %s\n", err);
    return rc;
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    strcpy(f->dir, "/tmp/hd-store-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof(f->path), "%s/herald.db", f->dir);
    f->base = event_base_new();
    assert_int_equal(open_store(f), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    char cmd[128];
    hd_store_close(f->st);
    event_base_free(f->base);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

static void run_until_idle(struct fixture *f)
{
    /* each turn blocks until an event: the commit timer, the syncer's word, the ready event */
    for (int i = 0; i < 100 && hd_store_busy(f->st); i++)
        event_base_loop(f->base, EVLOOP_ONCE);
}

static int64_t count(struct fixture *f, const char *sql)
{
    sqlite3_stmt *st = hd_store_stmt(f->st, sql);
    int64_t n = -1;
    if (sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    return n;
}

static struct hd_delivery *new_delivery(const char *item, int64_t version, const char *target,
                                        int priority)
{
    struct hd_delivery *d = calloc(1, sizeof(*d));
    d->item_id = strdup(item);
    d->version = version;
    d->instance = strdup("webhook:ops");
    d->target = strdup(target);
    d->state = HD_D_PENDING;
    d->priority = priority;
    return d;
}

/* ---- migrations and integrity --------------------------------------------------------------- */

static void test_schema(void **state)
{
    struct fixture *f = *state;
    assert_true(count(f, "PRAGMA user_version") >= 2);
    assert_int_equal(count(f, "SELECT COUNT(*) FROM schema_migrations"),
                     count(f, "PRAGMA user_version"));
    assert_int_equal(count(f, "SELECT COUNT(*) FROM pragma_table_info('deliveries')"), 25);
    /* reopening migrates nothing */
    hd_store_close(f->st);
    assert_int_equal(open_store(f), 0);
    assert_int_equal(count(f, "SELECT COUNT(*) FROM schema_migrations"),
                     count(f, "PRAGMA user_version"));
}

static void count_progress(void *arg, const char *what)
{
    assert_non_null(strstr(what, "store"));
    (*(int *)arg)++;
}

/* Migration 5 turns a schema-4 items table (WITHOUT ROWID) into a rowid table: the rows, the
 * key and the indexes come through. The schema-4 file is made by hand from a current one. */
static void test_items_become_a_rowid_table(void **state)
{
    struct fixture *f = *state;
    hd_store_close(f->st);
    f->st = NULL;
    sqlite3 *db;
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    char big[3001];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    char *sql = sqlite3_mprintf(
        "DROP TABLE items;"
        "CREATE TABLE items ("
        " item_id TEXT NOT NULL, version INTEGER NOT NULL, action TEXT NOT NULL,"
        " state TEXT NOT NULL, category TEXT, column_path TEXT, publisher_code TEXT,"
        " publisher_name TEXT, publisher_kind TEXT, title TEXT, priority INTEGER NOT NULL"
        " DEFAULT 0, approved_at INTEGER, not_before INTEGER, expires_at INTEGER, interprets TEXT,"
        " routes TEXT, doc TEXT NOT NULL, src_topic TEXT, src_partition INTEGER,"
        " src_offset INTEGER, received_at INTEGER NOT NULL, PRIMARY KEY (item_id, version))"
        " WITHOUT ROWID;"
        "CREATE INDEX items_received ON items(received_at);"
        "CREATE INDEX items_approved ON items(approved_at, item_id);"
        "INSERT INTO items (item_id, version, action, state, title, approved_at, doc,"
        " received_at) VALUES ('m-1', 1, 'publish', 'accepted', '标题', 10, '{\"a\":1}', 20),"
        " ('m-1', 2, 'publish', 'accepted', '更正', 11, '%q', 21);"
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20000)"
        " INSERT INTO items (item_id, version, action, state, doc, received_at)"
        " SELECT 'bulk-' || i, 1, 'publish', 'accepted', printf('%%.100c', 'y'), i FROM n;"
        "DELETE FROM schema_migrations WHERE version = 5; PRAGMA user_version = 4;",
        big);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_free(sql);
    sqlite3_close(db);

    /* reopened with a progress hook that wants word every millisecond: the migration copies
     * 20000 rows, long enough to be heard of */
    char err[512];
    int calls = 0;
    struct hd_store_opts o = {.path = f->path,
                              .commit_interval_ms = 1,
                              .commit_max_ops = 1000,
                              .sync_full = 1,
                              .progress = count_progress,
                              .progress_arg = &calls,
                              .progress_ms = 1};
    assert_int_equal(hd_store_open(f->base, &o, &f->st, err, sizeof(err)), 0);
    assert_true(calls > 0);
    assert_int_equal(count(f, "PRAGMA user_version"), 5);
    assert_int_equal(count(f, "SELECT COUNT(*) FROM schema_migrations"), 5);
    assert_int_equal(count(f, "SELECT COUNT(*) FROM sqlite_schema WHERE name = 'items' AND"
                              " sql LIKE '%WITHOUT ROWID%'"),
                     0);
    assert_int_equal(count(f, "SELECT COUNT(*) FROM sqlite_schema WHERE type = 'index' AND"
                              " tbl_name = 'items' AND name IN ('items_received',"
                              " 'items_approved')"),
                     2);
    assert_int_equal(count(f, "SELECT COUNT(*) FROM items"), 20002);
    assert_int_equal(count(f, "SELECT length(doc) FROM items WHERE item_id = 'm-1' AND"
                              " version = 2"),
                     3000);
    assert_int_equal(count(f, "SELECT received_at FROM items WHERE item_id = 'm-1' AND"
                              " version = 1 AND title = '标题' AND doc = '{\"a\":1}'"),
                     20);
    /* (item_id, version) is still the key */
    assert_int_equal(sqlite3_exec(hd_store_db(f->st),
                                  "INSERT INTO items (item_id, version, action, state, doc,"
                                  " received_at) VALUES ('m-1', 1, 'publish', 'x', '{}', 1)",
                                  NULL, NULL, NULL) &
                         0xff,
                     SQLITE_CONSTRAINT);
}

static void test_newer_schema_refused(void **state)
{
    struct fixture *f = *state;
    hd_store_close(f->st);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 999", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    char err[512];
    struct hd_store_opts o = {.path = f->path, .commit_interval_ms = 1, .sync_full = 1};
    assert_int_not_equal(hd_store_open(f->base, &o, &f->st, err, sizeof(err)), 0);
    assert_non_null(strstr(err, "newer than this heraldd"));
    /* put it back (to the latest migration applied) so teardown can close a store */
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    sqlite3_stmt *q;
    assert_int_equal(
        sqlite3_prepare_v2(db, "SELECT MAX(version) FROM schema_migrations", -1, &q, NULL),
        SQLITE_OK);
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    char pragma[64];
    snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %d", sqlite3_column_int(q, 0));
    sqlite3_finalize(q);
    sqlite3_exec(db, pragma, NULL, NULL, NULL);
    sqlite3_close(db);
    assert_int_equal(open_store(f), 0);
}

static void test_corrupt_refused(void **state)
{
    struct fixture *f = *state;
    char path[160], err[512];
    snprintf(path, sizeof(path), "%s/garbage.db", f->dir);
    FILE *g = fopen(path, "w");
    for (int i = 0; i < 4096; i++)
        fputc(i * 7 % 251, g);
    fclose(g);
    struct hd_store *st = NULL;
    struct hd_store_opts o = {.path = path, .commit_interval_ms = 1, .sync_full = 1};
    assert_int_not_equal(hd_store_open(f->base, &o, &st, err, sizeof(err)), 0);
    assert_null(st);
    assert_non_null(strstr(err, "garbage.db"));
}

/* ---- batches and durability -------------------------------------------------------------- */

struct durable {
    int calls, err, during_call, batch_open_at_call;
    struct hd_store *st;
};

static void on_durable(void *arg, int err)
{
    struct durable *d = arg;
    d->calls++;
    d->err = err;
    d->batch_open_at_call = hd_store_in_batch(d->st);
}

static void test_group_commit(void **state)
{
    struct fixture *f = *state;
    struct durable d = {.st = f->st};
    uint64_t c0 = hd_store_commits(f->st);
    for (int i = 0; i < 50; i++) {
        char id[32];
        snprintf(id, sizeof(id), "g-%d", i);
        struct hd_delivery *x = new_delivery(id, 1, "", 0);
        assert_int_equal(hd_delivery_create(f->st, x), 0);
        hd_delivery_free(x);
    }
    hd_store_when_durable(f->st, on_durable, &d);
    assert_int_equal(d.calls, 0); /* never inside the call */
    /* another process does not see the batch until it commits */
    sqlite3 *r;
    char err[256];
    assert_int_equal(hd_store_open_reader(f->path, &r, err, sizeof(err)), 0);
    sqlite3_stmt *q;
    sqlite3_prepare_v2(r, "SELECT COUNT(*) FROM deliveries", -1, &q, NULL);
    sqlite3_step(q);
    assert_int_equal(sqlite3_column_int(q, 0), 0);
    sqlite3_reset(q);
    run_until_idle(f);
    assert_int_equal(d.calls, 1);
    assert_int_equal(d.err, 0);
    assert_false(d.batch_open_at_call);
    assert_int_equal(hd_store_commits(f->st), c0 + 1); /* one commit carried all 50 */
    sqlite3_step(q);
    assert_int_equal(sqlite3_column_int(q, 0), 50);
    sqlite3_finalize(q);
    sqlite3_close(r);
    /* each creation wrote its first status event */
    assert_int_equal(count(f, "SELECT COUNT(*) FROM outbox"), 50);
    /* waiting with no batch open still calls back later, not inside */
    struct durable d2 = {.st = f->st};
    hd_store_when_durable(f->st, on_durable, &d2);
    assert_int_equal(d2.calls, 0);
    run_until_idle(f);
    assert_int_equal(d2.calls, 1);
}

/* synchronous=full: COMMIT writes the WAL; what waits runs only after the syncer's fdatasync,
 * and a waiter that comes between the two waits for that sync too. flush syncs on the spot. */
static void test_durable_after_sync(void **state)
{
    struct fixture *f = *state;
    struct durable d = {.st = f->st}, d2 = {.st = f->st}, d3 = {.st = f->st};
    struct hd_delivery *x = new_delivery("s-1", 1, "", 0);
    assert_int_equal(hd_delivery_create(f->st, x), 0);
    hd_store_when_durable(f->st, on_durable, &d);
    uint64_t c0 = hd_store_commits(f->st);
    while (hd_store_commits(f->st) == c0)
        event_base_loop(f->base, EVLOOP_ONCE);
    /* committed in this turn; the syncer's word can only come in a later one */
    assert_int_equal(d.calls, 0);
    assert_true(hd_store_busy(f->st));
    hd_store_when_durable(f->st, on_durable, &d2);
    assert_int_equal(d2.calls, 0);
    run_until_idle(f);
    assert_int_equal(d.calls, 1);
    assert_int_equal(d.err, 0);
    assert_int_equal(d2.calls, 1);
    /* flush: commit and sync now, waiters run inside */
    hd_delivery_transition(f->st, x, HD_D_SENDING, NULL, NULL);
    hd_store_when_durable(f->st, on_durable, &d3);
    assert_int_equal(hd_store_flush(f->st), 0);
    assert_int_equal(d3.calls, 1);
    assert_false(hd_store_busy(f->st));
    hd_delivery_free(x);
}

static void count_row(void *arg, int64_t id, const char *key, const char *payload)
{
    (*(int *)arg)++;
}

/* Tickets and the outbox's bound follow the disk, not COMMIT: a change's ticket is durable, and
 * its status event readable by the outbox, only once its commit is synced. */
static void test_tickets_and_outbox_follow_the_sync(void **state)
{
    struct fixture *f = *state;
    struct hd_delivery *x = new_delivery("tk-1", 1, "", 0);
    assert_int_equal(hd_delivery_create(f->st, x), 0); /* writes a status event */
    uint64_t t = hd_store_ticket(f->st);
    assert_true(hd_store_durable_ticket(f->st) < t);
    int rows = 0;
    hd_store_outbox_after(f->st, 0, 100, count_row, &rows);
    assert_int_equal(rows, 0); /* the open batch's row is not for the outbox */
    uint64_t c0 = hd_store_commits(f->st);
    while (hd_store_commits(f->st) == c0)
        event_base_loop(f->base, EVLOOP_ONCE);
    /* committed, not yet synced: still neither */
    assert_true(hd_store_durable_ticket(f->st) < t);
    hd_store_outbox_after(f->st, 0, 100, count_row, &rows);
    assert_int_equal(rows, 0);
    run_until_idle(f);
    assert_true(hd_store_durable_ticket(f->st) >= t);
    hd_store_outbox_after(f->st, 0, 100, count_row, &rows);
    assert_int_equal(rows, 1);
    hd_delivery_free(x);
}

/* The database reached through a symbolic link: SQLite keeps the WAL next to the real file,
 * and that is the file the syncer syncs. */
static void test_store_behind_a_symlink(void **state)
{
    struct fixture *f = *state;
    char real[300], path[320], file_link[320], err[256];
    snprintf(real, sizeof(real), "%s/real", f->dir);
    assert_int_equal(mkdir(real, 0700), 0);
    snprintf(path, sizeof(path), "%s/h.db", real);
    FILE *fp = fopen(path, "w"); /* an empty file is a new database to SQLite */
    assert_non_null(fp);
    fclose(fp);
    snprintf(file_link, sizeof(file_link), "%s/h-link.db", f->dir);
    assert_int_equal(symlink(path, file_link), 0);
    struct hd_store_opts o = {.path = file_link, .commit_interval_ms = 1, .sync_full = 1};
    struct hd_store *st = NULL;
    assert_int_equal(hd_store_open(f->base, &o, &st, err, sizeof(err)), 0);
    struct hd_delivery *x = new_delivery("sl-1", 1, "", 0);
    assert_int_equal(hd_delivery_create(st, x), 0);
    assert_int_equal(hd_store_flush(st), 0); /* committed and synced */
    hd_delivery_free(x);
    hd_store_close(st);
}

static void test_transitions_and_events(void **state)
{
    struct fixture *f = *state;
    struct hd_delivery *d = new_delivery("t-1", 1, "", 0);
    assert_int_equal(hd_delivery_create(f->st, d), 0);
    struct hd_delivery *dup = new_delivery("t-1", 1, "", 0);
    assert_int_equal(hd_delivery_create(f->st, dup), HD_EEXIST);
    hd_delivery_free(dup);
    assert_int_equal(hd_delivery_transition(f->st, d, HD_D_SENDING, NULL, NULL), 0);
    assert_int_equal(hd_delivery_transition(f->st, d, HD_D_DELIVERED, "ok", NULL), 0);
    /* refused: not in the table; nothing written */
    int64_t before = count(f, "SELECT COUNT(*) FROM outbox");
    assert_int_equal(hd_delivery_transition(f->st, d, HD_D_PENDING, NULL, NULL), HD_ESTATE);
    assert_int_equal(count(f, "SELECT COUNT(*) FROM outbox"), before);
    struct hd_delivery *back = NULL;
    assert_int_equal(hd_store_delivery_get(f->st, d->id, &back), 0);
    assert_int_equal(back->state, HD_D_DELIVERED);
    assert_int_equal(back->seq, 3);
    assert_true(back->delivered_at > 0);
    hd_delivery_free(back);
    /* the events carry seq 1..3 in order, keyed item:instance */
    sqlite3_stmt *q = hd_store_stmt(f->st, "SELECT key, payload FROM outbox ORDER BY id");
    int seq = 0;
    while (sqlite3_step(q) == SQLITE_ROW) {
        assert_string_equal((const char *)sqlite3_column_text(q, 0), "t-1:webhook:ops");
        char want[32];
        snprintf(want, sizeof(want), "\"seq\":%d", ++seq);
        assert_non_null(strstr((const char *)sqlite3_column_text(q, 1), want));
    }
    sqlite3_reset(q);
    assert_int_equal(seq, 3);
    hd_delivery_free(d);
}

static void test_queue_order_and_exclusions(void **state)
{
    struct fixture *f = *state;
    const char *items[] = {"q-1", "q-2", "q-3", "q-4"};
    int prio[] = {0, 1, 0, 1};
    const char *targets[] = {"s1", "s2", "s2", "s1"};
    for (int i = 0; i < 4; i++) {
        struct hd_delivery *d = new_delivery(items[i], 1, targets[i], prio[i]);
        assert_int_equal(hd_delivery_create(f->st, d), 0);
        hd_delivery_free(d);
    }
    int64_t ids[10];
    char name[600];
    assert_int_equal(hd_store_pending(f->st, "webhook:ops", "[]", ids, 10), 4);
    /* urgent first (q-2, q-4), then by age (q-1, q-3) */
    const char *want[] = {"q-2", "q-4", "q-1", "q-3"};
    for (int i = 0; i < 4; i++) {
        struct hd_delivery *d;
        hd_store_delivery_get(f->st, ids[i], &d);
        assert_string_equal(d->item_id, want[i]);
        hd_delivery_free(d);
    }
    /* a blocked target's rows are skipped */
    assert_int_equal(hd_store_pending(f->st, "webhook:ops", "[\"s1\"]", ids, 10), 2);
    /* a newer version waits while an older one of its slot is in flight */
    struct hd_delivery *old = NULL, *newer = new_delivery("q-1", 2, "s1", 0);
    hd_store_delivery_find(f->st, "q-1", 1, "webhook:ops", "s1", &old);
    assert_int_equal(hd_delivery_create(f->st, newer), 0);
    assert_int_equal(hd_delivery_transition(f->st, old, HD_D_SENDING, NULL, NULL), 0);
    int n = hd_store_pending(f->st, "webhook:ops", "[]", ids, 10);
    for (int i = 0; i < n; i++)
        assert_int_not_equal(ids[i], newer->id);
    assert_true(hd_store_slot_busy(f->st, newer));
    assert_int_equal(hd_delivery_transition(f->st, old, HD_D_DELIVERED, NULL, NULL), 0);
    assert_false(hd_store_slot_busy(f->st, newer));
    /* the live version of the slot is what an update replaces */
    struct hd_delivery *live = NULL;
    assert_int_equal(hd_store_slot_live(f->st, newer, &live), 0);
    assert_int_equal(live->version, 1);
    hd_delivery_free(live);
    (void)name;
    hd_delivery_free(old);
    hd_delivery_free(newer);
}

static void test_timers(void **state)
{
    struct fixture *f = *state;
    struct hd_delivery *a = new_delivery("w-1", 1, "", 0), *b = new_delivery("w-2", 1, "", 0);
    b->expires_at = 7000; /* fixed at creation: the item's schedule.expires_at */
    assert_int_equal(hd_delivery_create(f->st, a), 0);
    assert_int_equal(hd_delivery_create(f->st, b), 0);
    assert_int_equal(hd_store_wake_next(f->st), 0);
    a->next_at = 5000;
    hd_delivery_transition(f->st, a, HD_D_SENDING, NULL, NULL);
    hd_delivery_transition(f->st, a, HD_D_WAITING_RETRY, "retry", NULL);
    assert_int_equal(hd_store_wake_next(f->st), 5000);
    assert_int_equal(hd_store_expiry_next(f->st), 7000);
    int64_t ids[4];
    assert_int_equal(hd_store_wake_due(f->st, 4999, ids, 4), 0);
    assert_int_equal(hd_store_wake_due(f->st, 5000, ids, 4), 1);
    assert_int_equal(ids[0], a->id);
    assert_int_equal(hd_store_expired_due(f->st, 7000, ids, 4), 1);
    assert_int_equal(ids[0], b->id);
    /* delivered rows do not expire */
    hd_delivery_transition(f->st, b, HD_D_SENDING, NULL, NULL);
    hd_delivery_transition(f->st, b, HD_D_DELIVERED, NULL, NULL);
    assert_int_equal(hd_store_expired_due(f->st, 9000, ids, 4), 0);
    hd_delivery_free(a);
    hd_delivery_free(b);
}

static void test_rejections_and_quotas(void **state)
{
    struct fixture *f = *state;
    struct hd_rejection r = {.topic = "herald.items",
                             .partition = 3,
                             .offset = 42,
                             .key = "k",
                             .key_len = 1,
                             .value = "{bad",
                             .value_len = 4,
                             .reason = "invalid_json",
                             .detail = "x",
                             .rejected_at = 1};
    assert_int_equal(hd_store_rejection_put(f->st, &r), 0);
    int64_t first = r.id;
    assert_true(first > 0);
    /* the same message again (a redelivery) is the same row */
    struct hd_rejection again = r;
    again.id = 0;
    assert_int_equal(hd_store_rejection_put(f->st, &again), 0);
    assert_int_equal(again.id, first);
    assert_int_equal(again.sent, 0);
    assert_int_equal(hd_store_rejection_mark_sent(f->st, first), 0);
    hd_store_rejection_put(f->st, &again);
    assert_int_equal(again.sent, 1);
    int64_t ws = 0, used = 0;
    assert_int_equal(hd_store_quota_get(f->st, "wechat:a", "submit", &ws, &used), HD_ENOTFOUND);
    assert_int_equal(hd_store_quota_put(f->st, "wechat:a", "submit", 1000, 7), 0);
    assert_int_equal(hd_store_quota_get(f->st, "wechat:a", "submit", &ws, &used), 0);
    assert_int_equal(ws, 1000);
    assert_int_equal(used, 7);
}

/* ---- retention ------------------------------------------------------------------------------- */

static int64_t rows_of(struct fixture *f, const char *table, int64_t delivery_id)
{
    /* hd_store_stmt() caches by the text's address: one literal per table */
    const char *sql = strcmp(table, "attempts") == 0
                          ? "SELECT COUNT(*) FROM attempts WHERE delivery_id = ?1"
                          : "SELECT COUNT(*) FROM delivery_events WHERE delivery_id = ?1";
    sqlite3_stmt *st = hd_store_stmt(f->st, sql);
    int64_t n = -1;
    sqlite3_bind_int64(st, 1, delivery_id);
    if (sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    return n;
}

static struct hd_delivery *attempted(struct fixture *f, const char *item, enum hd_dstate to)
{
    struct hd_delivery *d = new_delivery(item, 1, "", 0);
    assert_int_equal(hd_delivery_create(f->st, d), 0);
    assert_int_equal(hd_delivery_transition(f->st, d, HD_D_SENDING, NULL, NULL), 0);
    struct hd_attempt a = {
        .delivery_id = d->id, .kind = "send", .started_at = 1, .outcome = "retry"};
    assert_int_equal(hd_store_attempt_insert(f->st, &a), 0);
    assert_int_equal(hd_delivery_transition(f->st, d, to, NULL, NULL), 0);
    return d;
}

static void set_updated(struct fixture *f, int64_t id, int64_t at)
{
    sqlite3_stmt *st = hd_store_stmt(f->st, "UPDATE deliveries SET updated_at = ?2 WHERE id = ?1");
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, at);
    assert_int_equal(hd_store_step_done(f->st, st, "test"), 0);
}

static void test_retention(void **state)
{
    struct fixture *f = *state;
    int64_t now = hd_now_ms(), day = 86400000;
    /* old and settled; old and still waiting; old and waiting for a person; settled but recent */
    struct hd_delivery *old_done = attempted(f, "r-1", HD_D_DELIVERED);
    struct hd_delivery *old_wait = attempted(f, "r-2", HD_D_WAITING_RETRY);
    struct hd_delivery *old_manual = attempted(f, "r-4", HD_D_DELIVERED);
    assert_int_equal(hd_delivery_transition(f->st, old_manual, HD_D_MANUAL_ACTION, NULL, NULL), 0);
    struct hd_delivery *recent = attempted(f, "r-3", HD_D_FAILED);
    set_updated(f, old_done->id, now - 400 * day);
    set_updated(f, old_wait->id, now - 300 * day);
    set_updated(f, old_manual->id, now - 390 * day);
    struct hd_rejection rj[3] = {
        {.topic = "t", .offset = 1, .reason = "invalid_json", .rejected_at = now - 400 * day},
        {.topic = "t", .offset = 2, .reason = "invalid_json", .rejected_at = now - 400 * day},
        {.topic = "t", .offset = 3, .reason = "invalid_json", .rejected_at = now},
    };
    for (int i = 0; i < 3; i++)
        assert_int_equal(hd_store_rejection_put(f->st, &rj[i]), 0);
    hd_store_rejection_mark_sent(f->st, rj[0].id);
    hd_store_rejection_mark_sent(f->st, rj[2].id); /* rj[1]: never published, kept */
    int64_t events = rows_of(f, "delivery_events", old_done->id);
    assert_int_equal(events, 3);

    /* a year: one delivery per step; dead letters once the deliveries are caught up */
    struct hd_prune_cursor c = {0, 0};
    int64_t deleted = 0;
    assert_int_equal(hd_store_prune_step(f->st, now - 365 * day, 1, &c, &deleted), 1);
    assert_int_equal(deleted, 1 + events); /* its attempt and its history */
    assert_int_equal(rows_of(f, "attempts", old_done->id), 0);
    assert_int_equal(rows_of(f, "delivery_events", old_done->id), 0);
    assert_int_equal(count(f, "SELECT COUNT(*) FROM rejections"), 3);
    /* the one waiting for a person keeps what explains it */
    assert_int_equal(hd_store_prune_step(f->st, now - 365 * day, 1, &c, &deleted), 1);
    assert_int_equal(deleted, 0);
    assert_int_equal(rows_of(f, "attempts", old_manual->id), 1);
    assert_int_equal(hd_store_prune_step(f->st, now - 365 * day, 1, &c, &deleted), 0);
    assert_int_equal(deleted, 1); /* caught up: the published old dead letter */
    assert_int_equal(count(f, "SELECT COUNT(*) FROM rejections"), 2);
    /* 200 days: the waiting one is looked at and kept, the recent one is not reached */
    assert_int_equal(hd_store_prune_step(f->st, now - 200 * day, 5, &c, &deleted), 1);
    assert_int_equal(deleted, 0);
    assert_int_equal(rows_of(f, "attempts", old_wait->id), 1);
    assert_int_equal(rows_of(f, "delivery_events", old_wait->id), 3);
    assert_int_equal(rows_of(f, "attempts", recent->id), 1);
    /* the waiting one settles now: a later pass reaches it again, with the recent one */
    assert_int_equal(hd_delivery_transition(f->st, old_wait, HD_D_PENDING, NULL, NULL), 0);
    assert_int_equal(hd_delivery_transition(f->st, old_wait, HD_D_CANCELLED, NULL, NULL), 0);
    assert_int_equal(hd_store_prune_step(f->st, hd_now_ms() + 1, 5, &c, &deleted), 2);
    assert_int_equal(rows_of(f, "attempts", old_wait->id), 0);
    assert_int_equal(rows_of(f, "delivery_events", old_wait->id), 0);
    assert_int_equal(rows_of(f, "delivery_events", recent->id), 0);
    /* what stays: the deliveries themselves and the unpublished dead letter */
    assert_int_equal(count(f, "SELECT COUNT(*) FROM deliveries"), 4);
    assert_int_equal(rows_of(f, "delivery_events", old_manual->id), 4);
    assert_int_equal(count(f, "SELECT COUNT(*) FROM rejections"), 1);
    assert_int_equal(count(f, "SELECT COUNT(*) FROM rejections WHERE sent = 0"), 1);
    run_until_idle(f);
    hd_delivery_free(old_done);
    hd_delivery_free(old_wait);
    hd_delivery_free(recent);
    hd_delivery_free(old_manual);
}

static void test_status_event_is_valid_json(void **state)
{
    struct fixture *f = *state;
    struct hd_delivery *d = new_delivery("esc-1", 1, "", 0);
    assert_int_equal(hd_delivery_create(f->st, d), 0);
    assert_int_equal(hd_delivery_transition(f->st, d, HD_D_SENDING, NULL, NULL), 0);
    /* a platform's answer can hold quotes, backslashes, control characters, broken UTF-8 */
    assert_int_equal(hd_delivery_transition(f->st, d, HD_D_FAILED, "http_400",
                                            "HTTP 400: {\"msg\":\"a\\b\"}\n\t\x01 \xff\xfe 越秀 😀"),
                     0);
    sqlite3_stmt *q = hd_store_stmt(f->st, "SELECT payload FROM outbox ORDER BY id DESC LIMIT 1");
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    json_error_t je;
    json_t *ev = json_loads((const char *)sqlite3_column_text(q, 0), 0, &je);
    sqlite3_reset(q);
    if (!ev)
        fail_msg("not JSON: %s", je.text);
    assert_string_equal(json_string_value(json_object_get(ev, "detail")),
                        "HTTP 400: {\"msg\":\"a\\b\"}\n\t\x01 \xEF\xBF\xBD\xEF\xBF\xBD 越秀 😀");
    assert_string_equal(json_string_value(json_object_get(ev, "state")), "failed");
    assert_string_equal(json_string_value(json_object_get(ev, "previous")), "sending");
    assert_int_equal(json_integer_value(json_object_get(ev, "seq")), 3);
    assert_string_equal(json_string_value(json_object_get(ev, "schema")), "herald.status/v1");
    json_decref(ev);
    hd_delivery_free(d);
}

static void test_outbox_ids_never_reused(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(hd_store_outbox_insert(f->st, "k", "{}"), 0);
    assert_int_equal(hd_store_outbox_insert(f->st, "k", "{}"), 0);
    int64_t last = count(f, "SELECT MAX(id) FROM outbox");
    assert_int_equal(hd_store_outbox_delete(f->st, last - 1), 0);
    assert_int_equal(hd_store_outbox_delete(f->st, last), 0);
    assert_int_equal(hd_store_outbox_count(f->st), 0);
    /* the outbox publishes rows above the last id it handed over: an emptied table must not
     * hand out the same ids again (found by the broker-outage test) */
    assert_int_equal(hd_store_outbox_insert(f->st, "k", "{}"), 0);
    assert_true(count(f, "SELECT MAX(id) FROM outbox") > last);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_schema, setup, teardown),
        cmocka_unit_test_setup_teardown(test_items_become_a_rowid_table, setup, teardown),
        cmocka_unit_test_setup_teardown(test_newer_schema_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_corrupt_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_group_commit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_durable_after_sync, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tickets_and_outbox_follow_the_sync, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_behind_a_symlink, setup, teardown),
        cmocka_unit_test_setup_teardown(test_transitions_and_events, setup, teardown),
        cmocka_unit_test_setup_teardown(test_queue_order_and_exclusions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rejections_and_quotas, setup, teardown),
        cmocka_unit_test_setup_teardown(test_outbox_ids_never_reused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_status_event_is_valid_json, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retention, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
