/*
 * webhook: herald's generic signed JSON push (channels/webhook/README.md has the protocol).
 *
 * Each publish, update or retract is one POST carrying a JSON document, an Idempotency-Key
 * (resending is always safe: the adapter is idempotent), and an HMAC-SHA256 signature over
 * "<timestamp>.<body>" in X-Herald-Signature. Which response statuses mean success and which
 * are worth retrying is configurable; everything else is a rejection. Uses only the adapter ABI.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include <herald/channel.h>
#include <herald/services.h>

const struct hd_channel *hd_channel_webhook(void);

struct webhook {
    struct hd_instance *inst;
    const struct hd_services *svc;
    const char *url, *retract_url;
    const char *secret;
    size_t secret_len;
    char success[256], retry[256]; /* status classes, e.g. "2xx" and "408,425,429,5xx" */
    const char *const *extra;      /* "Name: value" headers */
    size_t n_extra;
};

struct call {
    struct webhook *w;
    struct hd_op *op;
    struct hd_http_call *http;
};

static const struct hd_conf_key keys[] = {
    {"url", HD_CONF_URL, NULL, 1, 0, 0, NULL, "Where publishes and updates are POSTed."},
    {"retract_url", HD_CONF_URL, NULL, 0, 0, 0, NULL, "Where retractions go (default: url)."},
    {"secret", HD_CONF_SECRET, NULL, 1, 0, 0, NULL,
     "HMAC-SHA256 key of X-Herald-Signature (file:/path or credential:NAME)."},
    {"success_status", HD_CONF_STRING, "2xx", 0, 1, 255, NULL,
     "Statuses that mean delivered: classes (2xx), codes (409) or ranges (200-204), comma "
     "separated."},
    {"retry_status", HD_CONF_STRING, "408,425,429,5xx", 0, 1, 255, NULL,
     "Statuses worth retrying (429 and 503 honour Retry-After); any other status is a "
     "rejection."},
    {"headers", HD_CONF_LIST, NULL, 0, 0, 0, NULL, "Extra request headers, \"Name: value\"."},
    {NULL, 0, NULL, 0, 0, 0, NULL, NULL},
};

/* ---- status classes -------------------------------------------------------------------------- */

/* A status spec: comma-separated entries, each a three-character pattern of digits and x
 * ("2xx", "40x", "503") or a range of codes ("500-504"). Calls fn for each entry with the
 * pattern (NULL for a range) or the range's bounds; returns -1 at the first malformed entry. */
static int each_entry(const char *spec, int (*fn)(const char *pat, long lo, long hi, void *arg),
                      void *arg)
{
    const char *p = spec;
    for (;;) {
        while (*p == ' ' || *p == ',')
            p++;
        if (!*p)
            return 0;
        size_t n = strcspn(p, ", ");
        char e[16];
        if (n >= sizeof(e))
            return -1;
        memcpy(e, p, n);
        e[n] = '\0';
        p += n;
        char *dash = strchr(e, '-'), *end;
        if (dash) {
            long lo = strtol(e, &end, 10);
            if (end != dash || !isdigit((unsigned char)dash[1]))
                return -1;
            long hi = strtol(dash + 1, &end, 10);
            if (*end || lo < 100 || hi > 599 || lo > hi)
                return -1;
            if (fn && fn(NULL, lo, hi, arg))
                return 1;
            continue;
        }
        if (n != 3 || !isdigit((unsigned char)e[0]) || e[0] < '1' || e[0] > '5')
            return -1;
        for (size_t i = 1; i < 3; i++)
            if (!isdigit((unsigned char)e[i]) && e[i] != 'x' && e[i] != 'X')
                return -1;
        if (fn && fn(e, 0, 0, arg))
            return 1;
    }
}

static int entry_matches(const char *pat, long lo, long hi, void *arg)
{
    int status = *(int *)arg;
    if (!pat)
        return status >= lo && status <= hi;
    char code[4];
    snprintf(code, sizeof(code), "%03d", status);
    for (size_t i = 0; i < 3; i++)
        if (pat[i] != 'x' && pat[i] != 'X' && pat[i] != code[i])
            return 0;
    return 1;
}

/* 1 when status matches a spec like "2xx,409,500-504". */
static int status_in(const char *spec, int status)
{
    return status >= 100 && status <= 999 && each_entry(spec, entry_matches, &status) == 1;
}

