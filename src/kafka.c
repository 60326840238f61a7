/*
 * Kafka consumer and producer on the event loop (kafka.h).
 *
 * Consumer: rd_kafka_poll_set_consumer forwards the main queue to the consumer queue, whose IO
 * event writes to a pipe the loop watches. The pipe is written only when the queue goes from
 * empty to non-empty, so we drain the pipe first, then consume until the queue is empty or a
 * budget is spent (then re-activate ourselves), and re-activate when a pause ends.
 *
 * Offsets: every consumed message gets an entry in its partition's tracker; the entry becomes
 * safe when the store batch that holds the message is on disk and, for a rejected message, when
 * the dead-letter topic acknowledged it. The longest safe prefix of each partition is stored
 * (offset + 1) with rd_kafka_offsets_store; librdkafka's auto-commit commits stored offsets.
 */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include <uthash.h>

#include "common.h"
#include "config.h"
#include "kafka.h"
#include "store.h"

#define CONSUME_BUDGET 2000   /* messages per loop turn */
#define TRACK_HIGH     200000 /* pause intake above this many unsafe offsets */
#define TRACK_LOW      50000

struct track_entry {
    int64_t offset;
    int64_t dlq_row; /* 0: none */
    uint64_t ticket; /* the store commit that holds what the message caused */
    unsigned durable : 1;
    unsigned acked : 1;
};

struct partition {
    int32_t id;
    struct track_entry *e;
    size_t head, len, cap; /* live entries are e[head .. len) */
    int64_t stored;        /* last stored offset + 1 */
    UT_hash_handle hh;
};

struct produced_ref {
    int kind;
    int64_t id;
};

struct hd_kafka {
    struct event_base *base;
    const struct hd_config *cfg;
    struct hd_store *store;
    struct hd_kafka_callbacks cbs;
    rd_kafka_t *consumer;
    rd_kafka_queue_t *cq;
    int cpipe[2];
    struct event *cev;
    rd_kafka_t *producer;
    rd_kafka_queue_t *pq;
    int ppipe[2];
    struct event *pev;
    struct partition *parts;
    size_t tracked;
    int durable_armed;
    int stopped, paused, pause_backpressure, joined;
    char pause_reason[128];
    uint64_t consumed;
};

/* ---- offsets ------------------------------------------------------------------------------- */

static struct partition *part_get(struct hd_kafka *k, int32_t id, int create)
{
    struct partition *p;
    HASH_FIND_INT(k->parts, &id, p);
    if (!p && create) {
        p = calloc(1, sizeof(*p));
        if (!p)
            return NULL;
        p->id = id;
        p->stored = -1;
        HASH_ADD_INT(k->parts, id, p);
    }
    return p;
}

static void part_drop(struct hd_kafka *k, struct partition *p)
{
    k->tracked -= p->len - p->head;
    HASH_DEL(k->parts, p);
    free(p->e);
    free(p);
}

static void advance(struct hd_kafka *k, struct partition *p)
{
    int64_t upto = -1;
    while (p->head < p->len) {
        struct track_entry *e = &p->e[p->head];
        if (!e->durable || (e->dlq_row && !e->acked))
            break;
        upto = e->offset;
        p->head++;
        k->tracked--;
    }
    if (p->head == p->len)
        p->head = p->len = 0;
    else if (p->head > 4096 && p->head * 2 > p->len) {
        memmove(p->e, p->e + p->head, (p->len - p->head) * sizeof(*p->e));
        p->len -= p->head;
        p->head = 0;
    }
    if (upto < 0)
        return;
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, k->cfg->topic_items, p->id)->offset = upto + 1;
    rd_kafka_resp_err_t err = rd_kafka_offsets_store(k->consumer, l);
    if (err)
        hd_warn("kafka: storing offset %lld of %s[%d] failed: %s", (long long)upto + 1,
                k->cfg->topic_items, p->id, rd_kafka_err2str(err));
    else
        p->stored = upto + 1;
    rd_kafka_topic_partition_list_destroy(l);
}

static void check_backpressure(struct hd_kafka *k);

