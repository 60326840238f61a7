/*
 * herald channel adapter ABI.
 *
 * This header and <herald/services.h> are the only things an adapter includes (with libc, and
 * whatever libraries it links itself, e.g. jansson). An adapter is a `struct hd_channel`: a
 * versioned table of callbacks plus a config key table. The core creates one adapter state per
 * configured channel instance (e.g. "webhook:ops"), renders each item through the adapter's pure
 * render(), and runs sends, retractions, status polls and reconciliations through the
 * asynchronous callbacks below. Every asynchronous operation reports exactly one struct
 * hd_outcome through hd_services.complete(). docs/ADAPTERS.md explains all of this with a worked
 * example (examples/adapter-smsbulletin/); herald-conformance checks it.
 *
 * Threads and blocking. The core calls every callback on its one event-loop thread, and every
 * service must be called from that thread. Never block it: no synchronous network I/O, no sleep,
 * no waiting on a lock held elsewhere. create() may read small local files (a certificate, a
 * default image). Do not start threads that call services, install signal handlers, fork, exit,
 * or change process-wide state (locale, working directory, environment, umask).
 *
 * Ownership. Everything the core hands to a callback (item, render context, op, payload) is
 * borrowed: valid until the callback returns, or for an op until the adapter calls complete() for
 * it. Strings in an outcome are copied by complete(); the adapter keeps ownership of them.
 * render() allocates its payload with malloc(); the core frees it with free() (also after a
 * reject, if set). Response bodies the adapter gives the core (inbound) are malloc'd likewise.
 *
 * Exactly one completion. send(), retract(), poll_status() and reconcile() return 0 when they
 * took the op; they must then call complete() exactly once, and never from inside the call that
 * took the op (defer through the core's HTTP client or a timer). A non-zero return means the op
 * was not taken and complete() must not be called; the core treats it as HD_OUT_RETRY with
 * reason "adapter_refused". After complete() the op is gone: do not touch it again.
 *
 * Cancellation. On shutdown (after the drain timeout), and when an op outlives its deadline, the
 * core calls cancel() once for an op in flight (never after complete()). The adapter stops what
 * it can and completes the op, inside cancel() or later: HD_OUT_CANCELLED if nothing reached the
 * platform, HD_OUT_UNKNOWN if something may have (a non-idempotent adapter must not claim
 * "cancelled" once a state-changing request was sent). An op that has not completed when the
 * drain ends is recorded as unknown and reconciled at the next start.
 *
 * Destruction. destroy() is called when no op of the instance is in flight (at shutdown, and
 * when a reload or new credentials recreate the instance). It must cancel the adapter's own
 * timers (timer_cancel: their callbacks never run) and HTTP calls (http_cancel: their callbacks
 * still run once, later, possibly after destroy() returned, so they must not use the freed
 * state: detach them, as channels/weibo/weibo.c does). After destroy() the adapter calls no
 * service.
 *
 * Purity. render() must depend only on its arguments and the instance configuration: no clock,
 * no randomness, no I/O, no state changed by earlier sends. It may be called several times for
 * one delivery (each attempt renders again), and by tools (herald-conformance renders with
 * different clocks and compares the bytes); never assume a send follows.
 *
 * Classifying what the platform said (docs/ADAPTERS.md has the table and the built-ins'
 * examples): success -> delivered (or accepted when the result comes later); nothing reached the
 * platform (could not connect, refused before sending, 5xx of a stateless gateway) -> retry;
 * the request may have reached it and the answer is lost (timeout, connection dropped after
 * sending) -> unknown, except that an idempotent adapter may say retry; rate limit or quota ->
 * retry_after with the time; expired token the adapter can refresh -> refresh_credentials;
 * revoked credentials, suspended account, anything a person must fix -> needs_operator; this
 * content can never go (too long, forbidden words, bad media) -> rejected.
 *
 * Growth. abi_version changes only when an existing field changes meaning. New callbacks and
 * fields are appended at the end of the structs; struct_size tells the core which ones an adapter
 * knows, and the core tells adapters the same through the struct_size fields of what it passes
 * (test with HD_STRUCT_HAS before reading a field added after the first release). The core
 * reads an adapter's struct hd_channel only up to its struct_size: callbacks appended later read
 * as NULL for an adapter built against an older header; one smaller than ABI 1's first release
 * (everything up to inbound) is refused. An outcome kind the core does not know is treated as
 * HD_OUT_UNKNOWN (the safe reading: the platform may have acted, so reconcile before sending
 * again); a capability bit it does not know makes it refuse the adapter. New outcome kinds, op
 * kinds and capability bits are appended before their _MAX; the core never calls a callback for
 * an op kind the adapter's struct_size does not cover.
 */
