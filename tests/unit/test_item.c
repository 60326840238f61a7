/*
 * Unit tests of herald.item/v1 intake (src/item.c, item_lex.c, item_time.c): every rule and every
 * reason code with its detail, and the view adapters see (RFC 3339 is in test_item_time.c). The
 * fixture corpus and the differential test against jsonschema are in tests/items/.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "common.h"
#include "item.h"
#include "item_lex.h"

/* A valid publish item; tests change one thing at a time with jansson. */
static const char base_json[] =
    "{\"schema\":\"herald.item/v1\",\"id\":\"yx-jyj-2026-tz-0042\",\"version\":3,"
    "\"action\":\"publish\",\"approved_at\":\"2026-03-03T11:20:00+08:00\","
    "\"review\":["
    "{\"level\":\"initial\",\"reviewer\":\"陈敏\",\"at\":\"2026-03-02T15:10:00+08:00\"},"
    "{\"level\":\"recheck\",\"reviewer\":\"黄志强\",\"at\":\"2026-03-03T09:40:00+08:00\","
    "\"opinion\":\"同意\"},"
    "{\"level\":\"final\",\"reviewer\":\"李卫东\",\"at\":\"2026-03-03T11:05:00+08:00\"}],"
    "\"publisher\":{\"code\":\"YX-JYJ\",\"name\":\"广州市越秀区教育局\",\"kind\":\"department\"},"
    "\"column\":\"政务公开/通知公告\",\"category\":\"notice\","
    "\"title\":\"关于2026年越秀区义务教育阶段学校招生工作的通知\","
    "\"body_html\":\"<p>各中小学:</p>\"}";

static json_t *base(void)
{
    json_error_t e;
    json_t *d = json_loads(base_json, 0, &e);
    assert_non_null(d);
    return d;
}

/* Serialize doc (consumed) and parse it; returns hd_item_parse's result. */
static int parse_doc(json_t *doc, struct hd_item_doc **out, struct hd_item_error *err)
{
    char *text = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    assert_non_null(text);
    int rc = hd_item_parse(text, strlen(text), NULL, 0, 0, out, err);
    free(text);
    return rc;
}

static void expect_reject_text(const char *text, size_t len, size_t max_len, const char *code,
                               const char *detail)
{
    struct hd_item_doc *doc = (struct hd_item_doc *)1;
    struct hd_item_error err;
    int rc = hd_item_parse(text, len, NULL, 0, max_len, &doc, &err);
    if (rc != HD_EINVAL || strcmp(err.code, code) || strcmp(err.detail, detail))
        fail_msg("want %s \"%s\", got rc %d %s \"%s\"", code, detail, rc, err.code, err.detail);
    assert_null(doc);
}

static void expect_reject(json_t *doc, const char *code, const char *detail)
{
    char *text = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    expect_reject_text(text, strlen(text), 0, code, detail);
    free(text);
}

static struct hd_item_doc *expect_accept(json_t *doc)
{
    struct hd_item_doc *d = NULL;
    struct hd_item_error err;
    int rc = parse_doc(doc, &d, &err);
    if (rc)
        fail_msg("rejected: %s %s", err.code, err.detail);
    return d;
}

/* json_pack shorthands */
static json_t *with(json_t *doc, const char *key, json_t *v)
{
    json_object_set_new(doc, key, v);
    return doc;
}

static json_t *without(json_t *doc, const char *key)
{
    json_object_del(doc, key);
    return doc;
}

static json_t *step(json_t *doc, int i)
{
    return json_array_get(json_object_get(doc, "review"), (size_t)i);
}

/* ---- the message as a whole ------------------------------------------------------------------ */

static void test_base_accepted_and_view(void **state)
{
    struct hd_item_doc *d = expect_accept(base());
    const struct hd_item *v = &d->view;
    assert_int_equal(v->struct_size, sizeof(struct hd_item));
    assert_string_equal(v->id, "yx-jyj-2026-tz-0042");
    assert_int_equal(v->version, 3);
    assert_string_equal(v->action, "publish");
    assert_string_equal(v->category, "notice");
    assert_string_equal(v->column, "政务公开/通知公告");
    assert_string_equal(v->publisher_code, "YX-JYJ");
    assert_string_equal(v->publisher_name, "广州市越秀区教育局");
    assert_string_equal(d->publisher_kind, "department");
    assert_string_equal(v->title, "关于2026年越秀区义务教育阶段学校招生工作的通知");
    assert_string_equal(v->summary, ""); /* absent: "" on a publish item */
    assert_string_equal(v->body_html, "<p>各中小学:</p>");
    assert_null(v->body_text);
    assert_null(v->doc_number);
    assert_null(d->issued_date);
    assert_string_equal(v->approved_at, "2026-03-03T11:20:00+08:00");
    assert_int_equal(v->approved_at_ms, 1772508000000);
    assert_int_equal(v->not_before_ms, 0);
    assert_int_equal(v->expires_at_ms, 0);
    assert_int_equal(v->urgent, 0);
    assert_string_equal(d->priority, "normal");
    assert_int_equal(v->n_images, 0);
    assert_int_equal(v->n_attachments, 0);
    assert_null(v->interprets);
    assert_null(d->target_channels);
    assert_int_equal(d->n_target_streets, 0);
    assert_string_equal(d->review[0].level, "initial");
    assert_string_equal(d->review[1].reviewer, "黄志强");
    assert_string_equal(d->review[2].at, "2026-03-03T11:05:00+08:00");
    assert_int_equal(d->review[2].at_ms, 1772507100000);
    /* json is the raw message, NUL-terminated, owned by the doc */
    assert_ptr_equal(v->json, d->raw);
    assert_int_equal(v->json_len, d->raw_len);
    assert_int_equal(v->json[v->json_len], '\0');
    assert_non_null(strstr(v->json, "\"schema\":\"herald.item/v1\""));
    hd_item_destroy(d);
    hd_item_destroy(NULL);
}

