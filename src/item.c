/*
 * herald.item/v1 intake validation: one Kafka message in, a validated struct hd_item_doc (and the
 * struct hd_item view adapters see) out, or a rejection with a reason code and a detail naming the
 * JSON pointer of the offending field (the dead-letter headers herald-error and herald-detail).
 *
 * The checks mirror schema/herald.item.v1.json rule for rule and run in a fixed order, so a
 * message always earns the same code: size, UTF-8, JSON syntax, top-level object, "schema", unknown
 * fields, then the fields in the order of the schema's properties, then the rules JSON Schema
 * cannot express (review times in order, approved_at not before the final review, expires_at after
 * not_before). tests/items/test_differential.py holds this file and the schema to one verdict.
 * Lengths are counted in Unicode code points, as JSON Schema counts them. RFC 3339 times are in
 * item_time.c; the grammars of constrained strings (ids, URLs, targets) are in item_lex.c.
 */
#include <math.h>
#include <stdarg.h>

#include "common.h"
#include "item.h"
#include "item_lex.h"

#define MAX_SAFE_INT 9007199254740991LL /* 2^53 - 1: integers every JSON reader keeps exact */
#define PATH_LEN     160

/* required: how an absent field is treated */
#define OPT     0
#define REQ     1 /* missing_field */
#define REQ_PUB 2 /* missing_field, when action is publish */

struct tval {
    const char *s; /* NULL when absent */
    int64_t sec;
    int32_t ns;
};

struct vctx {
    struct hd_item_error *err;
    struct hd_item_doc *doc;
    int publish;
};

static const char *const categories[] = {"normative_document",
                                         "policy_document",
                                         "policy_interpretation",
                                         "press_conference",
                                         "gazette",
                                         "notice",
                                         "work_news",
                                         "personnel",
                                         "consultation",
                                         "emergency",
                                         NULL};
static const char *const actions[] = {"publish", "retract", NULL};
static const char *const priorities[] = {"normal", "urgent", NULL};
static const char *const kinds[] = {"district", "department", "street", NULL};
static const char *const relation_types[] = {"interprets", "supersedes", "see_also", NULL};
static const char *const levels[] = {"initial", "recheck", "final", NULL};

/* Code points in a valid UTF-8 string. */
static size_t ncp(const char *s, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        k += ((unsigned char)s[i] & 0xC0) != 0x80;
    return k;
}

static int reject(struct vctx *c, const char *code, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int reject(struct vctx *c, const char *code, const char *path, const char *fmt, ...)
{
    char msg[320], full[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (*path)
        snprintf(full, sizeof full, "%s: %s", path, msg);
    else
        hd_strlcpy(full, msg, sizeof full);
    hd_strlcpy(c->err->code, code, sizeof c->err->code);
    hd_item_sanitize(c->err->detail, sizeof c->err->detail, full);
    return HD_EINVAL;
}

static int nomem(struct vctx *c)
{
    c->err->code[0] = '\0';
    hd_strlcpy(c->err->detail, "out of memory", sizeof c->err->detail);
    return HD_ENOMEM;
}

/* parent + "/" + key as a JSON pointer (RFC 6901: ~ is ~0, / is ~1); a long key is cut on a
 * character boundary and marked "...". */
static void ptr_key(char *out, size_t size, const char *parent, const char *key)
{
    size_t o = hd_strlcpy(out, parent, size - 8), start;
    const char *k = key;
    o = HD_MIN(o, size - 9);
    out[o++] = '/';
    start = o;
    for (; *k && o + 8 < size && k - key < 64; k++) {
        if (*k == '~' || *k == '/') {
            out[o++] = '~';
            out[o++] = *k == '~' ? '0' : '1';
        } else {
            out[o++] = *k;
        }
    }
    if (*k) {
        size_t lead = o;
        while (lead > start && ((unsigned char)out[lead - 1] & 0xC0) == 0x80)
            lead--;
        if (lead > start && (unsigned char)out[lead - 1] >= 0xC0) { /* last char: complete? */
            unsigned char b = (unsigned char)out[lead - 1];
            size_t want = b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : 2;
            if (o - (lead - 1) < want)
                o = lead - 1;
        }
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o] = '\0';
}

static const char *type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "an array";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
        return "an integer";
    case JSON_REAL:
        return "a number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "a boolean";
    default:
        return "null";
    }
}

