/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <time.h>

#include "stream-clock.h"

#define UNIX_TIME_MIN_NS INT64_C(1000000000000000000)

int64_t wall_clock_ns(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void stream_clock_init(StreamClock *c)
{
        *c = (StreamClock) { 0 };
}

void stream_clock_see(StreamClock *c, int64_t t_ns, int64_t now_wall_ns)
{
        if (c->anchored)
                return;
        c->anchored = true;
        c->first_t_ns = t_ns;
        c->offset_ns = t_ns >= UNIX_TIME_MIN_NS ? 0 : now_wall_ns - t_ns;
}

int64_t stream_clock_wall(const StreamClock *c, int64_t t_ns)
{
        return t_ns + c->offset_ns;
}

double stream_clock_seconds(const StreamClock *c, int64_t t_ns)
{
        return (double) (t_ns - c->first_t_ns) / 1e9;
}

char *format_iso8601(int64_t wall_ns, char *buf, size_t n)
{
        time_t sec = (time_t) (wall_ns / 1000000000);
        int ms = (int) ((wall_ns % 1000000000) / 1000000);
        if (wall_ns < 0 && ms) {
                sec--;
                ms += 1000;
        }
        struct tm tm;
        if (!gmtime_r(&sec, &tm)) {
                snprintf(buf, n, "1970-01-01T00:00:00.000Z");
                return buf;
        }
        snprintf(buf, n, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
        return buf;
}
