/*
 * libcurl multi on the libevent loop (http.h). curl tells us which sockets to watch
 * (CURLMOPT_SOCKETFUNCTION) and when to wake it (CURLMOPT_TIMERFUNCTION); we call
 * curl_multi_socket_action only from event callbacks, never from inside curl's callbacks, and
 * report finished transfers from there. TLS verification is always on; only http and https.
 */
#include <ctype.h>
#include <sys/queue.h>

#include <curl/curl.h>
#include <event2/event.h>

#include "common.h"
#include "http.h"

#define DEFAULT_MAX_RESPONSE (4u << 20)

struct hd_http_call {
    struct hd_http *h;
    CURL *easy;
    struct curl_slist *headers;
    curl_mime *mime;
    hd_http_cb *cb;
    void *arg;
    char *body;
    size_t body_len, body_cap, max_response;
    int too_large;
    char *hdrs; /* "name: value\0" entries of the last response */
    size_t hdrs_len, hdrs_cap;
    char errbuf[CURL_ERROR_SIZE];
    int cancelled;
    char prefix[96];
    TAILQ_ENTRY(hd_http_call) link;
};
TAILQ_HEAD(call_list, hd_http_call);

struct sock_ctx {
    struct hd_http *h;
    curl_socket_t fd;
    struct event *ev;
};

struct hd_http {
    struct event_base *base;
    CURLM *multi;
    struct event *timer;
    struct event *cancel_ev;
    struct call_list active;
    struct call_list cancelled; /* waiting for their deferred callback */
    size_t n_active;
    int in_teardown;
};

/* What a finished call passes to its callback, with a pointer back for http_header(). */
struct resp_wrap {
    struct hd_http_resp resp;
    struct hd_http_call *call;
};

static void check_done(struct hd_http *h);

static void on_socket_event(evutil_socket_t fd, short what, void *arg)
{
    struct sock_ctx *sc = arg;
    int flags = 0, running = 0;
    if (what & EV_READ)
        flags |= CURL_CSELECT_IN;
    if (what & EV_WRITE)
        flags |= CURL_CSELECT_OUT;
    struct hd_http *h = sc->h; /* sc may be freed inside socket_action */
    curl_multi_socket_action(h->multi, fd, flags, &running);
    check_done(h);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    struct hd_http *h = arg;
    int running = 0;
    curl_multi_socket_action(h->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    check_done(h);
}

static int socket_cb(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
    struct hd_http *h = userp;
    struct sock_ctx *sc = socketp;
    if (what == CURL_POLL_REMOVE) {
        if (sc) {
            event_free(sc->ev);
            free(sc);
            curl_multi_assign(h->multi, s, NULL);
        }
        return 0;
    }
    short kind = EV_PERSIST;
    if (what & CURL_POLL_IN)
        kind |= EV_READ;
    if (what & CURL_POLL_OUT)
        kind |= EV_WRITE;
    if (!sc) {
        sc = calloc(1, sizeof(*sc));
        if (!sc)
            return -1;
        sc->h = h;
        sc->fd = s;
        curl_multi_assign(h->multi, s, sc);
    } else {
        event_free(sc->ev);
    }
    sc->ev = event_new(h->base, s, kind, on_socket_event, sc);
    if (!sc->ev)
        return -1;
    event_add(sc->ev, NULL);
    return 0;
}

static int timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
    struct hd_http *h = userp;
    if (timeout_ms < 0) {
        evtimer_del(h->timer);
    } else {
        struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
        evtimer_add(h->timer, &tv);
    }
    return 0;
}

static size_t write_cb(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    struct hd_http_call *c = userdata;
    size_t n = size * nmemb;
    if (c->body_len + n > c->max_response) {
        c->too_large = 1;
        return 0; /* aborts the transfer with CURLE_WRITE_ERROR */
    }
    if (c->body_len + n + 1 > c->body_cap) {
        size_t cap = c->body_cap ? c->body_cap : 4096;
        while (cap < c->body_len + n + 1)
            cap *= 2;
        char *b = realloc(c->body, cap);
        if (!b)
            return 0;
        c->body = b;
        c->body_cap = cap;
    }
    memcpy(c->body + c->body_len, ptr, n);
    c->body_len += n;
    c->body[c->body_len] = '\0';
    return n;
}

