/*
 * The configuration checker: holds a YAML mapping (the tree conf.c builds) against the key tables
 * the core and the adapters declare (struct hd_conf_key), turns every value into its typed form,
 * fills defaults and reports every problem with its file:line -- all of them, not just the first.
 * Also the value parsers the rest of the core shares (durations, sizes, booleans, integers).
 * Secret references (file:, credential:) live in conf_secret.c.
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>

#include "common.h"
#include "conf.h"

/* ---- value parsers ----------------------------------------------------------------------- */

/* Decimal digits (at least one, nothing else before *end) as an unsigned value <= limit. */
static int parse_digits(const char *s, const char **end, uint64_t limit, uint64_t *out)
{
    uint64_t v = 0;
    const char *p = s;
    if (!isdigit((unsigned char)*p))
        return HD_EINVAL;
    for (; isdigit((unsigned char)*p); p++) {
        unsigned dig = (unsigned)(*p - '0');
        if (v > (limit - dig) / 10)
            return HD_EINVAL;
        v = v * 10 + dig;
    }
    *end = p;
    *out = v;
    return 0;
}

int hd_parse_int(const char *s, int64_t *v)
{
    const char *end;
    uint64_t u;
    int neg = 0;
    if (!s)
        return HD_EINVAL;
    if (*s == '-' || *s == '+')
        neg = *s++ == '-';
    if (parse_digits(s, &end, neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX, &u) < 0 || *end)
        return HD_EINVAL;
    if (neg)
        *v = u == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)u;
    else
        *v = (int64_t)u;
    return 0;
}

struct unit {
    const char *name;
    int64_t mult;
};

/* *too_large (may be NULL) tells an overflow from a malformed value. */
static int units_parse(const char *s, const struct unit *units, size_t n_units, int nocase,
                       int bare_zero_only, int64_t *out, int *too_large)
{
    const char *end;
    uint64_t v;
    int dummy;
    if (!too_large)
        too_large = &dummy;
    *too_large = 0;
    if (!s)
        return HD_EINVAL;
    if (parse_digits(s, &end, INT64_MAX, &v) < 0) {
        *too_large = isdigit((unsigned char)*s);
        return HD_EINVAL;
    }
    if (*end == '\0') {
        if (bare_zero_only && v != 0)
            return HD_EINVAL;
        *out = (int64_t)v;
        return 0;
    }
    for (size_t i = 0; i < n_units; i++) {
        if (nocase ? strcasecmp(end, units[i].name) : strcmp(end, units[i].name))
            continue;
        if (v > (uint64_t)(INT64_MAX / units[i].mult)) {
            *too_large = 1;
            return HD_EINVAL;
        }
        *out = (int64_t)v * units[i].mult;
        return 0;
    }
    return HD_EINVAL;
}

