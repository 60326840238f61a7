/*
 * Preparing the store's file before use (store_schema.h): write-ahead logging, an integrity
 * check, the connection's pragmas and the numbered schema migrations, with word to the caller
 * while that takes long.
 */
#include <stdio.h>
#include <string.h>

#include "common.h"
#include "store_schema.h"

/* ---- migrations ----------------------------------------------------------------------------- */

/* Numbered schema migrations: entry i brings the schema from version i to i + 1. Never edit an
 * entry once released; append a new one. */
static const char *const migrations[] = {
    /* 1: the initial schema */
    "CREATE TABLE items ("
    " item_id TEXT NOT NULL, version INTEGER NOT NULL, action TEXT NOT NULL, state TEXT NOT NULL,"
    " category TEXT, column_path TEXT, publisher_code TEXT, publisher_name TEXT,"
    " publisher_kind TEXT, title TEXT, priority INTEGER NOT NULL DEFAULT 0,"
    " approved_at INTEGER, not_before INTEGER, expires_at INTEGER, interprets TEXT, routes TEXT,"
    " doc TEXT NOT NULL, src_topic TEXT, src_partition INTEGER, src_offset INTEGER,"
    " received_at INTEGER NOT NULL, PRIMARY KEY (item_id, version)) WITHOUT ROWID;"
    "CREATE INDEX items_received ON items(received_at);"
    "CREATE TABLE item_heads (item_id TEXT PRIMARY KEY, max_version INTEGER NOT NULL,"
    " retracted_version INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;"
    "CREATE TABLE deliveries ("
    " id INTEGER PRIMARY KEY, item_id TEXT NOT NULL, version INTEGER NOT NULL,"
    " instance TEXT NOT NULL, target TEXT NOT NULL DEFAULT '', state TEXT NOT NULL,"
    " reason TEXT, detail TEXT, priority INTEGER NOT NULL DEFAULT 0,"
    " attempts INTEGER NOT NULL DEFAULT 0, created_at INTEGER NOT NULL,"
    " updated_at INTEGER NOT NULL, next_at INTEGER, not_before INTEGER, expires_at INTEGER,"
    " approved_at INTEGER, hold_kind TEXT, hold_item TEXT, hold_instance TEXT,"
    " hold_until INTEGER, remote_id TEXT, remote_url TEXT, adapter_state TEXT,"
    " delivered_at INTEGER, seq INTEGER NOT NULL DEFAULT 0,"
    " UNIQUE (item_id, version, instance, target));"
    "CREATE INDEX deliveries_queue ON deliveries(instance, state, priority DESC, id);"
    "CREATE INDEX deliveries_next ON deliveries(next_at) WHERE next_at IS NOT NULL;"
    "CREATE INDEX deliveries_expiry ON deliveries(expires_at) WHERE expires_at IS NOT NULL"
    " AND state IN ('pending','held','waiting_retry','parked');"
    "CREATE INDEX deliveries_hold ON deliveries(hold_item, hold_instance) WHERE state = 'held';"
    "CREATE INDEX deliveries_slot ON deliveries(item_id, instance, target, version);"
    "CREATE INDEX deliveries_remote ON deliveries(instance, remote_id)"
    " WHERE remote_id IS NOT NULL;"
    "CREATE INDEX deliveries_updated ON deliveries(updated_at);"
    "CREATE TABLE attempts (id INTEGER PRIMARY KEY, delivery_id INTEGER NOT NULL,"
    " kind TEXT NOT NULL, started_at INTEGER NOT NULL, duration_ms INTEGER NOT NULL,"
    " outcome TEXT NOT NULL, http_status INTEGER, platform_code TEXT, reason TEXT, message TEXT,"
    " remote_id TEXT, remote_url TEXT);"
    "CREATE INDEX attempts_delivery ON attempts(delivery_id);"
    /* AUTOINCREMENT: ids never come back after the table empties (the outbox publishes rows
     * above the last id it handed to the producer) */
    "CREATE TABLE outbox (id INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT NOT NULL,"
    " payload TEXT NOT NULL);"
    "CREATE TABLE rejections (id INTEGER PRIMARY KEY, topic TEXT NOT NULL,"
    " partition INTEGER NOT NULL, offset INTEGER NOT NULL, msg_key BLOB, value BLOB,"
    " reason TEXT NOT NULL, detail TEXT, rejected_at INTEGER NOT NULL,"
    " sent INTEGER NOT NULL DEFAULT 0, replayed_at INTEGER, UNIQUE (topic, partition, offset));"
    "CREATE INDEX rejections_unsent ON rejections(id) WHERE sent = 0;"
    "CREATE TABLE instances (instance TEXT PRIMARY KEY, paused INTEGER NOT NULL DEFAULT 0,"
    " parked INTEGER NOT NULL DEFAULT 0, reason TEXT, updated_at INTEGER) WITHOUT ROWID;"
    "CREATE TABLE audit (id INTEGER PRIMARY KEY, at INTEGER NOT NULL, who TEXT NOT NULL,"
    " action TEXT NOT NULL, item_id TEXT, delivery_id INTEGER, instance TEXT, reason TEXT);"
    "CREATE INDEX audit_item ON audit(item_id);"
    "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL);",
    /* 2: budgets adapters count ahead of platform quotas */
    "CREATE TABLE quotas (instance TEXT NOT NULL, name TEXT NOT NULL,"
    " window_start INTEGER NOT NULL, used INTEGER NOT NULL, PRIMARY KEY (instance, name))"
    " WITHOUT ROWID;",
    /* 3: what the admin API reads (src/api_query.c): every state change of a delivery kept for
     * the item's timeline (written by triggers, so no code path can forget it; the outbox row
     * of the same change is deleted once Kafka has it), item lists and the disclosure report by
     * approval time, failure views by state */
    "CREATE TABLE delivery_events (id INTEGER PRIMARY KEY, delivery_id INTEGER NOT NULL,"
    " seq INTEGER NOT NULL, at INTEGER NOT NULL, state TEXT NOT NULL, previous TEXT,"
    " reason TEXT, detail TEXT, attempts INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX delivery_events_delivery ON delivery_events(delivery_id);"
    "CREATE TRIGGER deliveries_created AFTER INSERT ON deliveries BEGIN"
    " INSERT INTO delivery_events (delivery_id, seq, at, state, previous, reason, detail,"
    " attempts) VALUES (new.id, new.seq, new.updated_at, new.state, NULL, new.reason,"
    " new.detail, new.attempts); END;"
    "CREATE TRIGGER deliveries_changed AFTER UPDATE OF seq ON deliveries"
    " WHEN new.seq <> old.seq BEGIN"
    " INSERT INTO delivery_events (delivery_id, seq, at, state, previous, reason, detail,"
    " attempts) VALUES (new.id, new.seq, new.updated_at, new.state, old.state, new.reason,"
    " new.detail, new.attempts); END;"
    "CREATE INDEX items_approved ON items(approved_at, item_id);"
    "CREATE INDEX deliveries_state ON deliveries(state, updated_at);",
    /* 4: the state history is written by hd_delivery_transition() with the status event, not by
     * triggers: a trigger program per UPDATE halved the store's write rate */
    "DROP TRIGGER deliveries_created; DROP TRIGGER deliveries_changed;",
    /* 5: items as a rowid table: WITHOUT ROWID suits small rows only, and a document over about
     * 1 KB then took an overflow page of its own (a 1.2 KB item cost 4.7 KB of file and WAL) */
    "CREATE TABLE items_v5 ("
    " item_id TEXT NOT NULL, version INTEGER NOT NULL, action TEXT NOT NULL, state TEXT NOT NULL,"
    " category TEXT, column_path TEXT, publisher_code TEXT, publisher_name TEXT,"
    " publisher_kind TEXT, title TEXT, priority INTEGER NOT NULL DEFAULT 0,"
    " approved_at INTEGER, not_before INTEGER, expires_at INTEGER, interprets TEXT, routes TEXT,"
    " doc TEXT NOT NULL, src_topic TEXT, src_partition INTEGER, src_offset INTEGER,"
    " received_at INTEGER NOT NULL, PRIMARY KEY (item_id, version));"
    "INSERT INTO items_v5 SELECT item_id, version, action, state, category, column_path,"
    " publisher_code, publisher_name, publisher_kind, title, priority, approved_at, not_before,"
    " expires_at, interprets, routes, doc, src_topic, src_partition, src_offset, received_at"
    " FROM items ORDER BY item_id, version;"
    "DROP TABLE items;"
    "ALTER TABLE items_v5 RENAME TO items;"
    "CREATE INDEX items_received ON items(received_at);"
    "CREATE INDEX items_approved ON items(approved_at, item_id);",
};

