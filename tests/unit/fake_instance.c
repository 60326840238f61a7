/* The render tests' stand-in for the core: see fake_instance.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common.h"
#include "fake_instance.h"

struct fake_instance F;

void fake_reset(const struct hd_channel *chan, const char *secret)
{
    memset(&F, 0, sizeof(F));
    F.chan = chan;
    F.secret = secret;
}

void fake_conf(const char *key, const char *value)
{
    assert_true(F.n < FAKE_MAX_CONF);
    F.k[F.n] = key;
    F.v[F.n++] = value;
}

static const char *lookup(const char *key)
{
    for (size_t i = 0; i < F.n; i++)
        if (strcmp(F.k[i], key) == 0)
            return F.v[i];
    for (const struct hd_conf_key *k = F.chan->keys; k->name; k++)
        if (strcmp(k->name, key) == 0)
            return k->def;
    return NULL;
}

static int64_t duration_ms(const char *s)
{
    char *end;
    int64_t n = strtoll(s, &end, 10);
    if (strcmp(end, "ms") == 0)
        return n;
    if (strcmp(end, "s") == 0)
        return n * 1000;
    if (strcmp(end, "m") == 0)
        return n * 60000;
    if (strcmp(end, "h") == 0)
        return n * 3600000;
    if (strcmp(end, "d") == 0)
        return n * 86400000;
    return n;
}

static const char *f_conf_str(struct hd_instance *in, const char *key)
{
    return lookup(key);
}

static int64_t f_conf_int(struct hd_instance *in, const char *key)
{
    const char *v = lookup(key);
    return v ? duration_ms(v) : 0;
}

static int f_conf_bool(struct hd_instance *in, const char *key)
{
    const char *v = lookup(key);
    return v && strcmp(v, "true") == 0;
}

static size_t f_conf_list(struct hd_instance *in, const char *key, const char *const **items)
{
    *items = F.targets;
    return strcmp(key, "targets") == 0 ? F.n_targets : 0;
}

static const char *f_conf_map_get(struct hd_instance *in, const char *key, const char *mkey)
{
    char k[200];
    snprintf(k, sizeof(k), "%s.%s", key, mkey);
    for (size_t i = 0; i < F.n; i++)
        if (strcmp(F.k[i], k) == 0)
            return F.v[i];
    return NULL;
}

static const char *f_conf_secret(struct hd_instance *in, const char *key, size_t *len)
{
    const char *s = F.secret ? F.secret : "render-test-secret-0123456789";
    *len = strlen(s);
    return s;
}

static void f_log(struct hd_instance *in, enum hd_log_level l, const char *fmt, ...)
{
}

static int64_t f_now(void)
{
    return hd_now_ms();
}

void hd_services_init(struct hd_services *svc); /* src/services.c: the core's own table */

const struct hd_services *fake_svc(void)
{
    static struct hd_services svc;
    if (!svc.struct_size) {
        hd_services_init(&svc);
        svc.conf_str = f_conf_str;
        svc.conf_int = f_conf_int;
        svc.conf_bool = f_conf_bool;
        svc.conf_list = f_conf_list;
        svc.conf_map_get = f_conf_map_get;
        svc.conf_secret = f_conf_secret;
        svc.secret_read = NULL; /* the core's needs a real instance */
        svc.log = f_log;
        svc.now_ms = f_now;
    }
    return &svc;
}

void *fake_make(void)
{
    void *st = NULL;
    char err[256] = "";
    if (F.chan->create((struct hd_instance *)&F, fake_svc(), &st, err, sizeof(err)) != 0)
        fail_msg("create: %s", err);
    return st;
}
