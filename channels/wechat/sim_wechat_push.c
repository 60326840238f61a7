/*
 * WeChat simulator: the event push (CHANNELS.md §1.3, "Event PUBLISHJOBFINISH").
 *
 * When a publish job reaches a status other than 1, the simulator POSTs the PUBLISHJOBFINISH
 * XML to the configured callback URL with ?signature=&timestamp=&nonce=&openid= (plaintext
 * mode: signature = sha1 of the sorted event token, timestamp and nonce), as the platform
 * pushes to an account's server URL. An answer other than HTTP 200 (or none within 5 s) is
 * retried `event_retries` times, `event_retry_ms` apart (the platform retries three times).
 * Knobs: event_drop_next (the next N events are lost), event_dup_next (the next N are sent
 * twice). The URL check — GET with echostr, which the server must echo — is
 * wxs_verify_callback(). Every push is recorded in the state's "events".
 *
 * 消息加解密方式 (event_mode): in 兼容模式 (compat) the body carries the plaintext fields and
 * <Encrypt>; in 安全模式 (safe) only ToUserName and <Encrypt>. Both add encrypt_type=aes and
 * msg_signature (sha1 of the sorted token, timestamp, nonce and Encrypt) to the query; the URL
 * check stays plaintext. Encryption: wx_crypt.h, with the account's appid.
 */
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "common.h"
#include "sim.h"
#include "sim_wechat.h"
#include "text.h"
#include "wx_crypt.h"

#define PUSH_TIMEOUT_S 5

struct wxs_push {
    struct wxs *s;
    struct wxs_push *next;
    struct evhttp_connection *conn; /* owned */
    struct event *timer;            /* owned: retry, or the deferred free */
    char *host, *target, *body;     /* owned */
    int port;
    int attempts, verify, finished;
    char *echostr; /* owned, verify only */
    json_t *rec;   /* a reference to the record in s->events */
};

void wxs_signature(const char *token, const char *ts, const char *nonce, char out[41])
{
    const char *p[3] = {token, ts, nonce};
    for (int i = 0; i < 3; i++) /* sort the three */
        for (int k = i + 1; k < 3; k++)
            if (strcmp(p[k], p[i]) < 0) {
                const char *t = p[i];
                p[i] = p[k];
                p[k] = t;
            }
    char *joined = hd_asprintf("%s%s%s", p[0], p[1], p[2]);
    hd_sha1_hex(joined, joined ? strlen(joined) : 0, out);
    free(joined);
}

static void push_free(struct wxs_push *p)
{
    struct wxs *s = p->s;
    for (struct wxs_push **pp = &s->pushes; *pp; pp = &(*pp)->next)
        if (*pp == p) {
            *pp = p->next;
            break;
        }
    if (p->timer)
        event_free(p->timer);
    if (p->conn)
        evhttp_connection_free(p->conn);
    free(p->host);
    free(p->target);
    free(p->body);
    free(p->echostr);
    json_decref(p->rec);
    free(p);
}

void wxs_push_stop(struct wxs *s)
{
    while (s->pushes)
        push_free(s->pushes);
}

static void send_push(struct wxs_push *p);

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    struct wxs_push *p = arg;
    if (p->finished)
        push_free(p);
    else
        send_push(p);
}

static void later(struct wxs_push *p, int64_t ms)
{
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)((ms % 1000) * 1000)};
    if (!p->timer)
        p->timer = evtimer_new(hd_sim_base(p->s->sim), on_timer, p);
    if (p->timer)
        evtimer_add(p->timer, &tv);
}

static void on_done(struct evhttp_request *req, void *arg)
{
    struct wxs_push *p = arg;
    struct wxs *s = p->s;
    int code = req ? evhttp_request_get_response_code(req) : 0;
    char body[256] = "";
    if (req) {
        struct evbuffer *in = evhttp_request_get_input_buffer(req);
        size_t n = evbuffer_get_length(in);
        evbuffer_copyout(in, body, n < sizeof(body) - 1 ? n : sizeof(body) - 1);
        body[n < sizeof(body) - 1 ? n : sizeof(body) - 1] = '\0';
    }
    if (p->verify) {
        s->callback_verified = code == 200 && strcmp(body, p->echostr) == 0;
        hd_sim_log(s->sim, "callback URL check: HTTP %d, %s", code,
                   s->callback_verified ? "echostr echoed" : "echostr NOT echoed");
        p->finished = 1;
    } else {
        json_object_set_new(p->rec, "attempts", json_integer(p->attempts));
        json_object_set_new(p->rec, "last_status", json_integer(code));
        json_object_set_new(p->rec, "last_body", json_string(body));
        if (code == 200) {
            json_object_set_new(p->rec, "acked", json_true());
            p->finished = 1;
        } else if (p->attempts > s->event_retries) {
            p->finished = 1;
        }
    }
    /* never free the connection inside its own callback: from a timer */
    later(p, p->finished ? 0 : s->event_retry_ms);
}

