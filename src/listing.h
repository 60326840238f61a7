/* heraldd --list-channels (listing.c). */
#ifndef HD_LISTING_H
#define HD_LISTING_H

#include <stdio.h>

struct hd_registry;
void hd_list_channels(FILE *f, const struct hd_registry *r);

#endif
