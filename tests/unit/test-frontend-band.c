/* SPDX-License-Identifier: MIT */
/* Band-power outputs of the front end (lib/frontend-band.c): "signal":
 * "log_power" with "band_hz" and "smooth_s". */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw-test.h"
#include "gaitway/frontend.h"

#define RATE 32.0
#define PERIOD_NS 31250000
#define N 2000

static char err[GW_ERR_MAX];

#define INPUTS "\"inputs\": [{\"name\": \"ankle_vert\", \"unit\": \"g\"}]"
#define RAW "{\"name\": \"raw\", \"input\": \"ankle_vert\", \"signal\": \"filtered\"}"
#define LOCO "{\"name\": \"loco\", \"input\": \"ankle_vert\", \"signal\": \"log_power\"," \
        " \"band_hz\": [0.5, 3], \"smooth_s\": 1}"
#define FREEZE "{\"name\": \"freeze\", \"input\": \"ankle_vert\", \"signal\": \"log_power\"," \
        " \"band_hz\": [3, 8], \"smooth_s\": 1}"
#define SPEC "{" INPUTS ", \"outputs\": [" RAW ", " LOCO ", " FREEZE "]}"

static int parse(const char *json, gw_frontend_spec *spec)
{
        return gw_frontend_spec_from_json(json, RATE, spec, err, sizeof err);
}

static gw_frontend *make(const char *json)
{
        gw_source_desc src = { .n = 1, .rate_hz = RATE };
        gw_frontend_spec spec;
        gw_frontend *fe = NULL;

        strcpy(src.ch[0].name, "ankle_vert");
        strcpy(src.ch[0].unit, "g");
        CU_ASSERT_EQUAL_FATAL(parse(json, &spec), 0);
        CU_ASSERT_EQUAL_FATAL(gw_frontend_new(&spec, &src, &fe, err, sizeof err), 0);
        return fe;
}

/* n samples at the model rate from t0_ns on; out is n x 3. */
static void run(gw_frontend *fe, int64_t t0_ns, const float *in, int n, float (*out)[3])
{
        for (int i = 0; i < n; i++) {
                int64_t t_out[4];
                uint32_t flags[4];
                float o[4 * 3];

                CU_ASSERT_EQUAL_FATAL(gw_frontend_push(fe, t0_ns + (int64_t) i * PERIOD_NS, &in[i], o,
                                                       t_out, flags, 4), 1);
                memcpy(out[i], o, sizeof out[i]);
        }
}

static void sine(float *x, int n, double amp, double hz, double offset)
{
        for (int i = 0; i < n; i++)
                x[i] = (float) (offset + amp * sin(2 * M_PI * hz * i / RATE));
}

static void expect_refusal(const char *outputs, const char *msg)
{
        char json[1024];
        gw_frontend_spec spec;

        snprintf(json, sizeof json, "{" INPUTS ", \"outputs\": [%s]}", outputs);
        CU_ASSERT(parse(json, &spec) < 0);
        if (!strstr(err, msg)) {
                printf("\n  got \"%s\", expected \"%s\"\n", err, msg);
                CU_FAIL("wrong message");
        }
}

static void test_a_log_power_output_is_parsed_into_the_spec(void)
{
        gw_frontend_spec spec;

        CU_ASSERT_EQUAL_FATAL(parse(SPEC, &spec), 0);
        CU_ASSERT_EQUAL(spec.outputs[0].signal, GW_SIGNAL_FILTERED);
        CU_ASSERT_EQUAL(spec.outputs[2].signal, GW_SIGNAL_LOG_POWER);
        CU_ASSERT_DOUBLE_EQUAL(spec.outputs[2].band_hz[0], 3.0, 0);
        CU_ASSERT_DOUBLE_EQUAL(spec.outputs[2].band_hz[1], 8.0, 0);
        CU_ASSERT_DOUBLE_EQUAL(spec.outputs[2].smooth_s, 1.0, 0);
}

