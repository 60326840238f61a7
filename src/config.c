/*
 * Loading the daemon's configuration (see config.h). The YAML tree and the generic key checks are
 * conf.c's; this file holds the core's key tables and the cross-checks only the whole file can
 * make: instance ids, routes naming known instances, dependencies without cycles, token roles.
 * Every error names file:line and loading goes on to find the next one.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>

#include "common.h"
#include "config.h"
#include "registry.h"

/* ---- key tables ------------------------------------------------------------------------------ */

#define MS(x)  ((int64_t)(x))
#define SEC(x) ((int64_t)(x)*1000)

const struct hd_conf_key hd_daemon_keys[] = {
    {"state_dir", HD_CONF_STRING, ".", 0, 0, 0, NULL,
     "Directory for the store and runtime files (systemd StateDirectory)."},
    {"drain_timeout", HD_CONF_DURATION, "10s", 0, MS(0), SEC(600), NULL,
     "On SIGTERM, how long in-flight sends may finish before they are recorded as unknown."},
    {"timezone", HD_CONF_STRING, "Asia/Shanghai", 0, 0, 0, NULL,
     "Time zone of quota days and report years."},
    {"log_level", HD_CONF_ENUM, "info", 0, 0, 0, "error|warn|info|debug", "Log verbosity."},
    {"plugin_dir", HD_CONF_STRING, NULL, 0, 0, 0, NULL,
     "Directory of loadable adapters (*.so); unset: built-in adapters only."},
    {NULL, 0, NULL, 0, 0, 0, NULL, NULL},
};

const struct hd_conf_key hd_kafka_keys[] = {
    {"brokers", HD_CONF_STRING, NULL, 1, 1, 4096, NULL, "bootstrap.servers, host:port[,...]"},
    {"group_id", HD_CONF_STRING, "herald", 0, 1, 255, NULL, "Consumer group."},
    {"group_instance_id", HD_CONF_STRING, NULL, 0, 1, 255, NULL,
     "Static group membership id (group.instance.id): faster restarts without rebalances."},
    {"client_id", HD_CONF_STRING, "heraldd", 0, 1, 255, NULL, "client.id"},
    {"items_topic", HD_CONF_STRING, "herald.items", 0, 1, 249, NULL, "Approved items (input)."},
    {"status_topic", HD_CONF_STRING, "herald.status", 0, 1, 249, NULL,
     "Delivery state changes (output, may be compacted)."},
    {"dlq_topic", HD_CONF_STRING, "herald.dlq", 0, 1, 249, NULL,
     "Rejected messages with the reason in headers."},
    {"max_message_bytes", HD_CONF_SIZE, "1MiB", 0, 1024, 64 * 1024 * 1024, NULL,
     "Larger messages are rejected as oversize."},
    {"session_timeout", HD_CONF_DURATION, "10s", 0, SEC(1), SEC(300), NULL,
     "session.timeout.ms of the consumer."},
    {"properties", HD_CONF_MAP, NULL, 0, 0, 0, NULL,
     "librdkafka properties passed through (security.protocol, sasl.mechanism, ssl.ca.location, "
     "...)."},
    {"secret_properties", HD_CONF_MAP, NULL, 0, 0, 0, NULL,
     "librdkafka properties whose values are secrets: file:/path or credential:NAME "
     "(sasl.password, ssl.key.password)."},
    {NULL, 0, NULL, 0, 0, 0, NULL, NULL},
};

const struct hd_conf_key hd_store_keys[] = {
    {"path", HD_CONF_STRING, "herald.db", 0, 1, 4096, NULL,
     "SQLite database, relative to state_dir."},
    {"commit_interval", HD_CONF_DURATION, "5ms", 0, MS(0), SEC(1), NULL,
     "Group commit: changes are committed at most this long after the first one."},
    {"commit_max_ops", HD_CONF_INT, "20000", 0, 1, 10000000, NULL,
     "Commit earlier when a batch holds this many changes."},
    {"synchronous", HD_CONF_ENUM, "full", 0, 0, 0, "full|normal",
     "full: a batch counts (offsets stored, events published, sends started) only once its WAL "
     "is fdatasync'd, by a syncer thread off the loop (production). normal: no sync; survives "
     "a crash of heraldd, not of the machine."},
    {"min_free", HD_CONF_SIZE, "64MiB", 0, 0, (int64_t)1 << 50, NULL,
     "Pause intake when the store's file system has less free space than this."},
    {"retention", HD_CONF_DURATION, "0", 0, 0, SEC(86400) * 36500, NULL,
     "Delete the attempts and state history of deliveries settled longer ago than this, and "
     "dead letters published longer ago (items, deliveries and the audit log are kept). 0 keeps "
     "everything; otherwise at least 1d."},
    {NULL, 0, NULL, 0, 0, 0, NULL, NULL},
};

