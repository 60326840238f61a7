/*
 * WeChat official-account simulator (research/CHANNELS.md §1): the part of api.weixin.qq.com
 * herald's adapter talks to, with the platform's wire format and rules. Every API error is HTTP
 * 200 with {"errcode":N,"errmsg":"... rid: ..."} (§0.3); business calls take ?access_token=.
 *
 * This file: configuration, the checks every call passes (method, IP whitelist, access_token,
 * the knobs, per-API daily and per-minute quotas with the platform's numbers, §1.6),
 * clear_quota, the control endpoints and the model's state. The token endpoints are in
 * sim_wechat_token.c, media, drafts and publish jobs in sim_wechat_content.c, the event push in
 * sim_wechat_push.c. README.md lists every rule and the raw-HTTP test that checks it.
 *
 * config (all optional): {"appid","secret","event_token","callback_url","event_mode":"plain"
 * (or "compat", "safe": 消息加解密方式),"event_aes_key" (EncodingAESKey),"token_ttl_s":7200,
 *   "early_refresh_s":300,"day_s":86400,"tz_offset_s":28800,"publish_step_ms":1000,
 *   "script":[1,0],"risky_words":[..],"check_words":[..],"limits":{"freepublish/submit":
 *   {"day":100,"minute":0}},"verified":true,"event_retries":3,"event_retry_ms":1000}
 */
#include <ctype.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "common.h"
#include "sim.h"
#include "sim_wechat.h"
#include "wx_crypt.h"

#define DEFAULT_APPID         "wxd5f4a3b2c1e0f9a8"
#define DEFAULT_SECRET        "herald-sim-wechat-appsecret"
#define DEFAULT_TOKEN         "herald-sim-event-token"
#define CLEAR_QUOTA_PER_MONTH 10
#define TICK_MS               50

/* The platform's limits for a newly registered account (CHANNELS.md §1.6; stable_token §1.1). */
static const struct {
    const char *api;
    long day, minute;
} platform_limits[] = {
    {"token", 2000, 0},
    {"stable_token", 500000, 10000},
    {"media/uploadimg", 100000, 0},
    {"material/add_material", 100000, 0},
    {"draft/add", 1000, 0},
    {"draft/update", 1000, 0},
    {"draft/delete", 1000, 0},
    {"draft/count", 1000, 0},
    {"draft/batchget", 1000, 0},
    {"draft/get", 500, 0},
    {"freepublish/submit", 100, 0},
    {"freepublish/get", 100, 0},
    {"freepublish/delete", 10, 0},
    {"freepublish/getarticle", 100, 0},
    {"freepublish/batchget", 100, 0},
};

/* ---- small helpers ------------------------------------------------------------------------- */

int64_t wxs_now(struct wxs *s)
{
    return hd_sim_now_ms(s->sim);
}

static uint64_t next_rand(struct wxs *s)
{
    /* xorshift64*: ids and busy_p, not security */
    s->rng ^= s->rng >> 12;
    s->rng ^= s->rng << 25;
    s->rng ^= s->rng >> 27;
    return s->rng * 2685821657736338717ULL;
}

char *wxs_id(struct wxs *s, const char *prefix, size_t len)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-";
    size_t pl = strlen(prefix);
    char *out = malloc(len + 1);
    if (!out)
        return NULL;
    memcpy(out, prefix, pl < len ? pl : len);
    for (size_t i = pl; i < len; i++)
        out[i] = alphabet[next_rand(s) % 64];
    out[len] = '\0';
    return out;
}

void wxs_reply(struct hd_sim_req *r, json_t *body)
{
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    if (!text) {
        hd_sim_reply(r, 500, "text/plain", "out of memory\n", 14);
        return;
    }
    hd_sim_reply(r, 200, "application/json; encoding=utf-8", text, strlen(text));
    free(text);
}

