#!/usr/bin/env python3
"""Writes the herald.item/v1 fixture corpus: tests/items/valid/*.json, tests/items/invalid/*.json
and tests/items/invalid/expected.tsv (file, expected reason code, what the fixture breaks).

The fixtures are files so that anyone can feed them to item_check, jsonschema or an upstream
system by hand; this script is how they were made. Edit the cases here and run it again:

    python3 tests/items/make_fixtures.py

Invalid fixtures break exactly one rule each, so the expected code is unambiguous. They are
checked with `item_check --max-len 16384` (for the oversize case); a case may name a Kafka key
(fourth column), passed with --key.
"""
import copy
import hashlib
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
MAX_LEN = 16384

REVIEW = [
    {"level": "initial", "reviewer": "陈敏", "at": "2026-03-02T15:10:00+08:00",
     "opinion": "文字规范,同意报复核。"},
    {"level": "recheck", "reviewer": "黄志强", "at": "2026-03-03T09:40:00+08:00",
     "opinion": "经合法性审核,同意。"},
    {"level": "final", "reviewer": "李卫东", "at": "2026-03-03T11:05:00+08:00"},
]

BASE = {
    "schema": "herald.item/v1",
    "id": "yx-fgj-2026-gfxwj-003",
    "version": 1,
    "action": "publish",
    "approved_at": "2026-03-03T11:20:00+08:00",
    "review": REVIEW,
    "publisher": {"code": "YX-FGJ", "name": "广州市越秀区发展和改革局", "kind": "department"},
    "column": "政务公开/规范性文件",
    "category": "normative_document",
    "title": "广州市越秀区发展和改革局关于印发越秀区促进楼宇经济高质量发展若干措施的通知",
    "summary": "为进一步提升楼宇经济发展质量,制定本措施,自2026年4月1日起施行,有效期3年。",
    "body_html": "<p>各街道办事处、区政府各部门、各直属机构:</p>"
                 "<p>《越秀区促进楼宇经济高质量发展若干措施》已经区人民政府同意,现印发给你们,"
                 "请认真贯彻执行。</p><p style=\"text-align:right\">广州市越秀区发展和改革局</p>",
    "body_text": "各街道办事处、区政府各部门、各直属机构:《越秀区促进楼宇经济高质量发展若干措施》"
                 "已经区人民政府同意,现印发给你们,请认真贯彻执行。",
    "doc_number": "越发改规〔2026〕1号",
    "issued_date": "2026-02-27",
    "images": [{
        "url": "https://www.yuexiu.gov.cn/attachment/2026/03/lyjj-cover.jpg",
        "sha256": hashlib.sha256(b"lyjj-cover.jpg").hexdigest(),
        "size": 48213,
        "media_type": "image/jpeg",
        "caption": "越秀区重点商务楼宇分布图",
    }],
    "attachments": [{
        "url": "https://www.yuexiu.gov.cn/attachment/2026/03/lyjj-cuoshi.pdf",
        "sha256": hashlib.sha256(b"lyjj-cuoshi.pdf").hexdigest(),
        "size": 356102,
        "media_type": "application/pdf",
        "name": "越秀区促进楼宇经济高质量发展若干措施.pdf",
    }],
    "related": [{"type": "see_also", "id": "yx-fgj-2023-gfxwj-007"}],
    "targets": {"channels": ["website", "wechat:yuexiu"], "streets": ["440104003", "440104011"],
                "boards": ["zwfw-center/hall-a"]},
    "schedule": {"not_before": "2026-03-03T12:00:00+08:00",
                 "expires_at": "2026-04-03T00:00:00+08:00"},
    "priority": "normal",
}

