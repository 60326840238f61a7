/*
 * Unit tests of the configuration machinery (src/conf.c, conf_check.c, conf_secret.c): the YAML
 * tree and its positions, every kind of error hd_conf_check reports (asserting the exact
 * "file:line:col: message" text heraldd --check-config prints), defaults, value parsers and
 * secret references read from temporary files and a temporary credentials directory.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"
#include "conf.h"

/* A representative adapter table: every type. */
static const struct hd_conf_key example_keys[] = {
    {"url", HD_CONF_URL, NULL, 1, 0, 0, NULL, "where to POST"},
    {"timeout", HD_CONF_DURATION, "10s", 0, 1000, 3600000, NULL, "per-request timeout"},
    {"retries", HD_CONF_INT, "3", 0, 0, 10, NULL, "attempts before giving up"},
    {"enabled", HD_CONF_BOOL, "true", 0, 0, 0, NULL, "whether the instance runs"},
    {"max_body", HD_CONF_SIZE, "64KiB", 0, 1024, 64LL << 20, NULL, "largest body sent"},
    {"on_revision", HD_CONF_ENUM, "update", 0, 0, 0, "update|ignore|retract_and_republish",
     "what a revision does"},
    {"events", HD_CONF_LIST, "[publish, retract]", 0, 0, 0, NULL, "events to forward"},
    {"headers", HD_CONF_MAP, "{}", 0, 0, 0, NULL, "extra HTTP headers"},
    {"name", HD_CONF_STRING, NULL, 0, 1, 16, NULL, "display name"},
    {"app_secret", HD_CONF_SECRET, NULL, 0, 0, 0, NULL, "signing secret"},
    {NULL, 0, NULL, 0, 0, 0, NULL, NULL},
};
static const struct hd_conf_key *const example_tables[] = {example_keys};

struct fx {
    struct hd_node *root;
    struct hd_diag d;
    struct hd_conf_values v;
    char dir[64];
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    hd_diag_init(&f->d);
    strcpy(f->dir, "/tmp/herald-test-conf-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    *state = f;
    return 0;
}

static void rm_tree(const char *dir)
{
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

static int teardown(void **state)
{
    struct fx *f = *state;
    hd_conf_values_free(&f->v);
    hd_node_free(f->root);
    hd_diag_free(&f->d);
    rm_tree(f->dir);
    free(f);
    return 0;
}

static int parse(struct fx *f, const char *yaml)
{
    hd_node_free(f->root);
    f->root = NULL;
    return hd_conf_parse_string("t.yaml", yaml, strlen(yaml), &f->root, &f->d);
}

/* Parse (must succeed) and check against the example table; returns the error count. */
static int check(struct fx *f, const char *yaml)
{
    int rc = parse(f, yaml);
    if (rc != 0)
        fail_msg("parse failed: %s", f->d.text ? f->d.text : "");
    hd_conf_values_free(&f->v);
    return hd_conf_check(f->root, example_tables, 1, NULL, &f->v, &f->d);
}

static const char *diag(struct fx *f)
{
    return f->d.text ? f->d.text : "";
}

static void write_file(const char *path, const void *data, size_t len, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, len), (ssize_t)len);
    close(fd);
}

/* ---- the tree ---------------------------------------------------------------------------- */

static void test_tree_positions(void **state)
{
    struct fx *f = *state;
    assert_int_equal(parse(f, "# comment\nkafka:\n  brokers: [a, b]\n  group: \"g\"\nx: ~\n"
                              "y: 'true'\nz: !!str 5\n"),
                     0);
    assert_int_equal(f->root->kind, HD_NODE_MAP);
    assert_int_equal(f->root->n, 4);
    assert_string_equal(f->root->keys[0], "kafka");
    assert_int_equal(f->root->key_lines[0], 2);
    assert_int_equal(f->root->key_cols[0], 1);
    const struct hd_node *k = hd_node_get(f->root, "kafka");
    assert_int_equal(k->kind, HD_NODE_MAP);
    assert_int_equal(k->line, 3); /* a block mapping starts at its first key */
    assert_int_equal(k->col, 3);
    const struct hd_node *b = hd_node_get(k, "brokers");
    assert_int_equal(b->kind, HD_NODE_SEQ);
    assert_int_equal(b->n, 2);
    assert_int_equal(b->kids[1]->line, 3);
    assert_int_equal(b->kids[1]->col, 16);
    assert_string_equal(b->kids[1]->scalar, "b");
    const struct hd_node *g = hd_node_get(k, "group");
    assert_true(g->quoted);
    assert_false(g->null);
    assert_true(hd_node_get(f->root, "x")->null);
    assert_true(hd_node_get(f->root, "y")->quoted);
    assert_true(hd_node_get(f->root, "z")->quoted); /* !!str counts as quoted */
    assert_string_equal(g->file, "t.yaml");
    assert_null(hd_node_get(f->root, "nope"));
    assert_null(hd_node_get(b, "brokers")); /* not a mapping */
    assert_string_equal(hd_node_kind_name(HD_NODE_SEQ), "a list");
}

static void test_empty_documents(void **state)
{
    struct fx *f = *state;
    const char *empties[] = {"", "# only a comment\n", "---\n", "~\n", "---\n...\n"};
    for (size_t i = 0; i < HD_ARRAY_LEN(empties); i++) {
        assert_int_equal(parse(f, empties[i]), 0);
        assert_int_equal(f->root->kind, HD_NODE_MAP);
        assert_int_equal(f->root->n, 0);
    }
    assert_int_equal(f->d.n_errors, 0);
    /* an empty document still needs its required keys, reported at line 1 */
    assert_int_equal(check(f, ""), 1);
    assert_string_equal(diag(f), "t.yaml:1:1: missing required key `url`\n");
}

static void test_reject_anchors_aliases(void **state)
{
    struct fx *f = *state;
    assert_int_equal(parse(f, "base: &b\n  url: http://x\nother: *b\nlist: [&a 1, *a]\n"),
                     HD_EINVAL);
    assert_null(f->root);
    assert_int_equal(f->d.n_errors, 4); /* all of them, not just the first */
    assert_string_equal(
        diag(f), "t.yaml:1:7: anchors (&b) are not supported: write the value out in full\n"
                 "t.yaml:3:8: aliases (*b) are not supported: write the value out in full\n"
                 "t.yaml:4:8: anchors (&a) are not supported: write the value out in full\n"
                 "t.yaml:4:14: aliases (*a) are not supported: write the value out in full\n");
}