void wxs_error(struct hd_sim_req *r, long code, const char *msg)
{
    static unsigned seq;
    char text[300];
    int64_t now = hd_sim_now_ms(hd_sim_req_sim(r));
    /* the platform appends a request id to errmsg: clients must read errcode, not the text */
    snprintf(text, sizeof(text), "%s rid: %08x-%08x-%08x", msg, (unsigned)(now / 1000),
             (unsigned)(now % 1000) * 2654435761u, ++seq * 40503u);
    wxs_reply(r, json_pack("{s:i,s:s}", "errcode", (int)code, "errmsg", text));
}

json_t *wxs_body(struct hd_sim_req *r)
{
    size_t len;
    const char *raw = hd_sim_req_body(r, &len);
    json_t *j = json_loadb(raw, len, 0, NULL);
    if (!json_is_object(j)) {
        json_decref(j);
        wxs_error(r, 47001, "data format error");
        return NULL;
    }
    return j;
}

size_t wxs_chars(const char *s)
{
    size_t n = 0;
    for (; s && *s; s++)
        n += ((unsigned char)*s & 0xc0) != 0x80;
    return n;
}

int wxs_has_word(const json_t *words, const char *text)
{
    size_t i;
    json_t *w;
    json_array_foreach ((json_t *)words, i, w) {
        const char *word = json_string_value(w);
        if (text && word && *word && strstr(text, word))
            return 1;
    }
    return 0;
}

/* ---- quotas ---------------------------------------------------------------------------------- */

int64_t wxs_day_index(struct wxs *s)
{
    int64_t t = wxs_now(s) / 1000 + s->tz_offset_s;
    return t >= 0 ? t / s->day_s : (t - s->day_s + 1) / s->day_s;
}

int wxs_take_quota(struct wxs *s, struct hd_sim_req *r, const char *api)
{
    json_t *lim = json_object_get(s->limits, api);
    if (!lim)
        return 0;
    json_int_t day = json_integer_value(json_object_get(lim, "day"));
    json_int_t minute = json_integer_value(json_object_get(lim, "minute"));
    json_t *c = json_object_get(s->counters, api);
    if (!c) {
        c = json_object();
        json_object_set_new(s->counters, api, c);
    }
    int64_t d = wxs_day_index(s), m = wxs_now(s) / 60000;
    if (json_integer_value(json_object_get(c, "day")) != d) {
        json_object_set_new(c, "day", json_integer(d));
        json_object_set_new(c, "used", json_integer(0));
    }
    if (json_integer_value(json_object_get(c, "minute")) != m) {
        json_object_set_new(c, "minute", json_integer(m));
        json_object_set_new(c, "used_minute", json_integer(0));
    }
    json_int_t used = json_integer_value(json_object_get(c, "used"));
    json_int_t used_m = json_integer_value(json_object_get(c, "used_minute"));
    if (day > 0 && used >= day) {
        wxs_error(r, 45009, "reach max api daily quota limit");
        return -1;
    }
    if (minute > 0 && used_m >= minute) {
        wxs_error(r, 45011, "api minute-quota reach limit, must slower, retry next minute");
        return -1;
    }
    json_object_set_new(c, "used", json_integer(used + 1));
    json_object_set_new(c, "used_minute", json_integer(used_m + 1));
    return 0;
}

static void set_limits(struct wxs *s, const json_t *over)
{
    const char *api;
    json_t *v;
    json_object_foreach ((json_t *)over, api, v) {
        json_t *cur = json_object_get(s->limits, api);
        if (!cur) {
            cur = json_pack("{s:i,s:i}", "day", 0, "minute", 0);
            json_object_set_new(s->limits, api, cur);
        }
        json_t *d = json_object_get(v, "day"), *m = json_object_get(v, "minute");
        if (json_is_integer(d))
            json_object_set(cur, "day", d);
        if (json_is_integer(m))
            json_object_set(cur, "minute", m);
    }
}

static void reset_limits(struct wxs *s)
{
    json_object_clear(s->limits);
    for (size_t i = 0; i < HD_ARRAY_LEN(platform_limits); i++)
        json_object_set_new(s->limits, platform_limits[i].api,
                            json_pack("{s:i,s:i}", "day", (int)platform_limits[i].day, "minute",
                                      (int)platform_limits[i].minute));
}

