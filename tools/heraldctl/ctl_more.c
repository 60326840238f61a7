/*
 * heraldctl's commands about dead letters, credentials, the disclosure report and the audit
 * log: dlq list/show/replay, credentials set (the value from stdin or a file, never argv), report
 * (tables or CSV) and audit.
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "ctl.h"

#define PATH_LEN 4096

/* ---- dlq ----------------------------------------------------------------------------------- */

enum { D_REJ = 1, D_DEL, D_LIMIT, D_ALL_REJ, D_REPLAYED, D_REASON };

struct dlq_opts {
    int rejections, deliveries, all_rejections, replayed;
    const char *limit, *reason;
};

static int on_dlq(int o, const char *arg, void *ud)
{
    struct dlq_opts *d = ud;
    switch (o) {
    case D_REJ:
        d->rejections = 1;
        break;
    case D_DEL:
        d->deliveries = 1;
        break;
    case D_LIMIT:
        d->limit = arg;
        break;
    case D_ALL_REJ:
        d->all_rejections = 1;
        break;
    case D_REPLAYED:
        d->replayed = 1;
        break;
    case D_REASON:
        d->reason = arg;
        break;
    default:
        return 1;
    }
    return 0;
}

static void rejection_row(struct ctl_table *t, json_t *r)
{
    char id[32], src[600], ts[40], size[32], what[1024];
    snprintf(id, sizeof(id), "R%lld", (long long)json_integer_value(json_object_get(r, "id")));
    snprintf(src, sizeof(src), "%s[%lld]@%lld", ctl_s(r, "topic"),
             (long long)json_integer_value(json_object_get(r, "partition")),
             (long long)json_integer_value(json_object_get(r, "offset")));
    snprintf(what, sizeof(what), "%s%s", ctl_s(r, "detail"),
             json_is_string(json_object_get(r, "replayed_at")) ? " [replayed]" : "");
    const char *cells[] = {id,  ctl_time(r, "rejected_at", ts, sizeof(ts)), ctl_s(r, "reason"),
                           src, ctl_fmt(r, "size", size, sizeof(size)),     what};
    ctl_table_add(t, cells);
}

static void failed_row(struct ctl_table *t, json_t *d)
{
    /* the deliveries table, with ids as D<n> (what dlq replay takes) */
    char id[32];
    snprintf(id, sizeof(id), "D%lld", (long long)json_integer_value(json_object_get(d, "id")));
    json_object_set_new(d, "id", json_string(id));
    ctl_delivery_row(t, d);
}

static int dlq_list(struct ctl *c, struct dlq_opts *o)
{
    int both = !o->rejections && !o->deliveries, rc = CTL_OK, json = c->json;
    char q[PATH_LEN] = "";
    if (both && json) {
        /* one JSON object with both lists */
        json_t *a, *b, *all = json_object();
        ctl_query_add(q, sizeof(q), "limit", o->limit ? o->limit : "500");
        if (!o->replayed)
            ctl_query_add(q, sizeof(q), "replayed", "false");
        char path[PATH_LEN + 64];
        snprintf(path, sizeof(path), "/api/v1/dead-letters/rejections%s", q);
        if ((rc = ctl_call(c, "GET", path, NULL, &a, NULL)))
            goto out;
        json_object_set(all, "rejections", json_object_get(a, "rejections"));
        json_decref(a);
        q[0] = '\0';
        ctl_query_add(q, sizeof(q), "limit", o->limit ? o->limit : "500");
        snprintf(path, sizeof(path), "/api/v1/dead-letters/deliveries%s", q);
        if ((rc = ctl_call(c, "GET", path, NULL, &b, NULL)))
            goto out;
        json_object_set(all, "deliveries", json_object_get(b, "deliveries"));
        json_decref(b);
        ctl_print_json(all);
    out:
        json_decref(all);
        return rc;
    }
    if (both || o->rejections) {
        if (!json)
            printf("REJECTED MESSAGES%s (replay with: heraldctl dlq replay R<n>)\n",
                   o->replayed ? "" : " not yet replayed");
        static const char *const heads[] = {"ID",     "REJECTED AT", "REASON",
                                            "SOURCE", "BYTES",       "DETAIL"};
        struct ctl_table *t = ctl_table_new(6, heads, 5);
        ctl_table_right(t, 4);
        ctl_query_add(q, sizeof(q), "limit", o->limit);
        if (!o->replayed)
            ctl_query_add(q, sizeof(q), "replayed", "false");
        rc = ctl_list_pages(c, "/api/v1/dead-letters/rejections", q, sizeof(q), 0, "rejections",
                            rejection_row, t);
        ctl_table_free(t);
        if (rc)
            return rc;
    }
    if (both || o->deliveries) {
        if (!json)
            printf("%sFAILED DELIVERIES (retry with: heraldctl dlq replay D<n>)\n",
                   both ? "\n" : "");
        static const char *const heads[] = {"ID",    "ITEM",     "VER",     "CHANNEL",
                                            "STATE", "ATTEMPTS", "UPDATED", "WHY"};
        struct ctl_table *t = ctl_table_new(8, heads, 7);
        ctl_table_right(t, 2);
        ctl_table_right(t, 5);
        q[0] = '\0';
        ctl_query_add(q, sizeof(q), "limit", o->limit);
        rc = ctl_list_pages(c, "/api/v1/dead-letters/deliveries", q, sizeof(q), 0, "deliveries",
                            failed_row, t);
        ctl_table_free(t);
    }
    return rc;
}

