/*
 * webhook simulator: a strict receiver of herald's generic signed webhook (herald.webhook/v1),
 * standing in for whatever system an operator points a webhook:<name> instance at. It enforces
 * what the webhook adapter must get right: the v1= HMAC-SHA256 signature over "<ts>.<body>" with
 * a timestamp tolerance (CHANNELS.md §3.2, Stripe), the Idempotency-Key rules (replay, 422 reused,
 * 409 in flight; IETF draft), the body schema, and version ordering per item. See README.md for
 * the rule list and the test of each.
 *
 * config: {"secret":"...","tolerance_s":300,"key_ttl_s":86400}; secret is required.
 */
#include <ctype.h>

#include <event2/http.h>

#include "common.h"
#include "sim.h"

#define SCHEMA "herald.webhook/v1"

struct webhook {
    struct hd_sim *sim; /* borrowed */
    char *secret;       /* owned */
    int64_t tolerance_s;
    struct hd_sim_idem *idem; /* owned */
    json_t *items;            /* owned: item id -> stored item */
    json_t *gone;             /* owned: retracted item id -> tombstone */
    uint64_t next_id;
};

static void reply_error(struct hd_sim_req *r, int status, const char *error, const char *reason)
{
    json_t *body = json_pack("{s:s}", "error", error);
    if (body && reason)
        json_object_set_new(body, "reason", json_string(reason));
    hd_sim_reply_json(r, status, body);
}

static int all_digits(const char *s)
{
    if (!s || !*s || strlen(s) > 18)
        return 0;
    for (; *s; s++)
        if (!isdigit((unsigned char)*s))
            return 0;
    return 1;
}

static int nonempty_string(const json_t *v)
{
    return json_is_string(v) && json_string_length(v) > 0;
}

static int optional_string(const json_t *v)
{
    return !v || json_is_null(v) || json_is_string(v);
}

/* Checks the herald.webhook/v1 body against the request's headers; NULL when valid. */
static const char *validate(struct hd_sim_req *r, json_t *body, const char *key)
{
    const char *event = json_string_value(json_object_get(body, "event"));
    const char *hdr_event = hd_sim_req_header(r, "X-Herald-Event");
    const char *hdr_delivery = hd_sim_req_header(r, "X-Herald-Delivery");
    json_t *v;

    if (!json_is_object(body))
        return "the body must be a JSON object";
    if (!hd_streq(json_string_value(json_object_get(body, "schema")), SCHEMA))
        return "schema must be \"" SCHEMA "\"";
    if (!event || (strcmp(event, "publish") != 0 && strcmp(event, "update") != 0 &&
                   strcmp(event, "retract") != 0))
        return "event must be publish, update or retract";
    if (!hd_streq(hdr_event, event))
        return "X-Herald-Event must equal the body's event";
    if (!nonempty_string(json_object_get(body, "delivery_id")))
        return "delivery_id must be a non-empty string";
    if (!hd_streq(hdr_delivery, json_string_value(json_object_get(body, "delivery_id"))))
        return "X-Herald-Delivery must equal the body's delivery_id";
    v = json_object_get(body, "idempotency_key");
    if (v && !hd_streq(json_string_value(v), key))
        return "idempotency_key must equal the Idempotency-Key header";

    if (strcmp(event, "retract") == 0) {
        if (!nonempty_string(json_object_get(body, "item_id")))
            return "item_id must be a non-empty string";
        v = json_object_get(body, "version");
        if (!json_is_integer(v) || json_integer_value(v) < 1)
            return "version must be an integer >= 1";
        if (!optional_string(json_object_get(body, "remote_id")) ||
            !optional_string(json_object_get(body, "reason")))
            return "remote_id and reason must be strings";
        return NULL;
    }
    if (!v)
        return "idempotency_key is required";
    if (!nonempty_string(json_object_get(body, "instance")))
        return "instance must be a non-empty string";
    if (!optional_string(json_object_get(body, "target")))
        return "target must be a string";
    json_t *item = json_object_get(body, "item");
    if (!json_is_object(item))
        return "item must be an object (a herald.item/v1 document)";
    if (!nonempty_string(json_object_get(item, "id")))
        return "item.id must be a non-empty string";
    v = json_object_get(item, "version");
    if (!json_is_integer(v) || json_integer_value(v) < 1)
        return "item.version must be an integer >= 1";
    json_t *deps = json_object_get(body, "deps");
    if (deps && !json_is_array(deps))
        return "deps must be an array";
    size_t i;
    json_array_foreach (deps, i, v) {
        if (!json_is_object(v) || !nonempty_string(json_object_get(v, "instance")) ||
            !optional_string(json_object_get(v, "remote_id")) ||
            !optional_string(json_object_get(v, "url")))
            return "deps[] must be objects {instance, remote_id, url}";
    }
    v = json_object_get(body, "previous");
    if (v && !json_is_null(v) &&
        (!json_is_object(v) || !optional_string(json_object_get(v, "remote_id")) ||
         !optional_string(json_object_get(v, "url"))))
        return "previous must be null or an object {remote_id, url}";
    return NULL;
}

