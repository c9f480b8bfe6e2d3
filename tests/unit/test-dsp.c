/* SPDX-License-Identifier: MIT */
/* The streaming front end and windowing against scipy/numpy references
 * (tests/data/dsp/, made by tests/data/dsp/generate.py). */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gaitway/frontend.h"
#include "gaitway/window.h"
#include "gw-test.h"

/* Allocation counting: the binary links with --wrap for these. */
void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t m);
void *__real_realloc(void *p, size_t n);
void *__real_aligned_alloc(size_t a, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t m);
void *__wrap_realloc(void *p, size_t n);
void *__wrap_aligned_alloc(size_t a, size_t n);

static unsigned long allocations;

void *__wrap_malloc(size_t n)
{
        allocations++;
        return __real_malloc(n);
}

void *__wrap_calloc(size_t n, size_t m)
{
        allocations++;
        return __real_calloc(n, m);
}

void *__wrap_realloc(void *p, size_t n)
{
        allocations++;
        return __real_realloc(p, n);
}

void *__wrap_aligned_alloc(size_t a, size_t n)
{
        allocations++;
        return __real_aligned_alloc(a, n);
}

#define T0 INT64_C(1700000000000000000)
#define MS INT64_C(1000000)

/* ---- data files ---------------------------------------------------------- */

static FILE *open_data(const char *name)
{
        FILE *f = fopen(gw_test_data(name), "r");
        int c;

        CU_ASSERT_PTR_NOT_NULL_FATAL(f);
        /* the comment line */
        while ((c = fgetc(f)) != EOF && c != '\n')
                ;
        return f;
}

#define EXCERPT_N 1000

/* The HAPT excerpt: 1000 x 6 (acc g, gyro rad/s) at 50 Hz. */
static float excerpt[EXCERPT_N][6];

static void load_excerpt(void)
{
        static bool loaded;
        FILE *f;

        if (loaded)
                return;
        f = open_data("dsp/hapt-excerpt.txt");
        for (int i = 0; i < EXCERPT_N; i++)
                for (int c = 0; c < 6; c++)
                        CU_ASSERT_FATAL(fscanf(f, "%f", &excerpt[i][c]) == 1);
        fclose(f);
        loaded = true;
}

/* ---- front-end helpers --------------------------------------------------- */

static const char uci_spec_json[] =
        "{\"inputs\": ["
        " {\"name\": \"acc_x\", \"unit\": \"g\"}, {\"name\": \"acc_y\", \"unit\": \"g\"},"
        " {\"name\": \"acc_z\", \"unit\": \"g\"}, {\"name\": \"gyro_x\", \"unit\": \"rad/s\"},"
        " {\"name\": \"gyro_y\", \"unit\": \"rad/s\"}, {\"name\": \"gyro_z\", \"unit\": \"rad/s\"}],"
        " \"median\": 3,"
        " \"lowpass\": {\"order\": 3, \"cutoff_hz\": 20.0},"
        " \"highpass\": {\"order\": 0},"
        " \"gravity\": {\"order\": 3, \"cutoff_hz\": 0.3},"
        " \"outputs\": ["
        " {\"name\": \"body_acc_x\", \"input\": \"acc_x\", \"signal\": \"body\"},"
        " {\"name\": \"body_acc_y\", \"input\": \"acc_y\", \"signal\": \"body\"},"
        " {\"name\": \"body_acc_z\", \"input\": \"acc_z\", \"signal\": \"body\"},"
        " {\"name\": \"body_gyro_x\", \"input\": \"gyro_x\", \"signal\": \"filtered\"},"
        " {\"name\": \"body_gyro_y\", \"input\": \"gyro_y\", \"signal\": \"filtered\"},"
        " {\"name\": \"body_gyro_z\", \"input\": \"gyro_z\", \"signal\": \"filtered\"},"
        " {\"name\": \"total_acc_x\", \"input\": \"acc_x\", \"signal\": \"filtered\"},"
        " {\"name\": \"total_acc_y\", \"input\": \"acc_y\", \"signal\": \"filtered\"},"
        " {\"name\": \"total_acc_z\", \"input\": \"acc_z\", \"signal\": \"filtered\"}]}";

static void source_set(gw_source_desc *src, const char *const *names, const char *const *units,
                       int n, double rate_hz)
{
        memset(src, 0, sizeof *src);
        src->n = n;
        for (int i = 0; i < n; i++) {
                snprintf(src->ch[i].name, GW_NAME_MAX, "%s", names[i]);
                snprintf(src->ch[i].unit, GW_NAME_MAX, "%s", units[i]);
        }
        src->rate_hz = rate_hz;
}

static const char *const imu_names[] = { "acc_x", "acc_y", "acc_z", "gyro_x", "gyro_y", "gyro_z" };
static const char *const imu_units[] = { "g", "g", "g", "rad/s", "rad/s", "rad/s" };

static gw_frontend *uci_frontend(const gw_source_desc *src_in)
{
        gw_frontend_spec spec;
        gw_source_desc src;
        gw_frontend *fe = NULL;
        char err[GW_ERR_MAX] = "";

        CU_ASSERT_EQUAL_FATAL(gw_frontend_spec_from_json(uci_spec_json, 50.0, &spec, err, sizeof err), 0);
        if (!src_in) {
                source_set(&src, imu_names, imu_units, 6, 50.0);
                src_in = &src;
        }
        CU_ASSERT_EQUAL_FATAL(gw_frontend_new(&spec, src_in, &fe, err, sizeof err), 0);
        return fe;
}

/* A front end of one channel "x" (unit g) with no filter: resampling only. */
static gw_frontend *plain_frontend(double model_rate, double src_rate, int64_t max_gap_ns)
{
        static const char json[] =
                "{\"inputs\": [{\"name\": \"x\", \"unit\": \"g\"}],"
                " \"outputs\": [{\"name\": \"x\", \"input\": \"x\", \"signal\": \"filtered\"}]}";
        static const char *const name[] = { "x" }, *const unit[] = { "g" };
        gw_frontend_spec spec;
        gw_source_desc src;
        gw_frontend *fe = NULL;
        char err[GW_ERR_MAX] = "";

        CU_ASSERT_EQUAL_FATAL(gw_frontend_spec_from_json(json, model_rate, &spec, err, sizeof err), 0);
        source_set(&src, name, unit, 1, src_rate);
        src.max_gap_ns = max_gap_ns;
        CU_ASSERT_EQUAL_FATAL(gw_frontend_new(&spec, &src, &fe, err, sizeof err), 0);
        return fe;
}

/* ---- units --------------------------------------------------------------- */

static void test_unit_g_is_standard_gravity(void)
{
        double f = 0;

        CU_ASSERT_EQUAL(gw_unit_factor("g", "m/s^2", &f), 0);
        CU_ASSERT_DOUBLE_EQUAL(f, 9.80665, 1e-15);
        CU_ASSERT_EQUAL(gw_unit_factor("m/s^2", "g", &f), 0);
        CU_ASSERT_DOUBLE_EQUAL(f, 1 / 9.80665, 1e-15);
        CU_ASSERT_EQUAL(gw_unit_factor("mg", "g", &f), 0);
        CU_ASSERT_DOUBLE_EQUAL(f, 1e-3, 1e-15);
        CU_ASSERT_EQUAL(gw_unit_factor("g", "g", &f), 0);
        CU_ASSERT_EQUAL(f, 1.0);
}

static void test_unit_angular_rates_convert(void)
{
        double f = 0;

        CU_ASSERT_EQUAL(gw_unit_factor("deg/s", "rad/s", &f), 0);
        CU_ASSERT_DOUBLE_EQUAL(f, M_PI / 180, 1e-17);
        CU_ASSERT_EQUAL(gw_unit_factor("rad/s", "deg/s", &f), 0);
        CU_ASSERT_DOUBLE_EQUAL(f, 180 / M_PI, 1e-12);
        CU_ASSERT_EQUAL(gw_unit_factor("mrad/s", "rad/s", &f), 0);
        CU_ASSERT_DOUBLE_EQUAL(f, 1e-3, 1e-18);
        CU_ASSERT_EQUAL(gw_unit_factor("dps", "deg/s", &f), 0);
        CU_ASSERT_EQUAL(f, 1.0);
}

static void test_unit_aliases_are_accepted(void)
{
        double f = 0;

        CU_ASSERT_EQUAL(gw_unit_factor("m/s2", "m/s^2", &f), 0);
        CU_ASSERT_EQUAL(f, 1.0);
        CU_ASSERT_EQUAL(gw_unit_factor("m/s/s", "g", &f), 0);
        CU_ASSERT_DOUBLE_EQUAL(f, 1 / 9.80665, 1e-15);
}

static void test_unit_refuses_mixed_kinds_and_unknown_units(void)
{
        double f = 42;

        CU_ASSERT_EQUAL(gw_unit_factor("g", "rad/s", &f), -EINVAL);
        CU_ASSERT_EQUAL(gw_unit_factor("deg/s", "mg", &f), -EINVAL);
        CU_ASSERT_EQUAL(gw_unit_factor("G", "g", &f), -EINVAL);
        CU_ASSERT_EQUAL(gw_unit_factor("furlong/fortnight", "m/s^2", &f), -EINVAL);
        CU_ASSERT_EQUAL(gw_unit_factor("", "", &f), -EINVAL);
        CU_ASSERT_EQUAL(gw_unit_factor("uT", "nT", &f), -EINVAL);
        CU_ASSERT_EQUAL(f, 42);
}

static void test_unit_identical_unlisted_units_pass_through(void)
{
        double f = 0;

        CU_ASSERT_EQUAL(gw_unit_factor("uT", "uT", &f), 0);
        CU_ASSERT_EQUAL(f, 1.0);
}

/* ---- Butterworth design -------------------------------------------------- */