static void send_push(struct wxs_push *p)
{
    struct wxs *s = p->s;
    if (p->conn)
        evhttp_connection_free(p->conn);
    p->conn = evhttp_connection_base_new(hd_sim_base(s->sim), NULL, p->host, (ev_uint16_t)p->port);
    struct evhttp_request *req = p->conn ? evhttp_request_new(on_done, p) : NULL;
    if (!req) {
        p->finished = 1;
        later(p, 0);
        return;
    }
    p->attempts++;
    evhttp_connection_set_timeout(p->conn, PUSH_TIMEOUT_S);
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    char hostport[300];
    snprintf(hostport, sizeof(hostport), "%s:%d", p->host, p->port);
    evhttp_add_header(h, "Host", hostport);
    evhttp_add_header(h, "User-Agent", "Mozilla/4.0 (herald-sim wechat)");
    if (p->body) {
        evhttp_add_header(h, "Content-Type", "text/xml");
        evbuffer_add(evhttp_request_get_output_buffer(req), p->body, strlen(p->body));
    }
    if (evhttp_make_request(p->conn, req, p->body ? EVHTTP_REQ_POST : EVHTTP_REQ_GET, p->target) !=
        0) {
        p->finished = 1; /* evhttp freed req */
        later(p, 0);
    }
}

int wxs_event_mode(const char *name)
{
    if (!name)
        return -1;
    return strcmp(name, "plain") == 0    ? 0
           : strcmp(name, "compat") == 0 ? 1
           : strcmp(name, "safe") == 0   ? 2
                                         : -1;
}

int wxs_aes_key_ok(const struct wxs *s)
{
    unsigned char k[32];
    int ok = s->event_aes_key && wx_aes_key(s->event_aes_key, strlen(s->event_aes_key), k) == 0;
    wx_wipe(k, sizeof(k));
    return ok;
}

/* The body and query additions of an event in the account's 消息加解密方式: *body replaced. */
static int encrypt_event(struct wxs *s, const char *ts, const char *nonce, char **body,
                         char **query)
{
    unsigned char key[32];
    if (!s->event_aes_key || wx_aes_key(s->event_aes_key, strlen(s->event_aes_key), key) != 0)
        return -1;
    char *enc = wx_encrypt(key, *body, s->appid);
    wx_wipe(key, sizeof(key));
    if (!enc)
        return -1;
    char sig[41];
    wx_msg_signature(s->event_token, ts, nonce, enc, sig);
    char *out;
    if (s->event_mode == 2) {
        out = hd_asprintf("<xml><ToUserName><![CDATA[gh_4d00ed8d6399]]></ToUserName>"
                          "<Encrypt><![CDATA[%s]]></Encrypt></xml>",
                          enc);
    } else { /* compat: the plaintext fields, and the ciphertext beside them */
        size_t n = strlen(*body);
        out = n >= 6 && strcmp(*body + n - 6, "</xml>") == 0
                  ? hd_asprintf("%.*s<Encrypt><![CDATA[%s]]></Encrypt></xml>", (int)(n - 6), *body,
                                enc)
                  : NULL;
    }
    *query = hd_asprintf("&encrypt_type=aes&msg_signature=%s", sig);
    free(enc);
    if (!out || !*query) {
        free(out);
        free(*query);
        *query = NULL;
        return -1;
    }
    free(*body);
    *body = out;
    return 0;
}

/* A push to the callback URL with a fresh signature; NULL without a callback URL. With a body
 * (an event, taken over), it is encrypted as the account's event_mode says. */
