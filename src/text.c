/*
 * Text and digest helpers the core uses and lends to adapters (struct hd_services): UTF-8
 * counting, validation and truncation on character boundaries (hand-written: small and exact),
 * HTML to plain text (libxml2's HTML parser), UTF-8 to GBK for the LED boards (glibc iconv), and
 * HMAC-SHA256 / SHA-256 / SHA-1 as lowercase hex plus a constant-time compare (OpenSSL libcrypto).
 */
#include <errno.h>
#include <iconv.h>
#include <stdint.h>

#include <libxml/HTMLparser.h>
#include <libxml/tree.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "common.h"
#include "text.h"

/* htmlReadMemory() and HMAC() take int lengths (not <limits.h>: src/ is on the include path) */
#define TEXT_INT_MAX ((size_t)INT32_MAX)

/* ---- UTF-8 ------------------------------------------------------------------------------- */

/* Length of the valid UTF-8 sequence at s (at most `left` bytes), or 0 when it is not one:
 * overlong forms, surrogates, code points above U+10FFFF and cut sequences are refused. */
static size_t utf8_seq(const unsigned char *s, size_t left)
{
    unsigned char c = s[0];
    if (c < 0x80)
        return 1;
    if (c < 0xC2 || c > 0xF4) /* continuation byte, overlong 2-byte lead, or beyond U+10FFFF */
        return 0;
    size_t n = c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    if (left < n)
        return 0;
    for (size_t i = 1; i < n; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    if (n == 3) {
        if (c == 0xE0 && s[1] < 0xA0) /* overlong */
            return 0;
        if (c == 0xED && s[1] >= 0xA0) /* U+D800..U+DFFF */
            return 0;
    } else if (n == 4) {
        if (c == 0xF0 && s[1] < 0x90) /* overlong */
            return 0;
        if (c == 0xF4 && s[1] >= 0x90) /* above U+10FFFF */
            return 0;
    }
    return n;
}

/* Bytes of the character at s, counting an invalid byte as one character. */
static size_t char_bytes(const char *s, size_t left)
{
    size_t n = utf8_seq((const unsigned char *)s, left);
    return n ? n : 1;
}

size_t hd_utf8_len(const char *s)
{
    size_t count = 0;
    if (!s)
        return 0;
    size_t left = strlen(s);
    while (left) {
        size_t n = char_bytes(s, left);
        s += n;
        left -= n;
        count++;
    }
    return count;
}

int hd_utf8_valid(const char *s, size_t len)
{
    if (!s)
        return len == 0;
    const unsigned char *p = (const unsigned char *)s;
    while (len) {
        size_t n = utf8_seq(p, len);
        if (!n)
            return 0;
        p += n;
        len -= n;
    }
    return 1;
}

/* Byte length of the first `chars` characters of s (all of it when shorter). */
static size_t prefix_bytes(const char *s, size_t chars)
{
    size_t left = strlen(s), off = 0;
    while (chars-- && off < left)
        off += char_bytes(s + off, left - off);
    return off;
}

char *hd_utf8_truncate(const char *s, size_t max_chars, const char *ellipsis)
{
    if (!s)
        return NULL;
    if (hd_utf8_len(s) <= max_chars)
        return strdup(s);
    size_t el = ellipsis ? hd_utf8_len(ellipsis) : 0;
    if (el > max_chars) /* no room for the ellipsis: a plain cut */
        el = 0;
    size_t keep = prefix_bytes(s, max_chars - el);
    size_t elb = el ? strlen(ellipsis) : 0;
    char *out = malloc(keep + elb + 1);
    if (!out)
        return NULL;
    memcpy(out, s, keep);
    memcpy(out + keep, ellipsis ? ellipsis : "", elb);
    out[keep + elb] = '\0';
    return out;
}

/* ---- HTML to text ------------------------------------------------------------------------ */

struct textbuf {
    char *p;
    size_t len, cap;
    int nl;     /* line breaks asked for before the next text (0..2) */
    int space;  /* a blank asked for before the next text */
    int failed; /* out of memory */
};

static void tb_put(struct textbuf *t, const char *s, size_t n)
{
    if (t->failed)
        return;
    if (t->len + n + 1 > t->cap) {
        size_t cap = t->cap ? t->cap : 256;
        while (cap < t->len + n + 1)
            cap *= 2;
        char *p = realloc(t->p, cap);
        if (!p) {
            t->failed = 1;
            return;
        }
        t->p = p;
        t->cap = cap;
    }
    memcpy(t->p + t->len, s, n);
    t->len += n;
    t->p[t->len] = '\0';
}

/* Text of one text node: blanks (ASCII white space and no-break spaces, which is what &nbsp;
 * becomes) collapse to one; everything else, Chinese punctuation and U+3000 included, is kept. */
static void tb_text(struct textbuf *t, const char *s)
{
    size_t left = strlen(s);
    while (left) {
        unsigned char c = (unsigned char)*s;
        size_t n = char_bytes(s, left);
        int blank = c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
                    (n == 2 && c == 0xC2 && (unsigned char)s[1] == 0xA0);
        if (blank) {
            t->space = 1;
        } else {
            if (t->len > 0 && t->nl > 0) {
                tb_put(t, "\n\n", (size_t)t->nl);
            } else if (t->len > 0 && t->space && t->p[t->len - 1] != '\n') {
                tb_put(t, " ", 1);
            }
            t->nl = 0;
            t->space = 0;
            tb_put(t, s, n);
        }
        s += n;
        left -= n;
    }
}

/* A block boundary: the next text starts on a new line. */
static void tb_block(struct textbuf *t)
{
    if (t->nl < 1)
        t->nl = 1;
}

/* <br>: one more line break (at most one blank line in a row). */
static void tb_break(struct textbuf *t)
{
    if (t->nl < 2)
        t->nl++;
}

static int name_in(const xmlChar *name, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (xmlStrcasecmp(name, (const xmlChar *)list[i]) == 0)
            return 1;
    return 0;
}

static const char *const skipped[] = {"script",   "style",  "head",   "title",  "noscript",
                                      "template", "iframe", "object", "select", "textarea"};
static const char *const blocks[] = {
    "p",       "div",    "li",       "ul",      "ol",         "dl",   "dt",     "dd",
    "h1",      "h2",     "h3",       "h4",      "h5",         "h6",   "tr",     "table",
    "thead",   "tbody",  "tfoot",    "caption", "blockquote", "pre",  "hr",     "section",
    "article", "header", "footer",   "nav",     "aside",      "main", "figure", "figcaption",
    "address", "form",   "fieldset", "center",  "body",       "html"};
static const char *const cells[] = {"td", "th"};

/* A copy of s in which every byte that is not part of valid UTF-8 became U+FFFD. */
static char *utf8_sanitize(const char *s, size_t len)
{
    char *out = malloc(len * 3 + 1), *o = out;
    if (!out)
        return NULL;
    while (len) {
        size_t n = utf8_seq((const unsigned char *)s, len);
        if (n) {
            memcpy(o, s, n);
            o += n;
        } else {
            memcpy(o, "\xef\xbf\xbd", 3);
            o += 3;
            n = 1;
        }
        s += n;
        len -= n;
    }
    *o = '\0';
    return out;
}

char *hd_html_to_text(const char *html)
{
    struct textbuf t = {0};
    char *clean = NULL;
    if (!html)
        return NULL;
    size_t len = strlen(html);
    if (!hd_utf8_valid(html, len)) { /* libxml2 would pass some bad bytes through, drop others */
        if (len > TEXT_INT_MAX / 3 || !(clean = utf8_sanitize(html, len)))
            return NULL;
        html = clean;
        len = strlen(clean);
    }
    if (len > TEXT_INT_MAX)
        return strdup("");
    htmlDocPtr doc = htmlReadMemory(html, (int)len, NULL, "UTF-8",
                                    HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING | HTML_PARSE_NONET |
                                        HTML_PARSE_RECOVER);
    xmlNodePtr root = doc ? xmlDocGetRootElement(doc) : NULL;
    /* Iterative walk (deep nesting must not cost stack): enter, then leave on the way up. */
    xmlNodePtr n = root;
    while (n) {
        int descend = 0;
        if (n->type == XML_TEXT_NODE || n->type == XML_CDATA_SECTION_NODE) {
            if (n->content)
                tb_text(&t, (const char *)n->content);
        } else if (n->type == XML_ELEMENT_NODE) {
            if (name_in(n->name, skipped, HD_ARRAY_LEN(skipped))) {
                /* dropped with its content */
            } else if (xmlStrcasecmp(n->name, (const xmlChar *)"br") == 0) {
                tb_break(&t);
            } else {
                if (name_in(n->name, blocks, HD_ARRAY_LEN(blocks)))
                    tb_block(&t);
                else if (name_in(n->name, cells, HD_ARRAY_LEN(cells)))
                    t.space = 1;
                descend = n->children != NULL;
            }
        }
        if (descend) {
            n = n->children;
            continue;
        }
        /* leave n and every ancestor whose last child we just finished */
        while (n) {
            if (n->type == XML_ELEMENT_NODE && name_in(n->name, blocks, HD_ARRAY_LEN(blocks)))
                tb_block(&t);
            else if (n->type == XML_ELEMENT_NODE && name_in(n->name, cells, HD_ARRAY_LEN(cells)))
                t.space = 1;
            if (n == root) {
                n = NULL;
                break;
            }
            if (n->next) {
                n = n->next;
                break;
            }
            n = n->parent;
        }
    }
    if (doc)
        xmlFreeDoc(doc);
    free(clean);
    if (t.failed) {
        free(t.p);
        return NULL;
    }
    return t.p ? t.p : strdup("");
}

/* ---- GBK --------------------------------------------------------------------------------- */

char *hd_utf8_to_gbk(const char *s, const char *replacement, size_t *out_len, size_t *n_replaced)
{
    char *out = NULL, *rep = NULL;
    size_t rep_len = 0, replaced = 0, cap, used = 0;
    iconv_t cd = (iconv_t)-1;

    if (out_len)
        *out_len = 0;
    if (n_replaced)
        *n_replaced = 0;
    if (!s || !hd_utf8_valid(s, strlen(s)))
        return NULL;
    if (replacement && replacement[0]) {
        size_t rr;
        rep = hd_utf8_to_gbk(replacement, NULL, &rep_len, &rr);
        if (!rep || rr > 0) /* the replacement must itself be GBK */
            goto fail;
    }
    cd = iconv_open("GBK", "UTF-8");
    if (cd == (iconv_t)-1)
        goto fail;
    size_t left = strlen(s);
    cap = left + 16; /* GBK never needs more bytes than UTF-8, but replacements may */
    out = malloc(cap);
    if (!out)
        goto fail;
    char *in = (char *)s;
    for (;;) {
        char *o = out + used;
        size_t oleft = cap - used - 1; /* keep room for the NUL */
        size_t r = left ? iconv(cd, &in, &left, &o, &oleft) : iconv(cd, NULL, NULL, &o, &oleft);
        used = (size_t)(o - out);
        if (r != (size_t)-1) {
            if (!left)
                break;
            continue;
        }
        if (errno == E2BIG || (errno == EILSEQ && cap - used - 1 < rep_len)) {
            char *nb = realloc(out, cap * 2 + rep_len);
            if (!nb)
                goto fail;
            out = nb;
            cap = cap * 2 + rep_len;
            continue;
        }
        if (errno != EILSEQ) /* EINVAL: a cut sequence, impossible after validation */
            goto fail;
        size_t n = char_bytes(in, left); /* exactly one code point GBK cannot carry */
        in += n;
        left -= n;
        memcpy(out + used, rep ? rep : "", rep_len);
        used += rep_len;
        replaced++;
    }
    iconv_close(cd);
    free(rep);
    out[used] = '\0';
    if (out_len)
        *out_len = used;
    if (n_replaced)
        *n_replaced = replaced;
    return out;
fail:
    if (cd != (iconv_t)-1)
        iconv_close(cd);
    free(rep);
    free(out);
    return NULL;
}

int hd_gbk_encodable(const char *s)
{
    size_t n, replaced;
    char *g = hd_utf8_to_gbk(s, NULL, &n, &replaced);
    if (!g)
        return 0;
    free(g);
    return replaced == 0;
}

/* ---- digests ----------------------------------------------------------------------------- */

static void to_hex(const unsigned char *md, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[md[i] >> 4];
        out[2 * i + 1] = digits[md[i] & 15];
    }
    out[2 * n] = '\0';
}

