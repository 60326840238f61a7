/*
 * The district platforms' signed request (CHANNELS.md §3.3, used as-is by §4.6 e家通 and the
 * service-hall boards): X-Gov-Timestamp (unix seconds), X-Gov-Signature: v1=<hex HMAC-SHA256 of
 * "<timestamp>.<raw body>">, Idempotency-Key, and the JSON Content-Type when there is a body.
 * The webhook adapter signs with its own X-Herald-* headers and does not use this.
 */
#ifndef HERALD_CHANNELS_GOV_SIGN_H
#define HERALD_CHANNELS_GOV_SIGN_H

#include <stddef.h>

#include <herald/services.h>

/* Send `method` <base><path> (trailing slashes of base dropped) with `body` (a NUL-terminated
 * JSON text; "" for none), signed with `secret`, through the core's HTTP client. What
 * http_request() answers: 0 and cb runs exactly once, later; -1 and it never runs. */
int gov_request(const struct hd_services *svc, struct hd_instance *inst, const char *secret,
                size_t secret_len, const char *method, const char *base, const char *path,
                const char *body, const char *idempotency_key, hd_http_cb *cb, void *arg,
                struct hd_http_call **call);

/* What a failure answer of the protocol means, for the answers the district platforms share:
 * 429 and 503 (retry_after with *at_ms when Retry-After says when, else retry), 409 `in_flight`
 * (retry), 401 (our signature or clock: needs an operator), 5xx and 408 (retry), anything else
 * (rejected: this content or this target). `error` is the body's "error" (may be NULL). Where the
 * protocol has an explanation, *detail is set to it. Adapters handle their successes and their
 * own answers first. */
enum hd_outcome_kind gov_failure(const struct hd_services *svc, const struct hd_http_resp *r,
                                 const char *error, const char **detail, int64_t *at_ms);

#endif
