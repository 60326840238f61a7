/*
 * weibo: the district's official Weibo account through the Sina Weibo Open API (CHANNELS.md §2).
 *
 * This file holds the configuration, the pure render (the post's text under the pinned length
 * rule of weibo_rules.h, with the portal article's link from the website delivery), the start-up
 * token check (oauth2/get_token_info) and the error-code table. The operations -- share,
 * reconcile, status poll, destroy -- are in weibo_ops.c. README.md documents the choices.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "weibo_int.h"
#include "weibo_rules.h"

const struct hd_channel *hd_channel_weibo(void);

static const struct hd_conf_key keys[] = {
    {"access_token", HD_CONF_SECRET, NULL, 1, 0, 0, NULL,
     "OAuth2 access token of the district's account (file:/path or credential:NAME). It cannot "
     "be refreshed by a server: when it dies, a person authorizes again and sets the new one "
     "with `heraldctl credentials set`."},
    {"base_url", HD_CONF_URL, "https://api.weibo.com", 0, 0, 0, NULL,
     "Weibo Open API base URL (the simulator's URL in tests)."},
    {"secure_domain", HD_CONF_STRING, NULL, 1, 3, 253, NULL,
     "The app's bound secure domain (安全域名), e.g. www.yuexiu.gov.cn: every post links to the "
     "portal article, which must be under it."},
    {"rip", HD_CONF_STRING, NULL, 1, 2, 45, NULL,
     "The `rip` parameter (the real user IP, required by statuses/share): the office's public "
     "IPv4 or IPv6 address."},
    {"pic", HD_CONF_BOOL, "true", 0, 0, 0, NULL,
     "Attach the item's first JPEG, GIF or PNG image under 5 MB (multipart field pic)."},
    {"text_limit", HD_CONF_INT, "140", 0, 40, 140, NULL,
     "Maximum weight of a post under the pinned rule (one per UTF-16 unit, URLs in full); "
     "lower it for an extra margin."},
    {"post_budget", HD_CONF_INT, "20", 0, 1, 100000, NULL,
     "Posts herald may make per post_window (staff also post by hand; the platform allows ~30/h)."},
    {"post_window", HD_CONF_DURATION, "1h", 0, 1000, 86400000LL * 7, NULL,
     "Window of post_budget."},
    {"call_budget", HD_CONF_INT, "100", 0, 1, 10000000, NULL,
     "API calls herald may make per call_window (share, destroy, timeline look-ups)."},
    {"call_window", HD_CONF_DURATION, "1d", 0, 1000, 86400000LL * 7, NULL,
     "Window of call_budget; whole days turn at local midnight."},
    {"limit_window", HD_CONF_DURATION, "1h", 0, 1000, 86400000LL, NULL,
     "The platform's rate-limit window: after 10022/10023/10024/20016 nothing is sent before "
     "the next multiple of it."},
    {"poll_interval", HD_CONF_DURATION, "90s", 0, 100, 3600000, NULL,
     "Between look-ups for a post the platform accepted late (20032) or called a duplicate."},
    {"confirm_timeout", HD_CONF_DURATION, "30m", 0, 1000, 86400000LL, NULL,
     "A post accepted late (20032) or called a duplicate that the timeline still does not show "
     "after this long fails for an operator to check."},
    {"lookup_pages", HD_CONF_INT, "3", 0, 1, 20, NULL,
     "Timeline pages (100 posts each) searched when looking a post up."},
    {"lookup_skew", HD_CONF_DURATION, "10m", 0, 0, 86400000LL, NULL,
     "Clock tolerance: a post created this long before our first send still counts as ours."},
    {"retract", HD_CONF_BOOL, "true", 0, 0, 0, NULL,
     "Withdraw with statuses/destroy; false when the app may not (retractions then become "
     "manual actions)."},
    {"token_check", HD_CONF_BOOL, "true", 0, 0, 0, NULL,
     "At start, ask oauth2/get_token_info how long the token lives and warn before it dies."},
    {"token_warn", HD_CONF_DURATION, "7d", 0, 1000, 86400000LL * 365, NULL,
     "Warn (an alert in the log) when the token has less than this left."},
    {NULL, 0, NULL, 0, 0, 0, NULL, NULL},
};

/* ---- error codes (CHANNELS.md §2.4) ---------------------------------------------------------- */

