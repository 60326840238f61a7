/*
 * heraldctl's commands about the daemon, items and deliveries: status, items, show, deliveries,
 * and the actions on deliveries, items and channels (retry, cancel, release, resolve, retract,
 * pause, resume, unpark). Each prints a table on a terminal (or plain aligned text in a pipe) and
 * the server's JSON with --json.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

#define PATH_LEN 4096

/* "2 delivered, 1 failed" from {"delivered": 2, "failed": 1} */
static void summarize(json_t *counts, char *out, size_t len)
{
    static const char *const order[] = {
        "failed",    "manual_action", "parked",     "waiting_retry", "pending",
        "held",      "sending",       "publishing", "reconciling",   "retracting",
        "delivered", "retracted",     "expired",    "cancelled",     "removed_externally"};
    out[0] = '\0';
    for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
        json_int_t n = json_integer_value(json_object_get(counts, order[i]));
        if (n > 0) {
            size_t l = strlen(out);
            snprintf(out + l, len - l, "%s%lld %s", l ? ", " : "", (long long)n, order[i]);
        }
    }
    if (!out[0])
        snprintf(out, len, "-");
}

/* Why a delivery is in its state: the detail, or the last attempt's answer. */
static void why(json_t *d, char *out, size_t len)
{
    json_t *a = json_object_get(d, "last_attempt");
    const char *detail = ctl_s(d, "detail"), *reason = ctl_s(d, "reason");
    char http[32] = "";
    if (json_is_integer(json_object_get(a, "http_status")))
        snprintf(http, sizeof(http), "HTTP %lld",
                 (long long)json_integer_value(json_object_get(a, "http_status")));
    const char *msg = ctl_s(a, "message");
    if (http[0] && strncmp(msg, http, strlen(http)) == 0)
        http[0] = '\0'; /* the message says it already */
    if (json_is_object(a) && strcmp(ctl_s(d, "state"), "delivered") != 0 && (*msg || http[0]))
        snprintf(out, len, "%s%s%s%s%s", http, http[0] && *ctl_s(a, "platform_code") ? " " : "",
                 ctl_s(a, "platform_code"), http[0] || *ctl_s(a, "platform_code") ? ": " : "",
                 *msg ? msg : reason);
    else if (*detail)
        snprintf(out, len, "%s: %s", reason, detail);
    else
        snprintf(out, len, "%s", *reason ? reason : "-");
}

/* ---- status ---------------------------------------------------------------------------------- */

static void channels_table(struct ctl *c, json_t *channels)
{
    static const char *const heads[] = {"CHANNEL",   "HEALTH",       "BACKLOG",
                                        "IN FLIGHT", "FAILED",       "DELIVERED 24H",
                                        "BREAKER",   "LAST SUCCESS", "LAST ERROR"};
    struct ctl_table *t = ctl_table_new(9, heads, 8);
    for (int i = 2; i <= 5; i++)
        ctl_table_right(t, i);
    size_t i;
    json_t *ch;
    json_array_foreach (channels, i, ch) {
        char backlog[32], inflight[64], failed[32], d24[32], ts[40], health[96];
        snprintf(health, sizeof(health), "%s%s", ctl_s(ch, "health"),
                 json_is_true(json_object_get(ch, "needs_reauthorization"))
                     ? " (needs re-authorization)"
                     : "");
        snprintf(inflight, sizeof(inflight), "%lld/%lld",
                 (long long)json_integer_value(json_object_get(ch, "in_flight")),
                 (long long)json_integer_value(json_object_get(ch, "max_in_flight")));
        const char *err = json_is_true(json_object_get(ch, "parked")) ? ctl_s(ch, "parked_reason")
                                                                      : ctl_s(ch, "last_error");
        const char *cells[] = {ctl_s(ch, "id"),
                               health,
                               ctl_fmt(ch, "backlog", backlog, sizeof(backlog)),
                               inflight,
                               ctl_fmt(ch, "failed", failed, sizeof(failed)),
                               ctl_fmt(ch, "delivered_24h", d24, sizeof(d24)),
                               ctl_s(ch, "breaker"),
                               ctl_time(ch, "last_success_at", ts, sizeof(ts)),
                               *err ? err : "-"};
        ctl_table_add(t, cells);
    }
    ctl_table_print(t, stdout, c->width);
    ctl_table_free(t);
}