static void test_full_view(void **state)
{
    json_t *doc = base();
    json_object_set_new(doc, "summary", json_string("摘要"));
    json_object_set_new(doc, "body_text", json_string("各中小学:"));
    json_object_set_new(doc, "doc_number", json_string("越教〔2026〕12号"));
    json_object_set_new(doc, "issued_date", json_string("2026-02-28"));
    json_object_set_new(doc, "priority", json_string("urgent"));
    json_object_set_new(
        doc, "images",
        json_pack("[{s:s, s:s, s:s, s:i, s:s}, {s:s, s:s}]", "url",
                  "https://www.yuexiu.gov.cn/a/zs.jpg", "sha256",
                  "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", "media_type",
                  "image/jpeg", "size", 40960, "caption", "招生范围图", "url",
                  "http://127.0.0.1:8080/b.png", "media_type", "image/png"));
    json_object_set_new(doc, "attachments",
                        json_pack("[{s:s, s:s, s:s}]", "url", "https://www.yuexiu.gov.cn/f.pdf",
                                  "media_type", "application/pdf", "name", "招生细则.pdf"));
    json_object_set_new(doc, "related",
                        json_pack("[{s:s, s:s}, {s:s, s:s}]", "type", "see_also", "id", "yx-1",
                                  "type", "interprets", "id", "yx-jyj-2026-gfxwj-001"));
    json_object_set_new(doc, "targets",
                        json_pack("{s:[s,s], s:[s,s,s], s:[s]}", "channels", "website",
                                  "ejiatong:streets", "streets", "440104003", "440104011",
                                  "440104016", "boards", "zwfw-center/hall-a"));
    json_object_set_new(doc, "schedule",
                        json_pack("{s:s, s:s}", "not_before", "2026-03-03T12:00:00+08:00",
                                  "expires_at", "2026-04-03T00:00:00+08:00"));
    struct hd_item_doc *d = expect_accept(doc);
    const struct hd_item *v = &d->view;
    assert_string_equal(v->summary, "摘要");
    assert_string_equal(v->body_text, "各中小学:");
    assert_string_equal(v->doc_number, "越教〔2026〕12号");
    assert_string_equal(d->issued_date, "2026-02-28");
    assert_int_equal(v->urgent, 1);
    assert_string_equal(d->priority, "urgent");
    assert_int_equal(v->not_before_ms, 1772510400000);
    assert_int_equal(v->expires_at_ms, 1775145600000);
    assert_int_equal(v->n_images, 2);
    assert_ptr_equal(v->images, d->images);
    assert_string_equal(v->images[0].url, "https://www.yuexiu.gov.cn/a/zs.jpg");
    assert_string_equal(v->images[0].sha256,
                        "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08");
    assert_string_equal(v->images[0].media_type, "image/jpeg");
    assert_string_equal(v->images[0].name, "招生范围图");
    assert_int_equal(v->images[0].size, 40960);
    assert_null(v->images[1].sha256);
    assert_null(v->images[1].name);
    assert_int_equal(v->images[1].size, -1);
    assert_int_equal(v->n_attachments, 1);
    assert_string_equal(v->attachments[0].name, "招生细则.pdf");
    assert_string_equal(v->interprets, "yx-jyj-2026-gfxwj-001");
    assert_int_equal(d->n_target_channels, 2);
    assert_string_equal(d->target_channels[1], "ejiatong:streets");
    assert_int_equal(d->n_target_streets, 3);
    assert_string_equal(d->target_streets[2], "440104016");
    assert_int_equal(d->n_target_boards, 1);
    assert_string_equal(d->target_boards[0], "zwfw-center/hall-a");
    hd_item_destroy(d);
}

static void test_retract_view(void **state)
{
    json_t *b = base();
    json_t *doc = json_pack("{s:s, s:s, s:i, s:s, s:s, s:O, s:s}", "schema", "herald.item/v1", "id",
                            "yx-jyj-2026-tz-0042", "version", 4, "action", "retract", "approved_at",
                            "2026-03-04T08:00:00Z", "review", json_object_get(b, "review"),
                            "reason", "内容有误");
    json_decref(b);
    struct hd_item_doc *d = expect_accept(doc);
    assert_string_equal(d->view.action, "retract");
    assert_null(d->view.title);
    assert_null(d->view.summary);
    assert_null(d->view.body_html);
    assert_null(d->view.category);
    assert_null(d->view.publisher_code);
    assert_string_equal(d->reason, "内容有误");
    assert_int_equal(d->view.approved_at_ms, 1772611200000);
    hd_item_destroy(d);
}

