/*
 * The daemon's configuration: sections daemon, kafka, store, admin, channels and routes, loaded
 * from YAML through conf.c and checked against key tables (the core's and each adapter's), so
 * that `heraldd --check-config` reports every error with file:line. config/herald.yaml is the
 * annotated example; docs/configuration.md lists every key (heraldd --config-reference writes it
 * from the same tables; a test keeps the file equal to that output).
 */
#ifndef HD_CONFIG_H
#define HD_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include <herald/channel.h>

#include "conf.h"

struct hd_registry;

struct hd_route {
    char *name;
    const struct hd_node *node;
    char **category, **publisher, **publisher_kind, **column, **priority;
    size_t n_category, n_publisher, n_publisher_kind, n_column, n_priority;
    char **to; /* instance ids */
    size_t n_to;
};

enum hd_targets_from { HD_TARGETS_NONE, HD_TARGETS_STREETS, HD_TARGETS_BOARDS };

/* One channel instance: "<adapter>:<name>" and its settings. */
struct hd_instance_conf {
    char *id;
    char *adapter;
    char *name;
    const struct hd_channel *chan; /* borrowed from the registry */
    const struct hd_node *node;
    struct hd_conf_values core; /* the core's per-channel keys */
    struct hd_conf_values own;  /* the adapter's keys */
    int enabled;
    int max_in_flight;
    double rate_per_s; /* 0: unlimited */
    int burst;
    int64_t timeout_ms, connect_timeout_ms;
    int64_t retry_base_ms, retry_cap_ms, max_age_ms;
    int max_attempts;
    int breaker_failures;
    int64_t breaker_reset_ms, breaker_reset_max_ms;
    enum hd_on_revision on_revision;
    char **depends_on;
    size_t n_depends_on;
    int64_t max_hold_ms;
    char **targets;
    size_t n_targets;
    enum hd_targets_from targets_from;
    const char *ca_file;
    const char *inbound_listen, *inbound_path;
};

struct hd_admin_token {
    char *name;
    char *role;  /* viewer | operator | admin */
    char *token; /* secret, owned, wiped on free */
    size_t token_len;
};

struct hd_config {
    char *path;
    struct hd_node *root;
    /* daemon */
    char *state_dir;
    int64_t drain_timeout_ms;
    char *timezone;
    int log_level;
    char *plugin_dir;
    /* kafka */
    char *brokers;
    char *group_id;
    char *group_instance_id;
    char *client_id;
    char *topic_items, *topic_status, *topic_dlq;
    int64_t max_message_bytes;
    int64_t session_timeout_ms;
    char **kafka_prop_keys, **kafka_prop_vals; /* librdkafka pass-through (secrets resolved) */
    size_t n_kafka_props;
    int kafka_prop_secret[64]; /* 1 where the value came from a secret: never logged */
    /* store */
    char *db_path;
    int64_t commit_interval_ms;
    int64_t commit_max_ops;
    char *synchronous; /* full | normal */
    int64_t min_free_bytes;
    int64_t retention_ms; /* 0: keep everything */
    /* admin */
    char *admin_listen;
    char *metrics_auth; /* loopback | token | none */
    struct hd_admin_token *tokens;
    size_t n_tokens;
    /* channels and routes */
    struct hd_instance_conf *instances;
    size_t n_instances;
    struct hd_route *routes;
    size_t n_routes;
    int item_targets_override; /* targets.channels in an item replaces the routing rules */
};

/* Load and check `path`. Every problem goes to `diag` with file:line; returns 0 only when there
 * is none. `reg` resolves adapter names (their key tables check the channel settings); adapters in
 * daemon.plugin_dir are loaded into it first. */
int hd_config_load(const char *path, struct hd_registry *reg, struct hd_config **out,
                   struct hd_diag *diag);
void hd_config_free(struct hd_config *c);

const struct hd_instance_conf *hd_config_instance(const struct hd_config *c, const char *id);

/* The core's per-channel key table (shared by every instance). */
extern const struct hd_conf_key hd_core_channel_keys[];
/* Key tables of the top-level sections, for --list-channels and docs. */
extern const struct hd_conf_key hd_daemon_keys[], hd_kafka_keys[], hd_store_keys[], hd_admin_keys[];
/* routing:, one of its rules:, a rule's match: */
extern const struct hd_conf_key hd_routing_keys[], hd_route_keys[], hd_match_keys[];

/* "50/s", "20/h", "100/d", "3/m", "0" -> events per second (0 = unlimited). */
int hd_parse_rate(const char *s, double *per_s);

#endif
