/* SPDX-License-Identifier: MIT */
/* gaitway model: inspect model containers (docs/model-format.md). */

#include <stdio.h>
#include <string.h>
#include <jansson.h>

#include "cli.h"
#include "gaitway/engine.h"
#include "gaitway/model.h"

static const char *const signal_name[] = {
        [GW_SIGNAL_FILTERED] = "filtered",
        [GW_SIGNAL_BODY] = "body",
        [GW_SIGNAL_GRAVITY] = "gravity",
        [GW_SIGNAL_LOG_POWER] = "log_power",
};

static void usage(FILE *f)
{
        fprintf(f,
                "Usage: gaitway model info FILE [--json]\n"
                "\n"
                "Validates a model container and describes it: identity, architecture,\n"
                "sampling, channels, classes, front end, size and footprint.\n"
                "\n"
                "Options:\n"
                "  --json      print one JSON object instead of text\n"
                "  -h, --help  show this help\n"
                "\n"
                "Exit status: 0 valid, 1 the file is refused (the message names the field),\n"
                "2 usage error.\n");
}

static const char *signal_str(gw_signal_kind s)
{
        return (unsigned) s < sizeof signal_name / sizeof signal_name[0] ? signal_name[s] : "?";
}

static json_t *filter_json(const gw_filter_spec *f)
{
        if (f->order == 0)
                return json_pack("{s:i}", "order", 0);
        return json_pack("{s:i, s:f}", "order", f->order, "cutoff_hz", f->cutoff_hz);
}

static json_t *frontend_json(const gw_frontend_spec *fe)
{
        json_t *inputs = json_array(), *outputs = json_array();

        for (int i = 0; i < fe->n_inputs; i++) {
                json_t *in = json_pack("{s:s, s:s}", "name", fe->inputs[i].name, "unit", fe->inputs[i].unit);
                if (fe->input_gravity[i].order > 0)
                        json_object_set_new(in, "gravity", filter_json(&fe->input_gravity[i]));
                json_array_append_new(inputs, in);
        }
        for (int i = 0; i < fe->n_outputs; i++) {
                const gw_output_spec *o = &fe->outputs[i];
                const char *in = o->input >= 0 && o->input < fe->n_inputs ? fe->inputs[o->input].name : "?";
                json_t *out = json_pack("{s:s, s:s, s:s}", "name", o->name, "input", in,
                                        "signal", signal_str(o->signal));

                if (o->signal == GW_SIGNAL_LOG_POWER) {
                        json_object_set_new(out, "band_hz", json_pack("[f, f]", o->band_hz[0], o->band_hz[1]));
                        json_object_set_new(out, "smooth_s", json_real(o->smooth_s));
                }
                json_array_append_new(outputs, out);
        }
        json_t *fe_json = json_pack("{s:o, s:o, s:i, s:o, s:o, s:o, s:i, s:o}",
                         "inputs", inputs,
                         "antialias", filter_json(&fe->antialias),
                         "median", fe->median,
                         "lowpass", filter_json(&fe->lowpass),
                         "highpass", filter_json(&fe->highpass),
                         "gravity", filter_json(&fe->gravity),
                         "lookahead", fe->lookahead,
                         "outputs", outputs);
        if (fe_json && fe->normalize.time_constant_s > 0)
                json_object_set_new(fe_json, "normalize",
                                    json_pack("{s:f, s:f}", "time_constant_s", fe->normalize.time_constant_s,
                                              "min_std", fe->normalize.min_std));
        return fe_json;
}

