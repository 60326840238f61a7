/*
 * Budgets adapters count ahead of the platform's quotas (hd_services.quota_*): WeChat's 100
 * submits and 100 status polls a day, Weibo's posting budget. Counts live in the store's
 * `quotas` table (written in the current batch), so a restart does not forget what was spent.
 * Day windows turn at local midnight of daemon.timezone (TZ is set from it at start).
 */
#include <time.h>

#include "common.h"
#include "engine_int.h"

#define DAY_MS (86400LL * 1000)

struct hd_quota {
    char *name; /* key */
    int64_t limit, window_ms;
    int64_t window_start, used;
    UT_hash_handle hh;
};

static int64_t window_start(int64_t window_ms, int64_t now)
{
    if (window_ms >= DAY_MS && window_ms % DAY_MS == 0) {
        time_t t = (time_t)(now / 1000);
        struct tm tm;
        localtime_r(&t, &tm);
        tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
        tm.tm_isdst = -1;
        int64_t midnight = (int64_t)mktime(&tm) * 1000;
        int64_t days = window_ms / DAY_MS;
        /* multi-day windows: count whole days since the epoch's local midnight */
        if (days > 1)
            midnight -= ((midnight / DAY_MS) % days) * DAY_MS;
        return midnight;
    }
    return now - now % window_ms;
}

static void roll(struct hd_quota *q, int64_t now)
{
    int64_t ws = window_start(q->window_ms, now);
    if (ws != q->window_start) {
        q->window_start = ws;
        q->used = 0;
    }
}

static struct hd_quota *find(struct hd_instance *in, const char *name)
{
    struct hd_quota *q;
    HASH_FIND_STR(in->quotas, name, q);
    return q;
}

int hd_quota_define(struct hd_instance *in, const char *name, int64_t limit, int64_t window_ms)
{
    if (!name || limit < 0 || window_ms < 1000)
        return HD_EINVAL;
    struct hd_quota *q = find(in, name);
    if (!q) {
        q = calloc(1, sizeof(*q));
        if (!q)
            return HD_ENOMEM;
        q->name = strdup(name);
        HASH_ADD_KEYPTR(hh, in->quotas, q->name, strlen(q->name), q);
    }
    q->limit = limit;
    q->window_ms = window_ms;
    q->window_start = 0;
    q->used = 0;
    hd_store_quota_get(in->e->st, in->conf->id, name, &q->window_start, &q->used);
    roll(q, hd_now_ms());
    return 0;
}

int hd_quota_take(struct hd_instance *in, const char *name, int64_t n, int64_t *next_ms)
{
    struct hd_quota *q = find(in, name);
    if (!q)
        return HD_EINVAL;
    int64_t now = hd_now_ms();
    roll(q, now);
    if (q->used + n > q->limit) {
        if (next_ms) {
            int64_t next = window_start(q->window_ms, now + q->window_ms);
            *next_ms = next > now ? next : now + q->window_ms;
        }
        HD_LOG(HD_LOG_WARN, in->prefix, "budget %s spent (%lld of %lld this window)", name,
               (long long)q->used, (long long)q->limit);
        return HD_QUOTA_EXHAUSTED;
    }
    q->used += n;
    hd_store_quota_put(in->e->st, in->conf->id, name, q->window_start, q->used);
    return 0;
}

int64_t hd_quota_left(struct hd_instance *in, const char *name)
{
    struct hd_quota *q = find(in, name);
    if (!q)
        return -1;
    roll(q, hd_now_ms());
    return q->limit - q->used;
}

void hd_quotas_free(struct hd_instance *in)
{
    struct hd_quota *q, *tmp;
    HASH_ITER (hh, in->quotas, q, tmp) {
        HASH_DEL(in->quotas, q);
        free(q->name);
        free(q);
    }
}