const struct hd_conf_key hd_admin_keys[] = {
    {"listen", HD_CONF_STRING, "127.0.0.1:8470", 0, 1, 255, NULL,
     "Admin API, metrics and dashboard address (host:port; port 0 picks a free one)."},
    {"tokens", HD_CONF_LIST, NULL, 0, 0, 0, NULL,
     "Named tokens: name:role:file:/path or name:role:credential:NAME (roles viewer, operator, "
     "admin)."},
    {"metrics_auth", HD_CONF_ENUM, "loopback", 0, 0, 0, "loopback|token|none",
     "Who may read /metrics: loopback: anyone connecting from 127.0.0.0/8 or ::1, anyone else "
     "with a token of any role; token: a token always; none: anyone who can connect."},
    {NULL, 0, NULL, 0, 0, 0, NULL, NULL},
};

const struct hd_conf_key hd_core_channel_keys[] = {
    {"enabled", HD_CONF_BOOL, "true", 0, 0, 0, NULL, "A disabled instance gets no deliveries."},
    {"max_in_flight", HD_CONF_INT, "4", 0, 1, 1024, NULL, "Concurrent operations."},
    {"rate_limit", HD_CONF_STRING, "0", 0, 1, 32, NULL,
     "Token bucket rate: N/s, N/m, N/h or N/d; 0 = unlimited."},
    {"burst", HD_CONF_INT, "1", 0, 1, 100000, NULL, "Token bucket depth."},
    {"timeout", HD_CONF_DURATION, "30s", 0, MS(10), SEC(3600), NULL, "Per HTTP request."},
    {"connect_timeout", HD_CONF_DURATION, "10s", 0, MS(10), SEC(600), NULL, "TCP+TLS connect."},
    {"retry_base", HD_CONF_DURATION, "2s", 0, MS(1), SEC(86400), NULL,
     "Backoff base: wait random(0, min(cap, base*2^attempt))."},
    {"retry_cap", HD_CONF_DURATION, "15m", 0, MS(1), SEC(7 * 86400), NULL, "Backoff cap."},
    {"max_attempts", HD_CONF_INT, "8", 0, 1, 1000, NULL,
     "Attempts before a delivery fails (dead-letter view)."},
    {"max_age", HD_CONF_DURATION, "48h", 0, SEC(1), SEC(365 * 86400), NULL,
     "A delivery still not done this long after intake fails."},
    {"breaker_failures", HD_CONF_INT, "5", 0, 1, 1000, NULL,
     "Consecutive transient failures that open the circuit breaker."},
    {"breaker_reset", HD_CONF_DURATION, "60s", 0, MS(10), SEC(86400), NULL,
     "Open breaker: first probe after this long (doubling after each failed probe)."},
    {"breaker_reset_max", HD_CONF_DURATION, "30m", 0, MS(10), SEC(7 * 86400), NULL,
     "Upper bound of the breaker's reset interval."},
    {"on_revision", HD_CONF_ENUM, NULL, 0, 0, 0, "update|ignore|retract_and_republish",
     "What a newer version does to a published one; default: the adapter's."},
    {"depends_on", HD_CONF_LIST, NULL, 0, 0, 0, NULL,
     "Instances whose delivery of the same item must succeed first (their result is passed to "
     "render, e.g. the portal URL)."},
    {"max_hold", HD_CONF_DURATION, "24h", 0, MS(100), SEC(30 * 86400), NULL,
     "A delivery held for a dependency fails after this long."},
    {"targets", HD_CONF_LIST, NULL, 0, 0, 0, NULL,
     "Multi-target channels: every target (street codes, board/area)."},
    {"targets_from", HD_CONF_ENUM, "none", 0, 0, 0, "none|streets|boards",
     "Which item.targets list picks targets; an item naming none gets every target."},
    {"ca_file", HD_CONF_STRING, NULL, 0, 1, 4096, NULL,
     "Extra CA bundle for this channel (TLS verification is always on)."},
    {"inbound_listen", HD_CONF_STRING, NULL, 0, 1, 255, NULL,
     "host:port of this instance's own callback listener (platform event push)."},
    {"inbound_path", HD_CONF_STRING, NULL, 0, 1, 255, NULL, "Path of the callback listener."},
    {NULL, 0, NULL, 0, 0, 0, NULL, NULL},
};

