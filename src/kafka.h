/*
 * Kafka on the libevent loop: the items consumer (high-level consumer whose queue wakes the loop
 * through rd_kafka_queue_io_event_enable, no polling thread) with offsets stored only once a
 * message is safe, and the producer used by the outbox (status events, dead letters).
 */
#ifndef HD_KAFKA_H
#define HD_KAFKA_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>
#include <librdkafka/rdkafka.h>

struct hd_kafka;
struct hd_store;
struct hd_config;

/* Handle one consumed message (on the loop). Return 0 when it was handled (stored or rejected);
 * set *dlq_row to the rejection's row id when its offset must wait for the dead-letter topic's
 * acknowledgement (hd_kafka_dlq_acked). A non-zero return stops intake (store failure). */
typedef int hd_intake_fn(void *arg, const rd_kafka_message_t *m, int64_t *dlq_row);
/* A produced message was acknowledged (err 0) or failed. kind/id are what produce() was given. */
typedef void hd_produced_fn(void *arg, int kind, int64_t id, rd_kafka_resp_err_t err);

struct hd_kafka_callbacks {
    hd_intake_fn *intake;
    void *intake_arg;
    hd_produced_fn *produced;
    void *produced_arg;
};

int hd_kafka_create(struct event_base *base, const struct hd_config *cfg, struct hd_store *store,
                    const struct hd_kafka_callbacks *cbs, struct hd_kafka **out, char *err,
                    size_t errlen);
/* Subscribe to the items topic and start consuming. */
int hd_kafka_start(struct hd_kafka *k, char *err, size_t errlen);
/* Stop taking messages (SIGTERM); offsets of what was stored are still stored and committed. */
void hd_kafka_stop_intake(struct hd_kafka *k);
/* Pause/resume intake for back-pressure or store trouble (reason shown in logs). */
void hd_kafka_pause(struct hd_kafka *k, const char *reason);
void hd_kafka_resume(struct hd_kafka *k);
int hd_kafka_paused(const struct hd_kafka *k);
/* The rejection row `id` reached the dead-letter topic. */
void hd_kafka_dlq_acked(struct hd_kafka *k, int64_t id);

/* Produce to `topic` (copying key/value); kind/id come back through produced(). headers: NULL or
 * an array of n name/value pairs. Returns 0 when queued. */
struct hd_kafka_header {
    const char *name;
    const void *value;
    size_t len;
};
int hd_kafka_produce(struct hd_kafka *k, const char *topic, const void *key, size_t klen,
                     const void *val, size_t vlen, const struct hd_kafka_header *headers,
                     size_t n_headers, int kind, int64_t id);
size_t hd_kafka_producer_outq(struct hd_kafka *k);

/* Serve delivery reports until the producer's queue is empty or timeout_ms passed. */
void hd_kafka_flush(struct hd_kafka *k, int timeout_ms);
/* Commit stored offsets and close the consumer (blocking up to a few seconds: shutdown only). */
void hd_kafka_close(struct hd_kafka *k);
void hd_kafka_destroy(struct hd_kafka *k);

/* State for readiness and metrics. */
int hd_kafka_joined(const struct hd_kafka *k);
uint64_t hd_kafka_consumed(const struct hd_kafka *k);
size_t hd_kafka_tracked(const struct hd_kafka *k); /* messages whose offset is not stored yet */
typedef void hd_lag_cb(void *arg, const char *topic, int32_t partition, int64_t lag);
void hd_kafka_lag(struct hd_kafka *k, hd_lag_cb *cb, void *arg);

#endif