/* ---- clear_quota -------------------------------------------------------------------------- */

/* POST /cgi-bin/clear_quota {"appid"}: 10 a month (48006 after). */
static void clear_quota(struct wxs *s, struct hd_sim_req *r)
{
    json_t *b = wxs_body(r);
    if (!b)
        return;
    const char *appid = json_string_value(json_object_get(b, "appid"));
    if (!appid || strcmp(appid, s->appid) != 0)
        wxs_error(r, 40013, "invalid appid");
    else if (s->clear_quota_used >= CLEAR_QUOTA_PER_MONTH)
        wxs_error(r, 48006, "forbid to clear quota because of reaching the limit");
    else {
        s->clear_quota_used++;
        json_object_clear(s->counters);
        wxs_reply(r, json_pack("{s:i,s:s}", "errcode", 0, "errmsg", "ok"));
    }
    json_decref(b);
}

/* ---- the request path ------------------------------------------------------------------------ */

static void handle(void *state, struct hd_sim_req *r)
{
    struct wxs *s = state;
    const char *path = hd_sim_req_path(r);
    wxs_tick(s);
    if (strncmp(path, "/cgi-bin/", 9) != 0) {
        hd_sim_reply(r, 404, "text/html", "<html><body>404 Not Found</body></html>", 39);
        return;
    }
    const char *api = path + 9;
    if (strcmp(api, "stable_token") == 0) {
        wxs_stable_token(s, r);
        return;
    }
    if (strcmp(api, "token") == 0) {
        wxs_classic_token(s, r);
        return;
    }
    static const char *const known[] = {"media/uploadimg",
                                        "material/add_material",
                                        "draft/add",
                                        "draft/get",
                                        "draft/delete",
                                        "draft/count",
                                        "freepublish/submit",
                                        "freepublish/get",
                                        "freepublish/delete",
                                        "freepublish/getarticle",
                                        "freepublish/batchget",
                                        "clear_quota"};
    size_t k;
    for (k = 0; k < HD_ARRAY_LEN(known) && strcmp(known[k], api) != 0; k++)
        ;
    if (k == HD_ARRAY_LEN(known)) {
        hd_sim_reply(r, 404, "text/html", "<html><body>404 Not Found</body></html>", 39);
        return;
    }
    if (strcmp(hd_sim_req_method(r), "POST") != 0) {
        wxs_error(r, 43002, "require POST method");
        return;
    }
    if (wxs_check_ip(s, r) < 0 || wxs_check_token(s, r) < 0)
        return;
    if (s->busy_next > 0 ||
        (s->busy_p > 0 && (double)(next_rand(s) >> 11) / 9007199254740992.0 < s->busy_p)) {
        if (s->busy_next > 0)
            s->busy_next--;
        wxs_error(r, -1, "system error");
        return;
    }
    size_t i;
    json_t *u;
    json_array_foreach (s->unauthorized, i, u) {
        if (strcmp(json_string_value(u), api) == 0) {
            wxs_error(r, 48001, "api unauthorized");
            return;
        }
    }
    if (strcmp(api, "freepublish/delete") == 0 && !s->verified) {
        wxs_error(r, 48001, "api unauthorized"); /* 仅认证公众号 (§1.3) */
        return;
    }
    if (strcmp(api, "clear_quota") == 0) {
        clear_quota(s, r);
        return;
    }
    if (wxs_take_quota(s, r, api) < 0)
        return;
    if (strcmp(api, "media/uploadimg") == 0)
        wxs_uploadimg(s, r);
    else if (strcmp(api, "material/add_material") == 0)
        wxs_add_material(s, r);
    else if (strncmp(api, "draft/", 6) == 0)
        wxs_draft(s, r, api + 6);
    else
        wxs_freepublish(s, r, api + 12);
}

/* ---- control --------------------------------------------------------------------------------- */

static int set_string(char **dst, const json_t *v)
{
    if (!v)
        return 0;
    if (!json_is_string(v) && !json_is_null(v))
        return -1;
    free(*dst);
    *dst = json_is_string(v) ? strdup(json_string_value(v)) : NULL;
    return 0;
}

