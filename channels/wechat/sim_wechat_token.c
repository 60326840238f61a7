/*
 * WeChat simulator: access tokens (CHANNELS.md §1.1). POST /cgi-bin/stable_token in normal mode
 * returns the same token while it is valid and a new one 5 minutes (early_refresh_s) before its
 * expiry, the old one staying valid until its own; force_refresh:true invalidates the old token
 * at once and is allowed 20 times a day, 30 s apart (45009 / 45011). GET /cgi-bin/token is the
 * classic token, isolated from the stable one: each fetch replaces the last after 5 minutes of
 * overlap. Business calls are checked here too: 41001 missing, 40014 malformed, 40001 not issued
 * or invalidated (and the invalid_next knob), 42001 expired; 40164 for an IP off the whitelist.
 */
#include <ctype.h>

#include "common.h"
#include "sim.h"
#include "sim_wechat.h"

#define FORCE_PER_DAY 20
#define FORCE_GAP_MS  30000

/* ---- access tokens -------------------------------------------------------------------------- */

static int token_well_formed(const char *t)
{
    size_t n = strlen(t);
    if (n < 20 || n > 512)
        return 0;
    for (; *t; t++)
        if (!isalnum((unsigned char)*t) && *t != '_' && *t != '-')
            return 0;
    return 1;
}

static char *mint(struct wxs *s, const char *kind, int64_t ttl_ms)
{
    char *t = wxs_id(s, "86_", 136);
    if (t)
        json_object_set_new(
            s->tokens, t,
            json_pack("{s:s,s:I}", "kind", kind, "expires_ms", (json_int_t)(wxs_now(s) + ttl_ms)));
    return t;
}

static int64_t token_expiry(struct wxs *s, const char *t)
{
    return t ? (int64_t)json_integer_value(
                   json_object_get(json_object_get(s->tokens, t), "expires_ms"))
             : 0;
}

int wxs_check_token(struct wxs *s, struct hd_sim_req *r)
{
    const char *t = hd_sim_req_query(r, "access_token");
    if (!t || !*t) {
        wxs_error(r, 41001, "access_token missing");
        return -1;
    }
    if (!token_well_formed(t)) {
        wxs_error(r, 40014, "invalid access_token");
        return -1;
    }
    json_t *rec = json_object_get(s->tokens, t);
    if (!rec) {
        wxs_error(r, 40001, "invalid credential, access_token is invalid or not latest");
        return -1;
    }
    if (token_expiry(s, t) <= wxs_now(s)) {
        wxs_error(r, 42001, "access_token expired");
        return -1;
    }
    if (s->invalid_next > 0) {
        s->invalid_next--;
        wxs_error(r, 40001, "invalid credential, access_token is invalid or not latest");
        return -1;
    }
    return 0;
}

/* ---- the token endpoints --------------------------------------------------------------------- */

int wxs_check_ip(struct wxs *s, struct hd_sim_req *r)
{
    if (!s->ip_blocked)
        return 0;
    wxs_error(r, 40164, "invalid ip 127.0.0.1 ipv6 ::ffff:127.0.0.1, not in whitelist");
    return -1;
}

