/* SPDX-License-Identifier: MIT */
/* The engines against the golden vectors of train/golden.py (PyTorch FP32
 * logits, the integer reference's INT8 logits and probabilities), their
 * memory behaviour, and the softmax edge cases.
 *
 * Linked with --wrap for the allocator (tests/meson.build) so that every
 * allocation made while a window runs is counted. */

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw-test.h"
#include "gaitway/engine.h"
#include "gaitway/model.h"
#include "model-private.h"   /* the normalisation means */

/* ---- allocation counting ---- */

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t m);
void *__real_realloc(void *p, size_t n);
void __real_free(void *p);
void *__real_aligned_alloc(size_t a, size_t n);
int __real_posix_memalign(void **p, size_t a, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t m);
void *__wrap_realloc(void *p, size_t n);
void __wrap_free(void *p);
void *__wrap_aligned_alloc(size_t a, size_t n);
int __wrap_posix_memalign(void **p, size_t a, size_t n);

static unsigned long alloc_calls;

void *__wrap_malloc(size_t n)
{
        __atomic_add_fetch(&alloc_calls, 1, __ATOMIC_RELAXED);
        return __real_malloc(n);
}

void *__wrap_calloc(size_t n, size_t m)
{
        __atomic_add_fetch(&alloc_calls, 1, __ATOMIC_RELAXED);
        return __real_calloc(n, m);
}

void *__wrap_realloc(void *p, size_t n)
{
        __atomic_add_fetch(&alloc_calls, 1, __ATOMIC_RELAXED);
        return __real_realloc(p, n);
}

void __wrap_free(void *p)
{
        __atomic_add_fetch(&alloc_calls, 1, __ATOMIC_RELAXED);
        __real_free(p);
}

void *__wrap_aligned_alloc(size_t a, size_t n)
{
        __atomic_add_fetch(&alloc_calls, 1, __ATOMIC_RELAXED);
        return __real_aligned_alloc(a, n);
}

int __wrap_posix_memalign(void **p, size_t a, size_t n)
{
        __atomic_add_fetch(&alloc_calls, 1, __ATOMIC_RELAXED);
        return __real_posix_memalign(p, a, n);
}

/* ---- golden data ---- */

typedef struct {
        char name[32];
        int n, C, K, T, F, k, H, lsb_bits;
        gw_model *model;
        float *x;               /* [n][T][C] in the channels' units */
        float *fp32;            /* [n][K] PyTorch logits */
        int32_t *xqsum;         /* [n] */
        int32_t *int8;          /* [n][K] */
        int32_t *prob;          /* [n][K] */
} shape;

#define MAX_SHAPES 16
static shape shapes[MAX_SHAPES];
static int n_shapes;

static void *read_file(const char *name, size_t want)
{
        const char *path = gw_test_data(name);
        FILE *f = fopen(path, "rb");
        void *buf;
        size_t got;

        if (!f) {
                fprintf(stderr, "cannot open %s\n", path);
                return NULL;
        }
        buf = malloc(want ? want : 1);
        got = buf ? fread(buf, 1, want, f) : 0;
        if (got != want || fgetc(f) != EOF) {
                fprintf(stderr, "%s: expected exactly %zu bytes\n", path, want);
                free(buf);
                buf = NULL;
        }
        fclose(f);
        return buf;
}

static int load_shape(shape *s)
{
        char name[96], err[GW_ERR_MAX];
        size_t nx = (size_t) s->n * s->T * s->C, nk = (size_t) s->n * s->K;
        int16_t *counts;

        snprintf(name, sizeof name, "golden/%s.gwm", s->name);
        if (gw_model_load_file(gw_test_data(name), &s->model, err, sizeof err) < 0) {
                fprintf(stderr, "%s: %s\n", name, err);
                return -1;
        }
        snprintf(name, sizeof name, "golden/%s.x.i16", s->name);
        counts = read_file(name, nx * sizeof *counts);
        snprintf(name, sizeof name, "golden/%s.fp32.f32", s->name);
        s->fp32 = read_file(name, nk * sizeof *s->fp32);
        snprintf(name, sizeof name, "golden/%s.xqsum.i32", s->name);
        s->xqsum = read_file(name, (size_t) s->n * sizeof *s->xqsum);
        snprintf(name, sizeof name, "golden/%s.int8.i32", s->name);
        s->int8 = read_file(name, nk * sizeof *s->int8);
        snprintf(name, sizeof name, "golden/%s.prob.i32", s->name);
        s->prob = read_file(name, nk * sizeof *s->prob);
        s->x = malloc(nx * sizeof *s->x);
        if (!counts || !s->fp32 || !s->xqsum || !s->int8 || !s->prob || !s->x) {
                free(counts);
                return -1;
        }
        /* count * 2^-lsb_bits is exact in float32, as in train/golden.py. */
        for (size_t i = 0; i < nx; i++)
                s->x[i] = (float) counts[i] * ldexpf(1.0f, -s->lsb_bits);
        free(counts);
        return 0;
}