static int int_arg(const json_t *b, const char *key, long *out)
{
    json_t *v = json_object_get(b, key);
    if (!v)
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return -1;
    *out = (long)json_integer_value(v);
    return 1;
}

static int valid_script(const json_t *a)
{
    size_t i;
    json_t *v;
    if (!json_is_array(a) || json_array_size(a) == 0)
        return 0;
    json_array_foreach ((json_t *)a, i, v) {
        if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 6)
            return 0;
    }
    return 1;
}

static int knobs(struct wxs *s, const json_t *b, json_t **reply)
{
    long v;
    json_t *x;
    if (int_arg(b, "invalid_next", &v) > 0)
        s->invalid_next = v;
    if (int_arg(b, "busy_next", &v) > 0)
        s->busy_next = v;
    if (int_arg(b, "event_drop_next", &v) > 0)
        s->event_drop_next = v;
    if (int_arg(b, "event_dup_next", &v) > 0)
        s->event_dup_next = v;
    if (int_arg(b, "publish_step_ms", &v) > 0)
        s->step_ms = v > 0 ? v : 1;
    if (int_arg(b, "token_ttl_s", &v) > 0)
        s->token_ttl_s = v;
    if ((x = json_object_get(b, "busy_p")) && json_is_number(x))
        s->busy_p = json_number_value(x);
    if ((x = json_object_get(b, "ip_blocked")) && json_is_boolean(x))
        s->ip_blocked = json_is_true(x);
    if ((x = json_object_get(b, "verified")) && json_is_boolean(x))
        s->verified = json_is_true(x);
    json_t **lists[] = {&s->unauthorized, &s->risky_words, &s->check_words};
    static const char *const list_keys[] = {"unauthorized", "risky_words", "check_words"};
    for (size_t i = 0; i < HD_ARRAY_LEN(lists); i++)
        if ((x = json_object_get(b, list_keys[i])) && json_is_array(x)) {
            json_array_clear(*lists[i]);
            json_array_extend(*lists[i], x);
        }
    if ((x = json_object_get(b, "limits")) && json_is_object(x))
        set_limits(s, x);
    *reply =
        json_pack("{s:I,s:I,s:I,s:I,s:b,s:b}", "invalid_next", (json_int_t)s->invalid_next,
                  "busy_next", (json_int_t)s->busy_next, "event_drop_next",
                  (json_int_t)s->event_drop_next, "event_dup_next", (json_int_t)s->event_dup_next,
                  "ip_blocked", s->ip_blocked, "verified", s->verified);
    return 0;
}

static int tokens_control(struct wxs *s, const json_t *b, json_t **reply)
{
    const char *t;
    json_t *v, *tmp;
    long n;
    int64_t now = wxs_now(s);
    if (json_is_true(json_object_get(b, "expire_all")))
        json_object_foreach (s->tokens, t, v)
            json_object_set_new(v, "expires_ms", json_integer(now - 1));
    if (json_is_true(json_object_get(b, "invalidate_all"))) {
        json_object_foreach_safe (s->tokens, tmp, t, v)
            json_object_del(s->tokens, t);
        free(s->stable);
        s->stable = NULL;
    }
    if (int_arg(b, "invalid_next", &n) > 0)
        s->invalid_next = n;
    if (int_arg(b, "ttl_s", &n) > 0)
        s->token_ttl_s = n;
    *reply = json_pack("{s:I,s:I}", "tokens", (json_int_t)json_object_size(s->tokens),
                       "invalid_next", (json_int_t)s->invalid_next);
    return 0;
}

