/*
 * The store's connection and group commit (see store.h for the model; store_schema.c prepares
 * the file: WAL mode, integrity, migrations).
 *
 * Batching: the first write of a batch opens BEGIN IMMEDIATE and arms the commit timer; the
 * commit event runs COMMIT, then the callbacks registered with hd_store_when_durable() once the
 * batch is on disk. WAL checkpoints are taken off the loop: the main connection has
 * auto-checkpointing disabled, its WAL hook counts pages, and a checkpointer thread with its own
 * connection runs PASSIVE checkpoints, which never block the writer.
 *
 * Durability off the loop (store.synchronous: full). SQLite's own synchronous=FULL would fsync
 * the WAL inside COMMIT, on the loop. Instead the connection runs synchronous=NORMAL (COMMIT
 * writes the WAL frames and returns) and a syncer thread fdatasyncs the WAL file: a batch is
 * durable once a sync that began after its COMMIT has returned, and only then do its waiters
 * run (offsets stored, outbox published, API actions answered). This is the guarantee FULL gives,
 * one fsync per batch, but the loop goes on reading, sending and committing while the disk
 * works, and one sync covers every batch committed before it began. A power cut loses at most
 * batches nothing was told of: their offsets were not stored, so Kafka hands them over again.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <sys/queue.h>
#include <unistd.h>

#include <event2/event.h>
#include <uthash.h>

#include "common.h"
#include "store.h"
#include "store_schema.h"

struct durable_waiter {
    hd_durable_cb *cb;
    void *arg;
    uint64_t gen;       /* on the unsynced list: durable once this commit is synced */
    int64_t outbox_max; /* the store's marker (cb NULL): outbox rows up to here are durable */
    STAILQ_ENTRY(durable_waiter) link;
};
STAILQ_HEAD(waiter_list, durable_waiter);

struct stmt_entry {
    const char *sql; /* key: the SQL text's address (static strings) */
    sqlite3_stmt *st;
    UT_hash_handle hh;
};

struct hd_store {
    sqlite3 *db;
    char *path;
    char *status_topic;
    struct event_base *base;
    struct event *commit_ev; /* timer: commit the batch */
    struct event *ready_ev;  /* run waiters registered while no batch was open */
    int in_batch;
    int64_t batch_ops;
    int64_t commit_interval_ms;
    int64_t commit_max_ops;
    struct waiter_list batch_waiters; /* wait for the open batch */
    struct waiter_list ready_waiters; /* nothing pending: run on the next loop turn */
    struct stmt_entry *stmts;
    uint64_t commits;
    double last_commit_s;
    uint64_t commit_buckets[HD_STORE_COMMIT_BUCKETS];
    double commit_sum;
    int64_t batch_ops_max;
    hd_store_fail_cb *fail_cb;
    void *fail_arg;
    hd_store_commit_cb *commit_cb;
    void *commit_arg;
    /* checkpointer */
    pthread_t ckpt_thread;
    int ckpt_started;
    pthread_mutex_t ckpt_mu;
    pthread_cond_t ckpt_cv;
    int ckpt_wanted, ckpt_stop;
    /* syncer (see the top of this file) */
    int sync_async;
    uint64_t gen_committed, gen_synced; /* loop side: batches committed, known synced */
    double commit_t0[64];               /* COMMIT start of the latest commits, by gen */
    struct waiter_list unsynced;        /* committed, waiting for the sync */
    pthread_t sy_thread;
    pthread_mutex_t sy_mu;
    pthread_cond_t sy_cv;
    uint64_t sy_want, sy_done; /* under sy_mu */
    int sy_errno, sy_stop;     /* under sy_mu */
    int sy_efd;                /* the syncer -> the loop */
    struct event *sy_ev;
    char *wal_path;
    int wal_fd;
    int broken; /* a commit or sync failed: HD_EIO/HD_EFULL, told to every waiter from then on */
    int64_t outbox_written, outbox_durable; /* highest outbox id written, on disk */
    /* WAL frames written (pages, counted by the WAL hook) */
    int wal_last;
    uint64_t wal_frames;
};

/* ---- failures from other threads ------------------------------------------------------------ */