static int golden_init(void)
{
        FILE *f = fopen(gw_test_data("golden/manifest.txt"), "r");
        char line[256];

        if (!f)
                return -1;
        while (fgets(line, sizeof line, f) && n_shapes < MAX_SHAPES) {
                shape *s = &shapes[n_shapes];

                if (line[0] == '#')
                        continue;
                if (sscanf(line, "%31s %d %d %d %d %d %d %d %d", s->name, &s->n, &s->C, &s->K,
                           &s->T, &s->F, &s->k, &s->H, &s->lsb_bits) != 9 ||
                    load_shape(s) < 0) {
                        fclose(f);
                        return -1;
                }
                n_shapes++;
        }
        fclose(f);
        return n_shapes > 0 ? 0 : -1;
}

static int golden_cleanup(void)
{
        for (int i = 0; i < n_shapes; i++) {
                shape *s = &shapes[i];

                gw_model_free(s->model);
                free(s->x);
                free(s->fp32);
                free(s->xqsum);
                free(s->int8);
                free(s->prob);
        }
        n_shapes = 0;
        return 0;
}

static shape *find_shape(const char *name)
{
        for (int i = 0; i < n_shapes; i++)
                if (!strcmp(shapes[i].name, name))
                        return &shapes[i];
        CU_FAIL_FATAL("golden shape missing");
        return NULL;
}

static int argmax_f(const float *v, int k)
{
        int b = 0;

        for (int i = 1; i < k; i++)
                if (v[i] > v[b])
                        b = i;
        return b;
}

/* ---- FP32 ---- */

static double fp32_max_error(shape *s, int *windows)
{
        gw_engine *e = NULL;
        float logits[GW_MAX_CLASSES];
        double max = 0;

        CU_ASSERT_EQUAL_FATAL(gw_engine_new(s->model, &e), 0);
        for (int w = 0; w < s->n; w++) {
                CU_ASSERT_EQUAL(gw_engine_run_fp32(e, s->x + (size_t) w * s->T * s->C, logits), 0);
                for (int i = 0; i < s->K; i++) {
                        double d = fabs((double) logits[i] - s->fp32[(size_t) w * s->K + i]);

                        if (!(d <= max))
                                max = d;
                }
        }
        gw_engine_free(e);
        *windows = s->n;
        return max;
}

static void test_fp32_uci_matches_pytorch(void)
{
        shape *s = find_shape("uci-har");
        int n;
        double err = fp32_max_error(s, &n);

        printf("\n    uci-har: FP32 vs PyTorch max |logit error| %.3g over %d windows ", err, n);
        CU_ASSERT(n >= 100);
        CU_ASSERT(err <= 1e-4);
}

static void test_fp32_every_shape_matches_pytorch(void)
{
        for (int i = 0; i < n_shapes; i++) {
                int n;
                double err = fp32_max_error(&shapes[i], &n);

                printf("\n    %s: FP32 max |logit error| %.3g (%d windows)", shapes[i].name, err, n);
                CU_ASSERT(err <= 1e-4);
        }
        printf(" ");
}

/* ---- INT8 ---- */

static void test_quantizer_matches_reference(void)
{
        for (int i = 0; i < n_shapes; i++) {
                shape *s = &shapes[i];
                size_t wl = (size_t) s->T * s->C;
                int8_t *xq = malloc(wl);
                int bad = 0;

                CU_ASSERT_PTR_NOT_NULL_FATAL(xq);
                for (int w = 0; w < s->n; w++) {
                        int64_t sum = 0;

                        gw_model_quantize(s->model, s->x + w * wl, xq, (size_t) s->T);
                        for (size_t j = 0; j < wl; j++)
                                sum += (int64_t) (j + 1) * xq[j];
                        bad += (int32_t) sum != s->xqsum[w];
                }
                if (bad)
                        printf("\n    %s: %d windows quantise differently", s->name, bad);
                CU_ASSERT_EQUAL(bad, 0);
                free(xq);
        }
}

static gw_model *load_golden(const char *name);

/* Every INT8 path: the engine's instruction sets (engine-isa.c). */
static const char *const isas[] = { "c", "sse41", "avx2", "neon" };
#define N_ISAS (sizeof isas / sizeof *isas)

static bool isa_supported(const char *isa)
{
        gw_engine *e = NULL;
        int r;

        if (gw_engine_new(find_shape("odd")->model, &e) < 0)
                return false;
        r = gw_engine_set_isa(e, isa);
        gw_engine_free(e);
        return r == 0;
}

static void int8_bit_exact_on(const char *isa)
{
        printf("\n    [%s]", isa);
        for (int i = 0; i < n_shapes; i++) {
                shape *s = &shapes[i];
                size_t wl = (size_t) s->T * s->C;
                int8_t *xq = malloc(wl);
                int32_t logits[GW_MAX_CLASSES], prob[GW_MAX_CLASSES];
                gw_engine *e = NULL;
                int bad_logits = 0, bad_prob = 0;

                CU_ASSERT_PTR_NOT_NULL_FATAL(xq);
                CU_ASSERT_EQUAL_FATAL(gw_engine_new(s->model, &e), 0);
                CU_ASSERT_EQUAL_FATAL(gw_engine_set_isa(e, isa), 0);
                CU_ASSERT_STRING_EQUAL(gw_engine_isa(e), isa);
                for (int w = 0; w < s->n; w++) {
                        gw_model_quantize(s->model, s->x + w * wl, xq, (size_t) s->T);
                        CU_ASSERT_EQUAL(gw_engine_run_int8(e, xq, logits), 0);
                        bad_logits += memcmp(logits, s->int8 + (size_t) w * s->K,
                                             (size_t) s->K * sizeof *logits) != 0;
                        CU_ASSERT(gw_softmax_q15(logits, s->K, prob) >= 0);
                        bad_prob += memcmp(prob, s->prob + (size_t) w * s->K,
                                           (size_t) s->K * sizeof *prob) != 0;
                }
                printf(" %s %d/%d", s->name, s->n - bad_logits, s->n);
                CU_ASSERT_EQUAL(bad_logits, 0);
                CU_ASSERT_EQUAL(bad_prob, 0);
                gw_engine_free(e);
                free(xq);
        }
}

