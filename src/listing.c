/*
 * heraldd --list-channels: every available adapter (built-in and loaded from plugin_dir) with
 * its config keys, generated from the same key tables that check the configuration. Text for
 * people (help wrapped to the terminal's usual width), JSON for tools (--json).
 * heraldd --config-reference: every section's keys and the built-in adapters', as Markdown
 * (docs/configuration.md is that output).
 */
#include <stdio.h>

#include <jansson.h>

#include "common.h"
#include "conf.h"
#include "config.h"
#include "listing.h"
#include "registry.h"

static const char *const type_names[HD_CONF_TYPE_MAX] = {
    "string", "int", "bool", "duration", "size", "enum", "list", "url", "secret", "map"};

static const char *const rev_names[HD_REV_MAX] = {"update", "ignore", "retract_and_republish"};

static const struct {
    unsigned bit;
    const char *name;
} cap_names[] = {
    {HD_CAP_IDEMPOTENT, "idempotent"},
    {HD_CAP_RETRACT, "retract"},
    {HD_CAP_UPDATE, "update"},
    {HD_CAP_WINDOWED, "windowed"},
    {HD_CAP_MULTI_TARGET, "multi-target"},
    {HD_CAP_POLL, "poll"},
};

static const char *type_name(enum hd_conf_type t)
{
    return (unsigned)t < HD_CONF_TYPE_MAX ? type_names[t] : "?";
}

/* 90000 -> "90s", 3600000 -> "1h", 250 -> "250ms" */
static void duration(int64_t ms, char *out, size_t len)
{
    static const struct {
        int64_t ms;
        const char *unit;
    } u[] = {{86400000, "d"}, {3600000, "h"}, {60000, "m"}, {1000, "s"}};
    for (size_t i = 0; i < HD_ARRAY_LEN(u); i++)
        if (ms != 0 && ms % u[i].ms == 0) {
            snprintf(out, len, "%lld%s", (long long)(ms / u[i].ms), u[i].unit);
            return;
        }
    snprintf(out, len, "%lldms", (long long)ms);
}

static void size(int64_t b, char *out, size_t len)
{
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    size_t i = 0;
    while (i + 1 < HD_ARRAY_LEN(units) && b != 0 && b % 1024 == 0) {
        b /= 1024;
        i++;
    }
    snprintf(out, len, "%lld%s", (long long)b, units[i]);
}

static void bounds(const struct hd_conf_key *k, char *out, size_t len)
{
    char a[32], b[32];
    out[0] = '\0';
    if (k->type == HD_CONF_ENUM && k->choices)
        snprintf(out, len, "one of %s", k->choices);
    else if (k->min || k->max) {
        if (k->type == HD_CONF_DURATION) {
            duration(k->min, a, sizeof(a));
            duration(k->max, b, sizeof(b));
            snprintf(out, len, "%s..%s", a, b);
        } else if (k->type == HD_CONF_SIZE) {
            size(k->min, a, sizeof(a));
            size(k->max, b, sizeof(b));
            snprintf(out, len, "%s..%s", a, b);
        } else if (k->type == HD_CONF_STRING || k->type == HD_CONF_URL) {
            snprintf(out, len, "length %lld..%lld", (long long)k->min, (long long)k->max);
        } else {
            snprintf(out, len, "%lld..%lld", (long long)k->min, (long long)k->max);
        }
    }
}

/* Help text wrapped at 100 columns (counting a UTF-8 character as one column). */
static void wrapped(FILE *f, const char *text, const char *indent)
{
    const size_t width = 100 - strlen(indent);
    const char *p = text;
    while (*p) {
        const char *line = p, *cut = NULL;
        size_t cols = 0;
        while (*p && cols < width) {
            if (*p == ' ')
                cut = p;
            if (((unsigned char)*p & 0xC0) != 0x80)
                cols++;
            p++;
        }
        if (*p && cut && cut > line)
            p = cut;
        else
            while (*p && ((unsigned char)*p & 0xC0) == 0x80)
                p++; /* never split a character */
        fprintf(f, "%s%.*s\n", indent, (int)(p - line), line);
        while (*p == ' ')
            p++;
    }
}

