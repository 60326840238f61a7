/*
 * ejiatong: the 18 street community platforms ("e家通"), push protocol of research/CHANNELS.md
 * §4.6 with the signing and idempotency of §3.3.
 *
 * Multi-target: the core makes one delivery per street (op->target is the street code), each
 * with its own state, retries and breaker lane, so one street's outage never blocks another.
 * POST <base>/v1/streets/{code}/notices upserts (item_id, revision); DELETE
 * <base>/v1/streets/{code}/notices/{item_id} withdraws (on retract, and at expires_at: the
 * channel is windowed). <base> is `url`, or the street's entry in `street_urls`. The body is
 * plain text within the platform's limits (title <= 40, summary <= 200 characters by default),
 * with the portal article URL (the website delivery's result, depends_on) for the QR code.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include <herald/channel.h>
#include <herald/services.h>

#include "gov_sign.h"

const struct hd_channel *hd_channel_ejiatong(void);

struct street_secret {
    const char *street; /* borrowed (config: a target) */
    const char *secret; /* borrowed (the core's, from secret_read) */
    size_t len;
};

struct ejt {
    struct hd_instance *inst;      /* borrowed */
    const struct hd_services *svc; /* borrowed */
    const char *base;              /* borrowed (config) */
    const char *secret;            /* borrowed (config) */
    size_t secret_len;
    struct street_secret *street_secrets; /* owned array; the bytes are the core's */
    size_t n_street_secrets;
    const char *qr_fallback; /* borrowed, may be NULL */
    const char *ellipsis;    /* borrowed */
    size_t title_max, summary_max;
    int reject_overlong;
    int64_t validity_ms;
};

struct call {
    struct ejt *e;
    struct hd_op *op;          /* borrowed until complete() */
    struct hd_http_call *http; /* borrowed: the core's */
    struct hd_timer *timer;    /* for completions that must not happen inside send() */
};

static const struct hd_conf_key keys[] = {
    {"url", HD_CONF_URL, NULL, 1, 0, 0, NULL,
     "Base URL of the e家通 gateway; the adapter calls <url>/v1/streets/{street_code}/notices."},
    {"street_urls", HD_CONF_MAP, NULL, 0, 0, 0, NULL,
     "street code -> base URL of that street's own platform (overrides url for it)."},
    {"secret", HD_CONF_SECRET, NULL, 1, 0, 0, NULL,
     "HMAC-SHA256 key of X-Gov-Signature (file:/path or credential:NAME)."},
    {"street_secrets", HD_CONF_MAP, NULL, 0, 0, 0, NULL,
     "street code -> reference (file:/path or credential:NAME) of the key that street's own "
     "platform signs with; streets not named use secret."},
    {"title_max", HD_CONF_INT, "40", 0, 1, 1000, NULL, "Platform limit of the title, characters."},
    {"summary_max", HD_CONF_INT, "200", 0, 1, 10000, NULL,
     "Platform limit of the summary, characters."},
    {"overlong", HD_CONF_ENUM, "truncate", 0, 0, 0, "truncate|reject",
     "A title or summary over its limit: cut on a character boundary with the ellipsis, or fail "
     "the delivery."},
    {"ellipsis", HD_CONF_STRING, "…", 0, 0, 16, NULL, "Appended where a text was cut."},
    {"qr_fallback_url", HD_CONF_URL, NULL, 0, 0, 0, NULL,
     "QR link for items that are not on the portal (no depends_on result); unset: such items "
     "fail with reason no_portal_url."},
    {"validity", HD_CONF_DURATION, "30d", 0, 60000, 366LL * 86400000, NULL,
     "valid_until for items without schedule.expires_at: valid_from plus this."},
    {"communities", HD_CONF_MAP, NULL, 0, 0, 0, NULL,
     "street code -> comma-separated community codes to target; unset: all communities."},
    {NULL, 0, NULL, 0, 0, 0, NULL, NULL},
};

/* ---- setup --------------------------------------------------------------------------------- */

static int code_ok(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n == 0 || n > max)
        return 0;
    return strspn(s, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_-") == n;
}

