/* SPDX-License-Identifier: MIT */
/* Class probabilities from logits: the integer softmax of docs/int8.md §6
 * and the float one. */

#include <errno.h>
#include <math.h>

#include "engine-private.h"

/* Ties go to the lowest index, in both versions. */
int gw_softmax_q15(const int32_t *logits_q16, int k, int32_t *prob_q15)
{
        int32_t max;
        int64_t sum = 0;
        int best = 0;

        if (!logits_q16 || !prob_q15 || k < 1 || k > GW_MAX_CLASSES)
                return -EINVAL;
        max = logits_q16[0];
        for (int i = 1; i < k; i++)
                if (logits_q16[i] > max) {
                        max = logits_q16[i];
                        best = i;
                }
        for (int i = 0; i < k; i++) {
                /* int64: logits span up to 2^32 */
                int64_t d = (int64_t) max - logits_q16[i];
                int32_t e = 0;

                if (d < (int64_t) 16 << 16) {
                        int32_t idx = (int32_t) (d >> 12), frac = (int32_t) (d & 4095);
                        int32_t e0 = gw_table_exp_q15[idx], e1 = gw_table_exp_q15[idx + 1];

                        e = e0 + (((e1 - e0) * frac + 2048) >> 12);
                }
                prob_q15[i] = e;
                sum += e;
        }
        /* sum >= E[0] = 32767: the maximum contributes it. */
        for (int i = 0; i < k; i++)
                prob_q15[i] = (int32_t) (((int64_t) prob_q15[i] * 32768 + sum / 2) / sum);
        return best;
}

/* Total for any input: NaN logits get probability 0 (all NaN: uniform), and
 * infinite logits compare as they should (ties among +inf share). */
int gw_softmax_f32(const float *logits, int k, float *prob)
{
        float max = 0.0f, sum = 0.0f;
        int best = -1;

        if (!logits || !prob || k < 1 || k > GW_MAX_CLASSES)
                return -EINVAL;
        for (int i = 0; i < k; i++)
                if (!isnan(logits[i]) && (best < 0 || logits[i] > max)) {
                        max = logits[i];
                        best = i;
                }
        if (best < 0) {
                for (int i = 0; i < k; i++)
                        prob[i] = 1.0f / (float) k;
                return 0;
        }
        for (int i = 0; i < k; i++) {
                float l = logits[i];

                if (isnan(l))
                        prob[i] = 0.0f;
                else if (l == max)
                        prob[i] = 1.0f;         /* also +-inf == max, where l - max is NaN */
                else
                        prob[i] = expf(l - max);
                sum += prob[i];
        }
        for (int i = 0; i < k; i++)
                prob[i] /= sum;
        return best;
}
