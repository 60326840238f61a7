/*
 * website: the district portal's CMS gateway, protocol of research/CHANNELS.md §3.3.
 *
 * POST /v1/items upserts (item_id, revision) and answers with the portal URL; DELETE
 * /v1/items/{item_id} withdraws. Requests carry an Idempotency-Key and X-Gov-Timestamp /
 * X-Gov-Signature (v1=HMAC-SHA256 over "<timestamp>.<body>"). Resending is safe (the gateway
 * replays the first answer for a key), so unknown outcomes are simply retried with the same key.
 * The portal URL this adapter returns is what Weibo, e家通 and the boards link to (depends_on).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include <herald/channel.h>
#include <herald/services.h>

#include "gov_sign.h"

const struct hd_channel *hd_channel_website(void);

struct website {
    struct hd_instance *inst;
    const struct hd_services *svc;
    const char *base;
    const char *secret;
    size_t secret_len;
};

struct call {
    struct website *w;
    struct hd_op *op;
    struct hd_http_call *http;
};

static const struct hd_conf_key keys[] = {
    {"url", HD_CONF_URL, NULL, 1, 0, 0, NULL,
     "Base URL of the CMS gateway (the adapter calls <url>/v1/items)."},
    {"secret", HD_CONF_SECRET, NULL, 1, 0, 0, NULL,
     "HMAC-SHA256 key of X-Gov-Signature (file:/path or credential:NAME)."},
    {"category_map", HD_CONF_MAP, NULL, 0, 0, 0, NULL,
     "herald category -> CMS category (policy_doc, interpretation, press_notice, gazette, "
     "notice); overrides the built-in mapping."},
    {NULL, 0, NULL, 0, 0, 0, NULL, NULL},
};

/* herald.item/v1 categories -> the gateway's five (CHANNELS.md §3.3) */
static const char *const default_map[][2] = {
    {"normative_document", "policy_doc"},
    {"policy_document", "policy_doc"},
    {"policy_interpretation", "interpretation"},
    {"press_conference", "press_notice"},
    {"gazette", "gazette"},
    {"notice", "notice"},
    {"work_news", "notice"},
    {"personnel", "notice"},
    {"consultation", "notice"},
    {"emergency", "notice"},
};

static const char *const cms_categories[] = {"policy_doc", "interpretation", "press_notice",
                                             "gazette", "notice"};

static const char *map_category(struct website *w, const char *cat)
{
    const char *m = cat ? w->svc->conf_map_get(w->inst, "category_map", cat) : NULL;
    if (m)
        return m;
    for (size_t i = 0; cat && i < sizeof(default_map) / sizeof(default_map[0]); i++)
        if (strcmp(default_map[i][0], cat) == 0)
            return default_map[i][1];
    return "notice";
}

static int create(struct hd_instance *inst, const struct hd_services *svc, void **state, char *err,
                  size_t errlen)
{
    struct website *w = calloc(1, sizeof(*w));
    if (!w) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    w->inst = inst;
    w->svc = svc;
    w->base = svc->conf_str(inst, "url");
    w->secret = svc->conf_secret(inst, "secret", &w->secret_len);
    if (!w->secret || w->secret_len < 16) {
        snprintf(err, errlen, "secret: at least 16 bytes");
        free(w);
        return -1;
    }
    for (size_t i = 0; i < sizeof(default_map) / sizeof(default_map[0]); i++) {
        const char *m = map_category(w, default_map[i][0]);
        int ok = 0;
        for (size_t j = 0; j < sizeof(cms_categories) / sizeof(cms_categories[0]); j++)
            ok |= strcmp(m, cms_categories[j]) == 0;
        if (!ok) {
            snprintf(err, errlen,
                     "category_map: %s maps to %s, not one of policy_doc, interpretation, "
                     "press_notice, gazette, notice",
                     default_map[i][0], m);
            free(w);
            return -1;
        }
    }
    *state = w;
    return 0;
}

static void destroy(void *state)
{
    free(state);
}

/* ---- render (pure) ----------------------------------------------------------------------- */