/* The codes CHANNELS.md §2.4 names, and a few more of the V2 Error_code page. */
static const struct {
    long code;
    enum hd_weibo_class cls;
} codes[] = {
    {10001, HD_WB_TRANSIENT}, {10002, HD_WB_TRANSIENT}, {10003, HD_WB_TRANSIENT},
    {10009, HD_WB_TRANSIENT}, {10010, HD_WB_TRANSIENT}, {10011, HD_WB_TRANSIENT},
    {10022, HD_WB_RATE},      {10023, HD_WB_RATE},      {10024, HD_WB_RATE},
    {20016, HD_WB_RATE},      {10004, HD_WB_CONFIG},    {10005, HD_WB_CONFIG},
    {10006, HD_WB_CONFIG},    {10013, HD_WB_CONFIG},    {10014, HD_WB_CONFIG},
    {10016, HD_WB_CONFIG},    {10017, HD_WB_CONFIG},    {10020, HD_WB_CONFIG},
    {10021, HD_WB_CONFIG},    {20003, HD_WB_CONFIG},    {10007, HD_WB_CONTENT},
    {10008, HD_WB_CONTENT},   {10012, HD_WB_CONTENT},   {10018, HD_WB_CONTENT},
    {20017, HD_WB_DUPLICATE}, {20019, HD_WB_DUPLICATE}, {20111, HD_WB_DUPLICATE},
    {20032, HD_WB_DELAYED},   {20101, HD_WB_GONE},      {20102, HD_WB_NOT_OWN},
};

enum hd_weibo_class hd_weibo_classify(long code)
{
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
        if (codes[i].code == code)
            return codes[i].cls;
    if (code >= 21300 && code < 21400)
        return HD_WB_REAUTH; /* 21314-21317, 21319, 21327, 21332 and the rest of the family */
    if (code >= 21000 && code < 22000)
        return HD_WB_CONFIG;
    if (code >= 10000 && code < 10100)
        return HD_WB_TRANSIENT;
    return HD_WB_CONTENT; /* 20005-20007, 20012, 20018, 20020, 20021 and anything unknown */
}

const char *hd_weibo_class_name(enum hd_weibo_class c)
{
    static const char *const names[HD_WB_CLASS_MAX] = {"transient", "rate_limit", "reauth",
                                                       "config",    "content",    "duplicate",
                                                       "delayed",   "gone",       "not_own"};
    return (unsigned)c < HD_WB_CLASS_MAX ? names[c] : "?";
}

long hd_weibo_error_code(const char *body, size_t len)
{
    json_t *j = body ? json_loadb(body, len, 0, NULL) : NULL;
    json_t *v = json_object_get(j, "error_code");
    long code = 0;
    if (json_is_integer(v)) {
        code = (long)json_integer_value(v);
    } else if (json_is_string(v)) {
        const char *s = json_string_value(v);
        char *end;
        long n = strtol(s, &end, 10);
        if (*s && !*end)
            code = n;
    }
    json_decref(j);
    return code > 0 ? code : 0;
}

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

int hd_weibo_parse_time(const char *s, int64_t *ms)
{
    static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    char wd[4], mon[4], off[6];
    int day, hh, mm, ss, year, n = 0;
    if (!s ||
        sscanf(s, "%3s %3s %d %d:%d:%d %5s %d%n", wd, mon, &day, &hh, &mm, &ss, off, &year, &n) < 8)
        return -1;
    if (s[n] != '\0')
        return -1;
    const char *mp = strstr(months, mon);
    if (!mp || strlen(mon) != 3 || (mp - months) % 3 != 0 || day < 1 || day > 31 || hh > 23 ||
        mm > 59 || ss > 60 || hh < 0 || mm < 0 || ss < 0 || (off[0] != '+' && off[0] != '-') ||
        strlen(off) != 5 || !isdigit((unsigned char)off[1]) || !isdigit((unsigned char)off[2]) ||
        !isdigit((unsigned char)off[3]) || !isdigit((unsigned char)off[4]))
        return -1;
    int month = (int)((mp - months) / 3) + 1;
    int offset_min =
        ((off[1] - '0') * 10 + (off[2] - '0')) * 60 + (off[3] - '0') * 10 + (off[4] - '0');
    if (off[0] == '-')
        offset_min = -offset_min;
    int64_t days = days_from_civil(year, (unsigned)month, (unsigned)day);
    int64_t secs = days * 86400 + hh * 3600 + mm * 60 + ss - (int64_t)offset_min * 60;
    *ms = secs * 1000;
    return 0;
}