static size_t header_cb(char *buf, size_t size, size_t nitems, void *userdata)
{
    struct hd_http_call *c = userdata;
    size_t n = size * nitems;
    if (n >= 5 && strncmp(buf, "HTTP/", 5) == 0) {
        c->hdrs_len = 0; /* a new response (after 100 Continue): forget the previous one */
        return n;
    }
    while (n > 0 && (buf[n - 1] == '\r' || buf[n - 1] == '\n'))
        n--;
    if (n == 0 || !memchr(buf, ':', n))
        return size * nitems;
    if (c->hdrs_len + n + 1 > c->hdrs_cap) {
        size_t cap = c->hdrs_cap ? c->hdrs_cap * 2 : 1024;
        while (cap < c->hdrs_len + n + 1)
            cap *= 2;
        if (cap > 256 * 1024)
            return size * nitems; /* ignore absurd header sets */
        char *b = realloc(c->hdrs, cap);
        if (!b)
            return 0;
        c->hdrs = b;
        c->hdrs_cap = cap;
    }
    memcpy(c->hdrs + c->hdrs_len, buf, n);
    c->hdrs[c->hdrs_len + n] = '\0';
    c->hdrs_len += n + 1;
    return size * nitems;
}

static enum hd_http_error classify(CURLcode rc, struct hd_http_call *c)
{
    switch (rc) {
    case CURLE_OK:
        return HD_HTTP_OK;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
        return HD_HTTP_CONNECT;
    case CURLE_OPERATION_TIMEDOUT:
        return HD_HTTP_TIMEOUT;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
        return HD_HTTP_TLS;
    case CURLE_GOT_NOTHING:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_PARTIAL_FILE:
        return HD_HTTP_CONNECTION;
    case CURLE_WRITE_ERROR:
        return c->too_large ? HD_HTTP_TOO_LARGE : HD_HTTP_OTHER;
    default:
        return HD_HTTP_OTHER;
    }
}

static void free_call(struct hd_http_call *c)
{
    if (c->easy)
        curl_easy_cleanup(c->easy);
    curl_slist_free_all(c->headers);
    curl_mime_free(c->mime);
    free(c->body);
    free(c->hdrs);
    free(c);
}

static void finish(struct hd_http_call *c, CURLcode rc)
{
    struct resp_wrap w = {.call = c};
    long status = 0;
    curl_off_t req_size = 0;
    double total = 0;
    curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(c->easy, CURLINFO_REQUEST_SIZE, &req_size);
    curl_easy_getinfo(c->easy, CURLINFO_TOTAL_TIME, &total);
    w.resp.error = c->cancelled ? HD_HTTP_CANCELLED : classify(rc, c);
    w.resp.error_text = w.resp.error == HD_HTTP_OK ? NULL
                        : c->cancelled             ? "cancelled"
                        : c->errbuf[0]             ? c->errbuf
                                                   : curl_easy_strerror(rc);
    /* A request counts as sent once curl wrote its headers: the server may have acted on it. */
    w.resp.request_sent = req_size > 0 || status > 0;
    w.resp.status = (int)status;
    w.resp.body = c->body ? c->body : "";
    w.resp.body_len = c->body_len;
    w.resp.total_s = total;
    w.resp.core = &w;
    if (w.resp.error != HD_HTTP_OK && w.resp.error != HD_HTTP_CANCELLED)
        HD_LOG(HD_LOG_DEBUG, c->prefix, "http error=%s sent=%d detail=%s",
               hd_http_error_name(w.resp.error), w.resp.request_sent, w.resp.error_text);
    c->cb(c->arg, &w.resp);
    free_call(c);
}

