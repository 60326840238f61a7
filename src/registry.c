/*
 * The adapter registry (registry.h): built-in adapters and .so adapters from the plugin
 * directory, each checked the same way before the configuration may name it. Every refusal names
 * the file (or the built-in) and the reason. What cannot be guarded is written in
 * docs/ADAPTERS.md: code in a .so's constructors runs at dlopen(), before any check; a loaded
 * adapter runs inside heraldd with its privileges and can crash it.
 */
#include <ctype.h>
#include <errno.h>
#include <dirent.h>
#include <dlfcn.h>
#include <sys/stat.h>

#include "common.h"
#include "config.h"
#include "registry.h"

/* The capability bits this heraldd implements; an adapter built against a newer header may claim
 * one it does not know, and would then be relying on behaviour that is not there. */
#define KNOWN_CAPS                                                                                 \
    (HD_CAP_IDEMPOTENT | HD_CAP_RETRACT | HD_CAP_UPDATE | HD_CAP_WINDOWED | HD_CAP_MULTI_TARGET |  \
     HD_CAP_POLL)

/* struct hd_channel as ABI 1 first shipped it: everything up to inbound(). A larger struct_size
 * comes from a newer header (the core reads what it knows); a smaller one is refused. */
#define CHANNEL_MIN_SIZE                                                                           \
    (offsetof(struct hd_channel, inbound) + sizeof(((struct hd_channel *)0)->inbound))

static int valid_adapter_name(const char *s)
{
    if (!s || !islower((unsigned char)s[0]) || strlen(s) > 32)
        return 0;
    for (; *s; s++)
        if (!islower((unsigned char)*s) && !isdigit((unsigned char)*s) && *s != '_')
            return 0;
    return 1;
}

/* The key table: hd_conf_keys_validate (the rules every table obeys), and no key of the core's
 * per-instance table redeclared (the core's would silently win). */
static int check_keys(const struct hd_channel *c, char *err, size_t errlen)
{
    if (!c->keys)
        return 0; /* an adapter without settings */
    struct hd_diag d;
    hd_diag_init(&d);
    int n = hd_conf_keys_validate(c->keys, &d);
    if (n > 0) {
        const char *text = d.text ? d.text : "";
        int first = (int)strcspn(text, "\n");
        snprintf(err, errlen, "adapter %s: invalid key table: %.*s%s", c->name, first, text,
                 n > 1 ? " (and more problems after it)" : "");
        hd_diag_free(&d);
        return HD_EINVAL;
    }
    hd_diag_free(&d);
    for (const struct hd_conf_key *k = c->keys; k->name; k++)
        for (const struct hd_conf_key *core = hd_core_channel_keys; core->name; core++)
            if (strcmp(k->name, core->name) == 0) {
                snprintf(err, errlen,
                         "adapter %s: key %s is a setting every instance has (heraldd "
                         "--list-channels): do not declare it again",
                         c->name, k->name);
                return HD_EINVAL;
            }
    return 0;
}

