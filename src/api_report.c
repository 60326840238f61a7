/*
 * The disclosure report (GET /api/v1/report?year=Y[&format=csv], heraldctl report): the figures a
 * government information-disclosure annual report needs -- items actively published in a year,
 * per publishing unit, per portal column, per category, per month and per channel, with delivery
 * success rates. An item belongs to the year of its first approved publish version, in
 * daemon.timezone; corrections (later versions) do not count it twice. The query runs on the
 * reader thread; docs/operations.md defines every figure.
 */
#include <uthash.h>

#include "api.h"
#include "common.h"
#include "config.h"
#include "daemon.h"

struct counts {
    int64_t items, published, retracted, deliveries, delivered, failed, in_progress;
};

struct bucket {
    char key[256];
    char name[256];
    struct counts c;
    UT_hash_handle hh;
};

struct report {
    struct counts total;
    struct counts month[12];
    struct bucket *publishers, *columns, *categories, *channels;
    int64_t month_start[13];
};

static const char *const category_zh[][2] = {
    {"normative_document", "规范性文件"},
    {"policy_document", "政策文件"},
    {"policy_interpretation", "政策解读"},
    {"press_conference", "新闻发布会"},
    {"gazette", "政府公报"},
    {"notice", "通知公告"},
    {"work_news", "工作动态"},
    {"personnel", "人事信息"},
    {"consultation", "征求意见"},
    {"emergency", "应急信息"},
};

static const char *category_label(const char *code)
{
    for (size_t i = 0; code && i < HD_ARRAY_LEN(category_zh); i++)
        if (strcmp(code, category_zh[i][0]) == 0)
            return category_zh[i][1];
    return "";
}

static struct bucket *bucket(struct bucket **set, const char *key, const char *name)
{
    struct bucket *b;
    const char *k = key && *key ? key : "(none)";
    HASH_FIND_STR(*set, k, b);
    if (b)
        return b;
    b = calloc(1, sizeof(*b));
    if (!b)
        return NULL;
    hd_strlcpy(b->key, k, sizeof(b->key));
    hd_strlcpy(b->name, name ? name : "", sizeof(b->name));
    HASH_ADD_STR(*set, key, b);
    return b;
}

static void add(struct counts *to, const struct counts *c)
{
    to->items += c->items;
    to->published += c->published;
    to->retracted += c->retracted;
    to->deliveries += c->deliveries;
    to->delivered += c->delivered;
    to->failed += c->failed;
    to->in_progress += c->in_progress;
}

static void free_set(struct bucket **set)
{
    struct bucket *b, *tmp;
    HASH_ITER (hh, *set, b, tmp) {
        HASH_DEL(*set, b);
        free(b);
    }
}

/* One item: attributes of its latest publish version, delivery figures over its channels. */
struct item_acc {
    char id[200];
    int64_t first_at;
    char category[64], column[256], pub_code[64], pub_name[256], pub_kind[32];
    int retracted;
    struct counts c;
};

static void close_item(struct report *rp, struct item_acc *it)
{
    if (!it->id[0])
        return;
    it->c.items = 1;
    it->c.published = it->c.delivered > 0;
    it->c.retracted = it->retracted;
    add(&rp->total, &it->c);
    for (int m = 0; m < 12; m++)
        if (it->first_at >= rp->month_start[m] && it->first_at < rp->month_start[m + 1])
            add(&rp->month[m], &it->c);
    struct bucket *b = bucket(&rp->publishers, it->pub_code, it->pub_name);
    if (b)
        add(&b->c, &it->c);
    if ((b = bucket(&rp->columns, it->column, NULL)))
        add(&b->c, &it->c);
    if ((b = bucket(&rp->categories, it->category, category_label(it->category))))
        add(&b->c, &it->c);
    it->id[0] = '\0';
}

