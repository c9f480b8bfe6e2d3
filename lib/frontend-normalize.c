/* SPDX-License-Identifier: MIT */
/* Running standardisation of the front end's outputs.  Wearers differ in
 * how tight a sensor sits and how vigorously they move: the same freeze
 * tremor reaches one person's ankle sensor at twice the amplitude of
 * another's, and a model trained on a few wearers learns their scale.
 * Dividing each channel by its own recent spread (after removing its recent
 * mean) hands the model each wearer's signals on that wearer's scale:
 *
 *     "normalize": {"time_constant_s": 30, "min_std": 0.01}
 *
 * m and v are exponentially weighted with the time constant; until one time
 * constant's worth of samples has arrived after a (re)start every sample
 * weighs equally, so the first seconds are standardised by what has been
 * seen instead of by a cold start at zero.  min_std keeps a still sensor's
 * noise from being blown up. */
#include <errno.h>
#include <math.h>
#include <string.h>

#include "frontend-normalize-private.h"

#define MAX_TIME_CONSTANT_S 86400.0

int gw_fe_normalize_parse(const json_t *fe, gw_normalize_spec *ret, char *err, size_t errlen)
{
        const json_t *obj = json_object_get(fe, "normalize"), *v;
        static const char *const keys[] = { "time_constant_s", "min_std" };
        double *dst[] = { &ret->time_constant_s, &ret->min_std };
        const char *key;

        ret->time_constant_s = 0;
        ret->min_std = 0;
        if (!obj)
                return 0;
        if (!json_is_object(obj))
                return gw_error(err, errlen, EINVAL, "frontend.normalize: must be an object");
        json_object_foreach((json_t *) obj, key, v)
                if (strcmp(key, keys[0]) != 0 && strcmp(key, keys[1]) != 0)
                        return gw_error(err, errlen, EINVAL, "frontend.normalize.%s: unknown key", key);
        for (int k = 0; k < 2; k++) {
                v = json_object_get(obj, keys[k]);
                if (!v)
                        return gw_error(err, errlen, EINVAL, "frontend.normalize.%s: missing", keys[k]);
                if (!json_is_number(v))
                        return gw_error(err, errlen, EINVAL, "frontend.normalize.%s: must be a number",
                                        keys[k]);
                *dst[k] = json_number_value(v);
        }
        return 0;
}

int gw_fe_normalize_check(const gw_frontend_spec *spec, char *err, size_t errlen)
{
        const gw_normalize_spec *n = &spec->normalize;

        if (n->time_constant_s == 0)
                return 0;
        /* Shorter than one sample there is nothing to average over. */
        if (!isfinite(n->time_constant_s) || n->time_constant_s * spec->rate_hz < 1 ||
            n->time_constant_s > MAX_TIME_CONSTANT_S)
                return gw_error(err, errlen, EINVAL,
                                "frontend.normalize.time_constant_s: %g must be 0 or span 1 sample (%g s) to %g s",
                                n->time_constant_s, 1 / spec->rate_hz, MAX_TIME_CONSTANT_S);
        if (!isfinite(n->min_std) || n->min_std <= 0)
                return gw_error(err, errlen, EINVAL, "frontend.normalize.min_std: %g must be positive",
                                n->min_std);
        return 0;
}

void gw_fe_normalize_init(gw_fe_norm *norm, const gw_normalize_spec *spec, double rate_hz)
{
        gw_running_weight_init(&norm->weight, spec->time_constant_s * rate_hz);
        norm->min_std = spec->min_std;
}

void gw_fe_normalize_step(const gw_fe_norm *norm, gw_fe_norm_state *state, int n, bool restart,
                          float *out)
{
        for (int i = 0; i < n; i++) {
                gw_fe_norm_state *s = &state[i];
                double x = out[i], w, d, sd;

                if (restart)
                        s->n = 0;
                w = gw_running_weight_next(&norm->weight, &s->n);
                if (s->n == 1) {
                        s->mean = x;
                        s->var = 0;
                }
                /* West's exponentially weighted update: with w = 1/n it is
                 * the plain mean and population variance. */
                d = x - s->mean;
                s->mean += w * d;
                s->var = (1 - w) * (s->var + w * d * d);
                sd = sqrt(s->var);
                out[i] = (float) ((x - s->mean) / (sd > norm->min_std ? sd : norm->min_std));
        }
}