static void test_int8_bit_exact_every_shape(void)
{
        int ran = 0;

        for (size_t i = 0; i < N_ISAS; i++)
                if (isa_supported(isas[i])) {
                        int8_bit_exact_on(isas[i]);
                        ran++;
                }
        printf(" ");
        CU_ASSERT(ran >= 1);
#if defined(__x86_64__)
        CU_ASSERT(isa_supported("sse41") == (bool) __builtin_cpu_supports("sse4.1"));
        CU_ASSERT(isa_supported("avx2") == (bool) __builtin_cpu_supports("avx2"));
#endif
}

/* xorshift32: reproducible windows without libc's rand() state. */
static uint32_t rng32(uint32_t *s)
{
        *s ^= *s << 13;
        *s ^= *s >> 17;
        *s ^= *s << 5;
        return *s;
}

/* Random windows plus the extremes (all +127, all -127, alternating) on
 * every shape and path, against the C path. */
static int paths_disagree(gw_model *m, int n_random, uint32_t seed)
{
        const gw_model_info *info = gw_model_info_get(m);
        size_t wl = (size_t) info->window * info->channels;
        int8_t *xq = malloc(wl);
        gw_engine *ref = NULL, *e = NULL;
        int bad = 0;

        if (!xq || gw_engine_new(m, &ref) < 0 || gw_engine_new(m, &e) < 0 ||
            gw_engine_set_isa(ref, "c") < 0) {
                free(xq);
                gw_engine_free(ref);
                gw_engine_free(e);
                return -1;
        }
        for (size_t i = 1; i < N_ISAS; i++) {
                if (gw_engine_set_isa(e, isas[i]) < 0)
                        continue;
                for (int w = 0; w < n_random + 3; w++) {
                        int32_t a[GW_MAX_CLASSES], b[GW_MAX_CLASSES];

                        for (size_t j = 0; j < wl; j++)
                                xq[j] = w == n_random ? 127 : w == n_random + 1 ? -128 :
                                        w == n_random + 2 ? (j % 2 ? 127 : -127) :
                                        (int8_t) (rng32(&seed) % 255 - 127);
                        gw_engine_run_int8(ref, xq, a);
                        gw_engine_run_int8(e, xq, b);
                        bad += memcmp(a, b, (size_t) info->classes * sizeof *a) != 0;
                }
        }
        gw_engine_free(ref);
        gw_engine_free(e);
        free(xq);
        return bad;
}

static void test_int8_paths_agree_on_random_and_extreme_windows(void)
{
        for (int i = 0; i < n_shapes; i++)
                CU_ASSERT_EQUAL(paths_disagree(shapes[i].model, 50, 1234567u + (uint32_t) i), 0);
}

/* The SIMD paths clamp accumulators where the result saturates anyway and
 * shift in 64-bit lanes: every multiplier and shift the loader accepts
 * (m in [2^30, 2^31) or 0, s in 1..62) must give the C path's integers.
 * The requantisation tables of a loaded model are rewritten in place
 * before the engines pack them. */
static void test_int8_paths_agree_for_every_requant_scale(void)
{
        gw_model *m = load_golden("golden/uci-har.gwm");
        uint32_t seed = 99;
        int bad = 0;

        CU_ASSERT_PTR_NOT_NULL_FATAL(m);
        for (int round = 0; round < 16; round++) {
                int32_t *tabs[] = { (int32_t *) m->q.conv1_rq, (int32_t *) m->q.conv2_rq,
                                    (int32_t *) m->q.fwd_rq_ih, (int32_t *) m->q.fwd_rq_hh,
                                    (int32_t *) m->q.bwd_rq_ih, (int32_t *) m->q.head_rq };
                int rows[] = { m->info.filters, m->info.filters, 4 * m->info.hidden,
                               4 * m->info.hidden, 4 * m->info.hidden, m->info.classes };

                for (size_t t = 0; t < sizeof tabs / sizeof *tabs; t++)
                        for (int r = 0; r < rows[t]; r++) {
                                uint32_t v = rng32(&seed);

                                tabs[t][2 * r] = v % 16 == 0 ? 0 : (int32_t) ((1u << 30) | (v >> 2));
                                /* small shifts (huge multipliers) in early
                                 * rounds, then only shifts of 33 and more
                                 * (the AVX2 path's short form for blocks
                                 * of such rows), the whole range later */
                                tabs[t][2 * r + 1] = round < 4 ? 1 + (int32_t) (rng32(&seed) % 8) :
                                                     round < 8 ? 33 + (int32_t) (rng32(&seed) % 30) :
                                                     1 + (int32_t) (rng32(&seed) % 62);
                        }
                bad += paths_disagree(m, 8, seed);
        }
        CU_ASSERT_EQUAL(bad, 0);
        gw_model_free(m);
}

