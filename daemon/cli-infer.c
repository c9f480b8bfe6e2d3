/* SPDX-License-Identifier: MIT */
/* gaitway infer: classify windows given as CSV rows. */

#include <errno.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "csv-private.h"
#include "gaitway/engine.h"
#include "gaitway/model.h"

static void usage(FILE *f)
{
        fprintf(f,
                "Usage: gaitway infer FILE --windows X.csv [--fp32]\n"
                "\n"
                "Classifies windows with the model FILE and prints one class name per\n"
                "window, in row order.  Each row of X.csv is one window of T x C numbers,\n"
                "time-major (t0c0, t0c1, ..., t1c0, ...), in the model's channel order and\n"
                "units (see 'gaitway model info FILE'); the normalisation is applied here.\n"
                "Blank lines and lines starting with '#' are skipped.  \"-\" reads stdin.\n"
                "\n"
                "Options:\n"
                "  --windows X.csv  the windows\n"
                "  --fp32           use the FP32 engine (default: the integer INT8 engine,\n"
                "                   inputs quantised with the model's input scales)\n"
                "  -h, --help       show this help\n"
                "\n"
                "Exit status: 0 all rows classified, 1 a model, file or row error (the\n"
                "message names the line and column; rows before it have been printed),\n"
                "2 usage error.\n");
}

typedef struct {
        gw_model *model;
        gw_engine *engine;
        const gw_model_info *info;
        bool fp32;
        size_t values;          /* T * C */
        float *x;
        int8_t *xq;
        gw_csv_field *fields;
        locale_t loc;
} infer_ctx;

static int classify(infer_ctx *c)
{
        int r;

        if (c->fp32) {
                float logits[GW_MAX_CLASSES], prob[GW_MAX_CLASSES];

                r = gw_engine_run_fp32(c->engine, c->x, logits);
                if (r >= 0)
                        r = gw_softmax_f32(logits, c->info->classes, prob);
        } else {
                int32_t logits[GW_MAX_CLASSES], prob[GW_MAX_CLASSES];

                gw_model_quantize(c->model, c->x, c->xq, (size_t) c->info->window);
                r = gw_engine_run_int8(c->engine, c->xq, logits);
                if (r >= 0)
                        r = gw_softmax_q15(logits, c->info->classes, prob);
        }
        return r;
}

/* Parses one row into c->x.  Returns 0, or 1 after printing an error. */
static int parse_row(infer_ctx *c, const char *src, unsigned long lineno, const char *line, size_t len)
{
        char delim = gw_csv_detect(line, len);
        int nf = gw_csv_split(line, len, delim, c->fields, (int) c->values + 1);

        if (nf != (int) c->values) {
                fprintf(stderr, "gaitway infer: %s:%lu: %d values, expected %zu (window %d x %d channels)\n",
                        src, lineno, nf, c->values, c->info->window, c->info->channels);
                return 1;
        }
        for (int i = 0; i < nf; i++) {
                double v;
                gw_csv_status st = gw_csv_number(c->fields[i].p, c->fields[i].n, c->loc, &v);
                char ex[64];

                if (st != GW_CSV_OK) {
                        fprintf(stderr, "gaitway infer: %s:%lu: column %d (t=%d, channel %s): \"%s\" %s\n",
                                src, lineno, i + 1, i / c->info->channels,
                                c->info->channel[i % c->info->channels].name,
                                gw_csv_excerpt(ex, sizeof ex, c->fields[i].p, c->fields[i].n),
                                gw_csv_status_str(st));
                        return 1;
                }
                c->x[i] = (float) v;
        }
        return 0;
}

