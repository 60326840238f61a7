/*
 * The admin JSON API's front: the route table (every /api/v1 route, its method and the least
 * role it needs), path and query decoding, JSON bodies, error replies and the small helpers the
 * route files share (times in daemon.timezone, paging cursors). Nothing here touches the store;
 * reads go to the reader thread (api_reader.c), actions to api_actions.c.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <sys/queue.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <openssl/evp.h>

#include "api.h"
#include "common.h"
#include "daemon.h"
#include "item.h"
#include "store.h"
#include "text.h"

#define BODY_MAX (64 * 1024)

struct hd_api {
    struct hd_daemon *d;
    struct hd_api_reader *rd;
    int64_t started_ms;
};

static const char *const role_names[HD_ROLE_MAX] = {"none", "viewer", "operator", "admin"};

const char *hd_role_name(enum hd_role r)
{
    return (unsigned)r < HD_ROLE_MAX ? role_names[r] : "none";
}

enum hd_role hd_role_parse(const char *name)
{
    for (int i = HD_ROLE_VIEWER; name && i < HD_ROLE_MAX; i++)
        if (strcmp(name, role_names[i]) == 0)
            return (enum hd_role)i;
    return HD_ROLE_NONE;
}

struct hd_daemon *hd_api_daemon(struct hd_api *api)
{
    return api->d;
}

int64_t hd_api_started_ms(const struct hd_api *api)
{
    return api->started_ms;
}

struct hd_api_reader *hd_api_reader(struct hd_api *api)
{
    return api->rd;
}

/* ---- replies ------------------------------------------------------------------------------- */

void hd_api_reply_raw(struct evhttp_request *req, int code, const char *ctype, const char *data,
                      size_t len)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    struct evbuffer *b = evbuffer_new();
    evhttp_add_header(h, "Content-Type", ctype);
    evhttp_add_header(h, "Cache-Control", "no-store");
    evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
    if (b)
        evbuffer_add(b, data, len);
    evhttp_send_reply(req, code, NULL, b);
    if (b)
        evbuffer_free(b);
}

void hd_api_reply_json(struct evhttp_request *req, int code, json_t *body)
{
    char *text = json_dumps(body ? body : json_object(), JSON_COMPACT);
    json_decref(body);
    if (!text) {
        static const char oom[] = "{\"error\":\"internal\",\"message\":\"out of memory\"}";
        hd_api_reply_raw(req, 500, "application/json", oom, sizeof(oom) - 1);
        return;
    }
    hd_api_reply_raw(req, code, "application/json", text, strlen(text));
    free(text);
}

json_t *hd_api_str(const char *s, size_t len)
{
    if (hd_utf8_valid(s, len))
        return json_stringn(s, len);
    char *out = malloc(len * 3 + 1);
    if (!out)
        return NULL;
    size_t j = 0;
    for (size_t i = 0; i < len;) {
        size_t n = 1;
        unsigned char c = (unsigned char)s[i];
        if (c >= 0xc0)
            n = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
        if (i + n <= len && hd_utf8_valid(s + i, n)) {
            memcpy(out + j, s + i, n);
            j += n;
            i += n;
        } else {
            memcpy(out + j, "\xef\xbf\xbd", 3);
            j += 3;
            i++;
        }
    }
    json_t *v = json_stringn(out, j);
    free(out);
    return v;
}

void hd_api_error(struct evhttp_request *req, int code, const char *code_name, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    json_t *e = json_object();
    json_object_set_new(e, "error", json_string(code_name));
    json_object_set_new(e, "message", hd_api_str(msg, strlen(msg)));
    if (code == 401)
        evhttp_add_header(evhttp_request_get_output_headers(req), "WWW-Authenticate",
                          "Bearer realm=\"herald\"");
    hd_api_reply_json(req, code, e);
}

int hd_api_status_of(int rc, const char **code_name)
{
    switch (rc) {
    case 0:
        *code_name = "ok";
        return 200;
    case HD_EINVAL:
        *code_name = "bad_request";
        return 400;
    case HD_ENOTFOUND:
        *code_name = "not_found";
        return 404;
    case HD_EEXIST:
    case HD_ESTATE:
    case HD_EBUSY:
        *code_name = "conflict";
        return 409;
    case HD_EFULL:
        *code_name = "store_full";
        return 507;
    default:
        *code_name = "internal";
        return 500;
    }
}

/* ---- times and cursors ----------------------------------------------------------------------- */