const struct hd_conf_key hd_route_keys[] = {
    {"name", HD_CONF_STRING, NULL, 1, 1, 128, NULL, "Shown in logs and the item's timeline."},
    {"match", HD_CONF_MAP, NULL, 0, 0, 0, NULL,
     "Item fields and the values they must have; a rule without match takes every item."},
    {"to", HD_CONF_LIST, NULL, 1, 0, 0, NULL, "Instance ids."},
    {NULL, 0, NULL, 0, 0, 0, NULL, NULL},
};

const struct hd_conf_key hd_match_keys[] = {
    {"category", HD_CONF_LIST, NULL, 0, 0, 0, NULL, "Any of these categories."},
    {"publisher", HD_CONF_LIST, NULL, 0, 0, 0, NULL, "Any of these publisher codes."},
    {"publisher_kind", HD_CONF_LIST, NULL, 0, 0, 0, NULL, "district, department or street."},
    {"column", HD_CONF_LIST, NULL, 0, 0, 0, NULL,
     "Portal column paths; a trailing /* matches the column and everything below it."},
    {"priority", HD_CONF_LIST, NULL, 0, 0, 0, NULL, "normal or urgent."},
    {NULL, 0, NULL, 0, 0, 0, NULL, NULL},
};

const struct hd_conf_key hd_routing_keys[] = {
    {"item_targets_override", HD_CONF_BOOL, "true", 0, 0, 0, NULL,
     "An item's targets.channels, when present, replaces the routing rules."},
    {"rules", HD_CONF_LIST, NULL, 0, 0, 0, NULL,
     "Rules: name, match (category, publisher, publisher_kind, column, priority), to."},
    {NULL, 0, NULL, 0, 0, 0, NULL, NULL},
};

static const char *const top_sections[] = {"daemon",   "kafka",   "store", "admin",
                                           "channels", "routing", NULL};

/* ---- helpers ------------------------------------------------------------------------------- */

int hd_parse_rate(const char *s, double *per_s)
{
    char *end;
    if (!s || !*s)
        return HD_EINVAL;
    if (strcmp(s, "0") == 0) {
        *per_s = 0;
        return 0;
    }
    errno = 0;
    double n = strtod(s, &end);
    if (errno || end == s || n <= 0 || !isfinite(n) || *end != '/')
        return HD_EINVAL;
    end++;
    double div;
    if (strcmp(end, "s") == 0)
        div = 1;
    else if (strcmp(end, "m") == 0)
        div = 60;
    else if (strcmp(end, "h") == 0)
        div = 3600;
    else if (strcmp(end, "d") == 0)
        div = 86400;
    else
        return HD_EINVAL;
    *per_s = n / div;
    return 0;
}

static char *vstr(const struct hd_conf_values *v, const char *name)
{
    const struct hd_conf_value *x = hd_conf_find(v, name);
    return x && x->set ? hd_strdup(x->str) : NULL;
}

static int64_t vint(const struct hd_conf_values *v, const char *name)
{
    const struct hd_conf_value *x = hd_conf_find(v, name);
    return x && x->set ? x->i : 0;
}

static char **vlist(const struct hd_conf_values *v, const char *name, size_t *n)
{
    const struct hd_conf_value *x = hd_conf_find(v, name);
    *n = 0;
    if (!x || !x->set || x->n_list == 0)
        return NULL;
    char **out = calloc(x->n_list, sizeof(*out));
    for (size_t i = 0; out && i < x->n_list; i++)
        out[i] = hd_strdup(x->list[i]);
    *n = out ? x->n_list : 0;
    return out;
}

static void free_list(char **l, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(l[i]);
    free(l);
}

static int valid_name(const char *s, int allow_dash)
{
    if (!s || !islower((unsigned char)s[0]))
        return 0;
    for (const char *p = s; *p; p++)
        if (!islower((unsigned char)*p) && !isdigit((unsigned char)*p) && *p != '_' &&
            !(allow_dash && *p == '-'))
            return 0;
    return strlen(s) <= 64;
}

static int section_ignoring(const struct hd_node *root, const char *name,
                            const struct hd_conf_key *keys, const char *const *ignore,
                            struct hd_conf_values *out, struct hd_diag *d)
{
    static struct hd_node empty = {.kind = HD_NODE_MAP};
    const struct hd_node *n = hd_node_get(root, name);
    const struct hd_conf_key *tables[] = {keys};
    if (!n || n->null)
        n = &empty;
    return hd_conf_check(n, tables, 1, ignore, out, d);
}

static int section(const struct hd_node *root, const char *name, const struct hd_conf_key *keys,
                   struct hd_conf_values *out, struct hd_diag *d)
{
    return section_ignoring(root, name, keys, NULL, out, d);
}

