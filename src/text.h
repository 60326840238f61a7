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
 * max_chars; NULL or "" for none; an ellipsis longer than max_chars is left out). Never splits a
 * code point. malloc'd. */
char *hd_utf8_truncate(const char *s, size_t max_chars, const char *ellipsis);
/* Plain text of an HTML fragment: tags dropped (script/style/head/noscript content too),
 * entities decoded, block elements (p, div, li, h1-h6, tr, table, ...) start a new line, each
 * <br> adds one (at most one blank line in a row), table cells are separated by a space, runs of
 * blanks (ASCII white space, &nbsp;) collapse to one space; no leading or trailing blank lines
 * or spaces. Other characters -- Chinese punctuation, U+3000 indentation -- are kept as they
 * are. Bytes that are not valid UTF-8 become U+FFFD. malloc'd; NULL only for NULL input or out
 * of memory ("" for empty). */
char *hd_html_to_text(const char *html);
/* UTF-8 -> GBK (glibc's GBK, i.e. CP936: it has € as 0x80). Each character GBK cannot carry
 * (emoji, CJK Extension A/B, ₿, ©, ⑪ ...) becomes `replacement` (a UTF-8 string that must
 * itself be GBK-encodable, else NULL is returned; NULL or "" drops them); *n_replaced counts them.
 * NULL on invalid UTF-8 input. Result malloc'd and NUL-terminated; *out_len excludes the NUL. */
char *hd_utf8_to_gbk(const char *s, const char *replacement, size_t *out_len, size_t *n_replaced);
/* 1 when s is valid UTF-8 and every character of it is representable in GBK. */
int hd_gbk_encodable(const char *s);

/* Lowercase hex digests (libcrypto); NULL is allowed with a zero length. Should libcrypto fail,
 * out is "" -- never equal to a real digest. */
void hd_hmac_sha256_hex(const void *key, size_t keylen, const void *msg, size_t len, char out[65]);
void hd_sha256_hex(const void *msg, size_t len, char out[65]);
void hd_sha1_hex(const void *msg, size_t len, char out[41]);
/* Constant-time comparison of two NUL-terminated strings (for signatures and tokens): 1 when
 * equal. Strings of different lengths give 0 without looking at their content (the length may
 * show in the timing, the content never does); NULL gives 0. */
int hd_consttime_streq(const char *a, const char *b);

#endif
