/*
 * Intake: Kafka message -> item + deliveries in the store, or a dead letter (intake.c).
 */
#ifndef HD_INTAKE_H
#define HD_INTAKE_H

#include <stdint.h>

#include <librdkafka/rdkafka.h>

struct hd_intake;
struct hd_config;
struct hd_store;
struct hd_engine;
struct hd_outbox;

int hd_intake_create(const struct hd_config *cfg, struct hd_store *st, struct hd_engine *e,
                     struct hd_outbox *ob, struct hd_intake **out);
void hd_intake_set_config(struct hd_intake *in, const struct hd_config *cfg);
void hd_intake_destroy(struct hd_intake *in);
/* hd_intake_fn for kafka.c (arg = struct hd_intake *) */
int hd_intake_message(void *arg, const rd_kafka_message_t *m, int64_t *dlq_row);
/* Operator retraction of everything published of an item (as a retract message at its current
 * version would). HD_ENOTFOUND for an unknown item. */
int hd_intake_retract(struct hd_intake *in, const char *item_id, const char *who,
                      const char *reason, int *n_affected);
/* Run a rejected message's original bytes through intake again (after a configuration fix).
 * 0: accepted now; HD_EINVAL: rejected again (result says why); HD_ENOTFOUND. */
int hd_intake_replay(struct hd_intake *in, int64_t rejection_id, const char *who, char *result,
                     size_t len);
void hd_intake_stats(const struct hd_intake *in, uint64_t *accepted, uint64_t *rejected,
                     uint64_t *duplicates, uint64_t *superseded);

#endif