/* "R12" / "D34" -> kind and number; 0 when malformed. */
static long long dlq_id(const char *s, char *kind)
{
    if ((s[0] != 'R' && s[0] != 'r' && s[0] != 'D' && s[0] != 'd') || !s[1])
        return 0;
    for (const char *p = s + 1; *p; p++)
        if (*p < '0' || *p > '9')
            return 0;
    *kind = (char)(s[0] & ~0x20);
    return atoll(s + 1);
}

static int dlq_show(struct ctl *c, const char *arg)
{
    char kind = 0, path[PATH_LEN];
    long long id = dlq_id(arg, &kind);
    if (!id)
        return ctl_usage_error("dlq", "'%s' is not a dead-letter id (R<n> or D<n>)", arg);
    if (kind == 'D') {
        snprintf(path, sizeof(path), "/api/v1/deliveries/%lld", id);
    } else {
        snprintf(path, sizeof(path), "/api/v1/dead-letters/rejections/%lld", id);
    }
    json_t *r;
    int rc = ctl_call(c, "GET", path, NULL, &r, NULL);
    if (rc)
        return rc;
    if (c->json) {
        ctl_print_json(r);
    } else if (kind == 'R') {
        json_t *x = json_object_get(r, "rejection");
        char ts[40];
        printf("rejected message R%lld\n  rejected at: %s\n  reason: %s\n  detail: ", id,
               ctl_time(x, "rejected_at", ts, sizeof(ts)), ctl_s(x, "reason"));
        ctl_put_text(stdout, ctl_s(x, "detail"));
        printf("\n  from: %s partition %lld offset %lld\n  key: ", ctl_s(x, "topic"),
               (long long)json_integer_value(json_object_get(x, "partition")),
               (long long)json_integer_value(json_object_get(x, "offset")));
        ctl_put_text(stdout, *ctl_s(x, "key") ? ctl_s(x, "key") : "(none)");
        printf("\n  replayed: %s\n  %lld bytes%s:\n", ctl_time(x, "replayed_at", ts, sizeof(ts)),
               (long long)json_integer_value(json_object_get(x, "size")),
               json_is_string(json_object_get(x, "value_text")) ? "" : " (not text; base64)");
        ctl_put_text(stdout, json_is_string(json_object_get(x, "value_text"))
                                 ? ctl_s(x, "value_text")
                                 : ctl_s(x, "value_base64"));
        printf("\n");
    } else {
        json_t *d = json_object_get(r, "delivery"), *e;
        char ts[40];
        printf("delivery D%lld: %s version %lld on %s%s%s: %s\n  ", id, ctl_s(d, "item_id"),
               (long long)json_integer_value(json_object_get(d, "version")), ctl_s(d, "channel"),
               *ctl_s(d, "target") ? "/" : "", ctl_s(d, "target"), ctl_s(d, "state"));
        ctl_put_text(stdout, ctl_s(d, "title"));
        printf("\n  reason: %s\n  detail: ", ctl_s(d, "reason"));
        ctl_put_text(stdout, ctl_s(d, "detail"));
        printf("\nattempts:\n");
        size_t i;
        json_array_foreach (json_object_get(d, "attempt_log"), i, e) {
            printf("  %s  %s %s", ctl_time(e, "at", ts, sizeof(ts)), ctl_s(e, "op"),
                   ctl_s(e, "outcome"));
            if (json_is_integer(json_object_get(e, "http_status")))
                printf(" HTTP %lld",
                       (long long)json_integer_value(json_object_get(e, "http_status")));
            printf(" ");
            ctl_put_text(stdout, ctl_s(e, "message"));
            printf("\n");
        }
    }
    json_decref(r);
    return CTL_OK;
}

