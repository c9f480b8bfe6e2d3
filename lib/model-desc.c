/* SPDX-License-Identifier: MIT */
/* The model description: the JSON document stored as the `gaitway` metadata
 * string of a model container (docs/model-format.md). */

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <jansson.h>

#include "frontend-private.h"
#include "model-desc-private.h"

#define ARCH_NAME   "microbi-convlstm"
#define QUANT_INT8  "gw-int8-v1"
#define MAX_RATE_HZ 10000.0

static const json_t *member(const json_t *obj, const char *key, const char *path,
                            json_type type, const char *type_name, int *r, char *err, size_t errlen)
{
        const json_t *v = json_object_get(obj, key);

        if (!v) {
                *r = gw_error(err, errlen, EINVAL, "description \"%s\": missing", path);
                return NULL;
        }
        if (json_typeof(v) != type && !(type == JSON_REAL && json_is_integer(v))) {
                *r = gw_error(err, errlen, EINVAL, "description \"%s\": not %s", path, type_name);
                return NULL;
        }
        return v;
}

static int get_int(const json_t *obj, const char *key, const char *path, long long lo, long long hi,
                   int *ret, char *err, size_t errlen)
{
        int r = 0;
        const json_t *v = member(obj, key, path, JSON_INTEGER, "an integer", &r, err, errlen);
        long long x;

        if (!v)
                return r;
        x = json_integer_value(v);
        if (x < lo || x > hi)
                return gw_error(err, errlen, EINVAL, "description \"%s\": %lld out of range [%lld, %lld]",
                                path, x, lo, hi);
        *ret = (int) x;
        return 0;
}

/* A name or unit: non-empty, shorter than the buffer, no control bytes
 * (names end up in MQTT topics, D-Bus properties and terminal output). */
static int copy_text(const json_t *v, const char *path, char *out, size_t outlen,
                     char *err, size_t errlen)
{
        const char *s;
        size_t n;

        if (!json_is_string(v))
                return gw_error(err, errlen, EINVAL, "description \"%s\": not a string", path);
        s = json_string_value(v);
        n = json_string_length(v);
        if (n == 0)
                return gw_error(err, errlen, EINVAL, "description \"%s\": empty", path);
        if (n >= outlen)
                return gw_error(err, errlen, EINVAL, "description \"%s\": %zu bytes, at most %zu allowed",
                                path, n, outlen - 1);
        for (size_t i = 0; i < n; i++)
                if ((unsigned char) s[i] < 0x20 || s[i] == 0x7f)
                        return gw_error(err, errlen, EINVAL,
                                        "description \"%s\": control character at byte %zu", path, i);
        memcpy(out, s, n + 1);
        return 0;
}

static int get_text(const json_t *obj, const char *key, const char *path, char *out, size_t outlen,
                    char *err, size_t errlen)
{
        const json_t *v = json_object_get(obj, key);

        if (!v)
                return gw_error(err, errlen, EINVAL, "description \"%s\": missing", path);
        return copy_text(v, path, out, outlen, err, errlen);
}

static int parse_arch(const json_t *root, gw_model_info *info, char *err, size_t errlen)
{
        int r = 0;
        const json_t *arch = member(root, "arch", "arch", JSON_OBJECT, "an object", &r, err, errlen);
        const json_t *name;

        if (!arch)
                return r;
        name = member(arch, "name", "arch.name", JSON_STRING, "a string", &r, err, errlen);
        if (!name)
                return r;
        if (strcmp(json_string_value(name), ARCH_NAME) != 0)
                return gw_error(err, errlen, EINVAL, "description \"arch.name\": \"%s\" is not \"%s\"",
                                json_string_value(name), ARCH_NAME);

        if ((r = get_int(arch, "channels", "arch.channels", 1, GW_MAX_CHANNELS, &info->channels,
                         err, errlen)) < 0 ||
            (r = get_int(arch, "classes", "arch.classes", GW_MIN_CLASSES, GW_MAX_CLASSES, &info->classes,
                         err, errlen)) < 0 ||
            (r = get_int(arch, "window", "arch.window", 4, GW_MAX_WINDOW, &info->window,
                         err, errlen)) < 0 ||
            (r = get_int(arch, "filters", "arch.filters", 1, 64, &info->filters, err, errlen)) < 0 ||
            (r = get_int(arch, "kernel", "arch.kernel", 1, 15, &info->kernel, err, errlen)) < 0 ||
            (r = get_int(arch, "hidden", "arch.hidden", 1, 64, &info->hidden, err, errlen)) < 0)
                return r;
        if (info->window % 4 != 0)
                return gw_error(err, errlen, EINVAL, "description \"arch.window\": %d is not a multiple of 4",
                                info->window);
        if (info->kernel % 2 == 0)
                return gw_error(err, errlen, EINVAL, "description \"arch.kernel\": %d is not odd",
                                info->kernel);
        return 0;
}

