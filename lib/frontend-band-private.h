/* SPDX-License-Identifier: MIT */
#pragma once

/* Band-power outputs of the front end (frontend-band.c): an output with
 * "signal": "log_power" carries log10 of its input's running power in a
 * frequency band. */

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "gaitway/frontend.h"
#include "running-weight-private.h"

/* One log_power output: its band-pass design and its state. */
typedef struct {
        gw_sos sos;
        double z[GW_BIQUAD_MAX_SECTIONS][2];
        gw_running_weight weight;
        double power;
        uint32_t n;             /* samples since the last restart, up to the warm-up length */
        int output;             /* index of the output it writes */
} gw_fe_band;

/* Parses "band_hz" and "smooth_s" of frontend.outputs[i] (already holding
 * its signal) into *o: required for log_power, refused for the others. */
int gw_fe_band_parse(const json_t *output, size_t i, gw_output_spec *o, char *err, size_t errlen);

/* Judges every log_power output's band and time constant against the
 * model rate, and refuses band fields on other outputs. */
int gw_fe_band_check(const gw_frontend_spec *spec, char *err, size_t errlen);

/* Number of log_power outputs. */
int gw_fe_band_count(const gw_frontend_spec *spec);

/* Designs the band-passes of a checked spec into band[gw_fe_band_count()]. */
void gw_fe_band_init(gw_fe_band *band, const gw_frontend_spec *spec);

/* Replaces each log_power output, which holds its input's filtered value
 * on entry, by log10 of the running power of that value's band; restart
 * settles the band-pass and forgets the power. */
void gw_fe_band_step(gw_fe_band *band, int n, bool restart, float *out);
