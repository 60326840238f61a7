/*
 * heraldd's life: start every part on one libevent loop in dependency order, run, and stop in the
 * reverse order (docs/design.md, "Shutdown"). Signals arrive through libevent: SIGTERM/SIGINT
 * drain, SIGHUP reloads channel settings. systemd learns READY once the store is open and the
 * consumer subscribed, and gets watchdog pings from the loop itself.
 */
#include <errno.h>
#include <signal.h>
#include <time.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>
#include <jansson.h>
#include <systemd/sd-daemon.h>

#include "admin.h"
#include "common.h"
#include "config.h"
#include "daemon.h"
#include "engine.h"
#include "http.h"
#include "intake.h"
#include "kafka.h"
#include "outbox.h"
#include "registry.h"
#include "store.h"

struct hd_daemon {
    const struct hd_daemon_opts *opts;
    struct hd_config *cfg;
    struct hd_registry *reg;
    struct event_base *base;
    struct hd_store *st;
    struct hd_http *http;
    struct hd_engine *e;
    struct hd_outbox *ob;
    struct hd_intake *in;
    struct hd_kafka *k;
    struct hd_admin *admin;
    struct event *sig_term, *sig_int, *sig_hup;
    struct event *tick;
    uint64_t watchdog_usec;
    int64_t last_watchdog;
    int stopping;
    int exit_code;
    int disk_paused;
    int store_failed;
    int ready_sent;
    /* store.retention: where the pruning pass is, when the next step runs, what it deleted,
     * the last cutoff and when (monotonic) it was taken */
    struct hd_prune_cursor prune;
    int64_t prune_next_ms;
    int64_t pruned;       /* in the current pass, for its log line */
    uint64_t pruned_rows; /* since start, for /metrics */
    int64_t prune_cutoff, prune_cutoff_mono, prune_retention_ms;
    int prune_clock_ahead;
    struct hd_config **retired; /* configurations replaced by reloads, freed at exit */
    size_t n_retired;
};

static void stop(struct hd_daemon *d, int code, const char *why);

/* ---- callbacks from the parts --------------------------------------------------------------- */

static void on_produced(void *arg, int kind, int64_t id, rd_kafka_resp_err_t err)
{
    struct hd_daemon *d = arg;
    hd_outbox_produced(d->ob, kind, id, err);
}

/* Opening a big store (its integrity check, a migration) can outlast systemd's start timeout:
 * ask for more time while it works, and say what it does. */
static void on_store_progress(void *arg, const char *what)
{
    hd_info("store: still %s", what);
    sd_notifyf(0, "EXTEND_TIMEOUT_USEC=%llu\nSTATUS=%s", 120ULL * 1000000, what);
}

static void on_store_failure(void *arg, int err, const char *msg)
{
    struct hd_daemon *d = arg;
    if (d->store_failed)
        return;
    d->store_failed = 1;
    hd_err("ALERT store: %s: the daemon's view is ahead of the database; stopping so that a "
           "restart resumes from what is on disk (nothing accepted is lost)",
           msg);
    if (d->k)
        hd_kafka_pause(d->k, "store failure");
    stop(d, 75, "store failure");
}

/* ---- periodic tick: watchdog, disk space, status line -------------------------------------- */

static void check_disk(struct hd_daemon *d)
{
    struct statvfs sv;
    char dir[4096];
    hd_strlcpy(dir, hd_store_path(d->st), sizeof(dir));
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = '\0';
    else
        hd_strlcpy(dir, ".", sizeof(dir));
    if (statvfs(dir, &sv) != 0)
        return;
    int64_t free_b = (int64_t)sv.f_bavail * (int64_t)sv.f_frsize;
    if (!d->disk_paused && free_b < d->cfg->min_free_bytes) {
        d->disk_paused = 1;
        hd_err("ALERT store: only %lld bytes free on %s (min_free %lld): pausing intake",
               (long long)free_b, dir, (long long)d->cfg->min_free_bytes);
        hd_kafka_pause(d->k, "store disk nearly full");
    } else if (d->disk_paused && free_b > d->cfg->min_free_bytes + d->cfg->min_free_bytes / 2) {
        d->disk_paused = 0;
        hd_info("store: %lld bytes free again: resuming intake", (long long)free_b);
        hd_kafka_resume(d->k);
    }
}