static int parse_classes(const json_t *root, gw_model_info *info, char *err, size_t errlen)
{
        int r = 0;
        const json_t *a = member(root, "classes", "classes", JSON_ARRAY, "an array", &r, err, errlen);
        char path[32];

        if (!a)
                return r;
        if (json_array_size(a) != (size_t) info->classes)
                return gw_error(err, errlen, EINVAL, "description \"classes\": %zu names, arch.classes is %d",
                                json_array_size(a), info->classes);
        for (int i = 0; i < info->classes; i++) {
                snprintf(path, sizeof path, "classes[%d]", i);
                r = copy_text(json_array_get(a, i), path, info->class_name[i], GW_NAME_MAX, err, errlen);
                if (r < 0)
                        return r;
                for (int j = 0; j < i; j++)
                        if (!strcmp(info->class_name[i], info->class_name[j]))
                                return gw_error(err, errlen, EINVAL,
                                                "description \"%s\": \"%s\" repeats classes[%d]",
                                                path, info->class_name[i], j);
        }
        return 0;
}

static int parse_channels(const json_t *root, gw_model_info *info, char *err, size_t errlen)
{
        int r = 0;
        const json_t *a = member(root, "channels", "channels", JSON_ARRAY, "an array", &r, err, errlen);
        char path[48];

        if (!a)
                return r;
        if (json_array_size(a) != (size_t) info->channels)
                return gw_error(err, errlen, EINVAL, "description \"channels\": %zu entries, arch.channels is %d",
                                json_array_size(a), info->channels);
        for (int i = 0; i < info->channels; i++) {
                const json_t *ch = json_array_get(a, i);
                gw_channel_desc *d = &info->channel[i];

                if (!json_is_object(ch))
                        return gw_error(err, errlen, EINVAL, "description \"channels[%d]\": not an object", i);
                snprintf(path, sizeof path, "channels[%d].name", i);
                if ((r = get_text(ch, "name", path, d->name, sizeof d->name, err, errlen)) < 0)
                        return r;
                snprintf(path, sizeof path, "channels[%d].unit", i);
                if ((r = get_text(ch, "unit", path, d->unit, sizeof d->unit, err, errlen)) < 0)
                        return r;
                for (int j = 0; j < i; j++)
                        if (!strcmp(d->name, info->channel[j].name))
                                return gw_error(err, errlen, EINVAL,
                                                "description \"channels[%d].name\": \"%s\" repeats channels[%d]",
                                                i, d->name, j);
        }
        return 0;
}

static int parse_timing(const json_t *root, gw_model_info *info, char *err, size_t errlen)
{
        int r = 0;
        const json_t *rate = member(root, "sample_rate_hz", "sample_rate_hz", JSON_REAL, "a number",
                                    &r, err, errlen);
        double hz;

        if (!rate)
                return r;
        hz = json_number_value(rate);
        if (!isfinite(hz) || hz <= 0.0 || hz > MAX_RATE_HZ)
                return gw_error(err, errlen, EINVAL, "description \"sample_rate_hz\": %g out of range (0, %g]",
                                hz, MAX_RATE_HZ);
        info->sample_rate_hz = hz;
        return get_int(root, "hop", "hop", 1, info->window, &info->hop, err, errlen);
}

