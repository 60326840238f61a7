/*
 * The durable store: one SQLite database in WAL mode, written only from the event loop.
 *
 * Writes go into an open transaction (a "batch") that is committed at most commit_interval after
 * its first change, or earlier when it holds commit_max_ops changes: one fsync carries many
 * messages and outcomes (group commit). Whatever must wait until a change is on disk (storing a
 * Kafka offset, publishing a status event, an adapter's persist()) registers with
 * hd_store_when_durable(). Reads on the loop see the batch's own uncommitted changes, so the
 * loop's decisions and the store never disagree. WAL checkpoints run on a background thread with
 * their own connection; admin queries and reports use read-only connections on other threads.
 */
#ifndef HD_STORE_H
#define HD_STORE_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>
#include <sqlite3.h>

#include "delivery.h"

struct hd_store;

/* Called every few seconds while opening takes long (the integrity check and migrations of a
 * big file): what the store is doing, for systemd's start timeout and status line. */
typedef void hd_store_progress_cb(void *arg, const char *what);

struct hd_store_opts {
    const char *path;
    int64_t commit_interval_ms;
    int64_t commit_max_ops;
    int sync_full; /* synchronous=FULL (1) or NORMAL (0) */
    const char *status_topic;
    hd_store_progress_cb *progress; /* optional */
    void *progress_arg;
    int64_t progress_ms; /* how often at most; 0: every 5 s */
};

typedef void hd_durable_cb(void *arg, int err);
/* Called (on the loop) when a commit fails: the in-memory state is ahead of the store. */
typedef void hd_store_fail_cb(void *arg, int err, const char *msg);

int hd_store_open(struct event_base *base, const struct hd_store_opts *o, struct hd_store **out,
                  char *err, size_t errlen);
void hd_store_close(struct hd_store *s); /* commits what is pending; NULL-safe */
void hd_store_on_failure(struct hd_store *s, hd_store_fail_cb *cb, void *arg);
/* Called on the loop when committed changes have reached the disk (a batch may be open then:
 * the outbox reads only up to hd_store_outbox_durable()). */
typedef void hd_store_commit_cb(void *arg);
void hd_store_on_commit(struct hd_store *s, hd_store_commit_cb *cb, void *arg);

/* Make sure a write transaction is open (every write op calls it). */
int hd_store_write(struct hd_store *s);
/* cb(arg, 0) once everything written so far is on disk; (arg, err) if that commit failed. Runs
 * from the loop, never inside this call. */
void hd_store_when_durable(struct hd_store *s, hd_durable_cb *cb, void *arg);
/* Commit and sync now (before storing offsets on revoke, and at shutdown): what waited for
 * durability has run when it returns. 0, or the store's failure (HD_EIO, HD_EFULL). */
int hd_store_flush(struct hd_store *s);
/* Tickets: the commit a change made now belongs to, and the last one on disk. Something done
 * at ticket t is durable once hd_store_durable_ticket() >= t (0 after a failure: never). */
uint64_t hd_store_ticket(const struct hd_store *s);
uint64_t hd_store_durable_ticket(const struct hd_store *s);
/* The outbox's rows: the highest id written (store_ops.c notes it), and the highest on disk. */
void hd_store_outbox_written(struct hd_store *s, int64_t id);
int64_t hd_store_outbox_durable(const struct hd_store *s);
int hd_store_in_batch(const struct hd_store *s);
/* A batch is open, or waiters wait for a commit, a sync or the next loop turn. */
int hd_store_busy(const struct hd_store *s);
uint64_t hd_store_commits(const struct hd_store *s);
double hd_store_last_commit_s(const struct hd_store *s);
int64_t hd_store_batch_ops(const struct hd_store *s);
const char *hd_store_path(const struct hd_store *s);
sqlite3 *hd_store_db(struct hd_store *s);
const char *hd_store_status_topic(const struct hd_store *s);
#define HD_STORE_COMMIT_BUCKETS 10
extern const double hd_store_commit_bounds[HD_STORE_COMMIT_BUCKETS];
struct hd_store_stats {
    uint64_t commits;
    uint64_t commit_buckets[HD_STORE_COMMIT_BUCKETS]; /* not cumulative */
    double commit_seconds_sum;
    int64_t batch_ops_max;
};
void hd_store_stats(const struct hd_store *s, struct hd_store_stats *out);
/* Retention (store.retention). One step looks at up to `limit` deliveries from the cursor on, in
 * (updated_at, id) order, among those last changed before cutoff_ms; for each settled one (a
 * terminal state other than manual_action) it deletes its attempts and state history. Once the
 * deliveries are caught up, dead letters published before cutoff_ms go too (up to `limit`).
 * Items, deliveries and the audit log stay. A delivery that changes again gets a newer
 * updated_at and is looked at again once that is old enough. Returns how many deliveries it
 * looked at (fewer than `limit`: caught up) or -1 (the cursor stays); *deleted counts rows. */