/* One step of store.retention per tick while there is a backlog (500 deliveries: a few
 * milliseconds of the loop), then a look every ten minutes. */
#define PRUNE_STEP    500
#define PRUNE_IDLE_MS (10 * 60 * 1000)
#define PRUNE_SLACK   60000

/* The cutoff: retention before now, by the wall clock, but never ahead of the time that really
 * passed since the last one (a clock set years ahead must not delete everything); a clock set
 * back starts the pass over (what changed since carries times behind the cursor). */
static int64_t prune_cutoff(struct hd_daemon *d, int64_t mono)
{
    int64_t cutoff = hd_now_ms() - d->cfg->retention_ms;
    if (d->prune_retention_ms != d->cfg->retention_ms) { /* first, or changed by a reload */
        d->prune_retention_ms = d->cfg->retention_ms;
        d->prune_cutoff = 0;
        d->prune = (struct hd_prune_cursor){0, 0};
    }
    if (d->prune_cutoff) {
        int64_t most = d->prune_cutoff + (mono - d->prune_cutoff_mono) + PRUNE_SLACK;
        if (cutoff > most) {
            if (!d->prune_clock_ahead)
                hd_warn("store: retention: the clock moved ahead by %llds; the cutoff follows "
                        "the time that passed instead, until the next start",
                        (long long)((cutoff - most) / 1000));
            d->prune_clock_ahead = 1;
            cutoff = most - PRUNE_SLACK;
        } else if (cutoff < d->prune_cutoff - PRUNE_SLACK) {
            hd_warn("store: retention: the clock moved back; starting the pass over");
            d->prune = (struct hd_prune_cursor){0, 0};
        }
    }
    d->prune_cutoff = cutoff;
    d->prune_cutoff_mono = mono;
    return cutoff;
}

static void prune(struct hd_daemon *d, int64_t now)
{
    if (!d->cfg->retention_ms || d->stopping || d->store_failed || now < d->prune_next_ms)
        return;
    int64_t deleted = 0;
    int n = hd_store_prune_step(d->st, prune_cutoff(d, now), PRUNE_STEP, &d->prune, &deleted);
    d->pruned += deleted;
    d->pruned_rows += (uint64_t)deleted;
    if (n == PRUNE_STEP)
        return; /* more next tick */
    d->prune_next_ms = now + PRUNE_IDLE_MS;
    if (d->pruned)
        hd_info("store: retention: deleted %lld row(s) of attempts, state history and dead "
                "letters older than %lldd",
                (long long)d->pruned, (long long)(d->cfg->retention_ms / 86400000));
    d->pruned = 0;
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    struct hd_daemon *d = arg;
    int64_t now = hd_mono_ms();
    if (d->watchdog_usec && now - d->last_watchdog >= (int64_t)(d->watchdog_usec / 2000)) {
        sd_notify(0, "WATCHDOG=1");
        d->last_watchdog = now;
    }
    if (!d->stopping)
        check_disk(d);
    prune(d, now);
    if (!d->ready_sent && hd_kafka_joined(d->k)) {
        d->ready_sent = 1;
        hd_info("heraldd: consumer group joined");
    }
    sd_notifyf(0, "STATUS=consumed=%llu in_flight=%zu outbox=%zu%s",
               (unsigned long long)hd_kafka_consumed(d->k), hd_engine_in_flight(d->e),
               hd_outbox_in_flight(d->ob), hd_kafka_paused(d->k) ? " intake=paused" : "");
}

/* ---- signals ----------------------------------------------------------------------------------
 */

static void on_drained(void *arg)
{
    struct hd_daemon *d = arg;
    event_base_loopexit(d->base, NULL);
}

static void stop(struct hd_daemon *d, int code, const char *why)
{
    if (d->stopping)
        return;
    d->stopping = 1;
    d->exit_code = code;
    hd_info("heraldd: stopping (%s)", why);
    sd_notify(0, "STOPPING=1");
    if (d->admin)
        hd_admin_set_ready(d->admin, 0);
    if (d->k)
        hd_kafka_stop_intake(d->k);
    hd_engine_drain(d->e, d->cfg->drain_timeout_ms, on_drained, d);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    struct hd_daemon *d = arg;
    if (sig == SIGHUP) {
        hd_daemon_reload(d);
        return;
    }
    if (d->stopping) {
        hd_warn("heraldd: second signal: stopping now");
        event_base_loopexit(d->base, NULL);
        return;
    }
    stop(d, 0, sig == SIGTERM ? "SIGTERM" : "SIGINT");
}

