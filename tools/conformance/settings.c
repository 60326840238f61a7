/*
 * The instance's settings (kit.h). --config FILE is a YAML mapping of what would go under
 * channels."<adapter>:<name>" in heraldd's configuration; @SIM@ in any value becomes the URL of
 * the kit's proxy (which forwards to --sim), @ASSETS@ the URL of its asset server. The kit never
 * checks settings itself: it writes a whole heraldd configuration around them and loads it with
 * the daemon's own loader (hd_config_load), so unknown, duplicate, missing and mistyped keys are
 * refused by exactly the checks heraldd runs. The instance's timeout and connect_timeout are the
 * kit's (--timeout): the fault scenarios wait for them. depends_on names instances the kit does
 * not run: heraldd would refuse it without them, so it is left out of the file and put back into
 * the loaded instance (the adapter reads it as usual), and render gets the first one's result (a
 * remote id and a portal URL) as heraldd would pass it once that instance delivered.
 */
#include <jansson.h>

#include "common.h"
#include "config.h"
#include "kit.h"

static char *substitute(const char *s)
{
    struct {
        const char *from, *to;
    } subst[] = {{"@SIM@", kit_proxy_url(K->proxy)}, {"@ASSETS@", kit_assets_url(K->assets)}};
    char *cur = strdup(s);
    for (size_t i = 0; cur && i < HD_ARRAY_LEN(subst); i++) {
        char *at;
        while (cur && (at = strstr(cur, subst[i].from))) {
            char *next = hd_asprintf("%.*s%s%s", (int)(at - cur), cur, subst[i].to,
                                     at + strlen(subst[i].from));
            free(cur);
            cur = next;
        }
    }
    return cur;
}

static void substitute_all(struct hd_node *n)
{
    if (n->kind == HD_NODE_SCALAR && n->scalar && strchr(n->scalar, '@')) {
        char *s = substitute(n->scalar);
        if (s) {
            free(n->scalar);
            n->scalar = s;
        }
    }
    for (size_t i = 0; i < n->n; i++)
        substitute_all(n->kids[i]);
}

int kit_settings_load(struct kit *k, struct hd_node **out, char *err, size_t errlen)
{
    struct hd_diag d;
    hd_diag_init(&d);
    struct hd_node *root = NULL;
    int rc = k->settings_path ? hd_conf_parse_file(k->settings_path, &root, &d)
                              : hd_conf_parse_string(NULL, "{}", 2, &root, &d);
    if (rc != 0) {
        snprintf(err, errlen, "%s", d.text ? d.text : "cannot read the settings");
        hd_diag_free(&d);
        return HD_EINVAL;
    }
    hd_diag_free(&d);
    if (root->kind != HD_NODE_MAP) {
        snprintf(err, errlen, "%s: expected a mapping of the instance's settings",
                 k->settings_path);
        hd_node_free(root);
        return HD_EINVAL;
    }
    substitute_all(root);
    const struct hd_node *deps = hd_node_get(root, "depends_on");
    if (deps && deps->kind == HD_NODE_SEQ && deps->n > 0 && deps->kids[0]->kind == HD_NODE_SCALAR)
        k->dep_instance = strdup(deps->kids[0]->scalar);
    *out = root;
    return 0;
}

/* ---- writing YAML the loader reads back as the same tree ------------------------------------- */

static int plain_ok(const char *s)
{
    if (!s[0] || strchr("-?:,[]{}#&*!|>'\"%@` ", s[0]) || s[strlen(s) - 1] == ' ')
        return 0;
    for (const char *p = s; *p; p++)
        if ((unsigned char)*p < 0x20 || (p[0] == ':' && (p[1] == ' ' || !p[1])) ||
            (p[0] == ' ' && p[1] == '#'))
            return 0;
    return 1;
}

static void emit_text(FILE *f, const char *s, int quoted)
{
    if (!quoted && plain_ok(s)) {
        fputs(s, f);
        return;
    }
    json_t *j = json_string(s);
    char *q = j ? json_dumps(j, JSON_ENCODE_ANY) : NULL;
    fputs(q ? q : "\"\"", f);
    free(q);
    json_decref(j);
}

static void emit(FILE *f, const struct hd_node *n, int indent)
{
    switch (n->kind) {
    case HD_NODE_SCALAR:
        fputc(' ', f);
        if (n->null)
            fputs("~", f);
        else
            emit_text(f, n->scalar, n->quoted);
        fputc('\n', f);
        return;
    case HD_NODE_MAP:
        if (n->n == 0) {
            fputs(" {}\n", f);
            return;
        }
        fputc('\n', f);
        for (size_t i = 0; i < n->n; i++) {
            fprintf(f, "%*s", indent + 2, "");
            emit_text(f, n->keys[i], 0);
            fputc(':', f);
            emit(f, n->kids[i], indent + 2);
        }
        return;
    case HD_NODE_SEQ:
        if (n->n == 0) {
            fputs(" []\n", f);
            return;
        }
        fputc('\n', f);
        for (size_t i = 0; i < n->n; i++) {
            fprintf(f, "%*s-", indent + 2, "");
            emit(f, n->kids[i], indent + 4);
        }
        return;
    }
}