static void test_kafka_key(void **state)
{
    json_t *doc = base();
    char *s = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    struct hd_item_doc *d = NULL;
    struct hd_item_error err;
    assert_int_equal(hd_item_parse(s, strlen(s), "yx-jyj-2026-tz-0042", 19, 0, &d, &err), 0);
    hd_item_destroy(d);
    assert_int_equal(hd_item_parse(s, strlen(s), "yx-jyj-2026-tz-004", 18, 0, &d, &err), HD_EINVAL);
    assert_string_equal(err.code, HD_REJ_KEY_MISMATCH);
    assert_string_equal(err.detail, "/id: differs from the Kafka message key");
    assert_int_equal(hd_item_parse(s, strlen(s), "yx-jyj-2026-tz-0042x", 19, 0, &d, &err), 0);
    hd_item_destroy(d); /* key_len counts, not the NUL */
    assert_int_equal(hd_item_parse(s, strlen(s), "", 0, 0, &d, &err), HD_EINVAL);
    assert_string_equal(err.code, HD_REJ_KEY_MISMATCH);
    free(s);
}

static void test_document_level(void **state)
{
    char big[64];
    memset(big, ' ', sizeof big);
    expect_reject_text(big, sizeof big, 63, HD_REJ_OVERSIZE,
                       "message is 64 bytes, the limit is 63");
    expect_reject_text("{\"a\":\"\xe8\xb6\"}", 10, 0, HD_REJ_INVALID_UTF8,
                       "byte 6: truncated sequence");
    expect_reject_text("{\"a\":\"\xc0\xaf\"}", 10, 0, HD_REJ_INVALID_UTF8,
                       "byte 6: overlong encoding");
    expect_reject_text("\xed\xa0\x80", 3, 0, HD_REJ_INVALID_UTF8, "byte 0: UTF-16 surrogate");
    expect_reject_text("{}\xf4\x90\x80\x80", 6, 0, HD_REJ_INVALID_UTF8,
                       "byte 2: code point beyond U+10FFFF");
    expect_reject_text("\x80", 1, 0, HD_REJ_INVALID_UTF8, "byte 0: unexpected continuation byte");
    expect_reject_text("\xff", 1, 0, HD_REJ_INVALID_UTF8, "byte 0: invalid lead byte");
    expect_reject_text("{\"a\":1,}", 8, 0, HD_REJ_INVALID_JSON,
                       "line 1, column 8: string or '}' expected near '}'");
    expect_reject_text("{\"a\":1,\"a\":2}", 13, 0, HD_REJ_INVALID_JSON,
                       "line 1, column 10: duplicate object key near '\"a\"'");
    expect_reject_text("{\"a\":\"\\u0000\"}", 14, 0, HD_REJ_INVALID_JSON,
                       "line 1, column 13: \\u0000 is not allowed without JSON_ALLOW_NUL near "
                       "'\"\\u0000\"'");
    expect_reject_text("", 0, 0, HD_REJ_INVALID_JSON,
                       "line 1, column 0: unexpected token near end of file");
    expect_reject_text("{\"a\":1} x", 9, 0, HD_REJ_INVALID_JSON,
                       "line 1, column 9: end of file expected near 'x'");
    expect_reject_text("{\"a\":1}\0", 8, 0, HD_REJ_INVALID_JSON,
                       "line 1, column 8: end of file expected near end of file");
    expect_reject_text(NULL, 5, 0, HD_REJ_INVALID_JSON,
                       "line 1, column 0: unexpected token near end of file");
    expect_reject_text("[1]", 3, 0, HD_REJ_NOT_OBJECT, "the message is an array, not an object");
    expect_reject_text("42", 2, 0, HD_REJ_NOT_OBJECT, "the message is an integer, not an object");
    expect_reject_text("null", 4, 0, HD_REJ_NOT_OBJECT, "the message is null, not an object");
    /* err may be NULL */
    struct hd_item_doc *d = NULL;
    assert_int_equal(hd_item_parse("[", 1, NULL, 0, 0, &d, NULL), HD_EINVAL);
    assert_null(d);
}

static void test_schema_and_unknown_fields(void **state)
{
    expect_reject(without(base(), "schema"), HD_REJ_MISSING, "/schema: required");
    expect_reject(with(base(), "schema", json_string("herald.item/v2")), HD_REJ_SCHEMA,
                  "/schema: expected \"herald.item/v1\"");
    expect_reject(with(base(), "schema", json_null()), HD_REJ_SCHEMA,
                  "/schema: expected \"herald.item/v1\"");
    /* a v2 message with new fields is unsupported_schema, not unknown_field */
    expect_reject(with(with(base(), "schema", json_string("herald.item/v2")), "new", json_true()),
                  HD_REJ_SCHEMA, "/schema: expected \"herald.item/v1\"");
    expect_reject(with(base(), "Title", json_string("x")), HD_REJ_UNKNOWN_FIELD,
                  "/Title: not a herald.item/v1 field here");
    /* an unknown field is reported before a missing one */
    expect_reject(with(without(base(), "title"), "titel", json_string("x")), HD_REJ_UNKNOWN_FIELD,
                  "/titel: not a herald.item/v1 field here");
    /* the key is escaped as a JSON pointer and sanitized for a header */
    expect_reject(with(base(), "a/b~c\x01", json_true()), HD_REJ_UNKNOWN_FIELD,
                  "/a~1b~0c\\u0001: not a herald.item/v1 field here");
    json_t *doc = base();
    json_object_set_new(json_object_get(doc, "publisher"), "phone", json_string("020"));
    expect_reject(doc, HD_REJ_UNKNOWN_FIELD, "/publisher/phone: not a herald.item/v1 field here");
    doc = base();
    json_object_set_new(step(doc, 2), "signed", json_true());
    expect_reject(doc, HD_REJ_UNKNOWN_FIELD, "/review/2/signed: not a herald.item/v1 field here");
    expect_reject(with(base(), "schedule", json_pack("{s:s}", "timezone", "Asia/Shanghai")),
                  HD_REJ_UNKNOWN_FIELD, "/schedule/timezone: not a herald.item/v1 field here");
    expect_reject(with(base(), "targets", json_pack("{s:[]}", "screens")), HD_REJ_UNKNOWN_FIELD,
                  "/targets/screens: not a herald.item/v1 field here");
}

