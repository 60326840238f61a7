/*
 * heraldd --list-channels: every available adapter (built-in and loaded) with its config keys,
 * generated from the same key tables that check the configuration.
 */
#include <stdio.h>

#include "common.h"
#include "config.h"
#include "listing.h"
#include "registry.h"

static const char *const type_names[HD_CONF_TYPE_MAX] = {
    "string", "int", "bool", "duration", "size", "enum", "list", "url", "secret", "map"};

static void bounds(const struct hd_conf_key *k, char *out, size_t len)
{
    out[0] = '\0';
    if (k->type == HD_CONF_ENUM && k->choices)
        snprintf(out, len, "one of %s", k->choices);
    else if (k->min || k->max) {
        if (k->type == HD_CONF_DURATION)
            snprintf(out, len, "%lldms..%lldms", (long long)k->min, (long long)k->max);
        else if (k->type == HD_CONF_STRING || k->type == HD_CONF_URL)
            snprintf(out, len, "length %lld..%lld", (long long)k->min, (long long)k->max);
        else
            snprintf(out, len, "%lld..%lld", (long long)k->min, (long long)k->max);
    }
}

static void keys(FILE *f, const struct hd_conf_key *t, const char *indent)
{
    for (const struct hd_conf_key *k = t; k && k->name; k++) {
        char b[128];
        bounds(k, b, sizeof(b));
        fprintf(f, "%s%-20s %-8s%s%s%s%s%s%s\n%s    %s\n", indent, k->name,
                (unsigned)k->type < HD_CONF_TYPE_MAX ? type_names[k->type] : "?",
                k->required ? " required" : "", k->def ? " default=" : "", k->def ? k->def : "",
                b[0] ? " (" : "", b, b[0] ? ")" : "", indent, k->help ? k->help : "");
    }
}

void hd_list_channels(FILE *f, const struct hd_registry *r)
{
    fprintf(f, "Settings every channel instance has (channels.<adapter>:<name>):\n");
    keys(f, hd_core_channel_keys, "  ");
    for (size_t i = 0; i < r->n; i++) {
        const struct hd_channel *c = r->chans[i];
        fprintf(f, "\nadapter %s %s (%s)\n  %s\n  capabilities:%s%s%s%s%s%s\n", c->name,
                c->version ? c->version : "", r->origins[i], c->description ? c->description : "",
                c->caps & HD_CAP_IDEMPOTENT ? " idempotent" : "",
                c->caps & HD_CAP_RETRACT ? " retract" : "", c->caps & HD_CAP_UPDATE ? " update" : "",
                c->caps & HD_CAP_WINDOWED ? " windowed" : "",
                c->caps & HD_CAP_MULTI_TARGET ? " multi-target" : "",
                c->caps & HD_CAP_POLL ? " poll" : "");
        if (c->keys && c->keys->name) {
            fprintf(f, "  keys:\n");
            keys(f, c->keys, "    ");
        }
    }
}
