/*
 * display_board: service-hall LED boards through a board gateway, protocol of
 * research/CHANNELS.md §4.5 (the gateway runs the vendor SDK, Onbon or Listen, near the hall).
 *
 * Multi-target: one delivery per `board/area` (op->target), each with its own lane. PUT
 * <base>/v1/boards/{board}/areas/{area}/message replaces the area's message (idempotent);
 * DELETE .../message?item_id=... withdraws it (on retract, and at expires_at: the channel is
 * windowed; 404 means already gone); GET /v1/boards/{board}/status tells whether an offline
 * board (202 queued) has shown it since. The text is one paragraph of plain text built from
 * title + summary + a pointer to the portal, every character GBK-encodable (checked with the
 * core's utf8_to_gbk; what GBK cannot carry is dropped or replaced, never sent as mojibake) and
 * within the area's configured length. The body itself stays UTF-8 JSON: the gateway converts.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include <herald/channel.h>
#include <herald/services.h>

#include "gov_sign.h"

const struct hd_channel *hd_channel_display_board(void);

#define MIN_PART 6 /* shortest useful piece of a cut summary or title, characters */

struct board {
    struct hd_instance *inst;      /* borrowed */
    const struct hd_services *svc; /* borrowed */
    const char *base;              /* borrowed (config) */
    const char *secret;            /* borrowed (config) */
    size_t secret_len;
    const char *pointer;     /* borrowed: "（详见区政府网站）" */
    const char *replacement; /* borrowed: for characters GBK cannot carry ("" drops them) */
    const char *ellipsis;    /* borrowed */
    int64_t max_chars, speed, stay_s, window_ms, poll_ms;
    int reject_overlong, pointer_always;
};

struct call {
    struct board *b;
    struct hd_op *op;          /* borrowed until complete() */
    struct hd_http_call *http; /* the core's */
    struct hd_timer *timer;
};

static const char *const modes = "static|scroll_left|scroll_up|typeout";

static const struct hd_conf_key keys[] = {
    {"url", HD_CONF_URL, NULL, 1, 0, 0, NULL,
     "Base URL of the board gateway; the adapter calls <url>/v1/boards/{board}/areas/{area}."},
    {"board_urls", HD_CONF_MAP, NULL, 0, 0, 0, NULL,
     "board id -> base URL of the gateway serving that board (overrides url for it)."},
    {"secret", HD_CONF_SECRET, NULL, 1, 0, 0, NULL,
     "HMAC-SHA256 key of X-Gov-Signature (file:/path or credential:NAME)."},
    {"max_chars", HD_CONF_INT, "64", 0, 8, 10000, NULL,
     "Length limit of an area's text, characters (single scrolling line 64, hall panel 256)."},
    {"area_max_chars", HD_CONF_MAP, NULL, 0, 0, 0, NULL,
     "board/area -> its length limit, overriding max_chars."},
    {"mode", HD_CONF_ENUM, "scroll_left", 0, 0, 0, "static|scroll_left|scroll_up|typeout",
     "Display mode of the areas."},
    {"area_mode", HD_CONF_MAP, NULL, 0, 0, 0, NULL, "board/area -> its mode, overriding mode."},
    {"speed", HD_CONF_INT, "5", 0, 1, 10, NULL, "Scrolling speed, 1-10."},
    {"stay_s", HD_CONF_INT, "5", 0, 0, 65535, NULL, "Seconds a static page stays."},
    {"color", HD_CONF_ENUM, "green", 0, 0, 0, "red|green|yellow", "Colour of normal items."},
    {"urgent_color", HD_CONF_ENUM, "red", 0, 0, 0, "red|green|yellow", "Colour of urgent items."},
    {"pointer", HD_CONF_STRING, "（详见区政府网站）", 0, 0, 200, NULL,
     "Appended to the text when the item is on the portal (a depends_on result)."},
    {"pointer_always", HD_CONF_BOOL, "false", 0, 0, 0, NULL,
     "Append the pointer even when the item is not on the portal."},
    {"gbk_replacement", HD_CONF_STRING, "", 0, 0, 16, NULL,
     "Stands for characters GBK cannot carry (emoji, rare CJK); empty: they are dropped."},
    {"overlong", HD_CONF_ENUM, "truncate", 0, 0, 0, "truncate|reject",
     "Text over the area's limit: shorten it (summary first, then title), or fail."},
    {"ellipsis", HD_CONF_STRING, "…", 0, 0, 8, NULL, "Marks a cut text."},
    {"window", HD_CONF_DURATION, "0", 0, 0, 366LL * 86400000, NULL,
     "valid_until for items without schedule.expires_at: valid_from plus this; 0: none (shown "
     "until withdrawn)."},
    {"poll_interval", HD_CONF_DURATION, "30s", 0, 50, 86400000, NULL,
     "After a 202 (board offline, queued), how often to ask the gateway whether it is shown."},
    {NULL, 0, NULL, 0, 0, 0, NULL, NULL},
};

