/*
 * Inside the weibo adapter: the instance state shared by weibo.c (configuration, render, the
 * token check) and weibo_ops.c (send, reconcile, poll, retract), and the pure helpers the unit
 * tests call directly.
 */
#ifndef HD_WEIBO_INT_H
#define HD_WEIBO_INT_H

#include <stdint.h>

#include <herald/channel.h>
#include <herald/services.h>

#define WB_Q_POSTS "posts" /* quota: posts per post_window */
#define WB_Q_CALLS "calls" /* quota: API calls per call_window */

struct wb_token_check;

struct weibo {
    struct hd_instance *inst;      /* borrowed until destroy() */
    const struct hd_services *svc; /* borrowed until destroy() */
    char *base;                    /* owned: base_url without a trailing '/' */
    const char *token;             /* borrowed from the core (a secret: never logged) */
    size_t token_len;
    const char *domain; /* secure_domain */
    const char *rip;
    int pic;
    int retract_ok;
    long text_limit;
    int64_t limit_window_ms; /* the platform's rate-limit window (10022-10024, 20016) */
    int64_t poll_ms;         /* between looks for a post answered 20032, or a duplicate */
    int64_t confirm_ms;      /* how long a post may stay invisible before we give up */
    int64_t skew_ms;         /* clock tolerance when matching created_at */
    int lookup_pages;
    struct hd_timer *check_timer; /* owned until it fires */
    struct wb_token_check *check; /* owned; detached (w = NULL) in destroy if in flight */
};

/* How a platform error code is handled (CHANNELS.md §2.4). */
enum hd_weibo_class {
    HD_WB_TRANSIENT, /* system error: try again with backoff */
    HD_WB_RATE,      /* rate limit: wait for the next window */
    HD_WB_REAUTH,    /* the token is dead: a person must authorize again */
    HD_WB_CONFIG,    /* app permissions, secure domain, parameters: fix the configuration */
    HD_WB_CONTENT,   /* this text or picture is refused */
    HD_WB_DUPLICATE, /* same or similar text exists: look the post up before anything else */
    HD_WB_DELAYED,   /* 20032: posted, the server is slow */
    HD_WB_GONE,      /* 20101: no such post */
    HD_WB_NOT_OWN,   /* 20102: not our post */
    HD_WB_CLASS_MAX
};

enum hd_weibo_class hd_weibo_classify(long code);
const char *hd_weibo_class_name(enum hd_weibo_class c);
/* The error_code of a Weibo error body (a number or a string of digits), 0 when there is none. */
long hd_weibo_error_code(const char *body, size_t len);
/* "Tue May 31 17:46:55 +0800 2011" -> epoch ms; 0 on success, -1 when it does not parse. */
int hd_weibo_parse_time(const char *s, int64_t *ms);
/* application/x-www-form-urlencoded value: every byte but unreserved ones as %XX. malloc'd. */
char *hd_weibo_form_escape(const char *s);

/* weibo_ops.c */
int hd_weibo_send(void *state, struct hd_op *op);
int hd_weibo_retract(void *state, struct hd_op *op);
int hd_weibo_poll(void *state, struct hd_op *op);
int hd_weibo_reconcile(void *state, struct hd_op *op);
void hd_weibo_cancel(void *state, struct hd_op *op);

#endif
