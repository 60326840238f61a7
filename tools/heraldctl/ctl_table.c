/*
 * heraldctl's tables: columns aligned by display width, so Chinese titles and unit names line up
 * with ASCII ones (a CJK or fullwidth character takes two terminal columns, a combining mark
 * none); one flexible column (a title, a reason) is cut with "…" to fit the terminal. Text from
 * the server never reaches the terminal raw: control characters print as '?'.
 */
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

/* Decode one UTF-8 character at s; *n = its length (1 for an invalid byte, cp = -1). */
static long decode(const unsigned char *s, int *n)
{
    unsigned c = s[0];
    int len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (!len) {
        *n = 1;
        return -1;
    }
    long cp = len == 1 ? c : len == 2 ? (c & 0x1f) : len == 3 ? (c & 0x0f) : (c & 0x07);
    for (int i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80) {
            *n = 1;
            return -1;
        }
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    *n = len;
    return cp;
}

struct range {
    long lo, hi;
};

static int in(long cp, const struct range *r, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (cp >= r[i].lo && cp <= r[i].hi)
            return 1;
    return 0;
}

/* East Asian Wide and Fullwidth (Unicode 15, the blocks that occur in practice), and the
 * zero-width ones; ambiguous characters (“”, ·) count 1, as most terminals show them. */
static const struct range wide[] = {
    {0x1100, 0x115f},   {0x231a, 0x231b},   {0x2329, 0x232a},   {0x23e9, 0x23ec},
    {0x23f0, 0x23f0},   {0x23f3, 0x23f3},   {0x25fd, 0x25fe},   {0x2614, 0x2615},
    {0x2648, 0x2653},   {0x267f, 0x267f},   {0x2693, 0x2693},   {0x26a1, 0x26a1},
    {0x26aa, 0x26ab},   {0x26bd, 0x26be},   {0x26c4, 0x26c5},   {0x26ce, 0x26ce},
    {0x26d4, 0x26d4},   {0x26ea, 0x26ea},   {0x26f2, 0x26f3},   {0x26f5, 0x26f5},
    {0x26fa, 0x26fa},   {0x26fd, 0x26fd},   {0x2705, 0x2705},   {0x270a, 0x270b},
    {0x2728, 0x2728},   {0x274c, 0x274c},   {0x274e, 0x274e},   {0x2753, 0x2755},
    {0x2757, 0x2757},   {0x2795, 0x2797},   {0x27b0, 0x27b0},   {0x27bf, 0x27bf},
    {0x2b1b, 0x2b1c},   {0x2b50, 0x2b50},   {0x2b55, 0x2b55},   {0x2e80, 0x303e},
    {0x3041, 0x33ff},   {0x3400, 0x4dbf},   {0x4e00, 0x9fff},   {0xa000, 0xa4cf},
    {0xa960, 0xa97f},   {0xac00, 0xd7a3},   {0xf900, 0xfaff},   {0xfe10, 0xfe19},
    {0xfe30, 0xfe6f},   {0xff00, 0xff60},   {0xffe0, 0xffe6},   {0x16fe0, 0x16fe4},
    {0x17000, 0x18cff}, {0x1b000, 0x1b2ff}, {0x1f004, 0x1f004}, {0x1f0cf, 0x1f0cf},
    {0x1f18e, 0x1f18e}, {0x1f191, 0x1f19a}, {0x1f200, 0x1f251}, {0x1f300, 0x1f64f},
    {0x1f680, 0x1f6ff}, {0x1f7e0, 0x1f7eb}, {0x1f90c, 0x1f9ff}, {0x1fa70, 0x1faff},
    {0x20000, 0x2fffd}, {0x30000, 0x3fffd},
};

static const struct range zero[] = {
    {0x0300, 0x036f}, {0x0483, 0x0489},   {0x0591, 0x05bd}, {0x0610, 0x061a}, {0x064b, 0x065f},
    {0x1ab0, 0x1aff}, {0x1dc0, 0x1dff},   {0x200b, 0x200f}, {0x2028, 0x202e}, {0x2060, 0x2064},
    {0x20d0, 0x20ff}, {0x302a, 0x302d},   {0x3099, 0x309a}, {0xfe00, 0xfe0f}, {0xfe20, 0xfe2f},
    {0xfeff, 0xfeff}, {0xe0100, 0xe01ef},
};

static int cp_width(long cp)
{
    if (cp < 0 || cp < 0x20 || (cp >= 0x7f && cp < 0xa0))
        return 1; /* shown as '?' */
    if (cp < 0x300)
        return 1;
    if (in(cp, zero, sizeof(zero) / sizeof(zero[0])))
        return 0;
    return in(cp, wide, sizeof(wide) / sizeof(wide[0])) ? 2 : 1;
}

int ctl_width(const char *s)
{
    int w = 0, n;
    for (const unsigned char *p = (const unsigned char *)s; p && *p; p += n)
        w += cp_width(decode(p, &n));
    return w;
}

/* Print at most `cols` columns of s; returns the columns printed. */
static int put_upto(FILE *f, const char *s, int cols)
{
    int w = 0, n;
    for (const unsigned char *p = (const unsigned char *)s; p && *p; p += n) {
        long cp = decode(p, &n);
        int cw = cp_width(cp);
        if (w + cw > cols)
            break;
        if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0) || cp == 0x2028 || cp == 0x2029 ||
            (cp >= 0x202a && cp <= 0x202e))
            fputc('?', f); /* control characters and bidi overrides never reach the terminal */
        else
            fwrite(p, 1, (size_t)n, f);
        w += cw;
    }
    return w;
}

