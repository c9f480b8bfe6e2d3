/* SPDX-License-Identifier: MIT */
/* The front end's running standardisation (lib/frontend-normalize.c):
 * "normalize": {"time_constant_s": ..., "min_std": ...}. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw-test.h"
#include "gaitway/frontend.h"

#define RATE 32.0
#define PERIOD_NS 31250000
#define N 4000

static char err[GW_ERR_MAX];

#define INPUTS "\"inputs\": [{\"name\": \"acc_x\", \"unit\": \"g\"}, {\"name\": \"acc_y\", \"unit\": \"g\"}]"
#define OUTPUTS "\"outputs\": [{\"name\": \"x\", \"input\": \"acc_x\", \"signal\": \"filtered\"}," \
        " {\"name\": \"y\", \"input\": \"acc_y\", \"signal\": \"filtered\"}]"

static int parse(const char *json, gw_frontend_spec *spec)
{
        return gw_frontend_spec_from_json(json, RATE, spec, err, sizeof err);
}

static gw_frontend *make(const char *json)
{
        gw_source_desc src = { .n = 2, .rate_hz = RATE };
        gw_frontend_spec spec;
        gw_frontend *fe = NULL;

        strcpy(src.ch[0].name, "acc_x");
        strcpy(src.ch[0].unit, "g");
        strcpy(src.ch[1].name, "acc_y");
        strcpy(src.ch[1].unit, "g");
        CU_ASSERT_EQUAL_FATAL(parse(json, &spec), 0);
        CU_ASSERT_EQUAL_FATAL(gw_frontend_new(&spec, &src, &fe, err, sizeof err), 0);
        return fe;
}

/* Pushes samples at the model rate (one output each) from t0_ns on. */
static void run(gw_frontend *fe, int64_t t0_ns, const float (*in)[2], int n, float (*out)[2])
{
        for (int i = 0; i < n; i++) {
                int64_t t_out[4];
                uint32_t flags[4];
                float o[4 * 2];
                int k = gw_frontend_push(fe, t0_ns + (int64_t) i * PERIOD_NS, in[i], o, t_out, flags, 4);

                CU_ASSERT_EQUAL_FATAL(k, 1);
                memcpy(out[i], o, sizeof out[i]);
        }
}

/* Walking-like 1.5 Hz sway with a 5 Hz tremor and a slow drift. */
static float signal_at(int i)
{
        double t = i / RATE;
        return (float) (0.3 * sin(2 * M_PI * 1.5 * t) + 0.1 * sin(2 * M_PI * 5.0 * t + 1.0) +
                        0.05 * sin(2 * M_PI * 0.01 * t));
}

static void expect_refusal(const char *json, const char *msg)
{
        gw_frontend_spec spec;

        CU_ASSERT(parse(json, &spec) < 0);
        if (!strstr(err, msg)) {
                printf("\n  got \"%s\", expected \"%s\"\n", err, msg);
                CU_FAIL("wrong message");
        }
}

static void test_the_stage_is_parsed_into_the_spec_and_absent_by_default(void)
{
        gw_frontend_spec spec;

        CU_ASSERT_EQUAL_FATAL(parse("{" INPUTS ", " OUTPUTS "}", &spec), 0);
        CU_ASSERT_EQUAL(spec.normalize.time_constant_s, 0);
        CU_ASSERT_EQUAL_FATAL(parse("{" INPUTS ", \"normalize\": {\"time_constant_s\": 30, \"min_std\": 0.01}, "
                                    OUTPUTS "}", &spec), 0);
        CU_ASSERT_DOUBLE_EQUAL(spec.normalize.time_constant_s, 30.0, 0);
        CU_ASSERT_DOUBLE_EQUAL(spec.normalize.min_std, 0.01, 0);
}

