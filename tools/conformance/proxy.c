/*
 * The kit's fault-injecting HTTP proxy, its echo server and its asset server (kit.h).
 *
 * The adapter under test talks to the proxy (its settings say @SIM@); the proxy forwards every
 * request to the platform's simulator (--sim URL) or, without one, answers itself like a bland
 * JSON API (the echo server). The kit arms one fault for the Nth request from now: hold it (a
 * timeout for the adapter), close the connection without forwarding (RST), forward it and then
 * close without answering (the platform acted, the answer is lost), forward it and answer slowly
 * in small pieces, or answer a status (503, 429 with Retry-After) without forwarding. The server
 * side is a small HTTP/1.1 reader on bufferevents, so the kit decides exactly when a connection
 * dies; the upstream side is libevent's HTTP client. The asset server is in assets.c.
 */
#include <netinet/in.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>

#include "common.h"
#include "kit.h"

#define MAX_HEAD      (64 * 1024)
#define MAX_BODY      (64 * 1024 * 1024)
#define SLOW_FIRST_MS 250
#define SLOW_STEP_MS  120
#define SLOW_PIECES   4

struct pconn;

struct preq {
    struct pconn *c;
    char method[16];
    char *target; /* path and query as sent */
    struct evkeyvalq headers;
    char *body;
    size_t body_len;
    int index;
    enum kit_fault fault;
    char *resp; /* SLOW: the whole response, written piece by piece */
    size_t resp_len, sent;
    struct event *tmr;
};

struct pconn {
    struct kit_proxy *p;
    struct bufferevent *bev; /* NULL once closed */
    int refs;                /* the connection itself, plus a request in progress */
    int busy;                /* a request is being answered: read no further */
    int close_after;         /* the client asked for Connection: close */
    struct preq *held;       /* HANG */
    struct pconn *next;
};

struct kit_proxy {
    struct event_base *base;
    struct evconnlistener *lst;
    char url[64];
    int echo;
    char up_host[256];
    int up_port;
    char up_prefix[512]; /* the path of --sim URL, prepended to every target */
    enum kit_fault fault;
    int at, status;
    char retry_after[32];
    int seen, echo_n;
    char log[4096];
    struct pconn *conns;
};

/* ---- connections -------------------------------------------------------------------------------
 */

static void conn_unref(struct pconn *c)
{
    if (--c->refs > 0)
        return;
    struct kit_proxy *p = c->p;
    for (struct pconn **pp = &p->conns; *pp; pp = &(*pp)->next)
        if (*pp == c) {
            *pp = c->next;
            break;
        }
    free(c);
}

static void conn_close(struct pconn *c, int reset)
{
    if (!c->bev)
        return;
    if (reset) {
        struct linger l = {1, 0};
        setsockopt(bufferevent_getfd(c->bev), SOL_SOCKET, SO_LINGER, &l, sizeof(l));
    }
    bufferevent_free(c->bev);
    c->bev = NULL;
    conn_unref(c);
}

static void on_event(struct bufferevent *bev, short what, void *arg);

static void on_flushed(struct bufferevent *bev, void *arg)
{
    conn_close(arg, 0);
}

/* Close once what was written has gone out (bufferevent_free would drop it). */
static void conn_close_flushed(struct pconn *c)
{
    if (!c->bev)
        return;
    if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0) {
        conn_close(c, 0);
        return;
    }
    c->busy = 1; /* read nothing more */
    bufferevent_setcb(c->bev, NULL, on_flushed, on_event, c);
}

static void req_free(struct preq *r)
{
    if (!r)
        return;
    if (r->tmr)
        event_free(r->tmr);
    evhttp_clear_headers(&r->headers);
    free(r->target);
    free(r->body);
    free(r->resp);
    struct pconn *c = r->c;
    free(r);
    c->busy = 0;
    conn_unref(c);
}

static void on_read(struct bufferevent *bev, void *arg);

/* The request is answered (or abandoned): read the next one on a kept-alive connection. */
static void req_done(struct preq *r)
{
    struct pconn *c = r->c;
    int close_it = c->close_after;
    c->refs++; /* keep c while req_free drops the request's reference */
    req_free(r);
    if (close_it)
        conn_close_flushed(c);
    else if (c->bev && evbuffer_get_length(bufferevent_get_input(c->bev)) > 0)
        on_read(c->bev, c);
    conn_unref(c);
}

/* ---- answering
 * ------------------------------------------------------------------------------------ */

