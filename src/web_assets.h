/*
 * The dashboard's files (web/), embedded into heraldd at build time by web/embed.cmake, which
 * generates web_assets.c in the build directory. Served by admin.c at / and /assets/<name>.
 */
#ifndef HD_WEB_ASSETS_H
#define HD_WEB_ASSETS_H

#include <stddef.h>

struct hd_web_asset {
    const char *name;  /* "index.html", "app.js", ... */
    const char *ctype; /* Content-Type */
    const unsigned char *data;
    size_t len;
};
/* Terminated by an entry with name NULL. */
extern const struct hd_web_asset hd_web_assets[];

#endif