/* Long work while opening: the caller hears of it every PROGRESS_MS (SQLite calls the handler
 * every PROGRESS_OPS virtual-machine steps; the clock decides whether to pass it on). */
#define PROGRESS_OPS 100000
#define PROGRESS_MS  5000 /* unless hd_store_opts.progress_ms says */

struct open_progress {
    const struct hd_store_opts *o;
    const char *what;
    int64_t last_ms;
};

static int on_open_progress(void *arg)
{
    struct open_progress *p = arg;
    int64_t now = hd_mono_ms();
    if (now - p->last_ms >= (p->o->progress_ms > 0 ? p->o->progress_ms : PROGRESS_MS)) {
        p->last_ms = now;
        p->o->progress(p->o->progress_arg, p->what);
    }
    return 0; /* never interrupt */
}

int hd_store_exec(sqlite3 *db, const char *sql, char *err, size_t errlen)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        snprintf(err, errlen, "%s", msg ? msg : sqlite3_errmsg(db));
        sqlite3_free(msg);
        return HD_EIO;
    }
    return 0;
}

/* PRAGMA journal_mode=WAL, and the mode it answers. */
static int journal_mode_wal(sqlite3 *db, char *mode, size_t len, char *err, size_t errlen)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "PRAGMA journal_mode=WAL", -1, &st, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "%s", sqlite3_errmsg(db));
        return HD_EIO;
    }
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        snprintf(mode, len, "%s", (const char *)sqlite3_column_text(st, 0));
    else
        snprintf(err, errlen, "%s", sqlite3_errmsg(db));
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? 0 : HD_EIO;
}