static void keys_text(FILE *f, const struct hd_conf_key *t, const char *indent)
{
    char help_indent[32];
    snprintf(help_indent, sizeof(help_indent), "%s    ", indent);
    for (const struct hd_conf_key *k = t; k && k->name; k++) {
        char b[160];
        bounds(k, b, sizeof(b));
        int quote = k->def && (!k->def[0] || strchr(k->def, ' '));
        char line[1024];
        int n = snprintf(line, sizeof(line), "%s%-20s %-8s%s%s%s%s%s%s%s%s", indent, k->name,
                         type_name(k->type), k->required ? " required" : "",
                         k->def ? " default=" : "", quote ? "\"" : "", k->def ? k->def : "",
                         quote ? "\"" : "", b[0] ? " (" : "", b, b[0] ? ")" : "");
        n = n < 0 ? 0 : n >= (int)sizeof(line) ? (int)sizeof(line) - 1 : n;
        while (n > 0 && line[n - 1] == ' ')
            n--; /* no trailing blanks after a bare type */
        fprintf(f, "%.*s\n", n, line);
        if (k->help && k->help[0])
            wrapped(f, k->help, help_indent);
    }
}

static void list_text(FILE *f, const struct hd_registry *r)
{
    fprintf(f, "Settings every channel instance has (channels.<adapter>:<name>):\n");
    keys_text(f, hd_core_channel_keys, "  ");
    for (size_t i = 0; i < r->n; i++) {
        const struct hd_channel *c = r->chans[i];
        fprintf(f, "\nadapter %s %s (%s)\n", c->name, c->version ? c->version : "", r->origins[i]);
        if (c->description && c->description[0])
            wrapped(f, c->description, "  ");
        fprintf(f, "  capabilities:");
        int any = 0;
        for (size_t j = 0; j < HD_ARRAY_LEN(cap_names); j++)
            if (c->caps & cap_names[j].bit) {
                fprintf(f, " %s", cap_names[j].name);
                any = 1;
            }
        fprintf(f, "%s\n  on_revision default: %s\n", any ? "" : " none",
                (unsigned)c->default_on_revision < HD_REV_MAX ? rev_names[c->default_on_revision]
                                                              : "?");
        if (c->keys && c->keys->name) {
            fprintf(f, "  keys:\n");
            keys_text(f, c->keys, "    ");
        } else {
            fprintf(f, "  keys: none\n");
        }
    }
}

static json_t *keys_json(const struct hd_conf_key *t)
{
    json_t *a = json_array();
    for (const struct hd_conf_key *k = t; k && k->name; k++) {
        json_t *o =
            json_pack("{s:s, s:s, s:b, s:s?, s:s?}", "name", k->name, "type", type_name(k->type),
                      "required", k->required, "default", k->def, "help", k->help);
        if (!o)
            continue;
        if (k->min || k->max) {
            json_object_set_new(o, "min", json_integer(k->min));
            json_object_set_new(o, "max", json_integer(k->max));
        }
        if (k->type == HD_CONF_ENUM && k->choices) {
            json_t *ch = json_array();
            const char *p = k->choices;
            while (*p) {
                size_t n = strcspn(p, "|");
                json_array_append_new(ch, json_stringn(p, n));
                p += n + (p[n] == '|');
            }
            json_object_set_new(o, "choices", ch);
        }
        json_array_append_new(a, o);
    }
    return a;
}