static int valid_spec(const char *spec)
{
    return each_entry(spec, NULL, NULL) == 0;
}

/* ---- lifecycle ---------------------------------------------------------------------------- */

static int create(struct hd_instance *inst, const struct hd_services *svc, void **state, char *err,
                  size_t errlen)
{
    struct webhook *w = calloc(1, sizeof(*w));
    if (!w) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    w->inst = inst;
    w->svc = svc;
    w->url = svc->conf_str(inst, "url");
    w->retract_url = svc->conf_str(inst, "retract_url");
    if (!w->retract_url)
        w->retract_url = w->url;
    w->secret = svc->conf_secret(inst, "secret", &w->secret_len);
    snprintf(w->success, sizeof(w->success), "%s", svc->conf_str(inst, "success_status"));
    snprintf(w->retry, sizeof(w->retry), "%s", svc->conf_str(inst, "retry_status"));
    w->n_extra = svc->conf_list(inst, "headers", &w->extra);
    if (!valid_spec(w->success) || !valid_spec(w->retry)) {
        snprintf(err, errlen,
                 "success_status/retry_status: use classes like 2xx, codes and ranges");
        free(w);
        return -1;
    }
    for (size_t i = 0; i < w->n_extra; i++)
        if (!strchr(w->extra[i], ':')) {
            snprintf(err, errlen, "headers: \"%s\" is not \"Name: value\"", w->extra[i]);
            free(w);
            return -1;
        }
    if (!w->secret || w->secret_len < 16) {
        snprintf(err, errlen, "secret: at least 16 bytes");
        free(w);
        return -1;
    }
    *state = w;
    return 0;
}

static void destroy(void *state)
{
    free(state);
}

/* ---- render (pure) ----------------------------------------------------------------------- */

static void delivery_name(const struct hd_item *it, const char *instance, const char *target,
                          char *out, size_t len)
{
    if (target && *target)
        snprintf(out, len, "%s:%lld:%s:%s", it->id, (long long)it->version, instance, target);
    else
        snprintf(out, len, "%s:%lld:%s", it->id, (long long)it->version, instance);
}

static int render(void *state, const struct hd_item *it, const struct hd_render_ctx *rc,
                  struct hd_payload *out, char *err, size_t errlen)
{
    struct webhook *w = state;
    char name[600];
    delivery_name(it, rc->instance_id, rc->target, name, sizeof(name));
    json_t *deps = json_array();
    for (size_t i = 0; i < rc->n_deps; i++) {
        json_t *d = json_object();
        json_object_set_new(d, "instance", json_string(rc->deps[i].instance));
        if (rc->deps[i].remote_id)
            json_object_set_new(d, "remote_id", json_string(rc->deps[i].remote_id));
        if (rc->deps[i].url)
            json_object_set_new(d, "url", json_string(rc->deps[i].url));
        json_array_append_new(deps, d);
    }
    json_t *prev = json_null();
    if (rc->is_update) {
        prev = json_object();
        if (rc->prev_remote_id)
            json_object_set_new(prev, "remote_id", json_string(rc->prev_remote_id));
        if (rc->prev_url)
            json_object_set_new(prev, "url", json_string(rc->prev_url));
    }
    json_t *doc =
        json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:o}", "schema", "herald.webhook/v1",
                  "event", rc->is_update ? "update" : "publish", "delivery_id", name, "instance",
                  rc->instance_id, "target", rc->target ? rc->target : "", "idempotency_key",
                  rc->idempotency_key, "deps", deps, "previous", prev);
    if (!doc) {
        snprintf(err, errlen, "cannot build the webhook document");
        return HD_RENDER_REJECT;
    }
    char *env = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(doc);
    size_t elen = env ? strlen(env) : 0;
    if (!env || elen < 2 || env[elen - 1] != '}') {
        free(env);
        snprintf(err, errlen, "cannot serialise the webhook document");
        return HD_RENDER_REJECT;
    }
    /* the item goes in as the bytes upstream sent (a validated herald.item/v1 document), not
     * re-encoded: cheaper, and the receiver sees exactly what was approved */
    out->len = elen - 1 + strlen(",\"item\":") + it->json_len + 1;
    out->data = malloc(out->len + 1);
    if (!out->data) {
        free(env);
        snprintf(err, errlen, "out of memory");
        return HD_RENDER_REJECT;
    }
    int n = snprintf(out->data, out->len + 1, "%.*s,\"item\":", (int)(elen - 1), env);
    memcpy(out->data + n, it->json, it->json_len);
    out->data[n + it->json_len] = '}';
    out->data[out->len] = '\0';
    free(env);
    snprintf(out->content_type, sizeof(out->content_type), "application/json; charset=utf-8");
    char *cut = w->svc->utf8_truncate(it->title ? it->title : it->id, 40, "…");
    snprintf(out->summary, sizeof(out->summary), "%s %s", rc->is_update ? "update" : "publish",
             cut ? cut : "");
    free(cut);
    return HD_RENDER_OK;
}

