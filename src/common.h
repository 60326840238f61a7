/*
 * Small things every part of the core uses: error codes, time, string helpers, logging macros.
 */
#ifndef HD_COMMON_H
#define HD_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <herald/services.h>

/* Return values: 0 or a negative HD_E*. */
#define HD_EINVAL    (-1) /* bad input */
#define HD_ENOMEM    (-2)
#define HD_EIO       (-3) /* a library or system call failed */
#define HD_ENOTFOUND (-4)
#define HD_EEXIST    (-5)
#define HD_EBUSY     (-6)
#define HD_ESTATE    (-7) /* not allowed in the current state */
#define HD_EFULL     (-8) /* disk or queue full */

#define HD_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define HD_MIN(a, b)    ((a) < (b) ? (a) : (b))
#define HD_MAX(a, b)    ((a) > (b) ? (a) : (b))

int64_t hd_now_ms(void);  /* wall clock, epoch ms */
int64_t hd_mono_ms(void); /* monotonic ms */
double hd_mono_s(void);

/* Copy with truncation, always NUL-terminated; returns strlen(src). */
size_t hd_strlcpy(char *dst, const char *src, size_t size);
char *hd_strdup(const char *s); /* NULL-safe strdup */
char *hd_strndup(const char *s, size_t n);
char *hd_asprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int hd_streq(const char *a, const char *b); /* NULL-safe */

/* ---- logging ------------------------------------------------------------------------------ */
extern int hd_log_level; /* enum hd_log_level; messages above it are dropped */
void hd_log_set_level(int level);
int hd_log_level_parse(const char *name); /* -1 when unknown */
void hd_log_write(int level, const char *prefix, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void hd_log_vwrite(int level, const char *prefix, const char *fmt, va_list ap);

#define HD_LOG(level, prefix, ...)                                                                 \
    do {                                                                                           \
        if ((level) <= hd_log_level)                                                               \
            hd_log_write((level), (prefix), __VA_ARGS__);                                          \
    } while (0)
#define hd_err(...)   HD_LOG(HD_LOG_ERROR, NULL, __VA_ARGS__)
#define hd_warn(...)  HD_LOG(HD_LOG_WARN, NULL, __VA_ARGS__)
#define hd_info(...)  HD_LOG(HD_LOG_INFO, NULL, __VA_ARGS__)
#define hd_debug(...) HD_LOG(HD_LOG_DEBUG, NULL, __VA_ARGS__)

#endif
