/* SPDX-License-Identifier: MIT */
/* The "frontend" object of a model description (docs/model-format.md).
 * Parsing resolves syntax (types, names, references between inputs and
 * outputs); gw_frontend_spec_check() then judges the values, so a spec made
 * by hand in C is held to the same rules with the same field paths. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "frontend-band-private.h"
#include "frontend-gravity-private.h"
#include "frontend-normalize-private.h"
#include "frontend-private.h"

#define MIN_RATE_HZ 0.001
#define MAX_RATE_HZ 10000.0
#define MAX_ORDER   (2 * GW_BIQUAD_MAX_SECTIONS)

static const char *const frontend_keys[] = {
        "inputs", "antialias", "median", "lowpass", "highpass", "gravity", "outputs",
        "lookahead", "normalize", NULL
};
static const char *const filter_keys[] = { "order", "cutoff_hz", NULL };
static const char *const input_keys[] = { "name", "unit", "gravity", NULL };
static const char *const output_keys[] = { "name", "input", "signal", "band_hz", "smooth_s", NULL };

static const char *const signal_names[] = {
        [GW_SIGNAL_FILTERED] = "filtered",
        [GW_SIGNAL_BODY] = "body",
        [GW_SIGNAL_GRAVITY] = "gravity",
        [GW_SIGNAL_LOG_POWER] = "log_power",
};

/* Unknown keys are refused here, unlike elsewhere in the description: a
 * misspelt stage ("lowpas") would silently change the signal the model
 * sees. */
static int check_keys(const json_t *obj, const char *path, const char *const *allowed,
                      char *err, size_t errlen)
{
        const char *key;
        json_t *v;

        json_object_foreach((json_t *) obj, key, v) {
                bool ok = false;
                for (int i = 0; allowed[i]; i++)
                        if (strcmp(key, allowed[i]) == 0)
                                ok = true;
                if (!ok)
                        return gw_error(err, errlen, EINVAL, "%s.%s: unknown key", path, key);
        }
        return 0;
}

static int parse_string(const json_t *obj, const char *path, const char *key,
                        char out[GW_NAME_MAX], char *err, size_t errlen)
{
        const json_t *v = json_object_get(obj, key);
        const char *s;

        if (!v)
                return gw_error(err, errlen, EINVAL, "%s.%s: missing", path, key);
        if (!json_is_string(v))
                return gw_error(err, errlen, EINVAL, "%s.%s: must be a string", path, key);
        s = json_string_value(v);
        if (json_string_length(v) != strlen(s))
                return gw_error(err, errlen, EINVAL, "%s.%s: contains a NUL byte", path, key);
        if (!*s)
                return gw_error(err, errlen, EINVAL, "%s.%s: must not be empty", path, key);
        if (strlen(s) >= GW_NAME_MAX)
                return gw_error(err, errlen, EINVAL, "%s.%s: \"%.40s\" is longer than %d bytes",
                                path, key, s, GW_NAME_MAX - 1);
        memcpy(out, s, strlen(s) + 1);
        return 0;
}

static int parse_int(const json_t *v, const char *path, int min, int max, int *ret,
                     char *err, size_t errlen)
{
        json_int_t i;

        if (!json_is_integer(v))
                return gw_error(err, errlen, EINVAL, "%s: must be an integer", path);
        i = json_integer_value(v);
        if (i < min || i > max)
                return gw_error(err, errlen, EINVAL, "%s: %lld must be %d..%d", path,
                                (long long) i, min, max);
        *ret = (int) i;
        return 0;
}

static int parse_filter(const json_t *fe, const char *key, gw_filter_spec *f, char *err, size_t errlen)
{
        const json_t *obj = json_object_get(fe, key), *v;
        char path[64];
        int r;

        f->order = 0;
        f->cutoff_hz = 0;
        if (!obj)
                return 0;
        snprintf(path, sizeof path, "frontend.%s", key);
        if (!json_is_object(obj))
                return gw_error(err, errlen, EINVAL, "%s: must be an object", path);
        r = check_keys(obj, path, filter_keys, err, errlen);
        if (r < 0)
                return r;

        v = json_object_get(obj, "order");
        if (!v)
                return gw_error(err, errlen, EINVAL, "%s.order: missing", path);
        snprintf(path, sizeof path, "frontend.%s.order", key);
        r = parse_int(v, path, 0, MAX_ORDER, &f->order, err, errlen);
        if (r < 0)
                return r;
        if (f->order == 0)
                return 0;

        v = json_object_get(obj, "cutoff_hz");
        snprintf(path, sizeof path, "frontend.%s.cutoff_hz", key);
        if (!v)
                return gw_error(err, errlen, EINVAL, "%s: missing (needed when order > 0)", path);
        if (!json_is_number(v))
                return gw_error(err, errlen, EINVAL, "%s: must be a number", path);
        f->cutoff_hz = json_number_value(v);
        return 0;
}

