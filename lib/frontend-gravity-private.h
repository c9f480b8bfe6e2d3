/* SPDX-License-Identifier: MIT */
#pragma once

/* Per-input gravity stages of a front-end spec: an input object may carry
 * its own "gravity" low-pass, which then separates that input's slow
 * component instead of the spec-wide "gravity" stage (frontend-gravity.c). */

#include <jansson.h>

#include "gaitway/frontend.h"

/* Parses the optional "gravity" member of frontend.inputs[i] into *ret
 * (order 0 when absent).  Errors name "frontend.inputs[i].gravity...". */
int gw_fe_input_gravity_parse(const json_t *input, size_t i, gw_filter_spec *ret,
                              char *err, size_t errlen);

/* Judges every input's own gravity stage against the model rate. */
int gw_fe_input_gravity_check(const gw_frontend_spec *spec, char *err, size_t errlen);

/* The gravity low-pass that applies to input i: its own when given, else
 * the spec-wide one; NULL when the input has none. */
const gw_filter_spec *gw_fe_input_gravity(const gw_frontend_spec *spec, int i);
