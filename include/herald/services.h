/*
 * The services the herald core lends to channel adapters.
 *
 * A `struct hd_services` is handed to create() and stays valid until destroy() returns. Adapters
 * call the core only through it: the daemon exports no symbols for adapters to link against.
 * Every function takes the `struct hd_instance *` the adapter was created with, so the core knows
 * which instance (log prefix, metrics labels, config) is asking. All of them must be called from
 * the thread that called the adapter (the daemon's event loop).
 *
 * Asynchronous services follow the ABI's rule: a call that returns 0 invokes its callback exactly
 * once and never from inside the call; a call that returns non-zero never invokes it.
 *
 * Growth: services are appended at the end. An adapter that uses one added after ABI 1's first
 * release checks first that the core it runs in has it:
 *     if (HD_STRUCT_HAS(svc, struct hd_services, time_format)) ...
 */
#ifndef HERALD_SERVICES_H
#define HERALD_SERVICES_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "channel.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- HTTP (libcurl multi on the daemon's loop) ----------------------------------------------- */

struct hd_http_part { /* one multipart/form-data field */
    const char *name;
    const char *filename;     /* NULL for a plain field */
    const char *content_type; /* NULL: curl's default */
    const void *data;
    size_t len;
};

struct hd_http_req {
    size_t struct_size;
    const char *method; /* "GET", "POST", "PUT", "DELETE" */
    const char *url;
    const char *const *headers; /* "Name: value" */
    size_t n_headers;
    const void *body;
    size_t body_len;
    const struct hd_http_part *parts; /* multipart/form-data when n_parts > 0 (body ignored) */
    size_t n_parts;
    long timeout_ms;         /* 0: the instance's `timeout` */
    long connect_timeout_ms; /* 0: the instance's `connect_timeout` */
    size_t max_response;     /* 0: 4 MiB; a longer body fails the call */
};

enum hd_http_error {
    HD_HTTP_OK,         /* a response arrived (any status) */
    HD_HTTP_CONNECT,    /* could not connect or resolve: nothing was sent */
    HD_HTTP_TIMEOUT,    /* no complete response in time */
    HD_HTTP_TLS,        /* TLS handshake or verification failed */
    HD_HTTP_CONNECTION, /* connection reset or closed mid-exchange */
    HD_HTTP_TOO_LARGE,  /* response over max_response */
    HD_HTTP_CANCELLED,  /* http_cancel() was called */
    HD_HTTP_OTHER,
    HD_HTTP_ERROR_MAX
};

struct hd_http_resp {
    enum hd_http_error error;
    const char *error_text; /* curl's message when error != HD_HTTP_OK */
    int request_sent;       /* 1 when the request may have reached the server */
    int status;             /* HTTP status, 0 when no response */
    const char *body;       /* NUL-terminated copy, valid during the callback */
    size_t body_len;
    double total_s;
    const void *core;
};

struct hd_http_call;
typedef void hd_http_cb(void *arg, const struct hd_http_resp *resp);

/* ---- timers, persistence, tokens ------------------------------------------------------------ */

struct hd_timer;
typedef void hd_timer_cb(void *arg);
typedef void hd_persist_cb(void *arg, int err);

/* A token source the adapter registers once: fetch a new token and call done() (once, later). */
typedef void hd_token_done_fn(void *done_arg, int err, const char *token, int64_t expires_in_s,
                              const char *detail);
typedef int hd_token_fetch_fn(void *arg, hd_token_done_fn *done, void *done_arg);
typedef void hd_token_cb(void *arg, int err, const char *token, const char *detail);

enum hd_log_level { HD_LOG_ERROR, HD_LOG_WARN, HD_LOG_INFO, HD_LOG_DEBUG, HD_LOG_LEVEL_MAX };

struct hd_services {
    size_t struct_size;
    uint32_t abi_version;

    /* Report the outcome of an op: exactly once per op. */
    void (*complete)(struct hd_op *op, const struct hd_outcome *outcome);
    /* Durably record adapter state (JSON) for the op's delivery before going on, e.g. WeChat's
     * draft media_id and publish_id. done(arg, 0) runs after the store commit is on disk. */
    int (*persist)(struct hd_op *op, const char *state_json, hd_persist_cb *done, void *arg);

    /* Configuration of this instance, validated against the adapter's key table. Strings stay
     * valid until destroy(). A missing optional key without default gives NULL / 0. */
    const char *(*conf_str)(struct hd_instance *inst, const char *key);
    int64_t (*conf_int)(struct hd_instance *inst, const char *key); /* INT, DURATION(ms), SIZE */
    int (*conf_bool)(struct hd_instance *inst, const char *key);
    size_t (*conf_list)(struct hd_instance *inst, const char *key, const char *const **items);
    /* MAP keys: value for one key of a mapping, NULL when absent. */
    const char *(*conf_map_get)(struct hd_instance *inst, const char *key, const char *mkey);
    /* SECRET keys: the secret's bytes, read at start or reload; never log them. */
    const char *(*conf_secret)(struct hd_instance *inst, const char *key, size_t *len);
    const char *(*instance_id)(struct hd_instance *inst); /* "<adapter>:<name>" */