RETRACT = {
    "schema": "herald.item/v1",
    "id": "yx-fgj-2026-gfxwj-003",
    "version": 2,
    "action": "retract",
    "approved_at": "2026-03-05T09:00:00+08:00",
    "review": [
        {"level": "initial", "reviewer": "陈敏", "at": "2026-03-04T17:30:00+08:00"},
        {"level": "recheck", "reviewer": "黄志强", "at": "2026-03-05T08:45:00+08:00"},
        {"level": "final", "reviewer": "李卫东", "at": "2026-03-05T08:55:00+08:00"},
    ],
    "reason": "文件附件版本有误,撤回后重新发布。",
}


def dump(doc):
    return (json.dumps(doc, ensure_ascii=False, indent=2) + "\n").encode()


def variant(base, *edits):
    """A deep copy of base with edits applied: (path, value) sets, (path, None-marker DROP) drops."""
    d = copy.deepcopy(base)
    for path, value in edits:
        *parents, last = path
        node = d
        for p in parents:
            node = node[p]
        if value is DROP:
            del node[last]
        else:
            node[last] = value
    return d


DROP = object()


def P(doc=BASE, *edits):
    return dump(variant(doc, *edits))


def valid_cases():
    minimal = {k: BASE[k] for k in ("schema", "id", "version", "action", "approved_at", "review",
                                    "publisher", "column", "category", "title", "body_html")}
    minimal["review"] = [{k: v for k, v in s.items() if k != "opinion"} for s in REVIEW]
    interp = variant(BASE, (("id",), "yx-fgj-2026-zcjd-003"),
                     (("column",), "政务公开/政策解读"),
                     (("category",), "policy_interpretation"),
                     (("title",), "《越秀区促进楼宇经济高质量发展若干措施》政策解读"),
                     (("related",), [{"type": "interprets", "id": "yx-fgj-2026-gfxwj-003"}]),
                     (("doc_number",), DROP), (("issued_date",), DROP),
                     (("attachments",), DROP))
    tz = variant(BASE, (("approved_at",), "2026-03-03t03:20:00.123456789z"),
                 (("review", 0, "at"), "2026-03-02T02:10:00-05:00"),
                 (("review", 1, "at"), "2026-03-03T01:40:00Z"),
                 (("review", 2, "at"), "2026-03-03T08:35:00.5+05:30"))
    equal = variant(BASE, *[(("review", i, "at"), "2026-03-03T11:05:00+08:00") for i in range(3)],
                    (("approved_at",), "2026-03-03T03:05:00Z"))
    return {
        "publish-full.json": dump(BASE),
        "publish-minimal.json": dump(minimal),
        "retract-minimal.json": dump({k: v for k, v in RETRACT.items() if k != "reason"}),
        "retract-with-reason-and-title.json": P(RETRACT, (("title",), BASE["title"])),
        "interpretation.json": dump(interp),
        "title-200-emoji.json": P(BASE, (("title",), "\U0001F4E2" * 200)),
        "title-200-cjk.json": P(BASE, (("title",), "越" * 200)),
        "times-offsets-and-fractions.json": dump(tz),
        "times-all-equal.json": dump(equal),
        "leap-day-2028.json": P(BASE, (("issued_date",), "2028-02-29"),
                                (("schedule", "expires_at"), "2028-02-29T23:59:59.999+08:00")),
        "version-written-as-real.json": P(BASE, (("version",), 2.0)),
        "version-max-safe-integer.json": P(BASE, (("version",), 9007199254740991)),
        "unicode-escapes.json": dump(BASE).replace(
            "越秀区促进楼宇经济".encode(), b"\\u8d8a\\u79c0\\u533a\\u4fc3\\u8fdb\\u697c\\u5b87"
                                      b"\\u7ecf\\u6d4e\\ud83c\\udfe2"),
        "url-forms.json": P(BASE, (("images", 0, "url"), "http://[::1]:8080/assets/cover.jpg?v=3#top"),
                            (("attachments", 0, "url"), "https://cdn-1.yuexiu.gov.cn:443/a%20b.pdf")),
        "empty-arrays-and-summary.json": P(BASE, (("images",), []), (("attachments",), []),
                                           (("related",), []), (("summary",), ""),
                                           (("targets",), {}), (("schedule",), {})),
        "urgent-embargo.json": P(BASE, (("priority",), "urgent"),
                                 (("schedule",), {"not_before": "2026-03-03T15:00:00+08:00"})),
        "targets-instance-ids.json": P(BASE, (("targets",), {
            "channels": ["ejiatong:streets", "display_board:halls", "weibo"],
            "boards": ["zwfw-center/hall-a", "beijingjie-fwzx/led-1"]})),
    }