int kit_settings_write(struct kit *k, const struct hd_node *settings, const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return HD_EIO;
    fprintf(f,
            "# written by herald-conformance: the settings under test in a heraldd "
            "configuration\ndaemon:\n  state_dir: \"%s\"\n  log_level: %s\nkafka:\n  brokers: "
            "\"127.0.0.1:9\"\nchannels:\n  \"%s:kit\":\n    timeout: %lldms\n    "
            "connect_timeout: %lldms\n",
            k->tmp,
            k->verbose > 1 ? "debug"
            : k->verbose   ? "info"
                           : "warn",
            k->chan->name, (long long)k->timeout_ms, (long long)k->timeout_ms);
    for (size_t i = 0; i < settings->n; i++) {
        if (!strcmp(settings->keys[i], "timeout") ||
            !strcmp(settings->keys[i], "connect_timeout") ||
            !strcmp(settings->keys[i], "depends_on"))
            continue; /* the kit's; instances the kit does not run */
        fprintf(f, "    ");
        emit_text(f, settings->keys[i], 0);
        fputc(':', f);
        emit(f, settings->kids[i], 4);
    }
    return fclose(f) == 0 ? 0 : HD_EIO;
}

/* depends_on of `settings`, back into the loaded instance (its core values and its list). */
static void put_back_depends_on(const struct hd_node *settings, struct hd_instance_conf *ic)
{
    const struct hd_node *deps = hd_node_get(settings, "depends_on");
    struct hd_conf_value *v = (struct hd_conf_value *)hd_conf_find(&ic->core, "depends_on");
    if (!deps || deps->kind != HD_NODE_SEQ || !deps->n || !v || ic->n_depends_on)
        return;
    v->list = calloc(deps->n, sizeof(*v->list));
    ic->depends_on = calloc(deps->n, sizeof(*ic->depends_on));
    if (!v->list || !ic->depends_on)
        return;
    for (size_t i = 0; i < deps->n; i++) {
        const char *name = deps->kids[i]->scalar ? deps->kids[i]->scalar : "";
        v->list[i] = strdup(name);
        ic->depends_on[i] = strdup(name);
    }
    v->n_list = ic->n_depends_on = deps->n;
    v->set = 1;
}

int kit_config_load(struct kit *k, const struct hd_node *settings, struct hd_config **cfg,
                    struct hd_diag *d)
{
    char path[400];
    snprintf(path, sizeof(path), "%s/conformance.yaml", k->tmp);
    if (kit_settings_write(k, settings, path) != 0) {
        hd_diag_addf(d, path, 0, 0, "cannot write: %s", strerror(errno));
        return HD_EIO;
    }
    int rc = hd_config_load(path, k->reg, cfg, d);
    if (rc == 0 && (*cfg)->n_instances == 1)
        put_back_depends_on(settings, &(*cfg)->instances[0]);
    return rc;
}

/* ---- edits -------------------------------------------------------------------------------------
 */

static struct hd_node *copy(const struct hd_node *n)
{
    struct hd_node *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->kind = n->kind;
    c->line = n->line;
    c->col = n->col;
    c->quoted = n->quoted;
    c->null = n->null;
    c->scalar = n->scalar ? strdup(n->scalar) : NULL;
    if (n->n) {
        c->kids = calloc(n->n + 1, sizeof(*c->kids));
        if (n->kind == HD_NODE_MAP) {
            c->keys = calloc(n->n + 1, sizeof(*c->keys));
            c->key_lines = calloc(n->n + 1, sizeof(int));
            c->key_cols = calloc(n->n + 1, sizeof(int));
        }
    }
    for (size_t i = 0; i < n->n; i++) {
        c->kids[c->n] = copy(n->kids[i]);
        if (c->keys)
            c->keys[c->n] = strdup(n->keys[i]);
        c->n++;
    }
    return c;
}

struct hd_node *kit_node_edit(const struct hd_node *map, const char *drop, const char *add_key,
                              const char *add_value)
{
    struct hd_node *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->kind = HD_NODE_MAP;
    c->kids = calloc(map->n + 2, sizeof(*c->kids));
    c->keys = calloc(map->n + 2, sizeof(*c->keys));
    c->key_lines = calloc(map->n + 2, sizeof(int));
    c->key_cols = calloc(map->n + 2, sizeof(int));
    for (size_t i = 0; i < map->n; i++) {
        if (drop && !strcmp(map->keys[i], drop))
            continue;
        c->keys[c->n] = strdup(map->keys[i]);
        c->kids[c->n] = copy(map->kids[i]);
        c->n++;
    }
    if (add_key) {
        struct hd_node *v = calloc(1, sizeof(*v));
        if (v) {
            v->kind = HD_NODE_SCALAR;
            v->scalar = strdup(add_value ? add_value : "");
            v->null = add_value == NULL;
            c->keys[c->n] = strdup(add_key);
            c->kids[c->n] = v;
            c->n++;
        }
    }
    return c;
}