static struct wxs_push *push_new(struct wxs *s, const char *extra_query, char *body)
{
    if (!s->callback_url || !s->event_token) {
        free(body);
        return NULL;
    }
    struct evhttp_uri *u = evhttp_uri_parse(s->callback_url);
    const char *host = u ? evhttp_uri_get_host(u) : NULL;
    if (!host) {
        hd_sim_log_error(s->sim, "callback_url %s: cannot parse", s->callback_url);
        evhttp_uri_free(u);
        free(body);
        return NULL;
    }
    struct wxs_push *p = calloc(1, sizeof(*p));
    if (!p) {
        evhttp_uri_free(u);
        free(body);
        return NULL;
    }
    char ts[32], nonce[32], sig[41];
    snprintf(ts, sizeof(ts), "%lld", (long long)(wxs_now(s) / 1000));
    char *n = wxs_id(s, "", 10);
    for (char *c = n; c && *c; c++) /* the platform's nonces are digits */
        *c = (char)('0' + ((unsigned char)*c % 10));
    snprintf(nonce, sizeof(nonce), "%s", n ? n : "0");
    free(n);
    wxs_signature(s->event_token, ts, nonce, sig);
    char *crypt_query = NULL;
    if (body && s->event_mode && encrypt_event(s, ts, nonce, &body, &crypt_query) != 0) {
        /* never the plaintext instead: a test would pass on the downgraded path */
        hd_sim_log_error(s->sim, "event_mode: cannot encrypt the event (event_aes_key?)");
        evhttp_uri_free(u);
        free(body);
        free(p);
        return NULL;
    }
    const char *path = evhttp_uri_get_path(u), *q = evhttp_uri_get_query(u);
    p->s = s;
    p->host = strdup(host);
    p->port = evhttp_uri_get_port(u) > 0 ? evhttp_uri_get_port(u) : 80;
    p->target = hd_asprintf("%s?%s%ssignature=%s&timestamp=%s&nonce=%s%s%s",
                            path && *path ? path : "/", q ? q : "", q ? "&" : "", sig, ts, nonce,
                            extra_query ? extra_query : "", crypt_query ? crypt_query : "");
    p->body = body;
    free(crypt_query);
    evhttp_uri_free(u);
    if (!p->host || !p->target) {
        free(p->host);
        free(p->target);
        free(p->body);
        free(p);
        return NULL;
    }
    p->next = s->pushes;
    s->pushes = p;
    return p;
}

static char *event_xml(struct wxs *s, json_t *pub)
{
    int st = (int)json_integer_value(json_object_get(pub, "status"));
    const char *aid = json_string_value(json_object_get(pub, "article_id"));
    const char *url = json_string_value(json_object_get(pub, "article_url"));
    char *detail = aid ? hd_asprintf("<article_id><![CDATA[%s]]></article_id>"
                                     "<article_detail><count>1</count><item><idx>1</idx>"
                                     "<article_url><![CDATA[%s]]></article_url></item>"
                                     "</article_detail>",
                                     aid, url ? url : "")
                       : hd_strdup("");
    char *xml = hd_asprintf(
        "<xml><ToUserName><![CDATA[gh_4d00ed8d6399]]></ToUserName>"
        "<FromUserName><![CDATA[oV5CrjpxgaGXNHIQigzNlgLTnwic]]></FromUserName>"
        "<CreateTime>%lld</CreateTime><MsgType><![CDATA[event]]></MsgType>"
        "<Event><![CDATA[PUBLISHJOBFINISH]]></Event><PublishEventInfo>"
        "<publish_id>%s</publish_id><publish_status>%d</publish_status>%s%s"
        "</PublishEventInfo></xml>",
        (long long)(wxs_now(s) / 1000), json_string_value(json_object_get(pub, "publish_id")), st,
        detail ? detail : "", st == 2 || st == 4 ? "<fail_idx>1</fail_idx>" : "");
    free(detail);
    return xml;
}

void wxs_push_event(struct wxs *s, json_t *pub)
{
    int copies = 1;
    json_t *rec =
        json_pack("{s:O,s:O,s:I,s:i,s:b,s:b}", "publish_id", json_object_get(pub, "publish_id"),
                  "status", json_object_get(pub, "status"), "created_ms", (json_int_t)wxs_now(s),
                  "attempts", 0, "acked", 0, "dropped", 0);
    json_array_append(s->events, rec);
    if (!s->callback_url) {
        json_object_set_new(rec, "no_callback", json_true());
        json_decref(rec);
        return;
    }
    if (s->event_drop_next > 0) {
        s->event_drop_next--;
        json_object_set_new(rec, "dropped", json_true());
        json_decref(rec);
        return;
    }
    if (s->event_dup_next > 0) {
        s->event_dup_next--;
        copies = 2;
    }
    for (int i = 0; i < copies; i++) {
        json_t *r = rec;
        if (i > 0) {
            r = json_deep_copy(rec);
            json_object_set_new(r, "duplicate", json_true());
            json_array_append(s->events, r);
        } else {
            json_incref(r);
        }
        struct wxs_push *p = push_new(s, "&openid=oV5CrjpxgaGXNHIQigzNlgLTnwic", event_xml(s, pub));
        if (!p) {
            json_decref(r);
            continue;
        }
        p->rec = r;
        later(p, 0);
    }
    json_decref(rec);
}

void wxs_verify_callback(struct wxs *s)
{
    s->callback_verified = -1;
    char *echo = wxs_id(s, "", 19);
    for (char *c = echo; c && *c; c++)
        *c = (char)('0' + ((unsigned char)*c % 10));
    char *extra = echo ? hd_asprintf("&echostr=%s", echo) : NULL;
    struct wxs_push *p = extra ? push_new(s, extra, NULL) : NULL;
    free(extra);
    if (!p) {
        free(echo);
        s->callback_verified = 0;
        return;
    }
    p->verify = 1;
    p->echostr = echo;
    later(p, 0);
}