static void on_durable(void *arg, int err)
{
    struct hd_kafka *k = arg;
    k->durable_armed = 0;
    if (err)
        return; /* the store failure handler restarts intake from the stored offsets */
    /* only what is on disk: messages taken since the wait began may be in a later commit */
    uint64_t durable = hd_store_durable_ticket(k->store);
    int waiting = 0;
    struct partition *p, *tmp;
    HASH_ITER (hh, k->parts, p, tmp) {
        for (size_t i = p->head; i < p->len; i++) {
            if (p->e[i].ticket <= durable)
                p->e[i].durable = 1;
            else
                waiting = 1;
        }
        advance(k, p);
    }
    if (waiting && !k->durable_armed) {
        k->durable_armed = 1;
        hd_store_when_durable(k->store, on_durable, k);
    }
    check_backpressure(k);
}

static int track(struct hd_kafka *k, int32_t partition, int64_t offset, int64_t dlq_row)
{
    struct partition *p = part_get(k, partition, 1);
    if (!p)
        return HD_ENOMEM;
    if (p->len == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 256;
        struct track_entry *e = realloc(p->e, cap * sizeof(*e));
        if (!e)
            return HD_ENOMEM;
        p->e = e;
        p->cap = cap;
    }
    p->e[p->len++] = (struct track_entry){
        .offset = offset, .dlq_row = dlq_row, .ticket = hd_store_ticket(k->store)};
    k->tracked++;
    if (!k->durable_armed) {
        k->durable_armed = 1;
        hd_store_when_durable(k->store, on_durable, k);
    }
    return 0;
}

void hd_kafka_dlq_acked(struct hd_kafka *k, int64_t id)
{
    struct partition *p, *tmp;
    HASH_ITER (hh, k->parts, p, tmp) {
        int hit = 0;
        for (size_t i = p->head; i < p->len; i++)
            if (p->e[i].dlq_row == id) {
                p->e[i].acked = 1;
                hit = 1;
            }
        if (hit)
            advance(k, p);
    }
    check_backpressure(k);
}

/* ---- pausing -------------------------------------------------------------------------------- */

static void set_paused(struct hd_kafka *k, int pause)
{
    rd_kafka_topic_partition_list_t *a = NULL;
    if (!k->consumer || rd_kafka_assignment(k->consumer, &a) != RD_KAFKA_RESP_ERR_NO_ERROR)
        return;
    if (a->cnt > 0) {
        if (pause)
            rd_kafka_pause_partitions(k->consumer, a);
        else
            rd_kafka_resume_partitions(k->consumer, a);
    }
    rd_kafka_topic_partition_list_destroy(a);
}

static int intake_blocked(const struct hd_kafka *k)
{
    return k->stopped || k->paused || k->pause_backpressure;
}

static void check_backpressure(struct hd_kafka *k)
{
    if (!k->pause_backpressure && k->tracked > TRACK_HIGH) {
        k->pause_backpressure = 1;
        hd_warn("kafka: %zu messages wait for the store or the dead-letter topic: pausing intake",
                k->tracked);
        set_paused(k, 1);
    } else if (k->pause_backpressure && k->tracked < TRACK_LOW) {
        k->pause_backpressure = 0;
        hd_info("kafka: resuming intake (%zu waiting)", k->tracked);
        if (!intake_blocked(k)) {
            set_paused(k, 0);
            event_active(k->cev, EV_READ, 0);
        }
    }
}

void hd_kafka_pause(struct hd_kafka *k, const char *reason)
{
    if (k->paused)
        return;
    k->paused = 1;
    hd_strlcpy(k->pause_reason, reason ? reason : "", sizeof(k->pause_reason));
    hd_warn("kafka: intake paused: %s", k->pause_reason);
    set_paused(k, 1);
}

void hd_kafka_resume(struct hd_kafka *k)
{
    if (!k->paused)
        return;
    k->paused = 0;
    hd_info("kafka: intake resumed (was: %s)", k->pause_reason);
    if (!intake_blocked(k)) {
        set_paused(k, 0);
        event_active(k->cev, EV_READ, 0);
    }
}

int hd_kafka_paused(const struct hd_kafka *k)
{
    return intake_blocked(k);
}

/* ---- consumer ------------------------------------------------------------------------------ */

static void drop_partitions(struct hd_kafka *k, const rd_kafka_topic_partition_list_t *l)
{
    for (int i = 0; i < l->cnt; i++) {
        struct partition *p = part_get(k, l->elems[i].partition, 0);
        if (p)
            part_drop(k, p);
    }
}