static const char REPORT_SQL[] =
    "WITH scope AS (SELECT f.item_id, MIN(f.approved_at) AS first_at FROM items f"
    "  WHERE f.action = 'publish' AND f.approved_at >= ?1 AND f.approved_at < ?2"
    "  AND NOT EXISTS (SELECT 1 FROM items e WHERE e.item_id = f.item_id"
    "   AND e.action = 'publish' AND e.approved_at < ?1)"
    "  GROUP BY f.item_id)"
    " SELECT s.item_id, s.first_at, l.category, l.column_path, l.publisher_code,"
    "  l.publisher_name, l.publisher_kind, COALESCE(h.retracted_version >= l.version, 0),"
    "  d.instance, COUNT(d.id), COALESCE(SUM(d.delivered_at IS NOT NULL), 0),"
    "  COALESCE(SUM(d.state IN ('failed', 'expired')), 0),"
    "  COALESCE(SUM(d.state IN ('pending', 'held', 'sending', 'waiting_retry', 'publishing',"
    "   'reconciling', 'parked', 'retracting')), 0)"
    " FROM scope s JOIN items l ON l.item_id = s.item_id AND l.version = (SELECT MAX(x.version)"
    "  FROM items x WHERE x.item_id = s.item_id AND x.action = 'publish')"
    " LEFT JOIN item_heads h ON h.item_id = s.item_id"
    " LEFT JOIN deliveries d ON d.item_id = s.item_id AND d.state <> 'superseded'"
    " GROUP BY s.item_id, d.instance ORDER BY s.item_id";

static void col(sqlite3_stmt *st, int i, char *out, size_t len)
{
    const char *t = (const char *)sqlite3_column_text(st, i);
    hd_strlcpy(out, t ? t : "", len);
}

static json_t *rate(const struct counts *c)
{
    int64_t done = c->delivered + c->failed;
    if (!done)
        return json_null();
    return json_real((double)(int64_t)((double)c->delivered * 10000.0 / (double)done) / 10000.0);
}

static json_t *counts_json(const struct counts *c, int channel)
{
    json_t *o =
        json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}", "items", (json_int_t)c->items, "published",
                  (json_int_t)c->published, "deliveries", (json_int_t)c->deliveries, "delivered",
                  (json_int_t)c->delivered, "failed", (json_int_t)c->failed, "in_progress",
                  (json_int_t)c->in_progress);
    if (!channel)
        json_object_set_new(o, "retracted", json_integer(c->retracted));
    json_object_set_new(o, "success_rate", rate(c));
    return o;
}

static int by_items(struct bucket *a, struct bucket *b)
{
    if (a->c.items != b->c.items)
        return a->c.items > b->c.items ? -1 : 1;
    return strcmp(a->key, b->key);
}

static int by_key(struct bucket *a, struct bucket *b)
{
    return strcmp(a->key, b->key);
}

static json_t *section(struct bucket **set, const char *key_name, const char *name_name,
                       int channel)
{
    json_t *a = json_array();
    struct bucket *b, *tmp;
    if (channel || strcmp(key_name, "column") == 0)
        HASH_SRT(hh, *set, by_key);
    else
        HASH_SRT(hh, *set, by_items);
    HASH_ITER (hh, *set, b, tmp) {
        json_t *o = counts_json(&b->c, channel);
        json_object_set_new(o, key_name, hd_api_str(b->key, strlen(b->key)));
        if (name_name)
            json_object_set_new(o, name_name, hd_api_str(b->name, strlen(b->name)));
        json_array_append_new(a, o);
    }
    return a;
}

/* ---- CSV ------------------------------------------------------------------------------------ */

struct sbuf {
    char *p;
    size_t len, cap;
};

static void sput(struct sbuf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 4096;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p)
            return;
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

/* RFC 4180 quoting; text starting with = + - @ gets a leading ' so spreadsheets never run it. */
static void csv_field(struct sbuf *b, const char *s)
{
    int quote = strpbrk(s, ",\"\r\n") != NULL;
    if (quote)
        sput(b, "\"", 1);
    if (*s == '=' || *s == '+' || *s == '-' || *s == '@')
        sput(b, "'", 1);
    for (; *s; s++) {
        if (*s == '"')
            sput(b, "\"\"", 2);
        else
            sput(b, s, 1);
    }
    if (quote)
        sput(b, "\"", 1);
}