void hd_api_time(int64_t epoch_ms, char out[40])
{
    time_t secs = (time_t)(epoch_ms >= 0 ? epoch_ms / 1000 : (epoch_ms - 999) / 1000);
    int ms = (int)(epoch_ms - (int64_t)secs * 1000);
    struct tm tm;
    if (!localtime_r(&secs, &tm)) {
        hd_time_format_rfc3339(epoch_ms, out);
        return;
    }
    char base[32];
    strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
    int off = (int)(tm.tm_gmtoff / 60) % (24 * 60);
    if (off == 0)
        snprintf(out, 40, "%.24s.%03dZ", base, ms % 1000);
    else
        snprintf(out, 40, "%.24s.%03d%c%02d:%02d", base, ms % 1000, off < 0 ? '-' : '+',
                 abs(off) / 60, abs(off) % 60);
}

json_t *hd_api_time_json(int64_t epoch_ms)
{
    if (!epoch_ms)
        return json_null();
    char t[40];
    hd_api_time(epoch_ms, t);
    return json_string(t);
}

int64_t hd_api_local_midnight(int year, int month, int day)
{
    struct tm tm = {.tm_year = year - 1900, .tm_mon = month - 1, .tm_mday = day, .tm_isdst = -1};
    return (int64_t)mktime(&tm) * 1000;
}

static char *b64url(const unsigned char *p, size_t n)
{
    char *out = malloc(4 * ((n + 2) / 3) + 1);
    if (!out)
        return NULL;
    int len = EVP_EncodeBlock((unsigned char *)out, p, (int)n);
    while (len > 0 && out[len - 1] == '=')
        len--;
    out[len] = '\0';
    for (int i = 0; i < len; i++)
        out[i] = out[i] == '+' ? '-' : out[i] == '/' ? '_' : out[i];
    return out;
}

char *hd_api_cursor_make(json_t *values)
{
    char *text = json_dumps(values, JSON_COMPACT);
    json_decref(values);
    if (!text)
        return NULL;
    char *c = b64url((const unsigned char *)text, strlen(text));
    free(text);
    return c;
}

json_t *hd_api_cursor_json(json_t *values)
{
    char *c = hd_api_cursor_make(values);
    json_t *v = c ? json_string(c) : json_null();
    free(c);
    return v;
}

json_t *hd_api_cursor_parse(const char *text)
{
    size_t n = strlen(text);
    if (n == 0 || n > 1024)
        return NULL;
    char *s = malloc(n + 4);
    unsigned char *raw = malloc(n + 4);
    json_t *v = NULL;
    if (!s || !raw)
        goto out;
    for (size_t i = 0; i < n; i++) {
        char c = text[i];
        if (!(isalnum((unsigned char)c) || c == '-' || c == '_'))
            goto out;
        s[i] = c == '-' ? '+' : c == '_' ? '/' : c;
    }
    while (n % 4)
        s[n++] = '=';
    s[n] = '\0';
    int len = EVP_DecodeBlock(raw, (unsigned char *)s, (int)n);
    if (len < 0)
        goto out;
    while (len > 0 && raw[len - 1] == '\0') /* EVP_DecodeBlock counts the padding */
        len--;
    v = json_loadb((const char *)raw, (size_t)len, JSON_REJECT_DUPLICATES, NULL);
    if (v && !json_is_array(v)) {
        json_decref(v);
        v = NULL;
    }
out:
    free(s);
    free(raw);
    return v;
}

/* ---- parameters and bodies ------------------------------------------------------------------- */

int hd_api_query_only(struct hd_api_req *r, const char *const *allowed)
{
    struct evkeyval *kv;
    TAILQ_FOREACH (kv, &r->query, next) {
        int ok = 0;
        for (const char *const *a = allowed; a && *a && !ok; a++)
            ok = strcmp(kv->key, *a) == 0;
        if (!ok) {
            hd_api_error(r->req, 400, "unknown_parameter", "unknown query parameter '%.60s'",
                         kv->key);
            return -1;
        }
    }
    return 0;
}

const char *hd_api_param(struct hd_api_req *r, const char *name)
{
    const char *v = evhttp_find_header(&r->query, name);
    return v && *v ? v : NULL;
}