void ctl_put_text(FILE *f, const char *s)
{
    put_upto(f, s, 1 << 30);
}

void ctl_put_cell(FILE *f, const char *s, int cols, int right)
{
    int w = ctl_width(s ? s : "");
    if (w <= cols) {
        if (right)
            fprintf(f, "%*s", cols - w, "");
        put_upto(f, s ? s : "", cols);
        if (!right)
            fprintf(f, "%*s", cols - w, "");
        return;
    }
    int done = put_upto(f, s, cols - 1);
    fputs("…", f);
    fprintf(f, "%*s", cols - 1 - done, "");
}

/* ---- tables ---------------------------------------------------------------------------------- */

struct ctl_table {
    int ncols, flex;
    char **heads;
    int *right;
    char **cells; /* rows * ncols, owned */
    size_t rows, cap;
};

struct ctl_table *ctl_table_new(int ncols, const char *const *heads, int flex)
{
    struct ctl_table *t = calloc(1, sizeof(*t));
    t->ncols = ncols;
    t->flex = flex;
    t->heads = calloc((size_t)ncols, sizeof(char *));
    t->right = calloc((size_t)ncols, sizeof(int));
    for (int i = 0; i < ncols; i++)
        t->heads[i] = strdup(heads[i]);
    return t;
}

void ctl_table_right(struct ctl_table *t, int col)
{
    t->right[col] = 1;
}

void ctl_table_add(struct ctl_table *t, const char *const *cells)
{
    if (t->rows == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 32;
        t->cells = realloc(t->cells, t->cap * (size_t)t->ncols * sizeof(char *));
    }
    for (int i = 0; i < t->ncols; i++)
        t->cells[t->rows * (size_t)t->ncols + (size_t)i] = strdup(cells[i] ? cells[i] : "");
    t->rows++;
}

void ctl_table_print(struct ctl_table *t, FILE *f, int width)
{
    int *w = calloc((size_t)t->ncols, sizeof(int));
    for (int i = 0; i < t->ncols; i++)
        w[i] = ctl_width(t->heads[i]);
    for (size_t r = 0; r < t->rows; r++)
        for (int i = 0; i < t->ncols; i++) {
            int cw = ctl_width(t->cells[r * (size_t)t->ncols + (size_t)i]);
            if (cw > w[i])
                w[i] = cw;
        }
    if (width > 0 && t->flex >= 0) {
        int total = 0;
        for (int i = 0; i < t->ncols; i++)
            total += w[i] + (i ? 2 : 0);
        if (total > width) {
            int fw = w[t->flex] - (total - width);
            w[t->flex] = fw < 8 ? 8 : fw;
        }
    }
    for (int i = 0; i < t->ncols; i++) {
        if (i)
            fputs("  ", f);
        if (i == t->ncols - 1 && !t->right[i])
            ctl_put_text(f, t->heads[i]);
        else
            ctl_put_cell(f, t->heads[i], w[i], t->right[i]);
    }
    fputc('\n', f);
    for (size_t r = 0; r < t->rows; r++) {
        for (int i = 0; i < t->ncols; i++) {
            const char *s = t->cells[r * (size_t)t->ncols + (size_t)i];
            if (i)
                fputs("  ", f);
            /* the last column is not padded (no trailing blanks), but still cut to fit */
            if (i == t->ncols - 1 && !t->right[i] && ctl_width(s) <= w[i])
                ctl_put_text(f, s);
            else
                ctl_put_cell(f, s, w[i], t->right[i]);
        }
        fputc('\n', f);
    }
    free(w);
}

void ctl_table_free(struct ctl_table *t)
{
    if (!t)
        return;
    for (size_t k = 0; k < t->rows * (size_t)t->ncols; k++)
        free(t->cells[k]);
    for (int i = 0; i < t->ncols; i++)
        free(t->heads[i]);
    free(t->cells);
    free(t->heads);
    free(t->right);
    free(t);
}

/* ---- JSON fields ------------------------------------------------------------------------------
 */

const char *ctl_s(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

char *ctl_fmt(json_t *o, const char *key, char *buf, size_t len)
{
    json_t *v = json_object_get(o, key);
    if (json_is_integer(v))
        snprintf(buf, len, "%lld", (long long)json_integer_value(v));
    else if (json_is_real(v))
        snprintf(buf, len, "%.4g", json_real_value(v));
    else if (json_is_string(v))
        snprintf(buf, len, "%s", json_string_value(v));
    else if (json_is_true(v))
        snprintf(buf, len, "yes");
    else if (json_is_false(v))
        snprintf(buf, len, "no");
    else
        snprintf(buf, len, "-");
    return buf;
}

const char *ctl_time(json_t *o, const char *key, char *buf, size_t len)
{
    const char *s = json_string_value(json_object_get(o, key));
    if (!s || strlen(s) < 19)
        return "-";
    snprintf(buf, len, "%.10s %.8s", s, s + 11);
    return buf;
}

void ctl_print_json(json_t *v)
{
    char *s = json_dumps(v, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (s)
        printf("%s\n", s);
    free(s);
}
