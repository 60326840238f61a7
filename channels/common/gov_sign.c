/* The district platforms' request signature: see gov_sign.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gov_sign.h"

struct gov_signed {
    const char *headers[4]; /* for hd_http_req.headers; point into this struct */
    size_t n_headers;
    char h_ts[48], h_sig[96], h_key[320];
};

static int gov_sign(const struct hd_services *svc, const char *secret, size_t secret_len,
                    const char *body, size_t body_len, const char *idempotency_key,
                    struct gov_signed *out)
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

int gov_request(const struct hd_services *svc, struct hd_instance *inst, const char *secret,
                size_t secret_len, const char *method, const char *base, const char *path,
                const char *body, const char *idempotency_key, hd_http_cb *cb, void *arg,
                struct hd_http_call **call)
{
    char url[2048];
    size_t blen = strlen(base);
    while (blen > 0 && base[blen - 1] == '/')
        blen--;
    snprintf(url, sizeof(url), "%.*s%s", (int)blen, base, path);
    size_t len = strlen(body);
    struct gov_signed g;
    if (gov_sign(svc, secret, secret_len, body, len, idempotency_key, &g) != 0)
        return -1;
    struct hd_http_req req = {.struct_size = sizeof(req),
                              .method = method,
                              .url = url,
                              .headers = g.headers,
                              .n_headers = g.n_headers,
                              .body = body,
                              .body_len = len};
    return svc->http_request(inst, &req, cb, arg, call);
}

enum hd_outcome_kind gov_failure(const struct hd_services *svc, const struct hd_http_resp *r,
                                 const char *error, const char **detail, int64_t *at_ms)
{
    int s = r->status;
    *at_ms = 0;
    if (s == 429 || s == 503) {
        *at_ms = svc->retry_after_ms(r);
        return *at_ms > 0 ? HD_OUT_RETRY_AFTER : HD_OUT_RETRY;
    }
    if (s == 409 && error && strcmp(error, "in_flight") == 0) {
        *detail = "the platform is still processing this key";
        return HD_OUT_RETRY;
    }
    if (s == 401) {
        *detail = "the platform refused our signature: check the secret and the clock";
        return HD_OUT_NEEDS_OPERATOR;
    }
    return s >= 500 || s == 408 ? HD_OUT_RETRY : HD_OUT_REJECTED;
}