static void rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    struct hd_kafka *k = opaque;
    int cooperative = strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        hd_info("kafka: assigned %d partition(s) of %s (%s)", parts->cnt, k->cfg->topic_items,
                cooperative ? "cooperative" : "eager");
        drop_partitions(k, parts);
        if (cooperative)
            rd_kafka_incremental_assign(rk, parts);
        else
            rd_kafka_assign(rk, parts);
        k->joined = 1;
        if (intake_blocked(k))
            rd_kafka_pause_partitions(rk, parts);
    } else if (err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS) {
        int lost = rd_kafka_assignment_lost(rk);
        hd_info("kafka: %d partition(s) %s", parts->cnt,
                lost ? "lost (session expired)" : "revoked: committing what is stored");
        /* make the batch durable so the offsets of everything taken so far are stored, and
         * commit them without waiting: the loop must never block on the broker (a member that
         * lost its session cannot commit anyway; what was not committed comes again and
         * changes nothing) */
        hd_store_flush(k->store);
        if (!lost)
            rd_kafka_commit(rk, NULL, 1);
        drop_partitions(k, parts);
        if (cooperative)
            rd_kafka_incremental_unassign(rk, parts);
        else
            rd_kafka_assign(rk, NULL);
    } else {
        hd_err("kafka: rebalance error: %s", rd_kafka_err2str(err));
        rd_kafka_assign(rk, NULL);
    }
}

static void log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    int l = level <= 3   ? HD_LOG_ERROR
            : level <= 4 ? HD_LOG_WARN
            : level <= 6 ? HD_LOG_INFO
                         : HD_LOG_DEBUG;
    HD_LOG(l, "kafka", "%s: %s", fac, buf);
}

static void error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    /* librdkafka recovers from transient errors itself (broker down, all brokers down) */
    int fatal = err == RD_KAFKA_RESP_ERR__FATAL;
    HD_LOG(fatal ? HD_LOG_ERROR : HD_LOG_WARN, "kafka", "%s: %s",
           rd_kafka_err2name((rd_kafka_resp_err_t)err), reason);
}

static void on_consumer(evutil_socket_t fd, short what, void *arg)
{
    struct hd_kafka *k = arg;
    char buf[256];
    while (read(k->cpipe[0], buf, sizeof(buf)) > 0)
        ;
    int n = 0;
    while (n < CONSUME_BUDGET) {
        if (intake_blocked(k)) {
            /* serve callbacks (rebalances, errors) without taking messages: paused partitions
             * deliver none */
            rd_kafka_message_t *m = rd_kafka_consumer_poll(k->consumer, 0);
            if (!m)
                return;
            /* a message fetched before the pause took effect: hand it back (seek) */
            if (!m->err)
                rd_kafka_seek(m->rkt, m->partition, m->offset, 0);
            rd_kafka_message_destroy(m);
            continue;
        }
        rd_kafka_message_t *m = rd_kafka_consumer_poll(k->consumer, 0);
        if (!m) {
            /* NULL can also mean a callback (rebalance, error) was served: if messages are
             * still queued, no new wake-up will come for them */
            if (rd_kafka_queue_length(k->cq) > 0)
                event_active(k->cev, EV_READ, 0);
            return;
        }
        n++;
        if (m->err) {
            if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                hd_warn("kafka: consumer: %s", rd_kafka_message_errstr(m));
            rd_kafka_message_destroy(m);
            continue;
        }
        k->consumed++;
        int64_t dlq_row = 0;
        int rc = k->cbs.intake(k->cbs.intake_arg, m, &dlq_row);
        if (rc == 0) {
            if (track(k, m->partition, m->offset, dlq_row) != 0) {
                hd_err("kafka: out of memory tracking offsets: pausing intake");
                hd_kafka_pause(k, "out of memory");
            }
        } else {
            /* not stored: read it again once intake resumes */
            rd_kafka_seek(m->rkt, m->partition, m->offset, 0);
            rd_kafka_message_destroy(m);
            hd_kafka_pause(k, "the store cannot take messages");
            return;
        }
        rd_kafka_message_destroy(m);
        check_backpressure(k);
    }
    /* budget spent with messages left: continue on the next loop turn */
    event_active(k->cev, EV_READ, 0);
}

