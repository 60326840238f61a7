/*
 * weibo simulator: the Sina Weibo Open API as the district account's app sees it (CHANNELS.md
 * §2), with its wire format -- form-encoded or multipart requests, the access token as a
 * parameter (or "Authorization: OAuth2 <token>"), error bodies
 * {"request":path,"error_code":code,"error":text} with HTTP 400 -- and its rules:
 *
 *   POST /2/statuses/share.json      status (≤ 140 under weibo_rules.h, no #topic#, a link under
 *                                    a secure domain), rip, pic (multipart, JPEG/GIF/PNG < 5 MB);
 *                                    identical text within dup_window_s -> 20019, similar (same
 *                                    normal form) -> 20017; posts per sim-clock hour -> 20016
 *   POST /2/statuses/destroy.json    id; 20101 gone, 20102 not ours, 10014 when not permitted
 *   GET  /2/statuses/user_timeline.json   our visible posts, newest first, links shortened
 *   POST /oauth2/get_token_info      uid, appkey, scope, create_at, expire_in
 *   GET  /2/account/rate_limit_status.json
 * Every call checks the token (unknown 21332, revoked 21319, expired after its TTL 21327) and
 * the user's calls per hour / per day (10023) and the IP's calls per hour (10022).
 *
 * Control (POST /_sim/<name>): authorize {"ttl_s"} issues a new token (a person re-authorizing);
 * revoke {"access_token"}; delay {"next","visible_after_s"} answers the next shares with 20032
 * (posted, visible later); post {"text","foreign","count"} makes posts by hand (staff, or another
 * account's). Applied effects are keyed by the post's first secure-domain link (the portal
 * article: one per item). README.md maps each rule to its test.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <time.h>

#include "common.h"
#include "sim.h"
#include "weibo_rules.h"

#define HOUR_MS  3600000LL
#define DAY_MS   86400000LL
#define CST_MS   (8 * HOUR_MS) /* Beijing time: days and created_at */
#define FIRST_ID 4987654321000000LL

struct post {
    int64_t id;
    char *text; /* owned: as shown (links shortened) */
    char *orig; /* owned: as sent */
    char *norm; /* owned: normal form of orig (weibo_rules.h) */
    char *key;  /* owned: first secure-domain link, "" when none */
    int64_t created_ms, visible_ms;
    int deleted, foreign;
    char pic_type[16];
    size_t pic_size;
    char pic_sha[65];
    char rip[46];
};

struct token {
    char *value; /* owned */
    int64_t created_ms, expire_ms;
    int revoked;
};

struct wsim {
    struct hd_sim *sim; /* borrowed */
    /* configuration */
    char *start_token, *screen_name, *appkey; /* owned */
    json_int_t uid;
    int64_t token_ttl_ms, dup_window_ms, visible_after_ms;
    char **domains; /* owned */
    size_t n_domains;
    long posts_per_hour, calls_per_hour, calls_per_day, ip_calls_per_hour;
    int shorten, code_as_string, destroy_allowed;
    /* model */
    struct post *posts; /* owned */
    size_t n_posts;
    struct token *tokens; /* owned */
    size_t n_tokens;
    long token_seq;
    int64_t next_id;
    int64_t hour, day;
    long posts_hour, calls_hour, calls_day, ip_calls_hour;
    long delay_next;
};

/* ---- small helpers --------------------------------------------------------------------------- */

static void reply_error(struct wsim *s, struct hd_sim_req *r, long code, const char *error)
{
    json_t *b = json_object();
    json_object_set_new(b, "request", json_string(hd_sim_req_path(r)));
    json_object_set_new(b, "error_code",
                        s->code_as_string ? json_sprintf("%ld", code) : json_integer(code));
    json_object_set_new(b, "error", json_string(error));
    hd_sim_reply_json(r, 400, b);
}