/* ---- text ---------------------------------------------------------------------------------- */

/* Bytes of the UTF-8 sequence at s (1 for a stray byte) and its code point. */
static size_t utf8_next(const unsigned char *s, unsigned *cp)
{
    size_t n = s[0] < 0x80 ? 1 : s[0] >= 0xf0 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc0 ? 2 : 1;
    for (size_t i = 1; i < n; i++)
        if ((s[i] & 0xc0) != 0x80)
            n = 1;
    *cp = n == 1 ? s[0] : s[0] & (0x7f >> n);
    for (size_t i = 1; i < n; i++)
        *cp = (*cp << 6) | (s[i] & 0x3f);
    return n;
}

/* Invisible code points that only modify their neighbour (variation selectors, joiners, keycap,
 * tags): dropped without a replacement, so "☎️" does not become "☎?". */
static int invisible(unsigned cp)
{
    return (cp >= 0xfe00 && cp <= 0xfe0f) || (cp >= 0x200b && cp <= 0x200d) || cp == 0x2060 ||
           cp == 0xfeff || cp == 0x20e3 || (cp >= 0xe0020 && cp <= 0xe007f) ||
           (cp >= 0x1f3fb && cp <= 0x1f3ff);
}

/* 1 when the character (n bytes at s) is a GBK double-byte character or ASCII. A one-byte result
 * above 0x7f (CP936's 0x80 for €) is not GBK proper and shows as garbage elsewhere: refused. */
static int gbk_char(const struct hd_services *svc, const char *s, size_t n)
{
    if (n == 1)
        return (unsigned char)s[0] < 0x80;
    char c[5];
    memcpy(c, s, n);
    c[n] = '\0';
    size_t len = 0, rep = 0;
    char *g = svc->utf8_to_gbk(c, NULL, &len, &rep);
    int ok = g && rep == 0 && len == 2;
    free(g);
    return ok;
}

/* One paragraph of GBK-encodable plain text: HTML to text, characters GBK cannot carry replaced
 * (a run of them by one replacement), control characters and runs of blanks to one space,
 * trimmed. *n_replaced counts the characters taken out. malloc'd. */
static char *board_line(const struct board *b, const char *s, size_t *n_replaced)
{
    const struct hd_services *svc = b->svc;
    char *t = strpbrk(s, "<&") ? svc->html_to_text(s) : strdup(s);
    if (!t)
        return NULL;
    size_t rlen = strlen(b->replacement), cap = strlen(t) * (rlen + 1) + 1, o = 0;
    char *out = malloc(cap);
    if (!out) {
        free(t);
        return NULL;
    }
    int space = 1, replaced = 0;
    for (const unsigned char *p = (const unsigned char *)t; *p;) {
        unsigned cp;
        size_t n = utf8_next(p, &cp);
        if (cp <= 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0) || cp == 0x2028 || cp == 0x2029) {
            if (!space)
                out[o++] = ' ';
            space = 1;
        } else if (invisible(cp)) { /* part of the run it sits in */
            (*n_replaced)++;
            p += n;
            continue;
        } else if (!gbk_char(svc, (const char *)p, n)) {
            (*n_replaced)++;
            if (!replaced && rlen) {
                memcpy(out + o, b->replacement, rlen);
                o += rlen;
                space = 0;
            }
            replaced = 1;
            p += n;
            continue;
        } else {
            memcpy(out + o, p, n);
            o += n;
            space = 0;
        }
        replaced = 0;
        p += n;
    }
    while (o > 0 && out[o - 1] == ' ')
        o--;
    out[o] = '\0';
    free(t);
    return out;
}