int hd_api_param_int(struct hd_api_req *r, const char *name, int64_t lo, int64_t hi, int64_t dflt,
                     int64_t *out)
{
    const char *v = hd_api_param(r, name);
    *out = dflt;
    if (!v)
        return 0;
    char *end;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    if (errno || *end || end == v || n < lo || n > hi) {
        hd_api_error(r->req, 400, "bad_parameter", "%s must be an integer from %lld to %lld", name,
                     (long long)lo, (long long)hi);
        return -1;
    }
    *out = n;
    return 0;
}

int hd_api_param_time(struct hd_api_req *r, const char *name, int64_t *out_ms)
{
    const char *v = hd_api_param(r, name);
    *out_ms = 0;
    if (!v)
        return 0;
    int64_t days;
    if (strlen(v) == 10 && hd_date_parse(v, 10, &days, NULL) == 0) {
        *out_ms = hd_api_local_midnight(atoi(v), atoi(v + 5), atoi(v + 8));
        return 0;
    }
    if (hd_time_parse_rfc3339(v, out_ms) == 0)
        return 0;
    hd_api_error(r->req, 400, "bad_parameter",
                 "%s must be a date (YYYY-MM-DD, in the daemon's time zone) or an RFC 3339 time "
                 "with an offset",
                 name);
    return -1;
}

int hd_api_body_only(struct hd_api_req *r, const char *const *allowed, int reason_required)
{
    const char *key;
    json_t *v;
    json_object_foreach (r->body, key, v) {
        int ok = 0;
        for (const char *const *a = allowed; a && *a && !ok; a++)
            ok = strcmp(key, *a) == 0;
        if (!ok) {
            hd_api_error(r->req, 400, "unknown_field", "unknown field '%.60s' in the body", key);
            return -1;
        }
        if (!json_is_string(v)) {
            hd_api_error(r->req, 400, "bad_field", "field '%.60s' must be a string", key);
            return -1;
        }
    }
    /* reasons and names end up in log lines and tables: control characters (a line break
     * typed in a text box) become spaces; a credential's value is left exactly as sent */
    json_object_foreach (r->body, key, v) {
        if (strcmp(key, "value") == 0)
            continue;
        char *t = (char *)json_string_value(v);
        for (size_t i = 0; i < json_string_length(v); i++)
            if ((unsigned char)t[i] < 0x20 || t[i] == 0x7f)
                t[i] = ' ';
    }
    const char *reason = hd_api_body_str(r, "reason");
    if (reason && hd_utf8_len(reason) > 1000) {
        hd_api_error(r->req, 400, "bad_field", "reason is longer than 1000 characters");
        return -1;
    }
    int blank = 1;
    for (const char *c = reason; c && *c && blank; c++)
        blank = *c == ' ';
    if (reason_required && blank) {
        hd_api_error(r->req, 400, "reason_required",
                     "this action needs a reason: send {\"reason\": \"...\"}; it goes to the "
                     "audit log");
        return -1;
    }
    return 0;
}

const char *hd_api_body_str(struct hd_api_req *r, const char *name)
{
    return json_string_value(json_object_get(r->body, name));
}

/* ---- routing --------------------------------------------------------------------------------- */

static void whoami(struct hd_api_req *r)
{
    hd_api_reply_json(r->req, 200,
                      json_pack("{s:s, s:s, s:s}", "name", r->who, "role", hd_role_name(r->role),
                                "version", HERALD_VERSION));
}

struct route {
    int method; /* EVHTTP_REQ_* */
    const char *pattern;
    enum hd_role role;
    void (*fn)(struct hd_api_req *r);
};

