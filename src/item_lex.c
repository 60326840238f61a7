/*
 * The lexical rules of herald.item/v1, used by item.c: UTF-8 scanning (the byte offset of the first
 * bad sequence), the grammars of the constrained string fields (ids, publisher codes, column
 * paths, URLs, media types, channel / street / board targets, dates) written out by hand to match
 * the patterns of schema/herald.item.v1.json, and the sanitizer that makes a rejection detail fit
 * for a Kafka header.
 */
#include "common.h"
#include "item.h"
#include "item_lex.h"

/* Offset of the first byte that does not start a valid UTF-8 sequence (RFC 3629: no overlongs,
 * no surrogates, nothing past U+10FFFF), or len when all is valid. */
size_t hd_item_utf8_scan(const unsigned char *s, size_t len, const char **why)
{
    size_t i = 0;
    while (i < len) {
        unsigned c = s[i], cp, need;
        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xC2 && c <= 0xDF) {
            need = 1, cp = c & 0x1F;
        } else if (c >= 0xE0 && c <= 0xEF) {
            need = 2, cp = c & 0x0F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            need = 3, cp = c & 0x07;
        } else {
            *why = c <= 0xBF                ? "unexpected continuation byte"
                   : c == 0xC0 || c == 0xC1 ? "overlong encoding"
                                            : "invalid lead byte";
            return i;
        }
        for (unsigned k = 1; k <= need; k++) {
            if (i + k >= len || (s[i + k] & 0xC0) != 0x80) {
                *why = "truncated sequence";
                return i;
            }
            cp = cp << 6 | (s[i + k] & 0x3F);
        }
        if ((need == 2 && cp < 0x800) || (need == 3 && cp < 0x10000)) {
            *why = "overlong encoding";
            return i;
        }
        if (cp >= 0xD800 && cp <= 0xDFFF) {
            *why = "UTF-16 surrogate";
            return i;
        }
        if (cp > 0x10FFFF) {
            *why = "code point beyond U+10FFFF";
            return i;
        }
        i += need + 1;
    }
    return len;
}

/* Copy src into dst as valid UTF-8 without control characters (written \u00XX; invalid bytes
 * become '?'), cut on a character boundary when it does not fit. */
void hd_item_sanitize(char *dst, size_t size, const char *src)
{
    const unsigned char *p = (const unsigned char *)src;
    size_t o = 0;
    const char *why;
    while (*p) {
        char unit[8];
        size_t ul = 1, adv = 1;
        if (*p < 0x20 || *p == 0x7f) {
            ul = (size_t)snprintf(unit, sizeof unit, "\\u%04x", *p);
        } else if (*p < 0x80) {
            unit[0] = (char)*p;
        } else {
            size_t want = *p >= 0xF0 ? 4 : *p >= 0xE0 ? 3 : 2, have = 0;
            while (have < want && p[have])
                have++;
            if (have == want && hd_item_utf8_scan(p, want, &why) == want) {
                memcpy(unit, p, want);
                ul = adv = want;
            } else {
                unit[0] = '?';
            }
        }
        if (o + ul >= size)
            break;
        memcpy(dst + o, unit, ul);
        o += ul;
        p += adv;
    }
    dst[o] = '\0';
}

/* ---- grammars -------------------------------------------------------------------------------- */

static int in_set(char ch, const char *set)
{
    return ch && strchr(set, ch) != NULL;
}

static int alnum(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');
}

/* A run of chars at s[*i]: one for which first() holds, then any for which rest() holds; 1..max. */
static int token(const char *s, size_t n, size_t *i, int (*first)(char), int (*rest)(char),
                 size_t max)
{
    size_t start = *i;
    if (*i >= n || !first(s[*i]))
        return 0;
    (*i)++;
    while (*i < n && rest(s[*i]))
        (*i)++;
    return *i - start <= max;
}

static int media_rest(char ch)
{
    return alnum(ch) || in_set(ch, "!#$&^_.+-");
}

static int board_rest(char ch)
{
    return alnum(ch) || in_set(ch, "_.-");
}

static int lower_alpha(char ch)
{
    return ch >= 'a' && ch <= 'z';
}

static int lower_alnum(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9');
}

static int is_digit(char ch)
{
    return ch >= '0' && ch <= '9';
}

static int adapter_rest(char ch)
{
    return lower_alnum(ch) || ch == '_';
}

static int instance_rest(char ch)
{
    return lower_alnum(ch) || in_set(ch, "_.-");
}

static int is_hex(char ch)
{
    return is_digit(ch) || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F');
}

static int has_control(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return 1;
    return 0;
}

