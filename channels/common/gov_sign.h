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

struct gov_signed {
    const char *headers[4]; /* for hd_http_req.headers; point into this struct */
    size_t n_headers;
    char h_ts[48], h_sig[96], h_key[320];
};

/* Sign `body` (body_len bytes, may be 0) with the instance's secret. 0, or -1 out of memory. */
int gov_sign(const struct hd_services *svc, const char *secret, size_t secret_len, const char *body,
             size_t body_len, const char *idempotency_key, struct gov_signed *out);

#endif
