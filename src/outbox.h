/*
 * The outbox: status events written in the same store batch as the state change they describe
 * are published to the status topic once that batch is on disk, and deleted when the broker has
 * acknowledged them; dead letters (rejected messages) go to the dead-letter topic the same way.
 * kill -9 at any moment loses neither: what is not acknowledged is published again at start.
 */
#ifndef HD_OUTBOX_H
#define HD_OUTBOX_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>
#include <librdkafka/rdkafka.h>

struct hd_outbox;
struct hd_store;
struct hd_kafka;
struct hd_rejection;

#define HD_PRODUCED_STATUS 1
#define HD_PRODUCED_DLQ    2

int hd_outbox_create(struct event_base *base, struct hd_store *st, const char *status_topic,
                     const char *dlq_topic, struct hd_outbox **out);
void hd_outbox_set_kafka(struct hd_outbox *ob, struct hd_kafka *k);
/* Publish what an earlier run left: the whole outbox and unsent dead letters. */
void hd_outbox_start(struct hd_outbox *ob);
/* A message was rejected: put it on the dead-letter topic (unless already there or on its way). */
void hd_outbox_dlq(struct hd_outbox *ob, const struct hd_rejection *r);
/* From the producer's delivery reports. */
void hd_outbox_produced(struct hd_outbox *ob, int kind, int64_t id, rd_kafka_resp_err_t err);
size_t hd_outbox_in_flight(const struct hd_outbox *ob);
uint64_t hd_outbox_published(const struct hd_outbox *ob);
void hd_outbox_destroy(struct hd_outbox *ob);

#endif
