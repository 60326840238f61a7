/*
 * The YAML half of configuration loading: libyaml's event parser turned into a tree of struct
 * hd_node in which every node knows its file:line:col, plus the diagnostics buffer every
 * configuration error goes through (`heraldd --check-config` prints it). What YAML allows but a
 * configuration must not use -- anchors, aliases, custom tags, several documents, non-scalar
 * keys, NUL characters -- is refused here, each with its position. conf_check.c then holds the
 * tree against key tables; config.c builds the daemon's configuration on top of both.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <unistd.h>

#include <yaml.h>

#include "common.h"
#include "conf.h"

#define CONF_MAX_FILE   (16 * 1024 * 1024)
#define YAML_TAG_PREFIX "tag:yaml.org,2002:"

/* ---- diagnostics ------------------------------------------------------------------------- */

void hd_diag_init(struct hd_diag *d)
{
    memset(d, 0, sizeof(*d));
}

void hd_diag_free(struct hd_diag *d)
{
    if (!d)
        return;
    free(d->text);
    memset(d, 0, sizeof(*d));
}

static void diag_append(struct hd_diag *d, const char *s, size_t n)
{
    if (d->len + n + 1 > d->cap) {
        size_t cap = d->cap ? d->cap : 256;
        while (cap < d->len + n + 1)
            cap *= 2;
        char *p = realloc(d->text, cap);
        if (!p)
            return; /* the count still tells the caller something is wrong */
        d->text = p;
        d->cap = cap;
    }
    memcpy(d->text + d->len, s, n);
    d->len += n;
    d->text[d->len] = '\0';
}

static void diag_line(struct hd_diag *d, const char *file, int line, int col, const char *msg)
{
    char prefix[512];
    int n = 0;

    d->n_errors++;
    if (d->n_errors > HD_DIAG_MAX_LINES + 1)
        return;
    if (d->n_errors == HD_DIAG_MAX_LINES + 1) { /* the last line: where, but no position */
        msg = "too many errors; the rest are not shown";
        line = 0;
    }
    if (file && line > 0 && col > 0)
        n = snprintf(prefix, sizeof(prefix), "%s:%d:%d: ", file, line, col);
    else if (file && line > 0)
        n = snprintf(prefix, sizeof(prefix), "%s:%d: ", file, line);
    else if (file)
        n = snprintf(prefix, sizeof(prefix), "%s: ", file);
    else
        prefix[0] = '\0';
    if (n < 0)
        n = 0;
    if ((size_t)n >= sizeof(prefix))
        n = sizeof(prefix) - 1;
    diag_append(d, prefix, (size_t)n);
    size_t start = d->len;
    diag_append(d, msg, strlen(msg));
    for (size_t i = start; i < d->len; i++) /* one line per error, whatever the message holds */
        if (d->text[i] == '\n' || d->text[i] == '\r')
            d->text[i] = ' ';
    diag_append(d, "\n", 1);
}

static void diag_vadd(struct hd_diag *d, const char *file, int line, int col, const char *fmt,
                      va_list ap)
{
    char *msg = NULL;
    if (vasprintf(&msg, fmt, ap) < 0)
        msg = NULL;
    diag_line(d, file, line, col, msg ? msg : "out of memory while reporting an error");
    free(msg);
}

void hd_diag_add(struct hd_diag *d, const struct hd_node *at, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (at)
        diag_vadd(d, at->file, at->line, at->col, fmt, ap);
    else
        diag_vadd(d, NULL, 0, 0, fmt, ap);
    va_end(ap);
}

void hd_diag_addf(struct hd_diag *d, const char *file, int line, int col, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    diag_vadd(d, file, line, col, fmt, ap);
    va_end(ap);
}

/* ---- nodes ------------------------------------------------------------------------------- */

void hd_node_free(struct hd_node *n)
{
    if (!n)
        return;
    for (size_t i = 0; i < n->n; i++) {
        hd_node_free(n->kids[i]);
        if (n->keys)
            free(n->keys[i]);
    }
    free(n->kids);
    free(n->keys);
    free(n->key_lines);
    free(n->key_cols);
    free(n->scalar);
    free(n->owned_file);
    free(n);
}