static void test_engine_isa_names_and_refusals(void)
{
        gw_engine *e = NULL;
        const char *best;

        CU_ASSERT_EQUAL_FATAL(gw_engine_new(find_shape("odd")->model, &e), 0);
        best = gw_engine_isa(e);
        CU_ASSERT_PTR_NOT_NULL_FATAL(best);
        CU_ASSERT_EQUAL(gw_engine_set_isa(e, "c"), 0);
        CU_ASSERT_STRING_EQUAL(gw_engine_isa(e), "c");
        CU_ASSERT_EQUAL(gw_engine_set_isa(e, "mmx"), -EINVAL);
        CU_ASSERT_EQUAL(gw_engine_set_isa(e, NULL), -EINVAL);
        CU_ASSERT_EQUAL(gw_engine_set_isa(NULL, "c"), -EINVAL);
        CU_ASSERT_STRING_EQUAL(gw_engine_isa(e), "c");
        CU_ASSERT_PTR_NULL(gw_engine_isa(NULL));
#if defined(__x86_64__)
        CU_ASSERT_EQUAL(gw_engine_set_isa(e, "neon"), -EOPNOTSUPP);
        CU_ASSERT_STRING_EQUAL(best, __builtin_cpu_supports("avx2") ? "avx2" :
                                     __builtin_cpu_supports("sse4.1") ? "sse41" : "c");
#elif defined(__aarch64__)
        CU_ASSERT_EQUAL(gw_engine_set_isa(e, "avx2"), -EOPNOTSUPP);
        CU_ASSERT_STRING_EQUAL(best, "neon");
#endif
        gw_engine_free(e);
}

static void test_engine_isa_from_environment(void)
{
        const char *old = getenv("GW_ENGINE_ISA");
        char *saved = old ? strdup(old) : NULL;
        gw_engine *e = NULL, *best = NULL;

        unsetenv("GW_ENGINE_ISA");
        CU_ASSERT_EQUAL_FATAL(gw_engine_new(find_shape("odd")->model, &best), 0);
        for (size_t i = 0; i < N_ISAS; i++) {
                setenv("GW_ENGINE_ISA", isas[i], 1);
                CU_ASSERT_EQUAL_FATAL(gw_engine_new(find_shape("odd")->model, &e), 0);
                CU_ASSERT_STRING_EQUAL(gw_engine_isa(e),
                                       isa_supported(isas[i]) ? isas[i] : gw_engine_isa(best));
                gw_engine_free(e);
        }
        setenv("GW_ENGINE_ISA", "bogus", 1);
        CU_ASSERT_EQUAL_FATAL(gw_engine_new(find_shape("odd")->model, &e), 0);
        CU_ASSERT_STRING_EQUAL(gw_engine_isa(e), gw_engine_isa(best));
        gw_engine_free(e);
        gw_engine_free(best);
        if (saved)
                setenv("GW_ENGINE_ISA", saved, 1);
        else
                unsetenv("GW_ENGINE_ISA");
        free(saved);
}

static void test_int8_argmax_agrees_with_fp32(void)
{
        for (int i = 0; i < n_shapes; i++) {
                shape *s = &shapes[i];
                int agree = 0;

                for (int w = 0; w < s->n; w++) {
                        int32_t p[GW_MAX_CLASSES];
                        int b = gw_softmax_q15(s->int8 + (size_t) w * s->K, s->K, p);

                        agree += b == argmax_f(s->fp32 + (size_t) w * s->K, s->K);
                }
                printf("\n    %s: INT8 argmax = FP32 argmax on %d/%d windows", s->name, agree, s->n);
                if (!strcmp(s->name, "uci-har"))
                        CU_ASSERT(agree * 100 >= s->n * 95);
                CU_ASSERT(agree * 100 >= s->n * 75);
        }
        printf(" ");
}

static void test_int8_input_minus_128_reads_as_minus_127(void)
{
        shape *s = find_shape("uci-har");
        size_t wl = (size_t) s->T * s->C;
        int8_t *a = malloc(wl), *b = malloc(wl);
        int32_t la[GW_MAX_CLASSES], lb[GW_MAX_CLASSES];
        gw_engine *e = NULL;

        CU_ASSERT_FATAL(a && b);
        gw_model_quantize(s->model, s->x, a, (size_t) s->T);
        for (size_t j = 0; j < wl; j += 7)
                a[j] = -127;
        memcpy(b, a, wl);
        for (size_t j = 0; j < wl; j += 7)
                b[j] = -128;
        CU_ASSERT_EQUAL_FATAL(gw_engine_new(s->model, &e), 0);
        CU_ASSERT_EQUAL(gw_engine_run_int8(e, a, la), 0);
        CU_ASSERT_EQUAL(gw_engine_run_int8(e, b, lb), 0);
        CU_ASSERT_EQUAL(memcmp(la, lb, (size_t) s->K * sizeof *la), 0);
        gw_engine_free(e);
        free(a);
        free(b);
}

