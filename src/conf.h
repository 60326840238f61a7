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
    const char *file; /* borrowed from the tree's root (root owns it) */
    int line, col;    /* 1-based position of the node's value */
    char *scalar;     /* HD_NODE_SCALAR: the text (owned); "" for an empty value */
    int quoted;       /* the scalar was quoted: "true" is then a string, not a bool */
    int null;         /* the scalar is a YAML null (~, null, or nothing) */
    size_t n;         /* number of children (SEQ items, MAP pairs) */
    char **keys;      /* HD_NODE_MAP: each child's key (owned) */
    int *key_lines;   /* HD_NODE_MAP: line of each key */
    struct hd_node **kids; /* owned */
    char *owned_file; /* set on the root only */
};

/* Errors gathered while loading: one "file:line:col: message" line each. */
struct hd_diag {
    int n_errors;
    char *text; /* owned, NUL-terminated */
    size_t len, cap;
};

void hd_diag_init(struct hd_diag *d);
void hd_diag_free(struct hd_diag *d);
void hd_diag_add(struct hd_diag *d, const struct hd_node *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Same, at an explicit position (e.g. a key's line). file may be NULL. */
void hd_diag_addf(struct hd_diag *d, const char *file, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* Parse YAML. Anchors/aliases and multiple documents are rejected (with file:line); so are
 * non-scalar mapping keys. Duplicate keys are kept in the tree and reported by hd_conf_check.
 * Returns 0 (root set; an empty file gives an empty MAP) or HD_EINVAL with d filled. */
int hd_conf_parse_file(const char *path, struct hd_node **root, struct hd_diag *d);
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
    const struct hd_node *node; /* NULL when the default applied or the key is absent */
    int set;                    /* given in the file or by default */
    char *str;                  /* STRING, ENUM, URL, DURATION/SIZE text; owned */
    int64_t i;                  /* INT; DURATION in ms; SIZE in bytes; BOOL 0/1 */
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
 * Check `map` (a MAP node) against the union of `tables` (each terminated by name == NULL).
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
void hd_conf_values_free(struct hd_conf_values *v);

/* Value parsers shared with the rest of the core. Return 0 or HD_EINVAL. */
int hd_parse_duration(const char *s, int64_t *ms);  /* "250ms" "10s" "5m" "24h" "2d", "0" */
int hd_parse_size(const char *s, int64_t *bytes);   /* "512" "64KiB" "1MiB" "1GiB", "64KB" */
int hd_parse_bool(const char *s, int *b);           /* true/false/yes/no/on/off */
int hd_parse_int(const char *s, int64_t *v);
/* A secret reference: "file:/path" (read whole file, one trailing newline stripped) or
 * "credential:NAME" (from $CREDENTIALS_DIRECTORY/NAME, systemd LoadCredential=). Literal secrets
 * are refused. On error writes a reason to err (never the secret). */
int hd_secret_read(const char *ref, char **out, size_t *len, char *err, size_t errlen);

#endif
