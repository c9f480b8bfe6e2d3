/* SPDX-License-Identifier: MIT */
/* libFuzzer target: the "frontend" object of a model description
 * (gw_frontend_spec_from_json) and, for every spec it accepts, a front end
 * built from it and fed samples, so a spec that parses but designs an
 * unstable filter or overruns a buffer is found too.
 *
 * Input: the JSON text, optionally followed by a line "--" and bytes that
 * choose the model rate, the source (rate, units, mount matrix, gap) and
 * the samples.  Without them a plain source at twice the model rate gets a
 * fixed signal, so a seed is just a JSON file. */

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz-input.h"
#include "gaitway/frontend.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_SAMPLES 2000

static const double rates[] = { 50.0, 32.0, 64.0, 100.0, 20.0, 1.0, 0.001, 10000.0 };

/* Units the source may deliver instead of the spec's: the converter must
 * accept or refuse them, never misbehave. */
static const char *const units[] = { NULL, "g", "m/s^2", "mg", "rad/s", "deg/s", "dps", "uT", "G" };

static void run(const gw_frontend_spec *spec, FuzzInput *ctl)
{
        char err[GW_ERR_MAX];
        gw_source_desc src;
        gw_frontend *fe = NULL;
        uint8_t mode = fuzz_u8(ctl);

        memset(&src, 0, sizeof src);
        src.n = spec->n_inputs;
        for (int i = 0; i < spec->n_inputs; i++) {
                src.ch[i] = spec->inputs[i];
                const char *u = units[fuzz_u8(ctl) % (sizeof units / sizeof units[0])];
                if (u)
                        strcpy(src.ch[i].unit, u);
        }
        src.rate_hz = ctl->n ? 0.5 + fuzz_u16(ctl) / 16.0 : spec->rate_hz * 2;
        if (mode & 1) {
                src.has_mount = true;
                for (int r = 0; r < 3; r++)
                        for (int c = 0; c < 3; c++)
                                src.mount[r][c] = (int8_t) fuzz_u8(ctl) / 64.0;
        }
        if (mode & 2)
                src.max_gap_ns = (int64_t) fuzz_u32(ctl) * 1000;

        err[0] = 0;
        if (gw_frontend_new(spec, &src, &fe, err, sizeof err) < 0) {
                if (fe || !err[0])
                        abort();
                return;
        }
        int c = gw_frontend_channels(fe), max_out = gw_frontend_max_out(fe);
        if (c != spec->n_outputs || max_out < 1)
                abort();
        float *out = malloc((size_t) max_out * (size_t) c * sizeof *out);
        int64_t *t_out = malloc((size_t) max_out * sizeof *t_out);
        uint32_t *flags = malloc((size_t) max_out * sizeof *flags);
        if (!out || !t_out || !flags)
                abort();

        float raw[GW_MAX_INPUTS];
        int64_t t = 1000000000, last = 0;
        bool have_last = false;
        double period = 1e9 / src.rate_hz;
        for (int k = 0; k < MAX_SAMPLES; k++) {
                if (ctl->n) {
                        /* Mostly on time, sometimes late, early or far off. */
                        uint8_t j = fuzz_u8(ctl);
                        t += j < 200 ? (int64_t) (period * (0.5 + j / 200.0)) :
                             j < 250 ? -(int64_t) (j - 199) * 1000000 : (int64_t) fuzz_u32(ctl) * 1000;
                        for (int i = 0; i < src.n; i++) {
                                uint8_t v = fuzz_u8(ctl);
                                raw[i] = v == 255 ? NAN : v == 254 ? INFINITY :
                                         (float) ((int8_t) v) / 8.0f;
                        }
                } else if (k < 300) {
                        t += (int64_t) period;
                        for (int i = 0; i < src.n; i++)
                                raw[i] = (float) sin(k * 0.1 + i);
                } else
                        break;
                int n = gw_frontend_push(fe, t, raw, out, t_out, flags, max_out);
                if (n < 0 || n > max_out)
                        abort();
                for (int i = 0; i < n; i++) {
                        /* The grid only moves forward between restarts. */
                        if (!(flags[i] & GW_SAMPLE_RESTART) && have_last && t_out[i] <= last)
                                abort();
                        last = t_out[i];
                        have_last = true;
                }
        }
        const gw_frontend_stats *st = gw_frontend_stats_get(fe);
        if (st->samples_out > st->samples_in * (uint64_t) max_out)
                abort();
        gw_frontend_reset(fe);
        free(out);
        free(t_out);
        free(flags);
        gw_frontend_free(fe);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        FuzzInput in = { data, size };
        char err[GW_ERR_MAX];
        gw_frontend_spec spec;
        size_t len;
        const uint8_t *json = fuzz_piece(&in, "\n--\n", &len);
        char *text = fuzz_strndup(json, len);
        double rate = in.n ? rates[fuzz_u8(&in) % (sizeof rates / sizeof rates[0])] : 50.0;

        err[0] = 0;
        if (gw_frontend_spec_from_json(text, rate, &spec, err, sizeof err) == 0)
                run(&spec, &in);
        else if (!err[0] || strchr(err, '\n'))
                abort();
        free(text);
        return 0;
}