/* ---- producer ------------------------------------------------------------------------------- */

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    struct hd_kafka *k = opaque;
    struct produced_ref *ref = m->_private;
    if (ref) {
        if (k->cbs.produced)
            k->cbs.produced(k->cbs.produced_arg, ref->kind, ref->id, m->err);
        free(ref);
    }
}

static void on_producer(evutil_socket_t fd, short what, void *arg)
{
    struct hd_kafka *k = arg;
    char buf[256];
    while (read(k->ppipe[0], buf, sizeof(buf)) > 0)
        ;
    int served, rounds = 0;
    do {
        served = rd_kafka_poll(k->producer, 0);
    } while (served > 0 && ++rounds < 100);
    if (served > 0)
        event_active(k->pev, EV_READ, 0);
}

int hd_kafka_produce(struct hd_kafka *k, const char *topic, const void *key, size_t klen,
                     const void *val, size_t vlen, const struct hd_kafka_header *headers,
                     size_t n_headers, int kind, int64_t id)
{
    struct produced_ref *ref = malloc(sizeof(*ref));
    if (!ref)
        return HD_ENOMEM;
    ref->kind = kind;
    ref->id = id;
    rd_kafka_headers_t *hdrs = NULL;
    if (n_headers) {
        hdrs = rd_kafka_headers_new(n_headers);
        for (size_t i = 0; i < n_headers; i++)
            rd_kafka_header_add(hdrs, headers[i].name, -1, headers[i].value,
                                (ssize_t)headers[i].len);
    }
    rd_kafka_resp_err_t err = rd_kafka_producev(
        k->producer, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(key, klen),
        RD_KAFKA_V_VALUE((void *)val, vlen), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_OPAQUE(ref), RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_END);
    if (err) {
        if (hdrs)
            rd_kafka_headers_destroy(hdrs);
        free(ref);
        HD_LOG(HD_LOG_DEBUG, "kafka", "produce to %s failed: %s", topic, rd_kafka_err2str(err));
        return err == RD_KAFKA_RESP_ERR__QUEUE_FULL ? HD_EBUSY : HD_EIO;
    }
    return 0;
}

size_t hd_kafka_producer_outq(struct hd_kafka *k)
{
    return (size_t)rd_kafka_outq_len(k->producer);
}

/* ---- setup ----------------------------------------------------------------------------------- */

static int set(rd_kafka_conf_t *conf, const char *name, const char *val, int secret, char *err,
               size_t errlen)
{
    char e[256];
    if (rd_kafka_conf_set(conf, name, val, e, sizeof(e)) != RD_KAFKA_CONF_OK) {
        snprintf(err, errlen, "kafka property %s%s%s: %s", name, secret ? "" : "=",
                 secret ? "" : val, e);
        return HD_EINVAL;
    }
    return 0;
}

static int has_prop(const struct hd_config *c, const char *name)
{
    for (size_t i = 0; i < c->n_kafka_props; i++)
        if (strcmp(c->kafka_prop_keys[i], name) == 0)
            return 1;
    return 0;
}

static rd_kafka_conf_t *base_conf(const struct hd_config *c, char *err, size_t errlen)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (set(conf, "bootstrap.servers", c->brokers, 0, err, errlen) ||
        set(conf, "client.id", c->client_id, 0, err, errlen) ||
        set(conf, "log.connection.close", "false", 0, err, errlen))
        goto fail;
    for (size_t i = 0; i < c->n_kafka_props; i++)
        if (set(conf, c->kafka_prop_keys[i], c->kafka_prop_vals[i], c->kafka_prop_secret[i], err,
                errlen))
            goto fail;
    rd_kafka_conf_set_log_cb(conf, log_cb);
    rd_kafka_conf_set_error_cb(conf, error_cb);
    return conf;
fail:
    rd_kafka_conf_destroy(conf);
    return NULL;
}

static int make_pipe(int fds[2])
{
    return pipe2(fds, O_NONBLOCK | O_CLOEXEC);
}