static void test_reject_tags(void **state)
{
    struct fx *f = *state;
    assert_int_equal(parse(f, "a: !include other.yaml\nb: !!binary aGVsbG8=\nc: !!int 5\n"
                              "d: ! text\ne: !!map {x: 1}\n"),
                     HD_EINVAL);
    assert_string_equal(diag(f),
                        "t.yaml:1:4: the tag !include is not supported: configuration files use "
                        "plain YAML values\n"
                        "t.yaml:2:4: the tag !!binary is not supported (only !!str, !!int, "
                        "!!bool, !!null, !!float, !!map and !!seq are)\n");
}

static void test_reject_multi_document(void **state)
{
    struct fx *f = *state;
    assert_int_equal(parse(f, "a: 1\n---\nb: 2\n"), HD_EINVAL);
    assert_string_equal(diag(f), "t.yaml:2:1: only one YAML document is allowed in a "
                                 "configuration file; a second one starts here\n");
}

static void test_reject_bad_keys(void **state)
{
    struct fx *f = *state;
    assert_int_equal(parse(f, "? [a, b]\n: 1\n? {k: v}\n: 2\n\"\": 3\nok: 4\n"), HD_EINVAL);
    assert_string_equal(diag(f), "t.yaml:1:3: mapping keys must be plain strings, not a list\n"
                                 "t.yaml:3:3: mapping keys must be plain strings, not a mapping\n"
                                 "t.yaml:5:1: a mapping key is empty\n");
    hd_diag_free(&f->d);
    assert_int_equal(parse(f, "? \n: 3\n"), HD_EINVAL);
    assert_string_equal(diag(f), "t.yaml:1:2: a mapping key is empty\n");
}

static void test_reject_nul_and_depth(void **state)
{
    struct fx *f = *state;
    assert_int_equal(parse(f, "a: \"x\\0y\"\n"), HD_EINVAL);
    assert_string_equal(diag(f), "t.yaml:1:4: strings must not contain NUL characters (\\0)\n");
    hd_diag_free(&f->d);
    char deep[512] = "";
    for (int i = 0; i < HD_CONF_MAX_DEPTH + 1; i++)
        strcat(deep, "[");
    assert_int_equal(parse(f, deep), HD_EINVAL);
    assert_string_equal(diag(f), "t.yaml:1:65: nesting is deeper than 64 levels\n");
    hd_diag_free(&f->d);
    deep[HD_CONF_MAX_DEPTH] = '\0';
    for (int i = 0; i < HD_CONF_MAX_DEPTH; i++)
        strcat(deep, "]");
    assert_int_equal(parse(f, deep), 0); /* exactly the limit is fine */
}

static void test_syntax_errors(void **state)
{
    struct fx *f = *state;
    assert_int_equal(parse(f, "a: 1\nb: [1, 2\nc: 3\n"), HD_EINVAL);
    assert_int_equal(f->d.n_errors, 1);
    assert_string_equal(diag(f), "t.yaml:3:2: YAML syntax error: did not find expected ',' or "
                                 "']' (while parsing a flow sequence at line 2)\n");
    hd_diag_free(&f->d);
    assert_int_equal(parse(f, "a: 1\n  b: 2\n"), HD_EINVAL);
    assert_string_equal(diag(f), "t.yaml:2:4: YAML syntax error: mapping values are not allowed "
                                 "in this context\n");
    hd_diag_free(&f->d);
    assert_int_equal(parse(f, "a: 1\nb: caf\xc3\n"), HD_EINVAL);
    /* libyaml points at the octet that breaks the sequence: the newline after \xc3 */
    assert_string_equal(diag(f), "t.yaml:2:8: invalid YAML input: invalid trailing UTF-8 octet "
                                 "(0xa)\n");
    hd_diag_free(&f->d);
    assert_int_equal(parse(f, "a:\tb\x01\n"), HD_EINVAL);
    assert_string_equal(diag(f), "t.yaml:1:5: invalid YAML input: control characters are not "
                                 "allowed (0x1)\n");
}

static void test_parse_file(void **state)
{
    struct fx *f = *state;
    char path[128];
    snprintf(path, sizeof(path), "%s/herald.yaml", f->dir);
    assert_int_equal(hd_conf_parse_file(path, &f->root, &f->d), HD_EIO);
    char want[256];
    snprintf(want, sizeof(want),
             "%s: cannot open the configuration file: No such file or directory\n", path);
    assert_string_equal(diag(f), want);
    hd_diag_free(&f->d);
    assert_int_equal(hd_conf_parse_file(f->dir, &f->root, &f->d), HD_EINVAL);
    snprintf(want, sizeof(want), "%s: the configuration must be a regular file\n", f->dir);
    assert_string_equal(diag(f), want);
    hd_diag_free(&f->d);

    const char *yaml = "url: http://portal.example/api\nretries: 99\n";
    write_file(path, yaml, strlen(yaml), 0644);
    assert_int_equal(hd_conf_parse_file(path, &f->root, &f->d), 0);
    assert_int_equal(hd_conf_check(f->root, example_tables, 1, NULL, &f->v, &f->d), 1);
    snprintf(want, sizeof(want), "%s:2:10: `retries`: must be between 0 and 10 (got 99)\n", path);
    assert_string_equal(diag(f), want);
}

/* ---- checking ---------------------------------------------------------------------------- */

