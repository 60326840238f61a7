/*
 * A tiny adapter built as a .so in several deliberately broken variants (one -DSDK_BROKEN_<X> each,
 * tests/sdk/CMakeLists.txt), for the registry's refusal tests (test_sdk_registry.c) and heraldd's
 * (test_sdk_abi.py). Without a SDK_BROKEN_* it is a valid, idempotent adapter whose send
 * completes "delivered" on the next loop turn of a timer. The SDK_MISBEHAVE_* variants load
 * fine but break the contract at run time, one way each: herald-conformance must catch every one
 * (test_sdk_kit.py). It includes only the ABI headers.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <herald/channel.h>
#include <herald/services.h>

#ifndef SDK_NAME
#define SDK_NAME "sdkgood"
#endif

struct state {
    struct hd_instance *inst;
    const struct hd_services *svc;
    struct hd_timer *idle; /* SDK_MISBEHAVE_DESTROY_TIMER */
};

struct pending {
    struct state *s;
    struct hd_op *op;
    struct hd_timer *t;
};

static const struct hd_conf_key keys[] = {
#if defined(SDK_BROKEN_KEYS)
    /* a default outside the key's own bounds */
    {"level", HD_CONF_INT, "99", 0, 1, 10, NULL, "A number from 1 to 10."},
#elif defined(SDK_BROKEN_CORE_KEY)
    /* every instance has `timeout` already (the core's table) */
    {"timeout", HD_CONF_DURATION, "5s", 0, 0, 0, NULL, "Redeclared core setting."},
#else
    {"level", HD_CONF_INT, "3", 0, 1, 10, NULL, "A number from 1 to 10."},
#endif
    {NULL, 0, NULL, 0, 0, 0, NULL, NULL},
};

#ifdef SDK_CORE_SYMBOL
/* a core function: heraldd exports none, so this .so cannot be loaded */
int64_t hd_now_ms(void);
#endif

static int create(struct hd_instance *inst, const struct hd_services *svc, void **state, char *err,
                  size_t errlen)
{
    struct state *s = calloc(1, sizeof(*s));
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    s->inst = inst;
    s->svc = svc;
#ifdef SDK_CORE_SYMBOL
    if (hd_now_ms() < 0)
        s->inst = NULL;
#endif
#ifdef SDK_MISBEHAVE_DESTROY_TIMER
    s->idle = svc->timer_add(inst, 3600000, (hd_timer_cb *)free, NULL);
#endif
    *state = s;
    return 0;
}

static void destroy(void *state)
{
    /* SDK_MISBEHAVE_DESTROY_TIMER: s->idle is left armed */
    free(state);
}

static int render(void *state, const struct hd_item *it, const struct hd_render_ctx *rc,
                  struct hd_payload *out, char *err, size_t errlen)
{
    char text[700];
#if defined(SDK_MISBEHAVE_RENDER_CLOCK)
    snprintf(text, sizeof(text), "%s (rendered at %lld)", it->title ? it->title : it->id,
             (long long)time(NULL));
#elif defined(SDK_MISBEHAVE_RENDER_RANDOM)
    snprintf(text, sizeof(text), "%s #%d", it->title ? it->title : it->id, rand() % 1000);
#elif defined(SDK_MISBEHAVE_RENDER_SERVICE)
    struct state *s = state;
    s->svc->timer_add(s->inst, 1000, (hd_timer_cb *)free, NULL);
    snprintf(text, sizeof(text), "%s", it->title ? it->title : it->id);
#else
    snprintf(text, sizeof(text), "%s", it->title ? it->title : it->id);
#endif
    out->data = strdup(text);
    if (!out->data) {
        snprintf(err, errlen, "out of memory");
        return HD_RENDER_REJECT;
    }
    out->len = strlen(out->data);
    snprintf(out->content_type, sizeof(out->content_type), "text/plain; charset=utf-8");
    snprintf(out->summary, sizeof(out->summary), "%.100s", out->data);
    return HD_RENDER_OK;
}

static void fire(void *arg)
{
    struct pending *p = arg;
    struct hd_outcome o = {.kind = HD_OUT_DELIVERED, .reason = "delivered", .remote_id = "r-1"};
    p->op->adapter_data = NULL;
#ifdef SDK_MISBEHAVE_BAD_OUTCOME
    o.kind = HD_OUT_RETRY; /* a failure without a reason code */
    o.reason = NULL;
#endif
#ifdef SDK_MISBEHAVE_NEVER_COMPLETE
    free(p);
    return;
#endif
    p->s->svc->complete(p->op, &o);
#ifdef SDK_MISBEHAVE_COMPLETE_TWICE
    p->s->svc->complete(p->op, &o);
#endif
#ifdef SDK_MISBEHAVE_CANCEL_FIRED
    p->s->svc->timer_cancel(p->t); /* it fired: heraldd would free it twice */
#endif
    free(p);
}