int ctl_status(struct ctl *c, int argc, char **argv)
{
    int first, rc = ctl_getopt(c, "status", argc, argv, NULL, NULL, NULL, &first);
    if (rc)
        return rc;
    if (first < argc)
        return ctl_usage_error("status", "unexpected argument '%s'", argv[first]);
    json_t *s;
    if ((rc = ctl_call(c, "GET", "/api/v1/status", NULL, &s, NULL)))
        return rc;
    if (c->json) {
        ctl_print_json(s);
        json_decref(s);
        return CTL_OK;
    }
    json_t *in = json_object_get(s, "intake");
    long long up = json_integer_value(json_object_get(s, "uptime_s"));
    printf("heraldd %s at %s: %s, up %lldd %02lldh%02lldm\n", ctl_s(s, "version"), c->url,
           json_is_true(json_object_get(s, "ready")) ? "ready" : "NOT READY", up / 86400,
           up / 3600 % 24, up / 60 % 60);
    printf("intake: %s, consumed %lld, accepted %lld, rejected %lld, duplicates %lld\n",
           json_is_true(json_object_get(in, "paused")) ? "PAUSED" : "running",
           (long long)json_integer_value(json_object_get(in, "consumed")),
           (long long)json_integer_value(json_object_get(in, "accepted")),
           (long long)json_integer_value(json_object_get(in, "rejected")),
           (long long)json_integer_value(json_object_get(in, "duplicates")));
    char sum[1024];
    json_t *dl = json_object_get(s, "deliveries");
    summarize(dl, sum, sizeof(sum));
    printf("deliveries needing attention or on their way: %s\n", sum);
    printf("items stored: %lld; rejected messages waiting: %lld; status events not yet on "
           "Kafka: %lld\n",
           (long long)json_integer_value(json_object_get(s, "items")),
           (long long)json_integer_value(json_object_get(s, "rejections_waiting")),
           (long long)json_integer_value(json_object_get(s, "outbox_pending")));
    json_t *alerts = json_object_get(s, "alerts"), *a;
    size_t i;
    if (json_array_size(alerts)) {
        printf("\nALERTS\n");
        json_array_foreach (alerts, i, a) {
            printf("  %s  ", strcmp(ctl_s(a, "level"), "error") == 0 ? "!!" : " !");
            ctl_put_text(stdout, ctl_s(a, "message"));
            printf("\n");
        }
    }
    printf("\n");
    channels_table(c, json_object_get(s, "channels"));
    json_decref(s);
    return CTL_OK;
}

/* ---- items ------------------------------------------------------------------------------------
 */

int ctl_on_list_opt(int o, const char *arg, void *ud)
{
    struct ctl_list *l = ud;
    if (o == CTL_OPT_ALL) {
        l->all = 1;
        return 0;
    }
    if (o <= 0 || (size_t)o >= l->n_params || !l->params[o])
        return 1;
    ctl_query_add(l->q, sizeof(l->q), l->params[o], arg);
    return 0;
}

/* Fetch every page (when all) of a list and print its rows with row(); the JSON array of
 * `key` from each page goes to stdout as one array with --json. */
int ctl_list_pages(struct ctl *c, const char *base, char *query, size_t qlen, int all,
                   const char *key, void (*row)(struct ctl_table *t, json_t *o),
                   struct ctl_table *t)
{
    json_t *every = json_array();
    int rc = CTL_OK;
    char path[PATH_LEN];
    for (;;) {
        json_t *page;
        snprintf(path, sizeof(path), "%s%s", base, query);
        if ((rc = ctl_call(c, "GET", path, NULL, &page, NULL)))
            break;
        json_array_extend(every, json_object_get(page, key));
        const char *next = json_string_value(json_object_get(page, "next_cursor"));
        if (!next || !all) {
            if (next && !c->json)
                fprintf(stderr, "(more: add --cursor %s, or --all)\n", next);
            json_decref(page);
            break;
        }
        /* replace the cursor parameter */
        char *cur = strstr(query, "cursor=");
        if (cur)
            cur[-1] = '\0';
        ctl_query_add(query, qlen, "cursor", next);
        json_decref(page);
    }
    if (rc == CTL_OK) {
        if (c->json) {
            ctl_print_json(every);
        } else {
            size_t i;
            json_t *o;
            json_array_foreach (every, i, o)
                row(t, o);
            if (json_array_size(every))
                ctl_table_print(t, stdout, c->width);
            else
                printf("(none)\n");
        }
    }
    json_decref(every);
    return rc;
}