static void test_butter_matches_scipy_coefficients(void)
{
        FILE *f = open_data("dsp/butter.txt");
        int order, type, n, cases = 0, low = 0, high = 0;
        double cut, rate, worst = 0;

        while (fscanf(f, "%d %lf %lf %d %d", &order, &cut, &rate, &type, &n) == 5) {
                gw_sos sos;
                CU_ASSERT_EQUAL_FATAL(gw_butter_design(order, cut, rate,
                                                       type ? GW_BUTTER_HIGHPASS : GW_BUTTER_LOWPASS,
                                                       &sos), 0);
                CU_ASSERT_EQUAL(sos.n, n);
                for (int s = 0; s < n; s++)
                        for (int c = 0; c < 6; c++) {
                                double ref;
                                CU_ASSERT_FATAL(fscanf(f, "%lf", &ref) == 1);
                                double d = fabs(sos.sos[s][c] - ref);
                                double rel = d / fmax(fabs(ref), 1e-300);
                                if (d > 0 && rel > worst)
                                        worst = rel;
                                if (!(d <= 1e-12 * fabs(ref) || d <= 1e-300)) {
                                        fprintf(stderr, "order %d %g Hz at %g Hz %s: sos[%d][%d] %.17g, scipy %.17g\n",
                                                order, cut, rate, type ? "high" : "low", s, c,
                                                sos.sos[s][c], ref);
                                        CU_FAIL("coefficient differs from scipy");
                                }
                        }
                cases++;
                if (type)
                        high++;
                else
                        low++;
        }
        fclose(f);
        fprintf(stderr, "  %d designs (%d low, %d high), worst relative difference %.3g\n",
                cases, low, high, worst);
        CU_ASSERT(low >= 40 && high >= 40);
}

static void test_butter_refuses_bad_parameters(void)
{
        gw_sos sos;

        CU_ASSERT_EQUAL(gw_butter_design(0, 10, 50, GW_BUTTER_LOWPASS, &sos), -EINVAL);
        CU_ASSERT_EQUAL(gw_butter_design(9, 10, 50, GW_BUTTER_LOWPASS, &sos), -EINVAL);
        CU_ASSERT_EQUAL(gw_butter_design(2, 25, 50, GW_BUTTER_LOWPASS, &sos), -EINVAL);
        CU_ASSERT_EQUAL(gw_butter_design(2, 30, 50, GW_BUTTER_HIGHPASS, &sos), -EINVAL);
        CU_ASSERT_EQUAL(gw_butter_design(2, 0, 50, GW_BUTTER_LOWPASS, &sos), -EINVAL);
        CU_ASSERT_EQUAL(gw_butter_design(2, -1, 50, GW_BUTTER_LOWPASS, &sos), -EINVAL);
        CU_ASSERT_EQUAL(gw_butter_design(2, NAN, 50, GW_BUTTER_LOWPASS, &sos), -EINVAL);
        CU_ASSERT_EQUAL(gw_butter_design(2, 10, INFINITY, GW_BUTTER_LOWPASS, &sos), -EINVAL);
        CU_ASSERT_EQUAL(gw_butter_design(2, 10, 50, (gw_butter_type) 7, &sos), -EINVAL);
}

/* ---- biquad cascades ----------------------------------------------------- */

static void test_biquad_matches_scipy_sosfilt_with_zi(void)
{
        FILE *f;
        int cases, n;
        struct { int order, type, col; double cut, rate; } c[8];
        gw_sos sos[8];
        gw_biquad_state st[8];
        double worst = 0;

        load_excerpt();
        f = open_data("dsp/sosfilt.txt");
        CU_ASSERT_FATAL(fscanf(f, "%d %d", &cases, &n) == 2);
        CU_ASSERT_FATAL(cases > 0 && cases <= 8 && n == EXCERPT_N);
        for (int k = 0; k < cases; k++) {
                CU_ASSERT_FATAL(fscanf(f, "%d %lf %lf %d %d", &c[k].order, &c[k].cut, &c[k].rate,
                                       &c[k].type, &c[k].col) == 5);
                CU_ASSERT_EQUAL_FATAL(gw_butter_design(c[k].order, c[k].cut, c[k].rate,
                                                       c[k].type ? GW_BUTTER_HIGHPASS : GW_BUTTER_LOWPASS,
                                                       &sos[k]), 0);
                gw_biquad_init(&st[k], &sos[k]);
                gw_biquad_settle(&st[k], excerpt[0][c[k].col]);
        }
        for (int i = 0; i < n; i++)
                for (int k = 0; k < cases; k++) {
                        double ref, y = gw_biquad_step(&st[k], excerpt[i][c[k].col]);
                        CU_ASSERT_FATAL(fscanf(f, "%lf", &ref) == 1);
                        worst = fmax(worst, fabs(y - ref));
                }
        fclose(f);
        fprintf(stderr, "  %d filters x %d samples, worst |difference| %.3g\n", cases, n, worst);
        CU_ASSERT(worst < 1e-5);
}

static void test_biquad_settled_filter_holds_a_constant(void)
{
        gw_sos lp, hp;
        gw_biquad_state a, b;

        CU_ASSERT_EQUAL_FATAL(gw_butter_design(3, 0.3, 50, GW_BUTTER_LOWPASS, &lp), 0);
        CU_ASSERT_EQUAL_FATAL(gw_butter_design(4, 0.5, 50, GW_BUTTER_HIGHPASS, &hp), 0);
        gw_biquad_init(&a, &lp);
        gw_biquad_init(&b, &hp);
        gw_biquad_settle(&a, 0.98);
        gw_biquad_settle(&b, 0.98);
        for (int i = 0; i < 500; i++) {
                CU_ASSERT_DOUBLE_EQUAL(gw_biquad_step(&a, 0.98), 0.98, 1e-9);
                CU_ASSERT_DOUBLE_EQUAL(gw_biquad_step(&b, 0.98), 0.0, 1e-9);
        }
}

static void test_biquad_unsettled_filter_starts_from_zero(void)
{
        gw_sos lp;
        gw_biquad_state a;

        CU_ASSERT_EQUAL_FATAL(gw_butter_design(3, 0.3, 50, GW_BUTTER_LOWPASS, &lp), 0);
        gw_biquad_init(&a, &lp);
        CU_ASSERT(gw_biquad_step(&a, 1.0) < 1e-3);
}

/* ---- median -------------------------------------------------------------- */

static void test_median_is_medfilt_delayed_by_half_its_length(void)
{
        FILE *f;
        int nlen, n, len[3];
        static double ref[EXCERPT_N][3];
        double worst = 0;

        load_excerpt();
        f = open_data("dsp/medfilt.txt");
        CU_ASSERT_FATAL(fscanf(f, "%d %d", &nlen, &n) == 2);
        CU_ASSERT_FATAL(nlen == 3 && n == EXCERPT_N);
        for (int k = 0; k < nlen; k++)
                CU_ASSERT_FATAL(fscanf(f, "%d", &len[k]) == 1);
        for (int i = 0; i < n; i++)
                for (int k = 0; k < nlen; k++)
                        CU_ASSERT_FATAL(fscanf(f, "%lf", &ref[i][k]) == 1);
        fclose(f);

        for (int k = 0; k < nlen; k++) {
                gw_median_state m;
                int h = len[k] / 2;

                gw_median_init(&m, len[k]);
                for (int i = 0; i < n; i++) {
                        float y = gw_median_step(&m, excerpt[i][0]);
                        /* causal output i is the centred median at i - h;
                         * scipy zero-pads both edges, so skip them */
                        if (i - h >= h && i - h < n - h)
                                worst = fmax(worst, fabs(y - ref[i - h][k]));
                }
        }
        fprintf(stderr, "  lengths 3, 5, 15 over %d samples, worst |difference| %.3g\n", n, worst);
        CU_ASSERT(worst < 1e-6);
}

static void test_median_pads_the_start_with_the_first_value(void)
{
        gw_median_state m;

        gw_median_init(&m, 5);
        CU_ASSERT_EQUAL(gw_median_step(&m, 3.0f), 3.0f);
        CU_ASSERT_EQUAL(gw_median_step(&m, 10.0f), 3.0f);
        CU_ASSERT_EQUAL(gw_median_step(&m, 10.0f), 3.0f);
        CU_ASSERT_EQUAL(gw_median_step(&m, 10.0f), 10.0f);
}

static void test_median_of_one_passes_samples_through(void)
{
        gw_median_state m;

        gw_median_init(&m, 1);
        CU_ASSERT_EQUAL(gw_median_step(&m, 3.0f), 3.0f);
        CU_ASSERT_EQUAL(gw_median_step(&m, -7.5f), -7.5f);
}

static void test_median_removes_a_single_spike(void)
{
        gw_median_state m;
        float in[] = { 1, 1, 1, 50, 1, 1, 1 };

        gw_median_init(&m, 3);
        for (size_t i = 0; i < sizeof in / sizeof in[0]; i++)
                CU_ASSERT_EQUAL(gw_median_step(&m, in[i]), 1.0f);
}

/* ---- front-end spec ------------------------------------------------------ */

static void test_spec_parses_the_uci_chain(void)
{
        gw_frontend_spec spec;
        char err[GW_ERR_MAX] = "";

        CU_ASSERT_EQUAL_FATAL(gw_frontend_spec_from_json(uci_spec_json, 50.0, &spec, err, sizeof err), 0);
        CU_ASSERT_EQUAL(spec.rate_hz, 50.0);
        CU_ASSERT_EQUAL(spec.n_inputs, 6);
        CU_ASSERT_STRING_EQUAL(spec.inputs[3].name, "gyro_x");
        CU_ASSERT_STRING_EQUAL(spec.inputs[3].unit, "rad/s");
        CU_ASSERT_EQUAL(spec.median, 3);
        CU_ASSERT_EQUAL(spec.lowpass.order, 3);
        CU_ASSERT_EQUAL(spec.lowpass.cutoff_hz, 20.0);
        CU_ASSERT_EQUAL(spec.highpass.order, 0);
        CU_ASSERT_EQUAL(spec.antialias.order, 0);
        CU_ASSERT_EQUAL(spec.gravity.order, 3);
        CU_ASSERT_EQUAL(spec.gravity.cutoff_hz, 0.3);
        CU_ASSERT_EQUAL(spec.n_outputs, 9);
        CU_ASSERT_STRING_EQUAL(spec.outputs[8].name, "total_acc_z");
        CU_ASSERT_EQUAL(spec.outputs[8].input, 2);
        CU_ASSERT_EQUAL(spec.outputs[8].signal, GW_SIGNAL_FILTERED);
        CU_ASSERT_EQUAL(spec.outputs[0].signal, GW_SIGNAL_BODY);
        CU_ASSERT_EQUAL(spec.lookahead, 0);
        CU_ASSERT(gw_frontend_spec_size() == sizeof(gw_frontend_spec));
}

/* Parses `json` at 50 Hz, expects a refusal whose message contains `want`. */
static void expect_refusal(const char *json, const char *want)
{
        gw_frontend_spec spec;
        char err[GW_ERR_MAX] = "";
        int r = gw_frontend_spec_from_json(json, 50.0, &spec, err, sizeof err);

        CU_ASSERT_EQUAL(r, -EINVAL);
        if (!strstr(err, want)) {
                fprintf(stderr, "message \"%s\" lacks \"%s\"\n", err, want);
                CU_FAIL("refusal does not name the field");
        }
}

