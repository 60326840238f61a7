/*
 * Routing: which channel instances (and which targets inside multi-target instances) an item goes
 * to. Config rules match item fields (category, publisher, publisher kind, column, priority); an
 * item's own targets.channels, when present and allowed, replaces the rules.
 */
#ifndef HD_ROUTE_H
#define HD_ROUTE_H

#include <stddef.h>

#include "config.h"
#include "item.h"

struct hd_routing {
    const struct hd_instance_conf **insts; /* distinct, in configuration order */
    size_t n;
    char *explain; /* JSON: {"rules":[names],"instances":[ids],"ignored":[...]} */
};

int hd_route_item(const struct hd_config *c, const struct hd_item_doc *doc, struct hd_routing *out);
void hd_routing_free(struct hd_routing *r);
/* The targets of `ic` for doc: "" alone for single-target instances; for multi-target ones the
 * item's list (streets/boards) intersected with the configured targets, or every configured
 * target when the item names none. Returns the count; *out is malloc'd (strings borrowed). */
size_t hd_route_targets(const struct hd_instance_conf *ic, const struct hd_item_doc *doc,
                        const char ***out, size_t *n_unknown);
/* Does a rule's column pattern match the item's column? A pattern ending in "/" + "*" matches
 * that column and everything below it. */
int hd_route_column_match(const char *pattern, const char *column);

#endif
