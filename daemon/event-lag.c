/* SPDX-License-Identifier: MIT */
#include <math.h>
#include <string.h>

#include "event-lag.h"

static int bin_of(uint64_t us)
{
        if (us < 16)
                return (int) us;
        int e = 63 - __builtin_clzll(us);               /* 2^e <= us, e >= 4 */
        int b = 16 + (e - 4) * 8 + (int) ((us >> (e - 3)) & 7);
        return b < EVENT_LAG_BINS ? b : EVENT_LAG_BINS - 1;
}

/* The first microsecond count of the next bin. */
static uint64_t bin_end_us(int b)
{
        if (b < 16)
                return (uint64_t) b + 1;
        int e = 4 + (b - 16) / 8, sub = (b - 16) % 8;
        return (uint64_t) (8 + sub + 1) << (e - 3);
}

void event_lag_reset(EventLag *h)
{
        memset(h, 0, sizeof *h);
}

void event_lag_add(EventLag *h, int64_t lag_ns)
{
        if (lag_ns < 0)
                lag_ns = 0;
        h->bins[bin_of((uint64_t) lag_ns / 1000)]++;
        h->n++;
        if (lag_ns > h->max_ns)
                h->max_ns = lag_ns;
}

int64_t event_lag_quantile(const EventLag *h, double q)
{
        if (h->n == 0)
                return 0;
        uint64_t rank = (uint64_t) ceil(q * (double) h->n), seen = 0;
        if (rank < 1)
                rank = 1;
        for (int b = 0; b < EVENT_LAG_BINS; b++) {
                seen += h->bins[b];
                if (seen >= rank) {
                        /* No lag exceeds the maximum, which also bounds
                         * the open-ended last bin. */
                        int64_t end = (int64_t) bin_end_us(b) * 1000;
                        return b == EVENT_LAG_BINS - 1 || end > h->max_ns ? h->max_ns : end;
                }
        }
        return h->max_ns;
}