static int replay_one(struct ctl *c, const char *arg, const char *reason)
{
    char kind = 0, path[PATH_LEN];
    long long id = dlq_id(arg, &kind);
    snprintf(path, sizeof(path), "/api/v1/dead-letters/%s/%lld/replay",
             kind == 'R' ? "rejections" : "deliveries", id);
    if (kind == 'D')
        return ctl_post(c, path, reason, arg);
    json_t *body = reason ? json_pack("{s:s}", "reason", reason) : json_object(), *out;
    int rc = ctl_call(c, "POST", path, body, &out, NULL);
    json_decref(body);
    if (rc)
        return rc;
    if (c->json)
        ctl_print_json(out);
    else {
        printf("%s: ", arg);
        ctl_put_text(stdout, ctl_s(out, "result"));
        printf("\n");
    }
    json_decref(out);
    return CTL_OK;
}

int ctl_dlq(struct ctl *c, int argc, char **argv)
{
    static const struct option opts[] = {
        {"rejections", no_argument, NULL, D_REJ},
        {"deliveries", no_argument, NULL, D_DEL},
        {"limit", required_argument, NULL, D_LIMIT},
        {"all-rejections", no_argument, NULL, D_ALL_REJ},
        {"include-replayed", no_argument, NULL, D_REPLAYED},
        {"reason", required_argument, NULL, D_REASON},
        {NULL, 0, NULL, 0},
    };
    struct dlq_opts o = {0};
    int first, rc = ctl_getopt(c, "dlq", argc, argv, opts, on_dlq, &o, &first);
    if (rc)
        return rc;
    if (first >= argc)
        return ctl_usage_error("dlq", "give a subcommand: list, show or replay");
    const char *sub = argv[first++];
    if (strcmp(sub, "list") == 0) {
        if (first < argc)
            return ctl_usage_error("dlq", "unexpected argument '%s'", argv[first]);
        return dlq_list(c, &o);
    }
    if (strcmp(sub, "show") == 0) {
        if (first + 1 != argc)
            return ctl_usage_error("dlq", "give one id (R<n> or D<n>)");
        return dlq_show(c, argv[first]);
    }
    if (strcmp(sub, "replay") != 0)
        return ctl_usage_error("dlq", "unknown subcommand '%s' (list, show, replay)", sub);
    if (o.all_rejections == (first < argc))
        return ctl_usage_error("dlq", "give ids (R<n>, D<n>) or --all-rejections");
    for (int i = first; i < argc; i++) {
        char kind;
        if (!dlq_id(argv[i], &kind))
            return ctl_usage_error("dlq", "'%s' is not a dead-letter id (R<n> or D<n>)", argv[i]);
    }
    int worst = CTL_OK;
    if (o.all_rejections) {
        json_t *page;
        if ((rc = ctl_call(c, "GET", "/api/v1/dead-letters/rejections?replayed=false&limit=500",
                           NULL, &page, NULL)))
            return rc;
        size_t i;
        json_t *r;
        json_array_foreach (json_object_get(page, "rejections"), i, r) {
            char id[32];
            snprintf(id, sizeof(id), "R%lld",
                     (long long)json_integer_value(json_object_get(r, "id")));
            rc = replay_one(c, id, o.reason);
            worst = rc > worst ? rc : worst;
        }
        if (!json_array_size(json_object_get(page, "rejections")) && !c->json)
            printf("no rejected message waits for a replay\n");
        json_decref(page);
        return worst;
    }
    for (int i = first; i < argc; i++) {
        rc = replay_one(c, argv[i], o.reason);
        worst = rc > worst ? rc : worst;
    }
    return worst;
}