static int control(void *state, const char *path, const json_t *body, json_t **reply)
{
    struct wxs *s = state;
    wxs_tick(s);
    if (strcmp(path, "knobs") == 0)
        return knobs(s, body, reply);
    if (strcmp(path, "tokens") == 0)
        return tokens_control(s, body, reply);
    if (strcmp(path, "clear_quota") == 0) {
        json_object_clear(s->counters);
        s->clear_quota_used = 0;
        *reply = json_pack("{s:b}", "cleared", 1);
        return 0;
    }
    if (strcmp(path, "script") == 0) {
        json_t *st = json_object_get(body, "statuses"), *def = json_object_get(body, "default");
        if (json_is_true(json_object_get(body, "clear")))
            json_array_clear(s->scripts);
        if (def && valid_script(def)) {
            json_decref(s->default_script);
            s->default_script = json_deep_copy(def);
        }
        if (st && valid_script(st)) {
            json_t *e = json_pack("{s:O}", "statuses", st);
            json_t *m = json_object_get(body, "title_contains");
            if (json_is_string(m))
                json_object_set(e, "title_contains", m);
            json_array_append_new(s->scripts, e);
        }
        if ((st && !valid_script(st)) || (def && !valid_script(def)))
            return -1;
        *reply = json_pack("{s:O,s:O}", "queue", s->scripts, "default", s->default_script);
        return 0;
    }
    if (strcmp(path, "callback") == 0) {
        /* everything checked before anything changes */
        json_t *m = json_object_get(body, "mode"), *k = json_object_get(body, "aes_key");
        int mode = m ? wxs_event_mode(json_string_value(m)) : s->event_mode;
        const char *key = k ? json_string_value(k) : s->event_aes_key;
        unsigned char raw[32];
        int key_ok = key && wx_aes_key(key, strlen(key), raw) == 0;
        wx_wipe(raw, sizeof(raw));
        json_t *url = json_object_get(body, "url"), *tok = json_object_get(body, "token");
        if (mode < 0 || (mode && !key_ok) || (k && !json_is_string(k) && !json_is_null(k)) ||
            (url && !json_is_string(url) && !json_is_null(url)) ||
            (tok && !json_is_string(tok) && !json_is_null(tok)))
            return -1;
        set_string(&s->callback_url, url);
        set_string(&s->event_token, tok);
        set_string(&s->event_aes_key, k);
        s->event_mode = mode;
        if (json_is_true(json_object_get(body, "verify")))
            wxs_verify_callback(s);
        *reply = json_pack("{s:s?}", "url", s->callback_url);
        return 0;
    }
    if (strcmp(path, "advance") == 0)
        return wxs_advance(s, body, reply);
    if (strcmp(path, "set_status") == 0)
        return wxs_set_status(s, body, reply);
    return -1;
}

/* ---- life ------------------------------------------------------------------------------------ */

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    wxs_tick(arg);
}

static json_t *inspect(void *state)
{
    struct wxs *s = state;
    wxs_tick(s);
    json_t *drafts = json_object(), *v;
    const char *k;
    json_object_foreach (s->drafts, k, v) {
        json_object_set(drafts, k, v);
    }
    return json_pack(
        "{s:O,s:O,s:O,s:o,s:O,s:O,s:I,s:i,s:s?,s:O,s:I,s:I}", "publishes", s->publishes, "events",
        s->events, "counters", s->counters, "drafts", drafts, "media", s->media, "limits",
        s->limits, "tokens", (json_int_t)json_object_size(s->tokens), "callback_verified",
        s->callback_verified, "callback_url", s->callback_url, "images", s->images, "day_index",
        (json_int_t)wxs_day_index(s), "clear_quota_used", (json_int_t)s->clear_quota_used);
}

static int conf_int(struct hd_sim *sim, const json_t *conf, const char *key, int64_t def,
                    int64_t min, int64_t *out)
{
    json_t *v = json_object_get(conf, key);
    if (!v) {
        *out = def;
        return 0;
    }
    if (!json_is_integer(v) || json_integer_value(v) < min) {
        hd_sim_log_error(sim, "config: \"%s\" must be an integer >= %lld", key, (long long)min);
        return -1;
    }
    *out = json_integer_value(v);
    return 0;
}

