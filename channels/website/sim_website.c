/*
 * website simulator: the district portal's CMS gateway speaking the push protocol recommended in
 * CHANNELS.md §3.3 — POST /v1/items (upsert by item_id + revision), DELETE /v1/items/{item_id},
 * GET /v1/items/{item_id} — with X-Gov-Timestamp / X-Gov-Signature (v1= HMAC-SHA256 over
 * "<ts>.<body>", 300 s tolerance on the simulator's clock) and Idempotency-Key semantics of
 * §3.2 (replay, 422 reused, 409 in flight). 429 / 503 with Retry-After come from the common fault
 * knobs. See README.md for the rule list and the test of each.
 *
 * config: {"secret":"...","portal_base":"https://www.yuexiu.gov.cn","tolerance_s":300,
 *          "key_ttl_s":86400}; secret is required.
 */
#include <ctype.h>

#include <event2/http.h>

#include "common.h"
#include "sim.h"

#define FIRST_DOC_ID 7946462
#define TITLE_MAX    200

struct website {
    struct hd_sim *sim; /* borrowed */
    char *secret;       /* owned */
    char *portal_base;  /* owned, without a trailing slash */
    int64_t tolerance_s;
    struct hd_sim_idem *idem; /* owned */
    json_t *docs;             /* owned: item_id -> stored document */
    json_int_t next_doc_id;
};

static const char *const categories[] = {"policy_doc", "interpretation", "press_notice",
                                         "gazette",    "notice",         NULL};

static void reply_error(struct hd_sim_req *r, int status, const char *error)
{
    hd_sim_reply_json(r, status, json_pack("{s:s}", "error", error));
}

static void reply_validation(struct hd_sim_req *r, const char *field, const char *detail)
{
    json_t *body = json_pack("{s:s,s:s}", "error", "validation", "field", field);
    if (body && detail)
        json_object_set_new(body, "detail", json_string(detail));
    hd_sim_reply_json(r, 400, body);
}

static int nonempty_string(const json_t *v)
{
    return json_is_string(v) && json_string_length(v) > 0;
}

static size_t utf8_chars(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xc0) != 0x80;
    return n;
}

static int digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isdigit((unsigned char)s[i]))
            return 0;
    return 1;
}

/* YYYY-MM-DD */
static int is_date(const char *s)
{
    return strlen(s) >= 10 && digits(s, 4) && s[4] == '-' && digits(s + 5, 2) && s[7] == '-' &&
           digits(s + 8, 2) && atoi(s + 5) >= 1 && atoi(s + 5) <= 12 && atoi(s + 8) >= 1 &&
           atoi(s + 8) <= 31;
}

/* RFC 3339 date-time with an offset: YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM) */
static int is_datetime(const char *s)
{
    if (!is_date(s) || (s[10] != 'T' && s[10] != 't') || !digits(s + 11, 2) || s[13] != ':' ||
        !digits(s + 14, 2) || s[16] != ':' || !digits(s + 17, 2))
        return 0;
    const char *p = s + 19;
    if (*p == '.') {
        p++;
        if (!isdigit((unsigned char)*p))
            return 0;
        while (isdigit((unsigned char)*p))
            p++;
    }
    if ((*p == 'Z' || *p == 'z') && p[1] == '\0')
        return 1;
    return (*p == '+' || *p == '-') && digits(p + 1, 2) && p[3] == ':' && digits(p + 4, 2) &&
           p[6] == '\0';
}

static int is_sha256_hex(const char *s)
{
    if (strlen(s) != 64)
        return 0;
    for (; *s; s++)
        if (!isxdigit((unsigned char)*s))
            return 0;
    return 1;
}

/* channel_path (栏目): segments separated by '/' (a leading and a trailing '/' are ignored), no
 * empty or dot segments, no characters that would change the meaning of the portal URL. */
static int channel_path_ok(const char *s)
{
    size_t len = strlen(s);
    if (*s == '/') {
        s++;
        len--;
    }
    if (len > 0 && s[len - 1] == '/')
        len--;
    const char *seg = s, *end = s + len;
    if (len == 0)
        return 0;
    for (const char *p = s;; p++) {
        if (p == end || *p == '/') {
            size_t n = (size_t)(p - seg);
            if (n == 0 || (n == 1 && seg[0] == '.') || (n == 2 && seg[0] == '.' && seg[1] == '.'))
                return 0;
            if (p == end)
                return 1;
            seg = p + 1;
        } else if ((unsigned char)*p <= 0x20 || *p == 0x7f || strchr("?#%\\\"<>", *p)) {
            return 0;
        }
    }
}