static int url_ok(const char *s)
{
    return s && (strncmp(s, "http://", 7) == 0 || strncmp(s, "https://", 8) == 0);
}

/* street_secrets: each named street's key, read through the core (secret_read). */
static int read_street_secrets(struct ejt *e, const char *const *targets, size_t n, char *err,
                               size_t errlen)
{
    const struct hd_services *svc = e->svc;
    for (size_t i = 0; i < n; i++) {
        const char *ref = svc->conf_map_get(e->inst, "street_secrets", targets[i]);
        if (!ref)
            continue;
        if (!HD_STRUCT_HAS(svc, struct hd_services, secret_read) || !svc->secret_read) {
            snprintf(err, errlen, "street_secrets: this heraldd cannot read them (too old)");
            return -1;
        }
        if (!e->street_secrets && !(e->street_secrets = calloc(n, sizeof(*e->street_secrets)))) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        char why[200] = "";
        size_t len = 0;
        const char *s = svc->secret_read(e->inst, ref, &len, why, sizeof(why));
        if (!s) {
            snprintf(err, errlen, "street_secrets: %s: %s", targets[i], why);
            return -1;
        }
        if (len < 16) {
            snprintf(err, errlen, "street_secrets: %s: at least 16 bytes", targets[i]);
            return -1;
        }
        e->street_secrets[e->n_street_secrets++] = (struct street_secret){targets[i], s, len};
    }
    return 0;
}

static int create(struct hd_instance *inst, const struct hd_services *svc, void **state, char *err,
                  size_t errlen)
{
    const char *const *targets = NULL;
    size_t n = svc->conf_list(inst, "targets", &targets);
    for (size_t i = 0; i < n; i++) {
        if (!code_ok(targets[i], 32)) {
            snprintf(err, errlen, "targets: \"%s\" is not a street code ([0-9A-Za-z_-], <= 32)",
                     targets[i]);
            return -1;
        }
        const char *u = svc->conf_map_get(inst, "street_urls", targets[i]);
        if (u && !url_ok(u)) {
            snprintf(err, errlen, "street_urls: %s: not an http(s) URL", targets[i]);
            return -1;
        }
        const char *c = svc->conf_map_get(inst, "communities", targets[i]);
        if (c && (!*c || strspn(c, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                   "_-, ") != strlen(c))) {
            snprintf(err, errlen, "communities: %s: comma-separated codes [0-9A-Za-z_-]",
                     targets[i]);
            return -1;
        }
    }
    struct ejt *e = calloc(1, sizeof(*e));
    if (!e) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    e->inst = inst;
    e->svc = svc;
    e->base = svc->conf_str(inst, "url");
    e->secret = svc->conf_secret(inst, "secret", &e->secret_len);
    e->qr_fallback = svc->conf_str(inst, "qr_fallback_url");
    e->ellipsis = svc->conf_str(inst, "ellipsis");
    e->title_max = (size_t)svc->conf_int(inst, "title_max");
    e->summary_max = (size_t)svc->conf_int(inst, "summary_max");
    const char *ov = svc->conf_str(inst, "overlong");
    e->reject_overlong = ov && strcmp(ov, "reject") == 0;
    e->validity_ms = svc->conf_int(inst, "validity");
    if (!e->ellipsis)
        e->ellipsis = "";
    if (!e->secret || e->secret_len < 16) {
        snprintf(err, errlen, "secret: at least 16 bytes");
        free(e);
        return -1;
    }
    if (svc->utf8_len(e->ellipsis) >= e->title_max) {
        snprintf(err, errlen, "ellipsis: must be shorter than title_max");
        free(e);
        return -1;
    }
    if (read_street_secrets(e, targets, n, err, errlen) != 0) {
        free(e->street_secrets);
        free(e);
        return -1;
    }
    *state = e;
    return 0;
}

static void destroy(void *state)
{
    struct ejt *e = state;
    if (e)
        free(e->street_secrets);
    free(e);
}

/* ---- render (pure) ------------------------------------------------------------------------- */

/* One paragraph of plain text: HTML (if any) to text, runs of white space and control characters
 * to one space, trimmed. malloc'd. */