static void list_json(FILE *f, const struct hd_registry *r)
{
    json_t *adapters = json_array();
    for (size_t i = 0; i < r->n; i++) {
        const struct hd_channel *c = r->chans[i];
        json_t *caps = json_array();
        for (size_t j = 0; j < HD_ARRAY_LEN(cap_names); j++)
            if (c->caps & cap_names[j].bit)
                json_array_append_new(caps, json_string(cap_names[j].name));
        json_t *a = json_pack(
            "{s:s, s:s?, s:s?, s:s, s:o, s:s, s:o}", "name", c->name, "version", c->version,
            "description", c->description, "origin", r->origins[i], "capabilities", caps,
            "default_on_revision",
            (unsigned)c->default_on_revision < HD_REV_MAX ? rev_names[c->default_on_revision] : "?",
            "keys", keys_json(c->keys));
        if (a)
            json_array_append_new(adapters, a);
    }
    json_t *doc = json_pack("{s:s, s:i, s:s, s:o, s:o}", "herald_version", HERALD_VERSION,
                            "abi_version", HD_ABI_VERSION, "build_signature", HD_BUILD_SIGNATURE,
                            "core_keys", keys_json(hd_core_channel_keys), "adapters", adapters);
    if (doc)
        json_dumpf(doc, f, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
    fputc('\n', f);
    json_decref(doc);
}

/* ---- --config-reference: Markdown --------------------------------------------------------- */

/* Text in a table cell: | escaped, choices' | shown as a comma list. */
static void md_cell(FILE *f, const char *s, int choices)
{
    for (; s && *s; s++) {
        if (*s == '|')
            fputs(choices ? ", " : "\\|", f);
        else
            fputc(*s, f);
    }
}

static void keys_md(FILE *f, const struct hd_conf_key *t)
{
    fprintf(f, "| key | type | default | allowed | meaning |\n|---|---|---|---|---|\n");
    for (const struct hd_conf_key *k = t; k && k->name; k++) {
        char b[160];
        bounds(k, b, sizeof(b));
        fprintf(f, "| `%s` | %s | ", k->name, type_name(k->type));
        if (k->required)
            fputs("*required*", f);
        else if (k->def)
            fprintf(f, "`%s`", k->def[0] ? k->def : "\"\"");
        fputs(" | ", f);
        md_cell(f, b, 1);
        fputs(" | ", f);
        md_cell(f, k->help, 0);
        fputs(" |\n", f);
    }
}

void hd_config_reference(FILE *f, const struct hd_registry *r)
{
    static const struct {
        const char *name, *intro;
        const struct hd_conf_key *keys;
    } sections[] = {
        {"daemon", "The process: where it keeps its state, how it logs and stops.", hd_daemon_keys},
        {"kafka", "The brokers, the three topics and the consumer group.", hd_kafka_keys},
        {"store", "The SQLite store: group commit and durability (docs/design.md).", hd_store_keys},
        {"admin", "The admin API, metrics and dashboard (docs/operations.md).", hd_admin_keys},
    };
    fprintf(f,
            "# Configuration reference\n\n"
            "Generated by `heraldd --config-reference` from the key tables that check a "
            "configuration;\na test keeps this file equal to that output. `config/herald.yaml` is "
            "an annotated example,\nand `heraldd --check-config FILE` reports every error of a "
            "file with its file:line.\n\n"
            "Values: durations take `ms`, `s`, `m`, `h`, `d` (`90s`); sizes `B`, `KiB`, `MiB`, "
            "`GiB`; a\nsecret is `file:/path` or `credential:NAME` (a systemd credential), never "
            "the secret itself.\nAn unknown key is an error, so a misspelt setting cannot pass "
            "unnoticed.\n");
    for (size_t i = 0; i < HD_ARRAY_LEN(sections); i++) {
        fprintf(f, "\n## %s\n\n%s\n\n", sections[i].name, sections[i].intro);
        keys_md(f, sections[i].keys);
    }
    fprintf(f, "\n## channels\n\nOne entry per channel instance, named `<adapter>:<name>` "
               "(`website:portal`,\n`ejiatong:streets`): the settings every instance has, then "
               "its adapter's.\n\n### Settings of every channel instance\n\n");
    keys_md(f, hd_core_channel_keys);
    for (size_t i = 0; i < r->n; i++) {
        const struct hd_channel *c = r->chans[i];
        fprintf(f, "\n### Adapter `%s` %s\n\n", c->name, c->version ? c->version : "");
        if (c->description && c->description[0])
            fprintf(f, "%s.\n", c->description);
        fprintf(f, "Capabilities:");
        int any = 0;
        for (size_t j = 0; j < HD_ARRAY_LEN(cap_names); j++)
            if (c->caps & cap_names[j].bit) {
                fprintf(f, "%s %s", any ? "," : "", cap_names[j].name);
                any = 1;
            }
        fprintf(f, "%s; `on_revision` default: %s.\n\n", any ? "" : " none",
                (unsigned)c->default_on_revision < HD_REV_MAX ? rev_names[c->default_on_revision]
                                                              : "?");
        if (c->keys && c->keys->name)
            keys_md(f, c->keys);
        else
            fprintf(f, "No settings of its own.\n");
    }
    fprintf(f, "\n## routing\n\nWhich items go to which instances (an item may also name its "
               "channels itself).\n\n");
    keys_md(f, hd_routing_keys);
    fprintf(f, "\n### A rule (`routing.rules[]`)\n\n");
    keys_md(f, hd_route_keys);
    fprintf(f, "\n### A rule's `match`\n\nEvery field named must match; within a field, any of "
               "the values.\n\n");
    keys_md(f, hd_match_keys);
}

void hd_list_channels(FILE *f, const struct hd_registry *r, int json)
{
    if (json)
        list_json(f, r);
    else
        list_text(f, r);
}

int hd_list_load_plugins(const char *config_path, struct hd_registry *r, struct hd_diag *d)
{
    struct hd_node *root = NULL;
    int before = d->n_errors;
    if (hd_conf_parse_file(config_path, &root, d) != 0)
        return d->n_errors - before;
    const struct hd_node *daemon = hd_node_get(root, "daemon");
    const struct hd_node *dir = daemon ? hd_node_get(daemon, "plugin_dir") : NULL;
    if (dir && dir->kind == HD_NODE_SCALAR && !dir->null && dir->scalar[0])
        hd_registry_load_dir(r, dir->scalar, d);
    else if (dir && !dir->null)
        hd_diag_add(d, dir, "daemon.plugin_dir: expected a directory path");
    hd_node_free(root);
    return d->n_errors - before;
}
