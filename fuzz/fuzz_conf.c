/*
 * libFuzzer harness for the configuration loader: bytes -> hd_conf_parse_string -> hd_conf_check
 * against representative key tables (every type but SECRET, which would read files), the way
 * config.c walks a file: a top-level table, and a per-instance table for each entry of
 * `channels:`. Besides memory errors it checks invariants and aborts when one breaks: every node
 * has a position, every error is one diag line, checked values respect their key's bounds.
 *
 * Built with -DHERALD_FUZZ_REPLAY it gets a main() that replays a corpus (files or directories
 * given as arguments, else $HERALD_SOURCE_DIR/fuzz/corpus/conf) so the corpus runs under the
 * ordinary sanitizer build too.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common.h"
#include "conf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct hd_conf_key top_keys[] = {
    {"log_level", HD_CONF_ENUM, "info", 0, 0, 0, "error|warn|info|debug", "log verbosity"},
    {"drain_timeout", HD_CONF_DURATION, "10s", 0, 1000, 3600000, NULL, "shutdown drain"},
    {"state_dir", HD_CONF_STRING, "/var/lib/herald", 0, 1, 4096, NULL, "state directory"},
    {"brokers", HD_CONF_LIST, "[localhost:9092]", 0, 0, 0, NULL, "Kafka bootstrap servers"},
    {"kafka_settings", HD_CONF_MAP, "{}", 0, 0, 0, NULL, "librdkafka pass-through"},
    {"max_message", HD_CONF_SIZE, "1MiB", 0, 1024, 64LL << 20, NULL, "largest item"},
    {"workers", HD_CONF_INT, "4", 0, 1, 64, NULL, "store threads"},
    {"admin_url", HD_CONF_URL, NULL, 0, 0, 0, NULL, "public admin URL"},
    {"demo", HD_CONF_BOOL, "false", 0, 0, 0, NULL, "embedded demo"},
    {"cluster", HD_CONF_STRING, NULL, 1, 0, 0, NULL, "cluster name"},
    {NULL, 0, NULL, 0, 0, 0, NULL, NULL},
};

static const struct hd_conf_key channel_keys[] = {
    {"url", HD_CONF_URL, NULL, 1, 0, 0, NULL, "endpoint"},
    {"timeout", HD_CONF_DURATION, "30s", 0, 100, 600000, NULL, "request timeout"},
    {"retries", HD_CONF_INT, "5", 0, 0, 100, NULL, "attempts"},
    {"on_revision", HD_CONF_ENUM, "update", 0, 0, 0, "update|ignore|retract_and_republish",
     "revisions"},
    {"streets", HD_CONF_LIST, "[]", 0, 0, 0, NULL, "targets"},
    {"headers", HD_CONF_MAP, NULL, 0, 0, 0, NULL, "extra headers"},
    {"max_body", HD_CONF_SIZE, "64KiB", 0, 0, 0, NULL, "body cap"},
    {"enabled", HD_CONF_BOOL, "yes", 0, 0, 0, NULL, "enabled"},
    {NULL, 0, NULL, 0, 0, 0, NULL, NULL},
};

static size_t diag_lines(const struct hd_diag *d)
{
    size_t n = 0;
    for (size_t i = 0; d->text && i < d->len; i++)
        n += d->text[i] == '\n';
    return n;
}

static void check_tree(const struct hd_node *n, int depth)
{
    if (n->line < 1 || n->col < 1 || depth > HD_CONF_MAX_DEPTH + 1)
        abort();
    if (n->kind == HD_NODE_SCALAR && (!n->scalar || n->n))
        abort();
    for (size_t i = 0; i < n->n; i++) {
        if (n->kind == HD_NODE_MAP && (!n->keys[i] || !n->keys[i][0] || n->key_lines[i] < 1))
            abort();
        check_tree(n->kids[i], depth + 1);
    }
}

static void check_values(const struct hd_conf_values *v)
{
    for (size_t i = 0; i < v->n; i++) {
        const struct hd_conf_value *x = &v->v[i];
        const struct hd_conf_key *k = x->key;
        if (!x->set)
            continue;
        if ((k->type == HD_CONF_INT || k->type == HD_CONF_DURATION || k->type == HD_CONF_SIZE) &&
            (k->min || k->max) && (x->i < k->min || x->i > k->max))
            abort();
        if (k->type == HD_CONF_BOOL && x->i != 0 && x->i != 1)
            abort();
        if ((k->type == HD_CONF_STRING || k->type == HD_CONF_URL || k->type == HD_CONF_ENUM) &&
            !x->str)
            abort();
        if (k->type == HD_CONF_URL && strncasecmp(x->str, "http", 4) != 0)
            abort();
    }
}

static void run_check(const struct hd_node *map, const struct hd_conf_key *keys,
                      const char *const *ignore, struct hd_diag *d)
{
    const struct hd_conf_key *const tables[] = {keys};
    struct hd_conf_values v;
    int before = d->n_errors;
    int n = hd_conf_check(map, tables, 1, ignore, &v, d);
    if (n != d->n_errors - before || n < 0)
        abort();
    check_values(&v);
    hd_conf_values_free(&v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const ignore[] = {"channels", NULL};
    struct hd_diag d;
    struct hd_node *root = NULL;

    hd_diag_init(&d);
    int rc = hd_conf_parse_string("fuzz.yaml", (const char *)data, size, &root, &d);
    if (rc == 0) {
        if (!root || root->kind > HD_NODE_MAP)
            abort();
        check_tree(root, 0);
        run_check(root, top_keys, ignore, &d);
        const struct hd_node *ch = hd_node_get(root, "channels");
        if (ch && ch->kind == HD_NODE_MAP) {
            hd_conf_check_unique(ch, &d);
            for (size_t i = 0; i < ch->n; i++)
                run_check(ch->kids[i], channel_keys, NULL, &d);
        }
        /* the shared parsers on every scalar at the top */
        for (size_t i = 0; root->kind == HD_NODE_MAP && i < root->n; i++) {
            const struct hd_node *s = root->kids[i];
            int64_t x;
            int b;
            if (s->kind != HD_NODE_SCALAR)
                continue;
            hd_parse_duration(s->scalar, &x);
            hd_parse_size(s->scalar, &x);
            hd_parse_int(s->scalar, &x);
            hd_parse_bool(s->scalar, &b);
        }
    } else if (root || d.n_errors == 0) {
        abort(); /* a failed parse says why and leaves nothing behind */
    }
    if (diag_lines(&d) != (size_t)HD_MIN(d.n_errors, HD_DIAG_MAX_LINES + 1))
        abort();
    hd_node_free(root);
    hd_diag_free(&d);
    return 0;
}