static char *plain_line(const struct hd_services *svc, const char *s)
{
    char *t = strpbrk(s, "<&") ? svc->html_to_text(s) : strdup(s);
    if (!t)
        return NULL;
    size_t o = 0;
    int space = 1; /* drops leading blanks */
    for (const unsigned char *p = (const unsigned char *)t; *p; p++) {
        if (*p <= 0x20 || *p == 0x7f) {
            if (!space)
                t[o++] = ' ';
            space = 1;
        } else {
            t[o++] = (char)*p;
            space = 0;
        }
    }
    while (o > 0 && t[o - 1] == ' ')
        o--;
    t[o] = '\0';
    return t;
}

/* Fits `s` (owned) into max characters: truncated with the ellipsis, or NULL with err set when
 * the instance rejects over-long texts. */
static char *fit(struct ejt *e, char *s, size_t max, const char *field, char *err, size_t errlen)
{
    size_t n = e->svc->utf8_len(s);
    if (n <= max)
        return s;
    if (e->reject_overlong) {
        snprintf(err, errlen, "%s has %zu characters, the platform takes %zu (overlong: reject)",
                 field, n, max);
        free(s);
        return NULL;
    }
    char *t = e->svc->utf8_truncate(s, max, e->ellipsis);
    free(s);
    if (!t)
        snprintf(err, errlen, "out of memory");
    return t;
}

static json_t *target_of(struct ejt *e, const char *street)
{
    const char *c = street ? e->svc->conf_map_get(e->inst, "communities", street) : NULL;
    if (!c)
        return json_pack("{s:b}", "all_communities", 1);
    json_t *codes = json_array();
    const char *p = c;
    while (*p) {
        p += strspn(p, ", ");
        size_t n = strcspn(p, ", ");
        if (n)
            json_array_append_new(codes, json_stringn(p, n));
        p += n;
    }
    return json_pack("{s:o}", "community_codes", codes);
}

static const char *portal_url(struct ejt *e, const struct hd_render_ctx *rc)
{
    for (size_t i = 0; rc && i < rc->n_deps; i++)
        if (url_ok(rc->deps[i].url))
            return rc->deps[i].url;
    return e->qr_fallback;
}

static int render(void *state, const struct hd_item *it, const struct hd_render_ctx *rc,
                  struct hd_payload *out, char *err, size_t errlen)
{
    struct ejt *e = state;
    const struct hd_services *svc = e->svc;
    json_t *src = NULL, *doc = NULL;
    char *title = NULL, *summary = NULL;
    int rcode = HD_RENDER_REJECT;

    const char *qr = portal_url(e, rc);
    if (!qr) {
        snprintf(err, errlen,
                 "no_portal_url: the item is not on the portal and qr_fallback_url is unset");
        return HD_RENDER_REJECT;
    }
    title = plain_line(svc, it->title ? it->title : "");
    if (!title || !*title) {
        snprintf(err, errlen, "the item has no title");
        goto done;
    }
    if (!(title = fit(e, title, e->title_max, "title", err, errlen)))
        goto done;
    const char *from = it->summary && *it->summary       ? it->summary
                       : it->body_text && *it->body_text ? it->body_text
                                                         : it->body_html;
    summary = plain_line(svc, from ? from : "");
    if (!summary || !(summary = fit(e, summary, e->summary_max, "summary", err, errlen)))
        goto done;

