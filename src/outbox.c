/*
 * Publishing the outbox (outbox.h). Rows are read only between batches (right after a commit),
 * so an event is never published for a change that is not on disk. Order per key is kept by the
 * idempotent producer; after a failed report the rows are published again, so consumers dedupe
 * by (delivery, seq) as docs/status-topic.md says.
 */
#include <uthash.h>

#include "common.h"
#include "item.h"
#include "kafka.h"
#include "outbox.h"
#include "store.h"

#define MAX_IN_FLIGHT 20000
#define READ_BATCH    2000

struct dlq_flight {
    int64_t id;
    UT_hash_handle hh;
};

struct hd_outbox {
    struct hd_store *st;
    struct hd_kafka *k;
    char *status_topic, *dlq_topic;
    int64_t last_id; /* highest outbox id handed to the producer */
    size_t in_flight;
    uint64_t published;
    int want_publish;
    struct dlq_flight *dlq; /* rejection ids on their way to the dead-letter topic */
    int started;
};

static void publish(struct hd_outbox *ob);

static void on_row(void *arg, int64_t id, const char *key, const char *payload)
{
    struct hd_outbox *ob = arg;
    if (hd_kafka_produce(ob->k, ob->status_topic, key, strlen(key), payload, strlen(payload),
                         NULL, 0, HD_PRODUCED_STATUS, id) == 0) {
        ob->in_flight++;
        ob->last_id = id;
    } else {
        ob->want_publish = 1; /* queue full or broker trouble: try again after the next commit */
    }
}

static void publish(struct hd_outbox *ob)
{
    if (!ob->k || !ob->started)
        return;
    if (hd_store_in_batch(ob->st)) {
        ob->want_publish = 1; /* rows of an open batch are not durable yet */
        return;
    }
    ob->want_publish = 0;
    while (ob->in_flight < MAX_IN_FLIGHT) {
        int64_t before = ob->last_id;
        int n = hd_store_outbox_after(ob->st, ob->last_id, READ_BATCH, on_row, ob);
        if (n < READ_BATCH || ob->last_id == before || ob->want_publish)
            break;
    }
}

static void on_commit(void *arg)
{
    publish(arg);
}

int hd_outbox_create(struct hd_store *st, const char *status_topic, const char *dlq_topic,
                     struct hd_outbox **out)
{
    struct hd_outbox *ob = calloc(1, sizeof(*ob));
    if (!ob)
        return HD_ENOMEM;
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
            ob->want_publish = 1;
            return;
        }
        ob->published++;
        hd_store_outbox_delete(ob->st, id);
        if (ob->want_publish || ob->in_flight < MAX_IN_FLIGHT / 2)
            ob->want_publish = 1; /* continue after the next commit (this delete opened one) */
        return;
    }
    struct dlq_flight *f;
    HASH_FIND(hh, ob->dlq, &id, sizeof(id), f);
    if (f) {
        HASH_DEL(ob->dlq, f);
        free(f);
    }
    if (err) {
        hd_warn("outbox: dead letter %lld not published: %s (will retry at start)",
                (long long)id, rd_kafka_err2str(err));
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
    struct dlq_flight *f, *tmp;
    HASH_ITER(hh, ob->dlq, f, tmp)
    {
        HASH_DEL(ob->dlq, f);
        free(f);
    }
    free(ob->status_topic);
    free(ob->dlq_topic);
    free(ob);
}