static char *response(int status, const char *reason, struct evkeyvalq *hdrs, int close,
                      const void *body, size_t len, size_t *out_len)
{
    struct evbuffer *b = evbuffer_new();
    evbuffer_add_printf(b, "HTTP/1.1 %d %s\r\n", status, reason ? reason : "Status");
    if (close)
        evbuffer_add_printf(b, "Connection: close\r\n");
    if (hdrs) {
        struct evkeyval *h;
        TAILQ_FOREACH (h, hdrs, next) {
            if (!strcasecmp(h->key, "Content-Length") || !strcasecmp(h->key, "Connection") ||
                !strcasecmp(h->key, "Transfer-Encoding") || !strcasecmp(h->key, "Keep-Alive"))
                continue;
            evbuffer_add_printf(b, "%s: %s\r\n", h->key, h->value);
        }
    }
    evbuffer_add_printf(b, "Content-Length: %zu\r\n\r\n", len);
    evbuffer_add(b, body, len);
    *out_len = evbuffer_get_length(b);
    char *out = malloc(*out_len + 1);
    if (out)
        evbuffer_remove(b, out, *out_len);
    evbuffer_free(b);
    return out;
}

static void write_all(struct preq *r, const char *data, size_t len)
{
    if (r->c->bev && data)
        bufferevent_write(r->c->bev, data, len);
}

static void on_slow(evutil_socket_t fd, short what, void *arg)
{
    struct preq *r = arg;
    if (!r->c->bev) {
        req_done(r);
        return;
    }
    size_t piece = r->resp_len / SLOW_PIECES + 1;
    if (piece > r->resp_len - r->sent)
        piece = r->resp_len - r->sent;
    write_all(r, r->resp + r->sent, piece);
    r->sent += piece;
    if (r->sent >= r->resp_len) {
        req_done(r);
        return;
    }
    struct timeval tv = {0, SLOW_STEP_MS * 1000};
    evtimer_add(r->tmr, &tv);
}

/* Deliver the platform's (or the echo server's) answer according to the request's fault. */
static void answer(struct preq *r, int status, const char *reason, struct evkeyvalq *hdrs,
                   const void *body, size_t len)
{
    if (r->fault == KIT_F_LOST_ANSWER) {
        conn_close(r->c, 0);
        req_done(r);
        return;
    }
    /* While a fault is armed every request comes on a fresh connection: libcurl silently
     * resends a request whose reused connection died, which would hide the adapter's handling */
    if (r->c->p->fault != KIT_F_PASS)
        r->c->close_after = 1;
    size_t n;
    char *resp = response(status, reason, hdrs, r->c->close_after, body, len, &n);
    if (r->fault == KIT_F_SLOW && resp) {
        r->resp = resp;
        r->resp_len = n;
        r->tmr = evtimer_new(r->c->p->base, on_slow, r);
        struct timeval tv = {0, SLOW_FIRST_MS * 1000};
        evtimer_add(r->tmr, &tv);
        return;
    }
    write_all(r, resp, n);
    free(resp);
    req_done(r);
}

static void answer_json(struct preq *r, int status, const char *body, const char *retry_after)
{
    struct evkeyvalq h;
    TAILQ_INIT(&h);
    evhttp_add_header(&h, "Content-Type", "application/json");
    if (retry_after)
        evhttp_add_header(&h, "Retry-After", retry_after);
    answer(r, status, status == 200 ? "OK" : "Injected", &h, body, strlen(body));
    evhttp_clear_headers(&h);
}

/* ---- forwarding
 * ----------------------------------------------------------------------------------- */

static void on_upstream(struct evhttp_request *ur, void *arg)
{
    struct preq *r = arg;
    if (!ur || evhttp_request_get_response_code(ur) == 0) {
        answer_json(r, 502, "{\"error\":\"herald-conformance: the simulator did not answer\"}",
                    NULL);
        return;
    }
    struct evbuffer *in = evhttp_request_get_input_buffer(ur);
    size_t len = evbuffer_get_length(in);
    char *body = malloc(len + 1);
    if (body)
        evbuffer_copyout(in, body, len);
    answer(r, evhttp_request_get_response_code(ur), evhttp_request_get_response_code_line(ur),
           evhttp_request_get_input_headers(ur), body ? body : "", body ? len : 0);
    free(body);
}