static int render(void *state, const struct hd_item *it, const struct hd_render_ctx *rc,
                  struct hd_payload *out, char *err, size_t errlen)
{
    struct website *w = state;
    json_t *src = json_loadb(it->json, it->json_len, 0, NULL);
    if (!src) {
        snprintf(err, errlen, "item is not JSON");
        return HD_RENDER_REJECT;
    }
    json_t *atts = json_array();
    for (size_t i = 0; i < it->n_attachments; i++) {
        const struct hd_asset *a = &it->attachments[i];
        /* the portal checks every attachment it links against its hash (CHANNELS.md §3.3) */
        if (!a->sha256 || !a->name) {
            snprintf(err, errlen, "attachment %zu (%s) has no %s: the portal needs it", i + 1,
                     a->url, !a->sha256 ? "sha256" : "name");
            json_decref(atts);
            json_decref(src);
            return HD_RENDER_REJECT;
        }
        json_array_append_new(atts, json_pack("{s:s, s:s, s:s}", "name", a->name, "url", a->url,
                                              "sha256", a->sha256));
    }
    json_t *related = json_array();
    json_t *rel;
    size_t i;
    json_array_foreach (json_object_get(src, "related"), i, rel) {
        const char *id = json_string_value(json_object_get(rel, "id"));
        if (id)
            json_array_append_new(related, json_string(id));
    }
    const char *issued = json_string_value(json_object_get(src, "issued_date"));
    json_t *doc =
        json_pack("{s:s, s:I, s:s, s:s, s:s?, s:s?, s:s?, s:s, s:s, s:o, s:o, s:s}", "item_id",
                  it->id, "revision", (json_int_t)it->version, "category",
                  map_category(w, it->category), "title", it->title ? it->title : "", "doc_number",
                  it->doc_number, "issuer", it->publisher_name, "issued_date", issued, "publish_at",
                  it->approved_at, "body_html", it->body_html ? it->body_html : "", "attachments",
                  atts, "related_item_ids", related, "channel_path", it->column ? it->column : "");
    json_decref(src);
    if (!doc) {
        snprintf(err, errlen, "cannot build the CMS document");
        return HD_RENDER_REJECT;
    }
    if (!it->title || !*it->title || !it->body_html || !*it->body_html || !it->column) {
        json_decref(doc);
        snprintf(err, errlen, "the portal needs a title, a body and a column");
        return HD_RENDER_REJECT;
    }
    out->data = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(doc);
    if (!out->data) {
        snprintf(err, errlen, "cannot serialise the CMS document");
        return HD_RENDER_REJECT;
    }
    out->len = strlen(out->data);
    snprintf(out->content_type, sizeof(out->content_type), "application/json; charset=utf-8");
    char *cut = w->svc->utf8_truncate(it->title ? it->title : it->id, 48, "…");
    snprintf(out->summary, sizeof(out->summary), "%s", cut ? cut : "");
    free(cut);
    return HD_RENDER_OK;
}

/* ---- requests ------------------------------------------------------------------------------- */

static void complete(struct call *c, enum hd_outcome_kind kind, const char *reason,
                     const char *detail, const struct hd_http_resp *r, const char *rid,
                     const char *url, int64_t at)
{
    struct hd_outcome o = {.kind = kind,
                           .reason = reason,
                           .detail = detail,
                           .http_status = r ? r->status : 0,
                           .remote_id = rid,
                           .url = url,
                           .at_ms = at};
    c->w->svc->complete(c->op, &o);
    free(c);
}

/* 409 revision_exists: the portal has this revision already (sent earlier under another key).
 * Look it up: the same revision there means done, with its portal URL. */
static void on_lookup(void *arg, const struct hd_http_resp *r)
{
    struct call *c = arg;
    json_t *j = r->error == HD_HTTP_OK && r->status == 200
                    ? json_loads(r->body ? r->body : "", 0, NULL)
                    : NULL;
    json_int_t rev = json_integer_value(json_object_get(j, "revision"));
    const char *url = json_string_value(json_object_get(j, "portal_url"));
    json_t *id = json_object_get(j, "cms_doc_id");
    char idbuf[32] = "";
    if (json_is_integer(id))
        snprintf(idbuf, sizeof(idbuf), "%lld", (long long)json_integer_value(id));
    int64_t at = r->error == HD_HTTP_OK ? c->w->svc->retry_after_ms(r) : 0;
    if (url && rev == (json_int_t)c->op->item->version)
        complete(c, HD_OUT_DELIVERED, "already_there", "the portal had this revision already", r,
                 idbuf, url, 0);
    else if (r->error != HD_HTTP_OK || r->status >= 500 || r->status == 408 || r->status == 429)
        complete(c, at > 0 ? HD_OUT_RETRY_AFTER : HD_OUT_RETRY, "cms_lookup_failed",
                 "the portal has this revision (409 revision_exists); looking it up failed", r,
                 NULL, NULL, at);
    else if (r->status == 401)
        complete(c, HD_OUT_NEEDS_OPERATOR, "cms_401",
                 "the gateway refused our signature: check the secret and the clock", r, NULL, NULL,
                 0);
    else
        complete(c, HD_OUT_REJECTED, "cms_409_revision_exists",
                 r->status == 200 ? "the portal answered 409 revision_exists but its lookup shows "
                                    "another revision: an operator must compare the two"
                                  : "the portal answered 409 revision_exists and the lookup "
                                    "found no document",
                 r, NULL, NULL, 0);
    json_decref(j);
}

