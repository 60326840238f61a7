/*
 * The admin HTTP server (admin.h), on the daemon's loop: listening, the probes (/healthz,
 * /readyz), /metrics (rendered by metrics_text.c), the dashboard's files at / (embedded into the
 * binary at build time from web/, see web/embed.cmake) and the bearer-token check in front of the
 * JSON API (/api/v1/..., api.c). Tokens are compared in constant time; a missing or wrong token
 * gets 401, a role too low 403, both logged with the token's name at most, never the token.
 */
#include <errno.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "admin.h"
#include "api.h"
#include "common.h"
#include "config.h"
#include "daemon.h"
#include "engine.h"
#include "kafka.h"
#include "metrics.h"
#include "store.h"
#include "text.h"
#include "web_assets.h"

struct hd_admin {
    struct hd_daemon *d;
    struct evhttp *http;
    struct evhttp_bound_socket *sock;
    struct hd_api *api;
    char url[300];
    int ready;
    /* 401s are logged at most LOG_BURST a minute (a scanner must not flood the journal) */
    int64_t denied_window;
    int denied_logged, denied_dropped;
};

#define LOG_BURST 20

char *hd_metrics_render(struct hd_daemon *d); /* metrics_text.c */

static const char CSP[] = "default-src 'self'; script-src 'self'; style-src 'self'; "
                          "img-src 'self' data:; connect-src 'self'; font-src 'self'; "
                          "object-src 'none'; base-uri 'none'; form-action 'none'; "
                          "frame-ancestors 'none'";

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

/* ---- the dashboard's files ----------------------------------------------------------------- */

static void serve_asset(struct evhttp_request *req, const char *name)
{
    for (const struct hd_web_asset *w = hd_web_assets; w->name; w++) {
        if (strcmp(w->name, name) != 0)
            continue;
        struct evkeyvalq *h = evhttp_request_get_output_headers(req);
        struct evbuffer *b = evbuffer_new();
        evhttp_add_header(h, "Content-Type", w->ctype);
        evhttp_add_header(h, "Cache-Control", "no-cache");
        evhttp_add_header(h, "Content-Security-Policy", CSP);
        evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
        evhttp_add_header(h, "X-Frame-Options", "DENY");
        evhttp_add_header(h, "Referrer-Policy", "no-referrer");
        evhttp_add_header(h, "Cross-Origin-Opener-Policy", "same-origin");
        evbuffer_add_reference(b, w->data, w->len, NULL, NULL);
        evhttp_send_reply(req, 200, NULL, b);
        evbuffer_free(b);
        return;
    }
    reply_text(req, 404, "text/plain; charset=utf-8", "not found\n");
}

/* ---- authentication -------------------------------------------------------------------------- */

/* A request's path for a log line: printable ASCII only, at most 100 characters, no query (a
 * client might put anything there). */
static void log_path(struct evhttp_request *req, char *out, size_t len)
{
    const struct evhttp_uri *u = evhttp_request_get_evhttp_uri(req);
    const char *p = u ? evhttp_uri_get_path(u) : NULL;
    size_t j = 0;
    for (; p && *p && j + 1 < len && j < 100; p++)
        out[j++] = (*p > 0x20 && *p < 0x7f) ? *p : '?';
    out[j] = '\0';
}

static void denied(struct hd_admin *a, struct evhttp_request *req, const char *why)
{
    int64_t now = hd_mono_ms();
    if (now - a->denied_window > 60000) {
        if (a->denied_dropped)
            hd_warn("admin: %d more request(s) without a valid token in the last minute",
                    a->denied_dropped);
        a->denied_window = now;
        a->denied_logged = a->denied_dropped = 0;
    }
    if (a->denied_logged++ < LOG_BURST) {
        char path[128], *peer = NULL;
        ev_uint16_t port = 0;
        struct evhttp_connection *c = evhttp_request_get_connection(req);
        if (c)
            evhttp_connection_get_peer(c, &peer, &port);
        log_path(req, path, sizeof(path));
        hd_warn("admin: 401 %s from %s: %s", path, peer ? peer : "?", why);
    } else {
        a->denied_dropped++;
    }
    hd_api_error(req, 401, "unauthorized", "%s", why);
}

/* The token's entry for the request's bearer token, or NULL; every configured token is compared
 * (in constant time each), whether or not an earlier one matched. */
static const struct hd_admin_token *authenticate(struct hd_admin *a, struct evhttp_request *req,
                                                 const char **why)
{
    const struct hd_config *cfg = hd_daemon_config(a->d);
    const char *h = evhttp_find_header(evhttp_request_get_input_headers(req), "Authorization");
    if (!cfg->n_tokens) {
        *why = "no admin tokens are configured (admin.tokens in the configuration)";
        return NULL;
    }
    if (!h || strncasecmp(h, "Bearer ", 7) != 0) {
        *why = "send Authorization: Bearer <token>";
        return NULL;
    }
    const char *tok = h + 7;
    while (*tok == ' ')
        tok++;
    const struct hd_admin_token *hit = NULL;
    for (size_t i = 0; i < cfg->n_tokens; i++) {
        int eq = hd_consttime_streq(tok, cfg->tokens[i].token);
        if (eq && !hit)
            hit = &cfg->tokens[i];
    }
    if (!hit)
        *why = "the token is not valid";
    return hit;
}