static int infer_stream(infer_ctx *c, FILE *in, const char *src)
{
        char *line = NULL;
        size_t cap = 0;
        ssize_t got;
        unsigned long lineno = 0;
        int status = 0;

        while ((got = getline(&line, &cap, in)) >= 0) {
                size_t len = (size_t) got;
                int best;

                lineno++;
                if (len > 0 && line[len - 1] == '\n')
                        len--;
                len = gw_csv_chomp(line, len);
                if (gw_csv_blank(line, len) || line[0] == '#')
                        continue;
                if (parse_row(c, src, lineno, line, len)) {
                        status = 1;
                        break;
                }
                best = classify(c);
                if (best < 0) {
                        fprintf(stderr, "gaitway infer: %s:%lu: the engine failed: %s\n", src, lineno,
                                strerror(-best));
                        status = 1;
                        break;
                }
                printf("%s\n", c->info->class_name[best]);
        }
        if (!status && ferror(in)) {
                fprintf(stderr, "gaitway infer: %s: read error\n", src);
                status = 1;
        }
        free(line);
        return status;
}

int cli_infer(int argc, char **argv)
{
        const char *path = NULL, *csv = NULL;
        infer_ctx c = { 0 };
        char err[GW_ERR_MAX];
        FILE *in = NULL;
        int r, status = 1;

        for (int a = 1; a < argc; a++) {
                if (!strcmp(argv[a], "--help") || !strcmp(argv[a], "-h")) {
                        usage(stdout);
                        return 0;
                } else if (!strcmp(argv[a], "--fp32"))
                        c.fp32 = true;
                else if (!strcmp(argv[a], "--windows")) {
                        if (a + 1 >= argc) {
                                cli_usage_error("infer", "--windows needs a file");
                                return 2;
                        }
                        csv = argv[++a];
                } else if (argv[a][0] == '-' && argv[a][1] != '\0') {
                        cli_usage_error("infer", "unknown option '%s'", argv[a]);
                        return 2;
                } else if (path) {
                        cli_usage_error("infer", "takes one model FILE, got '%s' and '%s'", path, argv[a]);
                        return 2;
                } else
                        path = argv[a];
        }
        if (!path || !csv) {
                cli_usage_error("infer", "needs a model FILE and --windows X.csv");
                return 2;
        }

        r = gw_model_load_file(path, &c.model, err, sizeof err);
        if (r < 0) {
                fprintf(stderr, "gaitway infer: %s\n", err);
                return 1;
        }
        c.info = gw_model_info_get(c.model);
        if (c.fp32 ? !c.info->has_fp32 : !c.info->has_int8) {
                fprintf(stderr, "gaitway infer: %s has no %s tensors%s\n", path, c.fp32 ? "FP32" : "INT8",
                        c.fp32 ? "" : " (try --fp32)");
                goto out;
        }
        r = gw_engine_new(c.model, &c.engine);
        if (r < 0) {
                fprintf(stderr, "gaitway infer: cannot create an engine: %s\n", strerror(-r));
                goto out;
        }
        c.values = (size_t) c.info->window * (size_t) c.info->channels;
        c.x = malloc(c.values * sizeof *c.x);
        c.xq = malloc(c.values);
        c.fields = malloc((c.values + 1) * sizeof *c.fields);
        c.loc = newlocale(LC_ALL_MASK, "C", (locale_t) 0);
        if (!c.x || !c.xq || !c.fields || !c.loc) {
                fprintf(stderr, "gaitway infer: out of memory\n");
                goto out;
        }
        in = strcmp(csv, "-") ? fopen(csv, "r") : stdin;
        if (!in) {
                fprintf(stderr, "gaitway infer: %s: %s\n", csv, strerror(errno));
                goto out;
        }
        status = infer_stream(&c, in, csv);
        if (fflush(stdout) != 0) {
                fprintf(stderr, "gaitway infer: cannot write the output\n");
                status = 1;
        }
out:
        if (in && in != stdin)
                fclose(in);
        if (c.loc)
                freelocale(c.loc);
        free(c.fields);
        free(c.xq);
        free(c.x);
        gw_engine_free(c.engine);
        gw_model_free(c.model);
        return status;
}