/* A syncer or checkpointer failure, for the loop (on_synced turns it into a store failure). */
static void report_failure(struct hd_store *s, int e)
{
    pthread_mutex_lock(&s->sy_mu);
    if (!s->sy_errno)
        s->sy_errno = e;
    pthread_mutex_unlock(&s->sy_mu);
    uint64_t one = 1;
    if (write(s->sy_efd, &one, sizeof(one)) < 0) {
        /* an eventfd counter cannot overflow here; on_synced reads sy_errno anyway */
    }
}

/* ---- checkpointer thread -------------------------------------------------------------------- */

static void *ckpt_main(void *arg)
{
    struct hd_store *s = arg;
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(s->path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
        SQLITE_OK) {
        hd_err("store: checkpointer cannot open %s: %s", s->path, sqlite3_errmsg(db));
        sqlite3_close(db);
        return NULL;
    }
    sqlite3_busy_timeout(db, 1000);
    /* NORMAL, not left to the build's default: a checkpoint syncs the WAL before copying it and
     * the database before the WAL may be rewound, so that nothing only in the WAL is lost */
    sqlite3_exec(db, "PRAGMA synchronous=NORMAL", NULL, NULL, NULL);
    pthread_mutex_lock(&s->ckpt_mu);
    while (!s->ckpt_stop) {
        while (!s->ckpt_wanted && !s->ckpt_stop)
            pthread_cond_wait(&s->ckpt_cv, &s->ckpt_mu);
        if (s->ckpt_stop)
            break;
        s->ckpt_wanted = 0;
        pthread_mutex_unlock(&s->ckpt_mu);
        int log = 0, done = 0;
        int rc = sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_PASSIVE, &log, &done);
        if (rc != SQLITE_OK && rc != SQLITE_BUSY && rc != SQLITE_LOCKED) {
            hd_err("store: checkpoint failed: %s", sqlite3_errmsg(db));
            /* an I/O error here may be the only report of a failed write-back of the WAL (the
             * kernel reports it once): the store cannot vouch for what it holds any more */
            int ext = sqlite3_extended_errcode(db);
            if (s->sync_async && ((ext & 0xff) == SQLITE_IOERR || (ext & 0xff) == SQLITE_FULL ||
                                  (ext & 0xff) == SQLITE_CORRUPT))
                report_failure(s, (ext & 0xff) == SQLITE_FULL ? ENOSPC : EIO);
        }
        pthread_mutex_lock(&s->ckpt_mu);
    }
    pthread_mutex_unlock(&s->ckpt_mu);
    sqlite3_close(db);
    return NULL;
}

static void stop_checkpointer(struct hd_store *s)
{
    if (!s->ckpt_started)
        return;
    pthread_mutex_lock(&s->ckpt_mu);
    s->ckpt_stop = 1;
    pthread_cond_signal(&s->ckpt_cv);
    pthread_mutex_unlock(&s->ckpt_mu);
    pthread_join(s->ckpt_thread, NULL);
    s->ckpt_started = 0;
}

static int wal_hook(void *arg, sqlite3 *db, const char *name, int pages)
{
    struct hd_store *s = arg;
    s->wal_frames += (uint64_t)(pages >= s->wal_last ? pages - s->wal_last : pages);
    s->wal_last = pages;
    if (pages >= 1000 && s->ckpt_started) {
        pthread_mutex_lock(&s->ckpt_mu);
        s->ckpt_wanted = 1;
        pthread_cond_signal(&s->ckpt_cv);
        pthread_mutex_unlock(&s->ckpt_mu);
    }
    return SQLITE_OK;
}

/* ---- batching -------------------------------------------------------------------------------- */

static struct durable_waiter *new_waiter(hd_durable_cb *cb, void *arg)
{
    struct durable_waiter *w = calloc(1, sizeof(*w));
    if (!w) {
        hd_err("store: out of memory registering a durability callback");
        abort(); /* losing a callback would lose an offset or an outcome: never carry on */
    }
    w->cb = cb;
    w->arg = arg;
    return w;
}

/* Run and free the waiters of `list`. A waiter without a callback is the store's own marker:
 * the outbox rows of its commit are on disk. */
static void run_waiters(struct hd_store *s, struct waiter_list *list, int err)
{
    struct waiter_list todo = STAILQ_HEAD_INITIALIZER(todo);
    STAILQ_CONCAT(&todo, list);
    while (!STAILQ_EMPTY(&todo)) {
        struct durable_waiter *w = STAILQ_FIRST(&todo);
        STAILQ_REMOVE_HEAD(&todo, link);
        if (w->cb)
            w->cb(w->arg, err);
        else if (!err && w->outbox_max > s->outbox_durable)
            s->outbox_durable = w->outbox_max;
        free(w);
    }
}