int hd_registry_check(const struct hd_registry *r, const struct hd_channel *c, char *err,
                      size_t errlen)
{
    if (!c) {
        snprintf(err, errlen, "the entry point returned no adapter (NULL)");
        return HD_EINVAL;
    }
    if (c->abi_version != HD_ABI_VERSION) {
        snprintf(err, errlen, "ABI version %u, this heraldd speaks %u: rebuild the adapter",
                 c->abi_version, HD_ABI_VERSION);
        return HD_EINVAL;
    }
    if (c->struct_size < CHANNEL_MIN_SIZE) {
        snprintf(err, errlen,
                 "struct hd_channel of %u bytes, smaller than the %zu bytes of ABI %d: not built "
                 "against <herald/channel.h>, or a corrupt struct_size",
                 c->struct_size, (size_t)CHANNEL_MIN_SIZE, HD_ABI_VERSION);
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
    for (size_t i = 0; r && i < r->n; i++)
        if (strcmp(r->chans[i]->name, c->name) == 0) {
            snprintf(err, errlen, "an adapter named \"%s\" is already registered (%s)", c->name,
                     r->origins[i]);
            return HD_EEXIST;
        }
    if (!c->create || !c->render || !c->send) {
        snprintf(err, errlen, "adapter %s lacks %s", c->name,
                 !c->create   ? "create()"
                 : !c->render ? "render()"
                              : "send()");
        return HD_EINVAL;
    }
    if (c->caps & ~KNOWN_CAPS) {
        snprintf(err, errlen,
                 "adapter %s claims capabilities this heraldd does not know (0x%x): it needs a "
                 "newer heraldd",
                 c->name, c->caps & ~KNOWN_CAPS);
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
        snprintf(err, errlen, "adapter %s: invalid default_on_revision %u", c->name,
                 (unsigned)c->default_on_revision);
        return HD_EINVAL;
    }
    return check_keys(c, err, errlen);
}

static int add(struct hd_registry *r, const struct hd_channel *c, const char *origin, void *h,
               const struct stat *st)
{
    uint64_t *devs = realloc(r->devs, (r->n + 1) * sizeof(*devs));
    if (!devs)
        return HD_ENOMEM;
    r->devs = devs;
    uint64_t *inos = realloc(r->inos, (r->n + 1) * sizeof(*inos));
    if (!inos)
        return HD_ENOMEM;
    r->inos = inos;
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
    /* the core's own copy, as large as the struct it knows: what an older adapter's struct does not
     * hold reads as zero (NULL callbacks) */
    struct hd_channel *copy = calloc(1, sizeof(*copy));
    char *o = strdup(origin);
    if (!o || !copy) {
        free(o);
        free(copy);
        return HD_ENOMEM;
    }
    memcpy(copy, c, HD_MIN((size_t)c->struct_size, sizeof(*copy)));
    r->chans[r->n] = copy;
    r->origins[r->n] = o;
    r->handles[r->n] = h;
    r->devs[r->n] = st ? (uint64_t)st->st_dev : 0;
    r->inos[r->n] = st ? (uint64_t)st->st_ino : 0;
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
        char e[512];
        if (hd_registry_check(r, c, e, sizeof(e)) != 0) {
            snprintf(err, errlen, "built-in adapter %s (#%zu): %s", c && c->name ? c->name : "?", i,
                     e);
            hd_registry_destroy(r);
            return HD_EINVAL;
        }
        if (add(r, c, "built-in", NULL, NULL) != 0) {
            snprintf(err, errlen, "out of memory");
            hd_registry_destroy(r);
            return HD_ENOMEM;
        }
    }
    *out = r;
    return 0;
}

/* dlerror() says what; add what an adapter author should do about the usual causes. */
static const char *dlopen_hint(const char *msg)
{
    if (msg && strstr(msg, "undefined symbol: hd_"))
        return " (heraldd exports no symbols: an adapter reaches the core only through the "
               "struct hd_services handed to create())";
    if (msg && strstr(msg, "undefined symbol"))
        return " (link the libraries the adapter uses into the .so, e.g. -ljansson)";
    if (msg && (strstr(msg, "invalid ELF header") || strstr(msg, "file too short")))
        return " (not a shared object)";
    if (msg && strstr(msg, "wrong ELF class"))
        return " (built for another architecture)";
    return "";
}