static char *join3(const char *a, const char *b, const char *c)
{
    size_t la = strlen(a), lb = strlen(b), lc = strlen(c);
    char *s = malloc(la + lb + lc + 1);
    if (s) {
        memcpy(s, a, la);
        memcpy(s + la, b, lb);
        memcpy(s + la + lb, c, lc + 1);
    }
    return s;
}

/* title + "：" + summary + pointer, shortened to max characters: the summary is cut first, then
 * dropped, then the title is cut; the pointer goes last, only when nothing else fits. */
static char *compose(const struct board *b, const char *title, const char *summary,
                     const char *pointer, size_t max, char *err, size_t errlen)
{
    const struct hd_services *svc = b->svc;
    const char *sep = *summary ? "：" : "";
    char *head = join3(title, sep, summary);
    char *full = head ? join3(head, "", pointer) : NULL;
    free(head);
    if (!full)
        goto oom;
    size_t n = svc->utf8_len(full);
    if (n <= max)
        return full;
    if (b->reject_overlong) {
        snprintf(err, errlen,
                 "text_too_long: %zu characters, the area takes %zu (overlong: reject)", n, max);
        free(full);
        return NULL;
    }
    free(full);
    size_t lt = svc->utf8_len(title), lp = svc->utf8_len(pointer);
    if (lp + MIN_PART > max) { /* no room for the pointer on this area */
        pointer = "";
        lp = 0;
    }
    if (*summary && lt + 1 + MIN_PART + lp <= max) {
        char *cut = svc->utf8_truncate(summary, max - lt - 1 - lp, b->ellipsis);
        head = cut ? join3(title, "：", cut) : NULL;
        free(cut);
    } else if (lt + lp <= max) {
        head = strdup(title);
    } else {
        head = svc->utf8_truncate(title, max - lp, b->ellipsis);
    }
    full = head ? join3(head, "", pointer) : NULL;
    free(head);
    if (!full)
        goto oom;
    return full;
oom:
    snprintf(err, errlen, "out of memory");
    return NULL;
}

/* ---- setup --------------------------------------------------------------------------------- */