static int print_json(const gw_model_info *i, size_t scratch)
{
        json_t *channels = json_array(), *classes = json_array(), *root;
        char crc[16];
        int r;

        for (int c = 0; c < i->channels; c++)
                json_array_append_new(channels, json_pack("{s:s, s:s}", "name", i->channel[c].name,
                                                          "unit", i->channel[c].unit));
        for (int k = 0; k < i->classes; k++)
                json_array_append_new(classes, json_string(i->class_name[k]));
        snprintf(crc, sizeof crc, "crc32:%08x", (unsigned) i->crc32);

        root = json_pack("{s:s, s:s, s:s, s:i, s:{s:s, s:i, s:i, s:i, s:i, s:i, s:i},"
                         " s:o, s:o, s:f, s:i, s:i, s:o,"
                         " s:I, s:I, s:{s:I, s:I}, s:b, s:b, s:I, s:s}",
                         "model_id", i->model_id,
                         "model_version", i->model_version,
                         "task", i->task,
                         "format_version", i->format_version,
                         "arch", "name", "microbi-convlstm", "channels", i->channels,
                         "classes", i->classes, "window", i->window, "filters", i->filters,
                         "kernel", i->kernel, "hidden", i->hidden,
                         "channels", channels,
                         "classes", classes,
                         "sample_rate_hz", i->sample_rate_hz,
                         "window", i->window,
                         "hop", i->hop,
                         "frontend", frontend_json(&i->frontend),
                         "params", (json_int_t) i->params,
                         "macs", (json_int_t) i->macs,
                         "weight_bytes", "fp32", (json_int_t) i->weight_bytes_fp32,
                         "int8", (json_int_t) i->weight_bytes_int8,
                         "has_fp32", i->has_fp32,
                         "has_int8", i->has_int8,
                         "engine_scratch_bytes", (json_int_t) scratch,
                         "checksum", crc);
        if (!root) {
                fprintf(stderr, "gaitway model: out of memory\n");
                return 1;
        }
        r = json_dumpf(root, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(15));
        json_decref(root);
        if (r < 0 || printf("\n") < 0 || fflush(stdout) != 0) {
                fprintf(stderr, "gaitway model: cannot write the output\n");
                return 1;
        }
        return 0;
}

static void print_filter(const char *label, const gw_filter_spec *f, const char *note)
{
        if (f->order == 0)
                printf("  %-10s off\n", label);
        else
                printf("  %-10s Butterworth order %d, %g Hz%s\n", label, f->order, f->cutoff_hz, note);
}

static void print_frontend(const gw_frontend_spec *fe)
{
        printf("front end:\n  %-10s", "inputs");
        for (int i = 0; i < fe->n_inputs; i++)
                printf("%s%s [%s]", i ? ", " : " ", fe->inputs[i].name, fe->inputs[i].unit);
        printf("\n");
        print_filter("anti-alias", &fe->antialias, " (at the input rate, when above the model rate)");
        if (fe->median > 1)
                printf("  %-10s %d samples\n", "median", fe->median);
        else
                printf("  %-10s off\n", "median");
        print_filter("low-pass", &fe->lowpass, "");
        print_filter("high-pass", &fe->highpass, "");
        print_filter("gravity", &fe->gravity, " (body = filtered - gravity)");
        for (int i = 0; i < fe->n_inputs; i++)
                if (fe->input_gravity[i].order > 0)
                        printf("  %-10s %s: Butterworth order %d, %g Hz (its own gravity stage)\n", "",
                               fe->inputs[i].name, fe->input_gravity[i].order, fe->input_gravity[i].cutoff_hz);
        if (fe->lookahead > 0)
                printf("  %-10s %d samples\n", "look-ahead", fe->lookahead);
        if (fe->normalize.time_constant_s > 0)
                printf("  %-10s running mean and std over %g s, std floor %g (last stage)\n", "normalize",
                       fe->normalize.time_constant_s, fe->normalize.min_std);
}

/* Each channel with the front-end signal that feeds it: the loader has
 * checked that output i is channel i. */