static void test_fp32_nonfinite_sample_reads_as_mean(void)
{
        shape *s = find_shape("uci-har");
        size_t wl = (size_t) s->T * s->C;
        float *a = malloc(wl * sizeof *a), *b = malloc(wl * sizeof *b);
        float la[GW_MAX_CLASSES], lb[GW_MAX_CLASSES];
        gw_engine *e = NULL;

        CU_ASSERT_FATAL(a && b);
        memcpy(a, s->x, wl * sizeof *a);
        memcpy(b, s->x, wl * sizeof *b);
        /* (mean - mean) / std is exactly 0, what a non-finite sample gives */
        a[10 * s->C + 2] = s->model->mean[2];
        b[10 * s->C + 2] = NAN;
        a[40 * s->C + 5] = s->model->mean[5];
        b[40 * s->C + 5] = -INFINITY;
        CU_ASSERT_EQUAL_FATAL(gw_engine_new(s->model, &e), 0);
        CU_ASSERT_EQUAL(gw_engine_run_fp32(e, a, la), 0);
        CU_ASSERT_EQUAL(gw_engine_run_fp32(e, b, lb), 0);
        CU_ASSERT_EQUAL(memcmp(la, lb, (size_t) s->K * sizeof *la), 0);
        gw_engine_free(e);
        free(a);
        free(b);
}

/* ---- memory and sharing ---- */

static void test_runs_allocate_nothing(void)
{
        for (int i = 0; i < n_shapes; i++) {
                shape *s = &shapes[i];
                size_t wl = (size_t) s->T * s->C;
                int8_t *xq = malloc(wl);
                float lf[GW_MAX_CLASSES], pf[GW_MAX_CLASSES];
                int32_t lq[GW_MAX_CLASSES], pq[GW_MAX_CLASSES];
                gw_engine *e = NULL;
                unsigned long before, calls;

                CU_ASSERT_PTR_NOT_NULL_FATAL(xq);
                CU_ASSERT_EQUAL_FATAL(gw_engine_new(s->model, &e), 0);
                before = __atomic_load_n(&alloc_calls, __ATOMIC_RELAXED);
                for (int w = 0; w < s->n; w++) {
                        gw_engine_run_fp32(e, s->x + w * wl, lf);
                        gw_softmax_f32(lf, s->K, pf);
                        gw_model_quantize(s->model, s->x + w * wl, xq, (size_t) s->T);
                        gw_engine_run_int8(e, xq, lq);
                        gw_softmax_q15(lq, s->K, pq);
                }
                calls = __atomic_load_n(&alloc_calls, __ATOMIC_RELAXED) - before;
                CU_ASSERT_EQUAL(calls, 0);
                gw_engine_free(e);
                free(xq);
        }
}

static void test_allocation_counter_sees_engine_creation(void)
{
        gw_engine *e = NULL;
        unsigned long before = __atomic_load_n(&alloc_calls, __ATOMIC_RELAXED);

        CU_ASSERT_EQUAL_FATAL(gw_engine_new(find_shape("uci-har")->model, &e), 0);
        CU_ASSERT(__atomic_load_n(&alloc_calls, __ATOMIC_RELAXED) > before);
        gw_engine_free(e);
}

static void test_uci_scratch_fits_16k(void)
{
        const gw_model_info *info = gw_model_info_get(find_shape("uci-har")->model);
        size_t bytes = gw_engine_scratch_bytes(info);

        printf("\n    uci-har: %zu bytes of scratch (FP32 and INT8 overlaid), %zu bytes of INT8 weights ",
               bytes, info->weight_bytes_int8);
        CU_ASSERT(bytes > 0);
        CU_ASSERT(bytes <= 16384);
        CU_ASSERT(info->weight_bytes_int8 <= 11 * 1024);
}

static void test_scratch_covers_only_present_paths(void)
{
        gw_model_info info = *gw_model_info_get(find_shape("uci-har")->model);
        size_t both, fp32, int8;

        both = gw_engine_scratch_bytes(&info);
        info.has_int8 = false;
        fp32 = gw_engine_scratch_bytes(&info);
        info.has_int8 = true;
        info.has_fp32 = false;
        int8 = gw_engine_scratch_bytes(&info);
        CU_ASSERT(int8 > 0 && fp32 > 0);
        CU_ASSERT(int8 < fp32);
        CU_ASSERT_EQUAL(both, fp32 > int8 ? fp32 : int8);
}

static void test_scratch_rejects_invalid_dimensions(void)
{
        gw_model_info info = *gw_model_info_get(find_shape("uci-har")->model);

        CU_ASSERT_EQUAL(gw_engine_scratch_bytes(NULL), 0);
        info.window = 126;
        CU_ASSERT_EQUAL(gw_engine_scratch_bytes(&info), 0);
        info.window = 128;
        info.kernel = 4;
        CU_ASSERT_EQUAL(gw_engine_scratch_bytes(&info), 0);
        info.kernel = 5;
        info.channels = 0;
        CU_ASSERT_EQUAL(gw_engine_scratch_bytes(&info), 0);
}