char *hd_weibo_form_escape(const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = strlen(s);
    char *out = malloc(n * 3 + 1), *o = out;
    if (!out)
        return NULL;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (isalnum(*p) || *p == '-' || *p == '_' || *p == '.' || *p == '~') {
            *o++ = (char)*p;
        } else {
            *o++ = '%';
            *o++ = hex[*p >> 4];
            *o++ = hex[*p & 15];
        }
    }
    *o = '\0';
    return out;
}

/* ---- the token check (oauth2/get_token_info, CHANNELS.md §2.3) ------------------------------- */

struct wb_token_check {
    struct weibo *w; /* NULL once the adapter is gone */
    struct hd_http_call *http;
};

static void on_token_info(void *arg, const struct hd_http_resp *r)
{
    struct wb_token_check *tc = arg;
    struct weibo *w = tc->w;
    if (!w) {
        free(tc);
        return;
    }
    w->check = NULL;
    free(tc);
    if (r->error != HD_HTTP_OK) {
        w->svc->log(w->inst, HD_LOG_WARN, "token check: %s", r->error_text ? r->error_text : "?");
        return;
    }
    long code = hd_weibo_error_code(r->body, r->body_len);
    if (code) {
        w->svc->log(w->inst, hd_weibo_classify(code) == HD_WB_REAUTH ? HD_LOG_ERROR : HD_LOG_WARN,
                    "%stoken check: weibo error %ld: %.200s",
                    hd_weibo_classify(code) == HD_WB_REAUTH ? "ALERT " : "", code, r->body);
        return;
    }
    json_t *j = json_loadb(r->body, r->body_len, 0, NULL);
    json_t *exp = json_object_get(j, "expire_in");
    if (json_is_integer(exp)) {
        int64_t left = json_integer_value(exp);
        int64_t warn = w->svc->conf_int(w->inst, "token_warn") / 1000;
        if (left < warn)
            w->svc->log(w->inst, HD_LOG_ERROR,
                        "ALERT the access token expires in %lld s: authorize again before then "
                        "and set it with heraldctl credentials set",
                        (long long)left);
        else
            w->svc->log(w->inst, HD_LOG_INFO, "token check: valid for %lld s more",
                        (long long)left);
        w->svc->metric_add(w->inst, "token_checks", "ok", 1);
    } else {
        w->svc->log(w->inst, HD_LOG_WARN, "token check: unexpected answer: %.200s", r->body);
    }
    json_decref(j);
}

static void start_token_check(void *arg)
{
    struct weibo *w = arg;
    w->check_timer = NULL;
    char url[2100];
    char *tok = hd_weibo_form_escape(w->token);
    char *body = tok ? malloc(strlen(tok) + 16) : NULL;
    struct wb_token_check *tc = calloc(1, sizeof(*tc));
    if (!tok || !body || !tc)
        goto out;
    sprintf(body, "access_token=%s", tok);
    snprintf(url, sizeof(url), "%s/oauth2/get_token_info", w->base);
    const char *hdrs[] = {"Content-Type: application/x-www-form-urlencoded"};
    struct hd_http_req req = {.struct_size = sizeof(req),
                              .method = "POST",
                              .url = url,
                              .headers = hdrs,
                              .n_headers = 1,
                              .body = body,
                              .body_len = strlen(body)};
    tc->w = w;
    if (w->svc->http_request(w->inst, &req, on_token_info, tc, &tc->http) == 0) {
        w->check = tc;
        tc = NULL;
    }
out:
    free(tc);
    free(body);
    free(tok);
}

/* ---- create / destroy ------------------------------------------------------------------------ */