#define ONE_INPUT "\"inputs\": [{\"name\": \"acc_x\", \"unit\": \"g\"}]"
#define ONE_OUTPUT "\"outputs\": [{\"name\": \"total_acc_x\", \"input\": \"acc_x\", \"signal\": \"filtered\"}]"

static void test_spec_refuses_missing_inputs(void)
{
        expect_refusal("{" ONE_OUTPUT "}", "frontend.inputs: missing");
        expect_refusal("{\"inputs\": [], " ONE_OUTPUT "}", "frontend.inputs: 0 entries");
        expect_refusal("{\"inputs\": [{\"name\": \"acc_x\"}], " ONE_OUTPUT "}",
                       "frontend.inputs[0].unit: missing");
}

static void test_spec_refuses_a_bad_order(void)
{
        expect_refusal("{" ONE_INPUT ", \"lowpass\": {\"order\": 9, \"cutoff_hz\": 5}, " ONE_OUTPUT "}",
                       "frontend.lowpass.order: 9 must be 0..8");
        expect_refusal("{" ONE_INPUT ", \"highpass\": {\"order\": 2.5, \"cutoff_hz\": 5}, " ONE_OUTPUT "}",
                       "frontend.highpass.order: must be an integer");
        expect_refusal("{" ONE_INPUT ", \"gravity\": {\"cutoff_hz\": 0.3}, " ONE_OUTPUT "}",
                       "frontend.gravity.order: missing");
        expect_refusal("{" ONE_INPUT ", \"lowpass\": {\"order\": 3}, " ONE_OUTPUT "}",
                       "frontend.lowpass.cutoff_hz: missing");
}

static void test_spec_refuses_a_cutoff_above_nyquist(void)
{
        expect_refusal("{" ONE_INPUT ", \"gravity\": {\"order\": 3, \"cutoff_hz\": 30}, " ONE_OUTPUT "}",
                       "frontend.gravity.cutoff_hz: 30 must be below half the model rate (25 Hz)");
        expect_refusal("{" ONE_INPUT ", \"lowpass\": {\"order\": 3, \"cutoff_hz\": 25}, " ONE_OUTPUT "}",
                       "frontend.lowpass.cutoff_hz: 25 must be below half the model rate (25 Hz)");
        expect_refusal("{" ONE_INPUT ", \"lowpass\": {\"order\": 3, \"cutoff_hz\": -1}, " ONE_OUTPUT "}",
                       "frontend.lowpass.cutoff_hz: -1 must be positive");
}

static void test_spec_allows_an_antialias_cutoff_above_the_model_nyquist(void)
{
        gw_frontend_spec spec;
        char err[GW_ERR_MAX] = "";

        CU_ASSERT_EQUAL(gw_frontend_spec_from_json(
                "{" ONE_INPUT ", \"antialias\": {\"order\": 4, \"cutoff_hz\": 40}, " ONE_OUTPUT "}",
                50.0, &spec, err, sizeof err), 0);
        CU_ASSERT_EQUAL(spec.antialias.order, 4);
        CU_ASSERT_EQUAL(spec.antialias.cutoff_hz, 40.0);
}

static void test_spec_refuses_body_without_gravity(void)
{
        expect_refusal("{" ONE_INPUT ", \"outputs\": [{\"name\": \"b\", \"input\": \"acc_x\", "
                       "\"signal\": \"body\"}]}",
                       "frontend.outputs[0].signal: body needs a frontend.gravity stage");
        expect_refusal("{" ONE_INPUT ", \"gravity\": {\"order\": 0}, \"outputs\": [{\"name\": \"g\", "
                       "\"input\": \"acc_x\", \"signal\": \"gravity\"}]}",
                       "frontend.outputs[0].signal: gravity needs a frontend.gravity stage");
}

static void test_spec_refuses_an_unknown_signal_kind(void)
{
        expect_refusal("{" ONE_INPUT ", \"outputs\": [{\"name\": \"b\", \"input\": \"acc_x\", "
                       "\"signal\": \"bodyy\"}]}",
                       "frontend.outputs[0].signal: \"bodyy\" must be filtered, body or gravity");
}

static void test_spec_refuses_duplicate_names(void)
{
        expect_refusal("{\"inputs\": [{\"name\": \"acc_x\", \"unit\": \"g\"}, {\"name\": \"acc_x\", "
                       "\"unit\": \"mg\"}], " ONE_OUTPUT "}",
                       "frontend.inputs[1].name: \"acc_x\" repeats frontend.inputs[0]");
        expect_refusal("{" ONE_INPUT ", \"outputs\": [{\"name\": \"a\", \"input\": \"acc_x\", "
                       "\"signal\": \"filtered\"}, {\"name\": \"a\", \"input\": \"acc_x\", "
                       "\"signal\": \"filtered\"}]}",
                       "frontend.outputs[1].name: \"a\" repeats frontend.outputs[0]");
}

static void test_spec_refuses_an_output_of_an_unknown_input(void)
{
        expect_refusal("{" ONE_INPUT ", \"outputs\": [{\"name\": \"a\", \"input\": \"acc_y\", "
                       "\"signal\": \"filtered\"}]}",
                       "frontend.outputs[0].input: \"acc_y\" is not one of frontend.inputs");
}

static void test_spec_refuses_an_even_median(void)
{
        expect_refusal("{" ONE_INPUT ", \"median\": 4, " ONE_OUTPUT "}",
                       "frontend.median: 4 must be 0 or odd 1..15");
        expect_refusal("{" ONE_INPUT ", \"median\": 17, " ONE_OUTPUT "}",
                       "frontend.median: 17 must be 0..15");
}

static void test_spec_refuses_unknown_keys(void)
{
        expect_refusal("{" ONE_INPUT ", \"lowpas\": {\"order\": 3, \"cutoff_hz\": 20}, " ONE_OUTPUT "}",
                       "frontend.lowpas: unknown key");
        expect_refusal("{" ONE_INPUT ", \"lowpass\": {\"order\": 3, \"cutof_hz\": 20}, " ONE_OUTPUT "}",
                       "frontend.lowpass.cutof_hz: unknown key");
}

static void test_spec_refuses_bad_json_and_wrong_types(void)
{
        expect_refusal("{\"inputs\": [", "frontend: JSON error at line 1");
        expect_refusal("[]", "frontend: must be an object");
        expect_refusal("{\"inputs\": {}, " ONE_OUTPUT "}", "frontend.inputs: must be an array");
        expect_refusal("{\"inputs\": [{\"name\": 5, \"unit\": \"g\"}], " ONE_OUTPUT "}",
                       "frontend.inputs[0].name: must be a string");
        expect_refusal("{\"inputs\": [{\"name\": \"\", \"unit\": \"g\"}], " ONE_OUTPUT "}",
                       "frontend.inputs[0].name: must not be empty");
        expect_refusal("{\"inputs\": [{\"name\": \"a_name_that_is_far_too_long_for_us\", "
                       "\"unit\": \"g\"}], " ONE_OUTPUT "}",
                       "frontend.inputs[0].name: \"a_name_that_is_far_too_long_for_us\" is longer than 31 bytes");
        expect_refusal("{" ONE_INPUT ", \"lowpass\": {\"order\": 3, \"cutoff_hz\": \"20\"}, " ONE_OUTPUT "}",
                       "frontend.lowpass.cutoff_hz: must be a number");
        expect_refusal("{" ONE_INPUT ", \"lookahead\": 8, " ONE_OUTPUT "}",
                       "frontend.lookahead: 8: only 0 (causal filtering) is supported");
}

static void test_spec_refuses_a_bad_model_rate(void)
{
        gw_frontend_spec spec;
        char err[GW_ERR_MAX] = "";

        CU_ASSERT_EQUAL(gw_frontend_spec_from_json("{" ONE_INPUT ", " ONE_OUTPUT "}", 0.0, &spec,
                                                   err, sizeof err), -EINVAL);
        CU_ASSERT_PTR_NOT_NULL(strstr(err, "model rate 0 Hz"));
        CU_ASSERT_EQUAL(gw_frontend_spec_from_json("{" ONE_INPUT ", " ONE_OUTPUT "}", NAN, &spec,
                                                   err, sizeof err), -EINVAL);
}

/* ---- front end ----------------------------------------------------------- */

static void test_frontend_uci_chain_matches_scipy(void)
{
        gw_frontend *fe;
        static int64_t t[EXCERPT_N], t_out[EXCERPT_N];
        static float out[EXCERPT_N][9];
        static uint32_t flags[EXCERPT_N];
        double ref, worst = 0;
        size_t consumed = 0;
        FILE *f;
        int n;

        load_excerpt();
        fe = uci_frontend(NULL);
        CU_ASSERT_EQUAL(gw_frontend_channels(fe), 9);
        for (int i = 0; i < EXCERPT_N; i++)
                t[i] = T0 + i * 20 * MS;
        n = gw_frontend_push_block(fe, EXCERPT_N, t, &excerpt[0][0], &out[0][0], t_out, flags,
                                   EXCERPT_N, &consumed);
        CU_ASSERT_EQUAL(n, EXCERPT_N);
        CU_ASSERT_EQUAL(consumed, EXCERPT_N);
        CU_ASSERT_EQUAL(flags[0], GW_SAMPLE_RESTART);
        CU_ASSERT_EQUAL(flags[1], 0);

        f = open_data("dsp/uci-chain.txt");
        CU_ASSERT_FATAL(fscanf(f, "%d", &n) == 1 && n == EXCERPT_N);
        for (int i = 0; i < n; i++) {
                CU_ASSERT_EQUAL(t_out[i], t[i]);
                for (int c = 0; c < 9; c++) {
                        CU_ASSERT_FATAL(fscanf(f, "%lf", &ref) == 1);
                        worst = fmax(worst, fabs(out[i][c] - ref));
                }
        }
        fclose(f);
        fprintf(stderr, "  9 channels x %d samples, worst |difference| %.3g\n", n, worst);
        CU_ASSERT(worst < 1e-5);
        gw_frontend_free(fe);
}