static void test_check_good(void **state)
{
    struct fx *f = *state;
    assert_int_equal(check(f, "url: https://portal.example.gov.cn:8443/api/publish?x=1\n"
                              "timeout: 30s\nretries: 0\nenabled: off\nmax_body: 2MB\n"
                              "on_revision: retract_and_republish\n"
                              "events: [publish]\nheaders:\n  X-Token-Name: herald\n"
                              "  X-Empty: ''\nname: 越秀发布\n"),
                     0);
    assert_int_equal(f->d.n_errors, 0);
    assert_null(f->d.text);
    const struct hd_conf_value *v = hd_conf_find(&f->v, "url");
    assert_true(v->set);
    assert_string_equal(v->str, "https://portal.example.gov.cn:8443/api/publish?x=1");
    assert_int_equal(v->node->line, 1);
    assert_int_equal(hd_conf_find(&f->v, "timeout")->i, 30000);
    assert_string_equal(hd_conf_find(&f->v, "timeout")->str, "30s");
    v = hd_conf_find(&f->v, "retries");
    assert_true(v->set);
    assert_int_equal(v->i, 0);
    assert_int_equal(hd_conf_find(&f->v, "enabled")->i, 0);
    assert_int_equal(hd_conf_find(&f->v, "max_body")->i, 2 * 1024 * 1024);
    assert_int_equal(hd_conf_find(&f->v, "on_revision")->i, 2);
    v = hd_conf_find(&f->v, "events");
    assert_int_equal(v->n_list, 1);
    assert_string_equal(v->list[0], "publish");
    v = hd_conf_find(&f->v, "headers");
    assert_int_equal(v->n_map, 2);
    assert_string_equal(v->map_keys[0], "X-Token-Name");
    assert_string_equal(v->map_vals[0], "herald");
    assert_string_equal(v->map_vals[1], "");
    assert_string_equal(hd_conf_find(&f->v, "name")->str, "越秀发布"); /* 12 bytes: within 16 */
    v = hd_conf_find(&f->v, "app_secret");
    assert_false(v->set); /* optional, no default */
    assert_null(v->node);
    assert_null(hd_conf_find(&f->v, "nope"));
}

static void test_check_defaults(void **state)
{
    struct fx *f = *state;
    assert_int_equal(check(f, "url: http://h\n"), 0);
    const struct hd_conf_value *v = hd_conf_find(&f->v, "timeout");
    assert_true(v->set);
    assert_null(v->node);
    assert_int_equal(v->i, 10000);
    assert_int_equal(hd_conf_find(&f->v, "retries")->i, 3);
    assert_int_equal(hd_conf_find(&f->v, "enabled")->i, 1);
    assert_int_equal(hd_conf_find(&f->v, "max_body")->i, 65536);
    assert_int_equal(hd_conf_find(&f->v, "on_revision")->i, 0);
    v = hd_conf_find(&f->v, "events");
    assert_int_equal(v->n_list, 2);
    assert_string_equal(v->list[1], "retract");
    v = hd_conf_find(&f->v, "headers");
    assert_true(v->set);
    assert_int_equal(v->n_map, 0);

    /* a section absent (NULL) or left empty (null scalar): defaults, required reported */
    hd_conf_values_free(&f->v);
    assert_int_equal(hd_conf_check(NULL, example_tables, 1, NULL, &f->v, &f->d), 1);
    assert_string_equal(diag(f), "missing required key `url`\n");
    assert_int_equal(hd_conf_find(&f->v, "retries")->i, 3);
    hd_diag_free(&f->d);
    assert_int_equal(parse(f, "webhook:\n"), 0);
    hd_conf_values_free(&f->v);
    assert_int_equal(
        hd_conf_check(hd_node_get(f->root, "webhook"), example_tables, 1, NULL, &f->v, &f->d), 1);
    assert_string_equal(diag(f), "t.yaml:1:9: missing required key `url`\n");
}

static void test_check_unknown_keys(void **state)
{
    struct fx *f = *state;
    assert_int_equal(check(f, "url: http://h\nretires: 3\ncolour: red\nTimeout: 5s\n"
                              "on_revison: ignore\nx: 1\nretrys: 1\nrtrs: 1\n"),
                     7);
    assert_string_equal(diag(f), "t.yaml:2:1: unknown key `retires` (did you mean `retries`?)\n"
                                 "t.yaml:3:1: unknown key `colour`\n"
                                 "t.yaml:4:1: unknown key `Timeout` (did you mean `timeout`?)\n"
                                 "t.yaml:5:1: unknown key `on_revison` (did you mean "
                                 "`on_revision`?)\n"
                                 "t.yaml:6:1: unknown key `x`\n"
                                 "t.yaml:7:1: unknown key `retrys` (did you mean `retries`?)\n"
                                 "t.yaml:8:1: unknown key `rtrs`\n"); /* distance 2 and 3 */
}

static void test_check_ignore_list(void **state)
{
    struct fx *f = *state;
    const char *const ignore[] = {"type", "depends_on", NULL};
    assert_int_equal(parse(f, "type: webhook\nurl: http://h\ntyp: webhook\ndepends_on: [a]\n"), 0);
    assert_int_equal(hd_conf_check(f->root, example_tables, 1, ignore, &f->v, &f->d), 1);
    assert_string_equal(diag(f), "t.yaml:3:1: unknown key `typ` (did you mean `type`?)\n");
}

static void test_check_duplicates(void **state)
{
    struct fx *f = *state;
    assert_int_equal(check(f, "url: http://h\ntimeout: 5s\nretries: 1\ntimeout: 7s\n"
                              "headers:\n  A: x\n  A: y\ntimeout: 9s\n"),
                     3);
    assert_string_equal(diag(f), "t.yaml:4:1: duplicate key `timeout` (first given at line 2)\n"
                                 "t.yaml:7:3: duplicate key `headers.A` (first given at line 6)\n"
                                 "t.yaml:8:1: duplicate key `timeout` (first given at line 2)\n");
    assert_int_equal(hd_conf_find(&f->v, "timeout")->i, 5000); /* the first one counts */
    hd_diag_free(&f->d);
    assert_int_equal(parse(f, "web:\n  a: 1\nweb:\n  b: 2\n"), 0);
    assert_int_equal(hd_conf_check_unique(f->root, &f->d), 1);
    assert_string_equal(diag(f), "t.yaml:3:1: duplicate key `web` (first given at line 1)\n");
}

static void test_check_missing_required_nested(void **state)
{
    struct fx *f = *state;
    assert_int_equal(parse(f, "channels:\n  webhook:ops:\n    timeout: 5s\n    retries: 2\n"), 0);
    const struct hd_node *ops = hd_node_get(hd_node_get(f->root, "channels"), "webhook:ops");
    assert_non_null(ops);
    assert_int_equal(hd_conf_check(ops, example_tables, 1, NULL, &f->v, &f->d), 1);
    assert_string_equal(diag(f), "t.yaml:3:5: missing required key `url`\n");
}