/* ---- typed field access ---------------------------------------------------------------------- */

static int missing(struct vctx *c, const char *path, int required)
{
    return reject(c, HD_REJ_MISSING, path,
                  required == REQ_PUB ? "required when action is publish" : "required");
}

static int check_str(struct vctx *c, json_t *v, const char *path, size_t minc, size_t maxc,
                     enum hd_item_grammar g, const char **out)
{
    const char *s, *why;
    size_t n, len;
    if (!json_is_string(v))
        return reject(c, HD_REJ_TYPE, path, "expected a string, got %s", type_name(v));
    s = json_string_value(v);
    n = json_string_length(v);
    len = ncp(s, n);
    if (len < minc)
        return reject(c, HD_REJ_VALUE, path, minc == 1 ? "empty" : "shorter than %zu characters",
                      minc);
    if (maxc && len > maxc)
        return reject(c, HD_REJ_VALUE, path, "longer than %zu characters", maxc);
    if ((why = hd_item_grammar_check(g, s, n)) != NULL)
        return reject(c, HD_REJ_VALUE, path, "%s", why);
    *out = s;
    return 0;
}

/* The member `name` of obj; *path gets its pointer. NULL when absent. */
static json_t *member(json_t *obj, const char *parent, const char *name, char path[PATH_LEN])
{
    if (snprintf(path, PATH_LEN, "%s/%s", parent, name) >= PATH_LEN)
        path[PATH_LEN - 1] = '\0'; /* a path this deep is cut; it only names the field */
    return json_object_get(obj, name);
}

static int str_field(struct vctx *c, json_t *obj, const char *parent, const char *name,
                     int required, size_t minc, size_t maxc, enum hd_item_grammar g,
                     const char **out)
{
    char path[PATH_LEN];
    json_t *v = member(obj, parent, name, path);
    *out = NULL;
    if (!v)
        return required && (required != REQ_PUB || c->publish) ? missing(c, path, required) : 0;
    return check_str(c, v, path, minc, maxc, g, out);
}

static int check_enum(struct vctx *c, json_t *v, const char *path, const char *const *choices,
                      const char **out)
{
    char list[200] = "";
    if (!json_is_string(v))
        return reject(c, HD_REJ_TYPE, path, "expected a string, got %s", type_name(v));
    for (const char *const *k = choices; *k; k++) {
        if (!strcmp(json_string_value(v), *k)) {
            *out = *k;
            return 0;
        }
        snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", k == choices ? "" : ", ",
                 *k);
    }
    return reject(c, HD_REJ_VALUE, path, "must be one of %s", list);
}

static int enum_field(struct vctx *c, json_t *obj, const char *parent, const char *name,
                      int required, const char *const *choices, const char **out)
{
    char path[PATH_LEN];
    json_t *v = member(obj, parent, name, path);
    *out = NULL;
    if (!v)
        return required && (required != REQ_PUB || c->publish) ? missing(c, path, required) : 0;
    return check_enum(c, v, path, choices, out);
}

/* An integer in [min, max]. A number with a zero fraction (3.0, 3e0) is an integer, as JSON Schema
 * says. *out is left alone when the field is absent. */