static void item_row(struct ctl_table *t, json_t *o)
{
    char ver[32], ts[40], sum[256];
    summarize(json_object_get(o, "deliveries"), sum, sizeof(sum));
    const char *cells[] = {ctl_s(o, "id"),
                           ctl_fmt(o, "version", ver, sizeof(ver)),
                           ctl_time(o, "approved_at", ts, sizeof(ts)),
                           ctl_s(o, "category"),
                           ctl_s(o, "publisher"),
                           sum,
                           ctl_s(o, "title")};
    ctl_table_add(t, cells);
}

int ctl_items(struct ctl *c, int argc, char **argv)
{
    static const struct option opts[] = {
        {"state", required_argument, NULL, 1},    {"channel", required_argument, NULL, 2},
        {"category", required_argument, NULL, 3}, {"publisher", required_argument, NULL, 4},
        {"column", required_argument, NULL, 5},   {"since", required_argument, NULL, 6},
        {"until", required_argument, NULL, 7},    {"search", required_argument, NULL, 8},
        {"limit", required_argument, NULL, 9},    {"cursor", required_argument, NULL, 10},
        {"all", no_argument, NULL, CTL_OPT_ALL},  {NULL, 0, NULL, 0},
    };
    static const char *const params[] = {NULL,        "state",  "channel", "category",
                                         "publisher", "column", "since",   "until",
                                         "q",         "limit",  "cursor"};
    struct ctl_list l = {.params = params, .n_params = sizeof(params) / sizeof(params[0])};
    int first, rc = ctl_getopt(c, "items", argc, argv, opts, ctl_on_list_opt, &l, &first);
    if (rc)
        return rc;
    if (first < argc)
        return ctl_usage_error("items", "unexpected argument '%s'", argv[first]);
    static const char *const heads[] = {"ID",        "VER",        "APPROVED", "CATEGORY",
                                        "PUBLISHER", "DELIVERIES", "TITLE"};
    struct ctl_table *t = ctl_table_new(7, heads, 6);
    ctl_table_right(t, 1);
    rc = ctl_list_pages(c, "/api/v1/items", l.q, sizeof(l.q), l.all, "items", item_row, t);
    ctl_table_free(t);
    return rc;
}

/* ---- show --------------------------------------------------------------------------------------
 */

static void timeline_line(json_t *e)
{
    char ts[40], what[1024];
    const char *kind = ctl_s(e, "kind");
    if (strcmp(kind, "state") == 0) {
        snprintf(what, sizeof(what), "%s -> %s%s%s%s",
                 *ctl_s(e, "previous") ? ctl_s(e, "previous") : "new", ctl_s(e, "state"),
                 *ctl_s(e, "reason") ? " (" : "", ctl_s(e, "reason"),
                 *ctl_s(e, "reason") ? ")" : "");
        if (*ctl_s(e, "detail")) {
            size_t l = strlen(what);
            snprintf(what + l, sizeof(what) - l, ": %s", ctl_s(e, "detail"));
        }
    } else if (strcmp(kind, "attempt") == 0) {
        char http[32] = "";
        if (json_is_integer(json_object_get(e, "http_status")))
            snprintf(http, sizeof(http), " HTTP %lld",
                     (long long)json_integer_value(json_object_get(e, "http_status")));
        if (http[0] && strncmp(ctl_s(e, "message"), http + 1, strlen(http + 1)) == 0)
            http[0] = '\0'; /* the message says it already */
        snprintf(what, sizeof(what), "%s: %s%s%s%s%s%s", ctl_s(e, "op"), ctl_s(e, "outcome"), http,
                 *ctl_s(e, "platform_code") ? " code " : "", ctl_s(e, "platform_code"),
                 *ctl_s(e, "message") ? ": " : "", ctl_s(e, "message"));
    } else {
        snprintf(what, sizeof(what), "%s by %s%s%s", ctl_s(e, "action"), ctl_s(e, "who"),
                 *ctl_s(e, "reason") ? ": " : "", ctl_s(e, "reason"));
    }
    char where[300];
    snprintf(where, sizeof(where), "%s%s%s", *ctl_s(e, "channel") ? ctl_s(e, "channel") : "item",
             *ctl_s(e, "target") ? "/" : "", ctl_s(e, "target"));
    printf("  %s  ", ctl_time(e, "at", ts, sizeof(ts)));
    ctl_put_cell(stdout, where, 18, 0);
    printf("  %-7s ", strcmp(kind, "audit") == 0 ? "OPERATOR" : kind);
    ctl_put_text(stdout, what);
    printf("\n");
}