static enum evhttp_cmd_type cmd_of(const char *m)
{
    static const struct {
        const char *name;
        enum evhttp_cmd_type cmd;
    } t[] = {{"GET", EVHTTP_REQ_GET},        {"POST", EVHTTP_REQ_POST},   {"PUT", EVHTTP_REQ_PUT},
             {"DELETE", EVHTTP_REQ_DELETE},  {"PATCH", EVHTTP_REQ_PATCH}, {"HEAD", EVHTTP_REQ_HEAD},
             {"OPTIONS", EVHTTP_REQ_OPTIONS}};
    for (size_t i = 0; i < HD_ARRAY_LEN(t); i++)
        if (!strcmp(m, t[i].name))
            return t[i].cmd;
    return EVHTTP_REQ_GET;
}

static void forward(struct preq *r)
{
    struct kit_proxy *p = r->c->p;
    if (p->echo) {
        char body[300];
        int n = ++p->echo_n;
        snprintf(body, sizeof(body),
                 "{\"ok\":true,\"code\":0,\"id\":\"echo-%d\",\"url\":"
                 "\"https://echo.herald-conformance.invalid/%d\"}",
                 n, n);
        answer_json(r, 200, body, NULL);
        return;
    }
    struct evhttp_connection *up =
        evhttp_connection_base_new(p->base, NULL, p->up_host, (ev_uint16_t)p->up_port);
    struct evhttp_request *ur = evhttp_request_new(on_upstream, r);
    if (!up || !ur) {
        answer_json(r, 502, "{\"error\":\"herald-conformance: out of memory\"}", NULL);
        return;
    }
    evhttp_connection_set_timeout(up, 120);
    struct evkeyvalq *oh = evhttp_request_get_output_headers(ur);
    struct evkeyval *h;
    TAILQ_FOREACH (h, &r->headers, next) {
        if (!strcasecmp(h->key, "Host") || !strcasecmp(h->key, "Connection") ||
            !strcasecmp(h->key, "Content-Length") || !strcasecmp(h->key, "Transfer-Encoding") ||
            !strcasecmp(h->key, "Expect") || !strcasecmp(h->key, "Keep-Alive"))
            continue;
        evhttp_add_header(oh, h->key, h->value);
    }
    char host[300];
    snprintf(host, sizeof(host), "%s:%d", p->up_host, p->up_port);
    evhttp_add_header(oh, "Host", host);
    evhttp_add_header(oh, "Connection", "close");
    if (r->body_len) {
        /* libevent writes no Content-Length for DELETE and friends, but sends the body */
        char cl[32];
        snprintf(cl, sizeof(cl), "%zu", r->body_len);
        evhttp_add_header(oh, "Content-Length", cl);
        evbuffer_add(evhttp_request_get_output_buffer(ur), r->body, r->body_len);
    }
    char *uri = hd_asprintf("%s%s", p->up_prefix, r->target);
    evhttp_make_request(up, ur, cmd_of(r->method), uri);
    evhttp_connection_free_on_completion(up);
    free(uri);
}

/* ---- reading requests
 * ----------------------------------------------------------------------------- */

static void handle(struct preq *r)
{
    struct kit_proxy *p = r->c->p;
    r->index = ++p->seen;
    size_t used = strlen(p->log);
    if (used + 80 < sizeof(p->log)) {
        const char *q = strchr(r->target, '?');
        int plen = q ? (int)(q - r->target) : (int)strlen(r->target);
        snprintf(p->log + used, sizeof(p->log) - used, "%s%s %.*s", used ? ", " : "", r->method,
                 plen > 60 ? 60 : plen, r->target);
    }
    r->fault = (p->at == 0 || p->at == r->index) ? p->fault : KIT_F_PASS;
    switch (r->fault) {
    case KIT_F_HANG:
        r->c->held = r; /* answered never; closed by kit_proxy_release */
        return;
    case KIT_F_DROP:
        conn_close(r->c, 1);
        req_done(r);
        return;
    case KIT_F_STATUS: {
        char body[120];
        snprintf(body, sizeof(body), "{\"error\":\"injected by herald-conformance\",\"status\":%d}",
                 p->status);
        r->fault = KIT_F_PASS;
        answer_json(r, p->status, body, p->retry_after[0] ? p->retry_after : NULL);
        return;
    }
    default:
        forward(r);
        return;
    }
}

/* Decode a chunked body in buf[0..len): 1 complete (*out set, *used bytes consumed), 0 need
 * more, -1 malformed. */