const struct hd_node *hd_node_get(const struct hd_node *map, const char *key)
{
    if (!map || map->kind != HD_NODE_MAP || !key)
        return NULL;
    for (size_t i = 0; i < map->n; i++)
        if (strcmp(map->keys[i], key) == 0)
            return map->kids[i];
    return NULL;
}

const char *hd_node_kind_name(enum hd_node_kind k)
{
    switch (k) {
    case HD_NODE_SCALAR:
        return "a string";
    case HD_NODE_SEQ:
        return "a list";
    case HD_NODE_MAP:
        return "a mapping";
    }
    return "something else";
}

/* ---- the event parser -------------------------------------------------------------------- */

struct frame {
    struct hd_node *node; /* owned until attached to its parent */
    size_t cap;           /* allocated slots in node's arrays */
    char *key;            /* MAP: the key read, waiting for its value (owned) */
    int key_line, key_col;
    int have_key;   /* MAP: the next node is the value of `key` */
    int drop_value; /* MAP: the key was refused: read its value and drop it */
};

struct yparse {
    char *file; /* owned until handed to the root */
    const char *text;
    size_t len;
    struct hd_diag *d;
    int errors; /* semantic errors so far: the tree is discarded at the end */
    int fatal;  /* stop reading */
    struct frame stack[HD_CONF_MAX_DEPTH];
    int depth;
    struct hd_node *root;
    int docs;
};

