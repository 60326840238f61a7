/*
 * WeChat event push (CHANNELS.md §1.3, "Event PUBLISHJOBFINISH"): the instance's own listener
 * (inbound_listen, inbound_path) receives what the platform pushes to the account's server URL,
 * or what another system that owns that URL forwards in the same form.
 *
 * Every request carries ?signature=&timestamp=&nonce= where signature = sha1 of the sorted,
 * concatenated event_token, timestamp and nonce (WeChat's server-verification scheme). A GET
 * with echostr is the platform's URL check: we echo echostr. A POST holds the event as XML in
 * plaintext mode; in 兼容模式 and 安全模式 (encrypt_type=aes) it is inside <Encrypt>, signed
 * with msg_signature and decrypted with event_aes_key (or event_aes_key_previous, the key
 * before a change on the console), and must name the instance's appid; with a key configured a
 * plaintext POST is refused (its signature does not cover the body). A PUBLISHJOBFINISH event is
 * turned into the outcome its publish_status means and handed to the core with resolve_remote()
 * by publish_id; an event the core cannot place yet (it raced the submit's answer, or a poll is
 * running) is kept and tried again, and poll_status() consults what was received before it
 * spends a poll. Other events and messages are acknowledged with "success" and ignored.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "wechat.h"
#include "wx_crypt.h"

#define RETRY_TRIES 8

/* ---- the signature ------------------------------------------------------------------------- */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int wx_signature_ok(const struct hd_services *svc, const char *token, const char *timestamp,
                    const char *nonce, const char *sig)
{
    if (!token || !timestamp || !nonce || !sig || strlen(sig) != 40)
        return 0;
    const char *parts[3] = {token, timestamp, nonce};
    qsort(parts, 3, sizeof(parts[0]), cmp_str);
    size_t n = strlen(parts[0]) + strlen(parts[1]) + strlen(parts[2]);
    char *joined = malloc(n + 1), hex[41];
    if (!joined)
        return 0;
    snprintf(joined, n + 1, "%s%s%s", parts[0], parts[1], parts[2]);
    svc->sha1_hex(joined, n, hex);
    free(joined);
    return wx_signature_equal(sig, hex);
}

/* ---- the query string ------------------------------------------------------------------------ */

