/*
 * A stand-in for the core around one adapter instance, for render tests: the core's own
 * services table (text, time and digest helpers as heraldd lends them, src/services.c) with
 * configuration from the test (fake_conf), the adapter's key defaults, a target list and a
 * secret. The instance handle the adapter sees is &F.
 */
#ifndef HERALD_TESTS_FAKE_INSTANCE_H
#define HERALD_TESTS_FAKE_INSTANCE_H

#include <stddef.h>

#include <herald/channel.h>
#include <herald/services.h>

#define FAKE_MAX_CONF 32

struct fake_instance {
    const struct hd_channel *chan;
    const char *k[FAKE_MAX_CONF], *v[FAKE_MAX_CONF]; /* "key" or "map.mkey" -> value */
    size_t n;
    const char *targets[24];
    size_t n_targets;
    const char *secret;
};

extern struct fake_instance F;

/* Start over with this adapter and secret: no settings, no targets. */
void fake_reset(const struct hd_channel *chan, const char *secret);
/* Set "key" (or "map.mkey" for a map entry); durations take ms/s/m/h/d. */
void fake_conf(const char *key, const char *value);
const struct hd_services *fake_svc(void);
/* The adapter's create() on &F; fails the test with the adapter's message. */
void *fake_make(void);

#endif
