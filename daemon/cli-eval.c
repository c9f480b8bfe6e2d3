/* SPDX-License-Identifier: MIT */
/* gaitway eval: score a model on labelled windows or on labelled recordings
 * with the daemon's own front end, window ring and engines. */

#include <errno.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "cli.h"
#include "csv-private.h"
#include "gaitway/engine.h"
#include "gaitway/frontend.h"
#include "gaitway/metrics.h"
#include "gaitway/model.h"
#include "gaitway/trace.h"
#include "gaitway/window.h"

#define EVAL_MAX_TRACES 256
#define EVAL_MAX_LINE 1024

static void usage(FILE *f)
{
        fprintf(f,
                "Usage: gaitway eval MODEL --windows X.csv --labels Y.txt [OPTIONS]\n"
                "       gaitway eval MODEL --trace T.csv --labels S.csv [--trace ... --labels ...] [OPTIONS]\n"
                "\n"
                "Scores MODEL with the FP32 and the integer INT8 engine (those the file\n"
                "holds): accuracy, macro-F1, per-class precision/recall/F1 and the confusion\n"
                "matrix, plus how often the two engines agree.\n"
                "\n"
                "Windows: each row of X.csv is one window of T x C numbers, time-major, in the\n"
                "model's channel order and units (as 'gaitway infer' reads them); line i of\n"
                "Y.txt is the true class of row i, a class name or a 0-based class index.\n"
                "Blank lines and lines starting with '#' are skipped in both.\n"
                "\n"
                "Recordings: T.csv is a gaitway trace (docs/trace-format.md) run through the\n"
                "model's front end and window ring exactly as gaitwayd runs it.  S.csv lists\n"
                "labelled segments, one per line: START,END,CLASS with times in seconds on the\n"
                "trace's clock (START inclusive, END exclusive).  A window is scored against\n"
                "the label covering at least --min-cover of its samples; windows without one,\n"
                "or whose label is not a class of the model (e.g. a postural transition), are\n"
                "counted as unscored.  Several --trace/--labels pairs are scored together.\n"
                "\n"
                "Options:\n"
                "  --windows X.csv    labelled windows (with --labels)\n"
                "  --trace T.csv      a recording (followed by its --labels)\n"
                "  --labels FILE      labels of the preceding --windows or --trace\n"
                "  --hop N            window hop for recordings (default: the model's)\n"
                "  --min-cover F      fraction of a window one label must cover, 0.5..1\n"
                "                     (default 0.5)\n"
                "  --fp32             only the FP32 engine\n"
                "  --int8             only the INT8 engine\n"
                "  --json             print one JSON object instead of tables\n"
                "  -h, --help         show this help\n"
                "\n"
                "Exit status: 0 scored, 1 a model, file or row error (the message names the\n"
                "file and line), 2 usage error.\n");
}

typedef struct {
        const char *trace;
        const char *labels;
} trace_arg;

typedef struct {
        double start_s, end_s;
        int cls;                  /* model class, or -1: not scored */
} segment;

typedef struct {
        gw_model *model;
        gw_engine *engine;
        const gw_model_info *info;
        bool run_fp32, run_int8;
        gw_confusion cm_fp32, cm_int8;
        uint64_t agree, both;
        uint64_t unscored;
        uint64_t windows;
        float *x;                 /* one window, T x C */
        int8_t *xq;
        locale_t loc;
} eval_ctx;

static int class_of(const gw_model_info *info, const char *s, size_t n)
{
        char *end;
        long v;
        char buf[GW_NAME_MAX];

        for (int k = 0; k < info->classes; k++)
                if (strlen(info->class_name[k]) == n && !memcmp(info->class_name[k], s, n))
                        return k;
        if (n == 0 || n >= sizeof buf)
                return -1;
        memcpy(buf, s, n);
        buf[n] = '\0';
        errno = 0;
        v = strtol(buf, &end, 10);
        if (errno || *end || end == buf || v < 0 || v >= info->classes)
                return -1;
        return (int) v;
}