static void test_check_wrong_kind(void **state)
{
    struct fx *f = *state;
    /* a key given with a bad value is not also "missing" */
    assert_int_equal(check(f, "url: [http://h]\nevents: {a: b}\nheaders: [a]\nretries: {}\n"
                              "events2: 1\n"),
                     5);
    assert_string_equal(diag(f),
                        "t.yaml:1:6: `url`: expected an http:// or https:// URL, got a list\n"
                        "t.yaml:2:9: `events`: expected a list, got a mapping\n"
                        "t.yaml:3:10: `headers`: expected a mapping, got a list\n"
                        "t.yaml:4:10: `retries`: expected an integer, got a mapping\n"
                        "t.yaml:5:1: unknown key `events2` (did you mean `events`?)\n");
}

static void test_check_root_not_mapping(void **state)
{
    struct fx *f = *state;
    assert_int_equal(check(f, "- url: http://h\n"), 1); /* no "missing required" noise */
    assert_string_equal(diag(f), "t.yaml:1:1: expected a mapping, got a list\n");
}

static void test_check_bool(void **state)
{
    struct fx *f = *state;
    assert_int_equal(check(f, "url: http://h\nenabled: \"true\"\n"), 1);
    assert_string_equal(diag(f), "t.yaml:2:10: `enabled`: expected true or false, got the quoted "
                                 "string \"true\" (write it without quotes)\n");
    hd_diag_free(&f->d);
    assert_int_equal(check(f, "url: http://h\nenabled: maybe\n"), 1);
    assert_string_equal(diag(f), "t.yaml:2:10: `enabled`: expected true or false (or yes/no, "
                                 "on/off), got \"maybe\"\n");
    hd_diag_free(&f->d);
    assert_int_equal(check(f, "url: http://h\nenabled:\n"), 1);
    assert_string_equal(diag(f), "t.yaml:2:9: `enabled`: has no value (remove the key to use the "
                                 "default)\n");
    const char *yes[] = {"true", "True", "TRUE", "yes", "on", "ON", "Yes"};
    const char *no[] = {"false", "no", "off", "Off", "NO"};
    const char *bad[] = {"tRUE", "1", "0", "y", "n", "", "truee", "enable"};
    int b;
    for (size_t i = 0; i < HD_ARRAY_LEN(yes); i++) {
        b = -1;
        assert_int_equal(hd_parse_bool(yes[i], &b), 0);
        assert_int_equal(b, 1);
    }
    for (size_t i = 0; i < HD_ARRAY_LEN(no); i++) {
        b = -1;
        assert_int_equal(hd_parse_bool(no[i], &b), 0);
        assert_int_equal(b, 0);
    }
    for (size_t i = 0; i < HD_ARRAY_LEN(bad); i++)
        assert_int_equal(hd_parse_bool(bad[i], &b), HD_EINVAL);
}

static void test_check_int_bounds(void **state)
{
    struct fx *f = *state;
    assert_int_equal(check(f, "url: http://h\nretries: 11\n"), 1);
    assert_string_equal(diag(f), "t.yaml:2:10: `retries`: must be between 0 and 10 (got 11)\n");
    hd_diag_free(&f->d);
    assert_int_equal(check(f, "url: http://h\nretries: -1\n"), 1);
    assert_string_equal(diag(f), "t.yaml:2:10: `retries`: must be between 0 and 10 (got -1)\n");
    hd_diag_free(&f->d);
    assert_int_equal(check(f, "url: http://h\nretries: three\n"), 1);
    assert_string_equal(diag(f), "t.yaml:2:10: `retries`: expected an integer, got \"three\"\n");
    hd_diag_free(&f->d);
    assert_int_equal(check(f, "url: http://h\nretries: 99999999999999999999\n"), 1);
    assert_string_equal(diag(f), "t.yaml:2:10: `retries`: expected an integer, got "
                                 "\"99999999999999999999\" (too large)\n");
    hd_diag_free(&f->d);
    assert_int_equal(check(f, "url: http://h\nretries: '7'\n"), 0); /* quoted numbers are fine */
    assert_int_equal(hd_conf_find(&f->v, "retries")->i, 7);

    /* one-sided bounds */
    static const struct hd_conf_key k[] = {
        {"workers", HD_CONF_INT, NULL, 0, 1, INT64_MAX, NULL, "h"},
        {"offset", HD_CONF_INT, NULL, 0, INT64_MIN, -1, NULL, "h"},
        {NULL, 0, NULL, 0, 0, 0, NULL, NULL},
    };
    const struct hd_conf_key *const t[] = {k};
    hd_diag_free(&f->d);
    assert_int_equal(parse(f, "workers: 0\noffset: 0\n"), 0);
    hd_conf_values_free(&f->v);
    assert_int_equal(hd_conf_check(f->root, t, 1, NULL, &f->v, &f->d), 2);
    assert_string_equal(diag(f), "t.yaml:1:10: `workers`: must be at least 1 (got 0)\n"
                                 "t.yaml:2:9: `offset`: must be at most -1 (got 0)\n");
}

static void test_check_duration_size(void **state)
{
    struct fx *f = *state;
    assert_int_equal(check(f, "url: http://h\ntimeout: 2h\n"), 1);
    assert_string_equal(diag(f), "t.yaml:2:10: `timeout`: must be between 1s and 1h (got 2h)\n");
    hd_diag_free(&f->d);
    assert_int_equal(check(f, "url: http://h\ntimeout: 999ms\n"), 1);
    assert_string_equal(diag(f), "t.yaml:2:10: `timeout`: must be between 1s and 1h (got 999ms)\n");
    hd_diag_free(&f->d);
    assert_int_equal(check(f, "url: http://h\ntimeout: 10\n"), 1);
    assert_string_equal(diag(f), "t.yaml:2:10: `timeout`: expected a duration such as 250ms, 10s, "
                                 "5m, 24h or 2d, got \"10\" (add a unit: ms, s, m, h or d)\n");
    hd_diag_free(&f->d);
    assert_int_equal(check(f, "url: http://h\ntimeout: 1.5s\n"), 1);
    assert_string_equal(diag(f), "t.yaml:2:10: `timeout`: expected a duration such as 250ms, 10s, "
                                 "5m, 24h or 2d, got \"1.5s\"\n");
    hd_diag_free(&f->d);
    assert_int_equal(check(f, "url: http://h\ntimeout: 999999999999d\n"), 1);
    assert_string_equal(diag(f), "t.yaml:2:10: `timeout`: expected a duration such as 250ms, 10s, "
                                 "5m, 24h or 2d, got \"999999999999d\" (too large)\n");
    hd_diag_free(&f->d);
    assert_int_equal(check(f, "url: http://h\nmax_body: 100MiB\n"), 1);
    assert_string_equal(diag(f),
                        "t.yaml:2:11: `max_body`: must be between 1KiB and 64MiB (got 100MiB)\n");
    hd_diag_free(&f->d);
    assert_int_equal(check(f, "url: http://h\nmax_body: 64 KiB\n"), 1);
    assert_string_equal(diag(f), "t.yaml:2:11: `max_body`: expected a size such as 512, 64KiB, "
                                 "16MiB or 1GiB, got \"64 KiB\"\n");
}

