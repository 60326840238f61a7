/*
 * The adapter registry (registry.h): built-in adapters and .so adapters from the plugin
 * directory, each checked the same way before the configuration may name it. What cannot be
 * guarded: code in a .so's constructors runs at dlopen(), before any check (docs/ADAPTERS.md).
 */
#include <ctype.h>
#include <errno.h>
#include <dirent.h>
#include <dlfcn.h>

#include "common.h"
#include "registry.h"

static int valid_adapter_name(const char *s)
{
    if (!s || !islower((unsigned char)s[0]) || strlen(s) > 32)
        return 0;
    for (; *s; s++)
        if (!islower((unsigned char)*s) && !isdigit((unsigned char)*s) && *s != '_')
            return 0;
    return 1;
}

int hd_registry_check(const struct hd_registry *r, const struct hd_channel *c, char *err,
                      size_t errlen)
{
    if (!c) {
        snprintf(err, errlen, "the entry point returned no adapter");
        return HD_EINVAL;
    }
    if (c->abi_version != HD_ABI_VERSION) {
        snprintf(err, errlen, "ABI version %u, this heraldd speaks %u: rebuild the adapter",
                 c->abi_version, HD_ABI_VERSION);
        return HD_EINVAL;
    }
    if (c->struct_size < sizeof(struct hd_channel)) {
        snprintf(err, errlen,
                 "struct hd_channel of %u bytes, smaller than this heraldd's %zu: built against "
                 "an older header",
                 c->struct_size, sizeof(struct hd_channel));
        return HD_EINVAL;
    }
    if (!c->build_signature || strcmp(c->build_signature, HD_BUILD_SIGNATURE) != 0) {
        snprintf(err, errlen, "build signature \"%s\", this heraldd's is \"%s\"",
                 c->build_signature ? c->build_signature : "(none)", HD_BUILD_SIGNATURE);
        return HD_EINVAL;
    }
    if (!valid_adapter_name(c->name)) {
        snprintf(err, errlen, "invalid adapter name \"%s\" (want [a-z][a-z0-9_]*, at most 32)",
                 c->name ? c->name : "(null)");
        return HD_EINVAL;
    }
    if (r && hd_registry_find(r, c->name)) {
        snprintf(err, errlen, "an adapter named \"%s\" is already registered", c->name);
        return HD_EEXIST;
    }
    if (!c->create || !c->render || !c->send) {
        snprintf(err, errlen, "adapter %s lacks create, render or send", c->name);
        return HD_EINVAL;
    }
    if ((c->caps & HD_CAP_RETRACT) && !c->retract) {
        snprintf(err, errlen, "adapter %s claims HD_CAP_RETRACT without retract()", c->name);
        return HD_EINVAL;
    }
    if ((c->caps & HD_CAP_POLL) && !c->poll_status) {
        snprintf(err, errlen, "adapter %s claims HD_CAP_POLL without poll_status()", c->name);
        return HD_EINVAL;
    }
    if (!(c->caps & HD_CAP_IDEMPOTENT) && !c->reconcile) {
        snprintf(err, errlen,
                 "adapter %s is not idempotent and has no reconcile(): an unknown outcome could "
                 "never be resolved",
                 c->name);
        return HD_EINVAL;
    }
    if ((unsigned)c->default_on_revision >= HD_REV_MAX) {
        snprintf(err, errlen, "adapter %s: invalid default_on_revision", c->name);
        return HD_EINVAL;
    }
    for (const struct hd_conf_key *k = c->keys; k && k->name; k++) {
        if ((unsigned)k->type >= HD_CONF_TYPE_MAX) {
            snprintf(err, errlen, "adapter %s: key %s has an unknown type", c->name, k->name);
            return HD_EINVAL;
        }
        for (const struct hd_conf_key *j = c->keys; j != k; j++)
            if (strcmp(j->name, k->name) == 0) {
                snprintf(err, errlen, "adapter %s: key %s declared twice", c->name, k->name);
                return HD_EINVAL;
            }
    }
    return 0;
}