static void test_long_unknown_key_detail(void **state)
{
    char key[400];
    size_t o = 0;
    while (o + 3 < sizeof key - 1) { /* 133 times 越 (3 bytes each) */
        memcpy(key + o, "越", 3);
        o += 3;
    }
    key[o] = '\0';
    json_t *doc = with(base(), key, json_true());
    char *text = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    struct hd_item_doc *d = NULL;
    struct hd_item_error err;
    assert_int_equal(hd_item_parse(text, strlen(text), NULL, 0, 0, &d, &err), HD_EINVAL);
    free(text);
    assert_string_equal(err.code, HD_REJ_UNKNOWN_FIELD);
    const char *why;
    size_t n = strlen(err.detail);
    assert_true(n < sizeof err.detail);
    assert_int_equal(hd_item_utf8_scan((const unsigned char *)err.detail, n, &why), n);
    /* 64 bytes of the key are read: 21 whole characters, the 22nd is dropped */
    char want[128] = "/";
    for (int i = 0; i < 21; i++)
        strcat(want, "越");
    strcat(want, "...: not a herald.item/v1 field here");
    assert_string_equal(err.detail, want);
}

static void test_id_version_action(void **state)
{
    expect_reject(without(base(), "id"), HD_REJ_MISSING, "/id: required");
    expect_reject(with(base(), "id", json_string("")), HD_REJ_VALUE, "/id: empty");
    expect_reject(with(base(), "id", json_string("yx 1")), HD_REJ_VALUE,
                  "/id: may only contain A-Z a-z 0-9 . _ : -");
    expect_reject(with(base(), "id", json_integer(1)), HD_REJ_TYPE,
                  "/id: expected a string, got an integer");
    char id[130];
    memset(id, 'a', sizeof id);
    id[128] = '\0';
    hd_item_destroy(expect_accept(with(base(), "id", json_string(id))));
    id[128] = 'a';
    id[129] = '\0';
    expect_reject(with(base(), "id", json_string(id)), HD_REJ_VALUE,
                  "/id: longer than 128 characters");
    expect_reject(without(base(), "version"), HD_REJ_MISSING, "/version: required");
    expect_reject(with(base(), "version", json_integer(0)), HD_REJ_VALUE,
                  "/version: out of range 1..9007199254740991");
    expect_reject(with(base(), "version", json_integer(9007199254740992LL)), HD_REJ_VALUE,
                  "/version: out of range 1..9007199254740991");
    expect_reject(with(base(), "version", json_real(1.5)), HD_REJ_TYPE,
                  "/version: expected an integer, got a number");
    expect_reject(with(base(), "version", json_real(1e300)), HD_REJ_VALUE,
                  "/version: out of range 1..9007199254740991");
    expect_reject(with(base(), "version", json_true()), HD_REJ_TYPE,
                  "/version: expected an integer, got a boolean");
    expect_reject(with(base(), "version", json_string("2")), HD_REJ_TYPE,
                  "/version: expected an integer, got a string");
    struct hd_item_doc *d = expect_accept(with(base(), "version", json_real(7.0)));
    assert_int_equal(d->view.version, 7); /* 7.0 is an integer in JSON Schema */
    hd_item_destroy(d);
    expect_reject(without(base(), "action"), HD_REJ_MISSING, "/action: required");
    expect_reject(with(base(), "action", json_string("delete")), HD_REJ_VALUE,
                  "/action: must be one of publish, retract");
}