#ifndef HERALD_CHANNEL_H
#define HERALD_CHANNEL_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define HD_ABI_VERSION 1

#define HD_STR_(x) #x
#define HD_STR(x)  HD_STR_(x)
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define HD_ENDIAN_ "le"
#else
#define HD_ENDIAN_ "be"
#endif
/* What else must match between the core and an adapter built apart from it. */
#define HD_BUILD_SIGNATURE                                                                         \
    "herald-abi=" HD_STR(HD_ABI_VERSION) ";ptr=" HD_STR(__SIZEOF_POINTER__) ";long=" HD_STR(       \
        __SIZEOF_LONG__) ";endian=" HD_ENDIAN_

struct hd_services;
struct hd_instance; /* opaque: one configured channel instance, handed to create() */

/* Non-zero when `ptr` (a struct with a struct_size first member, e.g. the op or the item the core
 * passes, or the services table) is large enough to hold `field`. */
#define HD_STRUCT_HAS(ptr, type, field)                                                            \
    ((size_t)(ptr)->struct_size >= offsetof(type, field) + sizeof(((type *)0)->field))

/* ---- configuration keys ------------------------------------------------------------------ */

enum hd_conf_type {
    HD_CONF_STRING,   /* any UTF-8 string; min/max bound its length in bytes when max > 0 */
    HD_CONF_INT,      /* integer within [min, max] */
    HD_CONF_BOOL,     /* true/false */
    HD_CONF_DURATION, /* "250ms", "10s", "5m", "24h", "2d"; min/max in milliseconds */
    HD_CONF_SIZE,     /* "512", "64KiB", "1MiB"; min/max in bytes */
    HD_CONF_ENUM,     /* one of `choices`, written "a|b|c" */
    HD_CONF_LIST,     /* a YAML sequence of strings */
    HD_CONF_URL,      /* http:// or https:// URL */
    HD_CONF_SECRET,   /* "file:/path" or "credential:NAME" (systemd LoadCredential); never logged */
    HD_CONF_MAP,      /* a YAML mapping of string to string (e.g. per-target settings) */
    HD_CONF_TYPE_MAX
};

/* One setting of the adapter's table (the same tables check the configuration and generate
 * `heraldd --list-channels`). Names are [a-z][a-z0-9_]*, unique, and never one of the core's
 * per-instance settings (timeout, retry_*, targets, ...: those every instance has already).
 * Every key needs help text; a required key has no default; a default must parse and be within
 * bounds. The registry refuses an adapter whose table breaks a rule. */
struct hd_conf_key {
    const char *name;
    enum hd_conf_type type;
    const char *def; /* default, written as in YAML; NULL: no default */
    int required;
    int64_t min, max; /* bounds; both 0: unbounded */
    const char *choices;
    const char *help;
};

/* ---- the item, as adapters see it ---------------------------------------------------------- */

struct hd_asset {
    const char *url;
    const char *sha256; /* hex, may be NULL */
    const char *media_type;
    const char *name; /* attachment name or image caption, may be NULL */
    int64_t size;     /* bytes, -1 when unknown */
};

struct hd_item {
    size_t struct_size;
    const char *id;
    int64_t version;
    const char *action; /* "publish" | "retract" */
    const char *category;
    const char *column; /* portal column path, e.g. "政务公开/政策解读" */
    const char *publisher_name;
    const char *publisher_code;
    const char *title;
    const char *summary;
    const char *body_html;
    const char *body_text;   /* NULL when the item carries none */
    const char *doc_number;  /* 文号, may be NULL */
    const char *approved_at; /* RFC 3339 as received */
    int64_t approved_at_ms;
    int64_t not_before_ms; /* 0 when absent */
    int64_t expires_at_ms; /* 0 when absent */
    int urgent;
    const struct hd_asset *images;
    size_t n_images;
    const struct hd_asset *attachments;
    size_t n_attachments;
    const char *interprets; /* id of the document an interpretation interprets, or NULL */
    const char *json;       /* the whole herald.item/v1 document, for fields not above */
    size_t json_len;
};

/* ---- rendering --------------------------------------------------------------------------------
 */

/* The result of another instance's delivery of the same item (DESIGN: depends_on). */
struct hd_dep_result {
    const char *instance; /* "website:portal" */
    const char *remote_id;
    const char *url;
};

struct hd_render_ctx {
    size_t struct_size;
    const char *instance_id;     /* "<adapter>:<name>" */
    const char *target;          /* "" for single-target channels, street code, "board/area" */
    const char *idempotency_key; /* herald:<item>:<version>:<instance>[:<target>] */
    const struct hd_dep_result *deps;
    size_t n_deps;
    int is_update;              /* an earlier version is live on this channel: update it */
    const char *prev_remote_id; /* what is live now, when is_update */
    const char *prev_url;
};