static int add(struct hd_registry *r, const struct hd_channel *c, const char *origin, void *h)
{
    const struct hd_channel **chans = realloc(r->chans, (r->n + 1) * sizeof(*chans));
    if (!chans)
        return HD_ENOMEM;
    r->chans = chans;
    char **origins = realloc(r->origins, (r->n + 1) * sizeof(*origins));
    if (!origins)
        return HD_ENOMEM;
    r->origins = origins;
    void **handles = realloc(r->handles, (r->n + 1) * sizeof(*handles));
    if (!handles)
        return HD_ENOMEM;
    r->handles = handles;
    r->chans[r->n] = c;
    r->origins[r->n] = strdup(origin);
    r->handles[r->n] = h;
    r->n++;
    return 0;
}

int hd_registry_create(hd_channel_entry_fn *const *builtins, struct hd_registry **out, char *err,
                       size_t errlen)
{
    struct hd_registry *r = calloc(1, sizeof(*r));
    if (!r)
        return HD_ENOMEM;
    for (size_t i = 0; builtins && builtins[i]; i++) {
        const struct hd_channel *c = builtins[i]();
        char e[256];
        if (hd_registry_check(r, c, e, sizeof(e)) != 0) {
            snprintf(err, errlen, "built-in adapter #%zu: %s", i, e);
            hd_registry_destroy(r);
            return HD_EINVAL;
        }
        add(r, c, "built-in", NULL);
    }
    *out = r;
    return 0;
}

int hd_registry_load_file(struct hd_registry *r, const char *path, char *err, size_t errlen)
{
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        snprintf(err, errlen, "%s: cannot load: %s", path, dlerror());
        return HD_EINVAL;
    }
    hd_channel_entry_fn *entry = (hd_channel_entry_fn *)dlsym(h, HD_CHANNEL_ENTRY);
    if (!entry) {
        snprintf(err, errlen, "%s: no %s() entry point", path, HD_CHANNEL_ENTRY);
        dlclose(h);
        return HD_EINVAL;
    }
    const struct hd_channel *c = entry();
    char e[256];
    if (hd_registry_check(r, c, e, sizeof(e)) != 0) {
        snprintf(err, errlen, "%s: refused: %s", path, e);
        dlclose(h);
        return HD_EINVAL;
    }
    if (add(r, c, path, h) != 0) {
        dlclose(h);
        snprintf(err, errlen, "out of memory");
        return HD_ENOMEM;
    }
    hd_info("registry: loaded adapter %s %s from %s", c->name, c->version ? c->version : "",
            path);
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int hd_registry_load_dir(struct hd_registry *r, const char *dir, struct hd_diag *d)
{
    DIR *dh = opendir(dir);
    if (!dh) {
        hd_diag_addf(d, NULL, 0, 0, "plugin_dir %s: %s", dir, strerror(errno));
        return HD_EINVAL;
    }
    char **names = NULL;
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(dh))) {
        size_t l = strlen(de->d_name);
        if (l > 3 && strcmp(de->d_name + l - 3, ".so") == 0) {
            char **tmp = realloc(names, (n + 1) * sizeof(*names));
            if (!tmp)
                break;
            names = tmp;
            names[n++] = strdup(de->d_name);
        }
    }
    closedir(dh);
    qsort(names, n, sizeof(*names), cmp_str);
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        char path[4096], err[600];
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        if (hd_registry_load_file(r, path, err, sizeof(err)) != 0) {
            hd_diag_addf(d, NULL, 0, 0, "%s", err);
            bad++;
        }
        free(names[i]);
    }
    free(names);
    return bad ? HD_EINVAL : 0;
}

const struct hd_channel *hd_registry_find(const struct hd_registry *r, const char *name)
{
    for (size_t i = 0; r && name && i < r->n; i++)
        if (strcmp(r->chans[i]->name, name) == 0)
            return r->chans[i];
    return NULL;
}

void hd_registry_destroy(struct hd_registry *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++) {
        free(r->origins[i]);
        if (r->handles[i])
            dlclose(r->handles[i]);
    }
    free(r->chans);
    free(r->origins);
    free(r->handles);
    free(r);
}
