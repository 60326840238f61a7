/*
 * A small keyed counter registry (metrics.h). Only the event loop thread touches it.
 */
#include <uthash.h>

#include "common.h"
#include "metrics.h"

struct counter {
    char *key; /* family \x1f instance \x1f label */
    char *family, *instance, *label;
    double value;
    UT_hash_handle hh;
};

static struct counter *counters;

static void add(const char *family, const char *instance, const char *label, double v)
{
    char key[512];
    snprintf(key, sizeof(key), "%s\x1f%s\x1f%s", family, instance ? instance : "",
             label ? label : "");
    struct counter *c;
    HASH_FIND_STR(counters, key, c);
    if (!c) {
        c = calloc(1, sizeof(*c));
        if (!c)
            return;
        c->key = strdup(key);
        c->family = strdup(family);
        c->instance = strdup(instance ? instance : "");
        c->label = strdup(label ? label : "");
        HASH_ADD_KEYPTR(hh, counters, c->key, strlen(c->key), c);
    }
    c->value += v;
}

static int metric_name_ok(const char *s)
{
    if (!s || !*s || strlen(s) > 64)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
            return 0;
    return 1;
}

void hd_metrics_channel_add(const char *instance, const char *name, const char *label, double v)
{
    char family[128];
    if (!metric_name_ok(name))
        return; /* adapters cannot inject arbitrary text into the exposition */
    snprintf(family, sizeof(family), "herald_channel_%s_total", name);
    add(family, instance, label, v);
}

void hd_metrics_intake_add(const char *name, const char *reason, double v)
{
    char family[128];
    snprintf(family, sizeof(family), "herald_intake_%s_total", name);
    add(family, NULL, reason, v);
}

static int by_key(struct counter *a, struct counter *b)
{
    return strcmp(a->key, b->key);
}

void hd_metrics_each(hd_metric_cb *cb, void *arg)
{
    struct counter *c, *tmp;
    HASH_SRT(hh, counters, by_key); /* families together, for one TYPE line each */
    HASH_ITER (hh, counters, c, tmp)
        cb(arg, c->family, c->instance, c->label, c->value);
}

void hd_metrics_reset(void)
{
    struct counter *c, *tmp;
    HASH_ITER (hh, counters, c, tmp) {
        HASH_DEL(counters, c);
        free(c->key);
        free(c->family);
        free(c->instance);
        free(c->label);
        free(c);
    }
}