static void test_two_engines_on_one_model_agree(void)
{
        shape *s = find_shape("uci-har");
        size_t wl = (size_t) s->T * s->C;
        gw_engine *a = NULL, *b = NULL;
        int8_t *xq = malloc(wl);
        int differ = 0;

        CU_ASSERT_PTR_NOT_NULL_FATAL(xq);
        CU_ASSERT_EQUAL_FATAL(gw_engine_new(s->model, &a), 0);
        CU_ASSERT_EQUAL_FATAL(gw_engine_new(s->model, &b), 0);
        CU_ASSERT_PTR_EQUAL(gw_engine_model(a), s->model);
        /* Interleaved, and b runs the windows in reverse order: no state
         * may leak from one window or engine into another. */
        for (int w = 0; w < s->n; w++) {
                int v = s->n - 1 - w;
                float fa[GW_MAX_CLASSES], fb[GW_MAX_CLASSES];
                int32_t qa[GW_MAX_CLASSES], qb[GW_MAX_CLASSES];

                gw_engine_run_fp32(a, s->x + w * wl, fa);
                gw_engine_run_fp32(b, s->x + v * wl, fb);
                gw_engine_run_fp32(b, s->x + w * wl, fb);
                differ += memcmp(fa, fb, (size_t) s->K * sizeof *fa) != 0;
                gw_model_quantize(s->model, s->x + v * wl, xq, (size_t) s->T);
                gw_engine_run_int8(b, xq, qb);
                gw_model_quantize(s->model, s->x + w * wl, xq, (size_t) s->T);
                gw_engine_run_int8(a, xq, qa);
                gw_engine_run_int8(b, xq, qb);
                differ += memcmp(qa, qb, (size_t) s->K * sizeof *qa) != 0;
        }
        CU_ASSERT_EQUAL(differ, 0);
        gw_engine_free(a);
        gw_engine_free(b);
        free(xq);
}

typedef struct {
        shape *s;
        int mismatches;
} thread_job;

static void *thread_run(void *arg)
{
        thread_job *j = arg;
        shape *s = j->s;
        size_t wl = (size_t) s->T * s->C;
        gw_engine *e = NULL;
        int8_t xq[128 * 9];
        int32_t q[GW_MAX_CLASSES];
        float f[GW_MAX_CLASSES];

        if (gw_engine_new(s->model, &e) < 0 || wl > sizeof xq) {
                j->mismatches = -1;
                return NULL;
        }
        for (int rep = 0; rep < 5; rep++)
                for (int w = 0; w < s->n; w++) {
                        gw_model_quantize(s->model, s->x + w * wl, xq, (size_t) s->T);
                        gw_engine_run_int8(e, xq, q);
                        j->mismatches += memcmp(q, s->int8 + (size_t) w * s->K,
                                                (size_t) s->K * sizeof *q) != 0;
                        gw_engine_run_fp32(e, s->x + w * wl, f);
                        for (int i = 0; i < s->K; i++)
                                j->mismatches += fabsf(f[i] - s->fp32[(size_t) w * s->K + i]) > 1e-4f;
                }
        gw_engine_free(e);
        return NULL;
}

static void test_engines_on_threads_share_one_model(void)
{
        pthread_t th[4];
        thread_job jobs[4];

        for (int i = 0; i < 4; i++) {
                jobs[i] = (thread_job) { .s = find_shape("uci-har") };
                CU_ASSERT_EQUAL_FATAL(pthread_create(&th[i], NULL, thread_run, &jobs[i]), 0);
        }
        for (int i = 0; i < 4; i++) {
                pthread_join(th[i], NULL);
                CU_ASSERT_EQUAL(jobs[i].mismatches, 0);
        }
}

/* ---- API edges ---- */

static void test_engine_refuses_bad_arguments(void)
{
        gw_engine *e = NULL;
        float f[GW_MAX_CLASSES];
        int32_t q[GW_MAX_CLASSES];
        int8_t xq[4] = { 0 };

        CU_ASSERT_EQUAL(gw_engine_new(NULL, &e), -EINVAL);
        CU_ASSERT_PTR_NULL(e);
        CU_ASSERT_EQUAL(gw_engine_new(find_shape("odd")->model, NULL), -EINVAL);
        CU_ASSERT_EQUAL(gw_engine_run_fp32(NULL, find_shape("odd")->x, f), -EINVAL);
        CU_ASSERT_EQUAL(gw_engine_run_int8(NULL, xq, q), -EINVAL);
        CU_ASSERT_EQUAL_FATAL(gw_engine_new(find_shape("odd")->model, &e), 0);
        CU_ASSERT_EQUAL(gw_engine_run_fp32(e, NULL, f), -EINVAL);
        CU_ASSERT_EQUAL(gw_engine_run_int8(e, xq, NULL), -EINVAL);
        CU_ASSERT_PTR_NULL(gw_engine_free(e));
        CU_ASSERT_PTR_NULL(gw_engine_free(NULL));
        CU_ASSERT_PTR_NULL(gw_engine_model(NULL));
}

static gw_model *load_golden(const char *name)
{
        char err[GW_ERR_MAX];
        gw_model *m = NULL;

        if (gw_model_load_file(gw_test_data(name), &m, err, sizeof err) < 0)
                fprintf(stderr, "%s: %s\n", name, err);
        return m;
}

