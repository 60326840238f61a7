/*
 * herald-sim body parsers: application/x-www-form-urlencoded (and query strings) and
 * multipart/form-data (RFC 7578 on RFC 2046's delimiters). The WeChat simulator reads its
 * `media` upload and the Weibo simulator its `status` / `pic` fields through these, via
 * hd_sim_req_form() and hd_sim_req_part() in sim_common.c. Binary-safe: part data may hold NULs.
 */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "common.h"
#include "sim_internal.h"

#define MAX_PARTS  1000
#define MAX_FIELDS 10000

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decodes s[0..len) (+ as space, %XX) into a new NUL-terminated string. */
static char *form_decode(const char *s, size_t len)
{
    char *out = malloc(len + 1);
    size_t o = 0;
    if (!out)
        return NULL;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '+') {
            out[o++] = ' ';
        } else if (s[i] == '%' && i + 2 < len && hexval((unsigned char)s[i + 1]) >= 0 &&
                   hexval((unsigned char)s[i + 2]) >= 0) {
            out[o++] =
                (char)(hexval((unsigned char)s[i + 1]) * 16 + hexval((unsigned char)s[i + 2]));
            i += 2;
        } else {
            out[o++] = s[i];
        }
    }
    out[o] = '\0';
    return out;
}

int hd_sim_parse_urlencoded(const char *s, size_t len, struct hd_sim_kv **out, size_t *n)
{
    struct hd_sim_kv *kv = NULL;
    size_t count = 0;
    size_t i = 0;

    *out = NULL;
    *n = 0;
    while (i < len && count < MAX_FIELDS) {
        size_t start = i;
        while (i < len && s[i] != '&')
            i++;
        size_t seg = i - start;
        if (i < len)
            i++; /* the '&' */
        if (seg == 0)
            continue;
        const char *eq = memchr(s + start, '=', seg);
        size_t nlen = eq ? (size_t)(eq - (s + start)) : seg;
        struct hd_sim_kv *grown = realloc(kv, (count + 1) * sizeof(*kv));
        if (!grown)
            goto fail;
        kv = grown;
        kv[count].name = form_decode(s + start, nlen);
        kv[count].value = eq ? form_decode(eq + 1, seg - nlen - 1) : hd_strdup("");
        count++;
        if (!kv[count - 1].name || !kv[count - 1].value)
            goto fail;
    }
    *out = kv;
    *n = count;
    return 0;
fail:
    hd_sim_kv_free(kv, count);
    return HD_ENOMEM;
}

void hd_sim_kv_free(struct hd_sim_kv *kv, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(kv[i].name);
        free(kv[i].value);
    }
    free(kv);
}

const char *hd_sim_kv_get(const struct hd_sim_kv *kv, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(kv[i].name, name) == 0)
            return kv[i].value;
    return NULL;
}

int hd_sim_media_type_is(const char *content_type, const char *type)
{
    if (!content_type)
        return 0;
    while (*content_type == ' ' || *content_type == '\t')
        content_type++;
    size_t len = strcspn(content_type, ";");
    while (len > 0 && (content_type[len - 1] == ' ' || content_type[len - 1] == '\t'))
        len--;
    return len == strlen(type) && strncasecmp(content_type, type, len) == 0;
}

/* The parameter `name` of a header value "token; a=b; c=\"d\"" (token or quoted-string, with
 * backslash escapes), as a new string; NULL when absent or malformed. */
static char *header_param(const char *value, const char *name)
{
    const char *p = strchr(value, ';');
    size_t name_len = strlen(name);

    while (p) {
        p++;
        while (*p == ' ' || *p == '\t')
            p++;
        const char *key = p;
        while (*p && *p != '=' && *p != ';')
            p++;
        size_t key_len = (size_t)(p - key);
        while (key_len > 0 && (key[key_len - 1] == ' ' || key[key_len - 1] == '\t'))
            key_len--;
        if (*p != '=') {
            p = *p ? p : NULL;
            continue;
        }
        p++;
        while (*p == ' ' || *p == '\t')
            p++;
        char *val;
        if (*p == '"') {
            size_t cap = strlen(p) + 1, o = 0;
            val = malloc(cap);
            if (!val)
                return NULL;
            p++;
            while (*p && *p != '"') {
                if (*p == '\\' && p[1])
                    p++;
                val[o++] = *p++;
            }
            if (*p != '"') {
                free(val);
                return NULL; /* unterminated quoted-string */
            }
            val[o] = '\0';
            p++;
        } else {
            const char *start = p;
            while (*p && *p != ';' && *p != ' ' && *p != '\t')
                p++;
            val = hd_strndup(start, (size_t)(p - start));
        }
        if (key_len == name_len && strncasecmp(key, name, name_len) == 0)
            return val;
        free(val);
        p = strchr(p, ';');
    }
    return NULL;
}