static void check_done(struct hd_http *h)
{
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(h->multi, &left))) {
        if (m->msg != CURLMSG_DONE)
            continue;
        struct hd_http_call *c = NULL;
        CURLcode rc = m->data.result;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&c);
        curl_multi_remove_handle(h->multi, m->easy_handle);
        TAILQ_REMOVE(&h->active, c, link);
        h->n_active--;
        finish(c, rc);
    }
}

static void on_cancelled(evutil_socket_t fd, short what, void *arg)
{
    struct hd_http *h = arg;
    struct hd_http_call *c;
    while ((c = TAILQ_FIRST(&h->cancelled))) {
        TAILQ_REMOVE(&h->cancelled, c, link);
        finish(c, CURLE_ABORTED_BY_CALLBACK);
    }
}

int hd_http_create(struct event_base *base, struct hd_http **out)
{
    static int global_done;
    if (!global_done) {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
            return HD_EIO;
        global_done = 1;
    }
    struct hd_http *h = calloc(1, sizeof(*h));
    if (!h)
        return HD_ENOMEM;
    h->base = base;
    TAILQ_INIT(&h->active);
    TAILQ_INIT(&h->cancelled);
    h->multi = curl_multi_init();
    h->timer = evtimer_new(base, on_timer, h);
    h->cancel_ev = event_new(base, -1, 0, on_cancelled, h);
    if (!h->multi || !h->timer || !h->cancel_ev) {
        hd_http_destroy(h);
        return HD_ENOMEM;
    }
    curl_multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
    curl_multi_setopt(h->multi, CURLMOPT_SOCKETDATA, h);
    curl_multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
    curl_multi_setopt(h->multi, CURLMOPT_TIMERDATA, h);
    curl_multi_setopt(h->multi, CURLMOPT_MAX_HOST_CONNECTIONS, 64L);
    *out = h;
    return 0;
}

void hd_http_destroy(struct hd_http *h)
{
    if (!h)
        return;
    h->in_teardown = 1;
    struct hd_http_call *c;
    while ((c = TAILQ_FIRST(&h->active))) {
        TAILQ_REMOVE(&h->active, c, link);
        curl_multi_remove_handle(h->multi, c->easy);
        free_call(c);
    }
    while ((c = TAILQ_FIRST(&h->cancelled))) {
        TAILQ_REMOVE(&h->cancelled, c, link);
        free_call(c);
    }
    /* curl may call socket_cb (CURL_POLL_REMOVE) during cleanup: events still exist here */
    if (h->multi)
        curl_multi_cleanup(h->multi);
    if (h->timer)
        event_free(h->timer);
    if (h->cancel_ev)
        event_free(h->cancel_ev);
    free(h);
}