static int hostname_ok(const char *s)
{
    if (!*s || *s == '.' || *s == '-')
        return 0;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '.' && *s != '-')
            return 0;
    return 1;
}

static void destroy(void *state)
{
    struct weibo *w = state;
    if (!w)
        return;
    if (w->check_timer)
        w->svc->timer_cancel(w->check_timer);
    if (w->check) {
        w->check->w = NULL; /* its callback frees it */
        w->svc->http_cancel(w->check->http);
    }
    free(w->base);
    free(w);
}

static int create(struct hd_instance *inst, const struct hd_services *svc, void **state, char *err,
                  size_t errlen)
{
    struct weibo *w = calloc(1, sizeof(*w));
    const char *const *deps;
    unsigned char addr[16];
    if (!w) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    w->inst = inst;
    w->svc = svc;
    w->base = strdup(svc->conf_str(inst, "base_url"));
    if (!w->base)
        goto oom;
    for (size_t n = strlen(w->base); n > 0 && w->base[n - 1] == '/'; n--)
        w->base[n - 1] = '\0';
    w->token = svc->conf_secret(inst, "access_token", &w->token_len);
    w->domain = svc->conf_str(inst, "secure_domain");
    w->rip = svc->conf_str(inst, "rip");
    w->pic = svc->conf_bool(inst, "pic");
    w->retract_ok = svc->conf_bool(inst, "retract");
    w->text_limit = (long)svc->conf_int(inst, "text_limit");
    w->limit_window_ms = svc->conf_int(inst, "limit_window");
    w->poll_ms = svc->conf_int(inst, "poll_interval");
    w->confirm_ms = svc->conf_int(inst, "confirm_timeout");
    w->skew_ms = svc->conf_int(inst, "lookup_skew");
    w->lookup_pages = (int)svc->conf_int(inst, "lookup_pages");
    if (!w->token || w->token_len == 0 || strlen(w->token) != w->token_len ||
        strpbrk(w->token, " \t\r\n")) {
        snprintf(err, errlen, "access_token: empty or not a single line");
        goto fail;
    }
    if (!hostname_ok(w->domain)) {
        snprintf(err, errlen,
                 "secure_domain %s: a host name such as www.yuexiu.gov.cn, "
                 "without scheme or path",
                 w->domain);
        goto fail;
    }
    if (inet_pton(AF_INET, w->rip, addr) != 1 && inet_pton(AF_INET6, w->rip, addr) != 1) {
        snprintf(err, errlen, "rip %s: an IPv4 or IPv6 address", w->rip);
        goto fail;
    }
    if (svc->conf_list(inst, "depends_on", &deps) == 0) {
        snprintf(err, errlen,
                 "depends_on: name the website instance (e.g. [website:portal]): "
                 "every post links to its portal article");
        goto fail;
    }
    const char *rev = svc->conf_str(inst, "on_revision");
    if (rev && strcmp(rev, "update") == 0) {
        snprintf(err, errlen,
                 "on_revision: update is impossible (a Weibo post cannot be "
                 "edited): use ignore or retract_and_republish");
        goto fail;
    }
    if (svc->quota_define(inst, WB_Q_POSTS, svc->conf_int(inst, "post_budget"),
                          svc->conf_int(inst, "post_window")) != 0 ||
        svc->quota_define(inst, WB_Q_CALLS, svc->conf_int(inst, "call_budget"),
                          svc->conf_int(inst, "call_window")) != 0) {
        snprintf(err, errlen, "cannot set up the posting budgets");
        goto fail;
    }
    if (svc->conf_bool(inst, "token_check"))
        w->check_timer = svc->timer_add(inst, 0, start_token_check, w);
    *state = w;
    return 0;
oom:
    snprintf(err, errlen, "out of memory");
fail:
    destroy(w);
    return -1;
}

/* ---- render (pure) --------------------------------------------------------------------------- */

/* Title or summary made fit for a post: '#' and '＃' removed (no topic tags, §2.1), control
 * characters dropped, runs of white space as one space, trimmed. malloc'd. */