void hd_daemon_request_stop(struct hd_daemon *d, int code, const char *why)
{
    stop(d, code, why);
}

struct event_base *hd_daemon_base(struct hd_daemon *d)
{
    return d->base;
}

struct hd_engine *hd_daemon_engine(struct hd_daemon *d)
{
    return d->e;
}

struct hd_store *hd_daemon_store(struct hd_daemon *d)
{
    return d->st;
}

uint64_t hd_daemon_pruned_rows(const struct hd_daemon *d)
{
    return d->pruned_rows;
}

struct hd_kafka *hd_daemon_kafka(struct hd_daemon *d)
{
    return d->k;
}

struct hd_intake *hd_daemon_intake(struct hd_daemon *d)
{
    return d->in;
}

const struct hd_config *hd_daemon_config(struct hd_daemon *d)
{
    return d->cfg;
}

/* ---- reload -----------------------------------------------------------------------------------
 */

static int str_differs(const char *a, const char *b)
{
    return (a == NULL) != (b == NULL) || (a && strcmp(a, b) != 0);
}

/* Settings read once at start: a reload that changes one says it waits for the next start
 * (the rest of the file is taken). */
static void warn_startup_only(const struct hd_config *o, const struct hd_config *n)
{
    char list[512] = "";
    size_t len = 0;
#define CHANGED(cond, name)                                                                        \
    do {                                                                                           \
        if ((cond) && len < sizeof(list))                                                          \
            len +=                                                                                 \
                (size_t)snprintf(list + len, sizeof(list) - len, "%s%s", len ? ", " : "", name);   \
    } while (0)
    /* (a new daemon.state_dir shows as store.path; its credentials/ is the new one at once) */
    CHANGED(str_differs(o->plugin_dir, n->plugin_dir), "daemon.plugin_dir");
    CHANGED(str_differs(o->timezone, n->timezone), "daemon.timezone");
    CHANGED(str_differs(o->brokers, n->brokers), "kafka.brokers");
    CHANGED(str_differs(o->group_id, n->group_id), "kafka.group_id");
    CHANGED(str_differs(o->group_instance_id, n->group_instance_id), "kafka.group_instance_id");
    CHANGED(str_differs(o->client_id, n->client_id), "kafka.client_id");
    CHANGED(str_differs(o->topic_items, n->topic_items) ||
                str_differs(o->topic_status, n->topic_status) ||
                str_differs(o->topic_dlq, n->topic_dlq),
            "kafka topics");
    CHANGED(o->session_timeout_ms != n->session_timeout_ms, "kafka.session_timeout");
    int props = o->n_kafka_props != n->n_kafka_props; /* compared as a set: order is no change */
    for (size_t i = 0; !props && i < n->n_kafka_props; i++) {
        size_t j = 0;
        while (j < o->n_kafka_props && strcmp(o->kafka_prop_keys[j], n->kafka_prop_keys[i]) != 0)
            j++;
        props = j == o->n_kafka_props || str_differs(o->kafka_prop_vals[j], n->kafka_prop_vals[i]);
    }
    CHANGED(props, "kafka.properties");
    CHANGED(str_differs(o->db_path, n->db_path), "store.path");
    CHANGED(o->commit_interval_ms != n->commit_interval_ms, "store.commit_interval");
    CHANGED(o->commit_max_ops != n->commit_max_ops, "store.commit_max_ops");
    CHANGED(str_differs(o->synchronous, n->synchronous), "store.synchronous");
    CHANGED(str_differs(o->admin_listen, n->admin_listen), "admin.listen");
    for (size_t i = 0; i < n->n_instances; i++) {
        const struct hd_instance_conf *a = hd_config_instance(o, n->instances[i].id);
        char name[200]; /* (inbound_path is taken at once: the listener reads the new one) */
        snprintf(name, sizeof(name), "channels.%s.inbound_listen", n->instances[i].id);
        CHANGED(a && str_differs(a->inbound_listen, n->instances[i].inbound_listen), name);
    }
#undef CHANGED
    if (len)
        hd_warn("heraldd: reload: these settings take effect at the next start, not now: %s", list);
}

