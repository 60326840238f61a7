/*
 * smsbulletin: a herald channel adapter for the district's 政务手机报 (SMS bulletin), built out
 * of tree against the installed SDK (<herald/channel.h>, <herald/services.h>, herald-adapter.pc)
 * and loaded by heraldd from daemon.plugin_dir. docs/ADAPTERS.md walks through this file.
 *
 * The platform: an SMS gateway. One JSON POST to <url>/v1/bulletins sends a text to every
 * subscriber of a list; the gateway answers {"code":0,"batch_id":"..."}. The text must start with
 * the account's registered signature (【...】). Its length is counted the way handsets encode
 * Chinese SMS (UCS-2: one unit per character, two for a character outside the BMP such as an
 * emoji): up to 70 units is one message; a longer text goes as concatenated messages of 67
 * units each (3 units carry the joining header), and the request says how many ("segments").
 * Requests are signed (X-Sms-Signature: hex HMAC-SHA256 over "<timestamp>\n<body>") and carry a
 * request_id; the gateway answers a repeated request_id with the first answer, so resending is
 * safe: the adapter is idempotent and needs no reconcile(). An SMS cannot be recalled: no
 * retract().
 *
 * What the gateway says -> outcome (docs/ADAPTERS.md has the general rules):
 *   2xx, code 0                          delivered (remote_id = batch_id)
 *   401, or code 1001/1002               needs_operator (bad key, account suspended)
 *   400 with code 2001/2002/2003         rejected (signature, length, forbidden words)
 *   429 (Retry-After)                    retry_after
 *   408, 5xx                             retry
 *   other statuses                       rejected
 *   no answer after sending              unknown (herald resends with the same request_id)
 *   could not connect                    retry
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include <herald/channel.h>
#include <herald/services.h>

#define SINGLE_UNITS  70 /* one message */
#define SEGMENT_UNITS 67 /* each part of a concatenated message */

struct sms {
    struct hd_instance *inst;
    const struct hd_services *svc; /* borrowed until destroy() */
    const char *url, *account, *list, *signature;
    const char *key; /* api_key's bytes: never logged */
    size_t key_len;
    int max_segments, truncate, link;
};

/* One request in flight; op->adapter_data points here until the op completes. */
struct call {
    struct sms *s;
    struct hd_op *op;
    struct hd_http_call *http;
};

static const struct hd_conf_key keys[] = {
    {"url", HD_CONF_URL, NULL, 1, 0, 0, NULL,
     "Base URL of the SMS gateway; the adapter POSTs to <url>/v1/bulletins."},
    {"account", HD_CONF_STRING, NULL, 1, 1, 64, NULL, "The gateway account (X-Sms-Account)."},
    {"api_key", HD_CONF_SECRET, NULL, 1, 0, 0, NULL,
     "HMAC-SHA256 key of X-Sms-Signature (file:/path or credential:NAME)."},
    {"list", HD_CONF_STRING, NULL, 1, 1, 64, NULL,
     "Subscriber list the bulletin goes to, e.g. yuexiu-all or yuexiu-emergency."},
    {"signature", HD_CONF_STRING, "【越秀政务】", 0, 8, 64, NULL,
     "The SMS signature registered for the account, 【...】; every message starts with it."},
    {"max_segments", HD_CONF_INT, "3", 0, 1, 10, NULL,
     "Longest bulletin, in messages (one of 70 units, or 67 units each when joined)."},
    {"overlong", HD_CONF_ENUM, "truncate", 0, 0, 0, "truncate|reject",
     "A text longer than max_segments: cut the summary with an ellipsis, or fail."},
    {"link", HD_CONF_BOOL, "true", 0, 0, 0, NULL,
     "Append the portal article's URL (a depends_on result) when there is one."},
    {NULL, 0, NULL, 0, 0, 0, NULL, NULL},
};

/* ---- lifecycle ------------------------------------------------------------------------------- */