static char *clean(const char *s)
{
    size_t n = strlen(s), o = 0, i = 0;
    char *out = malloc(n + 1);
    int space = 0;
    if (!out)
        return NULL;
    while (s[i]) {
        size_t at = i;
        int32_t cp = wb_next_cp(s, &i);
        if (cp < 0 || cp == '#' || cp == WB_FULL_HASH || cp == 0x7f || (cp >= 0x80 && cp < 0xa0) ||
            (cp < 0x20 && !wb_cp_space(cp)))
            continue;
        if (wb_cp_space(cp)) {
            space = o > 0;
            continue;
        }
        if (space)
            out[o++] = ' ';
        space = 0;
        memcpy(out + o, s + at, i - at);
        o += i - at;
    }
    out[o] = '\0';
    return out;
}

/* The portal link: the first dependency's URL under the secure domain, without a fragment. */
static char *portal_link(struct weibo *w, const struct hd_render_ctx *rc, char *err, size_t errlen)
{
    const char *other = NULL;
    for (size_t i = 0; i < rc->n_deps; i++) {
        const char *u = rc->deps[i].url;
        if (!u || !*u)
            continue;
        size_t len = strcspn(u, "#");
        size_t k = 0;
        while (k < len && wb_url_char((unsigned char)u[k]))
            k++;
        if (k != len || !wb_url_under(u, len, w->domain)) {
            other = u;
            continue;
        }
        char *link = malloc(len + 1);
        if (link) {
            memcpy(link, u, len);
            link[len] = '\0';
        }
        return link;
    }
    if (other)
        snprintf(err, errlen, "the portal link %.300s is not a plain URL under secure_domain %s",
                 other, w->domain);
    else
        snprintf(err, errlen, "no portal link: the dependency (depends_on) gave no URL");
    return NULL;
}

static char *concat(const char *a, const char *b, const char *c, const char *d)
{
    size_t la = strlen(a), lb = strlen(b), lc = strlen(c), ld = strlen(d);
    char *out = malloc(la + lb + lc + ld + 1);
    if (!out)
        return NULL;
    memcpy(out, a, la);
    memcpy(out + la, b, lb);
    memcpy(out + la + lb, c, lc);
    memcpy(out + la + lb + lc, d, ld);
    out[la + lb + lc + ld] = '\0';
    return out;
}

#define WB_MIN_SUMMARY 10 /* a summary cut shorter than this is left out */

/* "【title】summary" shortened on character boundaries to weigh at most `avail`. */
static char *compose_body(const char *title, const char *summary, long avail)
{
    long wt = *title ? wb_text_weight(title) + 2 : 0, ws = wb_text_weight(summary), cut_w;
    const char *open = *title ? "【" : "", *close = *title ? "】" : "";
    if (wt + ws <= avail)
        return concat(open, title, close, summary);
    if (*summary && avail - wt - 1 >= WB_MIN_SUMMARY) {
        size_t n = wb_cut(summary, avail - wt - 1, &cut_w);
        if (n > 0) {
            char *part = malloc(n + sizeof(WB_ELLIPSIS));
            if (!part)
                return NULL;
            memcpy(part, summary, n);
            memcpy(part + n, WB_ELLIPSIS, sizeof(WB_ELLIPSIS));
            char *out = concat(open, title, close, part);
            free(part);
            return out;
        }
    }
    if (*title && wt <= avail)
        return concat(open, title, close, "");
    const char *src = *title ? title : summary;
    long room = avail - (*title ? 2 : 0) - 1;
    size_t n = room > 0 ? wb_cut(src, room, &cut_w) : 0;
    if (n == 0)
        return NULL;
    char *part = malloc(n + sizeof(WB_ELLIPSIS));
    if (!part)
        return NULL;
    memcpy(part, src, n);
    memcpy(part + n, WB_ELLIPSIS, sizeof(WB_ELLIPSIS));
    char *out = concat(open, part, close, "");
    free(part);
    return out;
}

static const char *pic_type_ok(const char *t)
{
    static const char *const ok[] = {"image/jpeg", "image/jpg", "image/pjpeg", "image/gif",
                                     "image/png"};
    for (size_t i = 0; t && i < sizeof(ok) / sizeof(ok[0]); i++)
        if (strcasecmp(t, ok[i]) == 0)
            return ok[i];
    return NULL;
}