/* ---- sections ------------------------------------------------------------------------------ */

static void load_daemon(struct hd_config *c, struct hd_diag *d)
{
    struct hd_conf_values v = {0};
    section(c->root, "daemon", hd_daemon_keys, &v, d);
    c->state_dir = vstr(&v, "state_dir");
    c->drain_timeout_ms = vint(&v, "drain_timeout");
    c->timezone = vstr(&v, "timezone");
    char *lvl = vstr(&v, "log_level");
    c->log_level = lvl ? hd_log_level_parse(lvl) : HD_LOG_INFO;
    free(lvl);
    c->plugin_dir = vstr(&v, "plugin_dir");
    hd_conf_values_free(&v);
}

static void load_kafka(struct hd_config *c, struct hd_diag *d)
{
    struct hd_conf_values v = {0};
    section(c->root, "kafka", hd_kafka_keys, &v, d);
    c->brokers = vstr(&v, "brokers");
    c->group_id = vstr(&v, "group_id");
    c->group_instance_id = vstr(&v, "group_instance_id");
    c->client_id = vstr(&v, "client_id");
    c->topic_items = vstr(&v, "items_topic");
    c->topic_status = vstr(&v, "status_topic");
    c->topic_dlq = vstr(&v, "dlq_topic");
    c->max_message_bytes = vint(&v, "max_message_bytes");
    c->session_timeout_ms = vint(&v, "session_timeout");

    const struct hd_conf_value *p = hd_conf_find(&v, "properties");
    const struct hd_conf_value *sp = hd_conf_find(&v, "secret_properties");
    size_t np = p && p->set ? p->n_map : 0, ns = sp && sp->set ? sp->n_map : 0;
    if (np + ns > HD_ARRAY_LEN(c->kafka_prop_secret)) {
        hd_diag_add(d, p ? p->node : NULL, "too many kafka properties (at most %zu)",
                    HD_ARRAY_LEN(c->kafka_prop_secret));
        np = ns = 0;
    }
    c->kafka_prop_keys = calloc(np + ns + 1, sizeof(char *));
    c->kafka_prop_vals = calloc(np + ns + 1, sizeof(char *));
    for (size_t i = 0; i < np; i++) {
        c->kafka_prop_keys[c->n_kafka_props] = hd_strdup(p->map_keys[i]);
        c->kafka_prop_vals[c->n_kafka_props++] = hd_strdup(p->map_vals[i]);
        if (strstr(p->map_keys[i], "password") || strstr(p->map_keys[i], "secret"))
            hd_diag_add(d, p->node,
                        "kafka property %s looks like a secret: put it under secret_properties "
                        "as file:/path or credential:NAME",
                        p->map_keys[i]);
    }
    for (size_t i = 0; i < ns; i++) {
        char err[256];
        char *val = NULL;
        size_t len = 0;
        if (hd_secret_read(sp->map_vals[i], &val, &len, err, sizeof(err)) != 0) {
            hd_diag_add(d, sp->node, "kafka secret property %s: %s", sp->map_keys[i], err);
            continue;
        }
        c->kafka_prop_secret[c->n_kafka_props] = 1;
        c->kafka_prop_keys[c->n_kafka_props] = hd_strdup(sp->map_keys[i]);
        c->kafka_prop_vals[c->n_kafka_props++] = val;
    }
    hd_conf_values_free(&v);
}

static void load_store(struct hd_config *c, struct hd_diag *d)
{
    struct hd_conf_values v = {0};
    section(c->root, "store", hd_store_keys, &v, d);
    char *path = vstr(&v, "path");
    if (path && path[0] != '/' && c->state_dir)
        c->db_path = hd_asprintf("%s/%s", c->state_dir, path);
    else
        c->db_path = hd_strdup(path);
    free(path);
    c->commit_interval_ms = vint(&v, "commit_interval");
    c->commit_max_ops = vint(&v, "commit_max_ops");
    c->synchronous = vstr(&v, "synchronous");
    c->min_free_bytes = vint(&v, "min_free");
    c->retention_ms = vint(&v, "retention");
    const struct hd_conf_value *r = hd_conf_find(&v, "retention");
    if (c->retention_ms > 0 && c->retention_ms < SEC(86400))
        hd_diag_add(d, r ? r->node : NULL,
                    "store.retention %s: at least 1d (or 0 to keep everything): what it deletes "
                    "is the record of what went out",
                    r && r->str ? r->str : "");
    hd_conf_values_free(&v);
}