static int int_field(struct vctx *c, json_t *obj, const char *parent, const char *name,
                     int required, int64_t min, int64_t max, int64_t *out)
{
    char path[PATH_LEN];
    json_t *v = member(obj, parent, name, path);
    int64_t i;
    if (!v)
        return required ? missing(c, path, required) : 0;
    if (json_is_integer(v)) {
        i = json_integer_value(v);
    } else if (json_is_real(v) && json_real_value(v) == floor(json_real_value(v))) {
        double d = json_real_value(v);
        if (d < (double)min || d > (double)max)
            return reject(c, HD_REJ_VALUE, path, "out of range %lld..%lld", (long long)min,
                          (long long)max);
        i = (int64_t)d;
    } else {
        return reject(c, HD_REJ_TYPE, path, "expected an integer, got %s", type_name(v));
    }
    if (i < min || i > max)
        return reject(c, HD_REJ_VALUE, path, "out of range %lld..%lld", (long long)min,
                      (long long)max);
    *out = i;
    return 0;
}

static int check_time(struct vctx *c, json_t *v, const char *path, struct tval *t)
{
    const char *why = NULL;
    if (!json_is_string(v))
        return reject(c, HD_REJ_TYPE, path, "expected an RFC 3339 date-time string, got %s",
                      type_name(v));
    if (hd_time_parse_ns(json_string_value(v), json_string_length(v), &t->sec, &t->ns, &why))
        return reject(c, HD_REJ_VALUE, path, "%s", why);
    t->s = json_string_value(v);
    return 0;
}

static int time_field(struct vctx *c, json_t *obj, const char *parent, const char *name,
                      int required, struct tval *t)
{
    char path[PATH_LEN];
    json_t *v = member(obj, parent, name, path);
    memset(t, 0, sizeof *t);
    if (!v)
        return required ? missing(c, path, required) : 0;
    return check_time(c, v, path, t);
}

static int tval_cmp(const struct tval *a, const struct tval *b)
{
    if (a->sec != b->sec)
        return a->sec < b->sec ? -1 : 1;
    return a->ns < b->ns ? -1 : a->ns > b->ns;
}

static int64_t tval_ms(const struct tval *t)
{
    return t->s ? t->sec * 1000 + t->ns / 1000000 : 0;
}

/* obj must be an object whose keys are all in names (NULL-terminated). */
static int check_object(struct vctx *c, json_t *v, const char *path, const char *const *names)
{
    const char *key;
    json_t *val;
    if (!json_is_object(v))
        return reject(c, HD_REJ_TYPE, *path ? path : "/", "expected an object, got %s",
                      type_name(v));
    json_object_foreach (v, key, val) {
        const char *const *k = names;
        while (*k && strcmp(*k, key))
            k++;
        if (!*k) {
            char p[PATH_LEN];
            ptr_key(p, sizeof p, path, key);
            return reject(c, HD_REJ_UNKNOWN_FIELD, p, "not a herald.item/v1 field here");
        }
    }
    return 0;
}

static int check_array(struct vctx *c, json_t *v, const char *path, size_t min_items,
                       size_t max_items)
{
    if (!json_is_array(v))
        return reject(c, HD_REJ_TYPE, path, "expected an array, got %s", type_name(v));
    if (json_array_size(v) < min_items)
        return reject(c, HD_REJ_VALUE, path, "empty (leave the field out instead)");
    if (json_array_size(v) > max_items)
        return reject(c, HD_REJ_VALUE, path, "more than %zu entries", max_items);
    return 0;
}

static int strp_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* An array of distinct strings of one grammar; *out is an owned array of borrowed strings. */
static int str_array(struct vctx *c, json_t *obj, const char *parent, const char *name,
                     size_t max_items, size_t maxc, enum hd_item_grammar g, const char ***out,
                     size_t *n)
{
    char path[PATH_LEN], ip[PATH_LEN + 24];
    json_t *v = member(obj, parent, name, path), *e;
    const char **sorted = NULL;
    size_t i;
    int rc;
    if (!v)
        return 0;
    if ((rc = check_array(c, v, path, 1, max_items)))
        return rc;
    *n = json_array_size(v);
    *out = calloc(*n, sizeof **out);
    sorted = calloc(*n, sizeof *sorted);
    if (!*out || !sorted) {
        free(sorted);
        return nomem(c);
    }
    json_array_foreach (v, i, e) {
        snprintf(ip, sizeof ip, "%s/%zu", path, i);
        if ((rc = check_str(c, e, ip, 1, maxc, g, &(*out)[i]))) {
            free(sorted);
            return rc;
        }
        sorted[i] = (*out)[i];
    }
    qsort(sorted, *n, sizeof *sorted, strp_cmp);
    for (i = 1; i < *n && strcmp(sorted[i - 1], sorted[i]); i++)
        ;
    free(sorted);
    if (i < *n) { /* a duplicate: name the later of the first pair, in document order */
        for (size_t k = 1; k < *n; k++)
            for (size_t j = 0; j < k; j++)
                if (!strcmp((*out)[j], (*out)[k]))
                    return reject(c, HD_REJ_VALUE, path, "entries %zu and %zu are the same", j, k);
    }
    return 0;
}