static void perr(struct yparse *p, yaml_mark_t m, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void perr(struct yparse *p, yaml_mark_t m, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    diag_vadd(p->d, p->file, (int)m.line + 1, (int)m.column + 1, fmt, ap);
    va_end(ap);
    p->errors++;
}

static void oom(struct yparse *p)
{
    hd_diag_addf(p->d, p->file, 0, 0, "out of memory while reading the configuration");
    p->errors++;
    p->fatal = 1;
}

static struct hd_node *node_new(struct yparse *p, enum hd_node_kind kind, yaml_mark_t m)
{
    struct hd_node *n = calloc(1, sizeof(*n));
    if (!n) {
        oom(p);
        return NULL;
    }
    n->kind = kind;
    n->file = p->file;
    n->line = (int)m.line + 1;
    n->col = (int)m.column + 1;
    return n;
}

/* How a tag reads: 0 none or another standard tag, 1 the node is a string (!!str, "!"),
 * 2 explicitly null, -1 refused. */
static int tag_kind(struct yparse *p, const yaml_char_t *tag, yaml_mark_t m)
{
    static const char *const standard[] = {"str", "int", "bool", "null", "float", "map", "seq"};
    const char *t = (const char *)tag;
    if (!t)
        return 0;
    if (strcmp(t, "!") == 0)
        return 1;
    if (strncmp(t, YAML_TAG_PREFIX, strlen(YAML_TAG_PREFIX)) == 0) {
        const char *rest = t + strlen(YAML_TAG_PREFIX);
        for (size_t i = 0; i < HD_ARRAY_LEN(standard); i++)
            if (strcmp(rest, standard[i]) == 0)
                return i == 0 ? 1 : i == 3 ? 2 : 0;
        perr(p, m,
             "the tag !!%.64s is not supported (only !!str, !!int, !!bool, !!null, "
             "!!float, !!map and !!seq are)",
             rest);
        return -1;
    }
    perr(p, m, "the tag %.64s is not supported: configuration files use plain YAML values", t);
    return -1;
}

static void check_anchor(struct yparse *p, const yaml_char_t *anchor, yaml_mark_t m)
{
    if (anchor)
        perr(p, m, "anchors (&%.64s) are not supported: write the value out in full",
             (const char *)anchor);
}

static int grow(struct frame *f)
{
    struct hd_node *n = f->node;
    if (n->n < f->cap)
        return 0;
    size_t cap = f->cap ? f->cap * 2 : 8;
    struct hd_node **kids = realloc(n->kids, cap * sizeof(*kids));
    if (!kids)
        return HD_ENOMEM;
    n->kids = kids;
    if (n->kind == HD_NODE_MAP) {
        char **keys = realloc(n->keys, cap * sizeof(*keys));
        if (!keys)
            return HD_ENOMEM;
        n->keys = keys;
        int *lines = realloc(n->key_lines, cap * sizeof(*lines));
        if (!lines)
            return HD_ENOMEM;
        n->key_lines = lines;
        int *cols = realloc(n->key_cols, cap * sizeof(*cols));
        if (!cols)
            return HD_ENOMEM;
        n->key_cols = cols;
    }
    f->cap = cap;
    return 0;
}

/* A complete node: becomes the root, a sequence item, a mapping key or a mapping value. Takes
 * ownership of `n` in every case. */
static void attach(struct yparse *p, struct hd_node *n)
{
    if (p->depth == 0) {
        if (p->root) /* cannot happen: a second document stops the parse */
            hd_node_free(p->root);
        p->root = n;
        return;
    }
    struct frame *f = &p->stack[p->depth - 1];
    if (f->node->kind == HD_NODE_SEQ) {
        if (grow(f) < 0) {
            hd_node_free(n);
            oom(p);
            return;
        }
        f->node->kids[f->node->n++] = n;
        return;
    }
    if (!f->have_key) {
        f->have_key = 1;
        if (n->kind != HD_NODE_SCALAR) {
            hd_diag_add(p->d, n, "mapping keys must be plain strings, not %s",
                        hd_node_kind_name(n->kind));
            p->errors++;
            f->drop_value = 1;
        } else if (n->scalar[0] == '\0') {
            hd_diag_add(p->d, n, "a mapping key is empty");
            p->errors++;
            f->drop_value = 1;
        } else {
            f->key = n->scalar;
            n->scalar = NULL;
            f->key_line = n->line;
            f->key_col = n->col;
        }
        hd_node_free(n);
        return;
    }
    f->have_key = 0;
    if (f->drop_value) {
        f->drop_value = 0;
        hd_node_free(n);
        return;
    }
    if (grow(f) < 0) {
        hd_node_free(n);
        oom(p);
        return;
    }
    struct hd_node *m = f->node;
    m->keys[m->n] = f->key;
    m->key_lines[m->n] = f->key_line;
    m->key_cols[m->n] = f->key_col;
    m->kids[m->n++] = n;
    f->key = NULL;
}

static int is_null_word(const char *s, size_t len)
{
    return len == 0 || (len == 1 && s[0] == '~') ||
           (len == 4 &&
            (memcmp(s, "null", 4) == 0 || memcmp(s, "Null", 4) == 0 || memcmp(s, "NULL", 4) == 0));
}

static void on_scalar(struct yparse *p, const yaml_event_t *ev)
{
    const char *v = (const char *)ev->data.scalar.value;
    size_t len = ev->data.scalar.length;
    check_anchor(p, ev->data.scalar.anchor, ev->start_mark);
    int tk = tag_kind(p, ev->data.scalar.tag, ev->start_mark);
    struct hd_node *n = node_new(p, HD_NODE_SCALAR, ev->start_mark);
    if (!n)
        return;
    if (memchr(v, '\0', len)) {
        perr(p, ev->start_mark, "strings must not contain NUL characters (\\0)");
        len = strlen(v);
    }
    n->scalar = hd_strndup(v, len);
    if (!n->scalar) {
        hd_node_free(n);
        oom(p);
        return;
    }
    n->quoted = ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE || tk == 1;
    n->null = tk == 2 || (!n->quoted && tk <= 0 && is_null_word(v, len));
    attach(p, n);
}

static void on_alias(struct yparse *p, const yaml_event_t *ev)
{
    perr(p, ev->start_mark, "aliases (*%.64s) are not supported: write the value out in full",
         (const char *)ev->data.alias.anchor);
    struct hd_node *n = node_new(p, HD_NODE_SCALAR, ev->start_mark);
    if (!n)
        return;
    n->scalar = strdup("");
    n->null = 1;
    if (!n->scalar) {
        hd_node_free(n);
        oom(p);
        return;
    }
    attach(p, n);
}

static void on_start(struct yparse *p, const yaml_event_t *ev, enum hd_node_kind kind)
{
    const yaml_char_t *anchor =
        kind == HD_NODE_MAP ? ev->data.mapping_start.anchor : ev->data.sequence_start.anchor;
    const yaml_char_t *tag =
        kind == HD_NODE_MAP ? ev->data.mapping_start.tag : ev->data.sequence_start.tag;
    check_anchor(p, anchor, ev->start_mark);
    tag_kind(p, tag, ev->start_mark);
    if (p->depth >= HD_CONF_MAX_DEPTH) {
        perr(p, ev->start_mark, "nesting is deeper than %d levels", HD_CONF_MAX_DEPTH);
        p->fatal = 1;
        return;
    }
    struct hd_node *n = node_new(p, kind, ev->start_mark);
    if (!n)
        return;
    struct frame *f = &p->stack[p->depth++];
    memset(f, 0, sizeof(*f));
    f->node = n;
}

static void on_end(struct yparse *p)
{
    if (p->depth == 0)
        return;
    struct frame *f = &p->stack[--p->depth];
    struct hd_node *n = f->node;
    free(f->key);
    memset(f, 0, sizeof(*f));
    attach(p, n);
}

/* Line and column (1-based, in characters) of a byte offset of the input. */
static void offset_position(const struct yparse *p, size_t off, int *line, int *col)
{
    *line = 1;
    *col = 1;
    for (size_t i = 0; i < off && i < p->len; i++) {
        unsigned char c = (unsigned char)p->text[i];
        if (c == '\n') {
            (*line)++;
            *col = 1;
        } else if ((c & 0xC0) != 0x80) {
            (*col)++;
        }
    }
}

static void syntax_error(struct yparse *p, const yaml_parser_t *yp)
{
    const char *problem = yp->problem ? yp->problem : "unknown error";
    p->errors++;
    if (yp->error == YAML_MEMORY_ERROR) {
        hd_diag_addf(p->d, p->file, 0, 0, "out of memory while reading the configuration");
    } else if (yp->error == YAML_READER_ERROR) {
        int line, col;
        offset_position(p, yp->problem_offset, &line, &col);
        if (yp->problem_value != -1)
            hd_diag_addf(p->d, p->file, line, col, "invalid YAML input: %s (0x%x)", problem,
                         (unsigned)yp->problem_value);
        else
            hd_diag_addf(p->d, p->file, line, col, "invalid YAML input: %s", problem);
    } else if (yp->context) {
        hd_diag_addf(p->d, p->file, (int)yp->problem_mark.line + 1,
                     (int)yp->problem_mark.column + 1, "YAML syntax error: %s (%s at line %d)",
                     problem, yp->context, (int)yp->context_mark.line + 1);
    } else {
        hd_diag_addf(p->d, p->file, (int)yp->problem_mark.line + 1,
                     (int)yp->problem_mark.column + 1, "YAML syntax error: %s", problem);
    }
}

int hd_conf_parse_string(const char *name, const char *text, size_t len, struct hd_node **root,
                         struct hd_diag *d)
{
    struct yparse p;
    yaml_parser_t yp;
    int done = 0;

    *root = NULL;
    if (!text)
        text = "";
    memset(&p, 0, sizeof(p));
    p.d = d;
    p.text = text;
    p.len = len;
    p.file = name ? strdup(name) : NULL;
    if ((name && !p.file) || !yaml_parser_initialize(&yp)) {
        free(p.file);
        hd_diag_addf(d, name, 0, 0, "out of memory while reading the configuration");
        return HD_ENOMEM;
    }
    yaml_parser_set_input_string(&yp, (const unsigned char *)text, len);
    yaml_parser_set_encoding(&yp, YAML_UTF8_ENCODING);

    while (!done && !p.fatal) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&yp, &ev)) {
            syntax_error(&p, &yp);
            break;
        }
        switch (ev.type) {
        case YAML_DOCUMENT_START_EVENT:
            if (++p.docs > 1) {
                perr(&p, ev.start_mark,
                     "only one YAML document is allowed in a configuration "
                     "file; a second one starts here");
                done = 1;
            }
            break;
        case YAML_STREAM_END_EVENT:
            done = 1;
            break;
        case YAML_ALIAS_EVENT:
            on_alias(&p, &ev);
            break;
        case YAML_SCALAR_EVENT:
            on_scalar(&p, &ev);
            break;
        case YAML_MAPPING_START_EVENT:
            on_start(&p, &ev, HD_NODE_MAP);
            break;
        case YAML_SEQUENCE_START_EVENT:
            on_start(&p, &ev, HD_NODE_SEQ);
            break;
        case YAML_MAPPING_END_EVENT:
        case YAML_SEQUENCE_END_EVENT:
            on_end(&p);
            break;
        default:
            break;
        }
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&yp);

    while (p.depth > 0) { /* stopped inside a collection: free what is open */
        struct frame *f = &p.stack[--p.depth];
        free(f->key);
        hd_node_free(f->node);
    }
    if (p.errors) {
        hd_node_free(p.root);
        free(p.file);
        return HD_EINVAL;
    }
    if (!p.root || (p.root->kind == HD_NODE_SCALAR && p.root->null)) {
        /* empty file or a lone null document: an empty mapping */
        int line = p.root ? p.root->line : 1, col = p.root ? p.root->col : 1;
        hd_node_free(p.root);
        p.root = calloc(1, sizeof(*p.root));
        if (!p.root) {
            free(p.file);
            hd_diag_addf(d, name, 0, 0, "out of memory while reading the configuration");
            return HD_ENOMEM;
        }
        p.root->kind = HD_NODE_MAP;
        p.root->file = p.file;
        p.root->line = line;
        p.root->col = col;
    }
    p.root->owned_file = p.file;
    *root = p.root;
    return 0;
}

