/* SPDX-License-Identifier: MIT */
/* Per-input gravity stages of the front end (lib/frontend-gravity.c): an
 * input may name its own low-pass for the slow part of its signal. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw-test.h"
#include "gaitway/frontend.h"
#include "gaitway/window.h"

#define RATE 50.0
#define N 2000

static char err[GW_ERR_MAX];

/* acc_x with the spec-wide gravity (3rd order, 0.3 Hz), gyro_x with its own
 * (2nd order, 0.1 Hz); no other filter, so "filtered" is the input. */
static const char *const spec_json =
        "{\"inputs\": [{\"name\": \"acc_x\", \"unit\": \"g\"},"
        "              {\"name\": \"gyro_x\", \"unit\": \"rad/s\","
        "               \"gravity\": {\"order\": 2, \"cutoff_hz\": 0.1}}],"
        " \"gravity\": {\"order\": 3, \"cutoff_hz\": 0.3},"
        " \"outputs\": [{\"name\": \"body_acc_x\", \"input\": \"acc_x\", \"signal\": \"body\"},"
        "             {\"name\": \"body_gyro_x\", \"input\": \"gyro_x\", \"signal\": \"body\"},"
        "             {\"name\": \"bias_gyro_x\", \"input\": \"gyro_x\", \"signal\": \"gravity\"}]}";

static int parse(const char *json, gw_frontend_spec *spec)
{
        return gw_frontend_spec_from_json(json, RATE, spec, err, sizeof err);
}

static gw_frontend *make(const gw_frontend_spec *spec)
{
        gw_source_desc src = { .n = 2, .rate_hz = RATE };
        gw_frontend *fe = NULL;

        strcpy(src.ch[0].name, "acc_x");
        strcpy(src.ch[0].unit, "g");
        strcpy(src.ch[1].name, "gyro_x");
        strcpy(src.ch[1].unit, "rad/s");
        CU_ASSERT_EQUAL_FATAL(gw_frontend_new(spec, &src, &fe, err, sizeof err), 0);
        return fe;
}

/* Runs n samples of two signals through the front end; out is n x 3. */
static void run(gw_frontend *fe, const float (*in)[2], int n, float (*out)[3])
{
        for (int i = 0; i < n; i++) {
                int64_t t = (int64_t) i * 20000000, t_out[4];
                uint32_t flags[4];
                float o[4 * 3];
                int k = gw_frontend_push(fe, t, in[i], o, t_out, flags, 4);

                CU_ASSERT_EQUAL_FATAL(k, 1);
                memcpy(out[i], o, sizeof out[i]);
        }
}

/* x minus a Butterworth low-pass of x started at steady state, through the
 * public filter API: the reference the front end must equal. */
static void reference_body(const float (*in)[2], int col, int n, int order, double fc, double *body)
{
        gw_sos sos;
        gw_biquad_state st;

        CU_ASSERT_EQUAL_FATAL(gw_butter_design(order, fc, RATE, GW_BUTTER_LOWPASS, &sos), 0);
        gw_biquad_init(&st, &sos);
        gw_biquad_settle(&st, in[0][col]);
        for (int i = 0; i < n; i++)
                body[i] = in[i][col] - gw_biquad_step(&st, in[i][col]);
}

static void test_input_gravity_is_parsed_into_the_spec(void)
{
        gw_frontend_spec spec;

        CU_ASSERT_EQUAL_FATAL(parse(spec_json, &spec), 0);
        CU_ASSERT_EQUAL(spec.input_gravity[0].order, 0);
        CU_ASSERT_EQUAL(spec.input_gravity[1].order, 2);
        CU_ASSERT_DOUBLE_EQUAL(spec.input_gravity[1].cutoff_hz, 0.1, 0);
        CU_ASSERT_EQUAL(spec.gravity.order, 3);
}

