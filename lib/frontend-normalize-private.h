/* SPDX-License-Identifier: MIT */
#pragma once

/* The front end's last, optional stage: a running standardisation of every
 * output channel (frontend-normalize.c). */

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "gaitway/frontend.h"
#include "running-weight-private.h"

/* Per output channel. */
typedef struct {
        double mean;
        double var;
        uint32_t n;             /* samples since the last restart, up to the warm-up length */
} gw_fe_norm_state;

/* Fixed for one front end. */
typedef struct {
        gw_running_weight weight;
        double min_std;
} gw_fe_norm;

/* Parses the optional "normalize" member of the frontend object (time
 * constant 0 when absent).  Errors name "frontend.normalize...". */
int gw_fe_normalize_parse(const json_t *fe, gw_normalize_spec *ret, char *err, size_t errlen);

/* Judges the values against the model rate. */
int gw_fe_normalize_check(const gw_frontend_spec *spec, char *err, size_t errlen);

/* The stage's constants for a checked spec whose time constant is > 0. */
void gw_fe_normalize_init(gw_fe_norm *norm, const gw_normalize_spec *spec, double rate_hz);

/* Standardises n output values in place, one state each; restart forgets
 * the history (the first sample after it comes out as 0). */
void gw_fe_normalize_step(const gw_fe_norm *norm, gw_fe_norm_state *state, int n, bool restart,
                          float *out);