static void test_a_bad_stage_is_refused_naming_the_field(void)
{
        expect_refusal("{" INPUTS ", \"normalize\": 30, " OUTPUTS "}", "frontend.normalize: must be an object");
        expect_refusal("{" INPUTS ", \"normalize\": {\"time_constant_s\": 30}, " OUTPUTS "}",
                       "frontend.normalize.min_std: missing");
        expect_refusal("{" INPUTS ", \"normalize\": {\"time_constant_s\": 30, \"min_std\": 0.01, \"tau\": 3}, "
                       OUTPUTS "}", "frontend.normalize.tau: unknown key");
        expect_refusal("{" INPUTS ", \"normalize\": {\"time_constant_s\": \"30\", \"min_std\": 0.01}, "
                       OUTPUTS "}", "frontend.normalize.time_constant_s: must be a number");
        expect_refusal("{" INPUTS ", \"normalize\": {\"time_constant_s\": 0.01, \"min_std\": 0.01}, "
                       OUTPUTS "}", "frontend.normalize.time_constant_s: 0.01 must be 0 or span 1 sample");
        expect_refusal("{" INPUTS ", \"normalize\": {\"time_constant_s\": -5, \"min_std\": 0.01}, "
                       OUTPUTS "}", "frontend.normalize.time_constant_s: -5");
        expect_refusal("{" INPUTS ", \"normalize\": {\"time_constant_s\": 30, \"min_std\": 0}, "
                       OUTPUTS "}", "frontend.normalize.min_std: 0 must be positive");
}

/* The point of the stage: a wearer whose sensor reports the same movement
 * three times larger, on another offset, gives the model the same input. */
static void test_a_scaled_and_offset_signal_gives_the_same_output(void)
{
        static float in[N][2], out[N][2];
        gw_frontend *fe = make("{" INPUTS ", \"normalize\": {\"time_constant_s\": 30, \"min_std\": 0.001}, "
                               OUTPUTS "}");
        double worst = 0;

        for (int i = 0; i < N; i++) {
                in[i][0] = signal_at(i);
                in[i][1] = 3.0f * signal_at(i) + 0.8f;
        }
        run(fe, 0, (const float (*)[2]) in, N, out);
        for (int i = 0; i < N; i++)
                worst = fmax(worst, fabs(out[i][0] - out[i][1]));
        CU_ASSERT(worst < 1e-4);
        gw_frontend_free(fe);
}

/* Until one time constant of samples has arrived every sample weighs the
 * same: the output is the sample's z-score among all samples so far
 * (population standard deviation), computed here the textbook way. */
static void test_during_warm_up_the_output_is_the_z_score_among_the_samples_so_far(void)
{
        static float in[N][2], out[N][2];
        gw_frontend *fe = make("{" INPUTS ", \"normalize\": {\"time_constant_s\": 100, \"min_std\": 0.001}, "
                               OUTPUTS "}");
        double worst = 0;
        int n = 1000;   /* fewer than 100 s x 32 Hz */

        for (int i = 0; i < n; i++) {
                in[i][0] = signal_at(i);
                in[i][1] = 0;
        }
        run(fe, 0, (const float (*)[2]) in, n, out);
        CU_ASSERT_EQUAL(out[0][0], 0.0f);
        for (int i = 1; i < n; i++) {
                double m = 0, v = 0, sd;

                for (int j = 0; j <= i; j++)
                        m += in[j][0];
                m /= i + 1;
                for (int j = 0; j <= i; j++)
                        v += (in[j][0] - m) * (in[j][0] - m);
                sd = sqrt(v / (i + 1));
                worst = fmax(worst, fabs(out[i][0] - (in[i][0] - m) / fmax(sd, 0.001)));
        }
        CU_ASSERT(worst < 1e-4);
        gw_frontend_free(fe);
}

/* Past the warm-up the statistics follow the signal: a stationary signal
 * comes out with mean near 0 and spread near 1, whatever its amplitude. */
static void test_a_steady_signal_comes_out_with_unit_spread(void)
{
        static float in[N][2], out[N][2];
        gw_frontend *fe = make("{" INPUTS ", \"normalize\": {\"time_constant_s\": 10, \"min_std\": 0.001}, "
                               OUTPUTS "}");
        double m = 0, v = 0;
        int a = 2000;

        for (int i = 0; i < N; i++) {
                in[i][0] = 0.05f * signal_at(i) + 1.0f;
                in[i][1] = 0;
        }
        run(fe, 0, (const float (*)[2]) in, N, out);
        for (int i = a; i < N; i++)
                m += out[i][0];
        m /= N - a;
        for (int i = a; i < N; i++)
                v += (out[i][0] - m) * (out[i][0] - m);
        v /= N - a;
        printf("  mean %.3f, std %.3f ", m, sqrt(v));
        CU_ASSERT(fabs(m) < 0.05);
        CU_ASSERT(fabs(sqrt(v) - 1) < 0.05);
        gw_frontend_free(fe);
}