static const char *check_url(const char *s, size_t n)
{
    size_t i;
    if (n >= 7 && !memcmp(s, "http://", 7))
        i = 7;
    else if (n >= 8 && !memcmp(s, "https://", 8))
        i = 8;
    else
        return "not an http:// or https:// URL";
    for (size_t k = i; k < n && s[k] != '/' && s[k] != '?' && s[k] != '#'; k++)
        if (s[k] == '@')
            return "user info (user:password@) is not allowed";
    if (i < n && s[i] == '[') {
        size_t start = ++i;
        while (i < n && (is_hex(s[i]) || s[i] == ':' || s[i] == '.'))
            i++;
        if (i == start || i >= n || s[i] != ']')
            return "bad IPv6 host literal";
        i++;
    } else {
        for (;;) {
            size_t start = i;
            while (i < n && (alnum(s[i]) || s[i] == '-'))
                i++;
            if (i == start)
                return "bad host name";
            if (i < n && s[i] == '.')
                i++;
            else
                break;
        }
    }
    if (i < n && s[i] == ':') {
        size_t start = ++i;
        while (i < n && is_digit(s[i]))
            i++;
        if (i == start || i - start > 5)
            return "bad port";
    }
    if (i < n && s[i] != '/' && s[i] != '?' && s[i] != '#')
        return "bad host or port";
    for (; i < n; i++)
        if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
            return "spaces, control and non-ASCII characters must be percent-encoded";
    return NULL;
}

static const char *check_media(const char *s, size_t n, int image)
{
    size_t i = 0;
    if (image) {
        if (n < 6 || memcmp(s, "image/", 6))
            return "not an image/* media type";
        i = 6;
    } else if (!token(s, n, &i, alnum, media_rest, 127) || i >= n || s[i] != '/') {
        return "not a media type type/subtype";
    } else {
        i++;
    }
    if (!token(s, n, &i, alnum, media_rest, 127) || i != n)
        return image ? "not an image/* media type" : "not a media type type/subtype";
    return NULL;
}

const char *hd_item_grammar_check(enum hd_item_grammar g, const char *s, size_t n)
{
    size_t i = 0;
    const char *why = NULL;
    switch (g) {
    case HD_G_ANY:
        return NULL;
    case HD_G_LINE:
        return has_control(s, n) ? "contains a control character" : NULL;
    case HD_G_ID:
        for (; i < n; i++)
            if (!alnum(s[i]) && !in_set(s[i], "._:-"))
                return "may only contain A-Z a-z 0-9 . _ : -";
        /* ids go into URL paths, where these two are not names but "here" and "the parent" */
        if ((n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
            return "may not be . or ..";
        return NULL;
    case HD_G_PUBCODE:
        for (; i < n; i++)
            if (!(s[i] >= 'A' && s[i] <= 'Z') && !is_digit(s[i]) && s[i] != '_' && s[i] != '-')
                break;
        return i == n && n >= 2 && n <= 32 ? NULL : "must be 2 to 32 of A-Z 0-9 _ -";
    case HD_G_COLUMN:
        if (has_control(s, n))
            return "contains a control character";
        if (n == 0 || s[0] == '/' || s[n - 1] == '/' || strstr(s, "//"))
            return "empty path segment";
        return NULL;
    case HD_G_URL:
        return check_url(s, n);
    case HD_G_SHA256:
        for (; i < n; i++)
            if (!is_digit(s[i]) && !(s[i] >= 'a' && s[i] <= 'f'))
                break;
        return i == 64 && n == 64 ? NULL : "must be 64 lowercase hex digits";
    case HD_G_MEDIA:
    case HD_G_IMAGE_MEDIA:
        return check_media(s, n, g == HD_G_IMAGE_MEDIA);
    case HD_G_CHANNEL:
        if (!token(s, n, &i, lower_alpha, adapter_rest, 32) || (i < n && s[i] != ':') ||
            (i < n && (++i, !token(s, n, &i, lower_alnum, instance_rest, 64) || i != n)))
            return "not an adapter name or an instance id <adapter>:<name>";
        return NULL;
    case HD_G_STREET:
        for (; i < n && is_digit(s[i]); i++)
            ;
        return i == 9 && n == 9 ? NULL : "not a 9-digit street code";
    case HD_G_BOARD:
        if (!token(s, n, &i, alnum, board_rest, 64) || i >= n || s[i] != '/' ||
            (++i, !token(s, n, &i, alnum, board_rest, 64)) || i != n)
            return "not board/area";
        return NULL;
    case HD_G_DATE:
        return hd_date_parse(s, n, NULL, &why) ? why : NULL;
    }
    return NULL;
}