static void test_a_bad_band_is_refused_naming_the_output_and_field(void)
{
        expect_refusal("{\"name\": \"p\", \"input\": \"ankle_vert\", \"signal\": \"log_power\", \"smooth_s\": 1}",
                       "frontend.outputs[0].band_hz: missing (needed by log_power)");
        expect_refusal("{\"name\": \"p\", \"input\": \"ankle_vert\", \"signal\": \"log_power\", \"band_hz\": [3, 8]}",
                       "frontend.outputs[0].smooth_s: missing (needed by log_power)");
        expect_refusal("{\"name\": \"p\", \"input\": \"ankle_vert\", \"signal\": \"log_power\", \"band_hz\": 3,"
                       " \"smooth_s\": 1}", "frontend.outputs[0].band_hz: must be [low, high] in Hz");
        expect_refusal("{\"name\": \"p\", \"input\": \"ankle_vert\", \"signal\": \"log_power\", \"band_hz\": [3, 16],"
                       " \"smooth_s\": 1}", "frontend.outputs[0].band_hz: [3, 16] must satisfy 0 < low < high < 16 Hz");
        expect_refusal("{\"name\": \"p\", \"input\": \"ankle_vert\", \"signal\": \"log_power\", \"band_hz\": [8, 3],"
                       " \"smooth_s\": 1}", "frontend.outputs[0].band_hz: [8, 3] must satisfy");
        expect_refusal("{\"name\": \"p\", \"input\": \"ankle_vert\", \"signal\": \"log_power\", \"band_hz\": [3, 8],"
                       " \"smooth_s\": 0.01}", "frontend.outputs[0].smooth_s: 0.01 must span 1 sample");
        expect_refusal("{\"name\": \"p\", \"input\": \"ankle_vert\", \"signal\": \"filtered\", \"band_hz\": [3, 8]}",
                       "frontend.outputs[0].band_hz: only for signal log_power");
        expect_refusal("{\"name\": \"p\", \"input\": \"ankle_vert\", \"signal\": \"log_pow\"}",
                       "frontend.outputs[0].signal: \"log_pow\" must be filtered, body or gravity, or log_power");
}

/* The output is the documented filter chain, rebuilt here from the public
 * building blocks: 2nd-order Butterworth high-pass then low-pass, settled
 * on the first sample, squared, averaged equally over the first smooth_s
 * and exponentially after, log10 over a 1e-6 floor. */
static void test_the_output_is_the_documented_filter_chain(void)
{
        static float in[N], out[N][3];
        gw_frontend *fe = make(SPEC);
        gw_sos hp, lp;
        gw_biquad_state shp, slp;
        double alpha = -expm1(-1 / RATE), p = 0, worst = 0;
        unsigned warm = (unsigned) ceil(1 / alpha);

        for (int i = 0; i < N; i++)
                in[i] = (float) (0.2 * sin(2 * M_PI * 1.3 * i / RATE) + 0.05 * sin(2 * M_PI * 5.5 * i / RATE) +
                                 0.01 * ((i * 7919) % 101 - 50) / 50.0 + 1.0);
        run(fe, 0, in, N, out);
        CU_ASSERT_EQUAL_FATAL(gw_butter_design(2, 3.0, RATE, GW_BUTTER_HIGHPASS, &hp), 0);
        CU_ASSERT_EQUAL_FATAL(gw_butter_design(2, 8.0, RATE, GW_BUTTER_LOWPASS, &lp), 0);
        gw_biquad_init(&shp, &hp);
        gw_biquad_init(&slp, &lp);
        gw_biquad_settle(&shp, in[0]);
        gw_biquad_settle(&slp, 0);     /* the high-pass of a constant is 0 */
        for (int i = 0; i < N; i++) {
                double y = gw_biquad_step(&slp, gw_biquad_step(&shp, in[i]));
                double w = (unsigned) (i + 1) < warm ? 1.0 / (i + 1) : alpha;

                p += w * (y * y - p);
                worst = fmax(worst, fabs(out[i][2] - log10(p + 1e-6)));
                CU_ASSERT_EQUAL(out[i][0], in[i]);
        }
        printf("  worst %.2g ", worst);
        CU_ASSERT(worst < 1e-5);
        gw_frontend_free(fe);
}

/* What the stage is for: walking (1.5 Hz) puts its power in the locomotor
 * band, trembling (5 Hz) in the freeze band, about a decade apart (the
 * 2nd-order skirts let 5 Hz through the 3 Hz low-pass at -9.6 dB). */