static char *item_url(struct webhook *wh, const char *id)
{
    char *enc = evhttp_uriencode(id, -1, 0);
    char *url = enc ? hd_asprintf("%s/items/%s", hd_sim_url(wh->sim), enc) : NULL;
    free(enc);
    return url;
}

static void apply_publish(struct webhook *wh, struct hd_sim_req *r, const char *key, json_t *body)
{
    json_t *item = json_object_get(body, "item");
    const char *id = json_string_value(json_object_get(item, "id"));
    json_int_t version = json_integer_value(json_object_get(item, "version"));
    json_t *rec = json_object_get(wh->items, id);
    char hash[65], remote[32];
    size_t len;
    const char *raw = hd_sim_req_body(r, &len);

    if (rec) {
        json_int_t stored = json_integer_value(json_object_get(rec, "version"));
        if (version < stored) {
            hd_sim_idem_reply(
                wh->idem, r, key, 409,
                json_pack("{s:s,s:I}", "error", "stale_version", "stored_version", stored));
            return;
        }
        snprintf(remote, sizeof(remote), "%s", json_string_value(json_object_get(rec, "id")));
        if (version == stored) {
            hd_sim_duplicate(r, key); /* this version is there already: nothing changes */
            goto answer;
        }
    } else {
        snprintf(remote, sizeof(remote), "wh-%llu", (unsigned long long)++wh->next_id);
    }
    hd_sim_sha256_hex(raw, len, hash);
    json_object_set_new(wh->items, id,
                        json_pack("{s:s,s:s,s:I,s:O,s:s,s:O,s:I,s:s,s:O,s:O?}", "id", remote,
                                  "item_id", id, "version", version, "event",
                                  json_object_get(body, "event"), "body_sha256", hash,
                                  "delivery_id", json_object_get(body, "delivery_id"), "applied_at",
                                  (json_int_t)hd_sim_now_ms(wh->sim), "idempotency_key", key,
                                  "item", item, "deps", json_object_get(body, "deps")));
    json_object_del(wh->gone, id);
    hd_sim_applied(r, key);
answer:;
    char *url = item_url(wh, id);
    hd_sim_idem_reply(wh->idem, r, key, 200, json_pack("{s:s,s:s?}", "id", remote, "url", url));
    free(url);
}

static void apply_retract(struct webhook *wh, struct hd_sim_req *r, const char *key, json_t *body)
{
    const char *id = json_string_value(json_object_get(body, "item_id"));
    json_int_t version = json_integer_value(json_object_get(body, "version"));
    json_t *rec = json_object_get(wh->items, id);

    if (!rec) {
        if (json_object_get(wh->gone, id))
            hd_sim_duplicate(r, key); /* retracted before: still gone */
        hd_sim_idem_reply(wh->idem, r, key, 200, json_pack("{s:s}", "status", "gone"));
        return;
    }
    json_int_t stored = json_integer_value(json_object_get(rec, "version"));
    if (version < stored) {
        hd_sim_idem_reply(
            wh->idem, r, key, 409,
            json_pack("{s:s,s:I}", "error", "stale_version", "stored_version", stored));
        return;
    }
    json_t *remote = json_incref(json_object_get(rec, "id"));
    json_object_set_new(
        wh->gone, id,
        json_pack("{s:O,s:I,s:I,s:O}", "id", remote, "version", version, "retracted_at",
                  (json_int_t)hd_sim_now_ms(wh->sim), "reason",
                  json_object_get(body, "reason") ? json_object_get(body, "reason") : json_null()));
    json_object_del(wh->items, id);
    hd_sim_applied(r, key);
    hd_sim_idem_reply(wh->idem, r, key, 200,
                      json_pack("{s:o,s:s}", "id", remote, "status", "retracted"));
}

