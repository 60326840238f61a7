/*
 * The rules of a Weibo post's text that the adapter (weibo.c) and the simulator (sim_weibo.c)
 * must agree on, written once and included by both (CHANNELS.md §2.1, §2.6):
 *
 *  - the pinned length rule: a text weighs one per UTF-16 code unit -- every character counts
 *    1 (ASCII and CJK alike), a character outside the BMP (most emoji) counts 2, and a URL counts
 *    at its full length; at most WB_TEXT_MAX. The platform's own rule is unconfirmed; this one is
 *    never below any rule it is likely to use (README.md, "The length rule");
 *  - where a URL starts and ends in a text, and whether its host is under a secure domain;
 *  - what a topic tag (#话题词#) is;
 *  - the normal form used for "similar content" (20017) and for finding our own post again:
 *    the text without its URLs and without white space.
 *
 * Everything here is static: each file that includes it gets its own copy; nothing is exported.
 */
#ifndef HD_WEIBO_RULES_H
#define HD_WEIBO_RULES_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define WB_TEXT_MAX  140
#define WB_PIC_MAX   (5 * 1024 * 1024) /* a picture must be smaller than this (§2.1) */
#define WB_ELLIPSIS  "\xe2\x80\xa6"    /* U+2026, weighs 1 */
#define WB_FULL_HASH 0xff03            /* ＃, removed by the adapter along with '#' */

/* The code point at s[*i] (s NUL-terminated); *i moves past it. -1 (and *i past one byte) for a
 * byte sequence that is not strict UTF-8 (overlong, surrogate, above U+10FFFF, truncated). */
static inline int32_t wb_next_cp(const char *s, size_t *i)
{
    const unsigned char *p = (const unsigned char *)s + *i;
    uint32_t c = p[0], cp;
    size_t n;
    if (c < 0x80) {
        *i += 1;
        return (int32_t)c;
    }
    if (c >= 0xc2 && c <= 0xdf) {
        n = 2;
        cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        cp = c & 0x07;
    } else {
        *i += 1;
        return -1;
    }
    for (size_t k = 1; k < n; k++) {
        if ((p[k] & 0xc0) != 0x80) {
            *i += 1;
            return -1;
        }
        cp = (cp << 6) | (p[k] & 0x3f);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff)) {
        *i += 1;
        return -1;
    }
    *i += n;
    return (int32_t)cp;
}

/* The weight of one code point under the pinned rule: its UTF-16 length. */
static inline int wb_cp_weight(int32_t cp)
{
    return cp >= 0x10000 ? 2 : 1;
}

/* The weight of a whole text (URLs included, at their full length); -1 when s is not UTF-8. */
static inline long wb_text_weight(const char *s)
{
    long w = 0;
    for (size_t i = 0; s[i];) {
        int32_t cp = wb_next_cp(s, &i);
        if (cp < 0)
            return -1;
        w += wb_cp_weight(cp);
    }
    return w;
}

/* Characters that glue to the one before them: cutting right before one of these, or right after
 * a zero-width joiner, would leave half a character on screen. */
static inline int wb_cp_glues(int32_t cp)
{
    return cp == 0x200d || (cp >= 0xfe00 && cp <= 0xfe0f) || (cp >= 0x0300 && cp <= 0x036f) ||
           (cp >= 0x1f3fb && cp <= 0x1f3ff) || cp == 0x20e3 || (cp >= 0xe0020 && cp <= 0xe007f);
}

/* The byte length of the longest prefix of s (valid UTF-8) whose weight is at most max_weight,
 * ending on a character boundary that does not split a joined sequence (emoji with modifiers or
 * joiners, a base letter and its combining marks). *weight gets the prefix's weight. */
static inline size_t wb_cut(const char *s, long max_weight, long *weight)
{
    size_t cuts[2048];
    long weights[2048];
    size_t n = 0, i = 0, best = 0;
    long w = 0, best_w = 0;
    cuts[n] = 0;
    weights[n++] = 0;
    while (s[i] && n < 2048) {
        size_t at = i;
        int32_t cp = wb_next_cp(s, &i);
        if (cp < 0 || w + wb_cp_weight(cp) > max_weight) {
            i = at;
            break;
        }
        w += wb_cp_weight(cp);
        cuts[n] = i;
        weights[n++] = w;
    }
    /* back off while the cut would separate glued characters */
    for (size_t k = n; k-- > 0;) {
        size_t pos = cuts[k];
        int ok = 1;
        if (s[pos]) {
            size_t j = pos;
            if (wb_cp_glues(wb_next_cp(s, &j)))
                ok = 0;
        }
        if (ok && k > 0) {
            size_t j = cuts[k - 1];
            if (wb_next_cp(s, &j) == 0x200d)
                ok = 0;
        }
        if (ok) {
            best = pos;
            best_w = weights[k];
            break;
        }
    }
    if (weight)
        *weight = best_w;
    return best;
}