/* The store can no longer vouch for what it was told to keep: from now on every waiter, current
 * and future, is told `err`, and nothing counts as durable again (the daemon stops; a restart
 * resumes from what is on disk). */
static void fail(struct hd_store *s, int err, const char *msg)
{
    hd_err("store: %s", msg);
    if (!s->broken)
        s->broken = err;
    if (s->fail_cb)
        s->fail_cb(s->fail_arg, err, msg);
    run_waiters(s, &s->unsynced, s->broken);
    if (!s->in_batch)
        run_waiters(s, &s->batch_waiters, s->broken);
}

/* A batch's time from COMMIT to on disk, for the commit histogram. */
static void record_commit(struct hd_store *s, double seconds)
{
    s->last_commit_s = seconds;
    s->commit_sum += seconds;
    int b = 0;
    while (b < HD_STORE_COMMIT_BUCKETS && seconds > hd_store_commit_bounds[b])
        b++;
    if (b < HD_STORE_COMMIT_BUCKETS)
        s->commit_buckets[b]++;
}

static int commit(struct hd_store *s)
{
    if (!s->in_batch)
        return s->broken;
    double t0 = hd_mono_s();
    int rc = sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
    s->in_batch = 0;
    if (s->batch_ops > s->batch_ops_max)
        s->batch_ops_max = s->batch_ops;
    s->batch_ops = 0;
    s->commits++;
    evtimer_del(s->commit_ev);
    if (rc != SQLITE_OK) {
        char msg[256];
        snprintf(msg, sizeof(msg), "commit failed: %s", sqlite3_errmsg(s->db));
        if (!sqlite3_get_autocommit(s->db))
            sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        fail(s, rc == SQLITE_FULL ? HD_EFULL : HD_EIO, msg);
        return s->broken;
    }
    if (s->broken) {
        run_waiters(s, &s->batch_waiters, s->broken);
        return s->broken;
    }
    s->gen_committed++;
    if (s->sync_async) {
        /* on disk once a sync begun after this COMMIT has returned (the syncer's) */
        s->commit_t0[s->gen_committed % HD_ARRAY_LEN(s->commit_t0)] = t0;
        struct durable_waiter *marker = new_waiter(NULL, NULL), *w;
        marker->outbox_max = s->outbox_written;
        STAILQ_INSERT_TAIL(&s->batch_waiters, marker, link);
        STAILQ_FOREACH (w, &s->batch_waiters, link)
            w->gen = s->gen_committed;
        STAILQ_CONCAT(&s->unsynced, &s->batch_waiters);
        pthread_mutex_lock(&s->sy_mu);
        s->sy_want = s->gen_committed;
        pthread_cond_signal(&s->sy_cv);
        pthread_mutex_unlock(&s->sy_mu);
        return 0;
    }
    record_commit(s, hd_mono_s() - t0);
    s->gen_synced = s->gen_committed;
    s->outbox_durable = s->outbox_written;
    run_waiters(s, &s->batch_waiters, 0);
    if (s->commit_cb)
        s->commit_cb(s->commit_arg);
    return 0;
}

/* ---- syncer thread ------------------------------------------------------------------------- */

static void *sync_main(void *arg)
{
    struct hd_store *s = arg;
    pthread_mutex_lock(&s->sy_mu);
    for (;;) {
        while (s->sy_want == s->sy_done && !s->sy_stop)
            pthread_cond_wait(&s->sy_cv, &s->sy_mu);
        if (s->sy_want == s->sy_done)
            break;                    /* stopping, nothing left */
        uint64_t target = s->sy_want; /* every commit up to here was written before this sync */
        pthread_mutex_unlock(&s->sy_mu);
        int rc = fdatasync(s->wal_fd) == 0 ? 0 : errno;
        pthread_mutex_lock(&s->sy_mu);
        s->sy_done = target;
        if (rc && !s->sy_errno)
            s->sy_errno = rc;
        uint64_t one = 1;
        if (write(s->sy_efd, &one, sizeof(one)) < 0) {
            /* the counter cannot overflow at one write per sync; nothing to do */
        }
    }
    pthread_mutex_unlock(&s->sy_mu);
    return NULL;
}