static int parse_inputs(const json_t *fe, gw_frontend_spec *spec, char *err, size_t errlen)
{
        const json_t *arr = json_object_get(fe, "inputs");
        char path[64];
        size_t i;
        json_t *v;
        int r;

        if (!arr)
                return gw_error(err, errlen, EINVAL, "frontend.inputs: missing");
        if (!json_is_array(arr))
                return gw_error(err, errlen, EINVAL, "frontend.inputs: must be an array");
        if (json_array_size(arr) < 1 || json_array_size(arr) > GW_MAX_INPUTS)
                return gw_error(err, errlen, EINVAL, "frontend.inputs: %zu entries, must be 1..%d",
                                json_array_size(arr), GW_MAX_INPUTS);
        json_array_foreach(arr, i, v) {
                snprintf(path, sizeof path, "frontend.inputs[%zu]", i);
                if (!json_is_object(v))
                        return gw_error(err, errlen, EINVAL, "%s: must be an object", path);
                r = check_keys(v, path, input_keys, err, errlen);
                if (r < 0)
                        return r;
                r = parse_string(v, path, "name", spec->inputs[i].name, err, errlen);
                if (r < 0)
                        return r;
                r = parse_string(v, path, "unit", spec->inputs[i].unit, err, errlen);
                if (r < 0)
                        return r;
                r = gw_fe_input_gravity_parse(v, i, &spec->input_gravity[i], err, errlen);
                if (r < 0)
                        return r;
        }
        spec->n_inputs = (int) json_array_size(arr);
        return 0;
}

static int parse_outputs(const json_t *fe, gw_frontend_spec *spec, char *err, size_t errlen)
{
        const json_t *arr = json_object_get(fe, "outputs");
        char path[64], s[GW_NAME_MAX];
        size_t i;
        json_t *v;
        int r;

        if (!arr)
                return gw_error(err, errlen, EINVAL, "frontend.outputs: missing");
        if (!json_is_array(arr))
                return gw_error(err, errlen, EINVAL, "frontend.outputs: must be an array");
        if (json_array_size(arr) < 1 || json_array_size(arr) > GW_MAX_CHANNELS)
                return gw_error(err, errlen, EINVAL, "frontend.outputs: %zu entries, must be 1..%d",
                                json_array_size(arr), GW_MAX_CHANNELS);
        json_array_foreach(arr, i, v) {
                gw_output_spec *o = &spec->outputs[i];

                snprintf(path, sizeof path, "frontend.outputs[%zu]", i);
                if (!json_is_object(v))
                        return gw_error(err, errlen, EINVAL, "%s: must be an object", path);
                r = check_keys(v, path, output_keys, err, errlen);
                if (r < 0)
                        return r;
                r = parse_string(v, path, "name", o->name, err, errlen);
                if (r < 0)
                        return r;

                r = parse_string(v, path, "input", s, err, errlen);
                if (r < 0)
                        return r;
                o->input = -1;
                for (int k = 0; k < spec->n_inputs; k++)
                        if (strcmp(spec->inputs[k].name, s) == 0)
                                o->input = k;
                if (o->input < 0)
                        return gw_error(err, errlen, EINVAL,
                                        "%s.input: \"%s\" is not one of frontend.inputs", path, s);

                r = parse_string(v, path, "signal", s, err, errlen);
                if (r < 0)
                        return r;
                o->signal = (gw_signal_kind) -1;
                for (size_t k = 0; k < sizeof signal_names / sizeof signal_names[0]; k++)
                        if (strcmp(signal_names[k], s) == 0)
                                o->signal = (gw_signal_kind) k;
                if ((int) o->signal < 0)
                        return gw_error(err, errlen, EINVAL,
                                        "%s.signal: \"%s\" must be filtered, body or gravity, or log_power",
                                        path, s);
                r = gw_fe_band_parse(v, i, o, err, errlen);
                if (r < 0)
                        return r;
        }
        spec->n_outputs = (int) json_array_size(arr);
        return 0;
}

