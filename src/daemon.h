/*
 * heraldd's lifecycle (daemon.c): start, run, reload, stop.
 */
#ifndef HD_DAEMON_H
#define HD_DAEMON_H

#include <stdint.h>

#include <event2/event.h>

struct hd_daemon;
struct hd_config;
struct hd_registry;
struct hd_engine;
struct hd_store;
struct hd_kafka;
struct hd_intake;

struct hd_daemon_opts {
    const char *ready_file;  /* written (JSON: pid, admin URL) once running */
    struct event_base *base; /* NULL: the daemon makes its own (the demo brings one) */
};

struct hd_daemon_hooks {
    void (*started)(void *arg, struct hd_daemon *d); /* on the loop, once running */
    void *arg;
};

/* Runs until stopped; returns the process exit code. */
int hd_daemon_run(struct hd_config *cfg, struct hd_registry *reg, const struct hd_daemon_opts *o,
                  struct hd_daemon_hooks *hooks);
void hd_daemon_reload(struct hd_daemon *d);
void hd_daemon_request_stop(struct hd_daemon *d, int code, const char *why);

struct event_base *hd_daemon_base(struct hd_daemon *d);
struct hd_engine *hd_daemon_engine(struct hd_daemon *d);
struct hd_store *hd_daemon_store(struct hd_daemon *d);
struct hd_kafka *hd_daemon_kafka(struct hd_daemon *d);
struct hd_intake *hd_daemon_intake(struct hd_daemon *d);
const struct hd_config *hd_daemon_config(struct hd_daemon *d);
/* Rows store.retention deleted since start. */
uint64_t hd_daemon_pruned_rows(const struct hd_daemon *d);

#endif