static void test_frontend_sample_api_equals_block_api(void)
{
        gw_frontend *a = uci_frontend(NULL), *b = uci_frontend(NULL);
        int64_t t_a[16], t_b[16];
        float o_a[16 * 9], o_b[16 * 9];
        uint32_t f_a[16], f_b[16];
        size_t consumed;

        load_excerpt();
        for (int i = 0; i < 300; i++) {
                int64_t t = T0 + i * 20 * MS;
                int na = gw_frontend_push(a, t, excerpt[i], o_a, t_a, f_a, 16);
                int nb = gw_frontend_push_block(b, 1, &t, excerpt[i], o_b, t_b, f_b, 16, &consumed);
                CU_ASSERT_EQUAL_FATAL(na, nb);
                CU_ASSERT(memcmp(o_a, o_b, (size_t) na * 9 * sizeof(float)) == 0);
                CU_ASSERT(memcmp(t_a, t_b, (size_t) na * sizeof(int64_t)) == 0);
                CU_ASSERT(memcmp(f_a, f_b, (size_t) na * sizeof(uint32_t)) == 0);
        }
        gw_frontend_free(a);
        gw_frontend_free(b);
}

static void test_frontend_starts_without_a_transient(void)
{
        gw_frontend *fe = uci_frontend(NULL);
        float raw[6] = { 0.1f, -0.2f, 0.97f, 0.01f, 0.02f, -0.03f };
        float out[16 * 9];
        int64_t t_out[16];
        uint32_t flags[16];

        for (int i = 0; i < 200; i++) {
                int n = gw_frontend_push(fe, T0 + i * 20 * MS, raw, out, t_out, flags, 16);
                CU_ASSERT_EQUAL_FATAL(n, 1);
                for (int c = 0; c < 3; c++) {
                        CU_ASSERT_DOUBLE_EQUAL(out[c], 0.0, 1e-6);              /* body */
                        CU_ASSERT_DOUBLE_EQUAL(out[6 + c], raw[c], 1e-6);       /* total */
                        CU_ASSERT_DOUBLE_EQUAL(out[3 + c], raw[3 + c], 1e-6);   /* gyro */
                }
        }
        gw_frontend_free(fe);
}

static void test_frontend_settles_again_after_a_gap(void)
{
        gw_frontend *fe = uci_frontend(NULL);
        float raw[6] = { 0.1f, -0.2f, 0.97f, 0.01f, 0.02f, -0.03f };
        float after[6] = { -0.9f, 0.3f, 0.1f, 0.5f, -0.5f, 0.25f };
        float out[16 * 9];
        int64_t t_out[16];
        uint32_t flags[16];
        int64_t t = T0;

        for (int i = 0; i < 100; i++, t += 20 * MS)
                gw_frontend_push(fe, t, raw, out, t_out, flags, 16);
        t += 2000 * MS;
        for (int i = 0; i < 100; i++, t += 20 * MS) {
                int n = gw_frontend_push(fe, t, after, out, t_out, flags, 16);
                CU_ASSERT_EQUAL_FATAL(n, 1);
                CU_ASSERT_EQUAL(flags[0], i == 0 ? GW_SAMPLE_RESTART : 0);
                CU_ASSERT_EQUAL(t_out[0], t);
                for (int c = 0; c < 3; c++) {
                        CU_ASSERT_DOUBLE_EQUAL(out[c], 0.0, 1e-6);
                        CU_ASSERT_DOUBLE_EQUAL(out[6 + c], after[c], 1e-6);
                }
        }
        CU_ASSERT_EQUAL(gw_frontend_stats_get(fe)->gaps, 1);
        gw_frontend_free(fe);
}

static void test_frontend_converts_units(void)
{
        static const char *const units[] = { "m/s^2", "m/s^2", "mg", "deg/s", "deg/s", "mrad/s" };
        gw_source_desc src;
        gw_frontend *fe;
        float raw[6] = { 9.80665f, -4.903325f, 250.0f, 180.0f, -90.0f, 500.0f };
        float out[16 * 9];
        int64_t t_out[16];
        uint32_t flags[16];

        source_set(&src, imu_names, units, 6, 50.0);
        fe = uci_frontend(&src);
        CU_ASSERT_EQUAL_FATAL(gw_frontend_push(fe, T0, raw, out, t_out, flags, 16), 1);
        CU_ASSERT_DOUBLE_EQUAL(out[6], 1.0, 1e-6);
        CU_ASSERT_DOUBLE_EQUAL(out[7], -0.5, 1e-6);
        CU_ASSERT_DOUBLE_EQUAL(out[8], 0.25, 1e-6);
        CU_ASSERT_DOUBLE_EQUAL(out[3], M_PI, 1e-5);
        CU_ASSERT_DOUBLE_EQUAL(out[4], -M_PI / 2, 1e-5);
        CU_ASSERT_DOUBLE_EQUAL(out[5], 0.5, 1e-6);
        gw_frontend_free(fe);
}

static void test_frontend_maps_channels_by_name_in_any_order(void)
{
        static const char *const names[] = { "temp", "gyro_z", "gyro_y", "gyro_x", "acc_z", "acc_y", "acc_x" };
        static const char *const units[] = { "degC", "rad/s", "rad/s", "rad/s", "g", "g", "g" };
        gw_source_desc src;
        gw_frontend *fe;
        float raw[7] = { 36.6f, 0.3f, 0.2f, 0.1f, 0.9f, 0.8f, 0.7f };
        float out[16 * 9];
        int64_t t_out[16];
        uint32_t flags[16];

        source_set(&src, names, units, 7, 50.0);
        fe = uci_frontend(&src);
        CU_ASSERT_EQUAL_FATAL(gw_frontend_push(fe, T0, raw, out, t_out, flags, 16), 1);
        CU_ASSERT_DOUBLE_EQUAL(out[6], 0.7, 1e-6);
        CU_ASSERT_DOUBLE_EQUAL(out[8], 0.9, 1e-6);
        CU_ASSERT_DOUBLE_EQUAL(out[3], 0.1, 1e-6);
        CU_ASSERT_DOUBLE_EQUAL(out[5], 0.3, 1e-6);
        gw_frontend_free(fe);
}

static void test_frontend_rotates_every_triple_by_the_mount_matrix(void)
{
        /* Sensor mounted turned 90 degrees about z: body x = -sensor y,
         * body y = sensor x. */
        static const double mount[3][3] = { { 0, -1, 0 }, { 1, 0, 0 }, { 0, 0, 1 } };
        gw_source_desc src;
        gw_frontend *fe;
        float raw[6] = { 0.1f, 0.2f, 0.97f, 1.0f, 2.0f, 3.0f };
        float out[16 * 9];
        int64_t t_out[16];
        uint32_t flags[16];

        source_set(&src, imu_names, imu_units, 6, 50.0);
        src.has_mount = true;
        memcpy(src.mount, mount, sizeof mount);
        fe = uci_frontend(&src);
        CU_ASSERT_EQUAL_FATAL(gw_frontend_push(fe, T0, raw, out, t_out, flags, 16), 1);
        CU_ASSERT_DOUBLE_EQUAL(out[6], -0.2, 1e-6);
        CU_ASSERT_DOUBLE_EQUAL(out[7], 0.1, 1e-6);
        CU_ASSERT_DOUBLE_EQUAL(out[8], 0.97, 1e-6);
        CU_ASSERT_DOUBLE_EQUAL(out[3], -2.0, 1e-6);
        CU_ASSERT_DOUBLE_EQUAL(out[4], 1.0, 1e-6);
        CU_ASSERT_DOUBLE_EQUAL(out[5], 3.0, 1e-6);
        gw_frontend_free(fe);
}

static void test_frontend_refuses_a_missing_channel_naming_it(void)
{
        static const char *const names[] = { "acc_x", "acc_y", "acc_z", "gyro_x", "gyro_y" };
        gw_frontend_spec spec;
        gw_source_desc src;
        gw_frontend *fe = (gw_frontend *) &spec;
        char err[GW_ERR_MAX] = "";

        CU_ASSERT_EQUAL_FATAL(gw_frontend_spec_from_json(uci_spec_json, 50.0, &spec, err, sizeof err), 0);
        source_set(&src, names, imu_units, 5, 50.0);
        CU_ASSERT_EQUAL(gw_frontend_new(&spec, &src, &fe, err, sizeof err), -ENOENT);
        CU_ASSERT_PTR_NULL(fe);
        CU_ASSERT_STRING_EQUAL(err, "source has no channel \"gyro_z\" (frontend.inputs[5])");
}

static void test_frontend_refuses_an_unconvertible_unit_naming_it(void)
{
        static const char *const units[] = { "g", "g", "g", "rad/s", "rad/s", "g" };
        gw_frontend_spec spec;
        gw_source_desc src;
        gw_frontend *fe = NULL;
        char err[GW_ERR_MAX] = "";

        CU_ASSERT_EQUAL_FATAL(gw_frontend_spec_from_json(uci_spec_json, 50.0, &spec, err, sizeof err), 0);
        source_set(&src, imu_names, units, 6, 50.0);
        CU_ASSERT_EQUAL(gw_frontend_new(&spec, &src, &fe, err, sizeof err), -EINVAL);
        CU_ASSERT_STRING_EQUAL(err, "channel gyro_z: cannot convert unit \"g\" to \"rad/s\"");
}

static void test_frontend_refuses_a_mount_for_an_incomplete_triple(void)
{
        static const char json[] =
                "{\"inputs\": [{\"name\": \"acc_x\", \"unit\": \"g\"}, {\"name\": \"acc_z\", \"unit\": \"g\"}],"
                " \"outputs\": [{\"name\": \"x\", \"input\": \"acc_x\", \"signal\": \"filtered\"}]}";
        gw_frontend_spec spec;
        gw_source_desc src;
        gw_frontend *fe = NULL;
        char err[GW_ERR_MAX] = "";

        CU_ASSERT_EQUAL_FATAL(gw_frontend_spec_from_json(json, 50.0, &spec, err, sizeof err), 0);
        source_set(&src, imu_names, imu_units, 6, 50.0);
        CU_ASSERT_EQUAL(gw_frontend_new(&spec, &src, &fe, err, sizeof err), 0);
        gw_frontend_free(fe);
        src.has_mount = true;
        src.mount[0][0] = src.mount[1][1] = src.mount[2][2] = 1;
        CU_ASSERT_EQUAL(gw_frontend_new(&spec, &src, &fe, err, sizeof err), -EINVAL);
        CU_ASSERT_PTR_NOT_NULL(strstr(err, "input acc_x has no acc_y partner"));
}