static void test_single_set_models_run_their_path_only(void)
{
        shape *s = find_shape("odd");
        gw_model *mf = load_golden("golden/odd-fp32.gwm"), *mq = load_golden("golden/odd-int8.gwm");
        gw_engine *ef = NULL, *eq = NULL;
        float f[GW_MAX_CLASSES];
        int32_t q[GW_MAX_CLASSES];
        int8_t xq[64];

        CU_ASSERT_FATAL(mf && mq);
        CU_ASSERT_EQUAL_FATAL(gw_engine_new(mf, &ef), 0);
        CU_ASSERT_EQUAL_FATAL(gw_engine_new(mq, &eq), 0);
        gw_model_quantize(mq, s->x, xq, (size_t) s->T);
        CU_ASSERT_EQUAL(gw_engine_run_fp32(ef, s->x, f), 0);
        CU_ASSERT(fabsf(f[0] - s->fp32[0]) <= 1e-4f);
        CU_ASSERT_EQUAL(gw_engine_run_int8(ef, xq, q), -EOPNOTSUPP);
        CU_ASSERT_EQUAL(gw_engine_run_int8(eq, xq, q), 0);
        CU_ASSERT_EQUAL(memcmp(q, s->int8, (size_t) s->K * sizeof *q), 0);
        CU_ASSERT_EQUAL(gw_engine_run_fp32(eq, s->x, f), -EOPNOTSUPP);
        CU_ASSERT(gw_engine_scratch_bytes(gw_model_info_get(mq)) <=
                  gw_engine_scratch_bytes(gw_model_info_get(s->model)));
        CU_ASSERT(gw_engine_scratch_bytes(gw_model_info_get(mf)) <=
                  gw_engine_scratch_bytes(gw_model_info_get(s->model)));
        gw_engine_free(ef);
        gw_engine_free(eq);
        gw_model_free(mf);
        gw_model_free(mq);
}

/* ---- softmax ---- */

static void test_softmax_q15_equal_logits_split_evenly(void)
{
        int32_t l[4] = { 12345, 12345, 12345, 12345 }, p[4];

        CU_ASSERT_EQUAL(gw_softmax_q15(l, 4, p), 0);
        for (int i = 0; i < 4; i++)
                CU_ASSERT_EQUAL(p[i], 8192);
}

static void test_softmax_q15_huge_difference_is_certain(void)
{
        int32_t l[3] = { INT32_MIN, INT32_MAX, 0 }, p[3];

        CU_ASSERT_EQUAL(gw_softmax_q15(l, 3, p), 1);
        CU_ASSERT_EQUAL(p[0], 0);
        CU_ASSERT_EQUAL(p[1], 32768);
        CU_ASSERT_EQUAL(p[2], 0);
}

static void test_softmax_q15_ties_pick_lowest_index(void)
{
        int32_t l[5] = { -3 * 65536, 2 * 65536, 1 * 65536, 2 * 65536, 0 }, p[5];

        CU_ASSERT_EQUAL(gw_softmax_q15(l, 5, p), 1);
        CU_ASSERT_EQUAL(p[1], p[3]);
}

static void test_softmax_q15_is_close_to_float_softmax(void)
{
        uint32_t seed = 12345;
        double worst = 0;

        for (int trial = 0; trial < 1000; trial++) {
                int32_t lq[8], pq[8];
                float lf[8], pf[8];
                int32_t sum = 0;

                for (int i = 0; i < 8; i++) {
                        seed = seed * 1664525u + 1013904223u;
                        lq[i] = (int32_t) (seed >> 8) - (1 << 23);   /* +-128 in Q16.16 */
                        lq[i] >>= trial % 4;
                        lf[i] = (float) lq[i] / 65536.0f;
                }
                CU_ASSERT_EQUAL(gw_softmax_q15(lq, 8, pq), gw_softmax_f32(lf, 8, pf));
                for (int i = 0; i < 8; i++) {
                        double d = fabs(pq[i] / 32768.0 - pf[i]);

                        worst = d > worst ? d : worst;
                        sum += pq[i];
                }
                CU_ASSERT(abs(sum - 32768) <= 4);
        }
        CU_ASSERT(worst < 2e-3);
}

static void test_softmax_f32_survives_huge_logits(void)
{
        float l[3] = { -1e30f, 1e30f, 3.0f }, p[3];

        CU_ASSERT_EQUAL(gw_softmax_f32(l, 3, p), 1);
        CU_ASSERT_EQUAL(p[0], 0.0f);
        CU_ASSERT_EQUAL(p[1], 1.0f);
        CU_ASSERT_EQUAL(p[2], 0.0f);
}

static void test_softmax_f32_is_total_on_nan_and_inf(void)
{
        float l1[3] = { NAN, 2.0f, INFINITY }, l2[2] = { NAN, NAN }, l3[3] = { -INFINITY, -INFINITY, NAN };
        float p[3];

        CU_ASSERT_EQUAL(gw_softmax_f32(l1, 3, p), 2);
        CU_ASSERT_EQUAL(p[0], 0.0f);
        CU_ASSERT_EQUAL(p[1], 0.0f);
        CU_ASSERT_EQUAL(p[2], 1.0f);
        CU_ASSERT_EQUAL(gw_softmax_f32(l2, 2, p), 0);
        CU_ASSERT_EQUAL(p[0], 0.5f);
        CU_ASSERT_EQUAL(p[1], 0.5f);
        CU_ASSERT_EQUAL(gw_softmax_f32(l3, 3, p), 0);
        CU_ASSERT_EQUAL(p[0], 0.5f);
        CU_ASSERT_EQUAL(p[1], 0.5f);
        CU_ASSERT_EQUAL(p[2], 0.0f);
}

