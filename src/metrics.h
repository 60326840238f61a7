/*
 * Metrics registry for what the core does not count itself: adapter-defined counters
 * (hd_services.metric_add) and intake counters. The Prometheus exposition (/metrics) renders
 * these together with the engine's and the store's figures.
 */
#ifndef HD_METRICS_H
#define HD_METRICS_H

#include <stdint.h>

/* herald_channel_<name>_total{instance="..",label=".."} += v */
void hd_metrics_channel_add(const char *instance, const char *name, const char *label, double v);
/* herald_intake_<name>_total{reason=".."} += v (reason may be NULL) */
void hd_metrics_intake_add(const char *name, const char *reason, double v);

typedef void hd_metric_cb(void *arg, const char *family, const char *instance, const char *label,
                          double value);
void hd_metrics_each(hd_metric_cb *cb, void *arg);
void hd_metrics_reset(void);

#endif
