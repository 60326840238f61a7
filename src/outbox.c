/*
 * Publishing the outbox (outbox.h). Rows are read only between batches (right after a commit),
 * so an event is never published for a change that is not on disk. Order per key is kept by the
 * idempotent producer; after a failed report the rows are published again, so consumers dedupe
 * by (delivery, seq) as docs/status-topic.md says.
 */
#include <event2/event.h>
#include <uthash.h>

#include "common.h"
#include "item.h"
#include "kafka.h"
#include "outbox.h"
#include "store.h"

#define MAX_IN_FLIGHT 20000
#define READ_BATCH    2000
/* Status events go out at most this often: a batch of them per produce request when busy (one
 * read and produce per commit costs the daemon and the broker a third of the throughput), at
 * once when quiet. */
#define PACE_MS 50

struct dlq_flight {
    int64_t id;
    UT_hash_handle hh;
};

struct hd_outbox {
    struct event *retry_ev; /* publish again later: producer queue full, broker away */
    struct event *pace_ev;  /* publish when PACE_MS have passed since the last time */
    int64_t last_publish_ms;
    struct hd_store *st;
    struct hd_kafka *k;
    char *status_topic, *dlq_topic;
    int64_t last_id; /* highest outbox id handed to the producer */
    size_t in_flight;
    uint64_t published;
    int want_publish;
    struct dlq_flight *dlq; /* rejection ids on their way to the dead-letter topic */
    int64_t *dlq_retry;     /* dead letters to produce again (their report was a failure) */
    size_t n_dlq_retry, cap_dlq_retry;
    int started;
};

static void publish(struct hd_outbox *ob);

static void retry_later(struct hd_outbox *ob)
{
    struct timeval tv = {0, 500 * 1000};
    ob->want_publish = 1;
    if (!evtimer_pending(ob->retry_ev, NULL))
        evtimer_add(ob->retry_ev, &tv);
}

static void on_retry(evutil_socket_t fd, short what, void *arg)
{
    publish(arg);
}

static void on_row(void *arg, int64_t id, const char *key, const char *payload)
{
    struct hd_outbox *ob = arg;
    if (hd_kafka_produce(ob->k, ob->status_topic, key, strlen(key), payload, strlen(payload), NULL,
                         0, HD_PRODUCED_STATUS, id) == 0) {
        ob->in_flight++;
        ob->last_id = id;
    } else {
        retry_later(ob); /* queue full or broker trouble: try again soon */
    }
}

static void dlq_produce(struct hd_outbox *ob, const struct hd_rejection *r);

static void on_retry_row(void *arg, const struct hd_rejection *r)
{
    dlq_produce(arg, r);
}

static void publish(struct hd_outbox *ob)
{
    if (!ob->k || !ob->started)
        return;
    /* dead letters whose publication failed: again, from their stored rows */
    size_t retries = ob->n_dlq_retry;
    ob->n_dlq_retry = 0;
    for (size_t i = 0; i < retries; i++)
        hd_store_rejection_get(ob->st, ob->dlq_retry[i], on_retry_row, ob);
    /* rows of an open or unsynced batch are not read: hd_store_outbox_after() stops at what is
     * on disk, and the store calls on_commit again when more is */
    ob->want_publish = 0;
    ob->last_publish_ms = hd_mono_ms();
    while (ob->in_flight < MAX_IN_FLIGHT) {
        int64_t before = ob->last_id;
        int n = hd_store_outbox_after(ob->st, ob->last_id, READ_BATCH, on_row, ob);
        if (n < READ_BATCH || ob->last_id == before || ob->want_publish)
            break;
    }
}

static void on_commit(void *arg)
{
    struct hd_outbox *ob = arg;
    int64_t since = hd_mono_ms() - ob->last_publish_ms;
    if (since >= PACE_MS) {
        publish(ob);
    } else if (!evtimer_pending(ob->pace_ev, NULL)) {
        struct timeval tv = {0, (suseconds_t)((PACE_MS - since) * 1000)};
        evtimer_add(ob->pace_ev, &tv);
    }
}

int hd_outbox_create(struct event_base *base, struct hd_store *st, const char *status_topic,
                     const char *dlq_topic, struct hd_outbox **out)
{
    struct hd_outbox *ob = calloc(1, sizeof(*ob));
    if (!ob)
        return HD_ENOMEM;
    ob->retry_ev = evtimer_new(base, on_retry, ob);
    ob->pace_ev = evtimer_new(base, on_retry, ob);
    if (!ob->retry_ev || !ob->pace_ev) {
        if (ob->retry_ev)
            event_free(ob->retry_ev);
        if (ob->pace_ev)
            event_free(ob->pace_ev);
        free(ob);
        return HD_ENOMEM;
    }
    ob->st = st;
    ob->status_topic = hd_strdup(status_topic);
    ob->dlq_topic = hd_strdup(dlq_topic);
    hd_store_on_commit(st, on_commit, ob);
    *out = ob;
    return 0;
}