/* ---- sending -------------------------------------------------------------------------------- */

static void complete(struct call *c, enum hd_outcome_kind kind, const char *reason,
                     const char *detail, const struct hd_http_resp *resp, const char *rid,
                     const char *url, int64_t at)
{
    struct hd_outcome o = {
        .kind = kind,
        .reason = reason,
        .detail = detail,
        .http_status = resp ? resp->status : 0,
        .remote_id = rid,
        .url = url,
        .at_ms = at,
    };
    c->w->svc->complete(c->op, &o);
    free(c);
}

static void on_response(void *arg, const struct hd_http_resp *r)
{
    struct call *c = arg;
    struct webhook *w = c->w;
    const struct hd_services *svc = w->svc;
    char reason[64], detail[300];
    int retract = c->op->kind == HD_OP_RETRACT;
    if (r->error != HD_HTTP_OK) {
        snprintf(reason, sizeof(reason), "http_%s",
                 r->error == HD_HTTP_CONNECT     ? "connect"
                 : r->error == HD_HTTP_TIMEOUT   ? "timeout"
                 : r->error == HD_HTTP_TLS       ? "tls"
                 : r->error == HD_HTTP_CANCELLED ? "cancelled"
                                                 : "connection");
        snprintf(detail, sizeof(detail), "%s", r->error_text ? r->error_text : "transport error");
        if (r->error == HD_HTTP_CANCELLED)
            complete(c, r->request_sent ? HD_OUT_UNKNOWN : HD_OUT_CANCELLED, reason, detail, r,
                     NULL, NULL, 0);
        else if (r->request_sent && r->error != HD_HTTP_TLS)
            complete(c, HD_OUT_UNKNOWN, reason, detail, r, NULL, NULL, 0);
        else
            complete(c, HD_OUT_RETRY, reason, detail, r, NULL, NULL, 0);
        return;
    }
    snprintf(reason, sizeof(reason), "http_%d", r->status);
    snprintf(detail, sizeof(detail), "HTTP %d: %.200s", r->status, r->body ? r->body : "");
    if (status_in(w->success, r->status) || (retract && (r->status == 404 || r->status == 410))) {
        json_t *j = json_loads(r->body ? r->body : "", 0, NULL);
        const char *id = json_string_value(json_object_get(j, "id"));
        const char *url = json_string_value(json_object_get(j, "url"));
        complete(c, HD_OUT_DELIVERED, retract ? "retracted" : "delivered", NULL, r,
                 id ? id : c->op->remote_id, url ? url : c->op->remote_url, 0);
        json_decref(j);
        return;
    }
    if (status_in(w->retry, r->status)) {
        int64_t at = svc->retry_after_ms(r);
        if (at > 0 && (r->status == 429 || r->status == 503))
            complete(c, HD_OUT_RETRY_AFTER, reason, detail, r, NULL, NULL, at);
        else
            complete(c, HD_OUT_RETRY, reason, detail, r, NULL, NULL, 0);
        return;
    }
    if (r->status == 401) {
        /* the receiver refused the signature: every delivery would fail the same way, so park
         * the instance for a person (the secret, or the clock) instead of failing them one by one
         */
        complete(c, HD_OUT_NEEDS_OPERATOR, reason,
                 "the receiver refused our signature: check the secret and the clock", r, NULL,
                 NULL, 0);
        return;
    }
    complete(c, HD_OUT_REJECTED, reason, detail, r, NULL, NULL, 0);
}