static void lookup(struct call *c)
{
    char url[2048];
    snprintf(url, sizeof(url), "%s/v1/items/%s", c->w->base, c->op->item->id);
    struct hd_http_req req = {.struct_size = sizeof(req), .method = "GET", .url = url};
    if (c->w->svc->http_request(c->w->inst, &req, on_lookup, c, &c->http) != 0)
        complete(c, HD_OUT_RETRY, "cms_lookup_failed", "could not start the lookup", NULL, NULL,
                 NULL, 0);
}

static void on_response(void *arg, const struct hd_http_resp *r)
{
    struct call *c = arg;
    int retract = c->op->kind == HD_OP_RETRACT;
    char reason[64], detail[300];
    if (r->error != HD_HTTP_OK) {
        snprintf(reason, sizeof(reason), "http_error");
        snprintf(detail, sizeof(detail), "%s", r->error_text ? r->error_text : "transport error");
        if (r->error == HD_HTTP_CANCELLED && !r->request_sent)
            complete(c, HD_OUT_CANCELLED, "cancelled", detail, r, NULL, NULL, 0);
        else
            complete(c, r->request_sent ? HD_OUT_UNKNOWN : HD_OUT_RETRY, reason, detail, r, NULL,
                     NULL, 0);
        return;
    }
    json_t *j = json_loads(r->body ? r->body : "", 0, NULL);
    const char *error = json_string_value(json_object_get(j, "error"));
    snprintf(reason, sizeof(reason), "cms_%d%s%s", r->status, error ? "_" : "", error ? error : "");
    snprintf(detail, sizeof(detail), "HTTP %d: %.200s", r->status, r->body ? r->body : "");
    int s = r->status;
    if (retract && (s == 200 || s == 204 || s == 404)) {
        complete(c, HD_OUT_DELIVERED, s == 404 ? "already_gone" : "retracted", NULL, r,
                 c->op->remote_id, c->op->remote_url, 0);
    } else if (!retract && (s == 200 || s == 201)) {
        json_t *id = json_object_get(j, "cms_doc_id");
        char idbuf[32] = "";
        if (json_is_integer(id))
            snprintf(idbuf, sizeof(idbuf), "%lld", (long long)json_integer_value(id));
        const char *url = json_string_value(json_object_get(j, "portal_url"));
        if (!url)
            complete(c, HD_OUT_RETRY, "cms_bad_response", "no portal_url in the answer", r, NULL,
                     NULL, 0);
        else
            complete(c, HD_OUT_DELIVERED, s == 201 ? "created" : "updated", NULL, r,
                     idbuf[0] ? idbuf : json_string_value(id), url, 0);
    } else if (!retract && s == 409 && error && strcmp(error, "revision_exists") == 0) {
        json_decref(j);
        lookup(c); /* completes the op */
        return;
    } else {
        const char *d = detail;
        int64_t at;
        enum hd_outcome_kind k = gov_failure(c->w->svc, r, error, &d, &at);
        complete(c, k, reason, d, r, NULL, NULL, at);
    }
    json_decref(j);
}

static int request(struct website *w, struct hd_op *op, const char *method, const char *url,
                   const char *body, const char *key)
{
    struct call *c = calloc(1, sizeof(*c));
    if (!c)
        return -1;
    c->w = w;
    c->op = op;
    op->adapter_data = c;
    if (gov_request(w->svc, w->inst, w->secret, w->secret_len, method, url, "", body, key,
                    on_response, c, &c->http) != 0) {
        op->adapter_data = NULL;
        free(c);
        return -1;
    }
    return 0;
}

static int send_op(void *state, struct hd_op *op)
{
    struct website *w = state;
    char url[2048];
    snprintf(url, sizeof(url), "%s/v1/items", w->base);
    return op->payload ? request(w, op, "POST", url, op->payload->data, op->idempotency_key) : -1;
}

static int retract(void *state, struct hd_op *op)
{
    struct website *w = state;
    char url[2048], key[320];
    /* item ids are [A-Za-z0-9._:-] (schema): safe in a path as they are */
    snprintf(url, sizeof(url), "%s/v1/items/%s", w->base, op->item->id);
    snprintf(key, sizeof(key), "%s:retract", op->idempotency_key);
    json_t *b = json_pack("{s:s}", "reason", "retracted by the issuing unit");
    char *body = json_dumps(b, JSON_COMPACT);
    json_decref(b);
    int rc = body ? request(w, op, "DELETE", url, body, key) : -1;
    free(body);
    return rc;
}

static void cancel(void *state, struct hd_op *op)
{
    struct website *w = state;
    struct call *c = op->adapter_data;
    if (c && c->http)
        w->svc->http_cancel(c->http);
}

static const struct hd_channel channel = {
    .abi_version = HD_ABI_VERSION,
    .struct_size = sizeof(struct hd_channel),
    .build_signature = HD_BUILD_SIGNATURE,
    .name = "website",
    .description = "District portal CMS gateway (CHANNELS.md §3.3): upsert, delete, portal URL",
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

const struct hd_channel *hd_channel_website(void)
{
    return &channel;
}