static void test_parse_duration(void **state)
{
    (void)state;
    struct {
        const char *s;
        int64_t ms;
    } ok[] = {
        {"0", 0},
        {"0ms", 0},
        {"0s", 0},
        {"250ms", 250},
        {"10s", 10000},
        {"5m", 300000},
        {"24h", 86400000},
        {"2d", 172800000},
        {"007s", 7000},
        {"9223372036854775807ms", INT64_MAX},
        {"106751991167d", 106751991167LL * 86400000},
        {"9223372036854775s", 9223372036854775000LL},
    };
    const char *bad[] = {"",
                         "s",
                         "10",
                         "1.5s",
                         "-1s",
                         "+1s",
                         " 1s",
                         "1s ",
                         "1S",
                         "1sec",
                         "1h30m",
                         "1 s",
                         "10us",
                         "0x10s",
                         "9223372036854775808ms",
                         "106751991168d",
                         "9223372036854776s",
                         "99999999999999999999999s"};
    int64_t v;
    for (size_t i = 0; i < HD_ARRAY_LEN(ok); i++) {
        v = -1;
        if (hd_parse_duration(ok[i].s, &v) != 0)
            fail_msg("duration %s refused", ok[i].s);
        assert_int_equal(v, ok[i].ms);
    }
    for (size_t i = 0; i < HD_ARRAY_LEN(bad); i++)
        if (hd_parse_duration(bad[i], &v) == 0)
            fail_msg("duration \"%s\" accepted as %lld", bad[i], (long long)v);
    assert_int_equal(hd_parse_duration(NULL, &v), HD_EINVAL);
}

static void test_parse_size_int(void **state)
{
    (void)state;
    struct {
        const char *s;
        int64_t b;
    } ok[] = {
        {"0", 0},
        {"512", 512},
        {"512B", 512},
        {"64KiB", 65536},
        {"64KB", 65536},
        {"64kb", 65536},
        {"1MiB", 1048576},
        {"1MB", 1048576},
        {"1GiB", 1073741824},
        {"2GB", 2147483648LL},
        {"1TiB", 1099511627776LL},
        {"8388607TiB", 8388607LL << 40},
        {"9223372036854775807", INT64_MAX},
    };
    const char *bad[] = {"",      "KiB", "-1", "1.5MiB",     "1 MiB",
                         "1KiBB", "1Ki", "1k", "8388608TiB", "9223372036854775808",
                         "0x10",  "1e6"};
    int64_t v;
    for (size_t i = 0; i < HD_ARRAY_LEN(ok); i++) {
        v = -1;
        if (hd_parse_size(ok[i].s, &v) != 0)
            fail_msg("size %s refused", ok[i].s);
        assert_int_equal(v, ok[i].b);
    }
    for (size_t i = 0; i < HD_ARRAY_LEN(bad); i++)
        if (hd_parse_size(bad[i], &v) == 0)
            fail_msg("size \"%s\" accepted as %lld", bad[i], (long long)v);

    assert_int_equal(hd_parse_int("9223372036854775807", &v), 0);
    assert_int_equal(v, INT64_MAX);
    assert_int_equal(hd_parse_int("-9223372036854775808", &v), 0);
    assert_int_equal(v, INT64_MIN);
    assert_int_equal(hd_parse_int("+42", &v), 0);
    assert_int_equal(v, 42);
    const char *ibad[] = {
        "9223372036854775808", "-9223372036854775809", "", "-", "1_000", "0x10", "1.0", " 1", "1 "};
    for (size_t i = 0; i < HD_ARRAY_LEN(ibad); i++)
        if (hd_parse_int(ibad[i], &v) == 0)
            fail_msg("int \"%s\" accepted", ibad[i]);
}

static void test_check_enum(void **state)
{
    struct fx *f = *state;
    assert_int_equal(check(f, "url: http://h\non_revision: updat\n"), 1);
    assert_string_equal(diag(f), "t.yaml:2:14: `on_revision`: must be one of: update, ignore, "
                                 "retract_and_republish (got \"updat\"; did you mean `update`?)\n");
    hd_diag_free(&f->d);
    assert_int_equal(check(f, "url: http://h\non_revision: delete\n"), 1);
    assert_string_equal(diag(f), "t.yaml:2:14: `on_revision`: must be one of: update, ignore, "
                                 "retract_and_republish (got \"delete\")\n");
    hd_diag_free(&f->d);
    assert_int_equal(check(f, "url: http://h\non_revision: ignore\n"), 0);
    assert_int_equal(hd_conf_find(&f->v, "on_revision")->i, 1);
}

static void test_check_url(void **state)
{
    struct fx *f = *state;
    struct {
        const char *yaml, *want;
    } cases[] = {
        {"url: ftp://files.example/x\n",
         "t.yaml:1:6: `url`: expected an http:// or https:// URL, got \"ftp://files.example/x\"\n"},
        {"url: portal.example/x\n",
         "t.yaml:1:6: `url`: expected an http:// or https:// URL, got \"portal.example/x\"\n"},
        {"url: http:///path\n", "t.yaml:1:6: `url`: the URL has no host, got \"http:///path\"\n"},
        {"url: 'https://a b/'\n", "t.yaml:1:6: `url`: a URL must not contain spaces or control "
                                  "characters, got \"https://a b/\"\n"},
        {"url: http://h:99999/\n", "t.yaml:1:6: `url`: the URL's port is not a number between 1 "
                                   "and 65535, got \"http://h:99999/\"\n"},
        {"url: http://user@:80/\n", "t.yaml:1:6: `url`: the URL has no host, got "
                                    "\"http://user@:80/\"\n"},
    };
    for (size_t i = 0; i < HD_ARRAY_LEN(cases); i++) {
        hd_diag_free(&f->d);
        assert_int_equal(check(f, cases[i].yaml), 1);
        assert_string_equal(diag(f), cases[i].want);
    }
    const char *good[] = {"url: HTTP://portal.example\n", "url: http://[::1]:8080/x\n",
                          "url: https://u:p@host.example/p#frag\n", "url: http://127.0.0.1:9/\n"};
    for (size_t i = 0; i < HD_ARRAY_LEN(good); i++) {
        hd_diag_free(&f->d);
        if (check(f, good[i]) != 0)
            fail_msg("%s: %s", good[i], diag(f));
    }
}

