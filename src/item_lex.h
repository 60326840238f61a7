/*
 * Internal to item.c / item_lex.c: the lexical rules of herald.item/v1 (see item_lex.c).
 */
#ifndef HD_ITEM_LEX_H
#define HD_ITEM_LEX_H

#include <stddef.h>

enum hd_item_grammar {
    HD_G_ANY,
    HD_G_LINE,    /* no C0 control character, no DEL */
    HD_G_ID,      /* [A-Za-z0-9._:-] */
    HD_G_PUBCODE, /* [A-Z0-9_-]{2,32} */
    HD_G_COLUMN,  /* single-line, '/'-separated, no empty segment */
    HD_G_URL,
    HD_G_SHA256,
    HD_G_MEDIA,
    HD_G_IMAGE_MEDIA,
    HD_G_CHANNEL,
    HD_G_STREET,
    HD_G_BOARD,
    HD_G_DATE,
};

/* Offset of the first byte that does not start a valid UTF-8 sequence (RFC 3629: no overlongs, no
 * surrogates, nothing past U+10FFFF), or len when all is valid; *why names the fault. */
size_t hd_item_utf8_scan(const unsigned char *s, size_t len, const char **why);
/* Copy src into dst (size bytes) as valid UTF-8 without control characters (written \u00XX,
 * invalid bytes become '?'), cut on a character boundary when it does not fit. */
void hd_item_sanitize(char *dst, size_t size, const char *src);
/* NULL when s[0..n) obeys grammar g, else what is wrong with it. */
const char *hd_item_grammar_check(enum hd_item_grammar g, const char *s, size_t n);

#endif