static int dechunk(const char *buf, size_t len, char **out, size_t *out_len, size_t *used)
{
    struct evbuffer *b = evbuffer_new();
    size_t pos = 0;
    for (;;) {
        const char *eol = memchr(buf + pos, '\n', len - pos);
        if (!eol) {
            evbuffer_free(b);
            return 0;
        }
        char *end;
        unsigned long n = strtoul(buf + pos, &end, 16);
        if (end == buf + pos) {
            evbuffer_free(b);
            return -1;
        }
        pos = (size_t)(eol - buf) + 1;
        if (n == 0) {
            const char *fin = memchr(buf + pos, '\n', len - pos); /* trailer-less: "\r\n" */
            if (!fin) {
                evbuffer_free(b);
                return 0;
            }
            pos = (size_t)(fin - buf) + 1;
            break;
        }
        if (len - pos < n + 2) {
            evbuffer_free(b);
            return 0;
        }
        evbuffer_add(b, buf + pos, n);
        pos += n + 2;
    }
    *out_len = evbuffer_get_length(b);
    *out = malloc(*out_len + 1);
    if (*out)
        evbuffer_remove(b, *out, *out_len);
    evbuffer_free(b);
    *used = pos;
    return *out ? 1 : -1;
}

/* A request parsed only partly (its body is not all here yet): forget it, parse again later. */
static void parse_drop(struct preq *r)
{
    evhttp_clear_headers(&r->headers);
    free(r->target);
    free(r->body);
    free(r);
}

static void on_read(struct bufferevent *bev, void *arg)
{
    struct pconn *c = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    if (c->busy)
        return;
    struct evbuffer_ptr eoh = evbuffer_search(in, "\r\n\r\n", 4, NULL);
    if (eoh.pos < 0) {
        if (evbuffer_get_length(in) > MAX_HEAD)
            conn_close(c, 1);
        return;
    }
    size_t head_len = (size_t)eoh.pos + 4;
    char *head = malloc(head_len + 1);
    struct preq *r = calloc(1, sizeof(*r));
    if (!head || !r) {
        free(head);
        free(r);
        conn_close(c, 1);
        return;
    }
    evbuffer_copyout(in, head, head_len);
    head[head_len] = '\0';
    TAILQ_INIT(&r->headers);
    char *save = NULL, *line = strtok_r(head, "\r\n", &save);
    char target[8192] = "";
    if (!line || sscanf(line, "%15s %8191s", r->method, target) != 2) {
        free(head);
        parse_drop(r);
        conn_close(c, 1);
        return;
    }
    r->target = strdup(target);
    while ((line = strtok_r(NULL, "\r\n", &save))) {
        char *colon = strchr(line, ':');
        if (!colon)
            continue;
        *colon = '\0';
        const char *v = colon + 1;
        while (*v == ' ' || *v == '\t')
            v++;
        evhttp_add_header(&r->headers, line, v);
    }
    free(head);
    const char *cl = evhttp_find_header(&r->headers, "Content-Length");
    const char *te = evhttp_find_header(&r->headers, "Transfer-Encoding");
    const char *conn = evhttp_find_header(&r->headers, "Connection");
    size_t avail = evbuffer_get_length(in) - head_len, used = 0;
    if (te && strcasestr(te, "chunked")) {
        const char *all = (const char *)evbuffer_pullup(in, -1);
        int rc = dechunk(all + head_len, avail, &r->body, &r->body_len, &used);
        if (rc <= 0) {
            parse_drop(r);
            if (rc < 0 || avail > MAX_BODY)
                conn_close(c, 1);
            return; /* the rest comes later: parsed again then */
        }
    } else {
        size_t want = cl ? strtoul(cl, NULL, 10) : 0;
        if (want > MAX_BODY || avail < want) {
            parse_drop(r);
            if (want > MAX_BODY)
                conn_close(c, 1);
            return;
        }
        r->body = malloc(want + 1);
        if (!r->body) {
            parse_drop(r);
            conn_close(c, 1);
            return;
        }
        r->body_len = want;
        evbuffer_drain(in, head_len);
        evbuffer_remove(in, r->body, want);
        head_len = 0;
    }
    evbuffer_drain(in, head_len + used);
    c->close_after = conn && !strcasecmp(conn, "close");
    r->c = c;
    c->refs++;
    c->busy = 1;
    handle(r);
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
    struct pconn *c = arg;
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
        struct preq *held = c->held;
        c->held = NULL;
        conn_close(c, 0);
        if (held)
            req_done(held);
    }
}

static void on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int len,
                      void *arg)
{
    struct kit_proxy *p = arg;
    struct pconn *c = calloc(1, sizeof(*c));
    if (!c) {
        evutil_closesocket(fd);
        return;
    }
    c->p = p;
    c->refs = 1;
    c->bev = bufferevent_socket_new(p->base, fd, BEV_OPT_CLOSE_ON_FREE);
    c->next = p->conns;
    p->conns = c;
    bufferevent_setcb(c->bev, on_read, NULL, on_event, c);
    bufferevent_enable(c->bev, EV_READ | EV_WRITE);
}