/* Runs the engines on c->x and counts the result against truth. */
static int score_window(eval_ctx *c, int truth)
{
        int pf = -1, pq = -1;

        if (c->run_fp32) {
                float logits[GW_MAX_CLASSES], prob[GW_MAX_CLASSES];

                pf = gw_engine_run_fp32(c->engine, c->x, logits);
                if (pf < 0)
                        return pf;
                pf = gw_softmax_f32(logits, c->info->classes, prob);
                gw_confusion_add(&c->cm_fp32, truth, pf);
        }
        if (c->run_int8) {
                int32_t logits[GW_MAX_CLASSES], prob[GW_MAX_CLASSES];

                gw_model_quantize(c->model, c->x, c->xq, (size_t) c->info->window);
                pq = gw_engine_run_int8(c->engine, c->xq, logits);
                if (pq < 0)
                        return pq;
                pq = gw_softmax_q15(logits, c->info->classes, prob);
                gw_confusion_add(&c->cm_int8, truth, pq);
        }
        if (c->run_fp32 && c->run_int8) {
                c->both++;
                c->agree += pf == pq;
        }
        c->windows++;
        return 0;
}

/* Reads the next data line (not blank, not a comment) into *line.  Returns
 * its length, or -1 at end of file. */
static ssize_t next_line(FILE *f, char **line, size_t *cap, unsigned long *lineno)
{
        ssize_t got;

        while ((got = getline(line, cap, f)) >= 0) {
                size_t len = (size_t) got;

                (*lineno)++;
                if (len > 0 && (*line)[len - 1] == '\n')
                        len--;
                len = gw_csv_chomp(*line, len);
                if (gw_csv_blank(*line, len) || (*line)[0] == '#')
                        continue;
                return (ssize_t) len;
        }
        return -1;
}

static int eval_windows(eval_ctx *c, const char *xpath, const char *ypath)
{
        size_t values = (size_t) c->info->window * (size_t) c->info->channels;
        gw_csv_field *fields = malloc((values + 1) * sizeof *fields);
        FILE *fx = NULL, *fy = NULL;
        char *lx = NULL, *ly = NULL;
        size_t capx = 0, capy = 0;
        unsigned long nx = 0, ny = 0;
        int status = 1;

        if (!fields) {
                fprintf(stderr, "gaitway eval: out of memory\n");
                return 1;
        }
        fx = strcmp(xpath, "-") ? fopen(xpath, "r") : stdin;
        if (!fx) {
                fprintf(stderr, "gaitway eval: %s: %s\n", xpath, strerror(errno));
                goto out;
        }
        fy = fopen(ypath, "r");
        if (!fy) {
                fprintf(stderr, "gaitway eval: %s: %s\n", ypath, strerror(errno));
                goto out;
        }
        for (;;) {
                ssize_t lenx = next_line(fx, &lx, &capx, &nx);
                ssize_t leny = next_line(fy, &ly, &capy, &ny);
                int nf, truth, r;

                if (lenx < 0 && leny < 0)
                        break;
                if (lenx < 0 || leny < 0) {
                        fprintf(stderr, "gaitway eval: %s has more rows than %s (%s:%lu)\n",
                                lenx < 0 ? ypath : xpath, lenx < 0 ? xpath : ypath,
                                lenx < 0 ? ypath : xpath, lenx < 0 ? ny : nx);
                        goto out;
                }
                truth = class_of(c->info, ly, (size_t) leny);
                if (truth < 0) {
                        char ex[64];

                        fprintf(stderr, "gaitway eval: %s:%lu: \"%s\" is not a class of the model "
                                "(a class name or an index 0..%d)\n", ypath, ny,
                                gw_csv_excerpt(ex, sizeof ex, ly, (size_t) leny), c->info->classes - 1);
                        goto out;
                }
                nf = gw_csv_split(lx, (size_t) lenx, gw_csv_detect(lx, (size_t) lenx), fields,
                                  (int) values + 1);
                if (nf != (int) values) {
                        fprintf(stderr, "gaitway eval: %s:%lu: %d values, expected %zu (window %d x %d channels)\n",
                                xpath, nx, nf, values, c->info->window, c->info->channels);
                        goto out;
                }
                for (int i = 0; i < nf; i++) {
                        double v;
                        gw_csv_status st = gw_csv_number(fields[i].p, fields[i].n, c->loc, &v);

                        if (st != GW_CSV_OK) {
                                char ex[64];

                                fprintf(stderr, "gaitway eval: %s:%lu: column %d (t=%d, channel %s): \"%s\" %s\n",
                                        xpath, nx, i + 1, i / c->info->channels,
                                        c->info->channel[i % c->info->channels].name,
                                        gw_csv_excerpt(ex, sizeof ex, fields[i].p, fields[i].n),
                                        gw_csv_status_str(st));
                                goto out;
                        }
                        c->x[i] = (float) v;
                }
                r = score_window(c, truth);
                if (r < 0) {
                        fprintf(stderr, "gaitway eval: %s:%lu: the engine failed: %s\n", xpath, nx,
                                strerror(-r));
                        goto out;
                }
        }
        if (ferror(fx) || ferror(fy)) {
                fprintf(stderr, "gaitway eval: read error\n");
                goto out;
        }
        status = 0;
out:
        free(lx);
        free(ly);
        if (fx && fx != stdin)
                fclose(fx);
        if (fy)
                fclose(fy);
        free(fields);
        return status;
}