/* Commits up to `gen` are on disk: run what waited for them, and let the outbox read. */
static void synced(struct hd_store *s, uint64_t gen)
{
    if (s->broken)
        return;
    double now = hd_mono_s();
    size_t ring = HD_ARRAY_LEN(s->commit_t0);
    uint64_t oldest_kept = s->gen_committed >= ring ? s->gen_committed - ring + 1 : 1;
    for (uint64_t g = HD_MAX(s->gen_synced + 1, oldest_kept); g <= gen; g++)
        record_commit(s, now - s->commit_t0[g % ring]);
    if (gen > s->gen_synced)
        s->gen_synced = gen;
    struct waiter_list todo = STAILQ_HEAD_INITIALIZER(todo);
    while (!STAILQ_EMPTY(&s->unsynced) && STAILQ_FIRST(&s->unsynced)->gen <= s->gen_synced) {
        struct durable_waiter *w = STAILQ_FIRST(&s->unsynced);
        STAILQ_REMOVE_HEAD(&s->unsynced, link);
        STAILQ_INSERT_TAIL(&todo, w, link);
    }
    run_waiters(s, &todo, 0);
    if (s->commit_cb)
        s->commit_cb(s->commit_arg); /* reads only up to what is on disk: batch open or not */
}

static void fail_sync(struct hd_store *s, int e)
{
    char msg[256];
    snprintf(msg, sizeof(msg), "cannot sync %s: %s", s->wal_path, strerror(e));
    fail(s, e == ENOSPC ? HD_EFULL : HD_EIO, msg);
}

/* A failure the syncer or the checkpointer left for the loop; 0 when none. */
static int take_thread_error(struct hd_store *s)
{
    pthread_mutex_lock(&s->sy_mu);
    int e = s->sy_errno;
    s->sy_errno = 0;
    pthread_mutex_unlock(&s->sy_mu);
    return e;
}

