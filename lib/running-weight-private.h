/* SPDX-License-Identifier: MIT */
#pragma once

/* The weight of a new sample in an exponentially weighted running average
 * that starts as a plain one: with a time constant of `samples`, every
 * sample weighs 1/n until 1/alpha samples have arrived since a (re)start,
 * then alpha.  A cold start at zero would take several time constants to
 * forget; the plain mean is right from the first sample.  Shared by the
 * front end's band powers (frontend-band.c) and running standardisation
 * (frontend-normalize.c). */

#include <math.h>
#include <stdint.h>

typedef struct {
        double alpha;           /* weight of a new sample once warmed up */
        uint32_t warmup;        /* samples averaged equally before alpha takes over */
} gw_running_weight;

static inline void gw_running_weight_init(gw_running_weight *w, double samples)
{
        w->alpha = -expm1(-1 / samples);
        w->warmup = (uint32_t) ceil(1 / w->alpha);
}

/* Counts the sample in *n (samples since the restart, which sets it to 0;
 * it stops at the warm-up length) and returns its weight. */
static inline double gw_running_weight_next(const gw_running_weight *w, uint32_t *n)
{
        if (*n < w->warmup)
                (*n)++;
        return *n < w->warmup ? 1.0 / *n : w->alpha;
}