static void format_time(int64_t ms, char *out, size_t len)
{
    static const char *const wd[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char *const mon[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    time_t t = (time_t)((ms + CST_MS) / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    snprintf(out, len, "%s %s %02d %02d:%02d:%02d +0800 %d", wd[tm.tm_wday], mon[tm.tm_mon],
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, tm.tm_year + 1900);
}

/* Links rewritten the way weibo.com shows them: http://t.cn/<code>, code derived from the URL. */
static char *shorten_links(const char *s)
{
    static const char b62[] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    size_t len = strlen(s), pos = 0, a, b, o = 0, from = 0;
    char *out = malloc(len * 2 + 64);
    if (!out)
        return NULL;
    while (wb_next_url(s, &pos, &a, &b)) {
        char sha[65], code[9];
        hd_sim_sha256_hex(s + a, b - a, sha);
        unsigned long long v = strtoull(sha + 48, NULL, 16);
        for (int i = 0; i < 8; i++) {
            code[i] = b62[v % 62];
            v /= 62;
        }
        code[8] = '\0';
        memcpy(out + o, s + from, a - from);
        o += a - from;
        o += (size_t)sprintf(out + o, "http://t.cn/%s", code);
        from = b;
    }
    memcpy(out + o, s + from, len - from);
    out[o + len - from] = '\0';
    return out;
}

static char *first_secure_link(struct wsim *s, const char *text)
{
    size_t pos = 0, a, b;
    while (wb_next_url(text, &pos, &a, &b))
        for (size_t k = 0; k < s->n_domains; k++)
            if (wb_url_under(text + a, b - a, s->domains[k]))
                return hd_strndup(text + a, b - a);
    return hd_strdup("");
}

static void roll_windows(struct wsim *s, int64_t now)
{
    int64_t hour = now / HOUR_MS, day = (now + CST_MS) / DAY_MS;
    if (hour != s->hour) {
        s->hour = hour;
        s->posts_hour = s->calls_hour = s->ip_calls_hour = 0;
    }
    if (day != s->day) {
        s->day = day;
        s->calls_day = 0;
    }
}

static struct token *find_token(struct wsim *s, const char *value)
{
    for (size_t i = 0; value && i < s->n_tokens; i++)
        if (strcmp(s->tokens[i].value, value) == 0)
            return &s->tokens[i];
    return NULL;
}

static struct token *add_token(struct wsim *s, const char *value, int64_t ttl_ms)
{
    struct token *t = realloc(s->tokens, (s->n_tokens + 1) * sizeof(*t));
    if (!t)
        return NULL;
    s->tokens = t;
    t = &s->tokens[s->n_tokens];
    int64_t now = hd_sim_now_ms(s->sim);
    t->value = value ? strdup(value)
                     : hd_asprintf("2.00sim%06ld%08llx", ++s->token_seq,
                                   (unsigned long long)(now & 0xffffffff));
    if (!t->value)
        return NULL;
    t->created_ms = now;
    t->expire_ms = now + ttl_ms;
    t->revoked = 0;
    s->n_tokens++;
    return t;
}

static const char *req_token(struct hd_sim_req *r)
{
    const char *t = hd_sim_req_form(r, "access_token");
    const char *auth = hd_sim_req_header(r, "Authorization");
    if (!t)
        t = hd_sim_req_query(r, "access_token");
    if (!t && auth && strncmp(auth, "OAuth2 ", 7) == 0)
        t = auth + 7;
    return t;
}

/* The token check every API call makes: 1 when it may go on, 0 when answered. */
static int token_ok(struct wsim *s, struct hd_sim_req *r, struct token **out)
{
    const char *v = req_token(r);
    struct token *t = find_token(s, v);
    if (!v || !*v) {
        reply_error(s, r, 10006, "source paramter (appkey) is missing");
        return 0;
    }
    if (!t) {
        reply_error(s, r, 21332, "invalid_access_token");
        return 0;
    }
    if (t->revoked) {
        reply_error(s, r, 21319, "Accessor was revoked");
        return 0;
    }
    if (hd_sim_now_ms(s->sim) >= t->expire_ms) {
        reply_error(s, r, 21327, "expired_token");
        return 0;
    }
    if (out)
        *out = t;
    return 1;
}

/* The call counters (CHANNELS.md §2.5): 1 when under every cap (and counted), 0 when answered. */
static int count_call(struct wsim *s, struct hd_sim_req *r)
{
    roll_windows(s, hd_sim_now_ms(s->sim));
    if (s->ip_calls_per_hour > 0 && s->ip_calls_hour >= s->ip_calls_per_hour) {
        reply_error(s, r, 10022, "IP requests out of rate limit!");
        return 0;
    }
    if ((s->calls_per_hour > 0 && s->calls_hour >= s->calls_per_hour) ||
        (s->calls_per_day > 0 && s->calls_day >= s->calls_per_day)) {
        reply_error(s, r, 10023, "User requests out of rate limit!");
        return 0;
    }
    s->ip_calls_hour++;
    s->calls_hour++;
    s->calls_day++;
    return 1;
}

static json_t *status_json(struct wsim *s, const struct post *p, int trim_user)
{
    char when[64], idstr[32];
    format_time(p->created_ms, when, sizeof(when));
    snprintf(idstr, sizeof(idstr), "%lld", (long long)p->id);
    json_t *j = json_pack(
        "{s:s, s:I, s:s, s:s, s:s, s:s, s:b, s:b, s:i, s:i, s:i, s:{s:i, s:i}, s:[]}", "created_at",
        when, "id", (json_int_t)p->id, "idstr", idstr, "mid", idstr, "text", p->text, "source",
        "<a href=\"https://open.weibo.com\" rel=\"nofollow\">herald</a>", "favorited", 0,
        "truncated", 0, "reposts_count", 0, "comments_count", 0, "attitudes_count", 0, "visible",
        "type", 0, "list_id", 0, "pic_urls");
    if (j && p->pic_type[0]) {
        char *u = hd_asprintf("https://wx1.sinaimg.cn/large/%.16s.%s", p->pic_sha,
                              strchr(p->pic_type, '/') + 1);
        json_object_set_new(j, "original_pic", json_string(u));
        json_array_append_new(json_object_get(j, "pic_urls"),
                              json_pack("{s:s}", "thumbnail_pic", u));
        free(u);
    }
    if (j && !trim_user)
        json_object_set_new(j, "user",
                            json_pack("{s:I, s:s, s:s}", "id", s->uid, "screen_name",
                                      s->screen_name, "name", s->screen_name));
    return j;
}

static struct post *add_post(struct wsim *s, const char *orig, int foreign, int64_t visible_after)
{
    struct post *p = realloc(s->posts, (s->n_posts + 1) * sizeof(*p));
    if (!p)
        return NULL;
    s->posts = p;
    p = &s->posts[s->n_posts];
    memset(p, 0, sizeof(*p));
    p->id = s->next_id++;
    p->orig = strdup(orig);
    p->text = s->shorten ? shorten_links(orig) : strdup(orig);
    p->norm = wb_normalize(orig);
    p->key = first_secure_link(s, orig);
    p->created_ms = hd_sim_now_ms(s->sim);
    p->visible_ms = p->created_ms + visible_after;
    p->foreign = foreign;
    if (!p->orig || !p->text || !p->norm || !p->key) {
        free(p->orig);
        free(p->text);
        free(p->norm);
        free(p->key);
        return NULL;
    }
    s->n_posts++;
    return p;
}

/* ---- statuses/share (CHANNELS.md §2.1) ------------------------------------------------------- */

static int image_type(const char *p, size_t n, char *out, size_t len)
{
    const unsigned char *u = (const unsigned char *)p;
    const char *t = NULL;
    if (n >= 3 && u[0] == 0xff && u[1] == 0xd8 && u[2] == 0xff)
        t = "image/jpeg";
    else if (n >= 6 && (memcmp(p, "GIF87a", 6) == 0 || memcmp(p, "GIF89a", 6) == 0))
        t = "image/gif";
    else if (n >= 8 && memcmp(p, "\x89PNG\r\n\x1a\n", 8) == 0)
        t = "image/png";
    if (t)
        snprintf(out, len, "%s", t);
    return t != NULL;
}

static void share(struct wsim *s, struct hd_sim_req *r)
{
    const char *status = hd_sim_req_form(r, "status"), *rip = hd_sim_req_form(r, "rip");
    const char *pic = NULL;
    size_t pic_len = 0;
    char pic_type[16] = "";
    unsigned char addr[16];
    int64_t now = hd_sim_now_ms(s->sim);

    if (!status || !*status) {
        reply_error(s, r, 10016, "miss required parameter (status), see doc for more info.");
        return;
    }
    if (!rip || !*rip) {
        reply_error(s, r, 10016, "miss required parameter (rip), see doc for more info.");
        return;
    }
    if (inet_pton(AF_INET, rip, addr) != 1 && inet_pton(AF_INET6, rip, addr) != 1) {
        reply_error(s, r, 10017, "parameter (rip)'s value invalid, expect (an IP address)");
        return;
    }
    int part = hd_sim_req_part(r, "pic", &pic, &pic_len, NULL, NULL);
    if (part != 0 && hd_sim_req_form(r, "pic")) {
        reply_error(s, r, 20007, "Does multipart has image?");
        return;
    }
    if (part == 0) {
        if (!image_type(pic, pic_len, pic_type, sizeof(pic_type))) {
            reply_error(s, r, 20005, "Unsupported image type, only suport JPG, GIF, PNG!");
            return;
        }
        if (pic_len >= WB_PIC_MAX) {
            reply_error(s, r, 20006, "Image size too large.");
            return;
        }
    }
    long weight = wb_text_weight(status);
    if (weight < 0) {
        reply_error(s, r, 10017, "parameter (status)'s value invalid, expect (UTF-8 text)");
        return;
    }
    if (weight > WB_TEXT_MAX) {
        reply_error(s, r, 20012, "Text too long, please input text less than 140 characters!");
        return;
    }
    if (wb_has_topic(status)) {
        reply_error(s, r, 20021, "Content is illegal! (#topic# is not allowed here)");
        return;
    }
    if (s->n_domains == 0) {
        reply_error(s, r, 10017, "appkey not bind domain!");
        return;
    }
    if (!wb_has_secure_link(status, (const char *const *)s->domains, s->n_domains)) {
        reply_error(s, r, 10017,
                    "parameter (status)'s value invalid, expect (a url of the app's "
                    "secure domain)");
        return;
    }
    roll_windows(s, now);
    char *norm = wb_normalize(status), *key = first_secure_link(s, status);
    if (!norm || !key) {
        free(norm);
        free(key);
        hd_sim_reply(r, 500, "text/plain", "out of memory", 13);
        return;
    }
    for (size_t i = 0; i < s->n_posts; i++) {
        const struct post *p = &s->posts[i];
        if (p->deleted || p->foreign || now - p->created_ms > s->dup_window_ms)
            continue;
        if (strcmp(p->orig, status) == 0 || strcmp(p->norm, norm) == 0) {
            int same = strcmp(p->orig, status) == 0;
            hd_sim_duplicate(r, key);
            reply_error(s, r, same ? 20019 : 20017,
                        same ? "Repeated content!" : "Submitted similar content!");
            free(norm);
            free(key);
            return;
        }
    }
    free(norm);
    if (s->posts_per_hour > 0 && s->posts_hour >= s->posts_per_hour) {
        reply_error(s, r, 20016, "Out of limit, update weibo too fast!");
        free(key);
        return;
    }
    int delayed = s->delay_next > 0;
    struct post *p = add_post(s, status, 0, delayed ? s->visible_after_ms : 0);
    if (!p) {
        free(key);
        hd_sim_reply(r, 500, "text/plain", "out of memory", 13);
        return;
    }
    s->posts_hour++;
    snprintf(p->rip, sizeof(p->rip), "%s", rip);
    if (part == 0) {
        snprintf(p->pic_type, sizeof(p->pic_type), "%s", pic_type);
        p->pic_size = pic_len;
        hd_sim_sha256_hex(pic, pic_len, p->pic_sha);
    }
    hd_sim_applied(r, key);
    free(key);
    if (delayed) {
        s->delay_next--;
        reply_error(s, r, 20032,
                    "Update weibo success, while server slow now, please wait 1-2 minutes");
        return;
    }
    hd_sim_reply_json(r, 200, status_json(s, p, 0));
}

/* ---- statuses/destroy (CHANNELS.md §2.2) ----------------------------------------------------- */

static void destroy_post(struct wsim *s, struct hd_sim_req *r)
{
    const char *id = hd_sim_req_form(r, "id");
    if (!id || !*id) {
        reply_error(s, r, 10016, "miss required parameter (id), see doc for more info.");
        return;
    }
    if (strspn(id, "0123456789") != strlen(id) || strlen(id) > 18) {
        reply_error(s, r, 10017, "parameter (id)'s value invalid, expect (int64)");
        return;
    }
    if (!s->destroy_allowed) {
        reply_error(s, r, 10014, "Insufficient app permissions!");
        return;
    }
    long long want = strtoll(id, NULL, 10);
    for (size_t i = 0; i < s->n_posts; i++) {
        struct post *p = &s->posts[i];
        if (p->id != want || p->deleted)
            continue;
        if (p->foreign) {
            reply_error(s, r, 20102, "Not your own weibo!");
            return;
        }
        p->deleted = 1;
        char key[600];
        snprintf(key, sizeof(key), "destroy:%s", p->key);
        hd_sim_applied(r, key);
        hd_sim_reply_json(r, 200, status_json(s, p, 0));
        return;
    }
    reply_error(s, r, 20101, "Target weibo does not exist!");
}

/* ---- reading --------------------------------------------------------------------------------- */

static int visible(struct wsim *s, const struct post *p, int64_t now)
{
    return !p->deleted && !p->foreign && p->visible_ms <= now;
}

static void user_timeline(struct wsim *s, struct hd_sim_req *r)
{
    const char *cq = hd_sim_req_query(r, "count"), *pq = hd_sim_req_query(r, "page");
    const char *sq = hd_sim_req_query(r, "since_id"), *mq = hd_sim_req_query(r, "max_id");
    const char *tq = hd_sim_req_query(r, "trim_user");
    long count = cq ? strtol(cq, NULL, 10) : 20, page = pq ? strtol(pq, NULL, 10) : 1;
    long long since = sq ? strtoll(sq, NULL, 10) : 0, max = mq ? strtoll(mq, NULL, 10) : 0;
    int64_t now = hd_sim_now_ms(s->sim);
    if (count < 1 || page < 1) {
        reply_error(s, r, 10017, "parameter (count or page)'s value invalid");
        return;
    }
    if (count > 100)
        count = 100;
    json_t *arr = json_array();
    long seen = 0, total = 0;
    for (size_t i = s->n_posts; i-- > 0;) { /* ids grow with time: newest first */
        const struct post *p = &s->posts[i];
        if (!visible(s, p, now) || (since && p->id <= since) || (max && p->id > max))
            continue;
        total++;
        if (seen++ < (page - 1) * count || (long)json_array_size(arr) >= count)
            continue;
        json_array_append_new(arr, status_json(s, p, tq && strcmp(tq, "1") == 0));
    }
    hd_sim_reply_json(r, 200,
                      json_pack("{s:o, s:b, s:i, s:i, s:I}", "statuses", arr, "hasvisible", 0,
                                "previous_cursor", 0, "next_cursor", 0, "total_number",
                                (json_int_t)total));
}

static void token_info(struct wsim *s, struct hd_sim_req *r, struct token *t)
{
    int64_t now = hd_sim_now_ms(s->sim);
    hd_sim_reply_json(r, 200,
                      json_pack("{s:I, s:s, s:s, s:I, s:I}", "uid", s->uid, "appkey", s->appkey,
                                "scope", "", "create_at", (json_int_t)(t->created_ms / 1000),
                                "expire_in", (json_int_t)((t->expire_ms - now) / 1000)));
}

static void rate_limit_status(struct wsim *s, struct hd_sim_req *r)
{
    int64_t now = hd_sim_now_ms(s->sim);
    roll_windows(s, now);
    int64_t reset = (now / HOUR_MS + 1) * HOUR_MS;
    char when[32];
    time_t t = (time_t)((reset + CST_MS) / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
    hd_sim_reply_json(
        r, 200,
        json_pack(
            "{s:[{s:s, s:i, s:s, s:i}], s:i, s:s, s:i, s:i, s:s, s:I, s:i}", "api_rate_limits",
            "api", "/statuses/share", "limit", (int)s->posts_per_hour, "limit_time_unit", "HOURS",
            "remaining_hits", (int)(s->posts_per_hour - s->posts_hour), "ip_limit",
            (int)s->ip_calls_per_hour, "limit_time_unit", "HOURS", "remaining_ip_hits",
            (int)(s->ip_calls_per_hour - s->ip_calls_hour), "remaining_user_hits",
            (int)(s->calls_per_hour - s->calls_hour), "reset_time", when, "reset_time_in_seconds",
            (json_int_t)((reset - now) / 1000), "user_limit", (int)s->calls_per_hour));
}

static void handle(void *state, struct hd_sim_req *r)
{
    struct wsim *s = state;
    const char *path = hd_sim_req_path(r), *method = hd_sim_req_method(r);
    static const struct {
        const char *path, *method;
        int counted;
    } api[] = {
        {"/2/statuses/share.json", "POST", 1},           {"/2/statuses/destroy.json", "POST", 1},
        {"/2/statuses/user_timeline.json", "GET", 1},    {"/oauth2/get_token_info", "POST", 0},
        {"/2/account/rate_limit_status.json", "GET", 0},
    };
    size_t i = 0;
    while (i < sizeof(api) / sizeof(api[0]) && strcmp(api[i].path, path) != 0)
        i++;
    if (i == sizeof(api) / sizeof(api[0])) {
        reply_error(s, r, 10020, "Request Api not found!");
        return;
    }
    if (strcmp(method, api[i].method) != 0) {
        reply_error(s, r, 10021, "HTTP method is not suported for this request!");
        return;
    }
    struct token *t = NULL;
    if (!token_ok(s, r, &t) || (api[i].counted && !count_call(s, r)))
        return;
    switch (i) {
    case 0:
        share(s, r);
        break;
    case 1:
        destroy_post(s, r);
        break;
    case 2:
        user_timeline(s, r);
        break;
    case 3:
        token_info(s, r, t);
        break;
    default:
        rate_limit_status(s, r);
        break;
    }
}

/* ---- control --------------------------------------------------------------------------------- */

static int control(void *state, const char *path, const json_t *body, json_t **reply)
{
    struct wsim *s = state;
    json_t *v;
    if (strcmp(path, "authorize") == 0) {
        v = json_object_get(body, "ttl_s");
        int64_t ttl = json_is_integer(v) ? json_integer_value(v) * 1000 : s->token_ttl_ms;
        struct token *t = add_token(s, NULL, ttl);
        if (!t)
            return -1;
        *reply = json_pack("{s:s, s:I, s:I}", "access_token", t->value, "expires_in",
                           (json_int_t)(ttl / 1000), "uid", s->uid);
        return 0;
    }
    if (strcmp(path, "revoke") == 0) {
        struct token *t = find_token(s, json_string_value(json_object_get(body, "access_token")));
        if (!t)
            return -1;
        t->revoked = 1;
        *reply = json_pack("{s:b}", "revoked", 1);
        return 0;
    }
    if (strcmp(path, "delay") == 0) {
        v = json_object_get(body, "next");
        s->delay_next = json_is_integer(v) ? (long)json_integer_value(v) : 1;
        v = json_object_get(body, "visible_after_s");
        if (json_is_integer(v))
            s->visible_after_ms = json_integer_value(v) * 1000;
        *reply = json_pack("{s:i, s:I}", "next", (int)s->delay_next, "visible_after_s",
                           (json_int_t)(s->visible_after_ms / 1000));
        return 0;
    }
    if (strcmp(path, "post") == 0) {
        const char *text = json_string_value(json_object_get(body, "text"));
        int foreign = json_is_true(json_object_get(body, "foreign"));
        v = json_object_get(body, "count");
        long n = json_is_integer(v) ? (long)json_integer_value(v) : 1;
        json_t *ids = json_array();
        roll_windows(s, hd_sim_now_ms(s->sim));
        for (long k = 0; k < n && k < 10000; k++) {
            char *t = text ? hd_asprintf("%s", text)
                           : hd_asprintf("工作人员手动发布 %ld-%lld", k, (long long)s->next_id);
            struct post *p = t ? add_post(s, t, foreign, 0) : NULL;
            free(t);
            if (!p)
                break;
            if (!foreign)
                s->posts_hour++; /* posts by hand share the account's hourly cap */
            json_array_append_new(ids, json_sprintf("%lld", (long long)p->id));
        }
        *reply = json_pack("{s:o}", "ids", ids);
        return 0;
    }
    return -1;
}

static json_t *inspect(void *state)
{
    struct wsim *s = state;
    json_t *posts = json_array(), *tokens = json_array();
    for (size_t i = 0; i < s->n_posts; i++) {
        const struct post *p = &s->posts[i];
        json_t *j = json_pack(
            "{s:s, s:s, s:s, s:s, s:I, s:I, s:b, s:b, s:s, s:I, s:s}", "idstr", "", "text", p->text,
            "orig_text", p->orig, "key", p->key, "created_ms", (json_int_t)p->created_ms,
            "visible_ms", (json_int_t)p->visible_ms, "deleted", p->deleted, "foreign", p->foreign,
            "pic_type", p->pic_type, "pic_size", (json_int_t)p->pic_size, "rip", p->rip);
        json_object_set_new(j, "idstr", json_sprintf("%lld", (long long)p->id));
        json_object_set_new(j, "weight", json_integer(wb_text_weight(p->orig)));
        json_array_append_new(posts, j);
    }
    for (size_t i = 0; i < s->n_tokens; i++)
        json_array_append_new(
            tokens, json_pack("{s:s, s:I, s:b}", "access_token", s->tokens[i].value, "expire_ms",
                              (json_int_t)s->tokens[i].expire_ms, "revoked", s->tokens[i].revoked));
    roll_windows(s, hd_sim_now_ms(s->sim));
    return json_pack("{s:o, s:o, s:{s:i, s:i, s:i, s:i}, s:i}", "posts", posts, "tokens", tokens,
                     "counters", "posts_this_hour", (int)s->posts_hour, "calls_this_hour",
                     (int)s->calls_hour, "calls_today", (int)s->calls_day, "ip_calls_this_hour",
                     (int)s->ip_calls_hour, "delay_next", (int)s->delay_next);
}

/* ---- life cycle ------------------------------------------------------------------------------ */

static void clear_model(struct wsim *s)
{
    for (size_t i = 0; i < s->n_posts; i++) {
        free(s->posts[i].text);
        free(s->posts[i].orig);
        free(s->posts[i].norm);
        free(s->posts[i].key);
    }
    free(s->posts);
    s->posts = NULL;
    s->n_posts = 0;
    for (size_t i = 0; i < s->n_tokens; i++)
        free(s->tokens[i].value);
    free(s->tokens);
    s->tokens = NULL;
    s->n_tokens = 0;
    s->next_id = FIRST_ID;
    s->hour = s->day = -1;
    s->posts_hour = s->calls_hour = s->calls_day = s->ip_calls_hour = 0;
    s->delay_next = 0;
}

static void reset(void *state)
{
    struct wsim *s = state;
    clear_model(s);
    add_token(s, s->start_token, s->token_ttl_ms);
}

static void destroy(void *state)
{
    struct wsim *s = state;
    if (!s)
        return;
    clear_model(s);
    for (size_t i = 0; i < s->n_domains; i++)
        free(s->domains[i]);
    free(s->domains);
    free(s->start_token);
    free(s->screen_name);
    free(s->appkey);
    free(s);
}

static int conf_int(struct hd_sim *sim, const json_t *conf, const char *key, long long def,
                    long long min, long long *out)
{
    json_t *v = json_object_get(conf, key);
    *out = v ? json_integer_value(v) : def;
    if (v && (!json_is_integer(v) || *out < min)) {
        hd_sim_log_error(sim, "config: \"%s\" must be an integer >= %lld", key, min);
        return -1;
    }
    return 0;
}

static int init(struct hd_sim *sim, const json_t *conf, void **state)
{
    static const char *const known[] = {"access_token",
                                        "token_ttl_s",
                                        "uid",
                                        "screen_name",
                                        "appkey",
                                        "secure_domains",
                                        "posts_per_hour",
                                        "calls_per_hour",
                                        "calls_per_day",
                                        "ip_calls_per_hour",
                                        "dup_window_s",
                                        "visible_after_s",
                                        "shorten_urls",
                                        "error_code_type",
                                        "destroy_allowed",
                                        NULL};
    long long ttl, uid, pph, cph, cpd, ip, dup, vis;
    if (hd_sim_conf_check_keys(sim, conf, known) < 0 ||
        conf_int(sim, conf, "token_ttl_s", 5LL * 365 * 86400, 1, &ttl) < 0 ||
        conf_int(sim, conf, "uid", 1234567890, 1, &uid) < 0 ||
        conf_int(sim, conf, "posts_per_hour", 30, 0, &pph) < 0 ||
        conf_int(sim, conf, "calls_per_hour", 150, 0, &cph) < 0 ||
        conf_int(sim, conf, "calls_per_day", 0, 0, &cpd) < 0 ||
        conf_int(sim, conf, "ip_calls_per_hour", 10000, 0, &ip) < 0 ||
        conf_int(sim, conf, "dup_window_s", 86400, 1, &dup) < 0 ||
        conf_int(sim, conf, "visible_after_s", 60, 0, &vis) < 0)
        return HD_EINVAL;
    json_t *doms = json_object_get(conf, "secure_domains"), *d;
    const char *ect = json_string_value(json_object_get(conf, "error_code_type"));
    if ((doms && !json_is_array(doms)) ||
        (ect && strcmp(ect, "string") != 0 && strcmp(ect, "int") != 0)) {
        hd_sim_log_error(sim, "config: secure_domains is a list of host names; "
                              "error_code_type is \"string\" or \"int\"");
        return HD_EINVAL;
    }
    struct wsim *s = calloc(1, sizeof(*s));
    if (!s)
        return HD_ENOMEM;
    s->sim = sim;
    const char *tok = json_string_value(json_object_get(conf, "access_token"));
    const char *sn = json_string_value(json_object_get(conf, "screen_name"));
    const char *ak = json_string_value(json_object_get(conf, "appkey"));
    s->start_token = strdup(tok ? tok : "sim-weibo-token");
    s->screen_name = strdup(sn ? sn : "广州越秀发布");
    s->appkey = strdup(ak ? ak : "3550908870");
    s->uid = (json_int_t)uid;
    s->token_ttl_ms = ttl * 1000;
    s->dup_window_ms = dup * 1000;
    s->visible_after_ms = vis * 1000;
    s->posts_per_hour = (long)pph;
    s->calls_per_hour = (long)cph;
    s->calls_per_day = (long)cpd;
    s->ip_calls_per_hour = (long)ip;
    s->shorten = !json_is_false(json_object_get(conf, "shorten_urls"));
    s->code_as_string = !ect || strcmp(ect, "string") == 0;
    s->destroy_allowed = !json_is_false(json_object_get(conf, "destroy_allowed"));
    size_t n = doms ? json_array_size(doms) : 1, k;
    s->domains = calloc(n ? n : 1, sizeof(char *));
    if (!s->start_token || !s->screen_name || !s->appkey || !s->domains)
        goto oom;
    if (!doms) {
        s->domains[s->n_domains++] = strdup("www.yuexiu.gov.cn");
    } else {
        json_array_foreach (doms, k, d) {
            if (!json_is_string(d)) {
                hd_sim_log_error(sim, "config: secure_domains holds host names (strings)");
                destroy(s);
                return HD_EINVAL;
            }
            s->domains[s->n_domains++] = strdup(json_string_value(d));
        }
    }
    for (k = 0; k < s->n_domains; k++)
        if (!s->domains[k])
            goto oom;
    reset(s);
    if (s->n_tokens != 1)
        goto oom;
    *state = s;
    return 0;
oom:
    destroy(s);
    return HD_ENOMEM;
}

const struct hd_sim_def hd_sim_weibo = {
    .name = "weibo",
    .description = "Sina Weibo Open API: share, destroy, timeline, token info (CHANNELS.md §2)",
    .init = init,
    .destroy = destroy,
    .reset = reset,
    .handle = handle,
    .inspect = inspect,
    .control = control,
};