static void test_review_rules(void **state)
{
    json_t *doc;
    expect_reject(without(base(), "review"), HD_REJ_REVIEW,
                  "/review: required: the initial, recheck and final review steps");
    expect_reject(with(base(), "review", json_object()), HD_REJ_TYPE,
                  "/review: expected an array, got an object");
    doc = base();
    json_array_remove(json_object_get(doc, "review"), 1);
    expect_reject(doc, HD_REJ_REVIEW,
                  "/review: 2 steps; exactly 3 are required: initial, "
                  "recheck, final");
    doc = base();
    json_array_append(json_object_get(doc, "review"), step(doc, 2));
    expect_reject(doc, HD_REJ_REVIEW,
                  "/review: 4 steps; exactly 3 are required: initial, "
                  "recheck, final");
    doc = base(); /* swapped */
    json_object_set_new(step(doc, 0), "level", json_string("recheck"));
    json_object_set_new(step(doc, 1), "level", json_string("initial"));
    expect_reject(doc, HD_REJ_REVIEW,
                  "/review/0/level: \"recheck\" where \"initial\" belongs "
                  "(order: initial, recheck, final)");
    doc = base(); /* duplicated */
    json_object_set_new(step(doc, 2), "level", json_string("recheck"));
    expect_reject(doc, HD_REJ_REVIEW,
                  "/review/2/level: \"recheck\" where \"final\" belongs "
                  "(order: initial, recheck, final)");
    doc = base();
    json_object_set_new(step(doc, 1), "level", json_string("复核"));
    expect_reject(doc, HD_REJ_REVIEW, "/review/1/level: unknown level; expected \"recheck\"");
    doc = base();
    json_object_set_new(step(doc, 1), "level", json_integer(2));
    expect_reject(doc, HD_REJ_TYPE, "/review/1/level: expected a string, got an integer");
    doc = base();
    json_object_del(step(doc, 0), "level");
    expect_reject(doc, HD_REJ_REVIEW, "/review/0/level: required");
    doc = base();
    json_object_del(step(doc, 1), "reviewer");
    expect_reject(doc, HD_REJ_REVIEW, "/review/1/reviewer: required");
    doc = base();
    json_object_set_new(step(doc, 1), "reviewer", json_string(""));
    expect_reject(doc, HD_REJ_REVIEW, "/review/1/reviewer: empty");
    doc = base();
    json_object_set_new(step(doc, 1), "reviewer",
                        json_string("审审审审审审审审审审审审审审审审审审审审审审审审审审审审审审审"
                                    "审审审审审审审审审审审审审审审审审审审审审审审审审审审审审审审"
                                    "审审审"));
    expect_reject(doc, HD_REJ_VALUE, "/review/1/reviewer: longer than 64 characters");
    doc = base();
    json_object_del(step(doc, 2), "at");
    expect_reject(doc, HD_REJ_REVIEW, "/review/2/at: required");
    doc = base();
    json_object_set_new(step(doc, 2), "at", json_string("2026-03-03T11:05:00"));
    expect_reject(doc, HD_REJ_VALUE, "/review/2/at: missing time zone offset (Z or ±hh:mm)");
    doc = base();
    json_object_set_new(step(doc, 0), "opinion", json_integer(1));
    expect_reject(doc, HD_REJ_TYPE, "/review/0/opinion: expected a string, got an integer");
    doc = base();
    json_array_set_new(json_object_get(doc, "review"), 0, json_string("陈敏"));
    expect_reject(doc, HD_REJ_TYPE, "/review/0: expected an object, got a string");
}

static void test_review_times(void **state)
{
    json_t *doc = base();
    json_object_set_new(step(doc, 1), "at", json_string("2026-03-02T15:09:59+08:00"));
    expect_reject(doc, HD_REJ_REVIEW,
                  "/review/1/at: earlier than the initial review (/review/0/at)");
    doc = base();
    json_object_set_new(step(doc, 2), "at", json_string("2026-03-03T01:39:59Z"));
    expect_reject(doc, HD_REJ_REVIEW,
                  "/review/2/at: earlier than the recheck review (/review/1/at)");
    expect_reject(with(base(), "approved_at", json_string("2026-03-03T03:04:59.999Z")),
                  HD_REJ_REVIEW, "/approved_at: earlier than the final review (/review/2/at)");
    /* to the nanosecond */
    doc = base();
    json_object_set_new(step(doc, 2), "at", json_string("2026-03-03T11:20:00.000000002+08:00"));
    json_object_set_new(doc, "approved_at", json_string("2026-03-03T03:20:00.000000001Z"));
    expect_reject(doc, HD_REJ_REVIEW,
                  "/approved_at: earlier than the final review "
                  "(/review/2/at)");
    /* equal times are in order, whatever their offsets */
    doc = base();
    json_object_set_new(step(doc, 0), "at", json_string("2026-03-03T03:05:00Z"));
    json_object_set_new(step(doc, 1), "at", json_string("2026-03-03T11:05:00+08:00"));
    json_object_set_new(step(doc, 2), "at", json_string("2026-03-02T22:05:00-05:00"));
    json_object_set_new(doc, "approved_at", json_string("2026-03-03t03:05:00.000z"));
    hd_item_destroy(expect_accept(doc));
}

static void test_publish_requirements(void **state)
{
    static const char *const req[] = {"publisher", "column", "category", "title", "body_html"};
    char detail[128];
    for (size_t i = 0; i < HD_ARRAY_LEN(req); i++) {
        snprintf(detail, sizeof detail, "/%s: required when action is publish", req[i]);
        expect_reject(without(base(), req[i]), HD_REJ_MISSING, detail);
    }
    /* a retraction needs none of them */
    json_t *doc = base();
    for (size_t i = 0; i < HD_ARRAY_LEN(req); i++)
        json_object_del(doc, req[i]);
    json_object_set_new(doc, "action", json_string("retract"));
    hd_item_destroy(expect_accept(doc));
    /* but what it carries is checked */
    doc = with(with(base(), "action", json_string("retract")), "title", json_string(""));
    expect_reject(doc, HD_REJ_VALUE, "/title: empty");
}

