/* SPDX-License-Identifier: MIT */
#pragma once

/* Resampling a timestamped stream onto a regular grid by linear
 * interpolation between consecutive inputs.  The grid is anchored at the
 * first sample (and again at the first sample after a gap), so a stream
 * already on the grid at the grid's rate passes through exactly.
 *
 * Use: gw_resampler_classify() (no state change) tells what a sample is and
 * how many grid points it completes; gw_resampler_feed() takes it;
 * gw_resampler_next() then yields those grid points one by one.  Splitting
 * the steps lets a caller refuse a sample (no room for its outputs) before
 * anything changes, and run its own stages per grid point without a buffer
 * of them. */

#include "gaitway/frontend.h"

typedef enum {
        GW_RS_START,            /* first sample, or first after a reset */
        GW_RS_GAP,              /* more than max_gap_ns from the previous one, either way */
        GW_RS_NEXT,             /* later than the previous sample, within max_gap_ns */
        GW_RS_DUPLICATE,        /* same timestamp as the previous sample */
        GW_RS_OUT_OF_ORDER,     /* earlier than the previous sample, within max_gap_ns */
} gw_rs_class;

typedef struct {
        int m;                  /* values per sample */
        double period_ns;       /* grid spacing */
        int64_t max_gap_ns;
        int max_count;          /* most grid points one sample can complete */
        int64_t rebase_every;
        bool started;
        int64_t t_prev;         /* last sample taken */
        int64_t anchor_ns;      /* grid point 0 */
        int64_t k;              /* index of the next grid point */
        int64_t next_ns;        /* its time */
        double *prev;           /* [m] last sample's values (caller's memory) */
        /* the sample being fed */
        int pending;            /* grid points it still yields */
        bool restart;
        int64_t t_cur;
        const double *cur;
} gw_resampler;

void gw_resampler_init(gw_resampler *r, int m, double rate_hz, int64_t max_gap_ns, double *prev);
void gw_resampler_reset(gw_resampler *r);

/* Classifies a sample and sets *count to the grid points it would yield. */
gw_rs_class gw_resampler_classify(const gw_resampler *r, int64_t t_ns, int *count);

/* Takes a sample of class START, GAP or NEXT (x must stay valid until the
 * last gw_resampler_next() for it) and returns the grid points it yields. */
int gw_resampler_feed(gw_resampler *r, int64_t t_ns, const double *x);
/* gw_resampler_feed() with what gw_resampler_classify() said of this very
 * sample (and nothing changed since), so it is not worked out twice. */
int gw_resampler_take(gw_resampler *r, int64_t t_ns, const double *x, gw_rs_class c, int count);

/* Writes the next grid point of the fed sample (m values), its time and its
 * flags (GW_SAMPLE_RESTART on the first point after a start or a gap).
 * Returns false when the sample has yielded all its points. */
bool gw_resampler_next(gw_resampler *r, double *y, int64_t *t_out, uint32_t *flags);