static void test_check_list_map_string(void **state)
{
    struct fx *f = *state;
    assert_int_equal(check(f, "url: http://h\nevents: publish\n"), 1);
    assert_string_equal(diag(f), "t.yaml:2:9: `events`: expected a list, got a string (write "
                                 "[\"publish\"] or one \"- item\" per line)\n");
    hd_diag_free(&f->d);
    assert_int_equal(check(f, "url: http://h\nevents:\n  - publish\n  - [a]\n  -\n"), 2);
    assert_string_equal(diag(f), "t.yaml:4:5: `events`: list items must be strings, got a list\n"
                                 "t.yaml:5:4: `events`: list items must be strings, got an empty "
                                 "value\n");
    hd_diag_free(&f->d);
    assert_int_equal(check(f, "url: http://h\nevents:\nheaders:\n"), 0); /* empty list, map */
    assert_int_equal(hd_conf_find(&f->v, "events")->n_list, 0);
    assert_true(hd_conf_find(&f->v, "events")->set);
    hd_diag_free(&f->d);
    assert_int_equal(check(f, "url: http://h\nheaders:\n  A: [1]\n  B:\n"), 2);
    assert_string_equal(diag(f),
                        "t.yaml:3:6: `headers.A`: expected a string, got a list\n"
                        "t.yaml:4:5: `headers.B`: expected a string, got an empty value\n");
    hd_diag_free(&f->d);
    assert_int_equal(check(f, "url: http://h\nname: ''\n"), 1);
    assert_string_equal(diag(f), "t.yaml:2:7: `name`: must be between 1 and 16 bytes long "
                                 "(got 0)\n");
    hd_diag_free(&f->d);
    assert_int_equal(check(f, "url: http://h\nname: 越秀区人民政府发布\n"), 1); /* 9 chars */
    assert_string_equal(diag(f), "t.yaml:2:7: `name`: must be between 1 and 16 bytes long "
                                 "(got 27)\n");
    hd_diag_free(&f->d);
    assert_int_equal(check(f, "url: http://h\nname:\n"), 1);
    assert_string_equal(diag(f), "t.yaml:2:6: `name`: has no value\n");
}

static void test_check_all_errors_collected(void **state)
{
    struct fx *f = *state;
    assert_int_equal(check(f, "timeout: 0s\nretries: 11\nenabled: 'no'\nbogus: 1\n"
                              "on_revision: never\n"),
                     6);
    assert_string_equal(diag(f),
                        "t.yaml:1:10: `timeout`: must be between 1s and 1h (got 0s)\n"
                        "t.yaml:2:10: `retries`: must be between 0 and 10 (got 11)\n"
                        "t.yaml:3:10: `enabled`: expected true or false, got the quoted string "
                        "\"no\" (write it without quotes)\n"
                        "t.yaml:4:1: unknown key `bogus`\n"
                        "t.yaml:5:14: `on_revision`: must be one of: update, ignore, "
                        "retract_and_republish (got \"never\")\n"
                        "t.yaml:1:1: missing required key `url`\n");
}

static void test_diag_cap_and_escaping(void **state)
{
    struct fx *f = *state;
    char *yaml = malloc(300 * 16);
    size_t o = 0;
    for (int i = 0; i < 300; i++)
        o += (size_t)sprintf(yaml + o, "zz%03d: 1\n", i);
    assert_int_equal(check(f, yaml), 301); /* 300 unknown + missing url */
    free(yaml);
    assert_int_equal(f->d.n_errors, 301);
    size_t lines = 0;
    for (const char *p = diag(f); *p; p++)
        lines += *p == '\n';
    assert_int_equal(lines, HD_DIAG_MAX_LINES + 1);
    const char *last = "\nt.yaml: too many errors; the rest are not shown\n";
    assert_string_equal(diag(f) + f->d.len - strlen(last), last); /* the last line */

    hd_diag_free(&f->d);
    assert_int_equal(check(f, "url: http://h\nretries: \"a\\tb\\\"c\\nd\"\n"), 1);
    assert_string_equal(diag(f), "t.yaml:2:10: `retries`: expected an integer, got "
                                 "\"a\\x09b\\\"c\\x0ad\"\n");
    hd_diag_addf(&f->d, NULL, 3, 0, "line only");
    hd_diag_addf(&f->d, "f", 3, 0, "two\nlines");
    hd_diag_addf(&f->d, "f", 0, 7, "file only");
    assert_non_null(strstr(diag(f), "\nline only\nf:3: two lines\nf: file only\n"));
}

/* ---- secrets ----------------------------------------------------------------------------- */

