/* SPDX-License-Identifier: MIT */
#include <math.h>
#include <string.h>

#include "gaitway/frontend.h"
#include "median-private.h"

void gw_median_init(gw_median_state *s, int n)
{
        memset(s, 0, sizeof *s);
        if (n < 1)
                n = 1;
        if (n > GW_MEDIAN_MAX)
                n = GW_MEDIAN_MAX;
        s->n = n | 1;
        if (s->n > GW_MEDIAN_MAX)
                s->n -= 2;
}

/* fminf and fmaxf as glibc computes them on x86-64 (a NaN argument gives
 * the other one; otherwise minss/maxss, which return the second operand on
 * equality), inline: the libm calls cost more than the median itself. */
static inline float min_f(float a, float b)
{
        if (isnan(a))
                return b;
        if (isnan(b))
                return a;
        return a < b ? a : b;
}

static inline float max_f(float a, float b)
{
        if (isnan(a))
                return b;
        if (isnan(b))
                return a;
        return a > b ? a : b;
}

/* The median of buf[0..n) (n odd), the ring in slot order. */
static inline float median_of(const float *buf, int n)
{
        float sorted[GW_MEDIAN_MAX];

        if (n == 3) {
                /* UCI-HAR's length, on every channel of every sample */
                float a = buf[0], b = buf[1], c = buf[2];
                return max_f(min_f(a, b), min_f(max_f(a, b), c));
        }

        /* Insertion sort: n <= 15, cheaper than keeping a sorted copy in
         * step with the ring. */
        for (int i = 0; i < n; i++) {
                float v = buf[i];
                int j = i - 1;
                while (j >= 0 && sorted[j] > v) {
                        sorted[j + 1] = sorted[j];
                        j--;
                }
                sorted[j + 1] = v;
        }
        return sorted[n / 2];
}

float gw_median_step(gw_median_state *s, float x)
{
        int n = s->n;

        if (n <= 1)
                return x;
        if (s->fill == 0) {
                /* Padding with the first value makes a constant start look
                 * like a stream that has always been constant, the same
                 * choice as the filters' settling. */
                for (int i = 0; i < n; i++)
                        s->buf[i] = x;
                s->fill = n;
                s->pos = 0;
        }
        s->buf[s->pos] = x;
        s->pos = s->pos + 1 == n ? 0 : s->pos + 1;
        return median_of(s->buf, n);
}

void gw_median_rings_step(float *ring, int n, int channels, int *pos, bool restart, double *y)
{
        int p = restart ? 0 : *pos;

        for (int c = 0; c < channels; c++, ring += n) {
                float x = (float) y[c];

                if (restart)
                        for (int i = 0; i < n; i++)
                                ring[i] = x;
                ring[p] = x;
                y[c] = median_of(ring, n);
        }
        *pos = p + 1 == n ? 0 : p + 1;
}