static void test_bad_input_gravity_names_the_input(void)
{
        gw_frontend_spec spec;
        static const struct {
                const char *gravity, *want;
        } cases[] = {
                { "{\"order\": 2, \"cutoff_hz\": 25}", "frontend.inputs[1].gravity.cutoff_hz: 25 must be below half" },
                { "{\"order\": 2, \"cutoff_hz\": 0}", "frontend.inputs[1].gravity.cutoff_hz: 0 must be positive" },
                { "{\"order\": 9, \"cutoff_hz\": 0.1}", "frontend.inputs[1].gravity.order: 9 must be 0..8" },
                { "{\"order\": 2}", "frontend.inputs[1].gravity.cutoff_hz: missing" },
                { "{\"order\": 2, \"cutof_hz\": 0.1}", "frontend.inputs[1].gravity.cutof_hz: unknown key" },
                { "{\"order\": \"2\", \"cutoff_hz\": 0.1}", "frontend.inputs[1].gravity.order: must be an integer" },
                { "[2, 0.1]", "frontend.inputs[1].gravity: must be an object" },
        };

        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
                char json[512];

                snprintf(json, sizeof json,
                         "{\"inputs\": [{\"name\": \"acc_x\", \"unit\": \"g\"},"
                         " {\"name\": \"gyro_x\", \"unit\": \"rad/s\", \"gravity\": %s}],"
                         " \"outputs\": [{\"name\": \"g\", \"input\": \"gyro_x\", \"signal\": \"filtered\"}]}",
                         cases[i].gravity);
                err[0] = '\0';
                CU_ASSERT(parse(json, &spec) < 0);
                CU_ASSERT_PTR_NOT_NULL(strstr(err, cases[i].want));
        }
}

static void test_body_needs_a_gravity_stage_for_its_input(void)
{
        gw_frontend_spec spec;

        /* No spec-wide gravity: the gyro (own stage) may have a body, acc may not. */
        CU_ASSERT_EQUAL(parse("{\"inputs\": [{\"name\": \"acc_x\", \"unit\": \"g\"},"
                              " {\"name\": \"gyro_x\", \"unit\": \"rad/s\","
                              "  \"gravity\": {\"order\": 2, \"cutoff_hz\": 0.1}}],"
                              " \"outputs\": [{\"name\": \"b\", \"input\": \"gyro_x\", \"signal\": \"body\"}]}",
                              &spec), 0);
        CU_ASSERT(parse("{\"inputs\": [{\"name\": \"acc_x\", \"unit\": \"g\"},"
                        " {\"name\": \"gyro_x\", \"unit\": \"rad/s\","
                        "  \"gravity\": {\"order\": 2, \"cutoff_hz\": 0.1}}],"
                        " \"outputs\": [{\"name\": \"b\", \"input\": \"acc_x\", \"signal\": \"body\"}]}",
                        &spec) < 0);
        CU_ASSERT_PTR_NOT_NULL(strstr(err, "frontend.outputs[0].signal: body needs a frontend.gravity stage "
                                           "(or frontend.inputs[0].gravity)"));
}

static void test_own_gravity_replaces_the_spec_wide_one_for_that_input_only(void)
{
        static float in[N][2], out[N][3];
        static double ref_acc[N], ref_gyro[N];
        gw_frontend_spec spec;
        gw_frontend *fe;
        double worst_acc = 0, worst_gyro = 0, worst_bias = 0;

        for (int i = 0; i < N; i++) {
                double t = i / RATE;
                in[i][0] = (float) (0.98 + 0.3 * sin(2 * M_PI * 1.7 * t) + 0.05 * sin(2 * M_PI * 0.05 * t));
                in[i][1] = (float) (0.04 + 0.8 * sin(2 * M_PI * 0.9 * t) + 0.2 * (t > 20));
        }
        CU_ASSERT_EQUAL_FATAL(parse(spec_json, &spec), 0);
        fe = make(&spec);
        run(fe, (const float (*)[2]) in, N, out);
        reference_body((const float (*)[2]) in, 0, N, 3, 0.3, ref_acc);
        reference_body((const float (*)[2]) in, 1, N, 2, 0.1, ref_gyro);
        for (int i = 0; i < N; i++) {
                worst_acc = fmax(worst_acc, fabs(out[i][0] - ref_acc[i]));
                worst_gyro = fmax(worst_gyro, fabs(out[i][1] - ref_gyro[i]));
                /* gravity + body gives the input back */
                worst_bias = fmax(worst_bias, fabs(out[i][1] + out[i][2] - in[i][1]));
        }
        CU_ASSERT(worst_acc < 1e-6);
        CU_ASSERT(worst_gyro < 1e-6);
        CU_ASSERT(worst_bias < 1e-6);
        gw_frontend_free(fe);
}

static void test_a_constant_gyroscope_bias_is_removed_from_the_first_sample(void)
{
        static float in[N][2], out[N][3];
        gw_frontend_spec spec;
        gw_frontend *fe;
        double worst = 0;

        for (int i = 0; i < N; i++) {
                in[i][0] = 1.0f;
                in[i][1] = 0.035f;     /* a MEMS gyroscope's typical offset, rad/s */
        }
        CU_ASSERT_EQUAL_FATAL(parse(spec_json, &spec), 0);
        fe = make(&spec);
        run(fe, (const float (*)[2]) in, N, out);
        for (int i = 0; i < N; i++)
                worst = fmax(worst, fabs(out[i][1]));
        CU_ASSERT(worst < 1e-6);
        CU_ASSERT_DOUBLE_EQUAL(out[N - 1][2], 0.035, 1e-6);
        gw_frontend_free(fe);
}

