/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gaitway/freeze_index.h"

struct gw_fi {
        gw_fi_config cfg;
        int n;                    /* window length N */
        int loco_lo, loco_hi;     /* DFT bins of the bands, inclusive */
        int freeze_lo, freeze_hi;
        int kmin, kmax;
        double *cos_t, *sin_t;    /* N twiddles */
        double *y;                /* the de-meaned window */
        float *ring;
        int64_t *ring_t;
        int pos;
        uint64_t seen;
};

void gw_fi_config_default(gw_fi_config *cfg, double rate_hz)
{
        memset(cfg, 0, sizeof *cfg);
        cfg->rate_hz = rate_hz;
        cfg->window = (int) lround(4.0 * rate_hz);
        cfg->hop = (int) lround(0.5 * rate_hz);
        if (cfg->hop < 1)
                cfg->hop = 1;
        cfg->loco_lo_hz = 0.5;
        cfg->loco_hi_hz = 3.0;
        cfg->freeze_lo_hz = 3.0;
        cfg->freeze_hi_hz = 8.0;
        cfg->fi_threshold = 1.5;
        /* Daphnet's TH.power = 2^12 mg^2 on its 4 s windows is a band mean
         * square of 2^11 mg^2 (see docs/freeze-index.md). */
        cfg->power_threshold = 2048e-6;
}

static int bin(double f, double rate, int n)
{
        return (int) lround(f * n / rate);
}

static int band_check(const gw_fi_config *c, const char *name, double lo, double hi, char *err,
                      size_t errlen)
{
        if (!(lo > 0) || !(hi > lo) || !(hi <= c->rate_hz / 2))
                return gw_error(err, errlen, EINVAL,
                                "freeze_index.%s_band: %g..%g Hz is not within 0..%g Hz", name,
                                lo, hi, c->rate_hz / 2);
        int a = bin(lo, c->rate_hz, c->window), b = bin(hi, c->rate_hz, c->window);
        if (a < 1)
                a = 1;
        if (b - a < 1)
                return gw_error(err, errlen, EINVAL,
                                "freeze_index.%s_band: %g..%g Hz spans fewer than 2 DFT bins of a "
                                "%d-sample window", name, lo, hi, c->window);
        return 0;
}

int gw_fi_config_check(const gw_fi_config *c, char *err, size_t errlen)
{
        if (!isfinite(c->rate_hz) || !(c->rate_hz > 0))
                return gw_error(err, errlen, EINVAL, "freeze_index.rate_hz: %g is not positive",
                                c->rate_hz);
        if (c->window < 16 || c->window > GW_MAX_WINDOW)
                return gw_error(err, errlen, EINVAL, "freeze_index.window: %d out of range 16..%d",
                                c->window, GW_MAX_WINDOW);
        if (c->hop < 1 || c->hop > c->window)
                return gw_error(err, errlen, EINVAL, "freeze_index.hop: %d out of range 1..%d",
                                c->hop, c->window);
        int r = band_check(c, "loco", c->loco_lo_hz, c->loco_hi_hz, err, errlen);
        if (r < 0)
                return r;
        r = band_check(c, "freeze", c->freeze_lo_hz, c->freeze_hi_hz, err, errlen);
        if (r < 0)
                return r;
        if (!isfinite(c->fi_threshold) || c->fi_threshold < 0)
                return gw_error(err, errlen, EINVAL,
                                "freeze_index.fi_threshold: %g is not a non-negative number",
                                c->fi_threshold);
        if (!isfinite(c->power_threshold) || c->power_threshold < 0)
                return gw_error(err, errlen, EINVAL,
                                "freeze_index.power_threshold: %g is not a non-negative number",
                                c->power_threshold);
        return 0;
}