#define GET  EVHTTP_REQ_GET
#define POST EVHTTP_REQ_POST
static const struct route routes[] = {
    {GET, "whoami", HD_ROLE_VIEWER, whoami},
    {GET, "status", HD_ROLE_VIEWER, hd_api_status},
    {GET, "items", HD_ROLE_VIEWER, hd_api_items},
    {GET, "items/*", HD_ROLE_VIEWER, hd_api_item},
    {GET, "items/*/versions/*", HD_ROLE_VIEWER, hd_api_item_version},
    {POST, "items/*/retract", HD_ROLE_OPERATOR, hd_api_retract},
    {GET, "deliveries", HD_ROLE_VIEWER, hd_api_deliveries},
    {GET, "deliveries/*", HD_ROLE_VIEWER, hd_api_delivery},
    {POST, "deliveries/*/retry", HD_ROLE_OPERATOR, hd_api_retry},
    {POST, "deliveries/*/cancel", HD_ROLE_OPERATOR, hd_api_cancel},
    {POST, "deliveries/*/release", HD_ROLE_OPERATOR, hd_api_release},
    {POST, "deliveries/*/resolve", HD_ROLE_OPERATOR, hd_api_resolve},
    {GET, "channels", HD_ROLE_VIEWER, hd_api_channels},
    {GET, "channels/*", HD_ROLE_VIEWER, hd_api_channel},
    {POST, "channels/*/pause", HD_ROLE_OPERATOR, hd_api_pause},
    {POST, "channels/*/resume", HD_ROLE_OPERATOR, hd_api_resume},
    {POST, "channels/*/retry-failed", HD_ROLE_OPERATOR, hd_api_retry_failed},
    {POST, "channels/*/unpark", HD_ROLE_OPERATOR, hd_api_unpark},
    {POST, "channels/*/credentials", HD_ROLE_ADMIN, hd_api_credentials},
    {GET, "dead-letters/rejections", HD_ROLE_VIEWER, hd_api_rejections},
    {GET, "dead-letters/rejections/*", HD_ROLE_VIEWER, hd_api_rejection},
    {POST, "dead-letters/rejections/*/replay", HD_ROLE_OPERATOR, hd_api_replay},
    {GET, "dead-letters/deliveries", HD_ROLE_VIEWER, hd_api_deliveries},
    {POST, "dead-letters/deliveries/*/replay", HD_ROLE_OPERATOR, hd_api_retry},
    {GET, "report", HD_ROLE_VIEWER, hd_api_report},
    {GET, "audit", HD_ROLE_VIEWER, hd_api_audit},
};

/* Does the path match a pattern ("items/ * /retract" with one segment per '*')? */
static int matches(const char *pattern, char *const *segs, int nseg)
{
    int i = 0;
    const char *p = pattern;
    while (*p) {
        const char *slash = strchr(p, '/');
        size_t len = slash ? (size_t)(slash - p) : strlen(p);
        if (i >= nseg)
            return 0;
        if (!(len == 1 && *p == '*') && (strlen(segs[i]) != len || memcmp(segs[i], p, len) != 0))
            return 0;
        i++;
        p += len + (slash ? 1 : 0);
    }
    return i == nseg;
}

static int split_path(struct hd_api_req *r, const char *path)
{
    const char *p = path;
    while (*p) {
        const char *slash = strchr(p, '/');
        size_t len = slash ? (size_t)(slash - p) : strlen(p);
        if (len == 0 && !slash)
            break;
        if (len == 0 || r->nseg == HD_API_MAX_SEGS)
            return HD_ENOTFOUND;
        char *raw = hd_strndup(p, len);
        size_t dlen = 0;
        char *dec = raw ? evhttp_uridecode(raw, 0, &dlen) : NULL;
        free(raw);
        if (!dec)
            return HD_ENOMEM;
        if (dlen != strlen(dec) || dlen == 0 || !hd_utf8_valid(dec, dlen) || dlen > 512) {
            free(dec);
            return HD_EINVAL;
        }
        r->segs[r->nseg++] = dec;
        p += len + (slash ? 1 : 0);
    }
    return 0;
}

static int read_body(struct hd_api_req *r)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(r->req);
    size_t n = in ? evbuffer_get_length(in) : 0;
    if (n == 0)
        return 0;
    if (n > BODY_MAX) {
        hd_api_error(r->req, 413, "too_large", "the body is larger than %d bytes", BODY_MAX);
        return -1;
    }
    unsigned char *data = evbuffer_pullup(in, (ssize_t)n);
    json_error_t jerr;
    r->body = data ? json_loadb((const char *)data, n, JSON_REJECT_DUPLICATES, &jerr) : NULL;
    /* a body may carry a credential: leave no copy of it in libevent's buffer */
    if (data)
        explicit_bzero(data, n);
    evbuffer_drain(in, n);
    if (!r->body) {
        hd_api_error(r->req, 400, "bad_json", "the body is not valid JSON: %.200s (line %d)",
                     jerr.text, jerr.line);
        return -1;
    }
    if (!json_is_object(r->body)) {
        hd_api_error(r->req, 400, "bad_json", "the body must be a JSON object");
        return -1;
    }
    return 0;
}

/* A credential value in a body is wiped before the body is freed. */
static void wipe_body(json_t *body)
{
    const char *key;
    json_t *v;
    json_object_foreach (body, key, v) {
        if (json_is_string(v))
            explicit_bzero((char *)json_string_value(v), json_string_length(v));
    }
}