/* POST /cgi-bin/stable_token (CHANNELS.md §1.1). */
void wxs_stable_token(struct wxs *s, struct hd_sim_req *r)
{
    if (strcmp(hd_sim_req_method(r), "POST") != 0) {
        wxs_error(r, 43002, "require POST method");
        return;
    }
    if (wxs_check_ip(s, r) < 0)
        return;
    json_t *b = wxs_body(r);
    if (!b)
        return;
    const char *grant = json_string_value(json_object_get(b, "grant_type"));
    const char *appid = json_string_value(json_object_get(b, "appid"));
    const char *secret = json_string_value(json_object_get(b, "secret"));
    json_t *force = json_object_get(b, "force_refresh");
    int64_t now = wxs_now(s);
    if (!grant || strcmp(grant, "client_credential") != 0)
        wxs_error(r, 40002, "invalid grant_type");
    else if (!appid || !*appid)
        wxs_error(r, 41002, "appid missing");
    else if (strcmp(appid, s->appid) != 0)
        wxs_error(r, 40013, "invalid appid");
    else if (!secret || !*secret)
        wxs_error(r, 41004, "appsecret missing");
    else if (strcmp(secret, s->secret) != 0)
        wxs_error(r, 40125, "invalid appsecret");
    else if (force && !json_is_boolean(force))
        wxs_error(r, 47001, "data format error");
    else if (wxs_take_quota(s, r, "stable_token") == 0) {
        if (json_is_true(force)) {
            json_t *c = json_object_get(s->counters, "stable_token");
            json_int_t n = json_integer_value(json_object_get(c, "force"));
            if (json_integer_value(json_object_get(c, "force_day")) != wxs_day_index(s))
                n = 0;
            if (n >= FORCE_PER_DAY) {
                wxs_error(r, 45009, "reach max api daily quota limit");
                goto done;
            }
            if (s->last_force_ms && now - s->last_force_ms < FORCE_GAP_MS) {
                wxs_error(r, 45011, "api minute-quota reach limit, must slower, retry next minute");
                goto done;
            }
            json_object_set_new(c, "force", json_integer(n + 1));
            json_object_set_new(c, "force_day", json_integer(wxs_day_index(s)));
            s->last_force_ms = now;
            if (s->stable)
                json_object_del(s->tokens, s->stable); /* the old one is invalid at once */
            free(s->stable);
            s->stable = NULL;
        }
        int64_t left = s->stable ? token_expiry(s, s->stable) - now : 0;
        if (!s->stable || left <= s->early_refresh_s * 1000) {
            /* the platform hands out a new token 5 minutes early; the old one stays valid
             * until its own expiry */
            free(s->stable);
            s->stable = mint(s, "stable", s->token_ttl_s * 1000);
            left = s->token_ttl_s * 1000;
        }
        wxs_reply(r, json_pack("{s:s,s:I}", "access_token", s->stable, "expires_in",
                               (json_int_t)(left / 1000)));
    }
done:
    json_decref(b);
}

/* GET /cgi-bin/token (the classic token: each fetch replaces the last, 5 minutes overlap). */
void wxs_classic_token(struct wxs *s, struct hd_sim_req *r)
{
    const char *grant = hd_sim_req_query(r, "grant_type");
    const char *appid = hd_sim_req_query(r, "appid");
    const char *secret = hd_sim_req_query(r, "secret");
    if (strcmp(hd_sim_req_method(r), "GET") != 0) {
        wxs_error(r, 43001, "require GET method");
        return;
    }
    if (wxs_check_ip(s, r) < 0)
        return;
    if (!grant || strcmp(grant, "client_credential") != 0)
        wxs_error(r, 40002, "invalid grant_type");
    else if (!appid || strcmp(appid, s->appid) != 0)
        wxs_error(r, appid ? 40013 : 41002, appid ? "invalid appid" : "appid missing");
    else if (!secret || strcmp(secret, s->secret) != 0)
        wxs_error(r, secret ? 40125 : 41004, secret ? "invalid appsecret" : "appsecret missing");
    else if (wxs_take_quota(s, r, "token") == 0) {
        const char *t;
        json_t *v;
        int64_t cap = wxs_now(s) + 300000;
        json_object_foreach (s->tokens, t, v) {
            if (strcmp(json_string_value(json_object_get(v, "kind")), "classic") == 0 &&
                json_integer_value(json_object_get(v, "expires_ms")) > cap)
                json_object_set_new(v, "expires_ms", json_integer(cap));
        }
        char *tok = mint(s, "classic", s->token_ttl_s * 1000);
        wxs_reply(r, json_pack("{s:s,s:I}", "access_token", tok, "expires_in",
                               (json_int_t)s->token_ttl_s));
        free(tok);
    }
}