static void test_walking_and_trembling_fall_in_their_bands(void)
{
        static float walk[N], tremor[N], a[N][3], b[N][3];
        gw_frontend *fe = make(SPEC), *fe2 = make(SPEC);

        sine(walk, N, 0.3, 1.5, 1.0);
        sine(tremor, N, 0.3, 5.0, 1.0);
        run(fe, 0, walk, N, a);
        run(fe2, 0, tremor, N, b);
        printf("  walking %.2f / %.2f, trembling %.2f / %.2f ", a[N - 1][1], a[N - 1][2], b[N - 1][1], b[N - 1][2]);
        CU_ASSERT(a[N - 1][1] - a[N - 1][2] > 0.9);
        CU_ASSERT(b[N - 1][2] - b[N - 1][1] > 0.9);
        /* A sine of amplitude A in the band: power near A^2 / 2 = 0.045. */
        CU_ASSERT(fabs(a[N - 1][1] - log10(0.045)) < 0.2);
        CU_ASSERT(fabs(b[N - 1][2] - log10(0.045)) < 0.2);
        gw_frontend_free(fe);
        gw_frontend_free(fe2);
}

/* A sensor three times as sensitive moves every power by log10(9). */
static void test_a_gain_becomes_an_offset(void)
{
        static float x[N], y[N], a[N][3], b[N][3];
        gw_frontend *fe = make(SPEC), *fe2 = make(SPEC);
        double worst = 0;

        for (int i = 0; i < N; i++) {
                x[i] = (float) (0.2 * sin(2 * M_PI * 1.1 * i / RATE) + 0.1 * sin(2 * M_PI * 4.5 * i / RATE));
                y[i] = 3 * x[i];
        }
        run(fe, 0, x, N, a);
        run(fe2, 0, y, N, b);
        for (int i = 200; i < N; i++)
                for (int c = 1; c < 3; c++)
                        worst = fmax(worst, fabs(b[i][c] - a[i][c] - log10(9.0)));
        CU_ASSERT(worst < 1e-3);
        gw_frontend_free(fe);
        gw_frontend_free(fe2);
}

static void test_a_still_sensor_gives_the_floor_not_minus_infinity(void)
{
        static float x[N], out[N][3];
        gw_frontend *fe = make(SPEC);

        for (int i = 0; i < N; i++)
                x[i] = 0.98f;
        run(fe, 0, x, N, out);
        for (int i = 0; i < N; i++) {
                CU_ASSERT_DOUBLE_EQUAL(out[i][1], -6.0, 1e-6);
                CU_ASSERT_DOUBLE_EQUAL(out[i][2], -6.0, 1e-6);
        }
        gw_frontend_free(fe);
}

static void test_a_gap_restarts_the_band_filters_and_the_mean(void)
{
        static float x[N], out[N][3], fresh[N][3];
        gw_frontend *fe = make(SPEC), *fe2 = make(SPEC);
        int half = N / 2;

        for (int i = 0; i < N; i++)
                x[i] = (float) ((i < half ? 0.5 : 0.1) * sin(2 * M_PI * 4.0 * i / RATE) + 1.0);
        run(fe, 0, x, half, out);
        run(fe, (int64_t) 60 * 1000000000, x + half, N - half, out + half);
        run(fe2, 0, x + half, N - half, fresh);
        CU_ASSERT_EQUAL(gw_frontend_stats_get(fe)->gaps, 1);
        CU_ASSERT_EQUAL(memcmp(out + half, fresh, sizeof(float) * 3 * (N - half)), 0);
        gw_frontend_free(fe);
        gw_frontend_free(fe2);
}

void gw_test_register(void)
{
        CU_pSuite s = gw_test_suite("frontend-band");

        gw_test_add(s, "a log_power output is parsed into the spec", test_a_log_power_output_is_parsed_into_the_spec);
        gw_test_add(s, "a bad band is refused naming the output and field",
                    test_a_bad_band_is_refused_naming_the_output_and_field);
        gw_test_add(s, "the output is the documented filter chain", test_the_output_is_the_documented_filter_chain);
        gw_test_add(s, "walking and trembling fall in their bands", test_walking_and_trembling_fall_in_their_bands);
        gw_test_add(s, "a gain becomes an offset", test_a_gain_becomes_an_offset);
        gw_test_add(s, "a still sensor gives the floor, not minus infinity",
                    test_a_still_sensor_gives_the_floor_not_minus_infinity);
        gw_test_add(s, "a gap restarts the band filters and the mean", test_a_gap_restarts_the_band_filters_and_the_mean);
}