static void test_secret_file(void **state)
{
    struct fx *f = *state;
    char path[128], ref[160], err[256];
    char *s = NULL;
    size_t len = 0;
    snprintf(path, sizeof(path), "%s/app_secret", f->dir);
    snprintf(ref, sizeof(ref), "file:%s", path);

    write_file(path, "s3cr3t\n\n", 8, 0600); /* exactly one newline is stripped */
    assert_int_equal(hd_secret_read(ref, &s, &len, err, sizeof(err)), 0);
    assert_int_equal(len, 7);
    assert_memory_equal(s, "s3cr3t\n", 8);
    hd_secret_free(s, len);
    write_file(path, "s3cr3t\r\n", 8, 0600);
    assert_int_equal(hd_secret_read(ref, &s, &len, err, sizeof(err)), 0);
    assert_string_equal(s, "s3cr3t");
    hd_secret_free(s, len);
    write_file(path, "a\0b", 3, 0600); /* binary-safe */
    assert_int_equal(hd_secret_read(ref, &s, &len, err, sizeof(err)), 0);
    assert_int_equal(len, 3);
    assert_memory_equal(s, "a\0b", 4);
    hd_secret_free(s, len);

    write_file(path, "\n", 1, 0600);
    assert_int_equal(hd_secret_read(ref, &s, &len, err, sizeof(err)), HD_EINVAL);
    assert_null(s);
    char want[256];
    snprintf(want, sizeof(want), "secret file %s is empty", path);
    assert_string_equal(err, want);

    char *big = calloc(1, HD_SECRET_MAX + 1);
    memset(big, 'k', HD_SECRET_MAX + 1);
    write_file(path, big, HD_SECRET_MAX, 0600); /* exactly the limit */
    assert_int_equal(hd_secret_read(ref, &s, &len, err, sizeof(err)), 0);
    assert_int_equal(len, HD_SECRET_MAX);
    hd_secret_free(s, len);
    write_file(path, big, HD_SECRET_MAX + 1, 0600);
    free(big);
    assert_int_equal(hd_secret_read(ref, &s, &len, err, sizeof(err)), HD_EINVAL);
    snprintf(want, sizeof(want), "secret file %s is larger than 64 KiB", path);
    assert_string_equal(err, want);

    snprintf(ref, sizeof(ref), "file:%s", f->dir);
    assert_int_equal(hd_secret_read(ref, &s, &len, err, sizeof(err)), HD_EINVAL);
    snprintf(want, sizeof(want), "secret file %s is not a regular file", f->dir);
    assert_string_equal(err, want);
    snprintf(path, sizeof(path), "%s/fifo", f->dir); /* must not block */
    assert_int_equal(mkfifo(path, 0600), 0);
    snprintf(ref, sizeof(ref), "file:%s", path);
    assert_int_equal(hd_secret_read(ref, &s, &len, err, sizeof(err)), HD_EINVAL);
    snprintf(want, sizeof(want), "secret file %s is not a regular file", path);
    assert_string_equal(err, want);
    snprintf(ref, sizeof(ref), "file:%s/missing", f->dir);
    assert_int_equal(hd_secret_read(ref, &s, &len, err, sizeof(err)), HD_EINVAL);
    snprintf(want, sizeof(want), "cannot open secret file %s/missing: No such file or directory",
             f->dir);
    assert_string_equal(err, want);
    assert_int_equal(hd_secret_read("file:relative/x", &s, &len, err, sizeof(err)), HD_EINVAL);
    assert_string_equal(err, "the secret file path must be absolute (file:/path)");
}

static void test_secret_credential(void **state)
{
    struct fx *f = *state;
    char path[128], err[256], want[512];
    char *s = NULL;
    size_t len = 0;
    snprintf(path, sizeof(path), "%s/wechat_secret", f->dir);
    write_file(path, "cred-value\n", 11, 0400);

    unsetenv("CREDENTIALS_DIRECTORY");
    assert_int_equal(hd_secret_read("credential:wechat_secret", &s, &len, err, sizeof(err)),
                     HD_EINVAL);
    assert_string_equal(err, "no systemd credentials directory (CREDENTIALS_DIRECTORY is unset)");
    setenv("CREDENTIALS_DIRECTORY", f->dir, 1);
    assert_int_equal(hd_secret_read("credential:wechat_secret", &s, &len, err, sizeof(err)), 0);
    assert_string_equal(s, "cred-value");
    assert_int_equal(len, 10);
    hd_secret_free(s, len);
    assert_int_equal(hd_secret_read("credential:nope", &s, &len, err, sizeof(err)), HD_EINVAL);
    snprintf(want, sizeof(want), "cannot open credential nope (%s/nope): No such file or directory",
             f->dir);
    assert_string_equal(err, want);
    const char *bad[] = {"credential:../etc/passwd", "credential:a/b",
                         "credential:", "credential:.."};
    for (size_t i = 0; i < HD_ARRAY_LEN(bad); i++) {
        assert_int_equal(hd_secret_read(bad[i], &s, &len, err, sizeof(err)), HD_EINVAL);
        assert_string_equal(err, "a credential name must be a plain file name, without '/' "
                                 "(credential:NAME)");
    }
    unsetenv("CREDENTIALS_DIRECTORY");
}

static void test_secret_in_check(void **state)
{
    struct fx *f = *state;
    char path[128], yaml[512];
    snprintf(path, sizeof(path), "%s/sec", f->dir);
    write_file(path, "topsecret\n", 10, 0600);
    snprintf(yaml, sizeof(yaml), "url: http://h\napp_secret: file:%s\n", path);
    assert_int_equal(check(f, yaml), 0);
    const struct hd_conf_value *v = hd_conf_find(&f->v, "app_secret");
    assert_true(v->set);
    assert_string_equal(v->secret, "topsecret");
    assert_int_equal(v->secret_len, 9);

    /* a literal is refused and never echoed */
    assert_int_equal(check(f, "url: http://h\napp_secret: hunter2-literal\n"), 1);
    assert_string_equal(diag(f), "t.yaml:2:13: `app_secret`: secrets must come from a file or a "
                                 "systemd credential: write file:/path or credential:NAME\n");
    assert_null(strstr(diag(f), "hunter2"));
    hd_diag_free(&f->d);
    assert_int_equal(check(f, "url: http://h\napp_secret: [file:/x]\n"), 1);
    assert_string_equal(diag(f), "t.yaml:2:13: `app_secret`: expected a secret reference "
                                 "(file:/path or credential:NAME), got a list\n");
    /* a secret given under a mistyped key is not echoed either */
    hd_diag_free(&f->d);
    assert_int_equal(check(f, "url: http://h\napp_secert: hunter2-literal\n"), 1);
    assert_null(strstr(diag(f), "hunter2"));
}

/* ---- key tables -------------------------------------------------------------------------- */