struct hd_prune_cursor {
    int64_t at, id;
};
int hd_store_prune_step(struct hd_store *s, int64_t cutoff_ms, int limit, struct hd_prune_cursor *c,
                        int64_t *deleted);
/* Deliveries of an instance in one state (index range count). */
int64_t hd_store_count_state(struct hd_store *s, const char *instance, enum hd_dstate state);

/* Count one change in the current batch (for commit_max_ops). */
void hd_store_count_op(struct hd_store *s);

/* A prepared statement of the store, by SQL text (prepared once, cached, reset for reuse). */
sqlite3_stmt *hd_store_stmt(struct hd_store *s, const char *sql);
int hd_store_step_done(struct hd_store *s, sqlite3_stmt *st, const char *what);

/* Open a read-only connection (for another thread). */
int hd_store_open_reader(const char *path, sqlite3 **out, char *err, size_t errlen);

/* ---- items --------------------------------------------------------------------------------- */

struct hd_item_head {
    int exists;
    int64_t max_version;       /* highest version seen (publish or retract) */
    int64_t retracted_version; /* 0 when never retracted */
};

struct hd_item_doc;
struct hd_item_src {
    const char *topic;
    int32_t partition;
    int64_t offset;
};

int hd_store_item_head(struct hd_store *s, const char *id, struct hd_item_head *h);
int hd_store_item_head_put(struct hd_store *s, const char *id, const struct hd_item_head *h);
/* HD_EEXIST when (id, version) is already stored (a re-delivered message). */
int hd_store_item_insert(struct hd_store *s, const struct hd_item_doc *doc, const char *state,
                         const char *routes, const struct hd_item_src *src);
/* The stored document of (id, version): malloc'd JSON text, or NULL. */
char *hd_store_item_doc(struct hd_store *s, const char *id, int64_t version);

/* The id of the document the item (id, version) interprets, or NULL (malloc'd). */
char *hd_store_item_interprets(struct hd_store *s, const char *id, int64_t version);

/* ---- deliveries ---------------------------------------------------------------------------- */

/* Insert d (id set on return). HD_EEXIST when (item, version, instance, target) exists. */
int hd_store_delivery_insert(struct hd_store *s, struct hd_delivery *d);
int hd_store_delivery_update(struct hd_store *s, const struct hd_delivery *d);
/* Load by row id into a new struct (caller frees). HD_ENOTFOUND. */
int hd_store_delivery_get(struct hd_store *s, int64_t id, struct hd_delivery **out);
int hd_store_delivery_find(struct hd_store *s, const char *item, int64_t version,
                           const char *instance, const char *target, struct hd_delivery **out);

typedef int hd_delivery_iter_cb(void *arg, struct hd_delivery *d); /* non-zero stops */
/* Every delivery of an item (all versions), oldest version first. d is freed after cb. */
int hd_store_item_deliveries(struct hd_store *s, const char *item, hd_delivery_iter_cb *cb,
                             void *arg);
/* Row ids of deliveries in `state` (of one instance, or all when instance is NULL), oldest
 * first, up to limit. */
int hd_store_ids_in_state(struct hd_store *s, const char *instance, enum hd_dstate state,
                          int64_t *ids, int limit);

/* Dispatch candidates of an instance: pending rows by priority then age, skipping targets listed
 * in blocked_json (a JSON array of strings) and slots busy with another version in flight. */
int hd_store_pending(struct hd_store *s, const char *instance, const char *blocked_json,
                     int64_t *ids, int limit);
/* retracting / reconciling rows due (next_at == 0) of an instance */
int hd_store_due_ops(struct hd_store *s, const char *instance, enum hd_dstate state, int64_t *ids,
                     int limit);
/* Rows whose next_at has come (any instance), and the earliest next_at in the future. */
int hd_store_wake_due(struct hd_store *s, int64_t now, int64_t *ids, int limit);
int64_t hd_store_wake_next(struct hd_store *s);
/* Undelivered non-terminal rows past expires_at, and the earliest future expiry. */
int hd_store_expired_due(struct hd_store *s, int64_t now, int64_t *ids, int limit);
int64_t hd_store_expiry_next(struct hd_store *s);
/* Held rows waiting for (hold_item, hold_instance). */
int hd_store_held_by(struct hd_store *s, const char *hold_item, const char *hold_instance,
                     int64_t *ids, int limit);
