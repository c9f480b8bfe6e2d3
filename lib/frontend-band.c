/* SPDX-License-Identifier: MIT */
/* Band-power outputs.  The freeze index (docs/freeze-index.md) tells a
 * freeze from walking by where the ankle's power lies: 0.5-3 Hz while
 * walking, 3-8 Hz while trembling in place.  A network that must find that
 * out from raw samples of three or four training wearers also learns their
 * gait and amplitude; handing it the powers directly, on a log scale where a
 * wearer's gain is an offset and the index is a difference, gives it the
 * baseline's evidence to start from:
 *
 *     {"name": "ankle_vert_freeze", "input": "ankle_vert", "signal": "log_power",
 *      "band_hz": [3, 8], "smooth_s": 1}
 *
 * is log10(P + 1e-6), P the running mean of the square of the filtered
 * input band-passed by a 2nd-order Butterworth high-pass at band_hz[0]
 * followed by a 2nd-order low-pass at band_hz[1], the mean exponentially
 * weighted with the time constant smooth_s (equal weights during the first
 * smooth_s after a start or gap).  The floor 1e-6 (unit squared: 1 mg RMS
 * for g) keeps a still sensor's log finite. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "biquad-private.h"
#include "frontend-band-private.h"

#define MAX_SMOOTH_S 3600.0
#define POWER_FLOOR 1e-6

int gw_fe_band_parse(const json_t *output, size_t i, gw_output_spec *o, char *err, size_t errlen)
{
        const json_t *band = json_object_get(output, "band_hz");
        const json_t *smooth = json_object_get(output, "smooth_s");

        o->band_hz[0] = o->band_hz[1] = 0;
        o->smooth_s = 0;
        if (o->signal != GW_SIGNAL_LOG_POWER) {
                if (band || smooth)
                        return gw_error(err, errlen, EINVAL, "frontend.outputs[%zu].%s: only for signal log_power",
                                        i, band ? "band_hz" : "smooth_s");
                return 0;
        }
        if (!band)
                return gw_error(err, errlen, EINVAL, "frontend.outputs[%zu].band_hz: missing (needed by log_power)", i);
        if (!json_is_array(band) || json_array_size(band) != 2 ||
            !json_is_number(json_array_get(band, 0)) || !json_is_number(json_array_get(band, 1)))
                return gw_error(err, errlen, EINVAL, "frontend.outputs[%zu].band_hz: must be [low, high] in Hz", i);
        if (!smooth)
                return gw_error(err, errlen, EINVAL, "frontend.outputs[%zu].smooth_s: missing (needed by log_power)", i);
        if (!json_is_number(smooth))
                return gw_error(err, errlen, EINVAL, "frontend.outputs[%zu].smooth_s: must be a number", i);
        o->band_hz[0] = json_number_value(json_array_get(band, 0));
        o->band_hz[1] = json_number_value(json_array_get(band, 1));
        o->smooth_s = json_number_value(smooth);
        return 0;
}

int gw_fe_band_check(const gw_frontend_spec *spec, char *err, size_t errlen)
{
        for (int i = 0; i < spec->n_outputs; i++) {
                const gw_output_spec *o = &spec->outputs[i];
                double lo = o->band_hz[0], hi = o->band_hz[1];

                if (o->signal != GW_SIGNAL_LOG_POWER) {
                        if (lo != 0 || hi != 0 || o->smooth_s != 0)
                                return gw_error(err, errlen, EINVAL,
                                                "frontend.outputs[%d].band_hz: only for signal log_power", i);
                        continue;
                }
                if (!isfinite(lo) || !isfinite(hi) || lo <= 0 || hi <= lo || hi >= spec->rate_hz / 2)
                        return gw_error(err, errlen, EINVAL,
                                        "frontend.outputs[%d].band_hz: [%g, %g] must satisfy 0 < low < high < %g Hz (half the model rate)",
                                        i, lo, hi, spec->rate_hz / 2);
                if (!isfinite(o->smooth_s) || o->smooth_s * spec->rate_hz < 1 || o->smooth_s > MAX_SMOOTH_S)
                        return gw_error(err, errlen, EINVAL,
                                        "frontend.outputs[%d].smooth_s: %g must span 1 sample (%g s) to %g s",
                                        i, o->smooth_s, 1 / spec->rate_hz, MAX_SMOOTH_S);
        }
        return 0;
}

int gw_fe_band_count(const gw_frontend_spec *spec)
{
        int n = 0;

        for (int i = 0; i < spec->n_outputs; i++)
                n += spec->outputs[i].signal == GW_SIGNAL_LOG_POWER;
        return n;
}

void gw_fe_band_init(gw_fe_band *band, const gw_frontend_spec *spec)
{
        int k = 0;

        for (int i = 0; i < spec->n_outputs; i++) {
                const gw_output_spec *o = &spec->outputs[i];
                gw_fe_band *b;
                gw_sos lp;

                if (o->signal != GW_SIGNAL_LOG_POWER)
                        continue;
                b = &band[k++];
                memset(b, 0, sizeof *b);
                /* Both designs are valid for a checked spec (order 2, cut-offs
                 * inside (0, rate / 2)): one section each. */
                gw_butter_design(2, o->band_hz[0], spec->rate_hz, GW_BUTTER_HIGHPASS, &b->sos);
                gw_butter_design(2, o->band_hz[1], spec->rate_hz, GW_BUTTER_LOWPASS, &lp);
                memcpy(b->sos.sos[b->sos.n], lp.sos[0], sizeof lp.sos[0]);
                b->sos.n++;
                gw_running_weight_init(&b->weight, o->smooth_s * spec->rate_hz);
                b->output = i;
        }
}

void gw_fe_band_step(gw_fe_band *band, int n, bool restart, float *out)
{
        for (int k = 0; k < n; k++) {
                gw_fe_band *b = &band[k];
                double x = out[b->output], y;

                if (restart) {
                        gw_sos_settle(&b->sos, b->z, x);
                        b->n = 0;
                }
                y = gw_sos_step(&b->sos, b->z, x);
                b->power += gw_running_weight_next(&b->weight, &b->n) * (y * y - b->power);
                out[b->output] = (float) log10(b->power + POWER_FLOOR);
        }
}
