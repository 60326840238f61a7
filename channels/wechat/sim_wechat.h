/*
 * The WeChat simulator's internals, shared by its files:
 *   sim_wechat.c          config, request checks (method, IP, access_token, quotas, knobs),
 *                         tokens, control endpoints, the model's state
 *   sim_wechat_token.c    stable_token and the classic token, the access_token check
 *   sim_wechat_content.c  media, drafts, freepublish (publish jobs and their status scripts)
 *   sim_wechat_push.c     the PUBLISHJOBFINISH event push to the callback URL
 */
#ifndef HD_SIM_WECHAT_H
#define HD_SIM_WECHAT_H

#include <stdint.h>

#include <jansson.h>

#include "sim.h"

#define WXS_THUMB_MAX  (64 * 1024)
#define WXS_IMG_MAX    (1024 * 1024)
#define WXS_IMAGE_MAX  (10 * 1024 * 1024)
#define WXS_TITLE      32
#define WXS_AUTHOR     16
#define WXS_DIGEST     128
#define WXS_CONTENT    20000
#define WXS_CONTENT_B  (1024 * 1024)
#define WXS_SOURCE_URL 1024

struct wxs_push;

struct wxs {
    struct hd_sim *sim; /* borrowed */
    json_t *conf;       /* owned: the configuration, applied again on reset */
    /* configuration (and knobs that change it) */
    char *appid, *secret;
    char *event_token;  /* owned, may be NULL */
    char *callback_url; /* owned, may be NULL */
    /* 消息加解密方式: 0 明文模式 (plain), 1 兼容模式 (compat), 2 安全模式 (safe) */
    int event_mode;
    char *event_aes_key; /* owned: the EncodingAESKey, needed for compat and safe */
    int64_t token_ttl_s, early_refresh_s, day_s, tz_offset_s, step_ms, event_retry_ms;
    int event_retries;
    json_t *default_script; /* [1, 0] */
    json_t *risky_words;    /* 87014 */
    json_t *check_words;    /* 53503 */
    json_t *limits;         /* api -> {"day":N,"minute":M}: the platform's numbers + overrides */
    int verified, ip_blocked;
    json_t *unauthorized; /* apis answering 48001 */
    /* one-shot knobs */
    long invalid_next, busy_next, event_drop_next, event_dup_next;
    double busy_p;
    uint64_t rng;
    json_t *scripts; /* queue of {"statuses":[..], "title_contains":".."} */
    /* the model */
    json_t *tokens; /* token -> {"kind":"stable"|"classic","expires_ms":t} */
    char *stable;   /* owned: the current stable token */
    int64_t last_force_ms;
    json_t *counters;  /* api -> {"day":idx,"used":n,"minute":idx,"used_minute":n} */
    json_t *media;     /* media_id -> {"type","size","sha256","url"?} */
    json_t *images;    /* uploadimg URL -> {"size","sha256"} */
    json_t *drafts;    /* media_id -> {"articles":[..],"created_ms","stripped_images",..} */
    json_t *submitted; /* draft media_id -> publish_id (the draft left the box) */
    json_t *publishes; /* [{publish_id, title, fingerprint, script, index, status, ...}] */
    json_t *events;    /* [{publish_id, status, attempts, acked, ...}] the pushes */
    int64_t seq;
    int clear_quota_used;
    int callback_verified; /* -1 not checked, 0 failed, 1 echoed */
    struct event *tick;    /* owned: moves publish jobs along their scripts */
    struct wxs_push *pushes;
};

/* ---- sim_wechat.c ------------------------------------------------------------------------- */

int64_t wxs_now(struct wxs *s);
/* A fresh id of `len` characters from [A-Za-z0-9_-] (prefix included). malloc'd. */
char *wxs_id(struct wxs *s, const char *prefix, size_t len);
/* Answers {"errcode":code,"errmsg":"msg rid: ..."} with HTTP 200, as the platform does. */
void wxs_error(struct hd_sim_req *r, long code, const char *msg);
/* Answers a JSON body with HTTP 200 and the platform's Content-Type. Takes the reference. */
void wxs_reply(struct hd_sim_req *r, json_t *body);
/* The JSON object body of a POST, or NULL after answering 47001. */
json_t *wxs_body(struct hd_sim_req *r);
size_t wxs_chars(const char *s);      /* code points */
int64_t wxs_day_index(struct wxs *s); /* the quota day (Beijing time on the simulator's clock) */
/* Counts one call of `api`: 0, or answers 45009 / 45011 and returns -1. */
int wxs_take_quota(struct wxs *s, struct hd_sim_req *r, const char *api);

/* ---- sim_wechat_token.c --------------------------------------------------------------------- */

void wxs_stable_token(struct wxs *s, struct hd_sim_req *r);
void wxs_classic_token(struct wxs *s, struct hd_sim_req *r);
/* 0 when the request's access_token is good; otherwise answers the error and returns -1. */
int wxs_check_token(struct wxs *s, struct hd_sim_req *r);
/* 0 unless the ip_blocked knob is on (then answers 40164 and returns -1). */
int wxs_check_ip(struct wxs *s, struct hd_sim_req *r);
int wxs_has_word(const json_t *words, const char *text);

/* ---- sim_wechat_content.c ------------------------------------------------------------------ */

void wxs_uploadimg(struct wxs *s, struct hd_sim_req *r);
void wxs_add_material(struct wxs *s, struct hd_sim_req *r);
void wxs_draft(struct wxs *s, struct hd_sim_req *r, const char *what);
void wxs_freepublish(struct wxs *s, struct hd_sim_req *r, const char *what);
/* Moves publish jobs whose next step is due (the sim clock); pushes events of finished ones. */
void wxs_tick(struct wxs *s);
/* Control: advance publishes now / set a status (5: deleted on the console, 6: banned). */
int wxs_advance(struct wxs *s, const json_t *body, json_t **reply);
int wxs_set_status(struct wxs *s, const json_t *body, json_t **reply);

/* ---- sim_wechat_push.c ---------------------------------------------------------------------- */

/* Pushes the PUBLISHJOBFINISH event of `pub` (knobs: drop, duplicate). */
void wxs_push_event(struct wxs *s, json_t *pub);
/* "plain" 0, "compat" 1, "safe" 2; -1 for anything else. */
int wxs_event_mode(const char *name);
/* Whether event_aes_key is an EncodingAESKey. */
int wxs_aes_key_ok(const struct wxs *s);
/* GET <callback>?signature&timestamp&nonce&echostr: the URL check (result in callback_verified). */
void wxs_verify_callback(struct wxs *s);
void wxs_push_stop(struct wxs *s);
/* sha1(sort(token, timestamp, nonce)) hex. */
void wxs_signature(const char *token, const char *ts, const char *nonce, char out[41]);

#endif
