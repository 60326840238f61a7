/*
 * Secret references in the configuration: "file:/path" and "credential:NAME" (systemd
 * LoadCredential=, read from $CREDENTIALS_DIRECTORY). Configuration files never hold a secret
 * itself, so they can be shown, diffed and checked in; a literal value is refused. Messages name
 * the file or the credential, never the content, and memory holding a secret is wiped on free.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"
#include "conf.h"

/* Longest path accepted (Linux PATH_MAX; <limits.h> is not used: src/ is on the include path) */
#define SECRET_PATH_MAX 4096
#define LITERAL_REFUSED                                                                            \
    "secrets must come from a file or a systemd credential: write file:/path or credential:NAME"

static int fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    if (err && errlen) {
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return HD_EINVAL;
}

void hd_secret_free(char *secret, size_t len)
{
    if (!secret)
        return;
    explicit_bzero(secret, len + 1); /* and the NUL hd_secret_read put after it */
    free(secret);
}

static int credential_name_ok(const char *name)
{
    return name[0] && !strchr(name, '/') && strcmp(name, ".") != 0 && strcmp(name, "..") != 0;
}

int hd_secret_check_ref(const char *ref, char *err, size_t errlen)
{
    if (!ref)
        return fail(err, errlen, LITERAL_REFUSED);
    if (strncmp(ref, "file:", 5) == 0) {
        if (ref[5] != '/')
            return fail(err, errlen, "the secret file path must be absolute (file:/path)");
        return 0;
    }
    if (strncmp(ref, "credential:", 11) == 0) {
        if (!credential_name_ok(ref + 11))
            return fail(err, errlen,
                        "a credential name must be a plain file name, without '/' "
                        "(credential:NAME)");
        return 0;
    }
    return fail(err, errlen, LITERAL_REFUSED);
}

/* Read one regular file of at most HD_SECRET_MAX bytes; `what` names it in messages. */
static int read_secret_file(const char *path, const char *what, char **out, size_t *len, char *err,
                            size_t errlen)
{
    struct stat st;
    char *buf = NULL;
    size_t n = 0;
    int rc = HD_EINVAL;

    /* O_NONBLOCK: opening a FIFO must not hang the daemon; it is refused below anyway */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0)
        return fail(err, errlen, "cannot open %s: %s", what, strerror(errno));
    if (fstat(fd, &st) < 0) {
        rc = fail(err, errlen, "cannot read %s: %s", what, strerror(errno));
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        rc = fail(err, errlen, "%s is not a regular file", what);
        goto out;
    }
    if (st.st_size > HD_SECRET_MAX) {
        rc = fail(err, errlen, "%s is larger than %d KiB", what, HD_SECRET_MAX / 1024);
        goto out;
    }
    buf = malloc(HD_SECRET_MAX + 2);
    if (!buf) {
        rc = HD_ENOMEM;
        fail(err, errlen, "out of memory reading %s", what);
        goto out;
    }
    while (n <= HD_SECRET_MAX) { /* to EOF: the file may have grown since fstat */
        ssize_t r = read(fd, buf + n, HD_SECRET_MAX + 1 - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            rc = fail(err, errlen, "cannot read %s: %s", what, strerror(errno));
            goto out;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    if (n > HD_SECRET_MAX) {
        rc = fail(err, errlen, "%s is larger than %d KiB", what, HD_SECRET_MAX / 1024);
        goto out;
    }
    if (n > 0 && buf[n - 1] == '\n') /* one trailing newline, as editors and echo leave it */
        n -= n > 1 && buf[n - 2] == '\r' ? 2 : 1;
    if (n == 0) {
        rc = fail(err, errlen, "%s is empty", what);
        goto out;
    }
    *out = malloc(n + 1);
    if (!*out) {
        rc = HD_ENOMEM;
        fail(err, errlen, "out of memory reading %s", what);
        goto out;
    }
    memcpy(*out, buf, n);
    (*out)[n] = '\0';
    *len = n;
    rc = 0;
out:
    if (buf)
        explicit_bzero(buf, HD_SECRET_MAX + 2);
    free(buf);
    close(fd);
    return rc;
}

int hd_secret_read(const char *ref, char **out, size_t *len, char *err, size_t errlen)
{
    char what[SECRET_PATH_MAX + 64], path[SECRET_PATH_MAX];

    *out = NULL;
    *len = 0;
    int rc = hd_secret_check_ref(ref, err, errlen);
    if (rc < 0)
        return rc;
    if (strncmp(ref, "file:", 5) == 0) {
        const char *p = ref + 5;
        if (strlen(p) >= sizeof(path))
            return fail(err, errlen, "the secret file path is too long");
        snprintf(what, sizeof(what), "secret file %s", p);
        return read_secret_file(p, what, out, len, err, errlen);
    }
    const char *name = ref + 11;
    const char *dir = getenv("CREDENTIALS_DIRECTORY");
    if (!dir || !dir[0])
        return fail(err, errlen,
                    "no systemd credentials directory (CREDENTIALS_DIRECTORY is unset)");
    int n = snprintf(path, sizeof(path), "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= sizeof(path))
        return fail(err, errlen, "the credential path is too long");
    snprintf(what, sizeof(what), "credential %s (%s)", name, path);
    return read_secret_file(path, what, out, len, err, errlen);
}