/* The first invalid field of a POST /v1/items body (its name in *field), or 0 when valid. */
static int validate(json_t *doc, const char **field, const char **detail)
{
    json_t *v;
    size_t i;
#define BAD(f, d)                                                                                  \
    do {                                                                                           \
        *field = (f);                                                                              \
        *detail = (d);                                                                             \
        return -1;                                                                                 \
    } while (0)

    if (!nonempty_string(json_object_get(doc, "item_id")))
        BAD("item_id", "required, a non-empty string");
    v = json_object_get(doc, "revision");
    if (!json_is_integer(v) || json_integer_value(v) < 1)
        BAD("revision", "required, a positive integer");
    const char *cat = json_string_value(json_object_get(doc, "category"));
    for (i = 0; cat && categories[i] && strcmp(categories[i], cat) != 0; i++)
        ;
    if (!cat || !categories[i])
        BAD("category", "one of policy_doc, interpretation, press_notice, gazette, notice");
    v = json_object_get(doc, "title");
    if (!nonempty_string(v))
        BAD("title", "required, a non-empty string");
    if (utf8_chars(json_string_value(v)) > TITLE_MAX)
        BAD("title", "at most 200 characters");
    if (!nonempty_string(json_object_get(doc, "body_html")))
        BAD("body_html", "required, a non-empty string");
    v = json_object_get(doc, "channel_path");
    if (!nonempty_string(v))
        BAD("channel_path", "required, a non-empty string");
    if (!channel_path_ok(json_string_value(v)))
        BAD("channel_path", "segments separated by /, no empty, . or .. segments");

    static const char *const strings[] = {"doc_number", "issuer", NULL};
    for (i = 0; strings[i]; i++) {
        v = json_object_get(doc, strings[i]);
        if (v && !json_is_null(v) && !json_is_string(v))
            BAD(strings[i], "a string");
    }
    v = json_object_get(doc, "issued_date");
    if (v && !json_is_null(v) &&
        (!json_is_string(v) || !is_date(json_string_value(v)) || json_string_length(v) != 10))
        BAD("issued_date", "a date YYYY-MM-DD");
    v = json_object_get(doc, "publish_at");
    if (v && !json_is_null(v) && (!json_is_string(v) || !is_datetime(json_string_value(v))))
        BAD("publish_at", "an RFC 3339 date-time with an offset");
    v = json_object_get(doc, "attachments");
    if (v && !json_is_null(v) && !json_is_array(v))
        BAD("attachments", "an array");
    json_t *a;
    json_array_foreach (v, i, a) {
        const char *url = json_string_value(json_object_get(a, "url"));
        const char *sha = json_string_value(json_object_get(a, "sha256"));
        if (!json_is_object(a) || !nonempty_string(json_object_get(a, "name")))
            BAD("attachments", "each {name, url, sha256}: name missing");
        if (!url || (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0))
            BAD("attachments", "each {name, url, sha256}: url must be http(s)");
        if (!sha || !is_sha256_hex(sha))
            BAD("attachments", "each {name, url, sha256}: sha256 must be 64 hex digits");
    }
    v = json_object_get(doc, "related_item_ids");
    if (v && !json_is_null(v) && !json_is_array(v))
        BAD("related_item_ids", "an array of item ids");
    json_array_foreach (v, i, a) {
        if (!nonempty_string(a))
            BAD("related_item_ids", "an array of non-empty strings");
    }
    return 0;
#undef BAD
}

/* The portal's URL of a document. A real CMS gives every column an ASCII code of its own (the
 * district portal's are like www.yuexiu.gov.cn/zwgk/zfwj/content/post_7946462.html): ASCII
 * segments of the 栏目 path are kept, others become "c" + 8 hex digits of their SHA-256. */
static char *portal_url(struct website *ws, const char *channel_path, json_int_t doc_id)
{
    size_t cap = strlen(channel_path) * 2 + 16, o = 0;
    char *out = malloc(cap);
    if (!out)
        return NULL;
    const char *p = channel_path;
    while (*p) {
        while (*p == '/')
            p++;
        size_t n = strcspn(p, "/");
        if (n == 0)
            break;
        int ascii = 1;
        for (size_t i = 0; i < n; i++)
            ascii &= (p[i] >= 'a' && p[i] <= 'z') || (p[i] >= 'A' && p[i] <= 'Z') ||
                     (p[i] >= '0' && p[i] <= '9') || p[i] == '-' || p[i] == '_';
        if (o)
            out[o++] = '/';
        if (ascii) {
            memcpy(out + o, p, n);
            o += n;
        } else {
            char hex[65];
            hd_sim_sha256_hex(p, n, hex);
            o += (size_t)snprintf(out + o, cap - o, "c%.8s", hex);
        }
        p += n;
    }
    out[o] = '\0';
    char *url = hd_asprintf("%s/%s/content/post_%" JSON_INTEGER_FORMAT ".html", ws->portal_base,
                            out, doc_id);
    free(out);
    return url;
}