static int post(struct webhook *w, struct hd_op *op, const char *url, const char *event,
                const char *body, size_t len, const char *key)
{
    char ts[32], sig[80], hmac[65];
    snprintf(ts, sizeof(ts), "%lld", (long long)(w->svc->now_ms() / 1000));
    /* signed bytes: "<timestamp>.<body>" */
    size_t mlen = strlen(ts) + 1 + len;
    char *msg = malloc(mlen + 1);
    if (!msg)
        return -1;
    snprintf(msg, mlen + 1, "%s.", ts);
    memcpy(msg + strlen(ts) + 1, body, len);
    w->svc->hmac_sha256_hex(w->secret, w->secret_len, msg, mlen, hmac);
    free(msg);
    snprintf(sig, sizeof(sig), "v1=%s", hmac);
    char h_key[320], h_ts[64], h_sig[100], h_ev[64], h_del[600];
    snprintf(h_key, sizeof(h_key), "Idempotency-Key: %s", key);
    snprintf(h_ts, sizeof(h_ts), "X-Herald-Timestamp: %s", ts);
    snprintf(h_sig, sizeof(h_sig), "X-Herald-Signature: %s", sig);
    snprintf(h_ev, sizeof(h_ev), "X-Herald-Event: %s", event);
    snprintf(h_del, sizeof(h_del), "X-Herald-Delivery: %s", op->delivery_id);
    const char *hdrs[32] = {
        "Content-Type: application/json; charset=utf-8", h_key, h_ts, h_sig, h_ev, h_del};
    size_t nh = 6;
    for (size_t i = 0; i < w->n_extra && nh < 32; i++)
        hdrs[nh++] = w->extra[i];
    struct hd_http_req req = {
        .struct_size = sizeof(req),
        .method = "POST",
        .url = url,
        .headers = hdrs,
        .n_headers = nh,
        .body = body,
        .body_len = len,
    };
    struct call *c = calloc(1, sizeof(*c));
    if (!c)
        return -1;
    c->w = w;
    c->op = op;
    op->adapter_data = c;
    if (w->svc->http_request(w->inst, &req, on_response, c, &c->http) != 0) {
        op->adapter_data = NULL;
        free(c);
        return -1;
    }
    return 0;
}

static int send_op(void *state, struct hd_op *op)
{
    struct webhook *w = state;
    if (!op->payload)
        return -1;
    return post(w, op, w->url, op->is_update ? "update" : "publish", op->payload->data,
                op->payload->len, op->idempotency_key);
}

static int retract(void *state, struct hd_op *op)
{
    struct webhook *w = state;
    char name[600], key[320];
    snprintf(name, sizeof(name), "%s", op->delivery_id);
    snprintf(key, sizeof(key), "%s:retract", op->idempotency_key);
    json_t *doc = json_pack("{s:s, s:s, s:s, s:s, s:I}", "schema", "herald.webhook/v1", "event",
                            "retract", "delivery_id", name, "item_id", op->item->id, "version",
                            (json_int_t)op->item->version);
    if (op->remote_id)
        json_object_set_new(doc, "remote_id", json_string(op->remote_id));
    char *body = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(doc);
    if (!body)
        return -1;
    int rc = post(w, op, w->retract_url, "retract", body, strlen(body), key);
    free(body);
    return rc;
}

static void cancel(void *state, struct hd_op *op)
{
    struct webhook *w = state;
    struct call *c = op->adapter_data;
    if (c && c->http)
        w->svc->http_cancel(c->http); /* on_response completes the op (cancelled/unknown) */
}

static const struct hd_channel channel = {
    .abi_version = HD_ABI_VERSION,
    .struct_size = sizeof(struct hd_channel),
    .build_signature = HD_BUILD_SIGNATURE,
    .name = "webhook",
    .description = "Generic signed JSON push (HMAC-SHA256, Idempotency-Key)",
    .version = "1.0",
    .caps = HD_CAP_IDEMPOTENT | HD_CAP_RETRACT | HD_CAP_UPDATE,
    .default_on_revision = HD_REV_UPDATE,
    .keys = keys,
    .create = create,
    .destroy = destroy,
    .render = render,
    .send = send_op,
    .retract = retract,
    .cancel = cancel,
};

const struct hd_channel *hd_channel_webhook(void)
{
    return &channel;
}
