/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "gaitway/model.h"

/* Parses the model description (the `gaitway` metadata string of
 * docs/model-format.md) into the identity, architecture, channel, class,
 * rate, hop and front-end fields of info, validating every rule of the
 * format.  has_int8 says whether the file holds the INT8 tensor set, which
 * requires quant.scheme "gw-int8-v1".  Errors name the field:
 * `description "arch.kernel": 4 is not odd`. */
int gw_model_desc_parse(const char *json, size_t len, bool has_int8, gw_model_info *info,
                        char *err, size_t errlen);