void hd_api_handle(struct hd_api *api, struct evhttp_request *req, const char *who,
                   enum hd_role role)
{
    struct hd_api_req r = {.api = api, .req = req, .who = who, .role = role};
    TAILQ_INIT(&r.query);
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
    const char *query = uri ? evhttp_uri_get_query(uri) : NULL;
    r.method = evhttp_request_get_command(req);
    int method = r.method == EVHTTP_REQ_HEAD ? EVHTTP_REQ_GET : (int)r.method;
    if (!path || strncmp(path, "/api/v1/", 8) != 0) {
        hd_api_error(req, 404, "not_found", "unknown API path (this server speaks /api/v1/)");
        goto out;
    }
    int rc = split_path(&r, path + 8);
    if (rc == HD_EINVAL) {
        hd_api_error(req, 400, "bad_path", "a path segment is empty, too long or not UTF-8");
        goto out;
    }
    if (rc == HD_ENOMEM) {
        hd_api_error(req, 500, "internal", "out of memory");
        goto out;
    }
    const struct route *hit = NULL;
    char allow[64] = "";
    for (size_t i = 0; rc == 0 && i < HD_ARRAY_LEN(routes); i++) {
        if (!matches(routes[i].pattern, r.segs, r.nseg))
            continue;
        if (routes[i].method == method) {
            hit = &routes[i];
            break;
        }
        snprintf(allow + strlen(allow), sizeof(allow) - strlen(allow), "%s%s", allow[0] ? ", " : "",
                 routes[i].method == EVHTTP_REQ_GET ? "GET" : "POST");
    }
    if (!hit && allow[0]) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", allow);
        hd_api_error(req, 405, "method_not_allowed", "use %s on this path", allow);
        goto out;
    }
    if (!hit) {
        hd_api_error(req, 404, "not_found", "no such API route");
        goto out;
    }
    if (role < hit->role) {
        hd_warn("admin: 403 token=%s role=%s needs %s for %s %s", who, hd_role_name(role),
                hd_role_name(hit->role), method == EVHTTP_REQ_GET ? "GET" : "POST", hit->pattern);
        hd_api_error(req, 403, "forbidden", "this needs the %s role; token '%s' is %s",
                     hd_role_name(hit->role), who, hd_role_name(role));
        goto out;
    }
    if (query && evhttp_parse_query_str(query, &r.query) != 0) {
        hd_api_error(req, 400, "bad_query", "the query string cannot be parsed");
        goto out;
    }
    struct evkeyval *kv, *kv2;
    TAILQ_FOREACH (kv, &r.query, next) {
        if (!hd_utf8_valid(kv->value, strlen(kv->value)) || strlen(kv->value) > 1000) {
            hd_api_error(req, 400, "bad_parameter", "parameter '%.60s' is too long or not UTF-8",
                         hd_utf8_valid(kv->key, strlen(kv->key)) ? kv->key : "?");
            goto out;
        }
        for (kv2 = TAILQ_NEXT(kv, next); kv2; kv2 = TAILQ_NEXT(kv2, next))
            if (strcmp(kv->key, kv2->key) == 0) {
                hd_api_error(req, 400, "bad_parameter",
                             "parameter '%.60s' given twice (use a comma-separated list)", kv->key);
                goto out;
            }
    }
    if (method == EVHTTP_REQ_POST && read_body(&r) != 0)
        goto out;
    hit->fn(&r);
out:
    for (int i = 0; i < r.nseg; i++)
        free(r.segs[i]);
    evhttp_clear_headers(&r.query);
    wipe_body(r.body);
    json_decref(r.body);
}

int hd_api_create(struct hd_daemon *d, struct hd_api **out, char *err, size_t errlen)
{
    struct hd_api *api = calloc(1, sizeof(*api));
    if (!api)
        return HD_ENOMEM;
    api->d = d;
    api->started_ms = hd_now_ms();
    if (hd_api_reader_start(api, hd_daemon_base(d), hd_store_path(hd_daemon_store(d)), &api->rd,
                            err, errlen) != 0) {
        free(api);
        return HD_EIO;
    }
    *out = api;
    return 0;
}

void hd_api_destroy(struct hd_api *api)
{
    if (!api)
        return;
    hd_api_actions_shutdown(api);
    hd_api_reader_stop(api->rd);
    free(api);
}
