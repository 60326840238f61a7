/*
 * Backoff, token bucket and circuit breaker (engine_limits.h).
 */
#include <math.h>

#include "common.h"
#include "engine_limits.h"

int64_t hd_backoff(int64_t base_ms, int64_t cap_ms, int attempt, uint64_t rnd)
{
    if (attempt < 0)
        attempt = 0;
    if (attempt > 40)
        attempt = 40;
    double ceil_ms = (double)base_ms * pow(2.0, attempt);
    if (ceil_ms > (double)cap_ms)
        ceil_ms = (double)cap_ms;
    int64_t span = (int64_t)ceil_ms;
    if (span < 1)
        return 1;
    return 1 + (int64_t)(rnd % (uint64_t)span);
}

void hd_bucket_init(struct hd_bucket *b, double rate_per_s, int burst, int64_t now_ms)
{
    b->rate_per_s = rate_per_s;
    b->burst = burst > 0 ? burst : 1;
    b->tokens = b->burst;
    b->at_ms = now_ms;
}

static void refill(struct hd_bucket *b, int64_t now_ms)
{
    if (b->rate_per_s <= 0 || now_ms <= b->at_ms)
        return;
    b->tokens = fmin(b->burst, b->tokens + (double)(now_ms - b->at_ms) / 1000.0 * b->rate_per_s);
    b->at_ms = now_ms;
}

int64_t hd_bucket_take(struct hd_bucket *b, int64_t now_ms)
{
    if (b->rate_per_s <= 0)
        return 0;
    refill(b, now_ms);
    if (b->tokens >= 1.0) {
        b->tokens -= 1.0;
        return 0;
    }
    int64_t wait = (int64_t)ceil((1.0 - b->tokens) / b->rate_per_s * 1000.0);
    return wait > 0 ? wait : 1;
}

double hd_bucket_level(struct hd_bucket *b, int64_t now_ms)
{
    refill(b, now_ms);
    return b->rate_per_s > 0 ? b->tokens : -1;
}

void hd_breaker_init(struct hd_breaker *b, const struct hd_breaker_conf *c)
{
    b->state = HD_BREAKER_CLOSED;
    b->failures = 0;
    b->open_until = 0;
    b->reset_ms = c->reset_ms;
    b->probe_in_flight = 0;
}

int hd_breaker_allow(struct hd_breaker *b, int64_t now_ms)
{
    if (b->state == HD_BREAKER_OPEN) {
        if (now_ms < b->open_until)
            return 0;
        b->state = HD_BREAKER_HALF_OPEN;
        b->probe_in_flight = 0;
    }
    if (b->state == HD_BREAKER_HALF_OPEN)
        return !b->probe_in_flight;
    return 1;
}

void hd_breaker_started(struct hd_breaker *b)
{
    if (b->state == HD_BREAKER_HALF_OPEN)
        b->probe_in_flight = 1;
}

int hd_breaker_success(struct hd_breaker *b, const struct hd_breaker_conf *c)
{
    int changed = b->state != HD_BREAKER_CLOSED;
    b->state = HD_BREAKER_CLOSED;
    b->failures = 0;
    b->probe_in_flight = 0;
    b->reset_ms = c->reset_ms;
    return changed;
}

int hd_breaker_failure(struct hd_breaker *b, const struct hd_breaker_conf *c, int64_t now_ms)
{
    if (b->state == HD_BREAKER_HALF_OPEN) {
        /* the probe failed: open again, for twice as long (up to the maximum) */
        b->reset_ms = HD_MIN(b->reset_ms * 2, c->reset_max);
        b->state = HD_BREAKER_OPEN;
        b->open_until = now_ms + b->reset_ms;
        b->probe_in_flight = 0;
        return 1;
    }
    if (b->state == HD_BREAKER_OPEN)
        return 0; /* a late result of an op started before it opened */
    if (++b->failures >= c->failures) {
        b->state = HD_BREAKER_OPEN;
        b->open_until = now_ms + b->reset_ms;
        return 1;
    }
    return 0;
}

void hd_breaker_neutral(struct hd_breaker *b)
{
    b->probe_in_flight = 0;
}

const char *hd_breaker_name(enum hd_breaker_state s)
{
    return s == HD_BREAKER_OPEN ? "open" : s == HD_BREAKER_HALF_OPEN ? "half_open" : "closed";
}
