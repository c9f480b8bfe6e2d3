/* SPDX-License-Identifier: MIT */
/* Per-input gravity stages.  The spec-wide "gravity" low-pass splits every
 * input into a slow part (gravity) and the rest (body).  For an
 * accelerometer the slow part is gravity; for a gyroscope it is the sensor's
 * bias and drift, which wants another filter: UCI-HAR's body_gyro, for one,
 * is the gyroscope minus a 2nd-order 0.1 Hz low-pass of itself while its
 * body_acc removes a 3rd-order 0.3 Hz one (train/study_uci_signals.py).  So
 * an input may name its own:
 *
 *     {"name": "gyro_x", "unit": "rad/s", "gravity": {"order": 2, "cutoff_hz": 0.1}}
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "frontend-gravity-private.h"

#define MAX_ORDER (2 * GW_BIQUAD_MAX_SECTIONS)

int gw_fe_input_gravity_parse(const json_t *input, size_t i, gw_filter_spec *ret,
                              char *err, size_t errlen)
{
        const json_t *obj = json_object_get(input, "gravity"), *v;
        const char *key;
        json_int_t order;

        ret->order = 0;
        ret->cutoff_hz = 0;
        if (!obj)
                return 0;
        if (!json_is_object(obj))
                return gw_error(err, errlen, EINVAL, "frontend.inputs[%zu].gravity: must be an object", i);
        json_object_foreach((json_t *) obj, key, v)
                if (strcmp(key, "order") != 0 && strcmp(key, "cutoff_hz") != 0)
                        return gw_error(err, errlen, EINVAL, "frontend.inputs[%zu].gravity.%s: unknown key",
                                        i, key);
        v = json_object_get(obj, "order");
        if (!v)
                return gw_error(err, errlen, EINVAL, "frontend.inputs[%zu].gravity.order: missing", i);
        if (!json_is_integer(v))
                return gw_error(err, errlen, EINVAL, "frontend.inputs[%zu].gravity.order: must be an integer", i);
        order = json_integer_value(v);
        if (order < 0 || order > MAX_ORDER)
                return gw_error(err, errlen, EINVAL, "frontend.inputs[%zu].gravity.order: %lld must be 0..%d",
                                i, (long long) order, MAX_ORDER);
        ret->order = (int) order;
        if (order == 0)
                return 0;
        v = json_object_get(obj, "cutoff_hz");
        if (!v)
                return gw_error(err, errlen, EINVAL,
                                "frontend.inputs[%zu].gravity.cutoff_hz: missing (needed when order > 0)", i);
        if (!json_is_number(v))
                return gw_error(err, errlen, EINVAL, "frontend.inputs[%zu].gravity.cutoff_hz: must be a number", i);
        ret->cutoff_hz = json_number_value(v);
        return 0;
}

int gw_fe_input_gravity_check(const gw_frontend_spec *spec, char *err, size_t errlen)
{
        for (int i = 0; i < spec->n_inputs; i++) {
                const gw_filter_spec *f = &spec->input_gravity[i];

                if (f->order == 0)
                        continue;
                if (f->order < 1 || f->order > MAX_ORDER)
                        return gw_error(err, errlen, EINVAL, "frontend.inputs[%d].gravity.order: %d must be 0..%d",
                                        i, f->order, MAX_ORDER);
                if (!isfinite(f->cutoff_hz) || f->cutoff_hz <= 0)
                        return gw_error(err, errlen, EINVAL,
                                        "frontend.inputs[%d].gravity.cutoff_hz: %g must be positive", i, f->cutoff_hz);
                if (f->cutoff_hz >= spec->rate_hz / 2)
                        return gw_error(err, errlen, EINVAL,
                                        "frontend.inputs[%d].gravity.cutoff_hz: %g must be below half the model rate (%g Hz)",
                                        i, f->cutoff_hz, spec->rate_hz / 2);
        }
        return 0;
}

const gw_filter_spec *gw_fe_input_gravity(const gw_frontend_spec *spec, int i)
{
        if (i >= 0 && i < spec->n_inputs && spec->input_gravity[i].order > 0)
                return &spec->input_gravity[i];
        return spec->gravity.order > 0 ? &spec->gravity : NULL;
}