int hd_registry_load_file(struct hd_registry *r, const char *path, char *err, size_t errlen)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        snprintf(err, errlen, "%s: cannot load: %s", path, strerror(errno));
        return HD_EINVAL;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%s: refused: not a regular file", path);
        return HD_EINVAL;
    }
    if (st.st_mode & (S_IWGRP | S_IWOTH)) {
        snprintf(err, errlen,
                 "%s: refused: writable by %s (mode %03o): whoever can write it runs code inside "
                 "heraldd (chmod go-w)",
                 path, st.st_mode & S_IWOTH ? "anyone" : "its group",
                 (unsigned)(st.st_mode & 0777));
        return HD_EINVAL;
    }
    for (size_t i = 0; i < r->n; i++)
        if (r->handles[i] && r->devs[i] == (uint64_t)st.st_dev && r->inos[i] == (uint64_t)st.st_ino)
            return 0; /* loaded already (a reload reads plugin_dir again) */
    /* The .so's constructors run here, before any check can refuse it. */
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char *msg = dlerror();
        snprintf(err, errlen, "%s: cannot load: %s%s", path, msg ? msg : "dlopen failed",
                 dlopen_hint(msg));
        return HD_EINVAL;
    }
    dlerror();
    hd_channel_entry_fn *entry = (hd_channel_entry_fn *)dlsym(h, HD_CHANNEL_ENTRY);
    if (!entry) {
        snprintf(err, errlen,
                 "%s: refused: no %s() entry point (export it: const struct hd_channel "
                 "*%s(void))",
                 path, HD_CHANNEL_ENTRY, HD_CHANNEL_ENTRY);
        dlclose(h);
        return HD_EINVAL;
    }
    const struct hd_channel *c = entry();
    char e[512];
    int rc = hd_registry_check(r, c, e, sizeof(e));
    if (rc != 0) {
        snprintf(err, errlen, "%s: refused: %s", path, e);
        dlclose(h);
        return rc == HD_EEXIST ? HD_EEXIST : HD_EINVAL;
    }
    if (add(r, c, path, h, &st) != 0) {
        dlclose(h);
        snprintf(err, errlen, "%s: out of memory", path);
        return HD_ENOMEM;
    }
    hd_info("registry: loaded adapter %s %s from %s", c->name, c->version ? c->version : "", path);
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int hd_registry_load_dir(struct hd_registry *r, const char *dir, struct hd_diag *d)
{
    struct stat st;
    if (stat(dir, &st) != 0) {
        hd_diag_addf(d, NULL, 0, 0, "plugin_dir %s: %s", dir, strerror(errno));
        return HD_EINVAL;
    }
    if (!S_ISDIR(st.st_mode)) {
        hd_diag_addf(d, NULL, 0, 0, "plugin_dir %s: not a directory", dir);
        return HD_EINVAL;
    }
    if (st.st_mode & (S_IWGRP | S_IWOTH)) {
        hd_diag_addf(d, NULL, 0, 0,
                     "plugin_dir %s: refused: writable by %s (mode %03o): whoever can add a "
                     ".so there runs code inside heraldd (chmod go-w)",
                     dir, st.st_mode & S_IWOTH ? "anyone" : "its group",
                     (unsigned)(st.st_mode & 0777));
        return HD_EINVAL;
    }
    DIR *dh = opendir(dir);
    if (!dh) {
        hd_diag_addf(d, NULL, 0, 0, "plugin_dir %s: %s", dir, strerror(errno));
        return HD_EINVAL;
    }
    char **names = NULL;
    size_t n = 0;
    int bad = 0;
    struct dirent *de;
    while ((de = readdir(dh))) {
        size_t l = strlen(de->d_name);
        if (l > 3 && strcmp(de->d_name + l - 3, ".so") == 0) {
            char **tmp = realloc(names, (n + 1) * sizeof(*names));
            char *name = strdup(de->d_name);
            if (!tmp || !name) {
                free(name);
                if (tmp)
                    names = tmp;
                hd_diag_addf(d, NULL, 0, 0, "plugin_dir %s: out of memory", dir);
                bad++;
                break;
            }
            names = tmp;
            names[n++] = name;
        }
    }
    closedir(dh);
    if (n > 1)
        qsort(names, n, sizeof(*names), cmp_str);
    for (size_t i = 0; i < n; i++) {
        char path[4096], err[1200];
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

const char *hd_registry_origin(const struct hd_registry *r, const char *name)
{
    for (size_t i = 0; r && name && i < r->n; i++)
        if (strcmp(r->chans[i]->name, name) == 0)
            return r->origins[i];
    return NULL;
}

void hd_registry_destroy(struct hd_registry *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++) {
        free(r->origins[i]);
        free((void *)r->chans[i]);
        if (r->handles[i])
            dlclose(r->handles[i]);
    }
    free(r->chans);
    free(r->origins);
    free(r->handles);
    free(r->devs);
    free(r->inos);
    free(r);
}