static void on_synced(evutil_socket_t fd, short what, void *arg)
{
    struct hd_store *s = arg;
    uint64_t n;
    if (read(fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
        hd_warn("store: syncer notification: %s", strerror(errno));
    pthread_mutex_lock(&s->sy_mu);
    uint64_t done = s->sy_done;
    pthread_mutex_unlock(&s->sy_mu);
    int e = take_thread_error(s);
    if (e)
        fail_sync(s, e);
    else
        synced(s, done);
}

/* On the loop, now: everything committed is on disk when it returns 0 (flush, close). */
static int sync_now(struct hd_store *s)
{
    if (!s->sync_async)
        return s->broken;
    int e = take_thread_error(s); /* a failed sync must not be hidden by this one's success */
    if (e)
        fail_sync(s, e);
    if (s->broken)
        return s->broken;
    if (s->gen_synced == s->gen_committed)
        return 0;
    if (fdatasync(s->wal_fd) != 0) {
        fail_sync(s, errno);
        return s->broken;
    }
    synced(s, s->gen_committed);
    return 0;
}

/* The WAL is opened once, here, and kept: the kernel reports a failed write-back to the
 * descriptors open when it happened, not to one opened afterwards. */
static int start_syncer(struct hd_store *s)
{
    const char *wal = sqlite3_filename_wal(sqlite3_db_filename(s->db, "main"));
    if (!wal || !*wal)
        return ENOENT;
    s->wal_path = hd_strdup(wal); /* where SQLite keeps it (symbolic links resolved) */
    s->wal_fd = open(wal, O_RDONLY | O_CLOEXEC);
    if (s->wal_fd < 0)
        return errno;
    s->sy_efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (s->sy_efd < 0)
        return errno;
    s->sy_ev = event_new(s->base, s->sy_efd, EV_READ | EV_PERSIST, on_synced, s);
    if (!s->sy_ev || event_add(s->sy_ev, NULL) != 0)
        return ENOMEM;
    int rc = pthread_create(&s->sy_thread, NULL, sync_main, s);
    if (rc)
        return rc;
    s->sync_async = 1;
    return 0;
}

static void stop_syncer(struct hd_store *s)
{
    if (s->sync_async) {
        pthread_mutex_lock(&s->sy_mu);
        s->sy_stop = 1;
        pthread_cond_signal(&s->sy_cv);
        pthread_mutex_unlock(&s->sy_mu);
        pthread_join(s->sy_thread, NULL);
        s->sync_async = 0;
    }
    if (s->sy_ev)
        event_free(s->sy_ev);
    s->sy_ev = NULL;
    if (s->sy_efd >= 0)
        close(s->sy_efd);
    s->sy_efd = -1;
    if (s->wal_fd >= 0)
        close(s->wal_fd);
    s->wal_fd = -1;
}

static void on_commit(evutil_socket_t fd, short what, void *arg)
{
    commit(arg);
}

static void on_ready(evutil_socket_t fd, short what, void *arg)
{
    struct hd_store *s = arg;
    run_waiters(s, &s->ready_waiters, s->broken);
}

int hd_store_write(struct hd_store *s)
{
    if (s->in_batch)
        return 0;
    int rc = sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        hd_err("store: cannot begin a batch: %s", sqlite3_errmsg(s->db));
        return HD_EIO;
    }
    s->in_batch = 1;
    s->batch_ops = 0;
    struct timeval tv = {(time_t)(s->commit_interval_ms / 1000),
                         (suseconds_t)((s->commit_interval_ms % 1000) * 1000)};
    evtimer_add(s->commit_ev, &tv);
    return 0;
}

void hd_store_count_op(struct hd_store *s)
{
    if (++s->batch_ops == s->commit_max_ops)
        event_active(s->commit_ev, EV_TIMEOUT, 0);
}

void hd_store_when_durable(struct hd_store *s, hd_durable_cb *cb, void *arg)
{
    struct durable_waiter *w = new_waiter(cb, arg);
    if (s->broken) {
        STAILQ_INSERT_TAIL(&s->ready_waiters, w, link); /* told the failure, next turn */
        event_active(s->ready_ev, EV_TIMEOUT, 0);
    } else if (s->in_batch) {
        STAILQ_INSERT_TAIL(&s->batch_waiters, w, link);
    } else if (s->gen_synced != s->gen_committed) {
        w->gen = s->gen_committed; /* what is committed is not all on disk yet */
        STAILQ_INSERT_TAIL(&s->unsynced, w, link);
    } else {
        STAILQ_INSERT_TAIL(&s->ready_waiters, w, link);
        event_active(s->ready_ev, EV_TIMEOUT, 0);
    }
}

uint64_t hd_store_ticket(const struct hd_store *s)
{
    return s->in_batch ? s->gen_committed + 1 : s->gen_committed;
}

uint64_t hd_store_durable_ticket(const struct hd_store *s)
{
    return s->broken ? 0 : s->gen_synced;
}

void hd_store_outbox_written(struct hd_store *s, int64_t id)
{
    if (id > s->outbox_written)
        s->outbox_written = id;
}

int64_t hd_store_outbox_durable(const struct hd_store *s)
{
    return s->outbox_durable;
}

int hd_store_flush(struct hd_store *s)
{
    int rc = commit(s);
    int rs = sync_now(s);
    return rc ? rc : rs;
}

const double hd_store_commit_bounds[HD_STORE_COMMIT_BUCKETS] = {0.0005, 0.001, 0.0025, 0.005, 0.01,
                                                                0.025,  0.05,  0.1,    0.25,  1};

void hd_store_stats(const struct hd_store *s, struct hd_store_stats *out)
{
    out->commits = s->commits;
    memcpy(out->commit_buckets, s->commit_buckets, sizeof(out->commit_buckets));
    out->commit_seconds_sum = s->commit_sum;
    out->batch_ops_max = s->batch_ops_max;
}

int hd_store_busy(const struct hd_store *s)
{
    return s->in_batch || !STAILQ_EMPTY(&s->unsynced) || !STAILQ_EMPTY(&s->ready_waiters);
}

int hd_store_in_batch(const struct hd_store *s)
{
    return s->in_batch;
}

uint64_t hd_store_commits(const struct hd_store *s)
{
    return s->commits;
}

double hd_store_last_commit_s(const struct hd_store *s)
{
    return s->last_commit_s;
}

int64_t hd_store_batch_ops(const struct hd_store *s)
{
    return s->batch_ops;
}

const char *hd_store_path(const struct hd_store *s)
{
    return s->path;
}

sqlite3 *hd_store_db(struct hd_store *s)
{
    return s->db;
}

const char *hd_store_status_topic(const struct hd_store *s)
{
    return s->status_topic;
}

void hd_store_on_commit(struct hd_store *s, hd_store_commit_cb *cb, void *arg)
{
    s->commit_cb = cb;
    s->commit_arg = arg;
}

void hd_store_on_failure(struct hd_store *s, hd_store_fail_cb *cb, void *arg)
{
    s->fail_cb = cb;
    s->fail_arg = arg;
}

sqlite3_stmt *hd_store_stmt(struct hd_store *s, const char *sql)
{
    struct stmt_entry *e;
    HASH_FIND_PTR(s->stmts, &sql, e);
    if (e) {
        sqlite3_reset(e->st);
        sqlite3_clear_bindings(e->st);
        return e->st;
    }
    e = calloc(1, sizeof(*e));
    if (!e)
        return NULL;
    if (sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &e->st, NULL) != SQLITE_OK) {
        hd_err("store: cannot prepare statement: %s: %.120s", sqlite3_errmsg(s->db), sql);
        free(e);
        return NULL;
    }
    e->sql = sql;
    HASH_ADD_PTR(s->stmts, sql, e);
    return e->st;
}