static void test_frontend_refuses_a_bad_source(void)
{
        gw_frontend_spec spec;
        gw_source_desc src;
        gw_frontend *fe = NULL;
        char err[GW_ERR_MAX] = "";

        CU_ASSERT_EQUAL_FATAL(gw_frontend_spec_from_json(uci_spec_json, 50.0, &spec, err, sizeof err), 0);
        source_set(&src, imu_names, imu_units, 6, 0.0);
        CU_ASSERT_EQUAL(gw_frontend_new(&spec, &src, &fe, err, sizeof err), -EINVAL);
        CU_ASSERT_PTR_NOT_NULL(strstr(err, "source: rate 0 Hz"));
        source_set(&src, imu_names, imu_units, 6, 50.0);
        src.max_gap_ns = 3600 * INT64_C(1000000000);
        CU_ASSERT_EQUAL(gw_frontend_new(&spec, &src, &fe, err, sizeof err), -EINVAL);
        CU_ASSERT_PTR_NOT_NULL(strstr(err, "max_gap_ns"));
        source_set(&src, imu_names, imu_units, 6, 50.0);
        src.has_mount = true;
        src.mount[1][2] = NAN;
        CU_ASSERT_EQUAL(gw_frontend_new(&spec, &src, &fe, err, sizeof err), -EINVAL);
        CU_ASSERT_PTR_NOT_NULL(strstr(err, "mount matrix [1][2]"));
}

static void test_frontend_antialias_runs_only_above_the_model_rate(void)
{
        static const char json[] =
                "{\"inputs\": [{\"name\": \"x\", \"unit\": \"g\"}], \"antialias\": {\"order\": 4, \"cutoff_hz\": 12},"
                " \"outputs\": [{\"name\": \"x\", \"input\": \"x\", \"signal\": \"filtered\"}]}";
        static const char *const name[] = { "x" }, *const unit[] = { "g" };
        gw_frontend_spec spec;
        gw_source_desc src;
        gw_frontend *at32, *at64;
        char err[GW_ERR_MAX] = "";
        gw_sos sos;
        gw_biquad_state ref;
        float out[8], raw;
        int64_t t_out[8];
        uint32_t flags[8];
        double worst = 0;
        int got = 0;

        CU_ASSERT_EQUAL_FATAL(gw_frontend_spec_from_json(json, 32.0, &spec, err, sizeof err), 0);
        source_set(&src, name, unit, 1, 32.0);
        CU_ASSERT_EQUAL_FATAL(gw_frontend_new(&spec, &src, &at32, err, sizeof err), 0);
        source_set(&src, name, unit, 1, 64.0);
        CU_ASSERT_EQUAL_FATAL(gw_frontend_new(&spec, &src, &at64, err, sizeof err), 0);

        /* at 32 Hz: untouched */
        for (int i = 0; i < 64; i++) {
                raw = (float) sin(i * 2.0);
                CU_ASSERT_EQUAL_FATAL(gw_frontend_push(at32, T0 + i * 31250000, &raw, out, t_out, flags, 8), 1);
                CU_ASSERT_EQUAL(out[0], raw);
        }
        /* at 64 Hz: scipy's 12 Hz design at 64 Hz, every other sample kept */
        CU_ASSERT_EQUAL_FATAL(gw_butter_design(4, 12, 64, GW_BUTTER_LOWPASS, &sos), 0);
        gw_biquad_init(&ref, &sos);
        for (int i = 0; i < 128; i++) {
                raw = (float) sin(i * 2.0);
                if (i == 0)
                        gw_biquad_settle(&ref, raw);
                double y = gw_biquad_step(&ref, raw);
                int n = gw_frontend_push(at64, T0 + i * 15625000, &raw, out, t_out, flags, 8);
                CU_ASSERT_EQUAL(n, i % 2 == 0);
                if (n == 1) {
                        worst = fmax(worst, fabs(out[0] - y));
                        got++;
                }
        }
        CU_ASSERT_EQUAL(got, 64);
        CU_ASSERT(worst < 1e-6);
        gw_frontend_free(at32);
        gw_frontend_free(at64);
}

static void test_frontend_refuses_a_sample_whose_outputs_do_not_fit(void)
{
        gw_frontend *fe = plain_frontend(50.0, 10.0, 0);
        float raw = 1.0f, out[8];
        int64_t t_out[8];
        uint32_t flags[8];

        CU_ASSERT_EQUAL(gw_frontend_push(fe, T0, &raw, out, t_out, flags, 8), 1);
        CU_ASSERT_EQUAL(gw_frontend_push(fe, T0 + 100 * MS, &raw, out, t_out, flags, 4), -ENOBUFS);
        CU_ASSERT_EQUAL(gw_frontend_stats_get(fe)->samples_in, 1);
        CU_ASSERT_EQUAL(gw_frontend_push(fe, T0 + 100 * MS, &raw, out, t_out, flags, 5), 5);
        CU_ASSERT_EQUAL(t_out[4], T0 + 100 * MS);
        CU_ASSERT(gw_frontend_max_out(fe) >= 5);
        gw_frontend_free(fe);
}

static void test_frontend_block_stops_where_the_output_is_full(void)
{
        gw_frontend *fe = plain_frontend(50.0, 50.0, 0);
        int64_t t[10], t_out[4];
        float raw[10], out[4];
        uint32_t flags[4];
        size_t consumed = 0;

        for (int i = 0; i < 10; i++) {
                t[i] = T0 + i * 20 * MS;
                raw[i] = (float) i;
        }
        CU_ASSERT_EQUAL(gw_frontend_push_block(fe, 10, t, raw, out, t_out, flags, 4, &consumed), 4);
        CU_ASSERT_EQUAL(consumed, 4);
        CU_ASSERT_EQUAL(gw_frontend_push_block(fe, 6, t + 4, raw + 4, out, t_out, flags, 4, &consumed), 4);
        CU_ASSERT_EQUAL(consumed, 4);
        CU_ASSERT_EQUAL(out[0], 4.0f);
        CU_ASSERT_EQUAL(out[3], 7.0f);
        gw_frontend_free(fe);
}

static void test_frontend_never_allocates_after_creation(void)
{
        gw_frontend *fe = uci_frontend(NULL);
        gw_window *w = NULL;
        float out[16 * 9], win[128 * 9];
        int64_t t_out[16];
        uint32_t flags[16];
        gw_window_meta meta;
        unsigned long before;
        int windows = 0;

        load_excerpt();
        CU_ASSERT_EQUAL_FATAL(gw_window_new(128, 9, 64, sizeof(float), 50.0, &w), 0);
        before = allocations;
        for (int rep = 0; rep < 3; rep++)
                for (int i = 0; i < EXCERPT_N; i++) {
                        /* a gap each pass exercises the restart path */
                        int64_t t = T0 + (int64_t) rep * 100000 * MS + i * 20 * MS;
                        int n = gw_frontend_push(fe, t, excerpt[i], out, t_out, flags, 16);
                        for (int k = 0; k < n; k++)
                                windows += gw_window_push(w, t_out[k], flags[k], out + k * 9, win, &meta);
                }
        CU_ASSERT_EQUAL(allocations, before);
        CU_ASSERT(windows > 30);
        gw_window_free(w);
        gw_frontend_free(fe);
}

static void test_frontend_uci_stream_state_fits_in_8_kib(void)
{
        gw_frontend *fe = uci_frontend(NULL);
        gw_window *wf = NULL, *wq = NULL;
        size_t f, bf, bq;

        CU_ASSERT_EQUAL_FATAL(gw_window_new(128, 9, 64, sizeof(float), 50.0, &wf), 0);
        CU_ASSERT_EQUAL_FATAL(gw_window_new(128, 9, 64, sizeof(int8_t), 50.0, &wq), 0);
        f = gw_frontend_state_bytes(fe);
        bf = gw_window_state_bytes(wf);
        bq = gw_window_state_bytes(wq);
        fprintf(stderr, "  front end %zu B; window float %zu B (total %zu B), int8 %zu B (total %zu B)\n",
                f, bf, f + bf, bq, f + bq);
        CU_ASSERT(f + bf <= 8192);
        CU_ASSERT(f + bq <= 8192);
        CU_ASSERT(bf >= 128 * 9 * sizeof(float));
        gw_window_free(wf);
        gw_window_free(wq);
        gw_frontend_free(fe);
}

/* ---- resampling ---------------------------------------------------------- */

static void test_resample_passes_through_at_equal_rates(void)
{
        gw_frontend *fe = plain_frontend(50.0, 50.0, 0);
        float out[16];
        int64_t t_out[16];
        uint32_t flags[16];

        load_excerpt();
        for (int i = 0; i < EXCERPT_N; i++) {
                int64_t t = T0 + i * 20 * MS;
                CU_ASSERT_EQUAL_FATAL(gw_frontend_push(fe, t, &excerpt[i][2], out, t_out, flags, 16), 1);
                CU_ASSERT(memcmp(&out[0], &excerpt[i][2], sizeof(float)) == 0);
                CU_ASSERT_EQUAL(t_out[0], t);
        }
        gw_frontend_free(fe);
}

/* Decimation by two without anti-aliasing keeps every other sample exactly. */
static void check_decimation(double rate_in, double rate_out)
{
        gw_frontend *fe = plain_frontend(rate_out, rate_in, 0);
        int64_t period = (int64_t) llround(1e9 / rate_in);
        float out[16];
        int64_t t_out[16];
        uint32_t flags[16];
        int got = 0;

        load_excerpt();
        for (int i = 0; i < 500; i++) {
                int n = gw_frontend_push(fe, T0 + i * period, &excerpt[i][0], out, t_out, flags, 16);
                CU_ASSERT_EQUAL_FATAL(n, i % 2 == 0);
                if (n) {
                        CU_ASSERT_EQUAL(out[0], excerpt[i][0]);
                        CU_ASSERT_EQUAL(t_out[0], T0 + got * 2 * period);
                        got++;
                }
        }
        CU_ASSERT_EQUAL(got, 250);
        gw_frontend_free(fe);
}

static void test_resample_64_to_32_hz(void)
{
        check_decimation(64.0, 32.0);
}

static void test_resample_100_to_50_hz(void)
{
        check_decimation(100.0, 50.0);
}

/* Pushes a generate.py case through a plain front end and compares with
 * numpy.interp. */