static int create(struct hd_instance *inst, const struct hd_services *svc, void **state, char *err,
                  size_t errlen)
{
    struct sms *s = calloc(1, sizeof(*s));
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    s->inst = inst;
    s->svc = svc;
    s->url = svc->conf_str(inst, "url"); /* valid until destroy() */
    s->account = svc->conf_str(inst, "account");
    s->list = svc->conf_str(inst, "list");
    s->signature = svc->conf_str(inst, "signature");
    s->key = svc->conf_secret(inst, "api_key", &s->key_len);
    s->max_segments = (int)svc->conf_int(inst, "max_segments");
    s->truncate = strcmp(svc->conf_str(inst, "overlong"), "truncate") == 0;
    s->link = svc->conf_bool(inst, "link");
    /* what the key table cannot say: a signature is 【...】 */
    size_t n = strlen(s->signature);
    if (strncmp(s->signature, "【", 3) != 0 || n < 6 || strcmp(s->signature + n - 3, "】") != 0) {
        snprintf(err, errlen, "signature: write it as registered, e.g. 【越秀政务】");
        free(s);
        return -1;
    }
    *state = s;
    return 0;
}

static void destroy(void *state)
{
    free(state); /* no timers, and no request outlives its op */
}

/* ---- render (pure: the item, the context and the settings; no clock, no I/O) ------------------
 */

/* UCS-2 units of UTF-8 text: one per character, two beyond the BMP (4-byte sequences). */
static size_t units(const char *s)
{
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if ((*p & 0xC0) != 0x80)
            n += *p >= 0xF0 ? 2 : 1;
    return n;
}

static int segments(size_t u)
{
    return u <= SINGLE_UNITS ? 1 : (int)((u + SEGMENT_UNITS - 1) / SEGMENT_UNITS);
}

/* Runs of white space (line breaks included) as one space: an SMS is one paragraph. */
static void squeeze(char *s)
{
    char *w = s;
    int space = 0;
    for (char *r = s; *r; r++) {
        if (*r == ' ' || *r == '\n' || *r == '\r' || *r == '\t') {
            space = w != s;
            continue;
        }
        if (space)
            *w++ = ' ';
        space = 0;
        *w++ = *r;
    }
    *w = '\0';
}

/* The longest start of s that takes at most `budget` units, followed by "…". */
static char *cut_units(const char *s, size_t budget)
{
    size_t used = 0, bytes = 0;
    while (s[bytes]) {
        unsigned char lead = (unsigned char)s[bytes];
        size_t len = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
        size_t u = lead >= 0xF0 ? 2 : 1;
        if (used + u > budget)
            break;
        used += u;
        bytes += len;
    }
    char *out = malloc(bytes + sizeof("…"));
    if (out) {
        memcpy(out, s, bytes);
        memcpy(out + bytes, "…", sizeof("…"));
    }
    return out;
}

static char *join(const char *sig, const char *title, const char *body, const char *tail)
{
    size_t n = strlen(sig) + strlen(title) + strlen(body) + strlen(tail) + 8;
    char *t = malloc(n);
    if (t)
        snprintf(t, n, "%s%s%s%s%s", sig, title, *body ? "：" : "", body, tail);
    return t;
}

