/*
 * Credentials an operator supplies at run time (heraldctl credentials set): they override the
 * configuration's secret for one key of one instance, survive restarts (a 0600 file under
 * <state_dir>/credentials/<instance>/<key>), and un-park the instance — the way out of
 * "needs re-authorization" without editing files.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"
#include "engine_int.h"

static void cred_dir(const struct hd_engine *e, const char *instance, char *out, size_t len)
{
    /* ':' is fine in a file name; the id was checked at config load ([a-z0-9_:-]) */
    snprintf(out, len, "%s/credentials/%s", e->cfg->state_dir ? e->cfg->state_dir : ".", instance);
}

static void set_mem(struct hd_instance *in, const char *key, const char *val, size_t len)
{
    for (size_t i = 0; i < in->n_creds; i++)
        if (strcmp(in->creds[i].key, key) == 0) {
            explicit_bzero(in->creds[i].val, in->creds[i].len);
            free(in->creds[i].val);
            in->creds[i].val = hd_strndup(val, len);
            in->creds[i].len = len;
            return;
        }
    struct hd_cred *c = realloc(in->creds, (in->n_creds + 1) * sizeof(*c));
    if (!c)
        return;
    in->creds = c;
    in->creds[in->n_creds].key = strdup(key);
    in->creds[in->n_creds].val = hd_strndup(val, len);
    in->creds[in->n_creds].len = len;
    in->n_creds++;
}

const char *hd_inst_credential(const struct hd_instance *in, const char *key, size_t *len)
{
    for (size_t i = 0; i < in->n_creds; i++)
        if (strcmp(in->creds[i].key, key) == 0) {
            if (len)
                *len = in->creds[i].len;
            return in->creds[i].val;
        }
    return NULL;
}

void hd_inst_load_credentials(struct hd_instance *in)
{
    char dir[4096];
    cred_dir(in->e, in->conf->id, dir, sizeof(dir));
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        char path[4400], err[256];
        char *val = NULL;
        size_t len = 0;
        snprintf(path, sizeof(path), "file:%s/%s", dir, de->d_name);
        if (hd_secret_read(path, &val, &len, err, sizeof(err)) == 0) {
            set_mem(in, de->d_name, val, len);
            hd_info("[channel:%s] using the credential %s set by an operator", in->conf->id,
                    de->d_name);
        } else {
            hd_warn("[channel:%s] credential %s unreadable: %s", in->conf->id, de->d_name, err);
        }
        if (val)
            explicit_bzero(val, len);
        free(val);
    }
    closedir(d);
}

void hd_inst_free_credentials(struct hd_instance *in)
{
    for (size_t i = 0; i < in->n_creds; i++) {
        explicit_bzero(in->creds[i].val, in->creds[i].len);
        free(in->creds[i].val);
        free(in->creds[i].key);
    }
    free(in->creds);
    in->creds = NULL;
    in->n_creds = 0;
    hd_inst_free_read_secrets(in);
}

void hd_inst_free_read_secrets(struct hd_instance *in)
{
    for (size_t i = 0; i < in->n_read_secrets; i++) {
        explicit_bzero(in->read_secrets[i].val, in->read_secrets[i].len);
        free(in->read_secrets[i].val);
        free(in->read_secrets[i].key);
    }
    free(in->read_secrets);
    in->read_secrets = NULL;
    in->n_read_secrets = 0;
}

const char *hd_inst_secret_read(struct hd_instance *in, const char *ref, size_t *len, char *err,
                                size_t errlen)
{
    char *val = NULL;
    size_t n = 0;
    if (hd_secret_read(ref, &val, &n, err, errlen) < 0)
        return NULL;
    struct hd_cred *c = realloc(in->read_secrets, (in->n_read_secrets + 1) * sizeof(*c));
    if (!c) {
        explicit_bzero(val, n);
        free(val);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    in->read_secrets = c;
    c[in->n_read_secrets] = (struct hd_cred){.key = NULL, .val = val, .len = n};
    in->n_read_secrets++;
    if (len)
        *len = n;
    return val;
}

static int mkdirs(const char *path)
{
    char tmp[4096];
    hd_strlcpy(tmp, path, sizeof(tmp));
    for (char *p = tmp + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            if (mkdir(tmp, 0700) != 0 && errno != EEXIST)
                return -1;
            *p = '/';
        }
    return mkdir(tmp, 0700) != 0 && errno != EEXIST ? -1 : 0;
}

int hd_engine_set_credential(struct hd_engine *e, const char *instance, const char *key,
                             const char *value, size_t len, const char *who, const char *reason)
{
    struct hd_instance *in = hd_inst_find(e, instance);
    if (!in)
        return HD_ENOTFOUND;
    int is_secret = 0;
    for (const struct hd_conf_key *k = in->chan->keys; k && k->name; k++)
        if (strcmp(k->name, key) == 0 && k->type == HD_CONF_SECRET)
            is_secret = 1;
    if (!is_secret || !value || len == 0 || len > 65536 || strchr(key, '/'))
        return HD_EINVAL;
    char dir[4096], path[4200], tmp[4300];
    cred_dir(e, instance, dir, sizeof(dir));
    snprintf(path, sizeof(path), "%s/%s", dir, key);
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    if (mkdirs(dir) != 0) {
        hd_err("[channel:%s] cannot create %s: %s", instance, dir, strerror(errno));
        return HD_EIO;
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || write(fd, value, len) != (ssize_t)len || fsync(fd) != 0) {
        hd_err("[channel:%s] cannot write credential %s: %s", instance, key, strerror(errno));
        if (fd >= 0)
            close(fd);
        unlink(tmp);
        return HD_EIO;
    }
    close(fd);
    if (rename(tmp, path) != 0) {
        unlink(tmp);
        return HD_EIO;
    }
    set_mem(in, key, value, len);
    hd_store_audit(e->st, who, "credentials", NULL, 0, instance, reason ? reason : key);
    hd_info("[channel:%s] credential %s replaced by %s", instance, key, who);
    /* recreate the adapter with the new secret once idle, then un-park */
    in->next_conf = in->conf;
    hd_inst_apply_reload(in);
    if (in->parked)
        hd_engine_unpark(e, instance, who, "new credentials");
    return 0;
}
