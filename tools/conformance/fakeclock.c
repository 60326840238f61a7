/*
 * The clock and randomness that render() sees (kit.h). herald-conformance defines libc's wall
 * clock and random functions itself, and exports them (CMakeLists.txt: --export-dynamic-symbol),
 * so that both built-in adapters (linked in) and a .so under test call these. Normally they
 * answer like libc (through the system calls); while kit_fake_clock(1, ...) is on (only around
 * render()), the wall clock is shifted by the given offset and random numbers come from the given
 * seed, and every read is counted: a pure render reads neither, and its bytes do not change
 * between two runs with different clocks. CLOCK_MONOTONIC is left alone (libevent needs it).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "kit.h"

static int fake_on;
static int64_t fake_offset_ms;
static uint64_t fake_state = 0x9e3779b97f4a7c15ull;
static uint64_t real_state;
static int reads;

void kit_fake_clock(int on, int64_t offset_ms, unsigned seed)
{
    fake_on = on;
    fake_offset_ms = offset_ms;
    fake_state = 0x9e3779b97f4a7c15ull ^ ((uint64_t)seed * 0xbf58476d1ce4e5b9ull);
    if (!fake_state)
        fake_state = 1;
}

int kit_fake_clock_reads(void)
{
    int n = reads;
    reads = 0;
    return n;
}

static uint64_t xorshift(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545f4914f6cdd1dull;
}

static uint64_t next_random(void)
{
    if (fake_on) {
        reads++;
        return xorshift(&fake_state);
    }
    if (!real_state) {
        while (syscall(SYS_getrandom, &real_state, sizeof(real_state), 0) != sizeof(real_state))
            ;
        if (!real_state)
            real_state = 1;
    }
    return xorshift(&real_state);
}

/* ---- the wall clock ----------------------------------------------------------------------------
 */

int clock_gettime(clockid_t id, struct timespec *ts)
{
    int rc = (int)syscall(SYS_clock_gettime, id, ts);
    if (rc == 0 && fake_on &&
        (id == CLOCK_REALTIME || id == CLOCK_REALTIME_COARSE || id == CLOCK_TAI)) {
        reads++;
        int64_t ns = (int64_t)ts->tv_nsec + (fake_offset_ms % 1000) * 1000000;
        ts->tv_sec += (time_t)(fake_offset_ms / 1000) + (time_t)(ns / 1000000000);
        ts->tv_nsec = (long)(ns % 1000000000);
        if (ts->tv_nsec < 0) {
            ts->tv_nsec += 1000000000;
            ts->tv_sec--;
        }
    }
    return rc;
}

int gettimeofday(struct timeval *restrict tv, void *restrict tz)
{
    struct timespec ts;
    int rc = clock_gettime(CLOCK_REALTIME, &ts);
    if (rc == 0) { /* tv is declared nonnull */
        tv->tv_sec = ts.tv_sec;
        tv->tv_usec = ts.tv_nsec / 1000;
    }
    return rc;
}

time_t time(time_t *t)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
        return (time_t)-1;
    if (t)
        *t = ts.tv_sec;
    return ts.tv_sec;
}

/* ---- randomness --------------------------------------------------------------------------------
 */

int rand(void)
{
    return (int)(next_random() & RAND_MAX);
}

long random(void)
{
    return (long)(next_random() & 0x7fffffff);
}

void srand(unsigned seed)
{
    real_state = seed ? seed : 1;
}

void srandom(unsigned seed)
{
    real_state = seed ? seed : 1;
}

long lrand48(void)
{
    return (long)(next_random() & 0x7fffffff);
}

double drand48(void)
{
    return (double)(next_random() >> 11) / (double)(1ull << 53);
}

static void fill(void *buf, size_t len)
{
    unsigned char *p = buf;
    while (len > 0) {
        uint64_t r = xorshift(&fake_state);
        size_t n = len < sizeof(r) ? len : sizeof(r);
        memcpy(p, &r, n);
        p += n;
        len -= n;
    }
}

ssize_t getrandom(void *buf, size_t len, unsigned flags)
{
    if (fake_on) {
        reads++;
        fill(buf, len);
        return (ssize_t)len;
    }
    return syscall(SYS_getrandom, buf, len, flags);
}

uint32_t arc4random(void)
{
    return (uint32_t)next_random();
}

void arc4random_buf(void *buf, size_t len)
{
    if (fake_on) {
        reads++;
        fill(buf, len);
        return;
    }
    unsigned char *p = buf;
    while (len > 0) {
        ssize_t n = syscall(SYS_getrandom, p, len, 0);
        if (n > 0) {
            p += n;
            len -= (size_t)n;
        }
    }
}

uint32_t arc4random_uniform(uint32_t upper)
{
    return upper ? (uint32_t)(next_random() % upper) : 0;
}