static int hexval(int c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

/* The decoded value of `name` in a query string, malloc'd, or NULL. */
static char *query_get(const char *q, const char *name)
{
    size_t nl = strlen(name);
    for (const char *p = q; p && *p;) {
        const char *end = strchr(p, '&');
        size_t seg = end ? (size_t)(end - p) : strlen(p);
        if (seg > nl && strncmp(p, name, nl) == 0 && p[nl] == '=') {
            const char *v = p + nl + 1;
            size_t vl = seg - nl - 1, o = 0;
            char *out = malloc(vl + 1);
            if (!out)
                return NULL;
            for (size_t i = 0; i < vl; i++) {
                if (v[i] == '%' && i + 2 < vl && hexval(v[i + 1]) >= 0 && hexval(v[i + 2]) >= 0) {
                    out[o++] = (char)(hexval(v[i + 1]) * 16 + hexval(v[i + 2]));
                    i += 2;
                } else {
                    out[o++] = v[i] == '+' ? ' ' : v[i];
                }
            }
            out[o] = '\0';
            return out;
        }
        p = end ? end + 1 : NULL;
    }
    return NULL;
}

/* ---- the events received --------------------------------------------------------------------- */

const struct wx_event *wx_event_find(struct wechat *w, const char *publish_id)
{
    for (size_t i = 0; publish_id && i < WX_EVENTS_KEPT; i++)
        if (w->events[i].publish_id[0] && strcmp(w->events[i].publish_id, publish_id) == 0)
            return &w->events[i];
    return NULL;
}

static int apply(struct wechat *w, struct wx_event *ev)
{
    struct hd_outcome o;
    char detail[200];
    wx_status_outcome(ev->status, ev->publish_id, ev->url[0] ? ev->url : NULL, &o, detail,
                      sizeof(detail));
    char d2[260];
    snprintf(d2, sizeof(d2), "%s (PUBLISHJOBFINISH event)", detail);
    o.detail = d2;
    ev->tries++;
    int rc = w->svc->resolve_remote(w->inst, ev->publish_id, &o);
    if (rc == 0) {
        ev->applied = 1;
        w->svc->metric_add(w->inst, "wechat_events", "applied", 1);
    }
    return rc;
}

static void on_retry(void *arg);

static void arm_retry(struct wechat *w)
{
    int64_t delay = -1;
    if (w->events_timer)
        return;
    for (size_t i = 0; i < WX_EVENTS_KEPT; i++) {
        const struct wx_event *ev = &w->events[i];
        if (ev->publish_id[0] && !ev->applied && ev->tries < RETRY_TRIES) {
            int64_t d = 250LL << ev->tries;
            if (delay < 0 || d < delay)
                delay = d;
        }
    }
    if (delay >= 0)
        w->events_timer = w->svc->timer_add(w->inst, delay, on_retry, w);
}

static void on_retry(void *arg)
{
    struct wechat *w = arg;
    w->events_timer = NULL;
    for (size_t i = 0; i < WX_EVENTS_KEPT; i++) {
        struct wx_event *ev = &w->events[i];
        if (ev->publish_id[0] && !ev->applied && ev->tries < RETRY_TRIES)
            apply(w, ev);
    }
    arm_retry(w);
}

void wx_events_stop(struct wechat *w)
{
    if (w->events_timer)
        w->svc->timer_cancel(w->events_timer);
    w->events_timer = NULL;
}

/* Records the event; 1 when it repeats one already applied. */
static struct wx_event *record(struct wechat *w, const char *pid, int status, const char *aid,
                               const char *url, int *dup)
{
    struct wx_event *ev = (struct wx_event *)wx_event_find(w, pid);
    *dup = 0;
    if (ev && ev->status == status) {
        *dup = ev->applied;
        return ev;
    }
    if (!ev) {
        ev = &w->events[w->events_next % WX_EVENTS_KEPT];
        w->events_next++;
    }
    memset(ev, 0, sizeof(*ev));
    snprintf(ev->publish_id, sizeof(ev->publish_id), "%s", pid);
    snprintf(ev->article_id, sizeof(ev->article_id), "%s", aid ? aid : "");
    snprintf(ev->url, sizeof(ev->url), "%s", url ? url : "");
    ev->status = status;
    ev->received_ms = w->svc->now_ms();
    return ev;
}

/* ---- the XML
 * ------------------------------------------------------------------------------------- */

static xmlNode *child(xmlNode *n, const char *name)
{
    for (xmlNode *c = n ? n->children : NULL; c; c = c->next)
        if (c->type == XML_ELEMENT_NODE && strcmp((const char *)c->name, name) == 0)
            return c;
    return NULL;
}

/* The text (CDATA included) of n's child `name`, trimmed, malloc'd; NULL when absent. */
static char *text(xmlNode *n, const char *name)
{
    xmlNode *c = child(n, name);
    xmlChar *t = c ? xmlNodeGetContent(c) : NULL;
    if (!t)
        return NULL;
    const char *s = (const char *)t;
    while (*s == ' ' || *s == '\n' || *s == '\r' || *s == '\t')
        s++;
    size_t n2 = strlen(s);
    while (n2 > 0 &&
           (s[n2 - 1] == ' ' || s[n2 - 1] == '\n' || s[n2 - 1] == '\r' || s[n2 - 1] == '\t'))
        n2--;
    char *out = malloc(n2 + 1);
    if (out) {
        memcpy(out, s, n2);
        out[n2] = '\0';
    }
    xmlFree(t);
    return out;
}

static void reply(struct hd_inbound_resp *resp, int status, const char *body)
{
    resp->status = status;
    snprintf(resp->content_type, sizeof(resp->content_type), "text/plain; charset=utf-8");
    resp->body = strdup(body);
    resp->body_len = resp->body ? strlen(body) : 0;
}

static int event(struct wechat *w, const char *body, size_t len, struct hd_inbound_resp *resp)
{
    xmlDoc *doc = xmlReadMemory(body, (int)len, "event.xml", NULL,
                                XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    xmlNode *root = doc ? xmlDocGetRootElement(doc) : NULL;
    char *type = NULL, *ev = NULL, *pid = NULL, *st = NULL, *aid = NULL, *url = NULL;
    if (!root || doc->intSubset || strcmp((const char *)root->name, "xml") != 0) {
        /* no DTDs: nothing in an event needs one, and entities are an attack surface */
        reply(resp, 400, "not a WeChat event (XML <xml> root without a DTD expected)");
        goto done;
    }
    type = text(root, "MsgType");
    ev = text(root, "Event");
    if (!type || strcmp(type, "event") != 0 || !ev || strcmp(ev, "PUBLISHJOBFINISH") != 0) {
        /* the account's callback URL gets every message and event: not ours to handle */
        w->svc->metric_add(w->inst, "wechat_events", "ignored", 1);
        reply(resp, 200, "success");
        goto done;
    }
    xmlNode *info = child(root, "PublishEventInfo");
    pid = text(info, "publish_id");
    st = text(info, "publish_status");
    aid = text(info, "article_id");
    xmlNode *item = child(child(info, "article_detail"), "item");
    url = text(item, "article_url");
    char *end = NULL;
    long status = st ? strtol(st, &end, 10) : -1;
    if (!pid || !*pid || strlen(pid) >= 64 || !st || end == st || *end || status < 0 ||
        status > 6) {
        reply(resp, 400, "PUBLISHJOBFINISH without a publish_id and a publish_status 0-6");
        goto done;
    }
    if (status == 1) { /* not finished: nothing to do */
        reply(resp, 200, "success");
        goto done;
    }
    int dup;
    struct wx_event *e = record(w, pid, (int)status, aid, url, &dup);
    if (dup) {
        w->svc->metric_add(w->inst, "wechat_events", "duplicate", 1);
        reply(resp, 200, "success");
        goto done;
    }
    w->svc->log(w->inst, HD_LOG_INFO, "PUBLISHJOBFINISH publish_id=%s publish_status=%ld", pid,
                status);
    if (apply(w, e) != 0)
        arm_retry(w); /* not placeable yet: the submit's answer may still be on its way */
    reply(resp, 200, "success");
done:
    free(type);
    free(ev);
    free(pid);
    free(st);
    free(aid);
    free(url);
    xmlFreeDoc(doc);
    return 0;
}

/* ---- 兼容模式 and 安全模式: the event inside <Encrypt> (wx_crypt.h) ---------------------- */

/* <Encrypt> of an event body, malloc'd; NULL when the body is not <xml> with one. */
static char *encrypt_part(const char *body, size_t len)
{
    xmlDoc *doc = xmlReadMemory(body, (int)len, "event.xml", NULL,
                                XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    xmlNode *root = doc ? xmlDocGetRootElement(doc) : NULL;
    char *out = NULL;
    if (root && !doc->intSubset && strcmp((const char *)root->name, "xml") == 0)
        out = text(root, "Encrypt");
    xmlFreeDoc(doc);
    return out;
}

static void encrypted(struct wechat *w, const char *enc, const char *ts, const char *nonce,
                      const char *msg_sig, const char *body, size_t len,
                      struct hd_inbound_resp *resp)
{
    if (strcmp(enc, "aes") != 0) {
        reply(resp, 400, "encrypt_type: aes or raw");
        return;
    }
    if (!w->n_aes_keys) {
        w->svc->log(w->inst, HD_LOG_WARN,
                    "encrypted event push (兼容模式/安全模式) but no event_aes_key is configured: "
                    "set it to the account's EncodingAESKey");
        w->svc->metric_add(w->inst, "wechat_events", "undecryptable", 1);
        reply(resp, 400, "encrypted event: no EncodingAESKey configured (event_aes_key)");
        return;
    }
    char *ciphertext = encrypt_part(body, len), computed[41];
    if (!ciphertext || !*ciphertext) {
        free(ciphertext);
        reply(resp, 400, "encrypt_type=aes without an <Encrypt> element");
        return;
    }
    wx_msg_signature(w->event_token, ts, nonce, ciphertext, computed);
    if (!wx_signature_equal(msg_sig, computed)) {
        w->svc->log(w->inst, HD_LOG_WARN, "event push: bad or missing msg_signature");
        w->svc->metric_add(w->inst, "wechat_events", "bad_signature", 1);
        free(ciphertext);
        reply(resp, 401, "bad msg_signature");
        return;
    }
    char *msg = NULL, *appid = NULL;
    const char *why = "no key fits";
    for (int i = 0; i < w->n_aes_keys && !msg; i++) {
        msg = wx_decrypt(w->aes_keys[i], ciphertext, &appid, &why);
        if (msg && strcmp(appid, w->appid) != 0) {
            why = "it names another account's appid";
            free(msg);
            msg = NULL;
        }
        free(appid);
        appid = NULL;
    }
    free(ciphertext);
    if (!msg) {
        w->svc->log(w->inst, HD_LOG_WARN, "encrypted event push not taken: %s", why);
        w->svc->metric_add(w->inst, "wechat_events", "undecryptable", 1);
        reply(resp, 400, "cannot decrypt the event");
        return;
    }
    event(w, msg, strlen(msg), resp);
    free(msg);
}

int wx_inbound(void *state, const struct hd_inbound_req *req, struct hd_inbound_resp *resp)
{
    struct wechat *w = state;
    const char *q = req->query ? req->query : "";
    char *sig = query_get(q, "signature"), *ts = query_get(q, "timestamp");
    char *nonce = query_get(q, "nonce"), *echostr = query_get(q, "echostr");
    char *enc = query_get(q, "encrypt_type");
    int get = strcmp(req->method, "GET") == 0;
    if (!w->event_token || !wx_signature_ok(w->svc, w->event_token, ts, nonce, sig)) {
        w->svc->log(w->inst, HD_LOG_WARN, "event push %s: bad or missing signature", req->method);
        w->svc->metric_add(w->inst, "wechat_events", "bad_signature", 1);
        reply(resp, 401, "bad signature");
    } else if (get) {
        /* the platform's URL check: echo echostr */
        if (echostr)
            reply(resp, 200, echostr);
        else
            reply(resp, 400, "echostr missing");
    } else if (strcmp(req->method, "POST") != 0) {
        reply(resp, 405, "GET or POST");
    } else if (enc && strcmp(enc, "raw") != 0) {
        char *msg_sig = query_get(q, "msg_signature");
        encrypted(w, enc, ts, nonce, msg_sig, req->body ? req->body : "", req->body_len, resp);
        free(msg_sig);
    } else if (w->n_aes_keys) {
        /* plaintext signatures do not cover the body: with a key, only encrypted events count,
         * or anyone who saw one signed URL could post a forged result */
        w->svc->log(w->inst, HD_LOG_WARN,
                    "plaintext event push refused: event_aes_key is set, so this account's "
                    "events are encrypted (兼容模式/安全模式)");
        w->svc->metric_add(w->inst, "wechat_events", "plaintext_refused", 1);
        reply(resp, 400, "this account's events are encrypted: encrypt_type=aes expected");
    } else {
        event(w, req->body ? req->body : "", req->body_len, resp);
    }
    free(sig);
    free(ts);
    free(nonce);
    free(echostr);
    free(enc);
    return 0;
}