/* Parses a segment file.  Returns the number of segments (>= 0) in *ret
 * (malloc'ed), or -1 after printing an error. */
static int read_segments(eval_ctx *c, const char *path, segment **ret)
{
        FILE *f = fopen(path, "r");
        char *line = NULL;
        size_t cap = 0, n = 0, alloc = 0;
        unsigned long lineno = 0;
        segment *seg = NULL;
        ssize_t len;
        int status = -1;

        if (!f) {
                fprintf(stderr, "gaitway eval: %s: %s\n", path, strerror(errno));
                return -1;
        }
        while ((len = next_line(f, &line, &cap, &lineno)) >= 0) {
                gw_csv_field fl[4];
                double a, b;
                int nf = gw_csv_split(line, (size_t) len, gw_csv_detect(line, (size_t) len), fl, 4);

                if (nf != 3) {
                        fprintf(stderr, "gaitway eval: %s:%lu: expected START,END,CLASS, found %d fields\n",
                                path, lineno, nf);
                        goto out;
                }
                if (gw_csv_number(fl[0].p, fl[0].n, c->loc, &a) != GW_CSV_OK ||
                    gw_csv_number(fl[1].p, fl[1].n, c->loc, &b) != GW_CSV_OK) {
                        fprintf(stderr, "gaitway eval: %s:%lu: START and END must be numbers (seconds)\n",
                                path, lineno);
                        goto out;
                }
                if (!(b > a)) {
                        fprintf(stderr, "gaitway eval: %s:%lu: END %g is not after START %g\n",
                                path, lineno, b, a);
                        goto out;
                }
                if (fl[2].n == 0) {
                        fprintf(stderr, "gaitway eval: %s:%lu: empty CLASS\n", path, lineno);
                        goto out;
                }
                if (n == alloc) {
                        size_t na = alloc ? 2 * alloc : 64;
                        segment *s = realloc(seg, na * sizeof *s);

                        if (!s) {
                                fprintf(stderr, "gaitway eval: out of memory\n");
                                goto out;
                        }
                        seg = s;
                        alloc = na;
                }
                seg[n].start_s = a;
                seg[n].end_s = b;
                /* A name the model does not know marks time not to score. */
                seg[n].cls = class_of(c->info, fl[2].p, fl[2].n);
                n++;
        }
        if (ferror(f)) {
                fprintf(stderr, "gaitway eval: %s: read error\n", path);
                goto out;
        }
        status = 0;
out:
        free(line);
        fclose(f);
        if (status < 0) {
                free(seg);
                return -1;
        }
        *ret = seg;
        return (int) n;
}

/* The label covering at least min_cover of [t0, t1), -1 when none does,
 * -2 when the covering label is not a class of the model. */
static int window_label(const segment *seg, int n, double t0, double t1, double min_cover)
{
        double cover[GW_MAX_CLASSES + 1] = { 0 };
        double span = t1 - t0;

        for (int i = 0; i < n; i++) {
                double a = seg[i].start_s > t0 ? seg[i].start_s : t0;
                double b = seg[i].end_s < t1 ? seg[i].end_s : t1;

                if (b > a)
                        cover[seg[i].cls < 0 ? GW_MAX_CLASSES : seg[i].cls] += b - a;
        }
        for (int k = 0; k <= GW_MAX_CLASSES; k++)
                if (cover[k] >= min_cover * span - 1e-9)
                        return k == GW_MAX_CLASSES ? -2 : k;
        return -1;
}