static int word_list(struct hd_sim *sim, json_t *dst, const json_t *conf, const char *key,
                     const char *def)
{
    json_t *v = json_object_get(conf, key), *w;
    size_t k;
    if (v && !json_is_array(v))
        goto bad;
    json_array_foreach (v, k, w) {
        if (!json_is_string(w))
            goto bad;
    }
    json_array_clear(dst);
    if (v)
        json_array_extend(dst, v);
    else
        json_array_append_new(dst, json_string(def));
    return 0;
bad:
    hd_sim_log_error(sim, "config: \"%s\" must be an array of strings", key);
    return HD_EINVAL;
}

/* Applies the configuration (at start, and again on /_sim/reset): 0 or HD_EINVAL. */
static int configure(struct wxs *s, const json_t *conf)
{
    struct hd_sim *sim = s->sim;
    int64_t retries = 3;
    json_t *v;
    if (conf_int(sim, conf, "token_ttl_s", 7200, 1, &s->token_ttl_s) ||
        conf_int(sim, conf, "early_refresh_s", 300, 0, &s->early_refresh_s) ||
        conf_int(sim, conf, "day_s", 86400, 1, &s->day_s) ||
        conf_int(sim, conf, "tz_offset_s", 8 * 3600, -86400, &s->tz_offset_s) ||
        conf_int(sim, conf, "publish_step_ms", 1000, 1, &s->step_ms) ||
        conf_int(sim, conf, "event_retries", 3, 0, &retries) ||
        conf_int(sim, conf, "event_retry_ms", 1000, 1, &s->event_retry_ms))
        return HD_EINVAL;
    s->event_retries = (int)retries;
    v = json_object_get(conf, "verified");
    if (v && !json_is_boolean(v)) {
        hd_sim_log_error(sim, "config: \"verified\" must be true or false");
        return HD_EINVAL;
    }
    s->verified = !v || json_is_true(v);
    static const char *const strs[] = {"appid", "secret", "event_token", "callback_url",
                                       "event_aes_key"};
    char **dst[] = {&s->appid, &s->secret, &s->event_token, &s->callback_url, &s->event_aes_key};
    static const char *const defs[] = {DEFAULT_APPID, DEFAULT_SECRET, DEFAULT_TOKEN, NULL, NULL};
    for (size_t i = 0; i < HD_ARRAY_LEN(strs); i++) {
        v = json_object_get(conf, strs[i]);
        if (v && !json_is_string(v)) {
            hd_sim_log_error(sim, "config: \"%s\" must be a string", strs[i]);
            return HD_EINVAL;
        }
        free(*dst[i]);
        *dst[i] = v ? strdup(json_string_value(v)) : defs[i] ? strdup(defs[i]) : NULL;
    }
    v = json_object_get(conf, "event_mode");
    s->event_mode = v ? wxs_event_mode(json_string_value(v)) : 0;
    if (s->event_mode < 0 || (s->event_mode && !wxs_aes_key_ok(s))) {
        hd_sim_log_error(sim, "config: \"event_mode\" is plain, compat or safe; compat and safe "
                              "need \"event_aes_key\" (43 characters)");
        return HD_EINVAL;
    }
    v = json_object_get(conf, "script");
    if (v && !valid_script(v)) {
        hd_sim_log_error(sim, "config: \"script\" is a non-empty array of statuses 0-6");
        return HD_EINVAL;
    }
    json_decref(s->default_script);
    s->default_script = v ? json_deep_copy(v) : json_pack("[i,i]", 1, 0);
    if (word_list(sim, s->risky_words, conf, "risky_words", "herald-sim-risky") ||
        word_list(sim, s->check_words, conf, "check_words", "herald-sim-check-fail"))
        return HD_EINVAL;
    v = json_object_get(conf, "limits");
    if (v && !json_is_object(v)) {
        hd_sim_log_error(sim, "config: \"limits\" must be an object of {day, minute}");
        return HD_EINVAL;
    }
    reset_limits(s);
    set_limits(s, v);
    if (!s->appid || !s->secret || !s->default_script)
        return HD_ENOMEM;
    return 0;
}

