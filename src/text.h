/*
 * Text and digest helpers: UTF-8 counting and safe truncation, HTML to plain text (libxml2),
 * UTF-8 to GBK (iconv), HMAC-SHA256 / SHA-256 / SHA-1 (OpenSSL libcrypto). The core uses them and
 * lends them to adapters through struct hd_services (same contracts as documented there).
 */
#ifndef HD_TEXT_H
#define HD_TEXT_H

#include <stddef.h>

/* Code points in a valid UTF-8 string (invalid bytes count one each). */
size_t hd_utf8_len(const char *s);
/* 1 when s[0..len) is valid UTF-8 (no overlongs, no surrogates, <= U+10FFFF). */
int hd_utf8_valid(const char *s, size_t len);
/* At most max_chars code points; when cut, the result ends with `ellipsis` (which counts toward
 * max_chars; NULL or "" for none). Never splits a code point. malloc'd. */
char *hd_utf8_truncate(const char *s, size_t max_chars, const char *ellipsis);
/* Plain text of an HTML fragment: tags dropped (script/style content too), entities decoded,
 * block elements (p, div, br, li, h1-h6, tr) become line breaks, runs of blank space collapse.
 * malloc'd; never NULL for non-NULL input ("" for empty). */
char *hd_html_to_text(const char *html);
/* UTF-8 -> GBK. Unmappable characters become `replacement` (a UTF-8 string that must itself be
 * GBK-encodable; NULL or "" drops them); *n_replaced counts them. NULL on invalid UTF-8 input.
 * Result malloc'd and NUL-terminated; *out_len excludes the NUL. */
char *hd_utf8_to_gbk(const char *s, const char *replacement, size_t *out_len, size_t *n_replaced);
/* 1 when every character of the UTF-8 string s is representable in GBK. */
int hd_gbk_encodable(const char *s);

void hd_hmac_sha256_hex(const void *key, size_t keylen, const void *msg, size_t len, char out[65]);
void hd_sha256_hex(const void *msg, size_t len, char out[65]);
void hd_sha1_hex(const void *msg, size_t len, char out[41]);
/* Constant-time comparison of two NUL-terminated strings (for signatures and tokens). */
int hd_consttime_streq(const char *a, const char *b);

#endif
