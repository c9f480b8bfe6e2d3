/* SPDX-License-Identifier: MIT */
/* gaitway bench: per-window latency of the FP32 and INT8 engines. */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "gaitway/engine.h"
#include "gaitway/model.h"

#define DEFAULT_WINDOWS 2000
#define DEFAULT_SEED    1
#define MAX_WINDOWS     1000000

typedef struct {
        double p10_us, median_us, p99_us, windows_per_s;
        bool ran;
} bench_result;

static void usage(FILE *f)
{
        fprintf(f,
                "Usage: gaitway bench FILE [--windows N] [--seed S] [--engine fp32|int8] [--json]\n"
                "\n"
                "Times the FP32 and INT8 engines of a model on N random windows (seeded)\n"
                "after a warm-up, one window at a time on one thread, and prints the\n"
                "median and 99th percentile latency per window and the throughput.\n"
                "FP32 time includes the normalisation; INT8 time is the integer engine\n"
                "alone (the daemon quantises each sample as it arrives).\n"
                "\n"
                "Options:\n"
                "  --windows N  windows per engine (default %d)\n"
                "  --seed S     seed of the random inputs (default %d)\n"
                "  --engine E   time only the fp32 or the int8 engine (default both)\n"
                "  --json       print {\"fp32\": {...}, \"int8\": {...}} with median_us,\n"
                "               p99_us, windows_per_s and p10_us (the fastest tenth, close\n"
                "               to the time on an idle core); int8 also has isa, the\n"
                "               instruction set its kernels use (avx2, sse41, neon or c;\n"
                "               GW_ENGINE_ISA chooses another one the CPU supports)\n"
                "  -h, --help   show this help\n",
                DEFAULT_WINDOWS, DEFAULT_SEED);
}

static int64_t now_ns(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t) ts.tv_sec * GW_NSEC_PER_SEC + ts.tv_nsec;
}

/* xorshift64*: reproducible inputs without libc's rand() state. */
static uint64_t rng_next(uint64_t *s)
{
        *s ^= *s >> 12;
        *s ^= *s << 25;
        *s ^= *s >> 27;
        return *s * UINT64_C(2685821657736338717);
}

static int cmp_i64(const void *a, const void *b)
{
        int64_t x = *(const int64_t *) a, y = *(const int64_t *) b;

        return (x > y) - (x < y);
}

static bench_result summarise(int64_t *ns, int n)
{
        bench_result r = { .ran = true };
        int64_t total = 0;
        size_t i99;

        for (int i = 0; i < n; i++)
                total += ns[i];
        qsort(ns, (size_t) n, sizeof *ns, cmp_i64);
        r.median_us = (n % 2 ? (double) ns[n / 2] : (ns[n / 2 - 1] + ns[n / 2]) / 2.0) / 1e3;
        /* The fastest tenth: close to the time on an otherwise idle core. */
        r.p10_us = (double) ns[(size_t) ((n - 1) * 0.10 + 0.5)] / 1e3;
        i99 = (size_t) ((n - 1) * 0.99 + 0.5);
        r.p99_us = (double) ns[i99] / 1e3;
        r.windows_per_s = total > 0 ? n / (total / 1e9) : 0;
        return r;
}

/* Runs every window once untimed (warm-up: caches, branch predictors,
 * frequency), then once timed. */
static bench_result bench_fp32(gw_engine *e, const float *x, size_t wl, int n, int64_t *ns)
{
        float logits[GW_MAX_CLASSES];

        for (int w = 0; w < n; w++)
                gw_engine_run_fp32(e, x + (size_t) w * wl, logits);
        for (int w = 0; w < n; w++) {
                int64_t t0 = now_ns();

                gw_engine_run_fp32(e, x + (size_t) w * wl, logits);
                ns[w] = now_ns() - t0;
        }
        return summarise(ns, n);
}

static bench_result bench_int8(gw_engine *e, const int8_t *xq, size_t wl, int n, int64_t *ns)
{
        int32_t logits[GW_MAX_CLASSES];

        for (int w = 0; w < n; w++)
                gw_engine_run_int8(e, xq + (size_t) w * wl, logits);
        for (int w = 0; w < n; w++) {
                int64_t t0 = now_ns();

                gw_engine_run_int8(e, xq + (size_t) w * wl, logits);
                ns[w] = now_ns() - t0;
        }
        return summarise(ns, n);
}

static void print_json(const bench_result *f, const bench_result *q, const char *isa)
{
        const bench_result *r[2] = { f, q };
        const char *name[2] = { "fp32", "int8" };
        bool first = true;

        printf("{");
        for (int i = 0; i < 2; i++) {
                if (!r[i]->ran)
                        continue;
                printf("%s\"%s\": {\"median_us\": %.3f, \"p99_us\": %.3f, \"windows_per_s\": %.1f, "
                       "\"p10_us\": %.3f", first ? "" : ", ", name[i], r[i]->median_us, r[i]->p99_us,
                       r[i]->windows_per_s, r[i]->p10_us);
                if (i == 1)
                        printf(", \"isa\": \"%s\"", isa);
                printf("}");
                first = false;
        }
        printf("}\n");
}