/* ---- credentials ---------------------------------------------------------------------------- */

enum { C_REASON = 1, C_FILE };

struct cred_opts {
    const char *reason, *file;
};

static int on_cred(int o, const char *arg, void *ud)
{
    struct cred_opts *k = ud;
    if (o == C_REASON)
        k->reason = arg;
    else if (o == C_FILE)
        k->file = arg;
    else
        return 1;
    return 0;
}

#define SECRET_MAX (64 * 1024)

/* The new value: from the file, or stdin (a terminal gets a prompt and no echo). */
static char *read_secret(const char *file, size_t *len)
{
    char *buf = malloc(SECRET_MAX + 2);
    FILE *f = file ? fopen(file, "r") : stdin;
    size_t n = 0;
    if (!buf || !f) {
        if (!f)
            fprintf(stderr, "heraldctl: cannot read %s: %s\n", file, strerror(errno));
        free(buf);
        return NULL;
    }
    struct termios old, quiet;
    int tty = !file && isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &old) == 0;
    if (tty) {
        fprintf(stderr, "New value (not shown; end with Enter): ");
        quiet = old;
        quiet.c_lflag &= (tcflag_t)~ECHO;
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
        if (fgets(buf, SECRET_MAX + 2, stdin))
            n = strlen(buf);
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
        fprintf(stderr, "\n");
    } else {
        n = fread(buf, 1, SECRET_MAX + 1, f);
    }
    if (file)
        fclose(f);
    if (n > SECRET_MAX) {
        fprintf(stderr, "heraldctl: the value is larger than %d KiB\n", SECRET_MAX / 1024);
        explicit_bzero(buf, SECRET_MAX + 2);
        free(buf);
        return NULL;
    }
    if (n > 0 && buf[n - 1] == '\n')
        n -= n > 1 && buf[n - 2] == '\r' ? 2 : 1;
    buf[n] = '\0';
    *len = n;
    return buf;
}

int ctl_credentials(struct ctl *c, int argc, char **argv)
{
    static const struct option opts[] = {
        {"reason", required_argument, NULL, C_REASON},
        {"from-file", required_argument, NULL, C_FILE},
        {NULL, 0, NULL, 0},
    };
    struct cred_opts k = {0};
    int first, rc = ctl_getopt(c, "credentials", argc, argv, opts, on_cred, &k, &first);
    if (rc)
        return rc;
    if (first + 3 != argc || strcmp(argv[first], "set") != 0)
        return ctl_usage_error("credentials", "use: credentials set CHANNEL KEY --reason TEXT "
                                              "(the value comes from stdin or --from-file)");
    if (!k.reason)
        return ctl_usage_error("credentials", "--reason is required (it goes to the audit log)");
    const char *channel = argv[first + 1], *key = argv[first + 2];
    size_t len = 0;
    char *value = read_secret(k.file, &len);
    if (!value)
        return CTL_USAGE;
    if (len == 0) {
        free(value);
        return ctl_usage_error("credentials", "the new value is empty");
    }
    json_t *body = json_object();
    json_t *v = json_stringn(value, len);
    explicit_bzero(value, len);
    free(value);
    if (!v) {
        json_decref(body);
        return ctl_usage_error("credentials", "the value is not UTF-8 text");
    }
    json_object_set_new(body, "key", json_string(key));
    json_object_set_new(body, "value", v);
    json_object_set_new(body, "reason", json_string(k.reason));
    char path[PATH_LEN], ch[512];
    ctl_escape(channel, ch, sizeof(ch));
    snprintf(path, sizeof(path), "/api/v1/channels/%s/credentials", ch);
    json_t *out;
    rc = ctl_call(c, "POST", path, body, &out, NULL);
    explicit_bzero((char *)json_string_value(v), json_string_length(v));
    json_decref(body);
    if (rc)
        return rc;
    if (c->json)
        ctl_print_json(out);
    else
        printf("%s: %s replaced%s\n", channel, key,
               json_is_true(json_object_get(out, "unparked"))
                   ? "; the channel was parked and is sending again"
                   : "");
    json_decref(out);
    return CTL_OK;
}