int gw_fi_new(const gw_fi_config *cfg, gw_fi **ret, char *err, size_t errlen)
{
        int r = gw_fi_config_check(cfg, err, errlen);
        if (r < 0)
                return r;

        gw_fi *d = calloc(1, sizeof *d);
        if (!d)
                return gw_error(err, errlen, ENOMEM, "freeze index: out of memory");
        int n = cfg->window;
        d->cfg = *cfg;
        d->n = n;
        d->cos_t = malloc(sizeof(double) * (size_t) n);
        d->sin_t = malloc(sizeof(double) * (size_t) n);
        d->y = malloc(sizeof(double) * (size_t) n);
        d->ring = malloc(sizeof(float) * (size_t) n);
        d->ring_t = malloc(sizeof(int64_t) * (size_t) n);
        if (!d->cos_t || !d->sin_t || !d->y || !d->ring || !d->ring_t) {
                gw_fi_free(d);
                return gw_error(err, errlen, ENOMEM, "freeze index: out of memory");
        }
        for (int i = 0; i < n; i++) {
                double a = 2 * M_PI * i / n;
                d->cos_t[i] = cos(a);
                d->sin_t[i] = sin(a);
        }
        d->loco_lo = bin(cfg->loco_lo_hz, cfg->rate_hz, n);
        d->loco_hi = bin(cfg->loco_hi_hz, cfg->rate_hz, n);
        d->freeze_lo = bin(cfg->freeze_lo_hz, cfg->rate_hz, n);
        d->freeze_hi = bin(cfg->freeze_hi_hz, cfg->rate_hz, n);
        /* DC carries no information once the mean is removed. */
        if (d->loco_lo < 1)
                d->loco_lo = 1;
        if (d->freeze_lo < 1)
                d->freeze_lo = 1;
        d->kmin = d->loco_lo < d->freeze_lo ? d->loco_lo : d->freeze_lo;
        d->kmax = d->loco_hi > d->freeze_hi ? d->loco_hi : d->freeze_hi;
        *ret = d;
        return 0;
}

gw_fi *gw_fi_free(gw_fi *d)
{
        if (!d)
                return NULL;
        free(d->cos_t);
        free(d->sin_t);
        free(d->y);
        free(d->ring);
        free(d->ring_t);
        free(d);
        return NULL;
}

void gw_fi_reset(gw_fi *d)
{
        d->pos = 0;
        d->seen = 0;
}

/* Trapezoid weight of bin k in the band [lo, hi]: the reference integrates
 * the periodogram with the trapezoid rule, so the edge bins count half. */
static double weight(int k, int lo, int hi)
{
        if (k < lo || k > hi)
                return 0;
        return k == lo || k == hi ? 0.5 : 1.0;
}

static void score(gw_fi *d, gw_fi_result *res)
{
        int n = d->n;
        double loco = 0, freeze = 0;

        /* A direct DFT of the few bins below 8 Hz: about N/8 bins of N
         * terms, cheaper than a full FFT and free of scratch space. */
        for (int k = d->kmin; k <= d->kmax; k++) {
                double re = 0, im = 0;
                int idx = 0;
                for (int i = 0; i < n; i++) {
                        re += d->y[i] * d->cos_t[idx];
                        im -= d->y[i] * d->sin_t[idx];
                        idx += k;
                        if (idx >= n)
                                idx -= n;
                }
                double p = re * re + im * im;
                loco += weight(k, d->loco_lo, d->loco_hi) * p;
                freeze += weight(k, d->freeze_lo, d->freeze_hi) * p;
        }
        /* One-sided periodogram scaled to a mean square (Parseval). */
        double s = 2.0 / ((double) n * n);
        res->loco_power = loco * s;
        res->freeze_power = freeze * s;
        res->power = res->loco_power + res->freeze_power;
        if (res->loco_power > 0)
                res->fi = res->freeze_power / res->loco_power;
        else
                res->fi = res->freeze_power > 0 ? DBL_MAX : 0;
        res->still = !(res->power >= d->cfg.power_threshold);
        res->freeze = !res->still && res->fi > d->cfg.fi_threshold;
}

void gw_fi_compute(gw_fi *d, const float *x, gw_fi_result *res)
{
        double mean = 0;
        for (int i = 0; i < d->n; i++)
                mean += x[i];
        mean /= d->n;
        for (int i = 0; i < d->n; i++)
                d->y[i] = x[i] - mean;
        score(d, res);
        res->t_first_ns = res->t_last_ns = 0;
}

int gw_fi_push(gw_fi *d, int64_t t_ns, float x, gw_fi_result *res)
{
        int n = d->n;

        d->ring[d->pos] = x;
        d->ring_t[d->pos] = t_ns;
        d->pos = (d->pos + 1) % n;
        d->seen++;
        if (d->seen < (uint64_t) n || (d->seen - (uint64_t) n) % (uint64_t) d->cfg.hop != 0)
                return 0;

        /* d->pos is now the oldest sample. */
        double mean = 0;
        for (int i = 0; i < n; i++)
                mean += d->ring[i];
        mean /= n;
        for (int i = 0; i < n; i++)
                d->y[i] = d->ring[(d->pos + i) % n] - mean;
        score(d, res);
        res->t_first_ns = d->ring_t[d->pos];
        res->t_last_ns = d->ring_t[(d->pos + n - 1) % n];
        return 1;
}