static void csv_row(struct sbuf *b, const char *section_name, const char *key, const char *name,
                    const struct counts *c, int channel)
{
    char num[256], retracted[32] = "", r[32] = "";
    csv_field(b, section_name);
    sput(b, ",", 1);
    csv_field(b, key);
    sput(b, ",", 1);
    csv_field(b, name ? name : "");
    int64_t done = c->delivered + c->failed;
    if (done)
        snprintf(r, sizeof(r), "%.4f", (double)c->delivered / (double)done);
    if (!channel)
        snprintf(retracted, sizeof(retracted), "%lld", (long long)c->retracted);
    snprintf(num, sizeof(num), ",%lld,%lld,%s,%lld,%lld,%lld,%lld,%s\r\n", (long long)c->items,
             (long long)c->published, retracted, (long long)c->deliveries, (long long)c->delivered,
             (long long)c->failed, (long long)c->in_progress, r);
    sput(b, num, strlen(num));
}

static void csv_set(struct sbuf *b, const char *name, struct bucket *set, int channel)
{
    struct bucket *k, *tmp;
    HASH_ITER (hh, set, k, tmp)
        csv_row(b, name, k->key, k->name, &k->c, channel);
}

/* ---- the query ------------------------------------------------------------------------------- */

static void q_report(sqlite3 *db, const json_t *p, struct hd_api_result *res)
{
    int year = (int)json_integer_value(json_object_get(p, "year"));
    struct report rp = {0};
    for (int m = 0; m < 12; m++)
        rp.month_start[m] = hd_api_local_midnight(year, m + 1, 1);
    rp.month_start[12] = hd_api_local_midnight(year + 1, 1, 1);
    sqlite3_stmt *st = hd_api_prepare(db, REPORT_SQL, res);
    if (!st)
        return;
    sqlite3_bind_int64(st, 1, rp.month_start[0]);
    sqlite3_bind_int64(st, 2, rp.month_start[12]);
    struct item_acc it = {0};
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *id = (const char *)sqlite3_column_text(st, 0);
        if (!id)
            continue;
        if (strcmp(id, it.id) != 0) {
            close_item(&rp, &it);
            hd_strlcpy(it.id, id, sizeof(it.id));
            it.first_at = sqlite3_column_int64(st, 1);
            col(st, 2, it.category, sizeof(it.category));
            col(st, 3, it.column, sizeof(it.column));
            col(st, 4, it.pub_code, sizeof(it.pub_code));
            col(st, 5, it.pub_name, sizeof(it.pub_name));
            col(st, 6, it.pub_kind, sizeof(it.pub_kind));
            it.retracted = sqlite3_column_int(st, 7);
            memset(&it.c, 0, sizeof(it.c));
        }
        if (sqlite3_column_type(st, 8) == SQLITE_NULL)
            continue; /* an item routed nowhere */
        struct counts c = {
            .items = 1,
            .deliveries = sqlite3_column_int64(st, 9),
            .delivered = sqlite3_column_int64(st, 10),
            .failed = sqlite3_column_int64(st, 11),
            .in_progress = sqlite3_column_int64(st, 12),
        };
        c.published = c.delivered > 0;
        it.c.deliveries += c.deliveries;
        it.c.delivered += c.delivered;
        it.c.failed += c.failed;
        it.c.in_progress += c.in_progress;
        char inst[256];
        col(st, 8, inst, sizeof(inst));
        const char *colon = strchr(inst, ':');
        char adapter[128];
        snprintf(adapter, sizeof(adapter), "%.*s", colon ? (int)(colon - inst) : 0, inst);
        struct bucket *b = bucket(&rp.channels, inst, adapter);
        if (b)
            add(&b->c, &c);
    }
    close_item(&rp, &it);
    sqlite3_finalize(st);

    if (json_is_true(json_object_get(p, "csv"))) {
        struct sbuf b = {0};
        if (json_is_true(json_object_get(p, "bom")))
            sput(&b, "\xef\xbb\xbf", 3);
        static const char head[] = "section,key,name,items,published,retracted,deliveries,"
                                   "delivered,failed,in_progress,success_rate\r\n";
        sput(&b, head, sizeof(head) - 1);
        char y[16];
        snprintf(y, sizeof(y), "%d", year);
        csv_row(&b, "total", y, "", &rp.total, 0);
        for (int m = 0; m < 12; m++) {
            char k[16];
            snprintf(k, sizeof(k), "%d-%02d", year, m + 1);
            csv_row(&b, "month", k, "", &rp.month[m], 0);
        }
        HASH_SRT(hh, rp.publishers, by_items);
        HASH_SRT(hh, rp.columns, by_key);
        HASH_SRT(hh, rp.categories, by_items);
        HASH_SRT(hh, rp.channels, by_key);
        csv_set(&b, "publisher", rp.publishers, 0);
        csv_set(&b, "column", rp.columns, 0);
        csv_set(&b, "category", rp.categories, 0);
        csv_set(&b, "channel", rp.channels, 1);
        res->text = b.p;
        res->len = b.len;
        res->ctype = "text/csv; charset=utf-8";
        if (!b.p)
            hd_api_res_error(res, 500, "internal", "out of memory");
    } else {
        json_t *months = json_array();
        for (int m = 0; m < 12; m++) {
            char k[16];
            snprintf(k, sizeof(k), "%d-%02d", year, m + 1);
            json_t *o = counts_json(&rp.month[m], 0);
            json_object_set_new(o, "month", json_string(k));
            json_array_append_new(months, o);
        }
        json_t *pubs = section(&rp.publishers, "publisher_code", "publisher", 0);
        res->json = json_pack(
            "{s:i, s:O, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "year", year, "timezone",
            json_object_get(p, "timezone"), "from", hd_api_time_json(rp.month_start[0]), "until",
            hd_api_time_json(rp.month_start[12]), "generated_at", hd_api_time_json(hd_now_ms()),
            "totals", counts_json(&rp.total, 0), "by_month", months, "by_publisher", pubs,
            "by_column", section(&rp.columns, "column", NULL, 0), "by_category",
            section(&rp.categories, "category", "label", 0));
        json_object_set_new(res->json, "by_channel",
                            section(&rp.channels, "channel", "adapter", 1));
    }
    free_set(&rp.publishers);
    free_set(&rp.columns);
    free_set(&rp.categories);
    free_set(&rp.channels);
}

void hd_api_report(struct hd_api_req *r)
{
    static const char *const allowed[] = {"year", "format", "bom", NULL};
    int64_t year;
    if (hd_api_query_only(r, allowed) != 0)
        return;
    if (!hd_api_param(r, "year")) {
        hd_api_error(r->req, 400, "bad_parameter", "year is required (e.g. ?year=2026)");
        return;
    }
    if (hd_api_param_int(r, "year", 1970, 9998, 0, &year) != 0)
        return;
    const char *format = hd_api_param(r, "format");
    if (format && strcmp(format, "csv") && strcmp(format, "json")) {
        hd_api_error(r->req, 400, "bad_parameter", "format must be json or csv");
        return;
    }
    const char *bom = hd_api_param(r, "bom");
    const struct hd_config *cfg = hd_daemon_config(hd_api_daemon(r->api));
    json_t *p = json_pack("{s:I, s:b, s:b, s:s}", "year", (json_int_t)year, "csv",
                          format && strcmp(format, "csv") == 0, "bom", bom && strcmp(bom, "1") == 0,
                          "timezone", cfg->timezone ? cfg->timezone : "");
    hd_api_submit(hd_api_reader(r->api), r->req, q_report, p, NULL);
}