int gw_frontend_spec_from_json_object(const json_t *fe, double rate_hz, gw_frontend_spec *ret,
                                      char *err, size_t errlen)
{
        static const struct {
                const char *key;
                size_t offset;
        } filters[] = {
                { "antialias", offsetof(gw_frontend_spec, antialias) },
                { "lowpass", offsetof(gw_frontend_spec, lowpass) },
                { "highpass", offsetof(gw_frontend_spec, highpass) },
                { "gravity", offsetof(gw_frontend_spec, gravity) },
        };
        gw_frontend_spec *spec = ret;
        const json_t *v;
        int r;

        if (!ret)
                return gw_error(err, errlen, EINVAL, "frontend: no spec to fill");
        memset(spec, 0, sizeof *spec);
        spec->rate_hz = rate_hz;
        if (!json_is_object(fe))
                return gw_error(err, errlen, EINVAL, "frontend: must be an object");
        r = check_keys(fe, "frontend", frontend_keys, err, errlen);
        if (r < 0)
                return r;

        r = parse_inputs(fe, spec, err, errlen);
        if (r < 0)
                return r;
        for (size_t i = 0; i < sizeof filters / sizeof filters[0]; i++) {
                r = parse_filter(fe, filters[i].key,
                                 (gw_filter_spec *) ((char *) spec + filters[i].offset), err, errlen);
                if (r < 0)
                        return r;
        }
        v = json_object_get(fe, "median");
        if (v) {
                r = parse_int(v, "frontend.median", 0, GW_MEDIAN_MAX, &spec->median, err, errlen);
                if (r < 0)
                        return r;
        }
        v = json_object_get(fe, "lookahead");
        if (v) {
                r = parse_int(v, "frontend.lookahead", 0, GW_MAX_WINDOW, &spec->lookahead, err, errlen);
                if (r < 0)
                        return r;
        }
        r = parse_outputs(fe, spec, err, errlen);
        if (r < 0)
                return r;
        r = gw_fe_normalize_parse(fe, &spec->normalize, err, errlen);
        if (r < 0)
                return r;

        r = gw_frontend_spec_check(spec, err, errlen);
        if (r < 0)
                memset(spec, 0, sizeof *spec);
        return r;
}

int gw_frontend_spec_from_json(const char *json, double rate_hz, gw_frontend_spec *ret,
                               char *err, size_t errlen)
{
        json_error_t jerr;
        json_t *fe;
        int r;

        if (!json)
                return gw_error(err, errlen, EINVAL, "frontend: no JSON text");
        fe = json_loads(json, JSON_REJECT_DUPLICATES, &jerr);
        if (!fe)
                return gw_error(err, errlen, EINVAL, "frontend: JSON error at line %d column %d: %s",
                                jerr.line, jerr.column, jerr.text);
        r = gw_frontend_spec_from_json_object(fe, rate_hz, ret, err, errlen);
        json_decref(fe);
        return r;
}

size_t gw_frontend_spec_size(void)
{
        return sizeof(gw_frontend_spec);
}

static int check_name(const char *name, const char *path, char *err, size_t errlen)
{
        size_t n = strnlen(name, GW_NAME_MAX);

        if (n == 0)
                return gw_error(err, errlen, EINVAL, "%s: must not be empty", path);
        if (n == GW_NAME_MAX)
                return gw_error(err, errlen, EINVAL, "%s: longer than %d bytes", path, GW_NAME_MAX - 1);
        return 0;
}

static int check_filter(const gw_filter_spec *f, const char *key, double rate_hz, bool any_cutoff,
                        char *err, size_t errlen)
{
        if (f->order == 0)
                return 0;
        if (f->order < 1 || f->order > MAX_ORDER)
                return gw_error(err, errlen, EINVAL, "frontend.%s.order: %d must be 0..%d",
                                key, f->order, MAX_ORDER);
        if (!isfinite(f->cutoff_hz) || f->cutoff_hz <= 0)
                return gw_error(err, errlen, EINVAL, "frontend.%s.cutoff_hz: %g must be positive",
                                key, f->cutoff_hz);
        /* The anti-alias filter is designed at the source's rate, known
         * only when a front end is bound to a source. */
        if (!any_cutoff && f->cutoff_hz >= rate_hz / 2)
                return gw_error(err, errlen, EINVAL,
                                "frontend.%s.cutoff_hz: %g must be below half the model rate (%g Hz)",
                                key, f->cutoff_hz, rate_hz / 2);
        return 0;
}

