/*
 * The admin API's reader thread: list queries, timelines and reports run here, on a read-only
 * SQLite connection of their own (WAL: they never block the loop's writes and see only committed
 * data), so nothing slow runs on the event loop. The loop queues a job (hd_api_submit); the
 * thread runs it inside one read transaction, serialises the answer, and hands it back through an
 * eventfd watched by the loop, which replies (or calls the job's finish() to add live engine
 * state first). One query runs at a time; each is interrupted after QUERY_DEADLINE_MS.
 *
 * Request lifetime: libevent 2.1 keeps an evhttp_request whose connection closed before the
 * reply (the request is detached, and freed by the reply call), so a job may hold its request
 * until it answers. At shutdown the remaining jobs are answered 503 before evhttp_free().
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <sys/eventfd.h>
#include <sys/queue.h>
#include <unistd.h>

#include <event2/event.h>

#include "api.h"
#include "common.h"
#include "store.h"

#define QUEUE_MAX         64
#define QUERY_DEADLINE_MS 15000

struct job {
    struct evhttp_request *req;
    hd_api_query_fn *q;
    hd_api_finish_fn *finish;
    json_t *params; /* owned */
    struct hd_api_result res;
    TAILQ_ENTRY(job) link;
};
TAILQ_HEAD(job_list, job);

struct hd_api_reader {
    struct hd_api *api;
    char *path;
    pthread_t th;
    int started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct job_list todo, done; /* guarded by mu */
    size_t n_todo;
    int stop;
    sqlite3 *db; /* the thread's; set under mu so stop can interrupt it */
    int efd;
    struct event *ev;
    int64_t deadline; /* reader thread only */
};

static void job_free(struct job *j)
{
    if (!j)
        return;
    json_decref(j->params);
    json_decref(j->res.json);
    free(j->res.text);
    free(j);
}

int hd_api_res_error(struct hd_api_result *res, int status, const char *code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(res->err, sizeof(res->err), fmt, ap);
    va_end(ap);
    res->status = status;
    res->err_code = code;
    json_decref(res->json);
    res->json = NULL;
    return -1;
}

static int on_progress(void *arg)
{
    struct hd_api_reader *rd = arg;
    return hd_mono_ms() > rd->deadline;
}

static void run(struct hd_api_reader *rd, sqlite3 *db, struct job *j)
{
    j->res.status = 200;
    if (!db) {
        hd_api_res_error(&j->res, 503, "unavailable", "the store cannot be read");
        return;
    }
    rd->deadline = hd_mono_ms() + QUERY_DEADLINE_MS;
    if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) {
        hd_api_res_error(&j->res, 503, "unavailable", "the store cannot be read: %s",
                         sqlite3_errmsg(db));
        return;
    }
    j->q(db, j->params, &j->res);
    int interrupted = sqlite3_errcode(db) == SQLITE_INTERRUPT;
    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    if (interrupted && j->res.status < 400)
        hd_api_res_error(&j->res, 503, "timeout",
                         "the query took longer than %d s: narrow it down (filters, limit)",
                         QUERY_DEADLINE_MS / 1000);
    if (j->res.status < 400 && !j->res.json && !j->res.text)
        j->res.json = json_object();
    /* serialise here, not on the loop, unless finish() still has to add to it */
    if (!j->finish && j->res.json && j->res.status < 400) {
        j->res.text = json_dumps(j->res.json, JSON_COMPACT);
        j->res.len = j->res.text ? strlen(j->res.text) : 0;
        j->res.ctype = "application/json";
        json_decref(j->res.json);
        j->res.json = NULL;
        if (!j->res.text)
            hd_api_res_error(&j->res, 500, "internal", "out of memory");
    }
}

