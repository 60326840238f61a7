/* heraldd --list-channels [--json] [-c FILE] (listing.c). */
#ifndef HD_LISTING_H
#define HD_LISTING_H

#include <stdio.h>

struct hd_registry;
struct hd_diag;

/* Every adapter of r with its settings, generated from the key tables that check the
 * configuration: as text for people, or as one JSON document (json != 0) for tools. */
void hd_list_channels(FILE *f, const struct hd_registry *r, int json);
/* Every section's keys and r's adapters', as Markdown (docs/configuration.md). */
void hd_config_reference(FILE *f, const struct hd_registry *r);
/* Load the adapters of `config_path`'s daemon.plugin_dir into r (nothing else of the file is
 * checked: listing works while the rest of a configuration is being written). Refusals and a
 * file that cannot be read go to d; returns the number of problems. */
int hd_list_load_plugins(const char *config_path, struct hd_registry *r, struct hd_diag *d);

#endif