static void test_publisher_column_category(void **state)
{
    json_t *doc = base();
    json_object_set_new(json_object_get(doc, "publisher"), "code", json_string("yx-jyj"));
    expect_reject(doc, HD_REJ_VALUE, "/publisher/code: must be 2 to 32 of A-Z 0-9 _ -");
    doc = base();
    json_object_set_new(json_object_get(doc, "publisher"), "code",
                        json_string("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456"));
    expect_reject(doc, HD_REJ_VALUE, "/publisher/code: must be 2 to 32 of A-Z 0-9 _ -");
    doc = base();
    json_object_set_new(json_object_get(doc, "publisher"), "kind", json_string("bureau"));
    expect_reject(doc, HD_REJ_VALUE,
                  "/publisher/kind: must be one of district, department, street");
    doc = base();
    json_object_del(json_object_get(doc, "publisher"), "kind");
    expect_reject(doc, HD_REJ_MISSING, "/publisher/kind: required");
    expect_reject(with(base(), "publisher", json_string("区教育局")), HD_REJ_TYPE,
                  "/publisher: expected an object, got a string");
    expect_reject(with(base(), "column", json_string("政务公开/")), HD_REJ_VALUE,
                  "/column: empty path segment");
    expect_reject(with(base(), "column", json_string("政务公开\n通知")), HD_REJ_VALUE,
                  "/column: contains a control character");
    expect_reject(with(base(), "category", json_string("news")), HD_REJ_VALUE,
                  "/category: must be one of normative_document, policy_document, "
                  "policy_interpretation, press_conference, gazette, notice, work_news, "
                  "personnel, consultation, emergency");
    static const char *const cats[] = {
        "normative_document", "policy_document", "policy_interpretation",
        "press_conference",   "gazette",         "notice",
        "work_news",          "personnel",       "consultation",
        "emergency"};
    for (size_t i = 0; i < HD_ARRAY_LEN(cats); i++)
        hd_item_destroy(expect_accept(with(base(), "category", json_string(cats[i]))));
}

static void test_text_lengths(void **state)
{
    char s[4 * 1002 + 1];
    size_t o = 0;
    /* 200 non-BMP characters (800 bytes) is a valid title: lengths are code points */
    for (int i = 0; i < 200; i++, o += 4)
        memcpy(s + o, "\xf0\x9f\x93\xa2", 4);
    s[o] = '\0';
    hd_item_destroy(expect_accept(with(base(), "title", json_string(s))));
    memcpy(s + o, "a", 2);
    expect_reject(with(base(), "title", json_string(s)), HD_REJ_VALUE,
                  "/title: longer than 200 characters");
    expect_reject(with(base(), "title", json_string("")), HD_REJ_VALUE, "/title: empty");
    expect_reject(with(base(), "title", json_string("a\tb")), HD_REJ_VALUE,
                  "/title: contains a control character");
    expect_reject(with(base(), "title", json_null()), HD_REJ_TYPE,
                  "/title: expected a string, got null");
    for (o = 0; o < 1001; o++)
        s[o] = 'x';
    s[o] = '\0';
    expect_reject(with(base(), "summary", json_string(s)), HD_REJ_VALUE,
                  "/summary: longer than 1000 characters");
    s[1000] = '\0';
    hd_item_destroy(expect_accept(with(base(), "summary", json_string(s))));
    /* free text may hold line breaks */
    hd_item_destroy(expect_accept(with(base(), "summary", json_string("第一段\n第二段"))));
    expect_reject(with(base(), "body_html", json_string("")), HD_REJ_VALUE, "/body_html: empty");
    expect_reject(with(base(), "body_text", json_false()), HD_REJ_TYPE,
                  "/body_text: expected a string, got a boolean");
    expect_reject(with(base(), "doc_number", json_string("")), HD_REJ_VALUE, "/doc_number: empty");
    expect_reject(with(base(), "issued_date", json_string("2026-02-29")), HD_REJ_VALUE,
                  "/issued_date: day out of range for its month");
    expect_reject(with(base(), "issued_date", json_string("")), HD_REJ_VALUE,
                  "/issued_date: not a date YYYY-MM-DD");
    expect_reject(with(base(), "reason", json_integer(1)), HD_REJ_TYPE,
                  "/reason: expected a string, got an integer");
    expect_reject(with(base(), "priority", json_string("high")), HD_REJ_VALUE,
                  "/priority: must be one of normal, urgent");
}

static json_t *image(const char *url, const char *media_type)
{
    return json_pack("[{s:s, s:s}]", "url", url, "media_type", media_type);
}

