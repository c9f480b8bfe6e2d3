/* SPDX-License-Identifier: MIT */
/* The INT8 engine's input quantiser (docs/int8.md §1). */

#include <math.h>
#include <string.h>

#include "model-private.h"

/* float32 throughout, every intermediate assigned to a float so no wider
 * evaluation sneaks in.  Clamping before rounding gives the same result as
 * clamping after (127 and -127 are integers) and bounds |v| by 127, where
 * adding and subtracting 1.5 * 2^23 rounds to an integer half to even in
 * the default rounding mode, as lrintf does, without a libm call per
 * channel and sample.  The volatile-free form relies on the build's
 * -ffp-contract=off and on no -ffast-math (meson.build). */
static int8_t quantize_one(float x, float mean, float mul)
{
        const float magic = 12582912.0f;   /* 1.5 * 2^23 */
        float d, v, r;

        if (!isfinite(x))
                return 0;
        d = x - mean;
        v = d * mul;
        if (v > 127.0f)
                v = 127.0f;
        else if (v < -127.0f)
                v = -127.0f;
        r = v + magic;
        r = r - magic;
        return (int8_t) r;
}

void gw_model_quantize(const gw_model *m, const float *x, int8_t *q, size_t n)
{
        size_t C;

        if (!m || !q)
                return;
        C = (size_t) m->info.channels;
        if (!m->info.has_int8 || !x) {
                memset(q, 0, n * C);
                return;
        }
        for (size_t i = 0; i < n; i++, x += C, q += C)
                for (size_t c = 0; c < C; c++)
                        q[c] = quantize_one(x[c], m->mean[c], m->q.in_mul[c]);
}
