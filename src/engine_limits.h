/*
 * The engine's small mechanisms, kept apart so they can be tested alone: exponential backoff with
 * full jitter, the token bucket, and the circuit breaker. Pure state machines over a clock the
 * caller passes in.
 */
#ifndef HD_ENGINE_LIMITS_H
#define HD_ENGINE_LIMITS_H

#include <stdint.h>

/* random(0, min(cap, base * 2^attempt)) from rnd, at least 1 ms. */
int64_t hd_backoff(int64_t base_ms, int64_t cap_ms, int attempt, uint64_t rnd);

struct hd_bucket {
    double rate_per_s; /* 0: unlimited */
    double burst;
    double tokens;
    int64_t at_ms; /* last refill */
};
void hd_bucket_init(struct hd_bucket *b, double rate_per_s, int burst, int64_t now_ms);
/* Take one token: 0 when taken, else the ms to wait for one. */
int64_t hd_bucket_take(struct hd_bucket *b, int64_t now_ms);
double hd_bucket_level(struct hd_bucket *b, int64_t now_ms);

enum hd_breaker_state { HD_BREAKER_CLOSED, HD_BREAKER_OPEN, HD_BREAKER_HALF_OPEN };

struct hd_breaker {
    enum hd_breaker_state state;
    int failures;       /* consecutive transient failures while closed */
    int64_t open_until; /* OPEN: the first probe may go at this time */
    int64_t reset_ms;   /* current reset interval */
    int probe_in_flight;
};
struct hd_breaker_conf {
    int failures;      /* threshold */
    int64_t reset_ms;  /* first reset interval */
    int64_t reset_max; /* doubling stops here */
};
void hd_breaker_init(struct hd_breaker *b, const struct hd_breaker_conf *c);
/* May an operation go now? Moves OPEN -> HALF_OPEN when the reset time came (returns 1 for
 * the one probe, then 0 while it is in flight). Does not mark the probe: call
 * hd_breaker_started() when the operation starts. */
int hd_breaker_allow(struct hd_breaker *b, int64_t now_ms);
void hd_breaker_started(struct hd_breaker *b); /* marks the half-open probe */
/* Record a result. Returns 1 when the state changed (for logs). */
int hd_breaker_success(struct hd_breaker *b, const struct hd_breaker_conf *c);
int hd_breaker_failure(struct hd_breaker *b, const struct hd_breaker_conf *c, int64_t now_ms);
/* The probe ended without a verdict (cancelled, rate-limited): allow another probe. */
void hd_breaker_neutral(struct hd_breaker *b);
const char *hd_breaker_name(enum hd_breaker_state s);

#endif
