/*
 * The admin HTTP server (admin.h): listening, authentication and the probes. /metrics is
 * rendered by metrics_text.c; the JSON API lives in api.c.
 */
#include <errno.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "admin.h"
#include "common.h"
#include "config.h"
#include "daemon.h"
#include "engine.h"
#include "kafka.h"
#include "store.h"

struct hd_admin {
    struct hd_daemon *d;
    const struct hd_config *cfg;
    struct evhttp *http;
    struct evhttp_bound_socket *sock;
    char url[300];
    int ready;
};

char *hd_metrics_render(struct hd_daemon *d); /* metrics_text.c */

static void reply_text(struct evhttp_request *req, int code, const char *ctype, const char *body)
{
    struct evbuffer *b = evbuffer_new();
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", ctype);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Cache-Control", "no-store");
    evbuffer_add(b, body, strlen(body));
    evhttp_send_reply(req, code, NULL, b);
    evbuffer_free(b);
}

static void on_healthz(struct evhttp_request *req, void *arg)
{
    reply_text(req, 200, "text/plain; charset=utf-8", "ok\n");
}

static void on_readyz(struct evhttp_request *req, void *arg)
{
    struct hd_admin *a = arg;
    struct hd_kafka *k = hd_daemon_kafka(a->d);
    char why[256] = "";
    if (!a->ready)
        hd_strlcpy(why, "starting or stopping", sizeof(why));
    else if (!hd_kafka_joined(k))
        hd_strlcpy(why, "consumer group not joined yet", sizeof(why));
    else if (hd_kafka_paused(k))
        hd_strlcpy(why, "intake paused (store trouble or back-pressure)", sizeof(why));
    if (why[0]) {
        char body[300];
        snprintf(body, sizeof(body), "not ready: %s\n", why);
        reply_text(req, 503, "text/plain; charset=utf-8", body);
        return;
    }
    reply_text(req, 200, "text/plain; charset=utf-8", "ready\n");
}

static void on_metrics(struct evhttp_request *req, void *arg)
{
    struct hd_admin *a = arg;
    char *text = hd_metrics_render(a->d);
    reply_text(req, 200, "text/plain; version=0.0.4; charset=utf-8", text ? text : "");
    free(text);
}

int hd_admin_create(struct hd_daemon *d, const struct hd_config *cfg, struct hd_admin **out,
                    char *err, size_t errlen)
{
    struct hd_admin *a = calloc(1, sizeof(*a));
    if (!a)
        return HD_ENOMEM;
    a->d = d;
    a->cfg = cfg;
    a->http = evhttp_new(hd_daemon_base(d));
    if (!a->http)
        goto fail;
    char host[256];
    const char *colon = strrchr(cfg->admin_listen, ':');
    if (!colon) {
        snprintf(err, errlen, "admin.listen %s: expected host:port", cfg->admin_listen);
        goto fail;
    }
    snprintf(host, sizeof(host), "%.*s", (int)(colon - cfg->admin_listen), cfg->admin_listen);
    int port = atoi(colon + 1);
    a->sock = evhttp_bind_socket_with_handle(a->http, host, (ev_uint16_t)port);
    if (!a->sock) {
        snprintf(err, errlen, "cannot listen on %s: %s", cfg->admin_listen, strerror(errno));
        goto fail;
    }
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    getsockname(evhttp_bound_socket_get_fd(a->sock), (struct sockaddr *)&ss, &sl);
    int bound = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                               : ((struct sockaddr_in *)&ss)->sin_port);
    snprintf(a->url, sizeof(a->url), "http://%s%s%s:%d", strchr(host, ':') ? "[" : "", host,
             strchr(host, ':') ? "]" : "", bound);
    evhttp_set_allowed_methods(a->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_PUT |
                                            EVHTTP_REQ_DELETE | EVHTTP_REQ_HEAD);
    evhttp_set_max_body_size(a->http, 1 << 20);
    evhttp_set_max_headers_size(a->http, 16 << 10);
    evhttp_set_timeout(a->http, 30);
    evhttp_set_cb(a->http, "/healthz", on_healthz, a);
    evhttp_set_cb(a->http, "/readyz", on_readyz, a);
    evhttp_set_cb(a->http, "/metrics", on_metrics, a);
    hd_info("admin: listening on %s", a->url);
    *out = a;
    return 0;
fail:
    hd_admin_destroy(a);
    return HD_EIO;
}

const char *hd_admin_url(const struct hd_admin *a)
{
    return a->url;
}

void hd_admin_set_ready(struct hd_admin *a, int ready)
{
    if (a)
        a->ready = ready;
}

void hd_admin_destroy(struct hd_admin *a)
{
    if (!a)
        return;
    if (a->http)
        evhttp_free(a->http);
    free(a);
}