static const struct unit duration_units[] = {
    {"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}, {"d", 86400000},
};

int hd_parse_duration(const char *s, int64_t *ms)
{
    return units_parse(s, duration_units, HD_ARRAY_LEN(duration_units), 0, 1, ms, NULL);
}

static const struct unit size_units[] = {
    {"B", 1},           {"KiB", 1LL << 10}, {"KB", 1LL << 10},
    {"MiB", 1LL << 20}, {"MB", 1LL << 20},  {"GiB", 1LL << 30},
    {"GB", 1LL << 30},  {"TiB", 1LL << 40}, {"TB", 1LL << 40},
};

int hd_parse_size(const char *s, int64_t *bytes)
{
    return units_parse(s, size_units, HD_ARRAY_LEN(size_units), 1, 0, bytes, NULL);
}

int hd_parse_bool(const char *s, int *b)
{
    static const char *const words[] = {"true", "yes", "on", "false", "no", "off"};
    if (!s)
        return HD_EINVAL;
    for (size_t i = 0; i < HD_ARRAY_LEN(words); i++) {
        size_t n = strlen(words[i]);
        if (strlen(s) != n)
            continue;
        /* YAML 1.1 spellings: lower, Capitalized, UPPER -- not mIxEd */
        int lower = strcmp(s, words[i]) == 0, upper = 1, cap = s[0] == toupper(words[i][0]);
        for (size_t j = 0; j < n; j++) {
            upper &= s[j] == toupper((unsigned char)words[i][j]);
            if (j > 0)
                cap &= s[j] == words[i][j];
        }
        if (lower || upper || cap) {
            *b = i < 3;
            return 0;
        }
    }
    return HD_EINVAL;
}

/* ---- message helpers --------------------------------------------------------------------- */

/* A user's text for a message: quoted, control characters escaped, cut after ~48 bytes on a
 * character boundary. */
static const char *shown(const char *s, char *buf, size_t size, int quote)
{
    size_t o = 0;
    const size_t limit = 48;
    if (quote)
        buf[o++] = '"';
    for (size_t i = 0; s[i] && o + 8 < size; i++) {
        unsigned char c = (unsigned char)s[i];
        if (i >= limit && (c & 0xC0) != 0x80) {
            memcpy(buf + o, "\xe2\x80\xa6", 3); /* … */
            o += 3;
            break;
        }
        if (c < 0x20 || c == 0x7f) {
            o += (size_t)snprintf(buf + o, size - o, "\\x%02x", c);
        } else if (quote && (c == '"' || c == '\\')) {
            buf[o++] = '\\';
            buf[o++] = (char)c;
        } else {
            buf[o++] = (char)c;
        }
    }
    if (quote)
        buf[o++] = '"';
    buf[o] = '\0';
    return buf;
}

#define SHOWN_SIZE 256 /* 48 bytes shown, each at most "\xNN", quotes and "…" */

static const char *what(const struct hd_node *n)
{
    if (n->kind == HD_NODE_SCALAR && n->null)
        return "an empty value";
    return hd_node_kind_name(n->kind);
}

static void fmt_duration(int64_t ms, char *buf, size_t size)
{
    for (size_t i = HD_ARRAY_LEN(duration_units); i-- > 0;) {
        if (ms != 0 && ms % duration_units[i].mult == 0) {
            snprintf(buf, size, "%" PRId64 "%s", ms / duration_units[i].mult,
                     duration_units[i].name);
            return;
        }
    }
    snprintf(buf, size, "%" PRId64 "%s", ms, ms ? "ms" : "");
}

static void fmt_size(int64_t b, char *buf, size_t size)
{
    static const struct unit u[] = {
        {"TiB", 1LL << 40}, {"GiB", 1LL << 30}, {"MiB", 1LL << 20}, {"KiB", 1LL << 10}};
    for (size_t i = 0; i < HD_ARRAY_LEN(u); i++) {
        if (b != 0 && b % u[i].mult == 0) {
            snprintf(buf, size, "%" PRId64 "%s", b / u[i].mult, u[i].name);
            return;
        }
    }
    snprintf(buf, size, "%" PRId64, b);
}

static void fmt_bound(enum hd_conf_type t, int64_t v, char *buf, size_t size)
{
    if (t == HD_CONF_DURATION)
        fmt_duration(v, buf, size);
    else if (t == HD_CONF_SIZE)
        fmt_size(v, buf, size);
    else
        snprintf(buf, size, "%" PRId64, v);
}

/* "must be between 1s and 1h", "must be at least 1", "must be at most 64KiB"; into buf. */
static void range_text(enum hd_conf_type t, int64_t min, int64_t max, const char *unit, char *buf,
                       size_t size)
{
    char lo[48], hi[48];
    fmt_bound(t, min, lo, sizeof(lo));
    fmt_bound(t, max, hi, sizeof(hi));
    if (max == INT64_MAX)
        snprintf(buf, size, "must be at least %s%s", lo, unit);
    else if (min == INT64_MIN || (t == HD_CONF_STRING && min == 0))
        snprintf(buf, size, "must be at most %s%s", hi, unit);
    else
        snprintf(buf, size, "must be between %s and %s%s", lo, hi, unit);
}

/* Optimal string alignment distance, ASCII case folded; SIZE_MAX for long strings. */
static size_t edit_distance(const char *a, const char *b)
{
    unsigned short dp[65][65];
    size_t la = strlen(a), lb = strlen(b);
    if (la > 64 || lb > 64)
        return SIZE_MAX;
    for (size_t i = 0; i <= la; i++)
        dp[i][0] = (unsigned short)i;
    for (size_t j = 0; j <= lb; j++)
        dp[0][j] = (unsigned short)j;
    for (size_t i = 1; i <= la; i++) {
        for (size_t j = 1; j <= lb; j++) {
            int ca = tolower((unsigned char)a[i - 1]), cb = tolower((unsigned char)b[j - 1]);
            unsigned short best = (unsigned short)(dp[i - 1][j - 1] + (ca != cb));
            best = HD_MIN(best, (unsigned short)(dp[i - 1][j] + 1));
            best = HD_MIN(best, (unsigned short)(dp[i][j - 1] + 1));
            if (i > 1 && j > 1 && ca == tolower((unsigned char)b[j - 2]) &&
                cb == tolower((unsigned char)a[i - 2]))
                best = HD_MIN(best, (unsigned short)(dp[i - 2][j - 2] + 1));
            dp[i][j] = best;
        }
    }
    return dp[la][lb];
}

struct suggest {
    const char *best;
    size_t dist;
};

static void consider(struct suggest *s, const char *given, const char *cand, size_t cand_len)
{
    char tmp[65];
    if (cand_len >= sizeof(tmp))
        return;
    memcpy(tmp, cand, cand_len);
    tmp[cand_len] = '\0';
    size_t dist = edit_distance(given, tmp);
    if (dist <= 2 && dist < cand_len && (!s->best || dist < s->dist)) {
        s->best = cand;
        s->dist = dist;
    }
}

/* ---- checking one value ------------------------------------------------------------------ */

struct check {
    struct hd_diag *d;
    int bare; /* messages without the "`key`: " prefix (about built-in defaults) */
};

static void verr(struct check *c, const struct hd_node *n, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void verr(struct check *c, const struct hd_node *n, const char *name, const char *fmt, ...)
{
    char *msg = NULL;
    va_list ap;
    va_start(ap, fmt);
    if (vasprintf(&msg, fmt, ap) < 0)
        msg = NULL;
    va_end(ap);
    if (c->bare)
        hd_diag_add(c->d, n, "%s", msg ? msg : "(out of memory)");
    else
        hd_diag_add(c->d, n, "`%s`: %s", name, msg ? msg : "(out of memory)");
    free(msg);
}

static const char *expected(const struct hd_conf_key *k)
{
    switch (k->type) {
    case HD_CONF_STRING:
        return "a string";
    case HD_CONF_INT:
        return "an integer";
    case HD_CONF_BOOL:
        return "true or false";
    case HD_CONF_DURATION:
        return "a duration such as 250ms, 10s, 5m, 24h or 2d";
    case HD_CONF_SIZE:
        return "a size such as 512, 64KiB, 16MiB or 1GiB";
    case HD_CONF_ENUM:
        return "one of its choices";
    case HD_CONF_URL:
        return "an http:// or https:// URL";
    case HD_CONF_SECRET:
        return "a secret reference (file:/path or credential:NAME)";
    case HD_CONF_LIST:
        return "a list";
    case HD_CONF_MAP:
        return "a mapping";
    default:
        return "a value";
    }
}

/* 0 when `s` is an acceptable URL, else a reason. */
static const char *url_problem(const char *s)
{
    size_t skip;
    if (strncasecmp(s, "http://", 7) == 0)
        skip = 7;
    else if (strncasecmp(s, "https://", 8) == 0)
        skip = 8;
    else
        return "expected an http:// or https:// URL";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p <= 0x20 || *p == 0x7f)
            return "a URL must not contain spaces or control characters";
    const char *host = s + skip;
    size_t hl = strcspn(host, "/?#");
    const char *at = memchr(host, '@', hl);
    if (at) {
        hl -= (size_t)(at + 1 - host);
        host = at + 1;
    }
    const char *port = NULL;
    if (hl > 0 && host[0] == '[') {
        const char *close = memchr(host, ']', hl);
        if (!close || close == host + 1)
            return "the URL has no host";
        if ((size_t)(close + 1 - host) < hl) {
            if (close[1] != ':')
                return "the URL's host is malformed";
            port = close + 2;
        }
    } else {
        const char *colon = memchr(host, ':', hl);
        if (colon == host || hl == 0)
            return "the URL has no host";
        if (colon)
            port = colon + 1;
    }
    if (port) {
        size_t pl = (size_t)(host + hl - port);
        int64_t pv;
        char buf[8];
        if (pl == 0 || pl >= sizeof(buf))
            return "the URL's port is not a number between 1 and 65535";
        memcpy(buf, port, pl);
        buf[pl] = '\0';
        if (!isdigit((unsigned char)buf[0]) || hd_parse_int(buf, &pv) < 0 || pv < 1 || pv > 65535)
            return "the URL's port is not a number between 1 and 65535";
    }
    return NULL;
}

static int in_bounds(const struct hd_conf_key *k, int64_t v)
{
    return (k->min == 0 && k->max == 0) || (v >= k->min && v <= k->max);
}

static int check_scalar(struct check *c, const struct hd_conf_key *k, const struct hd_node *n,
                        struct hd_conf_value *v)
{
    char sh[SHOWN_SIZE], range[160];
    const char *s = n->scalar;

    if (n->kind != HD_NODE_SCALAR) {
        verr(c, n, k->name, "expected %s, got %s", expected(k), what(n));
        return -1;
    }
    if (n->null) {
        verr(c, n, k->name, "has no value%s", k->def ? " (remove the key to use the default)" : "");
        return -1;
    }
    if (k->type == HD_CONF_SECRET) {
        char err[256];
        int rc = hd_secret_read(s, &v->secret, &v->secret_len, err, sizeof(err));
        if (rc < 0) { /* never echo the value: it may be the secret itself */
            verr(c, n, k->name, "%s", err);
            return -1;
        }
        return 0;
    }
    v->str = strdup(s);
    if (!v->str) {
        verr(c, n, k->name, "out of memory");
        return -1;
    }
    switch (k->type) {
    case HD_CONF_STRING: {
        size_t len = strlen(s);
        if (k->max > 0 && ((int64_t)len < k->min || (int64_t)len > k->max)) {
            range_text(k->type, k->min, k->max, " bytes long", range, sizeof(range));
            verr(c, n, k->name, "%s (got %zu)", range, len);
            return -1;
        }
        return 0;
    }
    case HD_CONF_INT:
    case HD_CONF_DURATION:
    case HD_CONF_SIZE: {
        int too_large = 0, rc;
        if (k->type == HD_CONF_INT) {
            rc = hd_parse_int(s, &v->i);
            const char *digits = s + (s[0] == '-' || s[0] == '+');
            too_large = rc < 0 && digits[0] && strspn(digits, "0123456789") == strlen(digits);
        } else if (k->type == HD_CONF_DURATION) {
            rc = units_parse(s, duration_units, HD_ARRAY_LEN(duration_units), 0, 1, &v->i,
                             &too_large);
        } else {
            rc = units_parse(s, size_units, HD_ARRAY_LEN(size_units), 1, 0, &v->i, &too_large);
        }
        if (rc < 0) {
            const char *hint = "";
            if (too_large)
                hint = " (too large)";
            else if (k->type == HD_CONF_DURATION && strspn(s, "0123456789") == strlen(s))
                hint = " (add a unit: ms, s, m, h or d)";
            verr(c, n, k->name, "expected %s, got %s%s", expected(k), shown(s, sh, sizeof(sh), 1),
                 hint);
            return -1;
        }
        if (!in_bounds(k, v->i)) {
            range_text(k->type, k->min, k->max, "", range, sizeof(range));
            verr(c, n, k->name, "%s (got %s)", range, shown(s, sh, sizeof(sh), 0));
            return -1;
        }
        return 0;
    }
    case HD_CONF_BOOL: {
        int b;
        if (n->quoted) {
            verr(c, n, k->name,
                 "expected true or false, got the quoted string %s (write it "
                 "without quotes)",
                 shown(s, sh, sizeof(sh), 1));
            return -1;
        }
        if (hd_parse_bool(s, &b) < 0) {
            verr(c, n, k->name, "expected true or false (or yes/no, on/off), got %s",
                 shown(s, sh, sizeof(sh), 1));
            return -1;
        }
        v->i = b;
        return 0;
    }
    case HD_CONF_ENUM: {
        const char *ch = k->choices ? k->choices : "";
        struct suggest sug = {NULL, 0};
        int64_t idx = 0;
        size_t slen = strlen(s);
        for (const char *p = ch;; idx++) {
            size_t l = strcspn(p, "|");
            if (l == slen && memcmp(p, s, l) == 0) {
                v->i = idx;
                return 0;
            }
            consider(&sug, s, p, l);
            if (!p[l])
                break;
            p += l + 1;
        }
        char list[512];
        size_t o = 0;
        for (const char *p = ch; *p && o + 3 < sizeof(list); p++) {
            if (*p == '|') {
                list[o++] = ',';
                list[o++] = ' ';
            } else {
                list[o++] = *p;
            }
        }
        list[o] = '\0';
        if (sug.best) {
            size_t l = strcspn(sug.best, "|");
            verr(c, n, k->name, "must be one of: %s (got %s; did you mean `%.*s`?)", list,
                 shown(s, sh, sizeof(sh), 1), (int)l, sug.best);
        } else {
            verr(c, n, k->name, "must be one of: %s (got %s)", list, shown(s, sh, sizeof(sh), 1));
        }
        return -1;
    }
    case HD_CONF_URL: {
        const char *why = url_problem(s);
        if (why) {
            verr(c, n, k->name, "%s, got %s", why, shown(s, sh, sizeof(sh), 1));
            return -1;
        }
        return 0;
    }
    default:
        verr(c, n, k->name, "internal error: unknown key type %d", (int)k->type);
        return -1;
    }
}

/* When key i of m repeats an earlier key, report it (`prefix.key` for nested maps) and return 1.
 * Called key by key, so the errors of one mapping come out in line order. */
static int is_duplicate(struct hd_diag *d, const struct hd_node *m, size_t i, const char *prefix)
{
    char sh[SHOWN_SIZE];
    for (size_t j = 0; j < i; j++) {
        if (strcmp(m->keys[i], m->keys[j]) != 0)
            continue;
        hd_diag_addf(d, m->file, m->key_lines[i], m->key_cols[i],
                     "duplicate key `%s%s%s` (first given at line %d)", prefix ? prefix : "",
                     prefix ? "." : "", shown(m->keys[i], sh, sizeof(sh), 0), m->key_lines[j]);
        return 1;
    }
    return 0;
}

int hd_conf_check_unique(const struct hd_node *map, struct hd_diag *d)
{
    if (!map || map->kind != HD_NODE_MAP)
        return 0;
    int errors = 0;
    for (size_t i = 1; i < map->n; i++)
        errors += is_duplicate(d, map, i, NULL);
    return errors;
}

static int check_value(struct check *c, const struct hd_conf_key *k, const struct hd_node *n,
                       struct hd_conf_value *v)
{
    char sh[SHOWN_SIZE];
    int bad = 0;

    if (k->type != HD_CONF_LIST && k->type != HD_CONF_MAP)
        return check_scalar(c, k, n, v);
    if (n->kind == HD_NODE_SCALAR && n->null)
        return 0; /* `key:` left empty: an empty list or mapping */
    if (k->type == HD_CONF_LIST) {
        if (n->kind != HD_NODE_SEQ) {
            if (n->kind == HD_NODE_SCALAR)
                verr(c, n, k->name,
                     "expected a list, got a string (write [%s] or one \"- "
                     "item\" per line)",
                     shown(n->scalar, sh, sizeof(sh), 1));
            else
                verr(c, n, k->name, "expected a list, got %s", what(n));
            return -1;
        }
        v->list = calloc(n->n ? n->n : 1, sizeof(char *));
        if (!v->list)
            goto oom;
        for (size_t i = 0; i < n->n; i++) {
            const struct hd_node *it = n->kids[i];
            if (it->kind != HD_NODE_SCALAR || it->null) {
                verr(c, it, k->name, "list items must be strings, got %s", what(it));
                bad = 1;
                continue;
            }
            if (!(v->list[v->n_list++] = strdup(it->scalar)))
                goto oom;
        }
        return bad ? -1 : 0;
    }
    if (n->kind != HD_NODE_MAP) {
        verr(c, n, k->name, "expected a mapping, got %s", what(n));
        return -1;
    }
    v->map_keys = calloc(n->n ? n->n : 1, sizeof(char *));
    v->map_vals = calloc(n->n ? n->n : 1, sizeof(char *));
    if (!v->map_keys || !v->map_vals)
        goto oom;
    for (size_t i = 0; i < n->n; i++) {
        const struct hd_node *it = n->kids[i];
        if (is_duplicate(c->d, n, i, k->name)) {
            bad = 1;
            continue;
        }
        if (it->kind != HD_NODE_SCALAR || it->null) {
            hd_diag_add(c->d, it, "`%s.%s`: expected a string, got %s", k->name,
                        shown(n->keys[i], sh, sizeof(sh), 0), what(it));
            bad = 1;
            continue;
        }
        v->map_keys[v->n_map] = strdup(n->keys[i]);
        v->map_vals[v->n_map] = strdup(it->scalar);
        v->n_map++; /* freed with the value, even half made */
        if (!v->map_keys[v->n_map - 1] || !v->map_vals[v->n_map - 1])
            goto oom;
    }
    return bad ? -1 : 0;
oom:
    verr(c, n, k->name, "out of memory");
    return -1;
}

static void value_clear(struct hd_conf_value *v)
{
    free(v->str);
    for (size_t i = 0; i < v->n_list; i++)
        free(v->list[i]);
    free(v->list);
    for (size_t i = 0; i < v->n_map; i++) {
        free(v->map_keys[i]);
        free(v->map_vals[i]);
    }
    free(v->map_keys);
    free(v->map_vals);
    hd_secret_free(v->secret, v->secret_len);
    const struct hd_conf_key *k = v->key;
    memset(v, 0, sizeof(*v));
    v->key = k;
}

/* The default of `k` into v; a bad default is a programming error, reported as such. For SECRET
 * with read_secret == 0 only the reference's form is checked. Returns 0 or -1. */
static int apply_default(struct hd_diag *d, const struct hd_conf_key *k, struct hd_conf_value *v,
                         int read_secret)
{
    struct hd_diag tmp;
    struct check c = {&tmp, !(k->type == HD_CONF_SECRET && read_secret)};
    struct hd_node *tree = NULL;
    int rc;

    hd_diag_init(&tmp);
    if (k->type == HD_CONF_SECRET && !read_secret) {
        char err[256];
        rc = hd_secret_check_ref(k->def, err, sizeof(err));
        if (rc < 0)
            hd_diag_addf(&tmp, NULL, 0, 0, "%s", err);
    } else if (k->type == HD_CONF_LIST || k->type == HD_CONF_MAP) {
        rc = hd_conf_parse_string(NULL, k->def, strlen(k->def), &tree, &tmp);
        if (rc == 0)
            rc = check_value(&c, k, tree, v);
    } else {
        struct hd_node syn = {.kind = HD_NODE_SCALAR, .scalar = (char *)k->def};
        rc = check_value(&c, k, &syn, v);
    }
    hd_node_free(tree);
    if (rc < 0 || tmp.n_errors) {
        for (size_t i = 0; tmp.text && i < tmp.len; i++) /* lines joined with "; " */
            if (tmp.text[i] == '\n')
                tmp.text[i] = i + 1 == tmp.len ? '\0' : ';';
        if (k->type == HD_CONF_SECRET && read_secret)
            hd_diag_add(d, NULL, "%s", tmp.text ? tmp.text : "");
        else
            hd_diag_add(d, NULL, "internal error: the built-in default of `%s` is invalid: %s",
                        k->name, tmp.text ? tmp.text : "");
        hd_diag_free(&tmp);
        value_clear(v);
        return -1;
    }
    hd_diag_free(&tmp);
    v->set = 1;
    return 0;
}

/* ---- the mapping ------------------------------------------------------------------------- */

static struct hd_conf_value *lookup(struct hd_conf_values *vals, const char *name)
{
    for (size_t i = 0; i < vals->n; i++)
        if (strcmp(vals->v[i].key->name, name) == 0)
            return &vals->v[i];
    return NULL;
}

static int in_list(const char *const *list, const char *s)
{
    for (; list && *list; list++)
        if (strcmp(*list, s) == 0)
            return 1;
    return 0;
}

static void unknown_key(struct hd_diag *d, const struct hd_node *m, size_t i,
                        const struct hd_conf_key *const *tables, size_t n_tables,
                        const char *const *ignore)
{
    struct suggest sug = {NULL, 0};
    char sh[SHOWN_SIZE];
    const char *key = m->keys[i];
    for (size_t t = 0; t < n_tables; t++)
        for (const struct hd_conf_key *k = tables[t]; k && k->name; k++)
            consider(&sug, key, k->name, strlen(k->name));
    for (const char *const *p = ignore; p && *p; p++)
        consider(&sug, key, *p, strlen(*p));
    if (sug.best)
        hd_diag_addf(d, m->file, m->key_lines[i], m->key_cols[i],
                     "unknown key `%s` (did you mean `%s`?)", shown(key, sh, sizeof(sh), 0),
                     sug.best);
    else
        hd_diag_addf(d, m->file, m->key_lines[i], m->key_cols[i], "unknown key `%s`",
                     shown(key, sh, sizeof(sh), 0));
}

int hd_conf_check(const struct hd_node *map, const struct hd_conf_key *const *tables,
                  size_t n_tables, const char *const *ignore, struct hd_conf_values *out,
                  struct hd_diag *d)
{
    const int before = d->n_errors;
    const struct hd_node *m = map, *at = map;
    struct check c = {d, 0};
    int wrong_kind = 0;
    size_t total = 0;

    memset(out, 0, sizeof(*out));
    for (size_t t = 0; t < n_tables; t++)
        for (const struct hd_conf_key *k = tables[t]; k && k->name; k++)
            total++;
    out->v = calloc(total ? total : 1, sizeof(*out->v));
    if (!out->v) {
        hd_diag_add(d, map, "out of memory");
        return d->n_errors - before;
    }
    for (size_t t = 0; t < n_tables; t++) {
        for (const struct hd_conf_key *k = tables[t]; k && k->name; k++) {
            if (lookup(out, k->name))
                continue; /* an earlier table has it */
            out->v[out->n++].key = k;
        }
    }

    if (m && m->kind == HD_NODE_SCALAR && m->null) {
        m = NULL; /* `section:` left empty */
    } else if (m && m->kind != HD_NODE_MAP) {
        hd_diag_add(d, m, "expected a mapping, got %s", what(m));
        m = NULL;
        wrong_kind = 1;
    }
    if (m) {
        for (size_t i = 0; i < m->n; i++) {
            if (is_duplicate(d, m, i, NULL) || in_list(ignore, m->keys[i]))
                continue;
            struct hd_conf_value *v = lookup(out, m->keys[i]);
            if (!v) {
                unknown_key(d, m, i, tables, n_tables, ignore);
                continue;
            }
            v->node = m->kids[i];
            if (check_value(&c, v->key, v->node, v) == 0)
                v->set = 1;
        }
    }
    for (size_t i = 0; i < out->n; i++) {
        struct hd_conf_value *v = &out->v[i];
        if (v->node)
            continue;
        if (v->key->def)
            apply_default(d, v->key, v, 1);
        else if (v->key->required && !wrong_kind)
            hd_diag_add(d, at, "missing required key `%s`", v->key->name);
    }
    return d->n_errors - before;
}

const struct hd_conf_value *hd_conf_find(const struct hd_conf_values *v, const char *name)
{
    if (!v || !name)
        return NULL;
    for (size_t i = 0; i < v->n; i++)
        if (strcmp(v->v[i].key->name, name) == 0)
            return &v->v[i];
    return NULL;
}

void hd_conf_values_free(struct hd_conf_values *v)
{
    if (!v)
        return;
    for (size_t i = 0; i < v->n; i++)
        value_clear(&v->v[i]);
    free(v->v);
    memset(v, 0, sizeof(*v));
}

/* ---- key tables -------------------------------------------------------------------------- */

int hd_conf_keys_validate(const struct hd_conf_key *keys, struct hd_diag *d)
{
    const int before = d->n_errors;
    if (!keys) {
        hd_diag_add(d, NULL, "key table: missing (NULL)");
        return 1;
    }
    for (const struct hd_conf_key *k = keys; k->name; k++) {
        const char *nm = k->name;
        int name_ok = nm[0] >= 'a' && nm[0] <= 'z';
        for (const char *p = nm; *p && name_ok; p++)
            name_ok = (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_';
        if (!name_ok) {
            char sh[SHOWN_SIZE];
            hd_diag_add(d, NULL, "key table: `%s`: names are [a-z][a-z0-9_]*",
                        shown(nm, sh, sizeof(sh), 0));
            continue;
        }
        for (const struct hd_conf_key *e = keys; e < k; e++)
            if (strcmp(e->name, nm) == 0)
                hd_diag_add(d, NULL, "key table: `%s`: declared twice", nm);
        if ((unsigned)k->type >= HD_CONF_TYPE_MAX) {
            hd_diag_add(d, NULL, "key table: `%s`: unknown type %d", nm, (int)k->type);
            continue;
        }
        if (!k->help || !k->help[0])
            hd_diag_add(d, NULL, "key table: `%s`: has no help text", nm);
        if (k->min > k->max)
            hd_diag_add(d, NULL, "key table: `%s`: min is above max", nm);
        if (k->type == HD_CONF_ENUM) {
            const char *ch = k->choices;
            if (!ch || !ch[0] || ch[0] == '|' || ch[strlen(ch) - 1] == '|' || strstr(ch, "||"))
                hd_diag_add(d, NULL, "key table: `%s`: an enum needs choices written \"a|b|c\"",
                            nm);
        } else if (k->choices) {
            hd_diag_add(d, NULL, "key table: `%s`: choices given for a key that is not an enum",
                        nm);
        }
        if (k->required && k->def)
            hd_diag_add(d, NULL, "key table: `%s`: is required and has a default", nm);
        if (k->def) {
            struct hd_conf_value v = {.key = k};
            apply_default(d, k, &v, 0);
            value_clear(&v);
        }
    }
    return d->n_errors - before;
}