#ifdef HERALD_FUZZ_REPLAY
#include <dirent.h>
#include <sys/stat.h>

static int replay_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        return 1;
    }
    char *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len == cap) {
            cap = cap ? cap * 2 : 4096;
            char *nb = realloc(buf, cap);
            if (!nb) {
                free(buf);
                fclose(f);
                return 1;
            }
            buf = nb;
        }
        size_t r = fread(buf + len, 1, cap - len, f);
        if (r == 0)
            break;
        len += r;
    }
    fclose(f);
    LLVMFuzzerTestOneInput((const uint8_t *)buf, len);
    free(buf);
    return 0;
}

static int replay(const char *path, int *count)
{
    struct stat st;
    if (stat(path, &st) < 0) {
        perror(path);
        return 1;
    }
    if (!S_ISDIR(st.st_mode)) {
        (*count)++;
        return replay_file(path);
    }
    DIR *dir = opendir(path);
    if (!dir) {
        perror(path);
        return 1;
    }
    int bad = 0;
    struct dirent *e;
    while ((e = readdir(dir))) {
        if (e->d_name[0] == '.')
            continue;
        char p[4096];
        snprintf(p, sizeof(p), "%s/%s", path, e->d_name);
        bad |= replay(p, count);
    }
    closedir(dir);
    return bad;
}

int main(int argc, char **argv)
{
    int bad = 0, count = 0;
    if (argc > 1) {
        for (int i = 1; i < argc; i++)
            bad |= replay(argv[i], &count);
    } else {
        const char *src = getenv("HERALD_SOURCE_DIR");
        char p[4096];
        snprintf(p, sizeof(p), "%s/fuzz/corpus/conf", src ? src : ".");
        bad = replay(p, &count);
    }
    printf("replayed %d inputs\n", count);
    return bad || count == 0;
}
#endif
