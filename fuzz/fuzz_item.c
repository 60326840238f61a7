/*
 * libFuzzer harness for the herald.item/v1 parser (src/item.c, item_lex.c, item_time.c): every
 * input is one Kafka message. Besides "no crash, no leak, no UB" it checks what intake relies on:
 * a rejection carries a known code and a header-safe detail; an accepted item has a coherent view
 * and is accepted again with its own id as Kafka key; the RFC 3339 parser round-trips through the
 * formatter. Build with -DHERALD_FUZZ=ON and clang; fuzz/CMakeLists.txt says how to run it.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "item.h"
#include "item_lex.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond))                                                                               \
            __builtin_trap();                                                                      \
    } while (0)

static const char *const codes[] = {HD_REJ_OVERSIZE,   HD_REJ_INVALID_UTF8, HD_REJ_INVALID_JSON,
                                    HD_REJ_NOT_OBJECT, HD_REJ_SCHEMA,       HD_REJ_MISSING,
                                    HD_REJ_TYPE,       HD_REJ_VALUE,        HD_REJ_UNKNOWN_FIELD,
                                    HD_REJ_REVIEW,     HD_REJ_KEY_MISMATCH};

static void check_rejection(const struct hd_item_error *err)
{
    int known = 0;
    const char *why;
    size_t n = strnlen(err->detail, sizeof err->detail);
    for (size_t i = 0; i < HD_ARRAY_LEN(codes); i++)
        known |= !strcmp(err->code, codes[i]);
    CHECK(known);
    CHECK(n > 0 && n < sizeof err->detail);
    CHECK(hd_item_utf8_scan((const unsigned char *)err->detail, n, &why) == n);
    for (size_t i = 0; i < n; i++)
        CHECK((unsigned char)err->detail[i] >= 0x20 && err->detail[i] != 0x7f);
}

static void check_view(const struct hd_item_doc *d, const uint8_t *data, size_t size)
{
    const struct hd_item *v = &d->view;
    int publish = !strcmp(v->action, "publish");
    CHECK(v->struct_size == sizeof *v);
    CHECK(v->json == d->raw && v->json_len == size && !memcmp(v->json, data, size));
    CHECK(v->id && *v->id && v->version >= 1 && v->approved_at);
    CHECK(publish || !strcmp(v->action, "retract"));
    if (publish)
        CHECK(v->title && v->body_html && v->summary && v->column && v->category &&
              v->publisher_code && v->publisher_name);
    CHECK(d->review[0].at_ms <= d->review[1].at_ms && d->review[1].at_ms <= d->review[2].at_ms);
    CHECK(d->review[2].at_ms <= v->approved_at_ms);
    CHECK(!v->not_before_ms || !v->expires_at_ms || v->not_before_ms <= v->expires_at_ms);
    CHECK(v->urgent == !strcmp(d->priority, "urgent"));
    for (size_t i = 0; i < v->n_images; i++)
        CHECK(v->images[i].url && !strncmp(v->images[i].media_type, "image/", 6));
    for (size_t i = 0; i < v->n_attachments; i++)
        CHECK(v->attachments[i].url && v->attachments[i].media_type);
    for (size_t i = 0; i < d->n_target_streets; i++)
        CHECK(strlen(d->target_streets[i]) == 9);
}

static void check_time(const uint8_t *data, size_t size)
{
    char s[64], out[32];
    int64_t ms, back;
    if (size >= sizeof s)
        return;
    memcpy(s, data, size);
    s[size] = '\0';
    if (hd_time_parse_rfc3339(s, &ms) == 0) {
        hd_time_format_rfc3339(ms, out);
        CHECK(hd_time_parse_rfc3339(out, &back) == 0 && back == ms);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct hd_item_doc *doc = NULL, *again = NULL;
    struct hd_item_error err;
    int rc = hd_item_parse(data, size, NULL, 0, 0, &doc, &err);
    if (rc == 0) {
        check_view(doc, data, size);
        /* the same bytes with the id as key, at exactly the size limit: accepted again */
        rc = hd_item_parse(data, size, doc->view.id, strlen(doc->view.id), size, &again, &err);
        CHECK(rc == 0 && again && again->view.version == doc->view.version);
        hd_item_destroy(again);
        /* one byte under the limit: oversize */
        if (size > 1) {
            CHECK(hd_item_parse(data, size, NULL, 0, size - 1, &again, &err) == HD_EINVAL);
            CHECK(!again && !strcmp(err.code, HD_REJ_OVERSIZE));
        }
        hd_item_destroy(doc);
    } else {
        CHECK(rc == HD_EINVAL && doc == NULL);
        check_rejection(&err);
    }
    check_time(data, size);
    return 0;
}