void hd_hmac_sha256_hex(const void *key, size_t keylen, const void *msg, size_t len, char out[65])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    static const unsigned char empty[1];
    out[0] = '\0';
    if (keylen > TEXT_INT_MAX)
        return;
    if (!HMAC(EVP_sha256(), key ? key : empty, (int)keylen, msg ? msg : empty, len, md, &mdlen) ||
        mdlen != 32)
        return; /* out stays "": never equal to a real signature */
    to_hex(md, mdlen, out);
}

static void digest_hex(const EVP_MD *type, size_t mdsize, const void *msg, size_t len, char *out)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    static const unsigned char empty[1];
    out[0] = '\0';
    if (!EVP_Digest(msg ? msg : empty, len, md, &mdlen, type, NULL) || mdlen != mdsize)
        return;
    to_hex(md, mdlen, out);
}

void hd_sha256_hex(const void *msg, size_t len, char out[65])
{
    digest_hex(EVP_sha256(), 32, msg, len, out);
}

void hd_sha1_hex(const void *msg, size_t len, char out[41])
{
    digest_hex(EVP_sha1(), 20, msg, len, out);
}

int hd_consttime_streq(const char *a, const char *b)
{
    if (!a || !b)
        return 0;
    size_t la = strlen(a), lb = strlen(b);
    if (la != lb) /* the length may show; the content never does */
        return 0;
    return CRYPTO_memcmp(a, b, la) == 0;
}