int hd_conf_parse_file(const char *path, struct hd_node **root, struct hd_diag *d)
{
    struct stat st;
    char *buf = NULL;
    size_t len = 0, cap;
    int rc = HD_EINVAL;

    *root = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        hd_diag_addf(d, path, 0, 0, "cannot open the configuration file: %s", strerror(errno));
        return HD_EIO;
    }
    if (fstat(fd, &st) < 0) {
        hd_diag_addf(d, path, 0, 0, "cannot read the configuration file: %s", strerror(errno));
        rc = HD_EIO;
        goto fail;
    }
    if (!S_ISREG(st.st_mode)) {
        hd_diag_addf(d, path, 0, 0, "the configuration must be a regular file");
        goto fail;
    }
    if (st.st_size > CONF_MAX_FILE) {
        hd_diag_addf(d, path, 0, 0, "the configuration file is larger than %d MiB",
                     CONF_MAX_FILE / (1024 * 1024));
        goto fail;
    }
    cap = (size_t)st.st_size + 1;
    buf = malloc(cap);
    if (!buf) {
        hd_diag_addf(d, path, 0, 0, "out of memory while reading the configuration");
        rc = HD_ENOMEM;
        goto fail;
    }
    for (;;) { /* read to EOF: the file may have changed size since fstat */
        if (len == cap) {
            if (cap > CONF_MAX_FILE) {
                hd_diag_addf(d, path, 0, 0, "the configuration file is larger than %d MiB",
                             CONF_MAX_FILE / (1024 * 1024));
                goto fail;
            }
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                hd_diag_addf(d, path, 0, 0, "out of memory while reading the configuration");
                rc = HD_ENOMEM;
                goto fail;
            }
            buf = nb;
            cap *= 2;
        }
        ssize_t r = read(fd, buf + len, cap - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            hd_diag_addf(d, path, 0, 0, "cannot read the configuration file: %s", strerror(errno));
            rc = HD_EIO;
            goto fail;
        }
        if (r == 0)
            break;
        len += (size_t)r;
    }
    close(fd);
    rc = hd_conf_parse_string(path, buf, len, root, d);
    free(buf);
    return rc;

fail:
    free(buf);
    close(fd);
    return rc;
}