    src = json_loadb(it->json, it->json_len, 0, NULL);
    json_t *sched = json_object_get(src, "schedule");
    const char *nb = json_string_value(json_object_get(sched, "not_before"));
    const char *exp = json_string_value(json_object_get(sched, "expires_at"));
    const char *valid_from = nb ? nb : it->approved_at;
    char until[40];
    if (exp) {
        snprintf(until, sizeof(until), "%s", exp);
    } else {
        int64_t from_ms = it->not_before_ms ? it->not_before_ms : it->approved_at_ms;
        e->svc->time_format(from_ms + e->validity_ms, e->svc->time_offset(valid_from), until,
                            sizeof(until));
    }
    if (!valid_from) {
        snprintf(err, errlen, "the item has no approved_at");
        goto done;
    }
    doc = json_pack(
        "{s:s, s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:s}", "item_id", it->id, "revision",
        (json_int_t)it->version, "category", it->category ? it->category : "notice", "title", title,
        "summary", summary, "qr_url", qr, "valid_from", valid_from, "valid_until", until, "target",
        target_of(e, rc ? rc->target : NULL), "priority", it->urgent ? "urgent" : "normal");
    if (!doc) {
        snprintf(err, errlen, "cannot build the notice");
        goto done;
    }
    for (size_t i = 0; i < it->n_images; i++)
        if (url_ok(it->images[i].url)) {
            json_object_set_new(doc, "image_url", json_string(it->images[i].url));
            break;
        }
    out->data = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
    if (!out->data) {
        snprintf(err, errlen, "cannot serialise the notice");
        goto done;
    }
    out->len = strlen(out->data);
    snprintf(out->content_type, sizeof(out->content_type), "application/json; charset=utf-8");
    char *cut = svc->utf8_truncate(title, 40, "…");
    snprintf(out->summary, sizeof(out->summary), "%s: %s", rc && rc->target ? rc->target : "",
             cut ? cut : "");
    free(cut);
    rcode = HD_RENDER_OK;
done:
    json_decref(doc);
    json_decref(src);
    free(title);
    free(summary);
    return rcode;
}

/* ---- requests ------------------------------------------------------------------------------ */

static void finish(struct call *c, enum hd_outcome_kind kind, const char *reason,
                   const char *detail, int status, const char *rid, const char *url, int64_t at)
{
    struct hd_outcome o = {.kind = kind,
                           .reason = reason,
                           .detail = detail,
                           .http_status = status,
                           .remote_id = rid,
                           .url = url,
                           .at_ms = at};
    c->op->adapter_data = NULL;
    c->e->svc->complete(c->op, &o);
    free(c);
}

static void on_response(void *arg, const struct hd_http_resp *r)
{
    struct call *c = arg;
    int retract = c->op->kind == HD_OP_RETRACT;
    char reason[96], detail[320];
    if (r->error != HD_HTTP_OK) {
        snprintf(detail, sizeof(detail), "street %s: %s", c->op->target,
                 r->error_text ? r->error_text : "transport error");
        if (r->error == HD_HTTP_CANCELLED && !r->request_sent)
            finish(c, HD_OUT_CANCELLED, "cancelled", detail, 0, NULL, NULL, 0);
        else
            finish(c, r->request_sent ? HD_OUT_UNKNOWN : HD_OUT_RETRY, "http_error", detail, 0,
                   NULL, NULL, 0);
        return;
    }
    json_t *j = json_loads(r->body ? r->body : "", 0, NULL);
    const char *error = json_string_value(json_object_get(j, "error"));
    const char *field = json_string_value(json_object_get(j, "field"));
    int s = r->status;
    snprintf(reason, sizeof(reason), "ejiatong_%d%s%s", s, error ? "_" : "", error ? error : "");
    snprintf(detail, sizeof(detail), "street %s: HTTP %d%s%s: %.200s", c->op->target, s,
             field ? " field " : "", field ? field : "", r->body ? r->body : "");
    if (retract && (s == 200 || s == 204 || s == 404)) {
        finish(c, HD_OUT_DELIVERED, s == 404 ? "already_gone" : "withdrawn", NULL, s,
               c->op->remote_id, c->op->remote_url, 0);
    } else if (!retract && (s == 200 || s == 201)) {
        const char *nid = json_string_value(json_object_get(j, "notice_id"));
        const char *url = json_string_value(json_object_get(j, "notice_url"));
        finish(c, HD_OUT_DELIVERED, s == 201 ? "created" : "updated", NULL, s,
               nid ? nid : c->op->item->id, url, 0);
    } else {
        /* rejected: 400/422 validation, 404 unknown street, 409 stale revision -- this content or
         * this street, not a transient state; the other streets go on */
        const char *d = detail;
        int64_t at;
        enum hd_outcome_kind k = gov_failure(c->e->svc, r, error, &d, &at);
        finish(c, k, reason, d, s, NULL, NULL, at);
    }
    json_decref(j);
}

static const char *base_of(struct ejt *e, const char *street)
{
    const char *u = street ? e->svc->conf_map_get(e->inst, "street_urls", street) : NULL;
    return u ? u : e->base;
}

