/*
 * The WeChat official-account adapter's internals, shared by its files:
 *   wechat.c          the channel table, configuration, token source, poll, reconcile, retract
 *   wechat_api.c      one platform call: quota budget, access_token, HTTP, errcode, token retry
 *   wechat_publish.c  send(): assets, uploads, draft, persisted submit
 *   wechat_render.c   render(): limits, truncation, image plan, cover choice, summary fallback
 *   wechat_event.c    inbound(): the PUBLISHJOBFINISH event push (signature, XML)
 * Adapters include only the ABI headers (plus libc, jansson and, here, libxml2).
 */
#ifndef HD_WECHAT_H
#define HD_WECHAT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include <herald/channel.h>
#include <herald/services.h>

/* Platform limits (CHANNELS.md §1.2, §1.3). */
#define WX_TITLE_MAX     32
#define WX_AUTHOR_MAX    16
#define WX_DIGEST_MAX    128
#define WX_CONTENT_MAX   20000       /* characters, exclusive: content < 20,000 */
#define WX_CONTENT_BYTES (1u << 20)  /* bytes, exclusive: content < 1 MB */
#define WX_SOURCE_URL    1024        /* content_source_url <= 1 KB */
#define WX_THUMB_MAX     (64u << 10) /* thumb: JPG <= 64 KB */
#define WX_UPLOADIMG_MAX (1u << 20)  /* uploadimg: jpg/png < 1 MB */
#define WX_URL_RESERVE   256         /* what one uploaded image URL may add to the content */

/* ---- render (pure; wechat_render.c) --------------------------------------------------------- */

enum wx_overlong { WX_OVERLONG_SUMMARY_LINK, WX_OVERLONG_REJECT };

struct wx_render_conf {
    const char *author;  /* NULL: the publisher's name when it fits */
    int truncate_title;  /* else an over-long title is rejected */
    int truncate_digest; /* else an over-long summary is rejected */
    enum wx_overlong overlong;
    int drop_images;   /* images the platform cannot carry: drop them (else reject) */
    int append_images; /* item images the body does not show go after the body */
    int have_default_cover;
    int need_open_comment, only_fans_can_comment;
};

/* Length as the adapter counts it for every limit: UTF-16 code units (a character outside the
 * BMP, e.g. an emoji, counts 2). Conservative: how the platform counts 字 is unconfirmed, and
 * this is never less than a count of code points. Invalid UTF-8 bytes count 1 each. */
size_t wx_len(const char *s);
/* At most max units (wx_len) of s, cut on a grapheme boundary (never inside a surrogate pair,
 * an emoji ZWJ sequence, a flag, or before a combining mark / variation selector / skin tone);
 * when cut, `ellipsis` is appended within max. malloc'd. */
char *wx_truncate(const char *s, size_t max, const char *ellipsis);
/* The payload render() produces (JSON, see wechat_render.c); 0 or HD_RENDER_REJECT. */
int wx_render_plan(const struct wx_render_conf *c, const struct hd_item *it,
                   const struct hd_render_ctx *rc, char **json_out, char *err, size_t errlen);
/* The placeholder render() writes into src attributes for image i: "herald-img://<i>". */
#define WX_IMG_PLACEHOLDER "herald-img://"
/* Replaces every `src="herald-img://<i>"` with urls[i]; NULL when an index is out of range.
 * malloc'd. */
char *wx_fill_images(const char *content, const char *const *urls, size_t n);
/* 1 for JPEG / PNG magic bytes. */
int wx_is_jpeg(const void *data, size_t len);
int wx_is_png(const void *data, size_t len);

/* ---- the adapter ----------------------------------------------------------------------------- */

#define WX_EVENTS_KEPT 256

struct wx_event { /* a PUBLISHJOBFINISH the core could not apply yet, or one already applied */
    char publish_id[64];
    int status;
    char article_id[128];
    char url[512];
    int64_t received_ms;
    int applied; /* resolve_remote() took it */
    int tries;
};