struct hd_payload {
    char *data; /* malloc'd by render(), freed by the core; ops get this same buffer back */
    size_t len;
    char content_type[64];
    char summary[160]; /* one line for logs and the dashboard, e.g. the rendered title; UTF-8:
                          cut it with utf8_truncate (snprintf's %.Ns counts bytes and may split
                          a character) */
};

/* render() return values (anything else counts as HD_RENDER_REJECT) */
#define HD_RENDER_OK     0
#define HD_RENDER_REJECT 1 /* this content cannot go to this channel: the delivery fails */

/* ---- outcomes: the one list (DESIGN.md, "Adapter outcomes") --------------------------------- */

/*
 * What each outcome means, by op kind (the core's reaction is in docs/states.md):
 *   send:      delivered = public now; accepted = the platform took it, poll_status() at at_ms
 *              (remote_id = the ref to poll); retry = not done, safe to send again after a
 *              backoff; retry_after = not before at_ms (not counted as an attempt); unknown = may
 *              have been done (idempotent adapters: sent again with the same key; others:
 *              reconcile()); cancelled = nothing reached the platform.
 *   retract:   delivered = withdrawn, also when it was gone already; rejected / needs_operator =
 *              cannot be withdrawn by herald (a manual action); anything else = try again later.
 *   poll:      delivered = now public (url); accepted = still in progress, ask again at at_ms;
 *              rejected = the platform refused it after all (reason "removed_externally" when it
 *              was published and then taken down); anything else = ask again later.
 *   reconcile: delivered / accepted = the platform has it; retry = it does not, sending again is
 *              safe; rejected = it refused it; unknown = still cannot tell (ask again at at_ms
 *              when given, else after a backoff).
 * needs_operator on any op parks the instance until a person acts (heraldctl credentials set).
 */
enum hd_outcome_kind {
    HD_OUT_DELIVERED,   /* done: remote_id, url */
    HD_OUT_ACCEPTED,    /* the platform took it, result later: remote_id = ref, at_ms = poll */
    HD_OUT_RETRY,       /* transient failure */
    HD_OUT_RETRY_AFTER, /* rate limit or quota: not before at_ms */
    HD_OUT_REFRESH_CREDENTIALS, /* token invalid and refreshable: refresh once, retry now */
    HD_OUT_NEEDS_OPERATOR,      /* a person must act: the instance is parked */
    HD_OUT_REJECTED,            /* permanent for this content */
    HD_OUT_UNKNOWN,             /* the request may have reached the platform */
    HD_OUT_CANCELLED,           /* cancelled before anything was sent */
    HD_OUT_MAX
};

struct hd_outcome {
    enum hd_outcome_kind kind;
    const char *reason;        /* short code [a-z0-9_]: "http_503", "wechat_45009", "timeout";
                                  always set for anything but delivered/accepted */
    const char *detail;        /* one human-readable line; never a secret */
    int http_status;           /* 0 when there was no HTTP response */
    const char *platform_code; /* the platform's own error code, e.g. "87014" */
    const char *remote_id;     /* delivered: the platform's id; accepted: the ref to poll */
    const char *url;           /* delivered: where the public sees it */
    int64_t at_ms;             /* retry_after: not before (epoch ms); accepted: first poll */
};

/* ---- operations ------------------------------------------------------------------------------ */

enum hd_op_kind {
    HD_OP_SEND,      /* publish the payload (or update, when is_update) */
    HD_OP_RETRACT,   /* withdraw what remote_id names */
    HD_OP_POLL,      /* ask for the result of an accepted publish (remote_id = ref) */
    HD_OP_RECONCILE, /* outcome unknown: find out whether the platform has it */
    HD_OP_KIND_MAX
};

/*
 * One asynchronous operation. Owned by the core, borrowed by the adapter until complete(): the
 * pointer passed to complete() must be this one. The outcome meanings per kind are above.
 */
struct hd_op {
    size_t struct_size;
    enum hd_op_kind kind;
    const char *delivery_id; /* "<item>:<version>:<instance>[:<target>]" */
    const char *idempotency_key;
    const char *target;
    const struct hd_item *item;
    const struct hd_payload *payload; /* HD_OP_SEND: what render() produced */
    const char *remote_id;            /* retract/poll/reconcile, and updates */
    const char *remote_url;
    const char *adapter_state; /* what the adapter persisted for this delivery (JSON), or NULL */
    int attempt;               /* 1 for the first attempt of this op kind */
    int is_update;
    int64_t deadline_ms; /* finish by then (epoch ms, twice the instance's `timeout`); an op
                            still running well after it gets cancel() */
    void *adapter_data;  /* free for the adapter's use while the op is in flight */
};