static void check_against_numpy(const char *name, double src_rate)
{
        FILE *f = open_data(name);
        int n_in, n_out, got = 0;
        double model_rate, worst = 0;
        int64_t *t, *t_ref, t_out[64];
        float *x, out[64];
        double *y_ref;
        uint32_t flags[64];
        gw_frontend *fe;

        CU_ASSERT_FATAL(fscanf(f, "%d %d %lf", &n_in, &n_out, &model_rate) == 3);
        t = calloc((size_t) n_in, sizeof *t);
        x = calloc((size_t) n_in, sizeof *x);
        t_ref = calloc((size_t) n_out, sizeof *t_ref);
        y_ref = calloc((size_t) n_out, sizeof *y_ref);
        CU_ASSERT_FATAL(t && x && t_ref && y_ref);
        for (int i = 0; i < n_in; i++)
                CU_ASSERT_FATAL(fscanf(f, "%" SCNd64 " %f", &t[i], &x[i]) == 2);
        for (int i = 0; i < n_out; i++)
                CU_ASSERT_FATAL(fscanf(f, "%" SCNd64 " %lf", &t_ref[i], &y_ref[i]) == 2);
        fclose(f);

        fe = plain_frontend(model_rate, src_rate, 0);
        for (int i = 0; i < n_in; i++) {
                int n = gw_frontend_push(fe, t[i], &x[i], out, t_out, flags, 64);
                CU_ASSERT_FATAL(n >= 0 && got + n <= n_out);
                for (int k = 0; k < n; k++, got++) {
                        CU_ASSERT_EQUAL(t_out[k], t_ref[got]);
                        CU_ASSERT_EQUAL(flags[k], got == 0 ? GW_SAMPLE_RESTART : 0);
                        worst = fmax(worst, fabs(out[k] - y_ref[got]));
                }
        }
        fprintf(stderr, "  %s: %d in, %d out, worst |difference| %.3g\n", name, n_in, got, worst);
        CU_ASSERT_EQUAL(got, n_out);
        CU_ASSERT(worst < 1e-6);
        CU_ASSERT_EQUAL(gw_frontend_stats_get(fe)->gaps, 0);
        gw_frontend_free(fe);
        free(t);
        free(x);
        free(t_ref);
        free(y_ref);
}

static void test_resample_jittery_timestamps_match_numpy_interp(void)
{
        check_against_numpy("dsp/resample-jitter.txt", 50.0);
}

static void test_resample_upsampling_matches_numpy_interp(void)
{
        check_against_numpy("dsp/resample-up.txt", 20.0);
}

static void test_resample_rate_change_mid_stream_matches_numpy_interp(void)
{
        check_against_numpy("dsp/resample-ratechange.txt", 50.0);
}

static void test_resample_drops_and_counts_duplicates(void)
{
        gw_frontend *fe = plain_frontend(50.0, 50.0, 0);
        float a = 1.0f, b = 2.0f, out[16];
        int64_t t_out[16];
        uint32_t flags[16];

        CU_ASSERT_EQUAL(gw_frontend_push(fe, T0, &a, out, t_out, flags, 16), 1);
        CU_ASSERT_EQUAL(gw_frontend_push(fe, T0, &b, out, t_out, flags, 16), 0);
        CU_ASSERT_EQUAL(gw_frontend_push(fe, T0 + 20 * MS, &a, out, t_out, flags, 16), 1);
        CU_ASSERT_EQUAL(out[0], 1.0f);
        CU_ASSERT_EQUAL(gw_frontend_stats_get(fe)->duplicates, 1);
        CU_ASSERT_EQUAL(gw_frontend_stats_get(fe)->samples_in, 3);
        CU_ASSERT_EQUAL(gw_frontend_stats_get(fe)->samples_out, 2);
        gw_frontend_free(fe);
}

static void test_resample_drops_and_counts_out_of_order_samples(void)
{
        gw_frontend *fe = plain_frontend(50.0, 50.0, 0);
        float v[4] = { 0.0f, 2.0f, 99.0f, 4.0f }, out[16];
        int64_t t[4] = { T0, T0 + 40 * MS, T0 + 10 * MS, T0 + 80 * MS }, t_out[16];
        uint32_t flags[16];
        int n;

        CU_ASSERT_EQUAL(gw_frontend_push(fe, t[0], &v[0], out, t_out, flags, 16), 1);
        CU_ASSERT_EQUAL(gw_frontend_push(fe, t[1], &v[1], out, t_out, flags, 16), 2);
        CU_ASSERT_EQUAL(out[0], 1.0f);          /* interpolated at T0 + 20 ms */
        CU_ASSERT_EQUAL(out[1], 2.0f);
        CU_ASSERT_EQUAL(gw_frontend_push(fe, t[2], &v[2], out, t_out, flags, 16), 0);
        n = gw_frontend_push(fe, t[3], &v[3], out, t_out, flags, 16);
        CU_ASSERT_EQUAL(n, 2);
        CU_ASSERT_EQUAL(out[0], 3.0f);          /* the dropped 99 left no trace */
        CU_ASSERT_EQUAL(out[1], 4.0f);
        CU_ASSERT_EQUAL(gw_frontend_stats_get(fe)->out_of_order, 1);
        CU_ASSERT_EQUAL(gw_frontend_stats_get(fe)->gaps, 0);
        gw_frontend_free(fe);
}

static void test_resample_gap_resets_and_flags_restart(void)
{
        gw_frontend *fe = plain_frontend(50.0, 50.0, 100 * MS);
        float a = 1.0f, b = 5.0f, out[16];
        int64_t t_out[16];
        uint32_t flags[16];
        int64_t t_gap = T0 + 40 * MS + 101 * MS + 7;      /* off the old grid */

        CU_ASSERT_EQUAL(gw_frontend_push(fe, T0, &a, out, t_out, flags, 16), 1);
        CU_ASSERT_EQUAL(flags[0], GW_SAMPLE_RESTART);
        CU_ASSERT_EQUAL(gw_frontend_push(fe, T0 + 20 * MS, &a, out, t_out, flags, 16), 1);
        CU_ASSERT_EQUAL(flags[0], 0);
        CU_ASSERT_EQUAL(gw_frontend_push(fe, T0 + 40 * MS, &a, out, t_out, flags, 16), 1);
        /* 101 ms > max_gap: no interpolation across, one output at once */
        CU_ASSERT_EQUAL(gw_frontend_push(fe, t_gap, &b, out, t_out, flags, 16), 1);
        CU_ASSERT_EQUAL(flags[0], GW_SAMPLE_RESTART);
        CU_ASSERT_EQUAL(t_out[0], t_gap);
        CU_ASSERT_EQUAL(out[0], 5.0f);
        /* the grid is anchored again at the new sample */
        CU_ASSERT_EQUAL(gw_frontend_push(fe, t_gap + 20 * MS, &b, out, t_out, flags, 16), 1);
        CU_ASSERT_EQUAL(t_out[0], t_gap + 20 * MS);
        CU_ASSERT_EQUAL(flags[0], 0);
        /* exactly max_gap is not a gap */
        CU_ASSERT_EQUAL(gw_frontend_push(fe, t_gap + 120 * MS, &b, out, t_out, flags, 16), 5);
        CU_ASSERT_EQUAL(gw_frontend_stats_get(fe)->gaps, 1);
        gw_frontend_free(fe);
}

static void test_resample_clock_jumping_back_restarts(void)
{
        gw_frontend *fe = plain_frontend(50.0, 50.0, 0);
        float a = 1.0f, out[16];
        int64_t t_out[16];
        uint32_t flags[16];

        CU_ASSERT_EQUAL(gw_frontend_push(fe, T0, &a, out, t_out, flags, 16), 1);
        CU_ASSERT_EQUAL(gw_frontend_push(fe, T0 + 20 * MS, &a, out, t_out, flags, 16), 1);
        CU_ASSERT_EQUAL(gw_frontend_push(fe, T0 - 3600 * 1000 * MS, &a, out, t_out, flags, 16), 1);
        CU_ASSERT_EQUAL(flags[0], GW_SAMPLE_RESTART);
        CU_ASSERT_EQUAL(t_out[0], T0 - 3600 * 1000 * MS);
        CU_ASSERT_EQUAL(gw_frontend_stats_get(fe)->gaps, 1);
        CU_ASSERT_EQUAL(gw_frontend_stats_get(fe)->out_of_order, 0);
        gw_frontend_free(fe);
}

static void test_resample_drops_and_counts_non_finite_inputs(void)
{
        gw_frontend *fe = plain_frontend(50.0, 50.0, 0);
        float v[5] = { 0.0f, NAN, 2.0f, INFINITY, -INFINITY }, out[16];
        int64_t t_out[16];
        uint32_t flags[16];

        CU_ASSERT_EQUAL(gw_frontend_push(fe, T0, &v[0], out, t_out, flags, 16), 1);
        CU_ASSERT_EQUAL(gw_frontend_push(fe, T0 + 20 * MS, &v[1], out, t_out, flags, 16), 0);
        CU_ASSERT_EQUAL(gw_frontend_push(fe, T0 + 40 * MS, &v[2], out, t_out, flags, 16), 2);
        CU_ASSERT_EQUAL(out[0], 1.0f);          /* bridged by interpolation */
        CU_ASSERT(isfinite(out[0]) && isfinite(out[1]));
        CU_ASSERT_EQUAL(gw_frontend_push(fe, T0 + 60 * MS, &v[3], out, t_out, flags, 16), 0);
        CU_ASSERT_EQUAL(gw_frontend_push(fe, T0 + 80 * MS, &v[4], out, t_out, flags, 16), 0);
        CU_ASSERT_EQUAL(gw_frontend_stats_get(fe)->non_finite, 3);
        CU_ASSERT_EQUAL(gw_frontend_stats_get(fe)->samples_out, 3);
        gw_frontend_free(fe);
}

static void test_resample_nan_does_not_poison_the_filters(void)
{
        gw_frontend *fe = uci_frontend(NULL);
        float raw[6] = { 0.1f, -0.2f, 0.97f, 0.01f, 0.02f, -0.03f }, bad[6];
        float out[16 * 9];
        int64_t t_out[16];
        uint32_t flags[16];

        memcpy(bad, raw, sizeof bad);
        bad[4] = NAN;
        for (int i = 0; i < 50; i++) {
                int n = gw_frontend_push(fe, T0 + i * 20 * MS, i % 7 == 3 ? bad : raw, out, t_out, flags, 16);
                for (int k = 0; k < n * 9; k++)
                        CU_ASSERT(isfinite(out[k]));
        }
        CU_ASSERT_EQUAL(gw_frontend_stats_get(fe)->non_finite, 7);
        gw_frontend_free(fe);
}