struct wechat {
    struct hd_instance *inst;
    const struct hd_services *svc;
    const char *appid, *base_url;
    const char *secret; /* borrowed from the core (conf_secret) */
    size_t secret_len;
    const char *event_token;
    size_t event_token_len;
    unsigned char aes_keys[2][32]; /* event_aes_key, event_aes_key_previous */
    int n_aes_keys;
    struct wx_render_conf rconf;
    const char *default_cover_url; /* a URL, fetched at send time */
    unsigned char *default_cover;  /* owned: a file's bytes, read at create() */
    size_t default_cover_len;
    char *default_thumb; /* owned: the default cover's thumb media_id, once uploaded this run */
    int64_t quota_window_ms;
    int64_t poll_first_ms, poll_max_ms, give_up_ms;
    int last_token_errcode; /* of the last failed stable_token fetch */
    char last_token_detail[200];
    struct wx_event events[WX_EVENTS_KEPT]; /* ring, newest at events_next - 1 */
    size_t events_next;
    struct hd_timer *events_timer;
    struct wx_job *jobs; /* ops in flight (for destroy) */
};

/* Budget names (quota_define in create()); the platform's daily numbers are the defaults. */
#define WX_Q_SUBMIT   "submit"
#define WX_Q_POLL     "poll"
#define WX_Q_DELETE   "delete"
#define WX_Q_DRAFT    "draft_add"
#define WX_Q_DRAFTGET "draft_get"
#define WX_Q_LIST     "published_list"
#define WX_Q_UPLOAD   "upload"

/* ---- one op in flight, and one platform call (wechat_api.c) ---------------------------------- */

enum wx_class {
    WX_OK,
    WX_TRANSIENT, /* network, 5xx, -1 system busy, unreadable answer */
    WX_TOKEN,     /* 40001/40014/42001 after the one refresh-and-retry */
    WX_CONFIG,    /* 40164 IP whitelist, 48001 unauthorized, bad appid/secret, 53500 */
    WX_QUOTA_DAY, /* 45009, or our own budget spent */
    WX_QUOTA_MIN, /* 45011 */
    WX_RATE,      /* 53501 publishing too often */
    WX_CONTENT,   /* the request itself is refused: a person must look */
    WX_CLASS_MAX
};

struct wx_result {
    enum hd_http_error transport;
    int request_sent;
    int http_status;
    long errcode; /* 0 ok; WX_NO_ERRCODE when the answer was not WeChat JSON */
    const char *errmsg;
    json_t *json;    /* borrowed during the callback */
    int64_t next_ms; /* WX_QUOTA_DAY from our own budget: when it refills */
    enum wx_class cls;
    char detail[300];
};
#define WX_NO_ERRCODE (-999999)

struct wx_job;
typedef void wx_step_fn(struct wx_job *j, const struct wx_result *r);
typedef void wx_fetch_fn(struct wx_job *j, const struct wx_result *r, const void *data, size_t len);

struct wx_job {
    struct wechat *w;
    struct hd_op *op;
    struct wx_job *next; /* w->jobs */
    json_t *plan;        /* owned: the parsed payload (send) */
    json_t *state;       /* owned: adapter_state as we will persist it next */
    int prior_submit;    /* adapter_state had a submit_at when the op started */
    int cancelled, completed;
    int submit_sent; /* the submit request may have reached the platform */
    /* the call in progress */
    struct hd_http_call *http;
    struct hd_timer *timer;
    int waiting_token, waiting_persist;
    char *token; /* owned: the access_token the call used */
    int token_retried;
    char *path;               /* owned: "freepublish/submit", or a full URL for fetches */
    char *query;              /* owned: extra query ("type=thumb"), may be NULL */
    char *body;               /* owned: JSON body */
    struct hd_http_part part; /* multipart "media" when part.data */
    unsigned char *part_data; /* owned */
    wx_step_fn *step;
    wx_fetch_fn *fetched;
    size_t fetch_cap;
    /* send: uploads */
    size_t img_i, n_imgs;
    char **img_urls;      /* owned: mmbiz URLs, by placeholder index */
    int cover_default;    /* the cover in use is the configured default */
    int thumb_reuploaded; /* the cached default cover was uploaded again once */
    char plan_hash[65];   /* sha256 of the payload: a kept draft is reused only for the same plan */
    const char *quota;    /* the budget of the call in progress (static string) */
    struct wx_result later; /* a result delivered from a timer */
};