/* ---- inbound routes (platforms that call back, e.g. WeChat's event push) --------------------- */

struct hd_inbound_req {
    size_t struct_size;
    const char *method;
    const char *path;
    const char *query; /* raw query string, may be NULL */
    const char *body;
    size_t body_len;
    const char *(*header)(const struct hd_inbound_req *req, const char *name);
    void *core;
};

struct hd_inbound_resp {
    int status; /* 0: 200. inbound() returning non-zero answers 500 whatever is set here */
    char content_type[64];
    char *body; /* malloc'd by the adapter, freed by the core */
    size_t body_len;
};

/* ---- capability flags ------------------------------------------------------------------------ */

#define HD_CAP_IDEMPOTENT   (1u << 0) /* resending with the same idempotency key is safe */
#define HD_CAP_RETRACT      (1u << 1) /* can withdraw what it published */
#define HD_CAP_UPDATE       (1u << 2) /* can edit a published item in place */
#define HD_CAP_WINDOWED     (1u << 3) /* shows items for a window: withdraw at expires_at */
#define HD_CAP_MULTI_TARGET (1u << 4) /* one delivery per target (street, board/area) */
#define HD_CAP_POLL         (1u << 5) /* results can arrive later (accepted → poll_status) */

enum hd_on_revision { HD_REV_UPDATE, HD_REV_IGNORE, HD_REV_RETRACT_AND_REPUBLISH, HD_REV_MAX };

/* ---- the adapter --------------------------------------------------------------------------- */

struct hd_channel {
    uint32_t abi_version;        /* HD_ABI_VERSION */
    uint32_t struct_size;        /* sizeof(struct hd_channel) as the adapter was built */
    const char *build_signature; /* HD_BUILD_SIGNATURE */
    const char *name;            /* adapter name: [a-z][a-z0-9_]*, the part before ':' */
    const char *description;
    const char *version; /* the adapter's own version */
    uint32_t caps;
    enum hd_on_revision default_on_revision;
    const struct hd_conf_key *keys; /* terminated by an entry with name == NULL */

    /* Validate the instance's configuration (already checked against `keys`) and set up.
     * `inst` and `svc` stay valid until destroy(). Write a one-line reason to err on failure
     * (return non-zero; *state is then ignored and destroy() is not called). */
    int (*create)(struct hd_instance *inst, const struct hd_services *svc, void **state, char *err,
                  size_t errlen);
    /* Called when no op is in flight (see "Destruction" above). May be NULL. */
    void (*destroy)(void *state);

    /* Pure: item + context -> payload. HD_RENDER_REJECT with a reason in err when the item cannot
     * be published on this channel (too long and no fallback allowed, not encodable, ...). */
    int (*render)(void *state, const struct hd_item *item, const struct hd_render_ctx *ctx,
                  struct hd_payload *out, char *err, size_t errlen);

    int (*send)(void *state, struct hd_op *op);
    int (*retract)(void *state, struct hd_op *op);     /* NULL unless HD_CAP_RETRACT */
    int (*poll_status)(void *state, struct hd_op *op); /* NULL unless HD_CAP_POLL */
    int (*reconcile)(void *state, struct hd_op *op);   /* NULL for idempotent adapters */
    /* May be NULL (ops then run to their own timeout). See "Cancellation" above. */
    void (*cancel)(void *state, struct hd_op *op);

    /* Inbound route: called for requests on the instance's own listener (config keys
     * inbound_listen, inbound_path). NULL when the platform never calls back. Synchronous:
     * fill resp and return 0. */
    int (*inbound)(void *state, const struct hd_inbound_req *req, struct hd_inbound_resp *resp);
};

/* The one symbol a loadable adapter (.so) exports: it returns a pointer to a static struct
 * hd_channel that stays valid while the .so is loaded. Keep everything else in the .so static
 * (or hidden): heraldd resolves nothing else from it. */
typedef const struct hd_channel *hd_channel_entry_fn(void);
#define HD_CHANNEL_ENTRY "hd_channel_entry"
/* Defines the entry point of a loadable adapter, exported even when the .so is built with
 * -fvisibility=hidden (recommended): HD_CHANNEL_EXPORT(channel) after the struct. */
#define HD_CHANNEL_EXPORT(chan)                                                                    \
    __attribute__((visibility("default"))) hd_channel_entry_fn hd_channel_entry;                   \
    const struct hd_channel *hd_channel_entry(void)                                                \
    {                                                                                              \
        return &(chan);                                                                            \
    }

#ifdef __cplusplus
}
#endif
#endif