static void test_resample_reset_restarts_without_counting_a_gap(void)
{
        gw_frontend *fe = plain_frontend(50.0, 50.0, 0);
        float a = 1.0f, out[16];
        int64_t t_out[16];
        uint32_t flags[16];

        CU_ASSERT_EQUAL(gw_frontend_push(fe, T0, &a, out, t_out, flags, 16), 1);
        gw_frontend_reset(fe);
        CU_ASSERT_EQUAL(gw_frontend_push(fe, T0 + 5 * MS, &a, out, t_out, flags, 16), 1);
        CU_ASSERT_EQUAL(flags[0], GW_SAMPLE_RESTART);
        CU_ASSERT_EQUAL(t_out[0], T0 + 5 * MS);
        CU_ASSERT_EQUAL(gw_frontend_stats_get(fe)->gaps, 0);
        gw_frontend_free(fe);
}

static void test_resample_output_never_exceeds_max_out(void)
{
        gw_frontend *fe = plain_frontend(50.0, 10.0, 0);
        int max = gw_frontend_max_out(fe);
        float a = 1.0f, *out = calloc((size_t) max, sizeof(float));
        int64_t *t_out = calloc((size_t) max, sizeof(int64_t));
        uint32_t *flags = calloc((size_t) max, sizeof(uint32_t));
        int64_t t = T0;

        CU_ASSERT_FATAL(out && t_out && flags);
        CU_ASSERT_EQUAL(gw_frontend_push(fe, t, &a, out, t_out, flags, max), 1);
        /* the default max gap at 10 Hz is 500 ms: a step just short of it */
        t += 500 * MS;
        CU_ASSERT_EQUAL(gw_frontend_push(fe, t, &a, out, t_out, flags, max), 25);
        CU_ASSERT(max >= 25);
        gw_frontend_free(fe);
        free(out);
        free(t_out);
        free(flags);
}

static void test_resample_survives_timestamps_at_the_ends_of_int64(void)
{
        gw_frontend *fe = plain_frontend(50.0, 50.0, 0);
        gw_window *w = NULL;
        int64_t ts[] = { INT64_MAX - 30 * MS, INT64_MAX - 10 * MS, INT64_MAX, INT64_MIN,
                         INT64_MIN + 20 * MS, 0, INT64_MAX, INT64_MIN, INT64_MIN + 1 };
        float a = 1.0f, out[64], win[4];
        int64_t t_out[64];
        uint32_t flags[64];
        gw_window_meta meta;

        CU_ASSERT_EQUAL_FATAL(gw_window_new(2, 1, 1, sizeof(float), 50.0, &w), 0);
        for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++) {
                int n = gw_frontend_push(fe, ts[i], &a, out, t_out, flags, gw_frontend_max_out(fe));
                CU_ASSERT(n >= 0 && n <= gw_frontend_max_out(fe));
                for (int k = 0; k < n; k++)
                        CU_ASSERT(gw_window_push(w, t_out[k], flags[k], &out[k], win, &meta) >= 0);
                gw_window_push(w, ts[i], 0, &a, win, &meta);
        }
        CU_ASSERT_EQUAL(gw_frontend_stats_get(fe)->samples_in, sizeof ts / sizeof ts[0]);
        gw_window_free(w);
        gw_frontend_free(fe);
}

/* ---- windowing ----------------------------------------------------------- */

static gw_window *window(int T, int C, int hop, size_t elem, double rate)
{
        gw_window *w = NULL;
        CU_ASSERT_EQUAL_FATAL(gw_window_new(T, C, hop, elem, rate, &w), 0);
        return w;
}

static void test_window_first_after_T_then_every_hop(void)
{
        gw_window *w = window(8, 2, 3, sizeof(float), 50.0);
        float s[2], out[16];
        gw_window_meta meta;

        for (int i = 0; i < 30; i++) {
                s[0] = (float) i;
                s[1] = (float) -i;
                int r = gw_window_push(w, T0 + i * 20 * MS, 0, s, out, &meta);
                bool want = i >= 7 && (i - 7) % 3 == 0;
                CU_ASSERT_EQUAL(r, want);
                if (r) {
                        for (int k = 0; k < 8; k++) {
                                CU_ASSERT_EQUAL(out[2 * k], (float) (i - 7 + k));
                                CU_ASSERT_EQUAL(out[2 * k + 1], (float) -(i - 7 + k));
                        }
                        CU_ASSERT_EQUAL(meta.t_first_ns, T0 + (i - 7) * 20 * MS);
                        CU_ASSERT_EQUAL(meta.t_last_ns, T0 + i * 20 * MS);
                        CU_ASSERT_EQUAL(meta.index, (uint64_t) (i - 7) / 3);
                }
        }
        CU_ASSERT_EQUAL(gw_window_stats_get(w)->windows, 8);
        CU_ASSERT_EQUAL(gw_window_stats_get(w)->samples, 30);
        gw_window_free(w);
}

static void test_window_with_hop_equal_to_T_does_not_overlap(void)
{
        gw_window *w = window(4, 1, 4, sizeof(float), 50.0);
        float out[4];
        gw_window_meta meta;
        int made = 0;

        for (int i = 0; i < 16; i++) {
                float s = (float) i;
                if (gw_window_push(w, T0 + i * 20 * MS, 0, &s, out, &meta)) {
                        CU_ASSERT_EQUAL(out[0], (float) (made * 4));
                        CU_ASSERT_EQUAL(out[3], (float) (made * 4 + 3));
                        made++;
                }
        }
        CU_ASSERT_EQUAL(made, 4);
        gw_window_free(w);
}

static void test_window_with_hop_1_emits_every_sample_once_full(void)
{
        gw_window *w = window(128, 9, 1, sizeof(float), 50.0);
        float s[9] = { 0 }, out[128 * 9];
        gw_window_meta meta;
        int made = 0;

        for (int i = 0; i < 300; i++) {
                s[4] = (float) i;
                int r = gw_window_push(w, T0 + i * 20 * MS, 0, s, out, &meta);
                CU_ASSERT_EQUAL(r, i >= 127);
                if (r) {
                        CU_ASSERT_EQUAL(out[4], (float) (i - 127));
                        CU_ASSERT_EQUAL(out[127 * 9 + 4], (float) i);
                        CU_ASSERT_EQUAL(meta.t_first_ns, T0 + (i - 127) * 20 * MS);
                        made++;
                }
        }
        CU_ASSERT_EQUAL(made, 173);
        gw_window_free(w);
}

static void test_window_gap_restarts_and_is_counted(void)
{
        gw_window *w = window(4, 1, 2, sizeof(float), 50.0);
        float out[4];
        gw_window_meta meta;
        int64_t t = T0;
        int r;

        for (int i = 0; i < 3; i++, t += 20 * MS) {
                float s = (float) i;
                CU_ASSERT_EQUAL(gw_window_push(w, t, 0, &s, out, &meta), 0);
        }
        /* 31 ms > 1.5 periods: the three samples before are dropped */
        t += 11 * MS;
        for (int i = 0; i < 4; i++, t += 20 * MS) {
                float s = 10.0f + (float) i;
                r = gw_window_push(w, t, 0, &s, out, &meta);
                CU_ASSERT_EQUAL(r, i == 3);
        }
        CU_ASSERT_EQUAL(out[0], 10.0f);
        CU_ASSERT_EQUAL(out[3], 13.0f);
        CU_ASSERT_EQUAL(meta.t_first_ns, T0 + 60 * MS + 11 * MS);
        CU_ASSERT_EQUAL(meta.index, 0);
        CU_ASSERT_EQUAL(gw_window_stats_get(w)->gaps, 1);
        gw_window_free(w);
}

static void test_window_restart_flag_restarts_but_not_on_the_first_sample(void)
{
        gw_window *w = window(4, 1, 4, sizeof(float), 50.0);
        float s = 1.0f, out[4];
        gw_window_meta meta;
        int64_t t = T0;

        CU_ASSERT_EQUAL(gw_window_push(w, t, GW_SAMPLE_RESTART, &s, out, &meta), 0);
        for (int i = 0; i < 2; i++)
                CU_ASSERT_EQUAL(gw_window_push(w, t += 20 * MS, 0, &s, out, &meta), 0);
        CU_ASSERT_EQUAL(gw_window_stats_get(w)->gaps, 0);
        CU_ASSERT_EQUAL(gw_window_push(w, t += 20 * MS, GW_SAMPLE_RESTART, &s, out, &meta), 0);
        CU_ASSERT_EQUAL(gw_window_stats_get(w)->gaps, 1);
        for (int i = 0; i < 2; i++)
                CU_ASSERT_EQUAL(gw_window_push(w, t += 20 * MS, 0, &s, out, &meta), 0);
        CU_ASSERT_EQUAL(gw_window_push(w, t += 20 * MS, 0, &s, out, &meta), 1);
        gw_window_free(w);
}

static void test_window_non_increasing_timestamps_restart(void)
{
        gw_window *w = window(2, 1, 1, sizeof(float), 50.0);
        float s = 1.0f, out[2];
        gw_window_meta meta;

        CU_ASSERT_EQUAL(gw_window_push(w, T0, 0, &s, out, &meta), 0);
        CU_ASSERT_EQUAL(gw_window_push(w, T0 + 20 * MS, 0, &s, out, &meta), 1);
        CU_ASSERT_EQUAL(gw_window_push(w, T0 + 20 * MS, 0, &s, out, &meta), 0);
        CU_ASSERT_EQUAL(gw_window_push(w, T0 + 10 * MS, 0, &s, out, &meta), 0);
        CU_ASSERT_EQUAL(gw_window_stats_get(w)->gaps, 2);
        gw_window_free(w);
}

static void test_window_carries_int8_elements(void)
{
        gw_window *w = window(5, 3, 5, sizeof(int8_t), 50.0);
        int8_t s[3], out[15];
        gw_window_meta meta;

        for (int i = 0; i < 5; i++) {
                s[0] = (int8_t) i;
                s[1] = (int8_t) (-127 + i);
                s[2] = (int8_t) (127 - i);
                CU_ASSERT_EQUAL(gw_window_push(w, T0 + i * 20 * MS, 0, s, out, &meta), i == 4);
        }
        for (int i = 0; i < 5; i++) {
                CU_ASSERT_EQUAL(out[3 * i], i);
                CU_ASSERT_EQUAL(out[3 * i + 1], -127 + i);
                CU_ASSERT_EQUAL(out[3 * i + 2], 127 - i);
        }
        CU_ASSERT_EQUAL(gw_window_state_bytes(w) >= 15, true);
        gw_window_free(w);
}