static int id_ok(const char *s, size_t n)
{
    return n > 0 && n <= 64 &&
           strspn(s, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_-") >= n;
}

/* "board/area" -> the two ids; 0 when well-formed. */
static int split_target(const char *t, char *board, size_t blen, const char **area)
{
    const char *slash = t ? strchr(t, '/') : NULL;
    if (!slash || !id_ok(t, (size_t)(slash - t)) || !id_ok(slash + 1, strlen(slash + 1)) ||
        (size_t)(slash - t) >= blen)
        return -1;
    memcpy(board, t, (size_t)(slash - t));
    board[slash - t] = '\0';
    *area = slash + 1;
    return 0;
}

static int64_t area_max(const struct board *b, const char *target)
{
    const char *v = target ? b->svc->conf_map_get(b->inst, "area_max_chars", target) : NULL;
    return v ? strtoll(v, NULL, 10) : b->max_chars;
}

static int gbk_ok_conf(const struct board *b, const char *s)
{
    size_t rep = 0;
    char *t = board_line(b, s, &rep);
    int ok = t && rep == 0 && strcmp(t, s) == 0;
    free(t);
    return ok;
}

static int check_targets(struct board *b, char *err, size_t errlen)
{
    const struct hd_services *svc = b->svc;
    const char *const *targets = NULL;
    size_t n = svc->conf_list(b->inst, "targets", &targets);
    for (size_t i = 0; i < n; i++) {
        char id[80];
        const char *area;
        if (split_target(targets[i], id, sizeof(id), &area) != 0) {
            snprintf(err, errlen, "targets: \"%s\" is not board/area ([0-9A-Za-z_-], <= 64 each)",
                     targets[i]);
            return -1;
        }
        const char *v = svc->conf_map_get(b->inst, "area_max_chars", targets[i]);
        char *end = NULL;
        long long m = v ? strtoll(v, &end, 10) : 0;
        if (v && (end == v || *end || m < 8 || m > 10000)) {
            snprintf(err, errlen, "area_max_chars: %s: an integer 8-10000", targets[i]);
            return -1;
        }
        v = svc->conf_map_get(b->inst, "area_mode", targets[i]);
        if (v && (!*v || strchr(v, '|') || !strstr(modes, v))) {
            snprintf(err, errlen, "area_mode: %s: one of %s", targets[i], modes);
            return -1;
        }
        v = svc->conf_map_get(b->inst, "board_urls", id);
        if (v && strncmp(v, "http://", 7) != 0 && strncmp(v, "https://", 8) != 0) {
            snprintf(err, errlen, "board_urls: %s: not an http(s) URL", id);
            return -1;
        }
    }
    return 0;
}

static int create(struct hd_instance *inst, const struct hd_services *svc, void **state, char *err,
                  size_t errlen)
{
    struct board *b = calloc(1, sizeof(*b));
    if (!b) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    b->inst = inst;
    b->svc = svc;
    b->base = svc->conf_str(inst, "url");
    b->secret = svc->conf_secret(inst, "secret", &b->secret_len);
    b->pointer = svc->conf_str(inst, "pointer");
    b->replacement = svc->conf_str(inst, "gbk_replacement");
    b->ellipsis = svc->conf_str(inst, "ellipsis");
    b->pointer = b->pointer ? b->pointer : "";
    b->replacement = b->replacement ? b->replacement : "";
    b->ellipsis = b->ellipsis ? b->ellipsis : "";
    b->max_chars = svc->conf_int(inst, "max_chars");
    b->speed = svc->conf_int(inst, "speed");
    b->stay_s = svc->conf_int(inst, "stay_s");
    b->window_ms = svc->conf_int(inst, "window");
    b->poll_ms = svc->conf_int(inst, "poll_interval");
    const char *ov = svc->conf_str(inst, "overlong");
    b->reject_overlong = ov && strcmp(ov, "reject") == 0;
    b->pointer_always = svc->conf_bool(inst, "pointer_always");
    if (!b->secret || b->secret_len < 16) {
        snprintf(err, errlen, "secret: at least 16 bytes");
        goto fail;
    }
    /* what we add to the text must itself be GBK, one line, no markup */
    static const char *const own[] = {"pointer", "gbk_replacement", "ellipsis"};
    for (size_t i = 0; i < 3; i++) {
        const char *v = svc->conf_str(inst, own[i]);
        if (v && *v && !gbk_ok_conf(b, v)) {
            snprintf(err, errlen, "%s: must be GBK-encodable plain text on one line", own[i]);
            goto fail;
        }
    }
    if (svc->utf8_len(b->ellipsis) >= MIN_PART) {
        snprintf(err, errlen, "ellipsis: at most %d characters", MIN_PART - 1);
        goto fail;
    }
    if (check_targets(b, err, errlen) != 0)
        goto fail;
    *state = b;
    return 0;
fail:
    free(b);
    return -1;
}

static void destroy(void *state)
{
    free(state);
}

/* ---- render (pure) ------------------------------------------------------------------------- */

static int render(void *state, const struct hd_item *it, const struct hd_render_ctx *rc,
                  struct hd_payload *out, char *err, size_t errlen)
{
    struct board *b = state;
    const struct hd_services *svc = b->svc;
    char id[80];
    const char *area;
    char *title = NULL, *summary = NULL, *text = NULL;
    json_t *src = NULL, *doc = NULL;
    int rcode = HD_RENDER_REJECT;
    size_t rep = 0;

    if (!rc || split_target(rc->target, id, sizeof(id), &area) != 0) {
        snprintf(err, errlen, "target is not board/area");
        return HD_RENDER_REJECT;
    }
    size_t max = (size_t)area_max(b, rc->target);
    int on_portal = 0;
    for (size_t i = 0; i < rc->n_deps; i++)
        on_portal |= rc->deps[i].url != NULL;
    const char *from = it->summary && *it->summary       ? it->summary
                       : it->body_text && *it->body_text ? it->body_text
                                                         : it->body_html;
    title = board_line(b, it->title ? it->title : "", &rep);
    summary = board_line(b, from ? from : "", &rep);
    if (!title || !summary) {
        snprintf(err, errlen, "out of memory");
        goto done;
    }
    if (!*title && !*summary) {
        snprintf(err, errlen, "nothing left to show once what GBK cannot carry is removed");
        goto done;
    }
    text = compose(b, *title ? title : summary, *title ? summary : "",
                   on_portal || b->pointer_always ? b->pointer : "", max, err, errlen);
    if (!text)
        goto done;
    size_t glen = 0, grep = 0;
    char *g = svc->utf8_to_gbk(text, NULL, &glen, &grep);
    free(g);
    if (!g || grep || svc->utf8_len(text) > max) { /* cannot happen: never send what fails */
        snprintf(err, errlen, "internal: the composed text is not GBK or too long");
        goto done;
    }

    src = json_loadb(it->json, it->json_len, 0, NULL);
    json_t *sched = json_object_get(src, "schedule");
    const char *nb = json_string_value(json_object_get(sched, "not_before"));
    const char *exp = json_string_value(json_object_get(sched, "expires_at"));
    const char *valid_from = nb ? nb : it->approved_at;
    if (!valid_from) {
        snprintf(err, errlen, "the item has no approved_at");
        goto done;
    }
    const char *mode = svc->conf_map_get(b->inst, "area_mode", rc->target);
    doc = json_pack("{s:s, s:I, s:s, s:s, s:s, s:I, s:I, s:s, s:s}", "item_id", it->id, "revision",
                    (json_int_t)it->version, "priority", it->urgent ? "urgent" : "normal", "text",
                    text, "mode", mode ? mode : svc->conf_str(b->inst, "mode"), "speed",
                    (json_int_t)b->speed, "stay_s", (json_int_t)b->stay_s, "valid_from", valid_from,
                    "color", svc->conf_str(b->inst, it->urgent ? "urgent_color" : "color"));
    if (!doc) {
        snprintf(err, errlen, "cannot build the message");
        goto done;
    }
    if (exp) {
        json_object_set_new(doc, "valid_until", json_string(exp));
    } else if (b->window_ms > 0) {
        char until[40];
        int64_t from_ms = it->not_before_ms ? it->not_before_ms : it->approved_at_ms;
        b->svc->time_format(from_ms + b->window_ms, b->svc->time_offset(valid_from), until,
                            sizeof(until));
        json_object_set_new(doc, "valid_until", json_string(until));
    }
    out->data = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
    if (!out->data) {
        snprintf(err, errlen, "cannot serialise the message");
        goto done;
    }
    out->len = strlen(out->data);
    snprintf(out->content_type, sizeof(out->content_type), "application/json; charset=utf-8");
    char *cut = svc->utf8_truncate(text, 40, "…");
    snprintf(out->summary, sizeof(out->summary), "%s: %s%s", rc->target, cut ? cut : "",
             rep ? " (non-GBK characters removed)" : "");
    free(cut);
    rcode = HD_RENDER_OK;
done:
    json_decref(doc);
    json_decref(src);
    free(title);
    free(summary);
    free(text);
    return rcode;
}

/* ---- requests ------------------------------------------------------------------------------ */

static void finish(struct call *c, enum hd_outcome_kind kind, const char *reason,
                   const char *detail, int status, const char *rid, int64_t at)
{
    struct hd_outcome o = {.kind = kind,
                           .reason = reason,
                           .detail = detail,
                           .http_status = status,
                           .remote_id = rid,
                           .at_ms = at};
    c->op->adapter_data = NULL;
    c->b->svc->complete(c->op, &o);
    free(c);
}

/* The area's entry for our item in a status answer: "shown", "preempted", "queued" or NULL. */
static const char *status_of(json_t *st, const char *area, const char *item, int64_t rev)
{
    json_t *msgs = json_object_get(json_object_get(json_object_get(st, "areas"), area), "messages");
    size_t i;
    json_t *m;
    json_array_foreach (msgs, i, m) {
        const char *id = json_string_value(json_object_get(m, "item_id"));
        if (id && strcmp(id, item) == 0 &&
            json_integer_value(json_object_get(m, "revision")) == rev)
            return json_string_value(json_object_get(m, "state"));
    }
    return NULL;
}

static void on_response(void *arg, const struct hd_http_resp *r)
{
    struct call *c = arg;
    const struct hd_services *svc = c->b->svc;
    enum hd_op_kind kind = c->op->kind;
    const char *target = c->op->target;
    char reason[96], detail[320];
    if (r->error != HD_HTTP_OK) {
        snprintf(detail, sizeof(detail), "%s: %s", target,
                 r->error_text ? r->error_text : "transport error");
        if (r->error == HD_HTTP_CANCELLED && !r->request_sent)
            finish(c, HD_OUT_CANCELLED, "cancelled", detail, 0, NULL, 0);
        else if (kind == HD_OP_POLL)
            finish(c, HD_OUT_RETRY, "http_error", detail, 0, NULL, 0);
        else
            finish(c, r->request_sent ? HD_OUT_UNKNOWN : HD_OUT_RETRY, "http_error", detail, 0,
                   NULL, 0);
        return;
    }
    json_t *j = json_loads(r->body ? r->body : "", 0, NULL);
    const char *error = json_string_value(json_object_get(j, "error"));
    int s = r->status;
    snprintf(reason, sizeof(reason), "board_%d%s%s", s, error ? "_" : "", error ? error : "");
    snprintf(detail, sizeof(detail), "%s: HTTP %d: %.240s", target, s, r->body ? r->body : "");
    int64_t now = svc->now_ms();
    if (kind == HD_OP_POLL && s == 200) {
        char id[80];
        const char *area = "";
        split_target(target, id, sizeof(id), &area);
        const char *st = status_of(j, area, c->op->item->id, c->op->item->version);
        if (st && (strcmp(st, "shown") == 0 || strcmp(st, "preempted") == 0))
            finish(c, HD_OUT_DELIVERED, "board_applied", NULL, s, target, 0);
        else if (st && strcmp(st, "queued") == 0)
            finish(c, HD_OUT_ACCEPTED, "board_offline", "the board is still offline", s, target,
                   now + c->b->poll_ms);
        else
            finish(c, HD_OUT_REJECTED, "replaced_before_shown",
                   "the gateway no longer holds this message for the area: replaced while the "
                   "board was offline, or expired",
                   s, NULL, 0);
    } else if (kind == HD_OP_RETRACT && (s == 200 || s == 202 || s == 204 || s == 404)) {
        finish(c, HD_OUT_DELIVERED, s == 404 ? "already_gone" : "withdrawn", NULL, s, target, 0);
    } else if (kind == HD_OP_SEND && (s == 200 || s == 204)) {
        finish(c, HD_OUT_DELIVERED, "shown", NULL, s, target, 0);
    } else if (kind == HD_OP_SEND && s == 202) {
        finish(c, HD_OUT_ACCEPTED, "board_offline",
               "the board is offline: the gateway queued the message", s, target,
               now + c->b->poll_ms);
    } else if (s == 422 && error && strcmp(error, "expired") == 0) {
        finish(c, HD_OUT_CANCELLED, reason, "the message's window is over: not shown", s, NULL, 0);
    } else {
        /* rejected: 400, 404 unknown board/area, 422 text_not_gbk_encodable / text_too_long (our
         * limits disagree with the gateway's: fix area_max_chars) */
        const char *d = detail;
        int64_t at;
        enum hd_outcome_kind k = gov_failure(svc, r, error, &d, &at);
        finish(c, k, reason, d, s, NULL, at);
    }
    json_decref(j);
}

static int request(struct board *b, struct hd_op *op, const char *method, const char *path,
                   const char *body, const char *key)
{
    char id[80];
    const char *area;
    if (split_target(op->target, id, sizeof(id), &area) != 0)
        return -1;
    const char *base = b->svc->conf_map_get(b->inst, "board_urls", id);
    struct call *c = calloc(1, sizeof(*c));
    if (!c)
        return -1;
    c->b = b;
    c->op = op;
    op->adapter_data = c;
    if (gov_request(b->svc, b->inst, b->secret, b->secret_len, method, base ? base : b->base, path,
                    body, key, on_response, c, &c->http) != 0) {
        op->adapter_data = NULL;
        free(c);
        return -1;
    }
    return 0;
}

static void on_expired(void *arg)
{
    struct call *c = arg;
    finish(c, HD_OUT_CANCELLED, "expired", "expires_at passed: not shown", 0, NULL, 0);
}

static int send_op(void *state, struct hd_op *op)
{
    struct board *b = state;
    char id[80], path[256];
    const char *area;
    if (!op->payload || split_target(op->target, id, sizeof(id), &area) != 0)
        return -1;
    if (op->item->expires_at_ms && b->svc->now_ms() >= op->item->expires_at_ms) {
        /* an expired item is never put on a board; the core expires the delivery */
        struct call *c = calloc(1, sizeof(*c));
        if (!c)
            return -1;
        c->b = b;
        c->op = op;
        op->adapter_data = c;
        if (!(c->timer = b->svc->timer_add(b->inst, 0, on_expired, c))) {
            op->adapter_data = NULL;
            free(c);
            return -1;
        }
        return 0;
    }
    snprintf(path, sizeof(path), "/v1/boards/%s/areas/%s/message", id, area);
    return request(b, op, "PUT", path, op->payload->data, op->idempotency_key);
}

static int retract(void *state, struct hd_op *op)
{
    struct board *b = state;
    char id[80], path[512], key[320];
    const char *area;
    if (split_target(op->target, id, sizeof(id), &area) != 0)
        return -1;
    /* item ids are [A-Za-z0-9._:-] (schema): safe in a query as they are */
    snprintf(path, sizeof(path), "/v1/boards/%s/areas/%s/message?item_id=%s", id, area,
             op->item->id);
    snprintf(key, sizeof(key), "%s:retract", op->idempotency_key);
    return request(b, op, "DELETE", path, "", key);
}

static int poll_status(void *state, struct hd_op *op)
{
    struct board *b = state;
    char id[80], path[256], key[320];
    const char *area;
    if (split_target(op->target, id, sizeof(id), &area) != 0)
        return -1;
    snprintf(path, sizeof(path), "/v1/boards/%s/status", id);
    snprintf(key, sizeof(key), "%s:status", op->idempotency_key);
    return request(b, op, "GET", path, "", key);
}

static void cancel(void *state, struct hd_op *op)
{
    struct board *b = state;
    struct call *c = op->adapter_data;
    if (!c)
        return;
    if (c->http) {
        b->svc->http_cancel(c->http);
    } else if (c->timer) {
        b->svc->timer_cancel(c->timer);
        finish(c, HD_OUT_CANCELLED, "cancelled", "cancelled before sending", 0, NULL, 0);
    }
}

static const struct hd_channel channel = {
    .abi_version = HD_ABI_VERSION,
    .struct_size = sizeof(struct hd_channel),
    .build_signature = HD_BUILD_SIGNATURE,
    .name = "display_board",
    .description = "Service-hall LED boards through a board gateway (CHANNELS.md §4.5): GBK "
                   "text per board/area, urgent first, withdrawn at expiry",
    .version = "1.0",
    .caps = HD_CAP_IDEMPOTENT | HD_CAP_RETRACT | HD_CAP_UPDATE | HD_CAP_WINDOWED |
            HD_CAP_MULTI_TARGET | HD_CAP_POLL,
    .default_on_revision = HD_REV_UPDATE,
    .keys = keys,
    .create = create,
    .destroy = destroy,
    .render = render,
    .send = send_op,
    .retract = retract,
    .poll_status = poll_status,
    .cancel = cancel,
};

const struct hd_channel *hd_channel_display_board(void)
{
    return &channel;
}