static int eval_trace(eval_ctx *c, const trace_arg *ta, int hop, double min_cover)
{
        const gw_model_info *info = c->info;
        gw_trace_reader *tr = NULL;
        gw_frontend *fe = NULL;
        gw_window *win = NULL;
        gw_source_desc src = { 0 };
        const gw_channel_desc *ch;
        segment *seg = NULL;
        float *out = NULL, raw[GW_TRACE_MAX_CHANNELS];
        int64_t *t_out = NULL, t_ns;
        uint32_t *flags = NULL;
        char err[GW_ERR_MAX];
        int nseg, nch, max_out, r, status = 1;
        double period;

        nseg = read_segments(c, ta->labels, &seg);
        if (nseg < 0)
                return 1;
        r = gw_trace_open(ta->trace, NULL, &tr, err, sizeof err);
        if (r < 0) {
                fprintf(stderr, "gaitway eval: %s\n", err);
                goto out;
        }
        nch = gw_trace_channels(tr, &ch);
        src.n = nch;
        for (int i = 0; i < nch; i++)
                src.ch[i] = ch[i];
        src.rate_hz = gw_trace_rate(tr);
        r = gw_frontend_new(&info->frontend, &src, &fe, err, sizeof err);
        if (r < 0) {
                fprintf(stderr, "gaitway eval: %s: %s\n", ta->trace, err);
                goto out;
        }
        r = gw_window_new(info->window, info->channels, hop, sizeof(float), info->sample_rate_hz, &win);
        if (r < 0) {
                fprintf(stderr, "gaitway eval: cannot create the window ring: %s\n", strerror(-r));
                goto out;
        }
        max_out = gw_frontend_max_out(fe);
        out = malloc((size_t) max_out * (size_t) info->channels * sizeof *out);
        t_out = malloc((size_t) max_out * sizeof *t_out);
        flags = malloc((size_t) max_out * sizeof *flags);
        if (!out || !t_out || !flags) {
                fprintf(stderr, "gaitway eval: out of memory\n");
                goto out;
        }
        period = 1.0 / info->sample_rate_hz;
        while ((r = gw_trace_read(tr, &t_ns, raw, err, sizeof err)) > 0) {
                int k = gw_frontend_push(fe, t_ns, raw, out, t_out, flags, max_out);

                for (int i = 0; i < k; i++) {
                        gw_window_meta meta;
                        int truth;

                        if (gw_window_push(win, t_out[i], flags[i], out + (size_t) i * (size_t) info->channels,
                                           c->x, &meta) != 1)
                                continue;
                        truth = window_label(seg, nseg, (double) meta.t_first_ns / 1e9,
                                             (double) meta.t_last_ns / 1e9 + period, min_cover);
                        if (truth < 0) {
                                c->unscored++;
                                continue;
                        }
                        r = score_window(c, truth);
                        if (r < 0) {
                                fprintf(stderr, "gaitway eval: %s: the engine failed: %s\n", ta->trace,
                                        strerror(-r));
                                goto out;
                        }
                }
        }
        if (r < 0) {
                fprintf(stderr, "gaitway eval: %s\n", err);
                goto out;
        }
        status = 0;
out:
        free(flags);
        free(t_out);
        free(out);
        gw_window_free(win);
        gw_frontend_free(fe);
        gw_trace_close(tr);
        free(seg);
        return status;
}

static json_t *engine_json(const eval_ctx *c, const gw_confusion *cm)
{
        json_t *classes = json_array(), *matrix = json_array();

        for (int k = 0; k < cm->k; k++) {
                gw_class_metrics m;
                json_t *row = json_array();

                gw_metrics_class(cm, k, &m);
                json_array_append_new(classes, json_pack("{s:s, s:f, s:f, s:f, s:I, s:I}",
                                                         "name", c->info->class_name[k],
                                                         "precision", m.precision, "recall", m.recall,
                                                         "f1", m.f1, "support", (json_int_t) m.support,
                                                         "predicted", (json_int_t) m.predicted));
                for (int j = 0; j < cm->k; j++)
                        json_array_append_new(row, json_integer((json_int_t) cm->m[k][j]));
                json_array_append_new(matrix, row);
        }
        return json_pack("{s:f, s:f, s:o, s:o}", "accuracy", gw_metrics_accuracy(cm),
                         "macro_f1", gw_metrics_macro_f1(cm), "classes", classes,
                         "confusion", matrix);
}

static int print_json(const eval_ctx *c, const char *path)
{
        json_t *engines = json_object(), *root;
        int r;

        if (c->run_fp32)
                json_object_set_new(engines, "fp32", engine_json(c, &c->cm_fp32));
        if (c->run_int8)
                json_object_set_new(engines, "int8", engine_json(c, &c->cm_int8));
        root = json_pack("{s:s, s:s, s:s, s:I, s:I, s:o}", "model", path,
                         "model_id", c->info->model_id, "model_version", c->info->model_version,
                         "windows", (json_int_t) c->windows, "unscored", (json_int_t) c->unscored,
                         "engines", engines);
        if (c->both)
                json_object_set_new(root, "agreement", json_real((double) c->agree / (double) c->both));
        r = json_dumpf(root, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(6));
        json_decref(root);
        printf("\n");
        return r < 0 ? 1 : 0;
}

