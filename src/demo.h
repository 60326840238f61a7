/* heraldd --demo (demo.c): embedded Kafka (librdkafka mock cluster), the simulators, the seeds. */
#ifndef HD_DEMO_H
#define HD_DEMO_H

struct hd_registry;
int hd_demo_run(struct hd_registry *reg, const char *seeds_dir, const char *state_dir, int once);

#endif