static void test_keys_validate(void **state)
{
    struct fx *f = *state;
    assert_int_equal(hd_conf_keys_validate(example_keys, &f->d), 0);
    assert_null(f->d.text);

    static const struct hd_conf_key bad[] = {
        {"Timeout", HD_CONF_DURATION, "10s", 0, 0, 0, NULL, "h"},
        {"timeout", HD_CONF_DURATION, "10", 0, 0, 0, NULL, "h"},
        {"retries", HD_CONF_INT, "20", 0, 0, 10, NULL, "h"},
        {"retries", HD_CONF_INT, NULL, 0, 0, 0, NULL, "h"},
        {"mode", HD_CONF_ENUM, "fast", 0, 0, 0, "slow|medium", "h"},
        {"kind", HD_CONF_ENUM, NULL, 0, 0, 0, "a||b", "h"},
        {"flag", HD_CONF_BOOL, "maybe", 0, 0, 0, NULL, "h"},
        {"list", HD_CONF_LIST, "[a, [b]]", 0, 0, 0, NULL, "h"},
        {"map", HD_CONF_MAP, "{a: 1", 0, 0, 0, NULL, "h"},
        {"key", HD_CONF_SECRET, "literal", 0, 0, 0, NULL, "h"},
        {"cred", HD_CONF_SECRET, "credential:x", 0, 0, 0, NULL, "h"},
        {"nohelp", HD_CONF_STRING, NULL, 0, 0, 0, NULL, NULL},
        {"both", HD_CONF_STRING, "x", 1, 0, 0, NULL, "h"},
        {"range", HD_CONF_INT, NULL, 0, 5, 1, NULL, "h"},
        {"str", HD_CONF_STRING, NULL, 0, 0, 0, "a|b", "h"},
        {"size", HD_CONF_SIZE, "1MiB", 0, 0, 1024, NULL, "h"},
        {NULL, 0, NULL, 0, 0, 0, NULL, NULL},
    };
    assert_int_equal(hd_conf_keys_validate(bad, &f->d), 15);
    assert_string_equal(
        diag(f),
        "key table: `Timeout`: names are [a-z][a-z0-9_]*\n"
        "internal error: the built-in default of `timeout` is invalid: expected a duration such "
        "as 250ms, 10s, 5m, 24h or 2d, got \"10\" (add a unit: ms, s, m, h or d)\n"
        "internal error: the built-in default of `retries` is invalid: must be between 0 and 10 "
        "(got 20)\n"
        "key table: `retries`: declared twice\n"
        "internal error: the built-in default of `mode` is invalid: must be one of: slow, medium "
        "(got \"fast\")\n"
        "key table: `kind`: an enum needs choices written \"a|b|c\"\n"
        "internal error: the built-in default of `flag` is invalid: expected true or false (or "
        "yes/no, on/off), got \"maybe\"\n"
        "internal error: the built-in default of `list` is invalid: list items must be strings, "
        "got a list\n"
        "internal error: the built-in default of `map` is invalid: YAML syntax error: did not "
        "find expected ',' or '}' (while parsing a flow mapping at line 1)\n"
        "internal error: the built-in default of `key` is invalid: secrets must come from a file "
        "or a systemd credential: write file:/path or credential:NAME\n"
        "key table: `nohelp`: has no help text\n"
        "key table: `both`: is required and has a default\n"
        "key table: `range`: min is above max\n"
        "key table: `str`: choices given for a key that is not an enum\n"
        "internal error: the built-in default of `size` is invalid: must be between 0 and 1KiB "
        "(got 1MiB)\n");

    /* hd_conf_check on a table with a bad default says so instead of crashing */
    hd_diag_free(&f->d);
    const struct hd_conf_key *const t[] = {bad};
    assert_int_equal(parse(f, "flag: true\n"), 0);
    hd_conf_check(f->root, t, 1, NULL, &f->v, &f->d);
    assert_non_null(
        strstr(diag(f), "internal error: the built-in default of `retries` is invalid"));
}

static void test_tables_union(void **state)
{
    struct fx *f = *state;
    static const struct hd_conf_key core[] = {
        {"timeout", HD_CONF_DURATION, "30s", 0, 0, 0, NULL, "core timeout"},
        {"concurrency", HD_CONF_INT, "4", 0, 1, 64, NULL, "parallel sends"},
        {NULL, 0, NULL, 0, 0, 0, NULL, NULL},
    };
    const struct hd_conf_key *const t[] = {core, example_keys};
    assert_int_equal(parse(f, "url: http://h\nconcurency: 2\n"), 0);
    assert_int_equal(hd_conf_check(f->root, t, 2, NULL, &f->v, &f->d), 1);
    assert_string_equal(diag(f), "t.yaml:2:1: unknown key `concurency` (did you mean "
                                 "`concurrency`?)\n");
    /* "timeout" is in both: the first table's entry is the one */
    assert_int_equal(hd_conf_find(&f->v, "timeout")->i, 30000);
    assert_int_equal(hd_conf_find(&f->v, "concurrency")->i, 4);
    assert_ptr_equal(hd_conf_find(&f->v, "timeout")->key, &core[0]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_tree_positions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_documents, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reject_anchors_aliases, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reject_tags, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reject_multi_document, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reject_bad_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reject_nul_and_depth, setup, teardown),
        cmocka_unit_test_setup_teardown(test_syntax_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_parse_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_check_good, setup, teardown),
        cmocka_unit_test_setup_teardown(test_check_defaults, setup, teardown),
        cmocka_unit_test_setup_teardown(test_check_unknown_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_check_ignore_list, setup, teardown),
        cmocka_unit_test_setup_teardown(test_check_duplicates, setup, teardown),
        cmocka_unit_test_setup_teardown(test_check_missing_required_nested, setup, teardown),
        cmocka_unit_test_setup_teardown(test_check_wrong_kind, setup, teardown),
        cmocka_unit_test_setup_teardown(test_check_root_not_mapping, setup, teardown),
        cmocka_unit_test_setup_teardown(test_check_bool, setup, teardown),
        cmocka_unit_test_setup_teardown(test_check_int_bounds, setup, teardown),
        cmocka_unit_test_setup_teardown(test_check_duration_size, setup, teardown),
        cmocka_unit_test(test_parse_duration),
        cmocka_unit_test(test_parse_size_int),
        cmocka_unit_test_setup_teardown(test_check_enum, setup, teardown),
        cmocka_unit_test_setup_teardown(test_check_url, setup, teardown),
        cmocka_unit_test_setup_teardown(test_check_list_map_string, setup, teardown),
        cmocka_unit_test_setup_teardown(test_check_all_errors_collected, setup, teardown),
        cmocka_unit_test_setup_teardown(test_diag_cap_and_escaping, setup, teardown),
        cmocka_unit_test_setup_teardown(test_secret_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_secret_credential, setup, teardown),
        cmocka_unit_test_setup_teardown(test_secret_in_check, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keys_validate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tables_union, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