static void test_window_block_equals_single_pushes(void)
{
        enum { N = 1000, T = 32, C = 3, HOP = 8 };
        gw_window *a = window(T, C, HOP, sizeof(float), 50.0), *b = window(T, C, HOP, sizeof(float), 50.0);
        static int64_t t[N];
        static uint32_t fl[N];
        static float x[N][C], wa[N / HOP + 1][T * C], wb[N / HOP + 1][T * C];
        gw_window_meta ma[N / HOP + 1], mb[N / HOP + 1];
        size_t consumed = 0, done = 0;
        int na = 0, nb = 0;

        for (int i = 0; i < N; i++) {
                t[i] = T0 + i * 20 * MS + (i >= 500 ? 1000 * MS : 0);
                fl[i] = i == 0 ? GW_SAMPLE_RESTART : 0;
                for (int c = 0; c < C; c++)
                        x[i][c] = (float) (i * C + c);
                na += gw_window_push(a, t[i], fl[i], x[i], wa[na], &ma[na]);
        }
        /* in slices limited to 5 windows at a time */
        while (done < N) {
                int r = gw_window_push_block(b, N - done, t + done, fl + done, x[done], wb[nb], mb + nb,
                                             5, &consumed);
                CU_ASSERT_FATAL(r >= 0 && r <= 5);
                CU_ASSERT_FATAL(consumed > 0 || r > 0);
                nb += r;
                done += consumed;
        }
        CU_ASSERT_EQUAL(na, nb);
        CU_ASSERT(memcmp(wa, wb, (size_t) na * sizeof wa[0]) == 0);
        for (int i = 0; i < na; i++) {
                CU_ASSERT_EQUAL(ma[i].t_first_ns, mb[i].t_first_ns);
                CU_ASSERT_EQUAL(ma[i].t_last_ns, mb[i].t_last_ns);
                CU_ASSERT_EQUAL(ma[i].index, mb[i].index);
        }
        CU_ASSERT_EQUAL(gw_window_stats_get(b)->gaps, 1);
        gw_window_free(a);
        gw_window_free(b);
}

static void test_window_refuses_bad_shapes(void)
{
        gw_window *w = NULL;

        CU_ASSERT_EQUAL(gw_window_new(0, 9, 1, 4, 50.0, &w), -EINVAL);
        CU_ASSERT_EQUAL(gw_window_new(GW_MAX_WINDOW + 1, 9, 1, 4, 50.0, &w), -EINVAL);
        CU_ASSERT_EQUAL(gw_window_new(128, 0, 1, 4, 50.0, &w), -EINVAL);
        CU_ASSERT_EQUAL(gw_window_new(128, 9, 0, 4, 50.0, &w), -EINVAL);
        CU_ASSERT_EQUAL(gw_window_new(128, 9, 64, 0, 50.0, &w), -EINVAL);
        CU_ASSERT_EQUAL(gw_window_new(128, 9, 64, 4, 0.0, &w), -EINVAL);
        CU_ASSERT_EQUAL(gw_window_new(128, 9, 64, 4, NAN, &w), -EINVAL);
        CU_ASSERT_PTR_NULL(w);
}

void gw_test_register(void)
{
        CU_pSuite s;

        s = gw_test_suite("units");
        gw_test_add(s, "g is standard gravity, mg a thousandth", test_unit_g_is_standard_gravity);
        gw_test_add(s, "angular rates convert", test_unit_angular_rates_convert);
        gw_test_add(s, "aliases are accepted", test_unit_aliases_are_accepted);
        gw_test_add(s, "mixed kinds and unknown units are refused", test_unit_refuses_mixed_kinds_and_unknown_units);
        gw_test_add(s, "identical unlisted units pass through", test_unit_identical_unlisted_units_pass_through);

        s = gw_test_suite("butter");
        gw_test_add(s, "coefficients match scipy.signal.butter", test_butter_matches_scipy_coefficients);
        gw_test_add(s, "bad orders and cut-offs are refused", test_butter_refuses_bad_parameters);

        s = gw_test_suite("biquad");
        gw_test_add(s, "output matches scipy sosfilt with sosfilt_zi", test_biquad_matches_scipy_sosfilt_with_zi);
        gw_test_add(s, "a settled filter holds a constant", test_biquad_settled_filter_holds_a_constant);
        gw_test_add(s, "an unsettled filter starts from zero", test_biquad_unsettled_filter_starts_from_zero);

        s = gw_test_suite("median");
        gw_test_add(s, "causal median is medfilt delayed by n/2", test_median_is_medfilt_delayed_by_half_its_length);
        gw_test_add(s, "the start is padded with the first value", test_median_pads_the_start_with_the_first_value);
        gw_test_add(s, "a median of one passes samples through", test_median_of_one_passes_samples_through);
        gw_test_add(s, "a single spike is removed", test_median_removes_a_single_spike);

        s = gw_test_suite("spec");
        gw_test_add(s, "the UCI-HAR chain parses", test_spec_parses_the_uci_chain);
        gw_test_add(s, "missing inputs are refused", test_spec_refuses_missing_inputs);
        gw_test_add(s, "a bad filter order is refused", test_spec_refuses_a_bad_order);
        gw_test_add(s, "a cut-off at or above Nyquist is refused", test_spec_refuses_a_cutoff_above_nyquist);
        gw_test_add(s, "an anti-alias cut-off above the model Nyquist is allowed",
                    test_spec_allows_an_antialias_cutoff_above_the_model_nyquist);
        gw_test_add(s, "body or gravity without a gravity stage is refused", test_spec_refuses_body_without_gravity);
        gw_test_add(s, "an unknown signal kind is refused", test_spec_refuses_an_unknown_signal_kind);
        gw_test_add(s, "duplicate input and output names are refused", test_spec_refuses_duplicate_names);
        gw_test_add(s, "an output of an unknown input is refused", test_spec_refuses_an_output_of_an_unknown_input);
        gw_test_add(s, "an even or too long median is refused", test_spec_refuses_an_even_median);
        gw_test_add(s, "unknown keys are refused", test_spec_refuses_unknown_keys);
        gw_test_add(s, "bad JSON and wrong types are refused", test_spec_refuses_bad_json_and_wrong_types);
        gw_test_add(s, "a bad model rate is refused", test_spec_refuses_a_bad_model_rate);

        s = gw_test_suite("frontend");
        gw_test_add(s, "the UCI-HAR chain matches scipy end to end", test_frontend_uci_chain_matches_scipy);
        gw_test_add(s, "the sample API equals the block API", test_frontend_sample_api_equals_block_api);
        gw_test_add(s, "a stream starts without a transient", test_frontend_starts_without_a_transient);
        gw_test_add(s, "filters settle again after a gap", test_frontend_settles_again_after_a_gap);
        gw_test_add(s, "units are converted", test_frontend_converts_units);
        gw_test_add(s, "channels are mapped by name in any order", test_frontend_maps_channels_by_name_in_any_order);
        gw_test_add(s, "the mount matrix rotates every triple", test_frontend_rotates_every_triple_by_the_mount_matrix);
        gw_test_add(s, "a missing channel is refused by name", test_frontend_refuses_a_missing_channel_naming_it);
        gw_test_add(s, "an unconvertible unit is refused by name", test_frontend_refuses_an_unconvertible_unit_naming_it);
        gw_test_add(s, "a mount for an incomplete triple is refused", test_frontend_refuses_a_mount_for_an_incomplete_triple);
        gw_test_add(s, "a bad source is refused", test_frontend_refuses_a_bad_source);
        gw_test_add(s, "anti-aliasing runs only above the model rate", test_frontend_antialias_runs_only_above_the_model_rate);
        gw_test_add(s, "a sample whose outputs do not fit is refused", test_frontend_refuses_a_sample_whose_outputs_do_not_fit);
        gw_test_add(s, "the block API stops where the output is full", test_frontend_block_stops_where_the_output_is_full);
        gw_test_add(s, "nothing is allocated after creation", test_frontend_never_allocates_after_creation);
        gw_test_add(s, "a UCI-HAR stream's state fits in 8 KiB", test_frontend_uci_stream_state_fits_in_8_kib);

        s = gw_test_suite("resample");
        gw_test_add(s, "equal rates pass through exactly", test_resample_passes_through_at_equal_rates);
        gw_test_add(s, "64 Hz to 32 Hz", test_resample_64_to_32_hz);
        gw_test_add(s, "100 Hz to 50 Hz", test_resample_100_to_50_hz);
        gw_test_add(s, "jittery timestamps match numpy.interp", test_resample_jittery_timestamps_match_numpy_interp);
        gw_test_add(s, "upsampling matches numpy.interp", test_resample_upsampling_matches_numpy_interp);
        gw_test_add(s, "a rate change mid-stream matches numpy.interp", test_resample_rate_change_mid_stream_matches_numpy_interp);
        gw_test_add(s, "duplicates are dropped and counted", test_resample_drops_and_counts_duplicates);
        gw_test_add(s, "out-of-order samples are dropped and counted", test_resample_drops_and_counts_out_of_order_samples);
        gw_test_add(s, "a gap resets and flags RESTART", test_resample_gap_resets_and_flags_restart);
        gw_test_add(s, "a clock jumping back restarts", test_resample_clock_jumping_back_restarts);
        gw_test_add(s, "non-finite inputs are dropped and counted", test_resample_drops_and_counts_non_finite_inputs);
        gw_test_add(s, "a NaN does not poison the filters", test_resample_nan_does_not_poison_the_filters);
        gw_test_add(s, "a reset restarts without counting a gap", test_resample_reset_restarts_without_counting_a_gap);
        gw_test_add(s, "outputs per input stay within max_out", test_resample_output_never_exceeds_max_out);
        gw_test_add(s, "timestamps at the ends of int64 do not overflow", test_resample_survives_timestamps_at_the_ends_of_int64);

        s = gw_test_suite("window");
        gw_test_add(s, "first window after T samples, then every hop", test_window_first_after_T_then_every_hop);
        gw_test_add(s, "hop equal to T does not overlap", test_window_with_hop_equal_to_T_does_not_overlap);
        gw_test_add(s, "hop 1 emits on every sample once full", test_window_with_hop_1_emits_every_sample_once_full);
        gw_test_add(s, "a gap restarts and is counted", test_window_gap_restarts_and_is_counted);
        gw_test_add(s, "RESTART restarts, except on the first sample", test_window_restart_flag_restarts_but_not_on_the_first_sample);
        gw_test_add(s, "non-increasing timestamps restart", test_window_non_increasing_timestamps_restart);
        gw_test_add(s, "int8 elements are carried", test_window_carries_int8_elements);
        gw_test_add(s, "the block API equals single pushes", test_window_block_equals_single_pushes);
        gw_test_add(s, "bad shapes are refused", test_window_refuses_bad_shapes);
}