static void test_assets(void **state)
{
    static const char *const good_urls[] = {"https://www.yuexiu.gov.cn/a.jpg",
                                            "http://a",
                                            "https://a-b.c-d.cn:8443/x?y=1#z",
                                            "http://[::1]:8080/a",
                                            "https://a.cn?x",
                                            "https://a.cn#f",
                                            "https://a.cn/%E8%B6%8A"};
    static const struct {
        const char *url, *detail;
    } bad_urls[] = {
        {"ftp://a.cn/x", "not an http:// or https:// URL"},
        {"HTTPS://a.cn/x", "not an http:// or https:// URL"},
        {"https://", "bad host name"},
        {"https://a..cn/", "bad host name"},
        {"https://.a.cn/", "bad host name"},
        {"https://a.cn./", "bad host name"},
        {"https://a_b.cn/", "bad host or port"},
        {"https://a.cn:/x", "bad port"},
        {"https://a.cn:123456/x", "bad port"},
        {"https://[]/x", "bad IPv6 host literal"},
        {"https://[::1/x", "bad IPv6 host literal"},
        {"https://u:p@a.cn/x", "user info (user:password@) is not allowed"},
        {"https://a.cn/a b", "spaces, control and non-ASCII characters must be percent-encoded"},
        {"https://a.cn/越", "spaces, control and non-ASCII characters must be percent-encoded"},
    };
    char detail[200];
    for (size_t i = 0; i < HD_ARRAY_LEN(good_urls); i++)
        hd_item_destroy(expect_accept(with(base(), "images", image(good_urls[i], "image/png"))));
    for (size_t i = 0; i < HD_ARRAY_LEN(bad_urls); i++) {
        snprintf(detail, sizeof detail, "/images/0/url: %s", bad_urls[i].detail);
        expect_reject(with(base(), "images", image(bad_urls[i].url, "image/png")), HD_REJ_VALUE,
                      detail);
    }
    expect_reject(with(base(), "images", image("https://a.cn/x.pdf", "application/pdf")),
                  HD_REJ_VALUE, "/images/0/media_type: not an image/* media type");
    expect_reject(with(base(), "images", image("https://a.cn/x", "image/")), HD_REJ_VALUE,
                  "/images/0/media_type: not an image/* media type");
    expect_reject(with(base(), "attachments", image("https://a.cn/x", "text/plain; charset=x")),
                  HD_REJ_VALUE, "/attachments/0/media_type: not a media type type/subtype");
    hd_item_destroy(expect_accept(
        with(base(), "attachments",
             image("https://a.cn/x.docx",
                   "application/vnd.openxmlformats-officedocument.wordprocessingml.document"))));
    expect_reject(with(base(), "images", json_pack("[{s:s}]", "url", "https://a.cn/x")),
                  HD_REJ_MISSING, "/images/0/media_type: required");
    expect_reject(with(base(), "attachments", json_pack("[{s:s}]", "media_type", "text/plain")),
                  HD_REJ_MISSING, "/attachments/0/url: required");
    expect_reject(with(base(), "images",
                       json_pack("[{s:s, s:s, s:s}]", "url", "https://a.cn/x", "media_type",
                                 "image/png", "sha256", "ABCDEF")),
                  HD_REJ_VALUE, "/images/0/sha256: must be 64 lowercase hex digits");
    expect_reject(with(base(), "images",
                       json_pack("[{s:s, s:s, s:i}]", "url", "https://a.cn/x", "media_type",
                                 "image/png", "size", -1)),
                  HD_REJ_VALUE, "/images/0/size: out of range 0..9007199254740991");
    expect_reject(with(base(), "images",
                       json_pack("[{s:s, s:s, s:s}]", "url", "https://a.cn/x", "media_type",
                                 "image/png", "name", "x")),
                  HD_REJ_UNKNOWN_FIELD, "/images/0/name: not a herald.item/v1 field here");
    expect_reject(with(base(), "images", json_string("https://a.cn/x")), HD_REJ_TYPE,
                  "/images: expected an array, got a string");
    json_t *many = json_array();
    for (int i = 0; i < 51; i++)
        json_array_append_new(
            many, json_pack("{s:s, s:s}", "url", "https://a.cn/x", "media_type", "image/png"));
    expect_reject(with(base(), "images", many), HD_REJ_VALUE, "/images: more than 50 entries");
}

static void test_related(void **state)
{
    expect_reject(with(base(), "related",
                       json_pack("[{s:s, s:s}, {s:s, s:s}]", "type", "interprets", "id", "a",
                                 "type", "interprets", "id", "b")),
                  HD_REJ_VALUE,
                  "/related/1: a second \"interprets\" (an item interprets at most one document)");
    expect_reject(with(base(), "related",
                       json_pack("[{s:s, s:s}, {s:s, s:s}]", "type", "see_also", "id", "a", "type",
                                 "see_also", "id", "a")),
                  HD_REJ_VALUE, "/related/1: same relation as entry 0");
    expect_reject(with(base(), "related", json_pack("[{s:s, s:s}]", "type", "cites", "id", "a")),
                  HD_REJ_VALUE, "/related/0/type: must be one of interprets, supersedes, see_also");
    expect_reject(with(base(), "related", json_pack("[{s:s}]", "type", "see_also")), HD_REJ_MISSING,
                  "/related/0/id: required");
    struct hd_item_doc *d = expect_accept(
        with(base(), "related",
             json_pack("[{s:s, s:s}, {s:s, s:s}, {s:s, s:s}]", "type", "supersedes", "id", "a",
                       "type", "see_also", "id", "a", "type", "interprets", "id", "doc-1")));
    assert_string_equal(d->view.interprets, "doc-1");
    hd_item_destroy(d);
}