int hd_kafka_create(struct event_base *base, const struct hd_config *cfg, struct hd_store *store,
                    const struct hd_kafka_callbacks *cbs, struct hd_kafka **out, char *err,
                    size_t errlen)
{
    struct hd_kafka *k = calloc(1, sizeof(*k));
    char e[512];
    if (!k)
        return HD_ENOMEM;
    k->base = base;
    k->cfg = cfg;
    k->store = store;
    k->cbs = *cbs;
    k->cpipe[0] = k->cpipe[1] = k->ppipe[0] = k->ppipe[1] = -1;

    /* producer: status events and dead letters */
    rd_kafka_conf_t *pc = base_conf(cfg, err, errlen);
    if (!pc)
        goto fail;
    /* Not the idempotent producer: librdkafka 2.0.2's hangs for good ("drain before retrying")
     * after a single broker restarts (found by tests/e2e/test_broker_outage.py). Order per key
     * is kept by one request in flight per connection; duplicates after a retry are deduped by
     * consumers on (delivery, seq) as docs/status-topic.md says. */
    if (set(pc, "enable.idempotence", "false", 0, err, errlen) ||
        set(pc, "acks", "all", 0, err, errlen) ||
        set(pc, "max.in.flight.requests.per.connection", "1", 0, err, errlen) ||
        set(pc, "linger.ms", "5", 0, err, errlen) ||
        set(pc, "message.timeout.ms", "120000", 0, err, errlen)) {
        rd_kafka_conf_destroy(pc);
        goto fail;
    }
    rd_kafka_conf_set_dr_msg_cb(pc, dr_cb);
    rd_kafka_conf_set_opaque(pc, k);
    k->producer = rd_kafka_new(RD_KAFKA_PRODUCER, pc, e, sizeof(e));
    if (!k->producer) {
        snprintf(err, errlen, "kafka producer: %s", e);
        rd_kafka_conf_destroy(pc);
        goto fail;
    }
    pc = NULL;
    if (make_pipe(k->ppipe) != 0) {
        snprintf(err, errlen, "pipe: %s", strerror(errno));
        goto fail;
    }
    k->pq = rd_kafka_queue_get_main(k->producer);
    rd_kafka_queue_io_event_enable(k->pq, k->ppipe[1], "1", 1);
    k->pev = event_new(base, k->ppipe[0], EV_READ | EV_PERSIST, on_producer, k);
    event_add(k->pev, NULL);

    /* consumer: approved items */
    rd_kafka_conf_t *cc = base_conf(cfg, err, errlen);
    char sto[32];
    snprintf(sto, sizeof(sto), "%lld", (long long)cfg->session_timeout_ms);
    if (!cc)
        goto fail;
    if (set(cc, "group.id", cfg->group_id, 0, err, errlen) ||
        set(cc, "enable.auto.commit", "true", 0, err, errlen) ||
        set(cc, "enable.auto.offset.store", "false", 0, err, errlen) ||
        set(cc, "auto.commit.interval.ms", "1000", 0, err, errlen) ||
        set(cc, "auto.offset.reset", "earliest", 0, err, errlen) ||
        set(cc, "session.timeout.ms", sto, 0, err, errlen) ||
        /* eager "range" unless the configuration says otherwise: librdkafka 2.0.2's sticky
         * assignor aborts at shutdown when no partition was ever assigned (its bug #4312) */
        (!has_prop(cfg, "partition.assignment.strategy") &&
         set(cc, "partition.assignment.strategy", "range", 0, err, errlen)) ||
        set(cc, "enable.partition.eof", "false", 0, err, errlen) ||
        (cfg->group_instance_id &&
         set(cc, "group.instance.id", cfg->group_instance_id, 0, err, errlen))) {
        rd_kafka_conf_destroy(cc);
        goto fail;
    }
    /* the same pass-through properties may tune the consumer (they were set in base_conf) */
    rd_kafka_conf_set_rebalance_cb(cc, rebalance_cb);
    rd_kafka_conf_set_opaque(cc, k);
    k->consumer = rd_kafka_new(RD_KAFKA_CONSUMER, cc, e, sizeof(e));
    if (!k->consumer) {
        snprintf(err, errlen, "kafka consumer: %s", e);
        rd_kafka_conf_destroy(cc);
        goto fail;
    }
    rd_kafka_poll_set_consumer(k->consumer);
    if (make_pipe(k->cpipe) != 0) {
        snprintf(err, errlen, "pipe: %s", strerror(errno));
        goto fail;
    }
    k->cq = rd_kafka_queue_get_consumer(k->consumer);
    k->cev = event_new(base, k->cpipe[0], EV_READ | EV_PERSIST, on_consumer, k);
    *out = k;
    return 0;
fail:
    hd_kafka_destroy(k);
    return HD_EIO;
}