    void (*log)(struct hd_instance *inst, enum hd_log_level level, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
    int (*log_enabled)(struct hd_instance *inst, enum hd_log_level level);

    int (*http_request)(struct hd_instance *inst, const struct hd_http_req *req, hd_http_cb *cb,
                        void *arg, struct hd_http_call **call);
    /* The callback still runs once, later (never inside http_cancel), with error
     * HD_HTTP_CANCELLED (request_sent says whether the request may have reached the server).
     * Only for a call whose callback has not run yet. */
    void (*http_cancel)(struct hd_http_call *call);
    /* A response header of the call being reported, or NULL. Only inside the http callback. */
    const char *(*http_header)(const struct hd_http_resp *resp, const char *name);
    /* Parse Retry-After (delay-seconds or HTTP-date) into epoch ms; 0 when absent or invalid. */
    int64_t (*retry_after_ms)(const struct hd_http_resp *resp);

    /* One-shot timer on the loop. timer_cancel() is safe until the callback has started. */
    struct hd_timer *(*timer_add)(struct hd_instance *inst, int64_t delay_ms, hd_timer_cb *cb,
                                  void *arg);
    void (*timer_cancel)(struct hd_timer *t);
    int64_t (*now_ms)(void); /* wall clock, epoch milliseconds */

    /* Token cache with single-flight refresh: `refresh_margin_s` before expiry the next get
     * refreshes; concurrent gets wait for one fetch. */
    int (*token_register)(struct hd_instance *inst, const char *name, hd_token_fetch_fn *fetch,
                          void *arg, int64_t refresh_margin_s);
    int (*token_get)(struct hd_instance *inst, const char *name, hd_token_cb *cb, void *arg);
    /* Forget `bad` (only if it is still the cached token: a fresher one is kept). */
    void (*token_invalidate)(struct hd_instance *inst, const char *name, const char *bad);

    /* Metrics: a counter herald_channel_<name>_total{instance="..",label=".."}. */
    void (*metric_add)(struct hd_instance *inst, const char *name, const char *label, double v);

    /* Text helpers. Lengths count Unicode code points unless said otherwise. */
    size_t (*utf8_len)(const char *s);
    int (*utf8_valid)(const char *s, size_t len);
    /* Copy at most max_chars code points of s into a new string; when cut, append `ellipsis`
     * (counted within max_chars). Never splits a character. Caller frees. */
    char *(*utf8_truncate)(const char *s, size_t max_chars, const char *ellipsis);
    /* Plain text of an HTML fragment: tags dropped, entities decoded, blocks as newlines. */
    char *(*html_to_text)(const char *html);
    /* UTF-8 -> GBK. Characters GBK cannot carry are replaced by `replacement` (NULL: dropped);
     * *n_replaced counts them. Returns malloc'd bytes (NUL-terminated) and their length. */
    char *(*utf8_to_gbk)(const char *s, const char *replacement, size_t *out_len,
                         size_t *n_replaced);
    /* HMAC-SHA256 as lowercase hex (65 bytes with NUL) and SHA-1/SHA-256 hex digests. */
    void (*hmac_sha256_hex)(const void *key, size_t keylen, const void *msg, size_t len,
                            char out[65]);
    void (*sha256_hex)(const void *msg, size_t len, char out[65]);
    void (*sha1_hex)(const void *msg, size_t len, char out[41]);

    /* A platform told us, outside any op, what happened to a delivery we published (WeChat's
     * PUBLISHJOBFINISH event): find the delivery whose remote ref is `remote_id` and apply the
     * outcome (delivered / rejected / ...). kind HD_OUT_REJECTED with reason "removed_externally"
     * after success moves a delivered delivery to removed_externally. Returns 0 when found. */
    int (*resolve_remote)(struct hd_instance *inst, const char *remote_id,
                          const struct hd_outcome *outcome);

    /* Budgets counted ahead of the platform's (so its quota errors never come): declare each in
     * create(): at most `limit` per window. A window of a whole number of days starts at local
     * midnight (daemon.timezone); shorter windows start at multiples of their length since the
     * epoch. Counts are kept in the store and survive restarts. */
    int (*quota_define)(struct hd_instance *inst, const char *name, int64_t limit,
                        int64_t window_ms);
    /* Take n: 0, or HD_QUOTA_EXHAUSTED with *next_ms = when the next window starts. */
    int (*quota_take)(struct hd_instance *inst, const char *name, int64_t n, int64_t *next_ms);
    /* What is left in the current window (-1 for an unknown budget). */
    int64_t (*quota_left)(struct hd_instance *inst, const char *name);

    /* RFC 3339 text of an epoch-ms time at a UTC offset in minutes, e.g.
     * "2026-03-02T09:30:00+08:00" (offset 0 gives "Z"); out holds at least 40 bytes. */
    void (*time_format)(int64_t epoch_ms, int offset_min, char *out, size_t len);
    /* The UTC offset in minutes of an RFC 3339 time as written ("Z" and unparsable: 0). */
    int (*time_offset)(const char *rfc3339);

    /* Added after ABI 1's first release: check HD_STRUCT_HAS(svc, struct hd_services,
     * secret_read). The bytes of a secret reference found inside another setting (a MAP of
     * per-target secrets, say): "file:/path" or "credential:NAME", read with the same rules as
     * a SECRET key's. The core keeps them, wiped at the end, at least until destroy() returns;
     * read them in create(). NULL when it cannot be read, with the reason in err (never the
     * secret). Never log the bytes. */
    const char *(*secret_read)(struct hd_instance *inst, const char *ref, size_t *len, char *err,
                               size_t errlen);
};

#define HD_QUOTA_EXHAUSTED 1

#ifdef __cplusplus
}
#endif
#endif