int hd_http_request(struct hd_http *h, const struct hd_http_req *req,
                    const struct hd_http_opts *opts, hd_http_cb *cb, void *arg,
                    struct hd_http_call **out)
{
    if (!req || !req->url || !cb)
        return HD_EINVAL;
    if (strncmp(req->url, "http://", 7) != 0 && strncmp(req->url, "https://", 8) != 0)
        return HD_EINVAL;
    struct hd_http_call *c = calloc(1, sizeof(*c));
    if (!c)
        return HD_ENOMEM;
    c->h = h;
    c->cb = cb;
    c->arg = arg;
    c->max_response = req->max_response ? req->max_response : DEFAULT_MAX_RESPONSE;
    hd_strlcpy(c->prefix, opts && opts->log_prefix ? opts->log_prefix : "http", sizeof(c->prefix));
    c->easy = curl_easy_init();
    if (!c->easy)
        goto fail;
    CURL *e = c->easy;
    const char *method = req->method ? req->method : "GET";
    curl_easy_setopt(e, CURLOPT_URL, req->url);
    curl_easy_setopt(e, CURLOPT_PRIVATE, c);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
    if (opts && opts->ca_file)
        curl_easy_setopt(e, CURLOPT_CAINFO, opts->ca_file);
    if (opts && opts->no_reuse) {
        curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, 1L);
        curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
    }
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, c->errbuf);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, c);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, header_cb);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, c);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "herald/" HERALD_VERSION);
    long timeout = req->timeout_ms ? req->timeout_ms : opts ? opts->timeout_ms : 30000;
    long ctimeout = req->connect_timeout_ms ? req->connect_timeout_ms
                    : opts                  ? opts->connect_timeout_ms
                                            : 10000;
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout > 0 ? timeout : 30000L);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, ctimeout > 0 ? ctimeout : 10000L);
    c->headers = curl_slist_append(NULL, "Expect:");
    for (size_t i = 0; i < req->n_headers; i++) {
        struct curl_slist *l = curl_slist_append(c->headers, req->headers[i]);
        if (!l)
            goto fail;
        c->headers = l;
    }
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, c->headers);
    if (req->n_parts > 0) {
        c->mime = curl_mime_init(e);
        for (size_t i = 0; i < req->n_parts; i++) {
            const struct hd_http_part *p = &req->parts[i];
            curl_mimepart *mp = curl_mime_addpart(c->mime);
            curl_mime_name(mp, p->name);
            curl_mime_data(mp, p->data, p->len);
            if (p->filename)
                curl_mime_filename(mp, p->filename);
            if (p->content_type)
                curl_mime_type(mp, p->content_type);
        }
        curl_easy_setopt(e, CURLOPT_MIMEPOST, c->mime);
        if (strcmp(method, "POST") != 0)
            curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
    } else if (strcmp(method, "GET") == 0) {
        curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    } else {
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
        curl_easy_setopt(e, CURLOPT_COPYPOSTFIELDS, req->body ? req->body : "");
        if (strcmp(method, "POST") != 0)
            curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
    }
    if (curl_multi_add_handle(h->multi, e) != CURLM_OK)
        goto fail;
    TAILQ_INSERT_TAIL(&h->active, c, link);
    h->n_active++;
    if (out)
        *out = c;
    return 0;
fail:
    free_call(c);
    return HD_EIO;
}

void hd_http_cancel(struct hd_http_call *c)
{
    if (!c || c->cancelled)
        return;
    struct hd_http *h = c->h;
    c->cancelled = 1;
    curl_multi_remove_handle(h->multi, c->easy);
    TAILQ_REMOVE(&h->active, c, link);
    h->n_active--;
    TAILQ_INSERT_TAIL(&h->cancelled, c, link);
    event_active(h->cancel_ev, EV_TIMEOUT, 0);
}

const char *hd_http_header(const struct hd_http_resp *resp, const char *name)
{
    const struct resp_wrap *w = resp ? resp->core : NULL;
    if (!w || !w->call || !name)
        return NULL;
    const struct hd_http_call *c = w->call;
    size_t nl = strlen(name);
    for (size_t off = 0; off < c->hdrs_len;) {
        const char *line = c->hdrs + off;
        if (strncasecmp(line, name, nl) == 0 && line[nl] == ':') {
            const char *v = line + nl + 1;
            while (*v == ' ' || *v == '\t')
                v++;
            return v;
        }
        off += strlen(line) + 1;
    }
    return NULL;
}

int64_t hd_http_retry_after_ms(const struct hd_http_resp *resp)
{
    const char *v = hd_http_header(resp, "Retry-After");
    if (!v || !*v)
        return 0;
    if (isdigit((unsigned char)v[0])) {
        char *end;
        long long secs = strtoll(v, &end, 10);
        while (*end == ' ' || *end == '\t')
            end++;
        if (*end || secs < 0 || secs > 366LL * 86400)
            return 0;
        return hd_now_ms() + secs * 1000;
    }
    time_t t = curl_getdate(v, NULL);
    if (t <= 0)
        return 0;
    return (int64_t)t * 1000;
}

size_t hd_http_in_flight(const struct hd_http *h)
{
    return h->n_active;
}

const char *hd_http_error_name(enum hd_http_error e)
{
    static const char *const names[HD_HTTP_ERROR_MAX] = {
        "ok", "connect", "timeout", "tls", "connection", "too_large", "cancelled", "other"};
    return (unsigned)e < HD_HTTP_ERROR_MAX ? names[e] : "other";
}