/* ---- the parts of an item -------------------------------------------------------------------- */

static int check_assets(struct vctx *c, json_t *root, const char *name, int image,
                        struct hd_asset **out, size_t *n)
{
    static const char *const image_keys[] = {"url",        "sha256",  "size",
                                             "media_type", "caption", NULL};
    static const char *const att_keys[] = {"url", "sha256", "size", "media_type", "name", NULL};
    char path[PATH_LEN], ep[PATH_LEN + 24];
    json_t *v = member(root, "", name, path), *e;
    size_t i;
    int rc;
    if (!v)
        return 0;
    if ((rc = check_array(c, v, path, 0, 50)))
        return rc;
    *n = json_array_size(v);
    if (*n && !(*out = calloc(*n, sizeof **out)))
        return nomem(c);
    json_array_foreach (v, i, e) {
        struct hd_asset *a = &(*out)[i];
        snprintf(ep, sizeof ep, "%s/%zu", path, i);
        a->size = -1;
        if ((rc = check_object(c, e, ep, image ? image_keys : att_keys)) ||
            (rc = str_field(c, e, ep, "url", REQ, 1, 2048, HD_G_URL, &a->url)) ||
            (rc = str_field(c, e, ep, "sha256", OPT, 0, 0, HD_G_SHA256, &a->sha256)) ||
            (rc = int_field(c, e, ep, "size", OPT, 0, MAX_SAFE_INT, &a->size)) ||
            (rc = str_field(c, e, ep, "media_type", REQ, 0, 0,
                            image ? HD_G_IMAGE_MEDIA : HD_G_MEDIA, &a->media_type)) ||
            (rc =
                 str_field(c, e, ep, image ? "caption" : "name", OPT, 1, 200, HD_G_LINE, &a->name)))
            return rc;
    }
    return 0;
}

static int check_related(struct vctx *c, json_t *root)
{
    static const char *const keys[] = {"type", "id", NULL};
    char path[PATH_LEN], ep[PATH_LEN + 24];
    json_t *v = member(root, "", "related", path), *e;
    const char *type[20], *id[20];
    size_t i;
    int rc;
    if (!v)
        return 0;
    if ((rc = check_array(c, v, path, 0, HD_ARRAY_LEN(type))))
        return rc;
    json_array_foreach (v, i, e) {
        snprintf(ep, sizeof ep, "%s/%zu", path, i);
        if ((rc = check_object(c, e, ep, keys)) ||
            (rc = enum_field(c, e, ep, "type", REQ, relation_types, &type[i])) ||
            (rc = str_field(c, e, ep, "id", REQ, 1, 128, HD_G_ID, &id[i])))
            return rc;
    }
    for (i = 0; i < json_array_size(v); i++) {
        for (size_t j = 0; j < i; j++) {
            snprintf(ep, sizeof ep, "%s/%zu", path, i);
            if (!strcmp(type[i], type[j]) && !strcmp(id[i], id[j]))
                return reject(c, HD_REJ_VALUE, ep, "same relation as entry %zu", j);
            if (!strcmp(type[i], "interprets") && !strcmp(type[j], "interprets"))
                return reject(c, HD_REJ_VALUE, ep,
                              "a second \"interprets\" (an item interprets "
                              "at most one document)");
        }
        if (!strcmp(type[i], "interprets"))
            c->doc->view.interprets = id[i];
    }
    return 0;
}

