/* The district platforms' request signature: see gov_sign.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gov_sign.h"

int gov_sign(const struct hd_services *svc, const char *secret, size_t secret_len, const char *body,
             size_t body_len, const char *idempotency_key, struct gov_signed *out)
{
    char ts[24], hmac[65];
    int n = snprintf(ts, sizeof(ts), "%lld.", (long long)(svc->now_ms() / 1000));
    char *msg = malloc((size_t)n + body_len + 1);
    if (!msg)
        return -1;
    memcpy(msg, ts, (size_t)n);
    memcpy(msg + n, body, body_len);
    svc->hmac_sha256_hex(secret, secret_len, msg, (size_t)n + body_len, hmac);
    free(msg);
    ts[n - 1] = '\0'; /* the timestamp without its dot */
    snprintf(out->h_ts, sizeof(out->h_ts), "X-Gov-Timestamp: %s", ts);
    snprintf(out->h_sig, sizeof(out->h_sig), "X-Gov-Signature: v1=%s", hmac);
    snprintf(out->h_key, sizeof(out->h_key), "Idempotency-Key: %s", idempotency_key);
    out->headers[0] = out->h_ts;
    out->headers[1] = out->h_sig;
    out->headers[2] = out->h_key;
    out->headers[3] = "Content-Type: application/json; charset=utf-8";
    out->n_headers = body_len ? 4 : 3;
    return 0;
}