static void print_table(const eval_ctx *c, const char *name, const gw_confusion *cm)
{
        int w = 8;

        for (int k = 0; k < cm->k; k++) {
                int l = (int) strlen(c->info->class_name[k]);
                if (l > w)
                        w = l;
        }
        printf("%s: macro-F1 %.4f, accuracy %.4f over %llu windows\n\n", name,
               gw_metrics_macro_f1(cm), gw_metrics_accuracy(cm),
               (unsigned long long) gw_confusion_total(cm));
        printf("  %-*s %9s %9s %9s %8s\n", w, "class", "precision", "recall", "F1", "support");
        for (int k = 0; k < cm->k; k++) {
                gw_class_metrics m;

                gw_metrics_class(cm, k, &m);
                printf("  %-*s %9.4f %9.4f %9.4f %8llu\n", w, c->info->class_name[k], m.precision,
                       m.recall, m.f1, (unsigned long long) m.support);
        }
        printf("\n  confusion (rows: true, columns: predicted)\n  %-*s", w, "");
        for (int j = 0; j < cm->k; j++)
                printf(" %6d", j);
        printf("\n");
        for (int k = 0; k < cm->k; k++) {
                printf("  %-*s", w, c->info->class_name[k]);
                for (int j = 0; j < cm->k; j++)
                        printf(" %6llu", (unsigned long long) cm->m[k][j]);
                printf("   %d\n", k);
        }
        printf("\n");
}

static int print_text(const eval_ctx *c, const char *path)
{
        printf("model %s (%s %s): %llu windows scored", path, c->info->model_id,
               c->info->model_version, (unsigned long long) c->windows);
        if (c->unscored)
                printf(", %llu unscored (no label covers enough of them)",
                       (unsigned long long) c->unscored);
        printf("\n\n");
        if (c->run_fp32)
                print_table(c, "FP32", &c->cm_fp32);
        if (c->run_int8)
                print_table(c, "INT8", &c->cm_int8);
        if (c->both)
                printf("FP32 and INT8 agree on %.2f%% of the windows (%llu of %llu)\n",
                       100.0 * (double) c->agree / (double) c->both, (unsigned long long) c->agree,
                       (unsigned long long) c->both);
        return 0;
}

static int need_arg(int a, int argc, const char *opt)
{
        if (a + 1 >= argc) {
                cli_usage_error("eval", "%s needs a value", opt);
                return 0;
        }
        return 1;
}