static void print_text(const gw_model_info *i, int n, uint64_t seed,
                       const bench_result *f, const bench_result *q, const char *isa)
{
        printf("model:   %s %s (C=%d K=%d T=%d F=%d k=%d H=%d, %zu MACs)\n", i->model_id,
               i->model_version, i->channels, i->classes, i->window, i->filters, i->kernel,
               i->hidden, i->macs);
        printf("windows: %d per engine, seed %" PRIu64 ", one thread\n", n, seed);
        printf("engine  median_us    p99_us  windows/s    p10_us\n");
        if (f->ran)
                printf("fp32   %10.2f %9.2f %10.0f %9.2f\n", f->median_us, f->p99_us, f->windows_per_s,
                       f->p10_us);
        if (q->ran)
                printf("int8   %10.2f %9.2f %10.0f %9.2f  (%s)\n", q->median_us, q->p99_us,
                       q->windows_per_s, q->p10_us, isa);
}

static int parse_int(const char *s, long lo, long hi, long *ret)
{
        char *end;
        long v;

        errno = 0;
        v = strtol(s, &end, 10);
        if (errno || end == s || *end || v < lo || v > hi)
                return -EINVAL;
        *ret = v;
        return 0;
}

int cli_bench(int argc, char **argv)
{
        const char *path = NULL;
        long n = DEFAULT_WINDOWS, seed = DEFAULT_SEED;
        bool json = false, want_fp32 = true, want_int8 = true;
        char err[GW_ERR_MAX];
        gw_model *m = NULL;
        gw_engine *e = NULL;
        const gw_model_info *info;
        float *x = NULL;
        int8_t *xq = NULL;
        int64_t *ns = NULL;
        bench_result rf = { 0 }, rq = { 0 };
        uint64_t state;
        size_t wl;
        int r, status = 1;

        for (int a = 1; a < argc; a++) {
                if (!strcmp(argv[a], "--help") || !strcmp(argv[a], "-h")) {
                        usage(stdout);
                        return 0;
                } else if (!strcmp(argv[a], "--json"))
                        json = true;
                else if (!strcmp(argv[a], "--engine")) {
                        if (a + 1 >= argc || (strcmp(argv[a + 1], "fp32") && strcmp(argv[a + 1], "int8"))) {
                                cli_usage_error("bench", "--engine needs fp32 or int8");
                                return 2;
                        }
                        want_fp32 = !strcmp(argv[a + 1], "fp32");
                        want_int8 = !want_fp32;
                        a++;
                }
                else if (!strcmp(argv[a], "--windows") || !strcmp(argv[a], "--seed")) {
                        bool win = !strcmp(argv[a], "--windows");

                        if (a + 1 >= argc) {
                                cli_usage_error("bench", "%s needs a value", argv[a]);
                                return 2;
                        }
                        if (parse_int(argv[a + 1], win ? 1 : 0, win ? MAX_WINDOWS : INT32_MAX,
                                      win ? &n : &seed) < 0) {
                                cli_usage_error("bench", "%s: '%s' is not %s", argv[a], argv[a + 1],
                                                win ? "a window count in 1..1000000"
                                                    : "a non-negative integer");
                                return 2;
                        }
                        a++;
                } else if (argv[a][0] == '-' && argv[a][1] != '\0') {
                        cli_usage_error("bench", "unknown option '%s'", argv[a]);
                        return 2;
                } else if (path) {
                        cli_usage_error("bench", "takes one FILE, got '%s' and '%s'", path, argv[a]);
                        return 2;
                } else
                        path = argv[a];
        }
        if (!path) {
                cli_usage_error("bench", "needs a model FILE");
                return 2;
        }

        r = gw_model_load_file(path, &m, err, sizeof err);
        if (r < 0) {
                fprintf(stderr, "gaitway bench: %s\n", err);
                return 1;
        }
        info = gw_model_info_get(m);
        r = gw_engine_new(m, &e);
        if (r < 0) {
                fprintf(stderr, "gaitway bench: cannot create an engine: %s\n", strerror(-r));
                goto out;
        }

        wl = (size_t) info->window * (size_t) info->channels;
        x = malloc((size_t) n * wl * sizeof *x);
        xq = malloc((size_t) n * wl);
        ns = malloc((size_t) n * sizeof *ns);
        if (!x || !xq || !ns) {
                fprintf(stderr, "gaitway bench: out of memory for %ld windows\n", n);
                goto out;
        }
        /* Uniform in [-2, 2) channel units: the engines have no
         * data-dependent branches, so the distribution only has to keep the
         * arithmetic realistic. */
        state = (uint64_t) seed * UINT64_C(0x9E3779B97F4A7C15) + 1;
        for (size_t i = 0; i < (size_t) n * wl; i++)
                x[i] = (float) ((rng_next(&state) >> 40) * (4.0 / 16777216.0) - 2.0);

        if (info->has_fp32 && want_fp32)
                rf = bench_fp32(e, x, wl, (int) n, ns);
        if (info->has_int8 && want_int8) {
                gw_model_quantize(m, x, xq, (size_t) n * (size_t) info->window);
                rq = bench_int8(e, xq, wl, (int) n, ns);
        }
        if (json)
                print_json(&rf, &rq, gw_engine_isa(e));
        else
                print_text(info, (int) n, (uint64_t) seed, &rf, &rq, gw_engine_isa(e));
        status = fflush(stdout) == 0 ? 0 : 1;
        if (status)
                fprintf(stderr, "gaitway bench: cannot write the output\n");
out:
        free(x);
        free(xq);
        free(ns);
        gw_engine_free(e);
        gw_model_free(m);
        return status;
}
