/*
 * The delivery state table and the one function that changes a delivery's state. Each change is
 * written with its status event (herald.status/v1, docs/status-topic.md) into the outbox in the
 * same store batch, so a crash either loses both or neither.
 */
#include <jansson.h>

#include "common.h"
#include "delivery.h"
#include "item.h"
#include "store.h"
#include "text.h"

static const char *const state_names[HD_D_MAX] = {
    [HD_D_PENDING] = "pending",
    [HD_D_HELD] = "held",
    [HD_D_SENDING] = "sending",
    [HD_D_WAITING_RETRY] = "waiting_retry",
    [HD_D_PUBLISHING] = "publishing",
    [HD_D_RECONCILING] = "reconciling",
    [HD_D_PARKED] = "parked",
    [HD_D_RETRACTING] = "retracting",
    [HD_D_DELIVERED] = "delivered",
    [HD_D_FAILED] = "failed",
    [HD_D_SUPERSEDED] = "superseded",
    [HD_D_RETRACTED] = "retracted",
    [HD_D_EXPIRED] = "expired",
    [HD_D_CANCELLED] = "cancelled",
    [HD_D_REMOVED_EXTERNALLY] = "removed_externally",
    [HD_D_MANUAL_ACTION] = "manual_action",
};

static const char *const hold_names[HD_HOLD_MAX] = {"none", "embargo", "dependency", "interprets"};

#define B(s) (1u << (s))
/* allowed[from] = set of states `from` may move to (docs/states.md is this table in prose). */
static const unsigned allowed[HD_D_MAX] = {
    [HD_D_PENDING] = B(HD_D_HELD) | B(HD_D_SENDING) | B(HD_D_SUPERSEDED) | B(HD_D_EXPIRED) |
                     B(HD_D_CANCELLED) | B(HD_D_PARKED) | B(HD_D_FAILED) | B(HD_D_MANUAL_ACTION) |
                     B(HD_D_RETRACTING),
    [HD_D_HELD] =
        B(HD_D_PENDING) | B(HD_D_SUPERSEDED) | B(HD_D_EXPIRED) | B(HD_D_CANCELLED) | B(HD_D_FAILED),
    [HD_D_SENDING] = B(HD_D_DELIVERED) | B(HD_D_PUBLISHING) | B(HD_D_WAITING_RETRY) |
                     B(HD_D_RECONCILING) | B(HD_D_FAILED) | B(HD_D_PARKED) | B(HD_D_PENDING),
    [HD_D_WAITING_RETRY] = B(HD_D_PENDING) | B(HD_D_SUPERSEDED) | B(HD_D_EXPIRED) |
                           B(HD_D_CANCELLED) | B(HD_D_FAILED) | B(HD_D_PARKED),
    [HD_D_PUBLISHING] = B(HD_D_DELIVERED) | B(HD_D_FAILED) | B(HD_D_RECONCILING) |
                        B(HD_D_REMOVED_EXTERNALLY) | B(HD_D_WAITING_RETRY) | B(HD_D_PARKED),
    [HD_D_RECONCILING] = B(HD_D_DELIVERED) | B(HD_D_PUBLISHING) | B(HD_D_PENDING) |
                         B(HD_D_WAITING_RETRY) | B(HD_D_FAILED) | B(HD_D_SUPERSEDED) |
                         B(HD_D_PARKED) | B(HD_D_CANCELLED),
    [HD_D_PARKED] = B(HD_D_PENDING) | B(HD_D_SUPERSEDED) | B(HD_D_EXPIRED) | B(HD_D_CANCELLED) |
                    B(HD_D_RECONCILING),
    [HD_D_RETRACTING] = B(HD_D_RETRACTED) | B(HD_D_MANUAL_ACTION) | B(HD_D_FAILED),
    [HD_D_DELIVERED] = B(HD_D_RETRACTING) | B(HD_D_REMOVED_EXTERNALLY) | B(HD_D_MANUAL_ACTION) |
                       B(HD_D_SUPERSEDED),
    [HD_D_FAILED] = B(HD_D_PENDING) | B(HD_D_CANCELLED),
    [HD_D_SUPERSEDED] = 0,
    [HD_D_RETRACTED] = 0,
    [HD_D_EXPIRED] = B(HD_D_PENDING),
    [HD_D_CANCELLED] = B(HD_D_PENDING),
    [HD_D_REMOVED_EXTERNALLY] = 0,
    [HD_D_MANUAL_ACTION] = B(HD_D_PENDING) | B(HD_D_RETRACTED) | B(HD_D_CANCELLED),
};

const char *hd_dstate_name(enum hd_dstate s)
{
    return (unsigned)s < HD_D_MAX ? state_names[s] : "invalid";
}