static int request(struct ejt *e, struct hd_op *op, const char *method, const char *path,
                   const char *body, const char *key)
{
    const char *secret = e->secret;
    size_t secret_len = e->secret_len;
    for (size_t i = 0; op->target && i < e->n_street_secrets; i++)
        if (strcmp(e->street_secrets[i].street, op->target) == 0) {
            secret = e->street_secrets[i].secret;
            secret_len = e->street_secrets[i].len;
        }
    struct call *c = calloc(1, sizeof(*c));
    if (!c)
        return -1;
    c->e = e;
    c->op = op;
    op->adapter_data = c;
    if (gov_request(e->svc, e->inst, secret, secret_len, method, base_of(e, op->target), path, body,
                    key, on_response, c, &c->http) != 0) {
        op->adapter_data = NULL;
        free(c);
        return -1;
    }
    return 0;
}

static void on_expired(void *arg)
{
    struct call *c = arg;
    finish(c, HD_OUT_CANCELLED, "expired", "expires_at passed: not sent", 0, NULL, NULL, 0);
}

static int send_op(void *state, struct hd_op *op)
{
    struct ejt *e = state;
    if (!op->payload || !op->target || !*op->target)
        return -1;
    if (op->item->expires_at_ms && e->svc->now_ms() >= op->item->expires_at_ms) {
        /* never push a notice whose window is over; the core expires the delivery */
        struct call *c = calloc(1, sizeof(*c));
        if (!c)
            return -1;
        c->e = e;
        c->op = op;
        op->adapter_data = c;
        if (!(c->timer = e->svc->timer_add(e->inst, 0, on_expired, c))) {
            op->adapter_data = NULL;
            free(c);
            return -1;
        }
        return 0;
    }
    char path[256];
    snprintf(path, sizeof(path), "/v1/streets/%s/notices", op->target);
    return request(e, op, "POST", path, op->payload->data, op->idempotency_key);
}

static int retract(void *state, struct hd_op *op)
{
    struct ejt *e = state;
    if (!op->target || !*op->target)
        return -1;
    char path[512], key[320];
    /* item ids are [A-Za-z0-9._:-] (schema): safe in a path as they are */
    snprintf(path, sizeof(path), "/v1/streets/%s/notices/%s", op->target, op->item->id);
    snprintf(key, sizeof(key), "%s:retract", op->idempotency_key);
    int expired = op->item->expires_at_ms && e->svc->now_ms() >= op->item->expires_at_ms;
    json_t *b = json_pack("{s:s}", "reason", expired ? "expired" : "retracted");
    char *body = json_dumps(b, JSON_COMPACT);
    json_decref(b);
    int rc = body ? request(e, op, "DELETE", path, body, key) : -1;
    free(body);
    return rc;
}

static void cancel(void *state, struct hd_op *op)
{
    struct ejt *e = state;
    struct call *c = op->adapter_data;
    if (!c)
        return;
    if (c->http) {
        e->svc->http_cancel(c->http);
    } else if (c->timer) {
        e->svc->timer_cancel(c->timer);
        finish(c, HD_OUT_CANCELLED, "cancelled", "cancelled before sending", 0, NULL, NULL, 0);
    }
}

static const struct hd_channel channel = {
    .abi_version = HD_ABI_VERSION,
    .struct_size = sizeof(struct hd_channel),
    .build_signature = HD_BUILD_SIGNATURE,
    .name = "ejiatong",
    .description = "Street community platforms e家通 (CHANNELS.md §4.6): signed upsert and "
                   "delete per street",
    .version = "1.0",
    .caps =
        HD_CAP_IDEMPOTENT | HD_CAP_RETRACT | HD_CAP_UPDATE | HD_CAP_WINDOWED | HD_CAP_MULTI_TARGET,
    .default_on_revision = HD_REV_UPDATE,
    .keys = keys,
    .create = create,
    .destroy = destroy,
    .render = render,
    .send = send_op,
    .retract = retract,
    .cancel = cancel,
};

const struct hd_channel *hd_channel_ejiatong(void)
{
    return &channel;
}