static int signature_ok(struct website *ws, struct hd_sim_req *r)
{
    size_t len;
    const char *raw = hd_sim_req_body(r, &len);
    const char *ts = hd_sim_req_header(r, "X-Gov-Timestamp");
    const char *sig = hd_sim_req_header(r, "X-Gov-Signature");
    if (!ts || !*ts || strlen(ts) > 18 || strspn(ts, "0123456789") != strlen(ts) ||
        hd_sim_verify_v1(ws->secret, ts, raw, len, sig) != 0) {
        reply_error(r, 401, "bad_signature");
        return 0;
    }
    int64_t age = hd_sim_now_ms(ws->sim) / 1000 - strtoll(ts, NULL, 10);
    if (age > ws->tolerance_s || -age > ws->tolerance_s) {
        reply_error(r, 401, "stale_timestamp");
        return 0;
    }
    return 1;
}

static void post_item(struct website *ws, struct hd_sim_req *r, const char *key, json_t *doc)
{
    const char *item_id = json_string_value(json_object_get(doc, "item_id"));
    json_int_t revision = json_integer_value(json_object_get(doc, "revision"));
    const char *channel_path = json_string_value(json_object_get(doc, "channel_path"));
    json_t *rec = json_object_get(ws->docs, item_id);
    json_int_t doc_id;
    int64_t now = hd_sim_now_ms(ws->sim);
    char hash[65];
    size_t len;
    const char *raw = hd_sim_req_body(r, &len);

    hd_sim_sha256_hex(raw, len, hash);
    if (rec) {
        json_int_t stored = json_integer_value(json_object_get(rec, "revision"));
        if (revision < stored) {
            hd_sim_idem_reply(
                ws->idem, r, key, 409,
                json_pack("{s:s,s:I}", "error", "stale_revision", "revision", stored));
            return;
        }
        if (revision == stored) {
            hd_sim_duplicate(r, key); /* that revision is published already */
            hd_sim_idem_reply(
                ws->idem, r, key, 409,
                json_pack("{s:s,s:I}", "error", "revision_exists", "revision", stored));
            return;
        }
        doc_id = json_integer_value(json_object_get(rec, "cms_doc_id"));
    } else {
        doc_id = ws->next_doc_id++;
    }
    char *url = portal_url(ws, channel_path, doc_id);
    if (!url) {
        reply_error(r, 500, "out_of_memory");
        return;
    }
    json_t *stored =
        json_pack("{s:s,s:I,s:I,s:s,s:I,s:I,s:s,s:s,s:O}", "item_id", item_id, "revision", revision,
                  "cms_doc_id", doc_id, "portal_url", url, "created_at",
                  rec ? json_integer_value(json_object_get(rec, "created_at")) : (json_int_t)now,
                  "updated_at", (json_int_t)now, "idempotency_key", key, "body_sha256", hash,
                  "document", doc);
    json_object_set_new(ws->docs, item_id, stored);
    hd_sim_applied(r, key);
    if (rec)
        hd_sim_idem_reply(
            ws->idem, r, key, 200,
            json_pack("{s:s,s:I,s:b}", "portal_url", url, "cms_doc_id", doc_id, "updated", 1));
    else
        hd_sim_idem_reply(ws->idem, r, key, 201,
                          json_pack("{s:s,s:I}", "portal_url", url, "cms_doc_id", doc_id));
    free(url);
}

static void delete_item(struct website *ws, struct hd_sim_req *r, const char *key,
                        const char *item_id)
{
    if (!json_object_get(ws->docs, item_id)) {
        hd_sim_idem_reply(ws->idem, r, key, 404, json_pack("{s:s}", "error", "not_found"));
        return;
    }
    json_object_del(ws->docs, item_id);
    hd_sim_applied(r, key);
    hd_sim_idem_reply(ws->idem, r, key, 200, json_pack("{s:b}", "deleted", 1));
}