int ctl_show(struct ctl *c, int argc, char **argv)
{
    int first, rc = ctl_getopt(c, "show", argc, argv, NULL, NULL, NULL, &first);
    if (rc)
        return rc;
    if (first + 1 != argc)
        return ctl_usage_error("show", "give one item id");
    char path[PATH_LEN], id[1024];
    ctl_escape(argv[first], id, sizeof(id));
    snprintf(path, sizeof(path), "/api/v1/items/%s", id);
    json_t *r;
    if ((rc = ctl_call(c, "GET", path, NULL, &r, NULL)))
        return rc;
    if (c->json) {
        ctl_print_json(r);
        json_decref(r);
        return CTL_OK;
    }
    json_t *it = json_object_get(r, "item");
    char ts[40];
    ctl_put_text(stdout, ctl_s(it, "title"));
    printf("\n  id %s, version %lld%s\n", ctl_s(it, "id"),
           (long long)json_integer_value(json_object_get(it, "latest_version")),
           json_is_integer(json_object_get(it, "retracted_version")) ? " (retracted)" : "");
    printf("  publisher: ");
    ctl_put_text(stdout, ctl_s(it, "publisher"));
    printf(" (%s)\n  column: ", ctl_s(it, "publisher_code"));
    ctl_put_text(stdout, ctl_s(it, "column"));
    printf("\n  category: %s; approved %s\n\nDELIVERIES\n", ctl_s(it, "category"),
           ctl_time(it, "approved_at", ts, sizeof(ts)));
    static const char *const heads[] = {"ID",    "VER",      "CHANNEL", "TARGET",
                                        "STATE", "ATTEMPTS", "UPDATED", "WHY / WHERE"};
    struct ctl_table *t = ctl_table_new(8, heads, 7);
    ctl_table_right(t, 0);
    ctl_table_right(t, 1);
    ctl_table_right(t, 5);
    size_t i;
    json_t *d;
    json_array_foreach (json_object_get(r, "deliveries"), i, d) {
        char idb[32], ver[32], att[32], w[1024];
        if (strcmp(ctl_s(d, "state"), "delivered") == 0 && *ctl_s(d, "url"))
            snprintf(w, sizeof(w), "%s", ctl_s(d, "url"));
        else
            why(d, w, sizeof(w));
        const char *cells[] = {ctl_fmt(d, "id", idb, sizeof(idb)),
                               ctl_fmt(d, "version", ver, sizeof(ver)),
                               ctl_s(d, "channel"),
                               *ctl_s(d, "target") ? ctl_s(d, "target") : "-",
                               ctl_s(d, "state"),
                               ctl_fmt(d, "attempts", att, sizeof(att)),
                               ctl_time(d, "updated_at", ts, sizeof(ts)),
                               w};
        ctl_table_add(t, cells);
    }
    ctl_table_print(t, stdout, c->width);
    ctl_table_free(t);
    printf("\nTIMELINE\n");
    json_array_foreach (json_object_get(r, "timeline"), i, d)
        timeline_line(d);
    json_decref(r);
    return CTL_OK;
}

/* ---- deliveries
 * ---------------------------------------------------------------------------------- */

void ctl_delivery_row(struct ctl_table *t, json_t *d)
{
    char idb[32], ver[32], att[32], ts[40], w[1024];
    why(d, w, sizeof(w));
    const char *cells[] = {ctl_fmt(d, "id", idb, sizeof(idb)),
                           ctl_s(d, "item_id"),
                           ctl_fmt(d, "version", ver, sizeof(ver)),
                           ctl_s(d, "channel"),
                           ctl_s(d, "state"),
                           ctl_fmt(d, "attempts", att, sizeof(att)),
                           ctl_time(d, "updated_at", ts, sizeof(ts)),
                           w};
    ctl_table_add(t, cells);
}