static void *reader_main(void *arg)
{
    struct hd_api_reader *rd = arg;
    sqlite3 *db = NULL;
    char err[512];
    if (hd_store_open_reader(rd->path, &db, err, sizeof(err)) != 0) {
        hd_err("admin: reader: %s", err);
        db = NULL;
    } else {
        sqlite3_progress_handler(db, 2000, on_progress, rd);
    }
    pthread_mutex_lock(&rd->mu);
    rd->db = db;
    while (!rd->stop) {
        struct job *j = TAILQ_FIRST(&rd->todo);
        if (!j) {
            pthread_cond_wait(&rd->cv, &rd->mu);
            continue;
        }
        TAILQ_REMOVE(&rd->todo, j, link);
        rd->n_todo--;
        pthread_mutex_unlock(&rd->mu);
        run(rd, db, j);
        pthread_mutex_lock(&rd->mu);
        TAILQ_INSERT_TAIL(&rd->done, j, link);
        uint64_t one = 1;
        if (write(rd->efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
            hd_warn("admin: reader: cannot wake the loop: %s", strerror(errno));
    }
    rd->db = NULL;
    pthread_mutex_unlock(&rd->mu);
    sqlite3_close(db);
    return NULL;
}

static void reply(struct hd_api_reader *rd, struct job *j)
{
    struct hd_api_result *res = &j->res;
    if (res->status >= 400) {
        hd_api_error(j->req, res->status, res->err_code ? res->err_code : "error", "%s", res->err);
    } else if (j->finish) {
        j->finish(rd->api, j->req, res);
    } else if (res->text) {
        hd_api_reply_raw(j->req, res->status, res->ctype ? res->ctype : "application/json",
                         res->text, res->len);
    } else {
        hd_api_reply_json(j->req, res->status, res->json);
        res->json = NULL;
    }
    j->req = NULL;
}

static void on_done(evutil_socket_t fd, short what, void *arg)
{
    struct hd_api_reader *rd = arg;
    uint64_t n;
    if (read(rd->efd, &n, sizeof(n)) < 0 && errno != EAGAIN)
        hd_warn("admin: reader: eventfd: %s", strerror(errno));
    struct job_list ready = TAILQ_HEAD_INITIALIZER(ready);
    pthread_mutex_lock(&rd->mu);
    TAILQ_CONCAT(&ready, &rd->done, link);
    pthread_mutex_unlock(&rd->mu);
    struct job *j;
    while ((j = TAILQ_FIRST(&ready))) {
        TAILQ_REMOVE(&ready, j, link);
        reply(rd, j);
        job_free(j);
    }
}

int hd_api_reader_start(struct hd_api *api, struct event_base *base, const char *db_path,
                        struct hd_api_reader **out, char *err, size_t errlen)
{
    struct hd_api_reader *rd = calloc(1, sizeof(*rd));
    if (!rd)
        return HD_ENOMEM;
    rd->api = api;
    rd->efd = -1;
    TAILQ_INIT(&rd->todo);
    TAILQ_INIT(&rd->done);
    pthread_mutex_init(&rd->mu, NULL);
    pthread_cond_init(&rd->cv, NULL);
    rd->path = hd_strdup(db_path);
    rd->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (!rd->path || rd->efd < 0) {
        snprintf(err, errlen, "reader: %s", strerror(errno));
        goto fail;
    }
    rd->ev = event_new(base, rd->efd, EV_READ | EV_PERSIST, on_done, rd);
    if (!rd->ev || event_add(rd->ev, NULL) != 0) {
        snprintf(err, errlen, "reader: cannot watch its eventfd");
        goto fail;
    }
    if (pthread_create(&rd->th, NULL, reader_main, rd) != 0) {
        snprintf(err, errlen, "reader: cannot start a thread: %s", strerror(errno));
        goto fail;
    }
    rd->started = 1;
    *out = rd;
    return 0;
fail:
    hd_api_reader_stop(rd);
    return HD_EIO;
}

void hd_api_reader_stop(struct hd_api_reader *rd)
{
    if (!rd)
        return;
    if (rd->started) {
        pthread_mutex_lock(&rd->mu);
        rd->stop = 1;
        if (rd->db)
            sqlite3_interrupt(rd->db);
        pthread_cond_signal(&rd->cv);
        pthread_mutex_unlock(&rd->mu);
        pthread_join(rd->th, NULL);
    }
    /* answer whatever is left (the requests are still evhttp's until replied to) */
    struct job *j;
    while ((j = TAILQ_FIRST(&rd->done)) || (j = TAILQ_FIRST(&rd->todo))) {
        if (j == TAILQ_FIRST(&rd->done))
            TAILQ_REMOVE(&rd->done, j, link);
        else
            TAILQ_REMOVE(&rd->todo, j, link);
        if (j->req)
            hd_api_error(j->req, 503, "unavailable", "heraldd is stopping");
        job_free(j);
    }
    if (rd->ev)
        event_free(rd->ev);
    if (rd->efd >= 0)
        close(rd->efd);
    pthread_mutex_destroy(&rd->mu);
    pthread_cond_destroy(&rd->cv);
    free(rd->path);
    free(rd);
}

void hd_api_submit(struct hd_api_reader *rd, struct evhttp_request *req, hd_api_query_fn *q,
                   json_t *params, hd_api_finish_fn *finish)
{
    struct job *j = calloc(1, sizeof(*j));
    if (!j || !params) {
        free(j);
        json_decref(params);
        hd_api_error(req, 500, "internal", "out of memory");
        return;
    }
    j->req = req;
    j->q = q;
    j->finish = finish;
    j->params = params;
    pthread_mutex_lock(&rd->mu);
    int full = rd->n_todo >= QUEUE_MAX || rd->stop;
    if (!full) {
        TAILQ_INSERT_TAIL(&rd->todo, j, link);
        rd->n_todo++;
        pthread_cond_signal(&rd->cv);
    }
    pthread_mutex_unlock(&rd->mu);
    if (full) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "Retry-After", "1");
        hd_api_error(req, 503, "busy", "too many queries waiting; try again in a moment");
        job_free(j);
    }
}
