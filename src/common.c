/*
 * Time, string and logging helpers shared by the whole core. Logging goes to stderr as one line
 * per event, "level [prefix] message key=value ...": systemd's journal adds the time.
 */
#include <stdarg.h>
#include <time.h>
#include <unistd.h>

#include "common.h"

int hd_log_level = HD_LOG_INFO;

static const char *const level_names[HD_LOG_LEVEL_MAX] = {"error", "warn", "info", "debug"};

int64_t hd_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t hd_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

double hd_mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

size_t hd_strlcpy(char *dst, const char *src, size_t size)
{
    size_t n = strlen(src);
    if (size > 0) {
        size_t c = n < size - 1 ? n : size - 1;
        memcpy(dst, src, c);
        dst[c] = '\0';
    }
    return n;
}

char *hd_strdup(const char *s)
{
    return s ? strdup(s) : NULL;
}

char *hd_strndup(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (!p)
        return NULL;
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *hd_asprintf(const char *fmt, ...)
{
    va_list ap;
    char *out = NULL;
    va_start(ap, fmt);
    if (vasprintf(&out, fmt, ap) < 0)
        out = NULL;
    va_end(ap);
    return out;
}

int hd_streq(const char *a, const char *b)
{
    if (!a || !b)
        return a == b;
    return strcmp(a, b) == 0;
}

void hd_log_set_level(int level)
{
    if (level >= 0 && level < HD_LOG_LEVEL_MAX)
        hd_log_level = level;
}

int hd_log_level_parse(const char *name)
{
    for (int i = 0; i < HD_LOG_LEVEL_MAX; i++)
        if (hd_streq(name, level_names[i]))
            return i;
    return -1;
}

void hd_log_vwrite(int level, const char *prefix, const char *fmt, va_list ap)
{
    char line[2048];
    int n = 0;
    if (level < 0 || level >= HD_LOG_LEVEL_MAX)
        level = HD_LOG_ERROR;
    /* under journald, an sd-daemon priority prefix keeps the level: <3> err, <4> warning, ... */
    static const int prio[HD_LOG_LEVEL_MAX] = {3, 4, 6, 7};
    static int journal = -1;
    if (journal < 0)
        journal = getenv("JOURNAL_STREAM") != NULL;
    if (journal)
        n = snprintf(line, sizeof(line), "<%d>%s ", prio[level], level_names[level]);
    else
        n = snprintf(line, sizeof(line), "%s ", level_names[level]);
    if (prefix && n < (int)sizeof(line))
        n += snprintf(line + n, sizeof(line) - (size_t)n, "[%s] ", prefix);
    if (n < (int)sizeof(line))
        n += vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
    if (n >= (int)sizeof(line) - 1)
        n = (int)sizeof(line) - 2;
    line[n++] = '\n';
    /* one write() per line keeps lines whole when several processes share stderr */
    ssize_t w = write(STDERR_FILENO, line, (size_t)n);
    (void)w;
}

void hd_log_write(int level, const char *prefix, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    hd_log_vwrite(level, prefix, fmt, ap);
    va_end(ap);
}
