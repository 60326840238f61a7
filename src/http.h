/*
 * The shared asynchronous HTTP client: libcurl multi driven by the daemon's libevent loop. Lent to
 * adapters through hd_services.http_request (see <herald/services.h> for the contract).
 */
#ifndef HD_HTTP_H
#define HD_HTTP_H

#include <event2/event.h>

#include <herald/services.h>

struct hd_http;

struct hd_http_opts {
    long timeout_ms;
    long connect_timeout_ms;
    const char *ca_file; /* extra CA bundle, NULL: system default */
    const char *log_prefix;
    /* A fresh connection, closed after use: for requests that must never be sent twice. libcurl
     * silently resends a request whose reused keep-alive connection turns out dead before any
     * answer byte, and the server may already have acted on the first copy. */
    int no_reuse;
};

int hd_http_create(struct event_base *base, struct hd_http **out);
/* Frees every call still in flight without calling its callback: cancel adapters first. */
void hd_http_destroy(struct hd_http *h);

int hd_http_request(struct hd_http *h, const struct hd_http_req *req,
                    const struct hd_http_opts *opts, hd_http_cb *cb, void *arg,
                    struct hd_http_call **out);
void hd_http_cancel(struct hd_http_call *call);
const char *hd_http_header(const struct hd_http_resp *resp, const char *name);
int64_t hd_http_retry_after_ms(const struct hd_http_resp *resp);
size_t hd_http_in_flight(const struct hd_http *h);
const char *hd_http_error_name(enum hd_http_error e);

#endif