__attribute__((unused)) static int send_op(void *state, struct hd_op *op)
{
    struct state *s = state;
#ifdef SDK_MISBEHAVE_COMPLETE_INSIDE
    struct hd_outcome done = {.kind = HD_OUT_DELIVERED, .reason = "delivered", .remote_id = "r"};
    s->svc->complete(op, &done);
    return 0;
#endif
    struct pending *p = calloc(1, sizeof(*p));
    if (!p)
        return -1;
    p->s = s;
    p->op = op;
    p->t = s->svc->timer_add(s->inst, 0, fire, p);
    if (!p->t) {
        free(p);
        return -1;
    }
    op->adapter_data = p;
    return 0;
}

static void cancel(void *state, struct hd_op *op)
{
    struct state *s = state;
    struct pending *p = op->adapter_data;
    if (!p)
        return;
    s->svc->timer_cancel(p->t);
    op->adapter_data = NULL;
    struct hd_outcome o = {.kind = HD_OUT_CANCELLED, .reason = "cancelled"};
    s->svc->complete(op, &o);
    free(p);
}

__attribute__((unused)) static const struct hd_channel channel = {
#ifdef SDK_BROKEN_ABI
    .abi_version = HD_ABI_VERSION + 1,
#else
    .abi_version = HD_ABI_VERSION,
#endif
#if defined(SDK_BROKEN_SMALL)
    .struct_size = offsetof(struct hd_channel, cancel),
#else
    .struct_size = sizeof(struct hd_channel),
#endif
#if defined(SDK_BROKEN_SIGNATURE)
    .build_signature = "herald-abi=1;ptr=4;long=4;endian=le",
#elif defined(SDK_BROKEN_NO_SIGNATURE)
    .build_signature = NULL,
#else
    .build_signature = HD_BUILD_SIGNATURE,
#endif
    .name = SDK_NAME,
    .description = "herald SDK test adapter",
    .version = "0.1",
#if defined(SDK_BROKEN_CAP_RETRACT)
    .caps = HD_CAP_IDEMPOTENT | HD_CAP_RETRACT,
#elif defined(SDK_BROKEN_CAP_POLL)
    .caps = HD_CAP_IDEMPOTENT | HD_CAP_POLL,
#elif defined(SDK_BROKEN_NO_RECONCILE)
    .caps = 0,
#elif defined(SDK_BROKEN_UNKNOWN_CAP)
    .caps = HD_CAP_IDEMPOTENT | (1u << 20),
#else
    .caps = HD_CAP_IDEMPOTENT,
#endif
#ifdef SDK_BROKEN_REVISION
    .default_on_revision = (enum hd_on_revision)7,
#else
    .default_on_revision = HD_REV_IGNORE,
#endif
    .keys = keys,
    .create = create,
    .destroy = destroy,
    .render = render,
#ifndef SDK_BROKEN_NO_SEND
    .send = send_op,
#endif
    .cancel = cancel,
};

#ifdef SDK_CONSTRUCTOR
/* Runs at dlopen(), before heraldd can look at anything: what the registry cannot guard. */
__attribute__((constructor)) static void ran_at_load(void)
{
    const char *mark = getenv("HERALD_SDK_CTOR_MARK");
    FILE *f = mark ? fopen(mark, "w") : NULL;
    if (f) {
        fputs("constructor ran\n", f);
        fclose(f);
    }
}
#endif

#if defined(SDK_BROKEN_NO_ENTRY)
/* exported, but under another name */
const struct hd_channel *hd_channel_entry_point(void);
const struct hd_channel *hd_channel_entry_point(void)
{
    return &channel;
}
#elif defined(SDK_BROKEN_NULL_ENTRY)
__attribute__((visibility("default"))) hd_channel_entry_fn hd_channel_entry;
const struct hd_channel *hd_channel_entry(void)
{
    return NULL;
}
#elif defined(SDK_BROKEN_BIGGER)
/* built against a newer header: fields after the ones this core knows */
static struct {
    struct hd_channel c;
    void *newer[4];
} bigger;
__attribute__((visibility("default"))) hd_channel_entry_fn hd_channel_entry;
const struct hd_channel *hd_channel_entry(void)
{
    bigger.c = channel;
    bigger.c.struct_size = sizeof(bigger);
    return &bigger.c;
}
#else
HD_CHANNEL_EXPORT(channel)
#endif
