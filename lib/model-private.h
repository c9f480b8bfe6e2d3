/* SPDX-License-Identifier: MIT */
#pragma once

/* The loaded model as the engine sees it.  Private to libgaitway: the
 * loader fills it, the engine reads it.  Every pointer points into `arena`,
 * one aligned allocation holding all tensors converted to host byte order.
 * Shapes are those of docs/model-format.md with F = filters, k = kernel,
 * H = hidden, C = channels, K = classes. */

#include "gaitway/model.h"

struct gw_model {
        gw_model_info info;
        void *arena;
        size_t arena_bytes;

        /* Normalisation, always present: x_norm = (x - mean) / std. */
        const float *mean;          /* [C] input.mean */
        const float *std;           /* [C] input.std */

        struct {                    /* FP32 tensors, NULL unless info.has_fp32 */
                const float *conv1_w;   /* [F][C][k] conv1.weight (BN folded) */
                const float *conv1_b;   /* [F]       conv1.bias */
                const float *conv2_w;   /* [F][F][k] conv2.weight */
                const float *conv2_b;   /* [F]       conv2.bias */
                const float *fwd_wih;   /* [4H][F]   lstm.fwd.weight_ih, gates i f g o */
                const float *fwd_whh;   /* [4H][H]   lstm.fwd.weight_hh */
                const float *fwd_b;     /* [4H]      lstm.fwd.bias (bias_ih + bias_hh) */
                const float *bwd_wih;   /* [4H][F]   lstm.bwd.weight_ih */
                const float *bwd_b;     /* [4H]      lstm.bwd.bias */
                const float *head_w;    /* [K][2H]   head.weight */
                const float *head_b;    /* [K]       head.bias */
        } f;

        struct {                    /* INT8 tensors, NULL unless info.has_int8 */
                const float *in_scale;  /* [C] q.input.scale */
                float in_mul[GW_MAX_CHANNELS];  /* 1 / (std[c] * in_scale[c]), float32 */
                const int8_t *conv1_w;  /* [F][C][k] */
                const int32_t *conv1_b; /* [F] */
                const int32_t *conv1_rq;/* [F][2] multiplier, shift */
                const int8_t *conv2_w;
                const int32_t *conv2_b;
                const int32_t *conv2_rq;
                const int8_t *fwd_wih;  /* [4H][F] */
                const int32_t *fwd_rq_ih;/* [4H][2] */
                const int8_t *fwd_whh;  /* [4H][H] */
                const int32_t *fwd_rq_hh;/* [4H][2] */
                const int32_t *fwd_b;   /* [4H] Q12 */
                const int8_t *bwd_wih;
                const int32_t *bwd_rq_ih;
                const int32_t *bwd_b;
                const int8_t *head_w;   /* [K][2H] */
                const int32_t *head_rq; /* [K][2] */
                const int32_t *head_b;  /* [K] Q16 */
        } q;
};
