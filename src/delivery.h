/*
 * Deliveries and their states: the one state table of DESIGN.md ("States — the one table"),
 * written out in docs/states.md. A delivery is (item id, version, instance, target). Every change
 * of state goes through hd_delivery_transition(), which checks the table, bumps the delivery's
 * sequence number and writes the row and its status event (the outbox) in the same store batch.
 */
#ifndef HD_DELIVERY_H
#define HD_DELIVERY_H

#include <stdint.h>

enum hd_dstate {
    /* non-terminal */
    HD_D_PENDING,       /* queued */
    HD_D_HELD,          /* embargo, dependency, or an interpretation waiting for its document */
    HD_D_SENDING,       /* a send is in flight */
    HD_D_WAITING_RETRY, /* next_at = next attempt */
    HD_D_PUBLISHING,    /* accepted by the platform, result pending (next_at = next poll) */
    HD_D_RECONCILING,   /* outcome unknown: checking before any resend */
    HD_D_PARKED,        /* the instance needs an operator */
    HD_D_RETRACTING,    /* withdrawal queued or in flight */
    /* terminal (delivered can still move on: retracting, removed_externally, manual_action) */
    HD_D_DELIVERED,
    HD_D_FAILED,
    HD_D_SUPERSEDED,
    HD_D_RETRACTED,
    HD_D_EXPIRED,
    HD_D_CANCELLED,
    HD_D_REMOVED_EXTERNALLY,
    HD_D_MANUAL_ACTION,
    HD_D_MAX
};

const char *hd_dstate_name(enum hd_dstate s);
int hd_dstate_parse(const char *name); /* -1 when unknown */
int hd_dstate_terminal(enum hd_dstate s);
/* Is from -> to in the state table? */
int hd_dstate_allowed(enum hd_dstate from, enum hd_dstate to);

/* Why a delivery is held (hold_kind). */
enum hd_hold {
    HD_HOLD_NONE,
    HD_HOLD_EMBARGO,    /* schedule.not_before */
    HD_HOLD_DEPENDENCY, /* depends_on: hold_item = the same item, hold_instance = the dependency */
    HD_HOLD_INTERPRETS, /* hold_item = the interpreted document, hold_instance = own instance */
    HD_HOLD_MAX
};
const char *hd_hold_name(enum hd_hold h);

struct hd_delivery {
    int64_t id; /* row id */
    char *item_id;
    int64_t version;
    char *instance;
    char *target; /* "" for single-target channels */
    enum hd_dstate state;
    char *reason; /* why it is in this state: a short code */
    char *detail; /* one human line */
    int priority; /* 1 urgent, 0 normal */
    int attempts;
    int64_t created_at, updated_at; /* epoch ms */
    int64_t next_at;                /* 0: nothing scheduled */
    int64_t not_before, expires_at; /* 0: none */
    int64_t approved_at;
    enum hd_hold hold_kind;
    char *hold_item;
    char *hold_instance;
    int64_t hold_until; /* max_hold deadline for dependency/interprets holds */
    char *remote_id;
    char *remote_url;
    char *adapter_state; /* JSON persisted by the adapter */
    int64_t delivered_at;
    int64_t seq;                /* status events emitted so far */
    int is_retract_of_revision; /* retracting as part of retract_and_republish */
};

void hd_delivery_free(struct hd_delivery *d);  /* NULL-safe; frees strings and d */
void hd_delivery_clear(struct hd_delivery *d); /* frees strings, keeps d */
void hd_delivery_set_str(char **field, const char *value);
/* "<item>:<version>:<instance>[:<target>]" into buf */
const char *hd_delivery_name(const struct hd_delivery *d, char *buf, size_t len);
/* herald:<item>:<version>:<instance>[:<target>], at most 255 chars (item id hashed if longer) */
void hd_idempotency_key(const char *item_id, int64_t version, const char *instance,
                        const char *target, char *out, size_t len);

struct hd_store;
struct hd_status_sink;

/* Insert a new delivery (in its initial state: pending or held) and emit its first event.
 * HD_EEXIST when the delivery exists already (a re-delivered message). */
int hd_delivery_create(struct hd_store *st, struct hd_delivery *d);
/*
 * Move d to `to` with reason/detail (may be NULL), writing the row and a status event in the
 * current store batch. Refuses (HD_ESTATE, logged) a move the state table does not allow.
 * `status_topic` is where the outbox publishes the event.
 */
int hd_delivery_transition(struct hd_store *st, struct hd_delivery *d, enum hd_dstate to,
                           const char *reason, const char *detail);
/* Write d's row (fields other than state) without a state change or event. */
int hd_delivery_save(struct hd_store *st, struct hd_delivery *d);

#endif
