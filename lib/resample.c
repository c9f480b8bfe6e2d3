/* SPDX-License-Identifier: MIT */
#include <math.h>
#include <string.h>

#include "resample-private.h"

/* Grid times are anchor + round(k * period); re-anchoring every few
 * thousand points keeps k * period exact in a double whatever the stream's
 * length (exactly so when the period is a whole number of nanoseconds). */
/* llround (half away from zero) without the libm call, which cost more
 * than the rest of a grid point: below 2^52 the fraction x - trunc(x) is
 * exact, above it every double is already an integer.  Outside the int64
 * range llround's result is unspecified; so is this one's, without
 * undefined behaviour. */
static inline int64_t round_half_away(double x)
{
        double a = fabs(x), t;

        if (!(a < 4503599627370496.0))          /* 2^52, or NaN */
                return a < 9.2e18 ? (int64_t) x : INT64_MIN;
        t = (double) (int64_t) x;
        if (x - t >= 0.5)
                t += 1.0;
        else if (x - t <= -0.5)
                t -= 1.0;
        return (int64_t) t;
}

static int64_t grid_time(const gw_resampler *r, int64_t k)
{
        /* Unsigned: timestamps at the ends of the int64 range wrap instead of
         * overflowing; classify() treats the result as a gap. */
        return (int64_t) ((uint64_t) r->anchor_ns + (uint64_t) round_half_away((double) k * r->period_ns));
}

/* |a - b| without signed overflow. */
static uint64_t distance(int64_t a, int64_t b)
{
        return a > b ? (uint64_t) a - (uint64_t) b : (uint64_t) b - (uint64_t) a;
}

void gw_resampler_init(gw_resampler *r, int m, double rate_hz, int64_t max_gap_ns, double *prev)
{
        memset(r, 0, sizeof *r);
        r->m = m;
        r->period_ns = (double) GW_NSEC_PER_SEC / rate_hz;
        r->max_gap_ns = max_gap_ns;
        r->max_count = (int) fmin(floor((double) max_gap_ns / r->period_ns) + 2, INT32_MAX);
        r->rebase_every = (int64_t) fmax(1.0, fmin(65536.0, 4e15 / r->period_ns));
        r->prev = prev;
}

void gw_resampler_reset(gw_resampler *r)
{
        r->started = false;
        r->pending = 0;
        r->cur = NULL;
}

gw_rs_class gw_resampler_classify(const gw_resampler *r, int64_t t_ns, int *count)
{
        int n = 0;

        if (!r->started) {
                *count = 1;
                return GW_RS_START;
        }
        /* A step beyond max_gap_ns either way is a lost connection or a
         * clock that jumped: start over rather than interpolate across it or
         * drop everything until the clock catches up. */
        if (distance(t_ns, r->t_prev) > (uint64_t) r->max_gap_ns) {
                *count = 1;
                return GW_RS_GAP;
        }
        if (t_ns == r->t_prev) {
                *count = 0;
                return GW_RS_DUPLICATE;
        }
        if (t_ns < r->t_prev) {
                *count = 0;
                return GW_RS_OUT_OF_ORDER;
        }
        for (int64_t k = r->k, g = r->next_ns; g <= t_ns; g = grid_time(r, ++k))
                if (++n > r->max_count) {
                        /* only when grid times wrapped at the end of the
                         * int64 range: start over rather than loop */
                        *count = 1;
                        return GW_RS_GAP;
                }
        *count = n;
        return GW_RS_NEXT;
}

int gw_resampler_feed(gw_resampler *r, int64_t t_ns, const double *x)
{
        int count;
        gw_rs_class c = gw_resampler_classify(r, t_ns, &count);

        return gw_resampler_take(r, t_ns, x, c, count);
}

int gw_resampler_take(gw_resampler *r, int64_t t_ns, const double *x, gw_rs_class c, int count)
{
        r->t_cur = t_ns;
        r->cur = x;
        r->restart = c == GW_RS_START || c == GW_RS_GAP;
        if (r->restart) {
                r->started = true;
                r->anchor_ns = t_ns;
                r->k = 0;
                r->next_ns = t_ns;
                /* The first point is the sample itself. */
                memcpy(r->prev, x, (size_t) r->m * sizeof *x);
                r->t_prev = t_ns;
        } else if (c != GW_RS_NEXT) {
                count = 0;
        }
        r->pending = count;
        if (count == 0 && c == GW_RS_NEXT) {
                memcpy(r->prev, x, (size_t) r->m * sizeof *x);
                r->t_prev = t_ns;
        }
        return count;
}

bool gw_resampler_next(gw_resampler *r, double *y, int64_t *t_out, uint32_t *flags)
{
        int64_t g;

        if (r->pending <= 0)
                return false;

        g = r->next_ns;
        if (g == r->t_cur) {
                memcpy(y, r->cur, (size_t) r->m * sizeof *y);
        } else {
                double a = (double) (g - r->t_prev) / (double) (r->t_cur - r->t_prev);
                for (int i = 0; i < r->m; i++)
                        y[i] = r->prev[i] + a * (r->cur[i] - r->prev[i]);
        }
        *t_out = g;
        *flags = r->restart ? GW_SAMPLE_RESTART : 0;
        r->restart = false;

        r->k++;
        if (r->k == r->rebase_every) {
                r->anchor_ns = grid_time(r, r->k);
                r->k = 0;
        }
        r->next_ns = grid_time(r, r->k);

        if (--r->pending == 0) {
                memcpy(r->prev, r->cur, (size_t) r->m * sizeof *y);
                r->t_prev = r->t_cur;
        }
        return true;
}