/* ---- report --------------------------------------------------------------------------------- */

enum { R_YEAR = 1, R_CSV, R_BOM };

struct rep_opts {
    const char *year;
    int csv, bom;
};

static int on_rep(int o, const char *arg, void *ud)
{
    struct rep_opts *r = ud;
    if (o == R_YEAR)
        r->year = arg;
    else if (o == R_CSV)
        r->csv = 1;
    else if (o == R_BOM)
        r->bom = 1;
    else
        return 1;
    return 0;
}

static void rep_table(struct ctl *c, const char *title, json_t *rows, const char *key,
                      const char *name, int channel)
{
    static const char *const heads[] = {"",          "ITEMS",       "PUBLISHED",
                                        "RETRACTED", "DELIVERIES",  "DELIVERED",
                                        "FAILED",    "IN PROGRESS", "SUCCESS"};
    printf("\n%s\n", title);
    struct ctl_table *t = ctl_table_new(9, heads, 0);
    for (int i = 1; i < 9; i++)
        ctl_table_right(t, i);
    size_t i;
    json_t *r;
    json_array_foreach (rows, i, r) {
        char label[600], n[8][32];
        if (name && *ctl_s(r, name))
            snprintf(label, sizeof(label), "%s %s", ctl_s(r, key), ctl_s(r, name));
        else
            snprintf(label, sizeof(label), "%s", ctl_s(r, key));
        json_t *rate = json_object_get(r, "success_rate");
        if (json_is_number(rate))
            snprintf(n[7], sizeof(n[7]), "%.1f%%", json_number_value(rate) * 100.0);
        else
            snprintf(n[7], sizeof(n[7]), "-");
        const char *cells[] = {label,
                               ctl_fmt(r, "items", n[0], sizeof(n[0])),
                               ctl_fmt(r, "published", n[1], sizeof(n[1])),
                               channel ? "" : ctl_fmt(r, "retracted", n[2], sizeof(n[2])),
                               ctl_fmt(r, "deliveries", n[3], sizeof(n[3])),
                               ctl_fmt(r, "delivered", n[4], sizeof(n[4])),
                               ctl_fmt(r, "failed", n[5], sizeof(n[5])),
                               ctl_fmt(r, "in_progress", n[6], sizeof(n[6])),
                               n[7]};
        ctl_table_add(t, cells);
    }
    ctl_table_print(t, stdout, c->width);
    ctl_table_free(t);
}