static void handle(void *state, struct hd_sim_req *r)
{
    struct website *ws = state;
    const char *method = hd_sim_req_method(r), *path = hd_sim_req_path(r);
    const char *item_id = NULL;
    int is_post = 0;

    if (strcmp(path, "/v1/items") == 0 || strcmp(path, "/v1/items/") == 0) {
        if (strcmp(method, "POST") != 0) {
            hd_sim_reply_header(r, "Allow", "POST");
            reply_error(r, 405, "method_not_allowed");
            return;
        }
        is_post = 1;
    } else if (strncmp(path, "/v1/items/", 10) == 0) {
        item_id = path + 10;
        if (strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0) {
            json_t *rec = json_object_get(ws->docs, item_id);
            if (rec)
                hd_sim_reply_json(r, 200, json_incref(rec));
            else
                reply_error(r, 404, "not_found");
            return;
        }
        if (strcmp(method, "DELETE") != 0) {
            hd_sim_reply_header(r, "Allow", "GET, DELETE");
            reply_error(r, 405, "method_not_allowed");
            return;
        }
    } else {
        reply_error(r, 404, "not_found");
        return;
    }

    if (!hd_sim_req_content_type_is(r, "application/json")) {
        reply_error(r, 415, "unsupported_media_type");
        return;
    }
    if (!signature_ok(ws, r))
        return;
    const char *key = hd_sim_req_header(r, "Idempotency-Key");
    if (hd_sim_idem_key_ok(key) != 0) {
        reply_validation(r, "Idempotency-Key", "required, 1 to 255 printable ASCII characters");
        return;
    }
    if (hd_sim_idem_begin(ws->idem, r, key))
        return;

    size_t len;
    const char *raw = hd_sim_req_body(r, &len);
    json_error_t jerr;
    json_t *doc = json_loadb(raw, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(doc)) {
        reply_validation(r, "body", doc ? "a JSON object" : jerr.text);
    } else if (is_post) {
        const char *field, *detail;
        if (validate(doc, &field, &detail) < 0)
            reply_validation(r, field, detail);
        else
            post_item(ws, r, key, doc);
    } else {
        if (!nonempty_string(json_object_get(doc, "reason")))
            reply_validation(r, "reason", "required, a non-empty string");
        else
            delete_item(ws, r, key, item_id);
    }
    json_decref(doc);
}

static void destroy(void *state)
{
    struct website *ws = state;
    if (!ws)
        return;
    hd_sim_idem_destroy(ws->idem);
    json_decref(ws->docs);
    free(ws->secret);
    free(ws->portal_base);
    free(ws);
}

static int init(struct hd_sim *sim, const json_t *conf, void **state)
{
    static const char *const known[] = {"secret", "portal_base", "tolerance_s", "key_ttl_s", NULL};
    json_t *secret = json_object_get(conf, "secret"), *base = json_object_get(conf, "portal_base");
    json_t *tol = json_object_get(conf, "tolerance_s"), *ttl = json_object_get(conf, "key_ttl_s");
    struct website *ws;

    if (hd_sim_conf_check_keys(sim, conf, known) < 0)
        return HD_EINVAL;
    if (!nonempty_string(secret)) {
        hd_sim_log_error(sim, "config: \"secret\" (a non-empty string) is required");
        return HD_EINVAL;
    }
    if (base && (!json_is_string(base) || (strncmp(json_string_value(base), "http://", 7) != 0 &&
                                           strncmp(json_string_value(base), "https://", 8) != 0))) {
        hd_sim_log_error(sim, "config: \"portal_base\" must be an http(s) URL");
        return HD_EINVAL;
    }
    if ((tol && (!json_is_integer(tol) || json_integer_value(tol) < 1)) ||
        (ttl && (!json_is_integer(ttl) || json_integer_value(ttl) < 1))) {
        hd_sim_log_error(sim, "config: tolerance_s and key_ttl_s must be integers >= 1");
        return HD_EINVAL;
    }
    ws = calloc(1, sizeof(*ws));
    if (!ws)
        return HD_ENOMEM;
    ws->sim = sim;
    ws->secret = strdup(json_string_value(secret));
    ws->portal_base = strdup(base ? json_string_value(base) : "https://www.yuexiu.gov.cn");
    if (ws->portal_base) {
        size_t n = strlen(ws->portal_base);
        while (n > 0 && ws->portal_base[n - 1] == '/')
            ws->portal_base[--n] = '\0';
    }
    ws->tolerance_s = tol ? json_integer_value(tol) : 300;
    ws->idem = hd_sim_idem_create(sim, (ttl ? json_integer_value(ttl) : 86400) * 1000, 200);
    ws->docs = json_object();
    ws->next_doc_id = FIRST_DOC_ID;
    if (!ws->secret || !ws->portal_base || !ws->idem || !ws->docs) {
        destroy(ws);
        return HD_ENOMEM;
    }
    *state = ws;
    return 0;
}

static void reset(void *state)
{
    struct website *ws = state;
    hd_sim_idem_clear(ws->idem);
    json_object_clear(ws->docs);
    ws->next_doc_id = FIRST_DOC_ID;
}

static json_t *inspect(void *state)
{
    struct website *ws = state;
    return json_pack("{s:O,s:I}", "documents", ws->docs, "next_cms_doc_id", ws->next_doc_id);
}

const struct hd_sim_def hd_sim_website = {
    .name = "website",
    .description = "district portal CMS gateway (CHANNELS.md §3.3)",
    .init = init,
    .destroy = destroy,
    .reset = reset,
    .handle = handle,
    .inspect = inspect,
};