int ctl_deliveries(struct ctl *c, int argc, char **argv)
{
    static const struct option opts[] = {
        {"state", required_argument, NULL, 1},
        {"channel", required_argument, NULL, 2},
        {"item", required_argument, NULL, 3},
        {"since", required_argument, NULL, 4},
        {"until", required_argument, NULL, 5},
        {"limit", required_argument, NULL, 6},
        {"cursor", required_argument, NULL, 7},
        {"all", no_argument, NULL, CTL_OPT_ALL},
        {NULL, 0, NULL, 0},
    };
    static const char *const params[] = {NULL,    "state", "channel", "item",
                                         "since", "until", "limit",   "cursor"};
    struct ctl_list l = {.params = params, .n_params = sizeof(params) / sizeof(params[0])};
    int first, rc = ctl_getopt(c, "deliveries", argc, argv, opts, ctl_on_list_opt, &l, &first);
    if (rc)
        return rc;
    if (first < argc)
        return ctl_usage_error("deliveries", "unexpected argument '%s'", argv[first]);
    static const char *const heads[] = {"ID",    "ITEM",     "VER",     "CHANNEL",
                                        "STATE", "ATTEMPTS", "UPDATED", "WHY"};
    struct ctl_table *t = ctl_table_new(8, heads, 7);
    ctl_table_right(t, 0);
    ctl_table_right(t, 2);
    ctl_table_right(t, 5);
    rc = ctl_list_pages(c, "/api/v1/deliveries", l.q, sizeof(l.q), l.all, "deliveries",
                        ctl_delivery_row, t);
    ctl_table_free(t);
    return rc;
}

/* ---- actions ----------------------------------------------------------------------------------
 */

struct act_opts {
    const char *reason, *channel;
    int failed;
};

enum { A_REASON = 1, A_CHANNEL, A_FAILED };

static int on_act(int o, const char *arg, void *ud)
{
    struct act_opts *a = ud;
    if (o == A_REASON)
        a->reason = arg;
    else if (o == A_CHANNEL)
        a->channel = arg;
    else if (o == A_FAILED)
        a->failed = 1;
    else
        return 1;
    return 0;
}

static const struct option act_opts_table[] = {
    {"reason", required_argument, NULL, A_REASON},
    {NULL, 0, NULL, 0},
};

static json_t *reason_body(const char *reason)
{
    return reason ? json_pack("{s:s}", "reason", reason) : json_object();
}

/* POST path with {"reason"}; prints `done` (with the delivery's new state when there is one). */
int ctl_post(struct ctl *c, const char *path, const char *reason, const char *label)
{
    json_t *body = reason_body(reason), *out;
    int rc = ctl_call(c, "POST", path, body, &out, NULL);
    json_decref(body);
    if (rc)
        return rc;
    if (c->json) {
        ctl_print_json(out);
    } else {
        json_t *d = json_object_get(out, "delivery");
        if (d)
            printf("%s: %s (now %s)\n", label, ctl_s(out, "action"), ctl_s(d, "state"));
        else
            printf("%s: %s\n", label, ctl_s(out, "action"));
    }
    json_decref(out);
    return CTL_OK;
}

static int is_id(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return 0;
    return 1;
}

/* `cmd ID... [--reason R]` on /api/v1/deliveries/ID/<verb>; the worst exit code wins. */
static int delivery_cmd(struct ctl *c, const char *cmd, const char *verb, int argc, char **argv,
                        int need_reason)
{
    struct act_opts a = {0};
    int first, rc = ctl_getopt(c, cmd, argc, argv, act_opts_table, on_act, &a, &first);
    if (rc)
        return rc;
    if (first >= argc)
        return ctl_usage_error(cmd, "give one or more delivery ids");
    if (need_reason && !a.reason)
        return ctl_usage_error(cmd, "--reason is required (it goes to the audit log)");
    int worst = CTL_OK;
    for (int i = first; i < argc; i++) {
        if (!is_id(argv[i]))
            return ctl_usage_error(cmd, "'%s' is not a delivery id (a number)", argv[i]);
    }
    for (int i = first; i < argc; i++) {
        char path[PATH_LEN], label[64];
        snprintf(path, sizeof(path), "/api/v1/deliveries/%s/%s", argv[i], verb);
        snprintf(label, sizeof(label), "delivery %s", argv[i]);
        rc = ctl_post(c, path, a.reason, label);
        if (rc > worst)
            worst = rc;
    }
    return worst;
}