static int migrate(sqlite3 *db, struct open_progress *prog, char *err, size_t errlen)
{
    sqlite3_stmt *st;
    int version = 0;
    if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "%s", sqlite3_errmsg(db));
        return HD_EIO;
    }
    if (sqlite3_step(st) == SQLITE_ROW)
        version = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    int latest = (int)HD_ARRAY_LEN(migrations);
    if (version > latest) {
        snprintf(err, errlen,
                 "the database has schema version %d, newer than this heraldd knows (%d): "
                 "refusing to run an older heraldd on it",
                 version, latest);
        return HD_EINVAL;
    }
    for (int v = version; v < latest; v++) {
        char sql[256];
        if (hd_store_exec(db, "BEGIN IMMEDIATE", err, errlen) != 0)
            return HD_EIO;
        snprintf(sql, sizeof(sql),
                 "INSERT INTO schema_migrations VALUES (%d, CAST((julianday('now') - "
                 "2440587.5) * 86400000 AS INTEGER)); PRAGMA user_version = %d",
                 v + 1, v + 1);
        if (hd_store_exec(db, migrations[v], err, errlen) != 0 ||
            hd_store_exec(db, sql, err, errlen) != 0) {
            char ignore[64];
            hd_store_exec(db, "ROLLBACK", ignore, sizeof(ignore));
            return HD_EIO;
        }
        /* the COMMIT of a big migration also checkpoints it, and runs no SQL steps the
         * progress handler would see: say so before, when the migration was a long one */
        if (prog && prog->o->progress) {
            int64_t every = prog->o->progress_ms > 0 ? prog->o->progress_ms : PROGRESS_MS;
            if (hd_mono_ms() - prog->last_ms >= every / 5) {
                prog->last_ms = hd_mono_ms();
                prog->o->progress(prog->o->progress_arg,
                                  "committing a migration of the store's schema");
            }
        }
        if (hd_store_exec(db, "COMMIT", err, errlen) != 0)
            return HD_EIO;
        hd_info("store: migrated schema to version %d", v + 1);
    }
    return 0;
}

