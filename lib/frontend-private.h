/* SPDX-License-Identifier: MIT */
#pragma once

/* The front-end spec parser as the model loader calls it: on the "frontend"
 * member of an already parsed model description.  Errors name the field
 * path from "frontend." on. */

#include <jansson.h>

#include "gaitway/frontend.h"

int gw_frontend_spec_from_json_object(const json_t *obj, double rate_hz, gw_frontend_spec *ret,
                                      char *err, size_t errlen);

/* Checks a spec however it was made (parsed or filled in by hand) before a
 * front end is built from it: everything that could make the front end read
 * out of bounds or fail to design a filter. */
int gw_frontend_spec_check(const gw_frontend_spec *spec, char *err, size_t errlen);