int hd_dstate_parse(const char *name)
{
    for (int i = 0; name && i < HD_D_MAX; i++)
        if (strcmp(name, state_names[i]) == 0)
            return i;
    return -1;
}

int hd_dstate_terminal(enum hd_dstate s)
{
    return s >= HD_D_DELIVERED;
}

int hd_dstate_allowed(enum hd_dstate from, enum hd_dstate to)
{
    if ((unsigned)from >= HD_D_MAX || (unsigned)to >= HD_D_MAX)
        return 0;
    return (allowed[from] & B(to)) != 0;
}

const char *hd_hold_name(enum hd_hold h)
{
    return (unsigned)h < HD_HOLD_MAX ? hold_names[h] : "none";
}

void hd_delivery_set_str(char **field, const char *value)
{
    if (*field == value)
        return;
    char *copy = value ? strdup(value) : NULL;
    free(*field);
    *field = copy;
}

void hd_delivery_clear(struct hd_delivery *d)
{
    if (!d)
        return;
    free(d->item_id);
    free(d->instance);
    free(d->target);
    free(d->reason);
    free(d->detail);
    free(d->hold_item);
    free(d->hold_instance);
    free(d->remote_id);
    free(d->remote_url);
    free(d->adapter_state);
    memset(d, 0, sizeof(*d));
}

void hd_delivery_free(struct hd_delivery *d)
{
    hd_delivery_clear(d);
    free(d);
}

const char *hd_delivery_name(const struct hd_delivery *d, char *buf, size_t len)
{
    if (d->target && d->target[0])
        snprintf(buf, len, "%s:%lld:%s:%s", d->item_id, (long long)d->version, d->instance,
                 d->target);
    else
        snprintf(buf, len, "%s:%lld:%s", d->item_id, (long long)d->version, d->instance);
    return buf;
}

void hd_idempotency_key(const char *item_id, int64_t version, const char *instance,
                        const char *target, char *out, size_t len)
{
    char idbuf[80];
    const char *id = item_id;
    /* herald: + id + :version + :instance[:target] must fit 255: hash a long item id */
    size_t fixed = 7 + 21 + 1 + strlen(instance) + (target && *target ? strlen(target) + 1 : 0);
    if (strlen(item_id) + fixed > 255) {
        char hex[65];
        hd_sha256_hex(item_id, strlen(item_id), hex);
        snprintf(idbuf, sizeof(idbuf), "sha256-%.40s", hex);
        id = idbuf;
    }
    if (target && *target)
        snprintf(out, len, "herald:%s:%lld:%s:%s", id, (long long)version, instance, target);
    else
        snprintf(out, len, "herald:%s:%lld:%s", id, (long long)version, instance);
}

/* A growing buffer for the status event: written by hand because it is on every state change
 * (json_pack + json_dumps cost a tenth of the daemon's time in the benchmark). */
struct jbuf {
    char *p;
    size_t len, cap;
    int oom;
};

static void jput(struct jbuf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 512;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

/* "key":"value" with the value escaped as JSON requires; bytes that are not valid UTF-8 (a
 * platform's answer can hold anything) become U+FFFD. */
/* ,"key": (the comma after the first member); keys are plain ASCII literals */
static void jkey(struct jbuf *b, const char *key)
{
    if (b->len > 1)
        jput(b, ",", 1);
    jput(b, "\"", 1);
    jput(b, key, strlen(key));
    jput(b, "\":", 2);
}

static void jstr(struct jbuf *b, const char *key, const char *v)
{
    int n;
    jkey(b, key);
    jput(b, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)v; *p;) {
        size_t run = 0;
        while (p[run] >= 0x20 && p[run] < 0x80 && p[run] != '"' && p[run] != '\\')
            run++;
        if (run) {
            jput(b, (const char *)p, run);
            p += run;
            continue;
        }
        char esc[8];
        if (*p == '"' || *p == '\\') {
            esc[0] = '\\';
            esc[1] = (char)*p;
            jput(b, esc, 2);
            p++;
        } else if (*p < 0x20) {
            n = snprintf(esc, sizeof(esc), "\\u%04x", *p);
            jput(b, esc, (size_t)n);
            p++;
        } else {
            size_t len = *p >= 0xF0 ? 4 : *p >= 0xE0 ? 3 : *p >= 0xC0 ? 2 : 1;
            if (len > 1 && strnlen((const char *)p, len) == len &&
                hd_utf8_valid((const char *)p, len)) {
                jput(b, (const char *)p, len);
                p += len;
            } else {
                jput(b, "\xEF\xBF\xBD", 3);
                p++;
            }
        }
    }
    jput(b, "\"", 1);
}

