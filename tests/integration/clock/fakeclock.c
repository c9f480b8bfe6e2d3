/* SPDX-License-Identifier: MIT */
/* LD_PRELOAD library for the clock tests: the wall clock (CLOCK_REALTIME
 * and its coarse variant, gettimeofday, time) runs GW_FAKECLOCK_FILE's
 * number of seconds off the real one; the file is re-read when it changes,
 * so a test steps the clock of a running process by rewriting it.
 * CLOCK_MONOTONIC and the others are left alone, as when an administrator
 * or NTP steps the system clock. */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static long long offset_ns(void)
{
        static struct timespec seen;
        static long long offset;
        const char *path = getenv("GW_FAKECLOCK_FILE");
        struct stat st;

        if (!path || stat(path, &st) < 0)
                return 0;
        if (st.st_mtim.tv_sec == seen.tv_sec && st.st_mtim.tv_nsec == seen.tv_nsec)
                return offset;
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return offset;
        char buf[64];
        ssize_t n = read(fd, buf, sizeof buf - 1);
        close(fd);
        if (n <= 0)
                return offset;
        buf[n] = 0;
        offset = (long long) (strtod(buf, NULL) * 1e9);
        seen = st.st_mtim;
        return offset;
}

int clock_gettime(clockid_t id, struct timespec *ts)
{
        long r = syscall(SYS_clock_gettime, id, ts);
        if (r < 0 || (id != CLOCK_REALTIME && id != CLOCK_REALTIME_COARSE))
                return (int) r;
        int saved = errno;
        long long t = (long long) ts->tv_sec * 1000000000LL + ts->tv_nsec + offset_ns();
        errno = saved;
        ts->tv_sec = (time_t) (t / 1000000000LL);
        ts->tv_nsec = (long) (t % 1000000000LL);
        return 0;
}

int gettimeofday(struct timeval *restrict tv, void *restrict tz)
{
        struct timespec ts;
        if (clock_gettime(CLOCK_REALTIME, &ts) < 0)
                return -1;
        /* glibc declares tv nonnull; libev and others always pass it. */
        tv->tv_sec = ts.tv_sec;
        tv->tv_usec = ts.tv_nsec / 1000;
        return 0;
}

time_t time(time_t *t)
{
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        if (t)
                *t = ts.tv_sec;
        return ts.tv_sec;
}