static int check_targets(struct vctx *c, json_t *root)
{
    static const char *const keys[] = {"channels", "streets", "boards", NULL};
    struct hd_item_doc *d = c->doc;
    char path[PATH_LEN];
    json_t *v = member(root, "", "targets", path);
    int rc;
    if (!v)
        return 0;
    if ((rc = check_object(c, v, path, keys)) ||
        (rc = str_array(c, v, path, "channels", 64, 0, HD_G_CHANNEL, &d->target_channels,
                        &d->n_target_channels)) ||
        (rc = str_array(c, v, path, "streets", 1000, 0, HD_G_STREET, &d->target_streets,
                        &d->n_target_streets)) ||
        (rc = str_array(c, v, path, "boards", 1000, 0, HD_G_BOARD, &d->target_boards,
                        &d->n_target_boards)))
        return rc;
    return 0;
}

static int check_publisher(struct vctx *c, json_t *root)
{
    static const char *const keys[] = {"code", "name", "kind", NULL};
    struct hd_item_doc *d = c->doc;
    char path[PATH_LEN];
    json_t *v = member(root, "", "publisher", path);
    int rc;
    if (!v)
        return c->publish ? missing(c, path, REQ_PUB) : 0;
    if ((rc = check_object(c, v, path, keys)) ||
        (rc = str_field(c, v, path, "code", REQ, 0, 0, HD_G_PUBCODE, &d->view.publisher_code)) ||
        (rc = str_field(c, v, path, "name", REQ, 1, 100, HD_G_LINE, &d->view.publisher_name)) ||
        (rc = enum_field(c, v, path, "kind", REQ, kinds, &d->publisher_kind)))
        return rc;
    return 0;
}

/* The three-level review trail (初审 → 复核 → 审定). Its times' order is checked at the end, with
 * the other rules JSON Schema cannot express. */
static int check_review(struct vctx *c, json_t *root, struct tval t[3])
{
    static const char *const keys[] = {"level", "reviewer", "at", "opinion", NULL};
    char path[PATH_LEN], ep[PATH_LEN + 24], fp[PATH_LEN];
    json_t *v = member(root, "", "review", path), *e, *f;
    const char *opinion;
    int rc;
    if (!v)
        return reject(c, HD_REJ_REVIEW, path,
                      "required: the initial, recheck and final review steps");
    if (!json_is_array(v))
        return reject(c, HD_REJ_TYPE, path, "expected an array, got %s", type_name(v));
    if (json_array_size(v) != 3)
        return reject(c, HD_REJ_REVIEW, path,
                      "%zu steps; exactly 3 are required: initial, recheck, final",
                      json_array_size(v));
    for (size_t i = 0; i < 3; i++) {
        struct hd_review_step *st = &c->doc->review[i];
        e = json_array_get(v, i);
        snprintf(ep, sizeof ep, "%s/%zu", path, i);
        if ((rc = check_object(c, e, ep, keys)))
            return rc;
        if (!(f = member(e, ep, "level", fp)))
            return reject(c, HD_REJ_REVIEW, fp, "required");
        if ((rc = check_enum(c, f, fp, levels, &st->level))) {
            if (strcmp(c->err->code, HD_REJ_VALUE))
                return rc;
            return reject(c, HD_REJ_REVIEW, fp, "unknown level; expected \"%s\"", levels[i]);
        }
        if (strcmp(st->level, levels[i]))
            return reject(c, HD_REJ_REVIEW, fp,
                          "\"%s\" where \"%s\" belongs (order: initial, recheck, final)", st->level,
                          levels[i]);
        if (!(f = member(e, ep, "reviewer", fp)))
            return reject(c, HD_REJ_REVIEW, fp, "required");
        if (json_is_string(f) && json_string_length(f) == 0)
            return reject(c, HD_REJ_REVIEW, fp, "empty");
        if ((rc = check_str(c, f, fp, 1, 64, HD_G_LINE, &st->reviewer)))
            return rc;
        if (!(f = member(e, ep, "at", fp)))
            return reject(c, HD_REJ_REVIEW, fp, "required");
        if ((rc = check_time(c, f, fp, &t[i])))
            return rc;
        st->at = t[i].s;
        st->at_ms = tval_ms(&t[i]);
        if ((rc = str_field(c, e, ep, "opinion", OPT, 0, 2000, HD_G_ANY, &opinion)))
            return rc;
    }
    return 0;
}