/* Whether the request came over loopback (127.0.0.0/8, ::1, or either mapped into IPv6). */
static int from_loopback(struct evhttp_request *req)
{
    char *peer = NULL;
    ev_uint16_t port = 0;
    struct evhttp_connection *c = evhttp_request_get_connection(req);
    if (c)
        evhttp_connection_get_peer(c, &peer, &port);
    if (!peer)
        return 0;
    if (strncasecmp(peer, "::ffff:", 7) == 0)
        peer += 7;
    return strncmp(peer, "127.", 4) == 0 || strcmp(peer, "::1") == 0;
}

/* admin.metrics_auth: loopback asks a token of remote scrapers only, token of all, none of none */
static void on_metrics(struct evhttp_request *req, void *arg)
{
    struct hd_admin *a = arg;
    const char *mode = hd_daemon_config(a->d)->metrics_auth;
    if (!mode)
        mode = "loopback";
    if (strcmp(mode, "none") != 0 && (strcmp(mode, "token") == 0 || !from_loopback(req))) {
        const char *why = NULL;
        if (!authenticate(a, req, &why)) {
            denied(a, req, why);
            return;
        }
    }
    char *text = hd_metrics_render(a->d);
    reply_text(req, 200, "text/plain; version=0.0.4; charset=utf-8", text ? text : "");
    free(text);
}

static void on_request(struct evhttp_request *req, void *arg)
{
    struct hd_admin *a = arg;
    const struct evhttp_uri *u = evhttp_request_get_evhttp_uri(req);
    const char *path = u ? evhttp_uri_get_path(u) : NULL;
    enum evhttp_cmd_type m = evhttp_request_get_command(req);
    if (!path) {
        reply_text(req, 400, "text/plain; charset=utf-8", "bad request\n");
        return;
    }
    if (strncmp(path, "/api/", 5) == 0 || strcmp(path, "/api") == 0) {
        const char *why = NULL;
        const struct hd_admin_token *t = authenticate(a, req, &why);
        if (!t) {
            denied(a, req, why);
            return;
        }
        hd_api_handle(a->api, req, t->name, hd_role_parse(t->role));
        return;
    }
    if (m != EVHTTP_REQ_GET && m != EVHTTP_REQ_HEAD) {
        reply_text(req, 405, "text/plain; charset=utf-8", "method not allowed\n");
        return;
    }
    if (strcmp(path, "/") == 0 || strcmp(path, "/index.html") == 0)
        serve_asset(req, "index.html");
    else if (strncmp(path, "/assets/", 8) == 0 && !strchr(path + 8, '/'))
        serve_asset(req, path + 8);
    else
        reply_text(req, 404, "text/plain; charset=utf-8", "not found\n");
}

/* ---- life ------------------------------------------------------------------------------------ */

int hd_admin_create(struct hd_daemon *d, const struct hd_config *cfg, struct hd_admin **out,
                    char *err, size_t errlen)
{
    struct hd_admin *a = calloc(1, sizeof(*a));
    if (!a)
        return HD_ENOMEM;
    a->d = d;
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
    if (host[0] == '[' && host[strlen(host) - 1] == ']') { /* [::1]:8470 */
        memmove(host, host + 1, strlen(host));
        host[strlen(host) - 1] = '\0';
    }
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
    if (hd_api_create(d, &a->api, err, errlen) != 0)
        goto fail;
    evhttp_set_allowed_methods(a->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_PUT |
                                            EVHTTP_REQ_DELETE | EVHTTP_REQ_HEAD | EVHTTP_REQ_PATCH |
                                            EVHTTP_REQ_OPTIONS);
    evhttp_set_max_body_size(a->http, 1 << 20);
    evhttp_set_max_headers_size(a->http, 16 << 10);
    evhttp_set_timeout(a->http, 30);
    evhttp_set_cb(a->http, "/healthz", on_healthz, a);
    evhttp_set_cb(a->http, "/readyz", on_readyz, a);
    evhttp_set_cb(a->http, "/metrics", on_metrics, a);
    evhttp_set_gencb(a->http, on_request, a);
    /* counters a scrape should see from the start, not only after the first message */
    hd_metrics_intake_add("consumed", NULL, 0);
    if (!cfg->n_tokens)
        hd_warn("admin: no tokens configured (admin.tokens): the API and dashboard refuse "
                "every request");
    hd_info("admin: listening on %s (dashboard at /, API at /api/v1/)", a->url);
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
    /* answer what still waits for the reader or the store before evhttp frees the requests */
    hd_api_destroy(a->api);
    if (a->http)
        evhttp_free(a->http);
    free(a);
}