int cli_eval(int argc, char **argv)
{
        const char *path = NULL, *windows = NULL, *wlabels = NULL;
        trace_arg traces[EVAL_MAX_TRACES];
        int ntraces = 0, hop = 0, r, status = 1;
        bool only_fp32 = false, only_int8 = false, json = false, pending_windows = false;
        double min_cover = 0.5;
        eval_ctx c = { 0 };
        char err[GW_ERR_MAX];

        for (int a = 1; a < argc; a++) {
                const char *o = argv[a];

                if (!strcmp(o, "--help") || !strcmp(o, "-h")) {
                        usage(stdout);
                        return 0;
                } else if (!strcmp(o, "--fp32"))
                        only_fp32 = true;
                else if (!strcmp(o, "--int8"))
                        only_int8 = true;
                else if (!strcmp(o, "--json"))
                        json = true;
                else if (!strcmp(o, "--windows")) {
                        if (!need_arg(a, argc, o))
                                return 2;
                        if (windows) {
                                cli_usage_error("eval", "--windows given twice");
                                return 2;
                        }
                        windows = argv[++a];
                        pending_windows = true;
                } else if (!strcmp(o, "--trace")) {
                        if (!need_arg(a, argc, o))
                                return 2;
                        if (ntraces == EVAL_MAX_TRACES) {
                                cli_usage_error("eval", "at most %d traces", EVAL_MAX_TRACES);
                                return 2;
                        }
                        if (ntraces > 0 && !traces[ntraces - 1].labels) {
                                cli_usage_error("eval", "--trace %s has no --labels", traces[ntraces - 1].trace);
                                return 2;
                        }
                        traces[ntraces].trace = argv[++a];
                        traces[ntraces].labels = NULL;
                        ntraces++;
                        pending_windows = false;
                } else if (!strcmp(o, "--labels")) {
                        if (!need_arg(a, argc, o))
                                return 2;
                        a++;
                        if (pending_windows && !wlabels)
                                wlabels = argv[a];
                        else if (ntraces > 0 && !traces[ntraces - 1].labels)
                                traces[ntraces - 1].labels = argv[a];
                        else {
                                cli_usage_error("eval", "--labels %s follows no --windows or --trace", argv[a]);
                                return 2;
                        }
                } else if (!strcmp(o, "--hop")) {
                        char *end;
                        long v;

                        if (!need_arg(a, argc, o))
                                return 2;
                        v = strtol(argv[++a], &end, 10);
                        if (*end || end == argv[a] || v < 1 || v > GW_MAX_WINDOW) {
                                cli_usage_error("eval", "--hop %s: must be 1..%d", argv[a], GW_MAX_WINDOW);
                                return 2;
                        }
                        hop = (int) v;
                } else if (!strcmp(o, "--min-cover")) {
                        char *end;

                        if (!need_arg(a, argc, o))
                                return 2;
                        min_cover = strtod(argv[++a], &end);
                        if (*end || end == argv[a] || !(min_cover >= 0.5 && min_cover <= 1.0)) {
                                cli_usage_error("eval", "--min-cover %s: must be 0.5..1", argv[a]);
                                return 2;
                        }
                } else if (o[0] == '-' && o[1] != '\0') {
                        cli_usage_error("eval", "unknown option '%s'", o);
                        return 2;
                } else if (path) {
                        cli_usage_error("eval", "takes one model FILE, got '%s' and '%s'", path, o);
                        return 2;
                } else
                        path = o;
        }
        if (!path) {
                cli_usage_error("eval", "needs a model FILE");
                return 2;
        }
        if (!windows == !ntraces) {
                cli_usage_error("eval", "needs either --windows X.csv or --trace T.csv (not both)");
                return 2;
        }
        if (windows && !wlabels) {
                cli_usage_error("eval", "--windows %s has no --labels", windows);
                return 2;
        }
        if (ntraces && !traces[ntraces - 1].labels) {
                cli_usage_error("eval", "--trace %s has no --labels", traces[ntraces - 1].trace);
                return 2;
        }
        if (only_fp32 && only_int8) {
                cli_usage_error("eval", "--fp32 and --int8 exclude each other");
                return 2;
        }
        if (hop && windows) {
                cli_usage_error("eval", "--hop applies to --trace only");
                return 2;
        }

        r = gw_model_load_file(path, &c.model, err, sizeof err);
        if (r < 0) {
                fprintf(stderr, "gaitway eval: %s\n", err);
                return 1;
        }
        c.info = gw_model_info_get(c.model);
        c.run_fp32 = c.info->has_fp32 && !only_int8;
        c.run_int8 = c.info->has_int8 && !only_fp32;
        if (!c.run_fp32 && !c.run_int8) {
                fprintf(stderr, "gaitway eval: %s has no %s tensors\n", path, only_fp32 ? "FP32" : "INT8");
                goto out;
        }
        r = gw_engine_new(c.model, &c.engine);
        if (r < 0) {
                fprintf(stderr, "gaitway eval: cannot create an engine: %s\n", strerror(-r));
                goto out;
        }
        gw_confusion_init(&c.cm_fp32, c.info->classes);
        gw_confusion_init(&c.cm_int8, c.info->classes);
        c.x = malloc((size_t) c.info->window * (size_t) c.info->channels * sizeof *c.x);
        c.xq = malloc((size_t) c.info->window * (size_t) c.info->channels);
        c.loc = newlocale(LC_ALL_MASK, "C", (locale_t) 0);
        if (!c.x || !c.xq || !c.loc) {
                fprintf(stderr, "gaitway eval: out of memory\n");
                goto out;
        }
        if (windows)
                status = eval_windows(&c, windows, wlabels);
        else {
                status = 0;
                for (int i = 0; i < ntraces && !status; i++)
                        status = eval_trace(&c, &traces[i], hop ? hop : c.info->hop, min_cover);
        }
        if (status)
                goto out;
        status = json ? print_json(&c, path) : print_text(&c, path);
        if (fflush(stdout) != 0) {
                fprintf(stderr, "gaitway eval: cannot write the output\n");
                status = 1;
        }
out:
        if (c.loc)
                freelocale(c.loc);
        free(c.xq);
        free(c.x);
        gw_engine_free(c.engine);
        gw_model_free(c.model);
        return status;
}