static int render(void *state, const struct hd_item *it, const struct hd_render_ctx *rc,
                  struct hd_payload *out, char *err, size_t errlen)
{
    struct weibo *w = state;
    int ret = HD_RENDER_REJECT;
    char *link = NULL, *title = NULL, *summary = NULL, *body = NULL, *text = NULL, *norm = NULL,
         *from_html = NULL;
    json_t *doc = NULL;

    link = portal_link(w, rc, err, errlen);
    if (!link)
        goto out;
    const char *src = it->summary && *it->summary ? it->summary : it->body_text;
    if (!src || !*src)
        src = from_html = it->body_html ? w->svc->html_to_text(it->body_html) : NULL;
    title = clean(it->title ? it->title : "");
    summary = clean(src ? src : "");
    if (!title || !summary) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    if (strcmp(title, summary) == 0)
        summary[0] = '\0';
    if (!*title && !*summary) {
        snprintf(err, errlen, "nothing to post: the item has neither title nor summary");
        goto out;
    }
    long avail = w->text_limit - 1 - wb_text_weight(link);
    body = avail >= 4 ? compose_body(title, summary, avail) : NULL;
    if (!body) {
        snprintf(err, errlen, "the portal link leaves no room for text within %ld", w->text_limit);
        goto out;
    }
    text = concat(body, " ", link, "");
    norm = text ? wb_normalize(text) : NULL;
    if (!text || !norm) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    /* the simulator enforces the same three rules with the same functions */
    const char *domains[] = {w->domain};
    if (wb_text_weight(text) > w->text_limit || wb_has_topic(text) ||
        !wb_has_secure_link(text, domains, 1)) {
        snprintf(err, errlen, "internal: the composed text breaks a rule");
        goto out;
    }
    char text_sha[65], norm_sha[65];
    w->svc->sha256_hex(text, strlen(text), text_sha);
    w->svc->sha256_hex(norm, strlen(norm), norm_sha);
    doc = json_pack("{s:s, s:s, s:s, s:s, s:I}", "status", text, "link", link, "text_sha256",
                    text_sha, "norm_sha256", norm_sha, "weight", (json_int_t)wb_text_weight(text));
    for (size_t i = 0; doc && w->pic && i < it->n_images; i++) {
        const struct hd_asset *a = &it->images[i];
        const char *type = pic_type_ok(a->media_type);
        if (!type || a->size == 0 || a->size >= WB_PIC_MAX || !a->url)
            continue;
        json_t *pic = json_pack("{s:s, s:s, s:I}", "url", a->url, "media_type", type, "size",
                                (json_int_t)a->size);
        if (pic && a->sha256)
            json_object_set_new(pic, "sha256", json_string(a->sha256));
        json_object_set_new(doc, "pic", pic);
        break;
    }
    out->data = doc ? json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    if (!out->data) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    out->len = strlen(out->data);
    snprintf(out->content_type, sizeof(out->content_type), "application/json");
    size_t n = wb_cut(body, 50, NULL);
    snprintf(out->summary, sizeof(out->summary), "%.*s", (int)n, body);
    ret = HD_RENDER_OK;
out:
    json_decref(doc);
    free(link);
    free(title);
    free(summary);
    free(from_html);
    free(body);
    free(text);
    free(norm);
    return ret;
}

static const struct hd_channel channel = {
    .abi_version = HD_ABI_VERSION,
    .struct_size = sizeof(struct hd_channel),
    .build_signature = HD_BUILD_SIGNATURE,
    .name = "weibo",
    .description = "Official Weibo account (Sina Weibo Open API statuses/share, CHANNELS.md §2)",
    .version = "1.0",
    .caps = HD_CAP_RETRACT | HD_CAP_POLL,
    .default_on_revision = HD_REV_IGNORE,
    .keys = keys,
    .create = create,
    .destroy = destroy,
    .render = render,
    .send = hd_weibo_send,
    .retract = hd_weibo_retract,
    .poll_status = hd_weibo_poll,
    .reconcile = hd_weibo_reconcile,
    .cancel = hd_weibo_cancel,
};

const struct hd_channel *hd_channel_weibo(void)
{
    return &channel;
}