static int render(void *state, const struct hd_item *it, const struct hd_render_ctx *rc,
                  struct hd_payload *out, char *err, size_t errlen)
{
    struct sms *s = state;
    const struct hd_services *svc = s->svc;
    char tail[600] = "";
    if (s->link && rc->n_deps > 0 && rc->deps[0].url)
        snprintf(tail, sizeof(tail), " 详见%s", rc->deps[0].url);
    /* the summary when there is one, else the body as text */
    char *body = it->summary && *it->summary ? strdup(it->summary)
                 : it->body_text             ? strdup(it->body_text)
                                             : svc->html_to_text(it->body_html);
    char *title = strdup(it->title ? it->title : "");
    char *text = NULL, *cut = NULL;
    json_t *doc = NULL;
    int rcode = HD_RENDER_REJECT;
    if (!body || !title)
        goto done;
    squeeze(body);
    squeeze(title);
    size_t limit = (size_t)s->max_segments * SEGMENT_UNITS;
    if (s->max_segments == 1)
        limit = SINGLE_UNITS;
    text = join(s->signature, title, body, tail);
    if (text && units(text) > limit) {
        if (!s->truncate) {
            snprintf(err, errlen, "%zu units, more than %d message(s) allow (%zu)", units(text),
                     s->max_segments, limit);
            goto done;
        }
        /* shorten the body, on a character boundary, with an ellipsis (1 unit) */
        size_t fixed = units(s->signature) + units(title) + units("：") + units(tail) + 1;
        if (fixed >= limit) {
            snprintf(err, errlen, "signature, title and link alone take %zu of %zu units", fixed,
                     limit);
            goto done;
        }
        cut = cut_units(body, limit - fixed);
        free(text);
        text = cut ? join(s->signature, title, cut, tail) : NULL;
    }
    if (!text)
        goto done;
    doc = json_pack("{s:s, s:s, s:s, s:i, s:s, s:b}", "account", s->account, "list", s->list,
                    "content", text, "segments", segments(units(text)), "request_id",
                    rc->idempotency_key, "urgent", it->urgent);
    out->data = doc ? json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    if (!out->data) {
        snprintf(err, errlen, "cannot build the request");
        goto done;
    }
    out->len = strlen(out->data);
    snprintf(out->content_type, sizeof(out->content_type), "application/json; charset=utf-8");
    /* summary[160] is bytes: 35 characters of at most 4 bytes always fit, whole */
    char *line = svc->utf8_truncate(text, 35, "…");
    snprintf(out->summary, sizeof(out->summary), "%d msg: %s", segments(units(text)),
             line ? line : "");
    free(line);
    rcode = HD_RENDER_OK;
done:
    json_decref(doc);
    free(text);
    free(cut);
    free(title);
    free(body);
    return rcode;
}

/* ---- send ---------------------------------------------------------------------------------- */

static void finish(struct call *c, enum hd_outcome_kind kind, const char *reason,
                   const char *detail, int status, const char *code, const char *batch,
                   int64_t at_ms)
{
    struct hd_outcome o = {.kind = kind,
                           .reason = reason,
                           .detail = detail,
                           .http_status = status,
                           .platform_code = code,
                           .remote_id = batch,
                           .at_ms = at_ms};
    c->op->adapter_data = NULL;
    c->s->svc->complete(c->op, &o); /* copies the strings: ours stay ours */
    free(c);
}

static void on_response(void *arg, const struct hd_http_resp *r)
{
    struct call *c = arg;
    const struct hd_services *svc = c->s->svc;
    char detail[300], code[16] = "";
    if (r->error != HD_HTTP_OK) {
        snprintf(detail, sizeof(detail), "%s", r->error_text ? r->error_text : "transport error");
        if (r->error == HD_HTTP_CANCELLED)
            finish(c, r->request_sent ? HD_OUT_UNKNOWN : HD_OUT_CANCELLED, "cancelled", detail, 0,
                   NULL, NULL, 0);
        else if (r->request_sent) /* the gateway may have sent it: same request_id next time */
            finish(c, HD_OUT_UNKNOWN, r->error == HD_HTTP_TIMEOUT ? "timeout" : "http_lost", detail,
                   0, NULL, NULL, 0);
        else
            finish(c, HD_OUT_RETRY, "connect", detail, 0, NULL, NULL, 0);
        return;
    }
    json_t *j = json_loads(r->body, 0, NULL);
    json_t *jc = json_object_get(j, "code");
    const char *batch = json_string_value(json_object_get(j, "batch_id"));
    const char *msg = json_string_value(json_object_get(j, "message"));
    if (json_is_integer(jc))
        snprintf(code, sizeof(code), "%lld", (long long)json_integer_value(jc));
    snprintf(detail, sizeof(detail), "HTTP %d, code %s: %.200s", r->status, code[0] ? code : "-",
             msg ? msg : "");
    long lc = json_is_integer(jc) ? (long)json_integer_value(jc) : -1;
    if (r->status == 401 || lc == 1001 || lc == 1002)
        finish(c, HD_OUT_NEEDS_OPERATOR, lc == 1002 ? "account_suspended" : "bad_key", detail,
               r->status, code, NULL, 0);
    else if (lc >= 2001 && lc <= 2003)
        finish(c, HD_OUT_REJECTED,
               lc == 2001   ? "bad_signature_text"
               : lc == 2002 ? "too_long"
                            : "forbidden_words",
               detail, r->status, code, NULL, 0);
    else if (r->status / 100 == 2 && lc == 0 && batch)
        finish(c, HD_OUT_DELIVERED, "sent", NULL, r->status, code, batch, 0);
    else if (r->status / 100 == 2) /* an answer we cannot read: it may have been sent */
        finish(c, HD_OUT_UNKNOWN, "bad_answer", detail, r->status, code, NULL, 0);
    else if (r->status == 429)
        finish(c, HD_OUT_RETRY_AFTER, "rate_limited", detail, r->status, code, NULL,
               svc->retry_after_ms(r) > 0 ? svc->retry_after_ms(r) : svc->now_ms() + 60000);
    else if (r->status == 408 || r->status >= 500)
        finish(c, HD_OUT_RETRY, "gateway_unavailable", detail, r->status, code, NULL, 0);
    else
        finish(c, HD_OUT_REJECTED, "refused", detail, r->status, code, NULL, 0);
    json_decref(j);
}