static void load_admin(struct hd_config *c, struct hd_diag *d)
{
    struct hd_conf_values v = {0};
    section(c->root, "admin", hd_admin_keys, &v, d);
    c->admin_listen = vstr(&v, "listen");
    c->metrics_auth = vstr(&v, "metrics_auth");
    const struct hd_conf_value *t = hd_conf_find(&v, "tokens");
    size_t n = t && t->set ? t->n_list : 0;
    c->tokens = calloc(n + 1, sizeof(*c->tokens));
    for (size_t i = 0; i < n; i++) {
        /* name:role:file:/path or name:role:credential:NAME */
        const char *s = t->list[i];
        const char *c1 = strchr(s, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (!c1 || !c2) {
            hd_diag_add(d, t->node, "admin token #%zu: expected name:role:file:/path", i + 1);
            continue;
        }
        char *name = hd_strndup(s, (size_t)(c1 - s));
        char *role = hd_strndup(c1 + 1, (size_t)(c2 - c1 - 1));
        if (!valid_name(name, 1))
            hd_diag_add(d, t->node, "admin token #%zu: bad name '%s' ([a-z][a-z0-9_-]*)", i + 1,
                        name);
        if (strcmp(role, "viewer") && strcmp(role, "operator") && strcmp(role, "admin"))
            hd_diag_add(d, t->node, "admin token %s: role must be one of: viewer, operator, admin",
                        name);
        for (size_t j = 0; j < c->n_tokens; j++)
            if (strcmp(c->tokens[j].name, name) == 0)
                hd_diag_add(d, t->node, "admin token %s: name used twice", name);
        char err[256];
        struct hd_admin_token *tok = &c->tokens[c->n_tokens];
        if (hd_secret_read(c2 + 1, &tok->token, &tok->token_len, err, sizeof(err)) != 0) {
            hd_diag_add(d, t->node, "admin token %s: %s", name, err);
            free(name);
            free(role);
            continue;
        }
        if (tok->token_len < 16)
            hd_diag_add(d, t->node, "admin token %s: shorter than 16 characters", name);
        tok->name = name;
        tok->role = role;
        c->n_tokens++;
    }
    hd_conf_values_free(&v);
}

static void load_instance(struct hd_config *c, const char *id, int key_line,
                          const struct hd_node *node, const struct hd_registry *reg,
                          struct hd_diag *d)
{
    struct hd_instance_conf *ic = &c->instances[c->n_instances];
    const char *colon = strchr(id, ':');
    memset(ic, 0, sizeof(*ic));
    if (!colon) {
        hd_diag_addf(d, c->path, key_line, 1,
                     "channel '%s': the id must be <adapter>:<name>, e.g. webhook:ops", id);
        return;
    }
    ic->id = hd_strdup(id);
    ic->adapter = hd_strndup(id, (size_t)(colon - id));
    ic->name = hd_strdup(colon + 1);
    ic->node = node;
    if (!valid_name(ic->name, 1))
        hd_diag_addf(d, c->path, key_line, 1,
                     "channel '%s': the name must match [a-z][a-z0-9_-]* (at most 64)", id);
    ic->chan = hd_registry_find(reg, ic->adapter);
    if (!ic->chan) {
        hd_diag_addf(d, c->path, key_line, 1,
                     "channel '%s': no adapter named '%s' (heraldd --list-channels shows them)", id,
                     ic->adapter);
        free(ic->id);
        free(ic->adapter);
        free(ic->name);
        memset(ic, 0, sizeof(*ic));
        return;
    }
    static struct hd_node empty = {.kind = HD_NODE_MAP};
    if (!node || node->null)
        node = &empty;
    const struct hd_conf_key *core_t[] = {hd_core_channel_keys};
    const struct hd_conf_key *own_t[] = {ic->chan->keys};
    /* Each table ignores the other's keys, so an unknown key is reported once, by the core. */
    const char *ignore_own[128], *ignore_core[128];
    size_t ni = 0, nc = 0;
    for (const struct hd_conf_key *k = ic->chan->keys; k && k->name && ni < 127; k++)
        ignore_own[ni++] = k->name;
    ignore_own[ni] = NULL;
    for (const struct hd_conf_key *k = hd_core_channel_keys; k->name && nc < 127; k++)
        ignore_core[nc++] = k->name;
    ignore_core[nc] = NULL;
    const struct hd_conf_key *both[] = {hd_core_channel_keys, ic->chan->keys};
    struct hd_conf_values all = {0};
    /* One pass over both tables finds unknown and duplicate keys once... */
    hd_conf_check(node, both, ic->chan->keys ? 2 : 1, NULL, &all, d);
    hd_conf_values_free(&all);
    /* ...then each table alone gives its typed values (errors are already reported). */
    struct hd_diag quiet;
    hd_diag_init(&quiet);
    hd_conf_check(node, core_t, 1, ignore_own, &ic->core, &quiet);
    if (ic->chan->keys)
        hd_conf_check(node, own_t, 1, ignore_core, &ic->own, &quiet);
    hd_diag_free(&quiet);

    ic->enabled = (int)vint(&ic->core, "enabled");
    ic->max_in_flight = (int)vint(&ic->core, "max_in_flight");
    const struct hd_conf_value *rl = hd_conf_find(&ic->core, "rate_limit");
    if (rl && rl->set && hd_parse_rate(rl->str, &ic->rate_per_s) != 0)
        hd_diag_add(d, rl->node ? rl->node : node,
                    "channel %s: rate_limit must look like 50/s, 20/h, 100/d or 0", id);
    ic->burst = (int)vint(&ic->core, "burst");
    ic->timeout_ms = vint(&ic->core, "timeout");
    ic->connect_timeout_ms = vint(&ic->core, "connect_timeout");
    ic->retry_base_ms = vint(&ic->core, "retry_base");
    ic->retry_cap_ms = vint(&ic->core, "retry_cap");
    ic->max_attempts = (int)vint(&ic->core, "max_attempts");
    ic->max_age_ms = vint(&ic->core, "max_age");
    ic->breaker_failures = (int)vint(&ic->core, "breaker_failures");
    ic->breaker_reset_ms = vint(&ic->core, "breaker_reset");
    ic->breaker_reset_max_ms = vint(&ic->core, "breaker_reset_max");
    ic->max_hold_ms = vint(&ic->core, "max_hold");
    if (ic->retry_cap_ms < ic->retry_base_ms)
        hd_diag_add(d, node, "channel %s: retry_cap is below retry_base", id);
    if (ic->breaker_reset_max_ms < ic->breaker_reset_ms)
        hd_diag_add(d, node, "channel %s: breaker_reset_max is below breaker_reset", id);
    const struct hd_conf_value *rev = hd_conf_find(&ic->core, "on_revision");
    ic->on_revision = ic->chan->default_on_revision;
    if (rev && rev->set && rev->str) {
        if (strcmp(rev->str, "update") == 0)
            ic->on_revision = HD_REV_UPDATE;
        else if (strcmp(rev->str, "ignore") == 0)
            ic->on_revision = HD_REV_IGNORE;
        else
            ic->on_revision = HD_REV_RETRACT_AND_REPUBLISH;
        if (ic->on_revision == HD_REV_UPDATE && !(ic->chan->caps & HD_CAP_UPDATE))
            hd_diag_add(d, rev->node ? rev->node : node,
                        "channel %s: on_revision update, but adapter %s cannot update", id,
                        ic->adapter);
        if (ic->on_revision == HD_REV_RETRACT_AND_REPUBLISH && !(ic->chan->caps & HD_CAP_RETRACT))
            hd_diag_add(d, rev->node ? rev->node : node,
                        "channel %s: on_revision retract_and_republish, but adapter %s cannot "
                        "retract",
                        id, ic->adapter);
    }
    ic->depends_on = vlist(&ic->core, "depends_on", &ic->n_depends_on);
    ic->targets = vlist(&ic->core, "targets", &ic->n_targets);
    const struct hd_conf_value *tf = hd_conf_find(&ic->core, "targets_from");
    ic->targets_from = HD_TARGETS_NONE;
    if (tf && tf->str && strcmp(tf->str, "streets") == 0)
        ic->targets_from = HD_TARGETS_STREETS;
    else if (tf && tf->str && strcmp(tf->str, "boards") == 0)
        ic->targets_from = HD_TARGETS_BOARDS;
    if ((ic->chan->caps & HD_CAP_MULTI_TARGET) && ic->n_targets == 0)
        hd_diag_add(d, node, "channel %s: adapter %s delivers per target: list its targets", id,
                    ic->adapter);
    if (!(ic->chan->caps & HD_CAP_MULTI_TARGET) && ic->n_targets > 0)
        hd_diag_add(d, node, "channel %s: adapter %s has a single target: remove targets", id,
                    ic->adapter);
    const struct hd_conf_value *x;
    x = hd_conf_find(&ic->core, "ca_file");
    ic->ca_file = x && x->set ? x->str : NULL;
    x = hd_conf_find(&ic->core, "inbound_listen");
    ic->inbound_listen = x && x->set ? x->str : NULL;
    x = hd_conf_find(&ic->core, "inbound_path");
    ic->inbound_path = x && x->set ? x->str : NULL;
    if (ic->inbound_listen && !ic->chan->inbound)
        hd_diag_add(d, node, "channel %s: adapter %s takes no callbacks: remove inbound_listen", id,
                    ic->adapter);
    c->n_instances++;
}

static void load_channels(struct hd_config *c, const struct hd_registry *reg, struct hd_diag *d)
{
    const struct hd_node *ch = hd_node_get(c->root, "channels");
    if (!ch || ch->null) {
        hd_diag_addf(d, c->path, 1, 1, "no channels: add a channels: section");
        return;
    }
    if (ch->kind != HD_NODE_MAP) {
        hd_diag_add(d, ch, "channels: expected a mapping of <adapter>:<name> to settings, got %s",
                    hd_node_kind_name(ch->kind));
        return;
    }
    c->instances = calloc(ch->n + 1, sizeof(*c->instances));
    for (size_t i = 0; i < ch->n; i++) {
        for (size_t j = 0; j < i; j++)
            if (strcmp(ch->keys[i], ch->keys[j]) == 0)
                hd_diag_addf(d, c->path, ch->key_lines[i], 1,
                             "channel %s is defined twice (first at line %d)", ch->keys[i],
                             ch->key_lines[j]);
        if (ch->kids[i]->kind != HD_NODE_MAP && !ch->kids[i]->null) {
            hd_diag_add(d, ch->kids[i], "channel %s: expected a mapping of settings", ch->keys[i]);
            continue;
        }
        load_instance(c, ch->keys[i], ch->key_lines[i], ch->kids[i], reg, d);
    }
    /* dependencies name known instances and have no cycle */
    for (size_t i = 0; i < c->n_instances; i++) {
        struct hd_instance_conf *ic = &c->instances[i];
        for (size_t k = 0; k < ic->n_depends_on; k++) {
            if (!hd_config_instance(c, ic->depends_on[k]))
                hd_diag_add(d, ic->node, "channel %s depends on unknown channel %s", ic->id,
                            ic->depends_on[k]);
            else if (strcmp(ic->depends_on[k], ic->id) == 0)
                hd_diag_add(d, ic->node, "channel %s depends on itself", ic->id);
        }
    }
    for (size_t i = 0; i < c->n_instances; i++) {
        /* walk the dependency chain: longer than the number of instances means a cycle */
        const struct hd_instance_conf *cur = &c->instances[i];
        size_t steps = 0;
        while (cur && cur->n_depends_on > 0 && steps <= c->n_instances) {
            cur = hd_config_instance(c, cur->depends_on[0]);
            steps++;
        }
        if (steps > c->n_instances)
            hd_diag_add(d, c->instances[i].node, "channel %s: depends_on forms a cycle",
                        c->instances[i].id);
    }
}

static void load_routes(struct hd_config *c, struct hd_diag *d)
{
    struct hd_conf_values v = {0};
    const struct hd_node *rt = hd_node_get(c->root, "routing");
    static const char *const skip_rules[] = {"rules", NULL};
    section_ignoring(c->root, "routing", hd_routing_keys, skip_rules, &v, d);
    c->item_targets_override = (int)vint(&v, "item_targets_override");
    hd_conf_values_free(&v);
    const struct hd_node *rules = rt ? hd_node_get(rt, "rules") : NULL;
    if (!rules || rules->null || rules->kind != HD_NODE_SEQ) {
        if (rules && !rules->null)
            hd_diag_add(d, rules, "routing.rules: expected a list of rules");
        return;
    }
    c->routes = calloc(rules->n + 1, sizeof(*c->routes));
    for (size_t i = 0; i < rules->n; i++) {
        const struct hd_node *r = rules->kids[i];
        const struct hd_conf_key *rt_t[] = {hd_route_keys};
        static const char *const skip_match[] = {"match", NULL};
        struct hd_conf_values rv = {0}, mv = {0};
        if (hd_conf_check(r, rt_t, 1, skip_match, &rv, d) > 0 && r->kind != HD_NODE_MAP) {
            hd_conf_values_free(&rv);
            continue;
        }
        struct hd_route *route = &c->routes[c->n_routes++];
        route->node = r;
        route->name = vstr(&rv, "name");
        route->to = vlist(&rv, "to", &route->n_to);
        for (size_t k = 0; k < route->n_to; k++)
            if (!hd_config_instance(c, route->to[k]))
                hd_diag_add(d, hd_node_get(r, "to"), "route %s: unknown channel %s",
                            route->name ? route->name : "?", route->to[k]);
        const struct hd_node *m = hd_node_get(r, "match");
        if (m && !m->null) {
            const struct hd_conf_key *mt[] = {hd_match_keys};
            hd_conf_check(m, mt, 1, NULL, &mv, d);
            route->category = vlist(&mv, "category", &route->n_category);
            route->publisher = vlist(&mv, "publisher", &route->n_publisher);
            route->publisher_kind = vlist(&mv, "publisher_kind", &route->n_publisher_kind);
            route->column = vlist(&mv, "column", &route->n_column);
            route->priority = vlist(&mv, "priority", &route->n_priority);
        }
        hd_conf_values_free(&mv);
        hd_conf_values_free(&rv);
    }
}

int hd_config_load(const char *path, struct hd_registry *reg, struct hd_config **out,
                   struct hd_diag *d)
{
    struct hd_config *c = calloc(1, sizeof(*c));
    int before = d->n_errors;
    if (!c)
        return HD_ENOMEM;
    c->path = hd_strdup(path);
    if (hd_conf_parse_file(path, &c->root, d) != 0) {
        hd_config_free(c);
        return HD_EINVAL;
    }
    if (c->root->kind != HD_NODE_MAP) {
        hd_diag_add(d, c->root, "expected a mapping with sections %s", "daemon, kafka, ...");
        hd_config_free(c);
        return HD_EINVAL;
    }
    for (size_t i = 0; i < c->root->n; i++) {
        int known = 0;
        for (const char *const *s = top_sections; *s; s++)
            known |= strcmp(*s, c->root->keys[i]) == 0;
        if (!known)
            hd_diag_addf(d, c->path, c->root->key_lines[i], 1,
                         "unknown section '%s' (sections: daemon, kafka, store, admin, channels, "
                         "routing)",
                         c->root->keys[i]);
        for (size_t j = 0; j < i; j++)
            if (strcmp(c->root->keys[i], c->root->keys[j]) == 0)
                hd_diag_addf(d, c->path, c->root->key_lines[i], 1,
                             "section '%s' appears twice (first at line %d)", c->root->keys[i],
                             c->root->key_lines[j]);
    }
    load_daemon(c, d);
    if (c->plugin_dir)
        hd_registry_load_dir(reg, c->plugin_dir, d);
    load_kafka(c, d);
    load_store(c, d);
    load_admin(c, d);
    load_channels(c, reg, d);
    load_routes(c, d);
    if (d->n_errors > before) {
        hd_config_free(c);
        return HD_EINVAL;
    }
    *out = c;
    return 0;
}

const struct hd_instance_conf *hd_config_instance(const struct hd_config *c, const char *id)
{
    for (size_t i = 0; i < c->n_instances; i++)
        if (strcmp(c->instances[i].id, id) == 0)
            return &c->instances[i];
    return NULL;
}

void hd_config_free(struct hd_config *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n_instances; i++) {
        struct hd_instance_conf *ic = &c->instances[i];
        free(ic->id);
        free(ic->adapter);
        free(ic->name);
        hd_conf_values_free(&ic->core);
        hd_conf_values_free(&ic->own);
        free_list(ic->depends_on, ic->n_depends_on);
        free_list(ic->targets, ic->n_targets);
    }
    free(c->instances);
    for (size_t i = 0; i < c->n_routes; i++) {
        struct hd_route *r = &c->routes[i];
        free(r->name);
        free_list(r->category, r->n_category);
        free_list(r->publisher, r->n_publisher);
        free_list(r->publisher_kind, r->n_publisher_kind);
        free_list(r->column, r->n_column);
        free_list(r->priority, r->n_priority);
        free_list(r->to, r->n_to);
    }
    free(c->routes);
    for (size_t i = 0; i < c->n_tokens; i++) {
        free(c->tokens[i].name);
        free(c->tokens[i].role);
        if (c->tokens[i].token)
            explicit_bzero(c->tokens[i].token, c->tokens[i].token_len);
        free(c->tokens[i].token);
    }
    free(c->tokens);
    for (size_t i = 0; i < c->n_kafka_props; i++) {
        if (c->kafka_prop_secret[i] && c->kafka_prop_vals[i])
            explicit_bzero(c->kafka_prop_vals[i], strlen(c->kafka_prop_vals[i]));
        free(c->kafka_prop_keys[i]);
        free(c->kafka_prop_vals[i]);
    }
    free(c->kafka_prop_keys);
    free(c->kafka_prop_vals);
    free(c->state_dir);
    free(c->timezone);
    free(c->plugin_dir);
    free(c->brokers);
    free(c->group_id);
    free(c->group_instance_id);
    free(c->client_id);
    free(c->topic_items);
    free(c->topic_status);
    free(c->topic_dlq);
    free(c->db_path);
    free(c->synchronous);
    free(c->admin_listen);
    free(c->metrics_auth);
    hd_node_free(c->root);
    free(c->path);
    free(c);
}