static void test_targets(void **state)
{
    static const struct {
        const char *field, *value, *detail;
    } bad[] = {
        {"streets", "44010400", "/targets/streets/0: not a 9-digit street code"},
        {"streets", "44010400a", "/targets/streets/0: not a 9-digit street code"},
        {"channels", "WeChat",
         "/targets/channels/0: not an adapter name or an instance id "
         "<adapter>:<name>"},
        {"channels", "wechat:",
         "/targets/channels/0: not an adapter name or an instance id "
         "<adapter>:<name>"},
        {"channels", "wechat:Yuexiu",
         "/targets/channels/0: not an adapter name or an instance "
         "id <adapter>:<name>"},
        {"channels", "1wechat",
         "/targets/channels/0: not an adapter name or an instance id "
         "<adapter>:<name>"},
        {"channels", "a:b:c",
         "/targets/channels/0: not an adapter name or an instance id "
         "<adapter>:<name>"},
        {"boards", "hall", "/targets/boards/0: not board/area"},
        {"boards", "hall/", "/targets/boards/0: not board/area"},
        {"boards", "/area", "/targets/boards/0: not board/area"},
        {"boards", "a/b/c", "/targets/boards/0: not board/area"},
    };
    for (size_t i = 0; i < HD_ARRAY_LEN(bad); i++)
        expect_reject(with(base(), "targets", json_pack("{s:[s]}", bad[i].field, bad[i].value)),
                      HD_REJ_VALUE, bad[i].detail);
    expect_reject(with(base(), "targets", json_pack("{s:[]}", "streets")), HD_REJ_VALUE,
                  "/targets/streets: empty (leave the field out instead)");
    expect_reject(with(base(), "targets",
                       json_pack("{s:[s,s,s]}", "streets", "440104003", "440104011", "440104003")),
                  HD_REJ_VALUE, "/targets/streets: entries 0 and 2 are the same");
    expect_reject(with(base(), "targets", json_pack("{s:[i]}", "streets", 440104003)), HD_REJ_TYPE,
                  "/targets/streets/0: expected a string, got an integer");
    expect_reject(with(base(), "targets", json_pack("[s]", "website")), HD_REJ_TYPE,
                  "/targets: expected an object, got an array");
    struct hd_item_doc *d = expect_accept(with(
        base(), "targets",
        json_pack("{s:[s,s,s]}", "channels", "wechat", "display_board:halls", "website:portal.1")));
    assert_int_equal(d->n_target_channels, 3);
    assert_null(d->target_streets);
    hd_item_destroy(d);
}

static void test_schedule(void **state)
{
    expect_reject(with(base(), "schedule",
                       json_pack("{s:s, s:s}", "not_before", "2026-03-03T12:00:00+08:00",
                                 "expires_at", "2026-03-03T04:00:00Z")),
                  HD_REJ_VALUE, "/schedule/expires_at: not after /schedule/not_before");
    expect_reject(with(base(), "schedule", json_pack("{s:s}", "not_before", "soon")), HD_REJ_VALUE,
                  "/schedule/not_before: not an RFC 3339 date-time "
                  "(YYYY-MM-DDThh:mm:ss[.f]Z|±hh:mm)");
    expect_reject(with(base(), "schedule", json_pack("{s:i}", "expires_at", 1)), HD_REJ_TYPE,
                  "/schedule/expires_at: expected an RFC 3339 date-time string, got an integer");
    struct hd_item_doc *d = expect_accept(
        with(base(), "schedule", json_pack("{s:s}", "expires_at", "2026-04-03T00:00:00+08:00")));
    assert_int_equal(d->view.not_before_ms, 0);
    assert_int_equal(d->view.expires_at_ms, 1775145600000);
    hd_item_destroy(d);
    d = expect_accept(with(base(), "schedule", json_object()));
    assert_int_equal(d->view.expires_at_ms, 0);
    hd_item_destroy(d);
}

/* Every prefix of a valid message is rejected cleanly (no crash, no leak under ASan). */
static void test_every_prefix(void **state)
{
    json_t *doc = base();
    json_object_set_new(doc, "targets", json_pack("{s:[s]}", "streets", "440104003"));
    char *text = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    size_t n = strlen(text);
    for (size_t len = 0; len < n; len++) {
        struct hd_item_doc *d = NULL;
        struct hd_item_error err;
        assert_int_equal(hd_item_parse(text, len, NULL, 0, 0, &d, &err), HD_EINVAL);
        assert_null(d);
        assert_true(!strcmp(err.code, HD_REJ_INVALID_JSON) ||
                    !strcmp(err.code, HD_REJ_INVALID_UTF8));
    }
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_base_accepted_and_view),
        cmocka_unit_test(test_full_view),
        cmocka_unit_test(test_retract_view),
        cmocka_unit_test(test_kafka_key),
        cmocka_unit_test(test_document_level),
        cmocka_unit_test(test_schema_and_unknown_fields),
        cmocka_unit_test(test_long_unknown_key_detail),
        cmocka_unit_test(test_id_version_action),
        cmocka_unit_test(test_review_rules),
        cmocka_unit_test(test_review_times),
        cmocka_unit_test(test_publish_requirements),
        cmocka_unit_test(test_publisher_column_category),
        cmocka_unit_test(test_text_lengths),
        cmocka_unit_test(test_assets),
        cmocka_unit_test(test_related),
        cmocka_unit_test(test_targets),
        cmocka_unit_test(test_schedule),
        cmocka_unit_test(test_every_prefix),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