void hd_outbox_set_kafka(struct hd_outbox *ob, struct hd_kafka *k)
{
    ob->k = k;
}

static void dlq_produce(struct hd_outbox *ob, const struct hd_rejection *r)
{
    struct dlq_flight *f;
    HASH_FIND(hh, ob->dlq, &r->id, sizeof(r->id), f);
    if (f || r->sent || !ob->k)
        return;
    char part[16], off[24], at[32];
    snprintf(part, sizeof(part), "%d", r->partition);
    snprintf(off, sizeof(off), "%lld", (long long)r->offset);
    hd_time_format_rfc3339(r->rejected_at, at);
    const char *detail = r->detail ? r->detail : "";
    struct hd_kafka_header h[] = {
        {"herald-error", r->reason, strlen(r->reason)},
        {"herald-detail", detail, strlen(detail)},
        {"herald-source-topic", r->topic, strlen(r->topic)},
        {"herald-source-partition", part, strlen(part)},
        {"herald-source-offset", off, strlen(off)},
        {"herald-rejected-at", at, strlen(at)},
    };
    if (hd_kafka_produce(ob->k, ob->dlq_topic, r->key, r->key_len, r->value, r->value_len, h,
                         HD_ARRAY_LEN(h), HD_PRODUCED_DLQ, r->id) != 0)
        return; /* stays unsent: published again at the next start */
    f = calloc(1, sizeof(*f));
    if (f) {
        f->id = r->id;
        HASH_ADD(hh, ob->dlq, id, sizeof(f->id), f);
    }
}

void hd_outbox_dlq(struct hd_outbox *ob, const struct hd_rejection *r)
{
    dlq_produce(ob, r);
}

static void on_unsent(void *arg, const struct hd_rejection *r)
{
    dlq_produce(arg, r);
}

void hd_outbox_start(struct hd_outbox *ob)
{
    ob->started = 1;
    int64_t n = hd_store_outbox_count(ob->st);
    if (n)
        hd_info("outbox: %lld status event(s) left from the last run: publishing them",
                (long long)n);
    hd_store_rejections_unsent(ob->st, 100000, on_unsent, ob);
    publish(ob);
}

void hd_outbox_produced(struct hd_outbox *ob, int kind, int64_t id, rd_kafka_resp_err_t err)
{
    if (kind == HD_PRODUCED_STATUS) {
        ob->in_flight--;
        if (err) {
            hd_warn("outbox: status event %lld not published: %s (will retry)", (long long)id,
                    rd_kafka_err2str(err));
            if (id <= ob->last_id)
                ob->last_id = id - 1;
            retry_later(ob);
            return;
        }
        ob->published++;
        hd_store_outbox_delete(ob->st, id);
        return; /* the delete's batch commits soon; its commit hook publishes more */
    }
    struct dlq_flight *f;
    HASH_FIND(hh, ob->dlq, &id, sizeof(id), f);
    if (f) {
        HASH_DEL(ob->dlq, f);
        free(f);
    }
    if (err) {
        hd_warn("outbox: dead letter %lld not published: %s (will retry)", (long long)id,
                rd_kafka_err2str(err));
        if (ob->n_dlq_retry == ob->cap_dlq_retry) {
            size_t cap = ob->cap_dlq_retry ? ob->cap_dlq_retry * 2 : 64;
            int64_t *r = realloc(ob->dlq_retry, cap * sizeof(*r));
            if (!r)
                return; /* published again at the next start */
            ob->dlq_retry = r;
            ob->cap_dlq_retry = cap;
        }
        ob->dlq_retry[ob->n_dlq_retry++] = id;
        retry_later(ob);
        return;
    }
    hd_store_rejection_mark_sent(ob->st, id);
    hd_kafka_dlq_acked(ob->k, id);
}

size_t hd_outbox_in_flight(const struct hd_outbox *ob)
{
    return ob->in_flight;
}

uint64_t hd_outbox_published(const struct hd_outbox *ob)
{
    return ob->published;
}

void hd_outbox_destroy(struct hd_outbox *ob)
{
    if (!ob)
        return;
    hd_store_on_commit(ob->st, NULL, NULL);
    if (ob->retry_ev)
        event_free(ob->retry_ev);
    if (ob->pace_ev)
        event_free(ob->pace_ev);
    struct dlq_flight *f, *tmp;
    HASH_ITER (hh, ob->dlq, f, tmp) {
        HASH_DEL(ob->dlq, f);
        free(f);
    }
    free(ob->dlq_retry);
    free(ob->status_topic);
    free(ob->dlq_topic);
    free(ob);
}