int hd_kafka_start(struct hd_kafka *k, char *err, size_t errlen)
{
    rd_kafka_topic_partition_list_t *t = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(t, k->cfg->topic_items, RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t e = rd_kafka_subscribe(k->consumer, t);
    rd_kafka_topic_partition_list_destroy(t);
    if (e) {
        snprintf(err, errlen, "subscribe to %s: %s", k->cfg->topic_items, rd_kafka_err2str(e));
        return HD_EIO;
    }
    rd_kafka_queue_io_event_enable(k->cq, k->cpipe[1], "1", 1);
    event_add(k->cev, NULL);
    /* the IO event fires only on empty -> non-empty: look once now */
    event_active(k->cev, EV_READ, 0);
    event_active(k->pev, EV_READ, 0);
    return 0;
}

void hd_kafka_stop_intake(struct hd_kafka *k)
{
    if (!k || k->stopped)
        return;
    k->stopped = 1;
    set_paused(k, 1);
}

void hd_kafka_flush(struct hd_kafka *k, int timeout_ms)
{
    if (!k || !k->producer)
        return;
    int64_t deadline = hd_mono_ms() + timeout_ms;
    while (rd_kafka_outq_len(k->producer) > 0 && hd_mono_ms() < deadline)
        rd_kafka_poll(k->producer, 100);
}

void hd_kafka_close(struct hd_kafka *k)
{
    if (!k || !k->consumer)
        return;
    hd_kafka_stop_intake(k);
    hd_store_flush(k->store);
    /* on_durable ran inside the flush: the safe offsets are stored; commit them */
    rd_kafka_commit(k->consumer, NULL, 0);
    rd_kafka_queue_io_event_enable(k->cq, -1, NULL, 0);
    rd_kafka_consumer_close(k->consumer);
}

void hd_kafka_destroy(struct hd_kafka *k)
{
    if (!k)
        return;
    if (k->cev)
        event_free(k->cev);
    if (k->pev)
        event_free(k->pev);
    if (k->cq)
        rd_kafka_queue_destroy(k->cq);
    if (k->consumer)
        rd_kafka_destroy(k->consumer);
    if (k->producer) {
        rd_kafka_flush(k->producer, 5000);
        /* deliver the remaining reports so their references are freed */
        while (rd_kafka_poll(k->producer, 0) > 0)
            ;
        if (k->pq)
            rd_kafka_queue_destroy(k->pq);
        rd_kafka_destroy(k->producer);
    }
    for (int i = 0; i < 2; i++) {
        if (k->cpipe[i] >= 0)
            close(k->cpipe[i]);
        if (k->ppipe[i] >= 0)
            close(k->ppipe[i]);
    }
    struct partition *p, *tmp;
    HASH_ITER (hh, k->parts, p, tmp)
        part_drop(k, p);
    free(k);
}

int hd_kafka_joined(const struct hd_kafka *k)
{
    return k && k->joined;
}

uint64_t hd_kafka_consumed(const struct hd_kafka *k)
{
    return k ? k->consumed : 0;
}

size_t hd_kafka_tracked(const struct hd_kafka *k)
{
    return k ? k->tracked : 0;
}

void hd_kafka_lag(struct hd_kafka *k, hd_lag_cb *cb, void *arg)
{
    rd_kafka_topic_partition_list_t *a = NULL;
    if (!k || !k->consumer || rd_kafka_assignment(k->consumer, &a) != RD_KAFKA_RESP_ERR_NO_ERROR)
        return;
    rd_kafka_position(k->consumer, a);
    for (int i = 0; i < a->cnt; i++) {
        int64_t lo = 0, hi = 0;
        if (rd_kafka_get_watermark_offsets(k->consumer, a->elems[i].topic, a->elems[i].partition,
                                           &lo, &hi) != RD_KAFKA_RESP_ERR_NO_ERROR)
            continue;
        int64_t pos = a->elems[i].offset >= 0 ? a->elems[i].offset : lo;
        cb(arg, a->elems[i].topic, a->elems[i].partition, hi > pos ? hi - pos : 0);
    }
    rd_kafka_topic_partition_list_destroy(a);
}
