/*
 * Routing rules (route.h). Pure functions of the configuration and the item: unit-tested, and
 * run by intake inside the store batch of the message they route.
 */
#include <jansson.h>

#include "common.h"
#include "route.h"

int hd_route_column_match(const char *pattern, const char *column)
{
    if (!pattern || !column)
        return 0;
    size_t n = strlen(pattern);
    if (n >= 2 && strcmp(pattern + n - 2, "/*") == 0) {
        size_t base = n - 2;
        return strncmp(pattern, column, base) == 0 && (column[base] == '\0' || column[base] == '/');
    }
    return strcmp(pattern, column) == 0;
}

static int in_list(char *const *list, size_t n, const char *v)
{
    if (n == 0)
        return 1; /* no condition */
    for (size_t i = 0; v && i < n; i++)
        if (strcmp(list[i], v) == 0)
            return 1;
    return 0;
}

static int rule_matches(const struct hd_route *r, const struct hd_item_doc *doc)
{
    const struct hd_item *v = &doc->view;
    const char *kind = doc->publisher_kind;
    if (!in_list(r->category, r->n_category, v->category) ||
        !in_list(r->publisher, r->n_publisher, v->publisher_code) ||
        !in_list(r->publisher_kind, r->n_publisher_kind, kind) ||
        !in_list(r->priority, r->n_priority, v->urgent ? "urgent" : "normal"))
        return 0;
    if (r->n_column == 0)
        return 1;
    for (size_t i = 0; i < r->n_column; i++)
        if (hd_route_column_match(r->column[i], v->column))
            return 1;
    return 0;
}

static void add_inst(struct hd_routing *out, const struct hd_instance_conf *ic, size_t cap)
{
    for (size_t i = 0; i < out->n; i++)
        if (out->insts[i] == ic)
            return;
    if (out->n < cap)
        out->insts[out->n++] = ic;
}

int hd_route_item(const struct hd_config *c, const struct hd_item_doc *doc, struct hd_routing *out)
{
    memset(out, 0, sizeof(*out));
    out->insts = calloc(c->n_instances + 1, sizeof(*out->insts));
    if (!out->insts)
        return HD_ENOMEM;
    json_t *ex = json_object(), *rules = json_array(), *ignored = json_array(), *ids = json_array();
    if (c->item_targets_override && doc->n_target_channels > 0) {
        /* the item names its channels: an instance id, or an adapter name for all its instances */
        for (size_t k = 0; k < doc->n_target_channels; k++) {
            const char *want = doc->target_channels[k];
            int hit = 0;
            for (size_t i = 0; i < c->n_instances; i++) {
                const struct hd_instance_conf *ic = &c->instances[i];
                if (strcmp(ic->id, want) == 0 || strcmp(ic->adapter, want) == 0) {
                    add_inst(out, ic, c->n_instances);
                    hit = 1;
                }
            }
            if (!hit)
                json_array_append_new(ignored, json_string(want));
        }
        json_array_append_new(rules, json_string("targets.channels"));
    } else {
        for (size_t r = 0; r < c->n_routes; r++) {
            if (!rule_matches(&c->routes[r], doc))
                continue;
            json_array_append_new(rules, json_string(c->routes[r].name));
            for (size_t k = 0; k < c->routes[r].n_to; k++) {
                const struct hd_instance_conf *ic = hd_config_instance(c, c->routes[r].to[k]);
                if (ic)
                    add_inst(out, ic, c->n_instances);
            }
        }
    }
    /* keep configuration order (the entries point into c->instances: sort them by address),
     * drop disabled instances; sorting in place never overwrites an entry not yet looked at */
    for (size_t j = 1; j < out->n; j++)
        for (size_t k = j; k > 0 && out->insts[k - 1] > out->insts[k]; k--) {
            const struct hd_instance_conf *t = out->insts[k];
            out->insts[k] = out->insts[k - 1];
            out->insts[k - 1] = t;
        }
    size_t w = 0;
    for (size_t j = 0; j < out->n; j++)
        if (out->insts[j]->enabled)
            out->insts[w++] = out->insts[j];
    out->n = w;
    for (size_t i = 0; i < out->n; i++)
        json_array_append_new(ids, json_string(out->insts[i]->id));
    json_object_set_new(ex, "rules", rules);
    json_object_set_new(ex, "instances", ids);
    if (json_array_size(ignored))
        json_object_set_new(ex, "unknown_channels", ignored);
    else
        json_decref(ignored);
    out->explain = json_dumps(ex, JSON_COMPACT);
    json_decref(ex);
    return 0;
}

void hd_routing_free(struct hd_routing *r)
{
    free(r->insts);
    free(r->explain);
    memset(r, 0, sizeof(*r));
}

size_t hd_route_targets(const struct hd_instance_conf *ic, const struct hd_item_doc *doc,
                        const char ***out, size_t *n_unknown)
{
    *n_unknown = 0;
    if (ic->n_targets == 0) {
        *out = calloc(1, sizeof(char *));
        if (!*out)
            return 0;
        (*out)[0] = "";
        return 1;
    }
    const char **want = NULL;
    size_t n_want = 0;
    if (ic->targets_from == HD_TARGETS_STREETS) {
        want = doc->target_streets;
        n_want = doc->n_target_streets;
    } else if (ic->targets_from == HD_TARGETS_BOARDS) {
        want = doc->target_boards;
        n_want = doc->n_target_boards;
    }
    *out = calloc(ic->n_targets + 1, sizeof(char *));
    if (!*out)
        return 0;
    size_t n = 0;
    if (n_want == 0) {
        for (size_t i = 0; i < ic->n_targets; i++)
            (*out)[n++] = ic->targets[i];
        return n;
    }
    for (size_t k = 0; k < n_want; k++) {
        int hit = 0;
        for (size_t i = 0; i < ic->n_targets; i++)
            if (strcmp(ic->targets[i], want[k]) == 0) {
                int dup = 0;
                for (size_t j = 0; j < n; j++)
                    dup |= strcmp((*out)[j], want[k]) == 0;
                if (!dup)
                    (*out)[n++] = ic->targets[i];
                hit = 1;
            }
        if (!hit)
            (*n_unknown)++;
    }
    return n;
}