static void test_softmax_f32_equal_logits_split_evenly(void)
{
        float l[4] = { 2.5f, 2.5f, 2.5f, 2.5f }, p[4];

        CU_ASSERT_EQUAL(gw_softmax_f32(l, 4, p), 0);
        for (int i = 0; i < 4; i++)
                CU_ASSERT_DOUBLE_EQUAL(p[i], 0.25, 1e-7);
}

static void test_softmax_refuses_bad_class_counts(void)
{
        int32_t lq[2] = { 0, 0 }, pq[2];
        float lf[2] = { 0, 0 }, pf[2];

        CU_ASSERT_EQUAL(gw_softmax_q15(lq, 0, pq), -EINVAL);
        CU_ASSERT_EQUAL(gw_softmax_q15(lq, GW_MAX_CLASSES + 1, pq), -EINVAL);
        CU_ASSERT_EQUAL(gw_softmax_q15(NULL, 2, pq), -EINVAL);
        CU_ASSERT_EQUAL(gw_softmax_f32(lf, -1, pf), -EINVAL);
        CU_ASSERT_EQUAL(gw_softmax_f32(lf, 2, NULL), -EINVAL);
}

void gw_test_register(void)
{
        CU_pSuite s;

        /* gw_test_suite() has no init hook; the golden data loads once. */
        s = CU_add_suite("engine against golden vectors", golden_init, golden_cleanup);
        if (!s) {
                fprintf(stderr, "CUnit: cannot add the engine suite: %s\n", CU_get_error_msg());
                exit(2);
        }
        gw_test_add(s, "FP32 logits match PyTorch within 1e-4 on 100 UCI-HAR windows",
                    test_fp32_uci_matches_pytorch);
        gw_test_add(s, "FP32 logits match PyTorch within 1e-4 on every golden shape",
                    test_fp32_every_shape_matches_pytorch);
        gw_test_add(s, "gw_model_quantize matches the reference quantiser on every window",
                    test_quantizer_matches_reference);
        gw_test_add(s, "INT8 logits and Q15 probabilities equal the integer reference bit for bit on every path the CPU supports",
                    test_int8_bit_exact_every_shape);
        gw_test_add(s, "every INT8 path the CPU supports equals the reference on random and extreme windows",
                    test_int8_paths_agree_on_random_and_extreme_windows);
        gw_test_add(s, "every INT8 path gives the C path's integers for every multiplier and shift",
                    test_int8_paths_agree_for_every_requant_scale);
        gw_test_add(s, "gw_engine_set_isa names the paths and refuses unknown or unsupported ones",
                    test_engine_isa_names_and_refusals);
        gw_test_add(s, "GW_ENGINE_ISA picks a supported path for new engines, else the best",
                    test_engine_isa_from_environment);
        gw_test_add(s, "INT8 argmax agrees with FP32 on at least 95% of UCI-HAR windows",
                    test_int8_argmax_agrees_with_fp32);
        gw_test_add(s, "INT8 input -128 reads as -127", test_int8_input_minus_128_reads_as_minus_127);
        gw_test_add(s, "FP32 non-finite samples read as the channel mean",
                    test_fp32_nonfinite_sample_reads_as_mean);
        gw_test_add(s, "running windows allocates nothing", test_runs_allocate_nothing);
        gw_test_add(s, "the allocation counter sees engine creation",
                    test_allocation_counter_sees_engine_creation);
        gw_test_add(s, "UCI-HAR scratch fits in 16 KB and INT8 weights in 11 KB",
                    test_uci_scratch_fits_16k);
        gw_test_add(s, "scratch covers only the paths a model has",
                    test_scratch_covers_only_present_paths);
        gw_test_add(s, "scratch size is 0 for invalid dimensions",
                    test_scratch_rejects_invalid_dimensions);
        gw_test_add(s, "two engines on one model give identical results",
                    test_two_engines_on_one_model_agree);
        gw_test_add(s, "engines on four threads share one model",
                    test_engines_on_threads_share_one_model);
        gw_test_add(s, "engine calls refuse NULL arguments", test_engine_refuses_bad_arguments);
        gw_test_add(s, "a model with one tensor set runs that path and refuses the other",
                    test_single_set_models_run_their_path_only);

        s = gw_test_suite("softmax");
        gw_test_add(s, "equal logits split Q15 probability evenly",
                    test_softmax_q15_equal_logits_split_evenly);
        gw_test_add(s, "a logit gap of 2^32 gives 32768 to the winner without overflow",
                    test_softmax_q15_huge_difference_is_certain);
        gw_test_add(s, "ties go to the lowest index", test_softmax_q15_ties_pick_lowest_index);
        gw_test_add(s, "integer softmax is within 2e-3 of float softmax and sums to 32768",
                    test_softmax_q15_is_close_to_float_softmax);
        gw_test_add(s, "float softmax survives logits of +-1e30",
                    test_softmax_f32_survives_huge_logits);
        gw_test_add(s, "float softmax gives NaN logits 0 and shares ties at infinity",
                    test_softmax_f32_is_total_on_nan_and_inf);
        gw_test_add(s, "float softmax splits equal logits evenly",
                    test_softmax_f32_equal_logits_split_evenly);
        gw_test_add(s, "softmax refuses class counts outside 1..64 and NULL",
                    test_softmax_refuses_bad_class_counts);
}
