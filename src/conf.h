/*
 * YAML configuration as a tree whose every node knows its file:line, and the checker that holds a
 * mapping against key tables (struct hd_conf_key, the same tables adapters declare in their
 * struct hd_channel). config.c builds the daemon's struct hd_config on top of this.
 */
#ifndef HD_CONF_H
#define HD_CONF_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <herald/channel.h>

enum hd_node_kind { HD_NODE_SCALAR, HD_NODE_SEQ, HD_NODE_MAP };

struct hd_node {
    enum hd_node_kind kind;
    const char *file;      /* borrowed from the tree's root (root owns it); may be NULL */
    int line, col;         /* 1-based position of the node's value */
    char *scalar;          /* HD_NODE_SCALAR: the text (owned); "" for an empty value */
    int quoted;            /* the scalar was quoted: "true" is then a string, not a bool */
    int null;              /* the scalar is a YAML null (~, null, or nothing) */
    size_t n;              /* number of children (SEQ items, MAP pairs) */
    char **keys;           /* HD_NODE_MAP: each child's key (owned) */
    int *key_lines;        /* HD_NODE_MAP: line of each key */
    int *key_cols;         /* HD_NODE_MAP: column of each key */
    struct hd_node **kids; /* owned */
    char *owned_file;      /* set on the root only */
};

/*
 * Errors gathered while loading: one line each, "file:line:col: message\n". Without a column the
 * prefix is "file:line: ", without a line "file: ", without a file nothing. After
 * HD_DIAG_MAX_LINES lines one last "too many errors" line is written; n_errors keeps counting.
 */
#define HD_DIAG_MAX_LINES 200
struct hd_diag {
    int n_errors;
    char *text; /* owned, NUL-terminated; NULL until the first line */
    size_t len, cap;
};