static int check_item(struct vctx *c, json_t *root, const void *key, size_t key_len)
{
    static const char *const keys[] = {
        "schema",    "id",         "version",     "action", "approved_at", "review",
        "publisher", "column",     "category",    "title",  "summary",     "body_html",
        "body_text", "doc_number", "issued_date", "images", "attachments", "related",
        "targets",   "schedule",   "priority",    "reason", NULL};
    static const char *const sched_keys[] = {"not_before", "expires_at", NULL};
    struct hd_item_doc *d = c->doc;
    struct hd_item *it = &d->view;
    struct tval approved, review[3], nb = {0}, exp = {0};
    char path[PATH_LEN];
    json_t *v;
    int rc;

    if (!(v = member(root, "", "schema", path)))
        return missing(c, path, REQ);
    if (!json_is_string(v) || strcmp(json_string_value(v), "herald.item/v1"))
        return reject(c, HD_REJ_SCHEMA, path, "expected \"herald.item/v1\"");
    if ((rc = check_object(c, root, "", keys)) ||
        (rc = str_field(c, root, "", "id", REQ, 1, 128, HD_G_ID, &it->id)))
        return rc;
    if (key && (key_len != strlen(it->id) || memcmp(key, it->id, key_len)))
        return reject(c, HD_REJ_KEY_MISMATCH, "/id", "differs from the Kafka message key");
    if ((rc = int_field(c, root, "", "version", REQ, 1, MAX_SAFE_INT, &it->version)) ||
        (rc = enum_field(c, root, "", "action", REQ, actions, &it->action)))
        return rc;
    c->publish = !strcmp(it->action, "publish");
    if ((rc = time_field(c, root, "", "approved_at", REQ, &approved)) ||
        (rc = check_review(c, root, review)) || (rc = check_publisher(c, root)) ||
        (rc = str_field(c, root, "", "column", REQ_PUB, 1, 200, HD_G_COLUMN, &it->column)) ||
        (rc = enum_field(c, root, "", "category", REQ_PUB, categories, &it->category)) ||
        (rc = str_field(c, root, "", "title", REQ_PUB, 1, 200, HD_G_LINE, &it->title)) ||
        (rc = str_field(c, root, "", "summary", OPT, 0, 1000, HD_G_ANY, &it->summary)) ||
        (rc = str_field(c, root, "", "body_html", REQ_PUB, 1, 0, HD_G_ANY, &it->body_html)) ||
        (rc = str_field(c, root, "", "body_text", OPT, 0, 0, HD_G_ANY, &it->body_text)) ||
        (rc = str_field(c, root, "", "doc_number", OPT, 1, 100, HD_G_LINE, &it->doc_number)) ||
        (rc = str_field(c, root, "", "issued_date", OPT, 0, 0, HD_G_DATE, &d->issued_date)) ||
        (rc = check_assets(c, root, "images", 1, &d->images, &it->n_images)) ||
        (rc = check_assets(c, root, "attachments", 0, &d->attachments, &it->n_attachments)) ||
        (rc = check_related(c, root)) || (rc = check_targets(c, root)))
        return rc;
    if ((v = member(root, "", "schedule", path)) &&
        ((rc = check_object(c, v, path, sched_keys)) ||
         (rc = time_field(c, v, path, "not_before", OPT, &nb)) ||
         (rc = time_field(c, v, path, "expires_at", OPT, &exp))))
        return rc;
    if ((rc = enum_field(c, root, "", "priority", OPT, priorities, &d->priority)) ||
        (rc = str_field(c, root, "", "reason", OPT, 0, 1000, HD_G_ANY, &d->reason)))
        return rc;

    /* What JSON Schema cannot say (docs/item-schema.md, "Rules beyond the schema"). */
    for (int i = 1; i < 3; i++) {
        if (tval_cmp(&review[i], &review[i - 1]) < 0) {
            snprintf(path, sizeof path, "/review/%d/at", i);
            return reject(c, HD_REJ_REVIEW, path, "earlier than the %s review (/review/%d/at)",
                          levels[i - 1], i - 1);
        }
    }
    if (tval_cmp(&approved, &review[2]) < 0)
        return reject(c, HD_REJ_REVIEW, "/approved_at",
                      "earlier than the final review (/review/2/at)");
    if (nb.s && exp.s && tval_cmp(&exp, &nb) <= 0)
        return reject(c, HD_REJ_VALUE, "/schedule/expires_at", "not after /schedule/not_before");

    if (!d->priority)
        d->priority = "normal";
    if (c->publish && !it->summary)
        it->summary = "";
    it->approved_at = approved.s;
    it->approved_at_ms = tval_ms(&approved);
    it->not_before_ms = tval_ms(&nb);
    it->expires_at_ms = tval_ms(&exp);
    it->urgent = !strcmp(d->priority, "urgent");
    it->images = d->images;
    it->attachments = d->attachments;
    return 0;
}