/* Is another version of this slot in flight (sending/publishing/reconciling/retracting)? */
int hd_store_slot_busy(struct hd_store *s, const struct hd_delivery *d);
/* The latest delivered version of the slot below `version` (what is live now), or NULL. */
int hd_store_slot_live(struct hd_store *s, const struct hd_delivery *d, struct hd_delivery **out);
/* The delivery of the same item/version on another instance (target ""). */
int hd_store_dependency(struct hd_store *s, const char *item, int64_t version, const char *instance,
                        struct hd_delivery **out);
/* Has (item, any version) been delivered on instance and target? 1 yes, 0 no; *known = item
 * exists; *routed_here = it has deliveries on that instance and target. */
int hd_store_item_delivered_on(struct hd_store *s, const char *item, const char *instance,
                               const char *target, int *known, int *routed_here);
/* Delivery in `state` of an instance whose remote_id is ref. */
int hd_store_delivery_by_remote(struct hd_store *s, const char *instance, const char *ref,
                                struct hd_delivery **out);
/* Counts per (instance, state) for metrics; cb per row. */
typedef void hd_count_cb(void *arg, const char *instance, const char *state, int64_t n);
int hd_store_counts(struct hd_store *s, hd_count_cb *cb, void *arg);

/* ---- attempts ----------------------------------------------------------------------------- */

struct hd_attempt {
    int64_t delivery_id;
    const char *kind; /* send | retract | poll | reconcile */
    int64_t started_at;
    int64_t duration_ms;
    const char *outcome;
    int http_status;
    const char *platform_code;
    const char *reason;
    const char *message;
    const char *remote_id;
    const char *remote_url;
};
int hd_store_attempt_insert(struct hd_store *s, const struct hd_attempt *a);

/* ---- outbox and dead letters ------------------------------------------------------------- */

int hd_store_outbox_insert(struct hd_store *s, const char *key, const char *payload);
/* One row of a delivery's state history (the item's timeline). previous NULL: created. */
int hd_store_history_insert(struct hd_store *s, const struct hd_delivery *d, const char *previous);
typedef void hd_outbox_row_cb(void *arg, int64_t id, const char *key, const char *payload);
int hd_store_outbox_after(struct hd_store *s, int64_t after_id, int limit, hd_outbox_row_cb *cb,
                          void *arg);
int hd_store_outbox_delete(struct hd_store *s, int64_t id);
int64_t hd_store_outbox_count(struct hd_store *s);

struct hd_rejection {
    int64_t id;
    const char *topic;
    int32_t partition;
    int64_t offset;
    const void *key;
    size_t key_len;
    const void *value;
    size_t value_len;
    const char *reason;
    const char *detail;
    int64_t rejected_at;
    int sent; /* already on the dead-letter topic */
};
/* Insert (or find, for a re-delivered message) the rejection of topic/partition/offset. */
int hd_store_rejection_put(struct hd_store *s, struct hd_rejection *r);
typedef void hd_rejection_cb(void *arg, const struct hd_rejection *r);
int hd_store_rejections_unsent(struct hd_store *s, int limit, hd_rejection_cb *cb, void *arg);
int hd_store_rejection_mark_sent(struct hd_store *s, int64_t id);
int hd_store_rejection_get(struct hd_store *s, int64_t id, hd_rejection_cb *cb, void *arg);
int hd_store_rejection_replayed(struct hd_store *s, int64_t id);

/* ---- instance state, audit ------------------------------------------------------------------ */

struct hd_instance_state {
    int paused;
    int parked;
    char reason[256];
};
int hd_store_instance_get(struct hd_store *s, const char *instance, struct hd_instance_state *st);
int hd_store_instance_put(struct hd_store *s, const char *instance,
                          const struct hd_instance_state *st);
int hd_store_quota_get(struct hd_store *s, const char *instance, const char *name,
                       int64_t *window_start, int64_t *used);
int hd_store_quota_put(struct hd_store *s, const char *instance, const char *name,
                       int64_t window_start, int64_t used);
int hd_store_audit(struct hd_store *s, const char *who, const char *action, const char *item_id,
                   int64_t delivery_id, const char *instance, const char *reason);

#endif