void hd_daemon_reload(struct hd_daemon *d)
{
    struct hd_diag diag;
    struct hd_config *nc = NULL;
    hd_diag_init(&diag);
    sd_notify(0, "RELOADING=1");
    hd_info("heraldd: SIGHUP: reloading %s", d->cfg->path);
    if (hd_config_load(d->cfg->path, d->reg, &nc, &diag) != 0) {
        hd_err("heraldd: reload refused, keeping the running configuration:\n%s",
               diag.text ? diag.text : "");
        hd_diag_free(&diag);
        sd_notify(0, "READY=1");
        return;
    }
    hd_diag_free(&diag);
    if (hd_engine_reload(d->e, nc) != 0) {
        hd_config_free(nc);
        sd_notify(0, "READY=1");
        return;
    }
    warn_startup_only(d->cfg, nc);
    hd_intake_set_config(d->in, nc);
    /* instances may still use the old configuration until their ops finish: keep it */
    struct hd_config **r = realloc(d->retired, (d->n_retired + 1) * sizeof(*r));
    if (r) {
        d->retired = r;
        d->retired[d->n_retired++] = d->cfg;
    }
    d->cfg = nc;
    hd_log_set_level(nc->log_level);
    sd_notify(0, "READY=1");
}

/* ---- run ------------------------------------------------------------------------------------- */

static int write_ready_file(struct hd_daemon *d)
{
    if (!d->opts->ready_file)
        return 0;
    char tmp[4096];
    snprintf(tmp, sizeof(tmp), "%s.tmp", d->opts->ready_file);
    json_t *j = json_pack("{s:i, s:s}", "pid", (int)getpid(), "store", hd_store_path(d->st));
    if (d->admin)
        json_object_set_new(j, "admin", json_string(hd_admin_url(d->admin)));
    json_t *inb = json_object();
    for (size_t i = 0; i < d->cfg->n_instances; i++) {
        const char *u = hd_engine_inbound_url(d->e, i);
        if (u)
            json_object_set_new(inb, d->cfg->instances[i].id, json_string(u));
    }
    json_object_set_new(j, "inbound", inb);
    int rc = json_dump_file(j, tmp, JSON_COMPACT);
    json_decref(j);
    if (rc != 0 || rename(tmp, d->opts->ready_file) != 0) {
        hd_err("heraldd: cannot write %s: %s", d->opts->ready_file, strerror(errno));
        return HD_EIO;
    }
    return 0;
}

int hd_daemon_run(struct hd_config *cfg, struct hd_registry *reg, const struct hd_daemon_opts *o,
                  struct hd_daemon_hooks *hooks)
{
    struct hd_daemon *d = calloc(1, sizeof(*d));
    char err[1024] = "";
    int code = 1;
    if (!d)
        return 1;
    d->opts = o;
    d->cfg = cfg;
    d->reg = reg;
    hd_log_set_level(cfg->log_level);
    /* quota days and report years follow the configured zone; logs are in UTC (journald) */
    if (cfg->timezone && *cfg->timezone) {
        setenv("TZ", cfg->timezone, 1);
        tzset();
    }
    evthread_use_pthreads();
    d->base = o->base ? o->base : event_base_new();
    if (!d->base)
        goto out;