int gw_frontend_spec_check(const gw_frontend_spec *spec, char *err, size_t errlen)
{
        char path[64];
        int r;

        if (!spec)
                return gw_error(err, errlen, EINVAL, "frontend: no spec");
        if (!isfinite(spec->rate_hz) || spec->rate_hz < MIN_RATE_HZ || spec->rate_hz > MAX_RATE_HZ)
                return gw_error(err, errlen, EINVAL, "frontend: model rate %g Hz must be in [%g, %g]",
                                spec->rate_hz, MIN_RATE_HZ, MAX_RATE_HZ);

        if (spec->n_inputs < 1 || spec->n_inputs > GW_MAX_INPUTS)
                return gw_error(err, errlen, EINVAL, "frontend.inputs: %d entries, must be 1..%d",
                                spec->n_inputs, GW_MAX_INPUTS);
        for (int i = 0; i < spec->n_inputs; i++) {
                snprintf(path, sizeof path, "frontend.inputs[%d].name", i);
                r = check_name(spec->inputs[i].name, path, err, errlen);
                if (r < 0)
                        return r;
                snprintf(path, sizeof path, "frontend.inputs[%d].unit", i);
                r = check_name(spec->inputs[i].unit, path, err, errlen);
                if (r < 0)
                        return r;
                for (int j = 0; j < i; j++)
                        if (strcmp(spec->inputs[i].name, spec->inputs[j].name) == 0)
                                return gw_error(err, errlen, EINVAL,
                                                "frontend.inputs[%d].name: \"%s\" repeats frontend.inputs[%d]",
                                                i, spec->inputs[i].name, j);
        }

        r = check_filter(&spec->antialias, "antialias", spec->rate_hz, true, err, errlen);
        if (r >= 0)
                r = check_filter(&spec->lowpass, "lowpass", spec->rate_hz, false, err, errlen);
        if (r >= 0)
                r = check_filter(&spec->highpass, "highpass", spec->rate_hz, false, err, errlen);
        if (r >= 0)
                r = check_filter(&spec->gravity, "gravity", spec->rate_hz, false, err, errlen);
        if (r >= 0)
                r = gw_fe_input_gravity_check(spec, err, errlen);
        if (r >= 0)
                r = gw_fe_normalize_check(spec, err, errlen);
        if (r < 0)
                return r;

        if (spec->median < 0 || spec->median > GW_MEDIAN_MAX ||
            (spec->median > 1 && spec->median % 2 == 0))
                return gw_error(err, errlen, EINVAL, "frontend.median: %d must be 0 or odd 1..%d",
                                spec->median, GW_MEDIAN_MAX);
        if (spec->lookahead != 0)
                return gw_error(err, errlen, EINVAL,
                                "frontend.lookahead: %d: only 0 (causal filtering) is supported",
                                spec->lookahead);

        if (spec->n_outputs < 1 || spec->n_outputs > GW_MAX_CHANNELS)
                return gw_error(err, errlen, EINVAL, "frontend.outputs: %d entries, must be 1..%d",
                                spec->n_outputs, GW_MAX_CHANNELS);
        for (int i = 0; i < spec->n_outputs; i++) {
                const gw_output_spec *o = &spec->outputs[i];

                snprintf(path, sizeof path, "frontend.outputs[%d].name", i);
                r = check_name(o->name, path, err, errlen);
                if (r < 0)
                        return r;
                for (int j = 0; j < i; j++)
                        if (strcmp(o->name, spec->outputs[j].name) == 0)
                                return gw_error(err, errlen, EINVAL,
                                                "frontend.outputs[%d].name: \"%s\" repeats frontend.outputs[%d]",
                                                i, o->name, j);
                if (o->input < 0 || o->input >= spec->n_inputs)
                        return gw_error(err, errlen, EINVAL,
                                        "frontend.outputs[%d].input: index %d is not one of %d inputs",
                                        i, o->input, spec->n_inputs);
                if ((int) o->signal < GW_SIGNAL_FILTERED || (int) o->signal > GW_SIGNAL_LOG_POWER)
                        return gw_error(err, errlen, EINVAL,
                                        "frontend.outputs[%d].signal: %d must be filtered, body or gravity, or log_power",
                                        i, (int) o->signal);
                if ((o->signal == GW_SIGNAL_BODY || o->signal == GW_SIGNAL_GRAVITY) &&
                    !gw_fe_input_gravity(spec, o->input))
                        return gw_error(err, errlen, EINVAL,
                                        "frontend.outputs[%d].signal: %s needs a frontend.gravity stage "
                                        "(or frontend.inputs[%d].gravity)",
                                        i, signal_names[o->signal], o->input);
        }
        return gw_fe_band_check(spec, err, errlen);
}