static void handle(void *state, struct hd_sim_req *r)
{
    struct webhook *wh = state;
    const char *method = hd_sim_req_method(r), *path = hd_sim_req_path(r);
    size_t len;
    const char *raw = hd_sim_req_body(r, &len);

    if (strncmp(path, "/items/", 7) == 0 && path[7] &&
        (strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0)) {
        json_t *rec = json_object_get(wh->items, path + 7);
        if (rec)
            hd_sim_reply_json(r, 200, json_incref(rec));
        else
            reply_error(r, 404, "not_found", NULL);
        return;
    }
    if (strcmp(method, "POST") != 0) {
        hd_sim_reply_header(r, "Allow", "POST");
        reply_error(r, 405, "method_not_allowed", "deliveries are POSTed");
        return;
    }
    if (!hd_sim_req_content_type_is(r, "application/json")) {
        reply_error(r, 415, "unsupported_media_type", "Content-Type must be application/json");
        return;
    }
    const char *ts = hd_sim_req_header(r, "X-Herald-Timestamp");
    const char *sig = hd_sim_req_header(r, "X-Herald-Signature");
    if (!all_digits(ts) || hd_sim_verify_v1(wh->secret, ts, raw, len, sig) != 0) {
        reply_error(r, 401, "bad_signature", NULL);
        return;
    }
    int64_t age = hd_sim_now_ms(wh->sim) / 1000 - strtoll(ts, NULL, 10);
    if (age > wh->tolerance_s || -age > wh->tolerance_s) {
        reply_error(r, 401, "stale_timestamp", NULL);
        return;
    }
    const char *key = hd_sim_req_header(r, "Idempotency-Key");
    if (!key) {
        reply_error(r, 400, "missing_idempotency_key", "Idempotency-Key is required");
        return;
    }
    if (hd_sim_idem_key_ok(key) != 0) {
        reply_error(r, 400, "invalid_idempotency_key", "1 to 255 printable ASCII characters");
        return;
    }
    if (hd_sim_idem_begin(wh->idem, r, key))
        return;

    json_error_t jerr;
    json_t *body = json_loadb(raw, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!body) {
        reply_error(r, 400, "invalid_json", jerr.text);
        return;
    }
    const char *bad = validate(r, body, key);
    if (bad)
        reply_error(r, 400, "invalid_body", bad);
    else if (strcmp(json_string_value(json_object_get(body, "event")), "retract") == 0)
        apply_retract(wh, r, key, body);
    else
        apply_publish(wh, r, key, body);
    json_decref(body);
}

static void destroy(void *state)
{
    struct webhook *wh = state;
    if (!wh)
        return;
    hd_sim_idem_destroy(wh->idem);
    json_decref(wh->items);
    json_decref(wh->gone);
    free(wh->secret);
    free(wh);
}

static int init(struct hd_sim *sim, const json_t *conf, void **state)
{
    static const char *const known[] = {"secret", "tolerance_s", "key_ttl_s", NULL};
    json_t *secret = json_object_get(conf, "secret");
    json_t *tol = json_object_get(conf, "tolerance_s"), *ttl = json_object_get(conf, "key_ttl_s");
    struct webhook *wh;

    if (hd_sim_conf_check_keys(sim, conf, known) < 0)
        return HD_EINVAL;
    if (!nonempty_string(secret)) {
        hd_sim_log_error(sim, "config: \"secret\" (a non-empty string) is required");
        return HD_EINVAL;
    }
    if ((tol && (!json_is_integer(tol) || json_integer_value(tol) < 1)) ||
        (ttl && (!json_is_integer(ttl) || json_integer_value(ttl) < 1))) {
        hd_sim_log_error(sim, "config: tolerance_s and key_ttl_s must be integers >= 1");
        return HD_EINVAL;
    }
    wh = calloc(1, sizeof(*wh));
    if (!wh)
        return HD_ENOMEM;
    wh->sim = sim;
    wh->secret = strdup(json_string_value(secret));
    wh->tolerance_s = tol ? json_integer_value(tol) : 300;
    wh->idem = hd_sim_idem_create(sim, (ttl ? json_integer_value(ttl) : 86400) * 1000, 0);
    wh->items = json_object();
    wh->gone = json_object();
    if (!wh->secret || !wh->idem || !wh->items || !wh->gone) {
        destroy(wh);
        return HD_ENOMEM;
    }
    *state = wh;
    return 0;
}

static void reset(void *state)
{
    struct webhook *wh = state;
    hd_sim_idem_clear(wh->idem);
    json_object_clear(wh->items);
    json_object_clear(wh->gone);
    wh->next_id = 0;
}

static json_t *inspect(void *state)
{
    struct webhook *wh = state;
    json_t *items = json_object();
    const char *id;
    json_t *rec;
    json_object_foreach (wh->items, id, rec) {
        json_object_set_new(items, id,
                            json_pack("{s:O,s:O,s:O,s:O,s:O,s:O}", "id", json_object_get(rec, "id"),
                                      "version", json_object_get(rec, "version"), "event",
                                      json_object_get(rec, "event"), "applied_at",
                                      json_object_get(rec, "applied_at"), "delivery_id",
                                      json_object_get(rec, "delivery_id"), "body_sha256",
                                      json_object_get(rec, "body_sha256")));
    }
    return json_pack("{s:o,s:O}", "items", items, "retracted", wh->gone);
}

const struct hd_sim_def hd_sim_webhook = {
    .name = "webhook",
    .description = "receiver of herald's signed herald.webhook/v1 deliveries",
    .init = init,
    .destroy = destroy,
    .reset = reset,
    .handle = handle,
    .inspect = inspect,
};