void hd_diag_init(struct hd_diag *d);
void hd_diag_free(struct hd_diag *d);
void hd_diag_add(struct hd_diag *d, const struct hd_node *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Same, at an explicit position (e.g. a key's line). file may be NULL. */
void hd_diag_addf(struct hd_diag *d, const char *file, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* Parse YAML. Anchors/aliases, tags other than the standard !!str/!!int/!!bool/!!null/!!float/
 * !!map/!!seq, multiple documents, non-scalar or empty mapping keys, NUL characters in strings
 * and nesting deeper than HD_CONF_MAX_DEPTH are rejected (with file:line, all of them, not just
 * the first); a YAML syntax error gives one line and stops. Duplicate keys are kept in the tree
 * and reported by hd_conf_check (or hd_conf_check_unique for maps the caller walks itself).
 * A scalar tagged !!str counts as quoted. An empty file (or a lone null document) gives an empty
 * MAP. Files over 16 MiB are refused. Returns 0 (root set) or HD_EINVAL with d filled and
 * *root NULL. */
#define HD_CONF_MAX_DEPTH 64
int hd_conf_parse_file(const char *path, struct hd_node **root, struct hd_diag *d);
/* `name` is the file name used in messages; NULL gives messages without a position. */
int hd_conf_parse_string(const char *name, const char *text, size_t len, struct hd_node **root,
                         struct hd_diag *d);
void hd_node_free(struct hd_node *n); /* NULL-safe */

/* The child of a MAP under `key` (the first one if duplicated), or NULL. */
const struct hd_node *hd_node_get(const struct hd_node *map, const char *key);
/* Kind names for messages: "a string", "a list", "a mapping". */
const char *hd_node_kind_name(enum hd_node_kind k);

/* One checked value. */
struct hd_conf_value {
    const struct hd_conf_key *key;
    const struct hd_node *node; /* the node in the file (also when its value was refused);
                                   NULL when the default applied or the key is absent */
    int set;                    /* a valid value, from the file or by default */
    char *str;                  /* STRING, ENUM, URL, DURATION/SIZE text; owned */
    int64_t i;                  /* INT; DURATION in ms; SIZE in bytes; BOOL 0/1; ENUM: index
                                   of the choice in `choices` */
    char **list;                /* LIST (owned strings), n_list of them */
    size_t n_list;
    char **map_keys, **map_vals; /* MAP */
    size_t n_map;
    char *secret; /* SECRET: the bytes read from the file or credential (owned, wiped on free) */
    size_t secret_len;
};

struct hd_conf_values {
    size_t n;
    struct hd_conf_value *v;
};

/*
 * Check `map` (a MAP node) against the union of `tables` (each terminated by name == NULL; a name
 * already given by an earlier table is skipped). `map` may be NULL or a null scalar (a section
 * left empty): then only defaults apply and missing required keys are reported without position.
 * Keys listed in `ignore` (NULL-terminated, may be NULL) are skipped: the caller handles them.
 * Reports, each with file:line: a node that is not a mapping, unknown keys (with a "did you mean"
 * when one key is close), duplicate keys, missing required keys, wrong types, values out of
 * bounds, unknown enum choices, secrets that cannot be read. Fills defaults. Returns the number
 * of errors added (0 = all good); `out` is filled either way and must be freed.
 */
int hd_conf_check(const struct hd_node *map, const struct hd_conf_key *const *tables,
                  size_t n_tables, const char *const *ignore, struct hd_conf_values *out,
                  struct hd_diag *d);
const struct hd_conf_value *hd_conf_find(const struct hd_conf_values *v, const char *name);
void hd_conf_values_free(struct hd_conf_values *v); /* wipes secrets; NULL-safe, reusable */
/* Report duplicate keys of one MAP node (for maps the caller walks itself, e.g. the instances
 * under `channels:`); returns the number of errors added. hd_conf_check does this itself. */
int hd_conf_check_unique(const struct hd_node *map, struct hd_diag *d);
/* Validate a key table (adapters', the core's): names [a-z][a-z0-9_]* and unique, known types,
 * ENUM choices present, min <= max, a help text, no required key with a default, and every
 * default parses and is within bounds (a SECRET default is only checked for its form, not read).
 * Registry runs it on every adapter; tests run it on every built-in table. Returns the number
 * of errors added (lines name the key; no file position). */
int hd_conf_keys_validate(const struct hd_conf_key *keys, struct hd_diag *d);

/* Value parsers shared with the rest of the core. Return 0 or HD_EINVAL. */
/* Durations: a decimal integer and one unit ms|s|m|h|d ("250ms" "10s" "5m" "24h" "2d"), or a
 * plain "0". No sign, fraction, space or compound ("1h30m"); overflow is an error. */
int hd_parse_duration(const char *s, int64_t *ms);
/* Sizes: a decimal integer, optionally with a unit B|KiB|MiB|GiB|TiB or KB|MB|GB|TB, any case;
 * both spellings mean powers of 1024 (as ops configs use them). Overflow is an error. */
int hd_parse_size(const char *s, int64_t *bytes);
int hd_parse_bool(const char *s, int *b);    /* true/false/yes/no/on/off, also Capitalized/UPPER */
int hd_parse_int(const char *s, int64_t *v); /* decimal, optional sign, no overflow */
/* A secret reference: "file:/absolute/path" (a regular file, read whole, one trailing newline
 * -- "\n" or "\r\n" -- stripped) or "credential:NAME" (from $CREDENTIALS_DIRECTORY/NAME, systemd
 * LoadCredential=; NAME has no '/'). At most HD_SECRET_MAX bytes, not empty. Literal secrets are
 * refused. *out is NUL-terminated (the secret may still hold NULs: use *len); free it with
 * hd_secret_free. On error writes a reason to err (never the secret) and returns HD_EINVAL
 * (HD_ENOMEM when out of memory). hd_secret_check_ref checks only the form. */
#define HD_SECRET_MAX (64 * 1024)
int hd_secret_read(const char *ref, char **out, size_t *len, char *err, size_t errlen);
int hd_secret_check_ref(const char *ref, char *err, size_t errlen);
void hd_secret_free(char *secret, size_t len); /* explicit_bzero + free; NULL-safe */

#endif