/* ---- URLs ------------------------------------------------------------------------------------ */

static inline int wb_url_char(unsigned char c)
{
    return c > 0x20 && c < 0x7f && !strchr("<>\"'`{}|\\^", c);
}

/* The next URL (http:// or https://, then URL characters: printable ASCII up to white space,
 * a quote, an angle bracket or a non-ASCII character) at or after *pos: 1 with [*start, *end)
 * set and *pos moved past it; 0 when there is none. */
static inline int wb_next_url(const char *s, size_t *pos, size_t *start, size_t *end)
{
    for (size_t i = *pos; s[i]; i++) {
        size_t k;
        if (strncasecmp(s + i, "https://", 8) == 0)
            k = 8;
        else if (strncasecmp(s + i, "http://", 7) == 0)
            k = 7;
        else
            continue;
        size_t j = i + k;
        while (s[j] && wb_url_char((unsigned char)s[j]))
            j++;
        if (j == i + k)
            continue;
        *start = i;
        *end = j;
        *pos = j;
        return 1;
    }
    return 0;
}

/* 1 when the URL url[0..len) has a host equal to `domain` or below it (case-insensitive). A URL
 * with user info (an '@' before the path) never qualifies: its host is not what it seems. */
static inline int wb_url_under(const char *url, size_t len, const char *domain)
{
    size_t i = strncasecmp(url, "https://", 8) == 0  ? 8
               : strncasecmp(url, "http://", 7) == 0 ? 7
                                                     : 0;
    if (!i || !domain || !*domain)
        return 0;
    size_t h = i;
    while (h < len && !strchr("/?#", url[h])) {
        if (url[h] == '@')
            return 0;
        h++;
    }
    size_t hl = h - i;
    for (size_t k = i; k < h; k++)
        if (url[k] == ':') {
            hl = k - i; /* drop the port */
            break;
        }
    const char *host = url + i;
    size_t dl = strlen(domain);
    if (hl > 0 && host[hl - 1] == '.')
        hl--; /* "gov.cn." is "gov.cn" */
    if (hl == dl)
        return strncasecmp(host, domain, dl) == 0;
    return hl > dl && host[hl - dl - 1] == '.' && strncasecmp(host + hl - dl, domain, dl) == 0;
}

/* 1 when the text holds at least one URL under one of the n domains (§2.1: "at least one URL
 * under the app's bound secure domain"). */
static inline int wb_has_secure_link(const char *s, const char *const *domains, size_t n)
{
    size_t pos = 0, a, b;
    while (wb_next_url(s, &pos, &a, &b))
        for (size_t k = 0; k < n; k++)
            if (wb_url_under(s + a, b - a, domains[k]))
                return 1;
    return 0;
}

/* ---- topics and similarity ------------------------------------------------------------------- */

/* 1 when the text holds a topic tag: '#', at least one character, '#' (§2.1: no #话题词#). */
static inline int wb_has_topic(const char *s)
{
    const char *a = strchr(s, '#');
    while (a) {
        const char *b = strchr(a + 1, '#');
        if (!b)
            return 0;
        if (b > a + 1)
            return 1;
        a = b;
    }
    return 0;
}

static inline int wb_cp_space(int32_t cp)
{
    return cp == ' ' || (cp >= 0x09 && cp <= 0x0d) || cp == 0xa0 || cp == 0x3000 ||
           (cp >= 0x2000 && cp <= 0x200b) || cp == 0x2028 || cp == 0x2029 || cp == 0x202f ||
           cp == 0x205f || cp == 0xfeff;
}

/* The normal form of a text for "similar content" and for finding a post again: every URL and
 * every white-space character removed (the platform shows links rewritten as short links, so a
 * post is recognised by its words, not its links). malloc'd; NULL when out of memory. */
static inline char *wb_normalize(const char *s)
{
    size_t len = strlen(s), o = 0, i = 0, pos = 0, ua = 0, ub = 0;
    char *out = malloc(len + 1);
    if (!out)
        return NULL;
    int have_url = wb_next_url(s, &pos, &ua, &ub);
    while (s[i]) {
        if (have_url && i == ua) {
            i = ub;
            have_url = wb_next_url(s, &pos, &ua, &ub);
            continue;
        }
        size_t at = i;
        int32_t cp = wb_next_cp(s, &i);
        if (cp >= 0 && wb_cp_space(cp))
            continue;
        memcpy(out + o, s + at, i - at);
        o += i - at;
    }
    out[o] = '\0';
    return out;
}

#endif