static void jint(struct jbuf *b, const char *key, long long v)
{
    char digits[24], *p = digits + sizeof(digits);
    unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
    do
        *--p = (char)('0' + u % 10);
    while ((u /= 10) != 0);
    if (v < 0)
        *--p = '-';
    jkey(b, key);
    jput(b, p, (size_t)(digits + sizeof(digits) - p));
}

static char *status_event(const struct hd_delivery *d, const char *prev)
{
    char name[512], at[32];
    struct jbuf b = {0};
    hd_time_format_rfc3339(d->updated_at, at);
    jput(&b, "{", 1);
    jstr(&b, "schema", "herald.status/v1");
    jstr(&b, "delivery", hd_delivery_name(d, name, sizeof(name)));
    jint(&b, "delivery_id", (long long)d->id);
    jint(&b, "seq", (long long)d->seq);
    jstr(&b, "item_id", d->item_id);
    jint(&b, "version", (long long)d->version);
    jstr(&b, "instance", d->instance);
    jstr(&b, "target", d->target ? d->target : "");
    jstr(&b, "state", hd_dstate_name(d->state));
    jstr(&b, "previous", prev);
    jint(&b, "attempts", d->attempts);
    jstr(&b, "at", at);
    if (d->reason)
        jstr(&b, "reason", d->reason);
    if (d->detail)
        jstr(&b, "detail", d->detail);
    if (d->remote_id)
        jstr(&b, "remote_id", d->remote_id);
    if (d->remote_url)
        jstr(&b, "url", d->remote_url);
    if (d->next_at) {
        char nx[32];
        hd_time_format_rfc3339(d->next_at, nx);
        jstr(&b, "next_at", nx);
    }
    if (d->state == HD_D_HELD)
        jstr(&b, "hold", hd_hold_name(d->hold_kind));
    jput(&b, "}", 1);
    if (b.oom) {
        free(b.p);
        return NULL;
    }
    return b.p;
}

static int emit(struct hd_store *st, const struct hd_delivery *d, const char *prev)
{
    char *ev = status_event(d, prev);
    if (!ev)
        return HD_ENOMEM;
    /* key = item:instance[:target]: every version of a slot in one partition, compactable */
    char key[512];
    if (d->target && d->target[0])
        snprintf(key, sizeof(key), "%s:%s:%s", d->item_id, d->instance, d->target);
    else
        snprintf(key, sizeof(key), "%s:%s", d->item_id, d->instance);
    int rc = hd_store_outbox_insert(st, key, ev);
    free(ev);
    if (rc == 0)
        rc = hd_store_history_insert(st, d, strcmp(prev, "none") == 0 ? NULL : prev);
    return rc;
}

int hd_delivery_create(struct hd_store *st, struct hd_delivery *d)
{
    d->created_at = d->updated_at = hd_now_ms();
    d->seq = 1;
    int rc = hd_store_delivery_insert(st, d);
    if (rc)
        return rc;
    return emit(st, d, "none");
}

int hd_delivery_transition(struct hd_store *st, struct hd_delivery *d, enum hd_dstate to,
                           const char *reason, const char *detail)
{
    char name[512];
    if (!hd_dstate_allowed(d->state, to)) {
        hd_err("delivery %s: refused state change %s -> %s (reason=%s): not in the state table",
               hd_delivery_name(d, name, sizeof(name)), hd_dstate_name(d->state),
               hd_dstate_name(to), reason ? reason : "-");
        return HD_ESTATE;
    }
    enum hd_dstate prev = d->state;
    d->state = to;
    hd_delivery_set_str(&d->reason, reason);
    hd_delivery_set_str(&d->detail, detail);
    d->updated_at = hd_now_ms();
    d->seq++;
    if (to != HD_D_HELD) {
        d->hold_kind = HD_HOLD_NONE;
        d->hold_until = 0;
    }
    if (to == HD_D_DELIVERED && !d->delivered_at)
        d->delivered_at = d->updated_at;
    int rc = hd_store_delivery_update(st, d);
    if (rc)
        return rc;
    rc = emit(st, d, hd_dstate_name(prev));
    HD_LOG(HD_LOG_DEBUG, d->instance, "delivery %s: %s -> %s reason=%s",
           hd_delivery_name(d, name, sizeof(name)), hd_dstate_name(prev), hd_dstate_name(to),
           reason ? reason : "-");
    return rc;
}

int hd_delivery_save(struct hd_store *st, struct hd_delivery *d)
{
    d->updated_at = hd_now_ms();
    return hd_store_delivery_update(st, d);
}