static const char *find_bytes(const char *hay, size_t hay_len, const char *needle, size_t n_len)
{
    return memmem(hay, hay_len, needle, n_len);
}

/* Parses the header lines of one part, from p up to and including the empty line. */
static int part_headers(const char **pp, const char *end, struct hd_sim_part *part)
{
    const char *p = *pp;
    int have_disposition = 0;

    for (;;) {
        const char *eol = find_bytes(p, (size_t)(end - p), "\r\n", 2);
        if (!eol)
            return HD_EINVAL;
        if (eol == p) {
            *pp = p + 2;
            return have_disposition ? 0 : HD_EINVAL;
        }
        char *line = hd_strndup(p, (size_t)(eol - p));
        if (!line)
            return HD_ENOMEM;
        if (memchr(p, '\0', (size_t)(eol - p))) {
            free(line);
            return HD_EINVAL;
        }
        char *colon = strchr(line, ':');
        if (!colon) {
            free(line);
            return HD_EINVAL;
        }
        *colon = '\0';
        char *value = colon + 1;
        while (*value == ' ' || *value == '\t')
            value++;
        size_t vlen = strlen(value);
        while (vlen > 0 && (value[vlen - 1] == ' ' || value[vlen - 1] == '\t'))
            value[--vlen] = '\0';
        if (strcasecmp(line, "Content-Disposition") == 0) {
            if (!hd_sim_media_type_is(value, "form-data") || have_disposition) {
                free(line);
                return HD_EINVAL;
            }
            have_disposition = 1;
            part->name = header_param(value, "name");
            part->filename = header_param(value, "filename");
            if (!part->name) {
                free(line);
                return HD_EINVAL;
            }
        } else if (strcasecmp(line, "Content-Type") == 0) {
            free(part->content_type);
            part->content_type = hd_strdup(value);
        }
        free(line);
        p = eol + 2;
    }
}

int hd_sim_parse_multipart(const char *content_type, const char *body, size_t len,
                           struct hd_sim_part **out, size_t *n)
{
    struct hd_sim_part *parts = NULL;
    size_t count = 0;
    char *boundary = NULL;
    char *delim = NULL;
    const char *end = body + len;
    const char *p;
    int rc = HD_EINVAL;

    *out = NULL;
    *n = 0;
    if (!hd_sim_media_type_is(content_type, "multipart/form-data"))
        return HD_EINVAL;
    boundary = header_param(content_type, "boundary");
    if (!boundary || strlen(boundary) == 0 || strlen(boundary) > 70)
        goto fail;
    delim = hd_asprintf("\r\n--%s", boundary);
    if (!delim) {
        rc = HD_ENOMEM;
        goto fail;
    }
    size_t dlen = strlen(delim);

    /* The first delimiter may open the body (no preamble) or follow a preamble and CRLF. */
    if (len >= dlen - 2 && memcmp(body, delim + 2, dlen - 2) == 0) {
        p = body + dlen - 2;
    } else {
        const char *d = find_bytes(body, len, delim, dlen);
        if (!d)
            goto fail;
        p = d + dlen;
    }
    for (;;) {
        if (end - p >= 2 && p[0] == '-' && p[1] == '-') {
            rc = 0; /* close delimiter; the epilogue is ignored */
            break;
        }
        while (p < end && (*p == ' ' || *p == '\t'))
            p++;
        if (end - p < 2 || p[0] != '\r' || p[1] != '\n')
            goto fail;
        p += 2;
        if (count == MAX_PARTS)
            goto fail;
        struct hd_sim_part *grown = realloc(parts, (count + 1) * sizeof(*parts));
        if (!grown) {
            rc = HD_ENOMEM;
            goto fail;
        }
        parts = grown;
        struct hd_sim_part *part = &parts[count++];
        memset(part, 0, sizeof(*part));
        rc = part_headers(&p, end, part);
        if (rc < 0)
            goto fail;
        rc = HD_EINVAL;
        const char *next = find_bytes(p, (size_t)(end - p), delim, dlen);
        if (!next)
            goto fail;
        part->len = (size_t)(next - p);
        part->data = hd_strndup(p, part->len);
        if (!part->data) {
            rc = HD_ENOMEM;
            goto fail;
        }
        p = next + dlen;
    }
    free(boundary);
    free(delim);
    *out = parts;
    *n = count;
    return 0;
fail:
    free(boundary);
    free(delim);
    hd_sim_parts_free(parts, count);
    return rc;
}

void hd_sim_parts_free(struct hd_sim_part *parts, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(parts[i].name);
        free(parts[i].filename);
        free(parts[i].content_type);
        free(parts[i].data);
    }
    free(parts);
}