int ctl_report(struct ctl *c, int argc, char **argv)
{
    static const struct option opts[] = {
        {"year", required_argument, NULL, R_YEAR},
        {"csv", no_argument, NULL, R_CSV},
        {"bom", no_argument, NULL, R_BOM},
        {NULL, 0, NULL, 0},
    };
    struct rep_opts o = {0};
    int first, rc = ctl_getopt(c, "report", argc, argv, opts, on_rep, &o, &first);
    if (rc)
        return rc;
    if (first < argc)
        return ctl_usage_error("report", "unexpected argument '%s'", argv[first]);
    if (!o.year)
        return ctl_usage_error("report", "--year is required");
    char q[256] = "", path[PATH_LEN];
    ctl_query_add(q, sizeof(q), "year", o.year);
    if (o.csv)
        ctl_query_add(q, sizeof(q), "format", "csv");
    if (o.bom)
        ctl_query_add(q, sizeof(q), "bom", "1");
    snprintf(path, sizeof(path), "/api/v1/report%s", q);
    json_t *r = NULL;
    char *text = NULL;
    if ((rc = ctl_call(c, "GET", path, NULL, o.csv ? NULL : &r, o.csv ? &text : NULL)))
        return rc;
    if (o.csv) {
        fwrite(text, 1, strlen(text), stdout);
        free(text);
        return CTL_OK;
    }
    if (c->json) {
        ctl_print_json(r);
        json_decref(r);
        return CTL_OK;
    }
    char a[40], b[40];
    printf("Disclosure report %lld: items actively published (approved %s .. %s, %s)\n",
           (long long)json_integer_value(json_object_get(r, "year")),
           ctl_time(r, "from", a, sizeof(a)), ctl_time(r, "until", b, sizeof(b)),
           ctl_s(r, "timezone"));
    json_t *tot = json_pack("[O]", json_object_get(r, "totals"));
    json_object_set_new(json_array_get(tot, 0), "key", json_string("total"));
    rep_table(c, "TOTAL", tot, "key", NULL, 0);
    json_decref(tot);
    rep_table(c, "BY MONTH", json_object_get(r, "by_month"), "month", NULL, 0);
    rep_table(c, "BY PUBLISHING UNIT", json_object_get(r, "by_publisher"), "publisher_code",
              "publisher", 0);
    rep_table(c, "BY PORTAL COLUMN", json_object_get(r, "by_column"), "column", NULL, 0);
    rep_table(c, "BY CATEGORY", json_object_get(r, "by_category"), "category", "label", 0);
    rep_table(c,
              "BY CHANNEL (items = items routed to it; success = delivered / (delivered + "
              "failed))",
              json_object_get(r, "by_channel"), "channel", NULL, 1);
    json_decref(r);
    return CTL_OK;
}

/* ---- audit --------------------------------------------------------------------------------- */

static void audit_row(struct ctl_table *t, json_t *e)
{
    char ts[40], d[32];
    const char *cells[] = {ctl_time(e, "at", ts, sizeof(ts)),
                           ctl_s(e, "who"),
                           ctl_s(e, "action"),
                           *ctl_s(e, "item_id") ? ctl_s(e, "item_id") : "-",
                           json_is_integer(json_object_get(e, "delivery_id"))
                               ? ctl_fmt(e, "delivery_id", d, sizeof(d))
                               : "-",
                           *ctl_s(e, "channel") ? ctl_s(e, "channel") : "-",
                           ctl_s(e, "reason")};
    ctl_table_add(t, cells);
}

int ctl_audit(struct ctl *c, int argc, char **argv)
{
    static const struct option opts[] = {
        {"item", required_argument, NULL, 1},  {"channel", required_argument, NULL, 2},
        {"who", required_argument, NULL, 3},   {"action", required_argument, NULL, 4},
        {"limit", required_argument, NULL, 5}, {NULL, 0, NULL, 0},
    };
    static const char *const params[] = {NULL, "item", "channel", "who", "action", "limit"};
    struct ctl_list l = {.params = params, .n_params = sizeof(params) / sizeof(params[0])};
    int first, rc = ctl_getopt(c, "audit", argc, argv, opts, ctl_on_list_opt, &l, &first);
    if (rc)
        return rc;
    if (first < argc)
        return ctl_usage_error("audit", "unexpected argument '%s'", argv[first]);
    static const char *const heads[] = {"AT",       "WHO",     "ACTION", "ITEM",
                                        "DELIVERY", "CHANNEL", "REASON"};
    struct ctl_table *t = ctl_table_new(7, heads, 6);
    rc = ctl_list_pages(c, "/api/v1/audit", l.q, sizeof(l.q), 0, "entries", audit_row, t);
    ctl_table_free(t);
    return rc;
}