/* Starts a POST to <base_url>/cgi-bin/<path>?access_token=..[&query] with a JSON body (owned by
 * the call from now) or, when data, a multipart `media` part (data copied). quota: a budget to
 * take one from first, or NULL. step runs once, later, with the result. 0 or -1 (not started;
 * the job's call fields are cleared). */
int wx_api(struct wx_job *j, const char *path, const char *query, char *body, const void *data,
           size_t len, const char *filename, const char *ctype, const char *quota,
           wx_step_fn *step);
/* Runs step with j->later from a timer (as if a call had answered). 0 or -1. */
int wx_step_later(struct wx_job *j, wx_step_fn *step);
/* GET an asset (no token), at most cap bytes; fetched runs once, later. 0 or -1. */
int wx_fetch(struct wx_job *j, const char *url, size_t cap, wx_fetch_fn *fetched);
/* Cancels the call in progress (its step still runs, with transport HD_HTTP_CANCELLED). */
void wx_api_cancel(struct wx_job *j);
/* Completes the job's op (once) with an outcome and frees the job. */
void wx_complete(struct wx_job *j, enum hd_outcome_kind kind, const char *reason,
                 const char *detail, const struct wx_result *r, const char *remote_id,
                 const char *url, int64_t at_ms);
/* The outcome an error result means for each op kind (CHANNELS.md §1.5; README table). */
void wx_fail(struct wx_job *j, const struct wx_result *r);
/* The op was cancelled: completes it (unknown once the submit may have gone out) and returns 1. */
int wx_stopped(struct wx_job *j);
/* Completes later from a timer (never inside the call that took the op). */
void wx_complete_later(struct wx_job *j, enum hd_outcome_kind kind, const char *reason,
                       const char *detail, const char *remote_id, const char *url, int64_t at_ms);
struct wx_job *wx_job_new(struct wechat *w, struct hd_op *op);
void wx_job_free(struct wx_job *j);
/* persist(job->state) then run `then` (0 on success, else the store error). */
int wx_persist(struct wx_job *j, void (*then)(struct wx_job *j, int err));
/* When the budget `name`, spent to the platform's word (45009), refills: spends what is left. */
int64_t wx_quota_spent(struct wechat *w, const char *name);
/* The next minute boundary plus a little jitter (45011). */
int64_t wx_next_minute(struct wechat *w);
const char *wx_state_str(json_t *state, const char *key);

/* ---- the steps (wechat_publish.c, wechat.c) -------------------------------------------------- */

int wx_send(void *state, struct hd_op *op);
void wx_poll_status_for(struct wx_job *j, const char *publish_id, int for_retract);
/* After a freepublish/get or an event: the outcome publish_status means (poll semantics). */
void wx_status_outcome(int status, const char *publish_id, const char *url, struct hd_outcome *o,
                       char *detail, size_t detail_len);

/* ---- events (wechat_event.c) -------------------------------------------------------------- */

int wx_inbound(void *state, const struct hd_inbound_req *req, struct hd_inbound_resp *resp);
/* The event already received for publish_id, or NULL. */
const struct wx_event *wx_event_find(struct wechat *w, const char *publish_id);
void wx_events_stop(struct wechat *w);
/* 1 when sig is the WeChat signature of (token, timestamp, nonce): sha1 of the three sorted and
 * joined. */
int wx_signature_ok(const struct hd_services *svc, const char *token, const char *timestamp,
                    const char *nonce, const char *sig);

#endif