static void print_channels(const gw_model_info *i)
{
        const gw_frontend_spec *fe = &i->frontend;

        printf("channels:     %d (name, unit, from)\n", i->channels);
        for (int c = 0; c < i->channels; c++) {
                const gw_output_spec *o = &fe->outputs[c];
                const char *in = o->input >= 0 && o->input < fe->n_inputs ? fe->inputs[o->input].name : "?";

                printf("  %3d %-31s %-7s %s(%s)", c, i->channel[c].name, i->channel[c].unit,
                       signal_str(o->signal), in);
                if (o->signal == GW_SIGNAL_LOG_POWER)
                        printf(" %g-%g Hz, %g s", o->band_hz[0], o->band_hz[1], o->smooth_s);
                printf("\n");
        }
}

static int print_text(const char *path, const gw_model_info *i, size_t scratch)
{
        printf("file:         %s (gaitway-model %d)\n", path, i->format_version);
        printf("model:        %s %s\n", i->model_id, i->model_version);
        printf("task:         %s\n", i->task);
        printf("architecture: microbi-convlstm, %d channels, %d classes, window %d, "
               "filters %d, kernel %d, hidden %d\n",
               i->channels, i->classes, i->window, i->filters, i->kernel, i->hidden);
        printf("sampling:     %g Hz, window %d samples (%g s), hop %d samples (%g s)\n",
               i->sample_rate_hz, i->window, i->window / i->sample_rate_hz, i->hop,
               i->hop / i->sample_rate_hz);
        print_channels(i);
        printf("classes:      %d\n", i->classes);
        for (int k = 0; k < i->classes; k++)
                printf("  %3d %s\n", k, i->class_name[k]);
        print_frontend(&i->frontend);
        printf("parameters:   %zu\n", i->params);
        printf("MACs:         %zu per window\n", i->macs);
        printf("weights:      FP32 %zu bytes%s, INT8 %zu bytes%s\n",
               i->weight_bytes_fp32, i->has_fp32 ? "" : " (absent)",
               i->weight_bytes_int8, i->has_int8 ? "" : " (absent)");
        printf("engine:       %zu bytes of scratch per engine\n", scratch);
        printf("checksum:     crc32:%08x\n", (unsigned) i->crc32);
        if (fflush(stdout) != 0) {
                fprintf(stderr, "gaitway model: cannot write the output\n");
                return 1;
        }
        return 0;
}

static int model_info(int argc, char **argv)
{
        const char *path = NULL;
        const gw_model_info *info;
        char err[GW_ERR_MAX];
        size_t scratch;
        bool json = false;
        gw_model *m = NULL;
        int r;

        for (int a = 1; a < argc; a++) {
                if (!strcmp(argv[a], "--help") || !strcmp(argv[a], "-h")) {
                        usage(stdout);
                        return 0;
                }
                if (!strcmp(argv[a], "--json"))
                        json = true;
                else if (argv[a][0] == '-' && argv[a][1] != '\0') {
                        cli_usage_error("model", "unknown option '%s'", argv[a]);
                        return 2;
                } else if (path) {
                        cli_usage_error("model", "info takes one FILE, got '%s' and '%s'", path, argv[a]);
                        return 2;
                } else
                        path = argv[a];
        }
        if (!path) {
                cli_usage_error("model", "info needs a FILE");
                return 2;
        }

        r = gw_model_load_file(path, &m, err, sizeof err);
        if (r < 0) {
                fprintf(stderr, "gaitway model: %s\n", err);
                return 1;
        }
        info = gw_model_info_get(m);
        scratch = gw_engine_scratch_bytes(info);
        r = json ? print_json(info, scratch) : print_text(path, info, scratch);
        gw_model_free(m);
        return r;
}

int cli_model(int argc, char **argv)
{
        if (argc < 2) {
                cli_usage_error("model", "missing sub-command");
                return 2;
        }
        if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
                usage(stdout);
                return 0;
        }
        if (!strcmp(argv[1], "info"))
                return model_info(argc - 1, argv + 1);
        cli_usage_error("model", "unknown sub-command '%s'", argv[1]);
        return 2;
}
