/*
 * herald.item/v1: parsing and validating one Kafka message into an item (schema/herald.item.v1.json
 * is the contract; docs/item-schema.md explains it). Intake calls hd_item_parse() for every
 * message; a non-zero return carries a reason code and a precise detail for the dead-letter
 * headers (herald-error, herald-detail).
 */
#ifndef HD_ITEM_H
#define HD_ITEM_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include <herald/channel.h>

/* Reason codes (herald-error header values). */
#define HD_REJ_OVERSIZE      "oversize" /* message over kafka.max_message_bytes */
#define HD_REJ_INVALID_UTF8  "invalid_utf8"
#define HD_REJ_INVALID_JSON  "invalid_json"
#define HD_REJ_NOT_OBJECT    "not_an_object"
#define HD_REJ_SCHEMA        "unsupported_schema" /* "schema" is not "herald.item/v1" */
#define HD_REJ_MISSING       "missing_field"
#define HD_REJ_TYPE          "wrong_type"
#define HD_REJ_VALUE         "invalid_value" /* wrong format, enum, length or range */
#define HD_REJ_UNKNOWN_FIELD "unknown_field"
#define HD_REJ_REVIEW        "review_incomplete" /* the three-level review trail is not whole */
#define HD_REJ_KEY_MISMATCH  "key_mismatch"      /* Kafka key present and != id */

struct hd_item_error {
    char code[32];    /* one of HD_REJ_* */
    char detail[256]; /* JSON pointer of the offending field and what is wrong, e.g.
                         "/review/1/at: not an RFC 3339 time with offset" */
};

struct hd_review_step {
    const char *level; /* "initial" (初审), "recheck" (复核), "final" (审定) */
    const char *reviewer;
    const char *at;
    int64_t at_ms;
};

struct hd_item_doc {
    json_t *root;        /* owned: the parsed document; every string below points into it */
    struct hd_item view; /* what adapters see (struct_size, json/json_len set) */
    struct hd_review_step review[3];
    struct hd_asset *images;      /* owned array, view.images points here */
    struct hd_asset *attachments; /* owned array */
    const char *priority;         /* "normal" | "urgent" */
    const char *reason;           /* retract: optional reason text */
    const char *publisher_kind;   /* "district" | "department" | "street", NULL when absent */
    const char *issued_date;      /* 成文日期 YYYY-MM-DD, NULL when absent */
    /* targets (all optional): arrays of strings, NULL when absent */
    const char **target_channels;
    size_t n_target_channels;
    const char **target_streets;
    size_t n_target_streets;
    const char **target_boards;
    size_t n_target_boards;
    char *raw; /* owned copy of the message bytes (NUL-terminated); view.json points here */
    size_t raw_len;
};

/*
 * The view's strings point into root; absent optional fields are NULL, except view.summary, which
 * is "" on a publish item without one (an empty summary is valid anyway). On a retract every field
 * but id, version, action and approved_at may be NULL. A time field at exactly the epoch reads as
 * absent in not_before_ms / expires_at_ms (0).
 */

/*
 * Parse and validate one message. `key` (may be NULL) is the Kafka key; when present it must equal
 * the item id. `max_len` is the configured size limit (0: none). Returns 0 and sets *out, or
 * HD_EINVAL with err filled (never crashes, whatever the bytes), or HD_ENOMEM (err->code "",
 * not a rejection: retry the message later). err->detail is valid UTF-8 without control
 * characters, fit for a Kafka header.
 */
int hd_item_parse(const void *buf, size_t len, const void *key, size_t key_len, size_t max_len,
                  struct hd_item_doc **out, struct hd_item_error *err);
void hd_item_destroy(struct hd_item_doc *doc); /* NULL-safe */

/* RFC 3339 with a mandatory offset ("Z" or ±hh:mm), fractional seconds allowed. 0 or HD_EINVAL. */
int hd_time_parse_rfc3339(const char *s, int64_t *epoch_ms);
/* Format epoch ms as RFC 3339 in UTC ("2026-03-02T01:30:00.000Z"); out must hold 32 bytes. */
void hd_time_format_rfc3339(int64_t epoch_ms, char out[32]);
/* The same grammar on s[0..len) to the nanosecond (digits past the 9th are ignored); *why (may be
 * NULL) gets a static reason on failure ("day out of range for its month"). 0 or HD_EINVAL. */
int hd_time_parse_ns(const char *s, size_t len, int64_t *sec, int32_t *nsec, const char **why);
/* A full-date YYYY-MM-DD (year 0001-9999, real day of its month) as days since 1970-01-01. */
int hd_date_parse(const char *s, size_t len, int64_t *days, const char **why);

#endif