/* The front end has its own parser (lib/frontend-spec.c), shared with tools
 * that build a front end without a model; the loader adds only what ties the
 * chain to this model: one output per channel, same order, same names. */
static int parse_frontend(const json_t *root, gw_model_info *info, char *err, size_t errlen)
{
        int r = 0;
        const json_t *fe = member(root, "frontend", "frontend", JSON_OBJECT, "an object", &r, err, errlen);
        gw_frontend_spec *spec = &info->frontend;
        char sub[GW_ERR_MAX] = "";

        if (!fe)
                return r;
        r = gw_frontend_spec_from_json_object(fe, info->sample_rate_hz, spec, sub, sizeof sub);
        if (r < 0)
                return gw_error(err, errlen, -r, "description: %s", sub[0] ? sub : "\"frontend\" refused");

        if (spec->n_outputs != info->channels)
                return gw_error(err, errlen, EINVAL,
                                "description \"frontend.outputs\": %d outputs, arch.channels is %d",
                                spec->n_outputs, info->channels);
        for (int i = 0; i < info->channels; i++)
                if (strcmp(spec->outputs[i].name, info->channel[i].name) != 0)
                        return gw_error(err, errlen, EINVAL,
                                        "description \"frontend.outputs[%d].name\": \"%s\" is not channels[%d] \"%s\"",
                                        i, spec->outputs[i].name, i, info->channel[i].name);
        return 0;
}

static int parse_quant(const json_t *root, bool has_int8, char *err, size_t errlen)
{
        int r = 0;
        const json_t *q, *scheme;

        if (!has_int8)
                return 0;
        q = member(root, "quant", "quant", JSON_OBJECT, "an object", &r, err, errlen);
        if (!q)
                return r;
        scheme = member(q, "scheme", "quant.scheme", JSON_STRING, "a string", &r, err, errlen);
        if (!scheme)
                return r;
        if (strcmp(json_string_value(scheme), QUANT_INT8) != 0)
                return gw_error(err, errlen, EINVAL, "description \"quant.scheme\": \"%s\" is not \"%s\"",
                                json_string_value(scheme), QUANT_INT8);
        return 0;
}

static int parse_task(const json_t *root, gw_model_info *info, char *err, size_t errlen)
{
        int r = get_text(root, "task", "task", info->task, sizeof info->task, err, errlen);

        if (r < 0)
                return r;
        if (strcmp(info->task, "activity") != 0 && strcmp(info->task, "fog") != 0)
                return gw_error(err, errlen, EINVAL, "description \"task\": \"%s\" is not \"activity\" or \"fog\"",
                                info->task);
        return 0;
}

int gw_model_desc_parse(const char *json, size_t len, bool has_int8, gw_model_info *info,
                        char *err, size_t errlen)
{
        json_error_t jerr;
        json_t *root;
        int r;

        root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
        if (!root)
                return gw_error(err, errlen, EINVAL, "metadata \"gaitway\": not JSON: %s at line %d column %d",
                                jerr.text, jerr.line, jerr.column);
        if (!json_is_object(root)) {
                json_decref(root);
                return gw_error(err, errlen, EINVAL, "metadata \"gaitway\": not a JSON object");
        }

        if ((r = get_text(root, "model_id", "model_id", info->model_id, sizeof info->model_id,
                          err, errlen)) < 0 ||
            (r = get_text(root, "model_version", "model_version", info->model_version,
                          sizeof info->model_version, err, errlen)) < 0 ||
            (r = parse_task(root, info, err, errlen)) < 0 ||
            (r = parse_arch(root, info, err, errlen)) < 0 ||
            (r = parse_classes(root, info, err, errlen)) < 0 ||
            (r = parse_channels(root, info, err, errlen)) < 0 ||
            (r = parse_timing(root, info, err, errlen)) < 0 ||
            (r = parse_frontend(root, info, err, errlen)) < 0 ||
            (r = parse_quant(root, has_int8, err, errlen)) < 0) {
                json_decref(root);
                return r;
        }
        json_decref(root);
        return 0;
}
