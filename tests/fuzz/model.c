/* SPDX-License-Identifier: MIT */
/* libFuzzer target: the model container loader (gw_model_load_buffer) and,
 * for every container it accepts, the engines and the input quantiser on
 * that model, so a file that validates but breaks inference is found too.
 *
 * The CRC-32 in the metadata would stop almost every mutation at the
 * checksum, far from the value checks behind it.  So each input is loaded
 * twice: as it is, and with its "checksum" rewritten to match (same length,
 * so no offset moves) when the header is readable enough to find it. */

#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crc32-private.h"
#include "gaitway/engine.h"
#include "gaitway/model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Engines on a model: the largest legal model (T 4096, C 128, F and H 64)
 * takes seconds per window under ASan; bound the work per input so the
 * fuzzer keeps its pace.  Loading itself is always done. */
#define MAX_RUN_WORK (1u << 22)

static void exercise(const gw_model *m)
{
        const gw_model_info *info = gw_model_info_get(m);
        size_t n = (size_t) info->window * (size_t) info->channels;
        size_t work = n * (size_t) info->filters * (size_t) info->kernel +
                      (size_t) info->window / 4 * 8 * (size_t) info->hidden *
                      ((size_t) info->filters + (size_t) info->hidden);
        gw_engine *e = NULL;
        float logits[GW_MAX_CLASSES], prob[GW_MAX_CLASSES];
        int32_t lq[GW_MAX_CLASSES], pq[GW_MAX_CLASSES];

        for (int i = 0; i < info->classes; i++)
                if (gw_model_class_index(m, info->class_name[i]) != i)
                        abort();
        for (int c = 0; c < info->channels; c++)
                if (gw_model_channel_index(m, info->channel[c].name) != c)
                        abort();
        if (gw_engine_scratch_bytes(info) == 0)
                abort();
        if (work > MAX_RUN_WORK)
                return;

        float *x = malloc(n * sizeof *x);
        int8_t *xq = malloc(n);
        if (!x || !xq)
                abort();
        /* A signal across every channel's range with a few spikes, as large
         * as int16 sensors at their widest full scale deliver.  (Values
         * near FLT_MAX are a separate finding: tests/fuzz/regressions.) */
        for (size_t i = 0; i < n; i++)
                x[i] = (float) (sin((double) i * 0.37) * 40.0) * (i % 97 == 0 ? 200.0f : 1.0f);

        if (gw_engine_new(m, &e) < 0)
                abort();
        if (info->has_fp32) {
                if (gw_engine_run_fp32(e, x, logits) < 0)
                        abort();
                int top = gw_softmax_f32(logits, info->classes, prob);
                if (top < 0 || top >= info->classes)
                        abort();
        }
        if (info->has_int8) {
                gw_model_quantize(m, x, xq, n);
                for (size_t i = 0; i < n; i++)
                        if (xq[i] < -127)
                                abort();
                if (gw_engine_run_int8(e, xq, lq) < 0)
                        abort();
                int top = gw_softmax_q15(lq, info->classes, pq);
                if (top < 0 || top >= info->classes)
                        abort();
        }
        gw_engine_free(e);
        free(x);
        free(xq);
}

static void load(const uint8_t *data, size_t size)
{
        char err[GW_ERR_MAX];
        gw_model *m = NULL;

        err[0] = 0;
        int r = gw_model_load_buffer(data, size, &m, err, sizeof err);
        if (r < 0) {
                /* Every refusal says why, in one line. */
                if (m || !err[0] || strchr(err, '\n'))
                        abort();
                return;
        }
        exercise(m);
        gw_model_free(m);
}

/* Returns a copy with a matching checksum, or NULL when the input has no
 * readable metadata or already matches. */
static uint8_t *fix_checksum(const uint8_t *data, size_t size)
{
        uint64_t n = 0;
        json_t *h, *meta, *desc, *sum;
        uint8_t *copy = NULL;

        if (size < 8)
                return NULL;
        for (int i = 7; i >= 0; i--)
                n = n << 8 | data[i];
        if (n > size - 8)
                return NULL;
        h = json_loadb((const char *) data + 8, (size_t) n, 0, NULL);
        meta = json_object_get(h, "__metadata__");
        desc = json_object_get(meta, "gaitway");
        sum = json_object_get(meta, "checksum");
        if (json_is_string(desc) && json_is_string(sum) && json_string_length(sum) == 14) {
                char want[16];
                uint32_t crc = gw_crc32(0, json_string_value(desc), json_string_length(desc));
                crc = gw_crc32(crc, data + 8 + n, size - 8 - (size_t) n);
                snprintf(want, sizeof want, "crc32:%08x", (unsigned) crc);
                const char *have = json_string_value(sum);
                const uint8_t *at = memmem(data + 8, (size_t) n, have, 14);
                if (at && memcmp(have, want, 14) != 0) {
                        copy = malloc(size);
                        if (!copy)
                                abort();
                        memcpy(copy, data, size);
                        memcpy(copy + (at - data), want, 14);
                }
        }
        json_decref(h);
        return copy;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        load(data, size);
        uint8_t *fixed = fix_checksum(data, size);
        if (fixed) {
                load(fixed, size);
                free(fixed);
        }
        return 0;
}