    struct hd_store_opts so = {
        .path = cfg->db_path,
        .commit_interval_ms = cfg->commit_interval_ms,
        .commit_max_ops = cfg->commit_max_ops,
        .sync_full = !cfg->synchronous || strcmp(cfg->synchronous, "normal") != 0,
        .status_topic = cfg->topic_status,
        .progress = on_store_progress,
    };
    if (hd_store_open(d->base, &so, &d->st, err, sizeof(err)) != 0) {
        hd_err("heraldd: store: %s", err);
        goto out;
    }
    hd_store_on_failure(d->st, on_store_failure, d);
    hd_info("heraldd %s: store %s (synchronous=%s, commit_interval=%lldms)", HERALD_VERSION,
            cfg->db_path, so.sync_full ? "full" : "normal", (long long)cfg->commit_interval_ms);
    if (hd_http_create(d->base, &d->http) != 0) {
        hd_err("heraldd: cannot create the HTTP client");
        goto out;
    }
    if (hd_engine_create(d->base, cfg, d->st, d->http, &d->e, err, sizeof(err)) != 0 ||
        hd_engine_start(d->e, err, sizeof(err)) != 0) {
        hd_err("heraldd: engine: %s", err);
        goto out;
    }
    if (hd_outbox_create(d->base, d->st, cfg->topic_status, cfg->topic_dlq, &d->ob) != 0 ||
        hd_intake_create(cfg, d->st, d->e, d->ob, &d->in) != 0)
        goto out;
    /* the consumer hands messages to intake; the producer reports to the daemon */
    struct hd_kafka_callbacks kc = {.intake = hd_intake_message,
                                    .intake_arg = d->in,
                                    .produced = on_produced,
                                    .produced_arg = d};
    if (hd_kafka_create(d->base, cfg, d->st, &kc, &d->k, err, sizeof(err)) != 0) {
        hd_err("heraldd: kafka: %s", err);
        goto out;
    }
    hd_outbox_set_kafka(d->ob, d->k);
    hd_outbox_start(d->ob);
    if (hd_admin_create(d, cfg, &d->admin, err, sizeof(err)) != 0) {
        hd_err("heraldd: admin: %s", err);
        goto out;
    }
    if (hd_kafka_start(d->k, err, sizeof(err)) != 0) {
        hd_err("heraldd: kafka: %s", err);
        goto out;
    }
    d->sig_term = evsignal_new(d->base, SIGTERM, on_signal, d);
    d->sig_int = evsignal_new(d->base, SIGINT, on_signal, d);
    d->sig_hup = evsignal_new(d->base, SIGHUP, on_signal, d);
    event_add(d->sig_term, NULL);
    event_add(d->sig_int, NULL);
    event_add(d->sig_hup, NULL);
    signal(SIGPIPE, SIG_IGN);
    if (sd_watchdog_enabled(0, &d->watchdog_usec) <= 0)
        d->watchdog_usec = 0;
    d->tick = event_new(d->base, -1, EV_PERSIST, on_tick, d);
    struct timeval one = {1, 0};
    if (d->watchdog_usec && d->watchdog_usec < 2000000) {
        one.tv_sec = 0;
        one.tv_usec = (suseconds_t)(d->watchdog_usec / 4);
    }
    event_add(d->tick, &one);
    hd_admin_set_ready(d->admin, 1);
    write_ready_file(d);
    sd_notify(0, "READY=1");
    hd_info("heraldd: running: %zu channel instance(s), consuming %s from %s", cfg->n_instances,
            cfg->topic_items, cfg->brokers);
    if (hooks && hooks->started)
        hooks->started(hooks->arg, d);
    event_base_dispatch(d->base);
    code = d->exit_code;
    hd_info("heraldd: stopped, exit code %d", code);

out:
    /* teardown, in this order: intake, adapters, curl, Kafka consumer, store, events, base */
    if (d->admin)
        hd_admin_destroy(d->admin);
    if (d->k)
        hd_kafka_close(d->k);
    if (d->e && d->st && hd_store_flush(d->st) != 0 && code == 0)
        code = 75; /* the last batch did not reach the disk: let systemd start us again */
    if (d->k)
        hd_kafka_flush(d->k, 5000); /* status events: their reports delete outbox rows */
    if (d->st)
        hd_store_on_failure(d->st, NULL, NULL); /* the handler needs Kafka, going now */
    hd_engine_destroy(d->e);
    hd_http_destroy(d->http);
    hd_kafka_destroy(d->k);
    hd_intake_destroy(d->in);
    hd_outbox_destroy(d->ob);
    hd_store_close(d->st);
    if (d->sig_term)
        event_free(d->sig_term);
    if (d->sig_int)
        event_free(d->sig_int);
    if (d->sig_hup)
        event_free(d->sig_hup);
    if (d->tick)
        event_free(d->tick);
    if (d->base && !o->base)
        event_base_free(d->base);
    /* the first configuration is the caller's; reloaded ones are ours */
    if (d->cfg != cfg)
        hd_config_free(d->cfg);
    for (size_t i = 0; i < d->n_retired; i++)
        if (d->retired[i] != cfg)
            hd_config_free(d->retired[i]);
    free(d->retired);
    free(d);
    return code;
}