int hd_store_step_done(struct hd_store *s, sqlite3_stmt *st, const char *what)
{
    int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE || rc == SQLITE_ROW) {
        sqlite3_reset(st);
        return 0;
    }
    int ext = sqlite3_extended_errcode(s->db);
    sqlite3_reset(st);
    if ((ext & 0xff) == SQLITE_CONSTRAINT)
        return HD_EEXIST;
    hd_err("store: %s failed: %s", what, sqlite3_errmsg(s->db));
    return rc == SQLITE_FULL ? HD_EFULL : HD_EIO;
}

/* ---- SQL profile (HERALD_SQL_PROFILE=1: time per statement, printed at close) ------------------
 */

struct sql_prof {
    char *sql; /* key: the statement's text (copied: exec'd statements free theirs) */
    uint64_t n;
    double ns;
    UT_hash_handle hh;
};
static struct sql_prof *profs;

static int on_profile(unsigned type, void *ctx, void *p, void *x)
{
    sqlite3_stmt *st = p;
    const char *sql = sqlite3_sql(st);
    struct sql_prof *e;
    if (!sql)
        return 0;
    HASH_FIND_STR(profs, sql, e);
    if (!e) {
        e = calloc(1, sizeof(*e));
        if (!e || !(e->sql = strdup(sql))) {
            free(e);
            return 0;
        }
        HASH_ADD_KEYPTR(hh, profs, e->sql, strlen(e->sql), e);
    }
    e->n++;
    e->ns += (double)*(sqlite3_uint64 *)x;
    return 0;
}

static int by_time(struct sql_prof *a, struct sql_prof *b)
{
    return a->ns < b->ns ? 1 : a->ns > b->ns ? -1 : 0;
}

static void profile_dump(void)
{
    struct sql_prof *e, *tmp;
    HASH_SORT(profs, by_time);
    HASH_ITER (hh, profs, e, tmp) {
        fprintf(stderr, "sqlprof %10.1f ms %8llu x %7.1f us  %.150s\n", e->ns / 1e6,
                (unsigned long long)e->n, e->ns / 1e3 / (double)e->n, e->sql);
        HASH_DEL(profs, e);
        free(e->sql);
        free(e);
    }
}

/* ---- open / close ------------------------------------------------------------------------ */