static int send_op(void *state, struct hd_op *op)
{
    struct sms *s = state;
    const struct hd_services *svc = s->svc;
    if (!op->payload || !op->payload->data)
        return -1;
    /* signed bytes: "<timestamp>\n<body>" */
    char ts[24], hmac[65], url[2048];
    snprintf(ts, sizeof(ts), "%lld", (long long)(svc->now_ms() / 1000));
    size_t mlen = strlen(ts) + 1 + op->payload->len;
    char *msg = malloc(mlen);
    if (!msg)
        return -1;
    memcpy(msg, ts, strlen(ts));
    msg[strlen(ts)] = '\n';
    memcpy(msg + strlen(ts) + 1, op->payload->data, op->payload->len);
    svc->hmac_sha256_hex(s->key, s->key_len, msg, mlen, hmac);
    free(msg);
    char h_acc[128], h_ts[64], h_sig[100];
    snprintf(h_acc, sizeof(h_acc), "X-Sms-Account: %s", s->account);
    snprintf(h_ts, sizeof(h_ts), "X-Sms-Timestamp: %s", ts);
    snprintf(h_sig, sizeof(h_sig), "X-Sms-Signature: %s", hmac);
    const char *hdrs[] = {"Content-Type: application/json; charset=utf-8", h_acc, h_ts, h_sig};
    snprintf(url, sizeof(url), "%s/v1/bulletins", s->url);
    struct hd_http_req req = {.struct_size = sizeof(req),
                              .method = "POST",
                              .url = url,
                              .headers = hdrs,
                              .n_headers = 4,
                              .body = op->payload->data,
                              .body_len = op->payload->len};
    struct call *c = calloc(1, sizeof(*c));
    if (!c)
        return -1;
    c->s = s;
    c->op = op;
    op->adapter_data = c;
    /* the answer comes later, through on_response: never complete() in here */
    if (svc->http_request(s->inst, &req, on_response, c, &c->http) != 0) {
        op->adapter_data = NULL;
        free(c);
        return -1; /* not taken: the core retries it */
    }
    return 0;
}

static void cancel(void *state, struct hd_op *op)
{
    struct sms *s = state;
    struct call *c = op->adapter_data;
    if (c && c->http)
        s->svc->http_cancel(c->http); /* on_response runs once more, with HD_HTTP_CANCELLED */
}

static const struct hd_channel channel = {
    .abi_version = HD_ABI_VERSION,
    .struct_size = sizeof(struct hd_channel),
    .build_signature = HD_BUILD_SIGNATURE,
    .name = "smsbulletin",
    .description = "政务手机报: SMS bulletins through a signed JSON gateway (70/67-unit segments)",
    .version = "1.0",
    .caps = HD_CAP_IDEMPOTENT,
    .default_on_revision = HD_REV_IGNORE, /* a text message cannot be edited or recalled */
    .keys = keys,
    .create = create,
    .destroy = destroy,
    .render = render,
    .send = send_op,
    .cancel = cancel,
};

/* The one exported symbol (everything else is static, and the .so is built with hidden
 * visibility). */
HD_CHANNEL_EXPORT(channel)