static void reset(void *state)
{
    struct wxs *s = state;
    wxs_push_stop(s);
    json_object_clear(s->tokens);
    free(s->stable);
    s->stable = NULL;
    s->last_force_ms = 0;
    json_object_clear(s->counters);
    json_object_clear(s->media);
    json_object_clear(s->images);
    json_object_clear(s->drafts);
    json_object_clear(s->submitted);
    json_array_clear(s->publishes);
    json_array_clear(s->events);
    json_array_clear(s->scripts);
    json_array_clear(s->unauthorized);
    s->invalid_next = s->busy_next = s->event_drop_next = s->event_dup_next = 0;
    s->busy_p = 0;
    s->ip_blocked = 0;
    s->clear_quota_used = 0;
    s->callback_verified = -1;
    if (configure(s, s->conf) != 0)
        hd_sim_log_error(s->sim, "reset: the configuration no longer applies");
}

static void destroy(void *state)
{
    struct wxs *s = state;
    if (!s)
        return;
    wxs_push_stop(s);
    if (s->tick)
        event_free(s->tick);
    free(s->appid);
    free(s->secret);
    free(s->event_token);
    free(s->callback_url);
    free(s->event_aes_key);
    free(s->stable);
    json_t *all[] = {s->conf,         s->default_script, s->risky_words, s->check_words, s->limits,
                     s->unauthorized, s->scripts,        s->tokens,      s->counters,    s->media,
                     s->images,       s->drafts,         s->submitted,   s->publishes,   s->events};
    for (size_t i = 0; i < HD_ARRAY_LEN(all); i++)
        json_decref(all[i]);
    free(s);
}

static int init(struct hd_sim *sim, const json_t *conf, void **state)
{
    static const char *const known[] = {"appid",
                                        "secret",
                                        "event_token",
                                        "callback_url",
                                        "token_ttl_s",
                                        "early_refresh_s",
                                        "day_s",
                                        "tz_offset_s",
                                        "publish_step_ms",
                                        "script",
                                        "risky_words",
                                        "check_words",
                                        "limits",
                                        "verified",
                                        "event_retries",
                                        "event_retry_ms",
                                        "event_mode",
                                        "event_aes_key",
                                        NULL};
    if (hd_sim_conf_check_keys(sim, conf, known) < 0)
        return HD_EINVAL;
    struct wxs *s = calloc(1, sizeof(*s));
    if (!s)
        return HD_ENOMEM;
    s->sim = sim;
    s->rng = ((uint64_t)hd_now_ms() * 6364136223846793005ULL) ^ (uint64_t)getpid();
    if (!s->rng)
        s->rng = 88172645463325252ULL;
    s->conf = json_deep_copy(conf);
    s->risky_words = json_array();
    s->check_words = json_array();
    s->limits = json_object();
    s->unauthorized = json_array();
    s->scripts = json_array();
    s->tokens = json_object();
    s->counters = json_object();
    s->media = json_object();
    s->images = json_object();
    s->drafts = json_object();
    s->submitted = json_object();
    s->publishes = json_array();
    s->events = json_array();
    s->callback_verified = -1;
    if (!s->conf || !s->risky_words || !s->check_words || !s->limits || !s->unauthorized ||
        !s->scripts || !s->tokens || !s->counters || !s->media || !s->images || !s->drafts ||
        !s->submitted || !s->publishes || !s->events) {
        destroy(s);
        return HD_ENOMEM;
    }
    int rc = configure(s, conf);
    if (rc != 0) {
        destroy(s);
        return rc;
    }
    s->tick = event_new(hd_sim_base(sim), -1, EV_PERSIST, on_tick, s);
    struct timeval tv = {0, TICK_MS * 1000};
    if (!s->tick || event_add(s->tick, &tv) < 0) {
        destroy(s);
        return HD_ENOMEM;
    }
    *state = s;
    return 0;
}

const struct hd_sim_def hd_sim_wechat = {
    .name = "wechat",
    .description = "WeChat official account API (CHANNELS.md §1)",
    .init = init,
    .destroy = destroy,
    .reset = reset,
    .handle = handle,
    .inspect = inspect,
    .control = control,
};