int hd_store_open(struct event_base *base, const struct hd_store_opts *o, struct hd_store **out,
                  char *err, size_t errlen)
{
    struct hd_store *s = calloc(1, sizeof(*s));
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return HD_ENOMEM;
    }
    STAILQ_INIT(&s->batch_waiters);
    STAILQ_INIT(&s->ready_waiters);
    STAILQ_INIT(&s->unsynced);
    s->sy_efd = -1;
    s->wal_fd = -1;
    pthread_mutex_init(&s->sy_mu, NULL);
    pthread_cond_init(&s->sy_cv, NULL);
    pthread_mutex_init(&s->ckpt_mu, NULL);
    pthread_cond_init(&s->ckpt_cv, NULL);
    s->base = base;
    s->path = hd_strdup(o->path);
    s->status_topic = hd_strdup(o->status_topic ? o->status_topic : "herald.status");
    s->commit_interval_ms = o->commit_interval_ms;
    s->commit_max_ops = o->commit_max_ops > 0 ? o->commit_max_ops : 20000;
    int rc = sqlite3_open_v2(
        o->path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        snprintf(err, errlen, "cannot open %s: %s", o->path,
                 s->db ? sqlite3_errmsg(s->db) : "out of memory");
        goto fail;
    }
    sqlite3_extended_result_codes(s->db, 1);
    sqlite3_busy_timeout(s->db, 5000);
    if (hd_store_prepare(s->db, o, err, errlen) != 0)
        goto fail;
    /* status events left from the last run are on disk: the outbox may read them all */
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(s->db, "SELECT COALESCE(MAX(id), 0) FROM outbox", -1, &q, NULL) ==
        SQLITE_OK) {
        if (sqlite3_step(q) == SQLITE_ROW)
            s->outbox_written = s->outbox_durable = sqlite3_column_int64(q, 0);
        sqlite3_finalize(q);
    }
    if (o->sync_full) {
        int e = start_syncer(s);
        if (e) {
            hd_warn("store: no syncer thread (%s): COMMIT syncs on the loop", strerror(e));
            stop_syncer(s);
            char e2[256];
            if (hd_store_exec(s->db, "PRAGMA synchronous=FULL", e2, sizeof(e2)) != 0) {
                snprintf(err, errlen, "%s: %s", o->path, e2);
                goto fail;
            }
        }
    }
    sqlite3_wal_autocheckpoint(s->db, 0);
    sqlite3_wal_hook(s->db, wal_hook, s);
    if (getenv("HERALD_SQL_PROFILE"))
        sqlite3_trace_v2(s->db, SQLITE_TRACE_PROFILE, on_profile, NULL);
    s->commit_ev = evtimer_new(base, on_commit, s);
    s->ready_ev = event_new(base, -1, 0, on_ready, s);
    if (!s->commit_ev || !s->ready_ev) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    if (pthread_create(&s->ckpt_thread, NULL, ckpt_main, s) == 0)
        s->ckpt_started = 1;
    else
        hd_warn("store: no checkpointer thread (%s): checkpoints run on the loop", strerror(errno));
    if (!s->ckpt_started)
        sqlite3_wal_autocheckpoint(s->db, 1000);
    *out = s;
    return 0;
fail:
    hd_store_close(s);
    return HD_EIO;
}

int hd_store_open_reader(const char *path, sqlite3 **out, char *err, size_t errlen)
{
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "cannot open %s: %s", path,
                 db ? sqlite3_errmsg(db) : "out of memory");
        sqlite3_close(db);
        return HD_EIO;
    }
    sqlite3_busy_timeout(db, 5000);
    *out = db;
    return 0;
}

void hd_store_close(struct hd_store *s)
{
    if (!s)
        return;
    if (s->db && s->in_batch)
        commit(s);
    sync_now(s);
    stop_checkpointer(s); /* before the syncer: it reports through the syncer's eventfd */
    stop_syncer(s);
    run_waiters(s, &s->ready_waiters, s->broken);
    if (getenv("HERALD_SQL_PROFILE")) {
        profile_dump();
        fprintf(stderr, "sqlprof %llu commits wrote %llu WAL frames\n",
                (unsigned long long)s->commits, (unsigned long long)s->wal_frames);
    }
    struct stmt_entry *e, *tmp;
    HASH_ITER (hh, s->stmts, e, tmp) {
        HASH_DEL(s->stmts, e);
        sqlite3_finalize(e->st);
        free(e);
    }
    if (s->db) {
        /* a final full checkpoint keeps the WAL small for the next start */
        sqlite3_wal_checkpoint_v2(s->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
        sqlite3_close(s->db);
    }
    if (s->commit_ev)
        event_free(s->commit_ev);
    if (s->ready_ev)
        event_free(s->ready_ev);
    pthread_mutex_destroy(&s->ckpt_mu);
    pthread_cond_destroy(&s->ckpt_cv);
    pthread_mutex_destroy(&s->sy_mu);
    pthread_cond_destroy(&s->sy_cv);
    free(s->wal_path);
    free(s->status_topic);
    free(s->path);
    free(s);
}