static void test_a_uci_har_stream_with_a_gyro_gravity_stage_fits_in_8_kib(void)
{
        static const char *json =
                "{\"inputs\": [{\"name\": \"acc_x\", \"unit\": \"g\"}, {\"name\": \"acc_y\", \"unit\": \"g\"},"
                " {\"name\": \"acc_z\", \"unit\": \"g\"},"
                " {\"name\": \"gyro_x\", \"unit\": \"rad/s\", \"gravity\": {\"order\": 2, \"cutoff_hz\": 0.1}},"
                " {\"name\": \"gyro_y\", \"unit\": \"rad/s\", \"gravity\": {\"order\": 2, \"cutoff_hz\": 0.1}},"
                " {\"name\": \"gyro_z\", \"unit\": \"rad/s\", \"gravity\": {\"order\": 2, \"cutoff_hz\": 0.1}}],"
                " \"antialias\": {\"order\": 4, \"cutoff_hz\": 20}, \"median\": 3,"
                " \"lowpass\": {\"order\": 3, \"cutoff_hz\": 20}, \"gravity\": {\"order\": 3, \"cutoff_hz\": 0.3},"
                " \"outputs\": ["
                " {\"name\": \"body_acc_x\", \"input\": \"acc_x\", \"signal\": \"body\"},"
                " {\"name\": \"body_acc_y\", \"input\": \"acc_y\", \"signal\": \"body\"},"
                " {\"name\": \"body_acc_z\", \"input\": \"acc_z\", \"signal\": \"body\"},"
                " {\"name\": \"body_gyro_x\", \"input\": \"gyro_x\", \"signal\": \"body\"},"
                " {\"name\": \"body_gyro_y\", \"input\": \"gyro_y\", \"signal\": \"body\"},"
                " {\"name\": \"body_gyro_z\", \"input\": \"gyro_z\", \"signal\": \"body\"},"
                " {\"name\": \"total_acc_x\", \"input\": \"acc_x\", \"signal\": \"filtered\"},"
                " {\"name\": \"total_acc_y\", \"input\": \"acc_y\", \"signal\": \"filtered\"},"
                " {\"name\": \"total_acc_z\", \"input\": \"acc_z\", \"signal\": \"filtered\"}]}";
        static const char *const names[6] = { "acc_x", "acc_y", "acc_z", "gyro_x", "gyro_y", "gyro_z" };
        gw_source_desc src = { .n = 6, .rate_hz = RATE };
        gw_frontend_spec spec;
        gw_frontend *fe = NULL;
        gw_window *w = NULL;
        size_t total;

        for (int i = 0; i < 6; i++) {
                strcpy(src.ch[i].name, names[i]);
                strcpy(src.ch[i].unit, i < 3 ? "g" : "rad/s");
        }
        CU_ASSERT_EQUAL_FATAL(parse(json, &spec), 0);
        CU_ASSERT_EQUAL_FATAL(gw_frontend_new(&spec, &src, &fe, err, sizeof err), 0);
        CU_ASSERT_EQUAL_FATAL(gw_window_new(128, 9, 64, sizeof(float), RATE, &w), 0);
        total = gw_frontend_state_bytes(fe) + gw_window_state_bytes(w);
        printf("  front end %zu B, window %zu B ", gw_frontend_state_bytes(fe), gw_window_state_bytes(w));
        CU_ASSERT(total <= 8192);
        gw_window_free(w);
        gw_frontend_free(fe);
}

void gw_test_register(void)
{
        CU_pSuite s = gw_test_suite("frontend-gravity");

        gw_test_add(s, "an input's own gravity stage is parsed into the spec",
                    test_input_gravity_is_parsed_into_the_spec);
        gw_test_add(s, "a bad input gravity stage is refused naming the input and field",
                    test_bad_input_gravity_names_the_input);
        gw_test_add(s, "a body output needs a gravity stage for its input, the spec's or its own",
                    test_body_needs_a_gravity_stage_for_its_input);
        gw_test_add(s, "an input's own gravity stage replaces the spec-wide one for that input only",
                    test_own_gravity_replaces_the_spec_wide_one_for_that_input_only);
        gw_test_add(s, "a constant gyroscope bias is removed from the first sample on",
                    test_a_constant_gyroscope_bias_is_removed_from_the_first_sample);
        gw_test_add(s, "a UCI-HAR stream with a gyroscope gravity stage fits in 8 KiB",
                    test_a_uci_har_stream_with_a_gyro_gravity_stage_fits_in_8_kib);
}