/* A sensor lying still is not blown up into unit-variance noise: below
 * min_std the spread is taken as min_std, and a constant is 0, not NaN. */
static void test_a_still_sensor_is_not_amplified_beyond_the_floor(void)
{
        static float in[N][2], out[N][2];
        gw_frontend *fe = make("{" INPUTS ", \"normalize\": {\"time_constant_s\": 10, \"min_std\": 0.01}, "
                               OUTPUTS "}");
        double worst_x = 0, worst_y = 0;

        for (int i = 0; i < N; i++) {
                in[i][0] = 1.0f + 0.001f * (float) sin(2 * M_PI * 5.0 * i / RATE);   /* 1 mg of jitter */
                in[i][1] = -0.25f;
        }
        run(fe, 0, (const float (*)[2]) in, N, out);
        for (int i = 0; i < N; i++) {
                CU_ASSERT_FATAL(isfinite(out[i][0]) && isfinite(out[i][1]));
                worst_x = fmax(worst_x, fabs(out[i][0]));
                worst_y = fmax(worst_y, fabs(out[i][1]));
        }
        CU_ASSERT(worst_x <= 0.2 + 1e-6);    /* 2 mg of deviation at most over a 10 mg floor */
        CU_ASSERT_EQUAL(worst_y, 0.0);
        gw_frontend_free(fe);
}

/* After a gap the stream restarts and so does the standardisation: the
 * output equals that of a new front end fed the samples after the gap. */
static void test_a_gap_restarts_the_statistics(void)
{
        static float in[N][2], out[N][2], fresh[N][2];
        const char *json = "{" INPUTS ", \"normalize\": {\"time_constant_s\": 30, \"min_std\": 0.001}, " OUTPUTS "}";
        gw_frontend *fe = make(json), *fe2 = make(json);
        int half = N / 2;

        for (int i = 0; i < N; i++) {
                in[i][0] = (i < half ? 5.0f : 1.0f) * signal_at(i);
                in[i][1] = signal_at(i + 7);
        }
        run(fe, 0, (const float (*)[2]) in, half, out);
        run(fe, (int64_t) 3600 * 1000000000, (const float (*)[2]) in + half, N - half, out + half);
        run(fe2, 0, (const float (*)[2]) in + half, N - half, fresh);
        CU_ASSERT_EQUAL(gw_frontend_stats_get(fe)->gaps, 1);
        CU_ASSERT_EQUAL(memcmp(out + half, fresh, sizeof(float) * 2 * (N - half)), 0);
        gw_frontend_free(fe);
        gw_frontend_free(fe2);
}

/* The stage adds two doubles and a counter per output channel. */
static void test_the_stage_costs_its_state_per_output_only(void)
{
        gw_frontend *plain = make("{" INPUTS ", " OUTPUTS "}");
        gw_frontend *norm = make("{" INPUTS ", \"normalize\": {\"time_constant_s\": 30, \"min_std\": 0.01}, "
                                 OUTPUTS "}");
        size_t a = gw_frontend_state_bytes(plain), b = gw_frontend_state_bytes(norm);

        printf("  %zu -> %zu B ", a, b);
        CU_ASSERT(b > a);
        CU_ASSERT(b - a <= 2 * 24 + 64);
        gw_frontend_free(plain);
        gw_frontend_free(norm);
}

void gw_test_register(void)
{
        CU_pSuite s = gw_test_suite("frontend-normalize");

        gw_test_add(s, "the stage is parsed into the spec and absent by default",
                    test_the_stage_is_parsed_into_the_spec_and_absent_by_default);
        gw_test_add(s, "a bad stage is refused naming the field", test_a_bad_stage_is_refused_naming_the_field);
        gw_test_add(s, "a scaled and offset signal gives the same output",
                    test_a_scaled_and_offset_signal_gives_the_same_output);
        gw_test_add(s, "during warm-up the output is the z-score among the samples so far",
                    test_during_warm_up_the_output_is_the_z_score_among_the_samples_so_far);
        gw_test_add(s, "a steady signal comes out with unit spread", test_a_steady_signal_comes_out_with_unit_spread);
        gw_test_add(s, "a still sensor is not amplified beyond the floor",
                    test_a_still_sensor_is_not_amplified_beyond_the_floor);
        gw_test_add(s, "a gap restarts the statistics", test_a_gap_restarts_the_statistics);
        gw_test_add(s, "the stage costs its state per output only", test_the_stage_costs_its_state_per_output_only);
}
