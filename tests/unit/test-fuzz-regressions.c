/* SPDX-License-Identifier: MIT */
/* Regression tests for what the libFuzzer targets found (docs/fuzzing.md).
 * Each test replays the reproducer kept under tests/fuzz/regressions/
 * <target>/ (which the fuzz smoke run also replays) and checks the promise
 * the target caught being broken, so a fixed bug stays fixed in every
 * build, fuzzing or not. */

#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csv-private.h"
#include "gaitway/engine.h"
#include "gaitway/frontend.h"
#include "gaitway/model.h"
#include "gaitway/trace.h"
#include "gw-test.h"

static char err[GW_ERR_MAX];

static const char *reproducer(const char *target, const char *name)
{
        static char path[4096];
        const char *root = getenv("GW_SOURCE_ROOT");
        snprintf(path, sizeof path, "%s/tests/fuzz/regressions/%s/%s", root ? root : ".", target, name);
        return path;
}

static char *slurp(const char *path, size_t *len)
{
        FILE *f = fopen(path, "rb");
        char *buf = NULL;
        long n = -1;

        CU_ASSERT_PTR_NOT_NULL_FATAL(f);
        if (fseek(f, 0, SEEK_END) == 0)
                n = ftell(f);
        CU_ASSERT_FATAL(n >= 0 && fseek(f, 0, SEEK_SET) == 0);
        buf = malloc((size_t) n + 1);
        CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
        CU_ASSERT_FATAL(fread(buf, 1, (size_t) n, f) == (size_t) n);
        buf[n] = 0;
        fclose(f);
        *len = (size_t) n;
        return buf;
}

/* frontend-spec: an unknown key holding "\n" was quoted verbatim, so the
 * one-line error became two lines (a model file could forge log lines). */
static void test_error_quoting_a_newline_stays_one_line(void)
{
        size_t n;
        char *json = slurp(reproducer("frontend-spec", "newline-in-key.json"), &n);
        gw_frontend_spec spec;

        CU_ASSERT(gw_frontend_spec_from_json(json, 50, &spec, err, sizeof err) < 0);
        CU_ASSERT_PTR_NOT_NULL(strstr(err, "unknown key"));
        CU_ASSERT_PTR_NULL(strchr(err, '\n'));
        free(json);
}

/* csv: the fast path kept the integer part in a uint64 that wrapped to 0
 * at 2^64, then took it for a leading "0." and read
 * "18446744073709551616.5" as 0.5. */
static void test_csv_number_beyond_2_to_64_reads_as_strtod(void)
{
        size_t n;
        char *s = slurp(reproducer("csv", "fast-path-wraps-to-zero.txt"), &n);
        locale_t loc = newlocale(LC_ALL_MASK, "C", (locale_t) 0);
        double got = 0;

        CU_ASSERT_PTR_NOT_NULL_FATAL(loc);
        CU_ASSERT_EQUAL(gw_csv_number(s, n, loc, &got), GW_CSV_OK);
        CU_ASSERT_DOUBLE_EQUAL(got, strtod_l(s, NULL, loc), 0);
        CU_ASSERT(got > 1.8e19);
        freelocale(loc);
        free(s);
}

/* trace: with an even number of steps and no step within 50 % of their
 * median (steps 1 ms and 100 ms), the estimate divided 0 by 0 and the file
 * opened with a rate of NaN. */
static void test_trace_rate_estimate_is_finite_or_refused(void)
{
        gw_csv_layout l;
        gw_trace_reader *r = NULL;

        memset(&l, 0, sizeof l);
        l.time_column = 0;
        l.n_channels = 3;
        for (int i = 0; i < 3; i++) {
                l.column[i] = i + 1;
                snprintf(l.channel[i].name, GW_NAME_MAX, "a%d", i);
                snprintf(l.channel[i].unit, GW_NAME_MAX, "g");
        }
        gw_trace_options o = { .layout = &l };
        int k = gw_trace_open(reproducer("trace", "rate-estimate-nan.txt"), &o, &r, err, sizeof err);
        if (k == 0) {
                double rate = gw_trace_rate(r);
                CU_ASSERT(isfinite(rate) && rate > 0);
                gw_trace_close(r);
        } else
                CU_ASSERT_PTR_NOT_NULL(strstr(err, "rate-estimate-nan.txt"));
}

/* model: FP32 weights that are finite but near FLT_MAX pass the loader;
 * the LSTM gates then sum +inf and -inf, and the NaN went through the
 * argument clamp into a float-to-int conversion in exp (undefined; NaN
 * logits).  A model the loader accepts must give finite logits. */
static void test_model_with_huge_weights_gives_finite_logits_or_is_refused(void)
{
        gw_model *m = NULL;
        gw_engine *e = NULL;

        if (gw_model_load_file(reproducer("model", "huge-weight-nan.gwm"), &m, err, sizeof err) < 0) {
                CU_ASSERT_PTR_NOT_NULL(strstr(err, "lstm.fwd.weight_ih"));
                return;
        }
        const gw_model_info *info = gw_model_info_get(m);
        size_t n = (size_t) info->window * (size_t) info->channels;
        float *x = calloc(n, sizeof *x), logits[GW_MAX_CLASSES];
        CU_ASSERT_PTR_NOT_NULL_FATAL(x);
        for (size_t i = 0; i < n; i++)
                x[i] = (float) (sin((double) i * 0.37) * 40.0);
        CU_ASSERT_FATAL(gw_engine_new(m, &e) == 0);
        CU_ASSERT_FATAL(gw_engine_run_fp32(e, x, logits) == 0);
        for (int k = 0; k < info->classes; k++)
                CU_ASSERT(isfinite(logits[k]));
        gw_engine_free(e);
        gw_model_free(m);
        free(x);
}

void gw_test_register(void)
{
        CU_pSuite s = gw_test_suite("fuzz-regressions");
        gw_test_add(s, "an error quoting a newline stays one line",
                    test_error_quoting_a_newline_stays_one_line);
        gw_test_add(s, "a CSV number beyond 2^64 reads as strtod reads it",
                    test_csv_number_beyond_2_to_64_reads_as_strtod);
        gw_test_add(s, "a trace's estimated rate is finite or the open is refused",
                    test_trace_rate_estimate_is_finite_or_refused);
        gw_test_add(s, "a model with huge FP32 weights gives finite logits or is refused",
                    test_model_with_huge_weights_gives_finite_logits_or_is_refused);
}