def invalid_cases():
    """(file, bytes, code, what it breaks[, kafka key])"""
    b = BASE
    big = P(b, (("body_html",), "<p>" + "越秀区楼宇经济。" * 800 + "</p>"))
    good = dump(b)
    title_bytes = b["title"].encode()
    cases = [
        ("oversize.json", big, "oversize", f"{len(big)} bytes, over the {MAX_LEN}-byte limit"),
        ("utf8-invalid-lead-byte.json", good.replace(title_bytes[:3], b"\xff", 1), "invalid_utf8",
         "an 0xFF byte in the title"),
        ("utf8-overlong.json", good.replace(b"/", b"\xc0\xaf", 1), "invalid_utf8",
         "an overlong encoding of '/'"),
        ("utf8-surrogate.json", good.replace(title_bytes[:3], b"\xed\xa0\x80", 1), "invalid_utf8",
         "a UTF-16 surrogate encoded in UTF-8"),
        ("utf8-truncated.json", good.replace(title_bytes[:3], title_bytes[:2], 1), "invalid_utf8",
         "a 3-byte sequence cut to 2 bytes"),
        ("utf8-beyond-10ffff.json", good.replace(title_bytes[:3], b"\xf4\x90\x80\x80", 1),
         "invalid_utf8", "a code point past U+10FFFF"),
        ("json-trailing-comma.json", good.replace(b'"priority": "normal"\n',
                                                  b'"priority": "normal",\n'), "invalid_json",
         "a comma before the closing brace"),
        ("json-duplicate-key.json", good.replace(b'"version": 1,', b'"version": 1,\n  "version": 2,'),
         "invalid_json", "the key version twice (rule beyond the schema)"),
        ("json-nul-escape.json", good.replace(b'"summary": "', b'"summary": "\\u0000', 1),
         "invalid_json", "a \\u0000 escape in the summary (rule beyond the schema)"),
        ("json-lone-surrogate.json", good.replace(b'"title": "', b'"title": "\\ud800', 1),
         "invalid_json", "a lone surrogate escape in the title (rule beyond the schema)"),
        ("json-truncated.json", good[: len(good) // 2], "invalid_json", "the text cut in half"),
        ("json-empty.json", b"", "invalid_json", "zero bytes"),
        ("json-bom.json", b"\xef\xbb\xbf" + good, "invalid_json", "a UTF-8 byte order mark"),
        ("json-nan.json", good.replace(b'"version": 1', b'"version": NaN'), "invalid_json",
         "NaN is not JSON"),
        ("json-single-quotes.json", good.replace(b'"schema"', b"'schema'"), "invalid_json",
         "a single-quoted key"),
        ("json-huge-integer.json", good.replace(b'"version": 1', b'"version": 1' + b"0" * 30),
         "invalid_json", "an integer beyond 64 bits"),
        ("not-object-array.json", b"[" + good + b"]", "not_an_object", "an array of one item"),
        ("not-object-string.json", b'"herald.item/v1"', "not_an_object", "a bare string"),
        ("schema-missing.json", P(b, (("schema",), DROP)), "missing_field", "no schema"),
        ("schema-v2.json", P(b, (("schema",), "herald.item/v2")), "unsupported_schema",
         "another schema version"),
        ("schema-number.json", P(b, (("schema",), 1)), "unsupported_schema", "schema is a number"),
        ("unknown-top-level.json", P(b, (("author",), "张三")), "unknown_field",
         "a top-level field not in the schema"),
        ("unknown-publisher-field.json", P(b, (("publisher", "phone"), "020-83000000")),
         "unknown_field", "publisher.phone"),
        ("unknown-review-field.json", P(b, (("review", 1, "signed"), True)), "unknown_field",
         "review[1].signed"),
        ("unknown-image-field.json", P(b, (("images", 0, "alt"), "图")), "unknown_field",
         "images[0].alt (the field is caption)"),
        ("unknown-attachment-field.json", P(b, (("attachments", 0, "caption"), "附件")),
         "unknown_field", "attachments[0].caption (the field is name)"),
        ("unknown-targets-field.json", P(b, (("targets", "screens"), ["a"])), "unknown_field",
         "targets.screens"),
        ("unknown-schedule-field.json", P(b, (("schedule", "timezone"), "Asia/Shanghai")),
         "unknown_field", "schedule.timezone"),
        ("unknown-related-field.json", P(b, (("related", 0, "title"), "x")), "unknown_field",
         "related[0].title"),
        ("id-missing.json", P(b, (("id",), DROP)), "missing_field", "no id"),
        ("id-empty.json", P(b, (("id",), "")), "invalid_value", "an empty id"),
        ("id-space.json", P(b, (("id",), "yx fgj 003")), "invalid_value", "spaces in the id"),
        ("id-chinese.json", P(b, (("id",), "越秀-003")), "invalid_value", "non-ASCII id"),
        ("id-129-chars.json", P(b, (("id",), "a" * 129)), "invalid_value", "id over 128 chars"),
        ("id-number.json", P(b, (("id",), 3)), "wrong_type", "id is a number"),
        ("id-trailing-newline.json", P(b, (("id",), "yx-003\n")), "invalid_value",
         "a newline after the id"),
        ("id-dot-dot.json", P(b, (("id",), "..")), "invalid_value",
         "the id .. (a URL path segment that means the parent)"),
        ("version-missing.json", P(b, (("version",), DROP)), "missing_field", "no version"),
        ("version-zero.json", P(b, (("version",), 0)), "invalid_value", "version 0"),
        ("version-fraction.json", P(b, (("version",), 1.5)), "wrong_type", "version 1.5"),
        ("version-string.json", P(b, (("version",), "1")), "wrong_type", "version \"1\""),
        ("version-too-big.json", P(b, (("version",), 2 ** 53)), "invalid_value",
         "version 2^53, past the exact-integer range"),
        ("action-missing.json", P(b, (("action",), DROP)), "missing_field", "no action"),
        ("action-delete.json", P(b, (("action",), "delete")), "invalid_value", "unknown action"),
        ("approved-missing.json", P(b, (("approved_at",), DROP)), "missing_field",
         "no approved_at"),
        ("approved-no-offset.json", P(b, (("approved_at",), "2026-03-03T11:20:00")),
         "invalid_value", "a time without offset"),
        ("approved-feb-30.json", P(b, (("approved_at",), "2026-02-30T11:20:00+08:00")),
         "invalid_value", "February 30"),
        ("approved-feb-29-non-leap.json", P(b, (("approved_at",), "2027-02-29T11:20:00+08:00")),
         "invalid_value", "February 29 of 2027"),
        ("approved-hour-24.json", P(b, (("approved_at",), "2026-03-03T24:00:00+08:00")),
         "invalid_value", "hour 24"),
        ("approved-leap-second.json", P(b, (("approved_at",), "2026-03-03T23:59:60+08:00")),
         "invalid_value", "second 60"),
        ("approved-space-separator.json", P(b, (("approved_at",), "2026-03-03 11:20:00+08:00")),
         "invalid_value", "a space instead of T"),
        ("approved-offset-no-colon.json", P(b, (("approved_at",), "2026-03-03T11:20:00+0800")),
         "invalid_value", "offset +0800"),
        ("approved-epoch-number.json", P(b, (("approved_at",), 1772508000)), "wrong_type",
         "a Unix time number"),
        ("approved-before-final-review.json", P(b, (("approved_at",), "2026-03-03T11:04:59+08:00")),
         "review_incomplete", "approved a second before the final review (rule beyond the schema)"),
        ("review-missing.json", P(b, (("review",), DROP)), "review_incomplete", "no review"),
        ("review-two-steps.json", P(b, (("review",), REVIEW[:2])), "review_incomplete",
         "no final review"),
        ("review-four-steps.json", P(b, (("review",), REVIEW + [REVIEW[2]])), "review_incomplete",
         "a fourth step"),
        ("review-wrong-order.json", P(b, (("review",), [REVIEW[1], REVIEW[0], REVIEW[2]])),
         "review_incomplete", "recheck before initial"),
        ("review-duplicate-level.json",
         P(b, (("review",), [REVIEW[0], dict(REVIEW[1], level="initial"), REVIEW[2]])),
         "review_incomplete", "initial twice"),
        ("review-unknown-level.json", P(b, (("review", 1, "level"), "复核")), "review_incomplete",
         "a level in Chinese"),
        ("review-missing-level.json", P(b, (("review", 2, "level"), DROP)), "review_incomplete",
         "a step without level"),
        ("review-missing-reviewer.json", P(b, (("review", 0, "reviewer"), DROP)),
         "review_incomplete", "a step without reviewer"),
        ("review-empty-reviewer.json", P(b, (("review", 2, "reviewer"), "")), "review_incomplete",
         "an empty reviewer"),
        ("review-missing-at.json", P(b, (("review", 1, "at"), DROP)), "review_incomplete",
         "a step without time"),
        ("review-reviewer-65-chars.json", P(b, (("review", 0, "reviewer"), "审" * 65)),
         "invalid_value", "reviewer over 64 chars"),
        ("review-at-date-only.json", P(b, (("review", 2, "at"), "2026-03-03")), "invalid_value",
         "a date without time"),
        ("review-times-decreasing.json", P(b, (("review", 1, "at"), "2026-03-02T15:09:59+08:00")),
         "review_incomplete", "recheck before initial in time (rule beyond the schema)"),
        ("review-not-array.json", P(b, (("review",), {"initial": REVIEW[0]})), "wrong_type",
         "review is an object"),
        ("review-step-string.json", P(b, (("review", 0), "陈敏 2026-03-02")), "wrong_type",
         "a step is a string"),
        ("review-opinion-number.json", P(b, (("review", 0, "opinion"), 1)), "wrong_type",
         "opinion is a number"),
        ("publisher-missing.json", P(b, (("publisher",), DROP)), "missing_field",
         "publish without publisher"),
        ("publisher-code-lowercase.json", P(b, (("publisher", "code"), "yx-fgj")),
         "invalid_value", "lower-case publisher code"),
        ("publisher-code-one-char.json", P(b, (("publisher", "code"), "F")), "invalid_value",
         "a one-character publisher code"),
        ("publisher-kind-bad.json", P(b, (("publisher", "kind"), "committee")), "invalid_value",
         "unknown publisher kind"),
        ("publisher-name-missing.json", P(b, (("publisher", "name"), DROP)), "missing_field",
         "publisher without name"),
        ("publisher-string.json", P(b, (("publisher",), "越秀区发展和改革局")), "wrong_type",
         "publisher as a string"),
        ("column-missing.json", P(b, (("column",), DROP)), "missing_field", "no column"),
        ("column-empty-segment.json", P(b, (("column",), "政务公开//规范性文件")), "invalid_value",
         "an empty path segment"),
        ("column-leading-slash.json", P(b, (("column",), "/政务公开")), "invalid_value",
         "a leading slash"),
        ("column-201-chars.json", P(b, (("column",), "栏" * 201)), "invalid_value",
         "column over 200 chars"),
        ("category-unknown.json", P(b, (("category",), "policy")), "invalid_value",
         "an unknown category"),
        ("category-missing.json", P(b, (("category",), DROP)), "missing_field", "no category"),
        ("title-missing.json", P(b, (("title",), DROP)), "missing_field", "no title"),
        ("title-empty.json", P(b, (("title",), "")), "invalid_value", "an empty title"),
        ("title-201-cjk.json", P(b, (("title",), "越" * 201)), "invalid_value",
         "201 CJK characters"),
        ("title-201-emoji.json", P(b, (("title",), "\U0001F4E2" * 201)), "invalid_value",
         "201 characters outside the BMP"),
        ("title-newline.json", P(b, (("title",), "关于印发\n若干措施的通知")), "invalid_value",
         "a line break in the title"),
        ("title-null.json", P(b, (("title",), None)), "wrong_type", "title null"),
        ("summary-1001-chars.json", P(b, (("summary",), "要" * 1001)), "invalid_value",
         "summary over 1000 chars"),
        ("body-html-empty.json", P(b, (("body_html",), "")), "invalid_value", "an empty body"),
        ("body-html-missing.json", P(b, (("body_html",), DROP)), "missing_field", "no body"),
        ("body-text-number.json", P(b, (("body_text",), 0)), "wrong_type", "body_text 0"),
        ("doc-number-empty.json", P(b, (("doc_number",), "")), "invalid_value", "an empty 文号"),
        ("issued-date-feb-29-2026.json", P(b, (("issued_date",), "2026-02-29")), "invalid_value",
         "2026 is no leap year"),
        ("issued-date-with-time.json", P(b, (("issued_date",), "2026-02-27T00:00:00+08:00")),
         "invalid_value", "a date-time where a date belongs"),
        ("issued-date-chinese.json", P(b, (("issued_date",), "2026年2月27日")), "invalid_value",
         "a date written in Chinese"),
        ("images-not-array.json", P(b, (("images",), b["images"][0])), "wrong_type",
         "images is one object"),
        ("image-url-ftp.json", P(b, (("images", 0, "url"), "ftp://www.yuexiu.gov.cn/a.jpg")),
         "invalid_value", "an ftp URL"),
        ("image-url-space.json", P(b, (("images", 0, "url"), "https://www.yuexiu.gov.cn/a b.jpg")),
         "invalid_value", "a space in the URL"),
        ("image-url-userinfo.json",
         P(b, (("images", 0, "url"), "https://user:pw@www.yuexiu.gov.cn/a.jpg")), "invalid_value",
         "credentials in the URL"),
        ("image-url-chinese-path.json",
         P(b, (("images", 0, "url"), "https://www.yuexiu.gov.cn/图片/a.jpg")), "invalid_value",
         "a non-ASCII path (must be percent-encoded)"),
        ("image-sha256-uppercase.json", P(b, (("images", 0, "sha256"), b["images"][0]["sha256"].upper())),
         "invalid_value", "upper-case hex"),
        ("image-sha256-short.json", P(b, (("images", 0, "sha256"), "5d2e7c0e")), "invalid_value",
         "8 hex digits"),
        ("image-size-negative.json", P(b, (("images", 0, "size"), -1)), "invalid_value",
         "size -1"),
        ("image-media-type-pdf.json", P(b, (("images", 0, "media_type"), "application/pdf")),
         "invalid_value", "an image that is a PDF"),
        ("image-media-type-missing.json", P(b, (("images", 0, "media_type"), DROP)),
         "missing_field", "an image without media_type"),
        ("attachment-url-missing.json", P(b, (("attachments", 0, "url"), DROP)), "missing_field",
         "an attachment without url"),
        ("attachment-media-type-params.json",
         P(b, (("attachments", 0, "media_type"), "text/plain; charset=utf-8")), "invalid_value",
         "media type parameters"),
        ("images-51.json",
         P(b, (("images",), [{"url": "https://a.cn/i.png", "media_type": "image/png"}] * 51)), "invalid_value",
         "51 images"),
        ("related-two-interprets.json",
         P(b, (("related",), [{"type": "interprets", "id": "a"}, {"type": "interprets", "id": "b"}])),
         "invalid_value", "interprets two documents"),
        ("related-type-unknown.json", P(b, (("related", 0, "type"), "cites")), "invalid_value",
         "an unknown relation"),
        ("related-duplicate.json", P(b, (("related",), b["related"] * 2)), "invalid_value",
         "the same relation twice"),
        ("related-id-bad.json", P(b, (("related", 0, "id"), "第3号")), "invalid_value",
         "a related id with bad characters"),
        ("targets-street-8-digits.json", P(b, (("targets", "streets", 1), "44010401")),
         "invalid_value", "an 8-digit street code"),
        ("targets-streets-empty.json", P(b, (("targets", "streets"), [])), "invalid_value",
         "an empty street list"),
        ("targets-streets-duplicate.json", P(b, (("targets", "streets"), ["440104003"] * 2)),
         "invalid_value", "a street twice"),
        ("targets-channel-uppercase.json", P(b, (("targets", "channels", 1), "WeChat:yuexiu")),
         "invalid_value", "upper-case adapter name"),
        ("targets-board-without-area.json", P(b, (("targets", "boards", 0), "zwfw-center")),
         "invalid_value", "a board without /area"),
        ("targets-not-object.json", P(b, (("targets",), ["website"])), "wrong_type",
         "targets as a list"),
        ("schedule-expires-before-not-before.json",
         P(b, (("schedule", "expires_at"), "2026-03-03T11:59:59+08:00")), "invalid_value",
         "expires a second before not_before (rule beyond the schema)"),
        ("schedule-expires-equal-not-before.json",
         P(b, (("schedule", "expires_at"), "2026-03-03T04:00:00Z")), "invalid_value",
         "expires_at equal to not_before, other offset (rule beyond the schema)"),
        ("schedule-bad-time.json", P(b, (("schedule", "not_before"), "tomorrow")), "invalid_value",
         "not_before is not a time"),
        ("priority-unknown.json", P(b, (("priority",), "high")), "invalid_value",
         "priority high"),
        ("priority-uppercase.json", P(b, (("priority",), "URGENT")), "invalid_value",
         "priority URGENT"),
        ("reason-number.json", P(RETRACT, (("reason",), 404)), "wrong_type", "reason 404"),
        ("retract-missing-review.json", P(RETRACT, (("review",), DROP)), "review_incomplete",
         "a retraction without review"),
        ("retract-unknown-field.json", P(RETRACT, (("withdrawn_by",), "李卫东")), "unknown_field",
         "a retraction with an unknown field"),
        ("retract-bad-title.json", P(RETRACT, (("title",), "")), "invalid_value",
         "optional fields of a retraction are still checked"),
        ("key-mismatch.json", good, "key_mismatch", "Kafka key is another id", "yx-fgj-2026-gfxwj-004"),
    ]
    return cases


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)


def main():
    vdir, idir = os.path.join(HERE, "valid"), os.path.join(HERE, "invalid")
    for d in (vdir, idir):
        os.makedirs(d, exist_ok=True)
        for name in os.listdir(d):
            if name.endswith(".json") or name == "expected.tsv":
                os.unlink(os.path.join(d, name))
    for name, data in valid_cases().items():
        write(os.path.join(vdir, name), data)
    lines = ["# file\tcode\twhat it breaks\tkafka key (optional)"]
    for case in invalid_cases():
        name, data, code, what = case[:4]
        write(os.path.join(idir, name), data)
        lines.append("\t".join([name, code, what] + ([case[4]] if len(case) > 4 else [])))
    write(os.path.join(idir, "expected.tsv"), ("\n".join(lines) + "\n").encode())
    print(f"{len(valid_cases())} valid, {len(invalid_cases())} invalid fixtures", file=sys.stderr)


if __name__ == "__main__":
    main()