static int check_integrity(sqlite3 *db, char *err, size_t errlen)
{
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v2(db, "PRAGMA quick_check(5)", -1, &st, NULL);
    if (rc != SQLITE_OK) {
        snprintf(err, errlen, "%s", sqlite3_errmsg(db));
        return HD_EIO;
    }
    int ok = 1;
    char first[200] = "";
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *t = (const char *)sqlite3_column_text(st, 0);
        if (t && strcmp(t, "ok") != 0) {
            if (ok)
                hd_strlcpy(first, t, sizeof(first));
            ok = 0;
        }
    }
    if (rc != SQLITE_DONE) {
        snprintf(err, errlen, "%s", sqlite3_errmsg(db));
        ok = 0;
    } else if (!ok) {
        snprintf(err, errlen, "integrity check failed: %s", first);
    }
    sqlite3_finalize(st);
    return ok ? 0 : HD_EIO;
}

int hd_store_prepare(sqlite3 *db, const struct hd_store_opts *o, char *err, size_t errlen)
{
    char e2[256];
    /* journal_mode first: it is what tells a corrupt or foreign file from a database; and WAL
     * it must be (the pragma answers the mode it could set, without an error) */
    char mode[16] = "";
    if (journal_mode_wal(db, mode, sizeof(mode), e2, sizeof(e2)) != 0) {
        snprintf(err, errlen, "%s is not a usable SQLite database: %s", o->path, e2);
        return HD_EIO;
    }
    if (strcmp(mode, "wal") != 0 &&
        !(strcmp(o->path, ":memory:") == 0 && strcmp(mode, "memory") == 0)) {
        snprintf(err, errlen, "%s: cannot use write-ahead logging (journal mode stays %s)", o->path,
                 mode);
        return HD_EIO;
    }
    struct open_progress prog = {o, "checking the store's integrity", hd_mono_ms()};
    if (o->progress)
        sqlite3_progress_handler(db, PROGRESS_OPS, on_open_progress, &prog);
    int rc = check_integrity(db, e2, sizeof(e2));
    if (rc != 0) {
        snprintf(err, errlen,
                 "%s is corrupt (%s): refusing to start. Restore it from a backup, or move it "
                 "away to start with an empty store (Kafka redelivers what it still retains).",
                 o->path, e2);
    } else if (hd_store_exec(db, "PRAGMA synchronous=NORMAL", e2, sizeof(e2)) != 0 ||
               hd_store_exec(db,
                             "PRAGMA foreign_keys=OFF; PRAGMA temp_store=MEMORY;"
                             " PRAGMA cache_size=-65536",
                             e2, sizeof(e2)) != 0) {
        /* full: NORMAL on this connection, the WAL synced by store.c's syncer thread */
        snprintf(err, errlen, "%s: %s", o->path, e2);
        rc = HD_EIO;
    } else {
        prog.what = "migrating the store's schema";
        if ((rc = migrate(db, &prog, e2, sizeof(e2))) != 0)
            snprintf(err, errlen, "%s: schema migration failed: %s", o->path, e2);
    }
    sqlite3_progress_handler(db, 0, NULL, NULL);
    return rc;
}