/* ---- entry points ---------------------------------------------------------------------------- */

int hd_item_parse(const void *buf, size_t len, const void *key, size_t key_len, size_t max_len,
                  struct hd_item_doc **out, struct hd_item_error *err)
{
    struct hd_item_error scratch;
    struct vctx c = {.err = err ? err : &scratch};
    struct hd_item_doc *d = NULL;
    json_error_t jerr;
    const char *why = NULL;
    size_t bad;
    int rc;

    memset(c.err, 0, sizeof *c.err);
    *out = NULL;
    if (!buf)
        len = 0;
    if (max_len && len > max_len)
        return reject(&c, HD_REJ_OVERSIZE, "", "message is %zu bytes, the limit is %zu", len,
                      max_len);
    if ((bad = hd_item_utf8_scan(buf, len, &why)) != len)
        return reject(&c, HD_REJ_INVALID_UTF8, "", "byte %zu: %s", bad, why);
    if (!(d = calloc(1, sizeof *d)) || !(d->raw = malloc(len + 1))) {
        rc = nomem(&c);
        goto fail;
    }
    c.doc = d;
    if (len)
        memcpy(d->raw, buf, len);
    d->raw[len] = '\0';
    d->raw_len = len;
    d->view.struct_size = sizeof d->view;
    d->view.json = d->raw;
    d->view.json_len = len;
    d->root = json_loadb(d->raw, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
    if (!d->root) {
        if (json_error_code(&jerr) == json_error_out_of_memory)
            rc = nomem(&c);
        else
            rc = reject(&c, HD_REJ_INVALID_JSON, "", "line %d, column %d: %s", jerr.line,
                        jerr.column, jerr.text);
        goto fail;
    }
    if (!json_is_object(d->root)) {
        rc = reject(&c, HD_REJ_NOT_OBJECT, "", "the message is %s, not an object",
                    type_name(d->root));
        goto fail;
    }
    if ((rc = check_item(&c, d->root, key, key_len)))
        goto fail;
    *out = d;
    return 0;
fail:
    hd_item_destroy(d);
    return rc;
}

void hd_item_destroy(struct hd_item_doc *doc)
{
    if (!doc)
        return;
    json_decref(doc->root);
    free(doc->images);
    free(doc->attachments);
    free(doc->target_channels);
    free(doc->target_streets);
    free(doc->target_boards);
    free(doc->raw);
    free(doc);
}
