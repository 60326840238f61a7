/*
 * The admin HTTP server (libevent evhttp, on the daemon's loop): /healthz, /readyz, /metrics, the
 * versioned JSON API under /api/v1/ and the dashboard. Loopback by default, named bearer tokens
 * with roles (docs/operations.md).
 */
#ifndef HD_ADMIN_H
#define HD_ADMIN_H

#include <stddef.h>

struct hd_admin;
struct hd_daemon;
struct hd_config;

int hd_admin_create(struct hd_daemon *d, const struct hd_config *cfg, struct hd_admin **out,
                    char *err, size_t errlen);
void hd_admin_destroy(struct hd_admin *a);
/* "http://127.0.0.1:PORT" */
const char *hd_admin_url(const struct hd_admin *a);
/* Readiness as far as the daemon knows (started and not stopping). */
void hd_admin_set_ready(struct hd_admin *a, int ready);

#endif