int ctl_retry(struct ctl *c, int argc, char **argv)
{
    static const struct option opts[] = {
        {"reason", required_argument, NULL, A_REASON},
        {"channel", required_argument, NULL, A_CHANNEL},
        {"failed", no_argument, NULL, A_FAILED},
        {NULL, 0, NULL, 0},
    };
    struct act_opts a = {0};
    int first, rc = ctl_getopt(c, "retry", argc, argv, opts, on_act, &a, &first);
    if (rc)
        return rc;
    if (a.channel || a.failed) {
        if (!a.channel || !a.failed || first < argc)
            return ctl_usage_error("retry", "use either DELIVERY_ID... or --channel C --failed");
        char path[PATH_LEN], ch[512];
        ctl_escape(a.channel, ch, sizeof(ch));
        snprintf(path, sizeof(path), "/api/v1/channels/%s/retry-failed", ch);
        json_t *body = reason_body(a.reason), *out;
        rc = ctl_call(c, "POST", path, body, &out, NULL);
        json_decref(body);
        if (rc)
            return rc;
        if (c->json)
            ctl_print_json(out);
        else
            printf("%s: %lld failed delivery(ies) sent again\n", a.channel,
                   (long long)json_integer_value(json_object_get(out, "retried")));
        json_decref(out);
        return CTL_OK;
    }
    /* re-parse as a delivery command (the options are the same) */
    return delivery_cmd(c, "retry", "retry", argc, argv, 0);
}

int ctl_cancel(struct ctl *c, int argc, char **argv)
{
    return delivery_cmd(c, "cancel", "cancel", argc, argv, 1);
}

int ctl_release(struct ctl *c, int argc, char **argv)
{
    return delivery_cmd(c, "release", "release", argc, argv, 0);
}

int ctl_resolve(struct ctl *c, int argc, char **argv)
{
    return delivery_cmd(c, "resolve", "resolve", argc, argv, 0);
}

int ctl_retract(struct ctl *c, int argc, char **argv)
{
    struct act_opts a = {0};
    int first, rc = ctl_getopt(c, "retract", argc, argv, act_opts_table, on_act, &a, &first);
    if (rc)
        return rc;
    if (first + 1 != argc)
        return ctl_usage_error("retract", "give one item id");
    if (!a.reason)
        return ctl_usage_error("retract", "--reason is required (it goes to the audit log)");
    char path[PATH_LEN], id[1024];
    ctl_escape(argv[first], id, sizeof(id));
    snprintf(path, sizeof(path), "/api/v1/items/%s/retract", id);
    json_t *body = reason_body(a.reason), *out;
    rc = ctl_call(c, "POST", path, body, &out, NULL);
    json_decref(body);
    if (rc)
        return rc;
    if (c->json)
        ctl_print_json(out);
    else
        printf("item %s: retracted (%lld delivery(ies) affected)\n", argv[first],
               (long long)json_integer_value(json_object_get(out, "deliveries_affected")));
    json_decref(out);
    return CTL_OK;
}

static int channel_cmd(struct ctl *c, const char *cmd, const char *verb, int argc, char **argv,
                       int need_reason)
{
    struct act_opts a = {0};
    int first, rc = ctl_getopt(c, cmd, argc, argv, act_opts_table, on_act, &a, &first);
    if (rc)
        return rc;
    if (first + 1 != argc)
        return ctl_usage_error(cmd, "give one channel instance, e.g. wechat:yuexiu");
    if (need_reason && !a.reason)
        return ctl_usage_error(cmd, "--reason is required (it goes to the audit log)");
    char path[PATH_LEN], ch[512], label[600];
    ctl_escape(argv[first], ch, sizeof(ch));
    snprintf(path, sizeof(path), "/api/v1/channels/%s/%s", ch, verb);
    snprintf(label, sizeof(label), "%s", argv[first]);
    return ctl_post(c, path, a.reason, label);
}

int ctl_pause(struct ctl *c, int argc, char **argv)
{
    return channel_cmd(c, "pause", "pause", argc, argv, 0);
}

int ctl_resume(struct ctl *c, int argc, char **argv)
{
    return channel_cmd(c, "resume", "resume", argc, argv, 0);
}

int ctl_unpark(struct ctl *c, int argc, char **argv)
{
    return channel_cmd(c, "unpark", "unpark", argc, argv, 1);
}