/* ---- control
 * -------------------------------------------------------------------------------------- */

static struct evconnlistener *listen_local(struct event_base *base, evconnlistener_cb cb, void *arg,
                                           int *port)
{
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    struct evconnlistener *l =
        evconnlistener_new_bind(base, cb, arg, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, 64,
                                (struct sockaddr *)&sin, sizeof(sin));
    if (!l)
        return NULL;
    struct sockaddr_in got;
    socklen_t gl = sizeof(got);
    getsockname(evconnlistener_get_fd(l), (struct sockaddr *)&got, &gl);
    *port = ntohs(got.sin_port);
    return l;
}

int kit_proxy_start(struct event_base *base, const char *upstream, struct kit_proxy **out,
                    char *err, size_t errlen)
{
    struct kit_proxy *p = calloc(1, sizeof(*p));
    if (!p)
        return HD_ENOMEM;
    p->base = base;
    p->echo = !upstream;
    if (upstream) {
        struct evhttp_uri *u = evhttp_uri_parse(upstream);
        const char *host = u ? evhttp_uri_get_host(u) : NULL;
        const char *scheme = u ? evhttp_uri_get_scheme(u) : NULL;
        if (!host || !scheme || strcmp(scheme, "http") != 0) {
            snprintf(err, errlen, "--sim %s: want http://host:port[/path]", upstream);
            if (u)
                evhttp_uri_free(u);
            free(p);
            return HD_EINVAL;
        }
        snprintf(p->up_host, sizeof(p->up_host), "%s", host);
        p->up_port = evhttp_uri_get_port(u) > 0 ? evhttp_uri_get_port(u) : 80;
        const char *path = evhttp_uri_get_path(u);
        snprintf(p->up_prefix, sizeof(p->up_prefix), "%s", path ? path : "");
        size_t n = strlen(p->up_prefix);
        while (n > 0 && p->up_prefix[n - 1] == '/')
            p->up_prefix[--n] = '\0';
        evhttp_uri_free(u);
    }
    int port = 0;
    p->lst = listen_local(base, on_accept, p, &port);
    if (!p->lst) {
        snprintf(err, errlen, "cannot listen on 127.0.0.1");
        free(p);
        return HD_EIO;
    }
    snprintf(p->url, sizeof(p->url), "http://127.0.0.1:%d", port);
    *out = p;
    return 0;
}

const char *kit_proxy_url(const struct kit_proxy *p)
{
    return p->url;
}

void kit_proxy_arm(struct kit_proxy *p, enum kit_fault fault, int at, int status,
                   const char *retry_after)
{
    p->fault = fault;
    p->at = at;
    p->status = status;
    snprintf(p->retry_after, sizeof(p->retry_after), "%s", retry_after ? retry_after : "");
    p->seen = 0;
    p->log[0] = '\0';
    if (fault == KIT_F_PASS)
        return;
    for (struct pconn *c = p->conns, *next; c; c = next) {
        next = c->next;
        if (!c->busy && c->bev)
            conn_close(c, 0); /* idle keep-alive connections: the next request opens a new one */
    }
}

int kit_proxy_seen(const struct kit_proxy *p)
{
    return p->seen;
}

int kit_proxy_held(const struct kit_proxy *p)
{
    int n = 0;
    for (const struct pconn *c = p->conns; c; c = c->next)
        n += c->held != NULL;
    return n;
}

const char *kit_proxy_log(const struct kit_proxy *p)
{
    return p->log;
}

void kit_proxy_release(struct kit_proxy *p)
{
    struct pconn *c = p->conns;
    while (c) {
        struct pconn *next = c->next;
        if (c->held) {
            struct preq *r = c->held;
            c->held = NULL;
            c->refs++;
            conn_close(c, 0);
            req_done(r);
            conn_unref(c);
        }
        c = next;
    }
    p->fault = KIT_F_PASS; /* what was seen stays readable until the next arm */
}

void kit_proxy_free(struct kit_proxy *p)
{
    if (!p)
        return;
    kit_proxy_release(p);
    while (p->conns) {
        struct pconn *c = p->conns;
        c->refs = 1; /* requests still forwarded upstream die with the loop */
        if (c->bev) {
            bufferevent_free(c->bev);
            c->bev = NULL;
        }
        conn_unref(c);
    }
    evconnlistener_free(p->lst);
    free(p);
}
