/* SPDX-License-Identifier: MIT */
#pragma once

/* The model-free freeze index (Moore et al. 2008, Baechlin et al. 2010) as a
 * streaming detector over the vertical ankle acceleration: per window, the
 * power in the 3-8 Hz "freeze" band over the power in the 0.5-3 Hz
 * "locomotor" band, with a total-power floor below which the wearer is
 * standing still.  docs/freeze-index.md gives the definition, the defaults
 * and how they relate to the Daphnet reference code.  Allocation only in
 * gw_fi_new(). */

#include "gaitway/common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
        double rate_hz;           /* input sample rate, > 0 */
        int window;               /* samples per window, 16..GW_MAX_WINDOW (4 s) */
        int hop;                  /* samples between windows, 1..window (0.5 s) */
        double loco_lo_hz;        /* locomotor band (0.5..3 Hz) */
        double loco_hi_hz;
        double freeze_lo_hz;      /* freeze band (3..8 Hz) */
        double freeze_hi_hz;
        double fi_threshold;      /* freeze when FI > this (1.5) */
        double power_threshold;   /* still when loco + freeze power < this, in input
                                   * unit squared (0.002048 g^2, i.e. 45 mg RMS) */
} gw_fi_config;

typedef struct {
        double fi;                /* freeze_power / loco_power; finite (0 for a flat window,
                                   * DBL_MAX when only the freeze band has power) */
        double power;             /* loco_power + freeze_power */
        double loco_power;        /* band mean square of the de-meaned window */
        double freeze_power;
        bool still;               /* power < power_threshold: no freeze possible */
        bool freeze;              /* !still && fi > fi_threshold */
        int64_t t_first_ns;       /* timestamps of the window's first and last sample */
        int64_t t_last_ns;
} gw_fi_result;

typedef struct gw_fi gw_fi;

/* Baechlin's parameters for a stream at rate_hz with acceleration in g. */
void gw_fi_config_default(gw_fi_config *cfg, double rate_hz);
/* Messages name the key ("freeze_index.hop: 0 out of range 1..256"). */
int gw_fi_config_check(const gw_fi_config *cfg, char *err, size_t errlen);

int gw_fi_new(const gw_fi_config *cfg, gw_fi **ret, char *err, size_t errlen);
gw_fi *gw_fi_free(gw_fi *d);
/* Forgets the samples seen (call after a gap in the stream). */
void gw_fi_reset(gw_fi *d);

/* Pushes one sample; returns 1 and fills *res when a window completes
 * (every hop samples once window samples have been seen), else 0. */
int gw_fi_push(gw_fi *d, int64_t t_ns, float x, gw_fi_result *res);

/* Scores one window of cfg.window samples (oldest first); the timestamps in
 * *res are set to 0. */
void gw_fi_compute(gw_fi *d, const float *x, gw_fi_result *res);

#ifdef __cplusplus
}
#endif
