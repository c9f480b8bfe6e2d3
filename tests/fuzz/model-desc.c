/* SPDX-License-Identifier: MIT */
/* libFuzzer target: the model description (the `gaitway` metadata string of
 * docs/model-format.md) on its own, with and without the INT8 tensor set,
 * and the rules an accepted description promises to the engine and the
 * front end.  The container target reaches this parser too, but only
 * through a JSON string inside a JSON header; here mutations land on the
 * description directly. */

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gaitway/model.h"
#include "model-desc-private.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool name_ok(const char *s, size_t max)
{
        size_t n = strnlen(s, max);
        return n > 0 && n < max;
}

static void check(const gw_model_info *in)
{
        if (in->channels < 1 || in->channels > GW_MAX_CHANNELS || in->classes < GW_MIN_CLASSES ||
            in->classes > GW_MAX_CLASSES || in->window < 4 || in->window > GW_MAX_WINDOW ||
            in->window % 4 || in->hop < 1 || in->hop > in->window || in->filters < 1 ||
            in->filters > 64 || in->kernel < 1 || in->kernel > 15 || !(in->kernel & 1) ||
            in->hidden < 1 || in->hidden > 64 || !isfinite(in->sample_rate_hz) ||
            in->sample_rate_hz <= 0 || in->sample_rate_hz > 10000)
                abort();
        if (!name_ok(in->model_id, GW_ID_MAX) || !name_ok(in->model_version, GW_ID_MAX) ||
            (strcmp(in->task, "activity") && strcmp(in->task, "fog")))
                abort();
        for (int i = 0; i < in->classes; i++)
                if (!name_ok(in->class_name[i], GW_NAME_MAX))
                        abort();
        for (int c = 0; c < in->channels; c++)
                if (!name_ok(in->channel[c].name, GW_NAME_MAX) || !name_ok(in->channel[c].unit, GW_NAME_MAX))
                        abort();
        const gw_frontend_spec *fe = &in->frontend;
        if (fe->n_outputs != in->channels || fe->n_inputs < 1 || fe->n_inputs > GW_MAX_INPUTS)
                abort();
        for (int c = 0; c < fe->n_outputs; c++) {
                if (fe->outputs[c].input < 0 || fe->outputs[c].input >= fe->n_inputs ||
                    strcmp(fe->outputs[c].name, in->channel[c].name))
                        abort();
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        /* The loader hands over the decoded string with its length; it is
         * not NUL-terminated in general, so neither is this copy. */
        char *json = malloc(size ? size : 1);
        if (!json)
                abort();
        memcpy(json, data, size);
        for (int int8 = 0; int8 < 2; int8++) {
                gw_model_info info;
                char err[GW_ERR_MAX];
                memset(&info, 0, sizeof info);
                err[0] = 0;
                if (gw_model_desc_parse(json, size, int8, &info, err, sizeof err) == 0)
                        check(&info);
                else if (!err[0] || strchr(err, '\n'))
                        abort();
        }
        free(json);
        return 0;
}
